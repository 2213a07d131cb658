"""An experiment assembled from parts: its source, detector response and statistic, each built from the validated
experiment file by a builder registered for its kind (in the manner of pyhf's modifiers).

* ``@source(kind)``: ``[source] kind`` (absent: "reactor") -> a flux object (:class:`~cevns.flux.ReactorFlux`,
  :class:`~cevns.stopped_pion.StoppedPionSource`);
* ``@response(model)``: ``[quenching] model`` -> the detector response and what belongs with it (germanium
  detectors, quenching, resolution, the chi^2 data);
* ``@statistic(kind)``: ``[likelihood] kind`` -> the data and the statistic of the experiment ("chi2": eq. 20;
  "poisson": :mod:`cevns.counting`).

The builders receive the configuration as :func:`cevns.schema.validate` returns it: every key typed, ranged and
defaulted, every combination checked.  They read it without checking it again.  A new kind of source, response or
statistic is one builder here (or in its own module) and its keys in the schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .counting import build_counting
from .detector import Detector, Efficiency, IonisationResponse, Resolution, check_bins
from .errors import CevnsInputError
from .flux import ReactorFlux
from .quenching import germanium_quenching
from .readers import read_spectrum, recoil_response
from .stopped_pion import StoppedPionSource

#: [source] kind -> builder(config, base_dir)
SOURCES: Dict[str, Callable[[Dict[str, Any], Path], Any]] = {}
#: [quenching] model -> builder(config, base_dir, target, name, source=): the response and its companions, as attributes
RESPONSES: Dict[str, Callable[..., Dict[str, Any]]] = {}
#: [likelihood] kind -> builder(experiment, [likelihood] table): sets the experiment's data and statistic
STATISTICS: Dict[str, Callable[[Any, Dict[str, Any]], None]] = {}


def _register(table: Dict[str, Callable], what: str, *kinds: str) -> Callable:
    def deco(fn: Callable) -> Callable:
        for kind in kinds:
            if kind in table and table[kind] is not fn:
                raise ValueError(f"{what} {kind!r} is registered twice")
            table[kind] = fn
        return fn

    return deco


def source(*kinds: str) -> Callable:
    """Register a source builder for ``[source] kind`` = each of ``kinds``."""
    return _register(SOURCES, "source", *kinds)


def response(*models: str) -> Callable:
    """Register a response builder for ``[quenching] model`` = each of ``models``."""
    return _register(RESPONSES, "response", *models)


def statistic(*kinds: str) -> Callable:
    """Register a statistic builder for ``[likelihood] kind`` = each of ``kinds``."""
    return _register(STATISTICS, "statistic", *kinds)


def build(table: Dict[str, Callable], what: str, kind: str) -> Callable:
    """The builder registered for ``kind`` (the schema admits only registered kinds; this names any other)."""
    if kind not in table:
        raise CevnsInputError(f"no {what} builder for {kind!r}; known: {', '.join(sorted(table))}")
    return table[kind]


# --- sources -------------------------------------------------------------------------------------------------
@source("reactor")
def reactor_source(cfg: Dict[str, Any], base_dir: Path) -> ReactorFlux:
    """A reactor core ([reactor]: power, distance, fission fractions, the flux above 8 MeV)."""
    r = cfg["reactor"]
    return ReactorFlux(thermal_power_GW=float(r["thermal_power_GW"]), distance_m=float(r["distance_m"]),
                       energy_per_fission_MeV=float(r["energy_per_fission_MeV"]),
                       fission_fractions={k: float(v) for k, v in r["fission_fractions"].items()},
                       captures_per_fission=float(r["captures_per_fission"]), tail=str(r["tail"]))


@source("stopped-pion")
def stopped_pion_source(cfg: Dict[str, Any], base_dir: Path) -> StoppedPionSource:
    """A stopped-pion source ([source]: protons on target, neutrinos per proton, distance, beam trace)."""
    s = cfg["source"]
    return StoppedPionSource(pot=float(s["pot"]), nu_per_pot=float(s["nu_per_pot"]), distance_m=float(s["distance_m"]),
                             pot_mean_us=float(s["pot_mean_us"]), pot_width_us=float(s["pot_width_us"]))


# --- responses -----------------------------------------------------------------------------------------------
def _resolution(res: Dict[str, Any], base: Optional[Resolution] = None) -> Resolution:
    if base is None:
        return Resolution(model=str(res["model"]), sigma0_eV=float(res["sigma0_eV"]), fano=float(res["fano"]),
                          pair_energy_eV=float(res["pair_energy_eV"]), nsigma=float(res["nsigma"]))
    return Resolution(model=base.model, sigma0_eV=float(res.get("sigma0_eV", base.sigma0_eV)),
                      fano=float(res.get("fano", base.fano)), pair_energy_eV=base.pair_energy_eV, nsigma=base.nsigma)


#: [resolution] when the file has none: off (eq. 17 literally), the other entries at the schema's defaults
_NO_RESOLUTION = {"model": "off", "sigma0_eV": 20.38, "fano": 0.11, "pair_energy_eV": 2.96, "nsigma": 6.0}


@response("lindhard", "fef", "ybe")
def ionisation_response(cfg: Dict[str, Any], base_dir: Path, target: Any, name: str, source: Any = None) -> Dict[str, Any]:
    """Reactor germanium: quenching by name (Lindhard k, Fef, YBe: :mod:`cevns.quenching`), Fano resolution,
    [[detectors]] sharing an exposure, the chi^2 data."""
    quenching = germanium_quenching(cfg["quenching"], target.Z)
    resolution = _resolution(cfg.get("resolution", _NO_RESOLUTION))
    dets = cfg["detectors"]
    total = float(cfg["exposure"]["total_kg_day"])
    mtot = sum(float(d["mass_kg"]) for d in dets)
    detectors = tuple(
        Detector(str(d["name"]), float(d["mass_kg"]), float(d["threshold_eVee"]),
                 float(d.get("exposure_kg_day", total * float(d["mass_kg"]) / mtot)),
                 Efficiency(tuple(d.get("efficiency_eVee", ())), tuple(d.get("efficiency", ()))),
                 _resolution(d, resolution) if ("sigma0_eV" in d or "fano" in d) else None)
        for d in dets)
    dataset = None
    if "data" in cfg:
        dataset = read_spectrum(base_dir / cfg["data"]["file"], cfg["data"])
        edges = dataset.edges_eVee
        if "binning" in cfg and not np.array_equal(edges, check_bins(cfg["binning"]["edges_eVee"])):
            raise CevnsInputError("experiment file: [binning] edges_eVee differ from the bins of the [data] file")
    else:
        edges = check_bins(cfg["binning"]["edges_eVee"])
    _warn_below_thresholds(name, detectors, edges)
    return {"quenching": quenching, "resolution": resolution, "detectors": detectors, "spectrum": dataset,
            "response": IonisationResponse(detectors, quenching, resolution, tuple(edges))}


def _warn_below_thresholds(name: str, detectors: Tuple[Detector, ...], edges: Any) -> None:
    lowest = min(d.threshold_eVee for d in detectors)
    below = int(np.sum(np.asarray(edges)[1:] <= lowest))
    if below:
        import warnings

        from .errors import CevnsWarning

        warnings.warn(f"{name}: {below} bin(s) lie below every detector threshold (lowest {lowest:g} eV_ee): they are "
                      "predicted empty", CevnsWarning, stacklevel=4)


@response("polynomial", "linear-qf")
def _recoil_parts(cfg: Dict[str, Any], base_dir: Path, target: Any, name: str, source: Any = None) -> Dict[str, Any]:
    r = recoil_response(cfg, base_dir)
    if source is not None:  # the quenching factor within (0, 1] up to the largest recoil of the lightest isotope
        E, m = source.max_energy_MeV, min(iso.mass_MeV for iso in target.isotopes)
        r.check_quenching_factor(2.0 * E * E / (m + 2.0 * E))
    return {"response": r}


# --- statistics ----------------------------------------------------------------------------------------------
@statistic("chi2")
def chi2_statistic(exp: Any, lik: Dict[str, Any]) -> None:
    """Eq. 20: the reactor spectrum with a Gaussian-constrained normalisation (sigma_alpha), minimised analytically."""
    exp.data = exp.spectrum
    if exp.data is not None and exp.data.counts.size != exp.engine.n_bins:
        raise CevnsInputError(f"data have {exp.data.counts.size} bins, the detector {exp.engine.n_bins}")
    exp.sigma_alpha = float(exp.config.get("statistics", {"sigma_alpha": 0.20})["sigma_alpha"])


@statistic("chi2-background")
def background_chi2_statistic(exp: Any, lik: Dict[str, Any]) -> None:
    """A measured spectrum with a fitted background, every term linear ([background_model];
    :mod:`cevns.background_chi2`): the statistic is built from the data in ``Experiment.chi2_function``."""
    from .background_chi2 import background_templates

    chi2_statistic(exp, lik)
    exp.background_model = background_templates(exp.config["background_model"], exp.edges_eVee)


@statistic("poisson")
def poisson_statistic(exp: Any, lik: Dict[str, Any]) -> None:
    """A counting experiment: binned Poisson likelihood, nuisances profiled (:func:`cevns.counting.build_counting`)."""
    exp.counting = build_counting(exp, lik)
    exp.data = exp.counting.dataset if "data" in exp.config else None
    exp.sigma_alpha = float(exp.counting.likelihood.signal_sigma)
    exp.counting.likelihood.tags = dict(exp.shared_nuisances)
    unknown = set(exp.shared_nuisances) - set(exp.counting.likelihood.names)
    if unknown:
        raise CevnsInputError(f"[likelihood] shared: unknown nuisance(s) {sorted(unknown)}; "
                              f"known: {exp.counting.likelihood.names}")

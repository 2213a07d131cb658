"""Experiments as data: a TOML file (detectors, reactor, target, binning, data) plus a CSV.

``load_experiment("conus-plus")`` loads the packaged CONUS+ 2025 definition;
``load_experiment("path/to/mine.toml")`` a user's own.  Any input can be changed
with a keyword, e.g. ``load_experiment("conus-plus", k=0.166, resolution="off")``.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import registry as _registry
from . import templated  # noqa: F401  (registers the builders of release templates: solar 8B, XENONnT)
from ._files import MAX_FILE_BYTES
from ._threads import limited
from .builders import RESPONSES, SOURCES, STATISTICS, build
from .detector import IonisationResponse, Lindhard
from .errors import CevnsInputError, check_positive
from .models import Model, StandardModel, as_model
from .nuclei import load_binding_table, load_target
from .rates import CHANNELS, Basis, NumericalSettings, ResponseEngine
from .readers import Dataset
from .results import ContourResult, ExclusionResult, FitResult, Prediction
from .statistic import Grouped
from .stats import Chi2, JointChi2

#: built-in experiment name -> its file (from :data:`cevns.registry.EXPERIMENTS`)
BUILTIN = {name: f for name, (f, _) in _registry.EXPERIMENTS.items()}

#: keyword overrides accepted by load_experiment / Experiment.replace -> (section, key)
OVERRIDES = {
    "k": ("quenching", "k"),
    "quenching": ("quenching", "model"),
    "resolution": ("resolution", "model"),
    "sigma0_eV": ("resolution", "sigma0_eV"),
    "fano": ("resolution", "fano"),
    "exposure_kg_day": ("exposure", "total_kg_day"),
    "tail": ("reactor", "tail"),
    "thermal_power_GW": ("reactor", "thermal_power_GW"),
    "distance_m": ("reactor", "distance_m"),
    "energy_per_fission_MeV": ("reactor", "energy_per_fission_MeV"),
    "fission_fractions": ("reactor", "fission_fractions"),
    "captures_per_fission": ("reactor", "captures_per_fission"),
    "binding_table": ("target", "binding_table"),
    "sigma_alpha": ("statistics", "sigma_alpha"),
    "error_scale": ("data", "error_scale"),
    "pot_mean_us": ("source", "pot_mean_us"),
    "pot_width_us": ("source", "pot_width_us"),
    "nu_per_pot": ("source", "nu_per_pot"),
    "pot": ("source", "pot"),
    "form_factor": ("target", "form_factor"),
    "radii_fm": ("target", "radii_fm"),
    "signal_sigma": ("likelihood", "signal_sigma"),
    "shared": ("likelihood", "shared"),
    "runs": ("templates", "runs"),
    "p_ee": ("source", "p_ee"),
    "mu_fraction": ("source", "mu_fraction"),
    "flux_cm2_s": ("source", "flux_cm2_s"),
    "ac_sigma": ("templates", "ac_sigma"),
    "er_sigma": ("templates", "er_sigma"),
    "neutron_sigma": ("templates", "neutron_sigma"),
}
#: sections an override may create when the file has none; any other must exist in the experiment
_OPTIONAL_SECTIONS = ("statistics", "resolution", "data", "target")
#: inputs of a solar 8B source only
_SOLAR_ONLY = ("p_ee", "mu_fraction", "flux_cm2_s")
#: inputs of the reactor germanium response (Lindhard, Fano resolution, exposure, chi^2 of eq. 20) only
_IONISATION_ONLY = ("k", "quenching", "resolution", "sigma0_eV", "fano", "exposure_kg_day", "binding_table", "sigma_alpha",
                    "error_scale")


def _parse_channels(channels: str) -> Tuple[str, ...]:
    parts = tuple(p.strip() for p in str(channels).split("+"))
    if not parts or any(p not in CHANNELS for p in parts):
        lower = tuple(p.lower() for p in parts if p)
        hint = f"; did you mean {'+'.join(lower)!r}?" if lower and all(p in CHANNELS for p in lower) else ""
        raise CevnsInputError(f"channels must be 'cevns', 'eves' or 'cevns+eves', got {channels!r}{hint}")
    if len(set(parts)) != len(parts):
        raise CevnsInputError(f"channels: each channel once, got {channels!r} (use 'cevns', 'eves' or 'cevns+eves')")
    return parts


class _Analyses:
    """The analysis methods shared by :class:`Experiment` and :class:`JointExperiment` (thin wrappers over
    :mod:`cevns.analysis`, which needs ``engine``, ``chi2_function``, ``data`` and ``inputs``)."""

    def __add__(self, other: "Experiment | JointExperiment") -> "JointExperiment":
        """``exp1 + exp2``: a joint fit, chi^2 summed (each experiment keeps its own normalisation nuisance)."""
        assert isinstance(self, (Experiment, JointExperiment))
        return JointExperiment(self, other)

    def channels(self, channels: str) -> Tuple[str, ...]:
        """Parse "cevns", "eves" or "cevns+eves" into a tuple of channel names."""
        return _parse_channels(channels)

    def _computed(self, channels: str) -> str:
        """The channels a result is labelled with: "cevns+eves" becomes "cevns" where no part has an electron
        channel (COHERENT LAr: the F90 cut removes electron recoils), so no result claims EvES it never computed."""
        parts = _parse_channels(channels)
        with_eves = any(e.engine.has_eves for e in getattr(self, "parts", [self]))
        return "cevns" if set(parts) == {"cevns", "eves"} and not with_eves else channels

    @limited
    def fit(self, param: str = "sin2w", channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Best fit, Delta chi^2 profile and intervals of ``param`` (see :func:`cevns.analysis.fit`)."""
        from . import analysis

        return analysis.fit(self, param, self._computed(channels), **kw)

    @limited
    def limit(self, param: str, cl: float | str = 0.90, channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Allowed region of ``param`` at confidence level ``cl`` (see :func:`cevns.analysis.limit`)."""
        from . import analysis

        return analysis.limit(self, param, cl, self._computed(channels), **kw)

    @limited
    def exclusion(self, model: str = "scalar", channels: str = "cevns+eves", **kw: Any) -> "ExclusionResult":
        """Mediator exclusion curve in (mass [MeV], g) (see :func:`cevns.analysis.exclusion`)."""
        from . import analysis

        return analysis.exclusion(self, model, self._computed(channels), **kw)

    @limited
    def contour(self, params: Sequence[str], channels: str = "cevns+eves", **kw: Any) -> "ContourResult":
        """Delta chi^2 over two parameters of one model, e.g. ("q_ee", "q_emu") (see :func:`cevns.analysis.contour`)."""
        from . import analysis

        return analysis.contour(self, params, self._computed(channels), **kw)



class Experiment(_Analyses):
    """An experiment: response engine + data + statistics settings.

    Build with :func:`load_experiment`.  Main methods: :meth:`predict`, :meth:`chi2`,
    and (from ``cevns.analysis``) :meth:`fit`, :meth:`limit`, :meth:`exclusion`.
    """

    def __init__(self, config: Dict[str, Any], base_dir: Path, text: str = "",
                 numerics: NumericalSettings = NumericalSettings()):
        from .schema import validate

        self.config = validate(config, text)  # the declared schema (cevns.schema), every default filled in
        self.base_dir = base_dir
        self._text = text
        self.numerics = numerics
        self.name = str(config.get("name", "experiment"))
        self.title = str(config.get("title", self.name))
        self._build()

    response: Any  #: IonisationResponse (reactor germanium) or RecoilResponse (spallation source)
    data: Any  #: Dataset (chi^2 excess) or CountingData (Poisson counts)
    # set by the builders of the parts (cevns.builders): a germanium reactor experiment's
    detectors: Tuple[Any, ...]
    quenching: Any
    resolution: Any
    spectrum: Any
    #: the relative normalisation uncertainty (eq. 20), or a counting experiment's signal normalisation sigma
    sigma_alpha: float
    counting: Any  #: a counting experiment's data, backgrounds and likelihood (cevns.counting.Counting)
    background_model: Any  #: a 'chi2-background' experiment's (names, templates, priors) (cevns.background_chi2)

    # --- construction: the parts, each from its registered builder (cevns.builders) --------------------------
    def _build(self) -> None:
        cfg = self.config
        t = cfg["target"]
        element = t.get("element", t.get("label"))
        self.target = load_target(str(element), t.get("abundances"), composition=t.get("composition"),
                                  form_factor=str(t["form_factor"]), radii_fm=t.get("radii_fm"))
        self.binding = (load_binding_table(str(element), t["binding_table"], t.get("composition"))
                        if t["eves"] else None)
        self.source = build(SOURCES, "source", cfg.get("source", {"kind": "reactor"})["kind"])(cfg, self.base_dir)
        parts = build(RESPONSES, "response", cfg["quenching"]["model"])(cfg, self.base_dir, self.target, self.name,
                                                                        source=self.source)
        for attr, value in parts.items():  # the response, and for germanium its detectors, quenching, resolution, data
            setattr(self, attr, value)
        self.engine = ResponseEngine(self.target, self.source, self.response, self.binding, self.numerics)
        lik = cfg.get("likelihood", {"kind": "chi2"})
        self.likelihood_kind = lik["kind"]
        #: nuisance name -> tag; parts of a joint fit with the same tag share that nuisance
        self.shared_nuisances: Dict[str, str] = dict(lik.get("shared", {}))
        build(STATISTICS, "statistic", self.likelihood_kind)(self, lik)

    @property
    def flux(self):
        """The neutrino source (a :class:`~cevns.flux.ReactorFlux` or a :class:`~cevns.stopped_pion.StoppedPionSource`)."""
        return self.source

    # --- public API ------------------------------------------------------------------------------
    @property
    def counting_experiment(self) -> bool:
        """True for a Poisson counting experiment (COHERENT-like), False for a chi^2 excess (CONUS+)."""
        return self.likelihood_kind in ("poisson", "templates")

    @property
    def exposure_kg_day(self) -> float:
        """Reactor-on exposure [kg d] (reactor experiments; NaN for a spallation source, whose exposure is
        its mass and the protons on target)."""
        if not hasattr(self, "detectors"):
            return float("nan")
        return float(sum(d.exposure_kg_day for d in self.detectors))

    @property
    def edges_eVee(self) -> np.ndarray:
        """Energy bin edges [eV_ee] of a reactor germanium experiment."""
        if not isinstance(self.response, IonisationResponse):
            raise CevnsInputError(f"{self.name} bins in {self.response.observable}, not eV_ee: use .energy_edges")
        return np.asarray(self.response.edges_eVee, dtype=float)

    @property
    def energy_edges(self) -> np.ndarray:
        """Energy bin edges in the detector's observable (eV_ee for germanium, PE or keV_ee for COHERENT)."""
        return np.asarray(self.response.edges_eVee if isinstance(self.response, IonisationResponse)
                          else self.response.edges, dtype=float)

    @property
    def energy_unit(self) -> str:
        return "eV_ee" if isinstance(self.response, IonisationResponse) else self.response.observable

    def replace(self, **changes: Any) -> "Experiment":
        """A new experiment with some inputs changed: keywords of ``OVERRIDES``, ``numerics``,
        ``thresholds_eVee`` ({detector: eV_ee}) or ``efficiency`` ({detector: (energies_eVee, values)},
        linear between points, the curve of that detector replaced)."""
        cfg = copy.deepcopy(self.config)
        numerics = changes.pop("numerics", self.numerics)
        thresholds = changes.pop("thresholds_eVee", None)
        efficiency = changes.pop("efficiency", None)
        for key, val in changes.items():
            if key not in OVERRIDES:
                raise CevnsInputError(f"unknown input {key!r}; can change: "
                                      f"{sorted(OVERRIDES) + ['efficiency', 'numerics', 'thresholds_eVee']}")
            sec, field = OVERRIDES[key]
            if key == "distance_m" and "source" in cfg:
                sec = "source"
            if key in _SOLAR_ONLY and cfg.get("source", {}).get("kind") != "solar-8b":
                raise CevnsInputError(f"input {key!r} does not apply to {self.name} (its source is not the Sun's 8B)")
            if key in _IONISATION_ONLY and not isinstance(self.response, IonisationResponse):
                raise CevnsInputError(f"input {key!r} does not apply to {self.name} (a counting experiment "
                                      f"binned in {self.response.observable}: it has no Lindhard/Fano response or "
                                      "chi^2 normalisation)")
            if sec not in cfg and sec not in _OPTIONAL_SECTIONS:
                raise CevnsInputError(f"input {key!r} does not apply to {self.name} (it has no [{sec}] section)")
            cfg.setdefault(sec, {})[field] = val
            if key == "quenching":  # a germanium model by name (cevns.quenching): k belongs to Lindhard only
                if val == "lindhard":
                    cfg[sec].setdefault("k", 0.162)
                else:
                    cfg[sec].pop("k", None)
        if (thresholds is not None or efficiency is not None) and "detectors" not in cfg:
            raise CevnsInputError(f"thresholds_eVee and efficiency apply to the [[detectors]] of a germanium reactor "
                                  f"experiment; {self.name} has none")
        if thresholds is not None:
            if not isinstance(thresholds, dict):
                raise CevnsInputError(f"thresholds_eVee must map detector names to eV_ee, e.g. {{\"C2\": 200}}; "
                                      f"got {thresholds!r}")
            names = {d["name"] for d in cfg["detectors"]}
            bad = set(thresholds) - names
            if bad:
                raise CevnsInputError(f"unknown detector(s) {sorted(bad)}; known: {sorted(names)}")
            for d in cfg["detectors"]:
                if d["name"] in thresholds:
                    d["threshold_eVee"] = thresholds[d["name"]]  # type-checked by the schema
        if efficiency is not None:
            names = {d["name"] for d in cfg["detectors"]}
            if not isinstance(efficiency, dict) or set(efficiency) - names:
                raise CevnsInputError(f"efficiency must map detector names {sorted(names)} to "
                                      "(energies_eVee, values) pairs")
            for d in cfg["detectors"]:
                if d["name"] in efficiency:
                    pair = efficiency[d["name"]]
                    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(
                            isinstance(x, (list, tuple, np.ndarray)) for x in pair):
                        raise CevnsInputError(f"efficiency of {d['name']} must be (energies_eVee, values), two lists; "
                                              f"got {pair!r}")
                    d["efficiency_eVee"], d["efficiency"] = list(pair[0]), list(pair[1])
        try:
            return Experiment(cfg, self.base_dir, self._text, numerics)
        except CevnsInputError as e:  # a changed input's value did not come from the file: no file line
            raise renamed_error(e, f"changed input ({', '.join(sorted(changes))}): ", drop_line=True) from None

    def asimov(self, model: Optional[Model] = None, error_scale: float = 1.0,
               sigma: Any = None) -> "Experiment":
        """The same experiment with Asimov data: the counts are the prediction of ``model`` (default the
        SM) and the errors those of the data times ``error_scale``.  Fits to it give the expected
        (median) sensitivity.  Scaling the exposure by f: ``exp.replace(exposure_kg_day=f * E).asimov(
        error_scale=sqrt(f))`` -- counts grow as f, background-dominated errors as sqrt(f).

        ``sigma``: the 1 sigma error per bin [events] (a number or one per bin) of a chi^2 experiment,
        instead of the data's; needed when the experiment has no [data] (a hypothetical detector).  A
        counting experiment's errors are Poisson, from the prediction plus its backgrounds."""
        as_model(model, StandardModel())  # a clear error for anything but a model (None: the SM)
        if self.likelihood_kind == "chi2-background":
            raise CevnsInputError(f"{self.name}: Asimov data need a background, and its background is fitted to the "
                                  "data ([background_model]); fit the data instead")
        s = check_positive("error_scale", error_scale)
        new = self.replace()
        new.name = f"{self.name} (Asimov)"  # another data set: it may be fitted beside the real one
        if self.counting_experiment:
            if s != 1.0:
                raise CevnsInputError("error_scale applies to chi^2 experiments; a counting experiment's errors are "
                                      "Poisson (scale its exposure instead)")
            from .counting import with_data

            new.counting = with_data(self.counting, self.predict(model).total + self.counting.likelihood.bkg_total,
                                     f"Asimov ({model!r} prediction + backgrounds)")
            new.data = new.counting.dataset
            return new
        if sigma is not None:
            err = np.broadcast_to(np.asarray(sigma, dtype=float), (self.engine.n_bins,)).copy() \
                if np.ndim(sigma) == 0 or np.size(sigma) == self.engine.n_bins else None
            if err is None or not np.all(np.isfinite(err)) or np.any(err <= 0):
                raise CevnsInputError(f"sigma must be one positive number or {self.engine.n_bins} (one per bin), "
                                      "in events")
            source = "given"
        elif self.data is None:
            raise CevnsInputError(f"{self.name} has no [data]: Asimov data of a chi^2 experiment need the errors per "
                                  "bin, asimov(sigma=...) [events]")
        else:
            err, source = self.data.sigma, self.data.description
        base = self.data if self.data is not None else Dataset(self.energy_edges.copy(), err, err)
        new.data = dataclasses.replace(base, counts=self.predict(model).total, sigma=err * s,
                                       description=f"Asimov ({model!r} prediction) with {source} errors"
                                       + (f" x {s:g}" if s != 1.0 else ""))
        return new

    def predict(self, model: Optional[Model] = None) -> Prediction:
        """Expected CEvNS and EvES counts per bin for ``model`` (default: the Standard Model)."""
        model = as_model(model, StandardModel())
        r = self.response
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, not as a warning
            cev, eve = self.engine.rates(model, "cevns"), self.engine.rates(model, "eves")
        if not (np.all(np.isfinite(cev)) and np.all(np.isfinite(eve))):
            raise CevnsInputError(f"the prediction of {model!r} for {self.name} overflows (non-finite counts): "
                                  "check the size of the parameters and inputs")
        bkg = self.counting.likelihood.bkg_total if self.counting_experiment else None
        return Prediction(self.energy_edges.copy(), cev, eve, repr(model), self.data, unit=self.energy_unit,
                          time_edges_us=None if r.time_edges_us is None else np.asarray(r.time_edges_us, dtype=float),
                          background=bkg)

    def predict_many(self, model: Model, points: Dict[str, Any], channels: str = "cevns+eves") -> np.ndarray:
        """Expected counts per bin at many parameter points in one matrix product: ``points`` maps parameter names of
        ``model`` to equal-length arrays (the other parameters keep ``model``'s values), e.g.
        ``exp.predict_many(cevns.MagneticMoment(), {"mu_nu": np.geomspace(1e-12, 1e-9, 100)})``; returns
        (n_points, n_bins), the sum of ``channels``.  A mediator's mass stays ``model``'s (one mass per call)."""
        model = as_model(model)
        if not isinstance(points, dict):
            raise CevnsInputError(f"predict_many: points must map parameter names to arrays, got {type(points).__name__}")
        known = set(type(model).parameter_table)
        unknown = sorted(set(points) - known)
        if unknown:
            raise CevnsInputError(f"predict_many: {', '.join(unknown)} not coupling parameters of {type(model).name}; "
                                  f"its parameters: {', '.join(sorted(known))}")
        cols = {}
        for k, v in points.items():
            raw = np.atleast_1d(np.asarray(v))
            if raw.dtype.kind not in "iuf":  # booleans, strings, complex numbers: not parameter values
                raise CevnsInputError(f"predict_many: {k} must be real numbers, got {raw.dtype} values")
            cols[k] = raw.astype(float)
            lo, hi = type(model).parameter(k).bounds
            if cols[k].size and not (lo <= cols[k].min() and cols[k].max() <= hi):
                raise CevnsInputError(f"predict_many: {k} must lie in [{lo:g}, {hi:g}]")
        sizes = {c.size for c in cols.values()}
        if len(sizes) > 1 or any(c.ndim != 1 for c in cols.values()) or not all(np.all(np.isfinite(c)) for c in cols.values()):
            raise CevnsInputError("predict_many: every parameter needs a 1-d array of finite values, all of one length")
        n = sizes.pop() if sizes else 1
        out = np.zeros((n, self.engine.n_bins))
        for ch in _parse_channels(channels):
            basis = self.engine.basis(model, ch)
            pts = np.tile([model.values()[k] for k in basis.names], (n, 1))
            for k, v in cols.items():
                if k in basis.names:
                    pts[:, basis.names.index(k)] = v
            with np.errstate(over="ignore", invalid="ignore"):
                out += basis.evaluate_many(pts)
        if not np.all(np.isfinite(out)):
            raise CevnsInputError(f"predict_many: the prediction of {type(model).__name__} overflows (non-finite counts) "
                                  "at some points: check the size of the values")
        return out

    def chi2(self, model: Optional[Model] = None, channels: str = "cevns+eves") -> float:
        """chi^2 of eq. 20 (alpha minimised) for ``model`` using ``channels``."""
        from .analysis import chi2_of

        model = as_model(model, StandardModel())
        p = self.predict(model)
        pred = sum(getattr(p, ch) for ch in _parse_channels(channels))
        return float(chi2_of(self)(pred))

    def chi2_function(self) -> Any:
        """The statistic of this experiment: eq. 20 (alpha minimised analytically) for a chi^2 experiment,
        -2 ln lambda with profiled nuisances (:class:`cevns.poisson.PoissonLikelihood`) for a counting one."""
        if self.data is None:
            raise CevnsInputError(f"{self.name} has no [data]: nothing to fit; predict, or fit its Asimov data "
                                  "(.asimov(), the expected sensitivity)")
        if self.counting_experiment:
            return self.counting.likelihood
        if self.likelihood_kind == "chi2-background":
            from .background_chi2 import BackgroundChi2

            names, templates, priors = self.background_model
            return BackgroundChi2(self.data.counts, self.data.sigma, templates, tuple(names), priors, self.sigma_alpha)
        return Chi2(self.data.counts, self.data.sigma, self.sigma_alpha)

    def inputs(self) -> Dict[str, Any]:
        """Every input that enters the predictions (recorded in results)."""
        if hasattr(self.source, "inputs") and hasattr(self.response, "inputs"):  # a release's templates (XENONnT)
            like = self.counting.likelihood
            return {"experiment": self.name, "target": self.target.element, "form_factor": self.target.form_factor,
                    "radii_fm": {str(z): v for z, v in self.target.radii_fm}, "source": self.source.inputs(),
                    "detector": self.response.inputs(), "likelihood": self.likelihood_kind,
                    "nuisances": list(like.names), "signal_sigma": like.signal_sigma,
                    "backgrounds": {n: float(b.sum()) for n, b in zip(self.counting.background_names,
                                                                      like.backgrounds)},
                    "data": self.data.description, "observed_events": float(self.data.counts.sum())}
        if self.counting_experiment:
            src, r, like = self.source, self.response, self.counting.likelihood
            return {"experiment": self.name, "target": self.target.element, "form_factor": self.target.form_factor,
                    "radii_fm": {str(z): v for z, v in self.target.radii_fm},
                    "source": {"kind": src.kind, "pot": src.pot, "nu_per_pot": src.nu_per_pot,
                               "distance_m": src.distance_m, "pot_mean_us": src.pot_mean_us,
                               "pot_width_us": src.pot_width_us, "fluence_cm2": src.fluence_per_cm2},
                    "detector": {"mass_kg": r.mass_kg, "quenching": r.quenching, "coefficients": list(r.coefficients),
                                 "observable": r.observable, "energy_edges": list(r.edges),
                                 "time_edges_us": None if r.time_edges_us is None else list(r.time_edges_us)},
                    "likelihood": "poisson", "nuisances": list(like.names), "signal_sigma": like.signal_sigma,
                    "backgrounds": {n: float(b.sum()) for n, b in zip(self.counting.background_names,
                                                                      like.backgrounds)},
                    "data": self.data.description if self.data is not None else None,
                    "observed_events": float(self.data.counts.sum()) if self.data is not None else None}
        return {
            "experiment": self.name,
            "exposure_kg_day": self.exposure_kg_day,
            "detectors": [{"name": d.name, "mass_kg": d.mass_kg, "threshold_eVee": d.threshold_eVee,
                           "exposure_kg_day": round(d.exposure_kg_day, 6),
                           **({"sigma0_eV": d.resolution.sigma0_eV, "fano": d.resolution.fano}
                              if d.resolution is not None else {})} for d in self.detectors],
            "quenching_k": getattr(self.quenching, "k", None),
            **({} if isinstance(self.quenching, Lindhard) else {"quenching": self.quenching.model}),
            "resolution": {"model": self.resolution.model, "sigma0_eV": self.resolution.sigma0_eV,
                           "fano": self.resolution.fano} if self.resolution.on else {"model": "off"},
            "flux": {"thermal_power_GW": self.flux.thermal_power_GW, "distance_m": self.flux.distance_m,
                     "energy_per_fission_MeV": self.flux.energy_per_fission_MeV,
                     "fission_fractions": self.flux.fractions, "captures_per_fission": self.flux.captures_per_fission,
                     "tail": self.flux.tail, "total_flux_cm2_s": self.flux.total_flux()},
            "binding_table": self.binding.name if self.binding is not None else None,
            "sigma_alpha": self.sigma_alpha,
            **({"likelihood": self.likelihood_kind, "background_terms": list(self.background_model[0])}
               if self.likelihood_kind == "chi2-background" else {}),
            "data": self.data.description if self.data is not None else None,
            "error_scale": float(self.config.get("data", {}).get("error_scale", 1.0)),
        }


def _did_you_mean(name: str, known) -> str:
    """'; did you mean 'coherent-csi-2021'?' for a near miss of a known name (case, punctuation, a missing year)."""
    import difflib

    norm = {k: "".join(c for c in k.lower() if c.isalnum()) for k in known}
    key = "".join(c for c in name.lower() if c.isalnum())
    close = [k for k, v in norm.items() if v == key or (len(key) >= 4 and v.startswith(key))]
    close = close or difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.7)
    return f"; did you mean {sorted(close, key=len)[0]!r}?" if close else ""


def read_experiment_file(name_or_path: str | os.PathLike) -> Tuple[Dict[str, Any], str, Path]:
    """The parsed TOML of a built-in experiment or a file (not validated), its text and its folder."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise CevnsInputError(f"experiment must be a built-in name ({', '.join(sorted(BUILTIN))}) or a path to a "
                              f"TOML file, got {name_or_path!r} (type {type(name_or_path).__name__})"[:300])
    name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise CevnsInputError(f"experiment path must be text, got {name_or_path!r}"[:300])
    if name_or_path in BUILTIN:
        res = resources.files("cevns.data").joinpath("experiments").joinpath(BUILTIN[name_or_path])
        text = res.read_text()
        base = Path(str(res)).parent
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise CevnsInputError(f"no experiment {name_or_path!r}: not a built-in ({', '.join(sorted(BUILTIN))}) "
                                  f"and no such file{_did_you_mean(name_or_path, BUILTIN)}")
        if not path.is_file():
            raise CevnsInputError(f"experiment file {name_or_path}: not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CevnsInputError(f"experiment file {name_or_path}: larger than {MAX_FILE_BYTES // 1_000_000} MB "
                                  "(an experiment file is a short TOML text)")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")  # a byte-order mark (as a spreadsheet or Notepad writes) dropped
        except UnicodeDecodeError as e:
            raise CevnsInputError(f"experiment file {name_or_path}: not UTF-8 text (byte {e.start})") from None
        base = path.parent
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CevnsInputError(f"experiment file {name_or_path}: malformed TOML: {e}") from None
    return cfg, text, base


@limited
def load_experiment(name_or_path: str | os.PathLike = "conus-plus", **overrides: Any) -> Experiment:
    """Load a built-in experiment by name ("conus-plus") or a TOML file by path, with optional overrides."""
    cfg, text, base = read_experiment_file(name_or_path)
    try:
        exp = Experiment(cfg, base, text)
    except CevnsInputError as e:  # name the file (a joint fit reads several)
        raise renamed_error(e, f"experiment file {os.fspath(name_or_path)}: ") from None
    return exp.replace(**overrides) if overrides else exp


_PREFIX = "experiment file: "


def renamed_error(e: CevnsInputError, prefix: str, drop_line: bool = False) -> CevnsInputError:
    """``e`` with its leading "experiment file: " replaced by ``prefix`` (and its "(line N)" of the file dropped,
    for a value that did not come from the file)."""
    import re

    msg = str(e)
    if not msg.startswith(_PREFIX):
        return e
    msg = prefix + msg[len(_PREFIX):]
    if drop_line:
        msg = re.sub(r" \(line \d+\)$", "", msg)
    return type(e)(msg)



class _JointEngine:
    """The parts' polynomial bases side by side (bins concatenated, monomials united)."""

    def __init__(self, parts: Sequence[Experiment]):
        self.parts = parts
        self._cache: Dict[Tuple, Basis] = {}

    def basis(self, model: Model, channel: str) -> Basis:
        """Concatenated basis of ``model`` in ``channel`` (cached like the parts' own bases)."""
        key = model.structure_key() + (channel,)
        if key not in self._cache:
            self._cache[key] = self._build(model, channel)
        return self._cache[key]

    def prefetch(self, model: Model, channel: str, masses: Sequence[float]) -> None:
        """Every part's bases at many masses at once (see :meth:`cevns.rates.ResponseEngine.prefetch`)."""
        for e in self.parts:
            e.engine.prefetch(model, channel, masses)

    def _build(self, model: Model, channel: str) -> Basis:
        bases = [e.engine.basis(model, channel) for e in self.parts]
        monos = sorted({m for b in bases for m in b.monomials})
        B = np.zeros((len(monos), sum(b.B.shape[1] for b in bases)))
        col = 0
        for b in bases:
            for m, row in zip(b.monomials, b.B):
                B[monos.index(m), col:col + row.size] = row
            col += b.B.shape[1]
        return Basis(bases[0].names, monos, B)


class JointExperiment(_Analyses):
    """Several experiments fitted together: chi^2 is the sum of each one's eq. 20, each with its own
    normalisation nuisance (independent flux/efficiency normalisations).  Build with ``exp1 + exp2``;
    it has the analysis methods of :class:`Experiment` (fit, limit, exclusion, contour; chi2, asimov,
    replace act on every part) and predicts a list of per-experiment :class:`~cevns.results.Prediction`.
    """

    parts: Tuple[Experiment, ...]

    def __init__(self, *experiments: "Experiment | JointExperiment"):
        parts: List[Experiment] = []
        for e in experiments:
            parts.extend(e.parts if isinstance(e, JointExperiment) else [e])
        if len(parts) < 2:
            raise CevnsInputError("a joint experiment needs at least two experiments")
        if len({id(e) for e in parts}) < len(parts) or len({e.name for e in parts}) < len(parts):
            names = [e.name for e in parts]
            raise CevnsInputError(f"the same experiment twice in a joint fit ({', '.join(names)}): its data would "
                                  "count twice (for a what-if, give the copy another name in its file)")
        self.parts = tuple(parts)
        self.engine = _JointEngine(self.parts)
        nodata = [e.name for e in parts if e.data is None]
        if nodata:
            raise CevnsInputError(f"{', '.join(nodata)} ha{'s' if len(nodata) == 1 else 've'} no [data]: a joint fit "
                                  "needs data in every part (use .asimov() for an expected sensitivity)")
        self.data = Dataset(np.arange(sum(e.data.counts.size for e in parts) + 1, dtype=float),
                            np.concatenate([e.data.counts for e in parts]),
                            np.concatenate([e.data.sigma for e in parts]),
                            description=" + ".join(e.data.description for e in parts))
        self.name = " + ".join(e.name for e in parts)
        self.title = " + ".join(e.title for e in parts)

    def chi2_function(self) -> Any:
        """Sum of the parts' statistics (eq. 20 for chi^2 parts, -2 ln lambda for counting parts).  Counting
        parts whose files tag a nuisance alike (``[likelihood] shared``) are profiled together, that
        nuisance shared (e.g. the SNS flux of CsI and LAr); every other nuisance stays with its part."""
        cached: Any = getattr(self, "_statistic", None)  # the parts never change: build it once
        if cached is None:
            cached = self._build_statistic()
            self._statistic = cached
        return cached

    def _build_statistic(self) -> Any:
        stats = [e.chi2_function() for e in self.parts]
        components = self.sharing_components()
        if all(len(c) == 1 for c in components):
            return JointChi2(stats)
        from .poisson import PoissonLikelihood

        tags = [e.shared_nuisances for e in self.parts]
        edges = np.cumsum([0] + [e.data.counts.size for e in self.parts])
        idx = [np.arange(edges[i], edges[i + 1]) for i in range(len(self.parts))]
        groups = []
        for c in components:  # a part that shares nothing stays alone: its nuisances never enter another's Newton step
            st = stats[c[0]] if len(c) == 1 else PoissonLikelihood.combine([stats[i] for i in c], [tags[i] for i in c])
            groups.append((st, np.concatenate([idx[i] for i in c])))
        return Grouped(groups, int(edges[-1]))

    def sharing_components(self) -> List[List[int]]:
        """The parts in groups profiled together: counting parts linked by a shared nuisance tag (directly or
        through another part); every other part alone."""
        tags = [set(e.shared_nuisances.values()) if e.counting_experiment else set() for e in self.parts]
        components: List[List[int]] = []
        for i in range(len(self.parts)):
            linked = [c for c in components if any(tags[i] & tags[j] for j in c)]
            merged = sorted({j for c in linked for j in c} | {i})
            components = [c for c in components if c not in linked] + [merged]
        return sorted(components)

    def shared_nuisances(self) -> Dict[str, List[str]]:
        """Nuisances profiled jointly across parts: tag -> the parts (by name) that share it."""
        out: Dict[str, List[str]] = {}
        for e in self.parts:
            for t in e.shared_nuisances.values():
                out.setdefault(t, []).append(e.name)
        return {t: v for t, v in out.items() if len(v) > 1}

    def inputs(self) -> Dict[str, Any]:
        """The inputs of every part."""
        return {"joint": [e.inputs() for e in self.parts]}

    def replace(self, **changes: Any) -> "JointExperiment":
        """Each change applied to every part it applies to (see :meth:`Experiment.replace`), e.g.
        ``shared={}`` to the counting parts only; a change that applies to no part is an error."""
        parts = list(self.parts)
        for key, val in changes.items():
            done, last = 0, None
            for i, e in enumerate(parts):
                try:
                    parts[i] = e.replace(**{key: val})
                    done += 1
                except CevnsInputError as err:
                    if "does not apply" not in str(err):
                        raise
                    last = err
            if not done and last is not None:
                raise CevnsInputError(f"input {key!r} applies to none of {self.name}") from None
        return JointExperiment(*parts)

    def asimov(self, model: Optional[Model] = None, error_scale: float = 1.0) -> "JointExperiment":
        """Asimov data in every part (see :meth:`Experiment.asimov`)."""
        as_model(model, StandardModel())  # a clear error for anything but a model (None: the SM)
        return JointExperiment(*(e.asimov(model, error_scale) for e in self.parts))

    def predict(self, model: Optional[Model] = None) -> List[Prediction]:
        """One prediction per part."""
        model = as_model(model, StandardModel())
        return [e.predict(model) for e in self.parts]

    def chi2(self, model: Optional[Model] = None, channels: str = "cevns+eves") -> float:
        """The joint statistic for ``model``: the sum of the parts' (eq. 20, alpha minimised each; -2 ln lambda
        of counting parts, shared nuisances profiled together)."""
        ch = _parse_channels(channels)
        pred = np.concatenate([sum(getattr(p, c) for c in ch) for p in self.predict(model)])
        return float(self.chi2_function()(pred))

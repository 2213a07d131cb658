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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from . import registry as _registry
from ._files import MAX_FILE_BYTES, data_table, is_number
from ._threads import limited
from .detector import (
    Detector,
    Efficiency,
    IonisationResponse,
    Lindhard,
    Logistic,
    RecoilResponse,
    Resolution,
    Tabulated,
    TimeEfficiency,
    check_bins,
)
from .errors import CevnsInputError, check_positive
from .flux import ReactorFlux
from .models import Model, StandardModel, as_model
from .nuclei import load_binding_table, load_target
from .rates import CHANNELS, Basis, NumericalSettings, ResponseEngine
from .results import ContourResult, ExclusionResult, FitResult, Prediction
from .schema import MAX_ITEMS
from .stats import Chi2, JointChi2
from .stopped_pion import StoppedPionSource

#: built-in experiment name -> its file (from :data:`cevns.registry.EXPERIMENTS`)
BUILTIN = {name: f for name, (f, _) in _registry.EXPERIMENTS.items()}

#: source kinds of the [source] section -> builder (a new source is one entry here)
SOURCE_KINDS = {"reactor": lambda exp: exp._reactor_source(), "stopped-pion": lambda exp: exp._stopped_pion_source()}

#: keyword overrides accepted by load_experiment / Experiment.replace -> (section, key)
OVERRIDES = {
    "k": ("quenching", "k"),
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
}
#: sections an override may create when the file has none; any other must exist in the experiment
_OPTIONAL_SECTIONS = ("statistics", "resolution", "data", "target")
#: inputs of the reactor germanium response (Lindhard, Fano resolution, exposure, chi^2 of eq. 20) only
_IONISATION_ONLY = ("k", "resolution", "sigma0_eV", "fano", "exposure_kg_day", "binding_table", "sigma_alpha",
                    "error_scale")


def _line_of(text: str, key: str) -> str:
    for i, ln in enumerate(text.splitlines(), 1):
        if ln.strip().startswith(key):
            return f" (line {i})"
    return ""


def _parse_channels(channels: str) -> Tuple[str, ...]:
    parts = tuple(p.strip() for p in str(channels).split("+") if p.strip())
    if not parts or any(p not in CHANNELS for p in parts):
        lower = tuple(p.lower() for p in parts)
        hint = f"; did you mean {'+'.join(lower)!r}?" if lower and all(p in CHANNELS for p in lower) else ""
        raise CevnsInputError(f"channels must be 'cevns', 'eves' or 'cevns+eves', got {channels!r}{hint}")
    if len(set(parts)) != len(parts):
        raise CevnsInputError(f"channels: each channel once, got {channels!r} (use 'cevns', 'eves' or 'cevns+eves')")
    return parts


@dataclass(frozen=True)
class Dataset:
    """Observed counts per bin with 1 sigma errors (both in events), and the bin edges [eV_ee]."""

    edges_eVee: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray
    description: str = ""


def _read_dataset(path: Path, spec: Dict[str, Any], text: str) -> Dataset:
    cols = spec.get("columns", {"lo": "bin_lo_eVee", "hi": "bin_hi_eVee", "value": "value", "sigma": "sigma"})
    units = spec.get("units", "counts")
    if units not in ("counts", "counts_per_kg"):
        raise CevnsInputError(f"[data] units must be 'counts' or 'counts_per_kg', got {units!r}{_line_of(text, 'units')}")
    scale = 1.0
    if units == "counts_per_kg":
        if "normalisation_mass_kg" not in spec:
            raise CevnsInputError("[data] units = 'counts_per_kg' needs normalisation_mass_kg")
        scale = float(spec["normalisation_mass_kg"])
    if not path.is_file():
        raise CevnsInputError(f"[data] file {str(path)!r} not found{_line_of(text, 'file')}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CevnsInputError(f"data file {path.name}: larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        text_csv = path.read_bytes().decode("utf-8-sig")  # a byte-order mark (as a spreadsheet writes) dropped
    except UnicodeDecodeError as e:
        raise CevnsInputError(f"data file {path.name}: not UTF-8 text (byte {e.start})") from None
    header, body = data_table(text_csv, f"data file {path.name}", MAX_ITEMS, "bins")
    for role in ("lo", "hi", "value", "sigma"):
        if cols.get(role) not in header:
            raise CevnsInputError(f"data file {path.name}: missing column {cols.get(role)!r} ({role}); has {header}")
    idx = {role: header.index(cols[role]) for role in ("lo", "hi", "value", "sigma")}
    rows: List[Tuple[float, ...]] = []
    for lineno, fields in body:
        try:
            vals = tuple(float(fields[idx[r]]) for r in ("lo", "hi", "value", "sigma"))
        except ValueError:
            bad = next(r for r in ("lo", "hi", "value", "sigma") if not is_number(fields[idx[r]]))
            raise CevnsInputError(f"data file {path.name}, line {lineno}: expected numbers in columns "
                                  f"{[cols[r] for r in ('lo', 'hi', 'value', 'sigma')]}; {cols[bad]} holds "
                                  f"{fields[idx[bad]][:60]!r}") from None
        if not all(np.isfinite(vals)):
            raise CevnsInputError(f"data file {path.name}, line {lineno}: NaN or inf")
        if vals[3] <= 0:
            raise CevnsInputError(f"data file {path.name}, line {lineno}: sigma must be > 0, got {vals[3]:g}")
        if vals[1] <= vals[0]:
            raise CevnsInputError(f"data file {path.name}, line {lineno}: empty bin [{vals[0]:g}, {vals[1]:g}]")
        rows.append(vals)
    a = np.array(rows)
    if np.any(np.abs(a[1:, 0] - a[:-1, 1]) > 1e-9):
        raise CevnsInputError(f"data file {path.name}: bins must be contiguous and ordered (each lo = previous hi)")
    edges = check_bins(np.concatenate([a[:, 0], a[-1:, 1]]))
    err_scale = check_positive("[data] error_scale", spec.get("error_scale", 1.0))
    if np.abs(a[:, 2:4]).max() > 1e100 / (scale * max(err_scale, 1.0)):
        raise CevnsInputError(f"data file {path.name}: values or errors above 1e100 events in a bin (after the "
                              "normalisation mass and error_scale)")
    return Dataset(edges, a[:, 2] * scale, a[:, 3] * scale * err_scale, description=str(path.name))


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

    @limited
    def fit(self, param: str = "sin2w", channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Best fit, Delta chi^2 profile and intervals of ``param`` (see :func:`cevns.analysis.fit`)."""
        from . import analysis

        return analysis.fit(self, param, channels, **kw)

    @limited
    def limit(self, param: str, cl: float | str = 0.90, channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Allowed region of ``param`` at confidence level ``cl`` (see :func:`cevns.analysis.limit`)."""
        from . import analysis

        return analysis.limit(self, param, cl, channels, **kw)

    @limited
    def exclusion(self, model: str = "scalar", channels: str = "cevns+eves", **kw: Any) -> "ExclusionResult":
        """Mediator exclusion curve in (mass [MeV], g) (see :func:`cevns.analysis.exclusion`)."""
        from . import analysis

        return analysis.exclusion(self, model, channels, **kw)

    @limited
    def contour(self, params: Sequence[str], channels: str = "cevns+eves", **kw: Any) -> "ContourResult":
        """Delta chi^2 over two parameters of one model, e.g. ("q_ee", "q_emu") (see :func:`cevns.analysis.contour`)."""
        from . import analysis

        return analysis.contour(self, params, channels, **kw)



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

    # --- construction from the config dict ------------------------------------------------
    def _section(self, key: str) -> Dict[str, Any]:
        sec = self.config.get(key)
        if not isinstance(sec, dict):
            raise CevnsInputError(f"experiment file: missing section [{key}]{_line_of(self._text, '[' + key)}")
        return sec

    def _get(self, sec: str, key: str, default: Any = None, required: bool = False) -> Any:
        s = self._section(sec)
        if key not in s:
            if required:
                raise CevnsInputError(f"experiment file: missing field {key!r} in [{sec}]")
            return default
        return s[key]

    def _num(self, sec: str, key: str, default: Any = None, required: bool = False) -> float:
        v = self._get(sec, key, default, required)
        try:
            return float(v)
        except (TypeError, ValueError):
            raise CevnsInputError(f"experiment file: [{sec}] {key} must be a number, got {v!r}"
                                  f"{_line_of(self._text, key)}") from None

    response: Any  #: IonisationResponse (reactor germanium) or RecoilResponse (spallation source)
    data: Any  #: Dataset (chi^2 excess) or CountingData (Poisson counts)

    def _build(self) -> None:
        t = self._section("target")
        element = t.get("element", t.get("label"))
        if element is None:
            raise CevnsInputError("experiment file: missing field 'element' (or 'label' with 'composition') in [target]")
        self.target = load_target(str(element), t.get("abundances"), composition=t.get("composition"),
                                  form_factor=str(t.get("form_factor", "helm")), radii_fm=t.get("radii_fm"))
        eves = t.get("eves", True)
        if not isinstance(eves, bool):
            raise CevnsInputError(f"[target] eves must be true or false, got {eves!r}")
        self.binding = load_binding_table(str(element), t.get("binding_table", "carlson")) if eves else None
        kind = self.config.get("source", {}).get("kind", "reactor") if "source" in self.config else "reactor"
        if kind not in SOURCE_KINDS:
            raise CevnsInputError(f"[source] kind must be one of {sorted(SOURCE_KINDS)}, got {kind!r}")
        self.source = SOURCE_KINDS[kind](self)
        q = self._section("quenching")
        qmodel = q.get("model", "lindhard")
        if qmodel == "lindhard":
            self._build_ionisation()
        elif qmodel in ("polynomial", "linear-qf"):
            self.response = self._recoil_response(self.config)
        else:
            raise CevnsInputError(f"[quenching] model must be 'lindhard', 'polynomial' or 'linear-qf', got {qmodel!r}")
        self.engine = ResponseEngine(self.target, self.source, self.response, self.binding, self.numerics)
        lik = self.config.get("likelihood", {"kind": "chi2"})
        if not isinstance(lik, dict) or lik.get("kind", "chi2") not in ("chi2", "poisson"):
            raise CevnsInputError(f"[likelihood] kind must be 'chi2' or 'poisson', got {lik!r}")
        self.likelihood_kind = lik.get("kind", "chi2")
        if self.likelihood_kind == "chi2":
            self.data = self._dataset
            if self.data is not None and self.data.counts.size != self.engine.n_bins:
                raise CevnsInputError(f"data have {self.data.counts.size} bins, the detector {self.engine.n_bins}")
            self.sigma_alpha = self._num("statistics", "sigma_alpha", 0.20) if "statistics" in self.config else 0.20
            if not np.isfinite(self.sigma_alpha) or self.sigma_alpha < 0:
                raise CevnsInputError(f"[statistics] sigma_alpha must be >= 0, got {self.sigma_alpha:g}")
        else:
            from .counting import build_counting

            self.counting = build_counting(self, lik)
            self.data = self.counting.dataset if "data" in self.config else None
            self.sigma_alpha = float(self.counting.likelihood.signal_sigma)
        shared = lik.get("shared", {})
        if not isinstance(shared, dict) or not all(isinstance(v, str) for v in shared.values()):
            raise CevnsInputError("[likelihood] shared must map nuisance names to tags, e.g. "
                                  "{ \"signal normalisation\" = \"sns-flux\" }")
        if shared and self.likelihood_kind != "poisson":
            raise CevnsInputError("[likelihood] shared nuisances need a Poisson likelihood (a chi^2 experiment's "
                                  "normalisation is minimised analytically, on its own)")
        unknown = set(shared) - set(self.counting.likelihood.names if shared else [])
        if unknown:
            raise CevnsInputError(f"[likelihood] shared: unknown nuisance(s) {sorted(unknown)}; "
                                  f"known: {self.counting.likelihood.names}")
        #: nuisance name -> tag; parts of a joint fit with the same tag share that nuisance
        self.shared_nuisances: Dict[str, str] = dict(shared)

    # --- sources (registry: SOURCE_KINDS) -------------------------------------------------------
    def _reactor_source(self) -> ReactorFlux:
        r = self._section("reactor")
        ff = r.get("fission_fractions")
        if not isinstance(ff, dict):
            raise CevnsInputError(f"experiment file: [reactor] fission_fractions must be a table like "
                                  f"{{ U235 = 0.53, ... }}{_line_of(self._text, 'fission_fractions')}")
        return ReactorFlux(
            thermal_power_GW=self._num("reactor", "thermal_power_GW", required=True),
            distance_m=self._num("reactor", "distance_m", required=True),
            energy_per_fission_MeV=self._num("reactor", "energy_per_fission_MeV", 205.24),
            fission_fractions={k: self._float(f"[reactor] fission_fractions.{k}", v) for k, v in ff.items()},
            captures_per_fission=self._num("reactor", "captures_per_fission", 0.6),
            tail=str(r.get("tail", "summation")))

    def _stopped_pion_source(self) -> StoppedPionSource:
        return StoppedPionSource(pot=self._num("source", "pot", required=True),
                                 nu_per_pot=self._num("source", "nu_per_pot", required=True),
                                 distance_m=self._num("source", "distance_m", required=True),
                                 pot_mean_us=self._num("source", "pot_mean_us", 0.44),
                                 pot_width_us=self._num("source", "pot_width_us", 0.15))

    @property
    def flux(self):
        """The neutrino source (a :class:`~cevns.flux.ReactorFlux` or a :class:`~cevns.stopped_pion.StoppedPionSource`)."""
        return self.source

    def _float(self, what: str, v: Any) -> float:
        if isinstance(v, bool):
            raise CevnsInputError(f"experiment file: {what} must be a number, got {v!r}")
        try:
            return float(v)
        except (TypeError, ValueError):
            raise CevnsInputError(f"experiment file: {what} must be a number, got {v!r}") from None

    # --- responses ------------------------------------------------------------------------------
    def _build_ionisation(self) -> None:
        """Reactor germanium: Lindhard quenching, Fano resolution, [[detectors]] sharing an exposure."""
        self.quenching = Lindhard(k=self._num("quenching", "k", 0.162), Z=self.target.Z)
        res = self.config.get("resolution", {"model": "off"})
        self.resolution = Resolution(model=str(res.get("model", "off")),
                                     sigma0_eV=self._float("[resolution] sigma0_eV", res.get("sigma0_eV", 20.38)),
                                     fano=self._float("[resolution] fano", res.get("fano", 0.11)),
                                     pair_energy_eV=self._float("[resolution] pair_energy_eV", res.get("pair_energy_eV", 2.96)),
                                     nsigma=self._float("[resolution] nsigma", res.get("nsigma", 6.0)))
        dets = self.config.get("detectors")
        if not isinstance(dets, list) or not dets:
            raise CevnsInputError("experiment file: needs at least one [[detectors]] entry")
        masses = []
        for i, d in enumerate(dets):
            for key in ("name", "mass_kg", "threshold_eVee"):
                if key not in d:
                    raise CevnsInputError(f"experiment file: [[detectors]] entry {i + 1} is missing {key!r}")
            masses.append(self._float(f"[[detectors]] {d['name']} mass_kg", d["mass_kg"]))
        total_exposure = self._num("exposure", "total_kg_day", required=True)
        if not np.isfinite(total_exposure) or total_exposure <= 0:
            raise CevnsInputError(f"[exposure] total_kg_day must be > 0 kg d, got {total_exposure:g}")
        mtot = sum(masses)

        def own_resolution(d: Dict[str, Any]) -> Optional[Resolution]:
            # per-detector noise (sigma0_eV) or Fano factor override the [resolution] section
            if "sigma0_eV" not in d and "fano" not in d:
                return None
            g = self.resolution
            return Resolution(model=g.model, sigma0_eV=self._float("sigma0_eV", d.get("sigma0_eV", g.sigma0_eV)),
                              fano=self._float("fano", d.get("fano", g.fano)), pair_energy_eV=g.pair_energy_eV,
                              nsigma=g.nsigma)

        self.detectors = tuple(
            Detector(str(d["name"]), m, self._float(f"[[detectors]] {d['name']} threshold_eVee", d["threshold_eVee"]),
                     self._float(f"[[detectors]] {d['name']} exposure_kg_day",
                                 d.get("exposure_kg_day", total_exposure * m / mtot)),
                     Efficiency(tuple(d.get("efficiency_eVee", ())), tuple(d.get("efficiency", ()))),
                     own_resolution(d))
            for d, m in zip(dets, masses))
        self._dataset = None
        if "data" in self.config:
            spec = self.config["data"]
            self._dataset = _read_dataset(self.base_dir / spec["file"], spec, self._text)
            edges = self._dataset.edges_eVee
            if "binning" in self.config and not np.array_equal(edges, check_bins(self.config["binning"]["edges_eVee"])):
                raise CevnsInputError("experiment file: [binning] edges_eVee differ from the bins of the [data] file")
        else:
            edges = check_bins(self.config["binning"]["edges_eVee"])
        self.response = IonisationResponse(self.detectors, self.quenching, self.resolution, tuple(edges))
        lowest = min(d.threshold_eVee for d in self.detectors)
        below = int(np.sum(np.asarray(edges)[1:] <= lowest))
        if below:
            import warnings

            from .errors import CevnsWarning

            warnings.warn(f"{self.name}: {below} bin(s) lie below every detector threshold (lowest "
                          f"{lowest:g} eV_ee): they are predicted empty", CevnsWarning, stacklevel=2)

    def _recoil_response(self, cfg: Dict[str, Any]) -> RecoilResponse:
        """Spallation-source detectors (COHERENT CsI, LAr): quenching curve, spread, efficiency, time bins."""
        q, d = cfg.get("quenching", {}), cfg.get("detector")
        if not isinstance(d, dict):
            raise CevnsInputError("experiment file: a 'polynomial' or 'linear-qf' quenching needs a [detector] section")
        coeffs = q.get("coefficients")
        if not isinstance(coeffs, list) or not coeffs:
            raise CevnsInputError("[quenching] coefficients must be a list of numbers")
        te = d.get("time_efficiency", {})
        if not isinstance(te, dict):
            raise CevnsInputError("[detector] time_efficiency must be a table { t0_us = ..., decay_us = ... }")
        return RecoilResponse(
            mass_kg=self._float("[detector] mass_kg", d.get("mass_kg")),
            quenching=str(q.get("model")),
            coefficients=tuple(self._float("[quenching] coefficients", c) for c in coeffs),
            observable=str(d.get("observable", "keVee")),
            spread=tuple(self._float("[detector] spread", c) for c in self._list(d, "spread")),
            edges=tuple(self._float("[detector] energy_edges", c) for c in self._list(d, "energy_edges")),
            efficiency=self._efficiency(d.get("efficiency")),
            light_yield=self._float("[detector] light_yield", d.get("light_yield", 1.0)),
            time_edges_us=(tuple(self._float("[detector] time_edges_us", c) for c in d["time_edges_us"])
                           if "time_edges_us" in d else None),
            time_efficiency=TimeEfficiency(self._float("time_efficiency t0_us", te.get("t0_us", 0.0)),
                                           self._float("time_efficiency decay_us", te.get("decay_us", float("inf")))))

    @staticmethod
    def _list(sec: Dict[str, Any], key: str) -> list:
        v = sec.get(key, [])
        if not isinstance(v, list):
            raise CevnsInputError(f"[detector] {key} must be a list of numbers, got {v!r}")
        return v

    def _efficiency(self, spec: Any):
        if spec is None:
            return None
        if not isinstance(spec, dict) or spec.get("kind") not in ("logistic", "table"):
            raise CevnsInputError(f"[detector] efficiency must be {{ kind = 'logistic', a, b, c, d }} or "
                                  f"{{ kind = 'table', file, x, value }}; got {spec!r}")
        if spec["kind"] == "logistic":
            return Logistic(*(self._float(f"efficiency {k}", spec.get(k)) for k in "abcd"))
        from .counting import read_table

        tab = read_table(self.base_dir / str(spec.get("file")), [str(spec.get("x")), str(spec.get("value"))])
        return Tabulated(tuple(tab[:, 0]), tuple(tab[:, 1]))

    # --- public API ------------------------------------------------------------------------------
    @property
    def counting_experiment(self) -> bool:
        """True for a Poisson counting experiment (COHERENT-like), False for a chi^2 excess (CONUS+)."""
        return self.likelihood_kind == "poisson"

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
            if key in _IONISATION_ONLY and not isinstance(self.response, IonisationResponse):
                raise CevnsInputError(f"input {key!r} does not apply to {self.name} (a {self.response.observable} "
                                      "counting experiment: it has no Lindhard/Fano response or chi^2 normalisation)")
            if sec not in cfg and sec not in _OPTIONAL_SECTIONS:
                raise CevnsInputError(f"input {key!r} does not apply to {self.name} (it has no [{sec}] section)")
            cfg.setdefault(sec, {})[field] = val
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
            raise _renamed(e, f"changed input ({', '.join(sorted(changes))}): ", drop_line=True) from None

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
        return Chi2(self.data.counts, self.data.sigma, self.sigma_alpha)

    def inputs(self) -> Dict[str, Any]:
        """Every input that enters the predictions (recorded in results)."""
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
            "quenching_k": self.quenching.k,
            "resolution": {"model": self.resolution.model, "sigma0_eV": self.resolution.sigma0_eV,
                           "fano": self.resolution.fano} if self.resolution.on else {"model": "off"},
            "flux": {"thermal_power_GW": self.flux.thermal_power_GW, "distance_m": self.flux.distance_m,
                     "energy_per_fission_MeV": self.flux.energy_per_fission_MeV,
                     "fission_fractions": self.flux.fractions, "captures_per_fission": self.flux.captures_per_fission,
                     "tail": self.flux.tail, "total_flux_cm2_s": self.flux.total_flux()},
            "binding_table": self.binding.name if self.binding is not None else None,
            "sigma_alpha": self.sigma_alpha,
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
        raise _renamed(e, f"experiment file {os.fspath(name_or_path)}: ") from None
    return exp.replace(**overrides) if overrides else exp


_PREFIX = "experiment file: "


def _renamed(e: CevnsInputError, prefix: str, drop_line: bool = False) -> CevnsInputError:
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


class _GroupedStatistic:
    """Sum of statistics, each acting on its own subset of the concatenated bins (the interface of
    :class:`~cevns.stats.Chi2`: call on predictions (n_bins,) or (n_points, n_bins); gradient)."""

    def __init__(self, groups: Sequence[Tuple[Any, np.ndarray]], n_bins: int):
        self.groups = list(groups)
        self.data = np.zeros(n_bins)
        self.sigma = np.zeros(n_bins)
        for st, ix in self.groups:
            self.data[ix], self.sigma[ix] = st.data, st.sigma

    def __call__(self, pred) -> np.ndarray:
        r = np.asarray(pred, dtype=float)
        return np.sum([st(r[..., ix]) for st, ix in self.groups], axis=0)

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        r = np.asarray(pred, dtype=float)
        out = np.zeros_like(r)
        for st, ix in self.groups:
            out[ix] += st.gradient(r[ix])
        return out


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
        tags = [e.shared_nuisances for e in self.parts]
        counting = [i for i, e in enumerate(self.parts) if e.counting_experiment]
        seen: Dict[str, int] = {}
        for i in counting:
            for t in set(tags[i].values()):
                seen[t] = seen.get(t, 0) + 1
        if not any(n > 1 for n in seen.values()):
            return JointChi2(stats)
        from .poisson import PoissonLikelihood

        edges = np.cumsum([0] + [e.data.counts.size for e in self.parts])
        idx = [np.arange(edges[i], edges[i + 1]) for i in range(len(self.parts))]
        merged = PoissonLikelihood.combine([stats[i] for i in counting], [tags[i] for i in counting])
        groups = [(stats[i], idx[i]) for i in range(len(self.parts)) if i not in counting]
        groups.append((merged, np.concatenate([idx[i] for i in counting])))
        return _GroupedStatistic(groups, int(edges[-1]))

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

"""Experiments as data: a TOML file (detectors, reactor, target, binning, data) plus a CSV.

``load_experiment("conus-plus")`` loads the packaged CONUS+ 2025 definition;
``load_experiment("path/to/mine.toml")`` a user's own.  Any input can be changed
with a keyword, e.g. ``load_experiment("conus-plus", k=0.166, resolution="off")``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
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

from .detector import Detector, Efficiency, Lindhard, Resolution, check_bins
from .errors import CevnsInputError, check_positive
from .flux import ReactorFlux
from .models import Model, StandardModel
from .nuclei import load_binding_table, load_target
from .rates import CHANNELS, Basis, NumericalSettings, ResponseEngine
from .results import ContourResult, ExclusionResult, FitResult, Prediction
from .stats import Chi2, JointChi2

BUILTIN = {"conus-plus": "conus_plus_2025.toml", "conus-plus-2025": "conus_plus_2025.toml"}

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
}


def _line_of(text: str, key: str) -> str:
    for i, ln in enumerate(text.splitlines(), 1):
        if ln.strip().startswith(key):
            return f" (line {i})"
    return ""


def _parse_channels(channels: str) -> Tuple[str, ...]:
    parts = tuple(p.strip() for p in str(channels).split("+") if p.strip())
    if not parts or any(p not in CHANNELS for p in parts):
        raise CevnsInputError(f"channels must be 'cevns', 'eves' or 'cevns+eves', got {channels!r}")
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
    if not path.exists():
        raise CevnsInputError(f"[data] file {str(path)!r} not found{_line_of(text, 'file')}")
    raw = path.read_text().splitlines()
    body = [(i + 1, ln) for i, ln in enumerate(raw) if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        raise CevnsInputError(f"data file {path.name}: no rows")
    header = next(csv.reader(io.StringIO(body[0][1])))
    header = [h.strip() for h in header]
    for role in ("lo", "hi", "value", "sigma"):
        if cols.get(role) not in header:
            raise CevnsInputError(f"data file {path.name}: missing column {cols.get(role)!r} ({role}); has {header}")
    idx = {role: header.index(cols[role]) for role in ("lo", "hi", "value", "sigma")}
    rows: List[Tuple[float, ...]] = []
    for lineno, ln in body[1:]:
        fields = next(csv.reader(io.StringIO(ln)))
        try:
            vals = tuple(float(fields[idx[r]]) for r in ("lo", "hi", "value", "sigma"))
        except (ValueError, IndexError):
            raise CevnsInputError(f"data file {path.name}, line {lineno}: expected numbers in columns "
                                  f"{[cols[r] for r in ('lo', 'hi', 'value', 'sigma')]}, got {ln.strip()!r}") from None
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

    def fit(self, param: str = "sin2w", channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Best fit, Delta chi^2 profile and intervals of ``param`` (see :func:`cevns.analysis.fit`)."""
        from . import analysis

        return analysis.fit(self, param, channels, **kw)

    def limit(self, param: str, cl: float | str = 0.90, channels: str = "cevns+eves", **kw: Any) -> "FitResult":
        """Allowed region of ``param`` at confidence level ``cl`` (see :func:`cevns.analysis.limit`)."""
        from . import analysis

        return analysis.limit(self, param, cl, channels, **kw)

    def exclusion(self, model: str = "scalar", channels: str = "cevns+eves", **kw: Any) -> "ExclusionResult":
        """Mediator exclusion curve in (mass [MeV], g) (see :func:`cevns.analysis.exclusion`)."""
        from . import analysis

        return analysis.exclusion(self, model, channels, **kw)

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
        self.config = config
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

    def _build(self) -> None:
        t = self._section("target")
        element = t.get("element")
        if element is None:
            raise CevnsInputError("experiment file: missing field 'element' in [target]")
        self.target = load_target(element, t.get("abundances"))
        self.binding = load_binding_table(element, t.get("binding_table", "carlson"))
        r = self._section("reactor")
        ff = r.get("fission_fractions")
        if not isinstance(ff, dict):
            raise CevnsInputError(f"experiment file: [reactor] fission_fractions must be a table like "
                                  f"{{ U235 = 0.53, ... }}{_line_of(self._text, 'fission_fractions')}")
        self.flux = ReactorFlux(
            thermal_power_GW=self._num("reactor", "thermal_power_GW", required=True),
            distance_m=self._num("reactor", "distance_m", required=True),
            energy_per_fission_MeV=self._num("reactor", "energy_per_fission_MeV", 205.24),
            fission_fractions={k: float(v) for k, v in ff.items()},
            captures_per_fission=self._num("reactor", "captures_per_fission", 0.6),
            tail=str(r.get("tail", "summation")))
        q = self._section("quenching")
        if q.get("model", "lindhard") != "lindhard":
            raise CevnsInputError(f"[quenching] model must be 'lindhard', got {q.get('model')!r}")
        self.quenching = Lindhard(k=self._num("quenching", "k", 0.162), Z=self.target.Z)
        res = self.config.get("resolution", {"model": "off"})
        self.resolution = Resolution(model=str(res.get("model", "off")),
                                     sigma0_eV=float(res.get("sigma0_eV", 20.38)),
                                     fano=float(res.get("fano", 0.11)),
                                     pair_energy_eV=float(res.get("pair_energy_eV", 2.96)),
                                     nsigma=float(res.get("nsigma", 6.0)))
        dets = self.config.get("detectors")
        if not isinstance(dets, list) or not dets:
            raise CevnsInputError("experiment file: needs at least one [[detectors]] entry")
        masses = []
        for i, d in enumerate(dets):
            for key in ("name", "mass_kg", "threshold_eVee"):
                if key not in d:
                    raise CevnsInputError(f"experiment file: [[detectors]] entry {i + 1} is missing {key!r}")
            masses.append(float(d["mass_kg"]))
        total_exposure = self._num("exposure", "total_kg_day", required=True)
        if not np.isfinite(total_exposure) or total_exposure <= 0:
            raise CevnsInputError(f"[exposure] total_kg_day must be > 0 kg d, got {total_exposure:g}")
        mtot = sum(masses)
        def own_resolution(d: Dict[str, Any]) -> Optional[Resolution]:
            # per-detector noise (sigma0_eV) or Fano factor override the [resolution] section
            if "sigma0_eV" not in d and "fano" not in d:
                return None
            g = self.resolution
            return Resolution(model=g.model, sigma0_eV=float(d.get("sigma0_eV", g.sigma0_eV)),
                              fano=float(d.get("fano", g.fano)), pair_energy_eV=g.pair_energy_eV, nsigma=g.nsigma)

        self.detectors = tuple(
            Detector(str(d["name"]), float(d["mass_kg"]), float(d["threshold_eVee"]),
                     d.get("exposure_kg_day", total_exposure * float(d["mass_kg"]) / mtot),
                     Efficiency(tuple(d.get("efficiency_eVee", ())), tuple(d.get("efficiency", ()))),
                     own_resolution(d))
            for d in dets)
        spec = self._section("data")
        if "file" not in spec:
            raise CevnsInputError("experiment file: missing field 'file' in [data]")
        self.data = _read_dataset(self.base_dir / spec["file"], spec, self._text)
        self.edges_eVee = self.data.edges_eVee
        self.sigma_alpha = self._num("statistics", "sigma_alpha", 0.20) if "statistics" in self.config else 0.20
        if not np.isfinite(self.sigma_alpha) or self.sigma_alpha < 0:
            raise CevnsInputError(f"[statistics] sigma_alpha must be >= 0, got {self.sigma_alpha:g}")
        self.engine = ResponseEngine(self.target, self.binding, self.flux, self.quenching, self.resolution,
                                     self.detectors, self.edges_eVee, self.numerics)

    # --- public API ------------------------------------------------------------------------------
    @property
    def exposure_kg_day(self) -> float:
        return float(sum(d.exposure_kg_day for d in self.detectors))

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
            cfg.setdefault(sec, {})[field] = val
        if thresholds is not None:
            names = {d["name"] for d in cfg["detectors"]}
            bad = set(thresholds) - names
            if bad:
                raise CevnsInputError(f"unknown detector(s) {sorted(bad)}; known: {sorted(names)}")
            for d in cfg["detectors"]:
                if d["name"] in thresholds:
                    d["threshold_eVee"] = float(thresholds[d["name"]])
        if efficiency is not None:
            names = {d["name"] for d in cfg["detectors"]}
            if not isinstance(efficiency, dict) or set(efficiency) - names:
                raise CevnsInputError(f"efficiency must map detector names {sorted(names)} to "
                                      "(energies_eVee, values) pairs")
            for d in cfg["detectors"]:
                if d["name"] in efficiency:
                    energies, values = efficiency[d["name"]]
                    d["efficiency_eVee"], d["efficiency"] = list(map(float, energies)), list(map(float, values))
        return Experiment(cfg, self.base_dir, self._text, numerics)

    def asimov(self, model: Optional[Model] = None, error_scale: float = 1.0) -> "Experiment":
        """The same experiment with Asimov data: the counts are the prediction of ``model`` (default the
        SM) and the errors those of the data times ``error_scale``.  Fits to it give the expected
        (median) sensitivity.  Scaling the exposure by f: ``exp.replace(exposure_kg_day=f * E).asimov(
        error_scale=sqrt(f))`` -- counts grow as f, background-dominated errors as sqrt(f)."""
        s = check_positive("error_scale", error_scale)
        new = self.replace()
        new.data = dataclasses.replace(self.data, counts=self.predict(model).total, sigma=self.data.sigma * s,
                                       description=f"Asimov ({model!r} prediction) with {self.data.description} errors"
                                       + (f" x {s:g}" if s != 1.0 else ""))
        return new

    def predict(self, model: Optional[Model] = None) -> Prediction:
        """Expected CEvNS and EvES counts per bin for ``model`` (default: the Standard Model)."""
        model = model or StandardModel()
        return Prediction(self.edges_eVee.copy(), self.engine.rates(model, "cevns"), self.engine.rates(model, "eves"),
                          repr(model), self.data)

    def chi2(self, model: Optional[Model] = None, channels: str = "cevns+eves") -> float:
        """chi^2 of eq. 20 (alpha minimised) for ``model`` using ``channels``."""
        from .analysis import chi2_of

        p = self.predict(model)
        pred = sum(getattr(p, ch) for ch in _parse_channels(channels))
        return float(chi2_of(self)(pred))

    def chi2_function(self) -> Chi2:
        """eq. 20 for this experiment's data (alpha minimised analytically)."""
        return Chi2(self.data.counts, self.data.sigma, self.sigma_alpha)

    def inputs(self) -> Dict[str, Any]:
        """Every input that enters the predictions (recorded in results)."""
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
            "binding_table": self.binding.name,
            "sigma_alpha": self.sigma_alpha,
            "data": self.data.description,
            "error_scale": float(self.config.get("data", {}).get("error_scale", 1.0)),
        }


def load_experiment(name_or_path: str = "conus-plus", **overrides: Any) -> Experiment:
    """Load a built-in experiment by name ("conus-plus") or a TOML file by path, with optional overrides."""
    if name_or_path in BUILTIN:
        res = resources.files("cevns.data").joinpath("experiments").joinpath(BUILTIN[name_or_path])
        text = res.read_text()
        base = Path(str(res)).parent
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise CevnsInputError(f"no experiment {name_or_path!r}: not a built-in ({', '.join(sorted(BUILTIN))}) "
                                  f"and no such file")
        text = path.read_text()
        base = path.parent
    try:
        cfg = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CevnsInputError(f"experiment file {name_or_path}: malformed TOML: {e}") from None
    exp = Experiment(cfg, base, text)
    return exp.replace(**overrides) if overrides else exp



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
        self.parts = tuple(parts)
        self.engine = _JointEngine(self.parts)
        self.data = Dataset(np.arange(sum(e.data.counts.size for e in parts) + 1, dtype=float),
                            np.concatenate([e.data.counts for e in parts]),
                            np.concatenate([e.data.sigma for e in parts]),
                            description=" + ".join(e.data.description for e in parts))
        self.name = " + ".join(e.name for e in parts)
        self.title = " + ".join(e.title for e in parts)

    def chi2_function(self) -> JointChi2:
        """Sum of the parts' eq. 20."""
        return JointChi2([e.chi2_function() for e in self.parts])

    def inputs(self) -> Dict[str, Any]:
        """The inputs of every part."""
        return {"joint": [e.inputs() for e in self.parts]}

    def replace(self, **changes: Any) -> "JointExperiment":
        """The same change applied to every part (see :meth:`Experiment.replace`)."""
        return JointExperiment(*(e.replace(**changes) for e in self.parts))

    def asimov(self, model: Optional[Model] = None, error_scale: float = 1.0) -> "JointExperiment":
        """Asimov data in every part (see :meth:`Experiment.asimov`)."""
        return JointExperiment(*(e.asimov(model, error_scale) for e in self.parts))

    def predict(self, model: Optional[Model] = None) -> List[Prediction]:
        """One prediction per part."""
        return [e.predict(model) for e in self.parts]

    def chi2(self, model: Optional[Model] = None, channels: str = "cevns+eves") -> float:
        """Sum of the parts' chi^2 (eq. 20, alpha minimised each) for ``model``."""
        return float(sum(e.chi2(model, channels) for e in self.parts))

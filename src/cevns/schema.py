"""The declared schema of an experiment file: every section and key, with type, unit, allowed range and default.

One place states what an experiment file may hold (:data:`SCHEMA`, version :data:`SCHEMA_VERSION`).
:func:`validate` checks a parsed TOML file against it -- an unknown section or key is an error naming the
closest valid one, types are strict (``true`` is not a number, ``"3"`` is not a number), numbers are
finite and inside their documented range -- and returns a copy with every default filled in, so the
defaults stated here are the ones the experiment uses.  :func:`json_schema` exports it as JSON Schema
(``cevns schema``) and :func:`markdown` as the reference table of docs/experiments.md.

Only the standard library is imported here (``cevns schema`` prints without numpy).
"""

from __future__ import annotations

import copy
import difflib
import math
import numbers as _numbers
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .errors import CevnsInputError

#: the version of the experiment-file format this cevns reads (a file may state ``schema_version = 1``)
SCHEMA_VERSION = 1
#: the most bins (energy x time, or entries of any list) an experiment may declare
MAX_ITEMS = 100_000
#: the largest magnitude of a number whose key states no range of its own
MAX_MAGNITUDE = 1e30


@dataclass(frozen=True)
class Key:
    """One key of an experiment file.  ``type``: number, integer, string, bool, list, map (free keys, one
    value type) or table (fixed keys, :attr:`fields`; with :attr:`variant` the fields depend on the value of
    one key, e.g. ``kind``)."""

    type: str
    doc: str = ""
    unit: str = ""
    default: Any = None
    required: bool = False
    lo: Optional[float] = None
    lo_open: bool = False
    hi: Optional[float] = None
    hi_open: bool = False
    allow_inf: bool = False
    choices: Tuple[Any, ...] = ()
    items: Optional["Key"] = None
    min_items: int = 0
    fields: Dict[str, "Key"] = field(default_factory=dict)
    variant: Optional[Tuple[str, str, Dict[str, Dict[str, "Key"]]]] = None  # (key, default, {value: fields})
    any_of: Tuple["Key", ...] = ()


def num(doc: str, unit: str = "", default: Any = None, lo: Optional[float] = None, hi: Optional[float] = None,
        lo_open: bool = False, hi_open: bool = False, required: bool = False, allow_inf: bool = False) -> Key:
    return Key("number", doc, unit, default, required, lo, lo_open, hi, hi_open, allow_inf)


def pos(doc: str, unit: str = "", default: Any = None, hi: Optional[float] = None, required: bool = False) -> Key:
    """A number > 0 (and <= hi)."""
    return num(doc, unit, default, 0.0, hi, lo_open=True, required=required)


def text(doc: str, default: Any = None, required: bool = False, choices: Tuple[str, ...] = ()) -> Key:
    return Key("string", doc, default=default, required=required, choices=choices)


def flag(doc: str, default: bool) -> Key:
    return Key("bool", doc, default=default)


def num_list(doc: str, unit: str = "", min_items: int = 0, lo: Optional[float] = None, hi: Optional[float] = None,
            required: bool = False) -> Key:
    return Key("list", doc, unit, required=required, min_items=min_items, items=num("", unit, lo=lo, hi=hi))


def table(doc: str, fields: Dict[str, Key], required: bool = False,
          variant: Optional[Tuple[str, str, Dict[str, Dict[str, Key]]]] = None) -> Key:
    return Key("table", doc, required=required, fields=fields, variant=variant)


def mapping(doc: str, value: Key, unit: str = "", required: bool = False) -> Key:
    return Key("map", doc, unit, required=required, items=value)


def tables(doc: str, item: Key, min_items: int = 0) -> Key:
    return Key("list", doc, min_items=min_items, items=item)


# --- the schema -----------------------------------------------------------------------------------------
_FILE = text("CSV file, relative to the experiment file", required=True)
_EFFICIENCY = table("detection efficiency in the observable", {}, variant=("kind", "", {
    "logistic": {"a": num("a / (1 + exp(-b (x - c))) + d", required=True),
                 "b": num("slope", required=True), "c": num("midpoint", required=True),
                 "d": num("offset", required=True)},
    "table": {"file": _FILE, "x": text("column of the observable", required=True),
              "value": text("column of the efficiency", required=True)}}))
_SHAPES = tables("+-1 sigma template columns of a table background (one nuisance each)", table("", {
    "name": text("nuisance name", default="shape"), "plus": text("column of the +1 sigma template", required=True),
    "minus": text("column of the -1 sigma template (absent: plus - nominal)")}))
_BKG_COMMON = {
    "name": text("background name (also its nuisance's name)"),
    "normalisation": num("events of this background in the analysis region (absent: as in the file)",
                         "events", lo=0.0, hi=1e12),
    "sigma": num("relative 1 sigma uncertainty of its normalisation (0: fixed)", default=0.0, lo=0.0, hi=100.0),
}
_EVENTS_COLS = table("columns of the event list", {"energy": text("column of the observed energy", required=True),
                                                   "time": text("column of the arrival time [us]", required=True)},
                     required=True)
_TABLE_COLS = table("columns of the table (bin centres)", {
    "energy": text("column of the bin centre in energy", required=True),
    "time": text("column of the bin centre in time [us]", required=True),
    "value": text("column of the counts", required=True)}, required=True)

SCHEMA: Dict[str, Key] = {
    "schema_version": Key("integer", "version of this format the file was written for", default=SCHEMA_VERSION,
                          lo=1, hi=SCHEMA_VERSION),
    "name": text("short name, used in reports and joint fits", default="experiment"),
    "title": text("title of the data set"),
    "reference": text("publication and data release (citation)"),
    "target": table("the detector's nuclei and atoms", {
        "element": text("a single element of data/isotopes.csv (Ge, Si, Ar, Na, I, Cs), natural unless abundances"),
        "label": text("name of a compound target given by composition (e.g. CsI)"),
        "abundances": mapping("enriched isotopic abundances {mass number = fraction}, summing to 1",
                              num("", lo=0.0, hi=1.0)),
        "composition": mapping("a compound: {element = atoms per formula unit}", pos("")),
        "form_factor": text("nuclear form factor", default="helm", choices=("helm", "klein-nystrand")),
        "radii_fm": mapping("rms radius of the weak charge per element (absent: Helm A^(1/3) radii)",
                            num("", "fm", lo=0.5, hi=20.0, lo_open=True, hi_open=True), unit="fm"),
        "binding_table": text("atomic binding energies of EvES (eq. 19)", default="carlson",
                              choices=("carlson", "bearden")),
        "eves": flag("compute elastic neutrino-electron scattering (needs a binding table: packaged for Ge only, "
                     "so false for other targets)", True),
    }, required=True),
    "reactor": table("a reactor source (eq. 6-9)", {
        "thermal_power_GW": pos("thermal power", "GW", hi=1e4, required=True),
        "distance_m": num("distance from the core", "m", lo=0.01, hi=1e8, required=True),
        "energy_per_fission_MeV": num("mean energy released per fission", "MeV", 205.24, lo=150.0, hi=250.0),
        "fission_fractions": mapping("fission fractions {U235, U238, Pu239, Pu241}, summing to 1",
                                     num("", lo=0.0, hi=1.0), required=True),
        "captures_per_fission": num("238U(n,gamma) captures per fission", "", 0.6, lo=0.0, hi=2.0),
        "tail": text("antineutrino flux above 8 MeV", default="summation",
                     choices=("summation", "extrapolate", "cut")),
    }),
    "source": table("the neutrino source (absent: the [reactor] section)", {}, variant=("kind", "reactor", {
        "reactor": {},
        "stopped-pion": {
            "pot": pos("protons on target", "", hi=1e30, required=True),
            "nu_per_pot": pos("neutrinos per flavour per proton", "", hi=10.0, required=True),
            "distance_m": num("distance from the target", "m", lo=0.01, hi=1e8, required=True),
            "pot_mean_us": num("mean of the Gaussian proton-on-target trace", "us", 0.44, lo=-10.0, hi=10.0),
            "pot_width_us": pos("width of the proton-on-target trace", "us", 0.15, hi=10.0)},
        "solar-8b": {  # the Sun's 8B neutrinos (cevns.solar)
            "flux_cm2_s": pos("total 8B flux at Earth", "cm^-2 s^-1", 5.25e6, hi=1e12),
            "p_ee": num("nu_e survival probability at Earth", "", 0.317, lo=0.0, hi=1.0),
            "mu_fraction": num("share of nu_mu among the oscillated (non-electron) neutrinos", "", 0.5, lo=0.0,
                               hi=1.0)}})),
    "quenching": table("nuclear-recoil quenching", {}, required=True, variant=("model", "lindhard", {
        "lindhard": {"k": num("Lindhard k (eq. 16)", "", 0.162, lo=0.0, hi=1.0, lo_open=True)},
        "fef": {}, "ybe": {},  # germanium models of Collar et al., PRD 103, 122003 (data/ge_quenching_fef_ybe.csv)
        "polynomial": {"coefficients": num_list("E_ee [MeV_ee] = sum_k c_k T^(k+1), T in MeV_nr", min_items=1,
                                               required=True)},
        "linear-qf": {"coefficients": num_list("QF = c0 + c1 T [keV_nr], E_ee = QF T", min_items=1,
                                              required=True)},
        "release-templates": {}})),  # a release's mono-energetic efficiencies ([templates])
    "templates": table("a data release's templates (quenching 'release-templates', likelihood 'templates')", {
        "efficiency_file": text("mono-energetic efficiencies: run, E_keVnr, tly, tqy, b00..b80", required=True),
        "runs_file": text("runs: run, exposure_t_yr", required=True),
        "bins_file": text("observed counts and AC, ER templates per bin [events / (t yr)]", required=True),
        "neutron_file": text("neutron template per tly, tqy [events / (t yr)]", required=True),
        "runs": Key("list", "the runs fitted", min_items=1, items=text(""), required=True),
        "energy_step_keV": pos("recoil-energy step of the efficiencies (the sum's Delta E)", "keV_nr", 0.1, hi=10.0),
        "year_days": pos("days in the exposures' year", "d", 365.25, hi=1000.0),
        "ac_sigma": num("relative uncertainty of the accidental-coincidence background", "", 0.053, lo=0.0, hi=10.0),
        "er_sigma": num("relative uncertainty of the electronic-recoil background", "", 0.5, lo=0.0, hi=10.0),
        "neutron_sigma": num("relative uncertainty of the neutron background", "", 0.5, lo=0.0, hi=10.0)}),
    "resolution": table("energy resolution of a germanium detector (absent: off)", {
        "model": text("'fano': sigma^2 = sigma0^2 + F eps E; 'off': eq. 17 literally", default="off",
                      choices=("fano", "off")),
        "sigma0_eV": pos("electronic noise sigma", "eV_ee", 20.38, hi=1e4),
        "fano": pos("Fano factor", "", 0.11, hi=10.0),
        "pair_energy_eV": pos("energy per electron-hole pair", "eV", 2.96, hi=100.0),
        "nsigma": num("kernel truncated at this many sigma", "", 6.0, lo=2.0, hi=20.0),
    }),
    "exposure": table("exposure of a reactor experiment", {
        "total_kg_day": pos("total reactor-on exposure, shared among detectors by mass", "kg d", hi=1e9,
                            required=True)}),
    "detectors": tables("germanium detectors of a reactor experiment (one entry each)", table("", {
        "name": text("detector name", required=True),
        "mass_kg": pos("active mass", "kg", hi=1e6, required=True),
        "threshold_eVee": num("analysis threshold", "eV_ee", lo=0.0, required=True),
        "exposure_kg_day": pos("this detector's exposure (absent: its mass share of [exposure])", "kg d", hi=1e9),
        "efficiency_eVee": num_list("energies of the efficiency curve", "eV_ee", lo=0.0),
        "efficiency": num_list("efficiency at those energies (linear between)", "", lo=0.0, hi=1.0),
        "sigma0_eV": pos("this detector's noise sigma (overrides [resolution])", "eV_ee", hi=1e4),
        "fano": pos("this detector's Fano factor (overrides [resolution])", "", hi=10.0)}), min_items=1),
    "detector": table("the detector of a spallation-source (counting) experiment", {
        "mass_kg": pos("target mass", "kg", hi=1e6, required=True),
        "observable": text("observed energy", default="keVee", choices=("keVee", "PE")),
        "light_yield": pos("photoelectrons per keV_ee (observable PE; 1 / spread[0], the Gamma's mean: both must "
                           "agree within 1%)", "PE/keV_ee", 1.0, hi=1e4),
        "spread": num_list("resolution: keVee sigma/E = s0/sqrt(E); PE Gamma a/E_ee, b E_ee", lo=0.0),
        "energy_edges": num_list("observed-energy bin edges (in the observable)", min_items=2, required=True),
        "time_edges_us": num_list("arrival-time bin edges (absent: no timing)", "us", min_items=2),
        "time_efficiency": table("1 until t0, then exp(-(t - t0)/decay)", {
            "t0_us": num("start of the decay", "us", 0.0, lo=-100.0, hi=100.0),
            "decay_us": num("decay time", "us", math.inf, lo=0.0, lo_open=True, allow_inf=True)}),
        "efficiency": _EFFICIENCY,
    }),
    "binning": table("bins of a reactor experiment without [data] (with [data], the data's bins)", {
        "edges_eVee": num_list("bin edges", "eV_ee", min_items=2, lo=0.0, required=True)}),
    "data": table("observed data (absent: predictions, Asimov data and sensitivities only)", {},
                  variant=("kind", "spectrum", {
                      "spectrum": {
                          "file": _FILE,
                          "columns": table("CSV columns", {
                              "lo": text("lower bin edge [eV_ee]", default="bin_lo_eVee"),
                              "hi": text("upper bin edge [eV_ee]", default="bin_hi_eVee"),
                              "value": text("excess counts", default="value"),
                              "sigma": text("1 sigma error", default="sigma")}),
                          "edges_unit": text("unit of the lo and hi columns", default="eVee",
                                             choices=("eVee", "keVee")),
                          "units": text("'counts', or 'counts_per_kg' with normalisation_mass_kg", default="counts",
                                        choices=("counts", "counts_per_kg")),
                          "normalisation_mass_kg": pos("mass the values are normalised to (with units = "
                                                       "'counts_per_kg' only)", "kg", hi=1e6),
                          "error_scale": pos("multiplies every sigma (what-if studies)", "", 1.0, hi=1e6)},
                      "events": {"file": _FILE, "columns": _EVENTS_COLS},
                      "table": {"file": _FILE, "columns": _TABLE_COLS}})),
    "statistics": table("chi^2 of eq. 20", {
        "sigma_alpha": num("relative normalisation uncertainty sigma_alpha", "", 0.20, lo=0.0, hi=10.0)}),
    "likelihood": table("the statistic", {
        "kind": text("'chi2' (eq. 20, reactor), 'chi2-background' (a spectrum with [background_model], its terms "
                     "profiled in closed form), 'poisson' (counting, nuisances profiled) or 'templates' (a data "
                     "release's templates)", default="chi2",
                     choices=("chi2", "chi2-background", "poisson", "templates")),
        "signal_sigma": num("relative uncertainty of the signal normalisation (poisson)", "", 0.0, lo=0.0,
                            hi=10.0),
        "shared": mapping("nuisances shared in joint fits {nuisance name = tag}", text(""))}),
    "background_model": table("the fitted background of a 'chi2-background' spectrum: every term linear, profiled "
                              "in closed form (cevns.background_chi2)", {
        "constant": flag("a flat term", True),
        "exponential_keV": pos("decay energy E0 of the exponential exp(-E/E0) (fixed; its shape varies through "
                               "free E exp(-E/E0) and E^2 exp(-E/E0) terms)", "keV_ee", hi=1e3),
        "exponential_order": Key("integer", "powers of E times the exponential (0: the exponential alone)",
                                 default=2, lo=0, hi=4),
        "peaks": tables("Gaussian peaks (one area per group; peaks of a group in fixed ratios)", table("", {
            "name": text("peak name", required=True),
            "energy_keV": pos("centre", "keV_ee", hi=1e3, required=True),
            "sigma_keV": pos("Gaussian width", "keV_ee", hi=1e3, required=True),
            "group": text("peaks of one group share one area (default: its own name)"),
            "ratio": pos("area relative to the group's area parameter", "", 1.0, hi=1e6),
            "shift": flag("free linear terms for a shift of centre and width of this group (first order)", False)}),
                        min_items=1),
        "priors": tables("Gaussian priors tying a group's area to another's", table("", {
            "group": text("the constrained group", required=True),
            "relative_to": text("the reference group", required=True),
            "ratio": pos("expected area ratio group / relative_to", "", hi=1e6, required=True),
            "sigma": pos("relative 1 sigma of that ratio", "", hi=10.0, required=True)}))}),
    "backgrounds": tables("backgrounds of a counting experiment (one entry each)", table("", {}, variant=(
        "kind", "", {
            "events": {**_BKG_COMMON, "file": _FILE, "columns": _EVENTS_COLS,
                       "time_shape": text("spread the energy projection over the time bins (steady state): "
                                          "'uniform' flat; 'time-efficiency' through the detector's time "
                                          "efficiency; 'exponential' its decay from t = 0, no plateau "
                                          "(absent: the events' own times)",
                                          choices=("uniform", "time-efficiency", "exponential"))},
            "table": {**_BKG_COMMON, "file": _FILE, "columns": _TABLE_COLS, "shapes": _SHAPES},
            "projections": {**_BKG_COMMON,
                            "energy_file": text("CSV of the energy shape", required=True),
                            "energy_columns": table("", {"centre": text("bin centre", required=True),
                                                         "value": text("content", required=True)}, required=True),
                            "time_file": text("CSV of the time shape (counts)", required=True),
                            "time_columns": table("", {"centre": text("bin centre [us]", required=True),
                                                       "value": text("content", required=True)}, required=True)}}))),
    "signal_shapes": tables("+-1 sigma variations of the signal shape (one nuisance each)", table("", {
        "name": text("nuisance name"),
        "key": text("the input varied: the SM signal is recomputed with plus and minus",
                    choices=("quenching.coefficients", "detector.efficiency")),
        "plus": Key("any", "value of key at +1 sigma (a list of coefficients or an efficiency table)",
                    any_of=(num_list("", min_items=1), _EFFICIENCY)),
        "minus": Key("any", "value of key at -1 sigma (absent: symmetric)",
                     any_of=(num_list("", min_items=1), _EFFICIENCY)),
        "template": table("relative changes of a release's signal template", {
            "file": _FILE, "nominal": text("column of the nominal template", required=True),
            "plus": text("column at +1 sigma", required=True), "minus": text("column at -1 sigma")})})),
}


# --- validation -------------------------------------------------------------------------------------------
def _key_at(ln: str, key: str) -> bool:
    s = ln.strip()
    return s.startswith(key) and s[len(key):len(key) + 1] in (" ", "=", "]", ".")


def _block(lines: List[str], where: str) -> range:
    """The lines (0-based) of the section that ``where`` names ("[detector] ...", "[[backgrounds]] NAME ...",
    "[[backgrounds]] entry 2 ..."): from its header to the next header; every line if it names none."""
    m = re.match(r"(\[\[?)([\w.]+)\]\]?(?: (entry (\d+)|.+))?", where or "")
    if m is None:
        return range(len(lines))
    header = f"{m.group(1)}{m.group(2)}{']' * len(m.group(1))}"
    starts = [i for i, ln in enumerate(lines) if ln.strip().replace(" ", "") == header]
    ends = {i: next((j for j in range(i + 1, len(lines)) if lines[j].lstrip().startswith("[")
                     and not lines[j].lstrip().startswith(f"[{m.group(2)}.")), len(lines)) for i in starts}
    if m.group(1) == "[[" and m.group(4):
        k = int(m.group(4)) - 1
        starts = starts[k:k + 1]
    elif m.group(1) == "[[" and m.group(3):  # "NAME key ...": the entry whose name starts the rest
        def named(i: int) -> bool:
            for j in range(i, ends[i]):
                n = re.match(r"\s*name\s*=\s*[\"'](.*)[\"']", lines[j])
                if n:
                    return (m.group(3) + " ").startswith(n.group(1) + " ")
            return False

        starts = [i for i in starts if named(i)] or starts
    return range(starts[0], ends[starts[0]]) if starts else range(len(lines))


def _line(text_: str, key: str, where: str = "") -> str:
    """' (line N)': the line of ``key`` inside the section ``where`` names (else its first line anywhere)."""
    lines = text_.splitlines()
    for rows in (_block(lines, where), range(len(lines))):
        for i in rows:
            if _key_at(lines[i], key):
                return f" (line {i + 1})"
    return ""


def _show(v: Any) -> str:
    r = str(v).lower() if isinstance(v, bool) else repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _range_text(k: Key) -> str:
    parts = []
    if k.lo is not None:
        parts.append(f"{'>' if k.lo_open else '>='} {k.lo:g}")
    if k.hi is not None:
        parts.append(f"{'<' if k.hi_open else '<='} {k.hi:g}")
    return " and ".join(parts)


def _suggest(key: str, known: List[str]) -> str:
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


class _Validator:
    def __init__(self, text_: str):
        self.text = text_

    def fail(self, where: str, msg: str, key: str = "") -> None:
        raise CevnsInputError(f"experiment file: {where} {msg}{_line(self.text, key, where) if key else ''}")

    def value(self, k: Key, v: Any, where: str, key: str, top: bool = False) -> Any:
        if k.type in ("number", "integer"):
            if isinstance(v, bool) or not isinstance(v, _numbers.Real):
                self.fail(where, f"must be a number{' in ' + k.unit if k.unit else ''}, got {_show(v)}", key)
            if k.type == "integer" and not isinstance(v, _numbers.Integral):
                self.fail(where, f"must be an integer, got {_show(v)}", key)
            if math.isnan(v) or (math.isinf(v) and not k.allow_inf):
                self.fail(where, f"must be finite, got {v!r}", key)
            if k.lo is None and k.hi is None and abs(v) > MAX_MAGNITUDE:
                self.fail(where, f"must lie within +-{MAX_MAGNITUDE:g}, got {v!r}", key)
            if (k.lo is not None and (v < k.lo or (k.lo_open and v == k.lo))) or \
                    (k.hi is not None and (v > k.hi or (k.hi_open and v == k.hi))):
                self.fail(where, f"must be {_range_text(k)}{' ' + k.unit if k.unit else ''}, got {v!r}", key)
            return v
        if k.type == "string":
            if not isinstance(v, str):
                self.fail(where, f"must be a string (in quotes), got {_show(v)}", key)
            if not v.isprintable():  # a newline or a terminal escape in a title would reach every report and table
                self.fail(where, f"must be printable text (no newline, tab or control character), got {v!r}", key)
            if k.choices and v not in k.choices:
                self.fail(where, f"must be one of {', '.join(repr(c) for c in k.choices)}, got {v!r}"
                          + _suggest(v, list(k.choices)), key)
            return v
        if k.type == "bool":
            if not isinstance(v, bool):
                self.fail(where, f"must be true or false, got {_show(v)}", key)
            return v
        if k.type == "list":
            if not isinstance(v, list):
                self.fail(where, f"must be a list [...], got {_show(v)}", key)
            if len(v) < k.min_items:
                self.fail(where, f"needs at least {k.min_items} entr{'y' if k.min_items == 1 else 'ies'}, "
                          f"got {len(v)}", key)
            if len(v) > MAX_ITEMS:
                self.fail(where, f"has {len(v)} entries, more than the {MAX_ITEMS} allowed", key)
            assert k.items is not None
            if k.items.type == "table":  # [[detectors]] C2 mass_kg, or [[backgrounds]] entry 2 sigma
                return [self.value(k.items, x, f"{where} {x['name']}" if isinstance(x, dict) and isinstance(
                    x.get("name"), str) else f"{where} entry {i + 1}", key, top=True) for i, x in enumerate(v)]
            return [self.value(k.items, x, f"{where}[{i}]", key) for i, x in enumerate(v)]
        if k.type == "map":
            if not isinstance(v, dict):
                self.fail(where, f"must be a table {{ key = value, ... }}, got {_show(v)}", key)
            if len(v) > MAX_ITEMS:
                self.fail(where, f"has more than {MAX_ITEMS} entries", key)
            assert k.items is not None
            return {str(n): self.value(k.items, x, f"{where}.{n}", key) for n, x in v.items()}
        if k.type == "table":
            return self.table(k, v, where, key, top)
        if k.type == "any":  # the option of the value's shape decides (its error names the problem)
            for opt in k.any_of:
                if isinstance(v, {"list": list, "table": dict}.get(opt.type, object)):
                    return self.value(opt, v, where, key)
            self.fail(where, f"must be {' or '.join(_kind_name(o) for o in k.any_of)}, got {_show(v)}", key)
        raise AssertionError(k.type)  # pragma: no cover

    def unknown(self, v: Dict[str, Any], fields: Dict[str, Key], where: str) -> None:
        for name in v:
            if name not in fields:
                self.fail(where, f"has no key {name!r}{_suggest(name, list(fields))}; known: "
                          f"{', '.join(fields) or '(none)'}", name)

    def table(self, k: Key, v: Any, where: str, key: str, top: bool = False) -> Dict[str, Any]:
        if not isinstance(v, dict):
            self.fail(where, f"must be a table (a [section] or {{ key = value }}), got {_show(v)}", key)
        fields = dict(k.fields)
        if k.variant is not None:
            disc, default, options = k.variant
            every = {disc: text(""), **fields, **{n: f for o in options.values() for n, f in o.items()}}
            self.unknown(v, every, where)
            choice = v.get(disc, default)
            if disc in v and not isinstance(choice, str):  # a list or table here is not hashable: name it
                self.fail(f"{where} {disc}", f"must be a string (in quotes), got {_show(choice)}", disc)
            if choice not in options:
                if disc not in v:
                    self.fail(where, f"needs {disc} = {' | '.join(repr(o) for o in options)}", key)
                self.fail(f"{where} {disc}", f"must be one of {', '.join(repr(o) for o in options)}, got "
                          f"{_show(choice)}" + (_suggest(choice, list(options)) if isinstance(choice, str) else ""),
                          disc)
            fields = {disc: text("", choices=tuple(options), default=choice or None), **fields, **options[choice]}
            for name in v:
                if name not in fields:
                    owners = [repr(o) for o, f in options.items() if name in f]
                    self.fail(where, f"key {name!r} applies to {disc} = {' or '.join(owners)}, not {choice!r}", name)
        self.unknown(v, fields, where)
        out: Dict[str, Any] = {}
        for name, f in fields.items():
            sub = f"{where} {name}" if top else f"{where}.{name}"  # [detector] time_efficiency.t0_us
            if name in v:
                out[name] = self.value(f, v[name], sub, name)
            elif f.required:
                self.fail(where or "the file", f"is missing {name!r}" + (f" ({f.doc})" if f.doc else ""))
            elif f.default is not None:
                out[name] = copy.deepcopy(f.default)
        return out


def _kind_name(k: Key) -> str:
    return {"list": "a list of numbers", "table": "a table"}.get(k.type, k.type)


def validate(config: Dict[str, Any], text_: str = "") -> Dict[str, Any]:
    """Check a parsed experiment file against :data:`SCHEMA`; return a copy with every default filled in.

    Raises :class:`~cevns.errors.CevnsInputError` naming the first problem (section, key, line of ``text_``)."""
    version = config.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        raise CevnsInputError(f"experiment file: written for schema_version {version}; this cevns reads up to "
                              f"{SCHEMA_VERSION} (a newer cevns is needed)")
    v = _Validator(text_)
    top = Key("table", fields=SCHEMA)
    out: Dict[str, Any] = {}
    for name in config:
        if name not in SCHEMA:
            v.fail("unknown", f"section or key {name!r}{_suggest(name, list(SCHEMA))}; known: "
                   f"{', '.join(SCHEMA)}", "[" + name if isinstance(config[name], dict) else name)
    for name, k in top.fields.items():
        where = f"[{name}]" if k.type == "table" else (f"[[{name}]]" if k.type == "list" and k.items is not None
                                                       and k.items.type == "table" else name)
        if name in config:
            out[name] = v.value(k, config[name], where, name, top=True)
        elif k.required:
            raise CevnsInputError(f"experiment file: missing section [{name}] ({k.doc})")
        elif k.default is not None:
            out[name] = k.default
    _cross_checks(out, text_)
    return out


def _cross_checks(c: Dict[str, Any], text_: str = "") -> None:
    t = c["target"]
    if ("element" in t) == ("label" in t):
        raise CevnsInputError("experiment file: [target] needs either element (one element) or label with "
                              "composition (a compound)")
    if "label" in t and "composition" not in t:
        raise CevnsInputError("experiment file: [target] label needs composition = { element = atoms, ... }")
    if "abundances" in t and "composition" in t:
        raise CevnsInputError("experiment file: [target] abundances apply to a single element, not to a compound")
    kind = c.get("source", {}).get("kind", "reactor")
    if kind == "reactor" and "reactor" not in c:
        raise CevnsInputError("experiment file: missing section [reactor] (or a [source] of another kind)")
    if kind != "reactor" and "reactor" in c:
        raise CevnsInputError(f"experiment file: [reactor] given but the source is {kind!r}")
    model = c["quenching"].get("model", "lindhard")
    counting = c.get("likelihood", {}).get("kind", "chi2") == "poisson"
    if _template_checks(c, model):
        return
    if model in ("lindhard", "fef", "ybe"):
        for sec in ("exposure", "detectors"):
            if sec not in c:
                raise CevnsInputError(f"experiment file: missing section [{sec}] (Lindhard quenching: a germanium "
                                      "reactor experiment)")
        if "detector" in c:
            raise CevnsInputError("experiment file: [detector] belongs to a counting experiment (quenching "
                                  "'polynomial' or 'linear-qf'); a germanium one has [[detectors]]")
        if counting:
            raise CevnsInputError("experiment file: [likelihood] kind = 'poisson' needs a counting detector "
                                  "([detector], quenching 'polynomial' or 'linear-qf')")
        if "data" not in c and "binning" not in c:
            raise CevnsInputError("experiment file: without [data], give the bins: [binning] edges_eVee = [...]")
        for i, d in enumerate(c["detectors"]):
            if ("efficiency" in d) != ("efficiency_eVee" in d) or len(d.get("efficiency", [])) != \
                    len(d.get("efficiency_eVee", [])):
                raise CevnsInputError(f"experiment file: [[detectors]] {d['name']}: efficiency and efficiency_eVee "
                                      "must be given together, with the same number of entries")
        names = [d["name"] for d in c["detectors"]]
        if len(set(names)) != len(names):
            raise CevnsInputError(f"experiment file: [[detectors]] names must differ, got {names}")
    else:
        if "detector" not in c:
            raise CevnsInputError(f"experiment file: quenching {model!r} needs a [detector] section")
        for sec in ("detectors", "exposure", "resolution", "binning"):
            if sec in c:
                raise CevnsInputError(f"experiment file: [{sec}] belongs to a germanium reactor experiment (Lindhard "
                                      f"quenching); this one has quenching {model!r}")
        if not counting:
            raise CevnsInputError(f"experiment file: quenching {model!r} (a counting detector) needs [likelihood] "
                                  "kind = 'poisson'")
    data = c.get("data")
    if data is not None:
        if counting and data.get("kind", "spectrum") == "spectrum":
            raise CevnsInputError("experiment file: a Poisson experiment's [data] needs kind = 'events' or 'table'")
        if not counting and data.get("kind", "spectrum") != "spectrum":
            raise CevnsInputError("experiment file: a chi^2 experiment's [data] is a spectrum (no kind, or "
                                  "kind = 'spectrum')")
        if data.get("units") == "counts_per_kg" and "normalisation_mass_kg" not in data:
            raise CevnsInputError("experiment file: [data] units = 'counts_per_kg' needs normalisation_mass_kg")
        if data.get("units", "counts") != "counts_per_kg" and "normalisation_mass_kg" in data:
            # it would be ignored: the values read as counts, a mass meant to scale them silently dropped
            raise CevnsInputError(f"experiment file: [data] normalisation_mass_kg applies only with units = "
                                  f"'counts_per_kg' (values per kg), but units = {data.get('units', 'counts')!r}"
                                  f"{_line(text_, 'normalisation_mass_kg')}: remove normalisation_mass_kg, or set "
                                  "units = 'counts_per_kg'")
    if ("background_model" in c) != (c.get("likelihood", {}).get("kind") == "chi2-background"):
        raise CevnsInputError("experiment file: [background_model] and [likelihood] kind = 'chi2-background' go "
                              "together")
    if not counting and ("backgrounds" in c or "signal_shapes" in c):
        raise CevnsInputError("experiment file: [[backgrounds]] and [[signal_shapes]] belong to a Poisson "
                              "counting experiment")
    if c.get("likelihood", {}).get("shared") and not counting:
        raise CevnsInputError("experiment file: [likelihood] shared nuisances need a Poisson likelihood (a chi^2 "
                              "experiment's normalisation is minimised analytically, on its own)")


def _template_checks(c: Dict[str, Any], model: str) -> bool:
    """A release-template experiment (XENONnT): [templates], quenching 'release-templates' and likelihood
    'templates' go together, without the sections of the other kinds.  True if it is one (checked)."""
    kind = c.get("likelihood", {}).get("kind", "chi2")
    parts = ("templates" in c, model == "release-templates", kind == "templates")
    if not any(parts):
        return False
    if not all(parts):
        raise CevnsInputError("experiment file: [templates], [quenching] model = 'release-templates' and [likelihood] "
                              "kind = 'templates' go together (a release's templates)")
    for sec in ("detectors", "detector", "exposure", "resolution", "binning", "data", "backgrounds", "signal_shapes"):
        if sec in c:
            raise CevnsInputError(f"experiment file: [{sec}] does not apply to a release-template experiment (its "
                                  "data, backgrounds and response are the [templates] files)")
    return True


# --- exports ------------------------------------------------------------------------------------------------
def _json(k: Key) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if k.doc:
        out["description"] = k.doc + (f" [{k.unit}]" if k.unit else "")
    if k.unit:
        out["x-unit"] = k.unit
    if k.type in ("number", "integer"):
        out["type"] = k.type
        if k.lo is not None:
            out["exclusiveMinimum" if k.lo_open else "minimum"] = k.lo
        if k.hi is not None:
            out["exclusiveMaximum" if k.hi_open else "maximum"] = k.hi
    elif k.type == "string":
        out["type"] = "string"
        if k.choices:
            out["enum"] = list(k.choices)
    elif k.type == "bool":
        out["type"] = "boolean"
    elif k.type == "list":
        assert k.items is not None
        out.update(type="array", items=_json(k.items), maxItems=MAX_ITEMS)
        if k.min_items:
            out["minItems"] = k.min_items
    elif k.type == "map":
        assert k.items is not None
        out.update(type="object", additionalProperties=_json(k.items))
    elif k.type == "table":
        if k.variant is None:
            out.update(_object(k.fields))
        else:
            disc, default, options = k.variant
            alts = []
            for val, extra in options.items():
                o = _object({**k.fields, **extra})
                o["properties"] = {disc: {"const": val}, **o["properties"]}
                if val != default:
                    o.setdefault("required", []).insert(0, disc)
                alts.append(o)
            out["oneOf"] = alts
    elif k.type == "any":
        out["anyOf"] = [_json(o) for o in k.any_of]
    if k.default is not None and not (isinstance(k.default, float) and math.isinf(k.default)):
        out["default"] = k.default
    return out


def _object(fields: Dict[str, Key]) -> Dict[str, Any]:
    o: Dict[str, Any] = {"type": "object", "properties": {n: _json(f) for n, f in fields.items()},
                         "additionalProperties": False}
    req = [n for n, f in fields.items() if f.required]
    if req:
        o["required"] = req
    return o


def json_schema() -> Dict[str, Any]:
    """The experiment-file format as a JSON Schema (draft 2020-12); cross-field rules are in :func:`validate`."""
    o = _object(SCHEMA)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://cevns.readthedocs.io/schema/experiment-v{SCHEMA_VERSION}.json",
            "title": f"cevns experiment file, schema version {SCHEMA_VERSION}",
            "description": "TOML experiment file of cevns (docs/experiments.md). Numbers are finite unless stated; "
                           "x-unit gives each number's unit.", **o}


def _type_text(k: Key) -> str:
    if k.type == "list":
        assert k.items is not None
        return "list of tables" if k.items.type == "table" else "list of numbers"
    if k.type == "map":
        assert k.items is not None
        return f"table of {k.items.type}s"
    if k.type == "any":
        return " or ".join(_kind_name(o) for o in k.any_of)
    return k.type


def _allowed_text(k: Key) -> str:
    if k.choices:
        return " \\| ".join(f"`{c}`" for c in k.choices)
    if k.type in ("number", "integer"):
        return _range_text(k)
    if k.type in ("list", "map") and k.items is not None:
        r = _allowed_text(k.items)
        n = f">= {k.min_items} entries" if k.min_items else ""
        return "; ".join(x for x in (n, f"each {r}" if r else "") if x)
    return ""


def _default_text(k: Key) -> str:
    if k.required:
        return "**required**"
    if k.default is None:
        return ""
    if isinstance(k.default, bool):
        return str(k.default).lower()
    if isinstance(k.default, str):
        return f'`"{k.default}"`'
    return f"{k.default:g}" if isinstance(k.default, float) else str(k.default)


def markdown() -> str:
    """Every section and key as Markdown tables (docs/experiments.md, between its marker comments)."""
    lines: List[str] = [f"Schema version {SCHEMA_VERSION}. `cevns schema` prints it as JSON Schema; "
                        "`cevns schema --markdown` prints these tables.", ""]

    def rows(fields: Dict[str, Key], prefix: str = "") -> None:
        for n, f in fields.items():
            doc = f.doc.replace("|", "\\|")
            lines.append(f"| `{prefix}{n}` | {_type_text(f)} | {f.unit} | {_default_text(f)} | "
                         f"{_allowed_text(f)} | {doc} |")
            if f.type == "table" and f.variant is None and f.fields:
                rows(f.fields, f"{prefix}{n}.")

    def header(title: str, doc: str) -> None:
        lines.extend([f"### {title}", "", doc, "", "| key | type | unit | default | allowed | meaning |",
                      "|---|---|---|---|---|---|"])

    header("top level", "Keys outside any section.")
    rows({n: f for n, f in SCHEMA.items() if f.type not in ("table",) and not (f.type == "list" and f.items
                                                                              and f.items.type == "table")})
    lines.append("")
    for n, f in SCHEMA.items():
        item = f.items if f.type == "list" and f.items is not None and f.items.type == "table" else None
        k = item if item is not None else f
        if k.type != "table":
            continue
        title = f"[[{n}]]" if item is not None else f"[{n}]"
        req = " Required." if f.required else ""
        if k.variant is None:
            header(title, f.doc + "." + req)
            rows(k.fields)
            lines.append("")
            continue
        disc, default, options = k.variant
        for val, extra in options.items():
            dflt = " (the default)" if val == default else ""
            header(f"{title} {disc} = \"{val}\"{dflt}", f.doc + "." + req)
            rows({**k.fields, **extra})
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"

"""Where the results of `cevns reproduce` differ from the reference paper's text, with numbers.

Two kinds of comparison, both computed from one run of :func:`cevns.reproduce.run_all`:

* the paper's quoted limits (``data/paper_results_2025.toml``): every one that ours misses by more than
  :data:`DIFFERS`, with the same measure after a what-if that removes the two known causes (the digitised errors
  scaled to add up to CONUS+'s +-106, and the paper's 347 kg d instead of 327);
* the paper's statements in words (``data/paper_statements_2025.toml``, cited by section): each tested by the
  check its entry names (:data:`CHECKS`), e.g. the mass below which EvES tightens a mediator's exclusion by more
  than :data:`DEPARTS` (:func:`eves_departure_mass`).

:func:`compute` returns the JSON-ready numbers (``results["differences_from_paper"]``); :func:`markdown_section`
renders the report section from them alone, so results.json and the report cannot disagree.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .published import paper_statements_text
from .results import lookup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: a quoted limit differs when ours / the paper's (intervals: the widths' ratio) is off 1 by more than this, or
#: an interval edge has moved by more than this fraction of the paper's width
DIFFERS = 0.10
#: the CEvNS+EvES exclusion "departs" from the CEvNS-only one where its coupling is lower by more than this fraction
DEPARTS = 0.10
#: a departure mass agrees with the paper's "below about M" within this factor (half a decade)
MASS_FACTOR = 3.0
#: EvES is negligible for a limit it changes by less than this fraction (of the interval width or the limit)
NEGLIGIBLE = 0.01
#: "competitive"/"comparable": within this factor of the other experiment's limit (width for intervals)
COMPARABLE = 2.0
#: two limits are "the same" to this relative precision
EQUAL = 1e-6
#: the paper's mass at which the EvES gain of each mediator is evaluated when the paper names none
GAIN_MASS_MeV = 10.0

PARAMS = ("mu_nu", "q_ee", "q_emu", "q_etau", "r2_ee", "r2_emu", "r2_etau")
CHANNELS = ("cevns", "cevns+eves")
MODELS = {"scalar": "scalar", "vector_bl": "vector-bl"}  # results.json key -> model name
NAMES = {"scalar": "scalar", "vector_bl": "B-L vector"}
#: the paper quotes the CEvNS-only millicharges in units of 1e-8 e (its Table 2); every other display scale is the
#: parameter's own (its declaration in cevns.models)
CEVNS_ONLY_SCALE = {"e": 1e-8}


def display_scale(param: str, channel: str = "cevns+eves") -> Tuple[float, str]:
    """The scale and unit text the paper's tables use for ``param`` in ``channel``: the parameter's declared display
    scale, except the CEvNS-only millicharges (1e-8 e)."""
    from .models import parameter

    par = parameter(param)
    s = CEVNS_ONLY_SCALE.get(par.unit, par.shown_scale) if channel == "cevns" else par.shown_scale
    return s, par.display_unit(s)


def statements() -> List[Dict[str, Any]]:
    """The paper's statements that the study tests (``data/paper_statements_2025.toml``), in the paper's order."""
    text = paper_statements_text()
    return list(tomllib.loads(text)["statement"])


# --- measures ----------------------------------------------------------------------------------------------
def _hull(v: Any) -> Tuple[float, float]:
    """(lo, hi) of a limit in the results.json convention: [[a, b], ...] or [a, b] -> hull; x -> (-x, x)."""
    if isinstance(v, (list, tuple)):
        ivs = v if isinstance(v[0], (list, tuple)) else [v]
        return float(ivs[0][0]), float(ivs[-1][1])
    return -float(v), float(v)


def limit_size(v: Any) -> float:
    """The size of a limit: the bound on |x|, or the width of an interval (hull of its pieces)."""
    if isinstance(v, (list, tuple)):
        lo, hi = _hull(v)
        return hi - lo
    return float(v)


def limit_measure(ours: Any, paper: Any) -> Dict[str, float]:
    """Ours against the paper's: ``ratio`` of the bounds (widths for intervals) and, for intervals, the shift of
    each edge as a fraction of the paper's width; ``deviation`` is the largest of |ratio - 1| and |shift|."""
    ratio = limit_size(ours) / limit_size(paper)
    out = {"ratio": ratio}
    if isinstance(paper, (list, tuple)):
        (a, b), (pa, pb) = _hull(ours), _hull(paper)
        w = pb - pa
        out["lo_shift"], out["hi_shift"] = (a - pa) / w, (b - pb) / w
    out["deviation"] = max(abs(ratio - 1.0), abs(out.get("lo_shift", 0.0)), abs(out.get("hi_shift", 0.0)))
    return out


def sin2w_measure(ours: Dict[str, Any], paper: Dict[str, float]) -> Dict[str, float]:
    """sin^2 theta_W: ratio of the best fits and of the 1 sigma widths, and the shift in the paper's sigma."""
    lo, hi = _hull(ours["1sigma"])
    pw = paper["plus"] + paper["minus"]
    out = {"ratio": ours["best"] / paper["best"], "width_ratio": (hi - lo) / pw,
           "shift_sigma": (ours["best"] - paper["best"]) / (pw / 2)}
    out["deviation"] = max(abs(out["ratio"] - 1.0), abs(out["width_ratio"] - 1.0))
    return out


def _finite_curve(mass: Sequence[float], g_cevns: Sequence[Any], g_both: Sequence[Any]):
    m = np.asarray(mass, dtype=float)
    a = np.array([np.nan if x is None else x for x in g_cevns], dtype=float)
    b = np.array([np.nan if x is None else x for x in g_both], dtype=float)
    ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0) & np.isfinite(m) & (m > 0)
    return m[ok], a[ok], b[ok]


def eves_departure_mass(mass: Sequence[float], g_cevns: Sequence[Any], g_both: Sequence[Any],
                        fraction: float = DEPARTS) -> Optional[float]:
    """The largest mediator mass [MeV] at which the CEvNS+EvES exclusion ``g_both`` lies more than ``fraction``
    below the CEvNS-only one ``g_cevns`` (both on the masses ``mass``): the crossing of g_both / g_cevns with
    1 - fraction, interpolated linearly in log(mass) between the last departing mass and the next.  None if the
    curves never depart by that much; the highest mass if they still do there.  Unbounded couplings (None, inf)
    are left out."""
    m, a, b = _finite_curve(mass, g_cevns, g_both)
    if m.size == 0:
        return None
    r = b / a
    level = 1.0 - fraction
    idx = np.nonzero(r < level)[0]
    if idx.size == 0:
        return None
    i = int(idx[-1])
    if i == m.size - 1:
        return float(m[-1])
    t = (level - r[i]) / (r[i + 1] - r[i])
    return float(np.exp(np.log(m[i]) + t * (np.log(m[i + 1]) - np.log(m[i]))))


def eves_gain(mass: Sequence[float], g_cevns: Sequence[Any], g_both: Sequence[Any], at_MeV: float) -> Dict[str, Any]:
    """How much EvES tightens the coupling: g_cevns / g_both at ``at_MeV`` (log-log interpolation; None outside
    the scan) and its largest value over the scan with the mass where it occurs."""
    m, a, b = _finite_curve(mass, g_cevns, g_both)
    if m.size == 0:
        return {"at_MeV": at_MeV, "gain_at": None, "max": None, "max_at_MeV": None, "scan_MeV": None}
    gain = a / b
    at = float(np.exp(np.interp(np.log(at_MeV), np.log(m), np.log(gain)))) if m[0] <= at_MeV <= m[-1] else None
    k = int(np.argmax(gain))
    return {"at_MeV": at_MeV, "gain_at": at, "max": float(gain[k]), "max_at_MeV": float(m[k]),
            "scan_MeV": [float(m[0]), float(m[-1])]}


# --- the run -----------------------------------------------------------------------------------------------
#: the paper's exposure [kg d] (its Sec. I), used by the what-if
PAPER_EXPOSURE = 347.0


def what_ifs(exp, observed_error: float) -> List[Tuple[str, str, Dict[str, Any]]]:
    """(key, label, inputs) of the what-if that removes the two known causes at once: the digitised errors scaled
    to add up to ``observed_error`` (CONUS+'s) and the paper's exposure.  (One what-if, not one per cause: each
    costs 14 limits; the table of input choices shows the error scaling and the exposure apart for mu_nu, q_ee.)"""
    scale = float(exp.inputs().get("error_scale", 1.0)) * observed_error / float(np.sqrt((exp.data.sigma ** 2).sum()))
    return [("paper_errors_exposure", f"errors x {scale:.3f} (adding up to +-{observed_error:g}) and "
             f"{PAPER_EXPOSURE:g} kg d", {"error_scale": scale, "exposure_kg_day": PAPER_EXPOSURE})]


def _rerun(exp, limit_value: Callable[[Any, str], Any]) -> Dict[str, Any]:
    f = exp.fit("sin2w", "cevns+eves", levels=("1sigma",))
    out: Dict[str, Any] = {"sin2w": {"best": float(f.best), "1sigma": [[float(a), float(b)] for a, b in f.intervals["1sigma"]]}}
    out["limits"] = {p: {ch: limit_value(exp.limit(p, 0.90, ch), p) for ch in CHANNELS} for p in PARAMS}
    dep = {}
    for key, model in MODELS.items():
        ex = {ch: exp.exclusion(model, ch) for ch in CHANNELS}
        dep[key] = eves_departure_mass(ex["cevns"].mass_MeV, ex["cevns"].g, ex["cevns+eves"].g)
    out["eves_departure_MeV"] = dep
    return out


def compute(exp, results: Dict[str, Any], limit_value: Callable[[Any, str], Any]) -> Dict[str, Any]:
    """Every comparison with the paper's text (module docstring) for the run whose ``results`` (results.json) came
    from the experiment ``exp``; ``limit_value(fit, param)`` puts a limit in the results.json convention."""
    from .published import paper_results

    paper = paper_results()
    whatif = []
    for key, label, kw in what_ifs(exp, float(paper["conus_plus"]["observed_error"])):
        whatif.append({"key": key, "label": label, "inputs": kw, **_rerun(exp.replace(**kw), limit_value)})
    quoted: Dict[str, Any] = {"sin2w": {"ours": sin2w_measure(results["sin2w"], paper["sin2w"]),
                                        **{w["key"]: sin2w_measure(w["sin2w"], paper["sin2w"]) for w in whatif}}}
    for p in PARAMS:
        quoted[p] = {ch: {"ours": limit_measure(results[p][ch], paper[p][ch]),
                          **{w["key"]: limit_measure(w["limits"][p][ch], paper[p][ch]) for w in whatif}}
                     for ch in CHANNELS}
    departure = {k: eves_departure_mass(results[k]["cevns"]["mass_MeV"], results[k]["cevns"]["g"],
                                        results[k]["cevns+eves"]["g"]) for k in MODELS}
    gains = {k: eves_gain(results[k]["cevns"]["mass_MeV"], results[k]["cevns"]["g"], results[k]["cevns+eves"]["g"],
                          GAIN_MASS_MeV) for k in MODELS}
    out: Dict[str, Any] = {
        "thresholds": {"differs": DIFFERS, "departs": DEPARTS, "mass_factor": MASS_FACTOR, "negligible": NEGLIGIBLE,
                       "comparable": COMPARABLE, "equal": EQUAL},
        "eves_departure_MeV": departure, "eves_gain": gains,
        "what_if": [{"key": w["key"], "label": w["label"], "inputs": w["inputs"], "sin2w": w["sin2w"],
                     "eves_departure_MeV": w["eves_departure_MeV"]} for w in whatif],
        "quoted": quoted,
    }
    out["statements"] = {s["id"]: CHECKS[s["check"]](s, results, out, paper) for s in statements()}
    return out


# --- the checks of data/paper_statements_2025.toml ----------------------------------------------------------
def _verdict(ok: Optional[bool]) -> str:
    return "not checked" if ok is None else ("holds" if ok else "differs")


def _check_value(s, results, out, paper) -> Dict[str, Any]:
    v = lookup(results, s["path"])
    if not isinstance(v, (int, float)) or isinstance(v, bool):  # an experiment without that input
        return {"verdict": _verdict(None), "ours": None, "paper": float(s["paper"]), "ratio": None}
    ours, theirs = float(v), float(s["paper"])
    return {"verdict": _verdict(abs(ours / theirs - 1.0) <= float(s["rtol"])), "ours": ours, "paper": theirs,
            "ratio": ours / theirs}


def _check_eves_gain(s, results, out, paper) -> Dict[str, Any]:
    g = {p: {"ours": limit_size(results[p]["cevns"]) / limit_size(results[p]["cevns+eves"]),
             "paper": limit_size(paper[p]["cevns"]) / limit_size(paper[p]["cevns+eves"])} for p in s["params"]}
    return {"verdict": _verdict(all(v["ours"] > 1.0 + DIFFERS for v in g.values())), "gain": g}


def _check_eves_negligible(s, results, out, paper) -> Dict[str, Any]:
    change = {}
    for p in s["params"]:
        a, b = results[p]["cevns"], results[p]["cevns+eves"]
        (a0, a1), (b0, b1) = _hull(a), _hull(b)
        change[p] = max(abs(a0 - b0), abs(a1 - b1)) / limit_size(a)
    return {"verdict": _verdict(all(c < NEGLIGIBLE for c in change.values())), "change": change}


def _check_same_limit(s, results, out, paper) -> Dict[str, Any]:
    p, q = s["params"]
    diff = {}
    for ch in CHANNELS:
        (a0, a1), (b0, b1) = _hull(results[p][ch]), _hull(results[q][ch])
        diff[ch] = max(abs(a0 - b0), abs(a1 - b1)) / limit_size(results[p][ch])
    return {"verdict": _verdict(all(d < EQUAL for d in diff.values())), "relative_difference": diff}


def _others_size(o: Dict[str, Any], ours_is_interval: bool) -> Tuple[float, bool]:
    """Another experiment's limit size, compared like with like: widths of two intervals, else bounds on |x|."""
    if o["lo"] is not None and ours_is_interval:
        return o["hi"] - o["lo"], True
    return (max(abs(o["lo"]), abs(o["hi"])) if o["lo"] is not None else o["hi"]), False


def _check_ranking(s, results, out, paper) -> Dict[str, Any]:
    from .published import other_experiments

    others = other_experiments()
    per: Dict[str, Any] = {}
    ok = True
    for p in s["params"]:
        ours_v = results[p]["cevns+eves"]
        is_iv = isinstance(ours_v, list)
        rows = {}
        for rel in ("tighter_than", "looser_than", "comparable_to"):
            for name in s.get(rel, []):
                o = next((o for o in others if o["quantity"] == p and o["experiment"] == name), None)
                if o is None:
                    continue  # the paper's table has no such entry for this parameter
                theirs, widths = _others_size(o, is_iv)
                ours = limit_size(ours_v) if widths else max(abs(x) for x in _hull(ours_v))
                r = ours / theirs
                holds = r < 1 if rel == "tighter_than" else r > 1 if rel == "looser_than" else 1 / COMPARABLE <= r <= COMPARABLE
                ok &= holds
                rows[name] = {"relation": rel, "ours": ours, "theirs": theirs, "ratio": r, "widths": widths,
                              "holds": holds}
        per[p] = rows
    return {"verdict": _verdict(ok), "params": per}


def _check_sin2w_coherent(s, results, out, paper) -> Dict[str, Any]:
    ours = limit_size(results["sin2w"]["1sigma"])
    theirs = {k: limit_size(v["1sigma"]) for k, v in results.get("coherent_sin2w", {}).items()}
    return {"verdict": _verdict(all(ours > w for w in theirs.values()) if theirs else None), "ours_width": ours,
            "coherent_width": theirs}


def _check_eves_departure(s, results, out, paper) -> Dict[str, Any]:
    k = s["model"]
    dep = out["eves_departure_MeV"][k]
    claimed = s.get("paper_below_MeV")
    if claimed is None:  # "no visible effect"
        ok = dep is None
    else:
        ok = dep is not None and claimed / MASS_FACTOR <= dep <= claimed * MASS_FACTOR
    gain = out["eves_gain"][k]
    res = {"verdict": _verdict(ok), "departure_MeV": dep, "paper_below_MeV": claimed,
           "gain_at_MeV": claimed if claimed is not None else gain["max_at_MeV"], "scan_MeV": gain["scan_MeV"],
           "gain": (eves_gain(results[k]["cevns"]["mass_MeV"], results[k]["cevns"]["g"], results[k]["cevns+eves"]["g"],
                              claimed)["gain_at"] if claimed is not None else gain["max"]),
           "what_if_departure_MeV": {w["key"]: w["eves_departure_MeV"][k] for w in out["what_if"]}}
    return res


def _check_not_checked(s, results, out, paper) -> Dict[str, Any]:
    return {"verdict": _verdict(None)}


CHECKS: Dict[str, Callable[..., Dict[str, Any]]] = {
    "value": _check_value, "eves_gain": _check_eves_gain, "eves_negligible": _check_eves_negligible,
    "same_limit": _check_same_limit, "ranking": _check_ranking, "sin2w_coherent": _check_sin2w_coherent,
    "eves_departure": _check_eves_departure, "not_checked": _check_not_checked}


# --- the report section ------------------------------------------------------------------------------------
# (no "|" in any cell: the report's tables are markdown)
def _mass(m: Optional[float]) -> str:
    return "none in the scan" if m is None else f"{m:.2g} MeV"


def _lower(gain: Optional[float]) -> str:
    """g_cevns / g_both as "g lower by X%"."""
    return "-" if gain is None or not math.isfinite(gain) else f"{100 * (1 - 1 / gain):.2g}%"


def _limit_text(v: Any, param: str, channel: str) -> str:
    sc, unit = display_scale(param, channel)
    if isinstance(v, list):
        return " U ".join(f"[{a / sc:.2f}, {b / sc:.2f}]" for a, b in (v if isinstance(v[0], list) else [v])) + f" {unit}"
    return f"<= {v / sc:.2f} {unit}"


def _row_this_run(s: Dict[str, Any], r: Dict[str, Any], results: Dict[str, Any], d: Dict[str, Any]) -> str:
    c = s["check"]
    if c == "value":
        if r["ours"] is None:
            return f"(this experiment has no {s['path']})"
        return f"{r['ours']:.4g} (paper {r['paper']:.4g}; ratio {r['ratio']:.3f})"
    if c == "eves_gain":
        return "; ".join(f"{p}: CEvNS-only / CEvNS+EvES = {v['ours']:.3g} (paper {v['paper']:.3g})"
                         for p, v in r["gain"].items())
    if c == "eves_negligible":
        return "; ".join(f"{p}: EvES moves the limit by {100 * v:.2g}%" for p, v in r["change"].items())
    if c == "same_limit":
        return "; ".join(f"{ch}: relative difference {v:.1e}" for ch, v in r["relative_difference"].items())
    if c == "ranking":
        what = {"tighter_than": "tighter than", "looser_than": "looser than", "comparable_to": "within x2 of"}
        parts = []
        for p, rows in r["params"].items():
            if not rows:
                continue
            sc, unit = display_scale(p)
            items = ", ".join(f"{what[v['relation']]} {name} {v['theirs'] / sc:.3g}: {'yes' if v['holds'] else 'NO'}"
                              for name, v in rows.items())
            ours = next(iter(rows.values()))["ours"]
            size = "interval width" if any(v["widths"] for v in rows.values()) else "bound"
            parts.append(f"{p} ({size} {ours / sc:.3g} {unit}): {items}")
        return "; ".join(parts)
    if c == "sin2w_coherent":
        lab = {k: v["label"] for k, v in results.get("coherent_sin2w", {}).items()}
        return (f"1 sigma width {r['ours_width']:.3f} against "
                + ", ".join(f"{lab.get(k, k)} {w:.3f}" for k, w in r["coherent_width"].items()) + " (cevns fits)")
    if c == "eves_departure":
        if r["paper_below_MeV"] is not None:
            where = f"at {r['gain_at_MeV']:g} MeV g is lower by {_lower(r['gain'])}"
        else:
            edge = r["scan_MeV"] is not None and r["gain_at_MeV"] == r["scan_MeV"][0]
            where = (f"most at {_mass(r['gain_at_MeV'])}{' (the lowest mass scanned)' if edge else ''}: g lower by "
                     f"{_lower(r['gain'])}")
        return (f"EvES lowers g by more than {100 * d['thresholds']['departs']:g}% below {_mass(r['departure_MeV'])}; "
                + where)
    return "-"


def _row_cause(s: Dict[str, Any], r: Dict[str, Any], d: Dict[str, Any], changed: Sequence[str]) -> str:
    c = s["check"]
    if c == "not_checked":
        return "not checked: " + s["reason"]
    if c == "value":
        key = s["path"].split("/", 1)[-1]
        if any(key == x or key.startswith(x + "/") or x.startswith(key + "/") for x in changed):
            return "an input changed for this run"
        return s.get("cause", "") if r["verdict"] != "holds" else ""
    if c == "eves_departure" and r["verdict"] != "holds":
        labels = {x["key"]: x["label"] for x in d["what_if"]}
        return ("not identified; not the error budget nor the exposure: with "
                + "; ".join(f"{labels[k]} the departure is at {_mass(v)}" for k, v in r["what_if_departure_MeV"].items()))
    return ""


def _quoted_cause(m0: Dict[str, float], mw: Dict[str, float], t: Dict[str, float]) -> str:
    if mw["deviation"] <= t["differs"]:
        return "the error budget and the exposure (within the threshold with both)"
    if mw["deviation"] < m0["deviation"]:
        return (f"partly the error budget and the exposure (still off by {100 * mw['deviation']:.0f}% with both); the "
                "rest is not identified (the inputs the paper leaves open move it: table above)")
    return "not the error budget nor the exposure; not identified"


def markdown_section(results: Dict[str, Any]) -> List[str]:
    """The report section "Where we differ from the paper's text", from ``results["differences_from_paper"]``."""
    from .published import paper_results

    d = results["differences_from_paper"]
    t = d["thresholds"]
    paper = paper_results()
    changed = [c["input"] for c in results.get("changed_inputs", [])]
    wi = d["what_if"][0]
    wk = wi["key"]
    lines = ["## Where we differ from the paper's text", "",
             "Every number the paper quotes and every statement of its results (Sec. IV) and conclusions (Sec. V) "
             "that this run can test, with the number it gives here (`differences_from_paper` in results.json; the "
             "statements with their sections: `data/paper_statements_2025.toml`).  Thresholds: a limit differs when "
             f"ours / the paper's (intervals: the widths) is off 1 by more than {100 * t['differs']:g}% or an edge has "
             f"moved by more than {100 * t['differs']:g}% of the paper's width; an exclusion with EvES departs from "
             f"the CEvNS-only one where its coupling is more than {100 * t['departs']:g}% lower, and a departure mass "
             f"agrees with the paper's within a factor {t['mass_factor']:g}; EvES is negligible below "
             f"{100 * t['negligible']:g}%; comparable means within a factor {t['comparable']:g}.", "",
             "### The paper's quoted numbers", "",
             f"The what-if column (not a default) removes the two known causes at once: {wi['label']}; it gives the "
             "same measure as the ratio.", "",
             "| quantity | cevns | paper | ratio | what-if | likely cause |", "|---|---|---|---|---|---|"]
    q = d["quoted"]
    within = []
    s = q["sin2w"]
    b, (lo, hi) = results["sin2w"]["best"], _hull(results["sin2w"]["1sigma"])
    pp = paper["sin2w"]
    if s["ours"]["deviation"] > t["differs"]:
        lines.append(f"| sin^2 theta_W (1 sigma) | {b:.3f} +{hi - b:.3f} -{b - lo:.3f} | {pp['best']:.3f} "
                     f"+{pp['plus']:.3f} -{pp['minus']:.3f} | {s['ours']['ratio']:.2f} (best, "
                     f"{s['ours']['shift_sigma']:+.2f} paper sigma); {s['ours']['width_ratio']:.2f} (width) | "
                     f"{s[wk]['ratio']:.2f} (best); {s[wk]['width_ratio']:.2f} (width) | "
                     "our SM prediction is lower than CONUS+'s (above), which pushes the best fit up: "
                     + ("the exposure accounts for it" if s[wk]["deviation"] <= t["differs"] else
                        "the exposure accounts for part; the rest follows the inputs the paper leaves open (table above)")
                     + " |")
    else:
        within.append(f"sin^2 theta_W (best {s['ours']['ratio']:.2f}, width {s['ours']['width_ratio']:.2f})")
    for p in PARAMS:
        for ch in CHANNELS:
            m = q[p][ch]
            m0 = m["ours"]
            shift = f"; edges {m0['lo_shift']:+.2f}, {m0['hi_shift']:+.2f} of the width" if "lo_shift" in m0 else ""
            if m0["deviation"] > t["differs"]:
                lines.append(f"| {p}, {ch} | {_limit_text(results[p][ch], p, ch)} | {_limit_text(paper[p][ch], p, ch)} "
                             f"| {m0['ratio']:.2f}{shift} | {m[wk]['ratio']:.2f} | {_quoted_cause(m0, m[wk], t)} |")
            else:
                within.append(f"{p} {ch} ({m0['ratio']:.2f}{shift})")
    lines += ["", f"Within {100 * t['differs']:g}% of the paper: " + ("; ".join(within) if within else "none") + ".", "",
              "### The paper's statements", "",
              "| paper | the paper's text | this run | verdict | likely cause |", "|---|---|---|---|---|"]
    for st in statements():
        r = d["statements"].get(st["id"])
        if r is None:
            continue
        lines.append(f"| {st['section']} | \"{st['quote']}\" | {_row_this_run(st, r, results, d)} | {r['verdict']} | "
                     f"{_row_cause(st, r, d, changed)} |")
    n = {v: sum(1 for r in d["statements"].values() if r["verdict"] == v) for v in ("holds", "differs", "not checked")}
    lines += ["", f"{n['holds']} statements hold, {n['differs']} differ, {n['not checked']} cannot be tested with "
              "the numbers of this study.", ""]
    return lines

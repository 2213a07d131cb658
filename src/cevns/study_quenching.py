"""`cevns reproduce quenching`: which germanium quenching each reactor data set prefers, and what the choice does to
sin^2 theta_W and mu_nu (issue 25 item 3; the question of Li, Herrera and Huber, arXiv:2502.12308).

CONUS+ and Dresden-II are fitted under each named germanium quenching model (:mod:`cevns.quenching`: Lindhard with
k = 0.162, Fef, YBe) and with the Lindhard k free (a scan in k, the SM held), alone and together (the quenching
shared by name); COHERENT CsI enters the joint sin^2 theta_W fits (its own quenching, not germanium's, is unchanged).
Per data set and model: the statistic at the SM and its differences between models (which quenching the data
prefer), sin^2 theta_W (1 sigma) and the 90% C.L. limit on mu_nu.  Writes results.json, report.md/html and the figure
``quenching_models`` into ``--out`` (the output-safety machinery of `reproduce global`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ._threads import limited

#: germanium data sets of the study: (built-in experiment, label)
GERMANIUM: Tuple[Tuple[str, str], ...] = (("conus-plus", "CONUS+"), ("dresden-ii-2022", "Dresden-II"))
#: the named models: (key, label, overrides of the experiment)
MODELS: Tuple[Tuple[str, str, Dict[str, Any]], ...] = (
    ("lindhard", "Lindhard k = 0.162", {"quenching": "lindhard", "k": 0.162}),
    ("fef", "Fef", {"quenching": "fef"}),
    ("ybe", "YBe", {"quenching": "ybe"}))
#: the Lindhard k scan ("k free")
K_GRID = np.round(np.arange(0.10, 0.4001, 0.01), 4)


def _interval(res, level: str) -> List[List[float]]:
    return [[float(a), float(b)] for a, b in res.intervals[level]]


def _fits(e, sm) -> Dict[str, Any]:
    """The statistic at the SM, sin^2 theta_W and the mu_nu limit of one experiment (or joint one)."""
    f = e.fit("sin2w", "cevns+eves", levels=("1sigma",))
    m = e.limit("mu_nu", 0.9, "cevns+eves")
    return {"chi2_sm": float(e.chi2(sm)), "sin2w": {"best": float(f.best), "1sigma": _interval(f, "1sigma"),
                                                     "chi2_min": float(f.chi2_min), "ndof": int(f.ndof)},
            "mu_nu_90": _interval(m, "90%")}


def _k_scan(exps: Dict[str, Any], sm) -> Dict[str, Any]:
    """chi^2 at the SM against the Lindhard k for each data set and for the germanium data together."""
    chi: Dict[str, List[float]] = {key: [] for key in exps}
    for k in K_GRID:
        for key, e in exps.items():
            chi[key].append(float(e.replace(quenching="lindhard", k=float(k)).chi2(sm)))
    chi["combined"] = [float(v) for v in np.sum([chi[key] for key in exps], axis=0)]
    out: Dict[str, Any] = {"k": [float(k) for k in K_GRID], "chi2": chi, "best": {}}
    for key, values in chi.items():
        c = np.asarray(values)
        i = int(np.argmin(c))
        inside = K_GRID[c <= c[i] + 1.0]
        out["best"][key] = {"k": float(K_GRID[i]), "chi2": float(c[i]), "1sigma_grid": [float(inside.min()),
                                                                                          float(inside.max())],
                            "at_grid_edge": bool(i in (0, K_GRID.size - 1))}
    return out


def _one_model(changed: Dict[str, Any], combined: Dict[str, Any], csi, sm) -> Dict[str, Any]:
    """Every fit of one quenching choice: ``changed`` the data sets alone, ``combined`` the ones fitted together."""
    from .experiments import JointExperiment

    out = {key: _fits(e, sm) for key, e in changed.items()}
    out["combined"] = _fits(JointExperiment(*combined.values()), sm)
    if csi is not None:
        for key, e in changed.items():
            f = JointExperiment(e, csi).fit("sin2w", "cevns+eves", levels=("1sigma",))
            out[f"{key}+csi"] = {"sin2w": {"best": float(f.best), "1sigma": _interval(f, "1sigma"),
                                           "chi2_min": float(f.chi2_min), "ndof": int(f.ndof)}}
    return out


def _per_model(exps: Dict[str, Any], csi, sm, say) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for mk, _lab, ov in MODELS:
        changed = {key: e.replace(**ov) for key, e in exps.items()}
        out[mk] = _one_model(changed, changed, csi, sm)
        say(f"quenching {mk}")
    return out


def _at_best_k(exps: Dict[str, Any], best: Dict[str, Any], csi, sm) -> Dict[str, Any]:
    """"k free": each data set at its own best Lindhard k of the scan, the combination at the combined best k."""
    changed = {key: e.replace(quenching="lindhard", k=best[key]["k"]) for key, e in exps.items()}
    together = {key: e.replace(quenching="lindhard", k=best["combined"]["k"]) for key, e in exps.items()}
    return _one_model(changed, together, csi, sm)


def dresden_amplitude(e) -> Dict[str, Any]:
    """Dresden-II: the fitted CEvNS amplitude (x the prediction) and the preference over background only."""
    r = e.predict().total
    st = e.chi2_function()
    s = np.linspace(-1.0, 12.0, 2601)
    c = st(s[:, None] * r)
    i = int(np.argmin(c))
    inside = s[c <= c[i] + 1.0]
    return {"best": float(s[i]), "1sigma": [float(inside.min()), float(inside.max())],
            "delta_chi2_no_cevns": float(st(0 * r) - c[i]), "delta_chi2_sm": float(st(r) - c[i]),
            "events_per_day": float(r.sum())}


@limited
def run_quenching(progress: bool = False, with_csi: bool = True) -> Dict[str, Any]:
    """Every result of the study (module docstring)."""
    from . import __version__
    from .experiments import load_experiment
    from .models import StandardModel

    t0 = time.perf_counter()
    say: Callable[[str], None] = (lambda msg: print(f"[{time.perf_counter() - t0:6.2f}s] {msg}", file=sys.stderr,
                                                    flush=True)) if progress else (lambda msg: None)
    sm = StandardModel()
    exps = {key: load_experiment(key) for key, _ in GERMANIUM}
    csi = load_experiment("coherent-csi-2021") if with_csi else None
    say("built the experiments")
    out: Dict[str, Any] = {"datasets": [k for k, _ in GERMANIUM] + ["combined"],
                           "labels": {**dict(GERMANIUM), "combined": "CONUS+ + Dresden-II"},
                           "models": [m for m, _, _ in MODELS], "model_labels": {m: lab for m, lab, _ in MODELS}}
    out["per_model"] = _per_model(exps, csi, sm, say)
    out["k_free"] = _k_scan(exps, sm)
    out["per_model"]["k_free"] = _at_best_k(exps, out["k_free"]["best"], csi, sm)
    out["models"].append("k_free")
    out["model_labels"]["k_free"] = "Lindhard k free (best fit)"
    say("k scan")
    d2 = exps["dresden-ii-2022"]
    out["dresden_amplitude"] = {mk: dresden_amplitude(d2.replace(**ov)) for mk, _, ov in MODELS}
    out["dresden_amplitude"]["k_free"] = dresden_amplitude(
        d2.replace(quenching="lindhard", k=out["k_free"]["best"]["dresden-ii-2022"]["k"]))
    out["preference"] = {key: _preference(out, key) for key in out["datasets"]}
    out["csi"] = with_csi
    out["version"] = __version__
    return {"results": out, "seconds": time.perf_counter() - t0}


def _preference(r: Dict[str, Any], key: str) -> Dict[str, Any]:
    """chi^2 at the SM under each model minus the best of the named ones (the data's preference among them; "k free"
    relative to that too)."""
    chi = {m: r["per_model"][m][key]["chi2_sm"] for m in r["models"]}
    named = [m for m, _, _ in MODELS]
    best = min(named, key=lambda m: chi[m])
    return {"best": best, "delta_chi2_sm": {m: chi[m] - chi[best] for m in chi}}


def figure_data(run: Dict[str, Any]) -> Dict[str, Any]:
    """What the figure shows beyond the results: the order of the models and data sets."""
    r = run["results"]
    return {"order": {"models": list(r["models"]), "datasets": list(r["datasets"])}}


def markdown_report(run: Dict[str, Any]) -> str:
    """The study's report (templates/quenching_report.md.j2)."""
    from .models import parameter
    from .reports import render

    r = run["results"]
    mu = parameter("mu_nu")
    return render("quenching_report.md.j2", r=r, seconds=run["seconds"],
                  figure_seconds=run.get("figure_seconds", 0.0), mu_scale=mu.shown_scale, mu_unit=mu.display_unit())


def reproduce_quenching(out: str | Path = "cevns-quenching", progress: bool = False, docs: Optional[str] = None,
                        force: bool = False, with_csi: bool = True) -> Dict[str, Any]:
    """Run the study and write results.json, report.md/html and its figure into ``out`` (and the report to ``docs``)."""
    from .reproduce import compute_and_write

    outdir = Path(out)
    run = compute_and_write(outdir, lambda: run_quenching(progress, with_csi), figure_data, "quenching",
                            markdown_report, docs, "cevns reproduce quenching --docs docs/quenching_results.md", force)
    if progress:
        print(f"\nwrote {outdir}/results.json, report.md, report.html and the figure in "
              f"{run['seconds'] + run['figure_seconds']:.1f} s", file=sys.stderr)
    return run

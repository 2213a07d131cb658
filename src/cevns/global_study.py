"""`cevns reproduce global`: reactor and spallation-source data, alone and combined, flavour by flavour.

The study fits five data sets: CONUS+ (reactor anti-nu_e, CEvNS + EvES, chi^2 of eq. 20), COHERENT CsI (2021)
and LAr (2020) (stopped-pion nu_e, nu_mu, anti-nu_mu, Poisson likelihoods with profiled nuisances; CsI with its
electron channel, LAr without), Dresden-II (reactor anti-nu_e, Ge, Fef quenching, chi^2 over a fitted background)
and XENONnT solar 8B (nu_e, nu_mu, nu_tau at Earth, Xe, profiled Poisson over three runs), each alone and all five
together, and writes results.json, report.md/html and four figures:

* global_running: sin^2 theta_W from each data set and combined on the one-loop running (Fig. 3 style);
* global_regions: 90% C.L. regions (2 dof) of (mu_nu_e, mu_nu_mu), (r2_ee, r2_mumu), (q_ee, q_mumu);
* global_mediators: B-L vector and scalar exclusions, each data set and combined;
* global_comparison: the combined limits among the other experiments of the reference paper's tables.

Choices (stated in the report): parameters of interest are shared by all data sets; nuisances are each
experiment's own except those the files tag as shared (the SNS flux of CsI and LAr); the diagonal EM
parameters are fitted with the transition ones at zero (``transitions="zero"``, the usual two-flavour
plane), or with them marginalised (``transitions="marginalised"``, slower).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._threads import limited

#: (built-in experiment, label, style key)
DATASETS: Tuple[Tuple[str, str, str], ...] = (("conus-plus", "CONUS+", "conus-plus"),
                                              ("coherent-csi-2021", "COHERENT CsI", "coherent-csi"),
                                              ("coherent-lar-2020", "COHERENT LAr", "coherent-lar"),
                                              ("dresden-ii-2022", "Dresden-II", "dresden-ii"),
                                              ("xenonnt-8b-2026", "XENONnT 8B", "xenonnt-8b"))
COMBINED = ("combined", "combined", "combined")
#: one-parameter limits of the study, with the transition parameters fixed (or marginalised)
LIMIT_PARAMS = ("mu_nu_e", "mu_nu_mu", "q_ee", "q_mumu", "r2_ee", "r2_mumu", "eps_ee_uV", "eps_ee_dV")
REGIONS = (("mu_nu_e", "mu_nu_mu"), ("r2_ee", "r2_mumu"), ("q_ee", "q_mumu"), ("eps_ee_uV", "eps_ee_dV"))
MEDIATORS = ("vector-bl", "scalar")  # the order of the figure's panels; each must be in registry.MEDIATORS


def _fixed(param: str, transitions: str) -> Dict[str, float]:
    """The transition parameters of ``param``'s model (declared with two flavours), at zero if ``transitions`` is
    "zero"; nothing to fix otherwise."""
    from .models import model_for_parameter

    if transitions != "zero":
        return {}
    return {p.name: 0.0 for p in model_for_parameter(param).family() if p.transition}


def _sees(exp, param: str) -> bool:
    """Does the data set depend on ``param`` at all (some monomial of its CEvNS or EvES basis)?"""
    from .models import model_for_parameter

    model = model_for_parameter(param)()
    return any(param in dict(m) for ch in ("cevns", "eves") for m in exp.engine.basis(model, ch).monomials)


def _interval_json(res, level: str) -> Optional[List[List[float]]]:
    return [[float(a), float(b)] for a, b in res.intervals[level]]


def _limits(sets, transitions: str, say) -> Dict[str, Dict[str, Any]]:
    """Every one-parameter limit of LIMIT_PARAMS for every data set (None where it does not depend on it)."""
    limits: Dict[str, Dict[str, Any]] = {}
    for p in LIMIT_PARAMS:
        limits[p] = {}
        for key, _lab, _st, e in sets:
            parts = e.parts if key == "combined" else [e]
            if not any(_sees(x, p) for x in parts):
                limits[p][key] = None  # the data set does not depend on it
                continue
            r = e.limit(p, 0.9, "cevns+eves", fixed=_fixed(p, transitions))
            limits[p][key] = {"90%": _interval_json(r, "90%"), "best": float(r.best),
                              "marginalised": list(r.marginalised)}
        say(f"{p} limits")
    return limits


def _closed(c, e, params: Tuple[str, str], ranges: Dict[str, Tuple[float, float]], n_grid: int, fixed: Dict[str, float],
            limits: Dict[str, Dict[str, Any]], key: str):
    """The region ``c``, or, where it reaches its grid's edge in a parameter the data set limits alone (interference:
    LAr's q_ee-q_mumu ring goes past 2.5 x the 1-D limits), the same region on a grid doubled there (up to
    ``REGION_WIDENINGS`` times) if it closes inside; a band that does not close (a degenerate direction, e.g. the
    NSI couplings of one target) keeps its first grid, and the figure says it goes on beyond."""
    a, b = params
    for _ in range(REGION_WIDENINGS):
        wide = {p for side, p in (("left", a), ("right", a), ("bottom", b), ("top", b))
                if side in c.open_edges() and limits[p].get(key)}
        if not wide:
            return c
        ranges = {p: (2.0 * lo, 2.0 * hi) if p in wide else (lo, hi) for p, (lo, hi) in ranges.items()}
        wider = e.contour((a, b), "cevns+eves", dof=2, n=n_grid, ranges=ranges, fixed=fixed)
        if not {p for side, p in (("left", a), ("right", a), ("bottom", b), ("top", b))
                if side in wider.open_edges() and limits[p].get(key)}:
            return wider
    return c


#: how often a region grid is doubled in a parameter where the region reaches its edge (:func:`_regions`)
REGION_WIDENINGS = 1


def _regions(sets, limits: Dict[str, Dict[str, Any]], n_grid: int, say) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The 90% C.L. regions (2 dof) of REGIONS for every data set: JSON-ready, and the ContourResult objects.
    Drawn with the transition parameters at zero whatever the limits' ``transitions`` (three marginalised couplings
    per grid point would take minutes); each data set on a grid spanning its own 1D limits (a parameter it does
    not see: the widest range), so small regions are resolved; doubled where the region reaches the grid's edge in a
    parameter the data set limits (up to ``REGION_WIDENINGS`` times)."""
    regions: Dict[str, Dict[str, Any]] = {}
    objs: Dict[str, Dict[str, Any]] = {}
    for a, b in REGIONS:
        def reach(p: str, key: Optional[str] = None) -> float:
            keys = [key] if key is not None and limits[p][key] else [k for k in limits[p] if limits[p][k]]
            return 2.5 * max(abs(v) for k in keys for iv in limits[p][k]["90%"] for v in iv)

        name = f"{a}-{b}"
        regions[name], objs[name] = {}, {}
        fixed = {**_fixed(a, "zero"), **_fixed(b, "zero")}
        for key, _lab, _st, e in sets:
            ranges = {p: (-reach(p, key), reach(p, key)) for p in (a, b)}
            c = e.contour((a, b), "cevns+eves", dof=2, n=n_grid, ranges=ranges, fixed=fixed)
            objs[name][key] = c = _closed(c, e, (a, b), ranges, n_grid, fixed, limits, key)
            regions[name][key] = c.to_dict(grid=False)
        say(f"region {a} x {b}")
    return regions, objs


class _Announced:
    """An exclusion's progress for the study's log: its estimate said before its scan, no bar."""

    def __init__(self, say, what: str):
        self.say, self.what = say, what

    def __call__(self, done: int, total: int) -> None:
        pass

    def estimate(self, seconds: float, what: str) -> None:
        self.say(f"{self.what}: {what}; estimated {seconds:.1f} s")


def _mediators(sets, n_masses: int, say, announce: bool = False) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The B-L and scalar exclusions of every data set on one mass grid: JSON-ready, and the result objects.
    ``announce``: each exclusion says its estimate (:func:`cevns.analysis.exclusion`) before its scan."""
    masses = np.geomspace(0.01, 1e4, n_masses)
    mediators: Dict[str, Dict[str, Any]] = {}
    objs: Dict[str, Dict[str, Any]] = {}
    for m in MEDIATORS:
        mediators[m], objs[m] = {}, {}
        for key, _lab, _st, e in sets:
            x = e.exclusion(m, "cevns+eves", masses=masses,
                            progress=_Announced(say, f"{m} exclusion of {key}") if announce else None)
            objs[m][key] = x
            mediators[m][key] = {"mass_MeV": [float(v) for v in x.mass_MeV],
                                 "g": [float(v) if np.isfinite(v) else None for v in x.g]}
        say(f"{m} exclusions")
    return mediators, objs


@limited
def run_global(progress: bool = False, transitions: str = "zero", n_masses: int = 61, n_grid: int = 41,
               experiments: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
    """Every result of the global study (module docstring); ``experiments`` overrides the five data sets
    (a list of loaded experiments, e.g. with changed inputs)."""
    from .experiments import JointExperiment, load_experiment
    from .models import StandardModel

    if transitions not in ("zero", "marginalised"):
        from .errors import CevnsInputError

        raise CevnsInputError(f"transitions must be 'zero' or 'marginalised', got {transitions!r}")
    t0 = time.perf_counter()
    say = (lambda msg: print(f"[{time.perf_counter() - t0:6.2f}s] {msg}", file=sys.stderr, flush=True)) if progress \
        else (lambda msg: None)
    exps = list(experiments) if experiments is not None else [load_experiment(n) for n, _, _ in DATASETS]
    sets: List[Tuple[str, str, str, Any]] = [(n, lab, st, e) for (n, lab, st), e in zip(DATASETS, exps)]
    joint = JointExperiment(*exps)
    sets.append(COMBINED + (joint,))
    say(f"built the {len(exps)} experiments and their joint likelihood")
    out: Dict[str, Any] = {"datasets": [s[0] for s in sets], "labels": {s[0]: s[1] for s in sets},
                           "styles": {s[0]: s[2] for s in sets}}
    # --- sin^2 theta_W -------------------------------------------------------------------------------------
    sin2w, fits = {}, {}
    for key, _lab, _st, e in sets:
        f = e.fit("sin2w", "cevns+eves", levels=("1sigma", "90%"))
        fits[key] = f
        q = None if key == "combined" else e.engine.mean_momentum_transfer(StandardModel())
        sin2w[key] = {"best": float(f.best), "1sigma": _interval_json(f, "1sigma"), "90%": _interval_json(f, "90%"),
                      "chi2_min": float(f.chi2_min), "ndof": int(f.ndof), "Q_MeV": q}
    out["sin2w"] = sin2w
    say("sin^2 theta_W")
    # --- one-parameter limits, flavour by flavour ------------------------------------------------------------
    limits = _limits(sets, transitions, say)
    out["limits"] = limits
    # --- two-parameter regions ---------------------------------------------------------------------------------
    regions, region_objs = _regions(sets, limits, n_grid, say)
    out["regions"] = regions
    # --- mediators ------------------------------------------------------------------------------------------------
    mediators, excl_objs = _mediators(sets, n_masses, say, progress)
    out["mediators"] = mediators
    out["crossover"] = {m: _crossover(mediators[m]) for m in MEDIATORS}
    # --- contributions and pulls at the combined best fit of sin^2 theta_W -----------------------------------------
    out["contributions"] = _contributions(joint, fits["combined"].best)
    out["shared_nuisances"] = joint.shared_nuisances()
    # the same combination with every nuisance separate: how much the sharing choice moves the results
    if out["shared_nuisances"]:
        unshared = JointExperiment(*[e.replace(shared={}) if e.counting_experiment else e for e in exps])
        f = unshared.fit("sin2w", "cevns+eves", levels=("1sigma", "90%"))
        mm = unshared.limit("mu_nu_mu", 0.9, "cevns+eves")
        out["unshared"] = {"sin2w": {"best": float(f.best), "1sigma": _interval_json(f, "1sigma")},
                           "mu_nu_mu": {"90%": _interval_json(mm, "90%")}}
        say("combination with separate nuisances")
    out["choices"] = {"transitions": transitions, "region_transitions": "zero", "cl": 0.9, "region_dof": 2,
                      "mediator_dof": 1,
                      "coupling": "universal",
                      "channels": "cevns+eves (LAr: no electron channel, its F90 cut removes electron recoils)",
                      "n_masses": n_masses, "region_grid": n_grid}
    out["inputs"] = {key: e.inputs() for key, _lab, _st, e in sets[:-1]}
    from . import __version__

    out["version"] = __version__
    return {"results": out, "fits": fits, "regions": region_objs, "exclusions": excl_objs,
            "seconds": time.perf_counter() - t0}


def _crossover(curves: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    """Masses [MeV] where the reactor limit and the best COHERENT limit cross (each the smaller on one side)."""
    m = np.asarray(curves["conus-plus"]["mass_MeV"])
    g_r = np.array([np.inf if v is None else v for v in curves["conus-plus"]["g"]])
    g_c = np.minimum(*[np.array([np.inf if v is None else v for v in curves[k]["g"]])
                       for k in ("coherent-csi-2021", "coherent-lar-2020")])
    reactor_better = g_r < g_c
    flips = np.flatnonzero(np.diff(reactor_better.astype(int)) != 0)
    return {"masses_MeV": [float(np.sqrt(m[i] * m[i + 1])) for i in flips],
            "reactor_tighter_below": bool(reactor_better[0]) if reactor_better.size else None}


def _contributions(joint, sin2w_best: float) -> List[Dict[str, Any]]:
    """Each experiment's statistic at the combined best fit, and its profiled nuisances (pulls, in sigma)."""
    from .models import StandardModel

    model = StandardModel(sin2w=sin2w_best)
    stat = joint.chi2_function()
    preds = joint.predict(model)
    out = []
    edges = np.cumsum([0] + [e.data.counts.size for e in joint.parts])
    pred_all = np.concatenate([p.total for p in preds])
    for i, e in enumerate(joint.parts):
        own = e.chi2_function()
        s = pred_all[edges[i]:edges[i + 1]]
        row: Dict[str, Any] = {"experiment": e.name, "bins": int(s.size), "statistic_alone": float(own(s))}
        if e.counting_experiment:
            row["kind"] = "-2 ln lambda (Poisson)"
            row["pulls"] = own.pulls(s)
        else:
            row["kind"] = "chi^2 (eq. 20)"
            row["pulls"] = {"alpha / sigma_alpha": float(own.alpha_hat(s) / e.sigma_alpha) if e.sigma_alpha else 0.0}
        out.append(row)
    groups = getattr(stat, "groups", None)
    if groups:  # the counting parts profiled together (a shared nuisance): their pulls with it
        for (st, ix), members in zip(groups, joint.sharing_components()):
            if len(members) > 1:
                out.append({"experiment": " + ".join(joint.parts[i].name for i in members) + " (profiled together)",
                            "bins": int(ix.size), "statistic_alone": float(st(pred_all[ix])),
                            "kind": "-2 ln lambda (Poisson)", "pulls": st.pulls(pred_all[ix])})
    out.append({"experiment": "total", "bins": int(edges[-1]), "statistic_alone": float(stat(pred_all)), "kind": "",
                "pulls": {}})
    return out


# --- report -----------------------------------------------------------------------------------------------------
def _shown(param: str) -> Tuple[float, str]:
    """A parameter's display scale and unit text, from its declaration ('1e-11 mu_B')."""
    from .models import parameter

    par = parameter(param)
    return par.shown_scale, par.display_unit()


def _mediator_rows(r: Dict[str, Any]) -> List[List[str]]:
    """The report's mediator table: the excluded coupling near five masses per model, then the masses where g = 0
    lies outside the region and the crossover."""
    keys = r["datasets"]
    rows: List[List[str]] = []
    for m, v in r["mediators"].items():
        mass = np.asarray(v[keys[0]]["mass_MeV"])
        for target in (0.1, 1.0, 10.0, 100.0, 1000.0):
            i = int(np.argmin(np.abs(np.log(mass / target))))
            rows.append([m, f"{mass[i]:.3g}"] + [("none" if v[k]["g"][i] is None else f"{v[k]['g'][i]:.3g}") for k in keys])
        sm_out = {k: int(sum(1 for x in v[k]["g"] if x == 0)) for k in keys}
        if any(sm_out.values()):
            rows.append([m, "g = 0 outside the region"] + [f"{sm_out[k]} of {len(mass)} masses" for k in keys])
        co = r["crossover"][m]
        if co["masses_MeV"]:
            side = "below" if co["reactor_tighter_below"] else "above"
            rows.append([m, "crossover", f"reactor tighter {side} " + ", ".join(f"{x:.3g}" for x in co["masses_MeV"])
                         + " MeV"] + [""] * (len(keys) - 1))
    return rows


def _grid_edges(run: Dict[str, Any]) -> Dict[str, Dict[str, List[Tuple[float, float]]]]:
    """Per region and data set, the first and last grid value of each axis (from the region objects, or from the
    figure data of a results.json)."""
    out: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
    grids = run.get("regions") or run.get("figure_data", {}).get("regions", {})
    for name, per in grids.items():
        out[name] = {}
        for key, c in per.items():
            x, y = (c.x, c.y) if hasattr(c, "x") else (c["x"], c["y"])
            out[name][key] = [(float(x[0]), float(x[-1])), (float(y[0]), float(y[-1]))]
    return out


def markdown_report(run: Dict[str, Any]) -> str:
    """The global study's report (templates/global_report.md.j2)."""
    from .reports import render

    r = run["results"]
    names = {p for p in r["limits"]} | {q for name in r["regions"] for q in name.split("-")}
    return render("global_report.md.j2", r=r, keys=r["datasets"], seconds=run["seconds"],
                  figure_seconds=run.get("figure_seconds", 0.0), unshared=r.get("unshared"),
                  shared=", ".join(f"`{t}` ({', '.join(v)})" for t, v in r["shared_nuisances"].items()),
                  shown={p: _shown(p) for p in names}, mediator_rows=_mediator_rows(r), edges=_grid_edges(run))


def reproduce_global(out: str | Path = "cevns-global", progress: bool = False, transitions: str = "zero",
                     docs: Optional[str] = None, force: bool = False) -> Dict[str, Any]:
    """Run the global study and write results.json, report.md/html and the figures into ``out`` (and the
    report to ``docs``, e.g. docs/global_results.md)."""
    from .figure_registry import of_study
    from .plots_global import figure_data
    from .reproduce import compute_and_write

    outdir = Path(out)
    run = compute_and_write(outdir, lambda: run_global(progress, transitions), figure_data, "global", markdown_report,
                            docs, "cevns reproduce global --docs docs/global_results.md", force)
    if progress:
        print(f"\nwrote {outdir}/results.json, report.md, report.html and {len(of_study('global'))} figures (PNG, PDF) "
              f"in {run['seconds'] + run['figure_seconds']:.1f} s", file=sys.stderr)
    return run

"""Write the golden values of the paper's results (tests/golden/*.json) from the current code.

Run:  python tests/golden/regenerate.py

The files pin every number of ``cevns reproduce`` (results.json, the sensitivity table, the mediator
choices table) and the per-bin SM prediction of conus-plus; ``tests/test_golden.py`` compares a fresh
run with them.  A change of physics or numerics therefore shows up as a failing test; if the change
is intended, rerun this script and commit the diff of the JSON files with it, so a reviewer reads
exactly which numbers moved and by how much.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "conus_plus_results.json"
PREDICTION_FILE = HERE / "conus_plus_sm_prediction.json"
GLOBAL_FILE = HERE / "global_results.json"
COHERENT_FILE = HERE / "coherent_sm_predictions.json"
DRESDEN_FILE = HERE / "dresden_ii_results.json"
XENONNT_FILE = HERE / "xenonnt_results.json"
#: the global study as the tests run it (tests/test_global.py): 5 masses per exclusion, 11x11 region grids.  Every
#: number but the mediator curves' mass sampling and the region grids' resolution is the full study's.
GLOBAL_SIZE = {"n_masses": 5, "n_grid": 11}
#: the built-in COHERENT data sets whose per-bin SM prediction (CEvNS, backgrounds) is pinned
COHERENT = ("coherent-csi-2021", "coherent-lar-2020")


def _clean(v: Any) -> Any:
    """JSON-ready: tuples to lists, numpy scalars to float, dict keys to str (floats keep repr)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, int):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def results_from_run(run: Dict[str, Any]) -> Dict[str, Any]:
    """The pinned numbers of one ``run_all``/``reproduce`` run (the package version left out)."""
    results = {k: v for k, v in run["results"].items() if k != "version"}
    return _clean({"results": results, "sensitivity": run["sensitivity"], "mediator_choices": run["mediator_choices"]})


def prediction(exp) -> Dict[str, Any]:
    """The per-bin SM prediction (events per bin) of an experiment."""
    d = exp.predict().to_dict()
    return _clean({k: d[k] for k in ("bins_eVee", "cevns", "eves", "total_cevns", "total_eves")})


def global_results(run: Dict[str, Any]) -> Dict[str, Any]:
    """The pinned numbers of one ``run_global`` run (the package version left out)."""
    return _clean({k: v for k, v in run["results"].items() if k != "version"})


def coherent_predictions() -> Dict[str, Any]:
    """The per-bin SM prediction (CEvNS, EvES, background; events per energy x time bin) of each COHERENT data set."""
    import cevns

    out = {}
    for name in COHERENT:
        d = cevns.load_experiment(name).predict().to_dict()
        out[name] = _clean({k: d[k] for k in ("bins", "time_bins_us", "cevns", "eves", "background", "total_cevns",
                                              "total_eves", "total_background")})
    return out


def dresden_results() -> Dict[str, Any]:
    """dresden-ii-2022: its per-bin SM prediction (Fef) and the quenching study's numbers (CONUS+ and Dresden-II under
    each germanium quenching model and with k scanned; without COHERENT CsI)."""
    import cevns
    from cevns.study_quenching import run_quenching

    d = cevns.load_experiment("dresden-ii-2022").predict().to_dict()
    study = {k: v for k, v in run_quenching(with_csi=False)["results"].items() if k != "version"}
    return _clean({"prediction": {k: d[k] for k in ("cevns", "eves", "total_cevns", "total_eves")}, "quenching": study})


def xenonnt_results() -> Dict[str, Any]:
    """The key results of xenonnt-8b-2026 (issue 25): SM signal and backgrounds per run, the 8B flux fits (SR0+SR1 and
    all runs), sin2w, vector NSI, magnetic moments, q_ee, r2_ee and the mediator limits from all runs (CEvNS)."""
    import cevns
    from cevns.solar_fit import flux_fit

    e = cevns.load_experiment("xenonnt-8b-2026")
    p = e.predict()
    runs = {name: {"cevns": float(p.cevns[sl].sum()), "background": float(p.background[sl].sum())}
            for name, sl in zip(e.response.runs, e.response.run_slices())}
    out: Dict[str, Any] = {"runs": runs, "flux_sr0_sr1": flux_fit(e.replace(runs=["sr0", "sr1"])),
                           "flux_all": flux_fit(e)}
    for param in ("sin2w", "eps_ee_uV", "eps_ee_dV", "eps_mumu_uV"):
        r = e.fit(param, "cevns")
        out[param] = {"best": r.best, "intervals": r.intervals}
    for param in ("mu_nu", "mu_nu_e", "q_ee", "r2_ee"):
        out[param] = e.limit(param, 0.9, "cevns").intervals
    for model in ("scalar", "vector-bl"):
        x = e.exclusion(model, "cevns", masses=[0.1, 10.0, 1000.0])
        out[model] = x.to_dict()
    return _clean(out)


def dump(obj: Any, path: Path) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True)
    json.loads(text)  # round trip
    path.write_text(text + "\n")


def load(path: Path) -> Any:
    return json.loads(path.read_text())


#: relative tolerances, first match of a path (keys joined by "/") prefix wins; the rest: DEFAULT_RTOL.
#: Measured: rerunning with one BLAS thread instead of two changes nothing; the rewritten limits, exclusion
#: curves and chi^2 of issue 14 move these numbers by < 1e-10 relative (most by ~1e-16), r2_ee aside (below).
#: Contours (a grid of the vectorised marginaliser, crossings interpolated linearly) keep 1e-4.
TIGHT_RTOL = 1e-6
DEFAULT_RTOL = 1e-4
TIGHT = ("prediction/", "coherent/", "results/sm_prediction/", "results/data/", "results/inputs/", "results/conventions/",
         "results/sin2w/", "results/mu_nu/", "results/q_", "results/r2_", "results/scalar/", "results/vector_bl/",
         "sensitivity/", "mediator_choices/", "results/coherent_sin2w/",
         "global/sin2w/", "global/limits/", "global/mediators/", "global/unshared/", "global/crossover/",
         "xenonnt/runs/", "dresden/")


#: Exceptions, measured: none.  (Regenerated after issue 14 and the COHERENT work: r2_ee's edges moved by
#: 1.1e-6 of the interval width, a fix -- the old chi^2_min sat 4e-5 above the true minimum, 7.4116355
#: (CEvNS) and 7.4137222 (CEvNS+EvES), because the old marginaliser stopped at the stationary point
#: r2_emu = r2_etau = 0; the COHERENT sin^2 theta_W of Fig. 3 were added.  Every other number unchanged.)
LOOSER: dict = {}


def rtol_for(path: str) -> float:
    for prefix, tol in LOOSER.items():
        if path.startswith(prefix):
            return tol
    return TIGHT_RTOL if path.startswith(TIGHT) else DEFAULT_RTOL


def _is_interval(v: Any) -> bool:
    return (isinstance(v, list) and len(v) == 2 and all(isinstance(x, float) for x in v)
            and all(math.isfinite(x) for x in v) and v[0] < v[1])


def compare(new: Any, old: Any, path: str = "", scale: float = 0.0) -> list:
    """Differences of ``new`` from the golden ``old``: a list of (path, old, new, what).

    Numbers agree to the relative tolerance of their path (:func:`rtol_for`), measured against
    max(|old|, ``scale``): the edges of an interval [lo, hi] against its width too (a relative error
    of an edge near zero means nothing), a contour's best-fit point against the extent of the region.
    Infinities, None, strings, integers and the shape of the tree must match exactly."""
    out: list = []
    if isinstance(old, dict):
        if not isinstance(new, dict) or set(new) != set(old):
            return [(path, sorted(old), sorted(new) if isinstance(new, dict) else new, "keys differ")]
        for k in old:
            here = f"{path}/{k}" if path else str(k)
            if k == "best" and "extent" in old and isinstance(old["best"], list):  # contour best fit
                widths = [e[1] - e[0] if e else 0.0 for e in old["extent"].values()]
                if not isinstance(new[k], list) or len(new[k]) != len(widths):
                    out.append((here, old[k], new[k], "length differs"))
                    continue
                for i, (a, b) in enumerate(zip(new[k], old[k])):
                    out += compare(a, b, f"{here}/{i}", widths[i])
                continue
            out += compare(new[k], old[k], here, scale)
        return out
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [(path, old, new, "length differs")]
        width = old[1] - old[0] if _is_interval(old) else 0.0
        for i, (a, b) in enumerate(zip(new, old)):
            out += compare(a, b, f"{path}/{i}", max(width, scale))
        return out
    if isinstance(old, float) and isinstance(new, (int, float)) and not isinstance(new, bool):
        if not (math.isfinite(old) and math.isfinite(new)):
            return [] if new == old else [(path, old, new, "not finite")]
        tol = rtol_for(path) * max(abs(old), scale)
        return [] if abs(new - old) <= tol else [(path, old, new, f"|diff| {abs(new - old):.3g} > {tol:.3g}")]
    return [] if new == old and type(new) is type(old) else [(path, old, new, "differs")]


def max_relative_differences(new: Any, old: Any) -> Dict[str, float]:
    """Largest |new - old| / max(|old|, scale) per top-level group (for measuring, and for the commit message)."""
    worst: Dict[str, float] = {}

    def walk(a: Any, b: Any, path: str, scale: float) -> None:
        if isinstance(b, dict):
            for k in b:
                if k == "best" and "extent" in b and isinstance(b["best"], list):
                    for x, y, e in zip(a["best"], b["best"], b["extent"].values()):
                        walk(x, y, f"{path}/best", (e[1] - e[0]) if e else 0.0)
                    continue
                walk(a[k], b[k], f"{path}/{k}" if path else str(k), scale)
        elif isinstance(b, list):
            w = b[1] - b[0] if _is_interval(b) else 0.0
            for x, y in zip(a, b):
                walk(x, y, path, max(w, scale))
        elif isinstance(b, float) and math.isfinite(b) and isinstance(a, float) and math.isfinite(a):
            key = "/".join(path.split("/")[:3])
            d = abs(a - b) / max(abs(b), scale, 1e-300)
            worst[key] = max(worst.get(key, 0.0), d)

    walk(new, old, "", 0.0)
    return worst


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare a fresh run with the files instead of writing them")
    args = ap.parse_args()
    import cevns
    from cevns.global_study import run_global
    from cevns.reproduce import run_all

    run = run_all()
    new = {"results": results_from_run(run), "prediction": prediction(cevns.load_experiment("conus-plus")),
           "global": global_results(run_global(**GLOBAL_SIZE)), "coherent": coherent_predictions(),
           "xenonnt": xenonnt_results(), "dresden": dresden_results()}
    files = {"results": RESULTS_FILE, "prediction": PREDICTION_FILE, "global": GLOBAL_FILE, "coherent": COHERENT_FILE,
             "xenonnt": XENONNT_FILE, "dresden": DRESDEN_FILE}
    if args.check:
        old = {k: load(f) if f.exists() else None for k, f in files.items()}
        bad = []
        for k in files:
            if old[k] is None:
                print(f"{files[k].name}: no golden file yet")
                continue
            for g, v in sorted(max_relative_differences(new[k], old[k]).items()):
                print(f"{k + '/' + g:<60} {v:.2e}")
            bad += compare(new[k], old[k], "" if k == "results" else k)
        for b in bad:
            print("DIFFERS", *b)
        raise SystemExit(1 if bad else 0)
    for k, f in files.items():
        dump(new[k], f)
    print(f"wrote {', '.join(f.name for f in files.values())} in {HERE}")


if __name__ == "__main__":
    main()

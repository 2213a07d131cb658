"""Brute-force cross-check of the marginalised profiles of transition-parameter fits (and of others with free
parameters): at a handful of points of each fit's scan, chi^2 minimised over the marginalised parameters by scipy
(Nelder-Mead from 24 starts -- a grid over both signs of the diagonal parameters and zero and non-zero transition
ones, and random points -- the best three polished by Powell and Nelder-Mead), every value through the public
``Experiment.chi2`` of a model object (the Poisson likelihood's own profile of its nuisances).

Run:  python benchmarks/crosscheck_transitions.py [--cases coherent-csi-2021:q_emu,coherent-lar-2020:r2_emu]
Prints per case and point: x, Delta chi^2 of the fit, of the brute force, their difference; and the fit's
chi^2_min against the brute force's at the best fit.  (The slow test tests/test_transition_fits.py does CsI q_emu.)
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np
from scipy import optimize

import cevns
from cevns.models import model_for_parameter

DEFAULT = ["coherent-csi-2021:q_emu", "coherent-csi-2021:q_etau", "coherent-csi-2021:q_mutau",
           "coherent-csi-2021:r2_emu", "coherent-lar-2020:q_emu", "coherent-lar-2020:r2_etau",
           "conus-plus+coherent-csi-2021+coherent-lar-2020:q_emu"]


def load(name: str):
    parts = name.split("+coherent")
    names = [parts[0]] + ["coherent" + p for p in parts[1:]]
    exp = cevns.load_experiment(names[0])
    for n in names[1:]:
        exp = exp + cevns.load_experiment(n)
    return exp


def brute(exp, param, x, free, reach, channels, seed=0):
    """min over ``free`` of exp.chi2 at param = x (module docstring)."""
    cls = model_for_parameter(param)
    diag = [p for p in free if p.split("_")[1] in ("ee", "mumu")]

    def f(u):
        values = dict(zip(free, np.asarray(u) * reach))
        return exp.chi2(cls(**{param: x, **values}), channels)

    grid = [(-0.8, 0.3) if p in diag else (0.0, 0.5) for p in free]
    rng = np.random.default_rng(seed)
    starts = [np.array(s) for s in itertools.product(*grid)] + list(rng.uniform(-1.0, 1.0, (8, len(free))))
    opts = {"xatol": 1e-5, "fatol": 1e-8, "maxfev": 1200, "adaptive": True}
    runs = sorted((optimize.minimize(f, s, method="Nelder-Mead", options=opts) for s in starts), key=lambda r: r.fun)
    best = runs[0].fun
    for r in runs[:3]:
        p = optimize.minimize(f, r.x, method="Powell", options={"xtol": 1e-9, "ftol": 1e-14})
        q = optimize.minimize(f, p.x, method="Nelder-Mead",
                              options={"xatol": 1e-9, "fatol": 1e-13, "maxfev": 5000, "adaptive": True})
        best = min(best, p.fun, q.fun)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=",".join(DEFAULT))
    ap.add_argument("--channels", default="cevns")
    args = ap.parse_args()
    worst = 0.0
    for case in args.cases.split(","):
        name, param = case.split(":")
        exp = load(name)
        t = time.perf_counter()
        res = exp.fit(param, channels=args.channels, levels=("90%",))
        dt = time.perf_counter() - t
        reach = float(np.max(np.abs(res.grid)))
        iv = res.intervals["90%"]
        print(f"{name} {param}: fit {dt:.2f} s, best {res.best:.4g}, chi2_min {res.chi2_min:.6f}, 90%: {iv}, "
              f"free {res.marginalised}, converged {res.converged}", flush=True)
        b0 = brute(exp, param, res.best, res.marginalised, reach, args.channels)
        print(f"   chi2 at the best fit: fit {res.chi2_min:.6f}  brute force {b0:.6f}  diff {res.chi2_min - b0:+.2e}",
              flush=True)
        edge = iv[-1][1]
        for v in (0.5 * edge, 0.9 * edge, 1.1 * edge, 1.5 * edge):
            i = int(np.argmin(np.abs(res.grid - v)))
            bx = brute(exp, param, res.grid[i], res.marginalised, reach, args.channels) - b0
            worst = max(worst, abs(bx - res.dchi2[i]))
            print(f"   x = {res.grid[i]:.5g}: Delta chi^2 fit {res.dchi2[i]:.6f}  brute force {bx:.6f}  "
                  f"diff {res.dchi2[i] - bx:+.2e}", flush=True)
        be = brute(exp, param, edge, res.marginalised, reach, args.channels) - b0
        worst = max(worst, abs(be - res.dchi2.dtype.type(2.705543454095404)))
        print(f"   at the 90% edge {edge:.6g}: brute-force Delta chi^2 {be:.6f} (level 2.705543)", flush=True)
    print(f"largest |difference| of Delta chi^2: {worst:.2e}")
    sys.exit(0)


if __name__ == "__main__":
    main()

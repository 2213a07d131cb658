"""The three long Poisson jobs of issue 27, each against its floor and against another source tree, in the same run
on one BLAS thread.

Run:  python benchmarks/floors.py [--repeat 3] [--before /work/main/src] [--cases contour,exclusion,global]
      [--no-floor]

Cases (each in a fresh interpreter per run, the trees interleaved so that a change of the machine's load hits
them alike; medians of wall and CPU time):

- ``contour``: COHERENT CsI, (q_ee, q_emu) on a 9 x 9 grid, the three charges sharing a flavour with them
  (q_mumu, q_etau, q_mutau) marginalised: ``Experiment.contour(("q_ee", "q_emu"), n=9)``.
- ``exclusion``: the joint B-L exclusion of conus-plus + coherent-csi-2021 + coherent-lar-2020, 121 masses.
- ``xenonnt``: the B-L exclusion of xenonnt-8b-2026 alone (243 bins, most without counts), 121 masses.
- ``exclusion5``: the joint B-L exclusion of the five data sets of ``cevns reproduce global``, 121 masses.
- ``global``: ``cevns reproduce global`` (the study, its report and figures) into a fresh folder.

The ratio ``before / this tree`` is the speed-up (``--before``: another source tree, e.g. main's src/ or
``git archive <commit> src`` unpacked).  A tree more than 1.25x slower than the one before it in the list is
flagged: the comparison that would have caught commit eed75c6 (the Fisher step tried on every clipped row, 1.76x
on the joint exclusion; run with ``--before`` on the trees of c97ddfe and eed75c6).

The floor (``--no-floor`` skips it): the same run of this tree with every call of ``cevns.poisson.newton_profile``
also done by ``bare_profile`` of benchmarks/poisson_profile.py, the same damped Newton algorithm as one bare-numpy
function (same starts, steps, Fisher fallback, backtracking and stopping rules; the replay's point-steps are
counted beside the package's, and must agree).  Floor = the job's CPU time - the package's profile time + the
bare profile's time: the job with its profiles at bare-numpy cost, everything else (predictions, the
minimisers, figures) as it is.  Calls with counts per row (toys) are replayed by the package itself.

No test asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]

#: one job in a fresh interpreter: prints wall and CPU seconds and a checksum of the result (and, with a floor,
#: the package's profile seconds, the bare replay's seconds, both point-step counts)
CHILD = r"""
import sys, time, tempfile
import numpy as np
from threadpoolctl import threadpool_limits
case, floor = sys.argv[1], sys.argv[2] == "1"
sys.path.insert(0, sys.argv[3])
import cevns
import cevns.poisson as P
rec = {"pkg": 0.0, "bare": 0.0, "steps": 0, "bare_steps": 0}
if floor:
    from poisson_profile import bare_profile
    orig, orig_it = P.newton_profile, P._iteration
    def counted(pt, *a):
        rec["steps"] += pt.sa.shape[0]
        return orig_it(pt, *a)
    P._iteration = counted
    def both(s, d, dlogd, bkg, V, F, G, theta0=None, iterations=30, tol=1e-9, stop=None, dual=None):
        carried = None if dual is None else dual.copy()
        t = time.process_time()
        r = orig(s, d, dlogd, bkg, V, F, G, theta0, iterations, tol, stop, dual)
        t1 = time.process_time()
        rec["pkg"] += t1 - t
        if np.ndim(d) == 1:
            _, n = bare_profile(s, d, dlogd, bkg, V, F, iterations, tol, theta0, stop, carried)
            rec["bare"] += time.process_time() - t1
            rec["bare_steps"] += n
        else:
            rec["bare"] += t1 - t
        return r
    P.newton_profile = both
def contour():
    r = cevns.load_experiment("coherent-csi-2021").contour(("q_ee", "q_emu"), n=9)
    return float(np.sum(r.dchi2)) + r.chi2_min
SETS = {"exclusion": ["conus-plus", "coherent-csi-2021", "coherent-lar-2020"], "xenonnt": ["xenonnt-8b-2026"],
        "exclusion5": ["conus-plus", "coherent-csi-2021", "coherent-lar-2020", "dresden-ii-2022", "xenonnt-8b-2026"]}
def joint():
    j = cevns.load_experiment(SETS[case][0])
    for name in SETS[case][1:]:
        j = j + cevns.load_experiment(name)
    return j
def exclusion():
    r = J.exclusion("vector-bl", masses=np.geomspace(0.01, 1e4, 121))
    return float(np.nansum(np.log(r.g[np.isfinite(r.g) & (r.g > 0)])))
def study():
    from cevns.global_study import reproduce_global
    with tempfile.TemporaryDirectory() as tmp:
        reproduce_global(tmp + "/out")
    return 0.0
with threadpool_limits(1):
    if case in SETS:
        J = joint()
        J.exclusion("vector-bl", masses=[1.0])  # bases and caches warm, as benchmarks/poisson_profile.py
    t, c = time.perf_counter(), time.process_time()
    check = {"contour": contour, "global": study}.get(case, exclusion)()
    print(time.perf_counter() - t, time.process_time() - c, repr(check), rec["pkg"], rec["bare"], rec["steps"],
          rec["bare_steps"])
"""


def run(tree: Path, case: str, floor: bool) -> list:
    env = dict(os.environ, PYTHONPATH=str(tree))
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([sys.executable, "-c", CHILD, case, "1" if floor else "0", str(ROOT / "benchmarks")],
                              capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode:
        raise SystemExit(f"{tree} ({case}) failed:\n{proc.stderr}")
    out = proc.stdout.split()
    return [float(x) for x in out]


def case_report(case: str, trees: list, repeat: int, floor: bool) -> None:
    wall: dict = {t: [] for t in trees}
    cpu: dict = {t: [] for t in trees}
    sums: dict = {}
    floors, loads = [], [os.getloadavg()[0]]
    for _ in range(repeat):
        for tree in trees:
            r = run(tree, case, False)
            wall[tree].append(r[0])
            cpu[tree].append(r[1])
            sums[tree] = r[2]
        if floor:
            r = run(trees[-1], case, True)
            floors.append(r)
        loads.append(os.getloadavg()[0])
    this = trees[-1]
    mc_this = statistics.median(cpu[this])
    print(f"{case}: medians of {repeat}, one BLAS thread, load average {min(loads):.2f}-{max(loads):.2f}")
    prev = None
    for tree in trees:
        mw, mc = statistics.median(wall[tree]), statistics.median(cpu[tree])
        flag = "  <-- more than 1.25x slower than the tree before" if prev and mc > 1.25 * prev else ""
        per_run = ", ".join(f"{a / b:.2f}" for a, b in zip(cpu[tree], cpu[this]))
        print(f"  {tree}: wall {mw:.2f} s, CPU {mc:.2f} s = {mc / mc_this:.2f}x this tree's (per run {per_run}); "
              f"checksum {sums[tree]!r}{flag}")
        prev = mc
    if floors:
        f = [r[1] - r[3] for r in floors]  # the floor run did both: its CPU less the package's profiles
        mf = statistics.median(f)
        r = floors[len(floors) // 2]
        print(f"  floor (profiles at bare-numpy cost): CPU {mf:.2f} s; this tree / floor = {mc_this / mf:.2f}; in the "
              f"floor runs the package's profiles took {r[3]:.2f} s, the bare replay {r[4]:.2f} s, point-steps "
              f"{int(r[5])} (package) and {int(r[6])} (replay)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", nargs="*", default=[], help="other source trees, in order (e.g. /work/main/src)")
    ap.add_argument("--cases", default="contour,exclusion,global")
    ap.add_argument("--no-floor", action="store_true")
    args = ap.parse_args()
    trees = [Path(p).resolve() for p in args.before] + [ROOT / "src"]
    for case in args.cases.split(","):
        case_report(case.strip(), trees, args.repeat, not args.no_floor)


if __name__ == "__main__":
    main()

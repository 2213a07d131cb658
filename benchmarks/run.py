"""Benchmarks of the fast engine against the slow nested-quad reference (issue: benchmarks and speed).

Run:  python benchmarks/run.py [--quick] [--tests]
Prints the median time of each case and its ratio to the baseline measured in the same run: start-up
against `python -c "import numpy"`, the engine against the nested-quad reference.  ``--tests`` also times
the default test suite (the README's command) and the slow one (``-m slow``).
No test asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import cevns  # noqa: E402
from cevns import models as M  # noqa: E402
from cevns.rates import NumericalSettings  # noqa: E402


def median_time(fn, repeat=5, number=1):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t) / number)
    return statistics.median(ts)


def wall(cmd, repeat=7, **kw):
    """Median wall time of a command run in a fresh process [s]."""
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, **kw)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


PAPER_LIMITS = [(p, ch) for p in ("mu_nu", "q_ee", "q_emu", "q_etau", "r2_ee", "r2_emu", "r2_etau")
                for ch in ("cevns", "cevns+eves")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repeats; reference on 2 bins")
    ap.add_argument("--tests", action="store_true", help="also time the default and the slow test suites")
    args = ap.parse_args()
    rep = 3 if args.quick else 7
    rows = []

    def row(name, t, base=None, note=""):
        ratio = (f"{base / t:10.0f}x" if base / t >= 100 else f"{base / t:10.1f}x") if base else ""
        rows.append((name, t, ratio, note))
        print(f"{name:<48} {t * 1e3:12.3f} ms {ratio:>12} {note}", flush=True)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average {os.getloadavg()[0]:.1f}")
    # start-up, each in a fresh interpreter: the floor is importing numpy alone
    py = sys.executable
    t_np = wall([py, "-c", "import numpy"], rep)
    script = os.path.join(os.path.dirname(py), "cevns")  # the console script, as a user runs it
    t_help = wall([script, "--help"] if os.path.exists(script) else [py, "-m", "cevns", "--help"], rep)
    t_imp = wall([py, "-c", "import cevns"], rep)
    t_imp_exp = wall([py, "-c", "import cevns; cevns.load_experiment('conus-plus').predict()"], rep)
    print(f"{'0. start-up: python -c import numpy (floor)':<48} {t_np * 1e3:12.1f} ms")
    print(f"{'0. start-up: cevns --help':<48} {t_help * 1e3:12.1f} ms {t_help / t_np:11.2f}x of the floor")
    print(f"{'0. start-up: import cevns':<48} {t_imp * 1e3:12.1f} ms {t_imp / t_np:11.2f}x of the floor")
    print(f"{'0. start-up: import, load, SM prediction':<48} {t_imp_exp * 1e3:12.1f} ms {t_imp_exp / t_np:11.2f}x of the floor")
    # baseline: the slow reference (tests/reference.py), SM CEvNS per bin, resolution off
    import reference as ref

    exp_off = cevns.load_experiment("conus-plus", resolution="off")
    bins = [2, 18] if args.quick else [0, 2, 9, 18]
    t = time.perf_counter()
    vals = [ref.cevns_bin(exp_off, M.StandardModel(), i) for i in bins]
    t_ref_bin = (time.perf_counter() - t) / len(bins)
    fast = exp_off.predict().cevns
    agree = max(abs(fast[i] / v - 1) for i, v in zip(bins, vals))
    t_ref = 19 * t_ref_bin
    row("reference: SM CEvNS, 19 bins (nested quad)", t_ref, note=f"(measured on {len(bins)} bins x 19)")

    t_cold = median_time(lambda: cevns.load_experiment("conus-plus").predict(), repeat=rep)
    row("1. SM prediction, cold (build matrices)", t_cold, t_ref)
    exp = cevns.load_experiment("conus-plus")
    exp.predict()
    t_warm = median_time(lambda: exp.predict(), repeat=rep, number=200)
    row("1. SM prediction, warm", t_warm, t_ref, note=f"engine vs reference: max |diff| {agree:.1e}")
    from cevns._poly import monomial_matrix

    sm = M.StandardModel()
    bare_bases = [exp.engine.basis(sm, ch) for ch in ("cevns", "eves")]
    pts = np.array([[sm.values()[k] for k in bare_bases[0].names]])
    t_bare = median_time(lambda: [monomial_matrix(b.monomials, b.names, pts) @ b.B for b in bare_bases], repeat=rep,
                         number=200)
    row("1. bare monomials @ B, both channels (floor)", t_bare, note=f"warm prediction / floor = {t_warm / t_bare:.2f}x")
    t_prof = median_time(lambda: exp.fit("sin2w", n_grid=200), repeat=rep)
    row("2. sin2w profile, 200 points + intervals", t_prof, t_ref * 200)
    for p, ch in PAPER_LIMITS:
        if p.endswith("etau"):
            continue  # as e-mu
        tt = median_time(lambda: exp.limit(p, 0.9, ch), repeat=max(1, rep // 2))
        row(f"3. limit {p} ({ch})", tt, t_ref * 200)
    import before_issue14 as before

    t14 = median_time(lambda: [exp.limit(p, 0.9, ch) for p, ch in PAPER_LIMITS], repeat=rep)
    t14_before = median_time(lambda: [before.limit(exp, p, 0.9, ch) for p, ch in PAPER_LIMITS], repeat=max(1, rep // 3))
    edges = max(abs(a - b) / (iv_new[-1][1] - iv_new[0][0])
                for p, ch in PAPER_LIMITS
                for iv_new, iv_old in [(exp.limit(p, 0.9, ch).intervals["90%"], before.limit(exp, p, 0.9, ch)[0])]
                for x, y in zip(iv_new, iv_old) for a, b in zip(x, y))
    row("3. all 14 limits, before issue 14 (baseline)", t14_before)
    row("3. all 14 limits of the paper (one after another)", t14, t14_before,
        note=f"edges vs baseline: max {edges:.1e} of the width")
    M100 = np.geomspace(0.01, 1e4, 100)
    t_ex = median_time(lambda: exp.exclusion("vector-bl", masses=M100), repeat=rep)
    t_ex_before = median_time(lambda: before.exclusion(exp, "vector-bl", masses=M100), repeat=rep)
    g_diff = np.nanmax(np.abs(exp.exclusion("vector-bl", masses=M100).g / before.exclusion(exp, "vector-bl", masses=M100) - 1))
    row("4. exclusion, 100 masses, before issue 14 (baseline)", t_ex_before)
    row("4. exclusion curve, 100 masses (vector B-L)", t_ex, t_ex_before, note=f"g vs baseline: max {g_diff:.1e} relative")
    from cevns.analysis import combined_basis

    def first_call(n):
        e = cevns.load_experiment("conus-plus")
        e.predict()
        t = time.perf_counter()
        e.exclusion("vector-bl", masses=np.geomspace(0.01, 1e4, n))
        return time.perf_counter() - t

    def bases_only(n):
        e = cevns.load_experiment("conus-plus")
        e.predict()
        t = time.perf_counter()
        masses = np.geomspace(0.01, 1e4, n)
        for ch in ("cevns", "eves"):  # all masses in one expansion, as exclusion() does
            e.engine.prefetch(M.VectorBL(mass_MeV=float(masses[0])), ch, masses)
        for m in masses:
            combined_basis(e, M.VectorBL(mass_MeV=float(m)), ("cevns", "eves"))
        return time.perf_counter() - t

    t_first = statistics.median(first_call(100) for _ in range(rep))
    t_bases = statistics.median(bases_only(100) for _ in range(rep))
    row("4. exclusion, 100 masses, first call", t_first, note=f"of which the 100 bases (rates.py): {t_bases * 1e3:.1f} ms")
    from bare_exclusion import bare_exclusion

    from cevns._threads import blas_threads

    def bare(n):
        e = cevns.load_experiment("conus-plus")
        e.predict()
        t = time.perf_counter()
        with blas_threads():  # the same BLAS threads as the package's own call
            g = bare_exclusion(e, np.geomspace(0.01, 1e4, n))
        return time.perf_counter() - t, g

    t_bare = statistics.median(bare(100)[0] for _ in range(rep))
    g_bare = bare(100)[1]
    g_pkg = cevns.load_experiment("conus-plus").exclusion("vector-bl", masses=np.geomspace(0.01, 1e4, 100)).g
    row("4. exclusion, 100 masses, bare numpy (floor)", t_bare,
        note=f"first call / floor = {t_first / t_bare:.2f}x; g agree to {np.max(np.abs(g_bare / g_pkg - 1)):.0e} "
             "(the floor takes the grid minimum unpolished)")
    t_first1000 = statistics.median(first_call(1000) for _ in range(max(1, rep // 3)))
    row("4. exclusion, 1000 masses, first call", t_first1000, note=f"{t_first1000 / t_first:.1f}x the 100-mass call")
    t_c = median_time(lambda: exp.contour(("q_ee", "q_emu"), n=61), repeat=rep)
    row("4b. contour q_ee x q_emu, 61 x 61, q_etau marginalised", t_c, t_ref * 61 * 61)
    t_c2 = median_time(lambda: exp.contour(("q_ee", "sin2w"), n=61), repeat=max(1, rep // 2))
    row("4b. contour q_ee x sin2w, 61 x 61, 2 parameters marginalised", t_c2, t_ref * 61 * 61)
    from cevns.reproduce import reproduce
    with tempfile.TemporaryDirectory() as d:
        t_rep = median_time(lambda: reproduce(d), repeat=1)
    row("5. cevns reproduce, end to end", t_rep)

    print("\nscaling")
    for panel in (4.0, 2.0, 1.0, 0.5):
        e = cevns.load_experiment("conus-plus").replace(numerics=NumericalSettings(panel_eV=panel))
        nodes = e.engine.cevns_nodes.size + e.engine.eves_nodes.size
        tb = median_time(lambda: e.replace(), repeat=3)
        tw = median_time(lambda: e.predict(), repeat=3, number=200)
        print(f"  panel {panel:4.1f} eV: {nodes:5d} nodes  build {tb * 1e3:8.1f} ms  warm prediction {tw * 1e6:7.1f} us")
    for n in (50, 100, 200, 400, 800):
        print(f"  sin2w profile {n:4d} points: {median_time(lambda: exp.fit('sin2w', n_grid=n), repeat=3) * 1e3:7.1f} ms")
    for n in (25, 50, 100, 200):
        tt = median_time(lambda: exp.exclusion("scalar", masses=np.geomspace(0.01, 1e4, n)), repeat=3)
        print(f"  exclusion {n:4d} masses: {tt * 1e3:7.1f} ms")
    for n in (21, 41, 81, 161):
        tt = median_time(lambda: exp.contour(("q_ee", "q_emu"), n=n, ranges={"q_ee": (-4e-12, 4e-12),
                                                                            "q_emu": (-4e-12, 4e-12)}), repeat=3)
        print(f"  contour {n:4d} x {n:<4d}: {tt * 1e3:7.1f} ms")
    print(f"\npeak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.tests:
        root = os.path.join(os.path.dirname(__file__), "..")
        for label, extra in (("default (the README's python -m pytest -q)", []), ("slow (-m slow)", ["-m", "slow"])):
            t = time.perf_counter()
            r = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=root, capture_output=True,
                               text=True)
            last = (r.stdout.strip().splitlines() or [""])[-1]
            print(f"test suite, {label}: {time.perf_counter() - t:.1f} s  ({last})", flush=True)


if __name__ == "__main__":
    main()

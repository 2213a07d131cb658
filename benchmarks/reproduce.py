"""`cevns reproduce` end to end (issue 14: <= 5 s, figures included), each run in a fresh interpreter.

Run:  python benchmarks/reproduce.py [--repeat 3] [--src PATH ...]

For each source tree (default: this repository's src/; give another checkout's src/ to compare, e.g. the
code before a change) it prints the median wall time of `python -m cevns reproduce --out DIR` (a fresh
output folder each time), with the figures in a second process (the default on Linux with two or more
cores) and drawn in-process (``CEVNS_FIGURE_WORKER=0``).  One more, instrumented run gives the split:
imports, analysis (`run_all`), the wait for the figures after the analysis, the figure process's CPU time,
and what the run would take on two idle cores if each process's CPU time were its wall time (a load-independent
estimate from the recorded timeline: when each group of results reached the figure process, and each
figure's CPU time).  The floor of the same run is `python -c "import numpy"`, and the machine's load average is printed with
every row (the machine is shared: compare ratios measured in one run).  No test asserts a time; the
numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: run in a fresh interpreter: the split of one `cevns reproduce` through the command line
PROBE = r"""
import json, sys, time
c0, t0 = time.process_time(), time.perf_counter()
import cevns.cli, cevns.reproduce as R
c1, t1 = time.process_time(), time.perf_counter()
real, runs, marks = R.reproduce, [], {}
real_run_all = R.run_all
def run_all(*a, **k):
    out = real_run_all(*a, **k)
    marks["analysis_cpu"] = time.process_time()
    return out
R.run_all = run_all
R.reproduce = lambda *a, **k: runs.append(real(*a, **k)) or runs[-1]
assert cevns.cli.main(["reproduce", "--out", sys.argv[1]]) == 0
c2, t2 = time.process_time(), time.perf_counter()
run = runs[0]
proc = run.get("figure_process", {"forked": False, "cpu_seconds": None})
out = {"import": t1 - t0, "analysis": run["seconds"], "figures_after": run["figure_seconds"], "total": t2 - t0,
       "forked": proc["forked"], "figure_cpu": proc["cpu_seconds"], "estimate": None}
if proc["forked"] and marks:
    # the same run on two idle cores: each process's CPU time laid out as its wall time
    tl = proc["timeline"]
    fork = c1 - c0  # the child is forked as reproduce() starts, right after the imports
    arrived = {}
    for keys, cpu in tl["sent"]:
        for k in keys:
            arrived.setdefault(k, cpu)
    from cevns.plots import PAPER_FIGURES
    needs = dict(PAPER_FIGURES)
    child = fork + tl["warmup"]
    for n in proc["drawn"]:
        child = max(child, fork + max(arrived.get(k, 0.0) for k in needs[n])) + tl["figures"][n]
    parent = c2 - c0  # the parent's own CPU: imports, analysis, the figures it took, the reports
    out["estimate"] = {"child": child, "parent": parent, "wall": max(child, parent),
                       "analysis_cpu": marks["analysis_cpu"] - c1}
print(json.dumps(out))
"""


def load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def wall(cmd, env, repeat, fresh_dir=False):
    ts = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            args = cmd + ([str(Path(d) / "out")] if fresh_dir else [])
            t = time.perf_counter()
            subprocess.run(args, env=env, check=True, capture_output=True)
            ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--src", action="append", help="source tree(s) to time (default: this repository's src)")
    args = ap.parse_args()
    py = sys.executable
    srcs = [Path(s).resolve() for s in (args.src or [ROOT / "src"])]
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; {load()}")
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CEVNS_FIGURE_WORKER")}
    t_np, _ = wall([py, "-c", "import numpy"], base_env, max(3, args.repeat))
    floor = 'python -c "import numpy" (floor)'
    print(f"{floor:<58} {t_np:7.2f} s            {load()}")
    for src in srcs:
        env = dict(base_env, PYTHONPATH=str(src))
        cmd = [py, "-m", "cevns", "reproduce", "--out"]
        for label, extra in (("figures in a second process", {}), ("figures in-process", {"CEVNS_FIGURE_WORKER": "0"})):
            t, ts = wall(cmd, dict(env, **extra), args.repeat, fresh_dir=True)
            print(f"{'cevns reproduce, ' + label:<58} {t:7.2f} s  {t / t_np:5.1f}x   {load()}   "
                  f"({' '.join(f'{x:.2f}' for x in ts)})  [{src}]", flush=True)
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([py, "-c", PROBE, str(Path(d) / "out")], env=env, check=True, capture_output=True,
                               text=True)
        s = json.loads(r.stdout.strip().splitlines()[-1])
        cpu = f"{s['figure_cpu']:.2f} s" if s["figure_cpu"] is not None else "-"
        print(f"  split: imports {s['import']:.2f} s, analysis {s['analysis']:.2f} s, figures after the analysis "
              f"{s['figures_after']:.2f} s, total {s['total']:.2f} s in process; figure process: "
              f"{'forked' if s['forked'] else 'none'}, CPU {cpu}   {load()}")
        if s["estimate"]:
            e = s["estimate"]
            print(f"  the same run on two idle cores (each process's CPU time as its wall time): {e['wall']:.2f} s "
                  f"(parent {e['parent']:.2f} s, of which analysis {e['analysis_cpu']:.2f} s; figure process "
                  f"{e['child']:.2f} s)")


if __name__ == "__main__":
    main()

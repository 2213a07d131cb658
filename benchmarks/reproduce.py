"""`cevns reproduce` end to end (issue 14: <= 5 s, figures included), each run in a fresh interpreter.

Run:  python benchmarks/reproduce.py [--repeat 3] [--src PATH ...]

For each source tree (default: this repository's src/; give another checkout's src/ to compare, e.g. the
code before a change, whose figures may be drawn in a forked second process) it prints the median wall and CPU
time of `python -m cevns reproduce --out DIR` (a fresh output folder each time).  The cases are interleaved, so
that a change of the machine's load hits them alike; the median and the minimum (the least disturbed run) are
printed beside the floor of the same run, `python -c "import numpy"`, the range of the load average, and for each
run how many cores other jobs kept busy meanwhile (from /proc/stat: the machine is shared, so compare ratios
measured in one run, or the runs other jobs left alone).

One more, instrumented run per tree gives the split: imports, analysis (`run_all`), figures and reports.  No test
asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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
out = {"import": t1 - t0, "analysis": run["seconds"], "figures_after": run["figure_seconds"], "total": t2 - t0}
print(json.dumps(out))
"""


def load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (Linux /proc/stat; 0 elsewhere)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return 0.0
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def timed(cmd, env):
    """Wall seconds, CPU seconds (user + system, the process and every child it waited for) and the cores
    other jobs kept busy on average during one run."""
    before, b0 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t
    after, b1 = resource.getrusage(resource.RUSAGE_CHILDREN), busy_seconds()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, max(0.0, (b1 - b0 - cpu) / wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--src", action="append", help="source tree(s) to time (default: this repository's src)")
    ap.add_argument("--quiet", type=float, default=None, metavar="CORES",
                    help="count only rounds (one run of every case) during which other jobs kept at most CORES "
                         "cores busy in every run; start a round only after 2 s at that level; retry up to "
                         "--minutes")
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    py = sys.executable
    srcs = [Path(s).resolve() for s in (args.src or [ROOT / "src"])]
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}; {load()}")
    base_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CEVNS_FIGURE_WORKER")}
    cases = [("numpy", 'python -c "import numpy" (floor)', [py, "-c", "import numpy"], base_env, False)]
    for src in srcs:
        env = dict(base_env, PYTHONPATH=str(src))
        for label, extra in [("as is", {})]:
            cases.append((str(src), "cevns reproduce, " + label, [py, "-m", "cevns", "reproduce", "--out"],
                          dict(env, **extra), True))
    runs: dict = {i: [] for i in range(len(cases))}
    loads = []
    rounds = discarded = 0
    deadline = time.monotonic() + 60 * args.minutes
    while rounds < args.repeat:  # interleaved: a change of the machine's load hits every case alike
        if args.quiet is not None:
            if time.monotonic() > deadline:
                print(f"only {rounds} quiet round(s) in {args.minutes:g} minutes")
                break
            b0 = busy_seconds()
            time.sleep(2.0)
            if (busy_seconds() - b0) / 2.0 > args.quiet:
                continue
        this = []
        for i, (_, _, cmd, env, fresh) in enumerate(cases):
            with tempfile.TemporaryDirectory() as d:
                this.append(timed(cmd + ([str(Path(d) / "out")] if fresh else []), env))
            loads.append(os.getloadavg()[0])
        if args.quiet is not None and max(o for _, _, o in this) > args.quiet:
            discarded += 1
            continue
        rounds += 1
        for i, r in enumerate(this):
            runs[i].append(r)
    if rounds == 0:
        return
    if args.quiet is not None:
        print(f"{rounds} round(s) with other jobs at <= {args.quiet:g} cores; {discarded} busier round(s) left out")
    t_np = statistics.median(r[0] for r in runs[0])
    print(f"load average during the runs: {min(loads):.2f} - {max(loads):.2f}; each run: wall s / cores other "
          f"jobs kept busy meanwhile")
    m_np = min(r[0] for r in runs[0])
    for i, (src, label, *_ ) in enumerate(cases):
        w = statistics.median(r[0] for r in runs[i])
        m = min(r[0] for r in runs[i])
        c = statistics.median(r[1] for r in runs[i])
        print(f"{label:<40} median {w:6.2f} s ({w / t_np:5.1f}x the floor), min {m:6.2f} s ({m / m_np:5.1f}x), "
              f"CPU {c:6.2f} s   ({' '.join(f'{x:.2f}/{o:.1f}' for x, _, o in runs[i])})" + (f"  [{src}]" if i else ""),
              flush=True)
    for src in srcs:
        env = dict(base_env, PYTHONPATH=str(src))
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([py, "-c", PROBE, str(Path(d) / "out")], env=env, check=True, capture_output=True,
                               text=True)
        s = json.loads(r.stdout.strip().splitlines()[-1])
        print(f"split [{src}]: imports {s['import']:.2f} s, analysis {s['analysis']:.2f} s, figures and reports "
              f"{s['figures_after']:.2f} s, total {s['total']:.2f} s   {load()}")

if __name__ == "__main__":
    main()

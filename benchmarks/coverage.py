"""Feldman-Cousins constructions and Delta chi^2 coverage (issue 17): the numbers of docs/coverage.md.

Run:  python benchmarks/coverage.py [--toys 10000] [--points 21] [--out DIR] [--skip-physics] [--skip-timing]

1. physics: mu_nu for CONUS+ (CEvNS + EvES) and mu_nu_mu and sin2w for COHERENT LAr (2020): the FC 90% interval
   beside the Delta chi^2 one and the coverage of the latter at each true value (local Dask cluster, all cores).
2. timing: wall time of a fixed job (in this process; a local cluster of 1 and of 2 workers), per 10^4 toys,
   and the speed-up from 1 to 2 workers (cluster start-up excluded: the client is created before the clock).
No test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import cevns
from cevns import coverage as C


def physics(args, out: Path) -> dict:
    cases = [("conus-plus", "mu_nu"), ("coherent-lar-2020", "mu_nu_mu"), ("coherent-lar-2020", "sin2w")]
    res = {}
    for name, param in cases:
        exp = cevns.load_experiment(name)
        t0 = time.perf_counter()
        r = C.feldman_cousins(exp, param, toys=args.toys, points=args.points, workers=args.workers, seed=args.seed,
                              cache=out / "cache", progress=C.progress_bar(f"{name} {param}"))
        wall = time.perf_counter() - t0
        (out / f"{name}_{param}.json").write_text(r.to_json() + "\n")
        r.figure(out / f"{name}_{param}")
        print(r)
        res[f"{name}:{param}"] = {"fc": r.fc_intervals, "wilks": r.wilks_intervals, "fc_upper": r.fc_upper,
                                  "wilks_upper": r.wilks_upper, "coverage_min": float(r.wilks_coverage.min()),
                                  "coverage_max": float(r.wilks_coverage.max()), "wall_s": wall, "run": r.run}
    return res


def timing(args) -> dict:
    from dask.distributed import Client

    out = {}
    for name, param, toys in (("conus-plus", "mu_nu", 40000), ("coherent-lar-2020", "mu_nu_mu", 8000)):
        exp = cevns.load_experiment(name)
        prob, grid, _ = C.toy_problem(exp, param, points=4)
        row = {}
        t0 = time.perf_counter()
        ref, _ = C.run_toys(prob, grid, toys // 4, seed=1, batch=C.DEFAULT_BATCH, workers=0)
        row["in_process_s"] = time.perf_counter() - t0
        for nw in (1, 2):
            with C.local_cluster(nw) as cl, Client(cl) as client:
                client.submit(sum, [1]).result()  # workers up
                t0 = time.perf_counter()
                t, _ = C.run_toys(prob, grid, toys // 4, seed=1, batch=C.DEFAULT_BATCH, client=client)
                row[f"workers_{nw}_s"] = time.perf_counter() - t0
                assert np.array_equal(t, ref), "results differ between executors"
        row["toys"] = toys
        row["per_1e4_toys_2_workers_s"] = row["workers_2_s"] / toys * 1e4
        row["per_1e4_toys_1_core_s"] = row["in_process_s"] / toys * 1e4
        row["speedup_1_to_2_workers"] = row["workers_1_s"] / row["workers_2_s"]
        out[f"{name}:{param}"] = row
        print(f"{name} {param}: {toys} toys: in process {row['in_process_s']:.1f} s, 1 worker {row['workers_1_s']:.1f} s, "
              f"2 workers {row['workers_2_s']:.1f} s -> {row['per_1e4_toys_2_workers_s']:.2f} s per 10^4 toys on 2 workers, "
              f"speed-up {row['speedup_1_to_2_workers']:.2f}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--toys", type=int, default=10000)
    ap.add_argument("--points", type=int, default=21)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="coverage-benchmark")
    ap.add_argument("--skip-physics", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; load average {os.getloadavg()[0]:.2f}")
    summary = {}
    if not args.skip_timing:
        summary["timing"] = timing(args)
    if not args.skip_physics:
        summary["physics"] = physics(args, out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

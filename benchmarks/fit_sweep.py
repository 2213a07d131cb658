"""Wall time of every single-parameter fit of every parameter on every built-in experiment and on the joint of
all three (the transition charges and radii were the slow ones: a CsI q_emu fit took more than 15 minutes).

Run:  python benchmarks/fit_sweep.py [--src DIR] [--timeout S] [--only q_emu,r2_emu] [--exp coherent-csi-2021]
      python benchmarks/fit_sweep.py --compare BEFORE.json AFTER.json   (a before/after table of two --json runs)
Each fit runs in a fresh process (``cevns.load_experiment(...).fit(param, channels=...)``) with ``--src`` first on
sys.path (default: this checkout's src/), so the same script times an older tree, e.g. ``--src /work/main/src``;
a fit still running after ``--timeout`` seconds is killed and shown as "> timeout".  Printed per fit: the time
of the fit alone (the experiment loaded and its bases warmed before the clock starts), the 90% C.L. interval,
converged, and the Poisson nuisance profiles (chi^2 values of COHERENT) the fit asked for.
No test asserts a time; the numbers go into docs/performance.md and the closing note of the work.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

EXPERIMENTS = ["conus-plus", "coherent-csi-2021", "coherent-lar-2020",
               "conus-plus+coherent-csi-2021+coherent-lar-2020"]
PARAMS = ["sin2w", "mu_nu", "mu_nu_e", "mu_nu_mu", "q_ee", "q_mumu", "q_emu", "q_etau", "q_mutau",
          "r2_ee", "r2_mumu", "r2_emu", "r2_etau", "r2_mutau", "g@scalar", "g@vector-bl"]
CHANNELS = ["cevns", "cevns+eves"]

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import cevns
from cevns import models
exps, param, ch = sys.argv[2].split("+coherent"), sys.argv[3], sys.argv[4]
names = [exps[0]] + ["coherent" + e for e in exps[1:]]
exp = cevns.load_experiment(names[0])
for n in names[1:]:
    exp = exp + cevns.load_experiment(n)
kw = {}
if "@" in param:
    param, m = param.split("@")
    kw["model"] = models.get_model(m, mass_MeV=10.0)
exp.predict()
from cevns import poisson  # count the Poisson nuisance profiles (the chi^2 values of a counting experiment)
count = [0]
real = poisson.newton_profile
def counting(s, *a, **k):
    count[0] += s.shape[0]
    return real(s, *a, **k)
poisson.newton_profile = counting
t = time.perf_counter()
try:
    r = exp.fit(param, channels=ch, levels=("90%",), **kw)
except cevns.CevnsInputError as e:
    print(json.dumps({"skip": str(e)}))
    sys.exit(0)
dt = time.perf_counter() - t
print(json.dumps({"t": dt, "iv": r.intervals["90%"], "best": r.best, "conv": getattr(r, "converged", None),
                  "why": getattr(r, "convergence", ""), "free": list(r.marginalised),
                  "evals": count[0]}))
"""


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(here, "..", "src"))
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--only", default="", help="comma-separated parameters (default: all)")
    ap.add_argument("--exp", default="", help="comma-separated experiments (default: all, and the joint)")
    ap.add_argument("--channels", default="", help="comma-separated channel sets (default: cevns, cevns+eves)")
    ap.add_argument("--json", default="", help="also write the rows to this file")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="print a before/after table of two --json runs")
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    params = args.only.split(",") if args.only else PARAMS
    exps = args.exp.split(",") if args.exp else EXPERIMENTS
    chans = args.channels.split(",") if args.channels else CHANNELS
    print(f"src {os.path.abspath(args.src)}; load average {os.getloadavg()[0]:.1f}; timeout {args.timeout:g} s", flush=True)
    rows = []
    for e in exps:
        for p in params:
            for ch in chans:
                t0 = time.perf_counter()
                try:
                    out = subprocess.run([sys.executable, "-c", CHILD, os.path.abspath(args.src), e, p, ch],
                                         capture_output=True, text=True, timeout=args.timeout)
                    res = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else \
                        {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
                except subprocess.TimeoutExpired:
                    res = {"timeout": args.timeout}
                except (ValueError, IndexError):
                    res = {"error": "no output"}
                res.update(exp=e, param=p, channels=ch, wall=time.perf_counter() - t0)
                rows.append(res)
                if "skip" in res:
                    continue
                if "t" in res:
                    iv = "; ".join(f"[{a:.4g}, {b:.4g}]" for a, b in res["iv"])
                    ev = f"{res['evals']:>9d}" if res.get("evals") is not None else f"{'':>9}"
                    line = f"{res['t']:8.2f} s {ev}  conv={res['conv']!s:5}  90%: {iv}"
                elif "timeout" in res:
                    line = f"> {args.timeout:g} s (killed)"
                else:
                    line = f"error: {res['error']}"
                print(f"{e[:40]:<40} {p:<12} {ch:<11} {line}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


def compare(before_file: str, after_file: str) -> None:
    """Markdown table: per fit, the time before and after and the largest change of a 90% interval edge (relative
    to the interval's width); only the fits that take more than 0.5 s on either side."""
    def rows(path):
        with open(path) as f:
            return {(r["exp"], r["param"], r["channels"]): r for r in json.load(f) if "skip" not in r}

    def when(r):
        return f"{r['t']:.2f} s" if "t" in r else (f"> {r['timeout']:g} s" if "timeout" in r else "error")

    b, a = rows(before_file), rows(after_file)
    print("| experiment | parameter | channels | before | after | 90% C.L. after | max edge change |")
    print("|---|---|---|---:|---:|---|---:|")
    for k in a:
        rb, ra = b.get(k, {}), a[k]
        if max(rb.get("t", 1e9), ra.get("t", 1e9)) < 0.5:
            continue
        iv = "; ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in ra["iv"]) if "iv" in ra else ""
        change = ""
        if "iv" in ra and "iv" in rb and len(ra["iv"]) == len(rb["iv"]):
            change = f"{max(abs(x - y) / (q[1] - q[0]) for p, q in zip(ra['iv'], rb['iv']) for x, y in zip(p, q)):.1e}"
        print(f"| {k[0]} | {k[1]} | {k[2]} | {when(rb) if rb else ''} | {when(ra)} | {iv} | {change} |")


if __name__ == "__main__":
    main()

"""CPU time of the nine paper figures (18 files, PNG + PDF) with and without each of the style's speed-ups.

Run:  python benchmarks/figures.py [--repeat 3]

One analysis (`run_all`), then the figures drawn in this process again and again, the variants interleaved
(so that a change of the machine's load hits them alike), the minimum CPU time of each printed:

  A  matplotlib as it is: one `savefig` per file (each lays the figure out in a silent draw first), and
     matplotlib's mathtext cache (one per renderer: every label and "10^n" tick parsed again per file)
  B  A + mathtext parsed once for all renderers (`cevns.style.shared_mathtext`)
  C  A + one layout pass per figure for both files (`cevns.style.save`)
  D  B + C: the cevns style
  E  D + linear tick labels as plain text instead of mathtext's \\mathdefault (the paper figures, as drawn)

No test asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from importlib import resources
from pathlib import Path

import matplotlib
import matplotlib.style

from cevns import plots, style
from cevns.reproduce import run_all

VARIANTS = {
    "A": "matplotlib as it is (savefig per file, its parse cache)",
    "B": "+ mathtext parsed once for all renderers",
    "C": "+ one layout pass per figure (instead of B)",
    "D": "both: the cevns style",
    "E": "both + plain-text linear tick labels (as drawn)",
}


def _plain_save(fig, base, exts=("png", "pdf")):
    for ext in exts:
        fig.savefig(f"{base}.{ext}")


@contextlib.contextmanager
def _style_only():
    with resources.as_file(resources.files("cevns.data").joinpath("cevns.mplstyle")) as p:
        with matplotlib.style.context(str(p)):
            yield


def _variant(v: str):
    """(save function, style context, extra rc) of variant ``v``."""
    save = style.save if v in "CDE" else _plain_save
    ctx = style.figure_style if v in "BDE" else _style_only
    rc = {"axes.formatter.use_mathtext": v != "E"}
    return save, ctx, rc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    run = run_all(False)
    real_save, real_draw = plots._save_files, dict(plots._DRAW)
    cpu = {v: [] for v in VARIANTS}
    try:
        for _ in range(args.repeat):
            for v in VARIANTS:
                save, ctx, rc = _variant(v)
                plots._save_files = save
                with tempfile.TemporaryDirectory() as d, ctx(), matplotlib.rc_context(rc):
                    t = time.process_time()
                    for name, _ in plots.PAPER_FIGURES:  # the drawing functions, without paper_figures' own style
                        real_draw[name](run, Path(d), ())
                    cpu[v].append(time.process_time() - t)
    finally:
        plots._save_files = real_save
    print(f"load average {os.getloadavg()[0]:.2f}")
    for v, label in VARIANTS.items():
        print(f"{v}  {label:<58} CPU {min(cpu[v]):5.2f} s   ({' '.join(f'{x:.2f}' for x in cpu[v])})")


if __name__ == "__main__":
    main()

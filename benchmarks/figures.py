"""CPU time of the nine paper figures (18 files, PNG + PDF), drawn from results.json, with and without each of the
style's speed-ups.

Run:  python benchmarks/figures.py [--repeat 3]

One `cevns reproduce` (its results.json), then the figures drawn in this process again and again from that file, the
variants interleaved (so that a change of the machine's load hits them alike), the minimum CPU time of each printed:

  A  matplotlib as it is: one `savefig` per file (each lays the figure out in a silent draw first), and
     matplotlib's mathtext cache (one per renderer: every label and "10^n" tick parsed again per file)
  B  A + mathtext parsed once for all renderers (`cevns.style.shared_mathtext`, a patch of matplotlib's cache)
  C  A + one layout pass per figure for both files (`cevns.style.save`)
  D  B + C
  E  D + linear tick labels as plain text instead of mathtext's \\mathdefault (the paper figures, as drawn)

No test asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from importlib import resources
from pathlib import Path

import matplotlib
import matplotlib.style

from cevns import figure_registry, plots, style
from cevns.figures import load_results
from cevns.reproduce import reproduce

VARIANTS = {
    "A": "matplotlib as it is (savefig per file, its parse cache)",
    "B": "+ mathtext parsed once for all renderers",
    "C": "+ one layout pass per figure (instead of B)",
    "D": "both",
    "E": "D + plain-text linear tick labels (as drawn)",
}


def _plain_save(fig, base, exts=("png", "pdf")):
    for ext in exts:
        fig.savefig(f"{base}.{ext}")


@contextlib.contextmanager
def _style_only():
    with resources.as_file(resources.files("cevns.data").joinpath("cevns.mplstyle")) as p:
        with matplotlib.style.context(str(p)):
            yield


@contextlib.contextmanager
def _shared():
    with _style_only(), style.shared_mathtext():
        yield


def _variant(v: str):
    """(save function, style context, extra rc) of variant ``v``."""
    save = style.save if v in "CDE" else _plain_save
    ctx = _shared if v in "BDE" else _style_only
    rc = {"axes.formatter.use_mathtext": v != "E"}
    return save, ctx, rc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        reproduce(Path(d) / "out")
        results = load_results(Path(d) / "out" / "results.json")
    real_save = plots._save_files
    cpu: dict = {v: [] for v in VARIANTS}
    try:
        for _ in range(args.repeat):
            for v in VARIANTS:
                save, ctx, rc = _variant(v)
                plots._save_files = save
                with tempfile.TemporaryDirectory() as d, ctx(), matplotlib.rc_context(rc):
                    t = time.process_time()
                    for spec in figure_registry.of_study("paper"):
                        spec.draw(results, Path(d))
                    cpu[v].append(time.process_time() - t)
    finally:
        plots._save_files = real_save
    for v, text in VARIANTS.items():
        print(f"{v}  {min(cpu[v]):6.2f} s CPU (min of {len(cpu[v])})  {text}")


if __name__ == "__main__":
    main()

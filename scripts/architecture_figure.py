"""Draw the package's module graph by layer (docs/images/architecture.png): one panel per source tree.

    python scripts/architecture_figure.py BEFORE_SRC AFTER_SRC [--out docs/images/architecture.png]

Each module of ``<src>/cevns`` is a box in the row of its layer (foundations at the bottom, the command line at the
top); each import of one package module by another (module-level or inside a function) is a line; an import that
points to a higher layer is drawn in orange, an edge of an import circle in red.  The layer of each module is the
table ``LAYERS`` below (docs/architecture.md says what each layer holds).
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import Dict, Set

LAYERS = {
    "foundations": ["parameters", "constants", "registry", "published", "errors", "_poly", "_files", "_threads",
                    "convergence", "outputs", "statistic", "figure_registry"],
    "physics": ["models", "xsec", "flux", "stopped_pion", "nuclei", "running", "plausibility"],
    "display": ["labels", "style"],
    "prediction": ["rates", "detector"],
    "statistics": ["stats", "poisson"],
    "experiment": ["schema", "readers", "counting", "builders", "experiments", "results"],
    "inference": ["analysis", "minimise", "coverage", "toys"],
    "studies": ["plots", "plots_global", "figures", "reports", "paper_text", "reproduce",
                "global_study", "_figure_worker"],
    "command line": ["cli", "__main__", "__init__"],
}
ORDER = list(LAYERS)


def graph(src: Path) -> Dict[str, Set[str]]:
    pkg = src / "cevns"
    out: Dict[str, Set[str]] = {}
    for f in sorted(pkg.glob("*.py")):
        deps: Set[str] = set()
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level == 1:
                deps |= {n.module.split(".")[0]} if n.module else {a.name for a in n.names}
        out[f.stem] = {d for d in deps if (pkg / f"{d}.py").exists() and d != f.stem}
    return out


def layer_of(m: str) -> int:
    for i, name in enumerate(ORDER):
        if m in LAYERS[name]:
            return i
    return ORDER.index("studies")


def in_circle(g: Dict[str, Set[str]], a: str, b: str) -> bool:
    """Is the edge a -> b part of a circle (b reaches a)?"""
    seen, todo = set(), [b]
    while todo:
        x = todo.pop()
        if x == a:
            return True
        for y in g.get(x, ()):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def draw(ax, g: Dict[str, Set[str]], title: str) -> None:
    rows: Dict[int, list] = {}
    for m in g:
        if m in ("__init__", "__main__"):
            continue
        rows.setdefault(layer_of(m), []).append(m)
    pos = {}
    for i, ms in rows.items():
        for j, m in enumerate(sorted(ms)):
            pos[m] = ((j + 0.5) / len(ms), i)
    counts = {"up": 0, "circle": 0}
    for a, deps in g.items():
        for b in deps:
            if a not in pos or b not in pos:
                continue
            (x0, y0), (x1, y1) = pos[a], pos[b]
            circle = in_circle(g, a, b)
            up = layer_of(b) > layer_of(a)
            counts["circle"] += circle
            counts["up"] += up and not circle
            colour, lw, z = ("#d62728", 1.2, 3) if circle else (("#e69f00", 1.0, 2) if up else ("0.8", 0.4, 1))
            ax.plot([x0, x1], [y0, y1], color=colour, lw=lw, zorder=z)
    for m, (x, y) in pos.items():
        ax.text(x, y, m, ha="center", va="center", fontsize=5.5, zorder=4,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", lw=0.5))
    ax.set_yticks(range(len(ORDER)), ORDER, fontsize=6.5)
    ax.set_xticks([])
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.6, len(ORDER) - 0.4)
    ax.set_title(f"{title}: {len(pos)} modules, {counts['circle']} edges in import circles, "
                 f"{counts['up']} upward imports", fontsize=7)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--out", type=Path, default=Path("docs/images/architecture.png"))
    args = ap.parse_args()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.5), layout="constrained")
    axes = fig.subplots(2, 1)
    draw(axes[0], graph(args.before), "before (887a24d)")
    draw(axes[1], graph(args.after), "after")
    fig.savefig(args.out, dpi=130)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

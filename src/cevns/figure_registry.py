"""The figures of the studies, each registered once: its name, its study, what it reads from the study's
results.json, and the function that draws it from there.

A figure is a function ``draw(results, outdir)`` of the results dictionary (results.json as written, with its
``figure_data`` section) that writes ``outdir/<name>.png`` and ``.pdf``; nothing is refitted, so
``cevns figures RESULTS.json --out DIR`` redraws every figure of a study from its file.  The figure modules
(:mod:`cevns.plots`, :mod:`cevns.plots_global`) register their figures with :func:`figure`;
:mod:`cevns.figures` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

#: the studies whose results.json the figures read
STUDIES: Tuple[str, ...] = ("paper", "global", "quenching")


@dataclass(frozen=True)
class FigureSpec:
    """``name``: the files' base name; ``study``: the study it belongs to; ``needs``: the entries of results.json
    it reads (paths of keys joined by "/"); ``draw(results, outdir)``; ``caption``: one line for reports."""

    name: str
    study: str
    needs: Tuple[str, ...]
    draw: Callable[[Dict[str, Any], Any], None]
    caption: str


#: every registered figure by name, in the order of registration (the order of the reports)
REGISTRY: Dict[str, FigureSpec] = {}


def figure(name: str, study: str, needs: Tuple[str, ...], caption: str) -> Callable:
    """Register the decorated ``draw(results, outdir)`` as figure ``name`` of ``study``."""
    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r} for figure {name!r}; studies: {', '.join(STUDIES)}")

    def register(draw: Callable[[Dict[str, Any], Any], None]) -> Callable[[Dict[str, Any], Any], None]:
        if name in REGISTRY and REGISTRY[name].draw is not draw:
            raise ValueError(f"figure {name!r} is registered twice")
        REGISTRY[name] = FigureSpec(name, study, tuple(needs), draw, caption)
        return draw

    return register


def of_study(study: str) -> List[FigureSpec]:
    """The registered figures of a study, in order."""
    return [s for s in REGISTRY.values() if s.study == study]

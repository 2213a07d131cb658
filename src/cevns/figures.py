"""Draw the registered figures of a study (:mod:`cevns.figure_registry`) from its results, as written to
results.json, and redraw them from that file without refitting (``cevns figures RESULTS.json --out DIR``)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import plots, plots_global, plots_quenching  # noqa: F401  (importing them registers their figures)
from .errors import CevnsInputError
from .figure_registry import STUDIES, FigureSpec, of_study
from .outputs import OutputLock, StagedOutput, check_output_dir
from .results import lookup
from .style import figure_style

#: the largest results.json read (a global study with its grids is a few MB)
MAX_RESULTS_BYTES = 200 * 2**20


_MISSING = object()


def _has(results: Dict[str, Any], path: str) -> bool:
    return lookup(results, path, _MISSING) is not _MISSING


def select(study: str, names: Optional[Sequence[str]] = None) -> List[FigureSpec]:
    """The figures of ``study`` (all, or those named, in the study's order); an unknown name is an error naming the
    known ones."""
    if study not in STUDIES:
        raise CevnsInputError(f"unknown study {study!r}; studies: {', '.join(STUDIES)}")
    specs = of_study(study)
    if names is None:
        return specs
    known = [s.name for s in specs]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CevnsInputError(f"unknown figure(s) {', '.join(unknown)} of the {study} study; its figures: {', '.join(known)}")
    return [s for s in specs if s.name in names]


def draw(results: Dict[str, Any], outdir: Path, names: Optional[Sequence[str]] = None) -> List[str]:
    """Draw the figures of the study that wrote ``results`` (its ``study`` entry) into ``outdir`` (PNG and PDF);
    returns the names drawn.  A figure whose entries are missing from ``results`` is an error naming them."""
    study = results.get("study")
    specs = select(study if isinstance(study, str) else "", names)
    for spec in specs:
        missing = [n for n in spec.needs if not _has(results, n)]
        if missing:
            raise CevnsInputError(f"figure {spec.name} needs {', '.join(missing)}, which these results do not hold "
                                  "(written by an older cevns, or edited?)")
    style = plots.paper_style if study == "paper" else figure_style
    with style():
        for spec in specs:
            try:
                spec.draw(results, Path(outdir))
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:  # an edited or foreign file
                raise CevnsInputError(f"figure {spec.name} cannot be drawn from these results ({type(e).__name__}: "
                                      f"{str(e)[:120]}): results.json written by another cevns, or edited?") from None
    return [s.name for s in specs]


def as_written(results: Dict[str, Any]) -> Dict[str, Any]:
    """``results`` as a reader of results.json sees it (a JSON round trip: sorted keys, lists for arrays, null for
    infinities), so that figures drawn in the study's process and redrawn from its file are the same."""
    from .results import dumps

    return json.loads(dumps(results, sort_keys=True))


def load_results(path: Path) -> Dict[str, Any]:
    """A study's results.json, checked: a readable JSON object written by a cevns study."""
    if not path.is_file():
        raise CevnsInputError(f"{str(path)!r}: no such file (give the results.json of `cevns reproduce`)")
    if path.stat().st_size > MAX_RESULTS_BYTES:
        raise CevnsInputError(f"{str(path)!r}: larger than {MAX_RESULTS_BYTES // 2**20} MB, not a cevns results.json")
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"), parse_constant=lambda c: math.nan)
    except RecursionError:
        raise CevnsInputError(f"{str(path)!r}: nested too deeply to be a cevns results.json") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise CevnsInputError(f"{str(path)!r} is not JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict) or data.get("study") not in STUDIES or not isinstance(data.get("figure_data"), dict):
        raise CevnsInputError(f"{str(path)!r} is not the results.json of a cevns study (no 'study' and 'figure_data' "
                              "entries; studies written before figures were redrawable lack them: rerun the study)")
    return data


def redraw(path: Path, out: Path, force: bool = False, names: Optional[Sequence[str]] = None) -> List[str]:
    """``cevns figures``: every figure (or those named) of the study whose results.json is ``path``, into the folder
    ``out`` (written as a whole and swapped in; not the study's own folder, whose results it would replace)."""
    results = load_results(path)
    select(results["study"], names)  # names checked before anything is written
    if out.resolve() == path.resolve().parent:
        raise CevnsInputError(f"--out {str(out)!r} is the folder of {path.name}: redraw into another folder (the "
                              "study's own folder is written as a whole by the study)")
    with OutputLock(out):  # one run at a time into one folder
        check_output_dir(out, force)
        with StagedOutput(out, force) as tmp:
            drawn = draw(results, tmp, names)
    return drawn

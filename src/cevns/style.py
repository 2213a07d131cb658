"""The cevns figure style: the shipped ``cevns.mplstyle``, journal widths, one fixed look per channel and data set.

Library code never calls ``matplotlib.use`` nor changes the global rcParams: the style is applied with
:func:`figure_style`, a context manager, around the drawing *and* saving of each figure, and figures
written to files are :class:`matplotlib.figure.Figure` objects that never touch pyplot or its backend.
Inside :func:`figure_style` (only there) mathtext parses are shared between renderers
(:func:`shared_mathtext`), and :func:`save` lays a figure out once for all its files: the same pixels
and glyphs, a third of the time.
"""

from __future__ import annotations

import contextlib
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

#: journal widths [inch]: one column and the full page width of two-column journals
SINGLE_COLUMN = 3.4
TWO_COLUMN = 7.0

#: the Okabe-Ito palette (colour-blind safe), also the colour cycle of the style file
OKABE_ITO: Dict[str, str] = {"blue": "#0072B2", "vermillion": "#D55E00", "green": "#009E73", "purple": "#CC79A7",
                             "orange": "#E69F00", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}

#: one fixed colour and line style per channel, in every figure
CHANNEL_STYLE: Dict[str, Dict[str, Any]] = {
    "cevns": {"color": OKABE_ITO["blue"], "ls": "--"},
    "eves": {"color": OKABE_ITO["green"], "ls": ":"},
    "cevns+eves": {"color": OKABE_ITO["vermillion"], "ls": "-"},
}

#: one fixed colour, line style and marker per data set and the combination
DATASET_STYLE: Dict[str, Dict[str, Any]] = {
    "conus-plus": {"color": OKABE_ITO["black"], "ls": "-", "marker": "o"},
    "coherent-csi": {"color": OKABE_ITO["orange"], "ls": "-.", "marker": "s"},
    "coherent-lar": {"color": OKABE_ITO["sky"], "ls": (0, (5, 1.5, 1, 1.5, 1, 1.5)), "marker": "D"},
    "dresden-ii": {"color": OKABE_ITO["blue"], "ls": "--", "marker": "^"},
    "xenonnt-8b": {"color": OKABE_ITO["vermillion"], "ls": ":", "marker": "v"},
    "combined": {"color": OKABE_ITO["purple"], "ls": "-", "marker": "*"},
}

#: the look of reference lines (confidence levels, zero lines) and their labels
GUIDE = {"color": "0.45", "lw": 0.6, "ls": ":"}
GUIDE_TEXT = {"color": "0.3", "fontsize": 6.5}


def channel_style(channels: str) -> Dict[str, Any]:
    """Colour and line style of a channel (``cevns``, ``eves``, ``cevns+eves``; order of the sum ignored)."""
    key = "+".join(sorted(c.strip().lower() for c in channels.split("+")))
    return dict(CHANNEL_STYLE.get(key, {}))


def dataset_style(name: str) -> Dict[str, Any]:
    """Colour, line style and marker of a data set (``conus-plus``, ``coherent-csi``, ``coherent-lar``,
    ``dresden-ii``, ``xenonnt-8b``, ``combined``)."""
    return dict(DATASET_STYLE.get(name, {}))


def style_file() -> Path:
    """Path of the shipped ``cevns.mplstyle`` (package data)."""
    return Path(str(resources.files("cevns.data").joinpath("cevns.mplstyle")))


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Apply the cevns style inside a ``with`` block only (``matplotlib.style.context``), with mathtext
    parses shared between figures and file formats (:func:`shared_mathtext`)."""
    import matplotlib.style

    with resources.as_file(resources.files("cevns.data").joinpath("cevns.mplstyle")) as p:
        with matplotlib.style.context(str(p)), shared_mathtext():
            yield


# --- mathtext parses shared between renderers -----------------------------------------------------------
# matplotlib caches a parsed mathtext string per renderer (its key includes the parser object, and every
# savefig makes a new renderer), in a cache of 50 entries: each label and each log-axis tick label "10^n"
# is parsed (pyparsing, ~5-10 ms each) again for every file.  The parse depends only on the parser's
# output type and the key's other entries (text, dpi, font properties, antialiasing, hinting), so inside
# shared_mathtext() one parse serves every renderer.  Nothing else changes; outside it matplotlib is as
# it was.
_MT_LOCK = threading.Lock()
_MT_DEPTH = 0
_MT_ORIGINAL: Any = None
_MT_CACHE: Dict[Any, Any] = {}
_MT_CACHE_MAX = 4096


def _parse_shared(self, *args: Any) -> Any:
    kind = getattr(self, "_output_type", None)
    try:
        key = (kind, args)
        hit = _MT_CACHE.get(key) if kind is not None else None
    except TypeError:  # an unhashable argument: no sharing
        kind = hit = None
    if hit is not None:
        return hit
    out = _MT_ORIGINAL(self, *args)
    if kind is not None and len(_MT_CACHE) < _MT_CACHE_MAX:
        _MT_CACHE[key] = out
    return out


@contextlib.contextmanager
def shared_mathtext() -> Iterator[None]:
    """Inside this block a mathtext string is parsed once for all renderers (see the comment above);
    re-entrant; restores matplotlib's own cache on leaving the outermost block."""
    global _MT_DEPTH, _MT_ORIGINAL
    from matplotlib.mathtext import MathTextParser

    with _MT_LOCK:
        if _MT_DEPTH == 0:
            current = MathTextParser.__dict__.get("_parse_cached")
            _MT_ORIGINAL = current if callable(current) else None
            if _MT_ORIGINAL is not None:
                setattr(MathTextParser, "_parse_cached", _parse_shared)
        _MT_DEPTH += 1
    try:
        yield
    finally:
        with _MT_LOCK:
            _MT_DEPTH -= 1
            if _MT_DEPTH == 0:
                if _MT_ORIGINAL is not None:  # kept: a parse still running in another thread uses it
                    setattr(MathTextParser, "_parse_cached", _MT_ORIGINAL)
                _MT_CACHE.clear()


def new_figure(width: Union[str, float] = "single", height: float | None = None, nrows: int = 1, ncols: int = 1,
               **subplots_kw: Any) -> Tuple[Any, Any]:
    """A :class:`matplotlib.figure.Figure` (no pyplot, no backend switch) and its axes; ``width`` "single"
    (3.4 in), "double" (7.0 in) or inches.  Call inside :func:`figure_style`."""
    from matplotlib.figure import Figure

    w = {"single": SINGLE_COLUMN, "double": TWO_COLUMN}.get(width, width) if isinstance(width, str) else width
    if isinstance(w, str):
        raise ValueError(f"width must be 'single', 'double' or inches, got {width!r}")
    fig = Figure(figsize=(w, height if height is not None else 0.76 * SINGLE_COLUMN))
    subplots_kw.setdefault("squeeze", True)
    axes = fig.subplots(nrows, ncols, **subplots_kw)
    return fig, axes


def legend(ax, handles: Sequence[Any] | None = None, **kw: Any):
    """``ax.legend`` with each label once (the first artist of a repeated label is kept)."""
    if handles is None:
        hs, ls = ax.get_legend_handles_labels()
    else:
        hs, ls = list(handles), [h.get_label() for h in handles]
    seen: Dict[str, Any] = {}
    for h, lab in zip(hs, ls):
        if lab and not lab.startswith("_") and lab not in seen:
            seen[lab] = h
    return ax.legend(list(seen.values()), list(seen), **kw)


def level_line(ax, level: float, text: str, x: float = 0.02, ha: str = "left") -> None:
    """A horizontal guide at Delta chi^2 = ``level`` with its label just above it, inside the axes at axes
    fraction ``x``."""
    ax.axhline(level, **GUIDE)
    ax.text(x, level, text, transform=ax.get_yaxis_transform(), ha=ha, va="bottom", **GUIDE_TEXT)


def save(fig, base: Union[str, Path], exts: Sequence[str] = ("png", "pdf")) -> None:
    """Write ``base.<ext>`` for each extension (call inside :func:`figure_style`, so savefig settings apply).

    The figure's layout (constrained layout) is computed once, before the first file, and then switched
    off while the files are written: every format gets the same positions, and each file costs one draw
    (``savefig`` with a layout engine draws the figure twice: once, without output, for the layout).  Each file
    is marked as cevns's in its metadata (:func:`cevns.outputs.figure_metadata`)."""
    import matplotlib

    from ._files import write_atomically
    from .outputs import figure_metadata

    def write(ext: str) -> None:  # through a temporary file and a rename (never half a figure under its name)
        name = f"{base}.{ext}"
        write_atomically(name, lambda tmp: fig.savefig(tmp, format=ext, metadata=figure_metadata(name)))

    engine = fig.get_layout_engine()
    if engine is None:
        for ext in exts:
            write(ext)
        return
    engine.execute(fig)  # what savefig's first, silent draw would do (figure.dpi = savefig.dpi here)
    # no engine while saving (savefig puts back "no engine" as the rc default, hence the rc_context)
    with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        try:
            fig.set_layout_engine(None)
            for ext in exts:
                write(ext)
        finally:
            fig.set_layout_engine(engine)


def bar_axis(ax, xscale: str, ends, symbol: str, labelsize: float = 6.5, major: Optional[float] = None) -> str:
    """The value axis of a horizontal bar chart of intervals (bar ends ``ends``) on a linear, log or symlog
    ``xscale``, every bar inside the frame; returns the note a symlog axis's title should carry ("" otherwise)."""
    if xscale == "symlog":  # every bar inside the frame; the linear band shaded and explained
        note = f"; {symbol} axis: " + symlog_axis(ax, max(abs(x) for x in ends))
        ax.tick_params(axis="x", labelsize=labelsize)
        return note
    if xscale == "log":
        ax.set_xscale("log")
        ax.set_xlim(0.5 * min(x for x in ends if x > 0), 2.0 * max(ends))  # no bar ends on the frame
        return ""
    if major is not None:
        from matplotlib.ticker import MultipleLocator

        ax.xaxis.set_major_locator(MultipleLocator(major))
    pad = 0.06 * (max(ends) - min(ends))
    ax.set_xlim(min(ends) - pad, max(ends) + pad)
    return ""


def symlog_axis(ax, reach: float, linthresh: float = 1.0) -> str:
    """A symmetric-log x axis out to beyond +-``reach`` (every bar inside the frame): linear within +-``linthresh``,
    that band shaded light grey, ticks at 0, +-``linthresh`` and at most two further signed powers of ten a side;
    returns the note an axis label should carry, so a reader knows what the band means."""
    import numpy as np

    ax.set_xscale("symlog", linthresh=linthresh)
    top = max(int(np.ceil(np.log10(max(reach / linthresh, 1.0)) + 0.05)), 1)
    step = top if top <= 3 else int(np.ceil(top / 2))  # at most three signed ticks a side: labels never collide
    powers = sorted(set(range(0, top + 1, step)) | {top})
    lim = linthresh * 10.0 ** (top + 0.35)
    ax.set_xlim(-lim, lim)
    ticks = [-linthresh * 10.0 ** k for k in reversed(powers)] + [0.0] + [linthresh * 10.0 ** k for k in powers]
    exps = [int(round(np.log10(abs(t)))) if t else None for t in ticks]
    names = [("$-" if t < 0 else "$") + ("0" if e is None else "1" if e == 0 else f"10^{{{e}}}") + "$"
             for t, e in zip(ticks, exps)]
    ax.set_xticks(ticks, names)
    ax.set_xticks([], minor=True)
    ax.axvspan(-linthresh, linthresh, color="0.93", lw=0, zorder=0)
    return f"log scale beyond $\\pm${linthresh:g}, linear in the grey band"

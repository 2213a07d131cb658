"""Reports from templates: markdown rendered with Jinja2 from ``cevns/templates/*.md.j2``, and its HTML page with
Python-Markdown (tables, every text escaped).  Both libraries are imported here only, when a study writes its
report (``import cevns`` stays light)."""

from __future__ import annotations

import html as _html
import math
from typing import Any, Iterable, Sequence, Tuple

from scipy.special import chdtrc  # chi^2 survival function (p-value), as scipy.stats.chi2.sf


def _g(v: Any) -> str:
    return f"{v:g}"


def input_text(v: Any) -> str:
    """A changed input's value as the paper report writes it."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return "(none)" if v is None else str(v)


def _intervals(ivs: Iterable[Sequence[float]], scale: float, fmt: str = ".3g") -> str:
    """[[a, b], ...] divided by ``scale``: '[a, b] U [c, d]'."""
    return " U ".join(f"[{a / scale:{fmt}}, {b / scale:{fmt}}]" for a, b in ivs)


def _limit(v: Any, scale: float) -> str:
    """A limit of the global study: its 90% intervals over ``scale``, or 'not seen' (None: the data set does not
    depend on the parameter)."""
    return "not seen" if v is None else _intervals(v["90%"], scale)


def _extent(e: Any, scale: float, edges: Any = None) -> str:
    """[lo, hi] of a region over ``scale``; an end on the grid's edge (``edges`` = (first, last) grid value) is written
    as "<= lo" / ">= hi": the region reaches beyond the grid there, and the number is the grid's, not a limit."""
    if not e:
        return "empty"
    lo, hi = f"{e[0] / scale:.3g}", f"{e[1] / scale:.3g}"
    if edges is not None:
        tol = 1e-9 * (edges[1] - edges[0])
        lo = f"<= {lo}" if abs(e[0] - edges[0]) <= tol else lo
        hi = f">= {hi}" if abs(e[1] - edges[1]) <= tol else hi
    return f"[{lo}, {hi}]"


def _label(key: str, results: Any) -> str:
    return results["labels"][key]


def _p_value(chi2_min: float, ndof: int) -> float:
    return float(chdtrc(ndof, chi2_min))


def with_errors(value: float, plus: float, minus: float) -> str:
    """'0.2383 +0.0011 -0.0011': two significant digits on the smaller error."""
    small = min(e for e in (plus, minus, 1.0) if e > 0)
    dec = max(3, 1 - int(math.floor(math.log10(small))))
    return f"{value:.{dec}f} +{plus:.{dec}f} -{minus:.{dec}f}"


def render(template: str, **context: Any) -> str:
    """The markdown of ``templates/<template>`` with ``context``; an undefined name is an error, not blank text."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("cevns", "templates"), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.filters.update(g=_g, input_text=input_text, intervals=_intervals, p_value=_p_value, with_errors=with_errors,
                       limit=_limit, extent=_extent, label=_label)
    return env.get_template(template).render(**context)


def html_page(md: str, figures: Tuple[str, ...] = (), title: str = "cevns report") -> str:
    """The markdown report as an HTML page (Python-Markdown with tables; raw HTML in the text escaped), with the
    ``figures`` (PNG names) below it."""
    import markdown

    class _Escape(markdown.extensions.Extension):
        def extendMarkdown(self, md_: Any) -> None:  # noqa: N802 (the library's name)
            md_.preprocessors.deregister("html_block")
            md_.inlinePatterns.deregister("html")
            md_.inlinePatterns.deregister("entity")

    body = markdown.markdown(md, extensions=["tables", _Escape()], output_format="html")
    figs = "".join(f"<p><img src='{_html.escape(n)}.png' width='600' alt='{_html.escape(n)}'></p>" for n in figures)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>" + _html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #aaa;padding:.2em .6em}</style></head><body>\n" + body + "\n" + figs
            + "\n</body></html>\n")

"""The published numbers the studies compare with, in one place: the reference paper's results and statements and
the other experiments' limits its tables quote (data files in ``cevns/data``, each with its citation).

A leaf module (it imports no other module of the package), so that the studies, their reports
and their figures can all read it without importing one another.
"""

from __future__ import annotations

import csv
import sys
from importlib import resources
from typing import Any, Dict, List

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _toml(name: str) -> Dict[str, Any]:
    return tomllib.loads(resources.files("cevns.data").joinpath(name).read_text())


def paper_results() -> Dict[str, Any]:
    """The reference paper's quoted results (``data/paper_results_2025.toml``): sin2w, the EM limits per channel
    and the SM prediction, in the parameters' units."""
    return _toml("paper_results_2025.toml")


def paper_statements_text() -> str:
    """The reference paper's statements in words that the paper study tests (``data/paper_statements_2025.toml``)."""
    return resources.files("cevns.data").joinpath("paper_statements_2025.toml").read_text()


def other_experiments() -> List[Dict[str, Any]]:
    """Other experiments' 90% C.L. limits on mu_nu, q and <r^2>, as quoted in the reference paper's
    Tables 1-3 (``data/other_experiments_2025.csv``; comparison only).  ``lo`` is None for a limit on |x|;
    values in mu_B, e, cm^2."""
    out = []
    text = resources.files("cevns.data").joinpath("other_experiments_2025.csv").read_text()
    for r in csv.DictReader(ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")):
        sc = float(r["scale"])
        out.append({"quantity": r["quantity"], "experiment": r["experiment"],
                    "lo": float(r["lo"]) * sc if r["kind"] == "interval" else None, "hi": float(r["hi"]) * sc,
                    "unit": r["unit"], "ref": r["paper_ref"]})
    return out

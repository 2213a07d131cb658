"""Did the minimisations converge?  Bookkeeping shared by every minimiser of the package.

Each minimiser (the damped Newton profile of the Poisson nuisances, the vectorised marginaliser, the
continuation along a scan, the one-dimensional searches for the best fit and the interval edges, the simplex
polish of a contour) reports a failure to converge with :func:`failed`; an analysis that wants to know
(:func:`cevns.analysis.fit`, ``contour``, ``exclusion``) runs inside :func:`watch` and reads the record.
Outside any :func:`watch` a report costs nothing and goes nowhere.  Records nest: a failure inside an inner
watch is also one of every enclosing watch.  No numpy here (imported by the light modules).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Dict, Iterator, Optional


class Record:
    """The failures to converge seen while it was active: what failed -> how many times (points)."""

    def __init__(self, parent: Optional["Record"] = None):
        self.parent = parent
        self.failures: Dict[str, int] = {}

    def note(self, what: str, n: int = 1) -> None:
        self.failures[what] = self.failures.get(what, 0) + int(n)

    @property
    def converged(self) -> bool:
        """True if no minimisation reported a failure."""
        return not self.failures

    @property
    def reason(self) -> str:
        """One short line: empty if converged, else what did not converge and how often."""
        return "; ".join(f"{what} ({n} point{'s' if n != 1 else ''})" for what, n in self.failures.items())


_ACTIVE: ContextVar[Optional[Record]] = ContextVar("cevns_convergence", default=None)


@contextlib.contextmanager
def watch(detached: bool = False) -> Iterator[Record]:
    """Collect the convergence failures of the minimisations run inside (enclosing watches see them too,
    unless ``detached``: for searches whose results are recomputed afterwards, e.g. the scan range)."""
    rec = Record(None if detached else _ACTIVE.get())
    token = _ACTIVE.set(rec)
    try:
        yield rec
    finally:
        _ACTIVE.reset(token)


def failed(what: str, n: int = 1) -> None:
    """Report that ``n`` points of a minimisation ``what`` did not converge (a no-op outside :func:`watch`)."""
    if n <= 0:
        return
    rec = _ACTIVE.get()
    while rec is not None:
        rec.note(what, n)
        rec = rec.parent

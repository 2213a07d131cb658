"""BLAS threads inside the package's analyses (internal).

The analyses are many small matrix products (tens of bins x hundreds of nodes, 64-point blocks of the
Poisson profile); OpenBLAS spreads products above a size threshold over threads, which on a busy machine
costs far more than it gains (docs/performance.md gives the measurements).  So every analysis
call (load, fit, limit, exclusion, contour, the studies) runs with ``CEVNS_BLAS_THREADS`` BLAS threads
(default 1), restored on return; threadpoolctl does it, and without it nothing changes.  Nested calls
(a study calling fits calling limits) set the limit once, at the outermost call, and the libraries found are
kept until a new module is imported (threadpoolctl's look-up is not free: docs/performance.md).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def blas_threads():
    """Context limiting BLAS to ``CEVNS_BLAS_THREADS`` threads (default 1; 0 or "all" leaves them alone)."""
    n = os.environ.get("CEVNS_BLAS_THREADS", "1").strip().lower()
    if n in ("0", "all", ""):
        return contextlib.nullcontext()
    try:
        limit = max(1, int(n))
    except ValueError:
        limit = 1
    ctl = _controller()
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=limit, user_api="blas")


_STATE = threading.local()
_CTL: dict = {"modules": -1, "controller": None}
_CTL_LOCK = threading.Lock()


def _controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, kept while no module has been imported since (a new
    native library comes with a new module: scipy's own OpenBLAS with scipy.linalg); looking them up reads
    /proc/self/maps, ~1-3 ms, which was 5% of the paper's 14 limits.  None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        return None
    with _CTL_LOCK:
        n = len(sys.modules)
        if _CTL["controller"] is None or _CTL["modules"] != n:
            _CTL["controller"], _CTL["modules"] = ThreadpoolController(), n
        return _CTL["controller"]


def limited(fn: F) -> F:
    """Decorator: run ``fn`` inside :func:`blas_threads` (once per thread: a nested call runs as it is)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        if getattr(_STATE, "depth", 0):
            return fn(*args, **kw)
        _STATE.depth = 1
        try:
            with blas_threads():
                return fn(*args, **kw)
        finally:
            _STATE.depth = 0

    return wrapper  # type: ignore[return-value]

"""BLAS threads inside the package's analyses (internal).

The analyses are many small matrix products (tens of bins x hundreds of nodes, 64-point blocks of the
Poisson profile); OpenBLAS spreads products above a size threshold over threads, which on a busy machine
costs far more than it gains (measured on 2 cores at load ~3: a 100-mass exclusion 40-65 ms single-threaded
against 180-260 ms with two threads; 20,000 LAr Poisson profiles 0.66 s against 5 s).  So every analysis
call (load, fit, limit, exclusion, contour, the studies) runs with ``CEVNS_BLAS_THREADS`` BLAS threads
(default 1), restored on return; threadpoolctl does it, and without it nothing changes.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def blas_threads():
    """Context limiting BLAS to ``CEVNS_BLAS_THREADS`` threads (default 1; 0 or "all" leaves them alone)."""
    n = os.environ.get("CEVNS_BLAS_THREADS", "1").strip().lower()
    if n in ("0", "all", ""):
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    try:
        limit = max(1, int(n))
    except ValueError:
        limit = 1
    return threadpool_limits(limits=limit, user_api="blas")


def limited(fn: F) -> F:
    """Decorator: run ``fn`` inside :func:`blas_threads`."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kw: Any) -> Any:
        with blas_threads():
            return fn(*args, **kw)

    return wrapper  # type: ignore[return-value]

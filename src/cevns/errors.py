"""The one exception type of the package: bad input, named clearly."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: the command line imports this module to start
    import numpy as np


class CevnsInputError(ValueError):
    """Raised for any bad input; the message names the field and what was expected."""


class CevnsWarning(UserWarning):
    """An input that is valid but probably not what was meant (the CLI prints it as one line)."""


def check_finite(name: str, value: Any, unit: str = "") -> float:
    """Return ``value`` as a finite float, else raise naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CevnsInputError(f"{name} must be a number{(' in ' + unit) if unit else ''}, got {value!r}") from None
    if not math.isfinite(v):
        raise CevnsInputError(f"{name} must be finite, got {value!r}")
    return v


def check_real(name: str, value: Any, unit: str = "") -> float:
    """Return ``value`` as a finite float if it is a real number (int, float, numpy number; not a bool, a
    string or an array), else raise naming ``name``: the strict check of a parameter given from Python."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CevnsInputError(f"{name} must be a real number{(' in ' + unit) if unit else ''}, got {value!r} "
                              f"(type {type(value).__name__})")
    return check_finite(name, value, unit)


def check_positive(name: str, value: Any, *, allow_zero: bool = False, unit: str = "") -> float:
    """Return ``value`` as float if finite and > 0 (>= 0 with allow_zero), else raise."""
    v = check_finite(name, value, unit)
    if v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise CevnsInputError(f"{name} must be {bound}{(' ' + unit) if unit else ''}, got {v:g}")
    return v


def check_energies(name: str, values: Any, unit: str = "MeV") -> np.ndarray:
    """Array of strictly positive, finite energies, else a clear error."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise CevnsInputError(f"{name} must be finite ({unit}); got NaN or inf")
    if np.any(arr <= 0):
        raise CevnsInputError(f"{name} must be > 0 {unit}; got minimum {arr.min():g}")
    return arr

"""Polynomials in model parameters with array coefficients (internal).

Every rate of the paper is a polynomial in its couplings at fixed mediator mass
(docs/physics.md, "Cross sections"): writing the cross sections with :class:`Poly` variables
instead of numbers turns the same formula into its polynomial basis, so the
response matrices are applied once per monomial and a model evaluation is a
dot product.  Coefficients may be floats or numpy arrays (over recoil nodes).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

import numpy as np

Monomial = Tuple[Tuple[str, int], ...]  # sorted ((name, power), ...)


def _mul_mono(a: Monomial, b: Monomial) -> Monomial:
    powers: Dict[str, int] = dict(a)
    for name, p in b:
        powers[name] = powers.get(name, 0) + p
    return tuple(sorted(powers.items()))


class Poly:
    """A polynomial sum_m c_m * prod(var**p) with float/array coefficients."""

    __array_ufunc__ = None  # make numpy defer to our reflected operators

    def __init__(self, terms: Mapping[Monomial, Any] | None = None):
        self.terms: Dict[Monomial, Any] = dict(terms or {})

    @classmethod
    def var(cls, name: str) -> "Poly":
        return cls({((name, 1),): 1.0})

    @staticmethod
    def lift(x: Any) -> "Poly":
        return x if isinstance(x, Poly) else Poly({(): x})

    def __add__(self, other: Any) -> "Poly":
        o = Poly.lift(other)
        out = dict(self.terms)
        for m, c in o.terms.items():
            out[m] = out[m] + c if m in out else c
        return Poly(out)

    __radd__ = __add__

    def __neg__(self) -> "Poly":
        return Poly({m: -c for m, c in self.terms.items()})

    def __sub__(self, other: Any) -> "Poly":
        return self + (-Poly.lift(other))

    def __rsub__(self, other: Any) -> "Poly":
        return Poly.lift(other) - self

    def __mul__(self, other: Any) -> "Poly":
        o = Poly.lift(other)
        out: Dict[Monomial, Any] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                m = _mul_mono(m1, m2)
                c = c1 * c2
                out[m] = out[m] + c if m in out else c
        return Poly(out)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "Poly":
        if isinstance(other, Poly):
            raise TypeError("division by a polynomial is not a polynomial")
        return Poly({m: c / other for m, c in self.terms.items()})

    def __pow__(self, n: int) -> "Poly":
        if not isinstance(n, int) or n < 0:
            raise ValueError("only non-negative integer powers of a Poly")
        out = Poly({(): 1.0})
        for _ in range(n):
            out = out * self
        return out


def evaluate(x: Any, values: Mapping[str, float]) -> Any:
    """Value of a Poly (or a plain number/array) at the given parameter values."""
    if not isinstance(x, Poly):
        return x
    total: Any = 0.0
    for m, c in x.terms.items():
        w = 1.0
        for name, p in m:
            w *= values[name] ** p
        total = total + w * c
    return total


def monomial_gradient(monomials, names, point: np.ndarray, wrt) -> np.ndarray:
    """d(monomial)/d(parameter) at one point: shape (len(wrt), n_monomials)."""
    idx = {n: i for i, n in enumerate(names)}
    out = np.zeros((len(wrt), len(monomials)))
    for a, k in enumerate(wrt):
        for j, m in enumerate(monomials):
            d = dict(m)
            if k not in d:
                continue
            v = d[k] * point[idx[k]] ** (d[k] - 1)
            for name, pw in m:
                if name != k:
                    v *= point[idx[name]] ** pw
            out[a, j] = v
    return out


def monomial_matrix(monomials, names, points: np.ndarray) -> np.ndarray:
    """Values of each monomial at many parameter points.

    ``points`` has shape (n_points, len(names)); returns (n_points, n_monomials).
    """
    idx = {n: i for i, n in enumerate(names)}
    out = np.ones((points.shape[0], len(monomials)))
    for j, m in enumerate(monomials):
        for name, p in m:
            out[:, j] *= points[:, idx[name]] ** p
    return out

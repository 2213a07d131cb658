"""Statistics that know nothing about neutrinos: chi^2 with a normalisation nuisance (eq. 20),
profiles, intervals and confidence levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize
from scipy.special import chdtr, chdtrc, gammainccinv, gammaincinv

from .convergence import failed
from .errors import CevnsInputError, check_positive
from .statistic import Statistic, kind_of


@dataclass(frozen=True)
class ConfidenceLevel:
    """A confidence level: its ``probability`` in (0, 1) and the ``label`` it is shown with ("90%", "1sigma")."""

    probability: float
    label: str
    #: 1 - probability where it is known more precisely than the difference (levels in sigma)
    tail: Optional[float] = None

    def delta_chi2(self, dof: int = 1) -> float:
        """The Delta chi^2 threshold of this level for ``dof`` degrees of freedom (the chi^2 quantile)."""
        if self.tail is not None and self.tail < 1e-6:  # far out (5sigma and beyond): from the tail, not 1 - tail
            return float(2.0 * gammainccinv(0.5 * dof, self.tail))
        # the chi^2 quantile exactly as scipy.stats.chi2.ppf computes it (chdtri(dof, 1 - cl) differs by ~1e-14)
        return float(2.0 * gammaincinv(0.5 * dof, self.probability))

    def to_dict(self, dof: int = 1) -> Dict[str, Any]:
        """JSON-ready: label, probability, dof and delta_chi2."""
        return {"label": self.label, "probability": self.probability, "dof": int(dof),
                "delta_chi2": self.delta_chi2(dof)}


_CL_HINT = "write it as 0.9, 90%, 1sigma or 2.5sigma"


def parse_cl(cl: Any) -> ConfidenceLevel:
    """The one parser of confidence levels (every command and function): a probability 0 < p < 1 (0.9 or
    "0.9"), a percentage ("90%"), or a number of standard deviations of a Gaussian ("1sigma", "2.5sigma":
    the two-sided probability erf(n / sqrt 2)).  Anything else -- 0, 1, "150%", "-1sigma", "nan", "90" -- is a
    :class:`CevnsInputError` with one line."""
    if isinstance(cl, ConfidenceLevel):
        return cl
    if isinstance(cl, bool) or not isinstance(cl, (str, int, float, np.integer, np.floating)):
        raise CevnsInputError(f"confidence level must be a number or text like '90%' or '1sigma', got {cl!r}")
    if isinstance(cl, str):
        s = cl.strip().lower().replace(" ", "")

        def number(text: str) -> float:
            try:
                return float(text)
            except ValueError:
                raise CevnsInputError(f"confidence level {cl!r} not understood: {_CL_HINT}") from None

        if s.endswith("sigma"):
            n = number(s[:-5])
            if not (math.isfinite(n) and n > 0):
                raise CevnsInputError(f"confidence level in sigma must be a positive number of sigma, got {cl!r}")
            p = float(chdtr(1, n * n))  # P(|z| < n sigma) = erf(n / sqrt 2), the chi^2_1 cdf at n^2
            if not p < 1.0:
                raise CevnsInputError(f"confidence level {cl!r} is too close to 1 to compute (at most about 8sigma)")
            return ConfidenceLevel(p, f"{n:.10g}sigma", float(chdtrc(1, n * n)))
        if s.endswith("%"):
            pct = number(s[:-1])
            if not (math.isfinite(pct) and 0.0 < pct < 100.0):
                raise CevnsInputError(f"confidence level in percent must be strictly between 0% and 100%, got {cl!r}")
            return ConfidenceLevel(pct / 100.0, _percent(pct))
        value = number(s)
    else:
        value = float(cl)
    if math.isfinite(value) and 0.0 < value < 1e-3:
        raise CevnsInputError(f"confidence level {cl!r} is below 0.1%: no interval means anything there; " + _CL_HINT)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        hint = ""
        if math.isfinite(value) and 1.0 < value < 100.0:  # a percentage or a number of sigma without its unit
            hint = (f" (for a percentage write {value:g}%" + (f", for standard deviations {value:g}sigma" if value <= 8
                                                                else "") + ")")
        raise CevnsInputError(f"confidence level must be a probability strictly between 0 and 1, got {cl!r}{hint}; "
                              + _CL_HINT)
    return ConfidenceLevel(value, _percent(100 * value))


def _percent(pct: float) -> str:
    """'90%': six significant digits (the keys of results), more where six would read as 0% or 100%."""
    text = f"{pct:g}%"
    return f"{pct:.12g}%" if text in ("0%", "100%") else text


def delta_chi2_level(cl: Any, dof: int = 1) -> float:
    """Delta chi^2 threshold for a confidence level (0.9, "90%", "1sigma", "2sigma"; :func:`parse_cl`) and dof.

    "1sigma" with dof = 1 gives exactly 1.0; 0.90 with dof = 1 gives 2.7055.
    """
    return parse_cl(cl).delta_chi2(dof)


def p_value(chi2_min: float, ndof: int) -> float:
    """Goodness of fit: the probability of a chi^2 at least ``chi2_min`` for ``ndof`` degrees of freedom
    (scipy.special.chdtrc; NaN if ndof < 1 or chi2_min is not finite)."""
    if ndof < 1 or not math.isfinite(chi2_min):
        return float("nan")
    return float(chdtrc(ndof, max(chi2_min, 0.0)))


@dataclass
class GaussianPart:
    """Eq. 20 on the bins ``idx``: chi^2 = sum ((1 + alpha) r - d)^2 / s^2 + (alpha / sigma_alpha)^2, alpha
    minimised analytically (closed form, vectorised over toys x predictions).  Toys: d ~ N(r (1 + alpha), s)
    with alpha ~ N(0, sigma_alpha) (the constraint of the nuisance)."""

    idx: np.ndarray
    sigma: np.ndarray
    sigma_alpha: float
    kind: str = "gaussian"

    def generate(self, rng: np.random.Generator, signal: np.ndarray, n: int) -> np.ndarray:
        alpha = rng.normal(0.0, 1.0, n) * self.sigma_alpha
        return signal[None, :] * (1.0 + alpha[:, None]) + rng.normal(0.0, 1.0, (n, signal.size)) * self.sigma

    def q(self, data: np.ndarray, pred: np.ndarray, theta0: Any = None) -> Tuple[np.ndarray, Any]:
        """chi^2 (alpha minimised) for toys ``data`` (T, n) and predictions ``pred`` (T, M, n) -> (T, M)."""
        w = 1.0 / self.sigma**2
        pw = pred * w
        A = np.einsum("tmn,tmn->tm", pw, pred)
        X = np.einsum("tmn,tn->tm", pw, data)
        C = np.einsum("tn,tn->t", data * w, data)[:, None]
        if self.sigma_alpha > 0:
            L = 1.0 / self.sigma_alpha**2
            return C + L - (X + L) ** 2 / (A + L), None
        return C - 2.0 * X + A, None


@dataclass(frozen=True)
class Chi2(Statistic):
    """chi^2 of eq. 20 with the normalisation nuisance alpha minimised analytically.

    chi2(alpha) = sum_i [((1 + alpha) r_i - d_i) / s_i]^2 + (alpha / sigma_alpha)^2 is quadratic in
    alpha, so alpha* = sum r (d - r)/s^2 / (sum r^2/s^2 + 1/sigma_alpha^2).  ``sigma_alpha = 0``
    fixes alpha = 0.  Works on one prediction (n_bins,) or many (n_points, n_bins).
    """

    data: np.ndarray
    sigma: np.ndarray
    sigma_alpha: float = 0.20
    _w: np.ndarray = field(init=False, repr=False, compare=False)  # weights 1/sigma^2
    name = "chi2"

    def __post_init__(self):
        d = np.asarray(self.data, dtype=float)
        s = np.asarray(self.sigma, dtype=float)
        if d.shape != s.shape or d.ndim != 1 or d.size == 0:
            raise CevnsInputError("data and sigma must be 1-d arrays of the same, non-zero length")
        if not np.all(np.isfinite(d)) or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise CevnsInputError("data must be finite and every sigma > 0")
        check_positive("sigma_alpha", self.sigma_alpha, allow_zero=True)
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            w = 1.0 / s**2
        if not np.all(np.isfinite(w)):
            raise CevnsInputError(f"a sigma of {s.min():.3g} events is too small (its 1/sigma^2 overflows)")
        if np.max(np.abs(d) * np.sqrt(w)) > 1e100:
            raise CevnsInputError(f"data of {np.max(np.abs(d)):.3g} events with sigma {s.min():.3g}: implausibly many "
                                  "sigmas (the chi^2 would overflow)")
        if self.sigma_alpha != 0 and not 1e-100 <= self.sigma_alpha <= 1e100:
            raise CevnsInputError(f"sigma_alpha must be 0 (no normalisation nuisance) or in [1e-100, 1e100], "
                                  f"got {self.sigma_alpha:g}")
        object.__setattr__(self, "data", d)
        object.__setattr__(self, "sigma", s)
        object.__setattr__(self, "_w", w)

    def alpha_hat(self, pred) -> np.ndarray:
        """Analytic minimum alpha* of eq. 20 for prediction(s) ``pred`` [events per bin]."""
        r = np.asarray(pred, dtype=float)
        if self.sigma_alpha == 0:
            return np.zeros(r.shape[:-1])
        w = 1.0 / self.sigma**2
        return (r * (self.data - r) * w).sum(-1) / ((r * r * w).sum(-1) + 1.0 / self.sigma_alpha**2)

    def chi2_at(self, pred, alpha) -> np.ndarray:
        """Eq. 20 at a given alpha (no minimisation)."""
        r = np.asarray(pred, dtype=float)
        a = np.asarray(alpha, dtype=float)
        res = ((1.0 + a[..., None]) * r - self.data) / self.sigma
        pen = (a / self.sigma_alpha) ** 2 if self.sigma_alpha > 0 else 0.0 * a
        return (res * res).sum(-1) + pen

    def __call__(self, pred) -> np.ndarray:
        """Minimum over alpha of eq. 20 for the prediction(s) ``pred``.

        The same as ``chi2_at(pred, alpha_hat(pred))``, with the sums written as products with the
        weights 1/sigma^2 (the inner loop of every fit: fewer temporary arrays)."""
        r = np.asarray(pred, dtype=float)
        if self.sigma_alpha == 0:
            res = r - self.data
            return (res * res) @ self._w
        rw = r * self._w
        rr = np.einsum("...i,...i->...", rw, r)
        a = (rw @ self.data - rr) / (rr + 1.0 / self.sigma_alpha**2)
        res = (1.0 + a)[..., None] * r - self.data
        return (res * res) @ self._w + (a / self.sigma_alpha) ** 2

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d chi^2_min / d pred_i for one prediction (envelope theorem: alpha held at alpha*)."""
        r = np.asarray(pred, dtype=float)
        a = float(self.alpha_hat(r))
        return 2.0 * ((1.0 + a) * r - self.data) * (1.0 + a) / self.sigma**2

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        """Eq. 20 for toys: data ~ N(r (1 + alpha), sigma), alpha ~ N(0, sigma_alpha)."""
        return [GaussianPart(np.asarray(idx), np.asarray(self.sigma, dtype=float), float(self.sigma_alpha))]

    def __add__(self, other: Statistic) -> Statistic:
        """chi^2 + chi^2: a :class:`JointChi2` (each part keeps its own normalisation)."""
        if isinstance(other, (Chi2, JointChi2)):
            return JointChi2([self, *getattr(other, "parts", [other])])
        return super().__add__(other)


class JointChi2(Statistic):
    """Sum of several experiments' statistics (eq. 20 each with its own normalisation nuisance, or Poisson parts
    with nothing shared), acting on their predictions concatenated bin by bin -- "cost functions that add"."""

    def __init__(self, parts: Sequence[Statistic]):
        if len(parts) < 2:
            raise CevnsInputError("a joint chi^2 needs at least two parts")
        self.parts = tuple(parts)
        self.name = kind_of([c.name for c in self.parts])
        edges = np.cumsum([0] + [c.data.size for c in self.parts])
        self.slices = [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        self.data = np.concatenate([c.data for c in self.parts])
        self.sigma = np.concatenate([c.sigma for c in self.parts])

    def alpha_hat(self, pred) -> np.ndarray:
        """The normalisation nuisance of each part, stacked on the last axis (0 for a part without one)."""
        r = np.asarray(pred, dtype=float)
        return np.stack([c.alpha_hat(r[..., sl]) if isinstance(c, Chi2) else np.zeros(r.shape[:-1])
                         for c, sl in zip(self.parts, self.slices)], -1)

    def __call__(self, pred) -> np.ndarray:
        """Sum of the parts' minimum chi^2 for the concatenated prediction(s) ``pred``."""
        r = np.asarray(pred, dtype=float)
        return np.sum([c(r[..., sl]) for c, sl in zip(self.parts, self.slices)], axis=0)

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d chi^2_min / d pred_i, the parts' gradients concatenated."""
        r = np.asarray(pred, dtype=float)
        return np.concatenate([c.gradient(r[sl]) for c, sl in zip(self.parts, self.slices)])

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        return [p for c, sl in zip(self.parts, self.slices) for p in c.toy_parts(idx[sl])]

    def leaves(self) -> Optional[List[Tuple[Statistic, Any]]]:
        return list(zip(self.parts, self.slices))


def find_intervals(f: Callable[[float], float], grid: Any, level: float,
                   values: Any = None, f_slope: Optional[Callable[[float], Tuple[float, float]]] = None) -> List[List[float]]:
    """Connected regions where f(x) <= level, located on ``grid`` and refined by root finding: Brent's
    method, or with ``f_slope`` (x -> (f(x), f'(x))) Newton's, kept inside the bracket.

    A region touching an end of the grid is closed there (that end is a boundary of the scan,
    e.g. a physical one).  Disjoint regions are returned as separate [lo, hi] pairs.
    """
    x = np.asarray(grid, dtype=float)
    y = np.asarray(values if values is not None else [f(v) for v in x], dtype=float) - level

    def root(i: int, j: int) -> float:
        if f_slope is None:
            return _root(f, level, x[i], x[j])
        return _root_newton(f_slope, level, x[i], x[j], y[i], y[j])

    return regions(x, y <= 0, root)


def regions(x: np.ndarray, inside: np.ndarray, crossing: Callable[[int, int], float]) -> List[List[float]]:
    """The connected runs of ``inside`` on the grid ``x`` as [lo, hi] pairs: an edge between grid points i
    and j is ``crossing(i, j)``; a run touching an end of the grid is closed there."""
    out: List[List[float]] = []
    i = 0
    while i < x.size:
        if not inside[i]:
            i += 1
            continue
        j = i
        while j + 1 < x.size and inside[j + 1]:
            j += 1
        lo = x[i] if i == 0 else crossing(i - 1, i)
        hi = x[j] if j == x.size - 1 else crossing(j, j + 1)
        out.append([float(lo), float(hi)])
        i = j + 1
    return out


def _root(f: Callable[[float], float], level: float, a: float, b: float) -> float:
    """Crossing of f = level in [a, b], to 1e-10 of the bracket width (scale-free).  Ends whose values no longer
    straddle the level (values evaluated again disagree with those the bracket was chosen from: a profile that did
    not converge) are reported as a convergence failure, and the end nearer the level returned."""
    try:
        x, r = optimize.brentq(lambda t: f(t) - level, a, b, xtol=1e-10 * abs(b - a), rtol=1e-12, full_output=True,
                               disp=False)
    except ValueError:
        fa, fb = f(a) - level, f(b) - level
        failed(f"interval edge (Brent: no sign change between the bracket's ends, {fa:.3g} and {fb:.3g})")
        return float(a if abs(fa) <= abs(fb) else b)
    if not r.converged:
        failed(f"interval edge (Brent: {r.flag})")
    return float(x)


def _root_newton(f_slope: Callable[[float], Tuple[float, float]], level: float, a: float, b: float,
                 ya: float, yb: float) -> float:
    """Crossing of f = level in [a, b] (f(a) - level = ``ya`` and f(b) - level = ``yb`` of opposite signs) by
    Newton steps from the secant point, bisecting whenever a step would leave the shrinking bracket; to 1e-10
    of the bracket width, like :func:`_root`."""
    tol = 1e-10 * abs(b - a)
    x = a + (b - a) * ya / (ya - yb) if ya != yb else 0.5 * (a + b)
    for _ in range(100):
        v, s = f_slope(x)
        r = v - level
        if r == 0.0:
            return float(x)
        if (r < 0) == (ya < 0):
            a, ya = x, r
        else:
            b, yb = x, r
        xn = x - r / s if s != 0 and np.isfinite(s) else 0.5 * (a + b)
        if not (min(a, b) < xn < max(a, b)):
            xn = 0.5 * (a + b)
        if abs(xn - x) <= tol or abs(b - a) <= tol:
            return float(xn)
        x = xn
    failed("interval edge (Newton with bisection, 100 steps)")
    return float(x)


def levels_dict(levels: Sequence[Any]) -> Dict[str, float]:
    """{label: Delta chi^2 for 1 dof} of confidence levels (:func:`parse_cl`); a level given twice is refused."""
    out: Dict[str, float] = {}
    seen: Dict[str, float] = {}
    for lv in levels:
        c = parse_cl(lv)
        label = c.label
        if label in seen:
            if seen[label] == c.probability:
                raise CevnsInputError(f"confidence level {label} given twice")
            label = f"{100 * c.probability:.12g}%"  # two levels that round alike: the label with every digit
        seen[label] = c.probability
        out[label] = c.delta_chi2(1)
    return out

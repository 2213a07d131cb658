"""Pseudo-experiments and their test statistics, a batch of toys at a time (matrix operations, no loop per toy).

A :class:`ToyProblem` holds what one-parameter toys need, as plain arrays (so it pickles to Dask workers):
the signal as a polynomial in the parameter (``signal(x)``: rate per bin), the parts of the statistic
(:class:`GaussianPart` for an eq. 20 chi^2 with its analytic normalisation nuisance, :class:`PoissonPart`
for a binned Poisson likelihood with linear, Gaussian-constrained nuisances) and the observed data.

For a toy data set n the statistic is the experiment's own: q(x; n) = chi^2 (alpha minimised) or
-2 ln lambda (nuisances profiled).  ``t = q(x_true; n) - min_x q(x; n)`` over the allowed range of x
(the physical boundary, e.g. mu_nu >= 0, respected: the Feldman-Cousins likelihood-ratio ordering).
The minimum over x: a coarse grid, then golden-section steps in the bracket of the best grid point,
vectorised over toys (each step one statistic evaluation per toy).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._poly import monomial_matrix
from .poisson import PoissonPart  # noqa: F401  (the toy parts of the statistics, re-exported)
from .stats import GaussianPart  # noqa: F401

_TINY = 1e-12
_GOLD = 0.5 * (np.sqrt(5.0) - 1.0)


@dataclass
class ToyProblem:
    """Everything a toy batch needs (plain arrays; pickles to Dask workers).

    ``signal(x)``: predicted signal per bin, a polynomial in the parameter (``monomials``, ``names``,
    ``B``, the other parameters at ``base``); ``lo``/``hi``: the range over which the statistic is
    minimised (the physical boundary where there is one); ``parts``: the statistic, part by part."""

    param: str
    unit: str
    monomials: List[Any]
    names: List[str]
    B: np.ndarray
    base: np.ndarray
    parts: List[Any]
    observed: np.ndarray
    lo: float
    hi: float
    n_coarse: int = 17
    n_golden: int = 14
    label: str = ""

    def signal(self, x: Any) -> np.ndarray:
        """Signal per bin at parameter values ``x`` (m,) -> (m, n_bins)."""
        x = np.atleast_1d(np.asarray(x, dtype=float))
        pts = np.tile(self.base, (x.size, 1))
        pts[:, self.names.index(self.param)] = x
        return monomial_matrix(self.monomials, self.names, pts) @ self.B

    @property
    def n_bins(self) -> int:
        return int(self.observed.size)

    def fingerprint(self) -> str:
        """A hash of every input that changes the toys or their statistic (the cache key's base)."""
        h = hashlib.sha256()
        h.update(repr((self.param, self.monomials, self.names, self.lo, self.hi, self.n_coarse, self.n_golden)).encode())
        for a in (self.B, self.base, self.observed):
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        for p in self.parts:
            h.update(p.kind.encode())
            for name in ("idx", "sigma", "bkg", "V", "F"):
                if hasattr(p, name):
                    h.update(np.ascontiguousarray(getattr(p, name)).tobytes())
            h.update(repr(getattr(p, "sigma_alpha", None)).encode())
        return h.hexdigest()

    def generate(self, rng: np.random.Generator, x_true: float, n: int) -> np.ndarray:
        """``n`` toy data sets (n, n_bins) at the true value ``x_true``."""
        s = self.signal([x_true])[0]
        out = np.empty((n, self.n_bins))
        for p in self.parts:
            out[:, p.idx] = p.generate(rng, s[p.idx], n)
        return out

    def q(self, data: np.ndarray, pred: np.ndarray, thetas: Optional[List[Any]] = None) -> Tuple[np.ndarray, List[Any]]:
        """The statistic of toys ``data`` (T, n) for predictions ``pred`` (T, M, n): (T, M) and the nuisances."""
        total = np.zeros(pred.shape[:2])
        out = []
        for i, p in enumerate(self.parts):
            v, th = p.q(data[:, p.idx], pred[:, :, p.idx], None if thetas is None else thetas[i])
            total += v
            out.append(th)
        return total, out

    def minimise(self, data: np.ndarray, start: Optional[List[Any]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """min over x in [lo, hi] of q(x; data) per toy: (q_min (T,), x_best (T,)); ``start``: nuisances (per part,
        as :meth:`q` returns them) to start the first grid value's profiles from (e.g. those at the true value)."""
        T = data.shape[0]
        xs = np.linspace(self.lo, self.hi, self.n_coarse)
        S = self.signal(xs)
        # the coarse grid one value at a time, each warm-started from the nuisances of the previous one
        qc = np.empty((T, xs.size))
        thetas: List[Any] = []
        warm: Optional[List[Any]] = start
        for i in range(xs.size):
            v, warm = self.q(data, np.broadcast_to(S[i], (T, 1, S.shape[1])), warm)
            qc[:, i] = v[:, 0]
            thetas.append(warm)
        k = np.argmin(qc, axis=1)
        rows = np.arange(T)
        qbest, xbest = qc[rows, k], xs[k]
        warm = [None if thetas[0][j] is None else np.stack([th[j][:, 0] for th in thetas], 1)[rows, k][:, None, :]
                for j in range(len(self.parts))]
        a, b = xs[np.maximum(k - 1, 0)], xs[np.minimum(k + 1, xs.size - 1)]

        def ev(x):
            v, _ = self.q(data, self.signal(x)[:, None, :], warm)
            return v[:, 0]

        c, e = b - _GOLD * (b - a), a + _GOLD * (b - a)
        fc, fe = ev(c), ev(e)
        for _ in range(self.n_golden):
            left = fc < fe  # the minimum is in [a, e]
            b = np.where(left, e, b)
            a = np.where(left, a, c)
            new_x = np.where(left, b - _GOLD * (b - a), a + _GOLD * (b - a))
            fn = ev(new_x)
            c, e, fc, fe = (np.where(left, new_x, e), np.where(left, c, new_x),
                            np.where(left, fn, fe), np.where(left, fc, fn))
            for xv, fv in ((c, fc), (e, fe)):
                better = fv < qbest
                qbest, xbest = np.where(better, fv, qbest), np.where(better, xv, xbest)
        # a last parabolic step through c, their midpoint and e (exact for a quadratic statistic)
        m = 0.5 * (c + e)
        fm = ev(m)
        h = 0.5 * (e - c)
        curv = fc - 2.0 * fm + fe
        with np.errstate(divide="ignore", invalid="ignore"):
            xp = np.where(curv > 0, m - 0.5 * h * (fe - fc) / curv, m)
        xp = np.clip(np.where(np.isfinite(xp), xp, m), a, b)
        fp = ev(xp)
        for xv, fv in ((m, fm), (xp, fp)):
            better = fv < qbest
            qbest, xbest = np.where(better, fv, qbest), np.where(better, xv, xbest)
        return qbest, xbest

    def t_statistic(self, data: np.ndarray, x_true: float) -> np.ndarray:
        """t = q(x_true) - min_x q(x) per toy (>= 0; the minimum includes x_true itself)."""
        s = self.signal([x_true])[0]
        qt, at_true = self.q(data, np.broadcast_to(s, (data.shape[0], 1, s.size)))
        qmin, _ = self.minimise(data, at_true)  # each toy's scan started from its nuisances at the true value
        return qt[:, 0] - np.minimum(qmin, qt[:, 0])


def toy_batch(problem: ToyProblem, x_true: float, seed: int, point: int, batch: int, n: int) -> np.ndarray:
    """The statistic t of ``n`` toys at ``x_true``; their random numbers come from the seed sequence
    (seed, spawn key (point, batch)), so a batch is the same whoever computes it and in whatever order."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point, batch)))
    try:  # one BLAS thread: a multi-threaded matrix product may sum in another order (last-digit differences)
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the parallel and test extras
        return problem.t_statistic(problem.generate(rng, x_true, n), x_true)
    with threadpool_limits(limits=1, user_api="blas"):
        return problem.t_statistic(problem.generate(rng, x_true, n), x_true)


def parts_of(statistic: Any, n_bins: int) -> List[Any]:
    """The toy parts of an experiment's statistic (``exp.chi2_function()``, a :class:`cevns.statistic.Statistic`):
    :class:`~cevns.stats.GaussianPart` and :class:`~cevns.poisson.PoissonPart` on their bins."""
    from .statistic import Statistic

    if not isinstance(statistic, Statistic):
        raise TypeError(f"no toys for a statistic of type {type(statistic).__name__}")
    return statistic.toy_parts(np.arange(n_bins))


def check_parts(parts: Sequence[Any], n_bins: int) -> None:
    seen = np.concatenate([p.idx for p in parts])
    if seen.size != n_bins or np.unique(seen).size != n_bins:
        raise ValueError("the parts of the statistic must cover every bin once")

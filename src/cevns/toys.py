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
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._poly import monomial_matrix
from .poisson import column_products, newton_profile

_TINY = 1e-12
_GOLD = 0.5 * (np.sqrt(5.0) - 1.0)


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


@dataclass
class PoissonPart:
    """-2 ln lambda of :class:`cevns.poisson.PoissonLikelihood` on the bins ``idx``, for toys x predictions:
    mu = s + b + s (V^T theta_s) + F^T theta_f, theta ~ N(0, 1), profiled by the likelihood's own Newton
    steps (:func:`cevns.poisson.newton_profile`) with the counts of each toy and warm starts.
    Toys: theta drawn from N(0, 1), expectation clipped at >= 0, counts Poisson."""

    idx: np.ndarray
    bkg: np.ndarray          #: (n,) total background
    V: np.ndarray            #: (k_s, n) signal columns (relative, multiply the signal)
    F: np.ndarray            #: (k_f, n) fixed columns (absolute)
    iterations: int = 30
    tol: float = 1e-9
    kind: str = "poisson"
    _G: Tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self):
        self._G = column_products(self.V, self.F)

    @classmethod
    def from_likelihood(cls, lk: Any, idx: np.ndarray) -> "PoissonPart":
        """From a :class:`~cevns.poisson.PoissonLikelihood`: its columns rebuilt from the public arrays (signal
        norm, signal shapes, background norms, background shapes, in the likelihood's order)."""
        n = lk.data.size
        V = ([np.full(n, lk.signal_sigma)] if lk.signal_sigma > 0 else []) + list(lk.signal_shapes)
        F = [s * b for s, b in zip(lk.background_sigmas, lk.backgrounds) if s > 0] + list(lk.background_shapes)
        if len(V) != lk.n_signal_cols or len(V) + len(F) != lk.n_nuisances:
            # a merged likelihood (PoissonLikelihood.combine: shared nuisances) keeps its columns only internally
            V, F = list(lk._V), list(lk._F)
        return cls(np.asarray(idx), np.asarray(lk.bkg_total, dtype=float), np.array(V).reshape(len(V), n),
                   np.array(F).reshape(len(F), n), int(lk.iterations), float(lk.tol))

    @property
    def k(self) -> int:
        return self.V.shape[0] + self.F.shape[0]

    def generate(self, rng: np.random.Generator, signal: np.ndarray, n: int) -> np.ndarray:
        ks = self.V.shape[0]
        theta = rng.normal(0.0, 1.0, (n, self.k))
        mu = signal[None, :] * (1.0 + theta[:, :ks] @ self.V) + self.bkg[None, :] + theta[:, ks:] @ self.F
        return rng.poisson(np.maximum(mu, 0.0)).astype(float)

    def _mu(self, s: np.ndarray, theta: np.ndarray) -> np.ndarray:
        ks = self.V.shape[0]
        return s * (1.0 + theta[:, :ks] @ self.V) + self.bkg + theta[:, ks:] @ self.F

    @staticmethod
    def _stat(mu, d, dlogd, theta) -> np.ndarray:
        m = np.maximum(mu, _TINY)
        return 2.0 * (m - d + dlogd - d * np.log(m)).sum(-1) + (theta * theta).sum(-1)

    def q(self, data: np.ndarray, pred: np.ndarray, theta0: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """-2 ln lambda for toys ``data`` (T, n) and predictions ``pred`` (T, M, n) -> (T, M), and theta* (T, M, k);
        ``theta0`` (T, M, k) a starting point (e.g. the nuisances of a neighbouring prediction)."""
        T, M, n = pred.shape
        s = pred.reshape(T * M, n)
        d = np.repeat(data, M, axis=0)
        theta = np.zeros((T * M, self.k)) if theta0 is None else np.array(theta0, dtype=float).reshape(T * M, self.k)
        out = np.empty(T * M)
        step = max(1, 2_000_000 // max(1, n * self.k))
        for a in range(0, T * M, step):
            sl = slice(a, a + step)
            out[sl], theta[sl] = self._profile(s[sl], d[sl], theta[sl])
        return out.reshape(T, M), theta.reshape(T, M, self.k)

    def _profile(self, s: np.ndarray, d: np.ndarray, theta: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        dlogd = np.where(d > 0, d * np.log(np.maximum(d, _TINY)), 0.0)
        f, th, _ = newton_profile(s, d, dlogd, self.bkg, self.V, self.F, self._G, theta, self.iterations, self.tol)
        return f, th


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

    def minimise(self, data: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """min over x in [lo, hi] of q(x; data) per toy: (q_min (T,), x_best (T,))."""
        T = data.shape[0]
        xs = np.linspace(self.lo, self.hi, self.n_coarse)
        S = self.signal(xs)
        # the coarse grid one value at a time, each warm-started from the nuisances of the previous one
        qc = np.empty((T, xs.size))
        thetas: List[Any] = []
        warm: Optional[List[Any]] = None
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
        qt, _ = self.q(data, np.broadcast_to(s, (data.shape[0], 1, s.size)))
        qmin, _ = self.minimise(data)
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
    """The toy parts of an experiment's statistic (``exp.chi2_function()``): a :class:`~cevns.stats.Chi2`, a
    :class:`~cevns.poisson.PoissonLikelihood`, or sums of them (``JointChi2``, a joint fit's grouped statistic)."""
    from .poisson import PoissonLikelihood
    from .stats import Chi2, JointChi2

    def one(st, idx):
        if isinstance(st, Chi2):
            return [GaussianPart(idx, np.asarray(st.sigma, dtype=float), float(st.sigma_alpha))]
        if isinstance(st, PoissonLikelihood):
            return [PoissonPart.from_likelihood(st, idx)]
        if isinstance(st, JointChi2):
            return [p for c, sl in zip(st.parts, st.slices) for p in one(c, idx[sl])]
        if hasattr(st, "groups"):  # experiments._GroupedStatistic: parts on index sets
            return [p for c, ix in st.groups for p in one(c, idx[np.asarray(ix)])]
        raise TypeError(f"no toys for a statistic of type {type(st).__name__}")

    return one(statistic, np.arange(n_bins))


def check_parts(parts: Sequence[Any], n_bins: int) -> None:
    seen = np.concatenate([p.idx for p in parts])
    if seen.size != n_bins or np.unique(seen).size != n_bins:
        raise ValueError("the parts of the statistic must cover every bin once")

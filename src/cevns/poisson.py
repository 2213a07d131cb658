"""Binned Poisson likelihood with Gaussian-constrained nuisance parameters that enter linearly, profiled.

Statistics only: knows nothing of neutrinos.  For a signal prediction s (events per bin) the expectation is

    mu(s, theta) = s + sum_b B_b + J(s) theta,
    J(s) = [sigma_s s | s * delta_k ... | sigma_b B_b ... | Delta_j ...],

with every nuisance theta in units of its own standard deviation (prior N(0, 1)): a signal normalisation
(flux, ``signal_sigma``), relative signal-shape variations ``signal_shapes`` delta_k (the +1 sigma change of
each bin divided by its nominal value, e.g. quenching or efficiency), background normalisations
(``background_sigmas``) and absolute background-shape variations ``background_shapes`` Delta_j.
The statistic is

    -2 ln lambda(s) = min_theta  2 sum_i [mu_i - n_i + n_i ln(n_i / mu_i)] + theta . theta,

convex in theta (mu is linear in it), minimised by damped Newton steps, vectorised over many signal
predictions at once.  It has the interface of :class:`cevns.stats.Chi2` (call on predictions of shape
(n_bins,) or (n_points, n_bins); ``gradient``), so every profile, interval and contour works on it, and
parts add into joint fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .convergence import failed
from .errors import CevnsInputError
from .statistic import Statistic

_TINY = 1e-12
#: points per block of a warm-started profile call (call_warm, the minimisers' and scans' path): a Newton iteration
#: of a block costs a fixed overhead (~20 numpy calls) plus its points' arithmetic, and a block iterates until its
#: slowest point has converged, so larger blocks share the overhead; the analyses run on one BLAS thread
#: (cevns._threads), where the block's size does not switch on OpenBLAS's threading (what 64-point blocks avoid)
_BLOCK = 512
#: the largest relative uncertainty of a normalisation (100 = 10 000 %; beyond, the profile's products overflow)
MAX_SIGMA = 100.0
#: the multipliers of _certified_above are tried where an empty bin's expectation is below _EDGE times its signal
#: (the signal pulled down towards the bin's edge mu = 0) and the
#: empty bins' terms carry at least the share _EMPTY_SHARE of the squared gradient (a cost gate, not a tolerance:
#: the bound is valid for any multipliers)
_EDGE = 0.1
_EMPTY_SHARE = 0.25


class PoissonLikelihood(Statistic):
    """-2 ln lambda of binned counts ``data`` with linear nuisances, profiled (module docstring).

    Parameters
    ----------
    data : observed counts per bin (n_bins,).
    backgrounds : (n_b, n_bins) expected background counts per bin at their nominal normalisations.
    background_sigmas : relative 1 sigma of each background normalisation (0: fixed).
    signal_sigma : relative 1 sigma of the signal normalisation (flux, ...).
    signal_shapes : (n_k, n_bins) relative +1 sigma signal changes per bin.
    background_shapes : (n_j, n_bins) absolute +1 sigma background changes per bin.
    names : names of the nuisances in order (signal norm, shapes, backgrounds, background shapes).
    """

    def __init__(self, data: Any, backgrounds: Optional[np.ndarray] = None,
                 background_sigmas: Any = (), signal_sigma: float = 0.0,
                 signal_shapes: Optional[np.ndarray] = None, background_shapes: Optional[np.ndarray] = None,
                 names: Optional[Sequence[str]] = None, iterations: int = 100, tol: float = 1e-9):
        d = np.asarray(data, dtype=float)
        if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d < 0):
            raise CevnsInputError("Poisson data must be a non-empty 1-d array of finite counts >= 0")
        n = d.size
        B = np.zeros((0, n)) if backgrounds is None else np.atleast_2d(np.asarray(backgrounds, dtype=float))
        if B.shape[1] != n or not np.all(np.isfinite(B)) or np.any(B < 0):
            raise CevnsInputError(f"backgrounds must be finite, >= 0 and have {n} bins each")
        bs = np.asarray(background_sigmas, dtype=float)
        if bs.size != B.shape[0] or np.any(~np.isfinite(bs)) or np.any(bs < 0) or np.any(bs > MAX_SIGMA):
            raise CevnsInputError(f"background sigmas (relative): one value in [0, {MAX_SIGMA:g}] per background, "
                                  f"got {list(bs)}")
        S = np.zeros((0, n)) if signal_shapes is None else np.atleast_2d(np.asarray(signal_shapes, dtype=float))
        D = np.zeros((0, n)) if background_shapes is None else np.atleast_2d(np.asarray(background_shapes, dtype=float))
        if S.shape[1] != n or D.shape[1] != n or not (np.all(np.isfinite(S)) and np.all(np.isfinite(D))):
            raise CevnsInputError(f"shape variations must be finite with {n} bins each")
        if not np.isfinite(signal_sigma) or not 0 <= signal_sigma <= MAX_SIGMA:
            raise CevnsInputError(f"signal_sigma (relative) must lie in [0, {MAX_SIGMA:g}], got {signal_sigma!r}")
        self.data = d
        self.sigma = np.sqrt(np.maximum(d, 1.0))  # for display and joint bookkeeping only
        self.backgrounds, self.background_sigmas = B, bs
        self.signal_sigma = float(signal_sigma)
        self.signal_shapes, self.background_shapes = S, D
        self.bkg_total = B.sum(axis=0)
        # J(s) = [s * V_k ... | F_j ...]: signal columns scale with the signal, the others are fixed
        V = ([np.full(n, self.signal_sigma)] if self.signal_sigma > 0 else []) + list(S)
        F = [s * b for s, b in zip(bs, B) if s > 0] + list(D)
        default = (["signal_norm"] if self.signal_sigma > 0 else []) + [f"signal_shape_{k}" for k in range(S.shape[0])] \
            + [f"background_{i}" for i, s in enumerate(bs) if s > 0] + [f"background_shape_{j}" for j in range(D.shape[0])]
        self._set_columns(np.array(V).reshape(len(V), n), np.array(F).reshape(len(F), n),
                          list(names) if names is not None else default)
        self.iterations, self.tol = iterations, tol
        #: nuisance name -> tag: in a sum with another Poisson likelihood, nuisances tagged alike are one
        self.tags: Dict[str, str] = {}

    name = "poisson"

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        """Toys: the nuisances drawn from N(0, 1), the expectation clipped at >= 0, Poisson counts."""
        return [PoissonPart.from_likelihood(self, idx)]

    def __add__(self, other: Statistic) -> Statistic:
        """Poisson + Poisson sharing a tag: one likelihood with that nuisance shared (:meth:`combine`)."""
        if isinstance(other, PoissonLikelihood) and set(self.tags.values()) & set(other.tags.values()):
            both = PoissonLikelihood.combine([self, other], [self.tags, other.tags])
            both.tags = {**self.tags, **other.tags}
            return both
        return super().__add__(other)

    def _set_columns(self, V: np.ndarray, F: np.ndarray, names: Sequence[str]) -> None:
        self._V, self._F = V, F
        self._G = column_products(V, F)
        self._J_fixed = F.T
        self.n_signal_cols = V.shape[0]
        self.n_nuisances = V.shape[0] + F.shape[0]
        self.names = list(names)
        if len(self.names) != self.n_nuisances:
            raise CevnsInputError(f"{len(self.names)} nuisance names for {self.n_nuisances} nuisances")
        d = self.data
        self._dlogd = np.where(d > 0, d * np.log(np.maximum(d, _TINY)), 0.0)

    @classmethod
    def combine(cls, parts: Sequence["PoissonLikelihood"], tags: Sequence[dict]) -> "PoissonLikelihood":
        """One likelihood over several parts' bins (concatenated in order).  ``tags[i]`` maps nuisance names
        of part i to a shared tag: nuisances with the same tag become one (fully correlated, each part keeping
        its own sigma); the others stay separate.  Without shared tags it equals the sum of the parts."""
        n = [p.data.size for p in parts]
        off = np.concatenate([[0], np.cumsum(n)])
        total = int(off[-1])
        cols: dict = {}  # key -> (is_signal, vector)
        order = []
        for i, (p, tg) in enumerate(zip(parts, tags)):
            unknown = set(tg) - set(p.names)
            if unknown:
                raise CevnsInputError(f"shared nuisance(s) {sorted(unknown)} not in {p.names}")
            for k, name in enumerate(p.names):
                is_sig = k < p.n_signal_cols
                vec = np.zeros(total)
                vec[off[i]:off[i + 1]] = p._V[k] if is_sig else p._F[k - p.n_signal_cols]
                key = ("shared", tg[name]) if name in tg else ("own", i, name)
                if key in cols:
                    if cols[key][0] != is_sig:
                        raise CevnsInputError(f"shared nuisance {tg[name]!r} mixes a signal and a background nuisance")
                    cols[key] = (is_sig, cols[key][1] + vec)
                else:
                    cols[key] = (is_sig, vec)
                    order.append(key)
        out = cls.__new__(cls)
        out.data = np.concatenate([p.data for p in parts])
        out.sigma = np.sqrt(np.maximum(out.data, 1.0))
        nb = max(p.backgrounds.shape[0] for p in parts) if parts else 0
        out.backgrounds = np.zeros((0, total)) if nb == 0 else np.concatenate(
            [np.vstack([p.backgrounds, np.zeros((nb - p.backgrounds.shape[0], p.data.size))]) for p in parts], axis=1)
        out.background_sigmas = np.zeros(out.backgrounds.shape[0])
        out.signal_sigma = 0.0
        out.signal_shapes = np.zeros((0, total))
        out.background_shapes = np.zeros((0, total))
        out.bkg_total = np.concatenate([p.bkg_total for p in parts])
        sig = [k for k in order if cols[k][0]]
        fix = [k for k in order if not cols[k][0]]
        label = lambda k: k[1] if k[0] == "shared" else f"{k[2]} [{k[1] + 1}]"
        out._set_columns(np.array([cols[k][1] for k in sig]).reshape(len(sig), total),
                         np.array([cols[k][1] for k in fix]).reshape(len(fix), total), [label(k) for k in sig + fix])
        out.iterations, out.tol = max(p.iterations for p in parts), min(p.tol for p in parts)
        return out

    # --- the model -----------------------------------------------------------------------------------
    def _jacobian(self, s: np.ndarray) -> np.ndarray:
        """J(s): (P, n_bins, n_nuisances)."""
        Js = s[..., None] * self._V.T  # (P, n_bins, n_signal_cols)
        Jf = np.broadcast_to(self._J_fixed, s.shape + (self._J_fixed.shape[1],))
        return np.concatenate([Js, Jf], axis=-1)

    def _stat(self, mu: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return _statistic(mu, self.data, self._dlogd, theta)

    def _shift(self, s: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """J(s) theta = s * (theta_V @ V) + theta_F @ F, for many points (no (P, n, k) tensor)."""
        kv = self.n_signal_cols
        return s * (theta[:, :kv] @ self._V) + theta[:, kv:] @ self._F

    def profile(self, pred, data: Optional[np.ndarray] = None, theta0: Optional[np.ndarray] = None,
                stop_above: Optional[np.ndarray] = None, dual: Optional[np.ndarray] = None) -> tuple:
        """(statistic, theta*, mu*) for prediction(s) ``pred``: the nuisances minimised by damped Newton steps.
        ``data`` (n_points, n_bins) replaces the observed counts row by row (toys); ``theta0`` starts there;
        ``stop_above`` per point and ``dual`` (multipliers per point and bin, updated in place): see
        :func:`newton_profile`."""
        s = np.asarray(pred, dtype=float)
        one = s.ndim == 1
        s2 = np.atleast_2d(s)
        if data is None:
            d, dlogd = self.data, self._dlogd
        else:
            d = np.asarray(data, dtype=float)
            dlogd = np.where(d > 0, d * np.log(np.maximum(d, _TINY)), 0.0)
        f, theta, mu = newton_profile(s2, d, dlogd, self.bkg_total, self._V, self._F, self._G, theta0,
                                      self.iterations, self.tol, stop_above, dual)
        return (f[0], theta[0], mu[0]) if one else (f, theta, mu)

    def __call__(self, pred) -> np.ndarray:
        """-2 ln lambda for the prediction(s) ``pred`` (nuisances profiled); chunks bound the memory."""
        s = np.asarray(pred, dtype=float)
        if s.ndim == 1:
            return np.asarray(self.profile(s)[0])
        out = np.empty(s.shape[0])
        # 64 points per block: the matrix products stay below OpenBLAS's threading threshold, which on a busy
        # machine costs far more than it gains (docs/performance.md); kept for plain calls, whose values pinned in
        # tests/golden include near-ties decided by the last bit (a region's best fit at +-1.68e-9)
        step = 64
        for a in range(0, s.shape[0], step):
            out[a:a + step] = self.profile(s[a:a + step])[0]
        return out

    def call_warm(self, pred: np.ndarray, theta0: Optional[np.ndarray] = None,
                  stop_above: Optional[np.ndarray] = None, dual: Optional[np.ndarray] = None) -> tuple:
        """(-2 ln lambda, profiled nuisances) of the predictions ``pred`` (n_points, n_bins), each profile started
        from its row of ``theta0`` (n_points, n_nuisances; zeros or None: from the nominal nuisances).  For
        minimisers whose next points lie close to their last: a warm start needs ~2 Newton iterations instead of
        ~10.  ``stop_above`` (n_points,): a profile may stop once its minimum is certainly above it; ``dual``
        (n_points, n_bins): multipliers carried from a nearby problem, updated in place (:func:`newton_profile`)."""
        s = np.atleast_2d(np.asarray(pred, dtype=float))
        n = s.shape[0]
        out, theta = np.empty(n), np.zeros((n, self.n_nuisances))
        t0 = None if theta0 is None else np.where(np.isfinite(theta0), theta0, 0.0).reshape(n, self.n_nuisances)
        step = _BLOCK
        for a in range(0, n, step):
            out[a:a + step], theta[a:a + step], _ = self.profile(s[a:a + step], theta0=None if t0 is None else t0[a:a + step],
                                                                 stop_above=None if stop_above is None else
                                                                 np.broadcast_to(stop_above, (n,))[a:a + step],
                                                                 dual=None if dual is None else dual[a:a + step])
        return out, theta

    @property
    def state_size(self) -> int:
        """Columns of the state of :meth:`call_warm` (the nuisances)."""
        return self.n_nuisances

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d(-2 ln lambda)/d pred_i for one prediction (envelope theorem: nuisances held at their minimum)."""
        s = np.asarray(pred, dtype=float)
        _, theta, mu = self.profile(s)
        scale = 1.0 + theta[:self.n_signal_cols] @ self._V
        return 2.0 * (1.0 - self.data / np.maximum(mu, _TINY)) * scale

    def pulls(self, pred) -> dict:
        """The profiled nuisances (in units of their sigma) at prediction ``pred``, by name."""
        _, theta, _ = self.profile(np.asarray(pred, dtype=float))
        return {n: float(t) for n, t in zip(self.names, theta)}

    def expected(self, pred) -> np.ndarray:
        """The profiled expectation mu* per bin (signal + backgrounds, nuisances at their minimum)."""
        return self.profile(np.asarray(pred, dtype=float))[2]


# --- the profile itself, shared with the toys of cevns.toys ------------------------------------------------------
def column_products(V: np.ndarray, F: np.ndarray) -> tuple:
    """Per-bin products of the nuisance columns for the Hessian blocks: G[n, a*b] = c_a[n] c_b[n] for the
    (signal, signal), (signal, fixed) and (fixed, fixed) pairs."""
    def g(a, b):
        return (a.T[:, :, None] * b.T[:, None, :]).reshape(a.shape[1], -1)

    return g(V, V), g(V, F), g(F, F)


def _hessian(W: np.ndarray, sa: np.ndarray, G: tuple, kv: int, kf: int) -> np.ndarray:
    """The nuisances' Hessian 2 J^T diag(W) J + 2 I (P, k, k) for the signals ``sa`` (P, n) and bin weights ``W``
    (P, n), from the column products ``G`` (:func:`column_products`).  Either block may be empty (only the
    signal normalisation, or only background nuisances): the shapes are spelled out, never inferred."""
    P, k = sa.shape[0], kv + kf
    GVV, GVF, GFF = G
    H = np.empty((P, k, k))
    Ws = W * sa
    H[:, :kv, :kv] = ((Ws * sa) @ GVV).reshape(P, kv, kv)
    H[:, :kv, kv:] = (Ws @ GVF).reshape(P, kv, kf)
    H[:, kv:, :kv] = H[:, :kv, kv:].transpose(0, 2, 1)
    H[:, kv:, kv:] = (W @ GFF).reshape(P, kf, kf)
    H *= 2.0
    H[:, np.arange(k), np.arange(k)] += 2.0
    return H


def _statistic(mu: np.ndarray, d: np.ndarray, dlogd: np.ndarray, theta: np.ndarray) -> np.ndarray:
    m = np.maximum(mu, _TINY)
    return 2.0 * (m - d + dlogd - d * np.log(m)).sum(-1) + (theta * theta).sum(-1)


def _room(ma: np.ndarray, dmu: np.ndarray) -> np.ndarray:
    """The largest fraction of the change ``dmu`` that keeps every expectation positive (inf: any)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dmu < 0, -(ma - 1e-9 * np.maximum(ma, 1.0)) / dmu, np.inf).min(axis=1)


class _Points:
    """The points of one Newton iteration: signals ``sa``, nuisances ``ta``, expectations ``base``, statistics
    ``f0``, counts ``da`` and ``dl`` = d ln d (shared (n,) or one row per point)."""

    def __init__(self, sa, ta, base, f0, da, dl, V, F):
        self.sa, self.ta, self.base, self.f0, self.da, self.dl, self.V, self.F = sa, ta, base, f0, da, dl, V, F
        self.per_row = da.ndim == 2

    def shift(self, rows: Optional[np.ndarray], th: np.ndarray) -> np.ndarray:
        """J theta for the nuisance changes ``th`` of ``rows`` (None: all)."""
        kv = self.V.shape[0]
        sa = self.sa if rows is None else self.sa[rows]
        return sa * (th[:, :kv] @ self.V) + th[:, kv:] @ self.F

    def moved(self, rows: Optional[np.ndarray], t: np.ndarray, step: np.ndarray, dmu: np.ndarray) -> tuple:
        """(statistic, nuisances, expectations) of ``rows`` (None: all) moved by the fractions ``t`` of their steps."""
        ta, base = (self.ta, self.base) if rows is None else (self.ta[rows], self.base[rows])
        cand_t = ta + t[:, None] * step
        cand_mu = base + t[:, None] * dmu
        d, dl = (self.da[rows], self.dl[rows]) if self.per_row and rows is not None else (self.da, self.dl)
        return _statistic(cand_mu, d, dl, cand_t), cand_t, cand_mu


def _fisher_fallback(pt: _Points, clip: np.ndarray, H: np.ndarray, g: np.ndarray, ma: np.ndarray, empty: np.ndarray,
                     step: np.ndarray, dmu: np.ndarray, t: np.ndarray, known: np.ndarray) -> None:
    """Rows whose Newton step had to be clipped to keep every expectation positive: a bin without counts (its term
    2 mu is linear, no curvature) draws Newton's step through mu = 0 again and again, and clipping it there jams
    the profile on that edge far from its minimum (measured: a CsI point 8.5 above its minimum, mu = 1e-9 in an
    empty bin).  There a second step is tried, with the expected curvature 1/mu of the empty bins (Fisher
    scoring), which grows as they empty and turns the step along the edge; the better of the two is taken (the
    clipped Newton step where the minimum does lie on the edge, mu -> 0 in an empty bin; it gets there fastest).
    Only the bins ``empty`` can lack counts, so the Fisher Hessian is H plus a product over those (without them
    the two steps are one).  Updates ``step``, ``dmu``, ``t`` in place; ``known`` gets the statistic of each
    clipped row's first trial, which the line search then need not evaluate again."""
    f_n = pt.moved(clip, t[clip], step[clip], dmu[clip])[0]
    known[clip] = f_n
    d_e = (pt.da[clip] if pt.per_row else pt.da)[..., empty]
    w = np.where(d_e <= 0, 1.0 / ma[clip][:, empty], 0.0)
    Je = np.concatenate([pt.sa[clip][:, empty, None] * pt.V[:, empty].T,
                         np.broadcast_to(pt.F[:, empty].T, (clip.size, empty.size, pt.F.shape[0]))], axis=-1)
    Hf = H[clip] + 2.0 * np.matmul(Je.transpose(0, 2, 1) * w[:, None, :], Je)
    try:
        step_f = -np.linalg.solve(Hf, g[clip][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # singular to rounding (signals ~1e10 times the data): keep the clipped Newton step
        return
    dmu_f = pt.shift(clip, step_f)
    t_f = np.minimum(1.0, 0.99 * _room(ma[clip], dmu_f))
    f_f = pt.moved(clip, t_f, step_f, dmu_f)[0]
    better = f_f < f_n
    use = clip[better]
    step[use], dmu[use], t[use], known[use] = step_f[better], dmu_f[better], t_f[better], f_f[better]


def _line_search(pt: _Points, t: np.ndarray, step: np.ndarray, dmu: np.ndarray, known: Optional[np.ndarray]) -> tuple:
    """Backtracking from the fractions ``t`` of the steps until the statistic does not rise, on the points still
    pending only (``known``: statistics of the first trial already evaluated, NaN: not).  Returns the new
    statistics (inf: not moved), nuisances and expectations."""
    m = t.size
    new_f, new_t, new_mu = np.full(m, np.inf), np.empty_like(pt.ta), np.empty_like(pt.base)
    limit = pt.f0 + 1e-12 * np.abs(pt.f0)
    pend = np.arange(m)
    for it in range(30):
        whole = pend.size == m
        rows = None if whole else pend
        if it == 0 and known is not None and np.isfinite(known).any():
            need = np.flatnonzero(np.isnan(known))
            fc = known.copy()
            fc[need] = pt.moved(need, t[need], step[need], dmu[need])[0]
            cand_t, cand_mu = pt.ta + t[:, None] * step, pt.base + t[:, None] * dmu
        else:
            fc, cand_t, cand_mu = pt.moved(rows, t[pend], step[pend], dmu[pend])
        ok = fc <= limit[pend]
        acc = pend[ok]
        new_f[acc], new_t[acc], new_mu[acc] = fc[ok], cand_t[ok], cand_mu[ok]
        pend = pend[~ok]
        if pend.size == 0:
            break
        t[pend] *= 0.5
    return new_f, new_t, new_mu


def _iteration(pt: _Points, G: tuple, empty: np.ndarray, mu: np.ndarray, want_dual: bool = False) -> tuple:
    """One damped Newton step of the points ``pt`` at the expectations ``mu``: (new statistics (inf: not moved),
    nuisances, expectations, Newton decrements, multipliers or None).  ``want_dual``: also the multipliers of the
    whole (unclipped) step, lam_i = 2 (1 - n_i / mu_i) linearised in the step's change dmu_i, 2 - 2 n_i (mu_i -
    dmu_i) / mu_i^2 (the Newton step of the dual problem, finite where the step crosses an edge; at most 2, 2 in
    bins without counts): for :func:`_dual_bound`, whose bound from them approaches the minimum as fast as the
    primal steps do, where the bound from the iterate itself (the ball bound) waits for the creep along the edges
    of bins near mu = 0 to end."""
    kv = pt.V.shape[0]
    ma = np.maximum(mu, _TINY)
    r = 1.0 - pt.da / ma
    W = pt.da / ma**2
    g = np.empty_like(pt.ta)
    g[:, :kv] = (r * pt.sa) @ pt.V.T
    g[:, kv:] = r @ pt.F.T
    g = 2.0 * g + 2.0 * pt.ta
    H = _hessian(W, pt.sa, G, kv, pt.F.shape[0])
    try:
        step = -np.linalg.solve(H, g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # singular to rounding (signals ~1e10 per bin, fewer bins than nuisances: the
        # constraints' 2 I lost beside J^T W J): the least-squares steps, point by point
        step = np.stack([-np.linalg.lstsq(h, v, rcond=None)[0] for h, v in zip(H, g)])
    dmu = pt.shift(None, step)
    lam = None
    if want_dual:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lam = np.where(pt.da > 0, np.minimum(2.0 - 2.0 * pt.da * (ma - dmu) / ma**2, 2.0 - 1e-12), 2.0)
    lim = _room(ma, dmu)
    t = np.minimum(1.0, 0.99 * lim)
    clip = np.flatnonzero(lim < 1.0)
    known = None
    if clip.size and empty.size:
        known = np.full(t.size, np.nan)
        _fisher_fallback(pt, clip, H, g, ma, empty, step, dmu, t, known)
    new_f, new_t, new_mu = _line_search(pt, t, step, dmu, known)
    return new_f, new_t, new_mu, -(g * step).sum(axis=1), lam


def _ball_bound(f: np.ndarray, g: np.ndarray, theta: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """The lowest value over the ball |y| <= sqrt(limit) of the quadratic q(y) = f + g.(y - theta) + |y - theta|^2,
    per point: at the projection of theta - g / 2 onto the ball."""
    y = theta - 0.5 * g
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.minimum(1.0, np.sqrt(np.maximum(limit, 0.0)) / np.sqrt((y * y).sum(axis=1)))
    dy = np.where(np.isfinite(shrink), shrink, 1.0)[:, None] * y - theta
    lin, quad = (g * dy).sum(axis=1), (dy * dy).sum(axis=1)
    # lowered by the rounding its sum can carry (a tie with the limit must not certify)
    return f + lin + quad - 1e-12 * (np.abs(f) + np.abs(lin) + quad)


def _certified_above(s: np.ndarray, theta: np.ndarray, mu: np.ndarray, f: np.ndarray, d: np.ndarray, V: np.ndarray,
                     F: np.ndarray, G: Any, limit: np.ndarray, multipliers: bool = True) -> np.ndarray:
    """The points whose minimum over the nuisances is certainly above ``limit``.  The statistic is 2-strongly convex
    in theta (a convex Poisson part plus the constraints theta.theta): f(y) >= q(y) = f(theta) + g.(y - theta) +
    |y - theta|^2 for every y.  A minimum at or below ``limit`` lies in the ball |y| <= sqrt(limit) (its constraint
    term alone is at most the minimum), where q is lowest at the projection of theta - g / 2 onto the ball; if q
    there is above ``limit``, so is the minimum.

    Where that fails (a minimum on the edge mu_i -> 0 of bins without counts, whose terms 2 mu_i keep the gradient
    large however close the profile comes), the same bound of the Lagrangian L(y) = f(y) - nu.mu_E(y) with
    multipliers nu >= 0 on the empty bins E: L <= f wherever every mu >= 0 (every allowed y), L is 2-strongly convex
    as f is (nu.mu_E is linear in y), so the bound above with L(theta) = f - nu.mu_E and grad L = g - J_E^T nu is
    again a lower bound of the minimum, for any nu >= 0 (weak duality).  The multipliers: nu_i = -2 (J delta)_i / mu_i
    (clipped at 0) with delta the step of the constraints and the empty bins alone, (2 I + 2 J_E^T diag(1 / mu_E)
    J_E) delta = -g, so that unclipped they leave g - J_E^T nu = 2 delta, small where the gradient points into the
    edges of nearly emptied bins; scaled by the t >= 0 that maximises the unconstrained bound L(theta) -
    |grad L|^2 / 4 (a concave quadratic in t); ``multipliers=False``: the first bound only.  Where the minimum lies
    on such an edge the profile would creep
    towards it for ~20 clipped steps before the first bound holds (XENONnT 8B: a signal pulled to zero by its
    normalisation, one empty bin at mu ~ 1e-9)."""
    kv = V.shape[0]
    ma = np.maximum(mu, _TINY)
    r = 1.0 - d / ma
    g = np.empty_like(theta)
    g[:, :kv] = (r * s) @ V.T
    g[:, kv:] = r @ F.T
    g = 2.0 * g + 2.0 * theta
    above = _ball_bound(f, g, theta, limit) > limit
    if not multipliers:
        return above
    empty = np.broadcast_to(d <= 0, mu.shape)
    # tried only where it can pay (elsewhere the multipliers' Hessian and solve cost a Newton step's and gain
    # nothing): an empty bin's expectation below _EDGE times its signal, and the empty bins' part 2 J_E^T 1 of the gradient at
    # least half of it
    near = ~above & (empty & (ma < _EDGE * np.abs(s))).any(axis=1)
    if not near.any():
        return above
    rest = np.flatnonzero(near)
    ef = empty[rest].astype(float)
    gE = 2.0 * np.concatenate([(ef * s[rest]) @ V.T, ef @ F.T], axis=1)
    rest = rest[(gE * gE).sum(axis=1) >= _EMPTY_SHARE * (g[rest] * g[rest]).sum(axis=1)]
    if rest.size == 0:
        return above
    sr, ar, er = s[rest], ma[rest], empty[rest]
    Hf = _hessian(np.where(er, 1.0 / ar, 0.0), sr, G, kv, F.shape[0])
    try:
        delta = -np.linalg.solve(Hf, g[rest][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # singular to rounding: keep the first bound
        return above
    jd = sr * (delta[:, :kv] @ V) + delta[:, kv:] @ F
    nu = np.where(er, np.maximum(-2.0 * jd / ar, 0.0), 0.0)
    a = np.empty_like(delta)
    a[:, :kv] = (nu * sr) @ V.T
    a[:, kv:] = nu @ F.T
    b = (nu * ar).sum(axis=1)
    gr = g[rest]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.maximum((gr * a).sum(axis=1) - 2.0 * b, 0.0) / (a * a).sum(axis=1)
    t = np.where(np.isfinite(t), t, 0.0)
    above[rest] = _ball_bound(f[rest] - t * b, gr - t[:, None] * a, theta[rest], limit[rest]) > limit[rest]
    return above


def _dual_bound(s: np.ndarray, d: np.ndarray, bkg: np.ndarray, V: np.ndarray, F: np.ndarray,
                lam: np.ndarray) -> np.ndarray:
    """A lower bound of the minimum over the nuisances, per row, from multipliers ``lam`` on the bins (weak
    duality).  With phi_i(mu) = 2 [mu - n_i + n_i ln(n_i / mu)] (mu > 0) and its conjugate phi_i*(lam) =
    -2 n_i ln(1 - lam / 2) (lam < 2; for n_i = 0: 0 where lam <= 2), phi_i(mu) >= lam mu - phi_i*(lam) for every
    allowed mu, so for every theta

        f(theta) >= sum_i [lam_i mu_i(theta) - phi_i*(lam_i)] + theta.theta
                 >= D(lam) = sum_i [lam_i a_i + 2 n_i ln(1 - lam_i / 2)] - |J^T lam|^2 / 4

    (a = s + bkg the expectations at theta = 0; the quadratic in theta minimised in closed form).  At the minimum's
    own multipliers lam_i = 2 (1 - n_i / mu_i*) the bound is the minimum; multipliers of a nearby problem (the
    coupling below, in a scan) give a bound close to it.  The bound is lowered by the rounding its sums can carry
    (1e-10 of the sum of their magnitudes); -inf where a multiplier is not allowed or not finite."""
    kv = V.shape[0]
    a = s + bkg
    jt = np.concatenate([(lam * s) @ V.T, lam @ F.T], axis=1)
    ok = np.all(np.isfinite(lam), axis=1) & np.all((lam < 2.0) | ((d <= 0) & (lam <= 2.0)), axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lg = np.where(d > 0, 2.0 * d * np.log1p(-np.minimum(lam, 2.0) / 2.0), 0.0)
        la = lam * a
        q = (jt * jt).sum(axis=1) / 4.0
        value = la.sum(axis=1) + lg.sum(axis=1) - q
        scale = np.abs(la).sum(axis=1) + np.abs(lg).sum(axis=1) + q + kv
        bound = value - 1e-10 * scale
    return np.where(ok & np.isfinite(bound), bound, -np.inf)


def newton_profile(s: np.ndarray, d: np.ndarray, dlogd: np.ndarray, bkg: np.ndarray, V: np.ndarray, F: np.ndarray,
                   G: Any, theta0: Optional[np.ndarray] = None, iterations: int = 30, tol: float = 1e-9,
                   stop_above: Optional[np.ndarray] = None, dual: Optional[np.ndarray] = None) -> tuple:
    """min over theta of 2 sum [mu - d + d ln(d/mu)] + theta.theta with mu = s (1 + theta_V V) + bkg + theta_F F,
    for every row of the signals ``s`` (P, n) (the counts ``d`` shared (n,) or per row (P, n)): damped Newton
    steps, J^T W J as matrix products over bins with the column products ``G`` (:func:`column_products`), a
    step limit that keeps every expectation positive, and backtracking.  ``stop_above`` (P,): a point stops as
    soon as its minimum is certainly above its value (:func:`_certified_above`; for scans that need only know that
    a point is excluded): its statistic is then the last one reached, above the minimum, and above ``stop_above``.
    With ``stop_above``, the multipliers of each Newton step (:func:`_iteration`) give a second certificate
    (:func:`_dual_bound`).  ``dual`` (P, n), read and updated in place: multipliers per bin of a nearby problem (NaN:
    none), e.g. those of the coupling below in a scan: with ``stop_above``, a row whose bound from them is above it is
    certified before any step (its statistic is the one at its start, above the bound); a row that steps gets the
    multipliers of its last step, to be carried on.
    Returns (statistic, theta*, mu*), one row per point."""
    P, kv, kf = s.shape[0], V.shape[0], F.shape[0]
    k = kv + kf
    mu0, theta, mu, f = _start(s, d, dlogd, bkg, V, F, theta0)
    if k == 0:
        return f, theta, mu
    # points with a non-finite or astronomically large signal are not profiled: their statistic at the
    # nominal nuisances (inf if the signal is not finite) already rules them out
    finite = np.all(np.isfinite(s), axis=1)
    active = finite & (np.abs(s).max(axis=1) < 1e11)
    f = np.where(finite, f, np.inf)
    per_row = d.ndim == 2
    empty = np.flatnonzero(np.any(np.atleast_2d(d) <= 0, axis=0))  # the bins that can lack counts
    # the multipliers of _certified_above where bins without counts outnumber the nuisances (XENONnT 8B: ~200 of 243
    # bins, 8 nuisances); with a few (CsI + LAr: 4 of 183, 16 nuisances) their per-call cost was not repaid (measured)
    multipliers = empty.size >= k
    # the dual bounds where those multipliers are not tried: with many bins without counts (XENONnT 8B) the
    # multipliers certify what the dual bounds would, and the bounds' cost over 243 bins was not repaid (measured)
    if multipliers:
        dual = None
    if stop_above is not None:
        _certified_at_start(active, f, s, d, bkg, V, F, G, stop_above, dual)
    last = np.zeros(P)  # the Newton decrement of each point's last step
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        if stop_above is not None:
            dd = d[idx] if per_row else d
            done = _certified_above(s[idx], theta[idx], mu[idx], f[idx], dd, V, F, G, stop_above[idx],
                                    multipliers)
            active[idx[done]] = False
            idx = idx[~done]
            if idx.size == 0:
                break
        whole = idx.size == P
        sa, ta = (s, theta) if whole else (s[idx], theta[idx])
        # the expectations moved from as the nominal ones plus the nuisances' shift (as stored, up to rounding)
        base = mu0[idx] + (sa * (ta[:, :kv] @ V) + ta[:, kv:] @ F)
        pt = _Points(sa, ta, base, f[idx], d[idx] if per_row and not whole else d,
                     dlogd[idx] if per_row and not whole else dlogd, V, F)
        new_f, new_t, new_mu, decrement, lam = _iteration(pt, G, empty, mu if whole else mu[idx],
                                                          not multipliers and (dual is not None or
                                                                               stop_above is not None))
        moved = np.isfinite(new_f)
        dec = np.where(moved, pt.f0 - new_f, 0.0)
        im = idx[moved]
        theta[im], mu[im], f[im] = new_t[moved], new_mu[moved], new_f[moved]
        # converged: Newton decrement small, or no further decrease possible
        active[idx] = moved & (decrement > tol) & (dec > 1e-14 * np.abs(f[idx]))
        last[idx] = decrement
        if lam is not None:
            if dual is not None:
                dual[idx] = lam
            if stop_above is not None:  # the step's multipliers: a bound above the line stops the point
                hi = np.flatnonzero(active[idx] & (f[idx] > stop_above[idx]))
                active[idx[hi]] &= ~_dual_certified(hi, sa, pt.da, bkg, V, F, lam, stop_above[idx])[hi]
    # still improving after the last iteration, by more than rounding allows for a statistic this large (the
    # Newton decrement estimates twice the decrease left): not converged (reported to a watching analysis)
    unsettled = active & (last > tol + 1e-12 * np.abs(f))
    failed(f"Poisson nuisance profile (damped Newton, {iterations} iterations)", int(np.count_nonzero(unsettled)))
    return f, theta, mu


def _start(s: np.ndarray, d: np.ndarray, dlogd: np.ndarray, bkg: np.ndarray, V: np.ndarray, F: np.ndarray,
           theta0: Optional[np.ndarray]) -> tuple:
    """Where the profiles start: (nominal expectations, nuisances, expectations, statistics), from ``theta0`` where
    every expectation stays positive there, else (and for None) from zero."""
    P, kv, k = s.shape[0], V.shape[0], V.shape[0] + F.shape[0]
    mu0 = s + bkg
    theta = np.zeros((P, k)) if theta0 is None else np.array(theta0, dtype=float).reshape(P, k)
    mu = mu0 + (s * (theta[:, :kv] @ V) + theta[:, kv:] @ F) if theta0 is not None else mu0.copy()
    if theta0 is not None and np.any(mu <= 0):  # a warm start outside the allowed region: start from zero
        bad = np.any(mu <= 0, axis=1)
        theta[bad], mu[bad] = 0.0, mu0[bad]
    with np.errstate(over="ignore", invalid="ignore"):
        f = _statistic(mu, d, dlogd, theta)
    return mu0, theta, mu, f


def _certified_at_start(active: np.ndarray, f: np.ndarray, s: np.ndarray, d: np.ndarray, bkg: np.ndarray,
                        V: np.ndarray, F: np.ndarray, G: Any, stop_above: np.ndarray, dual: Optional[np.ndarray]) -> None:
    """Points above ``stop_above`` before any primal step, taken out of ``active``: every point of a negative line
    (the statistic is >= 0), and the points whose start is above the line where the carried multipliers ``dual``
    (None: none), after at most ``_DUAL_STEPS`` dual Newton steps (:func:`_dual_newton`, which updates them),
    bound the minimum above it."""
    active &= ~(stop_above < 0)
    if dual is None:
        return
    rows = np.flatnonzero(active & (f > stop_above) & np.all(np.isfinite(dual), axis=1))
    if rows.size:
        sub = dual[rows]
        active[rows] = ~_dual_newton(s[rows], d[rows] if d.ndim == 2 else d, bkg, V, F, G, sub, stop_above[rows])
        dual[rows] = sub


#: Newton steps of the dual problem tried on carried multipliers (:func:`_dual_newton`) before the primal steps
_DUAL_STEPS = 3


def _dual_newton(s: np.ndarray, d: np.ndarray, bkg: np.ndarray, V: np.ndarray, F: np.ndarray, G: Any,
                 lam: np.ndarray, stop_above: np.ndarray, steps: int = _DUAL_STEPS) -> np.ndarray:
    """Which rows are certainly above ``stop_above``, by the bound :func:`_dual_bound` at the multipliers ``lam``
    (carried from a nearby problem; updated in place) and after up to ``steps`` damped Newton steps that maximise it.
    The bound D(lam) is concave; with mu^_i = 2 n_i / (2 - lam_i) the expectations the multipliers stand for and
    theta^ = -J^T lam / 2, its gradient is mu(theta^) - mu^ and its Hessian -(C + J J^T / 2), C = diag(2 n_i /
    (2 - lam_i)^2); the Newton step (C + J J^T / 2)^-1 grad is found through the nuisances' k x k matrix 2 I +
    J^T C^-1 J (Woodbury), the Hessian of the primal problem at mu^.  Bins without counts keep lam_i = 2 (their
    own optimum).  The steps never leave lam_i < 2 and never lower the bound.  Where the primal warm start has left
    the allowed region (a scan's next coupling with the signal pulled below zero in some bin) a profile from zero
    needs ~20 steps; the dual needs no allowed start: from the coupling below's multipliers, 1-3 steps."""
    kv = V.shape[0]
    nz = np.broadcast_to(d > 0, s.shape)
    lam[...] = np.where(nz, lam, 2.0)
    a = s + bkg
    bound = _dual_bound(s, d, bkg, V, F, lam)
    done = bound > stop_above
    for _ in range(steps):
        r = np.flatnonzero(~done & np.isfinite(bound))
        if r.size == 0:
            break
        sr, lr, nr = s[r], lam[r], nz[r]
        dr = d[r] if d.ndim == 2 else d
        th = -np.concatenate([(lr * sr) @ V.T, lr @ F.T], axis=1) / 2.0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            grad = np.where(nr, a[r] + sr * (th[:, :kv] @ V) + th[:, kv:] @ F - 2.0 * dr / (2.0 - lr), 0.0)
            cinv = np.where(nr, (2.0 - lr) ** 2 / (2.0 * dr), 0.0)
        cg = cinv * grad
        M = _hessian(cinv / 2.0, sr, G, kv, F.shape[0])
        # solved with its diagonal scaled to 1 (signals ~1e10 make M's condition number ~1e18, its scaled one ~50:
        # unscaled, the solution is no ascent direction)
        dg = np.sqrt(np.einsum("pii->pi", M))
        try:
            z = np.linalg.solve(M / dg[:, :, None] / dg[:, None, :],
                                (np.concatenate([(cg * sr) @ V.T, cg @ F.T], axis=1) / dg)[:, :, None])[:, :, 0] / dg
        except np.linalg.LinAlgError:  # singular to rounding: the bound as it is
            break
        delta = cg - cinv * (sr * (z[:, :kv] @ V) + z[:, kv:] @ F)
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(nr & (delta > 0), (2.0 - lr) / delta, np.inf).min(axis=1)
        t = np.minimum(1.0, 0.99 * room)
        for _ in range(20):  # backtracking: the bound must not fall
            cand = lr + t[:, None] * delta
            new = _dual_bound(sr, dr, bkg, V, F, cand)
            up = new >= bound[r]
            if up.all():
                break
            t = np.where(up, t, 0.5 * t)
        lam[r[up]], bound[r[up]] = cand[up], new[up]
        bound[r[~up]] = -np.inf  # no ascent left: this row stays with the primal steps
        done = bound > stop_above
    return done


def _dual_certified(rows: np.ndarray, s: np.ndarray, d: np.ndarray, bkg: np.ndarray, V: np.ndarray, F: np.ndarray,
                    lam: np.ndarray, stop_above: np.ndarray) -> np.ndarray:
    """Which of ``rows`` (indices into ``s``, ``lam``, ``stop_above``, and ``d`` if per row) have a bound
    :func:`_dual_bound` from their multipliers ``lam`` (NaN rows: none) above ``stop_above``: a bool per row of
    ``s``, False elsewhere."""
    out = np.zeros(s.shape[0], dtype=bool)
    rows = rows[np.all(np.isfinite(lam[rows]), axis=1)]
    if rows.size:
        dd = d[rows] if d.ndim == 2 else d
        out[rows] = _dual_bound(s[rows], dd, bkg, V, F, lam[rows]) > stop_above[rows]
    return out


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

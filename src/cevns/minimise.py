"""Vectorised minimisation of the chi^2 over nuisance couplings, for many scan points at once.

Used by :mod:`cevns.analysis` for profiles (every grid point of a scan in one call) and two-parameter
contours.  The chi^2 is polynomial in the couplings through the basis of :mod:`cevns.rates`, so each
stage is a batch of matrix products.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .convergence import failed
from .rates import Basis
from .stats import Chi2

_WIDE = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.4, 2.0, 3.0, 4.5, 7.0, 10.0])
_WIDE = np.concatenate([-_WIDE[:0:-1], _WIDE])


_PLANS: Dict[Tuple[Any, Any], List[List[Tuple[int, int]]]] = {}


def _monomials(basis: Basis, pts: np.ndarray) -> np.ndarray:
    """:func:`cevns._poly.monomial_matrix` for the inner loops: the (column, power) plan of each monomial cached
    per basis structure, powers 1 and 2 as products (the same values)."""
    key = (tuple(basis.monomials), tuple(basis.names))
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        idx = {n: i for i, n in enumerate(basis.names)}
        plan = _PLANS[key] = [[(idx[name], p) for name, p in m] for m in basis.monomials]
    out = np.ones((pts.shape[0], len(plan)))
    for j, m in enumerate(plan):
        for c, p in m:
            x = pts[:, c]
            out[:, j] *= x if p == 1 else (x * x if p == 2 else x**p)
    return out


def _batch_chi2(chi2: Chi2, basis: Basis, pts: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """chi^2 (alpha minimised) at many full parameter points, in chunks that stay in the CPU cache (the chunk
    size: docs/performance.md); consecutive points profiled as neighbours (:func:`chi2_rows`)."""
    out = np.empty(pts.shape[0])
    for a in range(0, pts.shape[0], chunk):
        out[a:a + chunk] = chi2_rows(chi2, _monomials(basis, pts[a:a + chunk]) @ basis.B)
    return out


#: chi2_rows: one row in this many is profiled from the nominal nuisances, the others from the row before it that was
ROWS_STRIDE = 8


def chi2_rows(chi2: Any, preds: np.ndarray) -> np.ndarray:
    """chi^2 of many predictions whose consecutive rows are neighbours (a scan, a grid row by row).  A statistic with
    nuisances to profile has them profiled from their nominal values at every ``ROWS_STRIDE``-th row only, and at
    the rows between from the profiled nuisances of the row before them that was (a continuation in two batched
    calls: a warm start needs ~2-3 Newton iterations instead of ~10); the profile is strictly convex, so the values
    are the plain call's to its convergence tolerance whatever the rows' order.  Others: a plain call."""
    n = preds.shape[0]
    if state_size(chi2) == 0 or n <= ROWS_STRIDE:
        return chi2(preds)
    anchor = np.arange(0, n, ROWS_STRIDE)
    rest = np.setdiff1d(np.arange(n), anchor)
    out = np.empty(n)
    out[anchor], state = warm_chi2(chi2, preds[anchor], None)
    out[rest], _ = warm_chi2(chi2, preds[rest], state[rest // ROWS_STRIDE])
    return out


def _leaves(chi2: Any) -> Optional[List[Tuple[Any, Any]]]:
    """The parts of a summed statistic and the bins each acts on (:meth:`cevns.statistic.Statistic.leaves`), or
    None for a single statistic."""
    return chi2.leaves()


def state_size(chi2: Any) -> int:
    """Columns of the warm-start state of a statistic (:func:`warm_chi2`): its profiled nuisances (0: none)."""
    leaves = _leaves(chi2)
    return sum(state_size(c) for c, _ in leaves) if leaves else int(chi2.state_size)


def warm_chi2(chi2: Any, preds: np.ndarray, state: Optional[np.ndarray],
              stop_above: Optional[np.ndarray] = None, dual: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """chi^2 of many predictions and the state to start the next ones from: the profiled nuisances of every
    Poisson part (:meth:`cevns.poisson.PoissonLikelihood.call_warm`), each profile started from ``state``
    (None: from the nominal nuisances).  Parts without nuisances to profile are plain calls.  ``stop_above`` (per
    prediction): a Poisson part's profile may stop once its minimum is certainly above what is left of it after the
    parts evaluated before (every part is >= 0; the parts without nuisances go first, exactly; a profiled part
    counts with min(its value, its own limit), a lower bound of its minimum whether it stopped or not, less a margin
    of 1e-9 relative for a converged profile's last decrement; where its value less that margin is above its limit,
    its minimum alone is, and the parts after it are left a negative limit, which every statistic >= 0 is above
    before any step), so the sum is then above ``stop_above``; such a
    value is above both the minimum and ``stop_above``, not the minimum.  The sum is added in the parts' order.
    ``dual`` (like ``preds``: a row per prediction, a column per bin; NaN at first): the Poisson parts' multipliers,
    read and updated in place, carried from one call to the next (a scan's coupling below: certifies points whose
    minimum lies far above ``stop_above`` before any Newton step, :func:`cevns.poisson.newton_profile`)."""
    leaves = _leaves(chi2)
    if not leaves:
        return chi2.call_warm(preds, state, stop_above, dual)
    k = state_size(chi2)
    if k == 0:
        return chi2(preds), np.zeros((preds.shape[0], 0))
    new = np.zeros((preds.shape[0], k))
    offsets = np.cumsum([0] + [state_size(c) for c, _ in leaves])
    left = None if stop_above is None else np.array(np.broadcast_to(stop_above, (preds.shape[0],)), dtype=float)
    vals: List[Any] = [None] * len(leaves)
    for i in sorted(range(len(leaves)), key=lambda i: offsets[i + 1] > offsets[i]):  # plain parts first
        (c, ix), o, kc = leaves[i], offsets[i], offsets[i + 1] - offsets[i]
        if kc:
            sub = None if dual is None else dual[:, ix]
            vals[i], new[:, o:o + kc] = warm_chi2(c, preds[:, ix], None if state is None else state[:, o:o + kc], left,
                                                  sub)
            if dual is not None:
                dual[:, ix] = sub
            if left is not None:
                lower = np.minimum(vals[i], left)
                above = vals[i] - 1e-9 * (1.0 + np.abs(vals[i])) > left  # this part's minimum alone is above
                left = np.where(above, -1.0, left - (lower - 1e-9 * (1.0 + np.abs(lower))))
        else:
            vals[i] = c(preds[:, ix])
            if left is not None:
                left = left - vals[i]
    out = np.zeros(preds.shape[0])
    for v in vals:
        out += v
    return out, new


def distinct_lowest(vals: np.ndarray, scaled: np.ndarray, k: int, apart: float = 0.3) -> Tuple[np.ndarray, np.ndarray]:
    """Per point, the ``k`` lowest candidates that lie more than ``apart`` (in the units of ``scaled``, max-norm) from
    each other: of ``vals`` (n, m) at ``scaled`` (n, m, nf).  Returns their indices (n, k) and which are found (n, k)
    (a point with fewer distinct candidates repeats its lowest, marked not found)."""
    n = vals.shape[0]
    every = np.arange(n)
    order = np.argsort(vals, axis=1)
    picks = np.repeat(order[:, :1], k, axis=1)
    count = np.ones(n, dtype=int)
    for c in range(1, min(order.shape[1], 12 * k)):
        cz = scaled[every, order[:, c]]
        far = np.ones(n, dtype=bool)
        for j in range(k):
            dz = np.abs(cz - scaled[every, picks[:, j]]).max(axis=1)
            far &= (dz > apart) | (j >= count)
        ok = far & (count < k) & np.isfinite(vals[every, order[:, c]])
        picks[ok, count[ok]] = order[ok, c]
        count[ok] += 1
    return picks, np.arange(k)[None, :] < count[:, None]


def _grid(ladder: np.ndarray, nf: int) -> np.ndarray:
    return np.stack(np.meshgrid(*([ladder] * nf), indexing="ij"), -1).reshape(-1, nf)


_STENCILS: Dict[int, Dict[str, Any]] = {}


def _stencils(nf: int) -> Dict[str, Any]:
    """The finite-difference stencil and pattern of ``nf`` coordinates, and the stencil columns of the central
    differences: f(+e_i), f(-e_i); f(e_i + e_j), f(e_i - e_j), f(-e_i + e_j), f(-e_i - e_j) for i < j (cached)."""
    if nf not in _STENCILS:
        sten = _grid(np.array([-1.0, 0.0, 1.0]), nf)
        pos = {tuple(o): j for j, o in enumerate(sten.astype(int))}
        unit = np.eye(nf, dtype=int)
        pairs = [(i, j) for i in range(nf) for j in range(i + 1, nf)]
        st: Dict[str, Any] = {"sten": sten, "pos": pos, "pattern": _grid(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), nf),
                              "c0": pos[(0,) * nf], "cp": np.array([pos[tuple(unit[i])] for i in range(nf)], dtype=int),
                              "cm": np.array([pos[tuple(-unit[i])] for i in range(nf)], dtype=int),
                              "pi": np.array([i for i, _ in pairs], dtype=int), "pj": np.array([j for _, j in pairs], dtype=int)}
        for key, (a, b) in zip(("cpp", "cpm", "cmp", "cmm"), ((1, 1), (1, -1), (-1, 1), (-1, -1))):
            st[key] = np.array([pos[tuple(a * unit[i] + b * unit[j])] for i, j in pairs], dtype=int)
        # the sparse stencil of many coordinates: 0, +-e_i and +-(e_i + e_j) (i < j), 1 + 2 nf + nf (nf - 1) points
        # instead of 3^nf (nf = 4: 21 instead of 81); H_ij = [f(e_i + e_j) + f(-e_i - e_j) - f(e_i) - f(-e_i) - f(e_j)
        # - f(-e_j) + 2 f(0)] / (2 d^2), accurate to O(d^2) (the one-sided f(e_i + e_j) - f(e_i) - f(e_j) + f(0) is
        # O(d): measured, a 5% error of a curvature of 8e5 in a joint fit hid the valley of curvature 1e2 beside it)
        sparse = np.vstack([np.zeros((1, nf)), unit, -unit] + [unit[i] + unit[j] for i, j in pairs]
                           + [-unit[i] - unit[j] for i, j in pairs]).astype(float)
        st["sparse"] = sparse.reshape(-1, nf)
        st["s_pp"] = np.arange(1 + 2 * nf, 1 + 2 * nf + len(pairs), dtype=int)
        st["s_mm"] = np.arange(1 + 2 * nf + len(pairs), 1 + 2 * nf + 2 * len(pairs), dtype=int)
        _STENCILS[nf] = st
    return _STENCILS[nf]


#: from this many free coordinates on, the Hessian comes from the sparse stencil (measured: the full 3^nf stencil
#: of 4 coordinates is 81 chi^2 values per Newton step, most of a transition-charge fit on COHERENT)
SPARSE_FROM = 3
#: the rough shares of a chained marginalise_many's work done after its search and after its polish (for progress
#: bars: measured on the CsI contour with three marginalised parameters, docs/performance.md)
SEARCH_SHARE, POLISH_SHARE = 0.55, 0.8


class _Minimiser:
    """Vectorised local minimisation of chi^2 over the free coordinates of many points at once."""

    D = 1e-4  # finite-difference step [widths]
    TS = np.array([1.0, 0.5, 0.25, 0.1, 0.03, 0.01])  # Newton step fractions tried at once

    #: escape steps along the direction of most negative curvature [widths], both signs
    ESC = np.array([1.0, 0.3, 0.1, 0.03, 0.01, 0.003])

    def __init__(self, chi2: Chi2, basis: Basis, pts: np.ndarray, cols: Sequence[int], widths: np.ndarray,
                 newton_steps: int, escape: bool = False, gain: float = 1e-14, lower: Optional[np.ndarray] = None,
                 economical: bool = False, upper: Optional[np.ndarray] = None):
        self.chi2, self.basis, self.pts, self.cols, self.widths = chi2, basis, pts, list(cols), widths
        # upper bounds of the coordinates (inf: none): every candidate is clipped to them
        self.upper = None if upper is None or not np.any(np.isfinite(upper)) else np.asarray(upper, dtype=float)
        # lower bounds of the coordinates (-inf: none), e.g. 0 for the square of a parameter that enters only
        # squared: every candidate is projected onto them, a Newton step holds the coordinates on their bound
        # that the gradient pushes out (projected Newton)
        self.lower = None if lower is None or not np.any(np.isfinite(lower)) else np.asarray(lower, dtype=float)
        self.escape = escape  # also try steps along negative curvature (leaves saddles and maxima, e.g. z = 0)
        # and longer Newton steps: in a quartic valley (a ring of equal rates flattening out) the minimum is 3 steps away
        self.ts = np.concatenate([[30.0, 10.0, 3.0, 2.0], self.TS]) if escape else self.TS
        self.gain = gain  # a move must lower chi^2 by more than this fraction of it
        self.nf = len(self.cols)
        self.newton_steps = newton_steps
        # the profiled nuisances of the statistic (if it has any) at each point's position, for warm starts
        # (nominal before the point's first value)
        k = state_size(chi2)
        self.theta: Optional[np.ndarray] = np.zeros((pts.shape[0], k)) if k else None
        self._cand_theta = np.zeros((0, 0, 0))
        st = _stencils(self.nf)
        # every chi^2 value counts (many coordinates, or an expensive statistic: ``economical``): the sparse stencil,
        # the Newton-decrement stop, the full step first and Levenberg-Marquardt steps where it fails
        self.sparse = economical or self.nf >= SPARSE_FROM
        self.sten, self.pos, self.pattern = (st["sparse"] if self.sparse else st["sten"]), st["pos"], st["pattern"]
        self._s_pp, self._s_mm = st["s_pp"], st["s_mm"]
        self._c0, self._cp, self._cm, self._pi, self._pj = st["c0"], st["cp"], st["cm"], st["pi"], st["pj"]
        self._cpp, self._cpm, self._cmp, self._cmm = st["cpp"], st["cpm"], st["cmp"], st["cmm"]

    def grid(self, ladder: np.ndarray) -> np.ndarray:
        return _grid(ladder, self.nf)

    def values(self, cand: np.ndarray, idx: np.ndarray, starts: Optional[np.ndarray] = None) -> np.ndarray:
        """chi^2 at candidates ``cand`` (len(idx), k, nf) of the points ``idx``.  A statistic with nuisances to
        profile (Poisson) starts each candidate's profile from the nuisances at its point's current position
        (:func:`warm_chi2`; kept in ``theta``, moved with the point by :meth:`take`), or from ``starts``
        (len(idx), k, nuisances): one start per candidate."""
        k = cand.shape[1]
        full = np.repeat(self.pts[idx], k, axis=0)
        full[:, self.cols] = cand.reshape(-1, self.nf)
        with np.errstate(over="ignore", invalid="ignore"):  # a wild trial step may overflow: never chosen
            if self.theta is None:
                v = _batch_chi2(self.chi2, self.basis, full)
            else:
                v = np.empty(full.shape[0])
                th = np.empty((full.shape[0], self.theta.shape[1]))
                t0 = np.repeat(self.theta[idx], k, axis=0) if starts is None else starts.reshape(full.shape[0], -1)
                for a in range(0, full.shape[0], 2048):
                    v[a:a + 2048], th[a:a + 2048] = warm_chi2(self.chi2, _monomials(self.basis, full[a:a + 2048])
                                                              @ self.basis.B, t0[a:a + 2048])
                self._cand_theta = th.reshape(idx.size, k, -1)
        v = v.reshape(idx.size, k)
        return np.where(np.isnan(v), np.inf, v)

    def take(self, z: np.ndarray, best: np.ndarray, cand: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """Move points ``idx`` to their best candidate where it improves; the mask of moved points."""
        if self.lower is not None:
            cand = np.maximum(cand, self.lower)
        if self.upper is not None:
            cand = np.minimum(cand, self.upper)
        vals = self.values(cand, idx)
        k = np.argmin(vals, axis=1)
        v = vals[np.arange(idx.size), k]
        better = v < best[idx] - self.gain * np.abs(best[idx])
        moved = np.zeros(best.size, dtype=bool)
        moved[idx[better]] = True
        z[idx[better]] = cand[np.arange(idx.size), k][better]
        best[idx[better]] = v[better]
        if self.theta is not None:
            self.theta[idx[better]] = self._cand_theta[np.arange(idx.size), k][better]
        return moved

    #: the Levenberg-Marquardt damping of :meth:`_lm_steps` [largest |curvature|]
    LM = np.array([1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0])

    def _lm_steps(self, A: np.ndarray, g: np.ndarray, held: np.ndarray, room: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Damped steps -(A + mu I)^-1 g for mu in ``LM`` x ``scale``, the ``held`` coordinates (on their bound) moved
        by ``room`` only: shape (points, len(LM), nf) [widths]."""
        nf, L = self.nf, self.LM.size
        M = A[:, None] + (self.LM[None, :, None, None] * scale[:, None, None, None]) * np.eye(nf)
        rhs = np.broadcast_to(-g[:, None, :], (g.shape[0], L, nf)).copy()
        hb = np.broadcast_to(held[:, None, :], rhs.shape)
        M[hb] = 0.0
        r_i, l_i, c_i = np.nonzero(hb)
        M[r_i, l_i, c_i, c_i] = 1.0
        rhs[hb] = np.broadcast_to(room[:, None, :], rhs.shape)[hb]
        return np.linalg.solve(M, rhs[..., None])[..., 0]

    def polish(self, z: np.ndarray, best: np.ndarray, idx: np.ndarray, h0: np.ndarray) -> np.ndarray:
        """Pattern search (5-point grid per coordinate, step shrinking only when the point stays)
        to ~1e-3 widths, then damped Newton steps with finite-difference gradient and Hessian, until no step
        gains.  Returns the mask (over all points) of those still moving after ``newton_steps`` steps: not
        converged."""
        self._pattern_search(z, best, idx, h0)
        act = np.asarray(idx)
        for _ in range(self.newton_steps):
            if act.size == 0:
                break
            g, H = self._derivatives(z, act)
            ev, vec = np.linalg.eigh(H)
            lam = np.maximum(0.0, -ev[:, 0]) * 1.01 + 1e-12 * np.abs(H).max(axis=(1, 2)) + 1e-300
            A = H + lam[:, None, None] * np.eye(self.nf)
            step = -np.linalg.solve(A, g[:, :, None])[:, :, 0]
            held = np.zeros(step.shape, dtype=bool)
            room = np.zeros(step.shape)
            if self.lower is not None:
                room = (self.lower - z[act]) / self.widths[act]  # the step to the bound [widths], <= 0
                ev = self._on_faces(H, A, g, step, held, room, ev)
            moved = self._advance(z, best, act, g, step, A, ev, held, room)
            neg = act[(ev[:, 0] < 0) & ~moved[act]]
            if self.escape and neg.size:  # a saddle or a maximum (e.g. z = 0) stops Newton: go down the negative curvature
                v0 = vec[(ev[:, 0] < 0) & ~moved[act], :, 0]
                esc = np.concatenate([self.ESC, -self.ESC])[None, :, None] * (v0 * self.widths[neg])[:, None, :]
                moved |= self.take(z, best, z[neg, None, :] + esc, neg)
            act = act[moved[act]]
        moving = np.zeros(best.size, dtype=bool)
        moving[act] = True
        return moving

    def _pattern_search(self, z: np.ndarray, best: np.ndarray, idx: np.ndarray, h0: np.ndarray) -> None:
        """A 5-point grid per coordinate around each point, the step shrinking only when the point stays, to ~1e-3
        widths."""
        w = self.widths
        h = np.zeros(best.size)
        h[idx] = h0[idx]
        for _ in range(40):
            act = np.flatnonzero(h > 1e-3)
            if act.size == 0:
                break
            cand = z[act, None, :] + self.pattern[None] * (w[act] * h[act, None])[:, None, :]
            moved = self.take(z, best, cand, act)
            h[act[~moved[act]]] *= 0.4

    def _derivatives(self, z: np.ndarray, act: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Finite-difference gradient and Hessian [per width] at the points ``act`` (the full 3^nf stencil, or the
        sparse one of 1 + 2 nf + the pairs)."""
        nf, d = self.nf, self.D
        f = self.values(z[act, None, :] + self.sten[None] * d * self.widths[act, None, :], act)
        if self.theta is not None:  # the stencil's centre is the point itself: its nuisances, fresh
            self.theta[act] = self._cand_theta[:, 0 if self.sparse else self._c0]
        H = np.empty((act.size, nf, nf))
        if self.sparse:
            f0 = f[:, :1]
            fp, fm = f[:, 1:1 + nf], f[:, 1 + nf:1 + 2 * nf]
            H[:, self._pi, self._pj] = H[:, self._pj, self._pi] = (
                f[:, self._s_pp] + f[:, self._s_mm] - fp[:, self._pi] - fm[:, self._pi] - fp[:, self._pj]
                - fm[:, self._pj] + 2.0 * f0) / (2.0 * d**2)
        else:
            fp, fm, f0 = f[:, self._cp], f[:, self._cm], f[:, self._c0, None]
            H[:, self._pi, self._pj] = H[:, self._pj, self._pi] = (f[:, self._cpp] - f[:, self._cpm]
                                                                  - f[:, self._cmp] + f[:, self._cmm]) / (4 * d**2)
        g = (fp - fm) / (2 * d)
        H[:, np.arange(nf), np.arange(nf)] = (fp - 2 * f0 + fm) / d**2
        return g, H

    def _on_faces(self, H: np.ndarray, A: np.ndarray, g: np.ndarray, step: np.ndarray, held: np.ndarray,
                  room: np.ndarray, ev: np.ndarray) -> np.ndarray:
        """Projected Newton (``A``, ``step`` and ``held`` updated in place; the lowest curvatures returned): the
        coordinates the step would take past their bound stop on it, and the step of the others is solved again on
        that face.  Projecting the free step instead stalls in a curved valley that ends on the bound (3e-5 high in
        chi^2 on the ring of two charge radii); the damping is that of the Hessian on the face (the full one's
        negative curvature across the bound would shorten every step on the face)."""
        nf = self.nf
        ev0 = ev[:, 0].copy()
        for _face in range(nf):  # until the step on the face crosses no further bound
            # (held: a coordinate whose gradient also points at its bound; one that the gradient moves away from it is
            # crossing only along a direction of negative or tiny curvature, and holding it there stopped a joint
            # r2_emu scan point 0.01 above its minimum: the shorter steps stay inside)
            cross = (step < room - 1e-12 * np.abs(room)) & ~held & (g > 0)
            rows = np.flatnonzero(cross.any(axis=1))
            if rows.size == 0:
                break
            held[rows] |= cross[rows]
            c = held[rows]
            r_i, c_i = np.nonzero(c)
            Hf = np.where(c[:, :, None] | c[:, None, :], 0.0, H[rows])
            Hf[r_i, c_i, c_i] = 1.0  # the Hessian on the face, 1 on the held coordinates
            evf = np.linalg.eigvalsh(Hf)
            lamf = np.maximum(0.0, -evf[:, 0]) * 1.01 + 1e-12 * np.abs(Hf).max(axis=(1, 2)) + 1e-300
            A[rows] = H[rows] + lamf[:, None, None] * np.eye(nf)
            ev0[rows] = evf[:, 0]
            Ar, rhs = A[rows].copy(), -g[rows]
            Ar[c] = 0.0
            Ar[r_i, c_i, c_i] = 1.0
            rhs[c] = room[rows][c]
            step[rows] = np.linalg.solve(Ar, rhs[:, :, None])[:, :, 0]
        return np.concatenate([ev0[:, None], ev[:, 1:]], axis=1)

    def _advance(self, z: np.ndarray, best: np.ndarray, act: np.ndarray, g: np.ndarray, step: np.ndarray,
                 A: np.ndarray, ev: np.ndarray, held: np.ndarray, room: np.ndarray) -> np.ndarray:
        """Take the Newton step where it gains (the mask over all points of those that moved)."""
        w = self.widths
        if not self.sparse:
            return self.take(z, best, z[act, None, :] + self.ts[None, :, None] * (step * w[act])[:, None, :], act)
        # stop where the Newton decrement -- the decrease the quadratic model promises -- is below the gain a move
        # must make; else the full step first, the other steps only where it fails
        promise = -(g * step).sum(axis=1) - 0.5 * np.einsum("pi,pij,pj->p", step, A, step)
        done = (ev[:, 0] > 0) & (promise < self.gain * np.abs(best[act]))
        moved = np.zeros(best.size, dtype=bool)
        go = np.flatnonzero(~done)
        if go.size:
            moved |= self.take(z, best, z[act[go], None, :] + (step[go] * w[act[go]])[:, None, :], act[go])
            rest = go[~moved[act[go]]]
            if rest.size:
                # the full step failed (the quadratic model is poor, e.g. in a curved, nearly flat valley: the ring of
                # equal rates of a flavour's charges): Levenberg-Marquardt steps (H + mu I)^-1 g, mu from 1e-4 to 10
                # times the largest curvature, which bend from Newton's step towards steepest descent, and the
                # shorter Newton steps
                cand = self._lm_steps(A[rest], g[rest], held[rest], room[rest], np.abs(ev[rest]).max(axis=1))
                ts = self.ts[self.ts < 1.0]
                cand = np.concatenate([cand, ts[None, :, None] * step[rest][:, None, :]], axis=1)
                moved |= self.take(z, best, z[act[rest], None, :] + cand * w[act[rest]][:, None, :], act[rest])
        return moved


def marginalise_many(chi2: Chi2, basis: Basis, pts: np.ndarray, i_free: Sequence[int], widths: np.ndarray,
                     fine: Optional[np.ndarray] = None, n_starts: int = 3, chain: bool = False,
                     max_sweeps: Optional[int] = None, newton_steps: int = 40,
                     starts: Optional[np.ndarray] = None, search_every: int = 1,
                     progress: Optional[Callable[[float], None]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """min over the free coordinates ``i_free`` of chi^2, for every row of ``pts`` at once.

    1. A joint grid per point locates the basins: each free coordinate takes its starting value in
       ``pts`` and offsets 0, +-geomspace(``fine``, 10 ``widths``) (``fine`` defaults to widths/50),
       so narrow valleys near the start and far minima are both seen; ``starts`` adds candidates.
    2. The ``n_starts`` lowest, mutually distinct grid points of each point are polished
       independently: a pattern search to ~1e-3 widths, then damped Newton steps with
       finite-difference gradient and Hessian, which follow curved, nearly flat valleys (the ring
       of equal rates of interfering couplings can hold several shallow minima).
    3. With ``chain`` the rows are consecutive points of a scan: every point is re-polished from
       each neighbour's solution, sweeping until none improves (at most ``max_sweeps``, default
       the number of points, so a basin can travel the whole scan) -- the continuation a
       point-by-point scan does.  With ``search_every`` = K > 1 the whole grid of step 1 is searched only at
       every K-th point of the scan and its last (the checked points); a point between takes as its candidates
       the grid points its two checked neighbours picked (and ``starts``).  The continuation fails at a point
       between, and its whole grid is searched after all, where its solution is still moving after the Newton
       steps or lies in another basin than either checked neighbour's solution (apart by more than 30% of their
       distance from the start, as the picks of step 2 are told apart).

    Every step keeps the best value seen.  ``progress(fraction)``, if given, is told the fraction of the work done
    (roughly: per searched point, then after the polish and the continuation).  Returns (chi^2 minima, minimising
    free values).
    """
    nf = len(i_free)
    n = pts.shape[0]
    if nf == 0:
        return _batch_chi2(chi2, basis, pts), np.zeros((n, 0))
    widths = np.asarray(widths, dtype=float)
    fine = widths / 50.0 if fine is None else np.minimum(np.asarray(fine, dtype=float), widths)
    every = np.arange(n)
    m = _Minimiser(chi2, basis, pts, i_free, widths, newton_steps)
    z0 = pts[:, list(i_free)].astype(float)
    cand = _search_grid(z0, widths, fine, starts)
    checked = every if not chain or search_every <= 1 else np.unique(np.r_[every[::search_every], n - 1])
    sol = _Solutions(m, z0, fine, n_starts, extra=starts is not None)
    sol.search(cand, checked, chain, None if progress is None else lambda f: progress(SEARCH_SHARE * f))
    if checked.size < n:
        sol.between(cand, checked)
    sol.polish(every)
    if progress is not None:
        progress(POLISH_SHARE)
    sweeps = (n if max_sweeps is None else max_sweeps) if chain and n > 1 else 0
    improved = sol.sweep(sweeps)
    if checked.size < n:
        redo = sol.continuation_failed(checked)
        if redo.size:
            sol.search(cand, redo, False)
            if sol.polish(redo, keep=True):  # a lower minimum: continued to the other points
                improved = sol.sweep(sweeps)
    if improved:  # the last allowed sweep still moved a point: the continuation had not settled
        failed(f"continuation along the scan (still improving after {sweeps} sweeps)")
    failed(f"marginalisation over the free parameters (damped Newton, {newton_steps} steps)", int(sol.unsettled.sum()))
    if progress is not None:
        progress(1.0)
    return sol.best, sol.z


def _search_grid(z0: np.ndarray, widths: np.ndarray, fine: np.ndarray, starts: Optional[np.ndarray]) -> np.ndarray:
    """The candidates of :func:`marginalise_many`'s search (points, k, nf): per point and coordinate offsets 0 and
    +-fine * (10 widths / fine)^t, t in [0, 1] (12 each side for one coordinate, else 6), every combination; and
    ``starts`` last."""
    n, nf = z0.shape
    k_side = 12 if nf == 1 else 6
    t = np.linspace(0.0, 1.0, k_side)
    mag = fine[:, :, None] * (10.0 * widths / fine)[:, :, None] ** t[None, None, :]
    lad = np.concatenate([-mag[:, :, ::-1], np.zeros((n, nf, 1)), mag], axis=2)
    combo = np.stack(np.meshgrid(*([np.arange(lad.shape[2])] * nf), indexing="ij"), -1).reshape(-1, nf)
    cand = z0[:, None, :] + np.stack([lad[:, j, combo[:, j]] for j in range(nf)], axis=-1)
    if starts is not None:
        cand = np.concatenate([cand, np.asarray(starts, dtype=float)[:, None, :]], axis=1)
    return cand


class _Solutions:
    """The starts, polished solutions and continuation of :func:`marginalise_many` (one row per point): per point
    ``n_starts`` starts (``zs``, their values ``bs`` and profiled nuisances ``ths``), the best solution (``z``,
    ``best``, ``theta``) and whether it was still moving (``unsettled``)."""

    def __init__(self, m: _Minimiser, z0: np.ndarray, fine: np.ndarray, n_starts: int, extra: bool):
        self.m, self.z0, self.fine, self.ns, self.extra = m, z0, fine, n_starts, extra
        n, nf = z0.shape
        k = 0 if m.theta is None else m.theta.shape[1]
        self.zs, self.bs, self.ths = np.zeros((n, n_starts, nf)), np.full((n, n_starts), np.inf), np.zeros((n, n_starts, k))
        self.picks = np.zeros((n, n_starts), dtype=int)  # the search's picks: indices into the grid
        self.z, self.best, self.theta = z0.copy(), np.full(n, np.inf), np.zeros((n, k))
        self.unsettled = np.zeros(n, dtype=bool)

    def search(self, cand: np.ndarray, idx: np.ndarray, chain: bool,
               progress: Optional[Callable[[float], None]] = None) -> None:
        """The whole grid of the points ``idx``: their starts, the lowest distinct candidates."""
        vals, th = _search_values(self.m, cand[idx], idx, chain, progress)
        picks = _distinct_starts(cand[idx], vals, self.z0[idx], self.fine[idx], self.ns)
        self._set_starts(idx, cand[idx], vals, th, picks)
        self.picks[idx] = picks

    def between(self, cand: np.ndarray, checked: np.ndarray) -> None:
        """The points between checked ones: candidates the picks of both checked neighbours (their nuisances as the
        profiles' starts) and the extra start (the grid's last column), if any."""
        idx = np.setdiff1d(np.arange(self.z0.shape[0]), checked)
        j = np.searchsorted(checked, idx)
        a, b = checked[j - 1], checked[j]
        extra = [np.full((idx.size, 1), cand.shape[1] - 1)] if self.extra else []
        sub = np.concatenate([self.picks[a], self.picks[b]] + extra, axis=1)
        c = cand[idx[:, None], sub]
        th0 = None
        if self.ths.shape[2]:
            th0 = np.concatenate([self.ths[a], self.ths[b]] + ([self.ths[a, :1]] if self.extra else []), axis=1)
        vals = self.m.values(c, idx, th0)
        th = self.m._cand_theta if th0 is not None else np.zeros(c.shape[:2] + (0,))
        self._set_starts(idx, c, vals, th, _distinct_starts(c, vals, self.z0[idx], self.fine[idx], self.ns))

    def _set_starts(self, idx: np.ndarray, c: np.ndarray, vals: np.ndarray, th: np.ndarray, picks: np.ndarray) -> None:
        r = np.arange(idx.size)[:, None]
        self.zs[idx], self.bs[idx], self.ths[idx] = c[r, picks], vals[r, picks], th[r, picks]

    def polish(self, idx: np.ndarray, keep: bool = False) -> bool:
        """Polish every start of the points ``idx``; the best of each point becomes its solution (with ``keep``: only
        where it is below the solution it has; True if any is)."""
        m, ns, nf = self.m, self.ns, self.z0.shape[1]
        reps = np.repeat(idx, ns)
        zr, br = self.zs[idx].reshape(-1, nf), self.bs[idx].reshape(-1)
        mr = _Minimiser(m.chi2, m.basis, m.pts[reps], m.cols, m.widths[reps], m.newton_steps)
        if mr.theta is not None:  # each start's polish from its candidate's profiled nuisances
            mr.theta[:] = self.ths[idx].reshape(reps.size, -1)
        moving = mr.polish(zr, br, np.arange(reps.size), _first_step(zr - self.z0[reps], m.widths[reps], self.fine[reps]))
        every = np.arange(idx.size)
        k = np.argmin(br.reshape(idx.size, ns), axis=1)
        v = br.reshape(idx.size, ns)[every, k]
        use = v < self.best[idx] - 1e-12 * np.abs(self.best[idx]) if keep else np.ones(idx.size, dtype=bool)
        u = idx[use]
        self.best[u], self.z[u] = v[use], zr.reshape(idx.size, ns, nf)[every, k][use]
        self.unsettled[u] = moving.reshape(idx.size, ns)[every, k][use]
        if mr.theta is not None:
            self.theta[u] = mr.theta.reshape(idx.size, ns, -1)[every, k][use]
        return bool(keep and use.any())

    def sweep(self, sweeps: int) -> bool:
        """The continuation: restart every point from each neighbour's solution, keep what is better, until none
        improves (at most ``sweeps`` rounds).  True if the last round still improved a point."""
        m, z, best, theta = self.m, self.z, self.best, self.theta
        n = best.size
        every = np.arange(n)
        improved = False
        for _ in range(sweeps):
            improved = False
            for side in (-1, 1):
                src = np.clip(every + side, 0, n - 1)
                idx = every[src != every]
                trial_z = z.copy()
                trial_z[idx] = z[src[idx]]
                trial_b = best.copy()
                if m.theta is not None:  # the neighbour's solution with its nuisances
                    m.theta[:] = theta
                    m.theta[idx] = theta[src[idx]]
                trial_b[idx] = m.values(trial_z[idx][:, None, :], idx)[:, 0]
                still = m.polish(trial_z, trial_b, idx, _first_step(trial_z - self.z0, m.widths, self.fine))
                better = trial_b < best - 1e-12 * np.abs(best)
                z[better], best[better] = trial_z[better], trial_b[better]
                if m.theta is not None:
                    theta[better] = m.theta[better]
                self.unsettled[better] = still[better]
                improved |= bool(better.any())
            if not improved:
                break
        return improved

    def continuation_failed(self, checked: np.ndarray) -> np.ndarray:
        """The points between checked ones whose solution is still moving or lies in another basin than either
        checked neighbour's (apart by more than 30% of the larger distance from the start in some coordinate)."""
        idx = np.setdiff1d(np.arange(self.z0.shape[0]), checked)
        j = np.searchsorted(checked, idx)
        z, z0 = self.z, self.z0[idx]
        apart = np.zeros(idx.size, dtype=bool)
        for nb in (checked[j - 1], checked[j]):
            size = np.maximum(np.maximum(np.abs(z[idx] - z0), np.abs(z[nb] - z0)), self.fine[idx])
            apart |= (np.abs(z[idx] - z[nb]) / size).max(axis=1) > 0.3
        return idx[apart | self.unsettled[idx]]


def _search_values(m: _Minimiser, cand: np.ndarray, idx: np.ndarray, chain: bool,
                   progress: Optional[Callable[[float], None]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """chi^2 of the search candidates ``cand`` (len(idx), k, nf) of the points ``idx`` and their profiled nuisances
    (len(idx), k, state).  Along a scan (``chain``) with nuisances to profile, the points go one after another,
    each candidate's profile started from the nuisances of the same candidate at the point before (the candidates
    sit at the same offsets from the same start at every point, so neighbouring points' nuisances differ little:
    a few Newton iterations instead of ~10 from the nominal nuisances)."""
    n, k = cand.shape[:2]
    if m.theta is None or not chain or n == 1:
        vals = m.values(cand, idx)
        th = m._cand_theta if m.theta is not None else np.zeros((n, k, 0))
        return vals, th
    vals = np.empty((n, k))
    th = np.empty((n, k, m.theta.shape[1]))
    for i in range(n):
        vals[i] = m.values(cand[i:i + 1], idx[i:i + 1], None if i == 0 else th[i - 1:i])[0]
        th[i] = m._cand_theta[0]
        if progress is not None:
            progress((i + 1) / n)
    return vals, th


def _distinct_starts(cand: np.ndarray, vals: np.ndarray, z0: np.ndarray, fine: np.ndarray, n_starts: int) -> np.ndarray:
    """Per point, the indices of the ``n_starts`` lowest candidates that are apart by more than 30% of their size
    (the first repeated where fewer are distinct)."""
    n = vals.shape[0]
    every = np.arange(n)
    order = np.argsort(vals, axis=1)
    picks = np.repeat(order[:, :1], n_starts, axis=1)
    count = np.ones(n, dtype=int)
    for c in range(1, min(order.shape[1], 12 * n_starts)):
        k = order[:, c]
        cz = cand[every, k]
        far = np.ones(n, dtype=bool)
        for j in range(n_starts):
            other = cand[every, picks[:, j]]
            dz = np.abs(cz - other) / np.maximum(np.maximum(np.abs(cz - z0), np.abs(other - z0)), fine)
            far &= (dz.max(axis=1) > 0.3) | (j >= count)
        ok = far & (count < n_starts)
        picks[ok, count[ok]] = k[ok]
        count[ok] += 1
    return picks


def _first_step(offset: np.ndarray, widths: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """Initial pattern step [widths] per point: 30% of the distance from the start, at least ``fine``."""
    return np.maximum(0.3 * np.abs(offset), fine).max(axis=1) / widths.max(axis=1)

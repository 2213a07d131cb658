"""Measurements and limits: profiles, intervals, marginalisation, mediator exclusions.

All functions take an :class:`~cevns.experiments.Experiment`; the same calls are
methods of it (``exp.fit("sin2w")``, ``exp.limit("q_ee")``, ``exp.exclusion("scalar")``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize

from ._poly import monomial_gradient, monomial_matrix
from .convergence import failed, watch
from .errors import CevnsInputError, check_finite, check_positive
from .minimise import (
    SPARSE_FROM,
    _batch_chi2,
    _Minimiser,
    _monomials,
    chi2_rows,
    distinct_lowest,
    marginalise_many,
    state_size,
    warm_chi2,
)
from .models import MODELS, Model, as_model, default_free, model_for_parameter
from .rates import Basis
from .results import ContourResult, ExclusionResult, FitResult
from .stats import Chi2, ConfidenceLevel, delta_chi2_level, find_intervals, levels_dict, parse_cl

DEFAULT_LEVELS = ("1sigma", "90%")


def combined_basis(exp, model: Model, channels: Sequence[str]) -> Basis:
    """Sum of the polynomial bases of several channels (union of their monomials)."""
    parts = [exp.engine.basis(model, ch) for ch in channels]
    monos = sorted({m for b in parts for m in b.monomials})
    B = np.zeros((len(monos), parts[0].B.shape[1]))
    for b in parts:
        for m, row in zip(b.monomials, b.B):
            B[monos.index(m)] += row
    return Basis(parts[0].names, monos, B)


def chi2_of(exp) -> Chi2:
    """The chi^2 function of an experiment (eq. 20) or of a joint experiment (their sum)."""
    return exp.chi2_function()


def statistic_kind(exp) -> str:
    """What the statistic of ``exp`` is (:attr:`cevns.statistic.Statistic.name`): "chi2" (eq. 20), "poisson" (the
    deviance -2 ln(L/L_saturated) with Gaussian-constrained nuisances) or "chi2+poisson" (a joint fit of both)."""
    return chi2_of(exp).name


def goodness_of_fit_ndof(exp, n_fitted: int) -> int:
    """Degrees of freedom of the goodness of fit: the number of bins minus the fitted parameters (the parameter(s)
    of interest and the marginalised ones).  Nuisances with a Gaussian constraint (the normalisation alpha of
    eq. 20, the Poisson nuisances) are not subtracted: each adds one constraint term to the statistic and one
    parameter, so they cancel.  0 when no degree of freedom is left (as many fitted parameters as bins, or
    more): never negative, and no goodness of fit is given then (p-value NaN, JSON null)."""
    return max(0, int(exp.data.counts.size) - int(n_fitted))


class _Problem:
    """chi^2 as a function of (param of interest, free parameters), others fixed, in scaled units."""

    def __init__(self, exp, param: str, channels: str, fixed: Optional[Dict[str, float]] = None,
                 free: Optional[Sequence[str]] = None, model: Optional[Model] = None):
        cls = model_for_parameter(param) if model is None else type(model)
        self.model = model or cls(**(fixed or {}))
        self.channels = exp.channels(channels)
        self.basis = combined_basis(exp, self.model, self.channels)
        self.chi2 = chi2_of(exp)
        self.param = param
        table = cls.parameter_table
        if param not in table:
            raise CevnsInputError(f"parameter {param!r} is not a parameter of {cls.name}")
        #: the declaration of the parameter of interest (unit, scale, physical range)
        self.par = cls.parameter(param)
        if not any(param in dict(m) for m in self.basis.monomials):
            where = (f"no {' or '.join(self.par.elements)} in its target" if self.par.elements
                     else "no such flavour or channel in these data")
            raise CevnsInputError(f"{exp.name} does not depend on {param} in {'+'.join(self.channels)} "
                                  f"({where}): nothing to fit")
        seen = {name for m in self.basis.monomials for name, _ in m}
        if param in (fixed or {}):
            raise CevnsInputError(f"{param} is the parameter of interest: it cannot also be fixed (--fix)")
        idle = [k for k, v in (fixed or {}).items() if k not in seen and k in table and v != table[k][0]]
        if idle:  # a value that changes nothing would read as part of the result
            raise CevnsInputError(f"{exp.name} does not depend on {', '.join(idle)} in {'+'.join(self.channels)}: "
                                  "fixing it changes nothing (leave it out of --fix)")
        if free is None:  # the family members that share a flavour and that the data see are free; sin2w fixed
            free = [p for p in default_free(cls, param, fixed or {}) if p in seen]
        self.free = list(free)
        bad = [p for p in self.free if p not in table or p == param]
        if bad:
            raise CevnsInputError(f"free parameter(s) {bad} must be other parameters of {cls.name}: "
                                  f"{', '.join(p for p in table if p != param)}")
        both, unseen = [p for p in self.free if p in (fixed or {})], [p for p in self.free if p not in seen]
        if both:
            raise CevnsInputError(f"{', '.join(both)} both fixed and free: give each to one of --fix and --free")
        if unseen:
            raise CevnsInputError(f"{exp.name} does not depend on {', '.join(unseen)} in {'+'.join(self.channels)}: "
                                  "nothing to marginalise (leave it out of --free)")
        self.scale = {p: table[p][2] for p in table}
        self.units = {p: table[p][1] for p in table}
        self.unit = table[param][1]
        self.values = self.model.values()
        names = self.basis.names
        self._i_param = names.index(param)
        self._i_free = [names.index(p) for p in self.free]
        self._base = np.array([self.values[n] for n in names], dtype=float)
        # is the rate even in the parameter of interest? (then |x| is what is constrained)
        self.even = all(dict(m).get(param, 0) % 2 == 0 for m in self.basis.monomials)
        self._last = self._base[self._i_free].copy()
        # with several free parameters, or a statistic that profiles nuisances at every value (Poisson: each costs
        # ~50 us), the vectorised minimisations are economical (``_economical``) and work on those that enter only squared
        # (transition charges and radii) through their square w = p^2 >= 0, in which the rate is a polynomial of half
        # the degree (``mbasis``): no stationary point at p = 0 to escape from in every sign combination and no
        # quartic valley where p = 0 stops being the minimum (measured: Newton crawled there for hundreds of steps);
        # w = 0 is a bound (projected Newton steps).  One or two free parameters of a chi^2 keep the plain coordinates:
        # cheap there, and their +-p symmetry makes the fits of two parameters that the data see alike (q_emu and
        # q_etau at a reactor) agree to the last bit, which the paper's statements check
        many = self._economical = len(self.free) >= SPARSE_FROM or state_size(self.chi2) > 0
        self._squared = np.array([many and all(dict(m).get(p, 0) % 2 == 0 for m in self.basis.monomials)
                                  for p in self.free], dtype=bool)
        sq = {p for p, q in zip(self.free, self._squared) if q}
        self.mbasis = Basis(names, [tuple((k, pw // 2 if k in sq else pw) for k, pw in m) for m in self.basis.monomials],
                            self.basis.B)
        self._mbase = self._base.copy()
        self._mbase[self._i_free] = self._to_w(self._base[self._i_free])
        self._lower, self._upper = self._free_bounds(cls)
        #: starts polished per point of a search (several free parameters: nearly degenerate basins)
        self._basins = 3 if many else 1
        # minimiser coordinates (w) of the last profile_near and of the scan points
        self._near_last = self._mbase[self._i_free].copy()
        self._grid_x, self._grid_z = np.zeros(1), self._near_last[None, :].copy()
        self.zscale = self.scale[param]
        # what the data resolve of every free parameter (:meth:`_sensitivity`): a floor of its search widths
        self._resolution = self._sensitivity(self.free) if self.free else np.zeros(0)
        self._ladder = np.array([0.0, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
        self._ladder = np.concatenate([-self._ladder[:0:-1], self._ladder])

    def _free_bounds(self, cls) -> Tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the free parameters in the minimiser's coordinates: 0 for a squared one, and the
        modelled range of a parameter whose polynomial is not valid beyond it (a neutron radius), onto which the
        candidates are projected (physical bounds such as sin2w's (0, 1) are not imposed on a free parameter)."""
        lo, hi = _modelled_range(cls, self.free)
        return np.where(self._squared, 0.0, lo), np.where(self._squared, np.inf, hi)

    def chi2_points(self, x: np.ndarray, free_scaled: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        pts = np.tile(self._base, (x.size, 1))
        pts[:, self._i_param] = x
        if free_scaled is not None and len(self.free):
            pts[:, self._i_free] = np.atleast_2d(free_scaled) * np.array([self.scale[p] for p in self.free])
        return chi2_rows(self.chi2, self.basis.evaluate_many(pts))

    def _full_points_many(self, xs: np.ndarray) -> np.ndarray:
        pts = np.tile(self._base, (xs.size, 1))
        pts[:, self._i_param] = xs
        return pts

    def _full_points(self, x: float, z: np.ndarray) -> np.ndarray:
        pts = np.tile(self._base, (np.atleast_2d(z).shape[0], 1))
        pts[:, self._i_param] = x
        pts[:, self._i_free] = np.atleast_2d(z)
        return pts

    def profile(self, x: float) -> float:
        """chi^2 at x minimised over the free parameters.

        A vectorised search over a coarse grid of the free parameters picks the start; BFGS with
        the analytic gradient of the polynomial chi^2 polishes it.  Each free parameter's grid is
        centred on its default (0 for couplings, the SM value for sin2w) with a width set by |x|
        and the scan (free parameters in the unit of x) or by its own scale (other units).
        Starting points on the grid avoid the stationary point at zero of parameters that enter
        only squared.
        """
        if not self.free:
            return float(self.chi2_points(np.array([x]))[0])
        nf = len(self.free)
        zs = max(abs(x), self.zscale)
        centre = self._base[self._i_free]
        widths = np.array([zs if self.units[p] == self.unit else self.scale[p] for p in self.free])
        steps = np.stack(np.meshgrid(*([self._ladder] * nf), indexing="ij"), -1).reshape(-1, nf)
        grid = np.vstack([centre + steps * widths, self._last[None, :]])
        pts = self._full_points(x, grid)
        vals = self.chi2(self.basis.evaluate_many(pts))
        z0 = (grid[int(np.argmin(vals))] - centre) / widths
        mons, names, B = self.basis.monomials, self.basis.names, self.basis.B

        def fun(u):
            p = self._full_points(x, centre + u * widths)[0]
            r = (monomial_matrix(mons, names, p[None, :]) @ B)[0]
            g = monomial_gradient(mons, names, p, self.free) @ B @ self.chi2.gradient(r)
            return float(self.chi2(r)), g * widths

        res = optimize.minimize(fun, z0, jac=True, method="BFGS", options={"gtol": 1e-9})
        if not res.success and res.fun <= vals.min():
            failed(f"profile over the free parameters (BFGS: {res.message})")
        best = min(float(res.fun), float(vals.min()))
        self._last = centre + res.x * widths if res.fun <= vals.min() else grid[int(np.argmin(vals))]
        return best

    def _to_w(self, z: np.ndarray) -> np.ndarray:
        """Free parameter values -> minimiser coordinates (the square of those that enter only squared)."""
        z = np.asarray(z, dtype=float)
        return np.where(self._squared, z * z, z)

    def _sensitivity(self, params: Sequence[str]) -> np.ndarray:
        """Per parameter, the smallest |shift| from its default (its table scale times a power of 2, from 2^-20 to
        2^60) that moves chi^2 by 1, every other parameter at its default: the scale the data resolve (the table
        scale if none does).  It sets the floor of the search widths: a reactor's 1e-12 e of a millicharge is
        1e-5 of what COHERENT resolves, and a search in steps of the table scale crawls (measured: a CsI q_emu fit
        took more than 15 minutes, its free charges hundreds of Newton steps from their minima at ~1e-7 e)."""
        k = 2.0 ** np.arange(-20, 61)
        out = np.empty(len(params))
        for j, p in enumerate(params):
            c = self.basis.names.index(p)
            pts = np.tile(self._base, (2 * k.size + 1, 1))
            shift = self.scale[p] * k
            pts[1:k.size + 1, c] += shift
            pts[k.size + 1:, c] -= shift
            with np.errstate(over="ignore", invalid="ignore"):
                v = np.asarray(self.chi2(self.basis.evaluate_many(pts)), dtype=float)
            moved = ~(np.abs(v[1:] - v[0]) < 1.0)  # a non-finite value counts as moved
            moved = moved[:k.size] | moved[k.size:]
            out[j] = shift[int(np.argmax(moved))] if np.isfinite(v[0]) and moved.any() else self.scale[p]
        return out

    def _mwidths(self, xs: np.ndarray) -> np.ndarray:
        """Search widths in the minimiser's coordinates: :meth:`_widths`, at least what the data resolve
        (:meth:`_sensitivity`), squared for the coordinates that are squares."""
        w = np.maximum(self._widths(xs), self._resolution[None, :])
        return np.where(self._squared, w * w, w)

    def _steps(self, lad: np.ndarray) -> np.ndarray:
        """The search candidates [widths] from a ladder of offsets: the ladder per coordinate (its squares, >= 0,
        for a squared coordinate); all combinations up to two free parameters, beyond that every pair's
        combinations, the others at their defaults (measured: the 11^4 combinations of four parameters made a
        COHERENT transition-charge fit crawl; their minima lie on the axes or in one plane)."""
        nf = len(self.free)
        per = [np.unique(lad * lad) if q else lad for q in self._squared]
        if nf < SPARSE_FROM:
            return np.stack(np.meshgrid(*per, indexing="ij"), -1).reshape(-1, nf)
        # every coordinate along its ladder, and every pair on every other rung (and 0)
        rows = [np.zeros((1, nf))]
        for i in range(nf):
            r = np.zeros((per[i].size, nf))
            r[:, i] = per[i]
            rows.append(r)
        coarse = [np.union1d(p[::2], [0.0]) for p in per]
        for i in range(nf):
            for j in range(i + 1, nf):
                a, b = np.meshgrid(coarse[i], coarse[j], indexing="ij")
                r = np.zeros((a.size, nf))
                r[:, i], r[:, j] = a.ravel(), b.ravel()
                rows.append(r)
        return np.unique(np.vstack(rows), axis=0)

    def _widths(self, xs: np.ndarray) -> np.ndarray:
        """Search widths of the free parameters at each x, as in :meth:`profile`: max(|x|, zscale) for
        parameters in the unit of x, their own scale otherwise.  Shape (len(xs), n_free)."""
        zs = np.maximum(np.abs(xs), self.zscale)
        return np.stack([zs if self.units[p] == self.unit else np.full(xs.size, self.scale[p]) for p in self.free], 1)

    def profile_points(self, xs: np.ndarray, starts: Optional[np.ndarray] = None, ladder: Optional[np.ndarray] = None,
                       step: float = 0.0, gain: float = 1e-11, starts_polished: int = 1,
                       more_steps: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """The profile (chi^2 minimised over the free parameters) at every x of ``xs`` at once, and the
        minimising free values in the minimiser's coordinates (the squares of the squared ones, ``mbasis``), shape
        (len(xs), n_free).

        Candidates per point: the grid ``ladder`` x widths around the defaults of the free parameters in
        every direction (the ladder of :meth:`profile` unless given; an empty ladder: none; :meth:`_steps`), plus
        ``starts`` (len(xs), k, n_free), e.g. the solutions of neighbouring points.  The best candidate of every
        point is polished, all points at once: damped Newton steps with finite-difference gradient and Hessian
        (:class:`cevns.minimise._Minimiser`), after a pattern search from ``step`` widths if ``step`` > 1e-3, until
        a step gains less than ``gain`` times chi^2.  With ``starts_polished`` > 1, the lowest candidates of that
        many separate basins are polished (:func:`cevns.minimise.distinct_lowest`) and the lowest result kept.
        Points still moving after 40 Newton steps get :attr:`_MORE_STEPS` more unless ``more_steps`` is False.
        """
        xs = np.atleast_1d(np.asarray(xs, dtype=float))
        n, nf = xs.size, len(self.free)
        if nf == 0:
            return self.chi2_points(xs), np.zeros((n, 0))
        pts = np.tile(self._mbase, (n, 1))
        pts[:, self._i_param] = xs
        widths = self._mwidths(xs)
        lad = self._ladder if ladder is None else np.asarray(ladder, dtype=float)
        if nf > 2 and ladder is None:
            lad = lad[::2]
        cands = []
        if lad.size:
            steps = self._steps(lad)
            cands.append(self._mbase[self._i_free][None, None, :] + steps[None] * widths[:, None, :])
        if starts is not None:
            cands.append(np.asarray(starts, dtype=float).reshape(n, -1, nf))
        cand = np.clip(np.concatenate(cands, axis=1), self._lower, self._upper)
        every = np.arange(n)
        # the Newton steps' unit (finite differences, damping): economical, at most what the data resolve of each
        # parameter (a joint fit resolves q_emu to 1e-12 e at the reactor while x and the search reach 1e-7 e:
        # differences in steps of the latter measured nothing but the reactor's wall, and the profile came out
        # 0.02 high at the 90% edge of q_mumu)
        unit = np.minimum(widths, np.where(self._squared, self._resolution**2, self._resolution)) \
            if self._economical else widths
        m = _Minimiser(self.chi2, self.mbasis, pts, self._i_free, unit, newton_steps=40, escape=True, gain=gain,
                       lower=self._lower, upper=self._upper, economical=self._economical)
        vals = m.values(cand, every)
        if starts_polished > 1 and cand.shape[1] > 1:
            # the lowest candidates of up to ``starts_polished`` separate basins, each polished: nearly degenerate
            # basins (the mirror of a diagonal charge, 1e-4 apart in chi^2 on COHERENT LAr) are told apart only so
            picks, ok = distinct_lowest(vals, cand / widths[:, None, :], starts_polished)
            reps = np.repeat(every, starts_polished)
            z, best = cand[reps, picks.ravel()], np.where(ok.ravel(), vals[reps, picks.ravel()], np.inf)
            m = _Minimiser(self.chi2, self.mbasis, pts[reps], self._i_free, unit[reps], newton_steps=40,
                           escape=True, gain=gain, lower=self._lower, upper=self._upper, economical=True)
            run = np.flatnonzero(ok.ravel())
        else:
            k = np.argmin(vals, axis=1)
            z, best = cand[every, k], vals[every, k]
            run = every
        if best.size > n:  # several starts per point: a few steps each, then only the lowest of each point goes on
            m.newton_steps = 6
            moving = m.polish(z, best, run, np.full(best.size, step))
            lowest = np.zeros((n, starts_polished), dtype=bool)
            lowest[every, np.argmin(best.reshape(n, -1), axis=1)] = True
            m.newton_steps = 40
            moving = m.polish(z, best, np.flatnonzero(moving & lowest.ravel()), np.zeros(best.size))
        else:
            moving = m.polish(z, best, run, np.full(best.size, step))
        if moving.any() and more_steps:  # still going down a long, curved valley after 40 steps: follow it further
            m.newton_steps = self._MORE_STEPS
            moving = m.polish(z, best, np.flatnonzero(moving), np.zeros(best.size))
        if best.size > n:  # the lowest start of each point
            k = np.argmin(best.reshape(n, -1), axis=1)
            moving = moving.reshape(n, -1)[every, k]
            z, best = z.reshape(n, -1, nf)[every, k], best.reshape(n, -1)[every, k]
        failed(f"profile over the free parameters (damped Newton, {40 + self._MORE_STEPS} steps)",
               int(np.count_nonzero(moving)))
        return best, z

    #: Newton steps granted to the points of :meth:`profile_points` still moving after the first 40
    _MORE_STEPS = 400

    #: the coarser search of a whole scan (continuation along the scan carries the basins between points)
    _SCAN_LADDER = np.array([-3.0, -1.5, -0.75, -0.35, -0.1, 0.0, 0.1, 0.35, 0.75, 1.5, 3.0])
    #: a scan point stops at a gain of 1e-9 chi^2 (a drawn profile and warm starts; the edges and the minimum are
    #: polished to 1e-11 by :meth:`profile_near`)
    _SCAN_GAIN = 1e-9

    def profile_many(self, xs: np.ndarray) -> np.ndarray:
        """:meth:`profile` at many x at once: :meth:`profile_points` with a grid search at every 4th x, the x
        between started from the solutions around them; then continuation -- a point whose neighbour's
        solution is lower at its own x restarts from it, sweeping until none improves (a basin can travel the
        whole scan).  With three or more free parameters the searched points are sparser and each polishes the
        lowest candidates of three basins (a far basin of a third parameter, nearly degenerate mirror basins).
        The solutions are kept as warm starts for :meth:`profile_near`."""
        xs = np.asarray(xs, dtype=float)
        if not self.free:
            return self.chi2_points(xs)
        n, every = xs.size, np.arange(xs.size)
        # the search at every 4th point (and the last), the points between started from those around them; sparser
        # when the search has many candidates (several free parameters): continuation carries the basins between
        stride = max(4, int(np.ceil(n * self._steps(self._SCAN_LADDER).shape[0] / 4000))) if self._economical else 4
        sub = np.unique(np.concatenate([every[::stride], [n - 1]]))
        vs, zs = self.profile_points(xs[sub], ladder=self._SCAN_LADDER, gain=self._SCAN_GAIN,
                                     starts_polished=self._basins)
        vals, z = np.empty(n), np.empty((n, len(self.free)))
        vals[sub], z[sub] = vs, zs
        rest = np.setdiff1d(every, sub)
        if rest.size:
            j = np.searchsorted(sub, rest)
            a, b = sub[j - 1], sub[j]
            t = ((xs[rest] - xs[a]) / (xs[b] - xs[a]))[:, None]
            starts = np.stack([z[a], z[b], (1 - t) * z[a] + t * z[b]], 1)
            vals[rest], z[rest] = self.profile_points(xs[rest], starts=starts, ladder=np.zeros(0), gain=self._SCAN_GAIN)
        sweeps = n if n > 1 else 0
        for sweep in range(sweeps):
            pts = np.tile(self._mbase, (n, 1))
            pts[:, self._i_param] = xs
            m = _Minimiser(self.chi2, self.mbasis, pts, self._i_free, self._mwidths(xs), newton_steps=40)
            best_v, best_z = self._neighbour_starts(m, z, vals, sweep)
            # a neighbour's solution is better where it gains more than the scan points are converged to (on a flat
            # valley -- the chi^2 of several charge radii depends only on the rate of each flavour -- smaller gains
            # are where each point stopped along it, and chasing them swept the scan for ever)
            tol = (self._SCAN_GAIN if self._economical else 1e-12) * np.abs(vals)
            idx = np.flatnonzero(best_v < vals - tol)
            if idx.size == 0:
                break
            v2, z2 = self.profile_points(xs[idx], starts=best_z[idx][:, None, :], ladder=np.zeros(0), gain=self._SCAN_GAIN)
            better = v2 < vals[idx]
            vals[idx[better]], z[idx[better]] = v2[better], z2[better]
            if sweep == sweeps - 1 and better.any():  # the last allowed sweep still found a better basin: not settled
                failed(f"continuation along the scan (still improving after {sweeps} sweeps)")
        self._grid_x, self._grid_z = xs, z
        return vals

    def _neighbour_starts(self, m: _Minimiser, z: np.ndarray, vals: np.ndarray, sweep: int) -> Tuple[np.ndarray, np.ndarray]:
        """The best start for each scan point from its neighbours' solutions ``z`` (chi^2 at its own x, and the start):
        their solutions; in the first sweep, and at a point standing above both neighbours, also their mean and each
        side's linear extrapolation -- a valley along which a free parameter follows x (an exactly degenerate
        partner, e.g. eps_ee_dV of eps_ee_uV on one isotope) is narrower than the search's widths and reached only
        from a start on its line."""
        n = z.shape[0]
        every = np.arange(n)
        prev, nxt = np.maximum(every - 1, 0), np.minimum(every + 1, n - 1)
        nb = np.clip(np.stack([z[prev], z[nxt]], 1), self._lower, self._upper)
        nv = m.values(nb, every)
        k = np.argmin(nv, axis=1)
        best_v, best_z = nv[every, k], nb[every, k]
        sus = every if sweep == 0 else np.flatnonzero((vals > vals[prev]) & (vals > vals[nxt]))
        if sus.size:
            ex = np.stack([0.5 * (z[prev] + z[nxt]), 2.0 * z[prev] - z[np.maximum(every - 2, 0)],
                           2.0 * z[nxt] - z[np.minimum(every + 2, n - 1)]], 1)[sus]
            ex = np.clip(ex, self._lower, self._upper)
            ev = m.values(ex, sus)
            kk = np.argmin(ev, axis=1)
            win = ev[np.arange(sus.size), kk] < best_v[sus]
            best_v[sus[win]], best_z[sus[win]] = ev[np.arange(sus.size), kk][win], ex[np.arange(sus.size), kk][win]
        return best_v, best_z

    def profile_near(self, x: float) -> float:
        """:meth:`profile` at one x inside the last :meth:`profile_many` scan, warm-started from the solutions
        at the neighbouring scan points and at the previous call (for root finding and the minimum)."""
        if not self.free:
            return float(self.chi2_points(np.array([x]))[0])
        gx, gz = self._grid_x, self._grid_z
        j = int(np.clip(np.searchsorted(gx, x), 1, gx.size - 1))
        starts = np.stack([gz[j - 1], gz[j], self._near_last])[None]
        v, z = self.profile_points(np.array([x]), starts=starts, ladder=np.zeros(0))
        self._near_last = z[0]
        return float(v[0])

    def profile_slope_near(self, x: float) -> Tuple[float, float]:
        """:meth:`profile_near` at x and its derivative d/dx (envelope theorem: the partial derivative of chi^2 at
        the minimising free values, from the gradient of the chi^2 and of the polynomial basis)."""
        v = self.profile_near(x)
        p = self._mbase.copy()  # in the minimiser's coordinates: x itself is never squared
        p[self._i_param] = x
        p[self._i_free] = self._near_last
        mons, names, B = self.mbasis.monomials, self.mbasis.names, self.mbasis.B
        r = (monomial_matrix(mons, names, p[None, :]) @ B)[0]
        return v, float((monomial_gradient(mons, names, p, [self.param]) @ B @ self.chi2.gradient(r))[0])

    def slope_near(self, x: float) -> float:
        """d/dx of the profile at x (:meth:`profile_slope_near`)."""
        return self.profile_slope_near(x)[1]

    def global_min(self, grid: np.ndarray, prof: np.ndarray) -> Tuple[float, float]:
        """The minimum of the profile near the lowest scan point: Brent's bounded search between its neighbours
        when no parameter is free (cheap), else the root of the profile's slope when it changes sign there."""
        i = int(np.argmin(prof))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        if hi > lo and not self.free:
            r = optimize.minimize_scalar(self.profile_near, bounds=(lo, hi), method="bounded",
                                         options={"xatol": 1e-10 * max(abs(hi), abs(lo), 1e-300)})
            if not r.success:
                failed(f"best fit (bounded Brent search: {r.message})")
            if r.fun < prof[i]:
                return float(r.x), float(r.fun)
        elif hi > lo:
            self._near_last = self._grid_z[i]
            if i > 0 and i < grid.size - 1:  # the slope changes sign in [lo, x_i] or [x_i, hi]
                s_i = self.slope_near(grid[i])
                a, b = (lo, grid[i]) if s_i > 0 else (grid[i], hi)
                if s_i != 0 and self.slope_near(a) < 0 < self.slope_near(b):  # (chi^2_min to ~1e-14 needs x to ~1e-7)
                    x = _brentq(self.slope_near, a, b, "best fit (root of the profile's slope)",
                                xtol=1e-8 * (hi - lo), rtol=1e-12)
                    v = self.profile_near(x)
                    if v < prof[i]:
                        return float(x), float(v)
            else:  # at an end of the scan: is the profile still falling towards the inner neighbour?
                a, b = (lo, hi)
                if self.slope_near(a) < 0 < self.slope_near(b):
                    x = _brentq(self.slope_near, a, b, "best fit (root of the profile's slope)",
                                xtol=1e-8 * (hi - lo), rtol=1e-12)
                    v = self.profile_near(x)
                    if v < prof[i]:
                        return float(x), float(v)
        return float(grid[i]), float(prof[i])

    def auto_range(self, level: float) -> Tuple[float, float]:
        """A symmetric scan range (x >= 0 for even parameters) wide enough that the profile rises
        more than ``level`` + 2 above the lowest value seen at both ends: x doubles from the parameter's
        scale (the profile at a batch of doublings computed at once, the stopping rule applied in order).

        Its minimisations do not count towards the fit's convergence (they are kept in
        ``self.range_convergence``): they only place the scan, whose every point is minimised again, and a
        range cut short by an unsettled point shows as an interval end at the scan's end -- unbounded, never a
        number.  (Measured: the joint conus-plus + COHERENT q_ee fit has two range points crawling along a flat
        valley after 440 Newton steps, 1e-4 in chi^2 above their minimum.)"""
        with watch(detached=True) as record:
            self.range_convergence = record
            return self._auto_range(level)

    def _auto_range(self, level: float) -> Tuple[float, float]:
        if self.par.bounded:
            return self.par.bounds  # its whole physical range
        s = self.scale[self.param]
        self.zscale = s
        lowest = np.inf
        batch = 8
        n_doublings = self._meaningful_doublings(s)
        # the doublings start 16x below what the data resolve of the parameter (its own shift moving chi^2 by 1):
        # below, the profile is flat to ~1/256 and cannot stop the search (measured: a COHERENT charge started at
        # a reactor's 1e-12 e spent 17 doublings there)
        first = int(np.clip(np.floor(np.log2(self._sensitivity([self.param])[0] / s / 16.0)), 0, max(n_doublings - 1, 0)))
        for k0 in range(first, n_doublings, batch):
            x = s * 2.0 ** np.arange(k0, min(k0 + batch, n_doublings))
            xs = np.concatenate([[0.0] if k0 == first else [], x, [] if self.even else -x])
            with np.errstate(over="ignore", invalid="ignore"):  # far beyond the range: may overflow, not used
                # (an expensive statistic: no extra steps for points still crawling -- they are far beyond the range,
                # where a normalisation nuisance flattens the profile; measured: 10,000 of a CsI q_ee fit's 30,000
                # chi^2 values went to four points at 1e-5..1e-4 e)
                vals, z = self.profile_points(xs, ladder=self._SCAN_LADDER, starts_polished=self._basins,
                                              more_steps=not self._economical)
            if k0 == first:  # x = 0 (solved beside the first batch): also from the batch's solutions (its minimum may be far)
                v0 = self.profile_points(np.array([0.0]), starts=z[None], ladder=np.zeros(0))[0][0]
                lowest = float(min(vals[0], v0))
                vals = vals[1:]
            up, down = vals[:x.size], (vals[:x.size] if self.even else vals[x.size:])
            for j in range(x.size):
                lowest = min(lowest, up[j], down[j])
                if up[j] - lowest > level + 2.0 and down[j] - lowest > level + 2.0:
                    reach = float(x[j])
                    mirrors = self._mirror_points()
                    mirrors = mirrors[(np.abs(mirrors) > reach) & ((mirrors >= 0) | (not self.even))]
                    if mirrors.size:  # a second island, the first reflected about the rate's stationary point
                        with np.errstate(over="ignore", invalid="ignore"):
                            mv = self.profile_points(mirrors, ladder=self._SCAN_LADDER)[0]
                        near = mirrors[mv - lowest <= level + 2.0]
                        if near.size:  # as wide as the first: reach past it by the first's reach
                            reach = float(np.max(np.abs(near))) + reach
                    self.zscale = reach
                    return (0.0 if self.even else -reach), reach
        # never 2.71 above the minimum within 2^40 times the parameter's scale (e.g. a normalisation nuisance
        # absorbing the signal): the scan ends there and the fit reports the open end as unbounded
        self.zscale = s * 2.0 ** (n_doublings - 1)
        return (0.0 if self.even else -s * 2.0 ** n_doublings), s * 2.0 ** n_doublings

    def _meaningful_doublings(self, s: float) -> int:
        """How far (in doublings of ``s``) the scan may go: at most 2^40 s, and not beyond where the predicted
        events exceed 10^6 times the data's scale -- there the normalisation nuisance has absorbed the signal
        and the statistic is rounding noise, not information (its 'crossings' there would be artefacts)."""
        scale = float(np.abs(self.chi2.data).sum() + np.abs(getattr(self.chi2, "sigma", 0.0)).sum()) + 1.0
        for k in range(1, _DOUBLINGS + 1):
            x = s * 2.0 ** k
            pts = np.tile(self._base, (2, 1))
            pts[:, self._i_param] = (x, -x)
            with np.errstate(over="ignore", invalid="ignore"):
                total = np.abs(self.basis.evaluate_many(pts)).sum(axis=1)
            if not np.all(np.isfinite(total)) or total.max() > 1e6 * scale:
                return max(k, 1)
        return _DOUBLINGS

    def _mirror_points(self) -> np.ndarray:
        """Values of x where the predicted total rate comes back to its value at x = 0: twice each real
        stationary point of the rate as a polynomial in x (the other parameters at their base values).  A
        charge radius or millicharge enters the weak charge linearly, so the rate is a parabola in it and a
        second minimum of chi^2 can sit at the mirror of the first (the other sign of Q_V), beyond a stretch
        where the profile rises far above the level."""
        coef: Dict[int, float] = {}
        for m, row in zip(self.basis.monomials, self.basis.B):
            factor = 1.0
            for name, pw in m:
                if name != self.param:
                    factor *= float(self._base[self.basis.names.index(name)]) ** pw
            k = dict(m).get(self.param, 0)
            coef[k] = coef.get(k, 0.0) + factor * float(row.sum())
        deg = max(coef)
        if deg < 2:
            return np.zeros(0)
        c = np.array([coef.get(k, 0.0) for k in range(deg + 1)])  # c[k] x^k
        roots = np.polynomial.polynomial.Polynomial(c).deriv().roots()
        real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(np.abs(roots.real), 1e-300)].real
        return 2.0 * real


def _modelled_range(cls, names: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the range each parameter is modelled over: its bounds where they are not physical
    (a neutron radius: its polynomial is not valid beyond them), else (-inf, inf)."""
    b = np.array([cls.parameter(p).bounds if not cls.parameter(p).physical_bounds else (-np.inf, np.inf)
                  for p in names], dtype=float).reshape(-1, 2)
    return b[:, 0], b[:, 1]


#: the widest scan: 2^40 (1e12) times the parameter's typical scale
_DOUBLINGS = 40


def _brentq(f: Callable[[float], float], a: float, b: float, what: str, **kw: Any) -> float:
    """scipy's brentq, a failure to converge reported (:func:`cevns.convergence.failed`) instead of raised; so is a
    bracket whose ends no longer differ in sign (the values it was chosen from, e.g. a scan's, and the values
    evaluated again disagree: a profile that did not converge), which returns the end nearer the crossing."""
    try:
        x, r = optimize.brentq(f, a, b, full_output=True, disp=False, **kw)
    except ValueError:
        fa, fb = f(a), f(b)
        failed(f"{what} (Brent: no sign change between the bracket's ends, {fa:.3g} and {fb:.3g})")
        return float(a if abs(fa) <= abs(fb) else b)
    if not r.converged:
        failed(f"{what} (Brent: {r.flag})")
    return float(x)


def fit(exp, param: str = "sin2w", channels: str = "cevns+eves", levels: Iterable = DEFAULT_LEVELS,
        grid: Optional[Sequence[float]] = None, n_grid: int = 201, fixed: Optional[Dict[str, float]] = None,
        free: Optional[Sequence[str]] = None, model: Optional[Model] = None) -> FitResult:
    """Best fit, Delta chi^2 profile and intervals of one parameter.

    The other parameters of the same family (e.g. q_emu, q_etau for q_ee) are marginalised
    (minimised over); sin2w is fixed at its default unless it is the parameter.  Intervals are
    located on the grid and refined by root finding; disjoint regions are kept separate.  For
    parameters that enter only squared (mu_nu, transition charges, couplings) the scan is over
    x >= 0 and the interval is on |x|.  A mediator coupling ``g`` needs its model and mass:
    ``model=VectorBL(mass_MeV=10)`` (the scan over masses is :func:`exclusion`).
    """
    lv = levels_dict(tuple(levels))
    with watch() as record:
        res = _fit(exp, param, channels, lv, grid, n_grid, fixed, free, model)
    res.converged, res.convergence = record.converged, record.reason
    return res


def _fit(exp, param: str, channels: str, lv: Dict[str, float], grid: Optional[Sequence[float]], n_grid: int,
         fixed: Optional[Dict[str, float]], free: Optional[Sequence[str]], model: Optional[Model]) -> FitResult:
    if model is not None:
        model = as_model(model)
    if model is None and model_for_parameter(param).mass_table:
        raise CevnsInputError(f"{param!r} is a mediator coupling: say which mediator and mass, e.g. "
                              f"fit('{param}', model=VectorBL(mass_MeV=10)), or scan masses with exclusion()")
    if model is not None:
        if param not in type(model).parameter_table:
            raise CevnsInputError(f"{param!r} is not a parameter of {type(model).name}")
        model = model.replace(**(fixed or {}))
    prob = _Problem(exp, param, channels, fixed, free, model)
    if grid is None:
        lo, hi = prob.auto_range(max(lv.values()))
        g = np.linspace(lo, hi, n_grid)
    else:
        g = np.asarray(grid, dtype=float)
        if g.ndim != 1 or g.size < 3 or np.any(np.diff(g) <= 0):
            raise CevnsInputError("grid must be an increasing sequence of at least 3 values")
    prof = prob.profile_many(g)
    best, chi2_min = prob.global_min(g, prof)
    chi2_min = min(chi2_min, float(prof.min()))
    f = lambda x: prob.profile_near(x) - chi2_min

    def f_slope(x: float) -> Tuple[float, float]:  # Newton's method for the edges (free parameters: each value costs)
        v, s = prob.profile_slope_near(x)
        return v - chi2_min, s

    intervals = {k: find_intervals(f, g, level, prof - chi2_min, f_slope if prob.free else None) for k, level in lv.items()}
    # an interval end at the end of the scan is a physical boundary (|x| >= 0, a declared bound) or unbounded
    lo_bound, hi_bound = prob.par.bounds
    physical_lo = (g[0] == lo_bound and prob.par.physical_bounds) or (prob.even and g[0] == 0.0)
    physical_hi = g[-1] == hi_bound and prob.par.physical_bounds
    open_ends = {k: [[bool(a == g[0] and not physical_lo), bool(b == g[-1] and not physical_hi)] for a, b in ivs]
                 for k, ivs in intervals.items()}
    at_boundary, boundary = _boundary(param, prob, g, best, physical_lo, physical_hi, grid is not None)
    ndof = goodness_of_fit_ndof(exp, 1 + len(prob.free))
    mdl = prob.model
    held = held_fixed(mdl, [param, *prob.free], {k for m in prob.basis.monomials for k, _ in m})
    label = (f"{type(mdl).__name__}(" + ", ".join([f"{k}={mdl.values()[k]:g}" for k in type(mdl).mass_table]
                                                  + [f"{k}={v!r}" for k, v in mdl.options.items()]) + ")"
             if type(mdl).mass_table else "")
    return FitResult(param, "+".join(prob.channels), best, intervals, chi2_min, ndof, prob.unit, g, prof - chi2_min,
                     prob.free, exp.inputs(), label, open_ends, at_boundary, boundary, statistic=statistic_kind(exp),
                     fixed=held)


def held_fixed(model: Model, varied: Sequence[str], seen: Optional[Iterable[str]] = None) -> Dict[str, float]:
    """The coupling parameters of ``model`` that a fit held fixed (not ``varied``), with their values: what every
    result states beside the marginalised ones.  With ``seen`` (the parameters the data depend on), a parameter
    of target elements the data do not have (rn_Ge of a CsI fit) is left out."""
    values = model.values()
    shown = None if seen is None else set(seen)
    return {p.name: float(values[p.name]) for p in type(model).PARAMETERS if p.name not in varied
            and not (p.elements and shown is not None and p.name not in shown)}


def _boundary(param: str, prob: "_Problem", g: np.ndarray, best: float, physical_lo: bool, physical_hi: bool,
              user_grid: bool) -> Tuple[bool, str]:
    """Whether the best fit sits on an edge of the allowed range, and which: a physical limit (a bound declared with
    the parameter, e.g. sin2w at 0 or 1; |x| = 0 of a parameter that enters squared) or the end of the scan (the
    data do not bound the parameter)."""
    tol = 1e-9 * (g[-1] - g[0])
    u = f" {prob.unit}" if prob.unit else ""
    for end, physical, side in ((g[0], physical_lo, "lower"), (g[-1], physical_hi, "upper")):
        if abs(best - end) > tol:
            continue
        if physical and end in prob.par.bounds:
            lo, hi = prob.par.bounds
            return True, (f"{param} = {end:g}, the {side} end of its physical range [{lo:g}, {hi:g}]: the Delta chi^2 "
                          "intervals are cut there and their coverage is not the nominal one (see `cevns coverage`)")
        if physical:
            return True, (f"{param} = 0, the physical limit of |{param}| (it enters the rates squared): the data "
                          f"prefer no signal, and the interval is an upper limit on |{param}|")
        what = "the given grid" if user_grid else "the scan"
        return True, (f"{param} = {end:.4g}{u}, the {side} end of {what}, not a physical limit: the minimum may lie "
                      "beyond it")
    return False, ""


def limit(exp, param: str, cl: float | str = 0.90, channels: str = "cevns+eves", **kw) -> FitResult:
    """Allowed region at one confidence level (default 90% C.L., Delta chi^2 = 2.71)."""
    return fit(exp, param, channels, levels=(cl,), **kw)


#: the most masses of one exclusion curve, and grid points per axis of one contour
MAX_MASSES, MAX_CONTOUR_N = 100_000, 1000
#: the heaviest mediator mass an exclusion takes [MeV] (10 TeV: far above where any of these data constrain g,
#: and below where the propagator's M^2 overflows in the rates)
MAX_MEDIATOR_MASS_MeV = 1e7
#: a contour with three or more marginalised parameters (13^k search candidates per grid point) searches the whole
#: candidate grid at every CONTOUR_SEARCH_EVERY-th point of its snake (and its last) and follows the solutions by continuation in
#: between, searching in full where the continuation fails (marginalise_many's ``search_every``)
CONTOUR_SEARCH_EVERY = 5
#: the contour's time estimate (_contour_estimate): chi^2 evaluations of the polish and the continuation per grid
#: point, by the number of marginalised parameters, and the cost of a warm-started Poisson profile relative to a cold
#: one (measured on the CsI contours, docs/performance.md)
CONTOUR_POLISH_EVALS = {1: 200, 2: 700, 3: 1800}
CONTOUR_WARM = 0.4
#: candidate points (grid points x marginalise_many's search candidates) per batch of contour rows: ~40 MB
CONTOUR_BATCH = 2**17


def default_masses(n: int = 121) -> np.ndarray:
    """Logarithmic mediator masses from 0.01 MeV to 10 GeV [MeV]."""
    return np.geomspace(0.01, 1e4, n)


def exclusion(exp, model: str = "scalar", channels: str = "cevns+eves", cl: float | str = 0.90, dof: int = 1,
              masses: Optional[Sequence[float]] = None, convention: str = "universal",
              g_range: Optional[Tuple[float, float]] = None, n_g: int = 400,
              progress: Optional[Callable[[int, int], None]] = None,
              fixed: Optional[Dict[str, float]] = None) -> ExclusionResult:
    """Excluded couplings of a light mediator ("scalar" or "vector-bl") at each mass.

    Delta chi^2 = chi^2(g) - min_g chi^2 at that mass (g >= 0), compared with the ``cl`` (0.9, "90%",
    "2sigma": :func:`cevns.stats.parse_cl`) quantile for ``dof`` degrees of freedom (dof = 1: 2.71 at 90%,
    a raster scan in mass, the default; dof = 2: 4.61).  Per mass the rate is a polynomial in g (the basis), so the scan over
    ``n_g`` couplings is one matrix product; the boundary is refined with Brent's method.
    ``g_range`` defaults to (1e-9, 1) for universal couplings and (1e-18, 1) for the product
    convention (whose g is the square of the universal one); should a boundary still fall below the
    range, it is followed downwards (and the minimum of chi^2 searched there too).
    Allowed islands above the first excluded coupling are reported, not hidden.  ``fixed``: values of the model's
    other parameters (e.g. {"sin2w": 0.231}; default: their declared defaults), held at every mass.
    """
    if model not in MODELS or not MODELS[model].mass_table:
        mediators = sorted(k for k, c in MODELS.items() if c.mass_table)
        raise CevnsInputError(f"exclusion model must be a mediator model ({', '.join(mediators)}), got {model!r}")
    if isinstance(dof, bool) or not isinstance(dof, (int, np.integer)) or dof < 1:
        raise CevnsInputError(f"dof must be a positive integer, got {dof!r}")
    level_cl = parse_cl(cl)
    with watch() as record:
        res = _exclusion(exp, model, channels, level_cl, dof, masses, convention, g_range, n_g, progress,
                         _exclusion_fixed(MODELS[model], fixed))
    res.converged, res.convergence = record.converged, record.reason
    return res


def _exclusion_fixed(cls, fixed: Optional[Dict[str, float]]) -> Dict[str, float]:
    """Checked ``fixed`` values of an exclusion: parameters of the mediator model other than its coupling and mass."""
    fixed = dict(fixed or {})
    for name in fixed:
        par = cls.parameter(name)
        if par.mass or name == "g":
            raise CevnsInputError(f"an exclusion scans {name}: it cannot be fixed (fix the other parameters of "
                                  f"{cls.name}: {', '.join(p.name for p in cls.PARAMETERS if p.name != 'g')})")
    return fixed


def _exclusion(exp, model: str, channels: str, cl: ConfidenceLevel, dof: int, masses: Optional[Sequence[float]],
               convention: str, g_range: Optional[Tuple[float, float]], n_g: int,
               progress: Optional[Callable[[int, int], None]], fixed: Dict[str, float]) -> ExclusionResult:
    level = cl.delta_chi2(dof)
    ch = exp.channels(channels)
    M = default_masses() if masses is None else np.asarray(masses, dtype=float)
    if M.ndim != 1 or M.size == 0 or np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise CevnsInputError("masses must be a non-empty list of positive numbers (MeV)")
    if np.any(M > MAX_MEDIATOR_MASS_MeV):
        raise CevnsInputError(f"mediator masses must be at most {MAX_MEDIATOR_MASS_MeV:g} MeV (10 TeV), got up to "
                              f"{M.max():g} MeV")
    if M.size > MAX_MASSES:
        raise CevnsInputError(f"{M.size} masses: at most {MAX_MASSES}")
    chi2 = chi2_of(exp)
    if g_range is None:
        g_range = (1e-18, 1.0) if convention == "product" else (1e-9, 1.0)
    lo_g, hi_g = (check_positive("g_range", v) for v in g_range)
    if not hi_g > lo_g:
        raise CevnsInputError(f"g_range must be (lo, hi) with 0 < lo < hi, got {tuple(g_range)}")
    g_grid = np.geomspace(lo_g, hi_g, n_g)
    # per mass the prediction is a polynomial in g: coefficients C[mass, power, bin] from the basis (only this is per mass)
    coefs = []
    template = MODELS[model](mass_MeV=float(M[0]), convention=convention, **fixed)
    for c in ch:  # every mass's basis in one expansion (engine.prefetch), then read from the cache below
        exp.engine.prefetch(template, c, M)
    if not any("g" in dict(m) for m in combined_basis(exp, template, ch).monomials):
        raise CevnsInputError(f"{exp.name} has no events in {'+'.join(ch)}: no coupling can be excluded")
    for k, mass in enumerate(M):
        mdl = MODELS[model](mass_MeV=float(mass), convention=convention, **fixed)
        coefs.append(_g_coefficients(combined_basis(exp, mdl, ch), mdl.values()))
        if progress:
            progress(k + 1, M.size + n_g + 2)
    C = np.stack(coefs)
    every = np.arange(M.size)
    gg = np.concatenate([[0.0], g_grid])
    if progress is not None and callable(getattr(progress, "estimate", None)):
        progress.estimate(_exclusion_estimate(chi2, C, gg),  # type: ignore[attr-defined]
                          f"{M.size} masses x {gg.size} couplings, the minimum and the edges of each")
    vals, states = _scan(chi2, C, gg, level, None if progress is None else lambda i: progress(M.size + i, M.size + n_g + 2))
    # the minimum over g between the neighbours of the lowest scan point, all masses at once
    i_min = np.argmin(vals, axis=1)
    cmin = vals[every, i_min]
    inner = np.flatnonzero((i_min > 0) & (i_min < gg.size - 1))
    if inner.size:
        cmin[inner] = np.minimum(cmin[inner], _grid_min(chi2, C, inner, gg[i_min[inner] - 1], gg[i_min[inner] + 1],
                                                        None if states is None else states[inner, i_min[inner]]))
    d = vals[:, 1:] - cmin[:, None]
    above = d > level
    out_g = np.where(above.any(axis=1), np.nan, np.inf)
    j = np.argmax(above, axis=1)
    # the first crossing of the level, refined between the scan points around it, all masses at once
    first = np.flatnonzero(above.any(axis=1) & (j > 0))
    if first.size:
        out_g[first] = _roots(chi2, C, first, g_grid[j[first] - 1], g_grid[j[first]], cmin[first] + level,
                              None if states is None else states[first, j[first]])
    for kb in np.flatnonzero(above.any(axis=1) & (j == 0)):  # excluded already at the bottom of the scan (rare)
        out_g[kb], cmin[kb] = _exclusion_below_scan(chi2, C[kb], g_grid, cmin[kb], level)
    islands = _islands(chi2, C, states, g_grid, M, above, j, out_g, cmin, level)
    if progress:
        progress(M.size + n_g + 2, M.size + n_g + 2)
    return ExclusionResult(model, "+".join(ch), cl.probability, level, M, out_g, islands, convention, cl.label, dof)


#: the exclusion's time estimate (_exclusion_estimate): the whole exclusion costs about this many times its first
#: coupling's profiles (all masses, from zero) per coupling of the scan; measured 0.6-2.2 on the built-in data sets
#: alone and combined (docs/performance.md), so the estimate is good to a factor of about two
EXCLUSION_PER_COUPLING = 1.2


def _exclusion_estimate(chi2, C: np.ndarray, gg: np.ndarray) -> float:
    """Seconds an exclusion will take, roughly: its first coupling (g = gg[0], every mass, nuisances from zero)
    timed, times the couplings of the scan and ``EXCLUSION_PER_COUPLING``."""
    t = time.perf_counter()
    warm_chi2(chi2, np.einsum("k,mkb->mb", gg[0] ** np.arange(C.shape[1]), C), None)
    return (time.perf_counter() - t) * gg.size * EXCLUSION_PER_COUPLING


def _islands(chi2, C: np.ndarray, states: Optional[np.ndarray], g_grid: np.ndarray, M: np.ndarray, above: np.ndarray,
             j: np.ndarray, out_g: np.ndarray, cmin: np.ndarray, level: float) -> List[Dict[str, Any]]:
    """The allowed islands above the first excluded coupling of each mass: every run of scan points back inside the
    region, its edges refined all at once (an edge at the end of the scan kept there)."""
    edges: List[Tuple[int, int, int, float, float, Optional[float]]] = []  # (mass, island, side, a, b, fixed edge)
    runs: Dict[int, List[List[float]]] = {}
    last = g_grid.size - 1
    for km in np.flatnonzero(above.any(axis=1)):
        k = int(km)
        inside = ~above[k]
        inside[:j[k]] = False
        if not inside.any():
            continue
        starts = np.flatnonzero(inside & ~np.concatenate([[False], inside[:-1]]))
        ends = np.flatnonzero(inside & ~np.concatenate([inside[1:], [False]]))
        runs[k] = [[np.nan, np.nan] for _ in starts]
        for r, (i0, i1) in enumerate(zip(starts.tolist(), ends.tolist())):
            edges.append((k, r, 0, float(g_grid[max(i0 - 1, 0)]), float(g_grid[i0]), float(g_grid[0]) if i0 == 0 else None))
            edges.append((k, r, 1, float(g_grid[i1]), float(g_grid[min(i1 + 1, last)]),
                          float(g_grid[i1]) if i1 == last else None))
    if edges:
        idx = np.array([e[0] for e in edges])
        free_edges = np.array([e[5] is None for e in edges])
        roots = np.array([e[5] if e[5] is not None else np.nan for e in edges], dtype=float)
        if free_edges.any():
            sel = np.flatnonzero(free_edges)
            lo_e = np.array([edges[i][3] for i in sel])
            roots[sel] = _roots(chi2, C, idx[sel], lo_e, np.array([edges[i][4] for i in sel]), cmin[idx[sel]] + level,
                                None if states is None else states[idx[sel], np.searchsorted(g_grid, lo_e) + 1])
        for (k, r, side, *_), x in zip(edges, roots):
            runs[k][r][side] = float(x)
    islands = []
    for k in sorted(runs):
        regs = [rg for rg in runs[k] if rg[0] > out_g[k]]
        if regs:
            islands.append({"mass_MeV": float(M[k]), "allowed_g": regs})
    return islands


def _g_coefficients(basis: Basis, values: Dict[str, float]) -> np.ndarray:
    """The prediction as a polynomial in the coupling g: coefficients (power of g, bin), the other
    parameters of the basis at ``values``."""
    powers = [dict(m).get("g", 0) for m in basis.monomials]
    out = np.zeros((max(powers) + 1, basis.B.shape[1]))
    for m, k, row in zip(basis.monomials, powers, basis.B):
        factor = 1.0
        for name, pw in m:
            if name != "g":
                factor *= values[name] ** pw
        out[k] += factor * row
    return out


def _chi2_rows(chi2, preds: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """chi^2 of many predictions (rows), in cache-sized chunks."""
    out = np.empty(preds.shape[0])
    for a in range(0, preds.shape[0], chunk):
        out[a:a + chunk] = chi2(preds[a:a + chunk])
    return out


def _scan(chi2, C: np.ndarray, gg: np.ndarray, level: float,
          tick: Optional[Callable[[int], None]] = None) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """chi^2 at every mass (C: coefficients per mass, power of g and bin) and coupling ``gg``: (values (mass,
    coupling), the profiled nuisances there (mass, coupling, nuisance) or None).  A statistic with nuisances to
    profile (Poisson parts) is scanned coupling by coupling, all masses at once, each profile started from the
    nuisances of the coupling below (continuation in g: ~2 Newton steps instead of ~7 from zero), and a profile
    stops as soon as its minimum is certainly more than ``level`` + 1 above the lowest value of its mass so far
    (the scan needs only know that the point is excluded; the lowest value so far is at or above the mass's minimum,
    so such a point is above the level however the minimum is refined): its value is then above its minimum, and
    above the level.  The multipliers of each mass's profile are carried up the couplings too: where the bound they
    give (weak duality) is already above that line, the point is certified without a Newton step (at large couplings
    the warm start leaves the allowed region and a profile from zero took ~20 steps).  ``tick(i)``: told the
    couplings done."""
    powers = gg[:, None] ** np.arange(C.shape[1])
    k = state_size(chi2)
    if k == 0:
        vals = _chi2_rows(chi2, np.einsum("gk,mkb->mgb", powers, C).reshape(-1, C.shape[2]))
        if tick is not None:
            tick(gg.size)
        return vals.reshape(C.shape[0], gg.size), None
    vals, states = np.empty((C.shape[0], gg.size)), np.empty((C.shape[0], gg.size, k))
    state, lowest = None, np.full(C.shape[0], np.inf)
    dual = np.full((C.shape[0], C.shape[2]), np.nan)
    for i in range(gg.size):
        vals[:, i], state = warm_chi2(chi2, np.einsum("k,mkb->mb", powers[i], C), state,
                                      lowest + level + 1.0 if i else None, dual)
        lowest = np.minimum(lowest, vals[:, i])
        states[:, i] = state
        if tick is not None:
            tick(i + 1)
    return vals, states


def _chi2_at(chi2, C: np.ndarray, idx: np.ndarray, g: np.ndarray, state: Optional[np.ndarray] = None) -> tuple:
    """chi^2 at coupling g[i] of mass idx[i] (C: coefficients per mass, power of g and bin), and the profiled
    nuisances there, each profile started from its row of ``state`` (None: from zero; nuisances not returned)."""
    gp = np.asarray(g, dtype=float)[:, None] ** np.arange(C.shape[1])
    preds = np.einsum("nk,nkb->nb", gp, C[idx])
    if state is None:
        return _chi2_rows(chi2, preds), None
    return warm_chi2(chi2, preds, state)


def _grid_min(chi2, C: np.ndarray, idx: np.ndarray, a: np.ndarray, b: np.ndarray,
              state: Optional[np.ndarray] = None) -> np.ndarray:
    """Minimum of chi^2 over g in [a, b] for each mass idx, all at once: 17 points across the bracket, the bracket
    shrunk to the neighbours of the lowest (8x per round) until it is 1e-9 of its start, like the bounded Brent
    search it replaces; the lowest value seen.  ``state``: profiled nuisances per mass to start from (each round
    then starts from those of the last round's lowest point)."""
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    state = None if state is None else np.array(state, dtype=float)
    t = np.linspace(0.0, 1.0, 17)
    best = np.full(a.size, np.inf)
    stop = 1e-9 * (b - a)
    for _ in range(30):
        act = np.flatnonzero(b - a > stop)
        if act.size == 0:
            break
        xs = a[act, None] + t[None, :] * (b - a)[act, None]
        f, st = _chi2_at(chi2, C, np.repeat(idx[act], t.size), xs.ravel(),
                         None if state is None else np.repeat(state[act], t.size, axis=0))
        f = f.reshape(act.size, t.size)
        i = np.argmin(f, axis=1)
        best[act] = np.minimum(best[act], f[np.arange(act.size), i])
        rows = np.arange(act.size)
        if state is not None:
            state[act] = st.reshape(act.size, t.size, -1)[rows, i]
        a[act], b[act] = xs[rows, np.maximum(i - 1, 0)], xs[rows, np.minimum(i + 1, t.size - 1)]
    failed("minimum over the coupling (bracket shrinking, 30 rounds)", int(np.count_nonzero(b - a > stop)))
    return best


def _roots(chi2, C: np.ndarray, idx: np.ndarray, a: np.ndarray, b: np.ndarray, target: np.ndarray,
           state: Optional[np.ndarray] = None) -> np.ndarray:
    """g in [a, b] where chi^2 of mass idx crosses ``target`` (one sign change per bracket), all brackets at once:
    regula falsi with the Illinois rule, bisecting when a bracket shrinks too slowly; to 1e-12 of a and 1e-10
    relative, as the Brent root finding it replaces.  ``state``: profiled nuisances per bracket to start from
    (each step then starts from those of the bracket's last point)."""
    a, b = np.array(a, dtype=float), np.array(b, dtype=float)
    fa, state = _chi2_at(chi2, C, idx, a, state)
    fb, state = _chi2_at(chi2, C, idx, b, state)
    fa, fb = fa - target, fb - target
    x = 0.5 * (a + b)
    tol = 1e-12 * np.abs(a) + 1e-10 * np.abs(b)
    side = np.zeros(a.size, dtype=int)
    width = b - a
    for it in range(300):
        act = np.flatnonzero(b - a > tol)
        if act.size == 0:
            break
        aa, bb, ffa, ffb = a[act], b[act], fa[act], fb[act]
        xs = (aa * ffb - bb * ffa) / (ffb - ffa)
        slow = (b[act] - a[act]) > 0.5 * width[act]  # the last step did not halve the bracket: bisect
        bad = ~np.isfinite(xs) | (xs <= aa) | (xs >= bb) | (slow & (it % 3 == 2))
        xs[bad] = 0.5 * (aa[bad] + bb[bad])
        width[act] = b[act] - a[act]
        fx, st = _chi2_at(chi2, C, idx[act], xs, None if state is None else state[act])
        fx = fx - target[act]
        if state is not None:
            state[act] = st
        x[act] = xs
        left = np.sign(fx) == np.sign(ffa)  # the root is in [x, b]
        hit = fx == 0
        la, ra = act[left & ~hit], act[~left & ~hit]
        a[la], fa[la] = xs[left & ~hit], fx[left & ~hit]
        fb[la] *= np.where(side[la] == 1, 0.5, 1.0)  # Illinois: the end kept twice has its value halved
        side[la] = 1
        b[ra], fb[ra] = xs[~left & ~hit], fx[~left & ~hit]
        fa[ra] *= np.where(side[ra] == -1, 0.5, 1.0)
        side[ra] = -1
        h = act[hit]
        a[h] = b[h] = xs[hit]
    failed("exclusion edge (regula falsi, 300 steps)", int(np.count_nonzero(b - a > tol)))
    return x


def _exclusion_below_scan(chi2, Ck: np.ndarray, g_grid: np.ndarray, cmin: float, level: float) -> Tuple[float, float]:
    """One mass excluded already at the bottom of the coupling scan: (excluded coupling, chi^2_min).  0 if even
    g = 0 is outside (the allowed region, if any, is an island); else the minimum and the crossing searched below."""
    one = np.zeros(1, dtype=int)
    chi = lambda t: float(_chi2_at(chi2, Ck[None], one, np.array([t]))[0][0])  # noqa: E731
    f = lambda t: chi(t) - cmin - level  # noqa: E731
    if f(0.0) > 0:
        return 0.0, cmin
    low = np.geomspace(g_grid[0] * 1e-12, g_grid[0], 241)
    lv = _chi2_at(chi2, Ck[None], np.zeros(low.size, dtype=int), low)[0]
    i = int(np.argmin(lv))
    a, b = low[max(i - 1, 0)], low[min(i + 1, low.size - 1)]
    r = optimize.minimize_scalar(chi, method="bounded", bounds=(a, b), options={"xatol": 1e-9 * (b - a)})
    if not r.success:
        failed(f"minimum over the coupling below the scan (bounded Brent search: {r.message})")
    cmin = min(cmin, float(lv[i]), float(r.fun))
    lo = g_grid[0]
    while f(lo) > 0 and lo > 1e-300:
        lo *= 1e-3
    return _brentq(f, lo, min(lo * 1e3, g_grid[0]), "exclusion edge below the scan", xtol=1e-12 * lo, rtol=1e-10), cmin


def _checked_free(cls, params: Sequence[str], free: Sequence[str], fixed: Dict[str, float]) -> List[str]:
    """``free`` checked: other parameters of ``cls``, none of them among ``params`` or ``fixed``."""
    out = []
    for q in free:
        cls.parameter(q)  # an unknown name is an error naming the model's parameters
        if q in params:
            raise CevnsInputError(f"{q} is a parameter of interest here; it cannot also be marginalised (--free)")
        if q in fixed:
            raise CevnsInputError(f"{q} is both fixed and free: give it to one of --fix and --free")
        out.append(q)
    return out


def _contour_model(params: Sequence[str]):
    if len(params) != 2 or params[0] == params[1]:
        raise CevnsInputError(f"a contour needs two different parameters, got {tuple(params)!r}")
    owners = [model_for_parameter(p) for p in params if model_for_parameter(p).family()]
    if not owners:
        raise CevnsInputError(f"a contour needs at least one parameter of a model beyond the SM, got {tuple(params)!r}")
    cls = owners[0]
    if any(p not in cls.parameter_table for p in params):
        raise CevnsInputError(f"{params[0]} and {params[1]} belong to different models; a contour needs two "
                              f"parameters of one model (e.g. {cls.name}: {', '.join(cls.parameter_table)})")
    if cls.mass_table:
        raise CevnsInputError(f"contours of {cls.name} need a mass; use exclusion() for the (M, g) plane")
    return cls


def contour(exp, params: Sequence[str], channels: str = "cevns+eves", cl: float | str = 0.90, dof: int = 2,
            n: int = 61, ranges: Optional[Dict[str, Tuple[float, float]]] = None,
            fixed: Optional[Dict[str, float]] = None,
            progress: Optional[Callable[[int, int], None]] = None,
            free: Optional[Sequence[str]] = None) -> ContourResult:
    """Delta chi^2 over a grid of two parameters of one model, the rest of the family marginalised.

    ``params``: two parameters of the same model, e.g. ("q_ee", "q_emu"), ("r2_ee", "r2_emu") or
    ("sin2w", "mu_nu").  The region Delta chi^2 <= ``level`` is the allowed region at ``cl`` for
    ``dof`` degrees of freedom: dof = 2 (default; a joint region, 4.61 at 90% C.L.) or dof = 1
    (2.71; its projections are the one-parameter intervals of :func:`fit`).  The grid spans the
    one-parameter allowed range at the level, padded by 15% on each side, or ``ranges``
    {param: (lo, hi)}; ``n`` points per axis.  Per grid point the other parameters of the family
    are minimised over (vectorised: :func:`marginalise_many`); chi^2_min is polished from the
    best grid point with a simplex search over all parameters.  ``fixed``: values of other parameters of the
    model; ``free``: the parameters to marginalise instead of the default (the family members sharing a flavour
    with either parameter); the rest are held at their defaults or ``fixed`` values, as the result states.
    ``progress(done, total)`` is told the grid points done (moving inside a batch of rows); if it has a method
    ``estimate(seconds, what)`` (as :class:`cevns.cli.Progress`), that is told a rough estimate of the run time first.
    """
    cls = _contour_model(params)
    if dof not in (1, 2):
        raise CevnsInputError(f"dof must be 1 or 2, got {dof!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 5 <= n <= MAX_CONTOUR_N:
        raise CevnsInputError(f"n (grid points per axis) must be an integer in [5, {MAX_CONTOUR_N}], got {n!r}")
    level = delta_chi2_level(cl, dof)
    if isinstance(cl, ConfidenceLevel):  # the result keeps the level as given: a number or its text
        cl = cl.label
    with watch() as record:
        res = _contour(exp, cls, params, channels, cl, dof, level, n, ranges, fixed, progress, free)
    res.converged, res.convergence = record.converged, record.reason
    return res


def _contour_axis(exp, cls, p: str, other: str, channels: str, level: float, n: int, free: List[str],
                  fixed: Dict[str, float], model: Model, ranges: Optional[Dict[str, Tuple[float, float]]]) -> np.ndarray:
    """The grid of one contour axis: ``ranges[p]``, else the one-parameter allowed range at ``level`` (the rest of
    the family marginalised; a bounded parameter's physical range narrowed to where the profile is within level + 2)
    padded by 15% inside the parameter's bounds."""
    if ranges and p in ranges:
        lo, hi = (check_finite(f"range of {p}", v) for v in ranges[p])
        if not hi > lo:
            raise CevnsInputError(f"range of {p} must be (lo, hi) with lo < hi, got ({lo:g}, {hi:g})")
        return np.linspace(lo, hi, n)
    if not cls.parameter(p).physical_bounds:  # a modelled range (a neutron radius): all of it
        b_lo, b_hi = cls.parameter(p).bounds
        return np.linspace(b_lo, b_hi, n)
    prob = _Problem(exp, p, channels, fixed, [q for q in free + [other] if not cls.parameter(q).shared], model)
    lo, hi = prob.auto_range(level)
    if prob.par.bounded:
        xs = np.linspace(lo, hi, 201)
        prof = prob.profile_many(xs)
        inside = np.flatnonzero(prof - prof.min() <= level + 2.0)
        lo, hi = xs[max(inside[0] - 1, 0)], xs[min(inside[-1] + 1, xs.size - 1)]
    if prob.even:
        lo = -hi
    pad = 0.15 * (hi - lo)
    return np.linspace(max(lo - pad, prob.par.bounds[0]), min(hi + pad, prob.par.bounds[1]), n)


def _contour_grid(chi2, basis: Basis, base: np.ndarray, axes: List[np.ndarray], params: Sequence[str],
                  free: List[str], table: Dict[str, Tuple[float, str, float]],
                  progress: Optional[Callable[[int, int], None]]) -> Tuple[np.ndarray, np.ndarray]:
    """chi^2 on the grid, the free parameters minimised per point, and their minimising values.  The rows in
    batches, each batch one scan along a snake (row r left to right, row r + 1 right to left: every point a grid
    neighbour of the one before it), so the continuation of marginalise_many runs over the whole batch; a batch's
    first row also starts from the solutions of the row before it.  The batch size bounds the memory: points x the
    candidates of marginalise_many's search grid (25 for one free parameter, 13^k for k)."""
    names, n = basis.names, axes[0].size
    i1, i2, i_free = names.index(params[0]), names.index(params[1]), [names.index(q) for q in free]
    scales, units = {q: table[q][2] for q in table}, {q: table[q][1] for q in table}
    grid = np.empty((n, n))
    zbest = np.zeros((n, n, len(free)))
    ncand = 25 if len(free) == 1 else 13 ** len(free)
    every = CONTOUR_SEARCH_EVERY if ncand >= 13 ** 3 else 1
    rows_per_batch = max(1, min(n, CONTOUR_BATCH // max(1, n * ncand)))
    if progress is not None and callable(getattr(progress, "estimate", None)):
        progress.estimate(_contour_estimate(chi2, basis, base, axes, i1, i2, i_free, ncand, every),  # type: ignore
                          f"{n} x {n} grid, {len(free)} parameter{'s' * (len(free) != 1)} marginalised")
    for r0 in range(0, n, rows_per_batch):
        rows = range(r0, min(n, r0 + rows_per_batch))
        cols = [np.arange(n) if (r - r0) % 2 == 0 else np.arange(n)[::-1] for r in rows]
        pts = np.tile(base, (len(rows) * n, 1))
        pts[:, i1] = np.repeat([axes[0][r] for r in rows], n)
        pts[:, i2] = np.concatenate([axes[1][c] for c in cols])
        widths = np.empty((pts.shape[0], len(free)))
        for j, q in enumerate(free):
            same = [np.abs(pts[:, names.index(k)]) for k in params if units[k] == units[q]]
            widths[:, j] = np.maximum.reduce(same + [np.full(pts.shape[0], scales[q])])
        fine = np.array([[scales[q] for q in free]] * pts.shape[0])
        starts = None
        if r0:
            starts = pts[:, i_free].copy()
            starts[:n] = zbest[r0 - 1]
        within = None
        if progress is not None:  # in grid points, moving inside a batch (marginalise_many's share of its work)
            def within(f: float, done: int = r0 * n, size: int = pts.shape[0]) -> None:
                progress(min(done + int(f * size), n * n), n * n)
            within(0.0)
        vals, z = marginalise_many(chi2, basis, pts, i_free, widths, fine=fine, chain=True, starts=starts,
                                   search_every=every, progress=within)
        for i, (r, c) in enumerate(zip(rows, cols)):
            grid[r, c] = vals[i * n:(i + 1) * n]
            zbest[r, c] = z[i * n:(i + 1) * n]
    return grid, zbest


def _contour_estimate(chi2, basis: Basis, base: np.ndarray, axes: List[np.ndarray], i1: int, i2: int,
                      i_free: List[int], ncand: int, every: int) -> float:
    """Seconds a contour grid will take, roughly: one chi^2 evaluation timed on 64 points of the first grid point's
    search (a cold start of its nuisances), times the evaluations expected: the search's candidates at every
    ``every``-th point, and per point ~CONTOUR_POLISH_EVALS[number of free parameters] of the polish and the
    continuation; a warm-started Poisson profile costs ~CONTOUR_WARM of a cold one (both measured on CsI,
    docs/performance.md)."""
    n, nf = axes[0].size, len(i_free)
    pts = np.tile(base, (64, 1))
    pts[:, i1], pts[:, i2] = axes[0][0], axes[1][0]
    pts[:, i_free] += np.linspace(-1.0, 1.0, 64)[:, None] * np.maximum(np.abs(base[i_free]), 1e-30)
    t = time.perf_counter()
    warm_chi2(chi2, _monomials(basis, pts) @ basis.B, None)
    per = (time.perf_counter() - t) / 64 * (CONTOUR_WARM if state_size(chi2) else 1.0)
    evals = n * n * (ncand / every + CONTOUR_POLISH_EVALS.get(nf, 600 * nf))
    return per * evals


def _contour(exp, cls, params: Sequence[str], channels: str, cl: float | str, dof: int, level: float, n: int,
             ranges: Optional[Dict[str, Tuple[float, float]]], fixed: Optional[Dict[str, float]],
             progress: Optional[Callable[[int, int], None]], chosen: Optional[Sequence[str]] = None) -> ContourResult:
    p1, p2 = params
    fixed = dict(fixed or {})
    model = cls(**fixed)
    table = cls.parameter_table
    seen = {name for ch in exp.channels(channels) for m in exp.engine.basis(model, ch).monomials for name, _ in m}
    if chosen is None:
        free = [p for p in set(default_free(cls, p1, fixed)) | set(default_free(cls, p2, fixed))
                if p not in params and p in seen]
    else:
        free = _checked_free(cls, params, chosen, fixed)
    free = [p for p in table if p in free]  # in table order
    axes = [_contour_axis(exp, cls, p, other, channels, level, n, free, fixed, model, ranges)
            for p, other in ((p1, p2), (p2, p1))]
    ch = exp.channels(channels)
    basis, chi2 = combined_basis(exp, model, ch), chi2_of(exp)
    names = basis.names
    base = np.array([model.values()[k] for k in names], dtype=float)
    i1, i2, i_free = names.index(p1), names.index(p2), [names.index(q) for q in free]
    scales = {q: table[q][2] for q in table}
    units = {q: table[q][1] for q in table}
    grid, zbest = _contour_grid(chi2, basis, base, axes, params, free, table, progress)
    k = np.unravel_index(int(np.argmin(grid)), grid.shape)
    idx = [i1, i2] + i_free
    start = np.concatenate([[axes[0][k[0]], axes[1][k[1]]], zbest[k]])
    sc = np.array([scales[p1], scales[p2]] + [scales[q] for q in free])

    r_lo, r_hi = _modelled_range(cls, [p1, p2, *free])

    def f(u):
        pt = base.copy()
        pt[idx] = u * sc
        if np.any(pt[idx] < r_lo) or np.any(pt[idx] > r_hi):  # outside a neutron radius's modelled range
            return np.inf
        return float(_batch_chi2(chi2, basis, pt[None, :])[0])

    res = optimize.minimize(f, start / sc, method="Nelder-Mead",
                            options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000})
    if not res.success and res.fun < grid.min():
        failed(f"chi2_min of the contour (Nelder-Mead: {res.message})")
    chi2_min = min(float(grid.min()), float(res.fun))
    bx, by = (res.x[:2] * sc[:2]) if res.fun < grid.min() else start[:2]
    # a parameter that enters every term of the rate with an even power (a magnetic moment) has mirror minima at
    # +-p, one point: its best fit is reported >= 0 (which mirror a minimiser reaches is decided by rounding)
    even = [all(dict(m).get(p, 0) % 2 == 0 for m in basis.monomials) for p in (p1, p2)]
    best = (float(abs(bx) if even[0] else bx), float(abs(by) if even[1] else by))
    at_boundary, boundary = False, ""
    for p, v in zip((p1, p2), best):  # declared physical edges (the other axes are the region's, not limits)
        lo, hi = cls.parameter(p).bounds
        if v <= lo or v >= hi:
            kind = "physical" if cls.parameter(p).physical_bounds else "modelled"
            at_boundary, boundary = True, f"{p} = {v:g}, an end of its {kind} range [{lo:g}, {hi:g}]"
    return ContourResult((p1, p2), "+".join(ch), (units[p1], units[p2]), cl, dof, level, axes[0], axes[1],
                         grid - chi2_min, best, chi2_min, free, exp.inputs(), goodness_of_fit_ndof(exp, 2 + len(free)),
                         statistic_kind(exp), at_boundary, boundary, fixed=held_fixed(model, [p1, p2, *free], seen))

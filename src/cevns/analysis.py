"""Measurements and limits: profiles, intervals, marginalisation, mediator exclusions.

All functions take an :class:`~cevns.experiments.Experiment`; the same calls are
methods of it (``exp.fit("sin2w")``, ``exp.limit("q_ee")``, ``exp.exclusion("scalar")``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize

from ._poly import monomial_gradient, monomial_matrix
from .errors import CevnsInputError
from .models import MODELS, Model, model_for_parameter
from .rates import Basis
from .results import ExclusionResult, FitResult
from .stats import Chi2, delta_chi2_level, find_intervals, levels_dict

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
    return Chi2(exp.data.counts, exp.data.sigma, exp.sigma_alpha)


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
        if free is None:  # the other members of the family are free (marginalised), sin2w fixed
            free = [p for p in table if p not in (param, "sin2w") and p not in (fixed or {})]
        self.free = list(free)
        self.scale = {p: table[p][2] for p in table}
        self.unit = table[param][1]
        self.values = self.model.values()
        names = self.basis.names
        self._i_param = names.index(param)
        self._i_free = [names.index(p) for p in self.free]
        self._base = np.array([self.values[n] for n in names], dtype=float)
        # is the rate even in the parameter of interest? (then |x| is what is constrained)
        self.even = all(dict(m).get(param, 0) % 2 == 0 for m in self.basis.monomials)
        self._last = np.zeros(len(self.free))
        self.zscale = self.scale[param]
        self._ladder = np.array([0.0, 0.03, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0])
        self._ladder = np.concatenate([-self._ladder[:0:-1], self._ladder])

    def chi2_points(self, x: np.ndarray, free_scaled: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, dtype=float))
        pts = np.tile(self._base, (x.size, 1))
        pts[:, self._i_param] = x
        if free_scaled is not None and len(self.free):
            pts[:, self._i_free] = np.atleast_2d(free_scaled) * np.array([self.scale[p] for p in self.free])
        return self.chi2(monomial_matrix(self.basis.monomials, self.basis.names, pts) @ self.basis.B)

    def _full_points(self, x: float, z: np.ndarray) -> np.ndarray:
        pts = np.tile(self._base, (np.atleast_2d(z).shape[0], 1))
        pts[:, self._i_param] = x
        pts[:, self._i_free] = np.atleast_2d(z)
        return pts

    def profile(self, x: float) -> float:
        """chi^2 at x minimised over the free parameters.

        A vectorised search over a coarse grid of the free parameters (scaled to the size of x
        and of the scan) picks the start; BFGS with the analytic gradient of the polynomial
        chi^2 polishes it.  Starting points on the grid avoid the stationary point at zero of
        parameters that enter only squared.
        """
        if not self.free:
            return float(self.chi2_points(np.array([x]))[0])
        nf = len(self.free)
        zs = max(abs(x), self.zscale)
        axis = zs * self._ladder
        grid = np.stack(np.meshgrid(*([axis] * nf), indexing="ij"), -1).reshape(-1, nf)
        grid = np.vstack([grid, self._last[None, :]])
        pts = self._full_points(x, grid)
        vals = self.chi2(monomial_matrix(self.basis.monomials, self.basis.names, pts) @ self.basis.B)
        z0 = grid[int(np.argmin(vals))] / zs
        mons, names, B = self.basis.monomials, self.basis.names, self.basis.B

        def fun(u):
            p = self._full_points(x, u * zs)[0]
            r = (monomial_matrix(mons, names, p[None, :]) @ B)[0]
            g = monomial_gradient(mons, names, p, self.free) @ B @ self.chi2.gradient(r)
            return float(self.chi2(r)), g * zs

        res = optimize.minimize(fun, z0, jac=True, method="BFGS", options={"gtol": 1e-9})
        best = min(float(res.fun), float(vals.min()))
        self._last = res.x * zs if res.fun <= vals.min() else grid[int(np.argmin(vals))]
        return best

    def global_min(self, grid: np.ndarray, prof: np.ndarray) -> Tuple[float, float]:
        i = int(np.argmin(prof))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        if hi > lo:
            r = optimize.minimize_scalar(self.profile, bounds=(lo, hi), method="bounded",
                                         options={"xatol": 1e-10 * max(abs(hi), abs(lo), 1e-300)})
            if r.fun < prof[i]:
                return float(r.x), float(r.fun)
        return float(grid[i]), float(prof[i])

    def auto_range(self, level: float) -> Tuple[float, float]:
        """A symmetric scan range (x >= 0 for even parameters) wide enough that the profile rises
        more than ``level`` + 2 above the lowest value seen at both ends."""
        if self.param == "sin2w":
            return 0.0, 0.6
        s = self.scale[self.param]
        seen = [self.profile(0.0)]
        x = s
        for _ in range(90):
            self.zscale = x
            up = self.profile(x)
            down = up if self.even else self.profile(-x)
            seen += [up, down]
            m = min(seen)
            if up - m > level + 2.0 and down - m > level + 2.0:
                break
            x *= 2.0
        return (0.0 if self.even else -x), x


def fit(exp, param: str = "sin2w", channels: str = "cevns+eves", levels: Iterable = DEFAULT_LEVELS,
        grid: Optional[Sequence[float]] = None, n_grid: int = 201, fixed: Optional[Dict[str, float]] = None,
        free: Optional[Sequence[str]] = None) -> FitResult:
    """Best fit, Delta chi^2 profile and intervals of one parameter.

    The other parameters of the same family (e.g. q_emu, q_etau for q_ee) are marginalised
    (minimised over); sin2w is fixed at its default unless it is the parameter.  Intervals are
    located on the grid and refined by root finding; disjoint regions are kept separate.  For
    parameters that enter only squared (mu_nu, transition charges, couplings) the scan is over
    x >= 0 and the interval is on |x|.
    """
    lv = levels_dict(tuple(levels))
    prob = _Problem(exp, param, channels, fixed, free)
    if grid is None:
        lo, hi = prob.auto_range(max(lv.values()))
        g = np.linspace(lo, hi, n_grid)
    else:
        g = np.asarray(grid, dtype=float)
        if g.ndim != 1 or g.size < 3 or np.any(np.diff(g) <= 0):
            raise CevnsInputError("grid must be an increasing sequence of at least 3 values")
    prof = np.array([prob.profile(x) for x in g])
    best, chi2_min = prob.global_min(g, prof)
    chi2_min = min(chi2_min, float(prof.min()))
    f = lambda x: prob.profile(x) - chi2_min
    intervals = {k: find_intervals(f, g, level, prof - chi2_min) for k, level in lv.items()}
    ndof = exp.data.counts.size - 1 - len(prob.free)
    return FitResult(param, "+".join(prob.channels), best, intervals, chi2_min, ndof, prob.unit, g, prof - chi2_min,
                     prob.free, exp.inputs())


def limit(exp, param: str, cl: float | str = 0.90, channels: str = "cevns+eves", **kw) -> FitResult:
    """Allowed region at one confidence level (default 90% C.L., Delta chi^2 = 2.71)."""
    return fit(exp, param, channels, levels=(cl,), **kw)


def default_masses(n: int = 121) -> np.ndarray:
    """Logarithmic mediator masses from 0.01 MeV to 10 GeV [MeV]."""
    return np.geomspace(0.01, 1e4, n)


def exclusion(exp, model: str = "scalar", channels: str = "cevns+eves", cl: float = 0.90, dof: int = 1,
              masses: Optional[Sequence[float]] = None, convention: str = "universal",
              g_range: Tuple[float, float] = (1e-9, 1.0), n_g: int = 400,
              progress: Optional[Callable[[int, int], None]] = None) -> ExclusionResult:
    """Excluded couplings of a light mediator ("scalar" or "vector-bl") at each mass.

    Delta chi^2 = chi^2(g) - min_g chi^2 at that mass (g >= 0), compared with the ``cl``
    quantile for ``dof`` degrees of freedom (dof = 1: 2.71 at 90%, a raster scan in mass, the
    default; dof = 2: 4.61).  Per mass the rate is a polynomial in g (the basis), so the scan over
    ``n_g`` couplings is one matrix product; the boundary is refined with Brent's method.
    Allowed islands above the first excluded coupling are reported, not hidden.
    """
    if model not in ("scalar", "vector-bl"):
        raise CevnsInputError(f"exclusion model must be 'scalar' or 'vector-bl', got {model!r}")
    level = delta_chi2_level(cl, dof)
    ch = exp.channels(channels)
    M = default_masses() if masses is None else np.asarray(masses, dtype=float)
    if M.ndim != 1 or M.size == 0 or np.any(~np.isfinite(M)) or np.any(M <= 0):
        raise CevnsInputError("masses must be a non-empty list of positive numbers (MeV)")
    chi2 = chi2_of(exp)
    g_grid = np.geomspace(g_range[0], g_range[1], n_g)
    out_g = np.full(M.size, np.nan)
    islands: List[Dict[str, Any]] = []
    for k, mass in enumerate(M):
        mdl = MODELS[model](mass_MeV=float(mass), convention=convention)
        basis = combined_basis(exp, mdl, ch)
        names = basis.names
        base = np.array([mdl.values()[n] for n in names])
        ig = names.index("g")

        def chi_of(gs):
            pts = np.tile(base, (np.size(gs), 1))
            pts[:, ig] = gs
            return chi2(monomial_matrix(basis.monomials, names, pts) @ basis.B)

        vals = chi_of(np.concatenate([[0.0], g_grid]))
        cmin = float(vals.min())
        i_min = int(np.argmin(vals))
        if 0 < i_min < vals.size - 1:
            gg = np.concatenate([[0.0], g_grid])
            r = optimize.minimize_scalar(lambda t: float(chi_of(np.array([t]))[0]),
                                         bounds=(gg[i_min - 1], gg[i_min + 1]), method="bounded",
                                         options={"xatol": 1e-9 * (gg[i_min + 1] - gg[i_min - 1])})
            cmin = min(cmin, float(r.fun))
        d = vals[1:] - cmin
        f = lambda t: float(chi_of(np.array([t]))[0]) - cmin - level
        above = d > level
        if not above.any():
            out_g[k] = np.inf
        else:
            j = int(np.argmax(above))
            out_g[k] = g_grid[0] if j == 0 else optimize.brentq(f, g_grid[j - 1], g_grid[j], rtol=1e-10)
            # allowed islands after the first crossing
            allowed = ~above
            allowed[:j] = False
            if allowed.any():
                regs = find_intervals(lambda t: f(t) + level, g_grid, level, d)
                regs = [r for r in regs if r[0] > out_g[k]]
                if regs:
                    islands.append({"mass_MeV": float(mass), "allowed_g": regs})
        if progress:
            progress(k + 1, M.size)
    return ExclusionResult(model, "+".join(ch), float(cl), level, M, out_g, islands, convention)

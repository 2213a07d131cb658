"""The limit and exclusion algorithms as they were before issue 14, kept as same-run baselines for
benchmarks/run.py (not used by the package).  They run on today's inner loops (chi^2, monomials, chunking),
so the measured speed-ups are, if anything, understated.

- limits: the profile scan by :func:`cevns.minimise.marginalise_many` (multi-start grid, pattern search, Newton,
  continuation sweeps); the range search, the minimum (bounded Brent) and the interval edges (Brent) on the
  point-by-point BFGS profile :meth:`cevns.analysis._Problem.profile`.
- exclusion: per mass, a scalar chi^2 of the coupling; bounded Brent for the minimum, Brent for the crossing.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from cevns.analysis import _Problem, chi2_of, combined_basis
from cevns.minimise import marginalise_many
from cevns.models import MODELS
from cevns.stats import delta_chi2_level, find_intervals


class OldProblem(_Problem):
    def profile_many(self, xs):
        xs = np.asarray(xs, dtype=float)
        if not self.free:
            return self.chi2_points(xs)
        pts = self._full_points_many(xs)
        fine = np.stack([np.full(xs.size, self.scale[p]) for p in self.free], 1)
        return marginalise_many(self.chi2, self.basis, pts, self._i_free, self._widths(xs), fine=fine, chain=True)[0]

    def global_min(self, grid, prof):
        i = int(np.argmin(prof))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        if hi > lo:
            r = optimize.minimize_scalar(self.profile, bounds=(lo, hi), method="bounded",
                                         options={"xatol": 1e-10 * max(abs(hi), abs(lo), 1e-300)})
            if r.fun < prof[i]:
                return float(r.x), float(r.fun)
        return float(grid[i]), float(prof[i])

    def auto_range(self, level):
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


def limit(exp, param, cl=0.9, channels="cevns+eves", n_grid=201):
    """(interval list, chi^2_min) of the 90% C.L. limit, the pre-issue-14 way."""
    level = delta_chi2_level(cl, 1)
    prob = OldProblem(exp, param, channels)
    lo, hi = prob.auto_range(level)
    g = np.linspace(lo, hi, n_grid)
    prof = prob.profile_many(g)
    _, chi2_min = prob.global_min(g, prof)
    chi2_min = min(chi2_min, float(prof.min()))
    return find_intervals(lambda x: prob.profile(x) - chi2_min, g, level, prof - chi2_min), chi2_min


def exclusion(exp, model="vector-bl", channels="cevns+eves", masses=None, cl=0.9, n_g=400):
    """Excluded coupling per mass (main path: no islands, no scan below 1e-9), the pre-issue-14 way."""
    level = delta_chi2_level(cl, 1)
    ch = exp.channels(channels)
    chi2 = chi2_of(exp)
    g_grid = np.geomspace(1e-9, 1.0, n_g)
    gg = np.concatenate([[0.0], g_grid])
    out = np.full(len(masses), np.inf)
    for k, mass in enumerate(masses):
        mdl = MODELS[model](mass_MeV=float(mass))
        basis = combined_basis(exp, mdl, ch)
        base = np.array([mdl.values()[n] for n in basis.names])
        ig = basis.names.index("g")

        def chi_of(gs, basis=basis, base=base, ig=ig):
            pts = np.tile(base, (np.size(gs), 1))
            pts[:, ig] = gs
            from cevns._poly import monomial_matrix
            return chi2(monomial_matrix(basis.monomials, basis.names, pts) @ basis.B)

        vals = chi_of(gg)
        cmin, i = float(vals.min()), int(np.argmin(vals))
        if 0 < i < vals.size - 1:
            r = optimize.minimize_scalar(lambda t: float(chi_of(np.array([t]))[0]), bounds=(gg[i - 1], gg[i + 1]),
                                         method="bounded", options={"xatol": 1e-9 * (gg[i + 1] - gg[i - 1])})
            cmin = min(cmin, float(r.fun))
        above = vals[1:] - cmin > level
        if above.any() and int(np.argmax(above)) > 0:
            j = int(np.argmax(above))
            f = lambda t: float(chi_of(np.array([t]))[0]) - cmin - level  # noqa: E731
            out[k] = optimize.brentq(f, g_grid[j - 1], g_grid[j], xtol=1e-12 * g_grid[j - 1], rtol=1e-10)
    return out

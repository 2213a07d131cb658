"""A plain reference for the XENONnT likelihood (tests/test_xenonnt.py, docs/xenonnt.md): the signal and neutron
templates interpolated bilinearly on the release's 7 x 7 (tly, tqy) grid (no linearisation, one tly and one tqy for
signal and neutrons alike), the backgrounds' normalisations with the experiment's sigmas, every nuisance minimised
per point by scipy (L-BFGS-B from several starts): slow and simple, to measure the fast profile's approximations."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.optimize import minimize

from cevns.templated import signal_at


class GridLikelihood:
    """-2 ln L(f, theta) of a templates experiment with the grid interpolated (module docstring)."""

    def __init__(self, exp):
        r, lk = exp.response, exp.counting.likelihood
        self.d = lk.data
        grid = np.array([[signal_at(exp, a, b) for b in r.tqy] for a in r.tly])
        self.signal = RegularGridInterpolator((r.tly, r.tqy), grid)
        from cevns.templated import _backgrounds

        _, (ac, er, n0), ngrid = _backgrounds(exp, exp.config["templates"])
        self.neutron = RegularGridInterpolator((r.tly, r.tqy), ngrid)
        self.ac, self.er = ac, er
        t = exp.config["templates"]
        self.sig = (float(t["ac_sigma"]), float(t["er_sigma"]), float(t["neutron_sigma"]))
        self.fsig = float(exp.config["likelihood"]["signal_sigma"])

    def stat(self, f: float, th: np.ndarray) -> float:
        tly, tqy, a, e, n = th
        y = np.array([[np.clip(tly, -3, 3), np.clip(tqy, -3, 3)]])
        mu = (f * self.signal(y)[0] + self.ac * (1 + self.sig[0] * a) + self.er * (1 + self.sig[1] * e)
              + self.neutron(y)[0] * (1 + self.sig[2] * n))
        mu = np.maximum(mu, 1e-12)
        d = self.d
        dl = np.where(d > 0, d * np.log(np.maximum(d, 1e-12)), 0.0)
        return float(2 * (mu - d + dl - d * np.log(mu)).sum() + (th * th).sum())

    def profile(self, f: float) -> float:
        """min over the nuisances at signal scale f (flux free: no prior on f)."""
        best = np.inf
        for start in ([0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [-1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, -1, 0, 0, 0]):
            r = minimize(lambda th: self.stat(f, th), np.array(start, dtype=float), method="L-BFGS-B",
                         bounds=[(-3, 3), (-3, 3), (-5, 5), (-5, 5), (-5, 5)])
            best = min(best, float(r.fun))
        return best

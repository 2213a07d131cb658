"""The fixed inputs of dresden-ii-2022's [background_model] (decay energy of the exponential, L1 centre and width),
and the accuracy of the linearised background against the exact nonlinear one (docs/dresden.md).

    python scripts/dresden_background.py

Exact model (the copy's analysis model, reference notes): A + B exp(-E/E0) + L-group Gaussians (L1 at mu, L2 at
mu - 0.155 keV with 0.008 of L1's area, one width s) + M-shell (0.158 keV, 68.5 eV, area 0.16 x L1 area +- 3 %),
chi^2 on Rx-ON with the released errors; E0, mu, s free (nonlinear least squares).  Printed: the background-only best
fit (the values in the TOML), then chi^2 at CEvNS amplitudes 0, 1, 2 x the Fef prediction, exact against the
package's linearised statistic (free E exp(-E/E0) and L-group centre and width derivatives).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares
from scipy.special import erf

import cevns


def _g(e, mu, s):
    return np.diff(0.5 * (1 + erf((e - mu) / (s * np.sqrt(2)))))


def exact(e, d, err, signal, x0):
    E = 0.5 * (e[1:] + e[:-1])

    def resid(p):
        A, B, E0, aL, mu, s, aM = p
        model = (A + B * np.exp(-E / E0) + aL * (_g(e, mu, s) + 0.008 * _g(e, mu - 0.155, s))
                 + aM * _g(e, 0.158, 0.0685) + signal)
        return np.r_[(model - d) / err, (aM - 0.16 * aL) / (0.03 * 0.16 * aL)]

    r = least_squares(resid, x0, bounds=([-1e3, 0, 0.02, 0, 1.2, 0.02, 0], [1e3, 1e5, 5, 1e5, 1.4, 0.3, 1e5]),
                      x_scale="jac", xtol=1e-12, ftol=1e-12)
    return 2 * r.cost, r.x


def main() -> None:
    exp = cevns.load_experiment("dresden-ii-2022")
    e = exp.energy_edges * 1e-3
    d, err = exp.data.counts, exp.data.sigma
    x0 = [14, 140, 0.25, 1470, 1.292, 0.07, 235]
    chi0, p = exact(e, d, err, 0.0, x0)
    print(f"background only: chi2 {chi0:.2f}; E0 = {p[2]:.4f} keV, L1 centre {p[4]:.4f} keV, width {p[5]:.4f} keV")
    st = exp.chi2_function()
    r = exp.predict().total
    for s in (0.0, 1.0, 2.0, 4.0):
        c, q = exact(e, d, err, s * r, p)
        print(f"CEvNS x {s:g}: exact chi2 {c:.2f} (E0 {q[2]:.4f}), linearised {float(st(s * r)):.2f}")


if __name__ == "__main__":
    main()

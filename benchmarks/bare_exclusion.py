"""The floor of an exclusion curve: the B-L vector exclusion of cevns written out in bare numpy.

The same algorithm as ``cevns.analysis.exclusion`` (universal couplings, CEvNS + EvES, chi^2 of eq. 20 with
its analytic normalisation, a scan of 400 log-spaced couplings plus g = 0 per mass, the first crossing of
chi^2_min + level refined by bisection), with everything a hand-written script would precompute taken from
an already built experiment: the per-node flux moments, form factors and response matrices.  Per call it
writes the rate as a polynomial in g^2 for all masses at once (eq. 10-12 by hand), turns it into counts
with one matrix product per power and scans.  ``benchmarks/run.py`` times it against ``exp.exclusion`` on
a first call (bases not cached) and checks that both give the same curve.
"""

from __future__ import annotations

import numpy as np

from cevns import constants as C
from cevns.xsec import electron_couplings, weak_charge


def bare_exclusion(exp, masses, level: float = 2.705543454095404, n_g: int = 400) -> np.ndarray:
    eng = exp.engine
    M = np.asarray(masses, dtype=float)[:, None]  # (n_masses, 1)
    s2w = C.SIN2W_LOW_Q
    comp = ("e", True)
    # CEvNS: per node sum over isotopes of G_F^2 m / pi F^2 (Q_V + Q' x P)^2 (Phi_0 - m T / 2 Phi_-2), x = g^2
    cev = [np.zeros((M.shape[0], eng.T_N.size)) for _ in range(3)]
    for iso, F2, mom in eng.iso_data:
        m = iso.mass_MeV
        qv, qz = weak_charge(iso.Z, iso.N, s2w), -float(iso.A)
        P = 1.0 / (np.sqrt(2.0) * C.G_FERMI * (M * M + 2.0 * m * eng.T_N))
        kin = C.G_FERMI**2 * m / np.pi * F2 * (mom[comp][0] - 0.5 * m * eng.T_N * mom[comp][-2])
        cev[0] += qv * qv * kin
        cev[1] += 2.0 * qv * qz * P * kin
        cev[2] += qz * qz * P * P * kin
    # EvES (eq. 12): g_V -> g_V + x P_e; anti-nu_e: a = (g_V - g_A)^2, b = (g_V + g_A)^2, c = g_V^2 - g_A^2
    T = eng.eves_nodes
    mom = eng.eves_moments[comp]
    Pe = 1.0 / (np.sqrt(2.0) * C.G_FERMI * (M * M + 2.0 * C.M_ELECTRON * T))
    gv, ga = electron_couplings(s2w, "e")
    k = C.G_FERMI**2 * C.M_ELECTRON / (2.0 * np.pi)
    ev = []
    for p in range(3):  # coefficient of x^p of a, b, c
        def sq(c0):  # (c0 + x Pe)^2 -> coefficient of x^p
            return [c0 * c0 + 0.0 * Pe, 2.0 * c0 * Pe, Pe * Pe][p]
        a, b = sq(gv - ga), sq(gv + ga)
        c = sq(gv) - (ga * ga if p == 0 else 0.0)
        ev.append(k * ((a + b) * mom[0] - 2.0 * T * b * mom[-1] + (T * T * b - C.M_ELECTRON * T * c) * mom[-2]))
    # counts per bin for each power of x: (n_masses, 3, n_bins)
    R = np.stack([cev[p] @ eng.K_cevns.T + ev[p] @ eng.K_eves.T for p in range(3)], axis=1)
    d, s, sa = exp.data.counts, exp.data.sigma, exp.sigma_alpha
    w = 1.0 / s**2

    def chi2(r):  # eq. 20 with alpha minimised, r (..., n_bins)
        alpha = (r * (d - r) * w).sum(-1) / ((r * r * w).sum(-1) + 1.0 / sa**2)
        res = ((1.0 + alpha[..., None]) * r - d) / s
        return (res * res).sum(-1) + (alpha / sa) ** 2

    def rate(x):  # x: (n_masses, n) -> (n_masses, n, n_bins)
        return R[:, None, 0] + x[..., None] * R[:, None, 1] + (x * x)[..., None] * R[:, None, 2]

    g = np.concatenate([[0.0], np.geomspace(1e-9, 1.0, n_g)])
    vals = chi2(rate(np.broadcast_to(g * g, (M.shape[0], g.size))))
    cmin = vals.min(axis=1)
    above = vals[:, 1:] - cmin[:, None] > level
    j = np.argmax(above, axis=1)
    lo, hi = g[j], g[j + 1]  # bracket in g (index j+1 of the full grid is the first point above)
    for _ in range(60):
        mid = np.sqrt(lo * hi) if np.all(lo > 0) else 0.5 * (lo + hi)
        up = chi2(rate((mid * mid)[:, None]))[:, 0] - cmin > level
        hi, lo = np.where(up, mid, hi), np.where(up, lo, mid)
    return np.where(above.any(axis=1), 0.5 * (lo + hi), np.inf)

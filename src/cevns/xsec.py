"""Cross-section building blocks (the equations restated in docs/physics.md), natural units.

Every differential cross section of the paper depends on the neutrino energy
only through E^0, E^-1 and E^-2 (docs/physics.md).  The functions here return it
as a dict ``{n: c_n(T)}`` with dsigma/dT = sum_n c_n(T) E^n [MeV^-3], valid for
E >= E_min(T).  Coefficients may be numbers, arrays or :class:`cevns._poly.Poly`
objects (polynomials in the model parameters): one formula serves the direct
evaluation, the flux-moment engine and the polynomial basis.

Use the models (``cevns.models``) for cross sections in cm^2/MeV.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from . import constants as C

Terms = Dict[int, Any]


def e_min(T, m):
    """Minimum neutrino energy [MeV] for a recoil T [MeV] of a target of mass m [MeV] (exact)."""
    T = np.asarray(T, dtype=float)
    return 0.5 * (T + np.sqrt(T * T + 2.0 * m * T))


def t_max(E, m):
    """Maximum recoil energy [MeV] for neutrino energy E [MeV] on a target of mass m [MeV]."""
    E = np.asarray(E, dtype=float)
    return 2.0 * E * E / (m + 2.0 * E)


def weak_charge(Z: int, N: int, sin2w: Any) -> Any:
    """SM weak vector charge Q_V = Z(1/2 - 2 sin^2 theta_W) - N/2 (eq. 2)."""
    return Z * (0.5 - 2.0 * sin2w) - 0.5 * N


def electron_couplings(sin2w: Any, flavour: str = "e"):
    """(g_V, g_A) for nu_l - e scattering (eq. 4): g_V = -1/2 + 2 s + delta_le, g_A = -1/2 + delta_le."""
    if flavour not in ("e", "mu", "tau"):
        raise ValueError(f"flavour must be 'e', 'mu' or 'tau', got {flavour!r}")
    delta = 1.0 if flavour == "e" else 0.0
    return -0.5 + 2.0 * sin2w + delta, -0.5 + delta


def em_charge_shift(T, m, r2_natural: Any = 0.0, q_e: Any = 0.0) -> Any:
    """Q_ll' = sqrt(2) pi alpha / G_F (<r^2>/3 - 2 q/q^2), q^2 = 2 m T (under eq. 7b).

    ``r2_natural`` in MeV^-2, ``q_e`` in units of e, T and m in MeV.
    """
    pref = np.sqrt(2.0) * np.pi * C.ALPHA_EM / C.G_FERMI
    q2 = 2.0 * m * np.asarray(T, dtype=float)
    return pref * (r2_natural / 3.0 - 2.0 * q_e / q2)


def cevns_coherent_terms(T, m, F2, charge2: Any) -> Terms:
    """G_F^2 m / pi * F^2 * charge2 * (1 - T/E - m T / (2 E^2))  (eq. 1 with Q_V^2 -> charge2).

    The -T/E term (an E^-1 term) is the full spin-0 kinematics; the paper's eq. 1 leaves it out, which is
    good to T/E ~ 1e-5 at a reactor but not at a stopped-pion source (+0.1-0.3 %, docs/physics.md)."""
    T = np.asarray(T, dtype=float)
    base = (C.G_FERMI**2 * m / np.pi) * F2 * charge2
    return {0: base, -1: base * (-T), -2: base * (-0.5 * m * T)}


def eves_terms(T, a: Any, b: Any, c: Any) -> Terms:
    """G_F^2 m_e/(2 pi) [a + b (1 - T/E)^2 - c m_e T / E^2]  (the shape of eq. 3 and 7b)."""
    T = np.asarray(T, dtype=float)
    k = C.G_FERMI**2 * C.M_ELECTRON / (2.0 * np.pi)
    return {0: k * (a + b), -1: k * (-2.0 * T) * b, -2: k * (T * T * b - C.M_ELECTRON * T * c)}


def eves_coefficients(gv: Any, ga: Any, antineutrino: bool, q_diag: Any = 0.0, s_trans: Any = 0.0):
    """(a, b, c) of :func:`eves_terms` for couplings g_V, g_A with EM shifts (eq. 3 and 7b).

    Neutrino: a = (g_V + g_A + Q)^2 + S, b = (g_V - g_A + Q)^2 + S; antineutrino swaps the sign of g_A.
    c = (g_V + Q)^2 - g_A^2 + S, with Q = Q_ll and S = sum_l' |Q_ll'|^2.
    """
    sgn = -1.0 if antineutrino else 1.0
    gvq = gv + q_diag
    a = (gvq + sgn * ga) ** 2 + s_trans
    b = (gvq - sgn * ga) ** 2 + s_trans
    c = gvq**2 - ga**2 + s_trans
    return a, b, c


def magnetic_terms(T, mu2: Any, charge2: Any = 1.0) -> Terms:
    """pi alpha^2 / m_e^2 (1/T - 1/E) charge2 (mu/mu_B)^2 (eq. 6a with charge2 = Z^2 F^2; 6b with 1)."""
    T = np.asarray(T, dtype=float)
    base = np.pi * C.ALPHA_EM**2 / C.M_ELECTRON**2 * mu2 * charge2
    return {0: base / T, -1: -base}


def scalar_terms(T, m, M, coupling2: Any, F2=1.0) -> Terms:
    """m^2 T coupling2 F^2 / (4 pi E^2 (M^2 + 2 m T)^2)  (eq. 14 with coupling2 = Q_phi^2; eq. 16)."""
    T = np.asarray(T, dtype=float)
    return {-2: m * m * T * coupling2 * F2 / (4.0 * np.pi * (M * M + 2.0 * m * T) ** 2)}


def scalar_nucleon_charge(Z: int, N: int) -> float:
    """Z sum_q m_p/m_q f^p_Tq + N sum_q m_n/m_q f^n_Tq (eq. 15 for unit quark couplings)."""
    p = C.M_PROTON * (C.F_T_PROTON["u"] / C.M_UP + C.F_T_PROTON["d"] / C.M_DOWN)
    n = C.M_NEUTRON * (C.F_T_NEUTRON["u"] / C.M_UP + C.F_T_NEUTRON["d"] / C.M_DOWN)
    return Z * p + N * n


def evaluate_terms(terms: Terms, E) -> Any:
    """sum_n c_n E^n."""
    E = np.asarray(E, dtype=float)
    return sum(c * E**n for n, c in terms.items())

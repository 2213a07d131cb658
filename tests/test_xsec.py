"""Cross sections against closed forms and limits worked out by hand."""

import numpy as np
import pytest
from scipy import integrate

from cevns import constants as C
from cevns import models as M
from cevns.nuclei import helm_form_factor, load_target

GE = load_target("Ge")
GE74 = [i for i in GE.isotopes if i.A == 74][0]
ONE = lambda q: np.ones_like(q)  # noqa: E731  form factor -> 1


def test_cevns_t_to_zero_limit():
    """T -> 0, F -> 1: dsigma/dT = G_F^2 m Q_V^2 / pi (eq. 1)."""
    s = 0.23857
    qv = 32 * (0.5 - 2 * s) - 0.5 * 42
    expect = C.G_FERMI**2 * GE74.mass_MeV * qv**2 / np.pi * C.CM2_PER_MEV_M2
    got = M.StandardModel(sin2w=s).dsigma_cevns(10.0, 1e-12, GE74, form_factor=ONE)
    assert got == pytest.approx(expect, rel=1e-9, abs=0)


@pytest.mark.parametrize("E", [3.0, 8.0, 50.0])
def test_cevns_total_cross_section_closed_form(E):
    """int_0^Tmax dsigma = G_F^2 m Q^2/pi (Tmax - Tmax^2/(2E) - m Tmax^2/(4E^2)) = G_F^2 m Q^2/pi Tmax/2, F = 1
    (the -T/E term included: with Tmax = 2E^2/(m + 2E) the bracket is exactly Tmax/2)."""
    m = GE74.mass_MeV
    qv = 32 * (0.5 - 2 * C.SIN2W_LOW_Q) - 21.0
    tmax = 2 * E * E / (m + 2 * E)
    closed = C.G_FERMI**2 * m * qv**2 / np.pi * (tmax - tmax**2 / (2 * E) - m * tmax**2 / (4 * E * E)) * C.CM2_PER_MEV_M2
    assert closed == pytest.approx(C.G_FERMI**2 * m * qv**2 / np.pi * tmax / 2 * C.CM2_PER_MEV_M2, rel=1e-12, abs=0)
    sm = M.StandardModel()
    num, _ = integrate.quad(lambda t: float(sm.dsigma_cevns(E, t, GE74, form_factor=ONE)), 0, tmax, epsrel=1e-11)
    assert num == pytest.approx(closed, rel=1e-8, abs=0)
    # heavy-nucleus limit: sigma -> G_F^2 Q_V^2 E^2 / pi (the textbook G_F^2 Q_W^2 E^2 / 4 pi)
    assert closed == pytest.approx(C.G_FERMI**2 * qv**2 * E**2 / np.pi * C.CM2_PER_MEV_M2, rel=3 * E / m, abs=0)


def test_cevns_recoil_over_energy_term():
    """The -T/E term of eq. 1 written out: dsigma/dT = G_F^2 m Q^2/pi F^2 (1 - T/E - m T/(2E^2)), F = 1."""
    m, s = GE74.mass_MeV, 0.23857
    qv = 32 * (0.5 - 2 * s) - 21.0
    for E, T in ((50.0, 0.03), (8.0, 1e-3), (30.0, 0.02)):
        expect = C.G_FERMI**2 * m * qv**2 / np.pi * (1 - T / E - m * T / (2 * E * E)) * C.CM2_PER_MEV_M2
        got = M.StandardModel(sin2w=s).dsigma_cevns(E, T, GE74, form_factor=ONE)
        assert got > 0 and got == pytest.approx(expect, rel=1e-12, abs=0)


def test_cevns_vanishes_beyond_kinematic_limit():
    sm = M.StandardModel()
    E = 5.0
    tmax = 2 * E * E / (GE74.mass_MeV + 2 * E)
    assert sm.dsigma_cevns(E, tmax * 1.0001, GE74) == 0.0
    assert sm.dsigma_cevns(E, tmax * 0.999, GE74) > 0.0


def _eves_closed_total(E, gv, ga):
    """Hand integration of eq. 3 (antineutrino) from 0 to Tmax."""
    me = C.M_ELECTRON
    tmax = 2 * E * E / (me + 2 * E)
    a, b, c = (gv - ga) ** 2, (gv + ga) ** 2, gv**2 - ga**2
    val = a * tmax + b * E / 3 * (1 - (1 - tmax / E) ** 3) - c * me * tmax**2 / (2 * E * E)
    return C.G_FERMI**2 * me / (2 * np.pi) * val * C.CM2_PER_MEV_M2, tmax


@pytest.mark.parametrize("E", [0.5, 2.0, 6.0])
def test_eves_total_cross_section(E):
    s = C.SIN2W_LOW_Q
    closed, tmax = _eves_closed_total(E, 0.5 + 2 * s, 0.5)
    sm = M.StandardModel()
    num, _ = integrate.quad(lambda t: float(sm.dsigma_eves(E, t)), 0, tmax, epsrel=1e-11)
    assert num == pytest.approx(closed, rel=1e-8, abs=0)


def test_eves_numbers_by_hand():
    """nu_bar_e e at E = 3 MeV, T = 1 MeV, s = 0.23857, evaluated by hand from eq. 3."""
    s, E, T = 0.23857, 3.0, 1.0
    gv, ga = 0.5 + 2 * s, 0.5
    me = 0.51099895
    br = (gv - ga) ** 2 + (gv + ga) ** 2 * (1 - T / E) ** 2 - (gv**2 - ga**2) * me * T / E**2
    expect = 1.1663788e-11**2 * me / (2 * np.pi) * br * (1.973269804e-11) ** 2
    assert M.StandardModel(sin2w=s).dsigma_eves(E, T) == pytest.approx(expect, rel=1e-12, abs=0)
    # the neutrino swaps the roles of (g_V - g_A) and (g_V + g_A)
    nu = M.StandardModel(sin2w=s).dsigma_eves(E, T, antineutrino=False)
    br_nu = (gv + ga) ** 2 + (gv - ga) ** 2 * (1 - T / E) ** 2 - (gv**2 - ga**2) * me * T / E**2
    assert nu == pytest.approx(expect * br_nu / br, rel=1e-12, abs=0)
    # nu_mu: delta = 0
    gvm, gam = -0.5 + 2 * s, -0.5
    br_mu = (gvm - gam) ** 2 + (gvm + gam) ** 2 * (1 - T / E) ** 2 - (gvm**2 - gam**2) * me * T / E**2
    assert M.StandardModel(sin2w=s).dsigma_eves(E, T, flavour="mu") == pytest.approx(expect * br_mu / br, rel=1e-12, abs=0)


def test_magnetic_moment_closed_form():
    """eq. 6b: pi alpha^2/m_e^2 (1/T - 1/E) mu^2 on top of the SM."""
    E, T, mu = 2.0, 1e-3, 1e-10
    extra = M.MagneticMoment(mu_nu=mu).dsigma_eves(E, T) - M.StandardModel().dsigma_eves(E, T)
    expect = np.pi * C.ALPHA_EM**2 / C.M_ELECTRON**2 * (1 / T - 1 / E) * mu**2 * C.CM2_PER_MEV_M2
    assert extra == pytest.approx(expect, rel=1e-6, abs=0)
    # CEvNS (6a) carries Z^2 F^2, at a nuclear recoil inside the kinematic range (T_max(2 MeV) = 116 eV for 74Ge)
    Tn = 5e-5
    q = np.sqrt(2 * GE74.mass_MeV * Tn)
    extra_n = M.MagneticMoment(mu_nu=mu).dsigma_cevns(E, Tn, GE74) - M.StandardModel().dsigma_cevns(E, Tn, GE74)
    F2 = helm_form_factor(q, 74) ** 2
    expect_n = np.pi * C.ALPHA_EM**2 / C.M_ELECTRON**2 * (1 / Tn - 1 / E) * mu**2 * C.CM2_PER_MEV_M2
    assert extra_n > 0 and extra_n == pytest.approx(expect_n * 32**2 * F2, rel=1e-6, abs=0)


def test_helm_form_factor():
    assert helm_form_factor(0.0, 74) == pytest.approx(1.0)
    q = np.array([1.0, 10.0, 30.0, 60.0])
    F = helm_form_factor(q, 74)
    assert np.all(np.diff(F) < 0) and np.all(F > 0)
    # by hand: R0 for A = 74, q = 30 MeV
    c = 1.23 * 74 ** (1 / 3) - 0.6
    R0 = np.sqrt(c**2 + 7 / 3 * np.pi**2 * 0.52**2 - 5 * 0.81)
    x = 30 / 197.3269804 * R0
    expect = 3 * (np.sin(x) - x * np.cos(x)) / x**3 * np.exp(-((30 / 197.3269804 * 0.9) ** 2) / 2)
    assert helm_form_factor(30.0, 74) == pytest.approx(expect, rel=1e-9, abs=0)


@pytest.mark.parametrize("cls,a,b", [(M.Millicharge, "q_emu", "q_etau"), (M.ChargeRadius, "r2_emu", "r2_etau")])
def test_transition_parameters_enter_identically(cls, a, b):
    val = 3e-12 if cls is M.Millicharge else 2e-31
    E, T = 4.0, np.array([2e-4, 1e-3])
    assert np.allclose(cls(**{a: val}).dsigma_eves(E, T), cls(**{b: val}).dsigma_eves(E, T), rtol=1e-14, atol=0)
    assert np.allclose(cls(**{a: val}).dsigma_cevns(E, T, GE74), cls(**{b: val}).dsigma_cevns(E, T, GE74), rtol=1e-14, atol=0)
    assert not np.allclose(cls(**{a: val}).dsigma_eves(E, T), M.StandardModel().dsigma_eves(E, T), rtol=1e-3, atol=0)


def test_charge_radius_shifts_the_vector_charge():
    """eq. 7a: <r^2> only replaces 1/2 - 2 s by 1/2 - 2 s - Q, Q = sqrt2 pi alpha/G_F r^2/3."""
    r2 = 5e-32
    Q = np.sqrt(2) * np.pi * C.ALPHA_EM / C.G_FERMI * r2 / C.HBARC_MEV_CM**2 / 3
    E, T = 8.0, 1e-3
    ratio = M.ChargeRadius(r2_ee=r2).dsigma_cevns(E, T, GE74) / M.StandardModel().dsigma_cevns(E, T, GE74)
    s = C.SIN2W_LOW_Q
    expect = ((0.5 - 2 * s - Q) * 32 - 21) ** 2 / ((0.5 - 2 * s) * 32 - 21) ** 2
    assert ratio == pytest.approx(expect, rel=1e-10, abs=0)


def test_millicharge_grows_as_inverse_recoil_squared_in_eves():
    """At low T_e the millicharge term dominates and scales as 1/T^2 (eq. 7b, q^2 = 2 m_e T)."""
    m = M.Millicharge(q_emu=1e-11)
    E = 3.0
    T = np.array([1e-4, 2e-4])
    extra = m.dsigma_eves(E, T) - M.StandardModel().dsigma_eves(E, T)
    assert extra[0] / extra[1] == pytest.approx(4.0, rel=2e-3, abs=0)


def test_vector_bl_matches_eq10_form():
    """eq. 10: (1 + Q_Z' g^2 / (sqrt2 G_F Q_V (M^2 + 2 m T)))^2 times the SM."""
    g, Mz = 1e-5, 3.0
    E, T = 6.0, 5e-4
    m = GE74.mass_MeV
    qv = 32 * (0.5 - 2 * C.SIN2W_LOW_Q) - 21
    factor = (1 + (-74) * g**2 / (np.sqrt(2) * C.G_FERMI * qv * (Mz**2 + 2 * m * T))) ** 2
    ratio = M.VectorBL(g=g, mass_MeV=Mz).dsigma_cevns(E, T, GE74) / M.StandardModel().dsigma_cevns(E, T, GE74)
    assert ratio == pytest.approx(factor, rel=1e-10, abs=0)


def test_scalar_eq14_by_hand():
    g, Ms = 1e-5, 1.0
    E, T = 6.0, 5e-4
    m = GE74.mass_MeV
    fp = C.M_PROTON * (0.026 / C.M_UP + 0.038 / C.M_DOWN)
    fn = C.M_NEUTRON * (0.018 / C.M_UP + 0.056 / C.M_DOWN)
    qphi = g * g * (32 * fp + 42 * fn)
    F2 = helm_form_factor(np.sqrt(2 * m * T), 74) ** 2
    expect = m**2 * T * qphi**2 / (4 * np.pi * E**2 * (Ms**2 + 2 * m * T) ** 2) * F2 * C.CM2_PER_MEV_M2
    extra = M.ScalarMediator(g=g, mass_MeV=Ms).dsigma_cevns(E, T, GE74) - M.StandardModel().dsigma_cevns(E, T, GE74)
    assert extra == pytest.approx(expect, rel=1e-8, abs=0)
    # 'product' convention: g means g^nu g^q, so g -> g^2 gives the same cross section
    prod = M.ScalarMediator(g=g * g, mass_MeV=Ms, convention="product").dsigma_cevns(E, T, GE74)
    assert prod == pytest.approx(M.ScalarMediator(g=g, mass_MeV=Ms).dsigma_cevns(E, T, GE74), rel=1e-12)


def test_diagonal_millicharge_sign_by_hand():
    """eq. 7a with Q_ee = sqrt2 pi alpha / G_F (-2 q / q^2), q^2 = 2 m T: the sign of q matters."""
    q, E, T = 2e-9, 8.0, 1e-3
    m = GE74.mass_MeV
    Q = np.sqrt(2) * np.pi * C.ALPHA_EM / C.G_FERMI * (-2 * q / (2 * m * T))
    s = C.SIN2W_LOW_Q
    expect = ((0.5 - 2 * s - Q) * 32 - 21) ** 2 / ((0.5 - 2 * s) * 32 - 21) ** 2
    sm = M.StandardModel().dsigma_cevns(E, T, GE74)
    assert M.Millicharge(q_ee=q).dsigma_cevns(E, T, GE74) / sm == pytest.approx(expect, rel=1e-10, abs=0)
    assert M.Millicharge(q_ee=-q).dsigma_cevns(E, T, GE74) / sm != pytest.approx(expect, rel=1e-3, abs=0)
    # EvES (eq. 7b, antineutrino): Q adds to g_V
    me = C.M_ELECTRON
    Qe = np.sqrt(2) * np.pi * C.ALPHA_EM / C.G_FERMI * (-2 * q * 1e-3 / (2 * me * 2e-4))
    gv, ga = 0.5 + 2 * s, 0.5
    Te = 2e-4
    br = lambda v: (v - ga) ** 2 + (v + ga) ** 2 * (1 - Te / E) ** 2 - (v * v - ga * ga) * me * Te / E**2  # noqa: E731
    ratio = M.Millicharge(q_ee=q * 1e-3).dsigma_eves(E, Te) / M.StandardModel().dsigma_eves(E, Te)
    assert ratio == pytest.approx(br(gv + Qe) / br(gv), rel=1e-10, abs=0)


def test_vector_bl_eves_eq12_by_hand():
    """eq. 12: g_V -> g_V + g^2 / (sqrt2 G_F (M^2 + 2 m_e T)) (Q^nu Q^e = +1), antineutrino form of eq. 3."""
    g, Mz, E, T = 2e-5, 0.5, 3.0, 3e-4
    me, s = C.M_ELECTRON, C.SIN2W_LOW_Q
    gv, ga = 0.5 + 2 * s, 0.5
    gv2 = gv + g**2 / (np.sqrt(2) * C.G_FERMI * (Mz**2 + 2 * me * T))
    br = lambda v: (v - ga) ** 2 + (v + ga) ** 2 * (1 - T / E) ** 2 - (v * v - ga * ga) * me * T / E**2  # noqa: E731
    ratio = M.VectorBL(g=g, mass_MeV=Mz).dsigma_eves(E, T) / M.StandardModel().dsigma_eves(E, T)
    assert ratio == pytest.approx(br(gv2) / br(gv), rel=1e-10, abs=0)
    assert ratio > 1.01  # constructive for reactor antineutrinos


def test_scalar_eves_eq16_by_hand():
    g, Ms, E, T = 1e-5, 0.2, 3.0, 3e-4
    me = C.M_ELECTRON
    expect = me**2 * T * g**4 / (4 * np.pi * E**2 * (Ms**2 + 2 * me * T) ** 2) * C.CM2_PER_MEV_M2
    extra = M.ScalarMediator(g=g, mass_MeV=Ms).dsigma_eves(E, T) - M.StandardModel().dsigma_eves(E, T)
    assert extra == pytest.approx(expect, rel=1e-8, abs=0)


@pytest.mark.parametrize("model", [M.StandardModel(sin2w=0.21), M.MagneticMoment(mu_nu=3e-10),
                                   M.ChargeRadius(r2_ee=-3e-31), M.VectorBL(g=2e-5, mass_MeV=5.0)], ids=repr)
def test_cevns_cross_sections_against_the_written_out_reference(model):
    """The models' flux-moment terms against tests/reference.py's scalar formulas (used by the slow engine test)."""
    import reference as ref

    rng = np.random.default_rng(5)
    for E in (3.0, 6.5, 9.0, 30.0):
        tmax = 2 * E * E / (GE74.mass_MeV + 2 * E)
        for T in tmax * rng.uniform(1e-4, 1.0, 5):
            expect = ref.dsigma_cevns(model, E, T, GE74)
            assert expect > 0 and float(model.dsigma_cevns(E, T, GE74)) == pytest.approx(expect, rel=1e-11, abs=0)

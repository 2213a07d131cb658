"""Property-based tests (hypothesis) of physics invariants."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cevns import models as M
from cevns.nuclei import load_target
from cevns.xsec import t_max

GE = load_target("Ge")
SETTINGS = settings(max_examples=60, deadline=None)
E_nu = st.floats(0.2, 12.0)
frac = st.floats(1e-4, 0.9999)
isotopes = st.sampled_from(GE.isotopes)


def any_model():
    return st.one_of(
        st.builds(M.StandardModel, sin2w=st.floats(0.0, 1.0)),
        st.builds(M.MagneticMoment, mu_nu=st.floats(-1e-9, 1e-9)),
        st.builds(M.Millicharge, q_ee=st.floats(-1e-10, 1e-10), q_emu=st.floats(-1e-10, 1e-10),
                  q_etau=st.floats(-1e-10, 1e-10)),
        st.builds(M.ChargeRadius, r2_ee=st.floats(-1e-29, 1e-29), r2_emu=st.floats(-1e-29, 1e-29),
                  r2_etau=st.floats(-1e-29, 1e-29)),
        st.builds(M.VectorBL, g=st.floats(0, 1e-3), mass_MeV=st.floats(1e-3, 1e4)),
        st.builds(M.ScalarMediator, g=st.floats(0, 1e-3), mass_MeV=st.floats(1e-3, 1e4)),
    )


@SETTINGS
@given(any_model(), E_nu, frac, isotopes)
def test_cevns_non_negative_and_zero_beyond_kinematics(model, E, f, iso):
    tm = float(t_max(E, iso.mass_MeV))
    assert model.dsigma_cevns(E, f * tm, iso) >= 0
    assert model.dsigma_cevns(E, tm * (1 + 1e-6) + 1e-12, iso) == 0


@SETTINGS
@given(any_model(), E_nu, frac)
def test_eves_non_negative_and_zero_beyond_kinematics(model, E, f):
    tm = float(t_max(E, 0.51099895))
    assert model.dsigma_eves(E, f * tm) >= 0
    assert model.dsigma_eves(E, tm * (1 + 1e-6)) == 0


@SETTINGS
@given(st.floats(0.15, 0.35), E_nu, frac, isotopes)
def test_sm_recovered_when_bsm_parameters_vanish(s, E, f, iso):
    T = f * float(t_max(E, iso.mass_MeV))
    sm = M.StandardModel(sin2w=s)
    for m in (M.MagneticMoment(sin2w=s), M.Millicharge(sin2w=s), M.ChargeRadius(sin2w=s),
              M.VectorBL(sin2w=s, g=0.0, mass_MeV=1.0), M.ScalarMediator(sin2w=s, g=0.0, mass_MeV=1.0)):
        assert m.dsigma_cevns(E, T, iso) == sm.dsigma_cevns(E, T, iso)
        Te = f * float(t_max(E, 0.51099895))
        assert m.dsigma_eves(E, Te) == sm.dsigma_eves(E, Te)


@SETTINGS
@given(st.floats(-1e-10, 1e-10), st.floats(-1e-29, 1e-29), E_nu, frac)
def test_transition_parameters_symmetric(q, r2, E, f):
    Te = f * float(t_max(E, 0.51099895))
    a = M.Millicharge(q_emu=q).dsigma_eves(E, Te)
    b = M.Millicharge(q_etau=q).dsigma_eves(E, Te)
    assert np.isclose(a, b, rtol=1e-13, atol=0)
    c = M.ChargeRadius(r2_emu=r2).dsigma_eves(E, Te)
    d = M.ChargeRadius(r2_etau=-r2).dsigma_eves(E, Te)  # enters as |r2|^2: the sign does not matter
    assert np.isclose(c, d, rtol=1e-13, atol=0)


@SETTINGS
@given(st.floats(1e-11, 1e-9), st.floats(1.1, 10.0))
def test_rates_polynomial_in_coupling(mu, k):
    """The engine's polynomial basis: the magnetic excess scales exactly as mu^2 at any mu."""
    from cevns import load_experiment
    exp = _EXP.setdefault("e", load_experiment("conus-plus"))
    sm = exp.predict().total
    a = exp.predict(M.MagneticMoment(mu_nu=mu)).total - sm
    b = exp.predict(M.MagneticMoment(mu_nu=k * mu)).total - sm
    np.testing.assert_allclose(b, k * k * a, rtol=1e-7)


_EXP = {}

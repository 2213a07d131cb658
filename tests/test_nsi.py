"""Vector NSI (issue 24, item 3): the weak charge by hand, the flavours each source sees, one-at-a-time fits."""

import numpy as np
import pytest

import cevns
from cevns import models, nuclei, xsec


def _v(x):
    """The first value of a term (a number, or an array over recoil energies)."""
    return float(np.ravel(x)[0])


def _charge_by_hand(Z, N, s2w, uu=0.0, dd=0.0, trans=()):
    """Q^2 for one flavour: (Z (1/2 - 2 s2w + 2u + d) + N (-1/2 + u + 2d))^2 + sum (Z (2u' + d') + N (u' + 2d'))^2."""
    q = Z * (0.5 - 2 * s2w + 2 * uu + dd) + N * (-0.5 + uu + 2 * dd)
    return q**2 + sum((Z * (2 * u + d) + N * (u + 2 * d)) ** 2 for u, d in trans)


@pytest.mark.parametrize("flavour", ["e", "mu"])
def test_cevns_cross_section_is_the_hand_computed_weak_charge(flavour):
    iso = next(i for i in nuclei.load_target("Ge").isotopes if i.N == 40)
    eps = {"eps_ee_uV": 0.11, "eps_ee_dV": -0.07, "eps_mumu_uV": -0.05, "eps_mumu_dV": 0.13, "eps_emu_uV": 0.02,
           "eps_emu_dV": 0.03, "eps_etau_uV": -0.04, "eps_etau_dV": 0.01, "eps_mutau_uV": 0.06, "eps_mutau_dV": -0.02}
    m = models.VectorNSI(**eps)
    t = m.cevns_terms(np.array([1e-3]), iso, 1.0, m.values(), flavour=flavour)
    s2w = models.SIN2W.default
    if flavour == "e":
        q2 = _charge_by_hand(32, 40, s2w, 0.11, -0.07, [(0.02, 0.03), (-0.04, 0.01)])
    else:
        q2 = _charge_by_hand(32, 40, s2w, -0.05, 0.13, [(0.02, 0.03), (0.06, -0.02)])
    ref = xsec.cevns_coherent_terms(np.array([1e-3]), iso.mass_MeV, 1.0, q2)
    assert _v(t[0]) == pytest.approx(_v(ref[0]), rel=1e-13, abs=0) and _v(t[-2]) == pytest.approx(_v(ref[-2]), rel=1e-13, abs=0)
    # all couplings zero: the SM, to the last bit
    sm = models.StandardModel().cevns_terms(np.array([1e-3]), iso, 1.0, models.StandardModel().values())
    z = models.VectorNSI()
    assert _v(z.cevns_terms(np.array([1e-3]), iso, 1.0, z.values())[0]) == _v(sm[0])


def test_a_coupling_that_leaves_the_charge_unchanged_leaves_the_rate_unchanged(exp):
    """Along the degenerate line Z (2u + d) + N (u + 2d) = 0 of germanium-72 the Ge-72 rate is the SM's; the second
    solution Q -> -Q (u = -2 Q_SM / (2Z + N)) gives the SM rate too: the two bands of one target."""
    iso = next(i for i in nuclei.load_target("Ge").isotopes if i.N == 40)
    q_sm = xsec.weak_charge(32, 40, models.SIN2W.default)
    for u, d in ((0.3, -0.3 * (2 * 32 + 40) / (32 + 2 * 40)), (-2 * q_sm / (2 * 32 + 40), 0.0)):
        m = models.VectorNSI(eps_ee_uV=u, eps_ee_dV=d)
        t = m.cevns_terms(np.array([1e-3]), iso, 1.0, m.values())
        assert _v(t[0]) == pytest.approx(_v(models.StandardModel().cevns_terms(
            np.array([1e-3]), iso, 1.0, models.StandardModel().values())[0]), rel=1e-12, abs=0)


def test_a_reactor_sees_only_the_electron_couplings_and_fits_hold_the_others_at_zero(exp):
    seen = {k for ch in ("cevns", "eves") for m in exp.engine.basis(models.VectorNSI(), ch).monomials for k, _ in m}
    assert seen == {"sin2w", "eps_ee_uV", "eps_ee_dV", "eps_emu_uV", "eps_emu_dV", "eps_etau_uV", "eps_etau_dV"}
    r = exp.limit("eps_ee_uV", channels="cevns")
    assert r.marginalised == [] and r.fixed["eps_ee_dV"] == 0.0 and len(r.fixed) == 12
    ivs = r.intervals["90%"]
    assert len(ivs) == 2 and ivs[0][0] < 0 < ivs[0][1] < ivs[1][0]  # the SM island and its mirror, Q -> -Q
    q_sm = sum(i.abundance * xsec.weak_charge(i.Z, i.N, models.SIN2W.default) for i in nuclei.load_target("Ge").isotopes)
    mirror = -2 * q_sm / (2 * 32 + 72.63 - 32)
    assert ivs[1][0] < mirror < ivs[1][1]


def test_nsi_is_a_registered_model_with_its_parameters_listed(capsys):
    from cevns.cli import main

    assert cevns.get_model("nsi-vector", eps_emu_dV=0.1).values()["eps_emu_dV"] == 0.1
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "nsi-vector" in out and "eps_mutau_dV" in out

"""EvES in CsI (issue 24, item 1): Cs and I binding tables, the compound's Z_eff, and the engine against an
independent nested quad (tests/reference.py) to 1e-6 per bin."""

import numpy as np
import pytest
import reference as ref

import cevns
from cevns import constants as C
from cevns.models import ChargeRadius, FlavourMagneticMoment, Millicharge, StandardModel
from cevns.nuclei import load_binding_table


@pytest.fixture(scope="module")
def csi():
    return cevns.load_experiment("coherent-csi-2021")


@pytest.mark.parametrize("element,z", [("Cs", 55), ("I", 53), ("Ge", 32)])
def test_binding_tables_hold_every_electron(element, z):
    b = load_binding_table(element)
    assert sum(occ for _, _, occ in b.shells) == z
    assert b.z_eff(1.0) == z and b.z_eff(1e-6) == 0  # 1 MeV frees them all; 1 eV none


def test_csi_z_eff_counts_one_formula_unit():
    b = load_binding_table("CsI", composition={"Cs": 1, "I": 1})
    assert b.z_eff(1.0) == 108
    cs, i = load_binding_table("Cs"), load_binding_table("I")
    for T in np.geomspace(2e-6, 0.05, 200):  # the steps of both atoms
        assert b.z_eff(T) == cs.z_eff(T) + i.z_eff(T)
    # at 700 eV, between the I M4 (638 eV) and the Cs M5 (728 eV) edges: Cs without its K, L, M shells (2 + 8 + 18),
    # I without K, L and M1-M3 (2 + 8 + 8; its M4 and M5 electrons are free)
    T = 0.7e-3
    assert b.z_eff(T) == (55 - 2 - 8 - 18) + (53 - 2 - 8 - 8)


def test_csi_has_an_electron_channel_and_lar_has_none(csi):
    lar = cevns.load_experiment("coherent-lar-2020")
    assert csi.engine.has_eves and not lar.engine.has_eves
    assert np.all(lar.predict(Millicharge(q_ee=1e-9)).eves == 0)
    # SM electron recoils are negligible here (the Michel neutrinos scatter off electrons ~1e4 times less)
    sm = csi.predict(StandardModel())
    assert 0 < sm.eves.sum() < 1e-6 * sm.cevns.sum()


def _engine_per_energy_bin(exp, model):
    return exp.predict(model).eves.reshape(-1, exp.engine.n_time).sum(axis=1)


def test_eves_rate_against_nested_quad_first_bin(csi):
    """Bin 0 (0-8 PE) holds the efficiency's kink at 7.07 PE: the hardest bin for the engine's quadrature."""
    model = Millicharge(q_mumu=1e-9)
    assert _engine_per_energy_bin(csi, model)[0] == pytest.approx(ref.eves_bin_scintillator(csi, model, 0),
                                                                   rel=1e-6, abs=0)


@pytest.mark.slow
@pytest.mark.parametrize("model,i", [(StandardModel(), 0), (StandardModel(), 8), (Millicharge(q_ee=1e-9), 1),
                                     (Millicharge(q_emu=1e-9), 4), (FlavourMagneticMoment(mu_nu_mu=1e-9), 2),
                                     (FlavourMagneticMoment(mu_nu_e=1e-9), 6), (ChargeRadius(r2_mumu=-3e-31), 3)],
                         ids=repr)
def test_eves_rate_against_nested_quad(csi, model, i):
    assert _engine_per_energy_bin(csi, model)[i] == pytest.approx(ref.eves_bin_scintillator(csi, model, i),
                                                                   rel=1e-6, abs=0)


def test_electron_recoils_see_the_same_light_yield(csi):
    """An electron recoil of E keV gives E x 13.35 PE on average, a nuclear recoil fewer (quenching)."""
    r = csi.response
    T = np.array([1.0, 3.0]) * C.keV
    assert r.mean_observed_ee(T) == pytest.approx(T / C.keV * 13.35, rel=1e-12)
    assert np.all(r.mean_observed(T) < 0.2 * r.mean_observed_ee(T))

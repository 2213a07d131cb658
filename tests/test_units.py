"""A result must not change when the internal unit system does.

The package computes in MeV.  Here every dimensionful constant is re-expressed in keV (masses x 1000,
G_F / 1000^2, (hbar c)^2 in cm^2 keV^2) and the cross sections are evaluated with energies in keV:
they must equal the MeV results converted to the same unit (cm^2/keV = cm^2/MeV / 1000).
"""

import pytest

from cevns import constants as C
from cevns import models as M
from cevns import nuclei
from cevns.nuclei import load_target

LAM = 1000.0  # MeV -> keV

ENERGY_CONSTANTS = ("M_ELECTRON", "M_PROTON", "M_NEUTRON", "ATOMIC_MASS_UNIT", "M_UP", "M_DOWN")

CASES = [
    (M.StandardModel, {}, {}),
    (M.MagneticMoment, {"mu_nu": 2e-10}, {}),
    (M.Millicharge, {"q_ee": 3e-12, "q_emu": 1e-12}, {}),
    (M.ChargeRadius, {"r2_ee": -2e-31, "r2_etau": 1e-31}, {}),
    (M.VectorBL, {"g": 2e-5}, {"mass_MeV": 3.0}),
    (M.ScalarMediator, {"g": 1e-5}, {"mass_MeV": 0.5}),
]


@pytest.mark.parametrize("cls,couplings,masses", CASES, ids=lambda x: getattr(x, "__name__", ""))
def test_cross_sections_independent_of_internal_unit(monkeypatch, cls, couplings, masses):
    E, T_N, T_e = 6.0, 5e-4, 2.5e-4  # MeV (T_N inside T_max(6 MeV) = 1.0 keV for 72Ge)
    iso = [i for i in load_target("Ge").isotopes if i.A == 72][0]
    ref_n = cls(**couplings, **masses).dsigma_cevns(E, T_N, iso)
    ref_e = cls(**couplings, **masses).dsigma_eves(E, T_e)
    for name in ENERGY_CONSTANTS:
        monkeypatch.setattr(C, name, getattr(C, name) * LAM)
    monkeypatch.setattr(C, "G_FERMI", C.G_FERMI / LAM**2)
    monkeypatch.setattr(C, "CM2_PER_MEV_M2", C.CM2_PER_MEV_M2 * LAM**2)
    monkeypatch.setattr(nuclei, "HBARC_MEV_FM", nuclei.HBARC_MEV_FM * LAM)
    m = cls(**couplings, **{k: v * LAM for k, v in masses.items()})
    assert ref_n > 0 and m.dsigma_cevns(E * LAM, T_N * LAM, iso) * LAM == pytest.approx(ref_n, rel=1e-10, abs=0)
    assert m.dsigma_eves(E * LAM, T_e * LAM) * LAM == pytest.approx(ref_e, rel=1e-10, abs=0)

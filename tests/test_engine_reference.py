"""The fast engine (flux moments x response matrices) against the slow nested-quad reference.

Tolerance: 1e-3 per bin (the issue asks for 0.1% or better).

Slow (nested quad, ~2.5 min): marked ``slow``, run by `.ci/run` (``python -m pytest -q -m slow``).  The default
run pins the engine's per-bin SM prediction against golden values instead (tests/test_golden.py).
"""

import pytest
import reference as ref

from cevns import models as M

pytestmark = pytest.mark.slow

TOL = 1e-3
# bins: 0 (only C3 above threshold), 1 (C3 + C5), 2 (all three), 18 (last)
CEVNS_CASES = [(M.StandardModel(), 0), (M.StandardModel(), 18), (M.MagneticMoment(mu_nu=3e-10), 1),
               (M.ChargeRadius(r2_ee=-3e-31), 2), (M.VectorBL(g=2e-5, mass_MeV=5.0), 2)]
EVES_CASES = [(M.StandardModel(), 0), (M.StandardModel(), 18), (M.Millicharge(q_ee=3e-12), 1),
              (M.MagneticMoment(mu_nu=1e-10), 9), (M.ScalarMediator(g=1e-5, mass_MeV=0.1), 2)]


@pytest.mark.parametrize("model,i", CEVNS_CASES, ids=lambda x: repr(x))
def test_cevns_engine_vs_reference_no_resolution(exp_nores, model, i):
    assert exp_nores.predict(model).cevns[i] == pytest.approx(ref.cevns_bin(exp_nores, model, i), rel=TOL)


@pytest.mark.parametrize("model,i", EVES_CASES, ids=lambda x: repr(x))
def test_eves_engine_vs_reference_no_resolution(exp_nores, model, i):
    assert exp_nores.predict(model).eves[i] == pytest.approx(ref.eves_bin(exp_nores, model, i), rel=TOL)


def test_cevns_engine_vs_reference_with_resolution(exp):
    """Smearing checked on a single-isotope (74Ge) target to keep the triple integral affordable."""
    import copy
    cfg = copy.deepcopy(exp.config)
    cfg["target"]["abundances"] = {74: 1.0}
    ge74 = type(exp)(cfg, exp.base_dir)
    assert ge74.predict().cevns[2] == pytest.approx(ref.cevns_bin_smeared(ge74, M.StandardModel(), 2), rel=TOL)


def test_binding_step_inside_a_bin(exp_nores):
    """The M1 step (184 eV, carlson) falls inside the 180-190 bin: exact integration across it."""
    model = M.Millicharge(q_emu=5e-12)
    assert exp_nores.predict(model).eves[2] == pytest.approx(ref.eves_bin(exp_nores, model, 2), rel=TOL)

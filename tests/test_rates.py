"""Physics of the binned predictions: limits, symmetries, conservation, paper numbers."""

import json

import numpy as np
import pytest

import cevns
from cevns import models as M
from cevns.cli import main


def test_sm_count_against_conus(exp):
    """CONUS+ expect 347 +- 59 CEvNS events; we must lie within that band (defaults, 327 kg d)."""
    n = exp.predict().cevns.sum()
    assert 347 - 59 < n < 347 + 59


def test_zero_bsm_parameters_reproduce_sm_exactly(exp):
    sm = exp.predict()
    for model in [M.MagneticMoment(), M.Millicharge(), M.ChargeRadius(), M.ScalarMediator(g=0, mass_MeV=3.0),
                  M.VectorBL(g=0, mass_MeV=3.0)]:
        p = exp.predict(model)
        np.testing.assert_allclose(p.cevns, sm.cevns, rtol=1e-12, atol=0)
        np.testing.assert_allclose(p.eves, sm.eves, rtol=1e-12, atol=0)


def test_magnetic_moment_rate_scales_as_mu_squared(exp):
    sm = exp.predict().total
    a = exp.predict(M.MagneticMoment(mu_nu=1e-10)).total - sm
    b = exp.predict(M.MagneticMoment(mu_nu=3e-10)).total - sm
    np.testing.assert_allclose(b, 9 * a, rtol=1e-9)


@pytest.mark.parametrize("cls,a,b,v", [(M.Millicharge, "q_emu", "q_etau", 2e-12),
                                       (M.ChargeRadius, "r2_emu", "r2_etau", 3e-31)])
def test_transition_parameters_give_identical_rates(exp, cls, a, b, v):
    pa, pb = exp.predict(cls(**{a: v})), exp.predict(cls(**{b: v}))
    np.testing.assert_allclose(pa.total, pb.total, rtol=1e-13)
    assert not np.allclose(pa.total, exp.predict().total, rtol=1e-3)


def test_counts_conserved_through_resolution():
    """Every event with a true energy well inside the binned range lands in some bin (sum_i P_ij = 1)."""
    from cevns.detector import Efficiency, Resolution, bin_probabilities
    edges = np.linspace(0, 1000, 41) * 1e-6
    E = np.linspace(300, 700, 57) * 1e-6  # >= 10 sigma from the outer edges
    P = bin_probabilities(E, edges, 0.0, Resolution(), Efficiency())
    np.testing.assert_allclose(P.sum(axis=0), 1.0, rtol=1e-12)
    P0 = bin_probabilities(E, edges, 0.0, Resolution(model="off"), Efficiency())
    np.testing.assert_allclose(P0.sum(axis=0), 1.0, rtol=0)


def test_engine_conserves_events_with_resolution(exp):
    """Smearing a smooth spectrum: the ROI total changes only by what crosses its outer edges."""
    wide = exp.replace(thresholds_eVee={"C2": 160, "C3": 160, "C5": 160}, sigma0_eV=5.0)  # 7 sigma margins
    eng_on, eng_off = wide.engine, wide.replace(resolution="off").engine
    # push a spectrum that vanishes near both ends of the smeared range through both responses
    def f(engine):
        x = engine.eves_nodes * 1e6
        return np.clip((x - 235) * (275 - x), 0, None) ** 2
    on = (eng_on.K_eves @ f(eng_on)).sum()
    off = (eng_off.K_eves @ f(eng_off)).sum()
    assert on == pytest.approx(off, rel=1e-6)


def test_more_exposure_more_events(exp):
    a = exp.predict().cevns.sum()
    b = exp.replace(exposure_kg_day=347).predict().cevns.sum()
    assert b / a == pytest.approx(347 / 327, rel=1e-12)


def test_cli_predict_json(capsys):
    assert main(["predict", "conus-plus", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["result"]["predictions"][0]
    assert set(d) >= {"bins_eVee", "cevns", "eves", "total_cevns", "total_eves", "flux_cm2_s"}
    assert len(d["bins_eVee"]) == 19 and d["bins_eVee"][0] == [160.0, 170.0]
    assert d["total_cevns"] == pytest.approx(sum(d["cevns"]))
    assert d["flux_cm2_s"] == pytest.approx(1.5e13, rel=0.03)


def test_cli_predict_model(capsys):
    assert main(["predict", "--model", "magnetic-moment", "--set", "mu_nu=1e-10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["result"]["predictions"][0]
    assert d["total_eves"] > 10 * cevns.load_experiment().predict().eves.sum()


@pytest.mark.parametrize("resolution", ["fano", "off"])
def test_efficiency_curve_applies(exp, resolution):
    """A flat 50% efficiency halves every bin; a step at 200 eV_ee empties the bins below it."""
    import copy
    base = exp.replace(resolution=resolution)
    for eff, check in (([0.5, 0.5], lambda a, b: np.allclose(a, 0.5 * b, rtol=1e-9)),
                       ([0.0, 0.0, 1.0, 1.0], None)):
        cfg = copy.deepcopy(base.config)
        for d in cfg["detectors"]:
            d["efficiency_eVee"] = [0.0, 1000.0] if len(eff) == 2 else [0.0, 199.999, 200.0, 1000.0]
            d["efficiency"] = eff
        e = type(exp)(cfg, exp.base_dir)
        a, b = e.predict().cevns, base.predict().cevns
        if check is not None:
            assert check(a, b)
        elif resolution == "off":
            assert np.all(a[:4] == 0) and np.allclose(a[5:], b[5:], rtol=1e-9)
        else:
            assert np.all(a[:4] < 1e-6 * b[:4] + 1e-9) and np.allclose(a[5:], b[5:], rtol=1e-6)


def test_per_detector_resolution(exp):
    """A detector's own sigma0 overrides the experiment's; equal values change nothing."""
    import copy
    same = copy.deepcopy(exp.config)
    for d in same["detectors"]:
        d["sigma0_eV"] = exp.resolution.sigma0_eV
    e_same = type(exp)(same, exp.base_dir)
    assert e_same.detectors[0].resolution is not None
    np.testing.assert_allclose(e_same.predict().cevns, exp.predict().cevns, rtol=1e-12)
    wide = copy.deepcopy(exp.config)
    wide["detectors"][1]["sigma0_eV"] = 40.0  # C3, the only detector live in 160-170 eV_ee
    e_wide = type(exp)(wide, exp.base_dir)
    a, b = e_wide.predict().cevns, exp.predict().cevns
    assert a[0] > 1.2 * b[0]  # more sub-threshold events smeared up into C3's first bin
    assert e_wide.inputs()["detectors"][1]["sigma0_eV"] == 40.0


def test_mean_momentum_transfer(exp):
    """The CEvNS events of 160-350 eV_ee come from q ~ 10-15 MeV (T_N ~ 1-2 keV on Ge)."""
    q = exp.engine.mean_momentum_transfer(cevns.StandardModel())
    assert 9.0 < q < 16.0

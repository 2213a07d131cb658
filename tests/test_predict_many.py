"""A batched prediction (issue 27, item 3): many parameter points in one call, the same as one call per point."""

import numpy as np
import pytest

import cevns


@pytest.mark.parametrize("name", ["conus-plus", "coherent-csi-2021"])
def test_predict_many_equals_one_predict_per_point(name):
    exp = cevns.load_experiment(name)
    mu = np.geomspace(1e-12, 1e-9, 7)
    many = exp.predict_many(cevns.MagneticMoment(), {"mu_nu": mu})
    one = np.array([exp.predict(cevns.MagneticMoment(mu_nu=x)).total for x in mu])
    np.testing.assert_allclose(many, one, rtol=1e-12)
    cevns_only = exp.predict_many(cevns.MagneticMoment(), {"mu_nu": mu}, channels="cevns")
    np.testing.assert_allclose(cevns_only, [exp.predict(cevns.MagneticMoment(mu_nu=x)).cevns for x in mu], rtol=1e-12)


def test_predict_many_at_fixed_mass_and_errors():
    exp = cevns.load_experiment("conus-plus")
    g = np.array([0.0, 1e-5, 3e-5])
    m = cevns.VectorBL(mass_MeV=10.0)
    many = exp.predict_many(m, {"g": g})
    np.testing.assert_allclose(many[2], exp.predict(cevns.VectorBL(mass_MeV=10.0, g=3e-5)).total, rtol=1e-12)
    with pytest.raises(cevns.CevnsInputError, match="not coupling parameters"):
        exp.predict_many(m, {"mass_MeV": [1.0, 2.0]})
    with pytest.raises(cevns.CevnsInputError, match="all of one length"):
        exp.predict_many(cevns.Millicharge(), {"q_ee": [0.0, 1e-12], "q_emu": [0.0]})

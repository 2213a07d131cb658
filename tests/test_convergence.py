"""Numerical accuracy: the default recoil grid against a much finer one (fails if defaults get too coarse)."""

import numpy as np
import pytest

import cevns
from cevns import models as M
from cevns.rates import NumericalSettings


@pytest.mark.parametrize("resolution", ["fano", "off"])
def test_default_grid_converged(resolution):
    default = cevns.load_experiment("conus-plus", resolution=resolution)
    fine = default.replace(numerics=NumericalSettings(panel_eV=0.5, n_gl=8))
    for model in (M.StandardModel(), M.Millicharge(q_emu=3e-12), M.MagneticMoment(mu_nu=1e-10),
                  M.ScalarMediator(g=3e-6, mass_MeV=0.05)):
        a, b = default.predict(model), fine.predict(model)
        assert np.max(np.abs(a.cevns / b.cevns - 1)) < 1e-5
        assert np.max(np.abs(a.eves / b.eves - 1)) < 1e-5


def test_resolution_kernel_width_converged(exp):
    """Truncating the Gaussian at 6 sigma: the change from 8 sigma is below 1e-6 per bin."""
    import copy
    cfg = copy.deepcopy(exp.config)
    cfg["resolution"]["nsigma"] = 8.0
    wide = type(exp)(cfg, exp.base_dir)
    assert wide.resolution.nsigma == 8.0
    np.testing.assert_allclose(exp.predict().cevns, wide.predict().cevns, rtol=1e-6)

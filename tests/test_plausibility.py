"""Unit slips (issue 24, item 6): implausible parameter values are refused or warned about, naming the units."""

import warnings

import numpy as np
import pytest

import cevns
from cevns import models as M
from cevns.cli import main
from cevns.errors import CevnsWarning
from cevns.plausibility import MAX_EXCESS, check_parameters


def _run(capsys, *argv):
    code = main(["predict", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_moment_copied_in_display_units_is_refused_with_the_intended_value(capsys):
    code, out, err = _run(capsys, "--model", "magnetic-moment", "--set", "mu_nu=12.8")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "mu_nu = 12.8 mu_B" in err and "did you mean 12.8e-11 mu_B = 1.28e-10?" in err
    assert "1e+06 times its data" in err


def test_a_unit_charge_is_refused(capsys):
    code, _, err = _run(capsys, "coherent-csi-2021", "--model", "millicharge", "--set", "q_ee=1")
    assert code == 2 and err.count("\n") == 1
    assert "q_ee = 1 e" in err and "|q_ee| <= 0.001 e" in err and "coherent-csi-2021" in err


def test_a_prediction_a_million_times_the_data_is_refused_even_inside_the_range(capsys):
    code, _, err = _run(capsys, "--model", "millicharge", "--set", "q_ee=1e-4")
    assert code == 2 and "check the units" in err and err.count("\n") == 1


def test_outside_the_range_but_not_absurd_is_a_warning(capsys):
    code, out, err = _run(capsys, "--model", "vector-bl", "--set", "g=10", "--mass", "1e6")
    assert code == 0 and "total flux" in out
    assert err.startswith("cevns: warning: g = 10 is far outside") and err.count("\n") == 1


def test_plausible_values_pass_silently(capsys):
    code, out, err = _run(capsys, "--model", "magnetic-moment", "--set", "mu_nu=3e-10")
    assert code == 0 and err == "" and "total flux" in out


@pytest.mark.parametrize("model", ["scalar", "vector-bl"])
def test_a_mediator_prediction_needs_its_mass(capsys, model):
    code, out, err = _run(capsys, "--model", model, "--set", "g=1e-5")
    assert code == 2 and out == "" and "--mass" in err and err.count("\n") == 1
    code, out, _ = _run(capsys, "--model", model, "--set", "g=1e-5", "--mass", "10")
    assert code == 0 and "total flux" in out


@pytest.mark.parametrize("argv,msg", [
    (["--model", "sm", "--mass", "5"], "not of --model sm"),
    (["--model", "scalar", "--mass", "5", "--set", "mass_MeV=5"], "given twice"),
    (["--model", "scalar", "--mass", "0"], "--mass must be > 0"),
    (["--model", "scalar", "--mass", "nan"], "--mass must be > 0"),
])
def test_mass_option_errors(capsys, argv, msg):
    code, _, err = _run(capsys, *argv)
    assert code == 2 and msg in err and err.count("\n") == 1


def test_every_coupling_has_a_plausible_range_in_its_unit():
    """Declared on each Parameter of the built-in models (models.py; a user's registered model may leave it
    unbounded); its typical scale lies well inside, sin2w is bounded instead."""
    from cevns import registry

    for cls in (M.MODELS[name] for name in registry.MODELS):
        for p in cls.PARAMETERS:
            if p.name == "sin2w":
                assert p.bounds == (0.0, 1.0)
                continue
            if not p.physical_bounds:  # a modelled range (a neutron radius): values outside are refused
                assert p.bounded and p.bounds[0] > 0, p.name
                continue
            assert np.isfinite(p.plausible) and p.scale * 1e3 <= p.plausible, p.name


def test_api_check_against_each_experiment_of_a_list(exp):
    csi = cevns.load_experiment("coherent-csi-2021")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_parameters(M.MagneticMoment(mu_nu=1e-9), [exp, csi])  # no warning, no error
    # the threshold is the data total (or the SM, if larger) times MAX_EXCESS: mu_nu enters the rate squared
    total = lambda m: float(csi.predict(m).cevns.sum() + csi.predict(m).eves.sum())  # noqa: E731
    ref = max(float(np.abs(csi.data.counts).sum()), total(M.StandardModel()))
    extra = total(M.MagneticMoment(mu_nu=1e-8)) - total(M.StandardModel())
    mu_edge = 1e-8 * np.sqrt(MAX_EXCESS * ref / extra)
    with pytest.warns(CevnsWarning, match="far outside"):  # above 1e-6 mu_B, so warned about, but not refused
        check_parameters(M.MagneticMoment(mu_nu=0.99 * mu_edge), [csi])
    with pytest.raises(cevns.CevnsInputError, match="coherent-csi-2021"):
        check_parameters(M.MagneticMoment(mu_nu=1.01 * mu_edge), [csi])
    with pytest.warns(CevnsWarning, match="g = 5"):
        check_parameters(M.ScalarMediator(g=5.0, mass_MeV=1e7), [exp])

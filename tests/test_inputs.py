"""Bad input gets one clear message that names the problem."""

import numpy as np
import pytest

import cevns
from cevns import CevnsInputError
from cevns.cli import main
from cevns.stats import Chi2


@pytest.mark.parametrize("call,msg", [
    (lambda: cevns.load_target("Unobtainium"), "unknown target element"),
    (lambda: cevns.load_target("Ge", {70: 0.5, 99: 0.5}), "unknown isotope"),
    (lambda: cevns.load_target("Ge", {70: 0.5, 72: 0.4}), "sum to 1"),
    (lambda: cevns.load_binding_table("Ge", "nope"), "binding-energy table"),
    (lambda: cevns.Lindhard(k=0), "quenching k"),
    (lambda: cevns.Resolution(sigma0_eV=-1), "sigma0_eV"),
    (lambda: cevns.MagneticMoment(mu_nu=float("nan")), "mu_nu"),
    (lambda: cevns.VectorBL(mass_MeV=-1.0), "mass_MeV"),
    (lambda: cevns.StandardModel(mu_nu=1e-10), "unknown parameter"),
    (lambda: cevns.get_model("axion"), "unknown model"),
    (lambda: cevns.ScalarMediator(convention="odd"), "convention"),
    (lambda: cevns.StandardModel(sin2w=2.0), r"must lie in \[0, 1\]"),
])
def test_bad_inputs(call, msg):
    with pytest.raises(CevnsInputError, match=msg):
        call()


def test_threshold_above_last_bin(exp):
    with pytest.raises(CevnsInputError, match="last bin edge"):
        exp.replace(thresholds_eVee={"C2": 400, "C3": 400, "C5": 400})


def test_threshold_in_kev_is_caught(exp):
    with pytest.raises(CevnsInputError, match="implausible"):
        exp.replace(thresholds_eVee={"C2": 1.8e5})


def test_unknown_override(exp):
    with pytest.raises(CevnsInputError, match="unknown input"):
        exp.replace(quenchingk=0.2)


def test_negative_exposure(exp):
    with pytest.raises(CevnsInputError, match="exposure"):
        exp.replace(exposure_kg_day=-5)


def test_fractions_not_summing(exp):
    with pytest.raises(CevnsInputError, match="sum to 1"):
        exp.replace(fission_fractions={"U235": 0.6, "U238": 0.08, "Pu239": 0.32, "Pu241": 0.07})


def test_cli_error_exit_code(capsys):
    assert main(["predict", "conus-plus", "--k", "-0.1"]) == 2
    err = capsys.readouterr().err
    assert "[quenching] k must be > 0" in err and "Traceback" not in err


def test_cli_unknown_experiment(capsys):
    assert main(["predict", "no-such-experiment"]) == 2
    assert "no experiment" in capsys.readouterr().err


@pytest.mark.parametrize("E,T", [(-1.0, 1e-3), (0.0, 1e-3), (5.0, -1e-3), (5.0, float("nan"))])
def test_cross_sections_reject_bad_energies(E, T):
    iso = cevns.load_target("Ge").isotopes[0]
    with pytest.raises(CevnsInputError, match="energy"):
        cevns.StandardModel().dsigma_cevns(E, T, iso)
    with pytest.raises(CevnsInputError, match="energy"):
        cevns.StandardModel().dsigma_eves(E, T)


def test_nonpositive_energies_rejected():
    from cevns.errors import check_energies
    with pytest.raises(CevnsInputError, match="> 0"):
        check_energies("T", [1.0, -2.0])
    with pytest.raises(CevnsInputError, match="finite"):
        check_energies("T", [np.nan])


def test_cli_unwritable_plot_path(capsys):
    assert main(["fit", "--param", "sin2w", "--plot", "/nonexistent-folder/x.png"]) == 2
    err = capsys.readouterr().err
    assert "No such file or directory" in err and "Traceback" not in err


def test_error_scale_what_if(exp):
    """[data] error_scale multiplies every sigma: chi^2 of a fixed prediction scales as 1/s^2 when the
    normalisation pull is switched off, and the input is recorded."""
    s = 0.716
    scaled = exp.replace(error_scale=s)
    np.testing.assert_allclose(scaled.data.sigma, s * exp.data.sigma, rtol=1e-15)
    np.testing.assert_array_equal(scaled.data.counts, exp.data.counts)
    pred = exp.predict().total
    plain = Chi2(exp.data.counts, exp.data.sigma, 1e-12)(pred)
    assert Chi2(scaled.data.counts, scaled.data.sigma, 1e-12)(pred) == pytest.approx(plain / s**2, rel=1e-6)
    assert scaled.inputs()["error_scale"] == s and exp.inputs()["error_scale"] == 1.0
    with pytest.raises(CevnsInputError, match=r"\[data\] error_scale must be > 0"):
        exp.replace(error_scale=0.0)


def test_efficiency_override(exp):
    """A turn-on curve per detector lowers the rate only near threshold, and bad maps are named."""
    thr = {d.name: d.threshold_eVee for d in exp.detectors}
    e = exp.replace(efficiency={n: ([t, t + 50.0], [0.5, 1.0]) for n, t in thr.items()})
    a, b = exp.predict().cevns, e.predict().cevns
    assert np.all(b <= a + 1e-12) and b[0] < 0.8 * a[0]
    np.testing.assert_allclose(b[-3:], a[-3:], rtol=1e-3)  # far above every threshold + 50 eV: unchanged
    with pytest.raises(CevnsInputError, match="efficiency must map detector names"):
        exp.replace(efficiency={"C9": ([100.0], [1.0])})
    with pytest.raises(CevnsInputError, match=r"C2 efficiency\[1\] must be >= 0 and <= 1"):
        exp.replace(efficiency={"C2": ([180.0, 200.0], [0.5, 1.5])})

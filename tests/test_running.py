"""Running of sin^2 theta_W (Fig. 3) and the determinations drawn beside it."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from cevns import constants as C
from cevns.cli import main
from cevns.errors import CevnsInputError
from cevns.running import ALPHA_MZ_INV, FERMIONS, Sin2wRunning, effective_light_quark_mass, load_determinations


def test_running_sin2w():
    r = Sin2wRunning()
    assert r(91.1876) == pytest.approx(0.23121, abs=1e-12)
    low = r(1e-6)
    assert low == pytest.approx(0.23857, abs=1.5e-3)  # one loop without W and QCD terms: ~1e-3 high
    assert r(1.0) < low and r(10.0) < r(1.0)  # increases towards low Q
    assert 0.05 < effective_light_quark_mass() < 0.3  # GeV


def test_running_matches_direct_integration_of_the_rge():
    """The closed form (s^2 - lambda proportional to alpha between thresholds) against a numerical
    integration of the one-loop equations d alpha/d ln mu = 2 alpha^2/(3 pi) sum N_c Q^2 and
    d s^2/d ln mu = 2 alpha/(3 pi) sum N_c (Q^2 s^2 - Q T3 / 2), with the same step thresholds."""
    ml = effective_light_quark_mass()
    masses = [(m if m is not None else ml, nc, q, t3) for _, m, nc, q, t3 in FERMIONS]

    def rhs(t, y):
        mu = np.exp(t)
        act = [f for f in masses if f[0] < mu]
        sq = sum(nc * q * q for _, nc, q, _ in act)
        sqt = sum(nc * q * t3 for _, nc, q, t3 in act)
        a, s2 = y
        return [2 * a * a / (3 * np.pi) * sq, 2 * a / (3 * np.pi) * (sq * s2 - sqt / 2)]

    mz = C.M_Z * 1e-3
    targets = np.array([50.0, 3.0, 1.5, 0.5, 0.05, 0.01, 1e-3])
    sol = solve_ivp(rhs, (np.log(mz), np.log(targets[-1])), [1 / ALPHA_MZ_INV, C.SIN2W_MZ], t_eval=np.log(targets),
                    rtol=1e-11, atol=1e-13, max_step=0.05)
    assert sol.success
    np.testing.assert_allclose(Sin2wRunning()(targets), sol.y[1], atol=2e-7)
    # and alpha reaches alpha(0) = 1/137.036 below the electron mass (the light-quark threshold is fixed by it)
    below_me = solve_ivp(rhs, (np.log(mz), np.log(1e-4)), [1 / ALPHA_MZ_INV, C.SIN2W_MZ], rtol=1e-11, atol=1e-13,
                         max_step=0.05)
    assert 1 / below_me.y[0, -1] == pytest.approx(1 / C.ALPHA_EM, rel=1e-6)


def test_below_the_muon_only_the_electron_runs():
    """With only the electron active lambda = 1/4, so 1/(s^2 - 1/4) is linear in ln mu (it is 1/alpha up to a factor)."""
    r = Sin2wRunning()
    mu = np.array([0.001, 0.005, 0.02, 0.08])  # GeV, between m_e and m_mu
    y = 1.0 / (r(mu) - 0.25)
    slope = np.diff(y) / np.diff(np.log(mu))
    np.testing.assert_allclose(slope, slope[0], rtol=1e-9)


def test_packaged_determinations():
    d = load_determinations()
    labels = [x["label"] for x in d]
    assert "Z pole" in labels and len(labels) == len(set(labels))
    z = d[labels.index("Z pole")]
    # the Z-pole point is the matching condition of the running curve
    assert Sin2wRunning()(z["Q_GeV"]) == pytest.approx(z["value"], abs=1e-12)
    for x in d:
        assert 0.2 < x["value"] < 0.3 and x["Q_GeV"] > 0 and x["err_plus"] > 0 and x["reference"] and x["read_from"]


GOOD = "label,Q_GeV,value,err_plus,err_minus,scheme,reference\n"


@pytest.mark.parametrize("body,message", [
    ("", "no rows"),
    ("label,Q_GeV,value\nA,0.01,0.24\n", "missing column(s) err_plus, err_minus, scheme, reference"),
    (GOOD, "header but no data rows"),
    (GOOD + "A,0.01,0.24,0.01,0.01,MSbar,\n", "line 2: empty field(s) reference"),
    (GOOD + "# comment\nA,-0.01,0.24,0.01,0.01,MSbar,ref\n", "line 3: Q_GeV must be > 0 GeV"),
    (GOOD + "A,0.01,24,0.01,0.01,MSbar,ref\n", "between 0 and 1"),
    (GOOD + "A,0.01,0.24,-0.01,0.01,MSbar,ref\n", "err_plus must be >= 0"),
    (GOOD + "A,0.01,nan,0.01,0.01,MSbar,ref\n", "value must be finite"),
    (GOOD + "A,0.01,0.24,0.01,0.01,msbar,ref\n", "scheme must be one of MSbar, on-shell, effective"),
])
def test_bad_determinations_files_are_named(tmp_path, body, message):
    f = tmp_path / "points.csv"
    f.write_text(body)
    with pytest.raises(CevnsInputError) as e:
        load_determinations(f)
    assert message in str(e.value) and str(f) in str(e.value)


def test_missing_determinations_file_fails_before_the_analysis(tmp_path, capsys):
    assert main(["reproduce", "--out", str(tmp_path / "o"), "--sin2w-points", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv' not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_user_determinations_are_read(tmp_path):
    f = tmp_path / "points.csv"
    f.write_text("# my points\n" + GOOD + "My CEvNS,0.05,0.24,0.02,0.03,MSbar,my paper\n")
    (p,) = load_determinations(f)
    assert p == {"label": "My CEvNS", "Q_GeV": 0.05, "value": 0.24, "err_plus": 0.02, "err_minus": 0.03,
                 "scheme": "MSbar", "reference": "my paper", "read_from": ""}

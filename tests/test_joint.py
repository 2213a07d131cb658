"""Joint fits of several experiments: chi^2 functions that add."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import chi2 as chi2_dist

import cevns
from cevns import CevnsInputError
from cevns.cli import main
from cevns.experiments import JointExperiment
from cevns.stats import Chi2, JointChi2

MY = str(Path(__file__).parent.parent / "examples" / "my_reactor.toml")


def _twin(exp):
    """The same experiment under another name (the same data twice is refused; a renamed copy is a what-if)."""
    from cevns.experiments import Experiment

    return Experiment({**exp.config, "name": exp.name + "-twin"}, exp.base_dir, exp._text)


def test_the_same_experiment_twice_is_refused(exp):
    with pytest.raises(cevns.CevnsInputError, match="twice"):
        exp + exp
    with pytest.raises(cevns.CevnsInputError, match="twice"):
        exp + cevns.load_experiment("conus-plus")


def test_two_copies_double_the_chi2(exp):
    """exp + its twin: every chi^2 doubles exactly (each copy keeps its own alpha, both at the same alpha*), so
    the joint 90% limit is the single experiment's limit at Delta chi^2 = 2.71 / 2."""
    j = exp + _twin(exp)
    assert j.chi2() == pytest.approx(2 * exp.chi2(), rel=1e-12)
    m = cevns.MagneticMoment(mu_nu=1e-10)
    assert j.chi2(m) == pytest.approx(2 * exp.chi2(m), rel=1e-12)
    assert j.fit("sin2w").best == pytest.approx(exp.fit("sin2w").best, abs=1e-6)
    half = float(chi2_dist.cdf(chi2_dist.ppf(0.9, 1) / 2, 1))
    assert j.limit("mu_nu").intervals["90%"][0][1] == pytest.approx(
        exp.limit("mu_nu", half).intervals[f"{100 * half:g}%"][0][1], rel=1e-4, abs=0)


def test_two_different_experiments(exp):
    my = cevns.load_experiment(MY)
    j = exp + my
    assert j.name == "conus-plus + my-reactor" and len(j.predict()) == 2
    m = cevns.Millicharge(q_ee=1e-12)
    assert j.chi2(m) == pytest.approx(exp.chi2(m) + my.chi2(m), rel=1e-12)
    f = j.fit("sin2w")
    assert f.ndof == exp.data.counts.size + my.data.counts.size - 1
    assert j.inputs()["joint"][1]["experiment"] == "my-reactor"
    # (exp + my) + twin flattens into three parts; the same change reaches every part
    assert len(((exp + my) + _twin(exp)).parts) == 3
    assert all(p.quenching.k == 0.17 for p in j.replace(k=0.17).parts)


def test_joint_chi2_gradient_and_alpha():
    rng = np.random.default_rng(3)
    a = Chi2(rng.uniform(5, 10, 4), np.full(4, 2.0), 0.2)
    b = Chi2(rng.uniform(5, 10, 3), np.full(3, 1.0), 0.1)
    j = JointChi2([a, b])
    r = rng.uniform(5, 10, 7)
    assert j(r) == pytest.approx(a(r[:4]) + b(r[4:]))
    np.testing.assert_allclose(j.alpha_hat(r), [a.alpha_hat(r[:4]), b.alpha_hat(r[4:])])
    eps = 1e-6
    num = [(j(r + eps * e) - j(r - eps * e)) / (2 * eps) for e in np.eye(7)]
    np.testing.assert_allclose(j.gradient(r), num, rtol=1e-6, atol=1e-9)
    many = np.stack([r, 1.1 * r])
    np.testing.assert_allclose(j(many), [j(r), j(1.1 * r)])
    with pytest.raises(CevnsInputError, match="at least two"):
        JointChi2([a])


def test_joint_needs_two(exp):
    with pytest.raises(CevnsInputError, match="at least two experiments"):
        JointExperiment(exp)


def test_cli_joint(capsys):
    assert main(["predict", "conus-plus", MY, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["experiments"] == ["conus-plus", "my-reactor"]
    assert [x["experiment"] for x in d["result"]["predictions"]] == ["conus-plus", "my-reactor"]
    assert main(["fit", "conus-plus", MY, "--param", "mu_nu", "--json"]) == 0
    out = capsys.readouterr()
    assert "joint fit of conus-plus + my-reactor" in out.err and json.loads(out.out)["result"]["ndof"] > 18


def test_exclusion_when_the_sm_is_outside(exp):
    """With the example reactor the data prefer new physics: at these masses g = 0 is excluded, the curve
    reports 0 and the allowed couplings come back as islands that hold the best fit."""
    j = exp + cevns.load_experiment(MY)
    r = j.exclusion("vector-bl", masses=[1.0])
    assert r.g[0] == 0.0 and len(r.islands) == 1
    (lo, hi), = r.islands[0]["allowed_g"]
    best = j.fit("g", model=cevns.VectorBL(mass_MeV=1.0)).best
    assert lo < best < hi
    assert "the SM itself lies outside" in str(r)

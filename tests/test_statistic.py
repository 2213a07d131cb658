"""One statistic interface (issue 23, item 2): chi^2, Poisson and their sums name themselves, add, and draw their own
pseudo-data; toys and fits use the same objects."""

import numpy as np
import pytest

import cevns
from cevns.poisson import PoissonLikelihood
from cevns.statistic import Grouped, Statistic
from cevns.stats import Chi2, JointChi2


@pytest.fixture(scope="module")
def exps():
    return [cevns.load_experiment(n) for n in ("conus-plus", "coherent-csi-2021", "coherent-lar-2020")]


def test_every_experiment_statistic_is_one_interface(exps):
    names = [e.chi2_function().name for e in exps]
    assert names == ["chi2", "poisson", "poisson"]
    for e in exps:
        st = e.chi2_function()
        assert isinstance(st, Statistic) and st.ndata == e.data.counts.size
        pred = e.predict().total
        assert st.value(pred) == st(pred)
    joint = cevns.JointExperiment(*exps).chi2_function()
    assert joint.name == "chi2+poisson" and joint.ndata == sum(e.data.counts.size for e in exps)
    r = cevns.JointExperiment(*exps).fit("sin2w", levels=("1sigma",))
    assert r.statistic == "chi2+poisson" and r.statistic_min == r.chi2_min


def test_plus_concatenates_bins_and_shares_tagged_nuisances(exps):
    conus, csi, lar = (e.chi2_function() for e in exps)
    preds = [e.predict().total for e in exps]
    both = csi + lar  # the files tag the SNS flux alike: one nuisance
    assert isinstance(both, PoissonLikelihood) and both.n_nuisances == csi.n_nuisances + lar.n_nuisances - 1
    assert both(np.concatenate(preds[1:])) == pytest.approx(
        cevns.JointExperiment(exps[1], exps[2]).chi2_function()(np.concatenate(preds[1:])), rel=1e-12)
    mixed = conus + csi
    assert isinstance(mixed, Grouped) and mixed.name == "chi2+poisson"
    assert mixed(np.concatenate(preds[:2])) == pytest.approx(conus(preds[0]) + csi(preds[1]), rel=1e-14)
    c2 = conus + Chi2(np.ones(3), np.ones(3))
    assert isinstance(c2, JointChi2) and c2.name == "chi2" and c2.ndata == conus.ndata + 3


def test_simulate_draws_the_statistics_own_model():
    """Chi^2: the mean of the pseudo-data is the prediction and the spread the quadrature of sigma and sigma_alpha r;
    Poisson without nuisances: mean and variance both the expectation (signal + background)."""
    rng = np.random.default_rng(1)
    r = np.array([100.0, 50.0, 10.0])
    c = Chi2(np.zeros(3), np.array([5.0, 4.0, 3.0]), sigma_alpha=0.2)
    toys = c.simulate(rng, r, 40_000)
    assert np.allclose(toys.mean(0), r, rtol=0.01)
    assert np.allclose(toys.std(0), np.hypot(c.sigma, 0.2 * r), rtol=0.02)
    p = PoissonLikelihood(np.zeros(3), backgrounds=np.array([[5.0, 1.0, 0.5]]), background_sigmas=[0.0])
    t = p.simulate(rng, r, 40_000)
    assert np.allclose(t.mean(0), r + [5.0, 1.0, 0.5], rtol=0.01) and np.allclose(t.var(0), r + [5.0, 1.0, 0.5], rtol=0.03)
    assert np.all(t == np.round(t))

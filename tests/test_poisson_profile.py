"""The Poisson nuisance profile (cevns.poisson.newton_profile) against plain references, and its warm starts.

References: scipy's bounded scalar minimiser (one nuisance) or L-BFGS-B (several) on the same -2 ln lambda,
written out here from its definition; cold profiles for the warm-started ones; a continuation scan against
the same points profiled one by one.
"""

from __future__ import annotations

import json
import re
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

import cevns
from cevns.analysis import _g_coefficients, _scan, combined_basis
from cevns.cli import main
from cevns.models import MODELS, StandardModel
from cevns.poisson import PoissonLikelihood


def deviance(mu, d, theta):
    """-2 ln lambda written out: 2 sum [mu - d + d ln(d / mu)] + theta.theta (d ln d = 0 at d = 0)."""
    mu = np.asarray(mu, dtype=float)
    if np.any(mu <= 0):
        return np.inf
    dl = np.where(d > 0, d * np.log(np.where(d > 0, d, 1.0) / mu), 0.0)
    return float(2.0 * np.sum(mu - d + dl) + np.dot(theta, theta))


DATA = np.array([3.0, 0.0, 7.0, 12.0, 5.0, 1.0])
BKG = np.array([[1.0, 0.5, 2.0, 3.0, 1.5, 0.4], [0.2, 0.2, 0.1, 1.0, 2.0, 0.3]])
SIGNALS = np.array([[2.0, 1.0, 4.0, 8.0, 3.0, 0.5], [0.5, 3.0, 1.0, 2.0, 1.0, 4.0], [20.0, 9.0, 30.0, 60.0, 25.0, 6.0]])


def bl_scan_problem(names, masses=(0.3, 30.0, 3000.0)):
    """The statistic of the data sets ``names`` (joined) and the B-L coefficients per mass, power of g and bin."""
    e = cevns.load_experiment(names[0])
    for name in names[1:]:
        e = e + cevns.load_experiment(name)
    chi2, ch = e.chi2_function(), e.channels("cevns+eves")
    C = []
    for m in masses:
        mdl = MODELS["vector-bl"](mass_MeV=m)
        C.append(_g_coefficients(combined_basis(e, mdl, ch), mdl.values()))
    return e, chi2, np.stack(C)


def scan_lines(full, level):
    """The line a scan point's profile may stop above: its mass's lowest value before it + level + 1 (inf at g = 0)."""
    lowest = np.minimum.accumulate(full, axis=1)
    return np.concatenate([np.full((full.shape[0], 1), np.inf), lowest[:, :-1] + level + 1.0], axis=1)


def full_and_stopped(chi2, C, gg, level, steps):
    """A B-L scan without a level (every profile to its minimum) and with one, and the point-steps of the latter."""
    full, _ = _scan(chi2, C, gg, np.inf)
    steps[0] = 0
    cut, _ = _scan(chi2, C, gg, level)
    return full, cut, steps[0]


def count_steps(monkeypatch, bins=None):
    """Point-steps of the primal Newton iterations from now on (of likelihoods with ``bins`` bins only, if given)."""
    import cevns.poisson as P

    steps = [0]
    iteration = P._iteration

    def counted(pt, *a):
        if bins is None or pt.sa.shape[1] == bins:
            steps[0] += pt.sa.shape[0]
        return iteration(pt, *a)

    monkeypatch.setattr(P, "_iteration", counted)
    return steps


def test_only_the_signal_normalisation_is_profiled_like_a_scalar_minimisation():
    """One nuisance, the signal normalisation (the backgrounds fixed): the empty (signal, background) and
    (background, background) Hessian blocks once crashed the profile (ValueError: cannot reshape)."""
    lk = PoissonLikelihood(DATA, backgrounds=BKG, background_sigmas=[0.0, 0.0], signal_sigma=0.15)
    assert lk.names == ["signal_norm"]
    got = lk(SIGNALS)
    for s, v in zip(SIGNALS, got):
        lo = -1.0 / 0.15 + 1e-9  # mu > 0 for every theta above this (the backgrounds are positive)
        ref = optimize.minimize_scalar(lambda t: deviance(s * (1 + 0.15 * t) + BKG.sum(0), DATA, [t]),
                                       bounds=(lo, 30.0), method="bounded", options={"xatol": 1e-10})
        assert v == pytest.approx(ref.fun, abs=1e-8)
    assert lk(SIGNALS[0]) == pytest.approx(got[0], abs=1e-12)


def test_only_background_nuisances_are_profiled_like_a_plain_minimisation():
    """Background normalisations and an absolute background shape, no signal nuisance (empty signal blocks)."""
    shape = np.array([[0.3, -0.1, 0.5, 0.2, -0.4, 0.1]])
    lk = PoissonLikelihood(DATA, backgrounds=BKG, background_sigmas=[0.3, 0.5], background_shapes=shape)
    assert lk.n_signal_cols == 0 and lk.n_nuisances == 3
    got = lk(SIGNALS)
    F = np.vstack([0.3 * BKG[0], 0.5 * BKG[1], shape[0]])
    for s, v in zip(SIGNALS, got):
        ref = optimize.minimize(lambda t: deviance(s + BKG.sum(0) + t @ F, DATA, t), np.zeros(3), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
        assert v == pytest.approx(ref.fun, abs=1e-7)
        assert v <= ref.fun + 1e-9  # never above the reference's minimum
    np.testing.assert_allclose(lk.gradient(SIGNALS[0]), optimize.approx_fprime(SIGNALS[0], lambda s: float(lk(s)), 1e-6),
                               rtol=1e-4, atol=1e-5)


def test_a_joint_of_a_signal_only_part_and_a_background_only_part_is_their_sum():
    a = PoissonLikelihood(DATA, backgrounds=BKG, background_sigmas=[0.0, 0.0], signal_sigma=0.15)
    b = PoissonLikelihood(DATA[::-1].copy(), backgrounds=BKG[:, ::-1], background_sigmas=[0.3, 0.0])
    joint = PoissonLikelihood.combine([a, b], [{}, {}])
    both = np.hstack([SIGNALS, SIGNALS])
    np.testing.assert_allclose(joint(both), a(SIGNALS) + b(SIGNALS), rtol=0, atol=1e-9)


def test_warm_starts_give_the_cold_profile():
    """call_warm from other nuisances -- some outside the allowed region (an expectation <= 0: started from zero
    instead) -- gives the profile started from zero."""
    lk = cevns.load_experiment("coherent-csi-2021").chi2_function()
    rng = np.random.default_rng(5)
    base = np.abs(rng.normal(20.0, 5.0, lk.data.size))
    preds = base[None, :] * np.geomspace(0.05, 20.0, 40)[:, None]
    cold = lk(preds)
    start = rng.normal(0.0, 3.0, (preds.shape[0], lk.n_nuisances))
    start[::3, 0] = -20.0  # the signal normalisation below -1/sigma: negative signal, outside the region
    warm, theta = lk.call_warm(preds, start)
    np.testing.assert_allclose(warm, cold, rtol=1e-11, atol=1e-9)
    again, _ = lk.call_warm(preds, theta)  # from the minimum itself: the same values
    np.testing.assert_allclose(again, cold, rtol=1e-11, atol=1e-9)


def test_the_exclusion_scan_continued_in_the_coupling_equals_points_profiled_from_zero():
    """The B-L scan of CsI + LAr (shared flux) profiled coupling by coupling from the nuisances of the coupling
    below gives, point by point, the profile from zero (below 1e4: the points an exclusion is decided on)."""
    _, chi2, C = bl_scan_problem(["coherent-csi-2021", "coherent-lar-2020"])
    gg = np.concatenate([[0.0], np.geomspace(1e-7, 1e-2, 60)])
    vals, states = _scan(chi2, C, gg, np.inf)  # no level: every profile to its minimum
    cold = chi2(np.einsum("gk,mkb->mgb", gg[:, None] ** np.arange(C.shape[1]), C).reshape(-1, C.shape[2]))
    cold = cold.reshape(vals.shape)
    assert states.shape == vals.shape + (sum(lk.n_nuisances for lk, _ in chi2.groups),)
    ok = cold < 1e4
    assert ok.sum() > 100 and (~ok).any()  # the scan reaches far into the excluded region
    np.testing.assert_allclose(vals[ok], cold[ok], rtol=1e-12, atol=1e-9)
    assert np.all(vals[~ok] > 1e3)
    # with a level, a profile stops once its minimum is certainly above the mass's lowest value so far + level + 1:
    # every value is its minimum or above it; below that line every value is the minimum
    level = 2.71
    cut, stopped = _scan(chi2, C, gg, level)
    line = scan_lines(cold, level)
    low = cold < line * (1.0 - 1e-6)  # the lines are positive (inf at g = 0)
    assert np.all(cut >= cold - 1e-9 * np.abs(cold) - 1e-9)
    np.testing.assert_allclose(cut[low & ok], cold[low & ok], rtol=1e-12, atol=1e-9)
    assert np.all(cut[~low] > line[~low] * (1.0 - 1e-9))
    assert (cut[ok] > cold[ok] + 1e-6).any()  # some profiles did stop early (else nothing above was tested)


def _csi_file(tmp_path: Path, signal_only: bool) -> Path:
    """A copy of the built-in CsI file with only the signal normalisation (every background sigma 0) or only the
    background nuisances (signal_sigma 0, nothing shared), and no signal shapes."""
    folder = Path(str(resources.files("cevns.data").joinpath("experiments")))
    for f in folder.glob("coherent_csi_2021*"):
        shutil.copy(f, tmp_path)
    text = (tmp_path / "coherent_csi_2021.toml").read_text()
    text = text[:text.index("[[signal_shapes]]")]
    if signal_only:
        text = re.sub(r"(?m)^sigma = [0-9.]+", "sigma = 0.0", text)
    else:
        text = text.replace("signal_sigma = 0.1146", "signal_sigma = 0.0")
        text = re.sub(r"(?m)^shared = .*$", "shared = {}", text)
    out = tmp_path / ("sig_only.toml" if signal_only else "bkg_only.toml")
    out.write_text(text)
    return out


@pytest.mark.parametrize("signal_only", [True, False])
def test_cevns_fit_of_a_csi_file_with_one_kind_of_nuisance(tmp_path, capsys, signal_only):
    """`cevns fit FILE` on a valid CsI file with only the signal normalisation (background sigmas all 0; it
    crashed: cannot reshape array of size 0) or only background nuisances: exit 0, the API's result, and a
    chi^2_min that is the statistic at the best fit profiled by an independent minimiser."""
    path = _csi_file(tmp_path, signal_only)
    assert main(["fit", str(path), "--param", "sin2w", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["result"]
    exp = cevns.load_experiment(str(path))
    lk = exp.chi2_function()
    assert lk.n_nuisances == (1 if signal_only else 3) and lk.n_signal_cols == (1 if signal_only else 0)
    res = exp.fit("sin2w")
    assert out["converged"] and out["chi2_min"] == pytest.approx(res.chi2_min, rel=1e-12)
    assert out["best"] == pytest.approx(res.best, rel=1e-9)
    p = exp.predict(StandardModel(sin2w=res.best))
    s, bkg = p.cevns + p.eves, lk.bkg_total
    if signal_only:
        sig = 0.1146
        ref = optimize.minimize_scalar(lambda t: deviance(s * (1 + sig * t) + bkg, lk.data, [t]),
                                       bounds=(-1 / sig + 1e-9, 30.0), method="bounded", options={"xatol": 1e-10})
    else:
        F = np.array([sg * b for sg, b in zip(lk.background_sigmas, lk.backgrounds)])
        ref = optimize.minimize(lambda t: deviance(s + bkg + t @ F, lk.data, t), np.zeros(3), method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    assert res.chi2_min == pytest.approx(ref.fun, abs=1e-6)


def test_a_profile_stops_only_where_its_minimum_is_certainly_above_the_limit():
    """PoissonLikelihood.call_warm(stop_above=): a stopped profile's value is above its minimum and its minimum above
    the limit (strong convexity, poisson._certified_above); the others are the minimum."""
    e = cevns.load_experiment("coherent-csi-2021")
    lk = e.chi2_function()
    sm = e.predict().total  # the SM prediction per bin (signal only: the likelihood adds the backgrounds)
    scale = np.geomspace(0.05, 300.0, 200)
    preds = scale[:, None] * sm[None, :]
    full, _ = lk.call_warm(preds)
    limit = np.full(scale.size, 100.0)
    cut, _ = lk.call_warm(preds, stop_above=limit)
    stopped = cut > full + 1e-6 * np.abs(full)  # stopped well before the minimum
    below = full <= limit
    assert stopped.any() and below.sum() > 10
    assert np.all(full[stopped] > limit[stopped])  # the minimum of every stopped point is above the limit
    np.testing.assert_allclose(cut[below], full[below], rtol=1e-12, atol=1e-12)  # a minimum below: reached
    assert np.all(cut >= full - 1e-12 * np.abs(full))


def test_the_empty_bins_multipliers_certify_a_minimum_on_their_edge_and_only_above_the_limit(monkeypatch):
    """XENONnT 8B (most bins without counts), its B-L scan: far above the data a signal is profiled to its
    normalisation's edge (an empty bin's expectation -> 0, its term 2 mu linear), where the gradient stays large and
    the strong-convexity bound alone certifies late; the Lagrangian bound with multipliers on the empty bins
    (poisson._certified_above) stops those profiles in far fewer Newton steps, never one whose minimum is below its
    line (weak duality), and leaves every value below it equal to the full profile's."""
    import cevns.poisson as P

    _, chi2, C = bl_scan_problem(["xenonnt-8b-2026"])
    gg = np.concatenate([[0.0], np.geomspace(1e-7, 1e-1, 100)])
    steps = count_steps(monkeypatch)
    level = 2.71
    full, cut, with_nu = full_and_stopped(chi2, C, gg, level, steps)

    certify = P._certified_above

    def ball_only(s, theta, mu, f, d, V, F, G, limit, multipliers=True):  # the first bound alone
        return certify(s, theta, mu, f, d, V, F, G, limit, False)

    monkeypatch.setattr(P, "_certified_above", ball_only)
    steps[0] = 0
    cut_ball, _ = _scan(chi2, C, gg, level)
    line = scan_lines(full, level)
    low = full < line * (1.0 - 1e-6)
    stopped = cut > full * (1.0 + 1e-9)
    assert stopped.sum() > 50 and low.sum() > 100
    assert np.all(full[stopped] > line[stopped])  # every stopped point's full profile is above its line
    assert np.all(cut[stopped] > line[stopped])  # and so is the value it stopped at
    np.testing.assert_allclose(cut[low], full[low], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(cut_ball[low], full[low], rtol=1e-10, atol=1e-9)
    assert with_nu < 0.7 * steps[0]  # the multipliers stop the edge profiles early


def test_a_joint_profile_stops_on_what_is_left_after_its_other_parts():
    """warm_chi2 on a sum (CONUS+ chi^2 + XENONnT 8B Poisson): the plain part goes first and the Poisson part's
    profile may stop above what is left of the limit; every stopped total is above the limit and above the total
    minimum, every total whose minimum is below the limit is exact (added in the parts' order)."""
    from cevns.minimise import warm_chi2

    j = cevns.load_experiment("conus-plus") + cevns.load_experiment("xenonnt-8b-2026")
    lk = j.chi2_function()
    base = np.concatenate([p.total for p in j.predict()])
    preds = np.geomspace(0.3, 3e3, 60)[:, None] * base[None, :]
    full, _ = warm_chi2(lk, preds, None)
    limit = np.full(full.size, np.median(full))
    cut, _ = warm_chi2(lk, preds, None, limit)
    stopped = cut > full + 1e-9 * np.abs(full)
    below = full <= limit
    assert stopped.any() and below.sum() >= 10
    assert np.all(full[stopped] > limit[stopped])
    np.testing.assert_allclose(cut[below], full[below], rtol=1e-12, atol=1e-12)


def _profile_min(lk, pred):
    """The profiled minimum, its nuisances and expectations, of one prediction, without any certificate."""
    f, theta, mu = lk.profile(pred)
    return float(f), theta, mu


@pytest.mark.parametrize("row", range(3))
def test_the_dual_bound_is_below_every_minimum_and_equal_at_its_multipliers(row):
    """Weak duality (poisson._dual_bound): for any allowed multipliers (lam_i < 2, <= 2 in bins without counts) the
    bound is at most the profiled minimum; at the minimum's own multipliers 2 (1 - n_i / mu_i*) it is the minimum."""
    from cevns.poisson import _dual_bound

    lk = PoissonLikelihood(DATA, BKG, background_sigmas=[0.3, 0.5], signal_sigma=0.2,
                           signal_shapes=np.array([[0.1, -0.1, 0.05, 0.0, 0.2, -0.3]]))
    s = SIGNALS[row]
    fmin, theta, mu = _profile_min(lk, s)
    star = np.where(DATA > 0, 2.0 * (1.0 - DATA / mu), 2.0)
    args = (s[None], DATA, lk.bkg_total, lk._V, lk._F)
    assert _dual_bound(*args, star[None])[0] == pytest.approx(fmin, rel=1e-8, abs=1e-8)
    rng = np.random.default_rng(row)
    lams = np.minimum(star[None] + rng.normal(0.0, 0.5, (500, DATA.size)), 2.0 - 1e-9)
    lams[:, DATA <= 0] = np.minimum(lams[:, DATA <= 0], 2.0)
    bounds = _dual_bound(np.repeat(s[None], 500, axis=0), DATA, lk.bkg_total, lk._V, lk._F, lams)
    assert np.all(bounds <= fmin + 1e-9) and np.isfinite(bounds).sum() == 500
    bad = lams.copy()
    bad[:, 0] = 2.5  # not allowed where the bin has counts: no bound
    assert np.all(_dual_bound(np.repeat(s[None], 500, axis=0), DATA, lk.bkg_total, lk._V, lk._F, bad) == -np.inf)


def test_dual_newton_steps_raise_the_bound_and_certify_only_minima_above_the_line():
    """poisson._dual_newton from the multipliers of a smaller signal (a scan's coupling below): the bound never
    falls, stays below every minimum, and certifies a point only where its minimum is above the line."""
    from cevns.poisson import _dual_bound, _dual_newton

    e = cevns.load_experiment("coherent-csi-2021")
    lk = e.chi2_function()
    sm = e.predict().total
    scale = np.geomspace(1.0, 1e6, 40)
    preds = scale[:, None] * sm[None, :]
    below = np.vstack([_profile_min(lk, p / 1.25)[2] for p in preds])  # expectations at the coupling below
    lam = np.where(lk.data > 0, 2.0 * (1.0 - lk.data / below), 2.0)
    mins = np.array([_profile_min(lk, p)[0] for p in preds])
    args = (preds, lk.data, lk.bkg_total, lk._V, lk._F)
    start = _dual_bound(*args, lam)
    for line in (0.5 * mins.min(), np.median(mins), 2.0 * mins.max()):
        stop = np.full(scale.size, line)
        stepped = lam.copy()
        done = _dual_newton(*args, lk._G, stepped, stop)
        after = _dual_bound(*args, stepped)
        assert np.all(after >= start - 1e-9 * np.abs(start))
        assert np.all(after <= mins + 1e-9 * np.abs(mins))
        assert np.all(mins[done] > line)
        assert done.sum() >= np.sum(start > line)
    assert done.sum() == 0  # nothing above a line above every minimum
    easy = _dual_newton(*args, lk._G, lam.copy(), np.full(scale.size, 0.5 * mins.min()))
    assert easy.sum() >= 0.9 * scale.size  # a line below every minimum: (nearly) all certified within three steps


def test_the_carried_multipliers_stop_far_excluded_points_in_fewer_newton_steps(monkeypatch):
    """The B-L scan of CsI + LAr up to g = 1 (signals to ~1e10 per bin, where the warm start leaves the allowed
    region): with the multipliers carried up the couplings and those of each Newton step (poisson._dual_bound,
    _dual_newton) the profiles of far excluded points stop in far fewer primal steps; every stopped point is above
    its line and every value below it is the profile's minimum, as without them."""
    import cevns.poisson as P

    _, chi2, C = bl_scan_problem(["coherent-csi-2021", "coherent-lar-2020"], (0.03, 3.0, 300.0))
    gg = np.concatenate([[0.0], np.geomspace(1e-7, 1.0, 120)])
    steps = count_steps(monkeypatch)
    level = 2.71
    full, cut, with_dual = full_and_stopped(chi2, C, gg, level, steps)
    bound = P._dual_bound
    monkeypatch.setattr(P, "_dual_bound", lambda *a: np.full(a[0].shape[0], -np.inf))  # no dual certificate
    steps[0] = 0
    cut_without, _ = _scan(chi2, C, gg, level)
    monkeypatch.setattr(P, "_dual_bound", bound)
    line = scan_lines(full, level)
    low = full < line * (1.0 - 1e-6)
    stopped = cut > full * (1.0 + 1e-9)
    assert stopped.sum() > 30 and low.sum() > 100
    assert np.all(full[stopped] > line[stopped]) and np.all(cut[stopped] > line[stopped])
    np.testing.assert_allclose(cut[low], full[low], rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(cut_without[low], full[low], rtol=1e-10, atol=1e-9)
    assert with_dual < 0.6 * steps[0]


def test_a_part_already_above_the_line_leaves_the_parts_after_it_unprofiled(monkeypatch):
    """The B-L scan of the five data sets of the global study: where a profiled part's value alone is above what is
    left of the line (CsI + LAr far above), the parts after it (XENONnT 8B) get a negative limit and take no Newton
    step (every statistic is >= 0; minimise.warm_chi2).  Measured here: 197 XENONnT point-steps, 1,884 when such a
    part was left a limit of ~1e-9 instead.  Every stopped point is above its line, every value below it exact."""
    names = ["conus-plus", "coherent-csi-2021", "coherent-lar-2020", "dresden-ii-2022", "xenonnt-8b-2026"]
    _, chi2, C = bl_scan_problem(names, (0.03, 3.0, 300.0))
    gg = np.concatenate([[0.0], np.geomspace(1e-7, 1.0, 120)])
    steps = count_steps(monkeypatch, bins=243)  # XENONnT's
    full, cut, _ = full_and_stopped(chi2, C, gg, 2.71, steps)
    line = scan_lines(full, 2.71)
    low = full < line * (1.0 - 1e-6)
    stopped = cut > full * (1.0 + 1e-9)
    assert stopped.sum() > 30 and low.sum() > 50
    assert np.all(full[stopped] > line[stopped]) and np.all(cut[stopped] > line[stopped])
    np.testing.assert_allclose(cut[low], full[low], rtol=1e-10, atol=1e-9)
    assert steps[0] < 500


def test_dual_bounds_on_random_problems_never_exceed_the_minimum():
    """Weak duality on 200 random problems (counts with empty bins, signals from 0.1 to 1e6 per bin, two signal and
    two background nuisances): the bound at random multipliers, at those after three dual Newton steps, and at each
    primal Newton step's multipliers is never above the profiled minimum; and a profile stopped above a line has
    its minimum above it."""
    from cevns.poisson import _dual_bound, _dual_newton, column_products, newton_profile

    rng = np.random.default_rng(7)
    n, P = 12, 200
    V = np.vstack([np.full(n, 0.1), rng.normal(0.0, 0.1, n)])
    F = np.abs(rng.normal(0.0, 0.5, (2, n)))
    G = column_products(V, F)
    bkg = np.abs(rng.normal(2.0, 1.0, n))
    d = rng.poisson(bkg + 1.0).astype(float)
    d[:3] = 0.0
    dlogd = np.where(d > 0, d * np.log(np.maximum(d, 1e-300)), 0.0)
    s = np.abs(rng.normal(1.0, 0.5, (P, n))) * np.geomspace(0.1, 1e6, P)[:, None]
    fmin, _, mu = newton_profile(s, d, dlogd, bkg, V, F, G, None, 200, 1e-12)
    lam = np.where(d > 0, np.minimum(2.0 * (1.0 - d / mu) + rng.normal(0.0, 0.3, (P, n)), 2.0 - 1e-9), 2.0)
    assert np.all(_dual_bound(s, d, bkg, V, F, lam) <= fmin + 1e-9 * (1.0 + fmin))
    line = np.median(fmin) * np.ones(P)
    stepped = lam.copy()
    done = _dual_newton(s, d, bkg, V, F, G, stepped, line)
    assert np.all(_dual_bound(s, d, bkg, V, F, stepped) <= fmin + 1e-9 * (1.0 + fmin))
    assert np.all(fmin[done] > line[done]) and done.any()
    carried = lam.copy()
    cut, _, _ = newton_profile(s, d, dlogd, bkg, V, F, G, None, 200, 1e-12, line, carried)
    assert np.all(_dual_bound(s, d, bkg, V, F, carried) <= fmin + 1e-9 * (1.0 + fmin))
    stopped = cut > fmin * (1.0 + 1e-9) + 1e-9
    assert stopped.any() and np.all(fmin[stopped] > line[stopped])
    np.testing.assert_allclose(cut[fmin < line], fmin[fmin < line], rtol=1e-9, atol=1e-9)


def test_a_hessian_singular_to_rounding_takes_least_squares_steps():
    """Three bins, three nuisances and signals ~1e9-5e9 per bin (a random problem of an adversarial review): the
    constraints' 2 I is lost beside J^T W J and the Newton system is singular to rounding (it raised numpy's
    LinAlgError); the profile takes least-squares steps there and ends finite, at or below its start."""
    from cevns.poisson import column_products, newton_profile

    rng = np.random.default_rng(47)
    n, kv, kf = int(rng.integers(1, 30)), int(rng.integers(0, 3)), int(rng.integers(0, 3))
    V = rng.normal(0, rng.choice([0.05, 0.3, 1.0]), (kv, n))
    F = rng.normal(0, rng.choice([0.1, 1.0, 10.0]), (kf, n))
    if rng.random() < 0.5:
        F = np.abs(F)
    bkg = np.abs(rng.normal(1, 1, n)) * 10 ** rng.uniform(-3, 3)
    d = rng.poisson(bkg * rng.uniform(0.5, 2)).astype(float)
    d[rng.random(n) < 0.3] = 0.0
    rng.random()
    s = np.abs(rng.normal(1, 0.5, (40, n))) * 10 ** rng.uniform(-3, 10, (40, 1))
    if rng.random() < 0.3:
        s *= np.sign(rng.normal(0.5, 1, (1, n)))
    s = s[np.all(s + bkg > 0, axis=1)]
    assert (n, kv, kf) == (3, 2, 1) and np.abs(s).max() > 1e9
    dlogd = np.where(d > 0, d * np.log(np.maximum(d, 1e-300)), 0.0)
    G = column_products(V, F)
    f, _, _ = newton_profile(s, d, dlogd, bkg, V, F, G, None, 100, 1e-9)
    start = newton_profile(s, d, dlogd, bkg, V, F, G, None, 0, 1e-9)[0]
    assert np.all(np.isfinite(f)) and np.all(f <= start)

"""Two-parameter allowed regions: projections, symmetries, the vectorised marginalisation, bad input."""

import json

import numpy as np
import pytest
from scipy.stats import chi2 as chi2_dist

from cevns.analysis import _contour_model, chi2_of, combined_basis
from cevns.cli import main
from cevns.errors import CevnsInputError
from cevns.minimise import marginalise_many
from cevns.models import Millicharge


@pytest.fixture(scope="module")
def qq(exp):
    return exp.contour(("q_ee", "q_emu"), "cevns+eves", dof=1, n=61)


def test_projection_is_the_marginalised_profile(exp, qq):
    """min over q_emu of the 2D Delta chi^2 is the 1D profile of q_ee with q_emu, q_etau marginalised."""
    f = exp.fit("q_ee", "cevns+eves", grid=qq.x, levels=("90%",))
    np.testing.assert_allclose(qq.dchi2.min(axis=1) + qq.chi2_min, f.dchi2 + f.chi2_min, rtol=1e-7, atol=1e-7)
    # so with dof = 1 the extent of the region is the 90% interval of fit(), up to the linear interpolation
    lo, hi = qq.extent()["q_ee"]
    (a, b), = f.intervals["90%"]
    assert lo == pytest.approx(a, rel=2e-3) and hi == pytest.approx(b, rel=2e-3)


def test_projection_with_sin2w_free(exp):
    """A contour with sin2w as an axis: its projection on mu_nu is the mu_nu profile with sin2w marginalised
    (grid in sin2w of 81 points: the projection lies above by at most the grid's quadratic error)."""
    c = exp.contour(("mu_nu", "sin2w"), "cevns+eves", dof=1, n=81)
    f = exp.fit("mu_nu", "cevns+eves", grid=c.x, levels=("90%",), free=["sin2w"])
    diff = (c.dchi2.min(axis=1) + c.chi2_min) - (f.dchi2 + f.chi2_min)
    assert diff.min() > -1e-6 and diff.max() < 0.01
    # minimising over one more parameter can only lower the profile chi^2, point by point
    fixed = exp.fit("mu_nu", "cevns+eves", grid=c.x, levels=("90%",))
    assert np.all(f.dchi2 + f.chi2_min <= fixed.dchi2 + fixed.chi2_min + 1e-9)


def test_marginalise_many_finds_the_brute_force_minimum(exp):
    """Against a dense scan of q_etau (20001 points over +-10 widths) at random (q_ee, q_emu)."""
    model = Millicharge()
    basis, chi2 = combined_basis(exp, model, ["cevns", "eves"]), chi2_of(exp)
    names = basis.names
    rng = np.random.default_rng(1)
    base = np.array([model.values()[k] for k in names])
    pts = np.tile(base, (12, 1))
    pts[:, names.index("q_ee")] = rng.uniform(-4e-12, 4e-12, 12)
    pts[:, names.index("q_emu")] = rng.uniform(-4e-12, 4e-12, 12)
    widths = np.maximum(np.abs(pts[:, [names.index("q_ee"), names.index("q_emu")]]).max(axis=1), 1e-12)[:, None]
    fast, z = marginalise_many(chi2, basis, pts, [names.index("q_etau")], widths)
    for i in range(12):
        scan = np.linspace(-10, 10, 20001) * widths[i, 0]
        full = np.tile(pts[i], (scan.size, 1))
        full[:, names.index("q_etau")] = scan
        brute = chi2(np.einsum("pm,mb->pb", np.stack([np.prod([full[:, names.index(n)] ** k for n, k in m], axis=0)
                                                        if m else np.ones(scan.size) for m in basis.monomials], 1), basis.B))
        assert fast[i] <= brute.min() + 1e-9
        assert fast[i] == pytest.approx(brute.min(), abs=1e-6)


def test_symmetries(exp, qq):
    # the rate is even in q_emu: the grid (symmetric about 0) gives a mirror-symmetric Delta chi^2
    np.testing.assert_allclose(qq.dchi2, qq.dchi2[:, ::-1], atol=1e-9)
    # swapping the axes transposes the grid
    swapped = exp.contour(("q_emu", "q_ee"), "cevns+eves", dof=1, n=61,
                          ranges={"q_emu": (qq.y[0], qq.y[-1]), "q_ee": (qq.x[0], qq.x[-1])})
    np.testing.assert_allclose(swapped.dchi2, qq.dchi2.T, atol=1e-8)


def test_levels_and_result_object(exp, qq):
    joint = exp.contour(("q_ee", "q_emu"), "cevns+eves", dof=2, n=61)
    assert joint.level == pytest.approx(chi2_dist.ppf(0.9, 2)) and qq.level == pytest.approx(chi2_dist.ppf(0.9, 1))
    for p in ("q_ee", "q_emu"):  # the joint (2 dof) region contains the 1-dof one
        assert joint.extent()[p][0] < qq.extent()[p][0] and joint.extent()[p][1] > qq.extent()[p][1]
    d = json.loads(json.dumps(joint.to_dict()))
    assert d["units"] == ["e", "e"] and d["marginalised"] == ["q_etau"] and len(d["dchi2"]) == 61
    assert "q_ee vs q_emu" in str(joint) and "2 dof" in str(joint)
    assert 0.0 <= qq.dchi2.min() < 0.01  # chi2_min is polished off the grid


def test_plot(qq, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    qq.plot(ax, scale=(1e-12, 1e-12))
    assert ax.get_xlabel() == r"$q_{\nu_{ee}}$ [$10^{-12}\,e$]"  # the declared symbol and unit (cevns.labels)
    fig.savefig(tmp_path / "c.png")
    plt.close(fig)


@pytest.mark.parametrize("params,message", [
    (("q_ee", "r2_ee"), "belong to different models"),
    (("q_ee", "q_ee"), "two different parameters"),
    (("sin2w",), "two different parameters"),
    (("sin2w", "g"), "use exclusion()"),
    (("q_ee", "nope"), "unknown parameter 'nope'"),
])
def test_bad_parameter_pairs(params, message):
    with pytest.raises(CevnsInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _contour_model(params)


@pytest.mark.parametrize("kw,message", [
    ({"dof": 3}, "dof must be 1 or 2"),
    ({"n": 2}, "n (grid points per axis) must be an integer in [5, 1000]"),
    ({"ranges": {"q_ee": (1e-12, -1e-12)}}, "range of q_ee must be (lo, hi) with lo < hi"),
    ({"cl": "ninety"}, "confidence level 'ninety' not understood"),
])
def test_bad_contour_options(exp, kw, message):
    with pytest.raises(CevnsInputError) as e:
        exp.contour(("q_ee", "q_emu"), **kw)
    assert message in str(e.value)


def test_cli(capsys, tmp_path):
    assert main(["contour", "--params", "r2_ee,r2_emu", "--channels", "cevns", "--json", "--n", "21",
                 "--plot", str(tmp_path / "r2.png")]) == 0
    d = json.loads(capsys.readouterr().out)["result"]
    assert d["params"] == ["r2_ee", "r2_emu"] and d["units"] == ["cm^2", "cm^2"] and "dchi2" not in d
    lo, hi = d["extent"]["r2_ee"]
    assert -1e-30 < lo < 0 < hi < 1e-30  # cm^2
    assert (tmp_path / "r2.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["contour", "--params", "q_ee"]) == 2
    assert "two names separated by a comma" in capsys.readouterr().err


@pytest.mark.parametrize("param,free", [(p, None) for p in ("q_ee", "q_emu", "r2_ee", "r2_emu", "mu_nu")]
                         + [("q_ee", ["q_emu", "q_etau", "sin2w"])])
@pytest.mark.parametrize("channels", ["cevns", "cevns+eves"])
def test_vectorised_profile_matches_point_by_point_bfgs(exp, param, free, channels):
    """The vectorised marginalisation used by fit() against BFGS from a grid start at every point
    (different algorithms): never worse by more than 1e-4 in chi^2 over the whole scan.  (It is
    sometimes better: on the near-flat ring of two interfering charge radii BFGS can stop 5e-4 high.)
    The last case frees sin2w beside two charges: two basins in sin2w, which only continuation along
    the scan connects."""
    from cevns.analysis import _Problem

    prob = _Problem(exp, param, channels, free=free)
    lo, hi = prob.auto_range(2.71)
    xs = np.linspace(lo, hi, 61)
    fast = prob.profile_many(xs)
    slow = np.array([prob.profile(x) for x in xs])
    assert np.max(fast - slow) < 1e-4


def test_two_free_parameters_against_a_dense_grid(exp):
    """r2_emu with r2_ee and r2_etau free: the vectorised minimum is at or below the minimum of a dense
    401 x 401 grid of the free pair (an upper bound of the true minimum) at points along the scan."""
    from cevns.analysis import _Problem

    prob = _Problem(exp, "r2_emu", "cevns")
    prob.auto_range(2.71)
    xs = np.array([0.0, 1.2e-31, 2.5e-31, 4e-31])
    fast = prob.profile_many(xs)
    axis = np.linspace(-1.2e-30, 1.2e-30, 401) / 1e-32  # scaled units of the free parameters
    zz = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    for x, f in zip(xs, fast):
        brute = prob.chi2_points(np.full(zz.shape[0], x), zz).min()
        assert f <= brute + 1e-9


@pytest.mark.parametrize("params", [("q_emu", "q_ee"), ("r2_emu", "r2_ee")])  # the odd one along the rows
def test_batches_of_rows_give_the_grid_of_one_row_at_a_time(exp, params, monkeypatch):
    """The rows are minimised in batches along a snake (analysis.CONTOUR_BATCH bounds the memory): the grid is the
    one of a scan row by row (batch of one row) to rounding, every point at its own place."""
    import cevns.analysis as A

    whole = exp.contour(params, "cevns+eves", n=11)
    monkeypatch.setattr(A, "CONTOUR_BATCH", 1)  # one row per batch
    rows = exp.contour(params, "cevns+eves", n=11)
    monkeypatch.setattr(A, "CONTOUR_BATCH", 3 * 11 * 25)  # three rows per batch: a snake and a batch's first row
    three = exp.contour(params, "cevns+eves", n=11)
    assert np.array_equal(whole.x, rows.x) and np.array_equal(whole.y, rows.y)
    assert np.allclose(whole.dchi2, rows.dchi2, rtol=0, atol=1e-9)
    assert np.allclose(three.dchi2, rows.dchi2, rtol=0, atol=1e-9)
    # a row read back in the wrong direction would show: along a row (the second parameter) the grid is not
    # symmetric
    assert np.abs(whole.dchi2 - whole.dchi2[:, ::-1]).max() > 0.1


def test_a_level_read_off_the_grid_is_the_region_of_that_level(exp, qq):
    """at_level(dof=1) reads the dof = 1 region off the dof = 2 grid (reproduce does, one marginalisation for both):
    its extent is the dof = 1 contour's own (on its own, narrower grid) to the grids' interpolation, and it is the
    one-parameter interval of the marginalised profile."""
    c2 = exp.contour(("q_ee", "q_emu"), "cevns+eves", dof=2)
    own = exp.contour(("q_ee", "q_emu"), "cevns+eves", dof=1)
    read = c2.at_level(dof=1)
    assert read.dof == 1 and read.level == pytest.approx(chi2_dist.ppf(0.9, 1), rel=1e-12) and read.cl == 0.9
    assert read.dchi2 is c2.dchi2 and c2.dof == 2  # the same grid, the original untouched
    for p in ("q_ee", "q_emu"):
        lo, hi = read.extent()[p]
        lo1, hi1 = own.extent()[p]
        step = c2.x[1] - c2.x[0] if p == "q_ee" else c2.y[1] - c2.y[0]
        assert abs(lo - lo1) < 0.05 * step and abs(hi - hi1) < 0.05 * step, (p, lo, lo1, hi, hi1, step)
    assert c2.at_level(dof=2, cl="1sigma").level == pytest.approx(chi2_dist.ppf(0.6826894921370859, 2), rel=1e-9)
    with pytest.raises(CevnsInputError, match="dof"):
        c2.at_level(dof=3)


def test_a_region_that_reaches_the_grid_edge_says_so():
    """open_edges names the sides of the grid the allowed region touches (there it goes on) and the plot note says
    it; a region inside the grid has none."""
    from cevns.results import ContourResult

    x, y = np.linspace(-2, 2, 41), np.linspace(-2, 2, 41)
    X, Y = np.meshgrid(x, y, indexing="ij")

    def region(cx, cy):  # a disc of radius sqrt(4.605 / 4) = 1.07 about (cx, cy)
        return ContourResult(("a", "b"), "cevns", ("", ""), 0.9, 2, 4.605, x, y, 4 * ((X - cx) ** 2 + (Y - cy) ** 2),
                             (cx, cy), 0.0, statistic="poisson")

    assert region(0.0, 0.0).open_edges() == [] and "grid's" not in region(0.0, 0.0).note()
    assert region(0.0, 1.5).open_edges() == ["top"]
    assert region(-1.5, 0.0).open_edges() == ["left"]
    assert region(1.5, -1.5).open_edges() == ["right", "bottom"]
    assert "the region reaches the grid's top edge: it goes on beyond" in region(0.0, 1.5).note()


def test_a_parameter_entering_only_squared_has_its_best_fit_reported_non_negative():
    """Magnetic moments enter the rate as mu^2: the minima at +-mu are one point (the statistic is the same at both
    mirrors), and the region's best fit is the mirror with mu >= 0 (which of the two a minimiser reaches is decided
    by rounding: the sign was arbitrary)."""
    import cevns

    lar = cevns.load_experiment("coherent-lar-2020")
    res = lar.contour(("mu_nu_e", "mu_nu_mu"), n=9)
    assert res.best[0] >= 0.0 and res.best[1] >= 0.0
    from cevns.models import MODELS

    model = MODELS["magnetic-moment-flavour"]
    mirrors = [lar.chi2(model(mu_nu_e=sa * res.best[0], mu_nu_mu=sb * res.best[1])) for sa in (1, -1) for sb in (1, -1)]
    np.testing.assert_allclose(mirrors, mirrors[0], rtol=1e-12)

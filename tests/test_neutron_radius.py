"""Neutron radii as fit parameters (issue 24, item 4) and the marginalisation of an exactly degenerate partner."""

import shutil
from importlib import resources

import numpy as np
import pytest

import cevns
from cevns import models, nuclei, xsec
from cevns.cli import main


@pytest.fixture(scope="module")
def csi():
    return cevns.load_experiment("coherent-csi-2021")


def _enriched(tmp_path, toml: str, element_line: str, abundances: str, data: str):
    """A copy of a built-in experiment file whose target is one isotope (the data file beside it)."""
    src = resources.files("cevns.data.experiments")
    text = src.joinpath(toml).read_text()
    assert element_line in text
    (tmp_path / toml).write_text(text.replace(element_line, element_line + f"\nabundances = {abundances}"))
    shutil.copy(str(src.joinpath(data)), tmp_path / data)
    return tmp_path / toml


def test_default_radii_are_the_helm_radii_of_today():
    """rms^2 = 3/5 R0^2 + 3 s^2 of Lewin-Smith's Helm R0 (c = 1.23 A^(1/3) - 0.60, a = 0.52, s = 0.9 fm), by hand."""
    for el, A in (("Cs", 133), ("I", 127)):
        c = 1.23 * A ** (1 / 3) - 0.60
        r0sq = c * c + 7 / 3 * np.pi**2 * 0.52**2 - 5 * 0.81
        assert models.NeutronRadius.parameter(f"rn_{el}").default == pytest.approx(np.sqrt(0.6 * r0sq + 3 * 0.81),
                                                                                    rel=1e-11, abs=0)
    assert models.parameter("rn_Cs").default == pytest.approx(4.8045, abs=1e-4)
    # one parameter per element of data/isotopes.csv (a new element needs no code)
    assert {p.name for p in models.NeutronRadius.family()} == {f"rn_{el}" for el in nuclei.known_elements()}
    assert models.parameter("rn_CsI").default == models.parameter("rn_Cs").default


def test_cross_section_at_a_non_default_radius_is_the_hand_computed_one():
    """(Q_p F_p + Q_n F_n)^2 with F_n the Helm form factor at the box radius of rms 5.9 fm, directly (no interpolation)."""
    iso = nuclei.load_target("Cs").isotopes[0]
    T = np.geomspace(1e-4, 0.045, 40)  # MeV: the recoils of a stopped-pion source on Cs
    q = np.sqrt(2 * iso.mass_MeV * T)
    fp = nuclei.helm_form_factor(q, 133)
    for r, s2w in ((5.9, 0.2386), (3.1, 0.21), (7.5, 0.25)):
        fn = nuclei.helm_form_factor(q, 133, radius_fm=nuclei.helm_box_radius(r))
        q2 = (55 * (0.5 - 2 * s2w) * fp - 0.5 * 78 * fn) ** 2
        ref = xsec.cevns_coherent_terms(T, iso.mass_MeV, 1.0, q2)
        m = models.NeutronRadius(rn_Cs=r, sin2w=s2w)
        got = m.cevns_terms(T, iso, None, m.values())
        for n in (0, -1, -2):
            np.testing.assert_allclose(got[n], ref[n], rtol=1e-7, atol=0)


def test_binned_rate_at_non_default_radii_matches_the_direct_form_factor(csi):
    """At sin^2 theta_W = 1/4 the proton weak charge vanishes: the rate is Q_n^2 F_n^2, which the target's own form
    factor at the given radius (radii_fm, the exact path) computes without the interpolation."""
    offset = models.default_radius_fm("I") - models.default_radius_fm("Cs")
    for r in (2.7, 4.0, 5.42, 6.5, 7.6):
        direct = cevns.load_experiment("coherent-csi-2021", radii_fm={"Cs": r, "I": r + offset}).engine.rates(
            models.StandardModel(sin2w=0.25), "cevns")
        fast = csi.engine.rates(models.TiedNeutronRadius(sin2w=0.25, rn_CsI=r), "cevns")
        np.testing.assert_allclose(fast, direct, rtol=1e-8, atol=1e-9 * direct.max())


def test_single_isotope_argon_matches_the_direct_form_factor(tmp_path):
    path = _enriched(tmp_path, "coherent_lar_2020.toml", 'element = "Ar"', "{ 40 = 1.0 }",
                     "coherent_lar_2020_pdfs.csv")
    shutil.copy(str(resources.files("cevns.data.experiments").joinpath("coherent_lar_2020_efficiency.csv")), tmp_path)
    lar = cevns.load_experiment(path)
    # rn_Ar is the natural element's (abundance-weighted) radius; Ar-40 keeps its default offset from it
    offset = nuclei.helm_rms_radius(40) - models.default_radius_fm("Ar")
    for r in (1.95, 3.0, 4.4, 5.4):
        direct = cevns.load_experiment(path, radii_fm={"Ar": r + offset}).engine.rates(
            models.StandardModel(sin2w=0.25), "cevns")
        fast = lar.engine.rates(models.NeutronRadius(sin2w=0.25, rn_Ar=r), "cevns")
        np.testing.assert_allclose(fast, direct, rtol=1e-8, atol=1e-9 * direct.max())


@pytest.mark.parametrize("name, inputs", [("coherent-csi-2021", {}), ("coherent-lar-2020", {}), ("conus-plus", {}),
                                          ("coherent-csi-2021", {"form_factor": "klein-nystrand"}),
                                          ("coherent-csi-2021", {"radii_fm": {"Cs": 5.1, "I": 4.6}})])
def test_default_radii_reproduce_todays_predictions(name, inputs):
    """At the declared defaults every rate is the target's own (Helm, Klein-Nystrand, or the file's radii)."""
    exp = cevns.load_experiment(name, **inputs)
    sm = exp.engine.rates(models.StandardModel(), "cevns")
    for m in (models.NeutronRadius(), models.TiedNeutronRadius()):
        np.testing.assert_allclose(exp.engine.rates(m, "cevns"), sm, rtol=1e-9, atol=0)


def test_rate_falls_with_the_radius_and_tends_to_the_point_nucleus(csi):
    """A larger neutron radius suppresses coherence more (F_n smaller at every q below its first zero): the rate
    falls monotonically; it stays below the point-nucleus rate (F = 1) and above the proton-only bound."""
    radii = np.linspace(2.7, 7.6, 25)
    totals = np.array([csi.engine.rates(models.TiedNeutronRadius(rn_CsI=r), "cevns").sum() for r in radii])
    assert np.all(np.diff(totals) < 0)
    assert totals[0] / totals[-1] > 2.0  # coherence lost: COHERENT CsI is sensitive to the radius
    iso = nuclei.load_target("Cs").isotopes[0]
    q = np.sqrt(2 * iso.mass_MeV * 0.02)
    f = [nuclei.Target("Cs", (iso,)).form_factor_at(iso, q, r) for r in (4.0, 5.0, 6.0)]
    assert 1 > f[0] > f[1] > f[2] > 0


def test_csi_radius_fit_gives_a_finite_interval_around_the_literature(csi):
    """One common radius for Cs and I (rn_CsI): finite 1 sigma and 90% intervals, containing the APV + COHERENT 2017
    value 5.42 fm (Cadeddu and Dordei, arXiv:1808.10202) and excluding the point nucleus' small radii."""
    r = csi.fit("rn_CsI", "cevns")
    for level in ("1sigma", "90%"):
        (lo, hi), = r.intervals[level]
        assert 4.0 < lo < 5.42 < hi < 7.0
        assert r.open_ends[level] == [[False, False]]
    assert r.fixed == {"sin2w": models.SIN2W.default}


def test_radius_interval_reaching_the_modelled_range_is_open():
    """LAr 2020 does not bound R_n(Ar) from below within the modelled range: reported open, never cut there."""
    r = cevns.load_experiment("coherent-lar-2020").fit("rn_Ar", "cevns", levels=("90%",))
    (lo, hi), = r.intervals["90%"]
    assert lo == models.parameter("rn_Ar").bounds[0] and r.open_ends["90%"][0][0]
    assert hi < models.parameter("rn_Ar").bounds[1]


@pytest.mark.parametrize("argv, words", [
    (["fit", "coherent-csi-2021", "--param", "rn_Zz"], "unknown parameter 'rn_Zz'"),
    (["fit", "coherent-csi-2021", "--param", "rn_Ge"], "does not depend on rn_Ge"),
    (["fit", "coherent-csi-2021", "--param", "rn_Cs", "--fix", "rn_I=-1"], "rn_I"),
    (["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Cs=-4.8"], "must lie in"),
    (["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Cs=4.8e-15"], "must lie in"),
])
def test_bad_radius_input_is_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_sin2w_at_a_fixed_radius_from_the_command_line(capsys):
    """`fit --param sin2w --fix rn_CsI=4.86` fits sin^2 theta_W at the radius of Huang et al. (arXiv:2403.03566)."""
    assert main(["fit", "coherent-csi-2021", "--param", "sin2w", "--fix", "rn_CsI=4.86", "--json"]) == 0
    import json

    res = json.loads(capsys.readouterr().out)["result"]
    assert res["fixed"]["rn_CsI"] == 4.86
    (lo, hi), = res["intervals"]["1sigma"]
    assert 0.15 < lo < 0.227 < hi < 0.3  # their 0.227(28) lies inside


def test_an_exactly_degenerate_partner_leaves_the_parameter_unbounded(tmp_path):
    """On one isotope (Ge-76) eps_ee_uV is compensated exactly by eps_ee_dV along Z (2u + d) + N (u + 2d) = 0: with
    eps_ee_dV marginalised the profile is flat, and the interval is unbounded (was: a closed interval with spurious
    holes where the minimiser missed the narrow valley)."""
    path = _enriched(tmp_path, "conus_plus_2025.toml", 'element = "Ge"                 # natural germanium, '
                     'abundances of the paper (data/isotopes.csv)', "{ 76 = 1.0 }", "conus_plus_2025_excess.csv")
    r = cevns.load_experiment(path).fit("eps_ee_uV", "cevns", levels=("90%",), free=["eps_ee_dV"])
    assert r.intervals["90%"] == [[-np.inf, np.inf]] or (len(r.intervals["90%"]) == 1 and r.open_ends["90%"] == [[True, True]])
    assert float(np.max(r.dchi2)) < 0.01  # flat (to the scan points' convergence along the valley)


def test_natural_germanium_breaks_the_degeneracy_at_large_couplings():
    """Natural Ge (N = 38..44) cannot compensate every isotope at once: the profile rises at |eps_ee_uV| ~ 20, a
    physical closing of the interval (checked against a one-dimensional minimisation over eps_ee_dV)."""
    from scipy import optimize

    exp = cevns.load_experiment("conus-plus")
    r = exp.fit("eps_ee_uV", "cevns", levels=("90%",), free=["eps_ee_dV"])
    (lo, hi), = r.intervals["90%"]
    assert 10 < -lo < 30 and 10 < hi < 30
    basis = exp.engine.basis(models.VectorNSI(), "cevns")
    chi2 = exp.chi2_function()

    def profile(u):
        f = lambda d: float(chi2(basis.evaluate({**models.VectorNSI().values(), "eps_ee_uV": u, "eps_ee_dV": d})))
        d0 = -u * (2 * 32 + 44) / (32 + 2 * 44)
        return optimize.minimize_scalar(f, bracket=(d0 - 1, d0, d0 + 1)).fun

    assert profile(hi) - r.chi2_min == pytest.approx(2.706, abs=0.02)


def test_fixed_radii_stated_are_those_of_the_target(csi):
    """A result states the radii it held fixed, only those of the target's elements."""
    r = csi.fit("rn_Cs", "cevns", levels=("90%",))
    assert r.fixed == {"sin2w": models.SIN2W.default, "rn_I": models.parameter("rn_I").default}


def test_contour_best_fit_agrees_with_the_marginalised_profile(csi):
    """The (sin2w, rn_CsI) contour's best fit (a grid and Nelder-Mead) and the sin2w fit with rn_CsI marginalised
    (the vectorised profile) are two paths to the same minimum; the region is the degenerate band, reaching the top of
    the modelled range."""
    c = csi.contour(["sin2w", "rn_CsI"], "cevns", n=41)
    f = csi.fit("sin2w", "cevns", levels=("1sigma",), model=models.TiedNeutronRadius(), free=["rn_CsI"])
    assert c.best[0] == pytest.approx(f.best, abs=2e-3)
    assert c.chi2_min == pytest.approx(f.chi2_min, abs=1e-3)
    lo, hi = models.parameter("rn_CsI").bounds
    assert lo < c.best[1] < hi
    assert c.y[-1] == hi and c.y[0] == lo  # the radius axis spans its modelled range


@pytest.mark.parametrize("element", nuclei.known_elements())
def test_every_element_of_the_isotope_table_has_its_radius(element):
    """Generic over data/isotopes.csv (Xe included): per isotope, the default reproduces the SM cross section and a
    larger radius lowers it at a momentum transfer inside the first lobe of the form factor."""
    target = nuclei.load_target(element)
    name = f"rn_{element}"
    for iso in target.isotopes:
        T = np.array([2e-3 * 40.0 / iso.A])  # q ~ 0.2 fm^-1 x sqrt(A/40): x = q R below the first zero
        F2 = target.form_factor_squared(iso, np.sqrt(2 * iso.mass_MeV * T))
        sm = models.StandardModel()
        ref = sm.cevns_terms(T, iso, F2, sm.values())[0][0]
        m0 = models.NeutronRadius()
        assert m0.cevns_terms_on(target, T, iso, F2, m0.values())[0][0] == pytest.approx(ref, rel=1e-9, abs=0)
        lo, hi = models.parameter(name).bounds
        big = models.NeutronRadius(**{name: hi})
        assert big.cevns_terms_on(target, T, iso, F2, big.values())[0][0] < ref

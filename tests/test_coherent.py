"""COHERENT CsI and LAr: the stopped-pion source, the responses, the Poisson likelihood, the released numbers."""

import numpy as np
import pytest
from scipy import integrate, optimize

import cevns
from cevns import constants as C
from cevns.detector import RecoilResponse
from cevns.models import ChargeRadius, FlavourMagneticMoment, Millicharge
from cevns.nuclei import load_target
from cevns.poisson import PoissonLikelihood
from cevns.stopped_pion import COMPONENTS, StoppedPionSource, michel_spectrum, prompt_energy_MeV

SNS = StoppedPionSource(pot=1.38e23, nu_per_pot=0.09, distance_m=27.5)


@pytest.fixture(scope="module")
def csi():
    return cevns.load_experiment("coherent-csi-2021")


@pytest.fixture(scope="module")
def lar():
    return cevns.load_experiment("coherent-lar-2020")


# --- the source -----------------------------------------------------------------------------------------
def test_prompt_line_energy():
    # (m_pi^2 - m_mu^2) / (2 m_pi) with PDG masses
    assert prompt_energy_MeV() == pytest.approx(29.792, abs=1e-3)


@pytest.mark.parametrize("comp", [("e", False), ("mu", True)])
def test_michel_spectra_normalised_and_mean_energies(comp):
    m = C.M_MUON
    norm = integrate.quad(lambda E: float(michel_spectrum(E, comp)), 0, m / 2)[0]
    mean = integrate.quad(lambda E: E * float(michel_spectrum(E, comp)), 0, m / 2)[0]
    assert norm == pytest.approx(1.0, rel=1e-12)
    assert mean == pytest.approx(StoppedPionSource.mean_energy_MeV(comp), rel=1e-12)
    assert mean == pytest.approx({("e", False): 31.70, ("mu", True): 36.98}[comp], abs=0.01)


@pytest.mark.parametrize("comp", [("e", False), ("mu", True)])
@pytest.mark.parametrize("emin", [0.5, 10.0, 29.0, 52.0])
def test_michel_moments_are_the_integrals(comp, emin):
    mom = SNS.moments(emin, comp)
    for n in (0, -1, -2):
        ref = integrate.quad(lambda E: float(SNS.spectrum(E, comp)) * E**n, emin, C.M_MUON / 2)[0]
        assert mom[n] == pytest.approx(ref, rel=1e-9)


def test_prompt_moments_are_a_step_at_the_line():
    E0 = prompt_energy_MeV()
    below, above = SNS.moments(E0 - 1e-6, ("mu", False)), SNS.moments(E0 + 1e-6, ("mu", False))
    for n in (0, -1, -2):
        assert below[n] == pytest.approx(SNS.fluence_per_cm2 * E0**n, rel=1e-12)
        assert above[n] == 0.0
    # every component carries the same number of neutrinos
    for comp in COMPONENTS:
        assert SNS.moments(0.0, comp)[0] == pytest.approx(SNS.fluence_per_cm2, rel=1e-12)


def test_fluence_is_pot_times_yield_over_sphere():
    d_cm = 27.5e2
    assert SNS.fluence_per_cm2 == pytest.approx(1.38e23 * 0.09 / (4 * np.pi * d_cm**2), rel=1e-12)


@pytest.mark.parametrize("comp", list(COMPONENTS))
def test_arrival_times_normalised_with_the_lifetimes(comp):
    t = np.linspace(-3, 60, 630001)
    f = SNS.time_pdf(t, comp)
    assert np.all(np.isfinite(f)) and np.all(f >= 0)
    assert np.trapezoid(f, t) == pytest.approx(1.0, abs=1e-6)
    mean = np.trapezoid(f * t, t)
    expect = SNS.pot_mean_us + C.TAU_PION_US + (0.0 if comp == ("mu", False) else C.TAU_MUON_US)
    assert mean == pytest.approx(expect, abs=1e-4)
    assert SNS.time_fractions([-3, 60], comp)[0] == pytest.approx(1.0, abs=1e-6)


# --- targets and responses ---------------------------------------------------------------------------------
def test_csi_is_one_cs_and_one_iodine_per_formula_unit():
    t = load_target("CsI", composition={"Cs": 1, "I": 1})
    assert sorted((i.Z, i.A, i.abundance) for i in t.isotopes) == [(53, 127, 1.0), (55, 133, 1.0)]
    assert t.molar_mass_g == pytest.approx(132.905451961 + 126.904473)
    with pytest.raises(cevns.CevnsInputError, match="compound"):
        _ = t.Z


def test_radius_enters_the_form_factor():
    t0 = load_target("CsI", composition={"Cs": 1, "I": 1})
    t1 = load_target("CsI", composition={"Cs": 1, "I": 1}, radii_fm={"Cs": 5.5})
    cs = [i for i in t0.isotopes if i.Z == 55][0]
    q = np.array([20.0, 50.0])  # MeV
    assert np.all(t1.form_factor_squared(cs, q) < t0.form_factor_squared(cs, q))  # larger radius, smaller F
    io = [i for i in t0.isotopes if i.Z == 53][0]
    assert np.allclose(t1.form_factor_squared(io, q), t0.form_factor_squared(io, q))
    # an rms radius equal to the default Helm one reproduces the default form factor
    R0 = t0.helm.radius_fm(133)
    rms = np.sqrt(0.6 * R0**2 + 3 * t0.helm.s_fm**2)
    t2 = load_target("CsI", composition={"Cs": 1, "I": 1}, radii_fm={"Cs": rms})
    assert np.allclose(t2.form_factor_squared(cs, q), t0.form_factor_squared(cs, q), rtol=1e-12)


@pytest.mark.parametrize("observable,spread,ly", [("PE", (0.0749, 9.56), 13.35), ("keVee", (0.58,), 1.0)])
def test_response_conserves_events(observable, spread, ly):
    """Without efficiency and with bins that hold every outcome >= 0, each recoil lands in some bin: P sums to 1
    (the Gamma in PE has no negative outcomes; the keV_ee Gaussian loses its tail below zero, and only that)."""
    r = RecoilResponse(mass_kg=1.0, quenching="linear-qf", coefficients=(0.246, 0.00078), observable=observable,
                       spread=spread, edges=(0.0, 2.0, 5.0, 3000.0), light_yield=ly, recoil_range_MeV=(2e-3, 0.1))
    T = np.geomspace(5e-3, 0.1, 7)
    from cevns.detector import _gl_bin_probabilities

    mean = r.mean_observed(T)
    P = _gl_bin_probabilities(mean, np.asarray(r.edges), r._pdf, r._eff, sub_nodes=200)
    from scipy.special import ndtr

    kept = np.ones(T.size) if observable == "PE" else ndtr(mean / (0.58 * np.sqrt(mean)))
    assert P.sum(axis=0) == pytest.approx(kept, abs=2e-4)


def test_gamma_pe_distribution_has_the_light_yield_as_mean():
    r = RecoilResponse(mass_kg=1.0, quenching="polynomial", coefficients=(0.0554628, 4.30681, -111.707, 840.384),
                       observable="PE", spread=(0.0749, 9.56), edges=(0.0, 60.0), light_yield=13.35)
    T = np.array([0.01, 0.02])
    x = np.linspace(1e-6, 400, 400001)
    for mean in r.mean_observed(T):
        f = r._pdf(x, mean)
        assert np.trapezoid(f, x) == pytest.approx(1.0, abs=1e-6)
        # the Gamma's mean is 1/a = E_ee / 0.0749 = 13.351 PE/keV_ee: the light yield 13.35 to 1e-4
        assert np.trapezoid(f * x, x) == pytest.approx(mean / 13.35 / 0.0749, rel=1e-6)
        assert np.trapezoid(f * x, x) == pytest.approx(mean, rel=1e-4)
    # 13.35 PE per keV_ee (cohfit): E_ee(10 keV_nr) from the release's polynomial
    ee = 0.0554628 * 0.01 + 4.30681 * 0.01**2 - 111.707 * 0.01**3 + 840.384 * 0.01**4
    assert r.mean_observed(0.01) == pytest.approx(ee * 1e3 * 13.35, rel=1e-12)


# --- flavour physics ----------------------------------------------------------------------------------------
def test_swapping_e_and_mu_parameters_swaps_their_effects():
    iso = load_target("Ar").isotopes[-1]
    T = np.array([5e-3, 2e-2, 6e-2])
    F2 = np.ones_like(T)
    for cls, pre, scale in ((ChargeRadius, "r2_", 3e-32), (Millicharge, "q_", 2e-10)):
        a = cls(**{pre + "ee": scale, pre + "emu": 0.7 * scale, pre + "mutau": 0.4 * scale}).values()
        b = cls(**{pre + "mumu": scale, pre + "emu": 0.7 * scale, pre + "etau": 0.4 * scale}).values()
        te = cls().cevns_terms(T, iso, F2, a, "e", False)
        tm = cls().cevns_terms(T, iso, F2, b, "mu", False)
        for n in te:
            assert np.allclose(te[n], tm[n], rtol=1e-12, atol=0)
        assert not np.allclose(cls().cevns_terms(T, iso, F2, a, "mu", False)[0], te[0], rtol=1e-3, atol=0)
    a = FlavourMagneticMoment(mu_nu_e=3e-10).values()
    b = FlavourMagneticMoment(mu_nu_mu=3e-10).values()
    te, tm = FlavourMagneticMoment().cevns_terms(T, iso, F2, a, "e"), FlavourMagneticMoment().cevns_terms(T, iso, F2, b, "mu")
    assert all(np.allclose(te[n], tm[n], rtol=1e-12, atol=0) for n in te)


def test_flavours_a_reactor_cannot_see_leave_its_chi2_unchanged():
    exp = cevns.load_experiment("conus-plus")
    sm = exp.chi2()
    for model in (ChargeRadius(r2_mumu=5e-31, r2_mutau=5e-31), Millicharge(q_mumu=1e-11, q_mutau=1e-11),
                  FlavourMagneticMoment(mu_nu_mu=1e-9)):
        assert exp.chi2(model) == pytest.approx(sm, rel=1e-12)
    assert exp.chi2(FlavourMagneticMoment(mu_nu_e=1e-10)) == pytest.approx(
        exp.chi2(cevns.MagneticMoment(mu_nu=1e-10)), rel=1e-12)


def test_muon_flavour_moves_coherent(csi):
    base = csi.predict().cevns.sum()
    assert csi.predict(FlavourMagneticMoment(mu_nu_mu=5e-9)).cevns.sum() > base * 1.01
    assert csi.predict(ChargeRadius(r2_mumu=-3e-31)).cevns.sum() != pytest.approx(base, rel=1e-3)


# --- the Poisson likelihood ----------------------------------------------------------------------------------
def test_poisson_without_nuisances_is_the_deviance():
    n = np.array([3.0, 0.0, 10.0, 7.0])
    mu = np.array([2.5, 0.4, 12.0, 6.0])
    L = PoissonLikelihood(n)
    expect = 2 * np.sum(mu - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1) / mu), 0))
    assert float(L(mu)) == pytest.approx(expect, rel=1e-13)


def test_poisson_profile_matches_a_brute_force_minimisation(lar):
    L = lar.counting.likelihood
    s = lar.predict().cevns * 1.2

    def full(theta):
        J = L._jacobian(s[None, :])[0]
        mu = s + L.bkg_total + J @ theta
        if np.any(mu <= 0):
            return 1e30
        return float(L._stat(mu[None, :], theta[None, :])[0])

    ref = optimize.minimize(full, np.zeros(L.n_nuisances), method="BFGS", options={"gtol": 1e-10})
    assert float(L(s)) == pytest.approx(ref.fun, abs=1e-6)
    assert float(L(s)) <= ref.fun + 1e-9


def test_poisson_gradient_by_finite_differences(csi):
    L = csi.counting.likelihood
    s = csi.predict().cevns
    g = L.gradient(s)
    for i in (5, 20, 40):
        h = 1e-4 * max(s[i], 1.0)
        e = np.zeros_like(s)
        e[i] = h
        fd = (float(L(s + e)) - float(L(s - e))) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=1e-4, abs=1e-6)


def test_joint_likelihood_is_the_sum_of_the_parts(csi, lar):
    cp = cevns.load_experiment("conus-plus")
    free = cp + csi.replace(shared={}) + lar.replace(shared={})
    shared = cp + csi + lar  # the SNS flux normalisation shared by CsI and LAr (their files say so)
    assert shared.shared_nuisances() == {"sns-flux": ["coherent-csi-2021", "coherent-lar-2020"]}
    assert free.shared_nuisances() == {}
    for model in (None, cevns.ChargeRadius(r2_ee=-2e-31, r2_mumu=1e-31), cevns.StandardModel(sin2w=0.25)):
        parts = cp.chi2(model) + csi.chi2(model) + lar.chi2(model)
        assert free.chi2(model) == pytest.approx(parts, rel=1e-12)
        assert abs(shared.chi2(model) - parts) > 1e-3  # one common flux nuisance (one penalty) instead of two


def test_a_shared_nuisance_moves_both_parts(csi, lar):
    """The merged likelihood's shared column is each part's own signal-normalisation column, side by side;
    its profile agrees with a brute-force minimisation over every nuisance."""
    from cevns.poisson import PoissonLikelihood

    Lc, Ll = csi.counting.likelihood, lar.counting.likelihood
    M = PoissonLikelihood.combine([Lc, Ll], [{"signal normalisation": "flux"}, {"signal normalisation": "flux"}])
    assert M.n_nuisances == Lc.n_nuisances + Ll.n_nuisances - 1 and M.names[0] == "flux"
    s = np.concatenate([csi.predict().cevns, lar.predict().cevns]) * 1.1
    J = M._jacobian(s[None, :])[0]
    n = Lc.data.size
    assert np.allclose(J[:n, 0], Lc._jacobian(s[None, :n])[0][:, 0], rtol=1e-14, atol=0)
    assert np.allclose(J[n:, 0], Ll._jacobian(s[None, n:])[0][:, 0], rtol=1e-14, atol=0)

    def full(theta):
        mu = s + M.bkg_total + J @ theta
        return 1e30 if np.any(mu <= 0) else float(M._stat(mu[None, :], theta[None, :])[0])

    ref = optimize.minimize(full, np.zeros(M.n_nuisances), method="BFGS", options={"gtol": 1e-10})
    assert float(M(s)) == pytest.approx(ref.fun, abs=1e-6)


def test_asimov_counting_returns_the_standard_model(lar):
    a = lar.asimov()
    assert float(a.chi2()) == pytest.approx(0.0, abs=1e-8)
    f = a.fit("sin2w", "cevns", levels=("1sigma",))
    assert f.best == pytest.approx(C.SIN2W_LOW_Q, abs=2e-4)
    assert f.chi2_min == pytest.approx(0.0, abs=1e-6)


# --- the released numbers -------------------------------------------------------------------------------------
def test_csi_event_counts_from_the_release(csi):
    # 0 <= PE < 60, 0 <= t < 6 us: 1578 coincidence and 1295 anti-coincidence events (PROVENANCE of the release)
    assert csi.data.counts.sum() == 1578
    ss = csi.counting.likelihood.backgrounds[csi.counting.background_names.index("steady-state")]
    assert ss.sum() == pytest.approx(1295.0, abs=1e-9)


def test_lar_observed_events_and_the_release_prediction(lar):
    assert lar.data.counts.sum() == 3752  # datanobkgsub.txt
    sm = lar.predict().cevns.sum()
    assert abs(sm - 128.0) < 17.0  # the collaboration's prediction 128 +- 17
    L = lar.counting.likelihood
    x = np.linspace(0.2, 3.0, 561)
    best = x[int(np.argmin(L(np.outer(x, lar.predict().cevns))))] * sm
    assert abs(best - 159.0) < 43.0  # fitted 159 +- 43 (release)


def test_lar_time_and_energy_shapes_against_the_release(lar):
    """Our SM prediction against the release's cevnspdf.txt, both normalised, per time and energy bin."""
    from cevns.counting import _binned

    spec = {"kind": "table", "file": "coherent_lar_2020_pdfs.csv",
            "columns": {"energy": "energy_keVee", "time": "t_us", "value": "cevns"}}
    theirs = _binned(lar, spec, "test").reshape(12, 10)
    ours = lar.predict().cevns.reshape(12, 10)
    assert theirs.sum() == pytest.approx(128.0, abs=0.01)
    for axis in (0, 1):
        a, b = ours.sum(axis) / ours.sum(), theirs.sum(axis) / theirs.sum()
        big = b > 0.05
        assert np.all(np.abs(a[big] / b[big] - 1) < 0.15), (axis, a, b)


def test_registry_lists_resolve():
    """Every registered model and experiment exists, and every model class is registered (one place to add)."""
    from cevns import models, registry

    for name in registry.EXPERIMENTS:
        assert cevns.load_experiment(name).engine.n_bins > 0
    classes = {c for c in vars(models).values() if isinstance(c, type) and issubclass(c, models.Model)
               and not c.__name__.startswith("_") and c is not models.Model}
    assert classes == set(models.MODELS.values())
    assert set(registry.MEDIATORS) == {n for n, c in models.MODELS.items() if c.mass_table}


def test_basis_evaluates_a_batch_of_points(csi):
    b = csi.engine.basis(ChargeRadius(), "cevns")
    x = np.array([-3e-31, 0.0, 2e-31])
    batch = b.evaluate_many(b.points(ChargeRadius().values(), 3, r2_mumu=x))
    for xi, row in zip(x, batch):
        assert np.allclose(row, csi.predict(ChargeRadius(r2_mumu=xi)).cevns, rtol=1e-12, atol=0)


def test_the_mirror_island_of_a_charge_radius_is_found():
    """With the transition radii at zero the rate is a parabola in r2_ee: a second 90% island sits at the
    mirror of the first (the weak charge's other sign).  The scan must reach it, and its outer edge must be
    a true crossing of chi^2_min + 2.71 (checked by evaluating the chi^2 there directly)."""
    conus = cevns.load_experiment("conus-plus")
    f = conus.fit("r2_ee", fixed={"r2_emu": 0.0, "r2_etau": 0.0}, levels=("90%",))
    ivs = f.intervals["90%"]
    assert len(ivs) == 2 and ivs[0][1] < ivs[1][0] < 0 < ivs[1][1]
    for edge in (ivs[0][0], ivs[0][1], ivs[1][0], ivs[1][1]):
        assert conus.chi2(ChargeRadius(r2_ee=edge)) - f.chi2_min == pytest.approx(2.7055, abs=1e-4)


def test_parameters_a_data_set_cannot_see_are_refused(csi):
    conus = cevns.load_experiment("conus-plus")
    with pytest.raises(cevns.CevnsInputError, match="does not depend on mu_nu_mu"):
        conus.limit("mu_nu_mu")
    with pytest.raises(cevns.CevnsInputError, match="does not depend on q_mumu in eves"):
        cevns.load_experiment("coherent-lar-2020").limit("q_mumu", 0.9, "eves")  # LAr: no electron channel
    with pytest.raises(cevns.CevnsInputError, match="does not apply"):
        csi.replace(resolution="off")
    joint = conus + csi
    assert joint.replace(shared={}).shared_nuisances() == {}  # applied to the counting part only


def test_the_text_table_shows_energy_and_time_each_with_its_sums(csi):
    """`cevns predict coherent-csi-2021`: one table per axis (energy bins, then time bins), each with the CEvNS,
    background and data columns and a sum row; the rows of each table add up to the same totals."""
    p = csi.predict()
    text = str(p)
    energy, time = text.split("(events, summed over energy bins)")
    assert "bin [PE]" in energy and "time [us]" in time and "time [us]" not in energy
    for part in (energy, time):
        rows = [ln.split() for ln in part.splitlines() if ln and ln.lstrip()[0].isdigit()]
        summed = np.array([[float(x) for x in r[1:4]] for r in rows]).sum(axis=0)
        total = next(ln for ln in part.splitlines() if ln.strip().startswith("sum")).split()[1:4]
        assert np.allclose(summed, [float(x) for x in total], rtol=2e-3)
        assert float(total[0]) == pytest.approx(p.cevns.sum(), rel=1e-4)


# --- the steady-state background's time shape (issue 24, item 2) -------------------------------------------------
def _ac_time_counts(csi):
    """Anti-coincidence events per analysis time bin, 0-60 PE (read here, not through cevns.counting)."""
    a = np.loadtxt(csi.base_dir / "coherent_csi_2021_anticoincidence.csv", delimiter=",", comments="#", skiprows=6)
    te = np.asarray(csi.response.time_edges_us)
    keep = (a[:, 0] >= 0) & (a[:, 0] < 60) & (a[:, 1] >= te[0]) & (a[:, 1] < te[-1])
    return np.histogram(a[keep, 1], bins=te)[0].astype(float), te


def _quad_profile(f, te, brk):
    return np.array([integrate.quad(f, a, b, points=[brk] if a < brk < b else None, epsabs=0, epsrel=1e-12)[0]
                     for a, b in zip(te[:-1], te[1:])])


def test_steady_state_time_shapes_against_quad(csi):
    """Each named shape is the integral of its function over the bins (scipy quad, written out here)."""
    from cevns.counting import time_profile

    te, eff = np.asarray(csi.response.time_edges_us), csi.response.time_efficiency
    t0, k = eff.t0_us, 1.0 / eff.decay_us
    assert (t0, k) == pytest.approx((0.52, 0.0494), rel=1e-5)
    plateau = _quad_profile(lambda t: 1.0 if t < t0 else np.exp(-k * (t - t0)), te, t0)
    no_plateau = _quad_profile(lambda t: np.exp(-k * t), te, 0.0)
    assert time_profile("time-efficiency", te, eff) == pytest.approx(plateau, rel=1e-10)
    assert time_profile("exponential", te, eff) == pytest.approx(no_plateau, rel=1e-10)
    assert time_profile("uniform", te, eff) == pytest.approx(np.diff(te), rel=1e-14)


def test_csi_steady_state_is_shaped_by_the_time_efficiency(csi):
    """The file's choice: the anti-coincidence energy projection times the efficiency's bin integrals; the
    anti-coincidence times prefer it over a flat shape (multinomial deviance, computed here from the events)."""
    n, te = _ac_time_counts(csi)
    ss = csi.counting.likelihood.backgrounds[csi.counting.background_names.index("steady-state")]
    t0, k = 0.52, 1.0 / 20.2429  # the file's time efficiency (0.0494 / us to the file's 6 digits)
    shape = _quad_profile(lambda t: 1.0 if t < t0 else np.exp(-k * (t - t0)), te, t0)
    per_time = ss.reshape(-1, te.size - 1).sum(axis=0)
    assert per_time == pytest.approx(n.sum() * shape / shape.sum(), rel=1e-10)

    def deviance(p):
        mu = n.sum() * p / p.sum()
        return 2 * np.sum(mu - n + n * np.log(n / mu))

    assert deviance(np.diff(te)) - deviance(shape) == pytest.approx(4.15, abs=0.005)


def test_flat_steady_state_stays_available(csi):
    import copy

    cfg = copy.deepcopy(csi.config)
    for b in cfg["backgrounds"]:
        if b["name"] == "steady-state":
            b["time_shape"] = "uniform"
    flat = type(csi)(cfg, csi.base_dir)
    ss = flat.counting.likelihood.backgrounds[flat.counting.background_names.index("steady-state")]
    n, te = _ac_time_counts(csi)
    assert ss.reshape(-1, te.size - 1).sum(axis=0) == pytest.approx(n.sum() * np.diff(te) / np.ptp(te), rel=1e-12)
    b = cfg["backgrounds"][0]
    b["time_shape"] = "rising"
    with pytest.raises(cevns.CevnsInputError, match="time_shape"):
        type(csi)(cfg, csi.base_dir).counting


def test_schema_lists_the_time_shapes_of_the_code():
    from cevns.counting import TIME_SHAPES
    from cevns.schema import SCHEMA

    events = SCHEMA["backgrounds"].items.variant[2]["events"]
    assert tuple(events["time_shape"].choices) == TIME_SHAPES

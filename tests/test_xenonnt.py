"""xenonnt-8b-2026 built in (issue 25): the solar 8B source, xenon, the release's mono-energetic efficiencies as a
response matrix, the binned Poisson likelihood over the runs, the collaboration's numbers, bad inputs.

Expected values are independent of the code under test: analytic limits (flux normalisation, flavour blindness), a
direct integration of spectrum x cross section x efficiency, the release's own grid (not the linearisation), and
the numbers published in PRL 133, 191002 (2024)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns import constants as C
from cevns.errors import CevnsInputError
from cevns.models import StandardModel
from cevns.solar import Solar8BSource, spectrum_table
from cevns.solar_fit import flux_fit
from cevns.templated import signal_at

sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def xe():
    return cevns.load_experiment("xenonnt-8b-2026")


@pytest.fixture(scope="module")
def xe01(xe):
    return xe.replace(runs=["sr0", "sr1"])


# --- the source --------------------------------------------------------------------------------------------------
def test_solar_source_normalisation_and_flavours():
    src = Solar8BSource(flux_cm2_s=5.25e6, p_ee=0.317, mu_fraction=0.5)
    E = np.linspace(0.0, 16.0, 160001)
    total = sum(np.trapezoid(src.spectrum(E, c), E) for c in src.components)
    assert total == pytest.approx(5.25e6, rel=1e-6)  # the flux is the integral of the three flavours
    assert sum(src.moments(0.0, c)[0] for c in src.components) == pytest.approx(5.25e6, rel=1e-6)
    assert src.weight(("e", False)) == pytest.approx(0.317, abs=0) and src.weight(("mu", False)) == src.weight(("tau", False))
    # <1/E> by direct integration against the moment of order -1, above 6 MeV
    Eh = np.linspace(6.0, 16.0, 100001)
    direct = np.trapezoid(src.spectrum(Eh, ("e", False)) / Eh, Eh)
    assert float(src.moments(6.0, ("e", False))[-1]) == pytest.approx(direct, rel=1e-5)
    Et, lam = spectrum_table()
    assert Et[np.argmax(lam)] == pytest.approx(6.4, abs=0.15)  # Winter et al.: the peak near 6.4-6.5 MeV
    assert Solar8BSource(p_ee=1.0).components == (("e", False),)  # no tau component: models need not know it


def test_sm_prediction_is_flavour_blind_and_linear_in_the_flux(xe):
    s = xe.predict().cevns
    assert xe.replace(p_ee=0.9, mu_fraction=0.1).predict().cevns == pytest.approx(s, rel=1e-12, abs=0)
    assert xe.replace(flux_cm2_s=2 * 5.25e6).predict().cevns == pytest.approx(2 * s, rel=1e-12, abs=0)
    # a flavour-dependent parameter sees the flavour content: eps_ee through p_ee only
    m = cevns.get_model("nsi-vector", eps_ee_uV=0.1)
    a, b = xe.predict(m).cevns.sum(), xe.replace(p_ee=0.6).predict(m).cevns.sum()
    assert b != pytest.approx(a, rel=1e-3)


# --- event conservation: the response matrix against a direct integration ---------------------------------------
def test_templates_times_spectrum_equal_a_direct_integration(xe):
    """Per bin: exposure x sum_E eps(E, b) dR/dE(E) 0.1 keV with dR/dE integrated directly (trapezoid over E_nu of
    the spectrum x the model's own dsigma/dT per isotope, summed with abundances) equals the engine's prediction."""
    r, tgt, src = xe.response, xe.target, xe.source
    per_kg = tgt.atoms_per_kg()
    Enu = np.linspace(1e-3, 16.0, 32001)
    phi = sum(src.spectrum(Enu, c) for c in src.components)
    sm = StandardModel()
    dRdT = np.zeros(r.energies_keV.size)  # per kg per s per MeV
    for k, T in enumerate(r.energies_keV * C.keV):
        for iso in tgt.isotopes:
            ds = sm.dsigma_cevns(Enu, np.full_like(Enu, T), iso)
            dRdT[k] += iso.abundance * np.trapezoid(phi * ds, Enu)
    dRdT *= per_kg
    eff = r.efficiency_at(0.0, 0.0)  # (n_E, n_bins)
    direct = r.exposure_kg_s * (eff * dRdT[:, None]).sum(axis=0) * 0.1 * C.keV
    pred = xe.predict().cevns
    # measured 4e-6 in the total, 7e-6 per bin: the trapezoid over E_nu in 0.5 keV steps against the engine's moments
    assert pred.sum() == pytest.approx(direct.sum(), rel=1e-4)
    assert pred == pytest.approx(direct, rel=1e-4, abs=1e-9)
    # t yr: 1000 kg x 365.25 d x 86400 s per t yr (the exposures are the release's 'livetimes')
    assert r.exposure_kg_s[0] == pytest.approx(1.174398 * 1000 * 365.25 * 86400, rel=1e-12)


# --- the yields: linearisation against the release's grid ------------------------------------------------------
@pytest.mark.parametrize("axis,at,tol", [("tly", 1, 0.025), ("tly", -1, 0.025), ("tly", 2, 0.03), ("tly", -2, 0.09),
                                         ("tqy", 1, 0.01), ("tqy", -1, 0.01), ("tqy", 2, 0.025), ("tqy", -2, 0.06)])
def test_linearised_yields_against_the_grid(xe01, axis, at, tol):
    """The signal total at a grid point of the release against s (1 + t delta): the symmetric linear interpolation
    errs by the stated amounts (docs/xenonnt.md: 2.0 % at tly = +1, 7.9 % at tly = -2, where the efficiency
    curves bend)."""
    lk = xe01.counting.likelihood
    k = 0 if axis == "tly" else 1
    s0 = xe01.predict().cevns
    grid = signal_at(xe01, at if axis == "tly" else 0, at if axis == "tqy" else 0).sum()
    lin = (s0 * (1 + at * lk.signal_shapes[k])).sum()
    assert abs(lin - grid) / grid < tol
    assert (grid - s0.sum()) * at > 0  # more light or charge, more signal above threshold


def test_fast_profile_against_the_grid_reference(xe01):
    """The fast profile (linearised yields, neutron yields apart) against a per-point scipy minimiser on the grid
    interpolated bilinearly with one tly and tqy for signal and neutrons (tests/xenonnt_reference.py): the
    significance to 0.02 sigma, the flux to 5 % (measured 0.05 % and 2.6 %)."""
    from scipy.optimize import minimize_scalar
    from xenonnt_reference import GridLikelihood

    g = GridLikelihood(xe01)
    fast = flux_fit(xe01)
    r = minimize_scalar(g.profile, bounds=(0.3, 2.5), method="bounded", options={"xatol": 1e-3})
    z_ref = np.sqrt(g.profile(0.0) - r.fun)
    assert fast["significance_sigma"] == pytest.approx(z_ref, abs=0.02)
    assert fast["scale"] == pytest.approx(r.x, rel=0.05)


# --- the collaboration's numbers ------------------------------------------------------------------------------
def test_fidelity_sr0_sr1_significance_flux_and_background_against_the_prl(xe01):
    """PRL 133, 191002: 37 events, background 26.4 +1.4 -1.3, background-only rejected at 2.73 sigma, flux
    (4.7 +3.6 -2.3)e6 cm^-2 s^-1.  Tolerance of the significance 0.15 sigma: the release gives no background
    uncertainties, and halving or doubling the assumed AC one (5.3 %) moves it by -0.10/+0.05 sigma
    (docs/xenonnt.md).  The flux: each interval holds the other's central value (ours is 28 % higher: the SM
    signal of the released templates is lower than the PRL's, docs/xenonnt.md)."""
    r = flux_fit(xe01)
    assert r["observed_events"] == 37
    assert r["background_events"] == pytest.approx(26.4, abs=1.3)
    assert r["significance_sigma"] == pytest.approx(2.73, abs=0.15)
    assert r["flux_lo_cm2_s"] < 4.7e6 < r["flux_hi_cm2_s"]
    assert 4.7e6 - 2.3e6 < r["flux_cm2_s"] < 4.7e6 + 3.6e6


def test_runs_restrict_bins_and_exposure(xe, xe01):
    assert xe.engine.n_bins == 243 and xe01.engine.n_bins == 162
    assert xe01.predict().cevns == pytest.approx(xe.predict().cevns[:162], rel=1e-12, abs=0)
    assert xe01.data.counts.sum() == 37 and xe.data.counts.sum() == 62
    assert xe.replace(runs=["sr2"]).data.counts.sum() == 25


def test_fits_work_alone_and_jointly(xe):
    r = xe.fit("sin2w", "cevns")
    lo, hi = r.intervals["1sigma"][0]
    assert lo < C.SIN2W_LOW_Q < hi  # the SM inside 1 sigma
    joint = cevns.load_experiment("coherent-csi-2021") + xe
    j = joint.fit("sin2w", "cevns")
    assert j.intervals["1sigma"][0][1] - j.intervals["1sigma"][0][0] < hi - lo


# --- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change,match", [
    ({"runs": ["sr3"]}, "runs must name each run once"),
    ({"runs": ["sr0", "sr0"]}, "runs must name each run once"),
    ({"runs": []}, "runs"),
    ({"p_ee": 1.5}, "p_ee"),
    ({"mu_fraction": -0.1}, "mu_fraction"),
    ({"flux_cm2_s": -5.0}, "flux_cm2_s"),
    ({"ac_sigma": -0.1}, "ac_sigma"),
])
def test_bad_inputs_are_one_line_errors(xe, change, match):
    with pytest.raises(CevnsInputError, match=match):
        xe.replace(**change)


def _edited(tmp_path, old, new):
    src = ROOT / "src" / "cevns" / "data" / "experiments" / "xenonnt_8b_2026.toml"
    text = src.read_text()
    assert old in text
    for f in src.parent.glob("xenonnt_8b_2026_*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    p = tmp_path / "x.toml"
    p.write_text(text.replace(old, new))
    return p


@pytest.mark.parametrize("old,new,match", [
    ('model = "release-templates"', 'model = "linear-qf"\ncoefficients = [0.2, 0.0]', "go together"),
    ('energy_step_keV = 0.1', 'energy_step_keV = 0.2', "0.1 keV apart"),
    ('runs_file = "xenonnt_8b_2026_runs.csv"', 'runs_file = "none.csv"', "not found"),
    ('year_days = 365.25', 'year_days = 365.25\nlive_days = 3', "live_days"),
    ('p_ee = 0.317', 'p_ee = "0.3"', "p_ee"),
])
def test_bad_experiment_files_are_refused(tmp_path, old, new, match):
    with pytest.raises(CevnsInputError, match=match):
        cevns.load_experiment(_edited(tmp_path, old, new))


def test_cli_lists_predicts_and_refuses(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "cevns", *args], capture_output=True, text=True,
                              env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})

    out = run("list")
    assert out.returncode == 0 and "xenonnt-8b-2026" in out.stdout
    out = run("predict", "xenonnt-8b-2026")
    assert out.returncode == 0 and "observed 62 events" in out.stdout
    bad = _edited(tmp_path, 'runs = ["sr0", "sr1", "sr2"]', 'runs = ["sr9"]')
    out = run("fit", str(bad), "--param", "sin2w")
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_golden_key_results():
    """The key results of the experiment against tests/golden/xenonnt_results.json (regenerate.py)."""
    from golden.regenerate import XENONNT_FILE, compare, load, xenonnt_results

    bad = compare(xenonnt_results(), load(XENONNT_FILE), "xenonnt")
    assert bad == [], bad[:10]


def test_newton_profile_against_scipy_on_the_linear_likelihood(xe):
    """The vectorised Newton profile of the 8 nuisances against scipy (BFGS from zero) on the same linear
    likelihood, at the SM and at 0, 2 and 4 times its signal: equal to 1e-6 in -2 ln lambda."""
    from scipy.optimize import minimize

    lk = xe.counting.likelihood
    s0 = xe.predict().cevns
    V, F, d, b = lk._V, lk._F, lk.data, lk.bkg_total
    kv = V.shape[0]
    dl = np.where(d > 0, d * np.log(np.maximum(d, 1e-300)), 0.0)

    def stat(th, s):
        mu = np.maximum(s * (1 + th[:kv] @ V) + b + th[kv:] @ F, 1e-12)
        return float(2 * (mu - d + dl - d * np.log(mu)).sum() + th @ th)

    for f in (0.0, 1.0, 2.0, 4.0):
        ref = minimize(stat, np.zeros(lk.n_nuisances), args=(f * s0,), method="BFGS", options={"gtol": 1e-9}).fun
        assert float(lk(f * s0)) == pytest.approx(ref, abs=1e-6)


def test_flavour_parameters_see_the_flavours_at_earth(xe):
    """A transition charge q_etau acts on nu_e and nu_tau only: with every neutrino a nu_mu at Earth (p_ee = 0,
    mu_fraction = 1) the prediction is the SM's; with the tau share it is not.  mu_nu_e likewise sees nu_e only."""
    only_mu = xe.replace(p_ee=0.0, mu_fraction=1.0)
    sm = only_mu.predict().cevns
    m = cevns.get_model("millicharge", q_etau=1e-7)
    assert only_mu.predict(m).cevns == pytest.approx(sm, rel=1e-12, abs=0)
    assert xe.replace(p_ee=0.0, mu_fraction=0.0).predict(m).cevns.sum() > sm.sum() * 1.01
    mm = cevns.get_model("magnetic-moment-flavour", mu_nu_e=1e-9)
    assert only_mu.predict(mm).cevns == pytest.approx(sm, rel=1e-12, abs=0)
    assert xe.predict(mm).cevns.sum() > xe.predict().cevns.sum()

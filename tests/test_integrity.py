"""Fit integrity and one interface (issue 13, parts 3 and 5): goodness of fit, boundary flags, convergence,
the JSON envelope of every command, one confidence-level syntax, and an honest --exposure."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns import CevnsInputError, MagneticMoment, StandardModel
from cevns.cli import main
from cevns.stats import ConfidenceLevel, parse_cl

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _strict(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _chi2_sf_even(x: float, k: int) -> float:
    """P(chi^2_k >= x) for even k in closed form: exp(-x/2) sum_{i < k/2} (x/2)^i / i! (no scipy)."""
    assert k % 2 == 0
    return math.exp(-x / 2) * sum((x / 2) ** i / math.factorial(i) for i in range(k // 2))


# --- goodness of fit --------------------------------------------------------------------------------------------
def test_goodness_of_fit_against_eq20_by_hand(exp):
    """mu_nu's best fit is the SM (mu_nu = 0), so chi^2_min is eq. 20 of the SM prediction with the analytic
    alpha minimum, computed here from Experiment.predict; ndof = 19 bins - 1; the p-value from the closed
    form of the chi^2 survival function for even ndof."""
    r = exp.predict(StandardModel()).total
    d, s, sa = exp.data.counts, exp.data.sigma, exp.sigma_alpha
    alpha = np.sum(r * (d - r) / s**2) / (np.sum(r**2 / s**2) + 1 / sa**2)
    chi2 = float(np.sum(((1 + alpha) * r - d) ** 2 / s**2) + (alpha / sa) ** 2)
    res = exp.limit("mu_nu")
    assert res.best == 0.0
    assert res.chi2_min == pytest.approx(chi2, rel=1e-10)
    assert res.ndof == d.size - 1 == 18
    assert res.p_value == pytest.approx(_chi2_sf_even(chi2, 18), rel=1e-10)
    d_json = res.to_dict()
    assert d_json["chi2_per_ndof"] == pytest.approx(chi2 / 18, rel=1e-10) and d_json["statistic"] == "chi2"
    # the text shows the same numbers (8.187 / 18 = 0.455, p = 0.976 with the -T/E term; 8.184 without it)
    assert f"chi2_min/ndof {chi2:.3f} / 18 = {chi2 / 18:.3f}, p = {_chi2_sf_even(chi2, 18):.3f}" in str(res)


def test_goodness_of_fit_of_sin2w_is_the_minimum_over_sin2w(exp):
    """sin2w: chi^2_min is the minimum of exp.chi2 over sin2w (a bounded scalar search), 18 dof (sin2w fitted)."""
    from scipy.optimize import minimize_scalar

    res = exp.fit("sin2w")
    brute = minimize_scalar(lambda x: exp.chi2(StandardModel(sin2w=x)), bounds=(0.2, 0.4), method="bounded",
                            options={"xatol": 1e-10})
    assert res.chi2_min == pytest.approx(brute.fun, rel=1e-8) and res.best == pytest.approx(brute.x, abs=1e-5)
    assert res.ndof == 18 and 0.9 < res.p_value < 1.0 and not res.at_boundary and res.converged


def test_goodness_of_fit_counts_marginalised_parameters(exp):
    res = exp.limit("q_ee")  # q_emu and q_etau marginalised: 19 bins - 3 fitted parameters
    assert res.marginalised == ["q_emu", "q_etau"] and res.ndof == 16
    assert res.p_value == pytest.approx(_chi2_sf_even(res.chi2_min, 16), rel=1e-10)


def test_poisson_deviance_is_the_statistic_of_a_counting_fit():
    """COHERENT CsI: the statistic is the Poisson deviance -2 ln(L/L_sat) (+ constraints), checked by hand
    without nuisances; the fit names it and counts its bins."""
    from cevns.poisson import PoissonLikelihood

    n = np.array([3.0, 0.0, 7.0, 12.0])
    mu = np.array([2.5, 0.4, 9.0, 11.0])
    by_hand = 2 * np.sum(mu - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1) / mu), 0.0))
    assert float(PoissonLikelihood(n)(mu)) == pytest.approx(by_hand, rel=1e-12)
    csi = cevns.load_experiment("coherent-csi-2021")
    res = csi.fit("sin2w", "cevns", levels=("1sigma",))
    assert res.statistic == "poisson" and res.ndof == csi.data.counts.size - 1
    assert "Poisson deviance" in str(res) and 0 < res.p_value < 1


def test_contour_reports_its_goodness_of_fit(exp):
    c = exp.contour(("q_ee", "q_emu"), n=7)
    fit = exp.limit("q_ee")  # the same three parameters minimised: the same chi^2_min
    assert c.ndof == 16 and c.chi2_min == pytest.approx(fit.chi2_min, abs=1e-6)
    assert c.to_dict()["p_value"] == pytest.approx(c.p_value) and c.converged and "p = " in str(c)


# --- boundaries -------------------------------------------------------------------------------------------------
def test_best_fit_at_the_physical_limit_of_a_squared_parameter_is_flagged(exp):
    res = exp.limit("mu_nu")
    assert res.at_boundary and "mu_nu = 0" in res.boundary and "note: the best fit sits at mu_nu = 0" in str(res)
    assert res.to_dict()["at_boundary"] is True


def test_best_fit_of_sin2w_at_zero_is_flagged(exp):
    """Data below the rate at sin2w = 0 (Asimov data of the SM at sin2w = 0, scaled down): the best fit sits at
    the lower end of sin2w's physical range."""
    import dataclasses

    low = exp.asimov(StandardModel(sin2w=0.0))
    low.data = dataclasses.replace(low.data, counts=0.3 * low.data.counts)
    res = low.fit("sin2w", levels=("1sigma",))
    assert res.best == 0.0 and res.at_boundary and "sin2w = 0" in res.boundary and "physical range" in res.boundary


def test_best_fit_at_the_end_of_a_given_grid_is_flagged(exp):
    res = exp.fit("sin2w", grid=np.linspace(0.32, 0.6, 29), levels=("1sigma",))
    assert res.best == pytest.approx(0.32) and res.at_boundary and "end of the given grid" in res.boundary
    assert not exp.fit("sin2w", grid=np.linspace(0.1, 0.6, 51), levels=("1sigma",)).at_boundary


def test_unconstrained_interval_reads_clearly(exp):
    res = exp.limit("mu_nu", "6sigma")
    text = str(res)
    assert res.unbounded("6sigma") and "+inf)" in text and "unconstrained at this C.L." in text
    assert res.to_dict()["intervals"]["6sigma"] == [[0.0, None]]


# --- convergence ------------------------------------------------------------------------------------------------
def test_fits_converge_normally(exp):
    for r in (exp.fit("sin2w"), exp.limit("q_emu", channels="cevns"), exp.limit("r2_ee")):
        assert r.converged and r.convergence == "" and r.to_dict()["converged"] is True


def _capped_newton(monkeypatch):
    """The Poisson profile limited to one Newton iteration (every call)."""
    import cevns.poisson as P

    real = P.newton_profile

    def one_step(*args):
        args = list(args)
        args[8] = 1  # iterations
        return real(*args)

    monkeypatch.setattr(P, "newton_profile", one_step)


def test_poisson_profile_capped_at_one_iteration_is_not_converged(monkeypatch):
    csi = cevns.load_experiment("coherent-csi-2021")
    _capped_newton(monkeypatch)
    res = csi.fit("sin2w", "cevns", levels=("1sigma",))
    assert not res.converged and "Poisson nuisance profile" in res.convergence
    assert "warning: the minimisation did not converge" in str(res)


def test_marginaliser_capped_at_one_step_is_not_converged(exp, monkeypatch):
    from cevns import analysis, minimise

    real = minimise._Minimiser.__init__

    def capped(self, *a, **kw):
        real(self, *a, **kw)
        self.newton_steps = 1

    monkeypatch.setattr(minimise._Minimiser, "__init__", capped)
    monkeypatch.setattr(analysis._Problem, "_MORE_STEPS", 1)
    res = exp.limit("q_emu", channels="cevns")
    assert not res.converged and "damped Newton" in res.convergence


def test_cli_warns_once_and_keeps_exit_status_0(monkeypatch, capsys):
    _capped_newton(monkeypatch)
    assert main(["fit", "coherent-csi-2021", "--param", "sin2w", "--channels", "cevns", "--cl", "1sigma", "--json"]) == 0
    out = capsys.readouterr()
    warnings = [ln for ln in out.err.splitlines() if ln.startswith("cevns: warning:")]
    assert len(warnings) == 1 and "did not converge" in warnings[0]
    d = _strict(out.out)["result"]
    assert d["converged"] is False and "Poisson" in d["convergence"]


def test_convergence_records_nest():
    from cevns.convergence import failed, watch

    failed("outside any watch")  # goes nowhere
    with watch() as outer:
        with watch() as inner:
            failed("step", 3)
        failed("other")
    assert inner.failures == {"step": 3} and outer.failures == {"step": 3, "other": 1}
    assert not outer.converged and "step (3 points)" in outer.reason


# --- one confidence-level syntax --------------------------------------------------------------------------------
GOOD_CL = {"90%": 0.9, "0.9": 0.9, "1sigma": 0.6826894921370859, "2.5sigma": 0.9875806693484477, "95 %": 0.95}
BAD_CL = ["-1sigma", "0", "1", "150%", "nan", "inf", "90", "0sigma", "100%", "9sigma", "abc", ""]


@pytest.mark.parametrize("text", GOOD_CL)
def test_parse_cl_good(text):
    c = parse_cl(text)
    assert isinstance(c, ConfidenceLevel) and c.probability == pytest.approx(GOOD_CL[text], rel=1e-12)
    assert parse_cl(c.label).probability == pytest.approx(c.probability, rel=1e-9)  # the label reads back


def test_levels_in_sigma_give_n_squared():
    for n in (1, 2, 3, 5, 8):
        assert parse_cl(f"{n}sigma").delta_chi2(1) == pytest.approx(n * n, rel=1e-12)
    assert parse_cl(0.9).delta_chi2(2) == pytest.approx(4.605170185988091, rel=1e-12)


@pytest.mark.parametrize("text", BAD_CL + [True, None, 0.0, 1.0, float("nan"), -0.5])
def test_parse_cl_bad(text):
    with pytest.raises(CevnsInputError, match="confidence level"):
        parse_cl(text)


#: every command that takes --cl, with cheap options, and the analysis function it reaches
CL_COMMANDS = {
    "fit": (["fit", "conus-plus", "--param", "mu_nu"], "cevns.analysis", "fit", "levels", 1),
    "exclusion": (["exclusion", "conus-plus", "--model", "scalar", "--n-masses", "2"], "cevns.analysis", "exclusion",
                  "cl", 1),
    "contour": (["contour", "conus-plus", "--params", "q_ee,q_emu", "--n", "5"], "cevns.analysis", "contour", "cl", 2),
    "coverage": (["coverage", "conus-plus", "--param", "mu_nu", "--toys", "5", "--points", "3", "--workers", "0"],
                 "cevns.coverage", "feldman_cousins", "cl", 1),
}


@pytest.mark.parametrize("command", CL_COMMANDS)
@pytest.mark.parametrize("text", BAD_CL)
def test_every_command_refuses_the_same_bad_cl(command, text, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = CL_COMMANDS[command][0] + [f"--cl={text}"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cevns: error: confidence level"), err


@pytest.mark.parametrize("command", CL_COMMANDS)
@pytest.mark.parametrize("text", GOOD_CL)
def test_every_command_takes_the_same_good_cl(command, text, capsys, tmp_path, monkeypatch):
    """The level each command hands to its analysis is the one parse_cl gives (the analysis itself stubbed)."""
    import importlib

    argv, module, name, key, dof = CL_COMMANDS[command]
    seen = []

    def stub(*args, **kw):
        from cevns.stats import delta_chi2_level

        lv = kw[key]
        seen.extend(delta_chi2_level(x, dof) for x in (lv if key == "levels" else [lv]))
        raise CevnsInputError("stub reached")

    monkeypatch.setattr(importlib.import_module(module), name, stub)
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--cl", text]) == 2 and "stub reached" in capsys.readouterr().err
    assert seen == [pytest.approx(parse_cl(text).delta_chi2(dof), rel=1e-12)]


def test_exclusion_api_takes_the_cl_syntax(exp):
    r = exp.exclusion("scalar", masses=[1.0], cl="2sigma")
    assert r.delta_chi2 == pytest.approx(4.0, rel=1e-12) and r.label == "2sigma" and "2sigma C.L." in str(r)
    assert exp.exclusion("scalar", masses=[1.0], cl="95%").cl == 0.95
    with pytest.raises(CevnsInputError, match="confidence level"):
        exp.exclusion("scalar", masses=[1.0], cl="-1sigma")


def test_the_same_level_twice_is_refused(exp):
    with pytest.raises(CevnsInputError, match="given twice"):
        exp.fit("sin2w", levels=("90%", 0.9))


# --- one JSON format ----------------------------------------------------------------------------------------------
ENVELOPE = {"format", "cevns_version", "versions", "command", "experiments", "inputs", "cl", "units", "result"}


def _resolve(obj, pointer: str):
    """Every value a units pointer reaches ('*': every index of a list)."""
    nodes = [obj]
    for part in pointer.lstrip("/").split("/"):
        nxt = []
        for n in nodes:
            if part == "*":
                assert isinstance(n, list), pointer
                nxt.extend(n)
            elif isinstance(n, list):
                nxt.append(n[int(part)])
            else:
                assert part in n, (pointer, sorted(n))
                nxt.append(n[part])
        nodes = nxt
    return nodes


COMMANDS = {
    "predict": ["predict", "coherent-csi-2021", "conus-plus", "--model", "magnetic-moment", "--set", "mu_nu=1e-10"],
    "fit": ["fit", "conus-plus", "--param", "mu_nu", "--cl", "1sigma", "--cl", "95%", "--k", "0.166"],
    "exclusion": ["exclusion", "conus-plus", "--model", "scalar", "--n-masses", "3", "--cl", "2sigma"],
    "contour": ["contour", "conus-plus", "--params", "q_ee,q_emu", "--n", "5", "--grid"],
    "coverage": ["coverage", "conus-plus", "--param", "mu_nu", "--toys", "20", "--points", "3", "--workers", "0"],
    "list": ["list"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_prints_the_same_strict_envelope(command, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if command == "coverage":  # its figures are not the subject here (tests/test_coverage.py draws them)
        from cevns.coverage import CoverageResult

        monkeypatch.setattr(CoverageResult, "figure", lambda self, path=None, exts=(): None)
    assert main(COMMANDS[command] + ["--json"]) == 0
    d = _strict(capsys.readouterr().out)
    assert set(d) == ENVELOPE and d["command"] == command and d["format"] == "cevns-result/1"
    assert d["cevns_version"] == cevns.__version__ and {"python", "numpy", "scipy"} <= set(d["versions"])
    for pointer, unit in d["units"].items():  # every pointer reaches something (a '*' may meet an empty list)
        assert unit and (_resolve(d["result"], pointer) or "*" in pointer), pointer
    if command == "list":
        assert d["experiments"] is None and d["cl"] is None and "conus-plus" in d["result"]["experiments"]
        return
    parts = d["experiments"]
    assert parts and len(d["inputs"]["experiments"]) == len(parts)
    assert [e["experiment"] for e in d["inputs"]["experiments"]] == parts
    if command == "predict":
        assert d["cl"] is None and parts == ["coherent-csi-2021", "conus-plus"]
        assert d["units"]["/predictions/0/bins"] == "PE" and d["units"]["/predictions/1/bins_eVee"] == "eV_ee"
        assert d["units"]["/predictions/1/flux_cm2_s"] == "cm^-2 s^-1"
        return
    assert all(set(c) == {"label", "probability", "dof", "delta_chi2"} for c in d["cl"])
    r = d["result"]
    if command == "fit":
        assert [c["label"] for c in d["cl"]] == ["1sigma", "95%"] and set(r["intervals"]) == {"1sigma", "95%"}
        assert d["units"] == {"/best": "mu_B", "/intervals": "mu_B"}
        assert d["inputs"]["overrides"] == {"k": 0.166} and d["inputs"]["experiments"][0]["quenching_k"] == 0.166
        assert {"chi2_min", "ndof", "p_value", "at_boundary", "converged"} <= set(r)
    if command == "exclusion":
        assert d["cl"] == [{"label": "2sigma", "probability": pytest.approx(0.9544997361036416), "dof": 1,
                            "delta_chi2": pytest.approx(4.0)}]
        assert d["units"]["/mass_MeV"] == "MeV" and r["converged"] is True
    if command == "contour":
        assert d["cl"][0]["dof"] == 2 and d["units"]["/x"] == "e" and d["units"]["/extent/q_emu"] == "e"
        assert r["ndof"] == 16 and r["p_value"] > 0
    if command == "coverage":
        assert d["units"]["/fc_intervals"] == "mu_B" and d["units"]["/points/*/true"] == "mu_B"
        assert _strict((tmp_path / "cevns-coverage" / "coverage.json").read_text()) == d


# --- --exposure ---------------------------------------------------------------------------------------------------
def test_exposure_help_states_the_file_value(capsys):
    from cevns import cli

    path = Path(cevns.__file__).parent / "data" / "experiments" / "conus_plus_2025.toml"
    assert tomllib.loads(path.read_text())["exposure"]["total_kg_day"] == cli.CONUS_PLUS_EXPOSURE
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"conus-plus: {cli.CONUS_PLUS_EXPOSURE}" in text and "not for COHERENT" in text
    assert "default 327" not in text


def test_exposure_in_a_joint_fit_sets_the_one_reactor_part(capsys):
    assert main(["predict", "conus-plus", "coherent-csi-2021", "--exposure", "654", "--json"]) == 0
    d = _strict(capsys.readouterr().out)
    conus, csi = d["result"]["predictions"]
    ref = cevns.load_experiment("conus-plus").predict().cevns.sum()
    assert conus["exposure_kg_day"] == pytest.approx(654) and conus["total_cevns"] == pytest.approx(2 * ref, rel=1e-9)
    assert csi["mass_kg"] == cevns.load_experiment("coherent-csi-2021").response.mass_kg


def test_exposure_is_refused_with_several_reactor_parts_or_none(capsys):
    my = str(Path(__file__).parent.parent / "examples" / "my_reactor.toml")
    assert main(["fit", "conus-plus", my, "--param", "mu_nu", "--exposure", "300"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 reactor experiments" in err and "total_kg_day" in err
    assert main(["predict", "coherent-csi-2021", "--exposure", "300"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not apply" in err


def test_magnetic_moment_prediction_in_envelope_keeps_its_parameters(capsys):
    assert main(["predict", "--model", "magnetic-moment", "--set", "mu_nu=1e-10", "--json"]) == 0
    d = _strict(capsys.readouterr().out)["result"]
    assert d["model"] == "magnetic-moment" and d["parameters"] == {"mu_nu": 1e-10}
    assert d["predictions"][0]["total_eves"] == pytest.approx(
        cevns.load_experiment().predict(MagneticMoment(mu_nu=1e-10)).eves.sum(), rel=1e-12)


def test_a_root_bracket_without_a_sign_change_is_reported_not_raised():
    """analysis._brentq on ends whose values no longer differ in sign (a scan's values and the values evaluated
    again disagree, as when a profile does not converge): the end nearer the crossing, and a convergence failure."""
    from cevns.analysis import _brentq
    from cevns.convergence import watch

    with watch() as rec:
        x = _brentq(lambda t: (t - 3.0) ** 2 + 0.5, 0.0, 2.0, "test edge")
    assert x == 2.0 and not rec.converged and "no sign change" in rec.reason
    with watch() as ok:
        assert abs(_brentq(lambda t: t - 1.0, 0.0, 2.0, "test edge") - 1.0) < 1e-9
    assert ok.converged


def test_an_interval_edge_without_a_sign_change_is_reported_not_raised():
    """stats._root on a bracket whose ends no longer straddle the level: the end nearer it, a convergence failure."""
    from cevns.convergence import watch
    from cevns.stats import _root

    with watch() as rec:
        x = _root(lambda t: t * t, 9.0, 0.0, 2.0)
    assert x == 2.0 and not rec.converged and "interval edge" in rec.reason

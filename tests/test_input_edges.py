"""Edges found by scripts/bad_inputs.py and tests/test_fuzz_inputs.py, each fixed where it arose: a clear
CevnsInputError (exit status 2 on the command line) instead of a traceback, a numpy warning with inf/nan,
or an exhausted memory."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns import CevnsInputError
from cevns._files import read_text_file
from cevns.cli import main
from cevns.counting import read_table
from cevns.detector import MAX_BINS, Lindhard, NumericalSettings, check_bins, check_response_size, node_grid
from cevns.flux import ReactorFlux
from cevns.running import MAX_DETERMINATIONS, load_determinations
from cevns.stopped_pion import StoppedPionSource

ROOT = Path(__file__).resolve().parent.parent


# --- reading a user's text file ------------------------------------------------------------------------------------

@pytest.mark.parametrize("content,msg", [
    (b"a,b\n1,2\n# caf\xe9\n", r"not UTF-8 text \(byte 0xe9 on line 3\)"),
    (b"a,b\n1,\x002\n", "not a text file"),
    (b"x" * 101, "larger than 0.0001 MB"),
])
def test_read_text_file_refuses(tmp_path, content, msg):
    f = tmp_path / "f.csv"
    f.write_bytes(content)
    with pytest.raises(CevnsInputError, match=msg):
        read_text_file(f, "data file", limit=100)


def test_read_text_file_paths(tmp_path):
    with pytest.raises(CevnsInputError, match="not found"):
        read_text_file(tmp_path / "nope.csv")
    with pytest.raises(CevnsInputError, match="is a folder"):
        read_text_file(tmp_path)
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfa,b\n")  # a spreadsheet's UTF-8 byte-order mark is dropped
    assert read_text_file(f) == "a,b\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_device_is_refused_without_reading_it_all():
    with pytest.raises(CevnsInputError, match="larger than"):
        read_text_file("/dev/zero", limit=1000)


def test_read_table_not_utf8(tmp_path):
    f = tmp_path / "events.csv"
    f.write_bytes(b"pe,t_us\n1,2\n# \xe9\n")
    with pytest.raises(CevnsInputError, match="not UTF-8"):
        read_table(f, ["pe", "t_us"])


def test_determinations_file(tmp_path):
    head = "label,Q_GeV,value,err_plus,err_minus,scheme,reference\n"
    f = tmp_path / "p.csv"
    f.write_bytes((head + "caf\u00e9,0.05,0.24,0.02,0.03,MSbar,x\n").encode("latin-1"))
    with pytest.raises(CevnsInputError, match="not UTF-8"):
        load_determinations(f)
    f.write_text(head + "a,0.05,0.24,0.02,0.03,MSbar,x\n" * (MAX_DETERMINATIONS + 1))
    with pytest.raises(CevnsInputError, match=f"at most {MAX_DETERMINATIONS}"):
        load_determinations(f)
    f.write_text(head + "a,0.05,0.24,0.02,0.03,MSbar,x\n")
    assert load_determinations(f)[0]["value"] == 0.24


# --- sources, detectors, sizes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{"distance_m": 1e-300}, {"thermal_power_GW": 1e308}, {"energy_per_fission_MeV": 1e-300}])
def test_reactor_fission_rate_must_be_finite(kw):
    with pytest.raises(CevnsInputError, match="fission rate at the detector"):
        ReactorFlux(**kw)


@pytest.mark.parametrize("d", [1.93e-299, 1e200])
def test_stopped_pion_distance_extremes(d):
    with pytest.raises(CevnsInputError, match="implausible fluence"):
        StoppedPionSource(pot=3.198e23, nu_per_pot=0.0848, distance_m=d)


def test_stopped_pion_fluence_unchanged():
    """The overflow-safe form gives the same fluence (the golden tests pin the results built on it)."""
    s = StoppedPionSource(pot=3.198e23, nu_per_pot=0.0848, distance_m=19.3)
    d_cm = 19.3 * 100.0
    assert s.fluence_per_cm2 == pytest.approx(3.198e23 * 0.0848 / (4 * np.pi * d_cm**2), rel=1e-14)


@pytest.mark.parametrize("k", [1e308, 1e-300, 5e-324])
def test_lindhard_k_range(k):
    with pytest.raises(CevnsInputError, match=r"quenching k must lie in"):
        Lindhard(k=k)


def test_recoil_response_inputs_checked():
    from cevns.detector import Logistic, RecoilResponse, TimeEfficiency

    base = dict(mass_kg=14.6, quenching="polynomial", coefficients=(0.0554628, 4.30681, -111.707, 840.384),
                observable="PE", spread=(0.0749, 9.56), edges=(0.0, 8.0, 12.0), light_yield=13.35)
    RecoilResponse(**base)
    for coeffs in [(float("inf"), 4.3), (float("nan"),), (-1.0, 4.3)]:
        with pytest.raises(CevnsInputError, match="coefficients|not positive and increasing"):
            RecoilResponse(**{**base, "coefficients": coeffs})
    with pytest.raises(CevnsInputError, match="efficiency a must be finite"):
        Logistic(float("inf"), 0.28, 10.9, -0.33)
    with pytest.raises(CevnsInputError, match="decay_us must be > 0"):
        TimeEfficiency(0.52, -1.0)
    assert float(Logistic(0.99, 1e300, 10.9, 0.0)(0.0)) == 0.0  # exp overflows silently far below the turn-on
    with pytest.raises(CevnsInputError, match="reaches 1.32"):  # above 1: refused, not clipped
        Logistic(1.32, 0.28, 10.9, 0.0)


def test_implausibly_many_events(exp):
    with pytest.raises(CevnsInputError, match=r"Standard Model predicts .* events in a bin, more than 1e\+100"
                       r"|total_kg_day must be > 0 and <= 1e\+09"):
        exp.replace(exposure_kg_day=1e200)


def test_bin_count_and_response_size_caps():
    with pytest.raises(CevnsInputError, match=f"at most {MAX_BINS}"):
        check_bins(np.arange(MAX_BINS + 2, dtype=float))
    assert check_bins(np.arange(11, dtype=float)).size == 11
    with pytest.raises(CevnsInputError, match="response matrix of 200000 bins x 800000"):
        check_response_size(200_000, 800_000)
    with pytest.raises(CevnsInputError, match="quadrature would need"):
        node_grid(np.array([0.0, 1.0]), 1e-300, 4)


@pytest.mark.parametrize("kw,msg", [({"panel_eV": 0.0}, "panel_eV"), ({"n_gl": 2.5}, "n_gl"), ({"n_gl": 0}, "n_gl"),
                                    ({"floor_eV": float("nan")}, "floor_eV")])
def test_numerical_settings_checked(kw, msg):
    with pytest.raises(CevnsInputError, match=msg):
        NumericalSettings(**kw)


def test_numerics_of_the_wrong_type(exp):
    with pytest.raises(CevnsInputError, match="numerics must be a NumericalSettings"):
        exp.replace(numerics=1.0)


def test_grid_sizes_capped(exp):
    with pytest.raises(CevnsInputError, match=r"n \(grid points per axis\) must be an integer in \[5, 1000\]"):
        exp.contour(("q_ee", "q_emu"), n=10**6)
    with pytest.raises(CevnsInputError, match="at most 100000"):
        exp.exclusion("scalar", masses=np.geomspace(0.01, 1e4, 100_001))


# --- the command line ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("plot,msg", [("out.xyz", "the file name must end in one of"), ("", "--plot needs a file name"),
                                      (".", "is a folder"), ("/nonexistent-folder/x.png", "No such file or directory")])
def test_plot_path_checked_before_computing(capsys, monkeypatch, plot, msg):
    import cevns.cli as cli

    monkeypatch.setattr(cli, "_experiment", lambda args: pytest.fail("computed before checking --plot"))
    assert main(["predict", "--plot", plot]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_exclusion_mass_count_checked_first(capsys, monkeypatch):
    import cevns.cli as cli

    monkeypatch.setattr(cli, "_experiment", lambda args: pytest.fail("loaded the experiment first"))
    assert main(["exclusion", "--model", "scalar", "--n-masses", "1000000000"]) == 2
    assert "--n-masses <= 100000" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [(["predict", "--k", "abc"], "argument --k: invalid float value: 'abc'"),
                                      (["frobnicate"], "invalid choice: 'frobnicate'"),
                                      ([], "the following arguments are required: command")])
def test_argument_errors_on_one_line(capsys, argv, msg):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err and re.match(r"cevns( \w+)?: error: ", err) and "--help)" in err


def test_help_still_works(capsys):
    with pytest.raises(SystemExit) as e:
        main(["predict", "--help"])
    assert e.value.code == 0 and "usage: cevns predict" in capsys.readouterr().out


def test_documented_abundances_work(tmp_path):
    """`abundances = { 76 = 0.88, 74 = 0.12 }` exactly as docs/experiments.md writes it (TOML keys are text)."""
    src = ROOT / "src" / "cevns" / "data" / "experiments"
    text = (src / "conus_plus_2025.toml").read_text()
    text = text.replace('element = "Ge"', 'element = "Ge"\nabundances = { 76 = 0.88, 74 = 0.12 }')
    (tmp_path / "e.toml").write_text(text)
    (tmp_path / "conus_plus_2025_excess.csv").write_bytes((src / "conus_plus_2025_excess.csv").read_bytes())
    e = cevns.load_experiment(str(tmp_path / "e.toml"))
    assert e.predict().cevns.sum() > 0


# --- the bad-inputs table: a few of its cases here, all of them in the slow suite -----------------------------------

def _script():
    spec = importlib.util.spec_from_file_location("bad_inputs", ROOT / "scripts" / "bad_inputs.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["bad_inputs"] = mod
    spec.loader.exec_module(mod)
    return mod


BAD = _script()
REPRESENTATIVE = ["toml-distance_m-1eminus300", "events-latin1", "cli-predict-plot-out.xyz",
                  "cli-exclusion-model-scalar-n-masses-1000000000", "xe-bins-huge-ac", "dr-peaks-same-name"]


@pytest.mark.parametrize("key", REPRESENTATIVE)
def test_bad_input_cases(tmp_path, key):
    """As `python -m cevns` subprocesses, exactly as scripts/bad_inputs.py runs them."""
    case = next(c for c in BAD.cases() if c.key == key)
    o = BAD.run_case(case, tmp_path / "case")
    assert not o.problems and o.status == 2, (o.problems, o.stderr)
    assert o.message.startswith("cevns") and ": error: " in o.message


def test_bad_input_table_is_current():
    """docs/reliability.md holds the script's table with one row per case (re-run the script when adding one)."""
    doc = (ROOT / "docs" / "reliability.md").read_text()
    assert BAD.BEGIN in doc and BAD.END in doc
    block = doc[doc.index(BAD.BEGIN):doc.index(BAD.END)]
    rows = [ln for ln in block.splitlines() if re.match(r"\| \d+ \|", ln)]
    assert len(rows) == len(BAD.cases()) >= 60
    assert [r.split("|")[3].strip() for r in rows] == [BAD._cell(c.what, 200) for c in BAD.cases()]


@pytest.mark.slow
def test_every_bad_input_case():
    """The whole table: no traceback, no NaN/inf with exit 0, exit status 2 where expected."""
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "bad_inputs.py"), "--check", "--no-write"],
                       capture_output=True, text=True, timeout=3600)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]


@pytest.mark.parametrize("edit,msg", [
    (lambda t: t.replace('[[signal_shapes]]\nname = "CEvNS timing mean"\ntemplate = {',
                         '[[signal_shapes]]\nname = "CEvNS timing mean"\nx = {'), None),
    (lambda t: 'signal_shapes = [true]\n' + t.split("[[signal_shapes]]")[0], r"\[\[signal_shapes\]\] (must be a list of tables|"
                                                                                       r"entry 1 must be a table)"),
    (lambda t: t.replace('template = { file = "coherent_lar_2020_pdfs.csv", nominal = "cevns", plus = "cevns_timing_mean" }',
                         'template = 3'), "template must be a table"),
    (lambda t: t.replace("shapes = [ {", "shapes = [ 1, {"), "shapes (must be a list of tables|entry 1 must be a table)"),
])
def test_counting_sections_of_the_wrong_type(tmp_path, edit, msg):
    src = ROOT / "src" / "cevns" / "data" / "experiments"
    for f in src.glob("coherent_lar_2020*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    text = edit((src / "coherent_lar_2020.toml").read_text())
    if msg is None:  # the edit must have applied: a signal shape without template or key
        assert "x = {" in text
        msg = "key must be 'quenching.coefficients'|has no key 'x'"
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(str(tmp_path / "e.toml"))


def test_chi2_sigma_too_small():
    from cevns.stats import Chi2

    with pytest.raises(CevnsInputError, match="too small"):
        Chi2(np.array([1.0, 2.0]), np.array([1.0, 1e-300]))


@pytest.mark.parametrize("kw,msg", [({"sigma0_eV": 1e300}, "width overflows"), ({"fano": 1e306, "pair_energy_eV": 1e6},
                                     "width overflows"), ({"nsigma": 1e300}, "nsigma")])
def test_resolution_extremes(kw, msg):
    from cevns.detector import Resolution

    with pytest.raises(CevnsInputError, match=msg):
        Resolution(**kw)


def test_error_message_stays_on_one_line(capsys, tmp_path):
    """A newline in a key of the user's file is echoed escaped."""
    src = ROOT / "src" / "cevns" / "data" / "experiments"
    text = (src / "conus_plus_2025.toml").read_text()
    text = re.sub(r"(?m)^fission_fractions = .*$", lambda m: 'fission_fractions = { "U2\\n35" = false }', text)
    (tmp_path / "e.toml").write_text(text)
    (tmp_path / "conus_plus_2025_excess.csv").write_bytes((src / "conus_plus_2025_excess.csv").read_bytes())
    assert main(["predict", str(tmp_path / "e.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fission_fractions.U2\\n35 must be a number" in err


@pytest.mark.parametrize("data,sigma,sa,msg", [([1e200, 1.0], [1.0, 1.0], 0.2, "implausibly many sigmas"),
                                              ([1.0, 1.0], [1.0, 1.0], 1e-300, "sigma_alpha must be 0"),
                                              ([1.0, 1.0], [1.0, 1.0], 1e200, "sigma_alpha must be 0")])
def test_chi2_extremes(data, sigma, sa, msg):
    from cevns.stats import Chi2

    with pytest.raises(CevnsInputError, match=msg):
        Chi2(np.array(data), np.array(sigma), sa)


def test_fit_with_extreme_sigma_alpha(exp):
    with pytest.raises(CevnsInputError, match="sigma_alpha must be 0"):
        exp.replace(sigma_alpha=1e-300).fit("sin2w")


def test_flux_overflow_named_without_warnings(exp):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CevnsInputError, match="flux overflows|prediction overflows|must be >= 0 and <= 2"
                                                   "|must be > 0 and <= 10000|must be >= 0.01"):
            exp.replace(captures_per_fission=6e299)


def test_background_normalisation_overflow(tmp_path):
    src = ROOT / "src" / "cevns" / "data" / "experiments"
    for f in src.glob("coherent_lar_2020*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    text = (src / "coherent_lar_2020.toml").read_text().replace("normalisation = 33 ", "normalisation = 3.3e301 ")
    assert "3.3e301" in text
    (tmp_path / "e.toml").write_text(text)
    with pytest.raises(CevnsInputError, match=r"delayed beam-related neutrons(: .* events in a bin, more than 1e\+100"
                                                   r"| normalisation must be >= 0 and <= 1e\+12)"):
        cevns.load_experiment(str(tmp_path / "e.toml"))


@pytest.mark.parametrize("old,new,msg", [("normalisation = 33 ", "normalisation = inf ", "normalisation must be finite"),
                                         ("sigma = 1.0", "sigma = nan", "sigma must be finite")])
def test_background_numbers_finite(tmp_path, old, new, msg):
    src = ROOT / "src" / "cevns" / "data" / "experiments"
    for f in src.glob("coherent_lar_2020*"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    text = (src / "coherent_lar_2020.toml").read_text()
    assert old in text
    (tmp_path / "e.toml").write_text(text.replace(old, new))
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(str(tmp_path / "e.toml"))


def test_poisson_uncertainties_bounded():
    from cevns.poisson import MAX_SIGMA, PoissonLikelihood

    d, b = np.array([5.0, 3.0]), np.array([[1.0, 1.0]])
    with pytest.raises(CevnsInputError, match=r"background sigmas \(relative\)"):
        PoissonLikelihood(d, b, [1e300], 0.1)
    with pytest.raises(CevnsInputError, match=r"signal_sigma \(relative\) must lie in"):
        PoissonLikelihood(d, b, [0.1], MAX_SIGMA * 2)


def test_time_fractions_of_huge_time_bins():
    s = StoppedPionSource(pot=3.198e23, nu_per_pot=0.0848, distance_m=19.3)
    edges = [0, 0.25, 0.5, 0.75, 1, 2, 4, 6]
    for comp in s.components:
        base = s.time_fractions(edges, comp)
        wide = s.time_fractions(edges[:-1] + [6e300], comp)
        np.testing.assert_allclose(wide[:-1], base[:-1], rtol=0, atol=0)
        assert base[-1] * (1 - 1e-6) <= wide[-1] <= 1.0  # [4 us, 6e300 us] holds [4, 6] and the tail


def test_bad_inputs_reads_empty_output_as_finite():
    """A run that prints nothing on stdout (reproduce writes files) has no NaN in it; JSON with NaN does."""
    assert not BAD.nonfinite_output("") and BAD.nonfinite_output('{"x": NaN}') and not BAD.nonfinite_output('{"x": 1}')

"""Strict inputs at the edges (issue #13): a wrong type, a malformed table or a combination of keys that one
would silently ignore is a CevnsInputError naming the problem; a byte-order mark is accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns import CevnsInputError
from cevns.models import MODELS

NOT_MODELS = ["sm", 1, 2.5, {}, {"mu_nu": 1e-10}, [], True]


# --- 1. the Python API: models, experiment names, model parameters -------------------------------------------------

@pytest.mark.parametrize("bad", NOT_MODELS, ids=repr)
@pytest.mark.parametrize("method", ["predict", "chi2", "asimov"])
def test_model_arguments_must_be_models(exp, method, bad):
    with pytest.raises(CevnsInputError, match=r"model must be a model instance, e.g\. cevns\.MagneticMoment") as e:
        getattr(exp, method)(bad)
    assert f"type {type(bad).__name__}" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("method", ["predict", "chi2", "asimov"])
def test_joint_model_arguments_must_be_models(exp, method):
    joint = exp + cevns.load_experiment("coherent-csi-2021")
    with pytest.raises(CevnsInputError, match=r"got 'magnetic-moment' \(type str\); for a model by its name use "
                                              r"cevns\.get_model\('magnetic-moment'\)"):
        getattr(joint, method)("magnetic-moment")


def test_fit_model_argument_must_be_a_model(exp):
    with pytest.raises(CevnsInputError, match=r"model must be a model instance.*got 'vector-bl'"):
        exp.fit("g", model="vector-bl")
    with pytest.raises(CevnsInputError, match=r"got \{'mass_MeV': 10\} \(type dict\)"):
        exp.limit("g", model={"mass_MeV": 10})


def test_none_is_still_the_standard_model(exp):
    assert np.allclose(exp.predict(None).total, exp.predict(cevns.StandardModel()).total)
    assert exp.chi2(None) == exp.chi2(cevns.StandardModel())


def test_a_long_argument_is_shortened_in_the_message(exp):
    with pytest.raises(CevnsInputError) as e:
        exp.predict(list(range(1000)))
    assert len(str(e.value)) < 300


@pytest.mark.parametrize("bad", [None, 42, 1.5, {}, ["conus-plus"], b"conus-plus"], ids=repr)
def test_load_experiment_needs_a_name_or_a_path(bad):
    with pytest.raises(CevnsInputError, match=r"experiment must be a built-in name \(.*conus-plus.*\) or a path "
                                              r"to a TOML file, got "):
        cevns.load_experiment(bad)


def test_load_experiment_takes_a_pathlib_path():
    path = Path(cevns.__file__).parent / "data" / "experiments" / "conus_plus_2025.toml"
    assert cevns.load_experiment(path).name == cevns.load_experiment("conus-plus").name


@pytest.mark.parametrize("bad", [True, False, "1e-10", None, np.array(1e-10), [1e-10], 1 + 0j, np.bool_(True)],
                         ids=repr)
def test_model_parameters_are_real_numbers(bad):
    with pytest.raises(CevnsInputError, match=rf"^mu_nu must be a real number in mu_B, got .* \(type "
                                              rf"{type(bad).__name__}\)$"):
        cevns.MagneticMoment(mu_nu=bad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_parameter_of_every_model_is_strict(name):
    cls = MODELS[name]
    for p in list(cls.parameter_table) + list(cls.mass_table):
        with pytest.raises(CevnsInputError, match=rf"^{p} must be a real number"):
            cls(**{p: True})
        with pytest.raises(CevnsInputError, match=rf"^{p} must be a real number"):
            cls(**{p: "0.5"})
        with pytest.raises(CevnsInputError, match=rf"^{p} must be finite"):
            cls(**{p: float("inf")})


def test_model_parameters_take_ints_and_numpy_numbers():
    assert cevns.MagneticMoment(mu_nu=np.float32(1e-10)).values()["mu_nu"] == pytest.approx(1e-10)
    assert cevns.VectorBL(mass_MeV=np.int64(3), g=0).values()["mass_MeV"] == 3.0
    assert cevns.StandardModel(sin2w=np.float64(0.24)).replace(sin2w=0.23).values()["sin2w"] == 0.23
    m = cevns.VectorBL(mass_MeV=5, convention="product")  # options are not numbers: unchanged
    assert m.options["convention"] == "product"


def test_unknown_parameters_keep_their_error():
    with pytest.raises(CevnsInputError, match=r"unknown parameter\(s\) \['mu'\] for model 'magnetic-moment'"):
        cevns.MagneticMoment(mu=1e-10)


def test_get_model_needs_a_name():
    with pytest.raises(CevnsInputError, match="unknown model"):
        cevns.get_model({"name": "sm"})  # type: ignore[arg-type]


# --- 2. data tables: a column named twice, a row with more (or fewer) cells than the header ----------------------

DATA_DIR = Path(cevns.__file__).parent / "data" / "experiments"
CONUS_CSV = "conus_plus_2025_excess.csv"


def _conus_copy(tmp_path, csv_text=None, toml_edit=lambda t: t, bom=False):
    """A copy of the built-in CONUS+ experiment and its data table in tmp_path (optionally changed)."""
    toml = toml_edit((DATA_DIR / "conus_plus_2025.toml").read_text(encoding="utf-8"))
    csv = (DATA_DIR / CONUS_CSV).read_text(encoding="utf-8") if csv_text is None else csv_text
    enc = "utf-8-sig" if bom else "utf-8"
    (tmp_path / "conus.toml").write_text(toml, encoding=enc)
    (tmp_path / CONUS_CSV).write_text(csv, encoding=enc)
    return tmp_path / "conus.toml"


def _data_lines():
    lines = (DATA_DIR / CONUS_CSV).read_text(encoding="utf-8").splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#"))
    return lines, first  # the header is lines[first]; line numbers in messages are first + 1, first + 2, ...


def test_a_row_with_more_cells_than_the_header_is_named(tmp_path):
    lines, h = _data_lines()
    lines[h + 3] += ",7"
    path = _conus_copy(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(CevnsInputError, match=rf"^data file {CONUS_CSV}, line {h + 4}: 5 cells, but the header "
                                              r"names 4 columns \(bin_lo_eVee, bin_hi_eVee, excess_per_kg, sigma_per_kg\)$"):
        cevns.load_experiment(path)


def test_a_row_with_fewer_cells_than_the_header_is_named(tmp_path):
    lines, h = _data_lines()
    lines[h + 2] = ",".join(lines[h + 2].split(",")[:3])
    with pytest.raises(CevnsInputError, match=rf"line {h + 3}: 3 cells, but the header names 4 columns"):
        cevns.load_experiment(_conus_copy(tmp_path, "\n".join(lines) + "\n"))


def test_empty_trailing_cells_are_not_more_cells(tmp_path, exp):
    """A spreadsheet may end rows with empty cells ("1,2,3,4,"): no data are lost, so they are accepted."""
    lines, h = _data_lines()
    lines = lines[:h] + [ln + ",," for ln in lines[h:]]
    e = cevns.load_experiment(_conus_copy(tmp_path, "\n".join(lines) + "\n"))
    assert np.array_equal(e.data.counts, exp.data.counts)


def test_a_header_with_a_repeated_column_is_named(tmp_path):
    lines, h = _data_lines()
    lines[h] += ",sigma_per_kg"
    lines[h + 1:] = [ln + ",0" for ln in lines[h + 1:]]
    with pytest.raises(CevnsInputError, match=rf"^data file {CONUS_CSV}, line {h + 1}: the header names column "
                                              r"'sigma_per_kg' twice$"):
        cevns.load_experiment(_conus_copy(tmp_path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize("text,msg", [
    ("t,t,e\n1,2,3\n", r"line 1: the header names column 't' twice"),
    ("# c\nt,e\n1,2,3\n", r"line 3: 3 cells, but the header names 2 columns \(t, e\)"),
])
def test_counting_tables_are_strict_too(tmp_path, text, msg):
    from cevns.counting import read_table

    f = tmp_path / "events.csv"
    f.write_text(text)
    with pytest.raises(CevnsInputError, match=msg):
        read_table(f, ["t", "e"])


def test_determinations_files_are_strict_too(tmp_path):
    from cevns.running import DETERMINATION_COLUMNS, load_determinations

    f = tmp_path / "points.csv"
    f.write_text(",".join(DETERMINATION_COLUMNS) + "\nmine,0.1,0.24,0.01,0.01,MSbar,me,extra\n")
    with pytest.raises(CevnsInputError, match=r"points\.csv, line 2: 8 cells, but the header names 7 columns"):
        load_determinations(f)


# --- 3. a UTF-8 byte-order mark (Excel, Notepad) is accepted ----------------------------------------------------

def test_a_bom_in_the_experiment_file_and_the_data_table_is_accepted(tmp_path, exp):
    path = _conus_copy(tmp_path, bom=True)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf" and (tmp_path / CONUS_CSV).read_bytes()[:3] == b"\xef\xbb\xbf"
    e = cevns.load_experiment(path)
    assert np.array_equal(e.data.counts, exp.data.counts) and np.array_equal(e.data.sigma, exp.data.sigma)
    m = cevns.MagneticMoment(mu_nu=1e-10)
    assert np.allclose(e.predict(m).total, exp.predict(m).total, rtol=1e-12, atol=0)
    assert e.chi2(m) == pytest.approx(exp.chi2(m), rel=1e-12)


def test_a_bom_in_a_counting_table_is_accepted(tmp_path):
    from cevns.counting import read_table

    src = DATA_DIR / "coherent_csi_2021_neutron_pe.csv"
    f = tmp_path / "pe.csv"
    f.write_text(src.read_text(encoding="utf-8"), encoding="utf-8-sig")
    header = next(ln for ln in src.read_text().splitlines() if ln.strip() and not ln.startswith("#")).split(",")
    assert np.array_equal(read_table(f, header), read_table(src, header))


# --- 4. a key that the other keys would make ignored: normalisation_mass_kg without units = 'counts_per_kg' --------

@pytest.mark.parametrize("units_line", ['units = "counts"', None], ids=["counts", "default units"])
def test_a_normalisation_mass_with_counts_is_refused(tmp_path, capsys, units_line):
    from cevns.cli import main

    def edit(t):
        old = 'units = "counts_per_kg"'
        assert old in t
        return t.replace(old, units_line or "")

    path = _conus_copy(tmp_path, toml_edit=edit)
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("normalisation_mass_kg"))
    msg = (r"^experiment file [^:]*conus.toml: \[data\] normalisation_mass_kg applies only with units = "
           rf"'counts_per_kg' \(values per kg\), but units = 'counts' \(line {line}\): remove normalisation_mass_kg, "
           r"or set units = 'counts_per_kg'$")
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(path)
    assert main(["schema", "--validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"cevns: error: experiment file {path}: [data] normalisation_mass_kg applies only with "
                          "units = 'counts_per_kg'") and "\n" not in err


def test_counts_without_a_normalisation_mass_still_load(tmp_path):
    def edit(t):
        return t.replace('units = "counts_per_kg"', 'units = "counts"').replace("normalisation_mass_kg = 2.83", "")

    e = cevns.load_experiment(_conus_copy(tmp_path, toml_edit=edit))
    raw = cevns.load_experiment("conus-plus").data
    assert np.allclose(e.data.counts * 2.83, raw.counts, rtol=1e-12)  # the values read as counts, unscaled


# --- 5. goodness of fit with no degree of freedom left: ndof 0, never negative ------------------------------------

def test_a_fit_with_more_parameters_than_bins_has_no_goodness_of_fit(tmp_path, capsys):
    import json

    from cevns.cli import main

    lines, h = _data_lines()
    path = _conus_copy(tmp_path, "\n".join(lines[:h + 2]) + "\n")  # the header and one bin
    exp1 = cevns.load_experiment(path)
    assert exp1.data.counts.size == 1
    r = exp1.fit("q_ee")  # q_ee with q_emu, q_etau marginalised: 3 fitted parameters, 1 bin
    assert len(r.marginalised) == 2 and r.ndof == 0 and np.isnan(r.p_value)
    d = r.to_dict()
    assert d["ndof"] == 0 and d["chi2_per_ndof"] is None and d["p_value"] is None
    text = str(r)
    assert "/ -" not in text and "no degrees of freedom left: no goodness of fit" in text
    assert main(["fit", str(path), "--param", "q_ee", "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    gof = out["result"]
    assert gof["ndof"] == 0 and gof["p_value"] is None


def test_a_negative_ndof_given_to_a_result_is_shown_as_none_left():
    from cevns.results import _gof_dict, _gof_text

    assert _gof_dict(1.5, -2, "chi2")["ndof"] == 0 and _gof_dict(1.5, -2, "chi2")["p_value"] is None
    assert _gof_text(1.5, -2, "chi2") == "1.5 / 0 (no degrees of freedom left: no goodness of fit)"
    assert _gof_text(1.5, None, "chi2") == "1.5 (no degrees of freedom left: no goodness of fit)"
    assert _gof_text(7.414, 18, "chi2").startswith("7.414 / 18 = 0.412, p = ")


def test_a_text_cell_is_named_by_its_column(tmp_path):
    """A quoted "12,5" is one cell (csv quoting): the message names its column and shows it as read."""
    lines, h = _data_lines()
    cells = lines[h + 2].split(",")
    lines[h + 2] = ",".join(cells[:2] + ['"12,5"'] + cells[3:])
    with pytest.raises(CevnsInputError, match=rf"line {h + 3}: expected numbers in columns \[.*\]; excess_per_kg "
                                              r"holds '12,5'$"):
        cevns.load_experiment(_conus_copy(tmp_path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize("argv, words", [
    (["predict", "--k", "0.2", "--k", "0.3"], "--k: given twice"),
    (["fit", "--param", "mu_nu", "--param", "q_ee"], "--param: given twice"),
    (["predict", "--model", "magnetic-moment", "--set", "mu_nu=1e-10", "--set", "mu_nu=2e-10"], "mu_nu is given twice"),
    (["predict", "--input", "k=0.2", "--k", "0.3"], "k is given twice"),
    (["predict", "--input", "k=0.2", "--input", "k=0.3"], "k is given twice"),
])
def test_an_option_given_twice_is_refused(argv, words, capsys):
    """The last of two values would win silently: refused in one line, as --cl twice already was."""
    from cevns.cli import main

    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors exit
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err


@pytest.mark.parametrize("title", ["bad\\u001b[31mred", "two\\nlines", "tab\\there"])
def test_text_with_control_characters_is_refused(tmp_path, title):
    """A terminal escape or a newline in a title would reach every table, report and figure."""
    import re

    path = _conus_copy(tmp_path, toml_edit=lambda t: re.sub(r'(?m)^title = .*$', lambda m: f'title = "{title}"', t, count=1))
    with pytest.raises(CevnsInputError, match="title must be printable text"):
        cevns.load_experiment(path)


def test_a_confidence_level_above_one_suggests_percent_and_sigma():
    from cevns.stats import parse_cl

    with pytest.raises(CevnsInputError, match=r"write 1\.5%, for standard deviations 1\.5sigma"):
        parse_cl(1.5)

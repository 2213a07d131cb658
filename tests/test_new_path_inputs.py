"""Bad inputs of the paths added with XENONnT 8B, Dresden-II, the neutron radii and the profiled k (issue 26,
round two): each is refused in one line naming the problem, never a traceback or a silently changed number.
scripts/bad_inputs.py runs the same cases on the command line (docs/reliability.md)."""

import gzip
import math
import warnings
from pathlib import Path

import pytest
from packaged_copies import copy_experiment as _copy
from packaged_copies import edit_once as _edit

import cevns
from cevns.cli import main
from cevns.errors import CevnsInputError

XE, DR = "xenonnt_8b_2026", "dresden_ii_2022"


def _change_rows(csv: Path, change) -> None:
    """Apply ``change`` to the data rows of a CSV (or .csv.gz), keeping its comments and header."""
    gz = csv.name.endswith(".gz")
    text = gzip.decompress(csv.read_bytes()).decode() if gz else csv.read_text()
    lines = text.splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    out = ("\n".join(head + [body[0]] + change(body[1:])) + "\n").encode()
    csv.write_bytes(gzip.compress(out) if gz else out)


def _cell(row: int, col: int, value: str):
    def f(rows):
        cells = rows[row].split(",")
        cells[col] = value
        return rows[:row] + [",".join(cells)] + rows[row + 1:]
    return f


def _refused(toml: Path, match: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way: one clean error
        with pytest.raises(CevnsInputError, match=match):
            cevns.load_experiment(str(toml))


@pytest.mark.parametrize("stem,old,new", [
    (XE, 'kind = "solar-8b"', 'kind = ["solar-8b"]'),
    (XE, 'model = "release-templates"', 'model = { a = 1 }'),
    (DR, 'model = "fef"', 'model = ["fef"]'),
])
def test_a_list_or_table_where_a_kind_or_model_belongs(tmp_path, stem, old, new):
    toml = _copy(tmp_path, stem)
    _edit(toml, old, new)
    _refused(toml, r"must be a string \(in quotes\)")


def test_release_templates_need_a_xenon_target(tmp_path):
    toml = _copy(tmp_path, XE)
    _edit(toml, 'element = "Xe"', 'element = "Ge"')
    _refused(toml, "efficiencies are for Xe nuclear recoils")


@pytest.mark.parametrize("name,change,match", [
    ("bins.csv", _cell(5, 7, "1e300"), "events in a bin"),  # AC template cell: overflowed in the profile before
    ("bins.csv", lambda r: r + ["sr7" + r[0][3:]], r"rows of run\(s\) \['sr7'\] not in the runs file"),
    ("runs.csv", _cell(0, 2, "99"), "the runs file says 99 events, its bins in bins_file hold 9"),
    ("runs.csv", lambda r: r + r[:1], r"run\(s\) \['sr0'\] listed more than once"),
    ("mono.csv.gz", lambda r: r[:1] + r, "lists a grid point .* more than once"),
    ("neutron.csv", _cell(0, 5, "-1"), "neutron template must be >= 0"),
    ("neutron.csv", lambda r: r[:1] + r, "lists a grid point .* more than once"),
    ("neutron.csv", _cell(0, 5, "1e300"), "events in a bin"),
])
def test_xenonnt_release_tables_checked_for_meaning(tmp_path, name, change, match):
    toml = _copy(tmp_path, XE)
    _change_rows(tmp_path / f"{XE}_{name}", change)
    _refused(toml, match)


def test_the_packaged_xenonnt_file_still_loads_with_its_totals(tmp_path):
    """The new checks pass on the release as converted: the runs file's events are the bins' observed sums
    (9 + 28 + 25 = 62, the release's README)."""
    exp = cevns.load_experiment(str(_copy(tmp_path, XE)))
    assert exp.data.counts.sum() == 62


def test_dresden_peaks_named_alike_are_refused(tmp_path):
    toml = _copy(tmp_path, DR)
    _edit(toml, 'name = "L2"', 'name = "L1"')
    _refused(toml, r"name\(s\) \['L1'\] given more than once")


@pytest.mark.parametrize("energy,sigma", [("50", "0.0692"), ("0.1", "0.01")])
def test_a_dresden_peak_outside_the_data_is_refused(tmp_path, energy, sigma):
    """0.2 ... 1.5 keVee: a peak 5 sigma beyond either end has no effect on any bin."""
    toml = _copy(tmp_path, DR)
    _edit(toml, "energy_keV = 1.2922\nsigma_keV = 0.0692", f"energy_keV = {energy}\nsigma_keV = {sigma}")
    _refused(toml, "lies outside the data")


def test_the_m_peak_below_threshold_stays(tmp_path):
    """The packaged M peak (0.158 keV, sigma 0.0685) sits below 0.2 keV but within 1 sigma of it: kept."""
    assert cevns.load_experiment(str(_copy(tmp_path, DR))).chi2_function() is not None


@pytest.mark.parametrize("sigma", [-1.0, 0.0, math.nan, math.inf, 0.5, 1e300])
def test_k_sigma_outside_zero_to_k_is_refused(sigma):
    from cevns.quenching_nuisance import KProfiled

    with pytest.raises(CevnsInputError, match=r"k_sigma \(the prior width of the Lindhard k = 0.162\) must be > 0"):
        KProfiled(cevns.load_experiment("conus-plus"), sigma)


@pytest.mark.parametrize("argv,match", [
    (["fit", "conus-plus", "--param", "mu_nu", "--input", "k_sigma=[0.004]"], "k_sigma must be a number"),
    (["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Xe=5"],
     r"no experiment here has Xe in its target \(Cs, I\): --set rn_Xe changes nothing"),
    (["predict", "dresden-ii-2022", "--input", "quenching=[1,2]"], r"model must be a string"),
])
def test_command_line_refusals(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cevns: error:")
    assert __import__("re").search(match, err[0]), err[0]


def test_a_radius_of_an_element_present_is_still_set():
    """rn_Cs on CsI moves the prediction (the refusal above is only for elements absent from every target)."""
    m = cevns.get_model("neutron-radius", rn_Cs=5.5)
    csi = cevns.load_experiment("coherent-csi-2021")
    assert csi.predict(m).cevns.sum() != csi.predict(cevns.get_model("neutron-radius")).cevns.sum()


def test_a_signal_shape_by_key_without_plus_is_refused(tmp_path):
    """Found by the fuzzing: a [[signal_shapes]] entry with key and minus but no plus was a TypeError."""
    toml = _copy(tmp_path, "coherent_lar_2020")
    text = toml.read_text()
    i = text.index('key = "quenching.coefficients"')
    j = text.index("plus", i)
    k = text.index("\n", j)
    toml.write_text(text[:j] + "# " + text[j:k] + text[k:])
    _refused(toml, r"needs plus = the \+1 sigma value")


def test_reproduce_global_names_the_five_data_sets_it_runs(capsys, tmp_path):
    from cevns.global_study import DATASETS

    assert main(["reproduce", "global", "xenonnt-8b-2026", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(DATASETS) == 5 and all(n in err for n, _, _ in DATASETS), err


def test_a_templates_file_that_is_a_folder(tmp_path):
    toml = _copy(tmp_path, XE)
    _edit(toml, 'bins_file = "xenonnt_8b_2026_bins.csv"', 'bins_file = "."')
    _refused(toml, "is not a regular file")

"""`cevns reproduce quenching` (issue 25 item 3): the study's outputs, and the physics they must show."""

import json

import pytest

from cevns.cli import main


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "cevns-quenching"
    assert main(["reproduce", "quenching", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_outputs_written(study):
    out, r = study
    for f in ("results.json", "report.md", "report.html", "quenching_models.png", "quenching_models.pdf"):
        assert (out / f).is_file(), f
    text = (out / "report.md").read_text()
    assert "Which quenching each data set prefers" in text and "Dresden-II" in text
    assert r["study"] == "quenching"


def test_each_data_set_prefers_its_own_quenching(study):
    """CONUS+ (threshold 160-180 eV_ee) is fitted by the measured k = 0.162 and rejects the Fef model's larger sub-keV
    quenching factor (Fef predicts ~9x the CEvNS counts); Dresden-II (0.2 keV_ee, acceptance-corrected) prefers Fef
    over Lindhard k = 0.162 -- the disagreement arXiv:2502.12308 describes."""
    _, r = study
    assert r["preference"]["conus-plus"]["best"] == "lindhard"
    assert r["preference"]["conus-plus"]["delta_chi2_sm"]["fef"] > 9.0
    assert r["preference"]["dresden-ii-2022"]["best"] == "fef"
    assert r["preference"]["dresden-ii-2022"]["delta_chi2_sm"]["lindhard"] > 2.0
    kb = r["k_free"]["best"]
    assert 0.15 <= kb["conus-plus"]["k"] <= 0.19 and kb["dresden-ii-2022"]["k"] > 0.25
    tension = kb["combined"]["chi2"] - kb["conus-plus"]["chi2"] - kb["dresden-ii-2022"]["chi2"]
    assert tension > 1.0


def test_mu_nu_moves_with_the_quenching(study):
    """The mu_nu limit of each germanium data set moves by more than 1.5x between the three models."""
    _, r = study
    for key in ("conus-plus", "dresden-ii-2022"):
        lims = [r["per_model"][m][key]["mu_nu_90"][-1][1] for m in r["models"]]
        assert max(lims) / min(lims) > 1.5, (key, lims)


def test_study_refuses_inputs_and_a_foreign_folder(tmp_path, capsys):
    """One line and exit 2: an experiment given to the study; an --out folder holding files cevns did not write."""
    assert main(["reproduce", "quenching", "conus-plus", "--out", str(tmp_path / "x")]) == 2
    assert "quenching study" in capsys.readouterr().err
    d = tmp_path / "foreign"
    d.mkdir()
    (d / "mine.txt").write_text("not cevns's")
    assert main(["reproduce", "quenching", "--out", str(d)]) == 2
    assert (d / "mine.txt").read_text() == "not cevns's" and not (d / "results.json").exists()

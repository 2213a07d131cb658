"""`cevns reproduce` on the embedded data: JSON shape and units, every figure a valid image.

The run itself is the session fixture ``reproduced`` (conftest.py), shared with test_golden.py."""

import json

import pytest

from cevns.reproduce import FIGURES

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def outdir(reproduced):
    return reproduced[0]


def test_results_json(outdir):
    r = json.loads((outdir / "results.json").read_text())
    assert set(r) >= {"sin2w", "mu_nu", "q_ee", "q_emu", "q_etau", "r2_ee", "r2_emu", "r2_etau", "scalar", "vector_bl"}
    assert 0.15 < r["sin2w"]["best"] < 0.40
    lo, hi = r["sin2w"]["1sigma"][0]
    assert lo < r["sin2w"]["best"] < hi
    for ch in ("cevns", "cevns+eves"):
        assert 1e-11 < r["mu_nu"][ch] < 1e-8  # mu_B
        assert 1e-33 < r["r2_emu"][ch] < 1e-29  # cm^2
        (a, b), = r["q_ee"][ch]
        assert a < 0 < b and abs(b) < 1e-6  # e
        for m in ("scalar", "vector_bl"):
            assert len(r[m][ch]["mass_MeV"]) >= 100 and len(r[m][ch]["g"]) == len(r[m][ch]["mass_MeV"])
    # EvES tightens the millicharge limit by orders of magnitude (paper: 1e-8 -> 1e-12)
    assert r["q_emu"]["cevns+eves"] < 1e-3 * r["q_emu"]["cevns"]
    # e-mu and e-tau are the same physics for reactor antineutrinos; the two fits differ only in the order of
    # the marginalised parameters (so in rounding)
    assert r["q_emu"]["cevns+eves"] == pytest.approx(r["q_etau"]["cevns+eves"], rel=1e-12)
    assert r["units"]["mu_nu"] == "mu_B" and r["units"]["r2"] == "cm^2"
    # beyond the paper: joint regions; with 1 dof their projections are the 1D limits (to the grid's interpolation)
    c = r["contours"]["q_ee-q_emu"]
    assert c["dof2"]["units"] == ["e", "e"] and c["dof2"]["level"] > c["dof1"]["level"]
    assert c["dof1"]["extent"]["q_emu"][1] == pytest.approx(r["q_emu"]["cevns+eves"], rel=0.02)
    assert r["contours"]["r2_ee-r2_emu"]["dof1"]["extent"]["r2_ee"] == pytest.approx(r["r2_ee"]["cevns+eves"][0], rel=0.02)


def test_figures_are_images(outdir):
    for name in FIGURES:
        png = (outdir / f"{name}.png").read_bytes()
        assert png[:8] == PNG and len(png) > 10_000
        assert (outdir / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"


def test_report(outdir):
    md = (outdir / "report.md").read_text()
    assert "| quantity | cevns | paper | ratio |" in md
    assert "<table>" in (outdir / "report.html").read_text()
    # Fig. 3 points are listed with their references, the user's file last
    assert "| Z pole | 91.2 | 0.231210 +0.000040 -0.000040 | MSbar | PDG 2024 | the reference paper's text" in md
    assert md.index("| Test point | 0.05 | 0.240 +0.020 -0.030 | MSbar | test | (user file) |") > md.index("| Z pole")


def test_results_json_is_the_run(reproduced):
    """results.json holds exactly the run's results (the golden test checks the run's numbers), the study's name and
    the data its figures are drawn from."""
    out, run = reproduced
    written = json.loads((out / "results.json").read_text())
    assert written.pop("study") == "paper" and written.pop("figure_data") == json.loads(json.dumps(run["figure_data"]))
    assert written == json.loads(json.dumps(run["results"]))


def test_comparison_with_other_experiments(outdir):
    """The paper's Tables 1-3 as a cited data file: every row a known quantity with a sane limit, shown in the report."""
    from cevns.reproduce import COMPARED, other_experiments

    rows = other_experiments()
    assert {r["quantity"] for r in rows} <= {q for q, _, _ in COMPARED} | {"q_etau", "r2_etau"}
    for r in rows:
        assert r["hi"] > 0 and (r["lo"] is None or r["lo"] < r["hi"]) and r["ref"].startswith("[")
    md = (outdir / "report.md").read_text()
    assert "| mu_nu [1e-11 mu_B] | 90% C.L. |" in md and "| cevns, digitised CONUS+ data | <= 12.8 |" in md

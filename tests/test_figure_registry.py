"""Every figure of every study registered once and drawn by a test, from results.json; `cevns figures` redraws the
same pixels without refitting."""

import json
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from cevns import figure_registry
from cevns.figures import load_results, select
from cevns.reproduce import FIGURES

PAPER = ["fig1_spectrum", "fig2_sin2w", "fig3_running", "fig4_magnetic_moment", "fig5_millicharge",
         "fig6_charge_radius", "fig7_mediators", "fig8_contours", "fig9_comparison"]
GLOBAL = ["global_running", "global_regions", "global_mediators", "global_comparison"]


def test_each_figure_is_registered_once_with_its_study_and_needs():
    assert [s.name for s in select("paper")] == PAPER == list(FIGURES)
    assert [s.name for s in select("global")] == GLOBAL
    for spec in figure_registry.REGISTRY.values():
        assert spec.needs and spec.caption and spec.study in figure_registry.STUDIES


def _same_pixels(a, b):
    x, y = mpimg.imread(a), mpimg.imread(b)
    return x.shape == y.shape and float(np.abs(x - y).max()) == 0.0


def _redraw(results, out):
    return subprocess.run([sys.executable, "-m", "cevns", "figures", str(results), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)


def test_cevns_figures_redraws_the_paper_figures_from_results_json(reproduced, tmp_path):
    """The nine figures of `cevns reproduce`, redrawn from its results.json alone (a new process: nothing refitted),
    are the same pixels as the study's own."""
    out, _ = reproduced
    r = _redraw(out / "results.json", tmp_path / "figs")
    assert r.returncode == 0, r.stderr
    for name in PAPER:
        for ext in ("png", "pdf"):
            assert (tmp_path / "figs" / f"{name}.{ext}").stat().st_size > 1000
        assert _same_pixels(out / f"{name}.png", tmp_path / "figs" / f"{name}.png"), name


def test_only_some_figures(reproduced, tmp_path):
    out, _ = reproduced
    r = subprocess.run([sys.executable, "-m", "cevns", "figures", str(out / "results.json"), "--out",
                        str(tmp_path / "two"), "--only", "fig2_sin2w,fig7_mediators"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.stem for p in (tmp_path / "two").glob("*.png")) == ["fig2_sin2w", "fig7_mediators"]


@pytest.mark.parametrize("case,message", [
    ("not-json", "is not JSON"), ("other-json", "is not the results.json of a cevns study"),
    ("missing", "no such file"), ("own-folder", "is the folder of"), ("unknown-figure", "unknown figure"),
    ("no-profile", "needs figure_data/profiles/sin2w"), ("edited-data", "cannot be drawn from these results"),
    ("only-empty", "--only needs figure names"),
])
def test_bad_input_to_cevns_figures_is_one_line_exit_2(reproduced, tmp_path, case, message):
    out, _ = reproduced
    src = out / "results.json"
    extra = []
    if case == "not-json":
        src = tmp_path / "r.json"
        src.write_text("{ not json")
    elif case == "other-json":
        src = tmp_path / "r.json"
        src.write_text(json.dumps({"a": 1}))
    elif case == "missing":
        src = tmp_path / "nope.json"
    elif case == "unknown-figure":
        extra = ["--only", "fig10"]
    elif case == "edited-data":
        d = json.loads(src.read_text())
        d["figure_data"]["spectrum"]["counts"] = "not a list"
        src = tmp_path / "r.json"
        src.write_text(json.dumps(d))
        extra = ["--only", "fig1_spectrum"]
    elif case == "only-empty":
        extra = ["--only", ""]
    elif case == "no-profile":
        d = json.loads(src.read_text())
        del d["figure_data"]["profiles"]["sin2w"]
        src = tmp_path / "r.json"
        src.write_text(json.dumps(d))
        extra = ["--only", "fig2_sin2w"]
    dest = src.parent if case == "own-folder" else tmp_path / "figs"
    r = subprocess.run([sys.executable, "-m", "cevns", "figures", str(src), "--out", str(dest), *extra],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    if case == "own-folder":
        assert (out / "results.json").exists()


def test_load_results_reads_what_the_study_wrote(reproduced):
    out, run = reproduced
    d = load_results(out / "results.json")
    assert d["study"] == "paper" and d["sin2w"]["best"] == pytest.approx(run["results"]["sin2w"]["best"], rel=1e-15)

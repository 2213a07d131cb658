"""Pinned results: every number of `cevns reproduce` and the per-bin SM prediction against stored golden values.

The golden files (tests/golden/*.json) are written by ``python tests/golden/regenerate.py``.  A change of
physics or numerics fails here; if it is intended, regenerate and commit the JSON diff with the change, so a
reviewer sees which numbers moved.  Tolerances (tests/golden/regenerate.py: ``rtol_for``): 1e-6 relative for
the SM prediction, the limits' interval edges (also relative to the interval width), sin2w, the exclusion
curves and the sensitivity table; 1e-4 for the two-parameter regions.  Infinities and None exactly.
"""

import copy
import math

import pytest
from golden.regenerate import PREDICTION_FILE, RESULTS_FILE, compare, load, prediction, results_from_run, rtol_for


@pytest.fixture(scope="module")
def golden():
    return load(RESULTS_FILE)


def _report(bad):
    return "\n".join(f"{p}: golden {o!r}, now {n!r} ({why})" for p, o, n, why in bad[:30])


def test_every_result_of_reproduce_matches_the_golden_values(reproduced, golden):
    bad = compare(results_from_run(reproduced[1]), golden)
    assert bad == [], _report(bad)


def test_sm_prediction_per_bin_matches_the_golden_values(exp):
    bad = compare(prediction(exp), load(PREDICTION_FILE), "prediction")
    assert bad == [], _report(bad)


def test_golden_files_cover_the_paper(golden):
    """What is pinned: every EM limit per channel, both mediators per channel, the contours, the SM totals,
    the sensitivity rows and the mediator choices; and the SM prediction of every bin."""
    r = golden["results"]
    for p in ("mu_nu", "q_ee", "q_emu", "q_etau", "r2_ee", "r2_emu", "r2_etau"):
        assert set(r[p]) == {"cevns", "cevns+eves"}
    for m in ("scalar", "vector_bl"):
        for ch in ("cevns", "cevns+eves"):
            assert len(r[m][ch]["g"]) == len(r[m][ch]["mass_MeV"]) >= 100
    assert set(r["contours"]) == {"q_ee-q_emu", "r2_ee-r2_emu"} and r["sin2w"]["1sigma"]
    assert r["sm_prediction"]["cevns"] > 0 and len(golden["sensitivity"]) >= 9
    assert set(golden["mediator_choices"]) == {"scalar", "vector-bl"}
    pred = load(PREDICTION_FILE)
    assert len(pred["cevns"]) == len(pred["eves"]) == len(pred["bins_eVee"]) == 19
    assert sum(pred["cevns"]) == pytest.approx(pred["total_cevns"], rel=1e-12)


def test_the_comparison_catches_changes(golden):
    """The comparison is not vacuous: a 2e-6 shift of a limit, of an exclusion point or of one SM bin, a 2e-4 shift
    of a contour extent, a finite value where the golden one is infinite, and a missing key all fail; shifts below
    the tolerance pass."""
    def moved(path, factor):
        d = copy.deepcopy(golden)
        node = d
        *head, last = path
        for k in head:
            node = node[k]
        node[last] = node[last] * factor
        return compare(d, golden)

    assert moved(("results", "mu_nu", "cevns+eves"), 1 + 2e-6)
    assert not moved(("results", "mu_nu", "cevns+eves"), 1 + 5e-7)
    assert moved(("results", "scalar", "cevns", "g", 50), 1 - 2e-6)
    assert moved(("results", "contours", "q_ee-q_emu", "dof2", "extent", "q_ee", 1), 1 + 2e-4)
    assert not moved(("results", "contours", "q_ee-q_emu", "dof2", "extent", "q_ee", 1), 1 + 5e-5)
    edge = copy.deepcopy(golden)
    iv = edge["results"]["q_ee"]["cevns"][0]
    iv[0] += 2e-6 * (iv[1] - iv[0])
    assert compare(edge, golden)
    pred = load(PREDICTION_FILE)
    p2 = copy.deepcopy(pred)
    p2["cevns"][7] *= 1 + 2e-6
    assert compare(p2, pred, "prediction") and rtol_for("prediction/cevns/7") == 1e-6
    assert compare({"a": 1.0}, {"a": math.inf}) and compare({"a": None}, {"a": 1.0}) and compare({}, {"a": 1.0})
    assert compare({"a": math.inf}, {"a": math.inf}) == []


def test_coherent_sm_predictions_per_bin_match_the_golden_values():
    """CsI and LAr: CEvNS, EvES and background per energy x time bin, to 1e-6 (tests/golden/coherent_sm_predictions.json)."""
    from golden.regenerate import COHERENT_FILE, coherent_predictions

    old = load(COHERENT_FILE)
    assert set(old) == {"coherent-csi-2021", "coherent-lar-2020"}
    assert all(len(v["cevns"]) == len(v["background"]) > 10 for v in old.values())
    bad = compare(coherent_predictions(), old, "coherent")
    assert bad == [], _report(bad)
    assert rtol_for("coherent/coherent-csi-2021/cevns/3") == 1e-6 and rtol_for("global/limits/q_ee") == 1e-6


def test_dresden_and_quenching_study_match_the_golden_values():
    """dresden-ii-2022's SM prediction per bin and the quenching study's numbers (CONUS+ and Dresden-II under Lindhard
    k = 0.162, Fef, YBe and the k scan), to 1e-6 (tests/golden/dresden_ii_results.json)."""
    from golden.regenerate import DRESDEN_FILE, dresden_results

    old = load(DRESDEN_FILE)
    assert len(old["prediction"]["cevns"]) == 130 and set(old["quenching"]["models"]) == {"lindhard", "fef", "ybe", "k_free"}
    bad = compare(dresden_results(), old, "dresden")
    assert bad == [], _report(bad)

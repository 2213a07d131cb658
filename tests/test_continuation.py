"""Warm starts and continuation in the scans (issue 27): the fast paths against the plain ones they replace, the
test that sends a point back to the full search, and the progress reports of long scans."""

from types import SimpleNamespace

import numpy as np
import pytest

import cevns
from cevns.minimise import _Solutions


@pytest.fixture(scope="module")
def csi():
    return cevns.load_experiment("coherent-csi-2021")


def test_contour_searched_at_checked_points_is_the_contour_searched_everywhere(csi, monkeypatch):
    """CsI (q_ee, q_emu) with q_mumu, q_etau, q_mutau marginalised: the candidate grid (13^3 per point) searched at
    every fifth point of the snake (analysis.CONTOUR_SEARCH_EVERY) and continuation between gives the grid of the
    search at every point."""
    import cevns.analysis as A

    fast = csi.contour(("q_ee", "q_emu"), n=6)
    monkeypatch.setattr(A, "CONTOUR_SEARCH_EVERY", 1)
    full = csi.contour(("q_ee", "q_emu"), n=6)
    assert sorted(fast.marginalised) == ["q_etau", "q_mumu", "q_mutau"]
    assert fast.converged and full.converged
    np.testing.assert_allclose(fast.dchi2, full.dchi2, rtol=0, atol=1e-8)
    assert fast.chi2_min == pytest.approx(full.chi2_min, rel=1e-10, abs=0)


def _solutions(n: int) -> _Solutions:
    sol = _Solutions(SimpleNamespace(theta=None), np.zeros((n, 2)), np.full((n, 2), 1e-3), 3, extra=False)
    sol.z[:] = [1.0, 1.0]  # every point in one basin
    return sol


def test_continuation_fails_where_a_point_leaves_its_checked_neighbours_basin():
    sol = _solutions(7)
    sol.z[2] = [1.1, 0.95]  # the same basin, moved by less than 30% of its distance from the start
    sol.z[4] = [-1.0, 1.0]  # another basin (the mirror image in the first coordinate)
    sol.unsettled[5] = True  # still moving after the Newton steps
    assert sol.continuation_failed(np.array([0, 3, 6])).tolist() == [4, 5]


def test_continuation_fails_between_checked_points_in_different_basins():
    sol = _solutions(7)
    sol.z[3] = [1.0, -1.0]  # a checked point whose solution lies elsewhere: both sides of it are searched again
    assert sol.continuation_failed(np.array([0, 3, 6])).tolist() == [1, 2, 4, 5]


class Recorder:
    def __init__(self):
        self.calls, self.estimates = [], []

    def __call__(self, done, total):
        self.calls.append((done, total))

    def estimate(self, seconds, what):
        self.estimates.append((seconds, what, len(self.calls)))


def test_contour_estimates_before_it_starts_and_reports_every_batch(exp):
    rec = Recorder()
    res = exp.contour(("q_ee", "q_emu"), "cevns+eves", n=7, progress=rec)
    (seconds, what, calls_before), = rec.estimates
    assert calls_before == 0 and np.isfinite(seconds) and seconds > 0
    assert "7 x 7 grid" in what and f"{len(res.marginalised)} parameter" in what
    done = [d for d, _ in rec.calls]
    assert {t for _, t in rec.calls} == {49} and done[0] == 0 and done[-1] == 49 and done == sorted(done)


@pytest.mark.parametrize("poisson", [False, True])
def test_exclusion_progress_moves_through_the_scan(exp, csi, poisson):
    """The masses' bases, then the coupling scan (a Poisson likelihood's coupling by coupling), then the edges."""
    rec = Recorder()
    (csi if poisson else exp).exclusion("vector-bl", masses=[1.0, 10.0], n_g=50, progress=rec)
    done = [d for d, _ in rec.calls]
    total = rec.calls[0][1]
    assert {t for _, t in rec.calls} == {2 + 50 + 2} and done == sorted(done) and done[-1] == total
    assert len(done) >= (2 + 51 + 1 if poisson else 4)  # each coupling of the scan (and its g = 0) told
    (seconds, what, calls_before), = rec.estimates  # after the masses' bases, before the scan
    assert calls_before == 2 and np.isfinite(seconds) and seconds > 0 and "2 masses x 51 couplings" in what


def test_an_estimate_after_a_started_bar_begins_its_own_line(capsys):
    from cevns.cli import Progress

    bar = Progress("vector-bl scan", enabled=True)
    bar(3, 10)  # the bases' part of the bar
    bar.estimate(4.2, "121 masses x 401 couplings")
    bar(10, 10)
    err = capsys.readouterr().err
    assert "3/10" in err and "\nvector-bl scan: 121 masses x 401 couplings; estimated 4 s\n\r" in err


def test_the_command_line_bar_prints_the_estimate_first(capsys):
    from cevns.cli import Progress

    bar = Progress("q_ee x q_emu", enabled=True)
    bar.estimate(12.4, "9 x 9 grid, 3 parameters marginalised")
    bar(0, 81)
    bar(81, 81)
    err = capsys.readouterr().err
    assert err.startswith("q_ee x q_emu: 9 x 9 grid, 3 parameters marginalised; estimated 12 s\n")
    assert "81/81" in err and err.endswith("\n")
    Progress("quiet", enabled=False).estimate(5.0, "nothing")
    assert capsys.readouterr().err == ""

"""What a referee stopped in the figures, checked on the drawn artists: a mass where even g = 0 is excluded drawn at
its island's top (not a gap or a drop to zero), slivers of regions zoomed, symmetric-log axes that hold every bar and
say what their linear band is, coinciding curves named, the prime of Z' a prime (docs/figures.md, the referee table)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from cevns import plots, plots_global
from cevns.results import ContourResult, ExclusionResult
from cevns.style import figure_style, symlog_axis


def _exclusion(g, islands):
    m = np.array([1.0, 10.0, 100.0, 1000.0])
    return ExclusionResult("scalar", "cevns", 0.9, 2.706, m, np.array(g, dtype=float), islands)


def test_exclusion_plot_draws_a_mass_without_the_sm_at_its_island_top_and_the_island_as_a_bar():
    """g = 0 at 100 MeV (the SM outside the region, allowed only [2e-5, 7e-5]): the curve there is 7e-5 (excluded
    above), the island a vertical bar from 2e-5 to 7e-5; inf (nothing excluded up to the scan's top) stays a gap."""
    res = _exclusion([1e-5, 2e-5, 0.0, np.inf], [{"mass_MeV": 100.0, "allowed_g": [[2e-5, 7e-5]]}])
    fig = Figure()
    ax = fig.subplots()
    with figure_style():
        res.plot(ax)
    curve = ax.lines[0].get_ydata()
    assert curve[2] == pytest.approx(7e-5, rel=1e-12) and np.isnan(curve[3])
    bars = [ln for ln in ax.lines[1:] if list(ln.get_xdata()) == [100.0, 100.0]]
    assert len(bars) == 1 and list(bars[0].get_ydata()) == [2e-5, 7e-5]
    assert "SM" in bars[0].get_label() and "excluded above" in res.note()
    assert "no coupling" in res.note()  # the inf mass is named as a gap


def test_global_mediators_curve_runs_through_the_island_and_an_old_file_leaves_a_gap():
    v = {"mass_MeV": [1.0, 100.0, 1000.0], "g": [1e-5, 0.0, None]}
    g, bars = plots_global._through_islands(v, [{"mass_MeV": 100.0, "allowed_g": [[1e-5, 4e-5], [6e-5, 8e-5]]}])
    assert g[1] == 8e-5 and np.isnan(g[2]) and [b for _, b in bars] == [(1e-5, 4e-5), (6e-5, 8e-5)]
    g_old, bars_old = plots_global._through_islands(v, [])  # results.json without islands: no drop to g = 0
    assert np.isnan(g_old[1]) and bars_old == []


def _ellipse(name, half_x, half_y, grid_x, grid_y):
    x, y = np.linspace(-grid_x, grid_x, 81), np.linspace(-grid_y, grid_y, 81)
    d = 4.61 * ((x[:, None] / half_x) ** 2 + (y[None, :] / half_y) ** 2)
    return ContourResult(("q_ee", "q_mumu"), "cevns+eves", ("e", "e"), 0.9, 2, 4.61, x, y, d, (0.0, 0.0), 0.0)


def test_zoom_frame_holds_the_slivers_and_not_the_wide_regions():
    """A region 1e-4 of the panel's width is zoomed (its extent inside the frame, within a factor 3 of it); a wide one
    is not; none thin: no zoom."""
    per = {"wide": _ellipse("wide", 1.0, 1.0, 1.5, 1.5), "thin": _ellipse("thin", 1e-4, 0.5, 2e-4, 1.0)}
    group, frame = plots_global._zoom_frame(per, ["wide", "thin"], (1.5, 1.5))
    assert group == ["thin"]
    assert frame[0] < -0.99e-4 and frame[1] > 0.99e-4 and frame[1] < 3e-4 and frame[3] < 1.0 and frame[3] > 0.5
    assert plots_global._zoom_frame({"wide": per["wide"]}, ["wide"], (1.5, 1.5)) == ([], None)


def test_symlog_axis_holds_every_bar_shades_its_linear_band_and_labels_few_ticks():
    for reach in (2.0, 500.0, 3e5):
        fig = Figure()
        ax = fig.subplots()
        with figure_style():
            note = symlog_axis(ax, reach)
        lo, hi = ax.get_xlim()
        assert lo < -reach and hi > reach and "linear" in note and "grey" in note
        ticks = [t for t in ax.get_xticks() if t > 0]
        assert 1.0 in ticks and len(ticks) <= 3  # at most three labels a side: no collisions
        assert any(p.get_x() == -1.0 and p.get_width() == 2.0 for p in ax.patches)  # the band |x| < 1


def test_coinciding_profiles_are_named_and_different_ones_not():
    x = list(np.linspace(-1, 1, 41))
    same = {"cevns+eves": {"x": x, "dchi2": [8 * v * v for v in x]}, "cevns": {"x": x, "dchi2": [8 * v * v + 0.01 for v in x]}}
    apart = {"cevns+eves": same["cevns+eves"], "cevns": {"x": x, "dchi2": [2 * v * v for v in x]}}
    assert "coincides" in plots._profile_labels(same)["cevns"]
    assert "coincides" not in plots._profile_labels(apart)["cevns"]


def test_coinciding_exclusions_above_a_mass():
    m = np.array([0.01, 0.1, 1.0, 10.0])
    assert plots._coincide_above(m, np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 2.0, 3.0, 4.0])) == 0.1
    assert plots._coincide_above(m, np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])) == np.inf


def test_z_prime_is_written_with_a_prime_not_an_apostrophe():
    import inspect

    assert "$Z'$" not in inspect.getsource(plots_global) and r"$Z\prime$" in inspect.getsource(plots_global)


def test_exclusion_curves_give_both_edges_where_the_sm_is_excluded():
    """Where g = 0 is excluded the allowed couplings are islands: everything above the highest island's top and below
    the lowest island's bottom is excluded; None/inf is a gap; a normal mass has no lower edge."""
    from cevns.results import exclusion_curves

    top, low, bars = exclusion_curves([1.0, 10.0, 100.0], [3e-6, 0.0, None],
                                      [{"mass_MeV": 10.0, "allowed_g": [[1e-6, 2e-6], [4e-6, 5e-6]]}])
    assert top[0] == 3e-6 and top[1] == 5e-6 and np.isnan(top[2])
    assert np.isnan(low[0]) and low[1] == 1e-6 and np.isnan(low[2])
    assert bars == [(10.0, (1e-6, 2e-6)), (10.0, (4e-6, 5e-6))]


def test_poisson_error_bars_are_the_garwood_intervals():
    """Counts are drawn with the central 68% Poisson interval (Garwood 1936; PDG Table 40.3): n = 0 -> [0, 1.841],
    n = 1 -> [0.173, 3.300], n = 4 -> [2.086, 7.163]; never below zero."""
    from cevns.results import poisson_interval

    lo, hi = poisson_interval([0, 1, 4])
    assert lo == pytest.approx([0.0, 0.173, 2.086], abs=2e-3) and hi == pytest.approx([1.841, 3.300, 7.163], abs=2e-3)

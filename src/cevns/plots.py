"""Figures of the paper (Figs. 1-7) and two more, drawn from the result objects in the cevns style.

Every figure is a :class:`matplotlib.figure.Figure` drawn and saved inside :func:`cevns.style.figure_style`:
no backend is selected and no global rcParams are changed.  Symbols and units come from
:mod:`cevns.labels`, colours and line styles from :mod:`cevns.style`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Iterator, Sequence, Tuple

import numpy as np

from .labels import channel_label, label, level_label
from .style import GUIDE, OKABE_ITO, TWO_COLUMN, channel_style, dataset_style, figure_style, legend, level_line, new_figure
from .style import save as _save_files

#: the channels of the profile figures, drawn in this order (the dashed CEvNS-only curve on top)
PROFILE_CHANNELS = ("cevns+eves", "cevns")


def _save(fig, outdir: Path, name: str) -> None:
    _save_files(fig, Path(outdir) / name)


def _spectrum(exp, ax) -> None:
    from . import models as M
    from .labels import model_label

    e = exp.edges_eVee
    c = 0.5 * (e[1:] + e[:-1])
    widths = np.diff(e)
    ds = dataset_style("conus-plus")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.stairs(exp.predict().total, e, lw=1.6, color=OKABE_ITO["blue"],
              label=r"SM, " + label("sin2w").value(0.23857))
    for model, col, ls in [(M.MagneticMoment(mu_nu=1e-10), OKABE_ITO["vermillion"], "-"),
                           (M.Millicharge(q_ee=3e-12), OKABE_ITO["green"], "--"),
                           (M.ChargeRadius(r2_ee=2e-31), OKABE_ITO["purple"], "-."),
                           (M.VectorBL(g=3e-5, mass_MeV=10.0), OKABE_ITO["orange"], (0, (1, 1)))]:
        ax.stairs(exp.predict(model).total, e, lw=1.0, color=col, ls=ls, label=model_label(model))
    ax.errorbar(c, exp.data.counts, yerr=exp.data.sigma, xerr=widths / 2, fmt=ds["marker"], color=ds["color"],
                ms=2.5, lw=0.8, label="CONUS+ excess (digitised)", zorder=5)
    ax.set_xlim(e[0], e[-1])
    ax.set_xlabel(r"ionisation energy $T_e$ [eV$_{ee}$]")
    w = float(widths[0])
    ax.set_ylabel(f"events / {w:g} eV$_{{ee}}$" if np.allclose(widths, w) else "events / bin")


def spectrum_figure(exp, ax=None):
    """Fig. 1: SM and BSM predictions (CEvNS + EvES, three detectors) over the data.

    Draws onto ``ax`` if given (in the caller's style); otherwise onto a new pyplot figure in the cevns
    style (pyplot is used only then, so a user's backend is never switched)."""
    if ax is not None:
        _spectrum(exp, ax)
        legend(ax, loc="upper right")
        return ax
    import matplotlib.pyplot as plt

    with figure_style():
        _, ax = plt.subplots()
        _spectrum(exp, ax)
        legend(ax, loc="upper right")
    return ax


def _profile(exp, fr, lo: float, hi: float, log: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """The Delta chi^2 profile of ``fr`` over the whole frame [lo, hi] (display units times scale): the
    stored profile if it spans the frame, else the same fit redone on a grid that does (public API)."""
    if fr.grid[0] <= lo and fr.grid[-1] >= hi:
        return fr.grid, fr.dchi2
    a, b = min(lo, fr.grid[0]), max(hi, fr.grid[-1])
    grid = np.geomspace(max(a, 1e-3 * hi), b, 401) if log else np.linspace(a, b, 401)
    wide = exp.fit(fr.param, fr.channels, levels=list(fr.intervals), grid=grid)
    return wide.grid, wide.dchi2


def _profile_panel(ax, exp, fits, param: str, xlim: Tuple[float, float], channels=PROFILE_CHANNELS,
                   log: bool = False) -> None:
    lab = label(param)
    for ch in channels:
        fr = fits[param][ch]
        g, d = _profile(exp, fr, xlim[0] * lab.scale, xlim[1] * lab.scale, log)
        ax.plot(g / lab.scale, d, label=channel_label(ch), **channel_style(ch))
    if log:
        ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 8)
    level_line(ax, 2.71, "90% C.L.")
    ax.set_ylabel(r"$\Delta\chi^2$")


#: the paper study's figures, in order, each with the entries of the run dictionary it is drawn from
#: (``sin2w_points`` is optional: the user's further determinations for Fig. 3)
PAPER_FIGURES: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("fig1_spectrum", ("experiment",)),
    ("fig2_sin2w", ("fits",)),
    ("fig3_running", ("experiment", "fits", "coherent_sin2w")),
    ("fig4_magnetic_moment", ("experiment", "fits")),
    ("fig5_millicharge", ("experiment", "fits")),
    ("fig6_charge_radius", ("experiment", "fits")),
    ("fig7_mediators", ("exclusions",)),
    ("fig8_contours", ("contours",)),
    ("fig9_comparison", ("results",)),
)


@contextlib.contextmanager
def _paper_style() -> Iterator[None]:
    """The cevns style, with linear-axis tick labels as plain text: the same STIX digits as the mathtext
    ``\\mathdefault{...}`` labels (positions within 0.75 pt), without a mathtext parse each (10% of the
    paper figures' time).  Safe here because no axis of these figures needs an offset or a scientific
    multiplier (which plain text would write as "1e-5"; tests/test_figures.py checks)."""
    import matplotlib

    with figure_style(), matplotlib.rc_context({"axes.formatter.use_mathtext": False}):
        yield


def paper_figures(run: Dict[str, Any], outdir: Path, extra_determinations: Sequence[Dict[str, Any]] = (),
                  names: Sequence[str] | None = None) -> None:
    """Write fig1 ... fig9 (PNG and PDF) from a :func:`cevns.reproduce.run_all` dictionary.

    ``extra_determinations``: further sin^2 theta_W points for Fig. 3, as returned by
    :func:`cevns.running.load_determinations` (drawn with diamond markers).  ``names``: only these
    figures (names of :data:`PAPER_FIGURES`; default all); a figure needs only its own entries of ``run``.
    """
    known = [n for n, _ in PAPER_FIGURES]
    todo = known if names is None else list(names)
    unknown = [n for n in todo if n not in known]
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(known)}")
    with _paper_style():
        for name in todo:
            _DRAW[name](run, Path(outdir), extra_determinations)


def warm_up() -> None:
    """Import and load what every figure needs (matplotlib's figure, both writers, the style's fonts and the
    mathtext parser); call inside :func:`cevns.style.figure_style` (the figure worker does, while the
    analysis runs).  A whole throwaway figure was measured to cost more than it saves later."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_pdf  # noqa: F401
    import matplotlib.figure  # noqa: F401
    from matplotlib.mathtext import MathTextParser

    MathTextParser("path").parse(r"$\Delta\chi^2$", 72)


def _fig1(run: Dict[str, Any], outdir: Path, extra: Sequence[Dict[str, Any]]) -> None:
    """Fig. 1 -- spectrum."""
    fig, ax = new_figure("single", 2.7)
    _spectrum(run["experiment"], ax)
    ax.set_ylim(top=215)
    legend(ax, loc="upper right")
    _save(fig, outdir, "fig1_spectrum")


def _fig2(run: Dict[str, Any], outdir: Path, extra: Sequence[Dict[str, Any]]) -> None:
    """Fig. 2 -- sin^2 theta_W profile."""
    fits = run["fits"]
    fig, ax = new_figure("single")
    for ch in PROFILE_CHANNELS:
        f = fits["sin2w"][ch]
        ax.plot(f.grid, f.dchi2, label=channel_label(ch), **channel_style(ch))
    for lv, k in ((1.0, "1sigma"), (2.71, "90%")):
        level_line(ax, lv, level_label(k) + " C.L." * (k == "90%"))
    ax.axvline(0.23857, color="k", lw=0.7, ls="-.", label=r"SM, $Q\to0$")
    ax.set_xlim(0.1, 0.45)
    ax.set_ylim(0, 8)
    ax.set_xlabel(label("sin2w").axis)
    ax.set_ylabel(r"$\Delta\chi^2$")
    legend(ax, loc="upper right")
    _save(fig, outdir, "fig2_sin2w")


def _fig4(run: Dict[str, Any], outdir: Path, extra: Sequence[Dict[str, Any]]) -> None:
    """Fig. 4 -- magnetic moment."""
    fig, ax = new_figure("single")
    _profile_panel(ax, run["experiment"], run["fits"], "mu_nu", (1.0, 200.0), log=True)
    ax.set_xlabel(label("mu_nu").axis)
    legend(ax, loc="upper left")
    _save(fig, outdir, "fig4_magnetic_moment")


def _pair_figure(run: Dict[str, Any], outdir: Path, name: str) -> None:
    """Figs. 5, 6 -- millicharges and charge radii: the diagonal and the transition parameters."""
    exp, fits = run["experiment"], run["fits"]
    pars, locs = {"fig5_millicharge": (("q_ee", "q_emu", "q_etau"), ("upper center", "upper left")),
                  "fig6_charge_radius": (("r2_ee", "r2_emu", "r2_etau"), ("upper right", "upper left"))}[name]
    fig, axes = new_figure("double", 2.5, 1, 2)
    chans = ("cevns+eves",) if name == "fig5_millicharge" else PROFILE_CHANNELS
    for i, (ax, p) in enumerate(zip(axes, pars[:2])):
        fr = fits[p]["cevns+eves"]
        sc = label(p).scale
        _profile_panel(ax, exp, fits, p, (fr.grid[0] / sc, fr.grid[-1] / sc), chans)
        ax.set_xlabel(label(p).axis if i == 0 else label(p).abs_axis(label(pars[2])))
        legend(ax, loc=locs[i])
    _save(fig, outdir, name)


def _running_figure(run: Dict[str, Any], outdir: Path, extra_determinations: Sequence[Dict[str, Any]]) -> None:
    """Fig. 3: the running of sin^2 theta_W with the determinations and the CONUS+ point."""
    from .models import StandardModel
    from .running import Sin2wRunning, load_determinations

    exp, f = run["experiment"], run["fits"]["sin2w"]["cevns+eves"]
    fig, ax = new_figure("single", 3.55)
    mu = np.geomspace(1e-4, 91.1876, 300)
    ax.semilogx(mu, Sin2wRunning()(mu), color="0.35", lw=1.0, label=r"one-loop $\overline{\rm MS}$ running")
    points = [(d, "s") for d in load_determinations()] + [(d, "D") for d in extra_determinations]
    # orange and sky are the COHERENT data sets' colours (style.DATASET_STYLE): not used for other points
    colours = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "purple")] + ["0.45", "#8c564b"]
    for i, (d, marker) in enumerate(points):
        open_ = d["scheme"] != "MSbar"
        ax.errorbar(d["Q_GeV"], d["value"], yerr=[[d["err_minus"]], [d["err_plus"]]], fmt=marker,
                    color=colours[i % len(colours)], mfc="white" if open_ else None, ms=3.5, lw=0.9,
                    label=d["label"] + (f" ({d['scheme']})" if open_ else ""))
    lo, hi = f.intervals["1sigma"][0]
    ds = dataset_style("conus-plus")
    q_conus = exp.engine.mean_momentum_transfer(StandardModel()) * 1e-3  # rate-weighted mean q [GeV]
    ax.errorbar(q_conus, f.best, yerr=[[f.best - lo], [hi - f.best]], fmt=ds["marker"], color=ds["color"], ms=4,
                lw=1.0, label="CONUS+ (this package, digitised data)", zorder=5)
    ax.errorbar(q_conus * 1.25, 0.252, yerr=[[0.064], [0.056]], fmt=ds["marker"], mfc="white", color=ds["color"],
                ms=4, lw=1.0, label="CONUS+ (reference paper)", zorder=5)
    for key, c in run.get("coherent_sin2w", {}).items():  # computed by cevns from the COHERENT data releases
        st = dataset_style("coherent-csi" if "csi" in key else "coherent-lar")
        lo, hi = c["1sigma"][0]
        ax.errorbar(c["Q_MeV"] * 1e-3, c["best"], yerr=[[c["best"] - lo], [hi - c["best"]]], fmt=st["marker"],
                    color=st["color"], ms=4, lw=1.0, label=f"{c['label']} (this package)", zorder=5)
    ax.set_xlabel(r"$Q$ [GeV]")
    ax.set_ylabel(r"$\sin^2\hat\theta_W(Q)$")
    ax.set_xlim(5e-5, 300)
    ax.set_ylim(0.17, 0.37)
    legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, columnspacing=1.0, handlelength=1.5)
    _save(fig, outdir, "fig3_running")


def _mediator_figure(run: Dict[str, Any], outdir: Path) -> None:
    """Fig. 7: 90% C.L. exclusions of a light scalar and a B-L vector in (M_X, g_X)."""
    excl = run["exclusions"]
    fig, axes = new_figure("double", 2.7, 1, 2, sharey=True)
    for ax, m, title in zip(axes, ("scalar", "vector-bl"), ("light scalar", r"B$-$L vector")):
        for ch in ("cevns", "cevns+eves"):
            r = excl[m][ch]
            st = channel_style(ch)
            ax.loglog(r.mass_MeV, r.g, label=channel_label(ch), **st)
            ax.fill_between(r.mass_MeV, r.g, 1, color=st["color"], alpha=0.1, lw=0)
        ax.text(0.04, 0.95, f"{title}\n90% C.L., excluded above the curves", transform=ax.transAxes,
                va="top", ha="left", fontsize=7)
        ax.set_xlabel(label("mass_MeV").axis)
        ax.set_xlim(r.mass_MeV[0], r.mass_MeV[-1])
    axes[0].set_ylabel(label("g").symbol + " (universal couplings)")
    axes[0].set_ylim(1e-7, 1e-1)
    legend(axes[0], loc="lower right")
    _save(fig, outdir, "fig7_mediators")


def _contour_figure(run: Dict[str, Any], outdir: Path) -> None:
    """fig8 (beyond the paper): joint 90% C.L. regions, third parameter of the family marginalised."""
    fig, axes = new_figure("double", 3.0, 1, 2)
    col = channel_style("cevns+eves")["color"]
    for i, (ax, byd) in enumerate(zip(axes, run["contours"].values())):
        for (dof, c), ls in zip(sorted(byd.items(), reverse=True), ("-", "--")):
            c.plot(ax, color=col, ls=ls, label=f"90% C.L., {dof} dof ($\\Delta\\chi^2 = {c.level:.2f}$)")
        c2 = byd[2]
        ext = c2.extent()
        scales = [label(p).scale for p in c2.params]
        for setlim, p, sc in zip((ax.set_xlim, ax.set_ylim), c2.params, scales):
            lo, hi = ext[p]
            setlim((lo - 0.3 * (hi - lo)) / sc, (hi + 0.45 * (hi - lo)) / sc)
        ax.axhline(0, **GUIDE)
        ax.axvline(0, **GUIDE)
        marg = ", ".join(label(p).symbol for p in c2.marginalised)
        ax.text(0.03, 0.97, f"{channel_label(c2.channels)}\n{marg} marginalised", transform=ax.transAxes,
                va="top", ha="left", fontsize=7)
        if i == 0:
            legend(ax, loc="upper right")
    _save(fig, outdir, "fig8_contours")


def comparison_figure(results: Dict[str, Any], outdir: Path) -> None:
    """fig9: our 90% C.L. limits beside the paper's CONUS+ values and the other experiments of its Tables 1-3."""
    with _paper_style():
        _comparison(results, Path(outdir))


def _comparison(results: Dict[str, Any], outdir: Path) -> None:
    from matplotlib.patches import Patch
    from matplotlib.ticker import MultipleLocator

    from .published import other_experiments, paper_results

    paper, others = paper_results(), other_experiments()
    ours_col = channel_style("cevns+eves")["color"]
    fig, axes = new_figure(TWO_COLUMN, 2.9, 1, 3, width_ratios=(1.0, 1.3, 1.0))
    for ax, q, xscale in zip(axes, ("mu_nu", "q_ee", "r2_ee"), ("log", "symlog", "linear")):
        lab = label(q)
        sc = lab.scale
        rows = [("CONUS+ (this package)", results[q]["cevns+eves"], ours_col),
                ("CONUS+ (reference paper)", paper[q]["cevns+eves"], ours_col)]
        rows += [(o["experiment"], o["hi"] if o["lo"] is None else [o["lo"], o["hi"]], "0.55")
                 for o in others if o["quantity"] == q]
        for y, (name, v, col) in enumerate(rows):
            ivs = v if isinstance(v, list) and isinstance(v[0], list) else [v]
            for iv in ivs:
                lo, hi = (iv[0], iv[1]) if isinstance(iv, list) else ((0.0 if q == "mu_nu" else -iv), iv)
                if q == "mu_nu":
                    ax.barh(y, hi / sc, height=0.6, color="white" if y == 1 else col, edgecolor=col, lw=0.8,
                            hatch="/////" if y == 1 else None)
                else:
                    ax.barh(y, (hi - lo) / sc, left=lo / sc, height=0.6 if y < 2 else 0.4,
                            color="white" if y == 1 else col, edgecolor=col, lw=0.8, hatch="/////" if y == 1 else None)
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.tick_params(axis="y", which="both", length=0, labelsize=6.5)
        ax.tick_params(axis="y", right=False)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xscale(xscale, **({"linthresh": 1.0} if xscale == "symlog" else {}))
        if xscale == "symlog":
            ticks = [-100, -1, 0, 1, 100]
            ax.set_xticks(ticks, [f"${t}$" for t in ticks], fontsize=6.5)
            ax.set_xticks([-10, 10], minor=True)
        elif xscale == "linear":
            ax.xaxis.set_major_locator(MultipleLocator(50))
        ax.set_xlabel(f"{lab.abs_axis() if q == 'mu_nu' else lab.axis}")
        if q != "mu_nu":
            ax.axvline(0, color="0.6", lw=0.5)
    handles = [Patch(facecolor=ours_col, edgecolor=ours_col, label="this package (digitised data)"),
               Patch(facecolor="white", edgecolor=ours_col, hatch="/////", label="reference paper"),
               Patch(facecolor="0.55", edgecolor="0.55", label="other experiments (paper's Tables 1-3)")]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=6.5,
               title=r"90% C.L.: upper limit on $|\mu_{\nu}|$, allowed intervals of the others", title_fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.86))
    _save(fig, outdir, "fig9_comparison")


_DRAW = {
    "fig1_spectrum": _fig1,
    "fig2_sin2w": _fig2,
    "fig3_running": lambda run, outdir, extra: _running_figure(run, outdir, extra),
    "fig4_magnetic_moment": _fig4,
    "fig5_millicharge": lambda run, outdir, extra: _pair_figure(run, outdir, "fig5_millicharge"),
    "fig6_charge_radius": lambda run, outdir, extra: _pair_figure(run, outdir, "fig6_charge_radius"),
    "fig7_mediators": lambda run, outdir, extra: _mediator_figure(run, outdir),
    "fig8_contours": lambda run, outdir, extra: _contour_figure(run, outdir),
    "fig9_comparison": lambda run, outdir, extra: _comparison(run["results"], outdir),
}

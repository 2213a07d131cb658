"""Figures of the paper study (Figs. 1-7 and two more), registered once each (:mod:`cevns.figure_registry`) and
drawn from the study's results.json alone: its ``figure_data`` section holds what the results do not (spectra,
profiles, contour grids), written by :func:`figure_data`.  ``cevns figures RESULTS.json`` redraws them.

Every figure is a :class:`matplotlib.figure.Figure` drawn and saved inside :func:`cevns.style.figure_style`:
no backend is selected and no global rcParams are changed.  Symbols and units come from
:mod:`cevns.labels`, colours and line styles from :mod:`cevns.style`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import numpy as np

from . import models as M
from .figure_registry import figure
from .labels import channel_label, label, level_label, model_label
from .results import ContourResult, exclusion_curves
from .style import (
    GUIDE,
    OKABE_ITO,
    TWO_COLUMN,
    bar_axis,
    channel_style,
    dataset_style,
    figure_style,
    legend,
    level_line,
    new_figure,
)
from .style import save as _save_files

#: the channels of the profile figures, drawn in this order (the dashed CEvNS-only curve on top)
PROFILE_CHANNELS = ("cevns+eves", "cevns")
#: the models drawn over the SM in Fig. 1, with their line colour and style
SPECTRUM_MODELS = ((M.MagneticMoment(mu_nu=1e-10), "vermillion", "-"), (M.Millicharge(q_ee=3e-12), "green", "--"),
                   (M.ChargeRadius(r2_ee=2e-31), "purple", "-."), (M.VectorBL(g=3e-5, mass_MeV=10.0), "orange", ":"))
#: the profile panels: parameter -> (channels, frame in display units or None for the cevns+eves fit's scan, log x)
PROFILE_PANELS: Dict[str, Tuple[Tuple[str, ...], Any, bool]] = {
    "mu_nu": (PROFILE_CHANNELS, (1.0, 200.0), True),
    "q_ee": (("cevns+eves",), None, False), "q_emu": (("cevns+eves",), None, False),
    "r2_ee": (PROFILE_CHANNELS, None, False), "r2_emu": (PROFILE_CHANNELS, None, False)}


def experiment_label(exp) -> str:
    """How the figures name the experiment a paper study fitted: CONUS+, or the file's title."""
    return "CONUS+" if exp.name == "conus-plus" else (getattr(exp, "title", "") or exp.name)


def _save(fig, outdir: Path, name: str) -> None:
    _save_files(fig, Path(outdir) / name)


# --- the figure data: what the figures need beyond the results -------------------------------------------------
def spectrum_data(exp) -> Dict[str, Any]:
    """Fig. 1's numbers: bin edges [eV_ee], the data with their errors, the SM and the illustrative BSM totals."""
    return {"edges_eVee": [float(x) for x in exp.edges_eVee], "counts": [float(x) for x in exp.data.counts],
            "sigma": [float(x) for x in exp.data.sigma], "sm": [float(x) for x in exp.predict().total],
            "sm_label": r"SM, " + label("sin2w").value(M.SIN2W.default),
            "data_label": "CONUS+ excess (digitised)" if exp.name == "conus-plus" else f"{experiment_label(exp)} data",
            "models": [{"label": model_label(m), "colour": c, "ls": ls, "total": [float(x) for x in exp.predict(m).total]}
                       for m, c, ls in SPECTRUM_MODELS]}


def _profile(exp, fr, lo: float, hi: float, log: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """The Delta chi^2 profile of ``fr`` over the whole frame [lo, hi]: the stored profile if it spans the frame, else
    the same fit redone on a grid that does."""
    if fr.grid[0] <= lo and fr.grid[-1] >= hi:
        return fr.grid, fr.dchi2
    a, b = min(lo, fr.grid[0]), max(hi, fr.grid[-1])
    grid = np.geomspace(max(a, 1e-3 * hi), b, 401) if log else np.linspace(a, b, 401)
    wide = exp.fit(fr.param, fr.channels, levels=list(fr.intervals), grid=grid)
    return wide.grid, wide.dchi2


def _drawn_range(x: np.ndarray, dchi2: np.ndarray, top: float = 8.0) -> Tuple[float, float]:
    """The part of a scan where the profile is below the figures' top (Delta chi^2 = 8), widened by a fifth on each
    side (within the scan): the frame of a profile panel, no half of it empty."""
    inside = np.flatnonzero(np.asarray(dchi2) <= top)
    if inside.size == 0:
        return float(x[0]), float(x[-1])
    a, b = float(x[inside[0]]), float(x[inside[-1]])
    pad = 0.2 * (b - a)
    return max(float(x[0]), a - pad), min(float(x[-1]), b + pad)


def profile_data(exp, fits: Dict[str, Dict[str, Any]]) -> Dict[str, Dict[str, Dict[str, List[float]]]]:
    """The Delta chi^2 profiles the figures draw ({param: {channels: {x, dchi2}}}), each over its panel's frame."""
    out: Dict[str, Dict[str, Dict[str, List[float]]]] = {
        "sin2w": {ch: {"x": [float(x) for x in fits["sin2w"][ch].grid], "dchi2": [float(x) for x in fits["sin2w"][ch].dchi2]}
                  for ch in PROFILE_CHANNELS}}
    for p, (chans, frame, log) in PROFILE_PANELS.items():
        sc = label(p).scale
        ref = fits[p]["cevns+eves"]
        lo, hi = (frame[0] * sc, frame[1] * sc) if frame else _drawn_range(ref.grid, ref.dchi2)
        out[p] = {}
        for ch in chans:
            g, d = _profile(exp, fits[p][ch], lo, hi, log)
            out[p][ch] = {"x": [float(x) for x in g], "dchi2": [float(x) for x in d], "frame": [float(lo), float(hi)]}
    return out


def figure_data(run: Dict[str, Any], extra_determinations: Sequence[Dict[str, Any]] = ()) -> Dict[str, Any]:
    """The ``figure_data`` section of the paper study's results.json, from a :func:`cevns.reproduce.run_all` run."""
    exp = run["experiment"]
    return {"spectrum": spectrum_data(exp), "profiles": profile_data(exp, run["fits"]),
            "experiment_label": experiment_label(exp),
            "q_mean_MeV": float(exp.engine.mean_momentum_transfer(M.StandardModel())),
            "sin2w_points": [dict(d) for d in extra_determinations],
            "contours": {k: {str(d): c.to_dict(grid=True) for d, c in v.items()} for k, v in run["contours"].items()}}


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """The cevns style, with linear-axis tick labels as plain text: the same STIX digits as the mathtext
    ``\\mathdefault{...}`` labels, without a mathtext parse each.  Safe here because no axis of these figures needs
    an offset or a scientific multiplier (which plain text would write as "1e-5"; tests/test_figures.py checks)."""
    import matplotlib

    with figure_style(), matplotlib.rc_context({"axes.formatter.use_mathtext": False}):
        yield


def _spectrum(exp, ax) -> None:
    _draw_spectrum(spectrum_data(exp), ax)


def _draw_spectrum(d: Dict[str, Any], ax) -> None:
    e = np.asarray(d["edges_eVee"])
    c = 0.5 * (e[1:] + e[:-1])
    widths = np.diff(e)
    ds = dataset_style("conus-plus")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.stairs(d["sm"], e, lw=1.6, color=OKABE_ITO["blue"], label=d["sm_label"])
    for m in d["models"]:
        ls = (0, (1, 1)) if m["ls"] == ":" else m["ls"]
        ax.stairs(m["total"], e, lw=1.0, color=OKABE_ITO[m["colour"]], ls=ls, label=m["label"])
    ax.errorbar(c, d["counts"], yerr=d["sigma"], xerr=widths / 2, fmt=ds["marker"], color=ds["color"],
                ms=2.5, lw=0.8, label=d.get("data_label", "CONUS+ excess (digitised)"), zorder=5)
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


def _coincide(curves: Dict[str, Any], top: float = 8.0, tol: float = 0.05) -> bool:
    """True if the CEvNS and CEvNS + EvES profiles of ``curves`` ({channels: {x, dchi2}}) differ by less than ``tol``
    in Delta chi^2 (a fraction of a line width at the figures' scale) wherever either is below ``top``."""
    if not all(c in curves for c in PROFILE_CHANNELS):
        return False
    (xa, ya), (xb, yb) = ((np.asarray(curves[c]["x"], float), np.asarray(curves[c]["dchi2"], float))
                          for c in PROFILE_CHANNELS)
    inside = (ya <= top) & (xa >= xb[0]) & (xa <= xb[-1])
    return bool(inside.any()) and float(np.max(np.abs(ya[inside] - np.interp(xa[inside], xb, yb)))) < tol


def _profile_labels(curves: Dict[str, Any]) -> Dict[str, str]:
    """Legend text per channel; a CEvNS-only curve that lies on the CEvNS + EvES one says so (it hides it)."""
    out = {c: channel_label(c) for c in curves}
    if _coincide(curves):
        out["cevns"] = channel_label("cevns") + " (coincides with " + channel_label("cevns+eves") + ")"
    return out


def _profile_panel(ax, profiles: Dict[str, Any], param: str, log: bool = False) -> None:
    lab = label(param)
    names = _profile_labels(profiles[param])
    for ch in [c for c in PROFILE_CHANNELS if c in profiles[param]]:  # the dashed CEvNS-only curve on top
        prof = profiles[param][ch]
        ax.plot(np.asarray(prof["x"]) / lab.scale, prof["dchi2"], label=names[ch], **channel_style(ch))
    frame = next(iter(profiles[param].values()))["frame"]
    if log:
        ax.set_xscale("log")
    ax.set_xlim(frame[0] / lab.scale, frame[1] / lab.scale)
    ax.set_ylim(0, 8)
    level_line(ax, 2.71, "90% C.L.")
    ax.set_ylabel(r"$\Delta\chi^2$")


@figure("fig1_spectrum", "paper", ("figure_data/spectrum",),
        "CONUS+ excess (digitised) with the SM and four BSM predictions, CEvNS + EvES")
def _fig1(results: Dict[str, Any], outdir: Path) -> None:
    """Fig. 1 -- spectrum."""
    fig, ax = new_figure("single", 2.7)
    d = results["figure_data"]["spectrum"]
    _draw_spectrum(d, ax)
    reach = max(np.max(np.add(d["counts"], d["sigma"])), np.max(d["sm"]))  # every data point and the SM inside
    ax.set_ylim(top=max(215.0, 1.08 * float(reach)))
    legend(ax, loc="upper right")
    _save(fig, outdir, "fig1_spectrum")


@figure("fig2_sin2w", "paper", ("figure_data/profiles/sin2w",), "Delta chi^2 profile of sin^2 theta_W")
def _fig2(results: Dict[str, Any], outdir: Path) -> None:
    """Fig. 2 -- sin^2 theta_W profile."""
    prof = results["figure_data"]["profiles"]["sin2w"]
    fig, ax = new_figure("single")
    names = _profile_labels(prof)
    for ch in PROFILE_CHANNELS:
        ax.plot(prof[ch]["x"], prof[ch]["dchi2"], label=names[ch], **channel_style(ch))
    for lv, k in ((1.0, "1sigma"), (2.71, "90%")):
        level_line(ax, lv, level_label(k) + " C.L." * (k == "90%"))
    ax.axvline(M.SIN2W.default, color="k", lw=0.7, ls="-.", label=r"SM, $Q\to0$")
    ax.set_xlim(0.1, 0.45)
    ax.set_ylim(0, 8)
    ax.set_xlabel(label("sin2w").axis)
    ax.set_ylabel(r"$\Delta\chi^2$")
    legend(ax, loc="upper right")
    _save(fig, outdir, "fig2_sin2w")


@figure("fig3_running", "paper", ("sin2w", "coherent_sin2w", "figure_data/q_mean_MeV", "figure_data/sin2w_points"),
        "the running of sin^2 theta_W with the determinations, CONUS+ and COHERENT")
def _running_figure(results: Dict[str, Any], outdir: Path) -> None:
    """Fig. 3: the running of sin^2 theta_W with the determinations and the CONUS+ point."""
    from .published import paper_results
    from .running import Sin2wRunning, load_determinations

    fd, s = results["figure_data"], results["sin2w"]
    ours = fd.get("experiment_label", "CONUS+")  # the experiment this study fitted
    fig, ax = new_figure("single", 3.55)
    mu = np.geomspace(1e-4, 91.1876, 300)
    ax.semilogx(mu, Sin2wRunning()(mu), color="0.35", lw=1.0, label=r"one-loop $\overline{\rm MS}$ running")
    points = [(d, "s") for d in load_determinations()] + [(d, "D") for d in fd["sin2w_points"]]
    # orange and sky are the COHERENT data sets' colours (style.DATASET_STYLE): not used for other points
    colours = [OKABE_ITO[k] for k in ("blue", "vermillion", "green", "purple")] + ["0.45", "#8c564b"]
    drawn_at = _spread([float(d["Q_GeV"]) for d, _ in points])  # points closer than 20% in Q drawn side by side
    for i, ((d, marker), q) in enumerate(zip(points, drawn_at)):
        open_ = d["scheme"] != "MSbar"
        note = {"on-shell": " (on-shell)", "effective": " (effective)"}.get(d["scheme"], "")
        ax.errorbar(q, d["value"], yerr=[[d["err_minus"]], [d["err_plus"]]], fmt=marker,
                    color=colours[i % len(colours)], mfc="white" if open_ else None, ms=3.5, lw=0.9,
                    label=d["label"] + note + ("$^*$" if q != d["Q_GeV"] else ""), zorder=4 - i % 2)
    lo, hi = s["1sigma"][0]
    ds = dataset_style("conus-plus")
    q_conus = fd["q_mean_MeV"] * 1e-3  # rate-weighted mean q [GeV]
    ax.errorbar(q_conus, s["best"], yerr=[[s["best"] - lo], [hi - s["best"]]], fmt=ds["marker"], color=ds["color"],
                ms=4, lw=1.0, zorder=5, label=f"{ours} (this package" + (", digitised data)" if ours == "CONUS+" else ")"))
    pp = paper_results()["sin2w"]
    ax.errorbar(q_conus * 1.25, pp["best"], yerr=[[pp["minus"]], [pp["plus"]]], fmt=ds["marker"], mfc="white",
                color=ds["color"], ms=4, lw=1.0, label="CONUS+ (reference paper; drawn at 1.25 Q)", zorder=5)
    for key, c in results["coherent_sin2w"].items():  # computed by cevns from the COHERENT data releases
        st = dataset_style("coherent-csi" if "csi" in key else "coherent-lar")
        lo, hi = c["1sigma"][0]
        ax.errorbar(c["Q_MeV"] * 1e-3, c["best"], yerr=[[c["best"] - lo], [hi - c["best"]]], fmt=st["marker"],
                    color=st["color"], ms=4, lw=1.0, label=f"{c['label']} (this package)", zorder=5)
    ax.text(0.02, 0.02, "open squares: another scheme than the MS-bar of the curve\n"
            "$^*$: drawn at 1.2 Q, beside a point at the same Q", transform=ax.transAxes, fontsize=6, color="0.35",
            va="bottom", ha="left")
    ax.set_xlabel(r"$Q$ [GeV]")
    ax.set_ylabel(r"$\sin^2\hat\theta_W(Q)$")
    ax.set_xlim(5e-5, 300)
    ax.set_ylim(0.14, 0.37)  # room below the lowest error bar (0.188) for the notes
    legend(ax, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, columnspacing=1.0, handlelength=1.5)
    _save(fig, outdir, "fig3_running")


@figure("fig4_magnetic_moment", "paper", ("figure_data/profiles/mu_nu",), "Delta chi^2 profile of mu_nu")
def _fig4(results: Dict[str, Any], outdir: Path) -> None:
    """Fig. 4 -- magnetic moment."""
    fig, ax = new_figure("single")
    _profile_panel(ax, results["figure_data"]["profiles"], "mu_nu", log=True)
    ax.set_xlabel(label("mu_nu").axis)
    legend(ax, loc="upper left")
    _save(fig, outdir, "fig4_magnetic_moment")


def _spread(qs: List[float], gap: float = 1.2) -> List[float]:
    """Momentum scales to draw points at: a point within a factor ``gap`` of an earlier one is moved up by that factor
    (repeatedly), so that no two markers and error bars sit on top of each other."""
    out: List[float] = []
    for q in qs:
        x = q
        while any(abs(np.log(x / y)) < np.log(gap) * 0.999 for y in out):
            x *= gap
        out.append(x)
    return out


def _sci(x: float) -> str:
    """``x`` as mathtext, 3 significant digits: -6.34e-09 -> $-6.34\\times10^{-9}$."""
    if x == 0:
        return "$0$"
    e = int(np.floor(np.log10(abs(x))))
    return f"${x / 10.0 ** e:.3g}\\times10^{{{e}}}$"


def _off_scale(results: Dict[str, Any], p: str, profiles: Dict[str, Any]) -> str:
    """A legend title for a panel whose CEvNS-only profile is not drawn (off its scale): that 90% C.L. limit."""
    if "cevns" in profiles[p] or "cevns" not in results.get(p, {}):
        return ""
    v = results[p]["cevns"]
    unit = label(p).base_unit_math and f" ${label(p).base_unit_math}$"
    text = (" U ".join(f"[{_sci(a)}, {_sci(b)}]" for a, b in v) if isinstance(v, list) else f"< {_sci(v)}")
    return f"{channel_label('cevns')} alone, 90% C.L.:\n{text}{unit} (off this scale)"


def _pair_figure(results: Dict[str, Any], outdir: Path, name: str, pars: Tuple[str, str, str],
                 locs: Tuple[str, str]) -> None:
    """Figs. 5, 6 -- millicharges and charge radii: the diagonal and the transition parameters."""
    fig, axes = new_figure("double", 2.5, 1, 2)
    profiles = results["figure_data"]["profiles"]
    for i, (ax, p) in enumerate(zip(axes, pars[:2])):
        _profile_panel(ax, profiles, p)
        ax.set_xlabel(label(p).axis if i == 0 else label(p).abs_axis(label(pars[2])))
        legend(ax, loc=locs[i], title=_off_scale(results, p, profiles) or None, title_fontsize=6)
    _save(fig, outdir, name)


@figure("fig5_millicharge", "paper", ("figure_data/profiles/q_ee", "figure_data/profiles/q_emu", "q_ee", "q_emu"),
        "Delta chi^2 profiles of q_ee and |q_emu| = |q_etau|")
def _fig5(results: Dict[str, Any], outdir: Path) -> None:
    _pair_figure(results, outdir, "fig5_millicharge", ("q_ee", "q_emu", "q_etau"), ("upper center", "upper left"))


@figure("fig6_charge_radius", "paper", ("figure_data/profiles/r2_ee", "figure_data/profiles/r2_emu"),
        "Delta chi^2 profiles of <r^2_ee> and |<r^2_emu>| = |<r^2_etau>|")
def _fig6(results: Dict[str, Any], outdir: Path) -> None:
    _pair_figure(results, outdir, "fig6_charge_radius", ("r2_ee", "r2_emu", "r2_etau"), ("upper center", "upper left"))


def _coincide_above(mass: np.ndarray, a: np.ndarray, b: np.ndarray, rel: float = 0.01) -> float:
    """The lowest mass above which the exclusion curves ``a`` and ``b`` differ by less than ``rel`` (relative) at every
    mass (inf: they differ at the last mass)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        close = np.abs(a - b) <= rel * np.minimum(a, b)
    k = close.size
    while k > 0 and close[k - 1]:
        k -= 1
    return float(mass[k]) if k < close.size else float("inf")


@figure("fig7_mediators", "paper", ("scalar", "vector_bl"), "90% C.L. exclusions of a light scalar and a B-L vector")
def _mediator_figure(results: Dict[str, Any], outdir: Path) -> None:
    """Fig. 7: 90% C.L. exclusions of a light scalar and a B-L vector in (M_X, g_X)."""
    from matplotlib.patches import Patch

    fig, axes = new_figure("double", 2.7, 1, 2, sharey=True)
    handles: List[Tuple[Any, str]] = []
    for ax, m, title in zip(axes, ("scalar", "vector_bl"), ("light scalar", r"B$-$L vector")):
        curves, sm_out = {}, 0
        for ch in ("cevns", "cevns+eves"):
            r = results[m][ch]
            mass = np.asarray(r["mass_MeV"], dtype=float)
            # a gap where nothing is excluded; where even g = 0 is, the allowed island's top (and its bottom, dotted)
            g, low, _ = exclusion_curves(mass, r["g"], r.get("islands", []))
            curves[ch], st = g, channel_style(ch)
            (line,) = ax.loglog(mass, g, **st)
            ax.fill_between(mass, g, 1, where=np.isfinite(g), color=st["color"], alpha=0.1, lw=0)
            if np.any(np.isfinite(low)):
                sm_out = max(sm_out, int(np.count_nonzero(np.isfinite(low))))
                ax.loglog(mass, low, color=st["color"], ls=":", lw=0.8)
                ax.fill_between(mass, 1e-12, low, where=np.isfinite(low), color=st["color"], alpha=0.1, lw=0)
            if len(handles) < 2:
                handles.append(((Patch(color=st["color"], alpha=0.25, lw=0), line),
                                f"{channel_label(ch)}: excluded above (shaded)"))
        above = _coincide_above(mass, curves["cevns"], curves["cevns+eves"])
        same = (f"\nthe two curves coincide above {above:.2g} MeV" if above < mass[-1] else "")
        sm = (f"\ng = 0 (SM) excluded at {sm_out} of {mass.size} masses:\nallowed only above the dotted curve"
              if sm_out else "")
        ax.text(0.04, 0.95, f"{title}\n90% C.L., excluded above the curves{same}{sm}", transform=ax.transAxes,
                va="top", ha="left", fontsize=7)
        ax.set_xlabel(label("mass_MeV").axis)
        ax.set_xlim(mass[0], mass[-1])
    axes[0].set_ylabel(label("g").symbol + " (universal couplings)")
    axes[0].set_ylim(1e-7, 1e-1)
    axes[0].legend([h for h, _ in handles], [t for _, t in handles], loc="lower right", handlelength=2.6)
    _save(fig, outdir, "fig7_mediators")


@figure("fig8_contours", "paper", ("figure_data/contours",),
        "joint 90% C.L. regions (beyond the paper), third parameter of the family marginalised")
def _contour_figure(results: Dict[str, Any], outdir: Path) -> None:
    """fig8 (beyond the paper): joint 90% C.L. regions, third parameter of the family marginalised."""
    fig, axes = new_figure("double", 3.0, 1, 2)
    col = channel_style("cevns+eves")["color"]
    for i, (ax, byd) in enumerate(zip(axes, results["figure_data"]["contours"].values())):
        objs = {int(d): ContourResult.from_dict(c) for d, c in byd.items()}
        for (dof, c), ls in zip(sorted(objs.items(), reverse=True), ("-", "--")):
            c.plot(ax, color=col, ls=ls, label=f"90% C.L., {dof} dof ($\\Delta\\chi^2 = {c.level:.2f}$)")
        c2 = objs[2]
        ext = c2.extent()
        scales = [label(p).scale for p in c2.params]
        for setlim, p, sc in zip((ax.set_xlim, ax.set_ylim), c2.params, scales):
            span = ext[p]
            if span is not None:  # an empty region keeps the grid's frame
                lo, hi = span
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
    with paper_style():
        _comparison(results, Path(outdir))


@figure("fig9_comparison", "paper", ("mu_nu", "q_ee", "r2_ee"),
        "our 90% C.L. limits beside the paper's CONUS+ values and the other experiments of its Tables 1-3")
def _comparison(results: Dict[str, Any], outdir: Path) -> None:
    from matplotlib.patches import Patch

    from .published import other_experiments, paper_results

    paper, others = paper_results(), other_experiments()
    ours_col = channel_style("cevns+eves")["color"]
    ours = results.get("figure_data", {}).get("experiment_label", "CONUS+")  # the experiment this study fitted
    fig, axes = new_figure(TWO_COLUMN, 2.9, 1, 3, width_ratios=(1.0, 1.3, 1.0))
    symlog_note = ""
    for ax, q, xscale in zip(axes, ("mu_nu", "q_ee", "r2_ee"), ("log", "symlog", "linear")):
        lab = label(q)
        sc = lab.scale
        rows = [(f"{ours} (this package)", results[q]["cevns+eves"], ours_col),
                ("CONUS+ (reference paper)", paper[q]["cevns+eves"], ours_col)]
        rows += [(o["experiment"], o["hi"] if o["lo"] is None else [o["lo"], o["hi"]], "0.55")
                 for o in others if o["quantity"] == q]
        ends = []
        for y, (name, v, col) in enumerate(rows):
            ivs = v if isinstance(v, list) and isinstance(v[0], list) else [v]
            for iv in ivs:
                lo, hi = (iv[0], iv[1]) if isinstance(iv, list) else ((0.0 if q == "mu_nu" else -iv), iv)
                ends += [lo / sc, hi / sc]
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
        xlabel = lab.abs_axis() if q == "mu_nu" else lab.axis
        symlog_note = bar_axis(ax, xscale, ends, lab.symbol, 6.5, major=50) or symlog_note
        ax.set_xlabel(xlabel)
        if q != "mu_nu":
            ax.axvline(0, color="0.6", lw=0.5)
    handles = [Patch(facecolor=ours_col, edgecolor=ours_col,
                     label="this package" + (" (digitised data)" if ours == "CONUS+" else "")),
               Patch(facecolor="white", edgecolor=ours_col, hatch="/////", label="reference paper"),
               Patch(facecolor="0.55", edgecolor="0.55", label="other experiments (paper's Tables 1-3)")]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=6.5,
               title=r"90% C.L.: upper limit on $|\mu_{\nu}|$, allowed intervals of the others" + symlog_note,
               title_fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.86))
    _save(fig, outdir, "fig9_comparison")

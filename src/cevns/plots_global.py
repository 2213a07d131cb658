"""Figures of the global study (``cevns reproduce global``), in the cevns style: one look per data set.  Each is
registered once (:mod:`cevns.figure_registry`) and drawn from the study's results.json alone (its
``figure_data`` holds the region grids); ``cevns figures RESULTS.json`` redraws them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from .figure_registry import figure
from .labels import label
from .results import ContourResult, exclusion_curves
from .style import TWO_COLUMN, bar_axis, dataset_style, legend, new_figure, save


def figure_data(run: Dict[str, Any]) -> Dict[str, Any]:
    """The ``figure_data`` section of the global study's results.json: the region grids, and the order of the panels
    (results.json is written with sorted keys)."""
    return {"regions": {name: {key: c.to_dict(grid=True) for key, c in per.items()} for name, per in run["regions"].items()},
            "order": {"regions": list(run["regions"]), "mediators": list(run["results"]["mediators"])},
            "islands": {m: {key: list(x.islands) for key, x in per.items()} for m, per in run["exclusions"].items()}}


def _style(run, key: str) -> Dict[str, Any]:
    styles = run.get("styles") or {"conus-plus": "conus-plus", "coherent-csi-2021": "coherent-csi",
                                   "coherent-lar-2020": "coherent-lar"}  # a results.json written before "styles"
    return dataset_style(styles.get(key, "combined"))


@figure("global_running", "global", ("sin2w", "datasets", "labels"),
        "sin^2 theta_W from each data set and combined on the one-loop running")
def _running(run: Dict[str, Any], outdir: Path) -> None:
    from .running import Sin2wRunning

    r = run
    fig, ax = new_figure("single", 2.9)
    mu = np.geomspace(1e-3, 91.1876, 300)
    ax.semilogx(mu, Sin2wRunning()(mu), color="0.35", lw=1.0, label=r"one-loop $\overline{\rm MS}$ running")
    qs = [v["Q_MeV"] for v in r["sin2w"].values() if v["Q_MeV"] is not None]
    for key in r["datasets"]:
        s = r["sin2w"][key]
        st = _style(run, key)
        q = (s["Q_MeV"] if s["Q_MeV"] is not None else float(np.exp(np.mean(np.log(qs))))) * 1e-3
        lo, hi = s["1sigma"][0]
        ax.errorbar(q, s["best"], yerr=[[s["best"] - lo], [hi - s["best"]]], fmt=st["marker"], color=st["color"],
                    ms=4.5 if key == "combined" else 3.5, lw=1.0, capsize=0, label=r["labels"][key], zorder=5)
    ax.set_xlabel(r"$Q$ [GeV]")
    ax.set_ylabel(r"$\sin^2\hat\theta_W(Q)$")
    ax.set_xlim(1e-3, 200)
    ax.set_ylim(0.15, 0.40)
    ax.text(0.98, 0.04, r"1$\sigma$; combined drawn at the mean $Q$", transform=ax.transAxes, ha="right",
            va="bottom", fontsize=6, color="0.35")
    legend(ax, loc="upper right", ncol=1, fontsize=6.5)
    save(fig, outdir / "global_running")


@figure("global_regions", "global", ("figure_data/regions", "datasets", "labels"),
        "90% C.L. regions (2 dof) of each data set and combined, a zoomed panel beside a panel whose regions are slivers")
def _regions(run: Dict[str, Any], outdir: Path) -> None:
    r = run
    grids = r["figure_data"]["regions"]
    objs = {name: {k: ContourResult.from_dict(c) for k, c in grids[name].items()}
            for name in r["figure_data"]["order"]["regions"]}
    rows = 2 if len(objs) > 3 else 1
    ncols = -(-len(objs) // rows)
    half = {name: (max(_reach(per[k], 0) for k in r["datasets"]), max(_reach(per[k], 1) for k in r["datasets"]))
            for name, per in objs.items()}
    zooms = {name: _zoom_frame(per, r["datasets"], half[name]) for name, per in objs.items()}
    zoom_cols = {i % ncols for i, name in enumerate(objs) if zooms[name][1] is not None}
    cols = [(c, z) for c in range(ncols) for z in ((False, True) if c in zoom_cols else (False,))]  # a zoom after
    fig, axes = new_figure(TWO_COLUMN, 2.9 * rows - 0.4 * (rows - 1), rows, len(cols), squeeze=False,
                           width_ratios=[0.5 if z else 1.0 for _, z in cols])
    for ax in axes.ravel():
        ax.set_visible(False)
    for i, (name, per) in enumerate(objs.items()):
        ax = axes[i // ncols, cols.index((i % ncols, False))]
        ax.set_visible(True)
        a, b = name.split("-")
        la, lb = label(a), label(b)
        xmax, ymax = half[name]
        sx, sy = _display_scale(xmax, la.scale), _display_scale(ymax, lb.scale)
        for key in r["datasets"]:
            c = per[key]
            st = _style(run, key)
            lw = 1.6 if key == "combined" else 1.0
            if np.any(c.dchi2 <= c.level) and np.any(c.dchi2 > c.level):
                ax.contour(c.x / sx, c.y / sy, c.dchi2.T, levels=[c.level], colors=[st["color"]],
                           linestyles=[st["ls"]], linewidths=lw)
            ax.plot([], [], color=st["color"], ls=st["ls"], lw=lw, label=r["labels"][key])
        ax.set_xlim(-xmax / sx, xmax / sx)
        ax.set_ylim(-ymax / sy, ymax / sy)
        group, frame = zooms[name]
        if frame is not None:
            zax = axes[i // ncols, cols.index((i % ncols, True))]
            zax.set_visible(True)
            _draw_zoom(zax, per, r["datasets"], (la, lb), frame, group, run)
        thin = _too_thin(per, [k for k in r["datasets"] if k not in group], a, xmax, sx, la, r["labels"])
        if thin:
            ax.text(0.03, 0.03, f"too narrow in {la.symbol} to see at this scale:\n" + "\n".join(thin),
                    transform=ax.transAxes, fontsize=6, color="0.3", va="bottom", ha="left")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_xlabel(la.axis_for(sx))
        ax.set_ylabel(lb.axis_for(sy))
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="upper center", ncol=len(labels_), frameon=False, fontsize=6.5,
               title=r"90% C.L. regions (2 dof), transition parameters at zero; a curve that ends on a frame: the "
               "region goes on beyond the scanned grid", title_fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - 0.14 / rows))
    save(fig, outdir / "global_regions")


def _reach(c: ContourResult, axis: int) -> float:
    """How far a panel must reach to show region ``c`` along ``axis`` (0: x, 1: y): its grid's where the region
    touches the grid's edges on that axis (it goes on: its curve must end on the frame), else the region's extent
    and a tenth (so a grid widened to close one region does not leave the open bands of others ending inside)."""
    grid = c.x if axis == 0 else c.y
    sides = ("left", "right") if axis == 0 else ("bottom", "top")
    ext = c.extent().get(c.params[axis])
    if ext is None or any(side in c.open_edges() for side in sides):
        return float(np.abs(grid).max())
    return min(1.1 * max(abs(ext[0]), abs(ext[1])), float(np.abs(grid).max()))


def _zoom_frame(per: Dict[str, Any], keys: Any, half: tuple) -> tuple:
    """The regions that are slivers in x at a panel's scale (narrower than 2% of its width) that a zoomed panel
    shows -- the narrowest and those within 5x of it -- and its frame (x0, x1, y0, y1): their x extents, and
    their y extents where the region ends inside its grid (else the panel's); ([], None) if none is a sliver."""
    names = list(per[keys[0]].params)
    ext = {k: per[k].extent() for k in keys}
    width = {k: e[names[0]][1] - e[names[0]][0] for k, e in ext.items() if e.get(names[0]) is not None}
    thin = {k: w for k, w in width.items() if w < 0.02 * 2.0 * half[0]}
    if not thin:
        return [], None
    group = [k for k, w in thin.items() if w <= 5.0 * min(thin.values())]
    xlo, xhi = min(ext[k][names[0]][0] for k in group), max(ext[k][names[0]][1] for k in group)
    ys = [ext[k][names[1]] for k in group if ext[k][names[1]] is not None
          and per[k].y[0] < ext[k][names[1]][0] and ext[k][names[1]][1] < per[k].y[-1]]  # bounded in y
    ylo, yhi = (min(y[0] for y in ys), max(y[1] for y in ys)) if ys else (-half[1], half[1])
    pad_x, pad_y = 0.5 * (xhi - xlo), (0.3 * (yhi - ylo) if ys else 0.0)
    return group, (xlo - pad_x, xhi + pad_x, ylo - pad_y, yhi + pad_y)


def _draw_zoom(ax, per: Dict[str, Any], keys: Any, labs: tuple, frame: tuple, group: list, run) -> None:
    """The zoomed panel beside a region panel: every data set's region inside ``frame``, in the parameters'
    declared units."""
    sx, sy = labs[0].scale, labs[1].scale
    for key in keys:
        c, st = per[key], _style(run, key)
        if np.any(c.dchi2 <= c.level) and np.any(c.dchi2 > c.level):
            ax.contour(c.x / sx, c.y / sy, c.dchi2.T, levels=[c.level], colors=[st["color"]], linestyles=[st["ls"]],
                       linewidths=1.6 if key == "combined" else 1.0)
    ax.set_xlim(frame[0] / sx, frame[1] / sx)
    ax.set_ylim(frame[2] / sy, frame[3] / sy)
    ax.axvline(0, color="0.7", lw=0.5)
    ax.set_xlabel(labs[0].axis_for(sx))
    ax.set_ylabel(labs[1].axis_for(sy))
    names = ", ".join(run["labels"][k] for k in group)
    ax.set_title(f"zoom onto {names}", fontsize=6.5, pad=3)


def _too_thin(per: Dict[str, Any], keys: Any, param: str, xmax: float, sx: float, lab: Any, names: Dict[str, str]) -> list:
    """The data sets whose region spans less than 2% of the panel's width in ``param``, with that extent written
    out (in the parameter's own display unit): a reader would otherwise take them for missing."""
    out = []
    for key in keys:
        ext = per[key].extent().get(param)
        if ext is not None and (ext[1] - ext[0]) < 0.02 * 2.0 * xmax:
            unit = lab.unit_math and f" [{lab.unit}]"
            out.append(f"{names[key]}: [{ext[0] / lab.scale:.3g}, {ext[1] / lab.scale:.3g}]{unit}")
    return out


def _display_scale(vmax: float, declared: float) -> float:
    """The declared display scale of a parameter, or a power of ten near ``vmax`` when the values would
    otherwise need more than three digits."""
    if vmax / declared < 2000:
        return declared
    return float(10.0 ** np.floor(np.log10(vmax)))


@figure("global_mediators", "global", ("mediators", "crossover", "datasets", "labels", "figure_data/order"),
        "B-L vector and scalar exclusions, each data set and combined; allowed islands where g = 0 is excluded drawn as bars")
def _mediators(run: Dict[str, Any], outdir: Path) -> None:
    r = run
    titles = {"vector-bl": r"B$-$L vector $Z\prime$", "scalar": r"scalar $\phi$"}  # \prime: "'" prints as an apostrophe
    fig, axes = new_figure(TWO_COLUMN, 2.7, 1, 2)
    notes: list = []
    for ax, m in zip(axes, r["figure_data"]["order"]["mediators"]):
        for key in r["datasets"]:
            v = r["mediators"][m][key]
            g, bars = _through_islands(v, r["figure_data"].get("islands", {}).get(m, {}).get(key, []))
            st = _style(run, key)
            ax.loglog(v["mass_MeV"], g, color=st["color"], ls=st["ls"], lw=2.2 if key == "combined" else 1.0,
                      label=r["labels"][key], zorder=1 if key == "combined" else 2)  # the combined curve beneath
            for x, (a, b) in bars:
                ax.plot([x, x], [a, b], color=st["color"], lw=2.5, solid_capstyle="butt", zorder=3)
            if bars:
                notes.append(f"{r['labels'][key]}, {titles.get(m, m)}, {_mass_span([x for x, _ in bars])}: g = 0 "
                             "(the SM) lies outside the 90% region at fixed mass: only the bar's couplings are allowed, "
                             "the curve runs through its top")
        for x in r["crossover"][m]["masses_MeV"]:
            ax.axvline(x, color="0.6", lw=0.5, ls=":")
        ax.set_xlabel(r"$M_X$ [MeV]")
        ax.set_ylabel(r"$g_X$ (universal), 90% C.L.")
        ax.text(0.03, 0.95, titles.get(m, m), transform=ax.transAxes, ha="left", va="top", fontsize=7)
        for x in r["crossover"][m]["masses_MeV"]:
            ax.text(x * 1.1, 0.04, f"{x:.0f} MeV", transform=ax.get_xaxis_transform(), fontsize=5.5, color="0.4")
        ax.text(0.03, 0.87, "excluded above each curve", transform=ax.transAxes, ha="left", va="top", fontsize=6,
                color="0.35")
    legend(axes[0], loc="lower right", fontsize=6)
    notes.insert(0, "dotted: the mass where the reactor limit and the best COHERENT limit cross (the reactor's is the "
                 "stronger below it, and the combined curve lies under it there)")
    fig.text(0.5, 0.0, "\n".join(notes), ha="center", va="bottom", fontsize=6, color="0.35")
    bottom = 0.03 + 0.035 * len(notes)
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))  # (left, bottom, width, height)
    save(fig, outdir / "global_mediators")


def _through_islands(v: Dict[str, Any], islands: list) -> tuple:
    """A data set's exclusion curve for drawing and its islands as bars [(mass, (g_lo, g_hi))]
    (:func:`cevns.results.exclusion_curves`: a gap where nothing is excluded, the island's top where g = 0 is)."""
    top, _, bars = exclusion_curves(v["mass_MeV"], v["g"], islands)
    return top, bars


def _mass_span(masses: list) -> str:
    return f"{min(masses):.3g} MeV" if len(masses) == 1 else f"{min(masses):.3g}-{max(masses):.3g} MeV"


@figure("global_comparison", "global", ("limits", "datasets", "labels", "choices"),
        "the limits of each data set and combined among the other experiments of the reference paper's tables")
def _comparison(run: Dict[str, Any], outdir: Path) -> None:
    """The combined limits (mu_nu_e, q_ee, r2_ee) among the other experiments of the reference paper's tables."""
    from matplotlib.patches import Patch

    from .published import other_experiments

    r = run
    others = other_experiments()
    fig, axes = new_figure(TWO_COLUMN, 2.9, 1, 3)
    symlog_note = ""
    panels = (("mu_nu_e", "mu_nu", "log"), ("q_ee", "q_ee", "symlog"), ("r2_ee", "r2_ee", "linear"))
    for ax, (p, table_q, xscale) in zip(axes, panels):
        lab = label(p)
        sc = lab.scale
        rows = [(r["labels"][k], r["limits"][p][k], _style(run, k)["color"]) for k in r["datasets"]
                if r["limits"][p][k] is not None]
        rows = [(n, v["90%"], c) for n, v, c in rows]
        rows += [(o["experiment"], [[0.0 if o["lo"] is None and p == "mu_nu_e" else (o["lo"] if o["lo"] is not None
                                                                                       else -o["hi"]), o["hi"]]], "0.6")
                 for o in others if o["quantity"] == table_q]
        ends = []
        for y, (name, ivs, col) in enumerate(rows):
            for lo, hi in ivs:
                lo = max(lo, 0.0) if p == "mu_nu_e" else lo
                ends += [lo / sc, hi / sc]
                ax.barh(y, (hi - lo) / sc, left=lo / sc, height=0.6, color=col, edgecolor=col, lw=0.8)
        ax.set_yticks(range(len(rows)), [n for n, _, _ in rows])
        ax.tick_params(axis="y", which="both", length=0, labelsize=6.5)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        xlabel = lab.abs_axis() if p == "mu_nu_e" else lab.axis
        symlog_note = bar_axis(ax, xscale, ends, lab.symbol, 6) or symlog_note
        ax.set_xlabel(xlabel)
        if p != "mu_nu_e":
            ax.axvline(0, color="0.6", lw=0.5)
    handles = [Patch(color=_style(run, k)["color"], label=r["labels"][k]) for k in r["datasets"]]
    handles.append(Patch(color="0.6", label="other experiments (reference paper's Tables 1-3)"))
    fig.legend(handles=handles, loc="upper center", ncol=5, frameon=False, fontsize=6.5,
               title="90% C.L., electron flavour (transition parameters "
               + ("at zero" if r["choices"]["transitions"] == "zero" else "marginalised") + ")" + symlog_note,
               title_fontsize=7)
    channels = r["choices"].get("channels", "")
    if "CEvNS only" in channels or "no electron channel" in channels:
        which = "COHERENT rows" if "CEvNS only" in channels else "COHERENT LAr row"
        fig.text(0.5, 0.005, f"The {which} of this package: CEvNS only (no electron-recoil channel in that "
                 "likelihood);\nthe reference paper's COHERENT CsI+LAr row includes EvES, which dominates its "
                 "millicharge and magnetic-moment limits.", ha="center", va="bottom", fontsize=6, color="0.35")
    fig.get_layout_engine().set(rect=(0, 0.12, 1, 0.74))  # (left, bottom, width, height): room for the caveat
    save(fig, outdir / "global_comparison")

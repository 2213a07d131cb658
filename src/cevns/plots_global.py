"""Figures of the global study (``cevns reproduce global``), in the cevns style: one look per data set.  Each is
registered once (:mod:`cevns.figure_registry`) and drawn from the study's results.json alone (its
``figure_data`` holds the region grids); ``cevns figures RESULTS.json`` redraws them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from .figure_registry import figure
from .labels import label
from .results import ContourResult
from .style import TWO_COLUMN, dataset_style, legend, new_figure, save


def figure_data(run: Dict[str, Any]) -> Dict[str, Any]:
    """The ``figure_data`` section of the global study's results.json: the region grids, and the order of the panels
    (results.json is written with sorted keys)."""
    return {"regions": {name: {key: c.to_dict(grid=True) for key, c in per.items()} for name, per in run["regions"].items()},
            "order": {"regions": list(run["regions"]), "mediators": list(run["results"]["mediators"])}}


def _style(run, key: str) -> Dict[str, Any]:
    return dataset_style({"conus-plus": "conus-plus", "coherent-csi-2021": "coherent-csi",
                          "coherent-lar-2020": "coherent-lar"}.get(key, "combined"))


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
        "90% C.L. regions (2 dof) of each data set and combined")
def _regions(run: Dict[str, Any], outdir: Path) -> None:
    r = run
    grids = r["figure_data"]["regions"]
    objs = {name: {k: ContourResult.from_dict(c) for k, c in grids[name].items()}
            for name in r["figure_data"]["order"]["regions"]}
    rows = 2 if len(objs) > 3 else 1
    fig, axes = new_figure(TWO_COLUMN, 2.9 * rows - 0.4 * (rows - 1), rows, -(-len(objs) // rows))
    for ax, (name, per) in zip(np.ravel(axes), objs.items()):
        a, b = name.split("-")
        la, lb = label(a), label(b)
        xmax = max(float(np.abs(per[k].x).max()) for k in r["datasets"])
        ymax = max(float(np.abs(per[k].y).max()) for k in r["datasets"])
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
        thin = _too_thin(per, r["datasets"], a, xmax, sx, la, r["labels"])
        if thin:
            ax.text(0.03, 0.03, f"too narrow in {la.symbol} to read at this scale:\n" + "\n".join(thin),
                    transform=ax.transAxes, fontsize=5.5, color="0.3", va="bottom", ha="left")
        ax.axhline(0, color="0.7", lw=0.5)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_xlabel(la.axis_for(sx))
        ax.set_ylabel(lb.axis_for(sy))
    handles, labels_ = np.ravel(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="upper center", ncol=len(labels_), frameon=False, fontsize=6.5,
               title=r"90% C.L. regions (2 dof), transition parameters at zero", title_fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - 0.14 / rows))
    save(fig, outdir / "global_regions")


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
        "B-L vector and scalar exclusions, each data set and combined")
def _mediators(run: Dict[str, Any], outdir: Path) -> None:
    r = run
    titles = {"vector-bl": r"B$-$L vector $Z'$", "scalar": r"scalar $\phi$"}
    fig, axes = new_figure(TWO_COLUMN, 2.7, 1, 2)
    for ax, m in zip(axes, r["figure_data"]["order"]["mediators"]):
        for key in r["datasets"]:
            v = r["mediators"][m][key]
            # None: nothing excluded up to the top of the scan; 0: the SM itself outside the region (islands)
            g = np.array([np.nan if (x is None or x == 0) else x for x in v["g"]], dtype=float)
            st = _style(run, key)
            ax.loglog(v["mass_MeV"], g, color=st["color"], ls=st["ls"], lw=2.2 if key == "combined" else 1.0,
                      label=r["labels"][key], zorder=1 if key == "combined" else 2)  # the combined curve beneath
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
    fig.text(0.5, 0.0, "dotted: the mass where the reactor limit and the best COHERENT limit cross (the reactor's is "
             "the stronger below it)", ha="center", va="bottom", fontsize=5.5, color="0.35")
    fig.get_layout_engine().set(rect=(0, 0.04, 1, 1))
    save(fig, outdir / "global_mediators")


@figure("global_comparison", "global", ("limits", "datasets", "labels", "choices"),
        "the limits of each data set and combined among the other experiments of the reference paper's tables")
def _comparison(run: Dict[str, Any], outdir: Path) -> None:
    """The combined limits (mu_nu_e, q_ee, r2_ee) among the other experiments of the reference paper's tables."""
    from matplotlib.patches import Patch

    from .published import other_experiments

    r = run
    others = other_experiments()
    fig, axes = new_figure(TWO_COLUMN, 2.9, 1, 3)
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
        for y, (name, ivs, col) in enumerate(rows):
            for lo, hi in ivs:
                lo = max(lo, 0.0) if p == "mu_nu_e" else lo
                ax.barh(y, (hi - lo) / sc, left=lo / sc, height=0.6, color=col, edgecolor=col, lw=0.8)
        ax.set_yticks(range(len(rows)), [n for n, _, _ in rows])
        ax.tick_params(axis="y", which="both", length=0, labelsize=6.5)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xscale(xscale, **({"linthresh": 1.0} if xscale == "symlog" else {}))
        if xscale == "symlog":  # every bar inside the frame, ticks at powers of 100 out to it
            reach = max(abs(v) / sc for _, ivs, _ in rows for iv in ivs for v in iv)
            step = 2 if reach < 1e4 else 3
            top = int(np.ceil(np.log10(max(reach, 1.0)) / step)) * step
            ax.set_xlim(-10.0 ** (top + 0.3), 10.0 ** (top + 0.3))
            ticks = [-(10.0 ** k) for k in range(top, 0, -step)] + [0.0] + [10.0 ** k for k in range(step, top + 1, step)]
            names = [("$-" if t < 0 else "$") + (f"10^{{{int(round(np.log10(abs(t))))}}}" if t else "0") + "$"
                     for t in ticks]
            ax.set_xticks(ticks, names, fontsize=6)
            ax.set_xticks([], minor=True)
        ax.set_xlabel(lab.abs_axis() if p == "mu_nu_e" else lab.axis)
        if p != "mu_nu_e":
            ax.axvline(0, color="0.6", lw=0.5)
    handles = [Patch(color=_style(run, k)["color"], label=r["labels"][k]) for k in r["datasets"]]
    handles.append(Patch(color="0.6", label="other experiments (reference paper's Tables 1-3)"))
    fig.legend(handles=handles, loc="upper center", ncol=5, frameon=False, fontsize=6.5,
               title="90% C.L., electron flavour (transition parameters "
               + ("at zero" if r["choices"]["transitions"] == "zero" else "marginalised") + ")", title_fontsize=7)
    if "CEvNS only" in r["choices"].get("channels", ""):
        fig.text(0.5, 0.005, "The COHERENT rows of this package are CEvNS only (no electron-recoil channel in these "
                 "likelihoods);\nthe reference paper's COHERENT CsI+LAr row includes EvES, which dominates its "
                 "millicharge and magnetic-moment limits.", ha="center", va="bottom", fontsize=5.5, color="0.35")
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.79))
    save(fig, outdir / "global_comparison")

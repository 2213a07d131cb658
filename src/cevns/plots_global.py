"""Figures of the global study (``cevns reproduce global``), in the cevns style: one look per data set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from .labels import label
from .style import TWO_COLUMN, dataset_style, figure_style, legend, new_figure, save


def draw_global(run: Dict[str, Any], outdir: Path) -> None:
    """Write global_running, global_regions, global_mediators and global_comparison (PNG and PDF)."""
    with figure_style():
        _running(run, outdir)
        _regions(run, outdir)
        _mediators(run, outdir)
        _comparison(run, outdir)


def _style(run, key: str) -> Dict[str, Any]:
    return dataset_style({"conus-plus": "conus-plus", "coherent-csi-2021": "coherent-csi",
                          "coherent-lar-2020": "coherent-lar"}.get(key, "combined"))


def _running(run: Dict[str, Any], outdir: Path) -> None:
    from .running import Sin2wRunning

    r = run["results"]
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


def _regions(run: Dict[str, Any], outdir: Path) -> None:
    r = run["results"]
    objs = run["regions"]
    fig, axes = new_figure(TWO_COLUMN, 2.9, 1, len(objs))
    for ax, (name, per) in zip(np.atleast_1d(axes), objs.items()):
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
        ax.axhline(0, color="0.7", lw=0.5)
        ax.axvline(0, color="0.7", lw=0.5)
        ax.set_xlabel(la.axis_for(sx))
        ax.set_ylabel(lb.axis_for(sy))
    handles, labels_ = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="upper center", ncol=len(labels_), frameon=False, fontsize=6.5,
               title=r"90% C.L. regions (2 dof), transition parameters at zero", title_fontsize=7)
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.86))
    save(fig, outdir / "global_regions")


def _display_scale(vmax: float, declared: float) -> float:
    """The declared display scale of a parameter, or a power of ten near ``vmax`` when the values would
    otherwise need more than three digits."""
    if vmax / declared < 2000:
        return declared
    return float(10.0 ** np.floor(np.log10(vmax)))


def _mediators(run: Dict[str, Any], outdir: Path) -> None:
    r = run["results"]
    titles = {"vector-bl": r"B$-$L vector $Z'$", "scalar": r"scalar $\phi$"}
    fig, axes = new_figure(TWO_COLUMN, 2.7, 1, 2)
    for ax, m in zip(axes, r["mediators"]):
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
    legend(axes[0], loc="lower right", fontsize=6)
    save(fig, outdir / "global_mediators")


def _comparison(run: Dict[str, Any], outdir: Path) -> None:
    """The combined limits (mu_nu_e, q_ee, r2_ee) among the other experiments of the reference paper's tables."""
    from matplotlib.patches import Patch

    from .published import other_experiments

    r = run["results"]
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
        if xscale == "symlog":
            ticks = [-1e4, -100, -1, 0, 1, 100, 1e4]
            names = [r"$-10^4$", r"$-10^2$", r"$-1$", r"$0$", r"$1$", r"$10^2$", r"$10^4$"]
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
    fig.get_layout_engine().set(rect=(0, 0, 1, 0.84))
    save(fig, outdir / "global_comparison")

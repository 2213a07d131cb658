"""The figure of the quenching study (``cevns reproduce quenching``), drawn from its results.json alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np

from .figure_registry import figure
from .style import GUIDE, GUIDE_TEXT, TWO_COLUMN, dataset_style, legend, new_figure, save

#: one look per germanium data set, as in the global study's figures
_LOOK = {"conus-plus": dataset_style("conus-plus"), "dresden-ii-2022": dataset_style("dresden-ii"),
         "combined": dataset_style("combined")}
SIN2W_SM = 0.23857


def _k_panel(ax, r: Dict[str, Any]) -> None:
    k = np.asarray(r["k_free"]["k"])
    x_named = {"fef": k[-1] + 0.05, "ybe": k[-1] + 0.10}  # the tabulated models, beside the scan
    ax.axvspan(0.158, 0.166, color="0.88", lw=0, zorder=0)
    ax.text(0.168, 0.5, "CONUS+ k = 0.162(4)", transform=ax.get_xaxis_transform(), ha="left", va="center",
            rotation=90, **GUIDE_TEXT)
    ax.axvline(k[-1] + 0.015, color="0.6", lw=0.5)
    top = 0.0
    for key in r["datasets"]:
        c = np.asarray(r["k_free"]["chi2"][key])
        named = {m: r["per_model"][m][key]["chi2_sm"] for m in x_named}
        ref = min(c.min(), *named.values())  # the best of the scan and the tabulated models
        look = _LOOK[key]
        ax.plot(k, c - ref, color=look["color"], ls=look["ls"], lw=1.1, label=r["labels"][key])
        top = max(top, float(np.max(c - ref)))
        for m, x in x_named.items():
            d = named[m] - ref
            ax.plot([x], [d], marker=look["marker"], color=look["color"], ms=3.5, ls="none")
    ax.set_xticks([0.1, 0.2, 0.3, 0.4] + list(x_named.values()))
    ax.set_xticklabels(["0.1", "0.2", "0.3", "0.4", "Fef", "YBe"], fontsize=6.5)
    ax.axhline(1.0, **GUIDE)
    ax.set_xlim(k[0], k[-1] + 0.13)
    ax.set_ylim(0.0, 1.1 * top)
    ax.set_xlabel(r"Lindhard $k$; tabulated models (SM cross section)")
    ax.set_ylabel(r"$\Delta\chi^2$ at the SM (to each data set's best)")
    legend(ax, loc="upper center", fontsize=6)


def _per_model_panel(ax, r: Dict[str, Any], mixing_angle: bool) -> None:
    """sin^2 theta_W (1 sigma) per model, or (``mixing_angle`` False) the 90% C.L. upper limit on mu_nu."""
    models = r["figure_data"]["order"]["models"]
    for i, key in enumerate(r["datasets"]):
        look = _LOOK[key]
        for j, m in enumerate(models):
            v = r["per_model"][m][key]
            x = j + 0.18 * (i - 1)
            if mixing_angle:
                best, (lo, hi) = v["sin2w"]["best"], v["sin2w"]["1sigma"][0]
                ax.errorbar(x, best, yerr=[[best - lo], [hi - best]], fmt=look["marker"], color=look["color"], ms=3.5,
                            lw=1.0, capsize=0, label=r["labels"][key] if j == 0 else None)
            else:
                ax.plot(x, v["mu_nu_90"][-1][1] / 1e-11, marker=look["marker"], color=look["color"], ms=3.5, ls="none",
                        label=r["labels"][key] if j == 0 else None)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([r["model_labels"][m].replace(" = ", "=").replace(" (best fit)", "") for m in models], fontsize=6)
    if mixing_angle:
        ax.axhline(SIN2W_SM, **GUIDE)
        ax.set_ylabel(r"$\sin^2\theta_W$ (1$\sigma$)")
    else:
        ax.set_yscale("log")
        ax.margins(y=0.15)
        from matplotlib.ticker import FormatStrFormatter

        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
        ax.set_ylabel(r"$\mu_\nu$ 90% C.L. [$10^{-11}\,\mu_B$]")


@figure("quenching_models", "quenching", ("k_free", "per_model", "datasets", "labels", "model_labels",
                                          "figure_data/order"),
        "germanium quenching: Delta chi^2 at the SM against the Lindhard k (Fef, YBe at the right), sin^2 theta_W and "
        "the mu_nu limit under each model")
def _quenching(run: Dict[str, Any], outdir: Path) -> None:
    fig, axes = new_figure(TWO_COLUMN, 2.5, 1, 3)
    _k_panel(axes[0], run)
    _per_model_panel(axes[1], run, True)
    _per_model_panel(axes[2], run, False)
    legend(axes[1], loc="upper right", fontsize=6)
    save(fig, outdir / "quenching_models")

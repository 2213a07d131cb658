"""Figures of the paper (Figs. 1-7), drawn from the result objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Sequence

import numpy as np


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, outdir: Path, name: str) -> None:
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(outdir / f"{name}.{ext}", dpi=150)


def spectrum_figure(exp, ax=None):
    """Fig. 1: SM and BSM predictions (CEvNS + EvES, three detectors) over the data."""
    from . import models as M

    plt = _mpl()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
    e = exp.edges_eVee
    c = 0.5 * (e[1:] + e[:-1])
    ax.errorbar(c, exp.data.counts, yerr=exp.data.sigma, xerr=5, fmt="ko", ms=3.5, label="CONUS+ excess (digitised)")
    ax.stairs(exp.predict().total, e, lw=2, color="C0", label=r"SM (sin$^2\theta_W$ = 0.23857)")
    for model, lab, col in [(M.MagneticMoment(mu_nu=1e-10), r"$\mu_\nu = 10^{-10}\,\mu_B$", "C1"),
                            (M.Millicharge(q_ee=3e-12), r"$q_{ee} = 3\times10^{-12}\,e$", "C2"),
                            (M.ChargeRadius(r2_ee=2e-31), r"$\langle r^2_{ee}\rangle = 2\times10^{-31}$ cm$^2$", "C3"),
                            (M.VectorBL(g=3e-5, mass_MeV=10.0), r"B-L: $M$ = 10 MeV, $g = 3\times10^{-5}$", "C4")]:
        ax.stairs(exp.predict(model).total, e, lw=1.3, color=col, label=lab)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel(r"ionisation energy $T_e$ [eV$_{ee}$]")
    ax.set_ylabel("events / 10 eV$_{ee}$ (C2+C3+C5)")
    ax.legend(fontsize=7.5)
    return ax


def paper_figures(run: Dict[str, Any], outdir: Path, extra_determinations: Sequence[Dict[str, Any]] = ()) -> None:
    """Write fig1 ... fig7 (PNG and PDF) from a :func:`cevns.reproduce.run_all` dictionary.

    ``extra_determinations``: further sin^2 theta_W points for Fig. 3, as returned by
    :func:`cevns.running.load_determinations` (drawn with diamond markers).
    """
    from .running import Sin2wRunning, load_determinations

    plt = _mpl()
    exp, fits, excl = run["experiment"], run["fits"], run["exclusions"]
    labels = {"cevns": r"CE$\nu$NS", "cevns+eves": r"CE$\nu$NS + E$\nu$ES"}

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    spectrum_figure(exp, ax)
    _save(fig, outdir, "fig1_spectrum")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for ch in ("cevns+eves", "cevns"):
        f = fits["sin2w"][ch]
        ax.plot(f.grid, f.dchi2, label=labels[ch], ls="-" if ch == "cevns+eves" else "--")
    for lv, t in ((1.0, r"1$\sigma$"), (2.71, "90%")):
        ax.axhline(lv, color="grey", lw=0.7, ls=":")
        ax.text(0.01, lv + 0.1, t, fontsize=8, color="grey")
    ax.axvline(0.23857, color="k", lw=0.7, label=r"SM, $Q\to0$")
    ax.set_xlim(0.1, 0.45)
    ax.set_ylim(0, 8)
    ax.set_xlabel(r"$\sin^2\theta_W$")
    ax.set_ylabel(r"$\Delta\chi^2$")
    ax.legend()
    _save(fig, outdir, "fig2_sin2w")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    mu = np.geomspace(1e-4, 91.1876, 300)
    ax.semilogx(mu, Sin2wRunning()(mu), "k-", lw=1.2, label=r"one-loop $\overline{\rm MS}$ (this package)")
    points = [(d, "s") for d in load_determinations()] + [(d, "D") for d in extra_determinations]
    for d, marker in points:
        open_ = d["scheme"] != "MSbar"
        ax.errorbar(d["Q_GeV"], d["value"], yerr=[[d["err_minus"]], [d["err_plus"]]], fmt=marker,
                    mfc="none" if open_ else None, ms=5, label=d["label"] + (f" ({d['scheme']})" if open_ else ""))
    f = fits["sin2w"]["cevns+eves"]
    lo, hi = f.intervals["1sigma"][0]
    from .models import StandardModel

    q_conus = exp.engine.mean_momentum_transfer(StandardModel()) * 1e-3  # rate-weighted mean q [GeV]
    ax.errorbar(q_conus, f.best, yerr=[[f.best - lo], [hi - f.best]], fmt="o", color="red", ms=6,
                label="CONUS+ (this package, digitised data)")
    ax.errorbar(q_conus * 1.25, 0.252, yerr=[[0.064], [0.056]], fmt="o", mfc="none", color="red",
                label="CONUS+ (reference paper)")
    ax.set_xlabel(r"$Q$ [GeV]")
    ax.set_ylabel(r"$\sin^2\hat\theta_W(Q)$")
    ax.set_ylim(0.08, 0.37)
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    _save(fig, outdir, "fig3_running")
    plt.close(fig)

    def profile_panel(ax, param, scale, unit, channels=("cevns+eves", "cevns")):
        for ch in channels:
            fr = fits[param][ch]
            ax.plot(fr.grid / scale, fr.dchi2, label=labels[ch], ls="-" if ch == "cevns+eves" else "--")
        ax.axhline(2.71, color="grey", lw=0.7, ls=":")
        ax.set_ylim(0, 8)
        ax.set_xlabel(f"{param} [{unit}]")
        ax.set_ylabel(r"$\Delta\chi^2$")
        ax.legend(fontsize=8)

    fig, ax = plt.subplots(figsize=(6, 4.2))
    profile_panel(ax, "mu_nu", 1e-11, r"$10^{-11}\mu_B$")
    ax.set_xscale("log")
    ax.set_xlim(1, 200)
    _save(fig, outdir, "fig4_magnetic_moment")
    plt.close(fig)

    for name, pars, scale, unit in (("fig5_millicharge", ("q_ee", "q_emu"), 1e-12, r"$10^{-12}e$"),
                                    ("fig6_charge_radius", ("r2_ee", "r2_emu"), 1e-32, r"$10^{-32}$ cm$^2$")):
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, p in zip(axes, pars):
            chans = ("cevns+eves",) if name == "fig5_millicharge" else ("cevns+eves", "cevns")
            profile_panel(ax, p, scale, unit, chans)
            fr = fits[p]["cevns+eves"]
            ax.set_xlim(fr.grid[0] / scale, fr.grid[-1] / scale)
            if p.endswith("emu"):
                ax.set_xlabel(f"|{p}| = |{p.replace('emu', 'etau')}| [{unit}]")
        _save(fig, outdir, name)
        plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    for ax, m, title in zip(axes, ("scalar", "vector-bl"), ("light scalar", "B-L vector")):
        for ch in ("cevns", "cevns+eves"):
            r = excl[m][ch]
            ax.loglog(r.mass_MeV, r.g, ls="--" if ch == "cevns" else "-", label=labels[ch])
            ax.fill_between(r.mass_MeV, r.g, 1, alpha=0.08)
        ax.set_title(f"{title}: 90% C.L. excluded above the curves")
        ax.set_xlabel(r"$M_X$ [MeV]")
        ax.legend()
    axes[0].set_ylabel(r"$g_X$ (universal couplings)")
    axes[0].set_ylim(1e-7, 1e-1)
    _save(fig, outdir, "fig7_mediators")
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (key, byd), scale in zip(axes, run["contours"].items(), (1e-12, 1e-32)):
        for (dof, c), ls in zip(sorted(byd.items(), reverse=True), ("-", "--")):
            c.plot(ax, scale=(scale, scale), color="C0", ls=ls,
                   label=f"90% C.L., {dof} dof ($\\Delta\\chi^2$ = {c.level:.2f})")
        ext = byd[2].extent()
        for setlim, (lo, hi) in zip((ax.set_xlim, ax.set_ylim), (ext[p] for p in byd[2].params)):
            setlim((lo - 0.3 * (hi - lo)) / scale, (hi + 0.3 * (hi - lo)) / scale)
        ax.set_title(f"{key}: CE$\\nu$NS + E$\\nu$ES, third parameter marginalised", fontsize=9)
        ax.legend(fontsize=8)
    _save(fig, outdir, "fig8_contours")
    plt.close(fig)

    comparison_figure(run["results"], outdir)


def comparison_figure(results: Dict[str, Any], outdir: Path) -> None:
    """fig9: our 90% C.L. limits beside the paper's CONUS+ values and the other experiments of its Tables 1-3."""
    from .reproduce import other_experiments, paper_results

    plt = _mpl()
    paper, others = paper_results(), other_experiments()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    for ax, (q, sc, unit, xscale) in zip(axes, (("mu_nu", 1e-11, r"$10^{-11}\,\mu_B$", "log"),
                                                ("q_ee", 1e-12, r"$10^{-12}\,e$", "symlog"),
                                                ("r2_ee", 1e-32, r"$10^{-32}$ cm$^2$", "linear"))):
        rows = [("cevns (digitised data)", results[q]["cevns+eves"], "C3"),
                ("CONUS+ (reference paper)", paper[q]["cevns+eves"], "C3")]
        rows += [(o["experiment"], o["hi"] if o["lo"] is None else [o["lo"], o["hi"]], "0.35")
                 for o in others if o["quantity"] == q]
        for y, (name, v, col) in enumerate(rows):
            ivs = v if isinstance(v, list) and isinstance(v[0], list) else [v]
            for iv in ivs:
                lo, hi = (iv[0], iv[1]) if isinstance(iv, list) else ((0.0 if q == "mu_nu" else -iv), iv)
                if q == "mu_nu":
                    ax.barh(y, hi / sc, color=col, alpha=0.8 if y == 0 else 0.5, hatch="//" if y == 1 else None)
                else:
                    ax.plot([lo / sc, hi / sc], [y, y], color=col, lw=6 if y < 2 else 4, alpha=0.9 if y == 0 else 0.6,
                            solid_capstyle="butt")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale(xscale, **({"linthresh": 1.0} if xscale == "symlog" else {}))
        if xscale == "symlog":
            ticks = [-100, -10, -1, 0, 1, 10, 100]
            ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlabel(f"{q} [{unit}], 90% C.L." + (" (upper limit)" if q == "mu_nu" else " (allowed)"))
        if q != "mu_nu":
            ax.axvline(0, color="grey", lw=0.6)
    fig.suptitle("CONUS+ limits beside the experiments in the reference paper's Tables 1-3", fontsize=10)
    _save(fig, outdir, "fig9_comparison")
    plt.close(fig)

"""Result objects: print as tables, convert to dict/JSON, draw onto a matplotlib Axes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np


def strict(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf) replaced by None, so that it is strict JSON (numpy
    scalars and arrays become Python numbers and lists)."""
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [strict(v) for v in obj]
    return obj


def dumps(obj: Any, **kw: Any) -> str:
    """Strict JSON text of ``obj`` (NaN and inf become null; never the non-standard NaN/Infinity tokens)."""
    return json.dumps(strict(obj), allow_nan=False, **kw)


#: the version of the JSON result format of the command line (docs/json.md)
FORMAT = "cevns-result/1"


def versions() -> Dict[str, Optional[str]]:
    """Versions of Python and of the libraries a result depends on (numpy, scipy; matplotlib, dask and
    distributed when loaded), read from the installed package metadata."""
    import platform
    import sys
    from importlib import metadata

    out: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "matplotlib", "dask", "distributed"):
        if pkg in ("numpy", "scipy") or pkg in sys.modules:
            try:
                out[pkg] = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                out[pkg] = None
    return out


def envelope(command: str, result: Any, experiments: Optional[List[str]] = None,
             inputs: Optional[Dict[str, Any]] = None, cl: Optional[List[Dict[str, Any]]] = None,
             units: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The one JSON format of every command's ``--json`` output (docs/json.md): format, cevns_version,
    versions, command, experiments (names), inputs ({"overrides", "experiments"}), cl (a list of {label,
    probability, dof, delta_chi2}), units ({JSON pointer into result: unit}; "*" stands for every index of a
    list; a number no pointer reaches is dimensionless) and result.  Keys that do not apply are null."""
    from . import __version__

    return {"format": FORMAT, "cevns_version": __version__, "versions": versions(), "command": command,
            "experiments": experiments, "inputs": inputs, "cl": cl, "units": dict(units or {}), "result": result}


def lookup(tree: Any, path: str, default: Any = None) -> Any:
    """The entry of nested dictionaries (a results.json) at ``path``, keys joined by "/"; ``default`` if absent."""
    node = tree
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _p_value(chi2_min: float, ndof: Optional[int]) -> float:
    from .stats import p_value

    return p_value(chi2_min, -1 if ndof is None else int(ndof))


#: how the statistic of a fit is named in text (``statistic`` of a result)
STATISTICS = {"chi2": "chi^2 of eq. 20", "poisson": "Poisson deviance -2 ln(L/L_saturated)",
              "chi2+poisson": "chi^2 of eq. 20 + Poisson deviance"}


def _gof_text(chi2_min: float, ndof: Optional[int], statistic: str) -> str:
    """'7.414 / 18 = 0.412, p = 0.986' (and the statistic's name unless it is the chi^2 of eq. 20)."""
    if ndof is None or ndof < 1:
        shown = "" if ndof is None else " / 0"  # a negative count of degrees of freedom is none left
        return f"{chi2_min:.4g}{shown} (no degrees of freedom left: no goodness of fit)"
    p = _p_value(chi2_min, ndof)
    name = "" if statistic == "chi2" else f" ({STATISTICS.get(statistic, statistic)})"
    return f"{chi2_min:.4g} / {ndof} = {chi2_min / ndof:.3g}, p = {p:.3g}{name}"


def _gof_dict(chi2_min: float, ndof: Optional[int], statistic: str) -> Dict[str, Any]:
    """The goodness-of-fit keys of a result's JSON: statistic, chi2_min, ndof, chi2_per_ndof, p_value."""
    ok = ndof is not None and ndof >= 1
    return {"statistic": statistic, "chi2_min": float(chi2_min), "ndof": None if ndof is None else max(0, int(ndof)),
            "chi2_per_ndof": float(chi2_min) / ndof if ok and ndof else None,
            "p_value": _p_value(chi2_min, ndof) if ok else None}


def poisson_interval(counts: Any) -> Tuple[np.ndarray, np.ndarray]:
    """The central 68.27% (Garwood) confidence interval of a Poisson mean for each observed count n:
    [chi2_{0.1587}(2n) / 2, chi2_{0.8413}(2n + 2) / 2], with lower end 0 for n = 0 (whose upper end is 1.841)."""
    from scipy.stats import chi2 as chi2_dist

    n = np.asarray(counts, dtype=float)
    lo = np.where(n > 0, 0.5 * chi2_dist.ppf(0.15866, 2 * np.maximum(n, 1e-300)), 0.0)
    return lo, 0.5 * chi2_dist.ppf(0.84134, 2 * n + 2)


@dataclass
class Prediction:
    """Expected counts per bin: ``cevns`` and ``eves`` (events), energy bins ``edges_eVee`` in ``unit``
    (eV_ee for germanium; PE or keVee for COHERENT, whose bins are energy x time, flattened energy-major
    with ``time_edges_us``).  ``background``: the expected background per bin of a counting experiment."""

    edges_eVee: np.ndarray
    cevns: np.ndarray
    eves: np.ndarray
    model: str = "StandardModel()"
    data: Any = None
    unit: str = "eV_ee"
    time_edges_us: Optional[np.ndarray] = None
    background: Optional[np.ndarray] = None

    @property
    def total(self) -> np.ndarray:
        return self.cevns + self.eves

    @property
    def shape(self) -> Tuple[int, int]:
        """(energy bins, time bins)."""
        return (self.edges_eVee.size - 1, 1 if self.time_edges_us is None else self.time_edges_us.size - 1)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready dict: model, energy bins [[lo, hi], ...] (``bins_eVee`` for germanium, else ``bins`` with
        ``unit``, and ``time_bins_us``), cevns, eves (events per bin, energy-major), total_cevns, total_eves."""
        e = self.edges_eVee
        key = "bins_eVee" if self.unit == "eV_ee" else "bins"
        d: Dict[str, Any] = {"model": self.model, key: [[float(a), float(b)] for a, b in zip(e[:-1], e[1:])]}
        if self.unit != "eV_ee":
            d["unit"] = self.unit
        if self.time_edges_us is not None:
            t = self.time_edges_us
            d["time_bins_us"] = [[float(a), float(b)] for a, b in zip(t[:-1], t[1:])]
        d.update({"cevns": [float(x) for x in self.cevns], "eves": [float(x) for x in self.eves],
                  "total_cevns": float(self.cevns.sum()), "total_eves": float(self.eves.sum())})
        if self.background is not None:
            d["background"] = [float(x) for x in self.background]
            d["total_background"] = float(self.background.sum())
        if self.data is not None and self.time_edges_us is not None:  # counting data (the excess has its own file)
            d["data"] = [float(x) for x in np.asarray(self.data.counts)]
        return d

    def units_map(self, prefix: str = "") -> Dict[str, str]:
        """Units of :meth:`to_dict`'s numbers as {JSON pointer: unit} (pointers below ``prefix``)."""
        u = {f"{prefix}/{'bins_eVee' if self.unit == 'eV_ee' else 'bins'}": self.unit,
             **{f"{prefix}/{k}": "events" for k in ("cevns", "eves", "total_cevns", "total_eves")}}
        if self.time_edges_us is not None:
            u[f"{prefix}/time_bins_us"] = "us"
        if self.background is not None:
            u[f"{prefix}/background"] = u[f"{prefix}/total_background"] = "events"
        if self.data is not None and self.time_edges_us is not None:
            u[f"{prefix}/data"] = "events"
        return u

    def __str__(self) -> str:
        if self.time_edges_us is not None:
            return self._str_2d()
        e = self.edges_eVee
        lines = [f"Prediction for {self.model} (events per bin)",
                 f"{'bin [' + self.unit + ']':>14} {'CEvNS':>10} {'EvES':>10} {'total':>10}"]
        for a, b, c, v in zip(e[:-1], e[1:], self.cevns, self.eves):
            lines.append(f"{a:6.0f}-{b:<7.0f} {c:10.3f} {v:10.4f} {c + v:10.3f}")
        lines.append(f"{'sum':>14} {self.cevns.sum():10.2f} {self.eves.sum():10.3f} {self.total.sum():10.2f}")
        return "\n".join(lines)

    def _str_2d(self) -> str:
        ne, nt = self.shape
        c = self.cevns.reshape(ne, nt)
        b = None if self.background is None else self.background.reshape(ne, nt)
        d = None if self.data is None else np.asarray(self.data.counts).reshape(ne, nt)
        head = f"{'bin [' + self.unit + ']':>14} {'CEvNS':>10}" + (f" {'background':>11}" if b is not None else "") \
            + (f" {'data':>8}" if d is not None else "")
        lines = [f"Prediction for {self.model} (events, summed over time bins)", head]
        e, t = self.edges_eVee, self.time_edges_us
        for i in range(ne):
            row = f"{e[i]:6.4g}-{e[i + 1]:<7.4g} {c[i].sum():10.3f}"
            row += f" {b[i].sum():11.2f}" if b is not None else ""
            row += f" {d[i].sum():8.0f}" if d is not None else ""
            lines.append(row)
        tot = f"{'sum':>14} {self.cevns.sum():10.2f}" + (f" {b.sum():11.2f}" if b is not None else "") \
            + (f" {d.sum():8.0f}" if d is not None else "")
        lines.append(tot)
        # the same events by arrival time (summed over the energy bins), a table of its own
        lines += ["", "(events, summed over energy bins)", head.replace(f"{'bin [' + self.unit + ']':>14}",
                                                                        f"{'time [us]':>14}")]
        assert t is not None
        for j in range(nt):
            row = f"{t[j]:6.3g}-{t[j + 1]:<7.3g} {c[:, j].sum():10.3f}"
            row += f" {b[:, j].sum():11.2f}" if b is not None else ""
            row += f" {d[:, j].sum():8.0f}" if d is not None else ""
            lines.append(row)
        lines.append(tot)
        return "\n".join(lines)

    def plot(self, ax=None, label: Optional[str] = None, data: bool = True, stacked: bool = False, **kw):
        """Step plot of the total prediction (and the data points) on ``ax`` (the current pyplot Axes if
        None), labelled for a legend: ``label`` or the model's parameters as symbols.  ``stacked``: CEvNS
        and EvES as stacked filled steps (each labelled by its channel) instead of one total."""
        from matplotlib.colors import to_rgba

        from .labels import channel_label, model_label
        from .style import channel_style, dataset_style

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        e = self.edges_eVee
        name = label or model_label(self.model)
        ne, nt = self.shape
        # a counting experiment (energy x time bins) is drawn as its energy projection, on top of its background;
        # bins of unequal width as densities (events per unit), so that a wide bin does not look like a peak
        w = np.diff(e)
        per = w if not np.allclose(w, w[0]) else np.ones_like(w)
        cevns, total = self.cevns.reshape(ne, nt).sum(1) / per, self.total.reshape(ne, nt).sum(1) / per
        bkg = np.zeros(ne) if self.background is None else self.background.reshape(ne, nt).sum(1) / per
        if self.background is not None:
            ax.stairs(bkg, e, fill=True, facecolor="0.85", edgecolor="0.5", lw=0.8, label="background")
        if stacked:
            parts = [(bkg + cevns, bkg, "cevns")] + ([(bkg + total, bkg + cevns, "eves")] if np.any(self.eves) else [])
            for part, base, ch in parts:
                col = to_rgba(channel_style(ch)["color"])
                text = f"{name}: {channel_label(ch)}" if name else channel_label(ch)
                events = float(((part - base) * per).sum())
                if events < 1e-3 * max(float((total * per).sum()), 1.0):  # a band too thin to see: its edge would
                    ax.plot([], [], color=col, lw=1.0, label=f"{text} ({events:.2g} events: too few to see)")
                    continue  # sit on the band below and read as this channel
                ax.stairs(part, e, baseline=base, fill=True, facecolor=col[:3] + (0.35,), edgecolor=col, lw=1.0,
                          label=text)
        else:
            ax.stairs(bkg + total, e, label=name, **kw)
        if data and self.data is not None:
            c = 0.5 * (e[1:] + e[:-1])
            ds = dataset_style("conus-plus")
            counts = np.asarray(self.data.counts).reshape(ne, nt).sum(1)
            if self.background is None:  # a chi^2 data set: its own errors (an excess may be negative)
                err: Any = np.asarray(self.data.sigma)
            else:  # counts: the central 68% Poisson (Garwood) interval, never below zero
                lo, hi = poisson_interval(counts)
                err = [counts - lo, hi - counts]
            many = ne > 60  # many bins: no horizontal bars, and none on empty bins (a forest of 0-1.84 bars)
            poisson_many = many and self.background is not None
            yerr = np.asarray(err) * (counts > 0 if poisson_many else 1.0)
            ax.errorbar(c, counts / per, yerr=yerr / per, xerr=None if many else np.diff(e) / 2, fmt="o",
                        color=ds["color"], ms=1.5 if many else 2.5, lw=0.5 if many else 0.8, zorder=5,
                        label="data (68% Poisson intervals of non-empty bins)" if poisson_many else "data")
        unit = {"eV_ee": r"eV$_{ee}$", "keVee": r"keV$_{ee}$", "PE": "PE"}.get(self.unit, self.unit)
        if self.unit == "index":  # bins numbered, not an energy (e.g. flattened two-dimensional analysis bins)
            ax.set_xlabel("analysis bin (index)")
            ax.set_ylabel("events / bin")
            return ax
        ax.set_xlabel(r"ionisation energy $T_e$ [eV$_{ee}$]" if self.unit == "eV_ee" else f"reconstructed energy [{unit}]")
        ax.set_ylabel(f"events / {w[0]:g} {unit}" if np.allclose(w, w[0]) else f"events / {unit}")
        return ax


@dataclass
class FitResult:
    """A one-parameter result: best fit, intervals per confidence level, chi^2_min, ndof, profile."""

    param: str
    channels: str
    best: float
    intervals: Dict[str, List[List[float]]]
    chi2_min: float
    ndof: int
    unit: str = ""
    grid: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dchi2: np.ndarray = field(default_factory=lambda: np.zeros(0))
    marginalised: List[str] = field(default_factory=list)
    inputs: Dict[str, Any] = field(default_factory=dict)
    model: str = ""  #: the model (with its mass) for a mediator coupling; empty otherwise
    #: per level and interval, whether its [lower, upper] end is only the end of the scan (not a limit)
    open_ends: Dict[str, List[List[bool]]] = field(default_factory=dict)
    #: the best fit sits on an edge of the allowed range (``boundary`` says which)
    at_boundary: bool = False
    boundary: str = ""
    #: every minimisation of the fit converged (else ``convergence`` says what did not)
    converged: bool = True
    convergence: str = ""
    #: the statistic minimised: "chi2" (eq. 20), "poisson" (deviance -2 ln(L/L_sat)) or "chi2+poisson" (joint)
    statistic: str = "chi2"
    #: the model's other coupling parameters, held fixed at these values (neither fitted nor marginalised)
    fixed: Dict[str, float] = field(default_factory=dict)

    @property
    def p_value(self) -> float:
        """Goodness of fit: P(chi^2_ndof >= chi2_min) (NaN without degrees of freedom)."""
        return _p_value(self.chi2_min, self.ndof)

    @property
    def statistic_min(self) -> float:
        """The minimum of the statistic named by :attr:`statistic` (``chi2_min`` holds it whatever its kind: the
        chi^2 of eq. 20, or the Poisson deviance -2 ln(L/L_saturated))."""
        return self.chi2_min

    def unbounded(self, level: str) -> bool:
        """True if some interval at ``level`` reaches the end of the scan that is not a physical boundary:
        the data do not constrain the parameter there at this C.L. (its end is then null in JSON)."""
        return any(a or b for a, b in self.open_ends.get(level, []))

    def to_dict(self, profile: bool = False) -> Dict[str, Any]:
        """JSON-ready dict: param, unit, channels, best, intervals {level: [[lo, hi], ...]} (an end the data do not
        bound is null), the goodness of fit (statistic, chi2_min, ndof, chi2_per_ndof, p_value), at_boundary and
        boundary, converged and convergence (and the profile if ``profile``); values in the parameter's unit
        (``self.unit``: mu_B, e, cm^2)."""
        def end(x: float, is_open: bool) -> Optional[float]:
            return None if is_open else float(x)

        ivs = {k: [[end(a, oa), end(b, ob)] for (a, b), (oa, ob) in
                   zip(v, self.open_ends.get(k, [[False, False]] * len(v)))] for k, v in self.intervals.items()}
        d: Dict[str, Any] = {"param": self.param, "unit": self.unit, "channels": self.channels,
                             "best": float(self.best), "intervals": ivs,
                             **_gof_dict(self.chi2_min, self.ndof, self.statistic),
                             "at_boundary": bool(self.at_boundary), "boundary": self.boundary or None,
                             "converged": bool(self.converged), "convergence": self.convergence or None}
        if self.marginalised:
            d["marginalised"] = list(self.marginalised)
        if self.fixed:
            d["fixed"] = {k: float(v) for k, v in self.fixed.items()}
        if self.model:
            d["model"] = self.model
        if profile:
            d["profile"] = {"x": [float(x) for x in self.grid], "dchi2": [float(x) for x in self.dchi2]}
        return d

    def to_json(self, **kw) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return dumps(self.to_dict(**kw), indent=2)

    def units_map(self, profile: bool = False) -> Dict[str, str]:
        """Units of :meth:`to_dict`'s numbers as {JSON pointer: unit} (none for a dimensionless parameter)."""
        if not self.unit:
            return {}
        return {"/best": self.unit, "/intervals": self.unit, **({"/profile/x": self.unit} if profile else {})}

    def __str__(self) -> str:
        from .stats import delta_chi2_level

        u = f" {self.unit}" if self.unit else ""
        lines = [f"{self.param}" + (f" of {self.model}" if self.model else "") + f" from {self.channels}"
                 + _held_text(self.marginalised, self.fixed),
                 f"  best fit      {_fmt(self.best)}{u}" + ("  (at the boundary: see note)" if self.at_boundary else ""),
                 f"  chi2_min/ndof {_gof_text(self.chi2_min, self.ndof, self.statistic)}"]
        for k, v in self.intervals.items():
            opens = self.open_ends.get(k, [[False, False]] * len(v))
            text = " U ".join(("(-inf" if oa else f"[{_fmt(a)}") + ", " + ("+inf)" if ob else f"{_fmt(b)}]")
                              for (a, b), (oa, ob) in zip(v, opens))
            lines.append(f"  {k:>5} C.L.    " + text + u)
            if self.unbounded(k):
                ends = [x for (a, b), (oa, ob) in zip(v, opens) for x, o in ((a, oa), (b, ob)) if o]
                lines.append(f"  {'':>5}          unconstrained at this C.L.: Delta chi^2 stays below "
                             f"{delta_chi2_level(k, 1):.3g} out to the end of the scan ("
                             + " and ".join(f"{_fmt(x)}{u}" for x in ends) + ")")
        if self.at_boundary:
            lines.append(f"  note: the best fit sits at {self.boundary}")
        if not self.converged:
            lines.append(f"  warning: the minimisation did not converge: {self.convergence}")
        return "\n".join(lines)

    def note(self) -> str:
        """What a figure of this profile should say beside it: the statistic, and what was done with the model's
        other parameters (marginalised, fixed), in the figures' symbols."""
        return _plot_note(self.statistic, self.marginalised, self.fixed)

    def plot(self, ax=None, label: Optional[str] = None, levels: bool = True, scale: Optional[float] = None,
             zoom: bool = False, **kw):
        """Delta chi^2 profile on ``ax`` (the current pyplot Axes if None), labelled by its channels for a
        legend, with horizontal lines at the interval levels.  The parameter is drawn in its display
        unit (:mod:`cevns.labels`: mu_nu in 1e-11 mu_B, q in 1e-12 e, <r^2> in 1e-32 cm^2), or divided by
        ``scale`` if given.  ``zoom``: the x range cut to where the profile is inside the frame (padded by a fifth),
        not the whole scan (a narrow well in a wide scan otherwise leaves most of the panel empty)."""
        from .labels import channel_label, level_label
        from .labels import label as param_label
        from .stats import delta_chi2_level
        from .style import level_line

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        lab = param_label(self.param)
        sc = lab.scale if scale is None else scale
        ax.plot(self.grid / sc, self.dchi2, label=label or channel_label(self.channels), **kw)
        if levels:  # the labels side by side, so that close levels (1 sigma, 90%) do not print on top of each other
            for i, k in enumerate(sorted(self.intervals, key=lambda k: delta_chi2_level(k, 1))):
                level_line(ax, delta_chi2_level(k, 1), level_label(k) + " C.L.", x=0.98 - 0.22 * i, ha="right")
            top = max(delta_chi2_level(k, 1) for k in self.intervals) if self.intervals else 2.71
            ax.set_ylim(0.0, max(8.0, 3.0 * top))  # the intervals' region, not a far-away rise of the profile
            inside = np.flatnonzero(np.asarray(self.dchi2) <= max(8.0, 3.0 * top))
            if zoom and inside.size:
                a, b = float(self.grid[inside[0]]), float(self.grid[inside[-1]])
                pad = 0.2 * (b - a) if b > a else 0.5 * max(abs(a), 1e-300)
                ax.set_xlim(max(float(self.grid[0]), a - pad) / sc, min(float(self.grid[-1]), b + pad) / sc)
        ax.set_xlabel(lab.axis_for(sc))
        ax.set_ylabel(r"$\Delta\chi^2$")
        return ax


def exclusion_curves(mass: Any, g: Any, islands: List[Dict[str, Any]]) -> Tuple[np.ndarray, np.ndarray, list]:
    """An exclusion curve as a figure draws it: (``top``, ``low``, ``bars``).  ``g`` is the excluded coupling per
    mass (None or inf: nothing excluded up to the top of the scan, a gap in ``top``; 0: even g = 0, the SM, is
    excluded and the allowed couplings are ``islands``).  At such a mass ``top`` is the highest island's top, above
    which every coupling is excluded, and ``low`` the lowest island's bottom, below which every coupling is excluded
    too (NaN elsewhere); ``bars`` lists every island of those masses as (mass, (g_lo, g_hi)).  A g = 0 without a
    recorded island is a gap, never a drop to zero."""
    top = np.array([np.nan if x is None else float(x) for x in g], dtype=float)
    top[~np.isfinite(top)] = np.nan
    low = np.full(top.shape, np.nan)
    bars = []
    for k, m in enumerate(np.asarray(mass, dtype=float)):
        if top[k] != 0:
            continue
        regs = [rg for i in islands if np.isclose(i["mass_MeV"], m, rtol=1e-9) for rg in i["allowed_g"]]
        if regs:
            top[k], low[k] = max(b for _, b in regs), min(a for a, _ in regs)
            bars += [(float(m), (float(a), float(b))) for a, b in regs]
    top[top == 0] = np.nan
    return top, low, bars


@dataclass
class ExclusionResult:
    """Per mediator mass: the smallest excluded coupling ``g`` and any allowed islands above it.

    ``g`` is inf (null in JSON) where no coupling up to the top of the scan is excluded, and 0 where
    even g = 0 (the SM) is excluded -- then the allowed couplings are the ``islands``.
    """

    model: str
    channels: str
    cl: float
    delta_chi2: float
    mass_MeV: np.ndarray
    g: np.ndarray
    islands: List[Dict[str, Any]] = field(default_factory=list)
    convention: str = "universal"
    #: the confidence level as given ("90%", "2sigma"); empty: from ``cl``
    cl_label: str = ""
    dof: int = 1
    #: every minimisation (minimum over g per mass, the edges) converged (else ``convergence`` says what did not)
    converged: bool = True
    convergence: str = ""

    @property
    def label(self) -> str:
        return self.cl_label or f"{100 * self.cl:g}%"

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready dict: model, channels, cl, cl_label, dof, delta_chi2, convention, mass_MeV [MeV], g (null: no
        coupling up to the top of the scan excluded), islands, converged, convergence."""
        return {"model": self.model, "channels": self.channels, "cl": self.cl, "cl_label": self.label,
                "dof": int(self.dof), "delta_chi2": self.delta_chi2,
                "convention": self.convention, "mass_MeV": [float(x) for x in self.mass_MeV],
                "g": [float(x) if np.isfinite(x) else None for x in self.g], "islands": self.islands,
                "converged": bool(self.converged), "convergence": self.convergence or None}

    def units_map(self) -> Dict[str, str]:
        """Units of :meth:`to_dict`'s numbers as {JSON pointer: unit} (the couplings g are dimensionless)."""
        return {"/mass_MeV": "MeV", "/islands/*/mass_MeV": "MeV"}

    def __str__(self) -> str:
        lines = [f"{self.model} exclusion at {self.label} C.L. ({self.dof} dof, Delta chi^2 = {self.delta_chi2:.3f}) "
                 f"from {self.channels}; g excluded above:", f"{'M [MeV]':>12} {'g':>12}"]
        step = max(1, len(self.mass_MeV) // 12)
        for m, g in list(zip(self.mass_MeV, self.g))[::step]:
            lines.append(f"{m:12.4g} {g:12.4g}")
        if step > 1:
            lines.append(f"  (every {step}th of {len(self.mass_MeV)} masses; --json or .to_dict() has them all)")
        if self.islands:
            lines.append(f"  {len(self.islands)} mass point(s) with an allowed island above the limit")
        if np.any(self.g == 0):
            lines.append("  g = 0 means the SM itself lies outside the region at that mass: the data prefer a "
                         "non-zero coupling, and only the islands (.islands) are allowed")
        if np.any(np.isinf(self.g)):
            lines.append("  inf: no coupling up to the top of the scan is excluded at that mass")
        if not self.converged:
            lines.append(f"  warning: the minimisation did not converge: {self.convergence}")
        return "\n".join(lines)

    def note(self, fixed: Optional[Dict[str, float]] = None) -> str:
        """What a figure of this exclusion should say beside it: excluded above the curve, at which level and dof,
        the parameters held ``fixed`` (the model's others at their defaults), the masses without a limit."""
        first = f"excluded above the curve (shaded), {self.label} C.L., {self.dof} dof at each mass"
        text = _plot_note("", [], dict(fixed or {}), first)
        if np.any(np.isinf(self.g)):
            text += "\nno coupling up to the scan's top excluded: gaps"
        return text

    def plot(self, ax=None, label: Optional[str] = None, shade: bool = True, **kw):
        """The excluded-coupling curve g(M) on log axes of ``ax`` (the current pyplot Axes if None; M in MeV),
        labelled for a legend by the mediator and channels, the excluded side shaded (``shade``).  Where even
        g = 0 (the SM) is excluded the curve runs through the top of the allowed island, and every allowed island
        is drawn as a vertical bar; where nothing up to the top of the scan is excluded (g = inf) the curve has a
        gap."""
        from .labels import channel_label
        from .labels import label as param_label

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        from .models import MODELS

        name = MODELS[self.model].display if self.model in MODELS else self.model
        default = f"{name}, {channel_label(self.channels)}, {100 * self.cl:g}% C.L."
        g, low, bars = exclusion_curves(self.mass_MeV, self.g, self.islands)
        (line,) = ax.loglog(self.mass_MeV, g, label=label or default, **kw)
        col = line.get_color()
        if shade:
            top = 3.0 * np.nanmax(g) if np.any(np.isfinite(g)) else 1.0
            ax.fill_between(self.mass_MeV, g, top, where=np.isfinite(g), color=col, alpha=0.12, lw=0)
            ax.set_xlim(self.mass_MeV[0], self.mass_MeV[-1])
            ax.set_ylim(top=top)
        if np.count_nonzero(np.isfinite(low)) > 5:  # many masses without the SM: the islands' lower edge as a line
            ax.loglog(self.mass_MeV, low, color=col, ls=":", lw=1.0,
                      label="g = 0 (SM) excluded: allowed only above this edge (and below the curve)")
        else:
            for m, (a, b) in bars:
                ax.plot([m, m], [a, b], color=col, lw=2.5, solid_capstyle="butt",
                        label="allowed island; g = 0 (SM) excluded there")
        sm_out = {m for m, _ in bars}
        for isl in self.islands:  # islands above the first excluded coupling of a mass where the SM is allowed
            m = float(isl["mass_MeV"])
            for a, b in ([] if m in sm_out else isl["allowed_g"]):
                ax.plot([m, m], [a, b], color=col, lw=2.5, solid_capstyle="butt", label="allowed island above the curve")
        ax.set_xlabel(param_label("mass_MeV").axis)
        ax.set_ylabel(param_label("g").symbol + (r" ($g^\nu g^q$)" if self.convention == "product" else ""))
        return ax


def _held_text(marginalised: List[str], fixed: Dict[str, float]) -> str:
    """`` (q_emu, q_etau marginalised; sin2w = 0.23857 fixed)``: what a fit did with the model's other parameters."""
    parts = [f"{', '.join(marginalised)} marginalised"] if marginalised else []
    if fixed:
        parts.append(", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items()) + " fixed")
    return f" ({'; '.join(parts)})" if parts else ""


def _symbol(name: str) -> str:
    from .labels import UnknownLabel, label

    try:
        return label(name).symbol
    except UnknownLabel:
        return name


def _plot_note(statistic: str, marginalised: List[str], fixed: Dict[str, float], first: str = "") -> str:
    """A figure's note (a legend title): ``first``, the statistic, the marginalised and the fixed parameters (in
    symbols), the model's other parameters at their defaults."""
    stat = {"chi2": r"$\chi^2$ of eq. 20", "poisson": r"Poisson $-2\ln\lambda$",
            "chi2+poisson": r"$\chi^2$ + Poisson $-2\ln\lambda$"}.get(statistic, statistic)
    lines = [first] if first else []
    lines.append(f"{stat}, nuisances profiled" if stat else "nuisances profiled")
    if marginalised:
        lines.append(", ".join(_symbol(p) for p in marginalised) + " marginalised")
    if fixed:
        lines.append(", ".join(f"{_symbol(k)} = {_fmt(v)}" for k, v in fixed.items()) + " held fixed")
    else:
        lines.append("other parameters at their defaults")
    return "\n".join(lines)


@dataclass
class ContourResult:
    """Delta chi^2 on a grid of two parameters (the rest of their family marginalised).

    ``dchi2[i, j]`` is at (``x[i]``, ``y[j]``); the allowed region is ``dchi2 <= level``, the
    Delta chi^2 of confidence level ``cl`` for ``dof`` degrees of freedom.
    """

    params: Tuple[str, str]
    channels: str
    units: Tuple[str, str]
    cl: float | str
    dof: int
    level: float
    x: np.ndarray
    y: np.ndarray
    dchi2: np.ndarray
    best: Tuple[float, float]
    chi2_min: float
    marginalised: List[str] = field(default_factory=list)
    inputs: Dict[str, Any] = field(default_factory=dict)
    #: degrees of freedom of the goodness of fit: bins - 2 - the marginalised parameters (None: not known)
    ndof: Optional[int] = None
    statistic: str = "chi2"
    #: the best fit sits on a physical boundary (sin2w at 0 or 1; ``boundary`` says which)
    at_boundary: bool = False
    boundary: str = ""
    converged: bool = True
    convergence: str = ""
    #: the model's other coupling parameters, held fixed at these values
    fixed: Dict[str, float] = field(default_factory=dict)

    @property
    def p_value(self) -> float:
        """Goodness of fit at the best point: P(chi^2_ndof >= chi2_min) (NaN without degrees of freedom)."""
        return _p_value(self.chi2_min, self.ndof)

    def at_level(self, dof: int, cl: Any = None) -> "ContourResult":
        """The same grid read at another level: the region of ``cl`` (default: this one's) for ``dof`` degrees of
        freedom.  The grid spans the region this contour was made for, padded: read the dof = 1 region off a
        dof = 2 contour (a smaller level), not the other way round, or the region may reach the grid's edge."""
        import dataclasses

        from .stats import ConfidenceLevel, delta_chi2_level

        cl = self.cl if cl is None else cl
        if dof not in (1, 2):
            from .errors import CevnsInputError

            raise CevnsInputError(f"dof must be 1 or 2, got {dof!r}")
        level = delta_chi2_level(cl, dof)
        return dataclasses.replace(self, cl=cl.label if isinstance(cl, ConfidenceLevel) else cl, dof=dof, level=level)

    def extent(self) -> Dict[str, Optional[List[float]]]:
        """Smallest and largest value of each parameter inside the allowed region (the projection
        min over the other axis of Delta chi^2, its level crossings interpolated linearly between grid
        points); None if no grid point is inside; a value at the grid edge means the region reaches it."""
        out: Dict[str, Optional[List[float]]] = {}
        for name, axis, proj in ((self.params[0], self.x, self.dchi2.min(axis=1)),
                                 (self.params[1], self.y, self.dchi2.min(axis=0))):
            idx = np.flatnonzero(proj <= self.level)
            if idx.size == 0:
                out[name] = None
                continue

            def cross(i: int, j: int) -> float:  # i inside, j outside
                t = (self.level - proj[i]) / (proj[j] - proj[i])
                return float(axis[i] + t * (axis[j] - axis[i]))

            i, k = int(idx[0]), int(idx[-1])
            out[name] = [float(axis[0]) if i == 0 else cross(i, i - 1),
                         float(axis[-1]) if k == axis.size - 1 else cross(k, k + 1)]
        return out

    def to_dict(self, grid: bool = True) -> Dict[str, Any]:
        """JSON-ready dict: params, units, channels, cl, dof, level, best, chi2_min, extent (and the grid
        x, y, dchi2[i][j] at (x[i], y[j]) if ``grid``); values in the parameters' units."""
        d: Dict[str, Any] = {"params": list(self.params), "units": list(self.units), "channels": self.channels,
                             "cl": self.cl, "dof": self.dof, "level": self.level, "best": list(self.best),
                             **_gof_dict(self.chi2_min, self.ndof, self.statistic),
                             "marginalised": list(self.marginalised), "fixed": {k: float(v) for k, v in self.fixed.items()},
                             "extent": self.extent(),
                             "at_boundary": bool(self.at_boundary), "boundary": self.boundary or None,
                             "converged": bool(self.converged), "convergence": self.convergence or None}
        if grid:
            d.update(x=[float(v) for v in self.x], y=[float(v) for v in self.y],
                     dchi2=[[float(v) for v in row] for row in self.dchi2])
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ContourResult":
        """The contour back from :meth:`to_dict` with its grid (``grid=True``), e.g. read from a results.json: the
        figures are drawn from it without refitting."""
        x, y, dchi2 = (np.asarray(d[k], dtype=float) for k in ("x", "y", "dchi2"))
        nan = float("nan")
        return cls(tuple(d["params"]), d["channels"], tuple(d["units"]), d["cl"], int(d["dof"]), float(d["level"]),
                   x, y, dchi2, (float(d["best"][0]), float(d["best"][1])),
                   nan if d.get("chi2_min") is None else float(d["chi2_min"]), list(d.get("marginalised", [])), {},
                   d.get("ndof"), d.get("statistic", "chi2"), bool(d.get("at_boundary", False)), d.get("boundary") or "",
                   bool(d.get("converged", True)), d.get("convergence") or "", dict(d.get("fixed", {})))

    def units_map(self, grid: bool = True) -> Dict[str, str]:
        """Units of :meth:`to_dict`'s numbers as {JSON pointer: unit} (a dimensionless parameter has none)."""
        out: Dict[str, str] = {}
        for i, (p, unit) in enumerate(zip(self.params, self.units)):
            if unit:
                out.update({f"/best/{i}": unit, f"/extent/{p}": unit, **({f"/{'xy'[i]}": unit} if grid else {})})
        return out

    def __str__(self) -> str:
        cl = self.cl if isinstance(self.cl, str) else f"{100 * self.cl:g}%"
        lines = [f"{self.params[0]} vs {self.params[1]} from {self.channels}" + _held_text(self.marginalised, self.fixed),
                 f"  {cl} C.L., {self.dof} dof: Delta chi^2 <= {self.level:.3f}",
                 f"  best fit ({_fmt(self.best[0])}, {_fmt(self.best[1])})"
                 + ("  (at the boundary: see note)" if self.at_boundary else ""),
                 f"  chi2_min/ndof {_gof_text(self.chi2_min, self.ndof, self.statistic)}"]
        for (name, ext), unit in zip(self.extent().items(), self.units):
            u = f" {unit}" if unit else ""
            lines.append(f"  {name:>8} in " + (f"[{_fmt(ext[0])}, {_fmt(ext[1])}]{u}" if ext else "(empty)"))
        if self.at_boundary:
            lines.append(f"  note: the best fit sits at {self.boundary}")
        if not self.converged:
            lines.append(f"  warning: the minimisation did not converge: {self.convergence}")
        return "\n".join(lines)

    def note(self) -> str:
        """What a figure of this region should say beside it: allowed inside, the statistic, and what was done with
        the model's other parameters (marginalised, fixed), in the figures' symbols."""
        note = _plot_note(self.statistic, self.marginalised, self.fixed, "allowed inside the contour")
        open_sides = self.open_edges()
        if open_sides:
            note += "\nthe region reaches the grid's " + ", ".join(open_sides) + " edge: it goes on beyond"
        return note

    def open_edges(self) -> List[str]:
        """The edges of the grid (left, right, bottom, top) that the allowed region touches: there it goes on."""
        inside = np.asarray(self.dchi2) <= self.level
        sides = (("left", inside[0, :]), ("right", inside[-1, :]), ("bottom", inside[:, 0]), ("top", inside[:, -1]))
        return [name for name, edge in sides if edge.any()]

    def plot(self, ax=None, label: Optional[str] = None, scale: Optional[Tuple[float, float]] = None,
             color: str = "C0", ls: str = "-", best_label: Optional[str] = "best fit", zoom: bool = False):
        """The contour Delta chi^2 = level on ``ax`` (the current pyplot Axes if None) and the best-fit point
        (+, labelled ``best_label``), labelled for a legend.  Axes in the parameters' display units
        (:mod:`cevns.labels`), or divided by ``scale`` if given.  ``zoom``: the frame on the region's extent padded
        by a third on each side (within the grid), not the whole grid."""
        from .labels import channel_label, level_label
        from .labels import label as param_label

        if ax is None:
            import matplotlib.pyplot as plt

            ax = plt.gca()
        labs = [param_label(p) for p in self.params]
        sc = tuple(lab.scale for lab in labs) if scale is None else scale
        ax.contour(self.x / sc[0], self.y / sc[1], self.dchi2.T, levels=[self.level], colors=color,
                   linestyles=ls)
        ax.plot([], [], color=color, ls=ls,
                label=label or f"{channel_label(self.channels)}, {level_label(self.cl)} C.L. ({self.dof} dof)")
        ax.plot(self.best[0] / sc[0], self.best[1] / sc[1], "+", color=color, label=best_label)
        for setlim, axis, span, s in zip((ax.set_xlim, ax.set_ylim), (self.x, self.y), self.extent().values(), sc):
            if zoom and span is not None:  # an empty region keeps the grid's frame
                pad = (span[1] - span[0]) / 3.0
                setlim(max(float(axis[0]), span[0] - pad) / s, min(float(axis[-1]), span[1] + pad) / s)
        ax.set_xlabel(labs[0].axis_for(sc[0]))
        ax.set_ylabel(labs[1].axis_for(sc[1]))
        return ax

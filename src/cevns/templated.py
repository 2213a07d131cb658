"""Builders of an experiment made of a release's templates (XENONnT 8B, issue 25): the solar 8B source
(``[source] kind = "solar-8b"``), the mono-energetic efficiency response (``[quenching] model =
"release-templates"``) and its binned Poisson likelihood (``[likelihood] kind = "templates"``), all reading the
``[templates]`` section.

The likelihood (:class:`cevns.poisson.PoissonLikelihood`, nuisances in units of their sigma, N(0, 1) priors):

* signal normalisation: the 8B flux, ``[likelihood] signal_sigma`` (relative);
* light yield (tly) and charge yield (tqy): relative signal-shape columns delta = [s(+1) - s(-1)] / (2 s(0)) per bin,
  from the SM signal folded through the templates at tly = +-1 (tqy = 0) and tqy = +-1 (tly = 0): the symmetric
  linear interpolation of the grid (pyhf's histosys, symmetrised).  Shared by the runs (one light and one charge
  yield of liquid xenon);
* backgrounds: accidental coincidences (AC), electronic recoils (ER), neutrons (at tly = tqy = 0), each with a
  relative normalisation uncertainty (``ac_sigma``, ``er_sigma``, ``neutron_sigma``), the same nuisance in every
  run;
* the neutrons' tly and tqy dependence: absolute background-shape columns [n(+1) - n(-1)] / 2, nuisances of their
  own (``PoissonLikelihood`` has no nuisance that is both a relative signal and an absolute background column).

docs/xenonnt.md gives the approximations' errors measured against the grid.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from ._files import csv_table, read_text_file
from .builders import response, source, statistic
from .errors import CevnsInputError
from .release_templates import BINS_PER_RUN, ReleaseTemplateResponse
from .solar import Solar8BSource

#: the element whose nuclear recoils the release's efficiencies describe (XENONnT: natural xenon)
TEMPLATE_ELEMENT = "Xe"

#: the light-yield and charge-yield nuisances of the signal and of the neutron background
YIELDS = ("tly", "tqy")


# --- reading the converted release files -----------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _table(path: str, mtime_ns: int, size: int) -> Tuple[Tuple[str, ...], Tuple[str, ...], np.ndarray]:
    """(header, first column (text), the other columns as numbers) of a CSV or .csv.gz (cached per file version)."""
    p = Path(path)
    if p.name.endswith(".gz"):
        try:
            text = gzip.decompress(p.read_bytes()).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as e:
            raise CevnsInputError(f"[templates] file {p.name}: not a gzip-compressed UTF-8 table ({e})") from None
    else:
        text = read_text_file(p, "[templates] file")
    header, rows = csv_table(text, f"[templates] file {p.name}")
    if not rows:
        raise CevnsInputError(f"[templates] file {p.name}: no rows")
    try:
        num = np.array([[float(c) for c in cells[1:]] for _, cells in rows])
    except ValueError:
        raise CevnsInputError(f"[templates] file {p.name}: every column after the first must hold numbers") from None
    if not np.all(np.isfinite(num)):
        raise CevnsInputError(f"[templates] file {p.name}: NaN or inf")
    return tuple(header), tuple(cells[0] for _, cells in rows), num


def read_release_table(path: Path, need: Tuple[str, ...]) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    """(run names per row, {column: values}) of a converted release table; ``need`` are required columns."""
    if not path.is_file():
        raise CevnsInputError(f"[templates] file {str(path)!r} " + ("is not a regular file" if path.exists()
                                                                       else "not found"))
    st = path.stat()
    header, runs, num = _table(str(path), st.st_mtime_ns, st.st_size)
    missing = [c for c in need if c not in header]
    if header[0] != "run" or missing:
        raise CevnsInputError(f"[templates] file {path.name}: needs the columns run, {', '.join(need)}; has "
                              f"{', '.join(header)}"[:300])
    return np.array(runs), {h: num[:, i] for i, h in enumerate(header[1:])}


def _bin_columns() -> Tuple[str, ...]:
    return tuple(f"b{k:02d}" for k in range(BINS_PER_RUN))


def _exposures(t: Dict[str, Any], base: Path) -> Dict[str, float]:
    runs, cols = read_release_table(base / str(t["runs_file"]), ("exposure_t_yr",))
    twice = sorted({str(r) for r in runs if list(runs).count(r) > 1})
    if twice:
        raise CevnsInputError(f"[templates] runs_file: run(s) {twice} listed more than once")
    return {r: float(e) for r, e in zip(runs, cols["exposure_t_yr"])}


def _events(t: Dict[str, Any], base: Path) -> Dict[str, float]:
    """The runs file's ``events`` column (the observed total of each run), if it has one."""
    runs, cols = read_release_table(base / str(t["runs_file"]), ("exposure_t_yr",))
    return {str(r): float(e) for r, e in zip(runs, cols["events"])} if "events" in cols else {}


def _known_runs(names: np.ndarray, known, path: Path) -> None:
    """Every row of a release table must belong to a run of the runs file (a stray run is a mislabelled row)."""
    stray = sorted(set(str(n) for n in names) - set(known))
    if stray:
        raise CevnsInputError(f"[templates] file {path.name}: rows of run(s) {stray} not in the runs file "
                              f"({', '.join(sorted(known))})")


def _selected(t: Dict[str, Any], known) -> List[str]:
    runs = [str(r) for r in t["runs"]]
    bad = [r for r in runs if r not in known]
    if bad or len(set(runs)) != len(runs) or not runs:
        raise CevnsInputError(f"[templates] runs must name each run once, from {', '.join(sorted(known))}; got {runs}")
    return runs


def _grid(path: Path, runs: List[str], extra: Tuple[str, ...], known) -> Tuple[Tuple[float, ...], Tuple[float, ...], Any,
                                                                             np.ndarray]:
    """(tly values, tqy values, extra axis values, array (n_tly, n_tqy, [n_extra,] 81 x n_runs)) of a grid table;
    ``known``: the runs of the runs file (a row of another run is refused, as is a grid point listed twice)."""
    names, cols = read_release_table(path, ("tly", "tqy") + extra + _bin_columns())
    _known_runs(names, known, path)
    tly, tqy = tuple(np.unique(cols["tly"])), tuple(np.unique(cols["tqy"]))
    ex = np.unique(cols[extra[0]]) if extra else np.zeros(1)
    bins = np.stack([cols[c] for c in _bin_columns()], axis=1)
    out = np.full((len(tly), len(tqy), ex.size, BINS_PER_RUN * len(runs)), np.nan)
    for k, run in enumerate(runs):
        rows = np.flatnonzero(names == run)
        if rows.size > len(tly) * len(tqy) * ex.size:
            raise CevnsInputError(f"[templates] file {path.name}: run {run} lists a grid point (tly, tqy"
                                  f"{', ' + extra[0] if extra else ''}) more than once")
        i = np.searchsorted(tly, cols["tly"][rows])
        j = np.searchsorted(tqy, cols["tqy"][rows])
        e = np.searchsorted(ex, cols[extra[0]][rows]) if extra else np.zeros(rows.size, dtype=int)
        out[i, j, e, k * BINS_PER_RUN:(k + 1) * BINS_PER_RUN] = bins[rows]
    if np.isnan(out).any():
        raise CevnsInputError(f"[templates] file {path.name}: the grid of runs {runs} x tly x tqy"
                              f"{' x ' + extra[0] if extra else ''} is incomplete")
    return tuple(float(x) for x in tly), tuple(float(x) for x in tqy), ex, out if extra else out[:, :, 0]


# --- the parts -----------------------------------------------------------------------------------------------------
@source("solar-8b")
def solar_source(cfg: Dict[str, Any], base_dir: Path) -> Solar8BSource:
    """The Sun's 8B neutrinos ([source]: total flux, survival probability, nu_mu share; cevns.solar)."""
    s = cfg["source"]
    return Solar8BSource(flux_cm2_s=float(s["flux_cm2_s"]), p_ee=float(s["p_ee"]), mu_fraction=float(s["mu_fraction"]))


@response("release-templates")
def template_response(cfg: Dict[str, Any], base_dir: Path, target: Any, name: str, source: Any = None) -> Dict[str, Any]:
    """The release's mono-energetic efficiencies of the selected runs ([templates]; cevns.release_templates)."""
    t = cfg["templates"]
    exposure = _exposures(t, base_dir)
    runs = _selected(t, exposure)
    if target.element != TEMPLATE_ELEMENT:
        raise CevnsInputError(f"[templates] the release's efficiencies are for {TEMPLATE_ELEMENT} nuclear recoils: "
                              f"[target] element must be {TEMPLATE_ELEMENT!r}, got {target.element!r}")
    tly, tqy, energies, grid = _grid(base_dir / str(t["efficiency_file"]), runs, ("E_keVnr",), exposure)
    step = float(t["energy_step_keV"])
    if energies.size > 1 and np.max(np.abs(np.diff(energies) - step)) > 1e-6 * step:
        raise CevnsInputError(f"[templates] energy_step_keV = {step:g}, but the templates' energies are "
                              f"{energies[1] - energies[0]:g} keV apart")
    r = ReleaseTemplateResponse(tuple(runs), tuple(exposure[x] for x in runs), np.asarray(energies, dtype=float),
                                tly, tqy, grid, step, float(t["year_days"]))
    return {"response": r}


def _sm_signal(exp: Any, at: Tuple[float, float]) -> np.ndarray:
    """The SM CEvNS counts per bin with the efficiencies at the grid point ``at`` = (tly, tqy)."""
    from .models import StandardModel
    from .rates import ResponseEngine

    moved = dataclasses.replace(exp.response, at=at)
    return ResponseEngine(exp.target, exp.source, moved, None, exp.numerics).rates(StandardModel(), "cevns")


def signal_at(exp: Any, tly: float, tqy: float) -> np.ndarray:
    """The SM signal per bin at a grid point of the yields (for the checks of docs/xenonnt.md and the tests)."""
    return _sm_signal(exp, (float(tly), float(tqy)))


def _backgrounds(exp: Any, t: Dict[str, Any]) -> Tuple[np.ndarray, List[np.ndarray], np.ndarray]:
    """Observed counts, [AC, ER, neutron] in events per bin, and the neutron grid (n_tly, n_tqy, n_bins) in events."""
    from .counting import _check_events

    r = exp.response
    names, cols = read_release_table(exp.base_dir / str(t["bins_file"]), ("bin", "observed", "ac_per_t_yr",
                                                                          "er_per_t_yr"))
    known = _exposures(t, exp.base_dir)
    _known_runs(names, known, exp.base_dir / str(t["bins_file"]))
    counts, ac, er = (np.zeros(r.n_energy_bins) for _ in range(3))
    for k, run in enumerate(r.runs):
        rows = np.flatnonzero(names == run)
        b = cols["bin"][rows].astype(int)
        if rows.size != BINS_PER_RUN or sorted(b) != list(range(BINS_PER_RUN)):
            raise CevnsInputError(f"[templates] bins_file: run {run} must list each of its {BINS_PER_RUN} bins once")
        off, e = k * BINS_PER_RUN, r.exposures_t_yr[k]
        counts[off + b], ac[off + b], er[off + b] = cols["observed"][rows], cols["ac_per_t_yr"][rows] * e, \
            cols["er_per_t_yr"][rows] * e
    if np.any(counts < 0) or np.any(counts != np.round(counts)) or ac.min() < 0 or er.min() < 0:
        raise CevnsInputError("[templates] bins_file: counts must be whole numbers >= 0 and templates >= 0")
    _check_events(np.concatenate([ac, er]), "[templates] bins_file: a background template")
    _check_totals(counts, _events(t, exp.base_dir), r)
    tly, tqy, _, ngrid = _grid(exp.base_dir / str(t["neutron_file"]), list(r.runs), (), known)
    if (tly, tqy) != (r.tly, r.tqy):
        raise CevnsInputError("[templates] the neutron and efficiency templates have different tly, tqy grids")
    if ngrid.min() < 0:
        raise CevnsInputError("[templates] neutron_file: the neutron template must be >= 0 in every bin")
    ngrid = ngrid * np.repeat(np.asarray(r.exposures_t_yr), BINS_PER_RUN)
    _check_events(ngrid, "[templates] neutron_file: the neutron template")
    i0, j0 = r.tly.index(0.0), r.tqy.index(0.0)
    return counts, [ac, er, ngrid[i0, j0]], ngrid


def _check_totals(counts: np.ndarray, events: Dict[str, float], r: ReleaseTemplateResponse) -> None:
    """The runs file's ``events`` of each run must be the sum of its bins' observed counts."""
    for run, sl in zip(r.runs, r.run_slices()):
        if run in events and events[run] != counts[sl].sum():
            raise CevnsInputError(f"[templates] run {run}: the runs file says {events[run]:g} events, its bins in "
                                  f"bins_file hold {counts[sl].sum():g}")


def _variation(r: ReleaseTemplateResponse, axis: str, fn) -> np.ndarray:
    """[f(+1) - f(-1)] / 2 along the yield ``axis`` ('tly' or 'tqy'), the other at 0."""
    pts = [(s, 0.0) if axis == "tly" else (0.0, s) for s in (1.0, -1.0)]
    if any(p[0] not in r.tly or p[1] not in r.tqy for p in pts):
        raise CevnsInputError(f"[templates] the grid must hold {axis} = +-1")
    return 0.5 * (fn(pts[0]) - fn(pts[1]))


@statistic("templates")
def template_statistic(exp: Any, lik: Dict[str, Any]) -> None:
    """The binned Poisson likelihood of a template experiment (module docstring)."""
    from .counting import Counting, CountingData
    from .poisson import PoissonLikelihood

    t = exp.config["templates"]
    r = exp.response
    counts, bkgs, ngrid = _backgrounds(exp, t)
    nominal = _sm_signal(exp, (0.0, 0.0))
    live = nominal > 1e-9 * nominal.sum()  # bins at the templates' floor (2.8e-16): no relative shape
    shapes, nshapes = [], []
    for axis in YIELDS:
        d = _variation(r, axis, lambda p: _sm_signal(exp, p))
        shapes.append(np.where(live, d / np.where(live, nominal, 1.0), 0.0))
        nshapes.append(_variation(r, axis, lambda p: ngrid[r.tly.index(p[0]), r.tqy.index(p[1])]))
    sig = [float(t["ac_sigma"]), float(t["er_sigma"]), float(t["neutron_sigma"])]
    bnames = ["accidental coincidence", "electronic recoil", "neutron"]
    sigma_s = float(lik["signal_sigma"])
    names = (["signal normalisation"] if sigma_s > 0 else []) + ["light yield", "charge yield"] \
        + [n for n, s in zip(bnames, sig) if s > 0] + ["neutron light yield", "neutron charge yield"]
    like = PoissonLikelihood(counts, np.array(bkgs), sig, sigma_s, np.array(shapes), np.array(nshapes), names)
    edges = np.arange(counts.size + 1, dtype=float)
    data = CountingData(edges, None, counts, np.sqrt(np.maximum(counts, 1.0)),
                        description=f"{t['bins_file']} (runs {', '.join(r.runs)})", unit="index")
    exp.counting = Counting(data, like, bnames, ["light yield", "charge yield"])
    exp.data = data
    exp.sigma_alpha = sigma_s
    like.tags = dict(exp.shared_nuisances)
    unknown = set(exp.shared_nuisances) - set(like.names)
    if unknown:
        raise CevnsInputError(f"[likelihood] shared: unknown nuisance(s) {sorted(unknown)}; known: {like.names}")

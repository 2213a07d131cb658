"""Counting experiments (COHERENT CsI, LAr): observed counts, backgrounds and nuisances in energy x time bins.

Reads the ``[data]``, ``[likelihood]``, ``[[backgrounds]]`` and ``[[signal_shapes]]`` sections of an
experiment file and builds the :class:`cevns.poisson.PoissonLikelihood` of the experiment.  Bins are
energy-major (index = energy bin x n_time + time bin), as in :mod:`cevns.rates`.

* ``[data] kind = "events"``: an event list (columns ``energy``, ``time``) binned here; ``"table"``: a table
  of bin centres and counts (e.g. the LAr release's 3D PDFs), each row added to the bin holding its centre
  (summing over any other axis, e.g. F90).
* ``[[backgrounds]]``: ``kind = "events"`` (binned like the data; ``time_shape`` keeps the energy projection
  and spreads it over the time bins, a steady-state background: ``"uniform"`` flat, ``"time-efficiency"``
  through the detector's time efficiency, ``"exponential"`` its decay from t = 0: :func:`time_profile`), ``"projections"``
  (an energy shape, normalised to one inside the energy range, times a time shape in absolute counts per
  fine bin, times the time efficiency) or ``"table"``; ``normalisation`` rescales to that many events in the
  analysis region, ``sigma`` is its relative uncertainty; ``shapes`` are +-1 sigma template columns.
* ``[[signal_shapes]]``: ``key = "quenching.coefficients"`` or ``"detector.efficiency"`` with ``plus`` /
  ``minus`` values (the SM signal recomputed with them), or ``template`` columns of a table (relative
  changes of the release's signal template applied to ours).  Each becomes a relative signal-shape nuisance.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .detector import TimeEfficiency
from .errors import CevnsInputError
from .poisson import PoissonLikelihood
from .readers import MAX_ROWS, read_table, recoil_response  # noqa: F401  (MAX_ROWS: re-exported)


@dataclass(frozen=True)
class CountingData:
    """Observed counts in energy x time bins (flattened energy-major), with sqrt(n) display errors."""

    energy_edges: np.ndarray
    time_edges: Optional[np.ndarray]
    counts: np.ndarray
    sigma: np.ndarray
    description: str = ""
    unit: str = "PE"

    @property
    def shape(self):
        return (self.energy_edges.size - 1, 1 if self.time_edges is None else self.time_edges.size - 1)


@dataclass
class Counting:
    """What a counting experiment adds to the engine: data, backgrounds, the likelihood and its nuisances."""

    dataset: CountingData
    likelihood: PoissonLikelihood
    background_names: List[str]
    signal_shape_names: List[str]


def _columns(spec: Dict[str, Any], what: str, roles: Sequence[str]) -> List[str]:
    cols = spec.get("columns")
    if not isinstance(cols, dict) or any(r not in cols for r in roles):
        raise CevnsInputError(f"{what}: columns must name {list(roles)}, e.g. {{ energy = 'pe', time = 't_us' }}")
    return [str(cols[r]) for r in roles]


def _tables(v: Any, what: str) -> List[Dict[str, Any]]:
    """An array of tables (``[[what]]`` entries, or an inline list of tables), else a clear error."""
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise CevnsInputError(f"{what} must be a list of tables ([[...]] entries), got {v!r}"[:300])
    return v


def _bin2d(e: np.ndarray, t: np.ndarray, w: np.ndarray, ee: np.ndarray, te: Optional[np.ndarray]) -> np.ndarray:
    """Histogram in [lo, hi) bins, energy-major flattening."""
    tt = np.zeros_like(e) if te is None else t
    tedges = np.array([-np.inf, np.inf]) if te is None else te
    h, _, _ = np.histogram2d(e, tt, bins=[ee, tedges], weights=w)
    # np.histogram2d closes the last bin on the right; keep [lo, hi): drop entries exactly on the top edges
    top = (e == ee[-1]) | ((te is not None) & (tt == tedges[-1]))
    if np.any(top):
        h2, _, _ = np.histogram2d(e[top], tt[top], bins=[ee, tedges], weights=w[top])
        h = h - h2
    return h.ravel()


def _check_aligned(centres: np.ndarray, edges: np.ndarray, what: str, name: str) -> None:
    """A table of bin centres can only be summed into bins whose edges are edges of its own bins."""
    c = np.unique(centres)
    if c.size < 2:
        return
    mids = 0.5 * (c[1:] + c[:-1])
    own = np.concatenate([[c[0] - (mids[0] - c[0])], mids, [c[-1] + (c[-1] - mids[-1])]])
    tol = 1e-9 * max(1.0, float(np.abs(own).max()))
    bad = [float(e) for e in edges if np.min(np.abs(own - e)) > tol]
    if bad:
        raise CevnsInputError(f"{what}: {name} {bad} fall inside the table's bins; a table can only be summed into "
                              f"bins made of whole table bins (its edges: {', '.join(f'{x:g}' for x in own)})")


def _check_event_list(a: np.ndarray, te: Optional[np.ndarray], what: str, name: str) -> None:
    """An event list's times must fall in the detector's time bins (most of them: times in ns read as us fall far
    outside), the bins must not reach past the data, and events listed twice are refused (half or more of them
    repeated) or reported (a CevnsWarning)."""
    if te is None:
        raise CevnsInputError(f"{what}: an event list has arrival times ({name}), but [detector] has no time_edges_us: "
                              "without time bins the signal would be counted over all times and the events only over "
                              "the times the file covers; give time_edges_us")
    n = a.shape[0]
    inside = (a[:, 1] >= te[0]) & (a[:, 1] < te[-1])
    if n >= 20 and inside.mean() < 0.5:
        raise CevnsInputError(f"{what}: {n - int(inside.sum())} of {n} events lie outside the time bins [{te[0]:g}, "
                              f"{te[-1]:g}] us (times in {name} up to {a[:, 1].max():.4g}): are they in ns, not us?")
    if n >= 100 and a[inside, 1].max(initial=te[0]) < te[-2]:
        raise CevnsInputError(f"{what}: no event after {a[inside, 1].max(initial=te[0]):.4g} us, but the time bins reach "
                              f"{te[-1]:g} us: the last bin [{te[-2]:g}, {te[-1]:g}] lies outside the data in {name}")
    _, repeats = np.unique(a, axis=0, return_counts=True)
    twice = int((repeats - 1).sum())
    if twice and twice >= n / 2:
        raise CevnsInputError(f"{what}: {twice} of the {n} events in {name} repeat another one exactly (every event "
                              "listed twice?)")
    if twice:
        import warnings

        from .errors import CevnsWarning

        warnings.warn(f"{what}: {twice} of the {n} events in {name} repeat another one exactly (energy and time)",
                      CevnsWarning, stacklevel=2)


@functools.lru_cache(maxsize=32)
def _repeated_rows(path: str, mtime_ns: int, size: int) -> int:
    """How many rows of a table repeat another in every column (cached per file version: a table is read by its
    data, its backgrounds and its templates alike)."""
    from .readers import table_columns

    _, repeats = np.unique(table_columns(Path(path)), axis=0, return_counts=True)
    return int((repeats - 1).sum())


def _check_table_cells(a: np.ndarray, path: Path, what: str, counts: bool) -> None:
    """A table of bin centres holds every cell of its grid once: no row repeated in every column, and every
    (energy, time) pair present as often as the others (a further axis, e.g. F90, summed over, complete);
    observed counts are whole numbers >= 0."""
    st = path.stat()
    repeated = _repeated_rows(str(path), st.st_mtime_ns, st.st_size)  # each file read once, whatever reads it
    if repeated:
        raise CevnsInputError(f"{what}: {repeated} rows of {path.name} repeat another row in every column: each cell "
                              "once")
    pairs, per_pair = np.unique(a[:, :2], axis=0, return_counts=True)
    n_e, n_t = np.unique(a[:, 0]).size, np.unique(a[:, 1]).size
    if pairs.shape[0] != n_e * n_t or per_pair.min() != per_pair.max():
        raise CevnsInputError(f"{what}: {path.name} does not cover its {n_e} x {n_t} grid of (energy, time) bin centres "
                              f"evenly ({pairs.shape[0]} pairs, {per_pair.min()} to {per_pair.max()} rows each): a cell "
                              "is missing or repeated (give every cell, 0 where empty)")
    if counts:
        v = a[:, 2]
        bad = np.flatnonzero((v < 0) | (np.abs(v - np.round(v)) > 1e-9 * np.maximum(1.0, np.abs(v))))
        if bad.size:
            raise CevnsInputError(f"{what}: observed counts must be whole numbers >= 0; {path.name} has {v[bad[0]]:g} "
                                  f"(and {bad.size - 1} more such cells)")


def _rebin_1d(centres: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of values whose centre lies in each [lo, hi) bin."""
    k = np.searchsorted(edges, centres, side="right") - 1
    ok = (k >= 0) & (k < edges.size - 1)
    return np.bincount(k[ok], weights=values[ok], minlength=edges.size - 1)


def _binned(exp, spec: Dict[str, Any], what: str, value_col: Optional[str] = None) -> np.ndarray:
    """Counts per analysis bin of an events or table source described by ``spec``."""
    r = exp.response
    ee = np.asarray(r.edges, dtype=float)
    te = None if r.time_edges_us is None else np.asarray(r.time_edges_us, dtype=float)
    kind = spec.get("kind")
    path = exp.base_dir / str(spec.get("file"))
    if kind == "events":
        ce, ct = _columns(spec, what, ("energy", "time"))
        a = read_table(path, [ce, ct])
        _check_event_list(a, te, what, path.name)
        if "time_shape" not in spec:
            return _bin2d(a[:, 0], a[:, 1], np.ones(a.shape[0]), ee, te)
        shape = spec["time_shape"]
        if shape not in TIME_SHAPES:
            raise CevnsInputError(f"{what}: time_shape must be one of {', '.join(map(repr, TIME_SHAPES))} (or absent), "
                                  f"got {shape!r}")
        if te is None:
            raise CevnsInputError(f"{what}: time_shape = {shape!r} needs time bins")
        inside = (a[:, 1] >= te[0]) & (a[:, 1] < te[-1])
        e_counts = _rebin_1d(a[inside, 0], np.ones(int(inside.sum())), ee)
        frac = time_profile(shape, te, r.time_efficiency)
        return np.outer(e_counts, frac / frac.sum()).ravel()
    if kind == "table":
        ce, ct, cv = _columns(spec, what, ("energy", "time", "value"))
        cv = value_col or cv
        a = read_table(path, [ce, ct, cv])
        _check_table_cells(a, path, what, counts=what == "[data]" and value_col is None)
        if np.any(a[:, 2] < 0):  # expected events (a background, a signal template) cannot be negative
            raise CevnsInputError(f"{what}: column {cv!r} of {path.name} holds {a[:, 2].min():g}: expected events per "
                                  "cell must be >= 0")
        _check_aligned(a[:, 0], ee, what, "energy_edges")
        if te is not None:
            _check_aligned(a[:, 1], te, what, "time_edges_us")
        return _bin2d(a[:, 0], a[:, 1], a[:, 2], ee, te)
    if kind == "projections":
        ec, tc = spec.get("energy_columns"), spec.get("time_columns")
        if not isinstance(ec, dict) or not isinstance(tc, dict):
            raise CevnsInputError(f"{what}: projections need energy_columns and time_columns {{ centre, value }}")
        ea = read_table(exp.base_dir / str(spec.get("energy_file")), [str(ec.get("centre")), str(ec.get("value"))])
        ta = read_table(exp.base_dir / str(spec.get("time_file")), [str(tc.get("centre")), str(tc.get("value"))])
        e_shape = _rebin_1d(ea[:, 0], ea[:, 1], ee)
        if e_shape.sum() <= 0:
            raise CevnsInputError(f"{what}: the energy shape is empty inside the analysis bins")
        e_shape = e_shape / e_shape.sum()
        if te is None:
            return e_shape * ta[:, 1].sum()
        t_counts = _rebin_1d(ta[:, 0], ta[:, 1] * r.time_efficiency(ta[:, 0]), te)
        return np.outer(e_shape, t_counts).ravel()
    raise CevnsInputError(f"{what}: kind must be 'events', 'table' or 'projections', got {kind!r}")


#: time shapes of a steady-state ("events") background: its energy projection spread over the time bins
TIME_SHAPES = ("uniform", "time-efficiency", "exponential")


def time_profile(shape: str, time_edges_us: Any, efficiency: TimeEfficiency) -> np.ndarray:
    """Relative content of each time bin of a steady-state background (not normalised).

    "uniform": flat in time (the bin widths); "time-efficiency": flat in time seen through the detector's
    time efficiency, as the signal is (its integral over each bin); "exponential": the efficiency's decay
    from t = 0 with its plateau left out, exp(-t/decay) (the form of the COHERENT group's fitting code,
    docs/coherent.md)."""
    edges = np.asarray(time_edges_us, dtype=float)
    if shape == "uniform":
        return np.diff(edges)
    if shape == "exponential":
        efficiency = TimeEfficiency(0.0, efficiency.decay_us)
    return efficiency.integral(edges)


def _table_total(exp, spec: Dict[str, Any], what: str) -> float:
    cv = _columns(spec, what, ("energy", "time", "value"))[2]
    return float(read_table(exp.base_dir / str(spec.get("file")), [cv])[:, 0].sum())


def _signal_variant(exp, key: str, value: Any, what: str = "signal shape") -> np.ndarray:
    """SM CEvNS signal per bin with one detector input changed (``key`` = "quenching.coefficients" or
    "detector.efficiency")."""
    if value is None:  # the +1 sigma value is the variation; a -1 sigma one alone has no partner
        raise CevnsInputError(f"{what} ({key}): needs plus = the +1 sigma value (minus is optional)")
    from .models import StandardModel
    from .rates import ResponseEngine

    sec, field = key.split(".", 1)
    cfg = copy.deepcopy(exp.config)
    cfg.setdefault(sec, {})[field] = value
    response = recoil_response(cfg, exp.base_dir)
    E, m = exp.source.max_energy_MeV, min(iso.mass_MeV for iso in exp.target.isotopes)
    response.check_quenching_factor(2.0 * E * E / (m + 2.0 * E))  # the +-1 sigma variations too
    engine = ResponseEngine(exp.target, exp.source, response, exp.binding, exp.numerics)
    return engine.rates(StandardModel(), "cevns")


def _check_events(counts: np.ndarray, what: str) -> None:
    """Counts per bin must be finite and at most :data:`cevns.rates.MAX_EVENTS` (the likelihood overflows beyond)."""
    from .rates import MAX_EVENTS

    with np.errstate(invalid="ignore"):
        top = float(np.max(np.abs(counts), initial=0.0))
    if not np.all(np.isfinite(counts)) or top > MAX_EVENTS:
        raise CevnsInputError(f"{what}: {top:.3g} events in a bin, more than {MAX_EVENTS:.0e} (check its normalisation "
                              "and values)")


def build_counting(exp, lik: Dict[str, Any]) -> Counting:
    """The data, backgrounds and Poisson likelihood of a counting experiment (module docstring)."""
    from .models import StandardModel

    spec = exp.config.get("data")
    r = exp.response
    ee = np.asarray(r.edges, dtype=float)
    te = None if r.time_edges_us is None else np.asarray(r.time_edges_us, dtype=float)
    # without [data] the counts are zeros: predictions and Asimov data only (Experiment.data is None)
    counts = _binned(exp, spec, "[data]") if spec is not None else np.zeros((ee.size - 1) * (1 if te is None else
                                                                                            te.size - 1))
    _check_events(counts, "[data]")
    data = CountingData(ee, te, counts, np.sqrt(np.maximum(counts, 1.0)),
                        description=str(spec.get("file")) if spec is not None else "no data", unit=r.observable)
    bkgs, bsig, bnames, bshapes, bshape_names = [], [], [], [], []
    for i, b in enumerate(_tables(exp.config.get("backgrounds", []), "[[backgrounds]]")):
        what = f"[[backgrounds]] {b.get('name', i + 1)}"
        shape = _binned(exp, b, what)
        norm = b.get("normalisation")
        scale = 1.0
        if norm is not None:
            # a table's normalisation is its whole content (the release's region), so fewer analysis bins keep
            # their share; for events and projections it is the count in the analysis bins
            total = _table_total(exp, b, what) if b.get("kind") == "table" else shape.sum()
            if total <= 0 or shape.sum() <= 0:
                raise CevnsInputError(f"{what}: empty inside the analysis bins, cannot be normalised")
            scale = float(norm) / total  # >= 0 by the schema
        sig = float(b.get("sigma", 0.0))  # >= 0 by the schema
        _check_events(shape * scale, what)
        bkgs.append(shape * scale)
        bsig.append(sig)
        bnames.append(str(b.get("name", f"background {i + 1}")))
        for sh in _tables(b.get("shapes", []), f"{what} shapes"):
            plus = _binned(exp, b, what, str(sh.get("plus"))) * scale
            minus = _binned(exp, b, what, str(sh["minus"])) * scale if "minus" in sh else None
            bshapes.append(0.5 * (plus - minus) if minus is not None else plus - shape * scale)
            _check_events(bshapes[-1], f"{what} shape {sh.get('name', 'shape')}")
            bshape_names.append(str(sh.get("name", "shape")))
    nominal = exp.engine.rates(StandardModel(), "cevns")
    safe = np.where(nominal > 0, nominal, 1.0)
    sshapes, snames = [], []
    for i, sh in enumerate(_tables(exp.config.get("signal_shapes", []), "[[signal_shapes]]")):
        what = f"[[signal_shapes]] {sh.get('name', i + 1)}"
        if "template" in sh:
            t = sh["template"]
            if not isinstance(t, dict):
                raise CevnsInputError(f"{what}: template must be a table {{ file, nominal, plus, minus }}, got {t!r}")
            if spec is None or spec.get("kind") != "table":
                raise CevnsInputError(f"{what}: a template needs [data] kind = 'table' (its energy and time columns)")
            ce, ct = _columns(spec, "[data] (for a signal template)", ("energy", "time"))
            tspec = {"kind": "table", "file": t.get("file"), "columns": {"energy": ce, "time": ct,
                                                                          "value": t.get("nominal")}}
            nom = _binned(exp, tspec, what)
            plus = _binned(exp, tspec, what, str(t.get("plus")))
            minus = _binned(exp, tspec, what, str(t["minus"])) if "minus" in t else None
            for column in (nom, plus) + (() if minus is None else (minus,)):
                _check_events(column, f"{what} template")
            diff = 0.5 * (plus - minus) if minus is not None else plus - nom
            rel = np.where(nom > 0, diff / np.where(nom > 0, nom, 1.0), 0.0)
        else:
            key = sh.get("key")
            if key not in ("quenching.coefficients", "detector.efficiency"):
                raise CevnsInputError(f"{what}: key must be 'quenching.coefficients' or 'detector.efficiency'")
            plus = _signal_variant(exp, key, sh.get("plus"), what)
            minus = _signal_variant(exp, key, sh["minus"]) if "minus" in sh else None
            diff = 0.5 * (plus - minus) if minus is not None else plus - nominal
            rel = np.where(nominal > 0, diff / safe, 0.0)
        sshapes.append(rel)
        snames.append(str(sh.get("name", f"signal shape {i + 1}")))
    sigma_s = float(lik.get("signal_sigma", 0.0))
    names = (["signal normalisation"] if sigma_s > 0 else []) + snames \
        + [n for n, s in zip(bnames, bsig) if s > 0] + bshape_names
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CevnsInputError(f"nuisance name(s) {', '.join(map(repr, twice))} given twice in one file: name each "
                              "nuisance once (nuisances of different files merge only through [likelihood] shared)")
    like = PoissonLikelihood(counts, np.array(bkgs) if bkgs else None, bsig, sigma_s,
                             np.array(sshapes) if sshapes else None, np.array(bshapes) if bshapes else None, names)
    return Counting(data, like, bnames, snames)


def with_data(c: Counting, counts: np.ndarray, description: str) -> Counting:
    """The same counting experiment with other observed counts (e.g. Asimov data); nuisances unchanged."""
    L = c.likelihood
    like = PoissonLikelihood(counts, L.backgrounds, L.background_sigmas, L.signal_sigma, L.signal_shapes,
                             L.background_shapes, L.names)
    d = c.dataset
    data = CountingData(d.energy_edges, d.time_edges, np.asarray(counts, dtype=float),
                        np.sqrt(np.maximum(counts, 1.0)), description, d.unit)
    return Counting(data, like, c.background_names, c.signal_shape_names)

"""Readers of an experiment's inputs: its data files (a chi^2 spectrum, numeric tables) and the parts of a counting
detector (response, efficiency), from the validated configuration (:func:`cevns.schema.validate`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._files import data_table, is_number, read_text_file
from .detector import Logistic, RecoilResponse, Tabulated, TimeEfficiency, check_bins
from .errors import CevnsInputError
from .schema import MAX_ITEMS


# --- the chi^2 data of a reactor experiment --------------------------------------------------------------------
@dataclass(frozen=True)
class Dataset:
    """Observed counts per bin with 1 sigma errors (both in events), and the bin edges [eV_ee]."""

    edges_eVee: np.ndarray
    counts: np.ndarray
    sigma: np.ndarray
    description: str = ""


_ROLES = ("lo", "hi", "value", "sigma")


def read_spectrum(path: Path, spec: Dict[str, Any]) -> Dataset:
    """The ``[data]`` spectrum of a chi^2 experiment: contiguous bins [eV_ee] with values and 1 sigma errors, in
    counts (or per kg, times ``normalisation_mass_kg``), the errors times ``error_scale``."""
    cols = spec["columns"]
    scale = float(spec["normalisation_mass_kg"]) if spec["units"] == "counts_per_kg" else 1.0
    if not path.is_file():
        raise CevnsInputError(f"[data] file {str(path)!r} not found")
    header, body = data_table(read_text_file(path, "data file"), f"data file {path.name}", MAX_ITEMS, "bins")
    for role in _ROLES:
        if cols[role] not in header:
            raise CevnsInputError(f"data file {path.name}: missing column {cols[role]!r} ({role}); has {header}")
    idx = [header.index(cols[r]) for r in _ROLES]
    a = np.array([_spectrum_row(path.name, lineno, fields, idx, cols) for lineno, fields in body])
    if np.any(np.abs(a[1:, 0] - a[:-1, 1]) > 1e-9):
        raise CevnsInputError(f"data file {path.name}: bins must be contiguous and ordered (each lo = previous hi)")
    if spec.get("edges_unit", "eVee") == "keVee":
        a[:, :2] *= 1e3
    edges = check_bins(np.concatenate([a[:, 0], a[-1:, 1]]))
    err_scale = float(spec["error_scale"])
    if np.abs(a[:, 2:4]).max() > 1e100 / (scale * max(err_scale, 1.0)):
        raise CevnsInputError(f"data file {path.name}: values or errors above 1e100 events in a bin (after the "
                              "normalisation mass and error_scale)")
    return Dataset(edges, a[:, 2] * scale, a[:, 3] * scale * err_scale, description=str(path.name))


def _spectrum_row(name: str, lineno: int, fields: List[str], idx: List[int], cols: Dict[str, str]) -> Tuple[float, ...]:
    try:
        vals = tuple(float(fields[i]) for i in idx)
    except ValueError:
        bad = next(r for r, i in zip(_ROLES, idx) if not is_number(fields[i]))
        raise CevnsInputError(f"data file {name}, line {lineno}: expected numbers in columns "
                              f"{[cols[r] for r in _ROLES]}; {cols[bad]} holds {fields[idx[_ROLES.index(bad)]][:60]!r}"
                              ) from None
    if not all(np.isfinite(vals)):
        raise CevnsInputError(f"data file {name}, line {lineno}: NaN or inf")
    if vals[3] <= 0:
        raise CevnsInputError(f"data file {name}, line {lineno}: sigma must be > 0, got {vals[3]:g}")
    if vals[1] <= vals[0]:
        raise CevnsInputError(f"data file {name}, line {lineno}: empty bin [{vals[0]:g}, {vals[1]:g}]")
    return vals


#: the most rows a data table may have (its size is capped too: :data:`cevns._files.MAX_FILE_BYTES`)
MAX_ROWS = 1_000_000


def read_table(path: Path, columns: Sequence[str]) -> np.ndarray:
    """Numeric columns ``columns`` of a CSV with a header (``#`` comment lines skipped): (n_rows, n_columns)."""
    text = read_text_file(path, "data file")
    header, lines = data_table(text, f"data file {path.name}", MAX_ROWS)
    missing = [c for c in columns if c not in header]
    if missing:
        raise CevnsInputError(f"data file {path.name}: missing column(s) {missing}; has {header}")
    idx = [header.index(c) for c in columns]
    out = np.empty((len(lines), len(columns)))
    for r, (lineno, f) in enumerate(lines):
        try:
            out[r] = [float(f[i]) for i in idx]
        except ValueError:
            bad = next(j for j, i in enumerate(idx) if not is_number(f[i]))
            raise CevnsInputError(f"data file {path.name}, line {lineno}: expected numbers in {list(columns)}; "
                                  f"{columns[bad]} holds {f[idx[bad]][:60]!r}") from None
    if not np.all(np.isfinite(out)):
        raise CevnsInputError(f"data file {path.name}: NaN or inf")
    return out


def table_columns(path: Path) -> np.ndarray:
    """Every column of a numeric data table (n_rows, n_columns): for checks that look at whole rows."""
    header, _ = data_table(read_text_file(path, "data file"), f"data file {path.name}", MAX_ROWS)
    return read_table(path, header)


def efficiency(spec: Optional[Dict[str, Any]], base_dir: Path) -> Any:
    """A detector efficiency in the observable: logistic {a, b, c, d} or a table (file, x, value); None: 1."""
    if spec is None:
        return None
    if spec["kind"] == "logistic":
        return Logistic(*(float(spec[k]) for k in "abcd"))
    tab = read_table(base_dir / str(spec["file"]), [str(spec["x"]), str(spec["value"])])
    return Tabulated(tuple(tab[:, 0]), tuple(tab[:, 1]))


def recoil_response(cfg: Dict[str, Any], base_dir: Path) -> RecoilResponse:
    """Spallation-source detectors (COHERENT CsI, LAr): quenching curve, spread, efficiency, time bins."""
    q, d = cfg["quenching"], cfg["detector"]
    te = d.get("time_efficiency", {"t0_us": 0.0, "decay_us": float("inf")})
    return RecoilResponse(
        mass_kg=float(d["mass_kg"]), quenching=str(q["model"]), coefficients=tuple(float(c) for c in q["coefficients"]),
        observable=str(d["observable"]), spread=tuple(float(c) for c in d.get("spread", ())),
        edges=tuple(float(c) for c in d["energy_edges"]), efficiency=efficiency(d.get("efficiency"), base_dir),
        light_yield=float(d["light_yield"]),
        time_edges_us=tuple(float(c) for c in d["time_edges_us"]) if "time_edges_us" in d else None,
        time_efficiency=TimeEfficiency(float(te["t0_us"]), float(te["decay_us"])))

"""Germanium quenching of nuclear recoils as a named input, shared by every germanium data set.

``[quenching] model`` of a germanium reactor experiment (CONUS+, Dresden-II):

* ``"lindhard"`` with ``k`` (:class:`cevns.detector.Lindhard`; CONUS+: k = 0.162 +- 0.004);
* ``"fef"`` and ``"ybe"``: the measured germanium quenching models of J. I. Collar, A. R. L. Kavner and C. M. Lewis,
  Phys. Rev. D 103, 122003 (2021) (iron-filtered neutrons and 88Y/Be photoneutrons), tabulated from 0 to 4.5 keV_nr
  in ``data/ge_quenching_fef_ybe.csv`` (:class:`Tabulated`).

Every model has the interface the ionisation response uses: ``quenching(T_N)``, ``ee_from_nr(T_N)``,
``dee_dnr(T_N)`` (energies in MeV) and either ``nr_from_ee(T_ee)`` (Lindhard: monotone, nodes placed in ionisation
energy) or ``recoil_nodes`` (the measured models: nodes placed in recoil energy, for a map that need not be
monotone).  The same experiment
under another model: ``load_experiment("conus-plus", quenching="fef")`` or ``--input quenching=fef``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Dict, Tuple

import numpy as np
from scipy.interpolate import PchipInterpolator

from . import constants as C
from .detector import Lindhard
from .errors import CevnsInputError

#: the tabulated germanium models: [quenching] model -> column of data/ge_quenching_fef_ybe.csv
TABLES: Dict[str, str] = {"fef": "qf_fef", "ybe": "qf_ybe"}
#: every germanium quenching model a file may name
MODELS: Tuple[str, ...] = ("lindhard", *TABLES)


@lru_cache(maxsize=None)
def _table(model: str) -> Tuple[np.ndarray, np.ndarray]:
    lines = (resources.files("cevns.data") / "ge_quenching_fef_ybe.csv").read_text().splitlines()
    rows = list(csv.DictReader(ln for ln in lines if not ln.startswith("#")))
    E = np.array([float(r["E_keVnr"]) for r in rows])
    return E, np.array([float(r[TABLES[model]]) for r in rows])


@dataclass(frozen=True)
class Tabulated:
    """A germanium quenching factor Q_f(T_N) from a table (``model`` "fef" or "ybe").  The ionisation energy
    T_ee = Q_f T_N is interpolated monotonically (PCHIP) in T_N; T_ee(0) = 0.  Above the table's last recoil
    (4.5 keV_nr, beyond any reactor recoil on germanium: 2 E^2 / M < 3.5 keV_nr for E < 12 MeV) Q_f is held at its
    last value."""

    model: str
    _spline: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.model not in TABLES:
            raise CevnsInputError(f"tabulated germanium quenching must be one of {sorted(TABLES)}, got {self.model!r}")
        E, q = _table(self.model)
        object.__setattr__(self, "_spline", PchipInterpolator(E * C.keV, q * E * C.keV, extrapolate=False))

    @property
    def label(self) -> str:
        return {"fef": "Fef", "ybe": "YBe"}[self.model]

    @property
    def t_max(self) -> float:
        return float(_table(self.model)[0][-1] * C.keV)

    def ee_from_nr(self, T_N_MeV):
        """Ionisation energy T_ee = Q_f(T_N) T_N [MeV]."""
        T = np.asarray(T_N_MeV, dtype=float)
        top = self.t_max
        inside = np.asarray(self._spline(np.clip(T, 0.0, top)), dtype=float)
        q_top = float(self._spline(top)) / top
        return np.where(T > top, q_top * T, inside)

    def quenching(self, T_N_MeV):
        """Q_f at nuclear recoil energy T_N [MeV] (the table's first value at T_N = 0)."""
        T = np.asarray(T_N_MeV, dtype=float)
        q0 = float(_table(self.model)[1][0])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(T > 0, self.ee_from_nr(T) / np.where(T > 0, T, 1.0), q0)

    def dee_dnr(self, T_N_MeV):
        """dT_ee / dT_N (the inverse of eq. 17's Jacobian bracket)."""
        T = np.asarray(T_N_MeV, dtype=float)
        top = self.t_max
        d = np.asarray(self._spline.derivative()(np.clip(T, 0.0, top)), dtype=float)
        return np.where(T > top, float(self._spline(top)) / top, d)

    def recoil_nodes(self, ee_cuts: np.ndarray, lo: float, hi: float, panel: float,
                     n_gl: int) -> Tuple[np.ndarray, np.ndarray]:
        """Gauss-Legendre nodes and weights in recoil energy T_N [MeV] over every recoil whose ionisation energy
        lies in [lo, hi] [MeV_ee].  The measured models need not be monotone (Fef: T_ee falls from 0.2475 to 0.2395
        keV_ee between 1.13 and 1.34 keV_nr), so nodes are placed in T_N, not in T_ee: segments cut at the table's
        knots and at every recoil (all branches) where T_ee crosses one of ``ee_cuts`` (bin edges, thresholds);
        panels at most ``panel`` [MeV_ee] / 0.15 wide in T_N."""
        from .detector import node_grid

        E = _table(self.model)[0] * C.keV
        top = max(float(E[-1]), 2.0 * hi / float(self._spline(E[-1]) / E[-1]))
        fine = np.unique(np.concatenate([np.linspace(0.0, top, 200_001)[1:], E[1:]]))
        ee = self.ee_from_nr(fine)
        cuts = list(E[1:])
        for c in np.concatenate([[lo, hi], np.asarray(ee_cuts, dtype=float)]):
            i = np.nonzero(np.diff(np.sign(ee - c)) != 0)[0]
            cuts.extend(fine[i] + (c - ee[i]) * (fine[i + 1] - fine[i]) / (ee[i + 1] - ee[i]))
        inside = np.nonzero(ee >= lo)[0]
        t_lo = fine[0] if ee[0] >= lo else float(np.min([x for x in cuts if self.ee_from_nr(x) >= lo * (1 - 1e-9)]))
        t_hi = float(fine[np.nonzero(ee <= hi)[0][-1]]) if inside.size else t_lo
        cuts_arr = np.unique(np.concatenate([[t_lo, t_hi], np.asarray(cuts)]))
        cuts_arr = cuts_arr[(cuts_arr >= t_lo) & (cuts_arr <= t_hi)]
        T, w = node_grid(cuts_arr, panel / 0.15, n_gl)
        keep = (self.ee_from_nr(T) >= lo) & (self.ee_from_nr(T) <= hi)
        return T[keep], w[keep]


def germanium_quenching(table: Dict[str, Any], Z: int) -> Any:
    """The quenching of a ``[quenching]`` table (validated): Lindhard with its k, or a tabulated model."""
    model = str(table.get("model", "lindhard"))
    if model == "lindhard":
        return Lindhard(k=float(table["k"]), Z=Z)
    if Z != 32:
        raise CevnsInputError(f"quenching {model!r} is measured for germanium (Z = 32), not Z = {Z}")
    return Tabulated(model)


def describe(q: Any) -> Dict[str, Any]:
    """The quenching as results record it: {"model": ..., "k": ...} (k for Lindhard only)."""
    if isinstance(q, Lindhard):
        return {"model": "lindhard", "k": q.k}
    return {"model": q.model}

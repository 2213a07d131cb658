"""Detector response: quenching (eq. 17), energy resolution, efficiency, thresholds, exposure.

Energies in MeV unless a name says otherwise (``*_eVee`` in electron-equivalent eV).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

import numpy as np
from scipy.special import erf

from . import constants as C
from .errors import CevnsInputError, check_positive


@dataclass(frozen=True)
class Lindhard:
    """Lindhard quenching Q_f(T_N) = k g / (1 + k g), g = 3 eps^0.15 + 0.7 eps^0.6 + eps,
    eps = 11.5 Z^(-7/3) T_N[keV] (text under eq. 17).  k = 0.162 +- 0.004 (CONUS+).
    """

    k: float = 0.162
    Z: int = 32

    def __post_init__(self):
        check_positive("quenching k", self.k)

    def _eps(self, T_N):
        return 11.5 * self.Z ** (-7.0 / 3.0) * np.asarray(T_N, dtype=float) / C.keV

    def quenching(self, T_N_MeV):
        """Q_f at nuclear recoil energy T_N [MeV]."""
        e = self._eps(T_N_MeV)
        g = 3.0 * e**0.15 + 0.7 * e**0.6 + e
        return self.k * g / (1.0 + self.k * g)

    def ee_from_nr(self, T_N_MeV):
        """Ionisation energy T_ee = Q_f(T_N) T_N [MeV]."""
        T = np.asarray(T_N_MeV, dtype=float)
        return self.quenching(T) * T

    def dee_dnr(self, T_N_MeV):
        """dT_ee/dT_N = Q_f + T_N dQ_f/dT_N (the inverse of eq. 17's Jacobian bracket)."""
        T = np.asarray(T_N_MeV, dtype=float)
        e = self._eps(T)
        g = 3.0 * e**0.15 + 0.7 * e**0.6 + e
        dg_de = 0.45 * e**-0.85 + 0.42 * e**-0.4 + 1.0
        dq_dg = self.k / (1.0 + self.k * g) ** 2
        return self.k * g / (1.0 + self.k * g) + e * dq_dg * dg_de

    def nr_from_ee(self, T_ee_MeV):
        """Inverse of :meth:`ee_from_nr`: T_N [MeV] for ionisation energy T_ee [MeV] (Newton-polished)."""
        y = np.asarray(T_ee_MeV, dtype=float)
        grid = np.geomspace(1e-9, 10.0, 4000)
        x = np.exp(np.interp(np.log(np.maximum(y, 1e-30)), np.log(self.ee_from_nr(grid)), np.log(grid)))
        for _ in range(4):
            x = x - (self.ee_from_nr(x) - y) / self.dee_dnr(x)
        return x


@dataclass(frozen=True)
class Resolution:
    """Gaussian energy resolution sigma(E)^2 = sigma0^2 + eta F E (E in eV_ee).

    model "off" reproduces eq. 17 literally (no smearing).  Default "fano": a
    noise term sigma0 = 20.38 eV (FWHM 48 eV) plus Fano statistics with F = 0.11
    and eta = 2.96 eV per pair in germanium.  The CONUS+ publications give no
    per-detector value; this one is used in a public third-party CONUS+ analysis
    code and is within the range of pulser widths quoted for CONUS-type
    detectors: treat it as an assumption and vary it (``docs/physics.md``).
    """

    model: str = "fano"
    sigma0_eV: float = 20.38
    fano: float = 0.11
    pair_energy_eV: float = 2.96
    nsigma: float = 6.0

    def __post_init__(self):
        if self.model not in ("off", "fano"):
            raise CevnsInputError(f"resolution model must be 'off' or 'fano', got {self.model!r}")
        if self.model == "fano":
            check_positive("resolution sigma0_eV", self.sigma0_eV, unit="eV")
            check_positive("resolution fano", self.fano, allow_zero=True)
            check_positive("resolution pair_energy_eV", self.pair_energy_eV, unit="eV")
            check_positive("resolution nsigma", self.nsigma)

    @property
    def on(self) -> bool:
        return self.model != "off"

    def sigma(self, E_MeV):
        """sigma [MeV] at true ionisation energy E [MeV]."""
        E_eV = np.maximum(np.asarray(E_MeV, dtype=float), 0.0) / C.eV
        return np.sqrt(self.sigma0_eV**2 + self.pair_energy_eV * self.fano * E_eV) * C.eV


@dataclass(frozen=True)
class Efficiency:
    """Detection efficiency against reconstructed energy, linear between points (1 if none given)."""

    energies_eVee: Tuple[float, ...] = ()
    values: Tuple[float, ...] = ()

    def __post_init__(self):
        if len(self.energies_eVee) != len(self.values):
            raise CevnsInputError("efficiency: energies_eVee and values must have the same length")
        v = np.asarray(self.values, dtype=float)
        if v.size and (np.any(~np.isfinite(v)) or np.any(v < 0) or np.any(v > 1)):
            raise CevnsInputError("efficiency values must lie in [0, 1]")
        if len(self.energies_eVee) > 1 and np.any(np.diff(self.energies_eVee) <= 0):
            raise CevnsInputError("efficiency energies_eVee must be strictly increasing")

    @property
    def trivial(self) -> bool:
        return len(self.values) == 0

    def __call__(self, E_MeV):
        E = np.asarray(E_MeV, dtype=float)
        if self.trivial:
            return np.ones_like(E)
        return np.interp(E / C.eV, self.energies_eVee, self.values)


@dataclass(frozen=True)
class Detector:
    """One detector: active mass [kg], threshold [eV_ee], reactor-on exposure [kg d], efficiency,
    and optionally its own resolution (else the experiment's)."""

    name: str
    mass_kg: float
    threshold_eVee: float
    exposure_kg_day: float
    efficiency: Efficiency = field(default_factory=Efficiency)
    resolution: Optional[Resolution] = None

    def __post_init__(self):
        check_positive(f"detector {self.name}: mass_kg", self.mass_kg, unit="kg")
        check_positive(f"detector {self.name}: threshold_eVee", self.threshold_eVee, allow_zero=True, unit="eV_ee")
        check_positive(f"detector {self.name}: exposure_kg_day", self.exposure_kg_day, unit="kg d")
        if self.threshold_eVee > 1e5:
            raise CevnsInputError(
                f"detector {self.name}: threshold_eVee = {self.threshold_eVee:g} is implausible (eV_ee expected, not keV?)")


def bin_probabilities(E_true_MeV, edges_MeV, threshold_MeV: float, resolution: Resolution,
                      efficiency: Efficiency, sub_nodes: int = 16):
    """P[i, j]: probability that true ionisation energy E_j is recorded in bin i above threshold.

    With resolution "off" this is the indicator of eq. 17; otherwise the Gaussian of
    :class:`Resolution` integrated over the bin (from the threshold up), times the efficiency.
    """
    E = np.asarray(E_true_MeV, dtype=float)
    lo = np.maximum(edges_MeV[:-1], threshold_MeV)[:, None]
    hi = edges_MeV[1:][:, None]
    open_ = (hi > lo).astype(float)
    if not resolution.on:
        inside = (E[None, :] >= lo) & (E[None, :] < hi)
        return inside * efficiency(E)[None, :] * open_
    s = resolution.sigma(E)[None, :]
    if efficiency.trivial:
        p = 0.5 * (erf((hi - E) / (np.sqrt(2) * s)) - erf((lo - E) / (np.sqrt(2) * s)))
        return np.clip(p, 0.0, None) * open_
    x, w = np.polynomial.legendre.leggauss(sub_nodes)
    out = np.zeros((lo.shape[0], E.size))
    for i in range(lo.shape[0]):
        if hi[i, 0] <= lo[i, 0]:
            continue
        xs = 0.5 * (hi[i, 0] - lo[i, 0]) * (x + 1) + lo[i, 0]
        ws = 0.5 * (hi[i, 0] - lo[i, 0]) * w
        g = np.exp(-0.5 * ((xs[:, None] - E[None, :]) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
        out[i] = (ws[:, None] * efficiency(xs)[:, None] * g).sum(axis=0)
    return out


def check_bins(edges_eVee: Any) -> np.ndarray:
    """Validated bin edges [eV_ee]: finite, >= 0, strictly increasing, at least one bin."""
    e = np.asarray(edges_eVee, dtype=float)
    if e.ndim != 1 or e.size < 2:
        raise CevnsInputError("binning needs at least two edges (one bin)")
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise CevnsInputError("bin edges must be finite and >= 0 eV_ee")
    if np.any(np.diff(e) <= 0):
        raise CevnsInputError("bin edges must be strictly increasing (empty or overlapping bins)")
    if e[-1] > 1e6:
        raise CevnsInputError(f"bin edge {e[-1]:g} eV_ee is implausible (eV_ee expected, not meV?)")
    return e


def node_grid(segment_edges: np.ndarray, panel_width: float, n_gl: int) -> Tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [edges], each segment split into panels <= panel_width."""
    x, w = np.polynomial.legendre.leggauss(n_gl)
    nodes, weights = [], []
    for a, b in zip(segment_edges[:-1], segment_edges[1:]):
        n_pan = max(1, int(np.ceil((b - a) / panel_width - 1e-9)))
        cuts = np.linspace(a, b, n_pan + 1)
        for p, q in zip(cuts[:-1], cuts[1:]):
            nodes.append(0.5 * (q - p) * (x + 1) + p)
            weights.append(0.5 * (q - p) * w)
    return np.concatenate(nodes), np.concatenate(weights)


"""Detector response: quenching (eq. 17), energy resolution, efficiency, thresholds, exposure.

Energies in MeV unless a name says otherwise (``*_eVee`` in electron-equivalent eV).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

import numpy as np
from scipy.special import erf

from . import constants as C
from .errors import CevnsInputError, check_finite, check_positive

#: the Lindhard k the quadrature is valid for (k g neither over- nor underflows)
K_RANGE = (1e-6, 1e6)
#: the most bins (energy x time) an experiment may have
MAX_BINS = 100_000
#: the most quadrature nodes of a recoil-energy integral
MAX_NODES = 1_000_000
#: the most entries of a response matrix (bins x quadrature nodes; 8 bytes each)
MAX_RESPONSE_ENTRIES = 20_000_000


def check_response_size(n_bins: int, n_nodes: int) -> None:
    """A clear error instead of exhausting memory: the response matrix is n_bins x n_nodes."""
    if n_bins * n_nodes > MAX_RESPONSE_ENTRIES:
        raise CevnsInputError(f"the binning needs a response matrix of {n_bins} bins x {n_nodes} quadrature nodes "
                              f"({8e-9 * n_bins * n_nodes:.3g} GB), more than the limit of {MAX_RESPONSE_ENTRIES:.0e} "
                              "entries: use fewer or wider bins")


@dataclass(frozen=True)
class Lindhard:
    """Lindhard quenching Q_f(T_N) = k g / (1 + k g), g = 3 eps^0.15 + 0.7 eps^0.6 + eps,
    eps = 11.5 Z^(-7/3) T_N[keV] (text under eq. 17).  k = 0.162 +- 0.004 (CONUS+).
    """

    k: float = 0.162
    Z: int = 32

    def __post_init__(self):
        k = check_positive("quenching k", self.k)
        if not K_RANGE[0] <= k <= K_RANGE[1]:  # outside, k g over- or underflows (measured k: 0.15-0.2)
            raise CevnsInputError(f"quenching k must lie in [{K_RANGE[0]:g}, {K_RANGE[1]:g}], got {k:g}")

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
            if self.nsigma > 100:
                raise CevnsInputError(f"resolution nsigma (kernel truncation) must be <= 100, got {self.nsigma:g}")
            try:  # sigma at the top of any binning (1e6 eV_ee, see check_bins) must be a number
                top = math.sqrt(float(self.sigma0_eV) ** 2 + float(self.pair_energy_eV) * float(self.fano) * 1e6)
            except OverflowError:
                top = math.inf
            if not math.isfinite(top):
                raise CevnsInputError(f"resolution sigma0_eV = {self.sigma0_eV:g}, fano = {self.fano:g}, pair_energy_eV = "
                                      f"{self.pair_energy_eV:g}: the width overflows")

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
        e = np.asarray(self.energies_eVee, dtype=float)
        if not np.all(np.isfinite(e)) or (e.size > 1 and np.any(np.diff(e) <= 0)):
            raise CevnsInputError("efficiency energies_eVee must be finite and strictly increasing")

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


def check_bins(edges_eVee: Any, unit: str = "eV_ee") -> np.ndarray:
    """Validated bin edges [``unit``]: finite, >= 0, strictly increasing, at least one bin."""
    try:
        e = np.asarray(edges_eVee, dtype=float)
    except (TypeError, ValueError):
        raise CevnsInputError(f"bin edges must be numbers ({unit}), got {edges_eVee!r}") from None
    if e.ndim != 1 or e.size < 2:
        raise CevnsInputError("binning needs at least two edges (one bin)")
    if e.size - 1 > MAX_BINS:
        raise CevnsInputError(f"{e.size - 1} bins: at most {MAX_BINS} are allowed ({unit})")
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise CevnsInputError(f"bin edges must be finite and >= 0 {unit}")
    if np.any(np.diff(e) <= 0):
        raise CevnsInputError("bin edges must be strictly increasing (empty or overlapping bins)")
    if e[-1] > 1e6:
        raise CevnsInputError(f"bin edge {e[-1]:g} {unit} is implausible (wrong unit?)")
    return e


def node_grid(segment_edges: np.ndarray, panel_width: float, n_gl: int) -> Tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [edges], each segment split into panels <= panel_width."""
    x, w = np.polynomial.legendre.leggauss(n_gl)
    with np.errstate(over="ignore"):
        total = np.sum(np.maximum(1.0, np.ceil(np.diff(segment_edges) / panel_width - 1e-9))) * n_gl
    if not total <= MAX_NODES:
        raise CevnsInputError(f"the quadrature would need {total:.3g} nodes (panels of {panel_width:.3g} MeV): "
                              f"at most {MAX_NODES:.0e}; use wider panels")
    nodes, weights = [], []
    for a, b in zip(segment_edges[:-1], segment_edges[1:]):
        n_pan = max(1, int(np.ceil((b - a) / panel_width - 1e-9)))
        cuts = np.linspace(a, b, n_pan + 1)
        for p, q in zip(cuts[:-1], cuts[1:]):
            nodes.append(0.5 * (q - p) * (x + 1) + p)
            weights.append(0.5 * (q - p) * w)
    return np.concatenate(nodes), np.concatenate(weights)



# --- responses: recoil energy -> observed bins ----------------------------------------------------------------
# A response maps recoil energies to expected counts per observed energy bin (and per time bin, through
# ``time_edges_us`` and ``time_efficiency``).  ``cevns_grid`` returns the recoil nodes T [MeV], a per-node
# factor (the quenching Jacobian where nodes are placed in the observable) and K[bin, node] = exposure x
# P(bin | node) x node weight, with exposure in kg s (``per_second`` sources) or kg (fluences).  The
# engine (``cevns.rates``) multiplies in the number of targets per kg and the flux moments.


def _gl_bin_probabilities(means: np.ndarray, edges: np.ndarray, pdf, efficiency, sub_nodes: int = 24,
                          kinks: Tuple[float, ...] = ()) -> np.ndarray:
    """P[i, j] = int_{bin i} pdf(x | mean_j) efficiency(x) dx by Gauss-Legendre (``sub_nodes`` nodes per piece),
    each bin cut at the efficiency's ``kinks`` (e.g. where a clipped curve reaches 0): Gauss-Legendre across a
    kink is only good to ~1e-2 (the CsI efficiency reaches 0 at 7.07 PE, inside 0-8 PE)."""
    x, w = np.polynomial.legendre.leggauss(sub_nodes)
    k = np.asarray(kinks, dtype=float)
    out = np.zeros((edges.size - 1, means.size))
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        cuts = np.concatenate([[lo], k[(k > lo) & (k < hi)], [hi]])
        for a, b in zip(cuts[:-1], cuts[1:]):
            xs = 0.5 * (b - a) * (x + 1) + a
            ws = 0.5 * (b - a) * w * efficiency(xs)
            out[i] += (ws[:, None] * pdf(xs[:, None], means[None, :])).sum(axis=0)
    return out


def _recoil_nodes(breaks_MeV: np.ndarray, panel_MeV: float, n_gl: int) -> Tuple[np.ndarray, np.ndarray]:
    cuts = np.unique(breaks_MeV[np.isfinite(breaks_MeV) & (breaks_MeV > 0)])
    return node_grid(cuts, panel_MeV, n_gl)


@dataclass(frozen=True)
class Logistic:
    """Efficiency eff(x) = a / (1 + exp(-b (x - c))) + d, clipped to [0, 1] (COHERENT CsI, x in PE)."""

    a: float
    b: float
    c: float
    d: float

    def __post_init__(self):
        for k in "abcd":
            check_finite(f"[detector] efficiency {k}", getattr(self, k))
        top = max(self.d, self.a + self.d)  # the curve's supremum (its value far above or below the turn-on)
        if top > 1.0 + 1e-9:
            raise CevnsInputError(f"[detector] efficiency a / (1 + exp(-b (x - c))) + d reaches {top:.4g} (a + d = "
                                  f"{self.a + self.d:.4g}): an efficiency above 1 would be clipped there, silently; "
                                  "check a and d")

    def __call__(self, x):
        with np.errstate(over="ignore"):  # exp overflowing far below the turn-on: the efficiency is 0 there
            v = self.a / (1.0 + np.exp(-self.b * (np.asarray(x, dtype=float) - self.c))) + self.d
        return np.clip(v, 0.0, 1.0)

    def kinks(self) -> Tuple[float, ...]:
        """Where the clipping sets in: the unclipped curve crosses 0 or 1 (x = c - ln(a/(level - d) - 1)/b)."""
        out = []
        for level in (0.0, 1.0):
            r = self.a / (level - self.d) - 1.0 if level != self.d else -1.0
            if self.b != 0 and r > 0 and (level - self.d) * self.a > 0:
                out.append(self.c - math.log(r) / self.b)
        return tuple(out)


@dataclass(frozen=True)
class Tabulated:
    """Efficiency tabulated against the observable, linear between points, constant beyond the ends."""

    x: Tuple[float, ...]
    values: Tuple[float, ...]

    def __post_init__(self):
        Efficiency(tuple(self.x), tuple(self.values))  # same checks: increasing x, values in [0, 1]

    def __call__(self, x):
        return np.interp(np.asarray(x, dtype=float), self.x, self.values)

    def kinks(self) -> Tuple[float, ...]:
        """The table's points (linear between them)."""
        return tuple(self.x)


@dataclass(frozen=True)
class TimeEfficiency:
    """Time efficiency: 1 before ``t0_us``, exp(-(t - t0) / decay_us) after (1 everywhere if decay_us is inf)."""

    t0_us: float = 0.0
    decay_us: float = float("inf")

    def __post_init__(self):
        check_finite("time_efficiency t0_us", self.t0_us, unit="us")
        if not (isinstance(self.decay_us, (int, float)) and self.decay_us > 0):  # inf: no decay
            raise CevnsInputError(f"time_efficiency decay_us must be > 0 us (or inf), got {self.decay_us!r}")

    def __call__(self, t):
        t = np.asarray(t, dtype=float)
        if not np.isfinite(self.decay_us):
            return np.ones_like(t)
        return np.where(t < self.t0_us, 1.0, np.exp(-(t - self.t0_us) / self.decay_us))

    def integral(self, edges_us) -> np.ndarray:
        """int of the efficiency over each bin [edges[i], edges[i+1]] [us], in closed form."""
        e = np.asarray(edges_us, dtype=float)
        a, b = e[:-1], e[1:]
        flat = np.clip(np.minimum(b, self.t0_us) - a, 0.0, None)  # the plateau part of each bin
        if not np.isfinite(self.decay_us):
            return b - a
        tau = self.decay_us
        lo, hi = np.maximum(a, self.t0_us) - self.t0_us, np.maximum(b, self.t0_us) - self.t0_us
        return flat + tau * (np.exp(-lo / tau) - np.exp(-hi / tau))


#: electron recoils of a RecoilResponse: from 10 eV (a CsI recoil this small gives < 1 PE, and the efficiency
#: is 0 below 7 PE) to 3 times the top bin edge (the spread never reaches that far), with geometric break points
ELECTRON_FLOOR_MeV = 1e-5
ELECTRON_TOP = 3.0
ELECTRON_GEOMETRIC_BREAKS = 41


@dataclass(frozen=True)
class RecoilResponse:
    """A detector seen through the mean observable of a nuclear recoil and its spread.

    ``quenching``: "polynomial" (E_ee [MeV_ee] = sum_k c_k T^(k+1), T in MeV_nr: the COHERENT CsI
    form, ``coefficients`` = (c_0..c_3)) or "linear-qf" (QF = c_0 + c_1 T[keV_nr], E_ee = QF T: the
    COHERENT LAr form).  ``observable``: "PE" (E_ee [keV_ee] x ``light_yield`` photoelectrons, spread by a
    Gamma distribution with a = g_0 / E_ee, b = g_1 E_ee, shape 1 + b, scale 1 / (a (1 + b)):
    ``spread`` = (g_0, g_1), CsI; the Gamma's mean 1/a = E_ee / g_0 is the light yield, so g_0 = 1 / light_yield
    within 1%, checked) or "keVee" (Gaussian with sigma = spread[0] sqrt(E[keV_ee]), LAr).
    ``efficiency`` acts on the observed value; ``edges`` are the observed bins; ``time_edges_us`` the
    time bins (``time_efficiency`` within).  ``mass_kg`` is the target mass.
    """

    mass_kg: float
    quenching: str
    coefficients: Tuple[float, ...]
    observable: str
    spread: Tuple[float, ...]
    edges: Tuple[float, ...]
    efficiency: Any = None
    light_yield: float = 1.0
    time_edges_us: Optional[Tuple[float, ...]] = None
    time_efficiency: TimeEfficiency = field(default_factory=TimeEfficiency)
    recoil_range_MeV: Tuple[float, float] = (1e-4, 0.5)
    panel_MeV: float = 5e-4
    n_gl: int = 6

    def __post_init__(self):
        check_positive("detector mass_kg", self.mass_kg, unit="kg")
        if self.quenching not in ("polynomial", "linear-qf"):
            raise CevnsInputError(f"quenching model must be 'lindhard', 'polynomial' or 'linear-qf', got {self.quenching!r}")
        if self.observable not in ("PE", "keVee"):
            raise CevnsInputError(f"observable must be 'PE' or 'keVee', got {self.observable!r}")
        need = {"PE": 2, "keVee": 1}[self.observable]
        if len(self.spread) != need or not all(np.isfinite(self.spread)) or min(self.spread) <= 0:
            raise CevnsInputError(f"[detector] spread for observable {self.observable!r} must be {need} positive "
                                  f"number(s) ({'a, b of the Gamma in PE' if need == 2 else 'a of sigma = a sqrt(E)'}), "
                                  f"got {list(self.spread)}")
        nq = {"polynomial": None, "linear-qf": 2}[self.quenching]
        if (nq is not None and len(self.coefficients) != nq) or len(self.coefficients) == 0:
            raise CevnsInputError(f"[quenching] {self.quenching} needs {nq or 'at least 1'} coefficient(s), "
                                  f"got {list(self.coefficients)}")
        if self.observable == "PE" and not (np.isfinite(self.light_yield) and self.light_yield > 0):
            raise CevnsInputError(f"[detector] light_yield must be > 0 PE per keV_ee, got {self.light_yield!r}")
        if self.observable == "PE" and abs(self.light_yield * self.spread[0] - 1.0) > 0.01:
            # the Gamma's mean is 1/a = E_ee / spread[0] PE: spread[0] is 1/light_yield, the two must agree
            raise CevnsInputError(f"[detector] light_yield {self.light_yield:g} PE/keV_ee and spread[0] "
                                  f"{self.spread[0]:g} disagree: the Gamma's mean E_ee / spread[0] = {1 / self.spread[0]:.4g} "
                                  "PE per keV_ee is the light yield; change both together (spread[0] = 1 / light_yield)")
        check_bins(self.edges, unit=self.observable)
        if self.time_edges_us is not None:
            t = np.asarray(self.time_edges_us, dtype=float)
            if t.ndim != 1 or t.size < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                raise CevnsInputError("time bin edges must be finite and strictly increasing (us)")
            if (t.size - 1) * (len(self.edges) - 1) > MAX_BINS:
                raise CevnsInputError(f"{len(self.edges) - 1} energy x {t.size - 1} time bins: at most {MAX_BINS} "
                                      "bins are allowed")
        lo, hi = self.recoil_range_MeV
        if not 0 < lo < hi:
            raise CevnsInputError(f"recoil_range_MeV must satisfy 0 < lo < hi, got {self.recoil_range_MeV}")
        if not all(np.isfinite(self.coefficients)):
            raise CevnsInputError(f"[quenching] coefficients must be finite numbers, got {list(self.coefficients)}")
        grid = np.geomspace(lo, hi, 400)
        with np.errstate(over="ignore", invalid="ignore"):
            e = self.ee_from_nr(grid)
            bad = not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0) or np.any(e <= 0)
        if bad:
            raise CevnsInputError(f"quenching {self.quenching} {self.coefficients} is not positive and increasing "
                                  f"over recoils {lo * 1e3:g}-{hi * 1e3:g} keV_nr")

    def check_quenching_factor(self, T_max_MeV: float) -> None:
        """The quenching factor E_ee / T must lie in (0, 1] over the recoils a source can make, up to ``T_max_MeV``
        (a fitted curve may leave that range beyond them)."""
        lo = min(self.recoil_range_MeV[0], 0.5 * T_max_MeV)
        grid = np.geomspace(lo, T_max_MeV, 400)
        qf = self.ee_from_nr(grid) / grid
        if np.any(qf > 1.0 + 1e-9):
            at = float(grid[int(np.argmax(qf))])
            raise CevnsInputError(f"quenching {self.quenching} {self.coefficients}: a quenching factor E_ee / T of "
                                  f"{qf.max():.3g} at {at * 1e3:.3g} keV_nr (recoils reach {T_max_MeV * 1e3:.3g} "
                                  "keV_nr), above 1 -- more light than energy: check the coefficients and their units")

    def ee_from_nr(self, T_MeV):
        """Electron-equivalent energy [MeV_ee] of a nuclear recoil T [MeV_nr]."""
        T = np.asarray(T_MeV, dtype=float)
        c = self.coefficients
        if self.quenching == "polynomial":
            return sum(ck * T ** (k + 1) for k, ck in enumerate(c))
        return (c[0] + c[1] * T / C.keV) * T

    def mean_observed(self, T_MeV):
        """Mean observed value (PE or keV_ee) of a recoil T [MeV_nr]."""
        E_kev = self.ee_from_nr(T_MeV) / C.keV
        return E_kev * self.light_yield if self.observable == "PE" else E_kev

    def _pdf(self, x, mean):
        if self.observable == "PE":
            from scipy.special import gammaln

            E = np.maximum(mean / self.light_yield, 1e-12)  # keV_ee
            a, b = self.spread[0] / E, self.spread[1] * E
            k, theta = 1.0 + b, 1.0 / (a * (1.0 + b))
            xs = np.maximum(x, 1e-300)
            return np.exp((k - 1.0) * np.log(xs) - xs / theta - k * np.log(theta) - gammaln(k)) * (x > 0)
        s = self.spread[0] * np.sqrt(np.maximum(mean, 1e-12))
        return np.exp(-0.5 * ((x - mean) / s) ** 2) / (np.sqrt(2 * np.pi) * s)

    def _eff(self, x):
        return np.ones_like(x) if self.efficiency is None else self.efficiency(x)

    def _kinks(self) -> Tuple[float, ...]:
        return tuple(getattr(self.efficiency, "kinks", lambda: ())())

    def cevns_grid(self, target, source, numerics=None):
        """(T nodes [MeV_nr], per-node factor (ones), K[energy bin, node] [kg MeV]) for CEvNS on ``target``."""
        from .xsec import t_max

        lo, hi = self.recoil_range_MeV
        breaks = [lo, hi] + [float(t_max(E, i.mass_MeV)) for E in source.energy_breaks_MeV for i in target.isotopes]
        top = max(float(t_max(source.max_energy_MeV, i.mass_MeV)) for i in target.isotopes)
        b = np.array([x for x in breaks if x <= min(hi, top)] + [min(hi, top)])
        T, w = _recoil_nodes(b, self.panel_MeV, self.n_gl)
        check_response_size(len(self.edges) - 1, T.size)
        P = _gl_bin_probabilities(self.mean_observed(T), np.asarray(self.edges, dtype=float), self._pdf, self._eff,
                                  kinks=self._kinks())
        return T, np.ones_like(T), self.mass_kg * P * w[None, :]

    def mean_observed_ee(self, T_e_MeV):
        """Mean observed value (PE or keV_ee) of an electron recoil T_e [MeV]: its electron-equivalent energy is
        T_e itself (keV_ee is defined by electrons), seen with the same light yield and spread."""
        E_kev = np.asarray(T_e_MeV, dtype=float) / C.keV
        return E_kev * self.light_yield if self.observable == "PE" else E_kev

    def eves_grid(self, binding, source, numerics=None):
        """(T_e nodes [MeV], K[energy bin, node] [kg MeV]) for electron recoils (eq. 19), from
        :data:`ELECTRON_FLOOR_MeV` to :data:`ELECTRON_TOP` times the top edge in keV_ee; nodes cut at the binding
        energies (the Z_eff steps) and at geometric break points (the EM terms grow as 1/T and 1/T^2).  Used when
        the experiment file sets ``eves = true`` (COHERENT LAr sets false: its F90 cut removes electron recoils)."""
        top = self.edges[-1] / (self.light_yield if self.observable == "PE" else 1.0) * C.keV * ELECTRON_TOP
        lo = ELECTRON_FLOOR_MeV
        steps = np.asarray(binding.edges_MeV, dtype=float)
        b = np.concatenate([np.geomspace(lo, top, ELECTRON_GEOMETRIC_BREAKS), steps[(steps > lo) & (steps < top)]])
        T, w = _recoil_nodes(b, self.panel_MeV, self.n_gl)
        check_response_size(len(self.edges) - 1, T.size)
        P = _gl_bin_probabilities(self.mean_observed_ee(T), np.asarray(self.edges, dtype=float), self._pdf, self._eff,
                                  kinks=self._kinks())
        return T, self.mass_kg * P * w[None, :]

    def time_weights(self, source, component) -> np.ndarray:
        """Fraction of a source component's events in each time bin (time efficiency included); [1] if untimed."""
        if self.time_edges_us is None:
            return np.ones(1)
        return source.time_fractions(self.time_edges_us, component, self.time_efficiency)

    @property
    def n_energy_bins(self) -> int:
        return len(self.edges) - 1

    @property
    def n_time_bins(self) -> int:
        return 1 if self.time_edges_us is None else len(self.time_edges_us) - 1


@dataclass(frozen=True)
class NumericalSettings:
    """Quadrature settings of the recoil-energy integrals (defaults: error ~1e-7 per bin; docs/reliability.md).

    panel_eV: maximum panel width in true ionisation energy [eV_ee]; n_gl: Gauss-Legendre nodes per panel;
    floor_eV: lowest true energy considered when resolution smears events up [eV_ee].
    """

    panel_eV: float = 5.0
    n_gl: int = 4
    floor_eV: float = 5.0

    def __post_init__(self):
        check_positive("numerics panel_eV", self.panel_eV, unit="eV")
        check_positive("numerics floor_eV", self.floor_eV, unit="eV")
        if isinstance(self.n_gl, bool) or not isinstance(self.n_gl, (int, np.integer)) or not 1 <= self.n_gl <= 64:
            raise CevnsInputError(f"numerics n_gl (Gauss-Legendre nodes per panel) must be an integer in [1, 64], "
                                  f"got {self.n_gl!r}")


@dataclass(frozen=True)
class IonisationResponse:
    """Reactor germanium detectors (eq. 17, 19): Lindhard quenching, Gaussian resolution, thresholds,
    efficiencies and exposures of several detectors whose counts are summed in bins of ionisation energy
    ``edges_eVee``.  Nodes are placed in true ionisation energy (CEvNS: mapped to nuclear recoil, with the
    Jacobian of eq. 17 as the per-node factor; EvES: electron recoil, cut at the binding energies)."""

    detectors: Tuple[Detector, ...]
    quenching: Any  #: Lindhard, or a measured germanium model (cevns.quenching.Tabulated)
    resolution: Resolution
    edges_eVee: Tuple[float, ...]

    time_edges_us = None

    def __post_init__(self):
        edges = np.asarray(self.edges_eVee, dtype=float) * C.eV
        thr = np.array([d.threshold_eVee for d in self.detectors]) * C.eV
        if np.all(thr >= edges[-1]):
            raise CevnsInputError(
                f"every detector threshold ({', '.join(f'{d.threshold_eVee:g}' for d in self.detectors)} eV_ee) "
                f"is at or above the last bin edge ({edges[-1] / C.eV:g} eV_ee): no bin can be filled")

    @property
    def edges(self) -> np.ndarray:
        return np.asarray(self.edges_eVee, dtype=float) * C.eV

    @property
    def n_energy_bins(self) -> int:
        return len(self.edges_eVee) - 1

    n_time_bins = 1

    def _res(self, d: Detector) -> Resolution:
        """The detector's own resolution, else the experiment's."""
        return d.resolution if d.resolution is not None else self.resolution

    def _true_range(self, numerics: NumericalSettings) -> Tuple[float, float]:
        lo, hi = self.edges[0], self.edges[-1]
        res = [self._res(d) for d in self.detectors]
        if any(r.on for r in res):
            lo = max(numerics.floor_eV * C.eV, min(lo - r.nsigma * float(r.sigma(lo)) for r in res if r.on))
            hi = max(hi + r.nsigma * float(r.sigma(hi)) for r in res if r.on)
        return lo, hi

    def _nodes(self, extra_edges: np.ndarray, numerics: NumericalSettings) -> Tuple[np.ndarray, np.ndarray]:
        lo, hi = self._true_range(numerics)
        thr = np.array([d.threshold_eVee for d in self.detectors]) * C.eV
        cuts = np.concatenate([[lo, hi], self.edges, thr, extra_edges])
        cuts = np.unique(cuts[(cuts >= lo) & (cuts <= hi)])
        return node_grid(cuts, numerics.panel_eV * C.eV, numerics.n_gl)

    def _response(self, E_true: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """K[i, j] = sum_d exposure_d [kg s] * P_d[i, j] * w_j."""
        check_response_size(self.edges.size - 1, E_true.size)
        K = np.zeros((self.edges.size - 1, E_true.size))
        for d in self.detectors:
            P = bin_probabilities(E_true, self.edges, d.threshold_eVee * C.eV, self._res(d), d.efficiency)
            K += d.exposure_kg_day * C.SECONDS_PER_DAY * P
        return K * weights[None, :]

    def cevns_grid(self, target, source, numerics: NumericalSettings):
        """(T_N nodes [MeV], Jacobian dT_N/dT_ee per node, K[bin, node] [kg s MeV_ee]).  A measured quenching
        (cevns.quenching.Tabulated, not necessarily monotone) places its nodes in T_N itself (Jacobian 1)."""
        if hasattr(self.quenching, "recoil_nodes"):
            lo, hi = self._true_range(numerics)
            cuts = np.concatenate([self.edges, [d.threshold_eVee * C.eV for d in self.detectors]])
            T_N, wT = self.quenching.recoil_nodes(cuts, lo, hi, numerics.panel_eV * C.eV, numerics.n_gl)
            return T_N, np.ones_like(T_N), self._response(self.quenching.ee_from_nr(T_N), wT)
        Tee, w = self._nodes(np.array([]), numerics)
        T_N = self.quenching.nr_from_ee(Tee)
        jac = 1.0 / self.quenching.dee_dnr(T_N)  # dT_N/dT_ee, the bracket of eq. 17
        return T_N, jac, self._response(Tee, w)

    def eves_grid(self, binding, source, numerics: NumericalSettings):
        """(T_e nodes [MeV], K[bin, node] [kg s MeV]) with nodes cut at the binding energies (Z_eff steps, eq. 19)."""
        Te, we = self._nodes(binding.edges_MeV, numerics)
        return Te, self._response(Te, we)

    def time_weights(self, source, component) -> np.ndarray:
        """[1]: a reactor experiment is not timed (one time bin holding every event)."""
        return np.ones(1)

"""Reactor antineutrino flux (eq. 18) and its moments.

dPhi/dE = P / (4 pi d^2 eps) * [ sum_k f_k dN_k/dE + R_c (S_239U + S_239Np) ]

* fission spectra: Huber-Mueller exp-polynomials between ``hm_range`` (2-8 MeV),
  the summation (BESTIOLE) spectra below ``hm_range[0]``;
* above ``hm_range[1]`` (where the fits end) the treatment is the parameter
  ``tail``: "summation" (BESTIOLE, default), "extrapolate" (the exp-polynomial
  continued) or "cut" (nothing above 8 MeV);
* 238U(n,gamma) capture chain: ``captures_per_fission`` R_c times the 239U and
  239Np beta spectra (one antineutrino per decay each).

Energies in MeV, fluxes in cm^-2 s^-1 MeV^-1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Dict, Tuple

import numpy as np

from . import constants as C
from .errors import CevnsInputError, check_positive
from .nuclei import read_data_csv

FISSILE = ("U235", "U238", "Pu239", "Pu241")
TAILS = ("summation", "extrapolate", "cut")
E_MAX_MEV = 12.5  #: end of the tabulated summation spectra [MeV]
MOMENT_POWERS = (0, -1, -2)


@lru_cache(maxsize=None)
def _hm_coefficients() -> Dict[str, np.ndarray]:
    return {r["isotope"]: np.array([float(r[f"a{k}"]) for k in range(6)]) for r in read_data_csv("huber_mueller.csv")}


@lru_cache(maxsize=None)
def _table(name: str, columns: Tuple[str, ...]) -> Tuple[np.ndarray, Dict[str, np.ndarray]]:
    rows = read_data_csv(name)
    centres = np.array([0.5 * (float(r["E_lo_MeV"]) + float(r["E_hi_MeV"])) for r in rows])
    return centres, {c: np.array([float(r[c]) for r in rows]) for c in columns}


def huber_mueller(E, isotope: str):
    """Huber-Mueller spectrum exp(sum a_k E^k) [1/MeV/fission], E in MeV (no range check)."""
    a = _hm_coefficients()[isotope]
    E = np.asarray(E, dtype=float)
    return np.exp(np.polyval(a[::-1], E))


def summation_spectrum(E, isotope: str):
    """Summation-method spectrum [1/MeV/fission], linear between the 100 keV bin centres, 0 above 12.5 MeV."""
    x, cols = _table("summation_fission_spectra.csv", FISSILE)
    E = np.asarray(E, dtype=float)
    return np.where(E <= E_MAX_MEV, np.interp(E, x, cols[isotope]), 0.0)


def capture_spectrum(E):
    """239U + 239Np beta spectra [1/MeV per capture]: two antineutrinos per 238U capture."""
    x, cols = _table("capture_spectra.csv", ("U239", "Np239"))
    E = np.asarray(E, dtype=float)
    inside = E <= x[-1] + 0.0125
    return np.where(inside, np.interp(E, x, cols["U239"]) + np.interp(E, x, cols["Np239"]), 0.0)


def _moment_grid() -> np.ndarray:
    """Integration nodes in E_nu [MeV]: geometric near 0, 2 keV steps above 0.1 MeV."""
    low = np.geomspace(1e-5, 0.1, 1500)
    high = np.linspace(0.1, E_MAX_MEV, 6201)
    return np.unique(np.concatenate([low, high]))


@dataclass(frozen=True)
class ReactorFlux:
    """Reactor antineutrino source at a detector (eq. 18); defaults are CONUS+ (paper, Sec. III).

    Parameters
    ----------
    thermal_power_GW : reactor thermal power P [GW].
    distance_m : core-detector distance d [m].
    energy_per_fission_MeV : mean energy released per fission epsilon [MeV].
    fission_fractions : {"U235", "U238", "Pu239", "Pu241"} -> f_k, summing to one.
    captures_per_fission : 238U(n,gamma) captures per fission R_c (0.6, as TEXONO/Kopeikin).
    tail : treatment above the Huber-Mueller range: "summation", "extrapolate" or "cut".
    hm_range : (low, high) [MeV] where the Huber-Mueller fits are used.
    """

    thermal_power_GW: float = 3.6
    distance_m: float = 20.7
    energy_per_fission_MeV: float = 205.24
    fission_fractions: Any = (("U235", 0.53), ("U238", 0.08), ("Pu239", 0.32), ("Pu241", 0.07))
    captures_per_fission: float = 0.6
    tail: str = "summation"
    hm_range: Tuple[float, float] = (2.0, 8.0)

    def __post_init__(self):
        fr = dict(self.fission_fractions) if not isinstance(self.fission_fractions, dict) else self.fission_fractions
        object.__setattr__(self, "fission_fractions", tuple(sorted(fr.items())))
        check_positive("thermal_power_GW", self.thermal_power_GW, unit="GW")
        check_positive("distance_m", self.distance_m, unit="m")
        check_positive("energy_per_fission_MeV", self.energy_per_fission_MeV, unit="MeV")
        check_positive("captures_per_fission", self.captures_per_fission, allow_zero=True)
        unknown = set(fr) - set(FISSILE)
        if unknown:
            raise CevnsInputError(f"unknown fissile isotope(s) {sorted(unknown)} in fission_fractions; known: {FISSILE}")
        vals = np.array(list(fr.values()), dtype=float)
        if not np.all(np.isfinite(vals)) or np.any(vals < 0) or abs(vals.sum() - 1.0) > 1e-3:
            raise CevnsInputError(f"fission_fractions must be >= 0 and sum to 1, got {dict(fr)} (sum {vals.sum():.4f})")
        if self.tail not in TAILS:
            raise CevnsInputError(f"tail must be one of {TAILS}, got {self.tail!r}")
        lo, hi = self.hm_range
        if not (0 < lo < hi <= E_MAX_MEV):
            raise CevnsInputError(f"hm_range must satisfy 0 < low < high <= {E_MAX_MEV} MeV, got {self.hm_range}")
        try:
            rate = self.fissions_per_cm2_s
        except (OverflowError, ZeroDivisionError):  # e.g. distance_m = 1e-300: d^2 underflows to 0
            rate = math.inf
        if not (math.isfinite(rate) and rate > 0):
            raise CevnsInputError(f"the fission rate at the detector, P / (4 pi d^2 epsilon), is not a finite positive "
                                  f"number for thermal_power_GW = {self.thermal_power_GW:g}, distance_m = "
                                  f"{self.distance_m:g}, energy_per_fission_MeV = {self.energy_per_fission_MeV:g}")

    @property
    def fractions(self) -> Dict[str, float]:
        return dict(self.fission_fractions)

    @property
    def fissions_per_cm2_s(self) -> float:
        """P / (4 pi d^2 eps): fissions per second per cm^2 at the detector."""
        P_MeV_s = self.thermal_power_GW * 1e9 / (C.ELECTRON_CHARGE_C * 1e6)
        d_cm = self.distance_m * C.METER_CM
        return P_MeV_s / (4 * np.pi * d_cm**2 * self.energy_per_fission_MeV)

    def spectrum_per_fission(self, E_MeV):
        """Antineutrinos per MeV per fission, fission isotopes plus the capture chain."""
        E = np.asarray(E_MeV, dtype=float)
        lo, hi = self.hm_range
        total = np.zeros_like(E)
        for iso, f in self.fission_fractions:
            s = np.where(E < lo, summation_spectrum(E, iso), 0.0)
            mid = (E >= lo) & (E <= hi)
            s = s + np.where(mid, huber_mueller(np.clip(E, lo, hi), iso), 0.0)
            above = E > hi
            if self.tail == "summation":
                s = s + np.where(above, summation_spectrum(E, iso), 0.0)
            elif self.tail == "extrapolate":
                s = s + np.where(above & (E <= E_MAX_MEV), huber_mueller(np.clip(E, hi, E_MAX_MEV), iso), 0.0)
            total = total + f * s
        return total + self.captures_per_fission * capture_spectrum(E)

    def __call__(self, E_MeV):
        """Differential flux dPhi/dE [cm^-2 s^-1 MeV^-1] at energy E [MeV] (eq. 18)."""
        return self.fissions_per_cm2_s * self.spectrum_per_fission(E_MeV)

    @property
    def breakpoints(self) -> Tuple[float, ...]:
        """Energies [MeV] where the spectrum is discontinuous (for adaptive integration)."""
        return (self.hm_range[0], self.hm_range[1])

    @cached_property
    def _cumulative(self) -> Tuple[np.ndarray, Dict[int, np.ndarray]]:
        # nodes with the two switch points doubled, so each side takes its own value
        E = _moment_grid()
        eps = 1e-9
        E = np.unique(np.concatenate([E, [h - eps for h in self.breakpoints], [h + eps for h in self.breakpoints]]))
        cum = {}
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by the engine, not as a warning
            phi = self(E)
            for n in MOMENT_POWERS:
                f = phi * E**n
                seg = 0.5 * (f[1:] + f[:-1]) * np.diff(E)
                cum[n] = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])  # int_{E_k}^{E_max}
        return E, cum

    kind = "reactor"

    @property
    def components(self) -> Tuple[Tuple[str, bool], ...]:
        """(flavour, antineutrino) of the source's components: electron antineutrinos only."""
        return (("e", True),)

    @property
    def per_second(self) -> bool:
        """Moments are a flux (per second): the detector exposure is mass x live time."""
        return True

    @property
    def max_energy_MeV(self) -> float:
        return E_MAX_MEV

    def moments(self, E_min_MeV, component: Tuple[str, bool] = ("e", True)) -> Dict[int, np.ndarray]:
        """Flux moments Phi_n(E_min) = int_{E_min}^{E_max} dPhi/dE E^n dE for n = 0, -1, -2.

        Units: cm^-2 s^-1 MeV^n.  ``E_min`` in MeV (any shape).  ``component``: only ("e", True).
        """
        if component != ("e", True):
            raise CevnsInputError(f"a reactor emits electron antineutrinos only, not {component!r}")
        E, cum = self._cumulative
        x = np.asarray(E_min_MeV, dtype=float)
        xc = np.clip(x, E[0], E[-1])
        return {n: np.interp(xc, E, cum[n]) for n in MOMENT_POWERS}

    def total_flux(self) -> float:
        """Total flux [cm^-2 s^-1] integrated over all energies."""
        return float(self.moments(0.0)[0])

    def with_(self, **changes) -> "ReactorFlux":
        """A copy with some inputs changed (e.g. ``flux.with_(tail="cut")``)."""
        d: Dict[str, Any] = dict(thermal_power_GW=self.thermal_power_GW, distance_m=self.distance_m,
                 energy_per_fission_MeV=self.energy_per_fission_MeV, fission_fractions=self.fractions,
                 captures_per_fission=self.captures_per_fission, tail=self.tail, hm_range=self.hm_range)
        d.update(changes)
        return ReactorFlux(**d)

"""The Sun's 8B neutrinos as a CEvNS source (XENONnT, issue 25).

dPhi/dE = Phi_8B lambda(E), with lambda the 8B spectrum shape of Winter et al., Phys. Rev. C 73, 025503 (2006)
(``data/solar_8b_spectrum.csv``, 0.1 MeV steps, normalised here to one; linear between the points) and Phi_8B the
total flux [cm^-2 s^-1] (``data/solar_8b_flux.csv``: SNO 2013's total active flux 5.25e6 by default, the B16
standard solar models as alternatives).  The flux's uncertainty is the likelihood's signal normalisation.

Flavours.  The 8B neutrinos are made as nu_e; at Earth a fraction ``p_ee`` is nu_e and the rest nu_mu and nu_tau,
shared as ``mu_fraction`` : 1 - ``mu_fraction``.  ``p_ee`` is the survival probability of the adiabatic MSW regime,
flat above ~5 MeV where the CEvNS events of a xenon detector above 0.5 keV_nr come from (E_nu > ~5.5 MeV):
0.317, SNO's day-night fit of P_ee at 10 MeV (Phys. Rev. C 88, 025501 (2013), the constant term c_0 =
0.317 +- 0.016 +- 0.009 of its polynomial); its energy dependence (slope c_1 consistent with 0) is neglected.
``mu_fraction`` = 0.5 is theta_23 = 45 degrees.  Both are named inputs.  The Standard Model's CEvNS is flavour-
blind (the neutral current), so SM predictions do not depend on them; only flavour-dependent parameters do (NSI
eps_ee vs eps_mumu, flavour magnetic moments).  Day-night asymmetry (~3 %) and the time variation of the
Earth-Sun distance average out over the runs and are neglected.

Energies in MeV; moments in cm^-2 s^-1 MeV^n (a flux: the exposure is mass x live time).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Tuple

import numpy as np

from .errors import CevnsInputError, check_positive
from .nuclei import read_data_csv

MOMENT_POWERS = (0, -1, -2)
#: the flavours at Earth: (flavour, antineutrino)
COMPONENTS: Tuple[Tuple[str, bool], ...] = (("e", False), ("mu", False), ("tau", False))


@lru_cache(maxsize=None)
def spectrum_table() -> Tuple[np.ndarray, np.ndarray]:
    """(E [MeV], lambda [1/MeV]) of the Winter et al. 8B spectrum, normalised to one (trapezoid rule)."""
    rows = read_data_csv("solar_8b_spectrum.csv")
    E = np.array([float(r["E_MeV"]) for r in rows])
    lam = np.array([float(r["lambda_1e-3_per_MeV"]) for r in rows])
    return E, lam / np.trapezoid(lam, E)


@lru_cache(maxsize=None)
def flux_table() -> Dict[str, Tuple[float, float, float]]:
    """name -> (flux [cm^-2 s^-1], sigma_minus, sigma_plus [cm^-2 s^-1]) of ``data/solar_8b_flux.csv``."""
    return {r["name"]: (float(r["flux_1e6_per_cm2_s"]) * 1e6, float(r["sigma_minus"]) * 1e6,
                        float(r["sigma_plus"]) * 1e6) for r in read_data_csv("solar_8b_flux.csv")}


@lru_cache(maxsize=None)
def _cumulative() -> Tuple[np.ndarray, Dict[int, np.ndarray]]:
    """int_{E_k}^{E_max} lambda(E) E^n dE on a fine grid (lambda linear between the table's points), n = 0, -1, -2."""
    Et, lam = spectrum_table()
    E = np.linspace(Et[0], Et[-1], 20 * (Et.size - 1) + 1)
    f0 = np.interp(E, Et, lam)
    cum = {}
    for n in MOMENT_POWERS:
        f = f0 * np.where(E > 0, E, 1.0) ** n * (E > 0)
        seg = 0.5 * (f[1:] + f[:-1]) * np.diff(E)
        cum[n] = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
    return E, cum


@dataclass(frozen=True)
class Solar8BSource:
    """Solar 8B neutrinos at Earth (module docstring): total flux [cm^-2 s^-1], survival probability p_ee, the
    nu_mu share of the rest."""

    flux_cm2_s: float = 5.25e6
    p_ee: float = 0.317
    mu_fraction: float = 0.5

    kind = "solar-8b"

    def __post_init__(self):
        check_positive("[source] flux_cm2_s", self.flux_cm2_s, unit="cm^-2 s^-1")
        if self.flux_cm2_s > 1e12:
            raise CevnsInputError(f"[source] flux_cm2_s = {self.flux_cm2_s:g} cm^-2 s^-1 is implausible for 8B "
                                  "(about 5e6)")
        for name in ("p_ee", "mu_fraction"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise CevnsInputError(f"[source] {name} must lie in [0, 1], got {v!r}")

    @property
    def components(self) -> Tuple[Tuple[str, bool], ...]:
        """nu_e, nu_mu, nu_tau at Earth (components of zero weight dropped: a model need not know tau then)."""
        return tuple(c for c in COMPONENTS if self.weight(c) > 0)

    def weight(self, component: Tuple[str, bool]) -> float:
        """Fraction of the flux at Earth in ``component``."""
        pee, fmu = float(self.p_ee), float(self.mu_fraction)
        w = {("e", False): pee, ("mu", False): (1.0 - pee) * fmu, ("tau", False): (1.0 - pee) * (1.0 - fmu)}
        if component not in w:
            raise CevnsInputError(f"the Sun's 8B source has no component {component!r}; known: {list(w)}")
        return w[component]

    @property
    def per_second(self) -> bool:
        return True

    @property
    def max_energy_MeV(self) -> float:
        return float(spectrum_table()[0][-1])

    @property
    def energy_breaks_MeV(self) -> Tuple[float, ...]:
        return (self.max_energy_MeV,)

    def spectrum(self, E_MeV, component: Tuple[str, bool] = ("e", False)):
        """dPhi/dE of one component [cm^-2 s^-1 MeV^-1]."""
        Et, lam = spectrum_table()
        E = np.asarray(E_MeV, dtype=float)
        return self.flux_cm2_s * self.weight(component) * np.interp(E, Et, lam, left=0.0, right=0.0)

    def moments(self, E_min_MeV, component: Tuple[str, bool] = ("e", False)) -> Dict[int, np.ndarray]:
        """Phi_n(E_min) = int_{E_min} dPhi/dE E^n dE for n = 0, -1, -2 [cm^-2 s^-1 MeV^n] of one component."""
        E, cum = _cumulative()
        x = np.clip(np.asarray(E_min_MeV, dtype=float), E[0], E[-1])
        scale = self.flux_cm2_s * self.weight(component)
        return {n: scale * np.interp(x, E, cum[n]) for n in MOMENT_POWERS}

    def total_flux(self) -> float:
        return float(self.flux_cm2_s)

    def inputs(self) -> Dict[str, Any]:
        return {"kind": self.kind, "flux_cm2_s": float(self.flux_cm2_s), "p_ee": float(self.p_ee),
                "mu_fraction": float(self.mu_fraction)}

"""Stopped-pion (pion and muon decay-at-rest) neutrino source, e.g. the SNS seen by COHERENT.

pi+ -> mu+ nu_mu gives a prompt, monochromatic nu_mu at E_0 = (m_pi^2 - m_mu^2) / (2 m_pi) = 29.79 MeV;
mu+ -> e+ nu_e anti-nu_mu gives the delayed nu_e and anti-nu_mu with the Michel spectra (normalised to one
neutrino per decay, 0 <= E <= m_mu / 2)

    f_nu_e(E)      = 192 / m_mu^3  E^2 (1/2 - E / m_mu),
    f_anti-nu_mu(E) = 64 / m_mu^3  E^2 (3/4 - E / m_mu).

Each flavour component carries ``nu_per_pot`` neutrinos per proton on target; the fluence at the detector
is ``pot * nu_per_pot / (4 pi d^2)`` [cm^-2] for the whole run (a fluence, not a flux: a spallation
experiment's exposure is its mass alone).  The flux moments Phi_n(E_min) = int_{E_min} dPhi/dE E^n dE
(n = 0, -1, -2, docs/physics.md) are closed forms: a step for the line, polynomials in E_min for the Michel
spectra.

Timing (docs/physics.md, "time factorises"): the arrival time of a component does not depend on its energy.
The proton-on-target trace is a Gaussian (mean ``pot_mean_us``, width ``pot_width_us``), convolved with
the pion lifetime for the prompt nu_mu and with the pion and muon lifetimes for the delayed flavours.
Energies in MeV, times in microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

import numpy as np
from scipy.special import erfc, erfcx

from . import constants as C
from .errors import CevnsInputError, check_finite, check_positive

#: flavour components: (flavour, antineutrino) -> name
COMPONENTS = {("mu", False): "prompt nu_mu", ("e", False): "delayed nu_e", ("mu", True): "delayed anti-nu_mu"}


def prompt_energy_MeV() -> float:
    """Energy of the nu_mu from pi+ decay at rest: (m_pi^2 - m_mu^2) / (2 m_pi) [MeV] (29.79 MeV)."""
    return (C.M_PION_CHARGED**2 - C.M_MUON**2) / (2.0 * C.M_PION_CHARGED)


def michel_spectrum(E_MeV, component: Tuple[str, bool]):
    """Normalised energy spectrum [1/MeV] of a delayed component: ("e", False) nu_e or ("mu", True) anti-nu_mu."""
    E = np.asarray(E_MeV, dtype=float)
    m = C.M_MUON
    inside = (E >= 0) & (E <= m / 2)
    if component == ("e", False):
        f = 192.0 / m**3 * E**2 * (0.5 - E / m)
    elif component == ("mu", True):
        f = 64.0 / m**3 * E**2 * (0.75 - E / m)
    else:
        raise CevnsInputError(f"no Michel spectrum for component {component!r}")
    return np.where(inside, f, 0.0)


def _michel_antiderivatives(component: Tuple[str, bool]) -> Dict[int, Callable]:
    """Antiderivatives of f(E) E^n for n = 0, -1, -2 (closed forms of the moments)."""
    m = C.M_MUON
    if component == ("e", False):
        k = 192.0 / m**3
        return {0: lambda E: k * (E**3 / 6.0 - E**4 / (4.0 * m)),
                -1: lambda E: k * (E**2 / 4.0 - E**3 / (3.0 * m)),
                -2: lambda E: k * (E / 2.0 - E**2 / (2.0 * m))}
    k = 64.0 / m**3
    return {0: lambda E: k * (E**3 / 4.0 - E**4 / (4.0 * m)),
            -1: lambda E: k * (3.0 * E**2 / 8.0 - E**3 / (3.0 * m)),
            -2: lambda E: k * (3.0 * E / 4.0 - E**2 / (2.0 * m))}


def _exgauss(t, mu: float, sigma: float, tau: float):
    """Gaussian(mu, sigma) convolved with an exponential of lifetime tau: a normalised pdf in t (stable form)."""
    z = (t - mu) / sigma
    x = (sigma / tau - z) / np.sqrt(2.0)
    pos = x >= 0
    a = np.exp(-0.5 * z**2) * erfcx(np.where(pos, x, 0.0))
    b = np.exp(np.minimum(0.5 * (sigma / tau) ** 2 - (t - mu) / tau, 700.0)) * erfc(np.where(pos, 0.0, x))
    return np.where(pos, a, b) / (2.0 * tau)


@dataclass(frozen=True)
class StoppedPionSource:
    """Pion and muon decay at rest (defaults: none; see the experiment files for the SNS numbers).

    Parameters
    ----------
    pot : protons on target of the run.
    nu_per_pot : neutrinos of each flavour per proton.
    distance_m : source-detector distance [m].
    pot_mean_us, pot_width_us : mean and width of the Gaussian proton-on-target trace [us].
    """

    pot: float
    nu_per_pot: float
    distance_m: float
    pot_mean_us: float = 0.44
    pot_width_us: float = 0.15

    kind = "stopped-pion"

    def __post_init__(self):
        check_positive("pot (protons on target)", self.pot)
        check_positive("nu_per_pot", self.nu_per_pot)
        check_positive("distance_m", self.distance_m, unit="m")
        check_finite("pot_mean_us", self.pot_mean_us, unit="us")
        check_positive("pot_width_us", self.pot_width_us, unit="us")
        if self.distance_m < 1e-3 or not 0 < self.fluence_per_cm2 <= 1e30:
            raise CevnsInputError(f"stopped-pion source: implausible fluence {self.fluence_per_cm2:g} cm^-2 "
                                  "(check pot, nu_per_pot, distance_m)")

    @property
    def components(self) -> Tuple[Tuple[str, bool], ...]:
        """(flavour, antineutrino) of each component: prompt nu_mu, delayed nu_e, delayed anti-nu_mu."""
        return tuple(COMPONENTS)

    @property
    def fluence_per_cm2(self) -> float:
        """Neutrinos of one flavour per cm^2 at the detector over the run: pot nu_per_pot / (4 pi d^2)."""
        d_cm = self.distance_m * C.METER_CM
        return self.pot * self.nu_per_pot / (4.0 * np.pi) / d_cm / d_cm  # no OverflowError for a huge d

    @property
    def per_second(self) -> bool:
        """Moments are a fluence (whole run), so the detector exposure is its mass alone."""
        return False

    @property
    def energy_breaks_MeV(self) -> Tuple[float, ...]:
        """Neutrino energies where a moment has a kink or step (the line and the Michel endpoint)."""
        return (prompt_energy_MeV(), C.M_MUON / 2.0)

    @property
    def max_energy_MeV(self) -> float:
        return C.M_MUON / 2.0

    def spectrum(self, E_MeV, component: Tuple[str, bool]):
        """dPhi/dE of a delayed component [cm^-2 MeV^-1] (the prompt line has no density: see :meth:`moments`)."""
        return self.fluence_per_cm2 * michel_spectrum(E_MeV, component)

    def moments(self, E_min_MeV, component: Tuple[str, bool] = ("e", False)) -> Dict[int, np.ndarray]:
        """Phi_n(E_min) = int_{E_min} dPhi/dE E^n dE for n = 0, -1, -2 [cm^-2 MeV^n] of one component."""
        if component not in COMPONENTS:
            raise CevnsInputError(f"unknown stopped-pion component {component!r}; known: {list(COMPONENTS)}")
        x = np.asarray(E_min_MeV, dtype=float)
        phi = self.fluence_per_cm2
        if component == ("mu", False):
            E0 = prompt_energy_MeV()
            step = (x <= E0).astype(float) * phi
            return {n: step * E0**n for n in (0, -1, -2)}
        top = C.M_MUON / 2.0
        lo = np.clip(x, 0.0, top)
        return {n: phi * (F(top) - F(lo)) for n, F in _michel_antiderivatives(component).items()}

    def time_pdf(self, t_us, component: Tuple[str, bool]):
        """Arrival-time density [1/us] of a component: POT trace x pion decay (prompt), x muon decay (delayed)."""
        t = np.asarray(t_us, dtype=float)
        mu, s, tp, tm = self.pot_mean_us, self.pot_width_us, C.TAU_PION_US, C.TAU_MUON_US
        if component == ("mu", False):
            return _exgauss(t, mu, s, tp)
        return (tm * _exgauss(t, mu, s, tm) - tp * _exgauss(t, mu, s, tp)) / (tm - tp)

    def time_fractions(self, edges_us, component: Tuple[str, bool],
                       efficiency: Optional[Callable] = None, step_us: float = 0.001) -> np.ndarray:
        """Fraction of a component's neutrinos arriving in each time bin, weighted by the time
        efficiency ``efficiency(t)`` (1 if None); trapezoidal on a ``step_us`` grid (default 1 ns)."""
        e = np.asarray(edges_us, dtype=float)
        out = np.zeros(e.size - 1)
        # the density vanishes (below e^-200) outside 40 widths of the proton pulse and 200 muon lifetimes after it
        lo = self.pot_mean_us - 40.0 * self.pot_width_us
        hi = self.pot_mean_us + 40.0 * self.pot_width_us + 200.0 * C.TAU_MUON_US
        for i, (a, b) in enumerate(zip(e[:-1], e[1:])):
            a, b = max(a, lo), min(b, hi)
            if b <= a:
                continue
            n = min(max(2, int(np.ceil((b - a) / step_us)) + 1), 1_000_001)  # a wide pulse: a coarser step
            t = np.linspace(a, b, n)
            f = self.time_pdf(t, component) * (1.0 if efficiency is None else efficiency(t))
            out[i] = float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(t)))
        return out

    @staticmethod
    def mean_energy_MeV(component: Tuple[str, bool]) -> float:
        """Mean neutrino energy of a component (closed forms): E_0 = 29.79 MeV for the line, 3/10 m_mu
        (31.7 MeV) for nu_e, 7/20 m_mu (36.98 MeV) for anti-nu_mu."""
        if component == ("mu", False):
            return prompt_energy_MeV()
        return (0.3 if component == ("e", False) else 0.35) * C.M_MUON

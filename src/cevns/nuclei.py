"""Nuclei and atoms: isotopes, the Helm form factor, binding energies and Z_eff.

Targets are defined by data (``data/isotopes.csv``): a new element needs a row
per isotope, no code.  Energies in MeV, momenta in MeV, lengths in fm.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Dict, List, Tuple

import numpy as np

from . import constants as C
from .errors import CevnsInputError

HBARC_MEV_FM = C.HBARC_MEV_CM * 1e13  # hbar c in MeV fm


def _read_data_csv(name: str) -> List[Dict[str, str]]:
    """Rows of a packaged CSV (comment lines start with '#')."""
    text = resources.files("cevns.data").joinpath(name).read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines))


@dataclass(frozen=True)
class HelmParameters:
    """Helm form-factor parameters (Lewin & Smith, Astropart. Phys. 6, 87 (1996)).

    R0^2 = c^2 + 7/3 pi^2 a^2 - 5 s^2 with c = c1 A^(1/3) - c0; all in fm.
    """

    s_fm: float = 0.9
    a_fm: float = 0.52
    c1_fm: float = 1.23
    c0_fm: float = 0.60

    def radius_fm(self, A: int) -> float:
        """Helm radius R0 [fm] for mass number A."""
        c = self.c1_fm * A ** (1.0 / 3.0) - self.c0_fm
        return float(np.sqrt(c**2 + 7.0 / 3.0 * np.pi**2 * self.a_fm**2 - 5.0 * self.s_fm**2))


def helm_form_factor(q_MeV, A: int, params: HelmParameters = HelmParameters()):
    """Helm form factor F(q) (eq. 1's F_W), q the momentum transfer in MeV.

    F(q) = 3 j1(q R0)/(q R0) exp(-q^2 s^2 / 2); F(0) = 1.
    """
    q = np.asarray(q_MeV, dtype=float) / HBARC_MEV_FM  # fm^-1
    x = q * params.radius_fm(A)
    small = np.abs(x) < 1e-4
    xs = np.where(small, 1.0, x)
    j1_over_x = np.where(small, 1.0 / 3.0 - x**2 / 30.0, (np.sin(xs) - xs * np.cos(xs)) / xs**3)
    return 3.0 * j1_over_x * np.exp(-0.5 * (q * params.s_fm) ** 2)


@dataclass(frozen=True)
class Isotope:
    """One isotope: charge Z, mass number A, atomic mass (u), abundance (fraction)."""

    Z: int
    A: int
    atomic_mass_u: float
    abundance: float

    @property
    def N(self) -> int:
        return self.A - self.Z

    @property
    def mass_MeV(self) -> float:
        """Nuclear mass [MeV]: atomic mass minus the electrons (binding neglected, < 1e-6)."""
        return self.atomic_mass_u * C.ATOMIC_MASS_UNIT - self.Z * C.M_ELECTRON


@dataclass(frozen=True)
class Target:
    """A target element: its isotopes with natural abundances."""

    element: str
    isotopes: Tuple[Isotope, ...]
    helm: HelmParameters = field(default_factory=HelmParameters)

    @property
    def Z(self) -> int:
        return self.isotopes[0].Z

    @property
    def molar_mass_g(self) -> float:
        """Mean molar mass [g/mol] over the isotopic composition."""
        return float(sum(i.abundance * i.atomic_mass_u for i in self.isotopes))

    def atoms_per_kg(self) -> float:
        """Number of atoms (nuclei) per kg of target: N_A * 1000 / m_molar (text under eq. 17)."""
        return C.AVOGADRO * 1000.0 / self.molar_mass_g


@lru_cache(maxsize=None)
def _isotope_table() -> Dict[str, Tuple[Isotope, ...]]:
    table: Dict[str, List[Isotope]] = {}
    for row in _read_data_csv("isotopes.csv"):
        iso = Isotope(int(row["Z"]), int(row["A"]), float(row["atomic_mass_u"]), float(row["abundance"]))
        table.setdefault(row["element"], []).append(iso)
    return {k: tuple(v) for k, v in table.items()}


def known_elements() -> List[str]:
    return sorted(_isotope_table())


def load_target(element: str, abundances: Dict[int, float] | None = None,
                helm: HelmParameters = HelmParameters()) -> Target:
    """The target element ``element`` (e.g. "Ge") from the packaged isotope table.

    ``abundances`` optionally overrides the composition ({A: fraction}); fractions
    must sum to one (e.g. an enriched detector).
    """
    table = _isotope_table()
    if element not in table:
        raise CevnsInputError(f"unknown target element {element!r}; known: {', '.join(known_elements())}")
    isos = table[element]
    if abundances is not None:
        known = {i.A for i in isos}
        bad = set(abundances) - known
        if bad:
            raise CevnsInputError(f"unknown isotope(s) {sorted(bad)} of {element}; known mass numbers {sorted(known)}")
        isos = tuple(Isotope(i.Z, i.A, i.atomic_mass_u, float(abundances.get(i.A, 0.0))) for i in isos)
    fracs = np.array([i.abundance for i in isos])
    if np.any(fracs < 0) or abs(fracs.sum() - 1.0) > 1e-3:
        raise CevnsInputError(f"isotopic abundances of {element} must be >= 0 and sum to 1, got sum {fracs.sum():.6f}")
    return Target(element, tuple(i for i in isos if i.abundance > 0), helm)


@dataclass(frozen=True)
class BindingTable:
    """Subshell binding energies [eV] and occupancies of one atom (text under eq. 19)."""

    element: str
    name: str
    shells: Tuple[Tuple[str, float, int], ...]  # (shell, binding energy eV, occupancy)

    @property
    def edges_MeV(self) -> np.ndarray:
        return np.array([b for _, b, _ in self.shells]) * C.eV

    def z_eff(self, T_e_MeV):
        """Z_eff(T_e) = number of electrons with binding energy below T_e (eq. 19's step sum)."""
        T = np.asarray(T_e_MeV, dtype=float)
        out = np.zeros_like(T)
        for _, b, occ in self.shells:
            out = out + occ * (T > b * C.eV)
        return out


def binding_tables(element: str = "Ge") -> List[str]:
    return sorted({r["table"] for r in _read_data_csv("binding_energies.csv") if r["element"] == element})


def load_binding_table(element: str = "Ge", table: str = "carlson") -> BindingTable:
    """Binding energies of ``element`` from the packaged table ``table`` ("carlson" or "bearden")."""
    rows = [r for r in _read_data_csv("binding_energies.csv") if r["element"] == element and r["table"] == table]
    if not rows:
        raise CevnsInputError(
            f"no binding-energy table {table!r} for element {element!r}; available: {binding_tables(element) or 'none'}")
    shells = tuple((r["shell"], float(r["binding_eV"]), int(r["occupancy"])) for r in rows)
    return BindingTable(element, table, shells)

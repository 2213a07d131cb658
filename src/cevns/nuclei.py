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


def read_data_csv(name: str) -> List[Dict[str, str]]:
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


def _j1_over_x(x):
    """j1(x)/x, with its series below x = 1e-4 (j1(x)/x -> 1/3)."""
    small = np.abs(x) < 1e-4
    xs = np.where(small, 1.0, x)
    return np.where(small, 1.0 / 3.0 - x**2 / 30.0, (np.sin(xs) - xs * np.cos(xs)) / xs**3)


def helm_form_factor(q_MeV, A: int, params: HelmParameters = HelmParameters(), radius_fm: float | None = None):
    """Helm form factor F(q) (eq. 1's F_W), q the momentum transfer in MeV.

    F(q) = 3 j1(q R0)/(q R0) exp(-q^2 s^2 / 2); F(0) = 1.  R0 from ``params`` and A, or ``radius_fm``
    (the box radius R0 itself, e.g. from :func:`helm_box_radius` of a measured rms radius).
    """
    q = np.asarray(q_MeV, dtype=float) / HBARC_MEV_FM  # fm^-1
    x = q * (params.radius_fm(A) if radius_fm is None else radius_fm)
    return 3.0 * _j1_over_x(x) * np.exp(-0.5 * (q * params.s_fm) ** 2)


def helm_box_radius(rms_radius_fm: float, s_fm: float = 0.9) -> float:
    """Helm box radius R0 [fm] whose distribution has rms radius ``rms_radius_fm``: R_rms^2 = 3/5 R0^2 + 3 s^2."""
    r0sq = 5.0 / 3.0 * (rms_radius_fm**2 - 3.0 * s_fm**2)
    if not np.isfinite(r0sq) or r0sq <= 0:
        raise CevnsInputError(f"rms radius {rms_radius_fm:g} fm is too small for a Helm distribution with skin "
                              f"s = {s_fm:g} fm (needs R_rms > sqrt(3) s = {np.sqrt(3) * s_fm:.3f} fm)")
    return float(np.sqrt(r0sq))


def helm_rms_radius(A: int, params: HelmParameters = HelmParameters()) -> float:
    """rms radius [fm] of the Helm distribution of mass number A: R_rms^2 = 3/5 R0^2 + 3 s^2 (R0 from ``params``)."""
    return float(np.sqrt(0.6 * params.radius_fm(A) ** 2 + 3.0 * params.s_fm**2))


def klein_nystrand_form_factor(q_MeV, A: int, range_fm: float = 0.7, radius_fm: float | None = None):
    """Klein-Nystrand form factor: a hard sphere of radius R_A = 1.23 A^(1/3) fm (or ``radius_fm``) folded
    with a Yukawa potential of range ``range_fm`` (0.7 fm):  F(q) = 3 j1(q R_A)/(q R_A) / (1 + q^2 a_k^2)
    (Klein & Nystrand, PRC 60, 014903 (1999); the form used by COHERENT)."""
    q = np.asarray(q_MeV, dtype=float) / HBARC_MEV_FM
    R = 1.23 * A ** (1.0 / 3.0) if radius_fm is None else radius_fm
    return 3.0 * _j1_over_x(q * R) / (1.0 + (q * range_fm) ** 2)


def klein_nystrand_radius(rms_radius_fm: float, range_fm: float = 0.7) -> float:
    """Hard-sphere radius R_A [fm] of the Klein-Nystrand distribution with rms radius ``rms_radius_fm``:
    R_rms^2 = 3/5 R_A^2 + 6 a_k^2."""
    r2 = 5.0 / 3.0 * (rms_radius_fm**2 - 6.0 * range_fm**2)
    if not np.isfinite(r2) or r2 <= 0:
        raise CevnsInputError(f"rms radius {rms_radius_fm:g} fm is too small for the Klein-Nystrand form "
                              f"factor with range {range_fm:g} fm")
    return float(np.sqrt(r2))


FORM_FACTORS = ("helm", "klein-nystrand")


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
    """A target: an element with its isotopes, or a compound (CsI) of several elements.

    ``isotopes[i].abundance`` is the number of nuclei of that isotope per formula unit (the natural
    abundance for a single element, 1 per Cs and 1 per I in CsI).  ``radii_fm`` optionally gives the rms
    radius [fm] of the weak-charge (neutron) distribution per element, used by the form factor
    ``form_factor`` ("helm", default, or "klein-nystrand"); without it the Helm radius follows
    ``helm`` (R0 from A^(1/3)) and Klein-Nystrand uses R_A = 1.23 A^(1/3) fm.
    """

    element: str
    isotopes: Tuple[Isotope, ...]
    helm: HelmParameters = field(default_factory=HelmParameters)
    form_factor: str = "helm"
    radii_fm: Tuple[Tuple[int, float], ...] = ()  # (Z, rms radius [fm])

    def __post_init__(self):
        if self.form_factor not in FORM_FACTORS:
            raise CevnsInputError(f"form_factor must be one of {FORM_FACTORS}, got {self.form_factor!r}")

    @property
    def elements(self) -> Tuple[int, ...]:
        """The charges Z of the elements, in order of appearance."""
        return tuple(dict.fromkeys(i.Z for i in self.isotopes))

    @property
    def Z(self) -> int:
        """Charge of a single-element target (compounds have several: see :attr:`elements`)."""
        if len(self.elements) > 1:
            raise CevnsInputError(f"target {self.element} is a compound of Z = {self.elements}; no single Z")
        return self.isotopes[0].Z

    @property
    def molar_mass_g(self) -> float:
        """Molar mass [g/mol] of one formula unit (the mean over the isotopic composition)."""
        return float(sum(i.abundance * i.atomic_mass_u for i in self.isotopes))

    def atoms_per_kg(self) -> float:
        """Formula units per kg of target: N_A * 1000 / m_molar (text under eq. 17); for a single element
        the number of nuclei, for CsI the number of Cs (= I) nuclei."""
        return C.AVOGADRO * 1000.0 / self.molar_mass_g

    def form_factor_squared(self, iso: Isotope, q_MeV):
        """F^2(q) of isotope ``iso`` with this target's form factor and radii."""
        return self.form_factor_at(iso, q_MeV) ** 2

    def form_factor_at(self, iso: Isotope, q_MeV, rms_fm: float | None = None):
        """F(q) (with its sign) of isotope ``iso`` with this target's form factor, its distribution of rms radius
        ``rms_fm`` [fm] (default: :meth:`rms_radius_fm`, the radius of :meth:`form_factor_squared`)."""
        rms = dict(self.radii_fm).get(iso.Z) if rms_fm is None else rms_fm
        if self.form_factor == "helm":
            r0 = None if rms is None else helm_box_radius(rms, self.helm.s_fm)
            return helm_form_factor(q_MeV, iso.A, self.helm, r0)
        ra = None if rms is None else klein_nystrand_radius(rms)
        return klein_nystrand_form_factor(q_MeV, iso.A, radius_fm=ra)

    def rms_radius_fm(self, iso: Isotope) -> float:
        """The rms radius [fm] of the distribution whose form factor :meth:`form_factor_squared` uses for ``iso``:
        the file's ``radii_fm`` of its element, else that of the Helm radius R0(A) (R_rms^2 = 3/5 R0^2 + 3 s^2) or
        of the Klein-Nystrand R_A = 1.23 A^(1/3) fm (R_rms^2 = 3/5 R_A^2 + 6 a_k^2, a_k = 0.7 fm)."""
        rms = dict(self.radii_fm).get(iso.Z)
        if rms is not None:
            return float(rms)
        if self.form_factor == "helm":
            return helm_rms_radius(iso.A, self.helm)
        return float(np.sqrt(0.6 * (1.23 * iso.A ** (1.0 / 3.0)) ** 2 + 6.0 * 0.7**2))


@lru_cache(maxsize=None)
def _isotope_table() -> Dict[str, Tuple[Isotope, ...]]:
    table: Dict[str, List[Isotope]] = {}
    for row in read_data_csv("isotopes.csv"):
        iso = Isotope(int(row["Z"]), int(row["A"]), float(row["atomic_mass_u"]), float(row["abundance"]))
        table.setdefault(row["element"], []).append(iso)
    return {k: tuple(v) for k, v in table.items()}


def known_elements() -> List[str]:
    return sorted(_isotope_table())


def element_table() -> Dict[str, Tuple[Isotope, ...]]:
    """Every element of ``data/isotopes.csv`` with its natural isotopes, in the file's order."""
    return dict(_isotope_table())


def element_of(Z: int) -> str:
    """The symbol of the element of charge Z in ``data/isotopes.csv``."""
    for el, isos in _isotope_table().items():
        if isos[0].Z == Z:
            return el
    raise CevnsInputError(f"no element of charge Z = {Z} in the isotope table")


def _element_isotopes(element: str, abundances: Dict[int, float] | None) -> Tuple[Isotope, ...]:
    table = _isotope_table()
    if element not in table:
        raise CevnsInputError(f"unknown target element {element!r}; known: {', '.join(known_elements())}")
    isos = table[element]
    if abundances is not None:
        try:
            abundances = {int(a): float(f) for a, f in abundances.items()}  # TOML keys are strings: "76" = 0.88
        except (TypeError, ValueError, AttributeError):
            raise CevnsInputError(f"abundances of {element} must map mass numbers to fractions, "
                                  f"e.g. {{ 76 = 0.88, 74 = 0.12 }}; got {abundances!r}") from None
        known = {i.A for i in isos}
        bad = set(abundances) - known
        if bad:
            raise CevnsInputError(f"unknown isotope(s) {sorted(bad)} of {element}; known mass numbers {sorted(known)}")
        isos = tuple(Isotope(i.Z, i.A, i.atomic_mass_u, float(abundances.get(i.A, 0.0))) for i in isos)
    fracs = np.array([i.abundance for i in isos])
    if np.any(~np.isfinite(fracs)) or np.any(fracs < 0) or abs(fracs.sum() - 1.0) > 1e-3:
        raise CevnsInputError(f"isotopic abundances of {element} must be >= 0 and sum to 1, got sum {fracs.sum():.6f}")
    return tuple(i for i in isos if i.abundance > 0)


def load_target(element: str, abundances: Dict[int, float] | None = None,
                helm: HelmParameters = HelmParameters(), composition: Dict[str, float] | None = None,
                form_factor: str = "helm", radii_fm: Dict[str, float] | None = None) -> Target:
    """The target ``element`` (e.g. "Ge") from the packaged isotope table, or a compound.

    ``abundances`` optionally overrides the composition of a single element ({A: fraction}); fractions
    must sum to one (e.g. an enriched detector).  ``composition`` makes a compound: {element: atoms per
    formula unit}, e.g. {"Cs": 1, "I": 1} for CsI (natural isotopes each); ``element`` is then its label.
    ``radii_fm``: {element: rms radius of the weak charge [fm]} for the form factor (see :class:`Target`).
    """
    if composition is None:
        isos = _element_isotopes(element, abundances)
    else:
        if abundances is not None:
            raise CevnsInputError("abundances apply to a single-element target, not to a compound")
        if not isinstance(composition, dict) or not composition:
            raise CevnsInputError(f"composition must map elements to atoms per formula unit, e.g. "
                                  f"{{ Cs = 1, I = 1 }}; got {composition!r}")
        out: List[Isotope] = []
        for el, n in composition.items():
            if isinstance(n, bool) or not isinstance(n, (int, float)) or not np.isfinite(n) or n <= 0:
                raise CevnsInputError(f"composition: {el} must have a positive number of atoms, got {n!r}")
            out += [Isotope(i.Z, i.A, i.atomic_mass_u, i.abundance * float(n)) for i in _element_isotopes(el, None)]
        isos = tuple(out)
    if radii_fm is not None and not isinstance(radii_fm, dict):
        raise CevnsInputError(f"radii_fm must map elements to rms radii in fm, e.g. {{ Cs = 4.86 }}; got {radii_fm!r}")
    by_symbol = {el: iso_list[0].Z for el, iso_list in _isotope_table().items()}
    radii: List[Tuple[int, float]] = []
    for el, r in (radii_fm or {}).items():
        if el not in by_symbol or by_symbol[el] not in {i.Z for i in isos}:
            raise CevnsInputError(f"radius given for {el!r}, which is not in the target ({element})")
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not np.isfinite(r) or not 0.5 < r < 20:
            raise CevnsInputError(f"rms radius of {el} must be a number of fm in (0.5, 20), got {r!r}")
        radii.append((by_symbol[el], float(r)))
    return Target(element, isos, helm, form_factor, tuple(radii))


@dataclass(frozen=True)
class BindingTable:
    """Subshell binding energies [eV] and occupancies of one atom or formula unit (text under eq. 19)."""

    element: str
    name: str
    shells: Tuple[Tuple[str, float, float], ...]  # (shell, binding energy eV, electrons per atom or formula unit)

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
    return sorted({r["table"] for r in read_data_csv("binding_energies.csv") if r["element"] == element})


def load_binding_table(element: str = "Ge", table: str = "carlson",
                       composition: Dict[str, float] | None = None) -> BindingTable:
    """Binding energies of ``element`` from the packaged table ``table`` ("carlson" or "bearden").

    With ``composition`` ({element: atoms per formula unit}, as in :func:`load_target`) the table of the
    compound: every element's shells, named "Cs K", "I L1", ..., their occupancies times the atoms per
    formula unit (Z_eff then counts the electrons of one formula unit, as the target counts formula units)."""
    if composition is not None:
        shells: List[Tuple[str, float, float]] = []
        for el, n in composition.items():
            one = load_binding_table(el, table)
            shells += [(f"{el} {name}", b, occ * float(n)) for name, b, occ in one.shells]
        return BindingTable(element, table, tuple(sorted(shells, key=lambda x: -x[1])))
    rows = [r for r in read_data_csv("binding_energies.csv") if r["element"] == element and r["table"] == table]
    if not rows:
        raise CevnsInputError(
            f"no binding-energy table {table!r} for element {element!r}; available: {binding_tables(element) or 'none'} "
            "(EvES needs one; [target] eves = false computes CEvNS only)")
    return BindingTable(element, table, tuple((r["shell"], float(r["binding_eV"]), float(r["occupancy"])) for r in rows))

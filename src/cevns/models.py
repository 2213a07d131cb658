"""Physics models: small objects with named parameters (units documented per class).

A model knows its CEvNS and EvES differential cross sections as flux-moment
terms (``cevns.xsec``).  Its *coupling* parameters (``parameters``) are kept as
polynomial variables by the rate engine, so fits never recompute an integral;
*mass* parameters (``mass_parameters``) are fixed per evaluation.

>>> from cevns.models import MagneticMoment
>>> m = MagneticMoment(mu_nu=1e-10)      # in Bohr magnetons
>>> m.values()["mu_nu"]
1e-10
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Mapping, Tuple, Type

import numpy as np

from . import constants as C
from . import xsec
from ._poly import Poly
from .errors import CevnsInputError, check_energies, check_finite, check_positive
from .nuclei import Isotope

COUPLING_CONVENTIONS = ("universal", "product")


class Model:
    """Base class.  Subclasses define the parameter tables and the two ``*_terms`` methods."""

    name: ClassVar[str] = "sm"
    #: polynomial parameters: name -> (default, unit, typical scale)
    parameter_table: ClassVar[Dict[str, Tuple[float, str, float]]] = {"sin2w": (C.SIN2W_LOW_Q, "", 0.01)}
    #: non-polynomial parameters: name -> (default, unit)
    mass_table: ClassVar[Dict[str, Tuple[float, str]]] = {}

    def __init__(self, **values: Any):
        known = set(self.parameter_table) | set(self.mass_table) | set(self.option_table())
        unknown = set(values) - known
        if unknown:
            raise CevnsInputError(
                f"unknown parameter(s) {sorted(unknown)} for model {self.name!r}; known: {sorted(known)}")
        self._values: Dict[str, float] = {}
        for k, (default, _unit, _s) in self.parameter_table.items():
            self._values[k] = check_finite(k, values.get(k, default))
        if not 0.0 <= self._values["sin2w"] <= 1.0:
            raise CevnsInputError(f"sin2w is sin^2 theta_W and must lie in [0, 1], got {self._values['sin2w']:g}")
        for k, (default, unit) in self.mass_table.items():
            self._values[k] = check_positive(k, values.get(k, default), unit=unit)
        self._options = {k: values.get(k, d) for k, d in self.option_table().items()}
        self._check_options()

    @classmethod
    def option_table(cls) -> Dict[str, Any]:
        return {}

    def _check_options(self) -> None:
        pass

    @property
    def parameters(self) -> Tuple[str, ...]:
        return tuple(self.parameter_table)

    @property
    def mass_parameters(self) -> Tuple[str, ...]:
        return tuple(self.mass_table)

    def values(self) -> Dict[str, float]:
        """All parameter values (couplings and masses) in their documented units."""
        return dict(self._values)

    @property
    def options(self) -> Dict[str, Any]:
        return dict(self._options)

    def replace(self, **values: Any) -> "Model":
        """A copy with some parameters changed."""
        d = {**self._values, **self._options}
        d.update(values)
        return type(self)(**d)

    def symbols(self) -> Dict[str, Any]:
        """Polynomial variables for every coupling parameter (used by the rate engine)."""
        return {k: Poly.var(k) for k in self.parameter_table}

    def structure_key(self) -> Tuple:
        """What the polynomial basis depends on: model type, masses and options."""
        return (type(self).__name__, tuple(self._values[k] for k in self.mass_table),
                tuple(sorted(self._options.items())))

    # --- physics: override in subclasses ------------------------------------------------
    def cevns_terms(self, T, iso: Isotope, F2, p: Mapping[str, Any]) -> xsec.Terms:
        """CEvNS dsigma/dT_N terms for one isotope (eq. 1)."""
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, xsec.weak_charge(iso.Z, iso.N, p["sin2w"]) ** 2)

    def eves_terms(self, T, p: Mapping[str, Any], flavour: str = "e", antineutrino: bool = True) -> xsec.Terms:
        """EvES dsigma/dT_e terms per electron (eq. 3)."""
        gv, ga = xsec.electron_couplings(p["sin2w"], flavour)
        return xsec.eves_terms(T, *xsec.eves_coefficients(gv, ga, antineutrino))

    # --- direct evaluation (for users and for the slow reference) ------------------------------
    def dsigma_cevns(self, E_MeV, T_MeV, iso: Isotope, form_factor=None):
        """dsigma/dT_N [cm^2/MeV] for neutrino energy E and nuclear recoil T (both MeV).

        Zero where T is kinematically forbidden.  ``form_factor``: callable F(q [MeV]);
        default Helm with the standard parameters.
        """
        from .nuclei import helm_form_factor

        E = check_energies("neutrino energy E", E_MeV)
        T = check_energies("recoil energy T", T_MeV)
        q = np.sqrt(2.0 * iso.mass_MeV * T)
        F = helm_form_factor(q, iso.A) if form_factor is None else form_factor(q)
        val = xsec.evaluate_terms(self.cevns_terms(T, iso, F**2, self._values), E)
        return np.where(E >= xsec.e_min(T, iso.mass_MeV), val, 0.0) * C.CM2_PER_MEV_M2

    def dsigma_eves(self, E_MeV, T_MeV, flavour: str = "e", antineutrino: bool = True):
        """dsigma/dT_e [cm^2/MeV] per (free) electron, E and T in MeV; zero where forbidden."""
        E = check_energies("neutrino energy E", E_MeV)
        T = check_energies("recoil energy T", T_MeV)
        val = xsec.evaluate_terms(self.eves_terms(T, self._values, flavour, antineutrino), E)
        return np.where(E >= xsec.e_min(T, C.M_ELECTRON), val, 0.0) * C.CM2_PER_MEV_M2

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self._values.items())
        opts = "".join(f", {k}={v!r}" for k, v in self._options.items())
        return f"{type(self).__name__}({args}{opts})"


class StandardModel(Model):
    """The Standard Model (eq. 1-4).  sin2w: MS-bar sin^2 theta_W at low q (default 0.23857)."""

    name = "sm"


class MagneticMoment(Model):
    """Effective electron-antineutrino magnetic moment (eq. 6a, 6b).  mu_nu in Bohr magnetons."""

    name = "magnetic-moment"
    parameter_table = {**Model.parameter_table, "mu_nu": (0.0, "mu_B", 1e-10)}

    def cevns_terms(self, T, iso, F2, p):
        """SM plus eq. 6a (incoherent)."""
        t = super().cevns_terms(T, iso, F2, p)
        m = xsec.magnetic_terms(T, p["mu_nu"] ** 2, iso.Z**2 * F2)
        return _add_terms(t, m)

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        """SM plus eq. 6b (incoherent)."""
        return _add_terms(super().eves_terms(T, p, flavour, antineutrino), xsec.magnetic_terms(T, p["mu_nu"] ** 2))


class _ElectromagneticCharges(Model):
    """Shared structure of eq. 7a/7b: a diagonal shift Q_ee and transition shifts Q_emu, Q_etau."""

    _prefix: ClassVar[str] = ""

    def _shift(self, T, m, x):
        """Q_ll' of one parameter: a millicharge (q_*, in e) or a charge radius (r2_*, in cm^2)."""
        if self._prefix == "q_":
            return xsec.em_charge_shift(T, m, q_e=x)
        return xsec.em_charge_shift(T, m, r2_natural=x / C.CM2_PER_MEV_M2)

    def _shifts(self, T, m, p):
        P = self._prefix
        diag = self._shift(T, m, p[P + "ee"])
        trans = self._shift(T, m, p[P + "emu"]) ** 2 + self._shift(T, m, p[P + "etau"]) ** 2
        return diag, trans

    def cevns_terms(self, T, iso, F2, p):
        diag, trans = self._shifts(T, iso.mass_MeV, p)
        charge2 = ((0.5 - 2.0 * p["sin2w"] - diag) * iso.Z - 0.5 * iso.N) ** 2 + iso.Z**2 * trans
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, charge2)

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        if flavour != "e":
            raise CevnsInputError(f"{type(self).__name__} is defined for electron (anti)neutrinos only")
        gv, ga = xsec.electron_couplings(p["sin2w"], flavour)
        diag, trans = self._shifts(T, C.M_ELECTRON, p)
        return xsec.eves_terms(T, *xsec.eves_coefficients(gv, ga, antineutrino, diag, trans))


class Millicharge(_ElectromagneticCharges):
    """Neutrino millicharges q_ee, q_emu, q_etau in units of e (eq. 7a, 7b)."""

    name = "millicharge"
    _prefix = "q_"
    parameter_table = {**Model.parameter_table, "q_ee": (0.0, "e", 1e-12), "q_emu": (0.0, "e", 1e-12),
                       "q_etau": (0.0, "e", 1e-12)}


class ChargeRadius(_ElectromagneticCharges):
    """Neutrino charge radii <r^2>_ee, <r^2>_emu, <r^2>_etau in cm^2 (eq. 7a, 7b)."""

    name = "charge-radius"
    _prefix = "r2_"
    parameter_table = {**Model.parameter_table, "r2_ee": (0.0, "cm^2", 1e-32), "r2_emu": (0.0, "cm^2", 1e-32),
                       "r2_etau": (0.0, "cm^2", 1e-32)}


class _Mediator(Model):
    """A light mediator of mass ``mass_MeV`` with coupling ``g`` (dimensionless)."""

    parameter_table = {**Model.parameter_table, "g": (0.0, "", 1e-5)}
    mass_table = {"mass_MeV": (1.0, "MeV")}

    @classmethod
    def option_table(cls):
        return {"convention": "universal"}

    def _check_options(self):
        if self._options["convention"] not in COUPLING_CONVENTIONS:
            raise CevnsInputError(f"convention must be one of {COUPLING_CONVENTIONS}, got {self._options['convention']!r}")

    def _pair(self, g):
        """The product of the two vertex couplings: g^2 if universal (g^nu = g^q = g^e = g), g if 'product'."""
        return g**2 if self._options["convention"] == "universal" else g


class VectorBL(_Mediator):
    """B-L vector Z' (eq. 9-12).  g = g_B-L; convention 'product' reads g as g_B-L^2."""

    name = "vector-bl"

    def cevns_terms(self, T, iso, F2, p):
        """Eq. 10-11: the SM weak charge shifted by the Z' exchange."""
        M = self._values["mass_MeV"]
        m = iso.mass_MeV
        q_zp = -float(iso.A)  # Q_Z' = Q^nu [Z(2Q^u+Q^d) + N(Q^u+2Q^d)] = -A (eq. 11)
        shift = q_zp * self._pair(p["g"]) / (np.sqrt(2.0) * C.G_FERMI * (M * M + 2.0 * m * np.asarray(T)))
        charge = xsec.weak_charge(iso.Z, iso.N, p["sin2w"]) + shift
        return xsec.cevns_coherent_terms(T, m, F2, charge**2)

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        """Eq. 12: g_V shifted by the Z' exchange."""
        M = self._values["mass_MeV"]
        gv, ga = xsec.electron_couplings(p["sin2w"], flavour)
        gv = gv + self._pair(p["g"]) / (np.sqrt(2.0) * C.G_FERMI * (M * M + 2.0 * C.M_ELECTRON * np.asarray(T)))
        return xsec.eves_terms(T, *xsec.eves_coefficients(gv, ga, antineutrino))


class ScalarMediator(_Mediator):
    """Light scalar phi (eq. 13-16), added incoherently; universal couplings by default."""

    name = "scalar"

    def cevns_terms(self, T, iso, F2, p):
        """SM plus eq. 14-15 (incoherent)."""
        M = self._values["mass_MeV"]
        q_phi = self._pair(p["g"]) * xsec.scalar_nucleon_charge(iso.Z, iso.N)
        return _add_terms(super().cevns_terms(T, iso, F2, p), xsec.scalar_terms(T, iso.mass_MeV, M, q_phi**2, F2))

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        """SM plus eq. 16 (incoherent)."""
        M = self._values["mass_MeV"]
        extra = xsec.scalar_terms(T, C.M_ELECTRON, M, self._pair(p["g"]) ** 2)
        return _add_terms(super().eves_terms(T, p, flavour, antineutrino), extra)


def _add_terms(a: xsec.Terms, b: xsec.Terms) -> xsec.Terms:
    out = dict(a)
    for n, c in b.items():
        out[n] = out[n] + c if n in out else c
    return out


MODELS: Dict[str, Type[Model]] = {cls.name: cls for cls in
                                  (StandardModel, MagneticMoment, Millicharge, ChargeRadius, ScalarMediator, VectorBL)}


def model_for_parameter(param: str) -> Type[Model]:
    """The model class that owns a parameter name (sin2w -> StandardModel, q_ee -> Millicharge, ...)."""
    for cls in MODELS.values():
        if param in cls.parameter_table and (param != "sin2w" or cls is StandardModel):
            return cls
    known = sorted({p for c in MODELS.values() for p in c.parameter_table})
    raise CevnsInputError(f"unknown parameter {param!r}; known: {known}")


def get_model(name: str, **values: Any) -> Model:
    """Model by its CLI name ("sm", "magnetic-moment", "millicharge", "charge-radius", "scalar", "vector-bl")."""
    if name not in MODELS:
        raise CevnsInputError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**values)

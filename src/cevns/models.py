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

import difflib
import math
import re
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type

import numpy as np

from . import constants as C
from . import nuclei, xsec
from ._poly import Poly
from .errors import CevnsInputError, check_energies, check_positive, check_real
from .nuclei import Isotope, Target
from .parameters import Parameter, flavour_pair_math

COUPLING_CONVENTIONS = ("universal", "product")

#: sin^2 theta_W, carried by every model (fixed at its default unless it is the parameter of interest)
SIN2W = Parameter("sin2w", C.SIN2W_LOW_Q, "", 0.01, 1.0, r"\sin^2\theta_W", bounds=(0.0, 1.0), shared=True,
                  levels=("1sigma", "90%"), description="MS-bar weak mixing angle at low momentum transfer")


def _moment(name: str, flavours: Tuple[str, ...], symbol: str) -> Parameter:
    return Parameter(name, 0.0, "mu_B", 1e-10, 1e-11, symbol, r"\mu_B", flavours=flavours, squared=True,
                     plausible=1e-6, description="effective neutrino magnetic moment [Bohr magnetons]")


def _em_family(prefix: str) -> Tuple[Parameter, ...]:
    """The five millicharges (prefix q_) or charge radii (r2_): diagonal ee, mumu and transition emu, etau,
    mutau (a transition parameter enters squared: |Q_ll'| is shared by the two flavours)."""
    charge = prefix == "q_"
    out = []
    for a, b in (("e", "e"), ("mu", "mu"), ("e", "mu"), ("e", "tau"), ("mu", "tau")):
        f = flavour_pair_math((a, b))
        symbol = rf"q_{{\nu_{{{f}}}}}" if charge else rf"\langle r^2_{{\nu_{{{f}}}}}\rangle"
        out.append(Parameter(prefix + a + b, 0.0, "e" if charge else "cm^2", 1e-12 if charge else 1e-32, None,
                             symbol, "e" if charge else r"\mathrm{cm}^2", flavours=tuple(dict.fromkeys((a, b))),
                             squared=a != b, plausible=1e-3 if charge else 1e-26,
                             description=("neutrino millicharge [e]" if charge else "neutrino charge radius <r^2> [cm^2]")
                             + (" (transition)" if a != b else "")))
    return tuple(out)


#: the mediator's coupling and mass
COUPLING = Parameter("g", 0.0, "", 1e-5, 1.0, r"g_X", squared=True, plausible=1.0,
                     description="mediator coupling (universal: g^nu = g^q = g^e = g; 'product': g^nu g^q)")
MASS = Parameter("mass_MeV", 1.0, "MeV", 1.0, 1.0, r"M_X", r"\mathrm{MeV}", bounds=(0.0, math.inf), mass=True,
                 description="mediator mass [MeV]")


class Model:
    """Base class.  Subclasses define the parameter tables and the two ``*_terms`` methods."""

    name: ClassVar[str] = "sm"
    #: how figures and reports name the model ("" for models named by their parameters alone)
    display: ClassVar[str] = "SM"
    #: the coupling parameters, declared once here (kept as polynomial variables by the rate engine)
    PARAMETERS: ClassVar[Tuple[Parameter, ...]] = (SIN2W,)
    #: the mass parameters (fixed per evaluation)
    MASSES: ClassVar[Tuple[Parameter, ...]] = ()
    #: derived from PARAMETERS: name -> (default, unit, typical scale)
    parameter_table: ClassVar[Dict[str, Tuple[float, str, float]]] = {"sin2w": (SIN2W.default, "", SIN2W.scale)}
    #: derived from MASSES: name -> (default, unit)
    mass_table: ClassVar[Dict[str, Tuple[float, str]]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls.parameter_table = {p.name: (p.default, p.unit, p.scale) for p in cls.PARAMETERS}
        cls.mass_table = {p.name: (p.default, p.unit) for p in cls.MASSES}

    @classmethod
    def parameter(cls, name: str) -> Parameter:
        """The declared :class:`~cevns.parameters.Parameter` of this model called ``name``."""
        for p in cls.PARAMETERS + cls.MASSES:
            if p.name == name:
                return p
        raise CevnsInputError(f"{name!r} is not a parameter of model {cls.name!r}; its parameters: "
                              f"{', '.join(p.name for p in cls.PARAMETERS + cls.MASSES)}")

    #: which other members of the family a fit of one parameter marginalises by default: "flavour" (those that share
    #: a flavour with it) or "none" (all held at their defaults: the one-at-a-time bounds of a family whose members
    #: are degenerate on one target, such as the u and d couplings of NSI)
    MARGINALISE: ClassVar[str] = "flavour"

    @classmethod
    def family(cls) -> Tuple[Parameter, ...]:
        """Its own coupling parameters: those not shared by every model (sin2w)."""
        return tuple(p for p in cls.PARAMETERS if not p.shared)

    def __init__(self, **values: Any):
        known = set(self.parameter_table) | set(self.mass_table) | set(self.option_table())
        unknown = set(values) - known
        if unknown:
            raise CevnsInputError(f"unknown parameter(s) {sorted(unknown)} for model {self.name!r}; known: "
                                  f"{sorted(known)}{_owners(unknown)}")
        self._values: Dict[str, float] = {}
        for p in self.PARAMETERS:
            v = self._values[p.name] = check_real(p.name, values.get(p.name, p.default), unit=p.unit)
            lo, hi = p.bounds
            if not lo <= v <= hi:
                raise CevnsInputError(f"{p.name} ({p.description}) must lie in [{lo:g}, {hi:g}], got {v:g}")
        for p in self.MASSES:
            self._values[p.name] = check_positive(p.name, check_real(p.name, values.get(p.name, p.default), unit=p.unit),
                                                  unit=p.unit)
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
    # ``flavour`` ("e", "mu", "tau") and ``antineutrino`` name the incoming neutrino.  Electromagnetic
    # parameters are those of the neutrino of that flavour; an antineutrino's charge and charge radius are
    # the negatives of its neutrino's, and its Z and photon vector couplings flip sign together, so the
    # cross sections written with the neutrino's parameters (eq. 7a, 7b) hold for both (docs/physics.md).
    def cevns_terms(self, T, iso: Isotope, F2, p: Mapping[str, Any], flavour: str = "e",
                    antineutrino: bool = True) -> xsec.Terms:
        """CEvNS dsigma/dT_N terms for one isotope (eq. 1); the SM is the same for every flavour."""
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, xsec.weak_charge(iso.Z, iso.N, p["sin2w"]) ** 2)

    def cevns_terms_on(self, target: Target, T, iso: Isotope, F2, p: Mapping[str, Any], flavour: str = "e",
                       antineutrino: bool = True) -> xsec.Terms:
        """:meth:`cevns_terms` of isotope ``iso`` of ``target`` (whose form factor squared at T is ``F2``): what the
        rate engine calls.  A model that changes the nuclear form factor (:class:`NeutronRadius`) overrides it."""
        return self.cevns_terms(T, iso, F2, p, flavour, antineutrino)

    def eves_terms(self, T, p: Mapping[str, Any], flavour: str = "e", antineutrino: bool = True) -> xsec.Terms:
        """EvES dsigma/dT_e terms per electron (eq. 3)."""
        gv, ga = xsec.electron_couplings(p["sin2w"], flavour)
        return xsec.eves_terms(T, *xsec.eves_coefficients(gv, ga, antineutrino))

    # --- direct evaluation (for users and for the slow reference) ------------------------------
    def dsigma_cevns(self, E_MeV, T_MeV, iso: Isotope, form_factor=None, flavour: str = "e",
                     antineutrino: bool = True):
        """dsigma/dT_N [cm^2/MeV] for neutrino energy E and nuclear recoil T (both MeV).

        Zero where T is kinematically forbidden.  ``form_factor``: callable F(q [MeV]);
        default Helm with the standard parameters.  Default neutrino: a reactor anti-nu_e.
        """
        from .nuclei import helm_form_factor

        E = check_energies("neutrino energy E", E_MeV)
        T = check_energies("recoil energy T", T_MeV)
        q = np.sqrt(2.0 * iso.mass_MeV * T)
        F = helm_form_factor(q, iso.A) if form_factor is None else form_factor(q)
        val = xsec.evaluate_terms(self.cevns_terms(T, iso, F**2, self._values, flavour, antineutrino), E)
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
    """One effective magnetic moment mu_nu for every flavour (eq. 6a, 6b), in Bohr magnetons.

    At a reactor it is the effective anti-nu_e moment of the paper; at a stopped-pion source it is the
    common moment of nu_e, nu_mu and anti-nu_mu.  Flavour by flavour: :class:`FlavourMagneticMoment`.
    """

    name = "magnetic-moment"
    display = ""
    PARAMETERS: ClassVar[Tuple[Parameter, ...]] = (SIN2W, _moment("mu_nu", (), r"\mu_{\nu}"))

    def _moment(self, p, flavour: str):
        return p["mu_nu"]

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        """SM plus eq. 6a (incoherent)."""
        t = super().cevns_terms(T, iso, F2, p, flavour, antineutrino)
        m = xsec.magnetic_terms(T, self._moment(p, flavour) ** 2, iso.Z**2 * F2)
        return _add_terms(t, m)

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        """SM plus eq. 6b (incoherent)."""
        return _add_terms(super().eves_terms(T, p, flavour, antineutrino),
                          xsec.magnetic_terms(T, self._moment(p, flavour) ** 2))


class FlavourMagneticMoment(MagneticMoment):
    """Effective magnetic moments per flavour, mu_nu_e and mu_nu_mu [mu_B] (eq. 5, 6a, 6b for each flavour).

    A reactor (anti-nu_e) sees mu_nu_e only; a stopped-pion source sees mu_nu_e (delayed nu_e) and
    mu_nu_mu (prompt nu_mu and delayed anti-nu_mu).
    """

    name = "magnetic-moment-flavour"
    display = ""
    PARAMETERS = (SIN2W, _moment("mu_nu_e", ("e",), r"\mu_{\nu_{e}}"), _moment("mu_nu_mu", ("mu",), r"\mu_{\nu_{\mu}}"))

    def _moment(self, p, flavour: str):
        if flavour == "tau":  # a nu_tau (solar 8B at Earth) has no declared moment: taken as 0
            return 0.0
        if flavour not in ("e", "mu"):
            raise CevnsInputError(f"{type(self).__name__} has no moment for flavour {flavour!r}")
        return p["mu_nu_" + flavour]


class _ElectromagneticCharges(Model):
    """Shared structure of eq. 7a/7b for every flavour l: a diagonal shift Q_ll and transition shifts Q_ll'.

    Parameters: diagonal ``<prefix>ee``, ``<prefix>mumu`` and transition ``<prefix>emu``, ``<prefix>etau``,
    ``<prefix>mutau`` (|Q_ll'| = |Q_l'l|: the transition moments are shared between the two flavours).
    """

    _prefix: ClassVar[str] = ""
    def _shift(self, T, m, x):
        """Q_ll' of one parameter: a millicharge (q_*, in e) or a charge radius (r2_*, in cm^2)."""
        if self._prefix == "q_":
            return xsec.em_charge_shift(T, m, q_e=x)
        return xsec.em_charge_shift(T, m, r2_natural=x / C.CM2_PER_MEV_M2)

    def _shifts(self, T, m, p, flavour: str = "e"):
        """The diagonal shift Q_ll of flavour l and the sum of its transition shifts squared, sum Q_ll'^2.  A nu_tau
        (solar 8B at Earth) has no declared diagonal parameter (taken as 0) and its transitions etau, mutau."""
        if flavour not in ("e", "mu", "tau"):
            raise CevnsInputError(f"{type(self).__name__}: no parameters for flavour {flavour!r} (e, mu, tau only)")
        diag: Any = 0.0
        trans: Any = 0.0
        for par in self.family():
            if par.flavours == (flavour,):
                diag = self._shift(T, m, p[par.name])
            elif par.transition and flavour in par.flavours:
                trans = trans + self._shift(T, m, p[par.name]) ** 2
        return diag, trans

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        diag, trans = self._shifts(T, iso.mass_MeV, p, flavour)
        charge2 = ((0.5 - 2.0 * p["sin2w"] - diag) * iso.Z - 0.5 * iso.N) ** 2 + iso.Z**2 * trans
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, charge2)

    def eves_terms(self, T, p, flavour="e", antineutrino=True):
        gv, ga = xsec.electron_couplings(p["sin2w"], flavour)
        diag, trans = self._shifts(T, C.M_ELECTRON, p, flavour)
        return xsec.eves_terms(T, *xsec.eves_coefficients(gv, ga, antineutrino, diag, trans))


class Millicharge(_ElectromagneticCharges):
    """Neutrino millicharges in units of e (eq. 7a, 7b): diagonal q_ee, q_mumu; transition q_emu, q_etau,
    q_mutau.  A reactor sees q_ee, q_emu, q_etau."""

    name = "millicharge"
    display = ""
    _prefix = "q_"
    PARAMETERS = (SIN2W,) + _em_family("q_")


class ChargeRadius(_ElectromagneticCharges):
    """Neutrino charge radii <r^2> in cm^2 (eq. 7a, 7b): diagonal r2_ee, r2_mumu; transition r2_emu, r2_etau,
    r2_mutau.  A reactor sees r2_ee, r2_emu, r2_etau."""

    name = "charge-radius"
    display = ""
    _prefix = "r2_"
    PARAMETERS = (SIN2W,) + _em_family("r2_")


_NSI_PAIRS = (("e", "e"), ("mu", "mu"), ("tau", "tau"), ("e", "mu"), ("e", "tau"), ("mu", "tau"))


def _nsi_family() -> Tuple[Parameter, ...]:
    """eps_<ab>_<q>V for the six flavour pairs ab and the quarks q = u, d (dimensionless, in units of G_F).  None is
    declared ``squared``: a flavour-changing pair enters as |Z (2u + d) + N (u + 2d)|^2, even under (u, d) -> (-u, -d)
    together but not in u or d alone."""
    out = []
    for a, b in _NSI_PAIRS:
        for q in ("u", "d"):
            f = flavour_pair_math((a, b))
            out.append(Parameter(f"eps_{a}{b}_{q}V", 0.0, "", 0.05, 1.0, rf"\varepsilon^{{{q}V}}_{{{f}}}",
                                 flavours=tuple(dict.fromkeys((a, b))), plausible=1e3,
                                 description=f"vector NSI of nu_{a}" + (f" -> nu_{b}" if a != b else "")
                                 + f" with {q} quarks (units of G_F)"))
    return tuple(out)


class VectorNSI(Model):
    """Vector non-standard interactions of neutrinos with u and d quarks, eps_<ab>_<q>V (dimensionless, in units of
    G_F), in CEvNS.  A neutrino of flavour a scatters with the weak charge
    Q_aa = Z (g_V^p + 2 eps_aa_uV + eps_aa_dV) + N (g_V^n + eps_aa_uV + 2 eps_aa_dV), interfering with the SM, and
    through each flavour-changing coupling b != a incoherently, |Q_ab|^2 = [Z (2 eps_ab_uV + eps_ab_dV) +
    N (eps_ab_uV + 2 eps_ab_dV)]^2 (docs/physics.md).  EvES is the SM's (quark couplings only).  A reactor sees
    ee, emu, etau; a stopped-pion source also mumu and mutau.  A fit of one coupling holds the others at zero (the
    one-at-a-time bounds): on one target the u and d couplings are degenerate along a line."""

    name = "nsi-vector"
    display = "vector NSI"
    MARGINALISE = "none"
    PARAMETERS = (SIN2W,) + _nsi_family()

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        """The SM weak charge shifted by the flavour-diagonal couplings, plus the flavour-changing ones incoherently."""
        Z, N = iso.Z, iso.N

        def charge(a: str, b: str) -> Any:
            u, d = p[f"eps_{a}{b}_uV"], p[f"eps_{a}{b}_dV"]
            return Z * (2.0 * u + d) + N * (u + 2.0 * d)

        diag = xsec.weak_charge(Z, N, p["sin2w"]) + charge(flavour, flavour)
        trans: Any = 0.0
        for a, b in _NSI_PAIRS:
            if a != b and flavour in (a, b):
                trans = trans + charge(a, b) ** 2
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, diag**2 + trans)


#: a neutron radius is modelled between these fractions of its default (the interpolation's range, its bounds)
RADIUS_RANGE = (0.55, 1.6)
#: the lowest radius modelled [fm] (above the smallest rms radius of a Helm, sqrt(3) s = 1.56 fm, or Klein-Nystrand,
#: sqrt(6) a_k = 1.71 fm, distribution)
RADIUS_FLOOR_FM = 1.9
#: interpolation nodes in rn^2 over the range (Chebyshev): docs/physics.md gives the accuracy
RADIUS_NODES = 11
#: radii tied together: a parameter rn_<key> moves the radii of these elements by one common shift
RADIUS_TIES: Dict[str, Tuple[str, ...]] = {"CsI": ("Cs", "I")}


def default_radius_fm(element: str) -> float:
    """The neutron rms radius [fm] the form factor uses by default for ``element``: the Helm distribution's rms
    radius of each natural isotope (R0 = c1 A^(1/3) - c0 ..., nuclei.HelmParameters), weighted by abundance."""
    isos = nuclei.element_table()[element]
    return float(sum(i.abundance * nuclei.helm_rms_radius(i.A) for i in isos) / sum(i.abundance for i in isos))


def _radius_parameter(key: str, elements: Tuple[str, ...]) -> Parameter:
    r0 = default_radius_fm(elements[0])
    lo, hi = max(RADIUS_RANGE[0] * r0, RADIUS_FLOOR_FM), RADIUS_RANGE[1] * r0
    tied = len(elements) > 1
    what = (f"common neutron rms radius of {' and '.join(elements)} (R_n({elements[0]}); the others keep their "
            "default offsets from it)" if tied else f"neutron rms radius of {key}")
    return Parameter(f"rn_{key}", round(r0, 12), "fm", 0.5, 1.0, rf"R_n(\mathrm{{{key}}})", r"\mathrm{fm}",
                     bounds=(round(lo, 4), round(hi, 4)), levels=("1sigma", "90%"), plausible=hi,
                     physical_bounds=False, elements=elements, description=f"{what} [fm]")


class NeutronRadius(Model):
    """The neutron rms radius of each target element, rn_<Element> in fm (rn_Cs, rn_I, rn_Ar, rn_Ge, rn_Xe, ...; one
    per element of data/isotopes.csv), defaulting to the radius of the target's form factor (the Helm A^(1/3) one).

    The weak charge is split into its proton and neutron parts, Q_V F = Q_p F_p(q) + Q_n F_n(q; rn) with
    Q_p = Z (1/2 - 2 sin^2 theta_W), Q_n = -N/2 and F_p the target's form factor; F_n is the same form with rms radius
    rn.  F_n and F_p F_n are interpolated in rn^2 on :data:`RADIUS_NODES` Chebyshev nodes over the parameter's
    bounds, so the rate stays a polynomial in the couplings and in rn (docs/physics.md).  Isotopes of one element
    keep their default offsets: each isotope's radius is its default plus rn - default.  A fit of one radius holds
    the others at their defaults."""

    name = "neutron-radius"
    display = "neutron radius"
    MARGINALISE = "none"
    PARAMETERS = (SIN2W,) + tuple(_radius_parameter(el, (el,)) for el in nuclei.element_table())

    def _radius_of(self, element: str) -> Optional[Parameter]:
        """The parameter that sets the radius of ``element`` (None: it keeps the target's)."""
        for par in self.family():
            if par.name == f"rn_{element}":
                return par
        return None

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        """For one isotope without a target (``dsigma_cevns``): the Helm form factor of its A for protons (a
        ``form_factor`` given to ``dsigma_cevns`` is not used: the neutron one is this model's)."""
        return self.cevns_terms_on(Target(nuclei.element_of(iso.Z), (iso,)), T, iso, F2, p, flavour, antineutrino)

    def cevns_terms_on(self, target, T, iso, F2, p, flavour="e", antineutrino=True):
        """(Q_p F_p + Q_n F_n)^2 with F_n at the isotope's radius: its default shifted by rn - default."""
        par = self._radius_of(nuclei.element_of(iso.Z))
        if par is None:
            return Model.cevns_terms(self, T, iso, F2, p, flavour, antineutrino)
        q = np.sqrt(2.0 * iso.mass_MeV * np.asarray(T, dtype=float))
        fp = target.form_factor_at(iso, q)
        shift = target.rms_radius_fm(iso) - par.default  # the isotope's radius is rn + shift
        ends = np.array(par.bounds) + shift
        t = np.cos((2.0 * np.arange(RADIUS_NODES) + 1.0) * np.pi / (2.0 * RADIUS_NODES))
        u = 0.5 * (ends[0] ** 2 + ends[1] ** 2) + 0.5 * (ends[1] ** 2 - ends[0] ** 2) * t  # nodes in r^2
        x = p[par.name] + shift
        x2 = x * x
        fn_fp: Any = 0.0
        fn2: Any = 0.0
        for k in range(RADIUS_NODES):
            lk: Any = 1.0
            for j in range(RADIUS_NODES):
                if j != k:
                    lk = lk * ((x2 - u[j]) / (u[k] - u[j]))
            fn = target.form_factor_at(iso, q, float(np.sqrt(u[k])))
            fn_fp = fn_fp + lk * (fn * fp)
            fn2 = fn2 + lk * (fn * fn)
        qp = iso.Z * (0.5 - 2.0 * p["sin2w"])
        qn = -0.5 * iso.N
        charge2 = qp * qp * (fp * fp) + 2.0 * qp * qn * fn_fp + qn * qn * fn2
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, 1.0, charge2)


class TiedNeutronRadius(NeutronRadius):
    """Neutron radii tied across elements: rn_<tie> of cevns.models.RADIUS_TIES (rn_CsI: Cs and I, the usual CsI
    analysis's one radius) shifts the radii of all its elements by the same amount; its value is the radius of the
    first (rn_CsI = R_n(Cs); R_n(I) = rn_CsI - 0.068 fm, the default Helm radii's difference)."""

    name = "neutron-radius-tied"
    display = "neutron radius"
    PARAMETERS = (SIN2W,) + tuple(_radius_parameter(key, els) for key, els in RADIUS_TIES.items())

    def _radius_of(self, element: str) -> Optional[Parameter]:
        for key, els in RADIUS_TIES.items():
            if element in els:
                return self.parameter(f"rn_{key}")
        return None


class _Mediator(Model):
    """A light mediator of mass ``mass_MeV`` with coupling ``g`` (dimensionless)."""

    PARAMETERS = (SIN2W, COUPLING)
    MASSES = (MASS,)

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
    display = "B$-$L vector"

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        """Eq. 10-11: the SM weak charge shifted by the Z' exchange (the same for every flavour)."""
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
    display = "scalar"

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        """SM plus eq. 14-15 (incoherent; the same for every flavour)."""
        M = self._values["mass_MeV"]
        q_phi = self._pair(p["g"]) * xsec.scalar_nucleon_charge(iso.Z, iso.N)
        return _add_terms(super().cevns_terms(T, iso, F2, p, flavour, antineutrino),
                          xsec.scalar_terms(T, iso.mass_MeV, M, q_phi**2, F2))

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


def _registered() -> Dict[str, Type[Model]]:
    from . import registry

    out = {name: globals()[cls] for name, cls in registry.MODELS.items()}
    for name, cls in out.items():
        if cls.name != name:
            raise RuntimeError(f"registry name {name!r} and {cls.__name__}.name {cls.name!r} differ")
    return out


#: model name -> class, from :data:`cevns.registry.MODELS` (one line there per model)
MODELS: Dict[str, Type[Model]] = _registered()


def register(cls: Type[Model]) -> Type[Model]:
    """Add a model class to :data:`MODELS` under its ``name`` (usable as a decorator): a model of one's own, written
    outside the package, is then found by name and its parameters by :func:`model_for_parameter` (built-in models
    are listed once in :data:`cevns.registry.MODELS` instead).  Its parameters must not reuse a registered model's
    names, except the shared sin2w."""
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise CevnsInputError(f"register() takes a Model subclass, got {cls!r}")
    if not isinstance(cls.name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", cls.name):
        raise CevnsInputError(f"a model's name is lower-case letters, digits and '-', e.g. 'my-nsi'; got {cls.name!r}")
    names = [p.name for p in cls.PARAMETERS + cls.MASSES]
    if SIN2W not in cls.PARAMETERS or len(set(names)) != len(names):
        raise CevnsInputError(f"{cls.__name__}.PARAMETERS must hold cevns.models.SIN2W and name each parameter once, "
                              f"got {names}")
    if cls.name in MODELS and MODELS[cls.name] is not cls:
        raise CevnsInputError(f"a model named {cls.name!r} is registered already ({MODELS[cls.name].__name__})")
    taken = {p.name for c in MODELS.values() if c is not cls for p in c.family() + c.MASSES}
    clash = sorted(p.name for p in cls.family() + cls.MASSES if p.name in taken)
    if clash:
        raise CevnsInputError(f"{cls.__name__} declares {', '.join(clash)}, already a parameter of another model")
    MODELS[cls.name] = cls
    return cls


def _owners(names) -> str:
    """For an error message: which registered model declares each of ``names`` ("" if none does)."""
    out = []
    for n in sorted(names):
        try:
            out.append(f"{n!r} is a parameter of model {model_for_parameter(n).name!r}")
        except CevnsInputError:
            pass
    return f" ({'; '.join(out)})" if out else ""


def model_for_parameter(param: str) -> Type[Model]:
    """The model class that owns a parameter name: the first registered model that declares it as its own
    (sin2w -> StandardModel, whose only parameter it is; q_ee -> Millicharge, ...)."""
    for cls in MODELS.values():
        if any(p.name == param for p in cls.family()) or (not cls.family() and param in cls.parameter_table):
            return cls
    known = sorted({p for c in MODELS.values() for p in c.parameter_table})
    close = difflib.get_close_matches(str(param), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise CevnsInputError(f"unknown parameter {param!r}; {hint}known: {', '.join(known)} (`cevns list` gives their units)")


def parameter(name: str) -> Parameter:
    """The declared :class:`~cevns.parameters.Parameter` called ``name`` (of any registered model)."""
    return model_for_parameter(name).parameter(name)


def all_parameters() -> Dict[str, Parameter]:
    """Every declared parameter (couplings and masses) by name, in the order of the model registry."""
    out: Dict[str, Parameter] = {}
    for cls in MODELS.values():
        for p in cls.PARAMETERS + cls.MASSES:
            out.setdefault(p.name, p)
    return out


def flavours_of(param: str) -> Tuple[str, ...]:
    """Neutrino flavours a parameter acts on (its declaration): q_emu -> ("e", "mu"), mu_nu_e -> ("e",),
    r2_mumu -> ("mu",); () for flavour-blind parameters (sin2w, mu_nu, g)."""
    return parameter(param).flavours


def default_free(cls: Type[Model], param: str, fixed: Optional[Mapping[str, Any]] = None) -> list:
    """The parameters marginalised by default in a fit of ``param``: the other members of its model's
    family (shared parameters such as sin2w excluded) that share a flavour with it (all, for flavour-blind
    parameters); the rest stay at their defaults.  E.g. q_ee -> q_emu, q_etau (the paper's choice); q_mumu ->
    q_emu, q_mutau; mu_nu_e -> none (mu_nu_mu stays 0)."""
    mine = cls.parameter(param)
    if cls.MARGINALISE == "none":
        return []
    return [p.name for p in cls.family() if p.name != param and p.name not in (fixed or {}) and p.shares_flavour(mine)]


def as_model(model: Any, default: Optional[Model] = None) -> Model:
    """``model`` if it is a model instance (``default`` when it is None and a default is given), else a
    :class:`CevnsInputError` naming what was given and what is expected."""
    if model is None and default is not None:
        return default
    if isinstance(model, Model):
        return model
    shown = repr(model)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    hint = f"; for a model by its name use cevns.get_model({model!r})" if isinstance(model, str) else ""
    raise CevnsInputError(f"model must be a model instance, e.g. cevns.MagneticMoment(mu_nu=1e-10) (`cevns list` "
                          f"names the models and their parameters), got {shown} (type {type(model).__name__}){hint}")


def get_model(name: str, **values: Any) -> Model:
    """Model by its CLI name (a key of :data:`MODELS`: "sm", "magnetic-moment", "magnetic-moment-flavour",
    "millicharge", "charge-radius", "scalar", "vector-bl")."""
    if not isinstance(name, str) or name not in MODELS:
        raise CevnsInputError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**values)

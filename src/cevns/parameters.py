"""A model parameter as an object, declared once in its model (:mod:`cevns.models`).

Everything that needs a fact about a parameter -- its default, unit, display scale, physical range, the
neutrino flavours it acts on, whether the rates depend on it only through its square, its figure label, the
confidence levels a fit reports by default -- asks its :class:`Parameter`; no other module special-cases a
parameter by its name.  The registry of every declared parameter is :func:`cevns.models.parameter`.

This module is light (no numpy): the command line reads it to print help.

>>> p = Parameter("q_ee", unit="e", scale=1e-12, symbol=r"q_{\\nu_{ee}}", unit_math="e", flavours=("e",))
>>> p.display_unit()
'1e-12 e'
>>> p.label.axis
'$q_{\\\\nu_{ee}}$ [$10^{-12}\\\\,e$]'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

#: neutrino flavours, in the order of their indices in parameter names
FLAVOURS: Tuple[str, ...] = ("e", "mu", "tau")
#: flavour index -> its mathtext form
FLAVOUR_MATH = {"e": "e", "mu": r"\mu", "tau": r"\tau"}


def number(v: float) -> str:
    """A number as mathtext: 3e-12 -> ``3\\times10^{-12}``, 1e-10 -> ``10^{-10}``, 0.23857 -> ``0.23857``."""
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:g}"
    e = int(math.floor(math.log10(abs(v))))
    ms = f"{v / 10**e:.3g}"
    if ms in ("1", "-1"):
        return f"{'-' if ms == '-1' else ''}10^{{{e}}}"
    return rf"{ms}\times10^{{{e}}}"


@dataclass(frozen=True)
class Label:
    """How a quantity is written in figures.  ``math``: the symbol as mathtext without dollars; ``unit_math``:
    the display unit with its scale (mathtext, empty if dimensionless); ``scale``: values are divided by it for
    display; ``base_unit_math``: the unit without the scale, for "x = 3e-12 e" style value text."""

    math: str
    unit_math: str = ""
    scale: float = 1.0
    base_unit_math: str = ""

    @property
    def symbol(self) -> str:
        """The symbol ready for a matplotlib text: ``$\\mu_{\\nu}$``."""
        return f"${self.math}$"

    @property
    def unit(self) -> str:
        """The display unit with its scale, ``$10^{-11}\\,\\mu_B$``; empty if dimensionless."""
        return f"${self.unit_math}$" if self.unit_math else ""

    @property
    def axis(self) -> str:
        """Axis label: symbol [unit]."""
        return f"{self.symbol} [{self.unit}]" if self.unit_math else self.symbol

    def axis_for(self, scale: float) -> str:
        """Axis label for values divided by ``scale``: the declared unit at the declared scale, else the base unit
        with ``scale`` written out."""
        if scale == self.scale:
            return self.axis
        parts = [p for p in (number(scale) if scale != 1 else "", self.base_unit_math) if p]
        sep = r"\,"
        return f"{self.symbol} [${sep.join(parts)}$]" if parts else self.symbol

    def abs_axis(self, *others: "Label") -> str:
        """Axis label for a parameter that enters squared: ``|x| (= |y| ...) [unit]``."""
        s = " = ".join(f"$|{lab.math}|$" for lab in (self, *others))
        return f"{s} [{self.unit}]" if self.unit_math else s

    def value(self, v: float) -> str:
        """``$\\mu_{\\nu} = 3\\times10^{-11}\\,\\mu_B$`` for v = 3e-11 (the unit without the display scale)."""
        u = rf"\,{self.base_unit_math}" if self.base_unit_math else ""
        return f"${self.math} = {number(v)}{u}$"


@dataclass(frozen=True)
class Parameter:
    """One parameter of a model.

    ``name``: as in files, the command line and results; ``default``: its value when not given (the SM value);
    ``unit``: plain-text unit of the values the API takes and returns ("" if dimensionless); ``scale``: its
    typical size, where searches start; ``display_scale``: values are shown divided by it (default ``scale``);
    ``symbol`` and ``unit_math``:
    mathtext for figures; ``bounds``: the physical range (values outside are refused; a fit's scan stays inside
    and an interval ending at a bound is cut there, not unbounded); ``flavours``: the neutrino flavours it acts on
    (two for a transition parameter, none for a flavour-blind one); ``squared``: the rates depend on it only
    through its square, so the data constrain |x|; ``shared``: carried by every model (sin2w), fixed unless it is
    the parameter of interest; ``mass``: a mediator mass, fixed per evaluation (not a polynomial variable);
    ``levels``: the confidence levels a fit reports when none are asked for; ``plausible``: no data set probes
    |x| above this (a larger value is most likely a unit slip); ``description``: one line for help and docs;
    ``physical_bounds``: whether the bounds are physical (else the end of the modelled range: an interval that
    reaches it is reported open, as at the end of a scan).
    """

    name: str
    default: float = 0.0
    unit: str = ""
    scale: float = 1.0
    display_scale: Optional[float] = None
    symbol: str = ""
    unit_math: str = ""
    bounds: Tuple[float, float] = (-math.inf, math.inf)
    flavours: Tuple[str, ...] = ()
    squared: bool = False
    shared: bool = False
    mass: bool = False
    levels: Tuple[str, ...] = ("90%",)
    plausible: float = math.inf
    description: str = field(default="", compare=False)
    #: the bounds are physical limits (an interval ending there is cut); False: the end of the range the model is
    #: valid over (a neutron radius's interpolation range), where an interval that reaches it is reported open
    physical_bounds: bool = True
    #: the target elements it acts on (a neutron radius: rn_Cs acts on Cs only); empty: every target
    elements: Tuple[str, ...] = ()

    @property
    def shown_scale(self) -> float:
        """Values are displayed divided by this: ``display_scale``, else ``scale``."""
        return self.scale if self.display_scale is None else self.display_scale

    @property
    def label(self) -> Label:
        """Its figure label: symbol, unit at the display scale, the scale."""
        s = self.shown_scale
        if not self.unit_math:
            return Label(self.symbol or self.name)
        shown = self.unit_math if s == 1 else rf"{number(s)}\,{self.unit_math}"
        return Label(self.symbol or self.name, shown, s, self.unit_math)

    def display_unit(self, scale: Optional[float] = None) -> str:
        """Plain-text unit at a display scale (default its own): '1e-12 e', '1e-11 mu_B', 'MeV', ''."""
        s = self.shown_scale if scale is None else scale
        factor = f"{s:g}".replace("e-0", "e-").replace("e+0", "e+")
        if not self.unit:
            return "" if s == 1 else factor
        return self.unit if s == 1 else f"{factor} {self.unit}"

    @property
    def bounded(self) -> bool:
        """Both ends of the physical range are finite (the scan can cover all of it)."""
        return all(math.isfinite(b) for b in self.bounds)

    @property
    def transition(self) -> bool:
        """Acts between two different flavours (q_emu, r2_etau, ...)."""
        return len(self.flavours) == 2

    def shares_flavour(self, other: "Parameter") -> bool:
        """Both act on a common flavour, or either is flavour-blind."""
        return not self.flavours or not other.flavours or bool(set(self.flavours) & set(other.flavours))

    def with_unit(self, value: float) -> str:
        """``3e-12 e``: a value with its unit."""
        return f"{value:g} {self.unit}".rstrip()


def flavour_pair_math(flavours: Tuple[str, ...]) -> str:
    """("e", "mu") -> ``e\\mu``; ("e",) -> ``ee`` for a diagonal parameter written with one flavour twice."""
    return "".join(FLAVOUR_MATH[f] for f in flavours)

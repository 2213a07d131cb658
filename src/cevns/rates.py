"""Binned predictions (eq. 17 and 19) through precomputed response matrices.

Everything that does not depend on the fitted parameters -- flux moments, kinematics, form factor,
quenching and its Jacobian, resolution, thresholds, efficiency, exposure, arrival times -- is folded once
into, per channel and source component, per-node arrays and a response matrix K[bin, node].  A model's
rate is a polynomial in its couplings (``cevns._poly``); its basis B[monomial, bin] = K @ (per-node
coefficients), one outer product with the component's time fractions per source component (docs/physics.md:
time factorises), is computed once per model structure (and per mediator mass), after which a prediction
is one small dot product.

The engine is generic: a *source* (``cevns.flux.ReactorFlux``, ``cevns.stopped_pion.StoppedPionSource``)
gives flux moments per component (flavour, antineutrino) and, if timed, arrival-time fractions; a
*response* (``cevns.detector.IonisationResponse``, ``cevns.detector.RecoilResponse``) gives recoil nodes
and K.  Bins are energy-major: index = energy bin x n_time_bins + time bin.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import constants as C
from ._poly import Poly, monomial_matrix
from .detector import NumericalSettings
from .errors import CevnsInputError
from .models import Model
from .nuclei import BindingTable, Target
from .xsec import e_min

CHANNELS = ("cevns", "eves")
__all__ = ["CHANNELS", "Basis", "NumericalSettings", "ResponseEngine"]


@dataclass
class Basis:
    """Per-bin polynomial basis of one model and channel: rate = sum_m mono_m(theta) B[m]."""

    names: Tuple[str, ...]
    monomials: List[Tuple]
    B: np.ndarray  # (n_monomials, n_bins)

    def points(self, values: Dict[str, float], n: int = 1, **columns: Any) -> np.ndarray:
        """(n, len(names)) parameter points: ``values`` in every row, ``columns`` {name: n values} overriding."""
        pts = np.tile(np.array([values[k] for k in self.names], dtype=float), (n, 1))
        for k, v in columns.items():
            pts[:, self.names.index(k)] = v
        return pts

    def evaluate_many(self, points: np.ndarray) -> np.ndarray:
        """Counts per bin at many parameter points (rows of ``points``, columns in ``names`` order):
        (n_points, n_bins), one matrix product."""
        return monomial_matrix(self.monomials, self.names, np.atleast_2d(points)) @ self.B

    def evaluate(self, values: Dict[str, float]) -> np.ndarray:
        """Counts per bin at one point ``values`` {name: value}."""
        return self.evaluate_many(self.points(values))[0]


#: the most events the Standard Model may predict in one bin (squared by the statistics, which overflow near 1e154)
MAX_EVENTS = 1e100


class ResponseEngine:
    """Response matrices of one experiment for CEvNS and EvES: ``source`` x ``target`` x ``response``.

    ``binding`` is the atom's binding table for EvES (None: no EvES, its basis is zero).
    """

    def __init__(self, target: Target, source: Any, response: Any, binding: Optional[BindingTable] = None,
                 numerics: NumericalSettings = NumericalSettings()):
        if not isinstance(numerics, NumericalSettings):
            raise CevnsInputError(f"numerics must be a NumericalSettings(panel_eV=..., n_gl=..., floor_eV=...), "
                                  f"got {numerics!r}")
        self.target, self.source, self.response, self.binding = target, source, response, binding
        self.numerics = numerics
        self.n_time = int(response.n_time_bins)
        self.n_bins = int(response.n_energy_bins) * self.n_time
        self._basis_cache: Dict[Tuple, Basis] = {}
        self._build()

    def _build(self) -> None:
        per_kg = self.target.atoms_per_kg() * C.CM2_PER_MEV_M2
        comps = self.source.components
        self.time_weights = {c: np.asarray(self.response.time_weights(self.source, c), dtype=float) for c in comps}
        # CEvNS: nodes in nuclear recoil, per-node factor (quenching Jacobian where nodes sit in T_ee)
        T_N, factor, K = self.response.cevns_grid(self.target, self.source, self.numerics)
        self.T_N = T_N
        self.cevns_nodes = T_N
        self.K_cevns = K * per_kg
        if not np.all(np.isfinite(self.K_cevns)):
            raise CevnsInputError("the detector response overflows (non-finite): check the exposure, mass and bins")
        self.iso_data: List[Tuple[Any, Any, Dict[Tuple[str, bool], Dict[int, np.ndarray]]]] = []
        for iso in self.target.isotopes:
            m = iso.mass_MeV
            F2 = self.target.form_factor_squared(iso, np.sqrt(2.0 * m * T_N))
            Emin = e_min(T_N, m)
            mom = {c: {n: iso.abundance * factor * v for n, v in self.source.moments(Emin, c).items()} for c in comps}
            if not all(np.all(np.isfinite(v)) for m in mom.values() for v in m.values()):
                raise CevnsInputError("the neutrino flux overflows (non-finite moments): check the source's power, "
                                      "distance or protons on target")
            self.iso_data.append((iso, F2, mom))
        # EvES: nodes in electron recoil (Z_eff steps of eq. 19), if the response sees electron recoils
        grid = None if self.binding is None else self.response.eves_grid(self.binding, self.source, self.numerics)
        if grid is None:
            self.eves_nodes = np.zeros(0)
            self.K_eves = np.zeros((self.response.n_energy_bins, 0))
            self.eves_moments: Dict[Tuple[str, bool], Dict[int, np.ndarray]] = {}
        else:
            Te, Ke = grid
            assert self.binding is not None
            self.eves_nodes = Te
            zeff = self.binding.z_eff(Te)
            Emin = e_min(Te, C.M_ELECTRON)
            self.eves_moments = {c: {n: zeff * v for n, v in self.source.moments(Emin, c).items()} for c in comps}
            self.K_eves = Ke * per_kg
        from .models import StandardModel

        with np.errstate(over="ignore", invalid="ignore"):
            sm = self.rates(StandardModel(), "cevns") + self.rates(StandardModel(), "eves")
        if not np.all(np.isfinite(sm)):
            raise CevnsInputError("the Standard Model prediction overflows (non-finite counts): check the exposure, mass "
                                  "and source strength (power, distance, captures per fission, protons on target)")
        if sm.max(initial=0.0) > MAX_EVENTS:
            raise CevnsInputError(f"the Standard Model predicts {np.max(sm):.3g} events in a bin, more than {MAX_EVENTS:.0e} "
                                  "(the statistics would overflow): check the exposure, mass and source strength")

    @property
    def has_eves(self) -> bool:
        return self.eves_nodes.size > 0

    # --- per-node differential rates as polynomials ----------------------------------------------
    def _node_rate(self, model: Model, channel: str, p, component: Tuple[str, bool]) -> Poly:
        flavour, anti = component
        total = Poly()
        if channel == "cevns":
            for iso, F2, mom in self.iso_data:
                for n, c in model.cevns_terms_on(self.target, self.T_N, iso, F2, p, flavour, anti).items():
                    total = total + Poly.lift(c) * mom[component][n]
        elif channel == "eves":
            if not self.has_eves:
                return total
            for n, c in model.eves_terms(self.eves_nodes, p, flavour, anti).items():
                total = total + Poly.lift(c) * self.eves_moments[component][n]
        else:
            raise CevnsInputError(f"unknown channel {channel!r}; use 'cevns' or 'eves'")
        return total

    def _rows(self, model: Model, channel: str, n_masses: int = 0) -> Dict[Any, np.ndarray]:
        """Per monomial, the counts per bin: (n_bins,), or (n_masses, n_bins) when the model's mass is an
        array of ``n_masses`` values (column vector): the polynomial is expanded once for every mass."""
        K = self.K_cevns if channel == "cevns" else self.K_eves
        n_nodes = K.shape[1]
        shape = (n_masses, n_nodes) if n_masses else (n_nodes,)
        rows: Dict[Any, np.ndarray] = {}
        for comp in self.source.components:
            poly = self._node_rate(model, channel, model.symbols(), comp)
            tw = self.time_weights[comp]
            for m, c in poly.terms.items():
                r = np.broadcast_to(np.asarray(c, dtype=float), shape) @ K.T
                if not (self.n_time == 1 and tw[0] == 1.0):
                    r = (r[..., :, None] * tw).reshape(r.shape[:-1] + (-1,))
                rows[m] = rows[m] + r if m in rows else r
        return rows

    def _store(self, key: Tuple, names: Tuple[str, ...], rows: Dict[Any, np.ndarray],
               nonzero: Optional[Dict[Any, bool]] = None) -> Basis:
        """Cache the basis; identically-zero monomials are dropped (``nonzero`` may say which, precomputed)."""
        keep = nonzero if nonzero is not None else {m: bool(np.any(row != 0)) for m, row in rows.items()}
        monos = sorted(m for m in rows if keep[m])
        B = np.array([rows[m] for m in monos]) if monos else np.zeros((1, self.n_bins))
        self._basis_cache[key] = Basis(names, monos or [()], B)
        return self._basis_cache[key]

    def basis(self, model: Model, channel: str) -> Basis:
        """Polynomial basis of ``model`` in ``channel`` (cached by model type, masses, options)."""
        key = model.structure_key() + (channel,)
        if key not in self._basis_cache:
            self._store(key, model.parameters, self._rows(model, channel))
        return self._basis_cache[key]

    def prefetch(self, model: Model, channel: str, masses: Sequence[float]) -> None:
        """Build the bases of ``model`` at many mediator masses at once into the cache (:meth:`basis` then
        finds them): the mass enters only through per-node propagator factors, so the polynomial in the
        couplings is expanded once with the masses as an array axis and turned into counts by one matrix
        product, instead of once per mass.  Identical to per-mass :meth:`basis` (to rounding)."""
        names = list(model.mass_table)
        if len(names) != 1:
            return
        todo = [float(m) for m in masses]  # as Model stores a mass (check_positive -> float)
        head, _, tail = model.structure_key()  # (type, (mass,), options): only the mass changes
        keys = [(head, (m,), tail, channel) for m in todo]
        need = [i for i, k in enumerate(keys) if k not in self._basis_cache]
        if not need:
            return
        vec = copy.copy(model)
        values: Dict[str, Any] = dict(model._values)
        values[names[0]] = np.array([todo[i] for i in need])[:, None]  # the mass as a column
        vec._values = values
        rows = self._rows(vec, channel, len(need))
        nonzero = {m: np.any(r != 0, axis=-1) for m, r in rows.items()}
        for j, i in enumerate(need):
            self._store(keys[i], model.parameters, {m: r[j] for m, r in rows.items()},
                        {m: bool(nz[j]) for m, nz in nonzero.items()})

    def rates(self, model: Model, channel: str) -> np.ndarray:
        """Expected counts per bin for ``model`` in ``channel``."""
        return self.basis(model, channel).evaluate(model.values())

    def mean_momentum_transfer(self, model: Model) -> float:
        """Rate-weighted mean momentum transfer q = sqrt(2 m_N T_N) [MeV] of the binned CEvNS events
        (the scale at which a CEvNS determination of sin^2 theta_W is placed, Fig. 3)."""
        w = np.zeros(self.T_N.shape)
        for comp in self.source.components:
            rate = self._node_rate(model, "cevns", model.values(), comp)
            r = np.broadcast_to(np.asarray(rate.terms.get((), 0.0), dtype=float), self.T_N.shape)
            w = w + self.K_cevns.sum(axis=0) * r * self.time_weights[comp].sum()
        m = sum(iso.abundance * iso.mass_MeV for iso in self.target.isotopes) / sum(
            iso.abundance for iso in self.target.isotopes)
        return float((w * np.sqrt(2.0 * m * self.T_N)).sum() / w.sum())

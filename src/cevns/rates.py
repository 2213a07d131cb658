"""Binned predictions (eq. 17 and 19) through precomputed response matrices.

Everything that does not depend on the fitted parameters -- flux moments,
kinematics, form factor, quenching and its Jacobian, resolution, thresholds,
efficiency, exposure -- is folded once into, per channel, per-node arrays and a
response matrix K[bin, node].  A model's rate is a polynomial in its couplings
(``cevns._poly``); its basis B[monomial, bin] = K @ (per-node coefficients) is
computed once per model structure (and per mediator mass), after which a
prediction is one small dot product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

from . import constants as C
from ._poly import Poly, monomial_matrix
from .detector import Detector, Lindhard, Resolution, bin_probabilities, node_grid
from .errors import CevnsInputError
from .flux import ReactorFlux
from .models import Model
from .nuclei import BindingTable, Target, helm_form_factor
from .xsec import e_min

CHANNELS = ("cevns", "eves")


@dataclass(frozen=True)
class NumericalSettings:
    """Quadrature settings of the recoil-energy integrals (defaults: error ~1e-7 per bin; docs/reliability.md).

    panel_eV: maximum panel width in true ionisation energy [eV_ee]; n_gl: Gauss-Legendre nodes per panel;
    floor_eV: lowest true energy considered when resolution smears events up [eV_ee].
    """

    panel_eV: float = 5.0
    n_gl: int = 4
    floor_eV: float = 5.0


@dataclass
class Basis:
    """Per-bin polynomial basis of one model and channel: rate = sum_m mono_m(theta) B[m]."""

    names: Tuple[str, ...]
    monomials: List[Tuple]
    B: np.ndarray  # (n_monomials, n_bins)

    def evaluate(self, values: Dict[str, float]) -> np.ndarray:
        pts = np.array([[values[n] for n in self.names]], dtype=float)
        return (monomial_matrix(self.monomials, self.names, pts) @ self.B)[0]


class ResponseEngine:
    """Response matrices of one experiment for CEvNS and EvES."""

    def __init__(self, target: Target, binding: BindingTable, flux: ReactorFlux, quenching: Lindhard,
                 resolution: Resolution, detectors: Sequence[Detector], edges_eVee: np.ndarray,
                 numerics: NumericalSettings = NumericalSettings()):
        self.target, self.binding, self.flux = target, binding, flux
        self.quenching, self.resolution = quenching, resolution
        self.detectors = tuple(detectors)
        self.edges = np.asarray(edges_eVee, dtype=float) * C.eV
        self.numerics = numerics
        thr = np.array([d.threshold_eVee for d in self.detectors]) * C.eV
        if np.all(thr >= self.edges[-1]):
            raise CevnsInputError(
                f"every detector threshold ({', '.join(f'{d.threshold_eVee:g}' for d in self.detectors)} eV_ee) "
                f"is at or above the last bin edge ({self.edges[-1] / C.eV:g} eV_ee): no bin can be filled")
        self._basis_cache: Dict[Tuple, Basis] = {}
        self._build()

    # --- construction ---------------------------------------------------------------------
    def _true_range(self) -> Tuple[float, float]:
        lo, hi = self.edges[0], self.edges[-1]
        res = [self._res(d) for d in self.detectors]
        if any(r.on for r in res):
            lo = max(self.numerics.floor_eV * C.eV, min(lo - r.nsigma * float(r.sigma(lo)) for r in res if r.on))
            hi = max(hi + r.nsigma * float(r.sigma(hi)) for r in res if r.on)
        return lo, hi

    def _res(self, d: Detector) -> Resolution:
        """The detector's own resolution, else the experiment's."""
        return d.resolution if d.resolution is not None else self.resolution

    def _nodes(self, extra_edges: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        lo, hi = self._true_range()
        thr = np.array([d.threshold_eVee for d in self.detectors]) * C.eV
        cuts = np.concatenate([[lo, hi], self.edges, thr, extra_edges])
        cuts = np.unique(cuts[(cuts >= lo) & (cuts <= hi)])
        return node_grid(cuts, self.numerics.panel_eV * C.eV, self.numerics.n_gl)

    def _response(self, E_true: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """K[i, j] = sum_d exposure_d [s kg] * atoms/kg * P_d[i, j] * w_j * (cm^2 per MeV^-2)."""
        K = np.zeros((self.edges.size - 1, E_true.size))
        for d in self.detectors:
            P = bin_probabilities(E_true, self.edges, d.threshold_eVee * C.eV, self._res(d), d.efficiency)
            K += d.exposure_kg_day * C.SECONDS_PER_DAY * P
        return K * weights[None, :] * self.target.atoms_per_kg() * C.CM2_PER_MEV_M2

    def _build(self) -> None:
        # CEvNS: nodes in true ionisation energy, mapped to nuclear recoil by the quenching
        Tee, w = self._nodes(np.array([]))
        T_N = self.quenching.nr_from_ee(Tee)
        jac = 1.0 / self.quenching.dee_dnr(T_N)  # dT_N/dT_ee, the bracket of eq. 17
        self.cevns_nodes = Tee
        self.T_N = T_N
        self.iso_data = []
        for iso in self.target.isotopes:
            m = iso.mass_MeV
            F2 = helm_form_factor(np.sqrt(2.0 * m * T_N), iso.A, self.target.helm) ** 2
            mom = self.flux.moments(e_min(T_N, m))
            self.iso_data.append((iso, F2, {n: iso.abundance * jac * v for n, v in mom.items()}))
        self.K_cevns = self._response(Tee, w)
        # EvES: nodes in electron recoil energy, cut at the binding energies (Z_eff steps, eq. 19)
        Te, we = self._nodes(self.binding.edges_MeV)
        self.eves_nodes = Te
        zeff = self.binding.z_eff(Te)
        self.eves_moments = {n: zeff * v for n, v in self.flux.moments(e_min(Te, C.M_ELECTRON)).items()}
        self.K_eves = self._response(Te, we)

    # --- per-node differential rates as polynomials ----------------------------------------------
    def _node_rate(self, model: Model, channel: str, p) -> Poly:
        total = Poly()
        if channel == "cevns":
            for iso, F2, mom in self.iso_data:
                for n, c in model.cevns_terms(self.T_N, iso, F2, p).items():
                    total = total + Poly.lift(c) * mom[n]
        elif channel == "eves":
            for n, c in model.eves_terms(self.eves_nodes, p).items():
                total = total + Poly.lift(c) * self.eves_moments[n]
        else:
            raise CevnsInputError(f"unknown channel {channel!r}; use 'cevns' or 'eves'")
        return total

    def basis(self, model: Model, channel: str) -> Basis:
        """Polynomial basis of ``model`` in ``channel`` (cached by model type, masses, options)."""
        key = model.structure_key() + (channel,)
        if key not in self._basis_cache:
            poly = self._node_rate(model, channel, model.symbols())
            K = self.K_cevns if channel == "cevns" else self.K_eves
            n_nodes = K.shape[1]
            rows = {m: K @ np.broadcast_to(np.asarray(c, dtype=float), (n_nodes,)) for m, c in poly.terms.items()}
            monos = sorted(m for m, row in rows.items() if np.any(row != 0))  # drop identically-zero terms
            B = np.array([rows[m] for m in monos]) if monos else np.zeros((1, K.shape[0]))
            monos = monos or [()]
            self._basis_cache[key] = Basis(model.parameters, monos, B)
        return self._basis_cache[key]

    def rates(self, model: Model, channel: str) -> np.ndarray:
        """Expected counts per bin for ``model`` in ``channel``."""
        return self.basis(model, channel).evaluate(model.values())

    def mean_momentum_transfer(self, model: Model) -> float:
        """Rate-weighted mean momentum transfer q = sqrt(2 m_N T_N) [MeV] of the binned CEvNS events
        (the scale at which a CEvNS determination of sin^2 theta_W is placed, Fig. 3)."""
        rate = self._node_rate(model, "cevns", model.values())
        r = np.broadcast_to(np.asarray(rate.terms.get((), 0.0), dtype=float), self.T_N.shape)
        w = self.K_cevns.sum(axis=0) * r
        m = sum(iso.abundance * iso.mass_MeV for iso in self.target.isotopes)
        return float((w * np.sqrt(2.0 * m * self.T_N)).sum() / w.sum())

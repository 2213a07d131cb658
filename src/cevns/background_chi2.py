"""chi^2 of a measured spectrum with a fitted background whose every term is linear (``[likelihood] kind =
"chi2-background"`` with ``[background_model]``; the Dresden-II Rx-ON spectrum).

    chi^2(r) = min_{alpha, b} sum_i [(d_i - (1 + alpha) r_i - sum_k b_k B_ki) / s_i]^2 + (alpha / sigma_alpha)^2
               + b^T P b

r: the predicted signal per bin; B_k: background templates (a constant, an exponential exp(-E/E0) and E^j times it,
Gaussian peaks grouped with fixed area ratios, and for a peak group with ``shift`` the derivatives of its shape in
centre and width as free terms: a shift of centre or width to first order); P: Gaussian priors tying one group's
area to another's, (a_g - R a_ref)^2 / (sigma R a_ref_hat)^2 with a_ref_hat the reference group's area in a
background-only fit of the data (so that the prior stays quadratic).  Every background coefficient enters linearly,
so the minimum over b is a fixed projection G (n x n) computed once, and
chi^2(r) = y^T G y - (r^T G y)^2 / (r^T G r + 1 / sigma_alpha^2) with y = d - r: closed form, vectorised over
many predictions.  The nonlinear inputs (E0, peak centres and widths) are fixed in the file; their first-order
variations are the free shape terms (their accuracy against an exact nonlinear fit: tests/test_dresden.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np
from scipy.special import erf

from .errors import CevnsInputError
from .statistic import Statistic


def _gauss_bins(edges_keV: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Fraction of a unit-area Gaussian in each bin."""
    return np.diff(0.5 * (1.0 + erf((edges_keV - mu) / (sigma * np.sqrt(2.0)))))


def _check_peaks(peaks: List[Dict[str, Any]], e_keV: np.ndarray) -> None:
    """Peak names unique (two alike would be one group silently), and each peak within 5 sigma of the data's
    energy range (a peak farther out has no effect on any bin)."""
    seen = [str(p["name"]) for p in peaks]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise CevnsInputError(f"[background_model] peaks: name(s) {twice} given more than once (a group is given "
                              "with group = ..., not by repeating a name)")
    for p in peaks:
        mu, sig = float(p["energy_keV"]), float(p["sigma_keV"])
        if mu + 5.0 * sig < e_keV[0] or mu - 5.0 * sig > e_keV[-1]:
            raise CevnsInputError(f"[background_model] peak {p['name']}: energy_keV = {mu:g} +- 5 x {sig:g} lies "
                                  f"outside the data ({e_keV[0]:g} ... {e_keV[-1]:g} keV): it has no effect")


def background_templates(model: Dict[str, Any], edges_eVee: np.ndarray) -> Tuple[List[str], np.ndarray, np.ndarray]:
    """(names, templates B (n_terms, n_bins) [per unit coefficient], prior rows) of a validated
    ``[background_model]``.  Prior rows: (i_group, i_ref, ratio, sigma) per [[priors]] entry."""
    e = np.asarray(edges_eVee, dtype=float) * 1e-3
    E = 0.5 * (e[1:] + e[:-1])
    names, rows = [], []
    if model.get("constant", True):
        names.append("constant")
        rows.append(np.ones_like(E))
    if "exponential_keV" in model:
        E0 = float(model["exponential_keV"])
        for j in range(int(model.get("exponential_order", 2)) + 1):
            names.append("exponential" if j == 0 else f"E^{j} exponential")
            rows.append((E / E0) ** j * np.exp(-E / E0))
    _check_peaks(model["peaks"], e)
    groups: Dict[str, List[Dict[str, Any]]] = {}
    for pk in model["peaks"]:
        groups.setdefault(str(pk.get("group", pk["name"])), []).append(pk)
    h = 1e-4  # keV: central differences of the shape in centre and width
    for g, peaks in groups.items():
        names.append(g)
        rows.append(np.sum([float(p.get("ratio", 1.0)) * _gauss_bins(e, p["energy_keV"], p["sigma_keV"])
                            for p in peaks], axis=0))
        if any(p.get("shift", False) for p in peaks):
            for what, dm, ds in (("centre", h, 0.0), ("width", 0.0, h)):
                names.append(f"{g} {what}")
                rows.append(np.sum([float(p.get("ratio", 1.0)) * (
                    _gauss_bins(e, p["energy_keV"] + dm, p["sigma_keV"] + ds)
                    - _gauss_bins(e, p["energy_keV"] - dm, p["sigma_keV"] - ds)) / (2 * h) for p in peaks], axis=0))
    if len(set(names)) != len(names):
        raise CevnsInputError(f"[background_model] a peak group may not be named like another term: {names}")
    priors = []
    for pr in model.get("priors", []):
        for k in ("group", "relative_to"):
            if pr[k] not in groups:
                raise CevnsInputError(f"[background_model] priors: unknown peak group {pr[k]!r}; known: {sorted(groups)}")
        priors.append((names.index(pr["group"]), names.index(pr["relative_to"]), float(pr["ratio"]), float(pr["sigma"])))
    return names, np.array(rows), np.array(priors, dtype=float).reshape(-1, 4)


@dataclass(frozen=True)
class BackgroundChi2(Statistic):
    """The chi^2 of the module docstring: ``data``, ``sigma`` [per bin], ``templates`` (n_terms, n_bins) with
    ``names``, ``priors`` rows (i_group, i_ref, ratio, relative sigma) and the signal normalisation ``sigma_alpha``."""

    data: np.ndarray
    sigma: np.ndarray
    templates: np.ndarray
    names: Tuple[str, ...]
    priors: np.ndarray
    sigma_alpha: float = 0.0
    _G: np.ndarray = field(init=False, repr=False, compare=False)
    _solve: Any = field(init=False, repr=False, compare=False)
    name = "chi2"

    def __post_init__(self):
        d, s = np.asarray(self.data, dtype=float), np.asarray(self.sigma, dtype=float)
        B = np.asarray(self.templates, dtype=float)
        if d.ndim != 1 or s.shape != d.shape or B.ndim != 2 or B.shape[1] != d.size or not np.all(s > 0):
            raise CevnsInputError("background chi^2: data, sigma (> 0) and templates must share the bins")
        scale = np.abs(B).max(axis=1)
        if np.any(scale == 0):
            raise CevnsInputError("background chi^2: a background term is zero in every bin (outside the bins?)")
        Bn = (B / scale[:, None]).T  # (n, m), unit-scale columns
        w = 1.0 / s**2
        A = Bn.T @ (Bn * w[:, None])
        P = np.zeros_like(A)
        if len(self.priors):
            ref = np.linalg.solve(A, Bn.T @ (w * d))  # background-only fit: the reference areas of the priors
            for ig, ir, ratio, rel in np.asarray(self.priors):
                ig, ir = int(ig), int(ir)
                a_ref = abs(ref[ir] / scale[ir])
                c = np.zeros(A.shape[0])
                c[ig], c[ir] = 1.0 / scale[ig], -ratio / scale[ir]
                P += np.outer(c, c) / (rel * ratio * a_ref) ** 2
        M = A + P
        WB = Bn * w[:, None]
        G = np.diag(w) - WB @ np.linalg.solve(M, WB.T)
        object.__setattr__(self, "data", d)
        object.__setattr__(self, "sigma", s)
        object.__setattr__(self, "_G", 0.5 * (G + G.T))
        object.__setattr__(self, "_solve", (np.linalg.inv(M) @ WB.T) / scale[:, None])

    def _parts(self, pred: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        r = np.asarray(pred, dtype=float)
        y = self.data - r
        Gy = y @ self._G
        a = np.zeros(r.shape[:-1])
        if self.sigma_alpha > 0:
            a = np.einsum("...i,...i->...", r, Gy) / (np.einsum("...i,ij,...j->...", r, self._G, r)
                                                    + 1.0 / self.sigma_alpha**2)
        return r, y, a

    def alpha_hat(self, pred: Any) -> np.ndarray:
        """The profiled signal normalisation alpha (0 with sigma_alpha = 0)."""
        return self._parts(pred)[2]

    def background_hat(self, pred: np.ndarray) -> Dict[str, float]:
        """The profiled background coefficients at one prediction (template units)."""
        r, y, a = self._parts(pred)
        return dict(zip(self.names, (self._solve @ (y - a * r)).tolist()))

    def background(self, pred: np.ndarray) -> np.ndarray:
        """The profiled background per bin at one prediction."""
        b = self.background_hat(pred)
        return np.asarray(self.templates).T @ np.array([b[n] for n in self.names])

    def __call__(self, pred: Any) -> np.ndarray:
        r, y, a = self._parts(pred)
        v = y - a[..., None] * r
        return np.einsum("...i,ij,...j->...", v, self._G, v) + (a / self.sigma_alpha) ** 2 \
            if self.sigma_alpha > 0 else np.einsum("...i,ij,...j->...", v, self._G, v)

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d chi^2_min / d pred (envelope theorem: alpha and b held at their minimum)."""
        r, y, a = self._parts(pred)
        return -2.0 * (1.0 + a) * (self._G @ (y - a * r))

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        raise CevnsInputError("toys (coverage) are not available for a 'chi2-background' experiment: its background "
                              "is fitted, not a drawn template")

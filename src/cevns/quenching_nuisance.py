"""The germanium Lindhard k profiled with its prior (issue 24, item 5): a linear signal-shape nuisance.

A reactor experiment's prediction depends on k through the folded response (recoil -> ionisation energy).  To first
order, for every model point theta,

    r(theta; k0 + delta sigma_k) = r(theta; k0) + delta t(theta),   t = sigma_k [r(theta; k0 + h) - r(theta; k0 - h)] / 2h

so :class:`KProfiled` predicts the three responses side by side (the parts of a joint experiment: k0, k0 - h, k0 + h,
every one a polynomial in the couplings as usual) and :class:`QuenchingNuisanceChi2` minimises eq. 20 with delta
added: chi^2 = sum [((1 + alpha) (r + delta t) - d) / s]^2 + (alpha / sigma_alpha)^2 + delta^2, alpha and delta by
alternating closed-form steps (each exact given the other; vectorised).  The accuracy of the linearisation against
exact rebuilding at k0 +- 1, 2 sigma_k is tested in tests/test_quenching.py.

    exp = cevns.load_experiment("conus-plus")
    kp = KProfiled(exp, sigma_k=0.004)      # CONUS+: k = 0.162 +- 0.004
    kp.fit("sin2w")
"""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from .errors import CevnsInputError
from .experiments import Experiment, JointExperiment
from .statistic import Statistic

#: alternating steps of the (alpha, delta) minimisation (the coupling is weak: 1e-10 after ~10 steps)
STEPS = 30


class QuenchingNuisanceChi2(Statistic):
    """Eq. 20 with the linear k nuisance (module docstring), on predictions (..., 3 n): [r(k0), r(k0-h), r(k0+h)]."""

    name = "chi2"

    def __init__(self, base: Any, h: float, sigma_k: float):
        self.base = base
        self.data, self.sigma = base.data, base.sigma
        self.w = 1.0 / base.sigma**2
        self.n = base.data.size
        self.scale = sigma_k / (2.0 * h)
        self.L = 1.0 / base.sigma_alpha**2 if base.sigma_alpha > 0 else np.inf
        #: a fitted-background chi^2 (cevns.background_chi2, no signal normalisation): its projection G, delta exact
        self.G = getattr(base, "_G", None)
        if self.G is not None and base.sigma_alpha > 0:
            raise CevnsInputError("profiling k with a fitted background needs sigma_alpha = 0")

    @property
    def ndata(self) -> int:
        return int(self.n)

    def _split(self, pred: Any):
        p = np.asarray(pred, dtype=float)
        if p.shape[-1] != 3 * self.n:
            raise CevnsInputError(f"a k-profiled prediction has 3 x {self.n} bins, got {p.shape[-1]}")
        n = self.n
        return p[..., :n], (p[..., 2 * n:] - p[..., n:2 * n]) * self.scale

    def nuisances(self, pred: Any):
        """(alpha, delta) at their minimum for prediction(s) ``pred``."""
        r, t = self._split(pred)
        if self.G is not None:  # chi^2 = (y - delta t)^T G (y - delta t) + delta^2: delta in closed form, no alpha
            Gt = t @ self.G
            delta = np.einsum("...i,...i->...", Gt, self.data - r) / (np.einsum("...i,...i->...", Gt, t) + 1.0)
            return np.zeros(r.shape[:-1]), delta
        d, w = self.data, self.w
        a = np.zeros(r.shape[:-1])
        delta = np.zeros(r.shape[:-1])
        for _ in range(STEPS):
            f = 1.0 + a
            delta = np.einsum("...i,...i->...", f[..., None] * t * w, d - f[..., None] * r) / (
                f**2 * np.einsum("...i,...i->...", t * w, t) + 1.0)
            if np.isfinite(self.L):
                q = r + delta[..., None] * t
                qw = q * w
                a = np.einsum("...i,...i->...", qw, d - q) / (np.einsum("...i,...i->...", qw, q) + self.L)
        return a, delta

    def __call__(self, pred: Any) -> np.ndarray:
        r, t = self._split(pred)
        a, delta = self.nuisances(pred)
        if self.G is not None:
            return self.base(r + delta[..., None] * t) + delta**2
        res = (1.0 + a)[..., None] * (r + delta[..., None] * t) - self.data
        pen = (a**2 * self.L if np.isfinite(self.L) else 0.0 * a) + delta**2
        return np.einsum("...i,...i->...", res * self.w, res) + pen

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d chi^2_min / d pred (envelope theorem: alpha, delta held at their minimum)."""
        r, t = self._split(pred)
        a, delta = self.nuisances(pred)
        a, delta = np.asarray(a)[..., None], np.asarray(delta)[..., None]  # per point, broadcast over the bins
        if self.G is not None:
            g = self.base.gradient(r + delta * t)
        else:
            g = 2.0 * self.w * ((1.0 + a) * (r + delta * t) - self.data) * (1.0 + a)
        gt = g * delta * self.scale
        return np.concatenate([g, -gt, gt], axis=-1)

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        raise CevnsInputError("toys are not available with the quenching k profiled")


class KProfiled(JointExperiment):
    """A reactor germanium experiment with its Lindhard k profiled (Gaussian prior ``sigma_k``): its fits and limits
    through the usual analysis.  ``h``: the half-step of the derivative in k (default sigma_k)."""

    def __init__(self, exp: Experiment, sigma_k: float, h: float = 0.0):
        k0 = getattr(getattr(exp, "quenching", None), "k", None)
        if k0 is None or exp.counting_experiment:
            raise CevnsInputError(f"{exp.name}: profiling k needs a Lindhard-quenched germanium experiment (a "
                                  "tabulated model has no k: --input quenching=lindhard)")
        if not 0 < sigma_k < k0:  # NaN fails too; k0 - sigma_k must stay a valid k (the derivative's step)
            raise CevnsInputError(f"k_sigma (the prior width of the Lindhard k = {k0:g}) must be > 0 and below k, "
                                  f"got {sigma_k!r}")
        if not 0 <= h < k0:
            raise CevnsInputError(f"the step h in k must be >= 0 and below k = {k0:g}, got {h!r}")
        self.h = float(h or sigma_k)
        self.k0, self.sigma_k = float(k0), float(sigma_k)
        lo, hi = exp.replace(k=k0 - self.h), exp.replace(k=k0 + self.h)
        lo.name, hi.name = f"{exp.name} (k - {self.h:g})", f"{exp.name} (k + {self.h:g})"
        super().__init__(exp, lo, hi)
        self.base = exp
        self.data = exp.data
        self.name = f"{exp.name} (k profiled)"
        self.joint_note = (f"{exp.name} with the Lindhard k profiled: k = {self.k0:g} +- {self.sigma_k:g} (a linear shape "
                           "nuisance, cevns.quenching_nuisance)")

    def predict(self, model: Any = None) -> List[Any]:
        """The prediction at k0 (the profiled k moves it within its prior)."""
        return [self.base.predict(model)]

    def stacked(self, model: Any) -> np.ndarray:
        """The predictions at k0, k0 - h and k0 + h side by side (what the statistic takes)."""
        return np.concatenate([p.total for p in JointExperiment.predict(self, model)])

    def chi2_function(self) -> Any:
        return QuenchingNuisanceChi2(self.base.chi2_function(), self.h, self.sigma_k)

    def inputs(self) -> Dict[str, Any]:
        return {**self.base.inputs(), "quenching_k_profiled": {"k0": self.k0, "sigma_k": self.sigma_k, "h": self.h}}

    def k_hat(self, pred: Any) -> float:
        """The profiled k at one stacked prediction."""
        return self.k0 + self.sigma_k * float(self.chi2_function().nuisances(pred)[1])

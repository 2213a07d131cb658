"""One interface for every statistic of the package, in the manner of iminuit's cost functions.

A :class:`Statistic` turns predicted counts per bin into the number a fit minimises: the chi^2 of eq. 20 with its
normalisation minimised analytically (:class:`cevns.stats.Chi2`), the binned Poisson deviance -2 ln(L/L_saturated)
with its nuisances profiled (:class:`cevns.poisson.PoissonLikelihood`), and sums of them over the concatenated bins
of several experiments (:class:`cevns.stats.JointChi2`, :class:`Grouped`).  Each has

* ``name``: "chi2", "poisson", or a sum's "chi2+poisson"; results name the statistic they report;
* ``ndata``: the number of bins;
* ``value(pred)`` (also ``statistic(pred)``): for one prediction (n_bins,) or many (n_points, n_bins);
* ``gradient(pred)``: d value / d pred for one prediction;
* ``a + b``: the statistic of both data sets, bins concatenated (Poisson parts that tag a nuisance alike share it);
* ``toy_parts(idx)`` and ``simulate(rng, pred, n)``: pseudo-data drawn from the statistic's own model (its
  nuisances from their constraints), so that toys and fits use the same objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

#: the order in which the kinds of a sum are named
KINDS = ("chi2", "poisson")


def kind_of(names: Sequence[str]) -> str:
    """The name of a sum of statistics with these names: 'chi2', 'poisson' or 'chi2+poisson'."""
    kinds = {k for n in names for k in n.split("+")}
    return "+".join(k for k in KINDS if k in kinds)


class Statistic(ABC):
    """The interface (module docstring)."""

    name: str = ""
    data: np.ndarray
    #: 1 sigma per bin, for display and joint bookkeeping (a Poisson part: sqrt(max(n, 1)))
    sigma: np.ndarray

    @property
    def ndata(self) -> int:
        """The number of bins (data points)."""
        return int(np.asarray(self.data).size)

    @abstractmethod
    def __call__(self, pred: Any) -> np.ndarray:
        """The statistic at prediction(s) ``pred``."""

    def value(self, pred: Any) -> np.ndarray:
        """The statistic at prediction(s) ``pred`` (the same as calling it)."""
        return self(pred)

    @abstractmethod
    def gradient(self, pred: np.ndarray) -> np.ndarray:
        """d statistic / d pred_i at one prediction."""

    @abstractmethod
    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        """The parts a toy needs (cevns.stats.GaussianPart, cevns.poisson.PoissonPart) on the bins ``idx``."""

    def simulate(self, rng: np.random.Generator, pred: np.ndarray, n: int) -> np.ndarray:
        """``n`` pseudo-data sets (n, ndata) for the prediction ``pred``, each part's nuisances drawn from their
        constraints (the law the toys of `cevns coverage` use)."""
        out = np.empty((n, self.ndata))
        signal = np.asarray(pred, dtype=float)
        for part in self.toy_parts(np.arange(self.ndata)):
            out[:, part.idx] = part.generate(rng, signal[part.idx], n)
        return out

    def __add__(self, other: "Statistic") -> "Statistic":
        """Both statistics, bins concatenated (self's first)."""
        return Grouped.of([self, other])

    # --- what the vectorised minimisers use (cevns.minimise): a sum's parts, and warm starts of profiled nuisances
    def leaves(self) -> Optional[List[Tuple["Statistic", Any]]]:
        """A sum's parts and the bins each acts on (an index array or a slice); None for a single statistic."""
        return None

    @property
    def state_size(self) -> int:
        """Columns of the warm-start state (profiled nuisances) of a single statistic: 0 unless it profiles."""
        return 0

    def call_warm(self, pred: np.ndarray, theta0: Optional[np.ndarray] = None,
                  stop_above: Optional[np.ndarray] = None, dual: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The statistic of many predictions and the state to start the next ones from (none here); ``stop_above``
        (a profiling statistic may stop a point's profile once it is certainly above it) and ``dual`` (multipliers
        carried between calls) are not needed here."""
        return self(pred), np.zeros((np.atleast_2d(pred).shape[0], 0))


class Grouped(Statistic):
    """A sum of statistics, each on its own subset of the concatenated bins."""

    def __init__(self, groups: Sequence[Tuple[Statistic, np.ndarray]], n_bins: int):
        self.groups = [(st, np.asarray(ix)) for st, ix in groups]
        self.data = np.zeros(n_bins)
        self.sigma = np.zeros(n_bins)
        for st, ix in self.groups:
            self.data[ix], self.sigma[ix] = st.data, st.sigma
        self.name = kind_of([st.name for st, _ in self.groups])

    @classmethod
    def of(cls, parts: Sequence[Statistic]) -> "Grouped":
        """Statistics on consecutive bins (each part's bins after the previous one's)."""
        edges = np.cumsum([0] + [p.ndata for p in parts])
        return cls([(p, np.arange(a, b)) for p, a, b in zip(parts, edges[:-1], edges[1:])], int(edges[-1]))

    def __call__(self, pred: Any) -> np.ndarray:
        r = np.asarray(pred, dtype=float)
        return np.sum([st(r[..., ix]) for st, ix in self.groups], axis=0)

    def gradient(self, pred: np.ndarray) -> np.ndarray:
        r = np.asarray(pred, dtype=float)
        out = np.zeros_like(r)
        for st, ix in self.groups:
            out[ix] += st.gradient(r[ix])
        return out

    def toy_parts(self, idx: np.ndarray) -> List[Any]:
        return [p for st, ix in self.groups for p in st.toy_parts(idx[ix])]

    def leaves(self) -> Optional[List[Tuple[Statistic, Any]]]:
        return list(self.groups)

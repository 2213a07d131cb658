"""A detector seen through a release's mono-energetic efficiency templates (XENONnT 8B, issue 25).

The XENONnT release gives, per science run and per point of a 7 x 7 grid of light-yield (tly) and charge-yield
(tqy) nuisances (in units of their sigma, -3 ... 3), the probability eps_r(E, b) that a nuclear recoil of energy E
(0.5 ... 5.0 keV_nr in 0.1 keV steps) is selected into bin b of the run's 3 x 3 x 3 x 3 analysis bins (four
observables, flattened in C order).  Its rule for a signal (the release's plot.ipynb):

    events_r(b) = exposure_r sum_E eps_r(E, b) dR/dE(E) Delta E,  Delta E = 0.1 keV,

linear in the recoil spectrum, so it is a response matrix K[bin, node] with the 46 recoil energies as nodes
(weights Delta E, a rectangle rule: the release's own sum) and the runs' bins concatenated (run-major).  Recoils
below 0.5 keV_nr have no template and count zero (eps = 1.3e-4 at 0.5 keV_nr).  The exposures are in t yr; a year
is ``year_days`` days (365.25, a Julian year: the release does not say).

The tly, tqy dependence stays outside the matrix: :meth:`ReleaseTemplateResponse.matrix_at` gives K at any grid
point, from which the statistic takes the +-1 sigma variations (cevns.templated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from . import constants as C
from .errors import CevnsInputError

#: the bins of one run: 3 x 3 x 3 x 3
BINS_PER_RUN = 81


@dataclass(frozen=True, eq=False)
class ReleaseTemplateResponse:
    """Mono-energetic efficiency templates of several runs (module docstring).

    ``grid``: (n_tly, n_tqy, n_E, n_bins) efficiencies, the runs' bins side by side; ``tly``, ``tqy``: the grid
    values; ``energies_keV``: the recoil energies; ``exposures_t_yr``: one per run; ``runs``: their names."""

    runs: Tuple[str, ...]
    exposures_t_yr: Tuple[float, ...]
    energies_keV: np.ndarray
    tly: Tuple[float, ...]
    tqy: Tuple[float, ...]
    grid: np.ndarray
    step_keV: float = 0.1
    year_days: float = 365.25
    #: the grid point (tly, tqy) of the efficiencies the response uses (the nominal one unless a variation)
    at: Tuple[float, float] = (0.0, 0.0)

    time_edges_us = None
    observable = "index"  #: the flat bin index: run x 81 + ((i_cs2 x 3 + i_shadow) x 3 + i_s1) x 3 + i_s2
    n_time_bins = 1

    def __post_init__(self):
        g = self.grid
        nb = BINS_PER_RUN * len(self.runs)
        if g.shape != (len(self.tly), len(self.tqy), self.energies_keV.size, nb):
            raise CevnsInputError(f"efficiency templates: shape {g.shape}, expected ({len(self.tly)}, {len(self.tqy)}, "
                                  f"{self.energies_keV.size}, {nb})")
        if not np.all(np.isfinite(g)) or g.min() < 0 or g.max() > 1:
            raise CevnsInputError("efficiency templates: efficiencies must lie in [0, 1]")
        if 0.0 not in self.tly or 0.0 not in self.tqy:
            raise CevnsInputError("efficiency templates: the grid must hold the nominal point tly = tqy = 0")
        if len(self.exposures_t_yr) != len(self.runs) or min(self.exposures_t_yr) <= 0:
            raise CevnsInputError("efficiency templates: one exposure > 0 t yr per run")

    @property
    def n_energy_bins(self) -> int:
        return BINS_PER_RUN * len(self.runs)

    @property
    def edges(self) -> np.ndarray:
        """The flat bin indices as edges 0, 1, ..., n (the bins are four-dimensional: no energy axis)."""
        return np.arange(self.n_energy_bins + 1, dtype=float)

    @property
    def exposure_kg_s(self) -> np.ndarray:
        """Exposure per bin [kg s]: each run's t yr x 1000 kg x year_days x 86400 s."""
        e = np.repeat(np.asarray(self.exposures_t_yr, dtype=float), BINS_PER_RUN)
        return e * 1000.0 * self.year_days * C.SECONDS_PER_DAY

    def run_slices(self) -> Tuple[slice, ...]:
        """The bins of each run."""
        return tuple(slice(i * BINS_PER_RUN, (i + 1) * BINS_PER_RUN) for i in range(len(self.runs)))

    def efficiency_at(self, tly: float, tqy: float) -> np.ndarray:
        """(n_E, n_bins) efficiencies at a grid point (tly, tqy)."""
        try:
            i, j = self.tly.index(float(tly)), self.tqy.index(float(tqy))
        except ValueError:
            raise CevnsInputError(f"(tly, tqy) = ({tly:g}, {tqy:g}) is not a point of the template grid") from None
        return self.grid[i, j]

    def matrix_at(self, tly: float, tqy: float) -> np.ndarray:
        """K[bin, node] [kg s MeV] at a grid point: exposure x efficiency x Delta E."""
        return self.exposure_kg_s[:, None] * self.efficiency_at(tly, tqy).T * (self.step_keV * C.keV)

    def cevns_grid(self, target, source, numerics=None):
        """(recoil nodes [MeV], per-node factor (ones), K[bin, node] [kg s MeV]) at the yields :attr:`at`."""
        T = self.energies_keV * C.keV
        return T, np.ones_like(T), self.matrix_at(*self.at)

    def eves_grid(self, binding, source, numerics=None):
        """No electron channel: the templates are for nuclear recoils (an electron recoil is the ER background)."""
        return None

    def time_weights(self, source, component) -> np.ndarray:
        return np.ones(1)

    def inputs(self) -> dict:
        return {"runs": list(self.runs), "exposures_t_yr": list(self.exposures_t_yr),
                "energies_keVnr": [float(self.energies_keV[0]), float(self.energies_keV[-1])],
                "step_keV": self.step_keV, "year_days": self.year_days}

"""The solar 8B flux measured by CEvNS (XENONnT, issue 25), as the collaboration quotes it: the Standard Model
signal scaled by f = Phi_8B / Phi_ref, the flux free (no prior: ``signal_sigma`` = 0), every other nuisance
profiled; the best fit and 1 sigma interval from -2 ln lambda(f) - min = 1, and the significance of the
background-only hypothesis, Z = sqrt(-2 ln lambda(0) - min) (one-sided, f >= 0, Wilks).

>>> import cevns
>>> from cevns.solar_fit import flux_fit
>>> r = flux_fit(cevns.load_experiment("xenonnt-8b-2026", runs=["sr0", "sr1"]))   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .errors import CevnsInputError
from .models import StandardModel

#: the scan of f = Phi / Phi_ref
F_MAX = 10.0


def flux_fit(exp: Any, sin2w: float | None = None) -> Dict[str, Any]:
    """Best-fit 8B flux [cm^-2 s^-1], its 1 sigma interval, the significance of the signal and the fitted signal
    events, of a solar template experiment (module docstring).  ``sin2w``: the SM's value (default: the model's)."""
    if getattr(exp.source, "kind", "") != "solar-8b" or not exp.counting_experiment:
        raise CevnsInputError(f"flux_fit needs a solar 8B counting experiment, not {exp.name}")
    free = exp.replace(signal_sigma=0.0)
    model = StandardModel() if sin2w is None else StandardModel(sin2w=sin2w)
    s0 = free.predict(model).cevns
    like = free.chi2_function()

    def q(f: float) -> float:
        return float(like(f * s0))

    grid = np.linspace(0.0, F_MAX, 401)
    qs = np.asarray(like(grid[:, None] * s0[None, :]))
    k = int(np.argmin(qs))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = minimize_scalar(q, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}) if hi > lo else None
    f_best = float(best.x) if best is not None and best.fun <= qs[k] else float(grid[k])
    q_min = min(q(f_best), float(qs[k]))
    if f_best < 1e-3 and q(0.0) <= q_min + 1e-9:
        f_best, q_min = 0.0, q(0.0)
    lower = 0.0 if q(0.0) - q_min < 1.0 else brentq(lambda f: q(f) - q_min - 1.0, 0.0, f_best)
    if q(F_MAX) - q_min < 1.0:
        raise CevnsInputError(f"flux_fit: the 1 sigma interval reaches f = {F_MAX:g} (unbounded in the scan)")
    upper = brentq(lambda f: q(f) - q_min - 1.0, f_best, F_MAX)
    ref = float(exp.source.total_flux())
    q0 = max(q(0.0) - q_min, 0.0)
    return {"flux_cm2_s": f_best * ref, "flux_lo_cm2_s": lower * ref, "flux_hi_cm2_s": upper * ref,
            "scale": f_best, "scale_interval": [lower, upper], "significance_sigma": float(np.sqrt(q0)),
            "q0": q0, "signal_events": f_best * float(s0.sum()), "sm_signal_events": float(s0.sum()),
            "reference_flux_cm2_s": ref, "background_events": float(like.bkg_total.sum()),
            "observed_events": float(free.data.counts.sum()), "runs": list(exp.response.runs)}

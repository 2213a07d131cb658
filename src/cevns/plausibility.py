"""Guard against unit slips in parameter values a user sets (issue 24): one function, :func:`check_parameters`.

Two tests, both on values as given (in the units of the model's parameter table):

* a coupling whose |value| lies above its declared ``plausible`` bound (:class:`cevns.parameters.Parameter`: far
  outside what any experiment probes) is named with its unit and, where the value read in the unit it is
  usually printed in (its display scale, e.g. 1e-11 mu_B) would be plausible, that value as the likely intention;
* a model whose prediction exceeds an experiment's data (or, without data, its Standard Model prediction) by
  more than :data:`MAX_EXCESS` is refused: no such prediction can be compared with the data.

A value outside the plausible range whose prediction is still within :data:`MAX_EXCESS` is only warned about
(:class:`cevns.errors.CevnsWarning`): a what-if study may want it.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, List, Optional, Tuple

import numpy as np

from .errors import CevnsInputError, CevnsWarning
from .models import Model

#: the most a prediction may exceed the data (or the SM prediction) before it is refused as a unit slip
MAX_EXCESS = 1e6
#: the smallest |value| read as a number copied from a table in display units (12.8 for 12.8e-11 mu_B)
PRINTED_MIN = 1e-3


def _implausible(model: Model) -> List[str]:
    """One phrase per coupling above its plausible |value|, with its unit and the likely intended value."""
    out = []
    for par in model.PARAMETERS:
        value, limit, unit = model.values()[par.name], par.plausible, par.unit
        if not abs(value) > limit:
            continue
        name = par.name
        u = f" {unit}" if unit else ""
        text = (f"{name} = {value:g}{u} is far outside the range any experiment probes (|{name}| <= {limit:.3g}{u}; "
                + (f"values are in {unit})" if unit else f"{name} is dimensionless)"))
        scale = par.shown_scale
        if scale != 1.0 and abs(value) >= PRINTED_MIN and abs(value * scale) <= limit:
            exponent = int(round(np.log10(scale)))
            text += f": did you mean {value:g}e{exponent}{u} = {value * scale:.3g}?"
        out.append(text)
    return out


def _reference_events(exp: Any) -> Tuple[float, str]:
    """What a prediction is compared with, and its name: the data (|counts| summed) or, without data or if it is
    larger, the Standard Model prediction."""
    from .models import StandardModel

    sm = exp.predict(StandardModel())
    ref = (float(np.sum(sm.cevns) + np.sum(sm.eves)), "its Standard Model prediction")
    data = getattr(exp, "data", None)
    if data is not None and float(np.sum(np.abs(data.counts))) >= ref[0]:
        ref = (float(np.sum(np.abs(data.counts))), "its data")
    return ref


def _changed(model: Model) -> str:
    """The parameters that differ from their defaults, as name=value."""
    defaults = {**{k: v[0] for k, v in model.parameter_table.items()}, **{k: v[0] for k, v in model.mass_table.items()}}
    return ", ".join(f"{k} = {v:g}" for k, v in model.values().items() if v != defaults.get(k)) or repr(model)


def check_parameters(model: Model, experiments: Iterable[Any], predictions: Optional[Iterable[Any]] = None) -> None:
    """Refuse (:class:`CevnsInputError`) or warn about (:class:`CevnsWarning`) parameter values that look like
    unit slips; see the module docstring.  ``predictions``: the model's :class:`cevns.results.Prediction` per
    experiment, if already computed."""
    exps = list(experiments)
    preds = list(predictions) if predictions is not None else [e.predict(model) for e in exps]
    phrases = _implausible(model)
    for exp, pred in zip(exps, preds):
        total = float(np.sum(pred.cevns) + np.sum(pred.eves))
        ref, what = _reference_events(exp)
        if not total <= MAX_EXCESS * ref:  # also NaN
            cause = "; ".join(phrases) if phrases else "check the units of the parameters (`cevns list` shows them)"
            raise CevnsInputError(f"{type(model).__name__} with {_changed(model)} predicts {total:.3g} events in "
                                  f"{exp.name}, more than {MAX_EXCESS:.0e} times {what} ({ref:.4g} events): {cause}")
    for text in phrases:
        warnings.warn(text, CevnsWarning, stacklevel=2)

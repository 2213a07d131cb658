"""How parameters, channels, levels and models are written in figures.

A parameter's symbol, unit and display scale are declared once, with the parameter, in its model
(:class:`cevns.parameters.Parameter`, declared in :mod:`cevns.models`); :func:`label` reads them, so
``label("mu_nu").axis`` is ``$\\mu_{\\nu}$ [$10^{-11}\\,\\mu_B$]``.  A name that no model declares raises
:class:`UnknownLabel` instead of printing the code name in a figure.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Union

from .errors import CevnsInputError
from .models import MODELS, StandardModel, all_parameters
from .parameters import Label, number

__all__ = ["Label", "UnknownLabel", "axis_label", "channel_label", "label", "level_label", "model_label", "number",
           "symbol"]


class UnknownLabel(CevnsInputError):
    """A parameter with no declaration: declare it with its model (cevns.labels reads cevns.models) rather than
    print its code name."""


def label(name: str) -> Label:
    """The :class:`Label` of parameter ``name``, from its declaration; :class:`UnknownLabel` if none declares it."""
    par = all_parameters().get(name)
    if par is None:
        raise UnknownLabel(f"no figure label declared for parameter {name!r}: cevns.labels reads the symbol, unit and "
                           "scale from the Parameter declared in its model (cevns.models)")
    return par.label


def symbol(name: str) -> str:
    """Shorthand for ``label(name).symbol``."""
    return label(name).symbol


def axis_label(name: str) -> str:
    """Shorthand for ``label(name).axis``: symbol [scaled unit]."""
    return label(name).axis


#: display names of the channels
CHANNELS: Dict[str, str] = {"cevns": r"CE$\nu$NS", "eves": r"E$\nu$ES", "cevns+eves": r"CE$\nu$NS + E$\nu$ES"}


def channel_label(channels: str) -> str:
    """``cevns+eves`` -> CE$\\nu$NS + E$\\nu$ES (any order, any subset)."""
    if channels in CHANNELS:
        return CHANNELS[channels]
    parts = [p.strip().lower() for p in channels.split("+")]
    if parts and all(p in ("cevns", "eves") for p in parts):
        return " + ".join(CHANNELS[p] for p in ("cevns", "eves") if p in parts)
    raise UnknownLabel(f"no figure label declared for channels {channels!r}")


def level_label(level: Union[str, float]) -> str:
    """Confidence level for a figure: ``1sigma`` -> 1$\\sigma$, ``90%`` and 0.9 -> 90%."""
    if isinstance(level, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*sigma\s*", level)
        if m:
            return f"{m.group(1)}$\\sigma$"
        if level.strip().endswith("%"):
            return level.strip()
        level = float(level)
    return f"{100 * float(level):g}%"


def _model_names() -> Dict[str, str]:
    """Class name -> display name, from the model registry (each class declares its ``display``)."""
    return {cls.__name__: cls.display for cls in MODELS.values()}


def model_label(model: Any) -> str:
    """Legend text of a model (an object or its repr, as in :attr:`cevns.results.Prediction.model`): its
    non-zero parameters as symbols, e.g. ``$\\mu_{\\nu} = 10^{-10}\\,\\mu_B$``; the SM at the default
    sin^2 theta_W is "SM"."""
    if isinstance(model, str):
        m = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", model)
        if m is None:
            raise UnknownLabel(f"cannot read a model from {model!r}")
        cls = m.group(1)
        values: Dict[str, Any] = {}
        for k, v in re.findall(r"(\w+)=('[^']*'|[^,]+)", m.group(2)):
            try:
                values[k] = float(v)
            except ValueError:
                values[k] = v.strip("'")
    else:
        cls, values = type(model).__name__, {**model.values(), **model.options}
    names = _model_names()
    if cls not in names:
        raise UnknownLabel(f"no figure label declared for model {cls!r}")
    parts = []
    for k, v in values.items():
        if not isinstance(v, float) or k == "convention":
            continue
        par = all_parameters().get(k)
        if par is not None and not par.mass and (v == par.default or math.isclose(v, par.default)):
            continue  # at its default (the SM value): not written
        parts.append(label(k).value(v))
    name = names[cls]
    if values.get("convention") == "product":
        name += r" ($g = g^\nu g^q$)"
    if cls == StandardModel.__name__:
        return "SM" + (f" ({', '.join(parts)})" if parts else "")
    return (f"{name}: " if name and parts else name) + ", ".join(parts)

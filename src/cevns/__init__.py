"""cevns: CEvNS and EvES phenomenology -- predictions, fits and limits for reactor (CONUS+) and
stopped-pion (COHERENT CsI, LAr) data, alone or combined.

Quick start::

    import cevns
    exp = cevns.load_experiment("conus-plus")
    print(exp.predict())                                  # SM counts per bin
    print(exp.predict(cevns.models.MagneticMoment(mu_nu=1e-10)))
    print(exp.fit("sin2w"))                               # weak mixing angle
    print(exp.limit("mu_nu", cl=0.9))                     # 90% C.L. limit, mu_B
    print(exp.exclusion("vector-bl"))                     # (M, g) exclusion
    print(exp.contour(("q_ee", "q_emu")))                 # two-parameter region

Equation numbers in docstrings refer to ``docs/physics.md`` (the reference paper's).

The public names are imported lazily (PEP 562): ``import cevns`` is cheap, and a submodule is
imported the first time one of its names is used, so the command line prints its help without
loading numpy or scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

__version__ = "0.1.0"

#: public name -> submodule that defines it (a submodule itself when the name is the submodule's)
_LAZY: Dict[str, str] = {
    "constants": "constants", "models": "models",
    "Detector": "detector", "Efficiency": "detector", "Lindhard": "detector", "Resolution": "detector",
    "CevnsInputError": "errors",
    "Experiment": "experiments", "JointExperiment": "experiments", "load_experiment": "experiments",
    "ReactorFlux": "flux",
    "ChargeRadius": "models", "MagneticMoment": "models", "Millicharge": "models", "ScalarMediator": "models",
    "StandardModel": "models", "VectorBL": "models", "get_model": "models",
    "HelmParameters": "nuclei", "helm_form_factor": "nuclei", "load_binding_table": "nuclei", "load_target": "nuclei",
    "NumericalSettings": "rates",
    "ContourResult": "results", "ExclusionResult": "results", "FitResult": "results", "Prediction": "results",
    "Sin2wRunning": "running", "load_determinations": "running",
    "Chi2": "stats", "delta_chi2_level": "stats",
    "FlavourMagneticMoment": "models", "VectorNSI": "models", "StoppedPionSource": "stopped_pion", "PoissonLikelihood": "poisson",
    "RecoilResponse": "detector", "IonisationResponse": "detector",
}

__all__ = [
    "Chi2", "ChargeRadius", "CevnsInputError", "ContourResult", "Detector", "Efficiency", "ExclusionResult", "Experiment",
    "FitResult", "HelmParameters", "JointExperiment", "Lindhard", "MagneticMoment", "Millicharge", "NumericalSettings",
    "Prediction", "ReactorFlux", "Resolution", "ScalarMediator", "Sin2wRunning", "StandardModel", "VectorBL",
    "constants", "delta_chi2_level", "get_model", "helm_form_factor", "load_binding_table", "load_determinations",
    "load_experiment", "load_target",
    "models", "__version__",
    "FlavourMagneticMoment", "VectorNSI", "StoppedPionSource", "PoissonLikelihood", "RecoilResponse", "IonisationResponse",
]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'cevns' has no attribute {name!r}")
    module = importlib.import_module(f".{mod}", __name__)
    value = module if name == mod else getattr(module, name)
    globals()[name] = value  # later lookups do not come here again
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static checkers and IDEs see the eager imports
    from . import constants, models
    from .detector import Detector, Efficiency, IonisationResponse, Lindhard, RecoilResponse, Resolution
    from .errors import CevnsInputError
    from .experiments import Experiment, JointExperiment, load_experiment
    from .flux import ReactorFlux
    from .models import (
        ChargeRadius,
        FlavourMagneticMoment,
        MagneticMoment,
        Millicharge,
        ScalarMediator,
        StandardModel,
        VectorBL,
        VectorNSI,
        get_model,
    )
    from .nuclei import HelmParameters, helm_form_factor, load_binding_table, load_target
    from .poisson import PoissonLikelihood
    from .rates import NumericalSettings
    from .results import ContourResult, ExclusionResult, FitResult, Prediction
    from .running import Sin2wRunning, load_determinations
    from .stats import Chi2, delta_chi2_level
    from .stopped_pion import StoppedPionSource

"""cevns: reactor CEvNS and EvES phenomenology -- predictions, fits and limits.

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
"""

from . import constants, models
from .detector import Detector, Efficiency, Lindhard, Resolution
from .errors import CevnsInputError
from .experiments import Experiment, JointExperiment, load_experiment
from .flux import ReactorFlux
from .models import ChargeRadius, MagneticMoment, Millicharge, ScalarMediator, StandardModel, VectorBL, get_model
from .nuclei import HelmParameters, helm_form_factor, load_binding_table, load_target
from .rates import NumericalSettings
from .results import ContourResult, ExclusionResult, FitResult, Prediction
from .running import Sin2wRunning, load_determinations
from .stats import Chi2, delta_chi2_level

__version__ = "0.1.0"

__all__ = [
    "Chi2", "ChargeRadius", "CevnsInputError", "ContourResult", "Detector", "Efficiency", "ExclusionResult", "Experiment",
    "FitResult", "HelmParameters", "JointExperiment", "Lindhard", "MagneticMoment", "Millicharge", "NumericalSettings",
    "Prediction", "ReactorFlux", "Resolution", "ScalarMediator", "Sin2wRunning", "StandardModel", "VectorBL",
    "constants", "delta_chi2_level", "get_model", "helm_form_factor", "load_binding_table", "load_determinations",
    "load_experiment", "load_target",
    "models", "__version__",
]

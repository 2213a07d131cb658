"""Strict inputs at the edges (issue #13): a wrong type, a malformed table or a combination of keys that one
would silently ignore is a CevnsInputError naming the problem; a byte-order mark is accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cevns
from cevns import CevnsInputError
from cevns.models import MODELS

NOT_MODELS = ["sm", 1, 2.5, {}, {"mu_nu": 1e-10}, [], True]


# --- 1. the Python API: models, experiment names, model parameters -------------------------------------------------

@pytest.mark.parametrize("bad", NOT_MODELS, ids=repr)
@pytest.mark.parametrize("method", ["predict", "chi2", "asimov"])
def test_model_arguments_must_be_models(exp, method, bad):
    with pytest.raises(CevnsInputError, match=r"model must be a model instance, e.g\. cevns\.MagneticMoment") as e:
        getattr(exp, method)(bad)
    assert f"type {type(bad).__name__}" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("method", ["predict", "chi2", "asimov"])
def test_joint_model_arguments_must_be_models(exp, method):
    joint = exp + cevns.load_experiment("coherent-csi-2021")
    with pytest.raises(CevnsInputError, match=r"got 'magnetic-moment' \(type str\); for a model by its name use "
                                              r"cevns\.get_model\('magnetic-moment'\)"):
        getattr(joint, method)("magnetic-moment")


def test_fit_model_argument_must_be_a_model(exp):
    with pytest.raises(CevnsInputError, match=r"model must be a model instance.*got 'vector-bl'"):
        exp.fit("g", model="vector-bl")
    with pytest.raises(CevnsInputError, match=r"got \{'mass_MeV': 10\} \(type dict\)"):
        exp.limit("g", model={"mass_MeV": 10})


def test_none_is_still_the_standard_model(exp):
    assert np.allclose(exp.predict(None).total, exp.predict(cevns.StandardModel()).total)
    assert exp.chi2(None) == exp.chi2(cevns.StandardModel())


def test_a_long_argument_is_shortened_in_the_message(exp):
    with pytest.raises(CevnsInputError) as e:
        exp.predict(list(range(1000)))
    assert len(str(e.value)) < 300


@pytest.mark.parametrize("bad", [None, 42, 1.5, {}, ["conus-plus"], b"conus-plus"], ids=repr)
def test_load_experiment_needs_a_name_or_a_path(bad):
    with pytest.raises(CevnsInputError, match=r"experiment must be a built-in name \(.*conus-plus.*\) or a path "
                                              r"to a TOML file, got "):
        cevns.load_experiment(bad)


def test_load_experiment_takes_a_pathlib_path():
    path = Path(cevns.experiments.__file__).parent / "data" / "experiments" / "conus_plus_2025.toml"
    assert cevns.load_experiment(path).name == cevns.load_experiment("conus-plus").name


@pytest.mark.parametrize("bad", [True, False, "1e-10", None, np.array(1e-10), [1e-10], 1 + 0j, np.bool_(True)],
                         ids=repr)
def test_model_parameters_are_real_numbers(bad):
    with pytest.raises(CevnsInputError, match=rf"^mu_nu must be a real number in mu_B, got .* \(type "
                                              rf"{type(bad).__name__}\)$"):
        cevns.MagneticMoment(mu_nu=bad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_parameter_of_every_model_is_strict(name):
    cls = MODELS[name]
    for p in list(cls.parameter_table) + list(cls.mass_table):
        with pytest.raises(CevnsInputError, match=rf"^{p} must be a real number"):
            cls(**{p: True})
        with pytest.raises(CevnsInputError, match=rf"^{p} must be a real number"):
            cls(**{p: "0.5"})
        with pytest.raises(CevnsInputError, match=rf"^{p} must be finite"):
            cls(**{p: float("inf")})


def test_model_parameters_take_ints_and_numpy_numbers():
    assert cevns.MagneticMoment(mu_nu=np.float32(1e-10)).values()["mu_nu"] == pytest.approx(1e-10)
    assert cevns.VectorBL(mass_MeV=np.int64(3), g=0).values()["mass_MeV"] == 3.0
    assert cevns.StandardModel(sin2w=np.float64(0.24)).replace(sin2w=0.23).values()["sin2w"] == 0.23
    m = cevns.VectorBL(mass_MeV=5, convention="product")  # options are not numbers: unchanged
    assert m.options["convention"] == "product"


def test_unknown_parameters_keep_their_error():
    with pytest.raises(CevnsInputError, match=r"unknown parameter\(s\) \['mu'\] for model 'magnetic-moment'"):
        cevns.MagneticMoment(mu=1e-10)


def test_get_model_needs_a_name():
    with pytest.raises(CevnsInputError, match="unknown model"):
        cevns.get_model({"name": "sm"})  # type: ignore[arg-type]

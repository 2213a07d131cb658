"""Experiments assembled from parts (issue 23, item 3): every kind the schema admits has a registered builder, and
every builder a kind in the schema."""

import pytest

import cevns
from cevns import builders, experiments, schema  # noqa: F401  (importing experiments registers every builder)


def _variant_options(key):
    return set(key.variant[2])


def test_every_schema_kind_has_its_builder_and_back():
    assert set(builders.SOURCES) == _variant_options(schema.SCHEMA["source"]) == {"reactor", "stopped-pion", "solar-8b"}
    assert set(builders.RESPONSES) == _variant_options(schema.SCHEMA["quenching"]) == {"lindhard", "polynomial",
                                                                                        "linear-qf", "release-templates",
                                                                                        "fef", "ybe"}
    assert set(builders.STATISTICS) == set(schema.SCHEMA["likelihood"].fields["kind"].choices) == {
        "chi2", "chi2-background", "poisson", "templates"}


def test_the_built_in_experiments_are_assembled_from_their_parts():
    for name, kinds in (("conus-plus", ("ReactorFlux", "IonisationResponse", "chi2")),
                        ("coherent-csi-2021", ("StoppedPionSource", "RecoilResponse", "poisson")),
                        ("coherent-lar-2020", ("StoppedPionSource", "RecoilResponse", "poisson")),
                        ("xenonnt-8b-2026", ("Solar8BSource", "ReleaseTemplateResponse", "templates"))):
        e = cevns.load_experiment(name)
        assert (type(e.source).__name__, type(e.response).__name__, e.likelihood_kind) == kinds


def test_a_builder_is_registered_once():
    with pytest.raises(ValueError, match="twice"):
        builders.source("reactor")(lambda cfg, base: None)
    with pytest.raises(cevns.CevnsInputError, match="no source builder for 'sun'"):
        builders.build(builders.SOURCES, "source", "sun")

"""User experiment files: loading, and clear messages for malformed ones."""

import shutil
from pathlib import Path

import pytest

import cevns
from cevns import CevnsInputError

EX = Path(__file__).parent.parent / "examples"


@pytest.fixture
def userfiles(tmp_path):
    shutil.copy(EX / "my_reactor.toml", tmp_path)
    shutil.copy(EX / "my_reactor_data.csv", tmp_path)
    return tmp_path


def test_user_experiment_loads(userfiles):
    exp = cevns.load_experiment(str(userfiles / "my_reactor.toml"))
    p = exp.predict()
    assert p.edges_eVee.tolist() == [200, 250, 300, 350, 400]
    assert p.cevns.sum() > 0 and exp.exposure_kg_day == 100.0


def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize("old,new,msg", [
    ("distance_m = 10.0", "distance_m = ten", "malformed TOML.*line"),
    ("distance_m = 10.0", "", "missing field 'distance_m' in \\[reactor\\]"),
    ('threshold_eVee = 200.0', "", "missing 'threshold_eVee'"),
    ("U238 = 0.07", "U238 = 0.17", "sum to 1"),
    ('units = "counts"', 'units = "furlongs"', "units must be"),
    ('file = "my_reactor_data.csv"', 'file = "nope.csv"', "not found"),
])
def test_malformed_toml(userfiles, old, new, msg):
    _edit(userfiles / "my_reactor.toml", old, new)
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(str(userfiles / "my_reactor.toml"))


@pytest.mark.parametrize("old,new,msg", [
    ("250,300,90.0,30.0", "250,300,ninety,30.0", "line 4: expected numbers"),
    ("250,300,90.0,30.0", "250,300,90.0,-3.0", "line 4: sigma must be > 0"),
    ("250,300,90.0,30.0", "260,300,90.0,30.0", "contiguous"),
    ("bin_lo_eVee,bin_hi_eVee,excess,sigma", "lo,hi,excess,sigma", "missing column"),
])
def test_malformed_data_file(userfiles, old, new, msg):
    _edit(userfiles / "my_reactor_data.csv", old, new)
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(str(userfiles / "my_reactor.toml"))

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


@pytest.mark.parametrize("fname,old,new,msg", [
    ("my_reactor.toml", "distance_m = 10.0", "distance_m = ten", "malformed TOML.*line"),
    ("my_reactor.toml", "distance_m = 10.0", "", "\\[reactor\\] is missing 'distance_m'"),
    ("my_reactor.toml", 'threshold_eVee = 200.0', "", "missing 'threshold_eVee'"),
    ("my_reactor.toml", "U238 = 0.07", "U238 = 0.17", "sum to 1"),
    ("my_reactor.toml", 'units = "counts"', 'units = "furlongs"', "units must be"),
    ("my_reactor.toml", 'file = "my_reactor_data.csv"', 'file = "nope.csv"', "not found"),
    ("my_reactor_data.csv", "250,300,90.0,30.0", "250,300,ninety,30.0", "line 4: expected numbers"),
    ("my_reactor_data.csv", "250,300,90.0,30.0", "250,300,90.0,-3.0", "line 4: sigma must be > 0"),
    ("my_reactor_data.csv", "250,300,90.0,30.0", "260,300,90.0,30.0", "contiguous"),
    ("my_reactor_data.csv", "bin_lo_eVee,bin_hi_eVee,excess,sigma", "lo,hi,excess,sigma", "missing column"),
])
def test_malformed_files(userfiles, fname, old, new, msg):
    """Each malformed experiment or data file stops with a message naming the field or line."""
    _edit(userfiles / fname, old, new)
    with pytest.raises(CevnsInputError, match=msg):
        cevns.load_experiment(str(userfiles / "my_reactor.toml"))

import pytest

import cevns


@pytest.fixture(scope="session")
def exp():
    """The built-in CONUS+ experiment with its default inputs."""
    return cevns.load_experiment("conus-plus")


@pytest.fixture(scope="session")
def exp_nores(exp):
    """CONUS+ with resolution off: eq. 17 literally."""
    return exp.replace(resolution="off")

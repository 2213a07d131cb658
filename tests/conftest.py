import os
import sys

# The test loop keeps bytecode caches (the git-ignored __pycache__ folders) even where PYTHONDONTWRITEBYTECODE is
# set, for this process and the interpreters the tests start: without them every run compiles and
# assertion-rewrites every module again (measured: collection 4.1 s instead of 2.0 s, and ~0.3 s more for each of
# the ~20 `python -m cevns` subprocesses).  Set before cevns is imported.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import pytest  # noqa: E402

import cevns  # noqa: E402


@pytest.fixture(scope="session")
def exp():
    """The built-in CONUS+ experiment with its default inputs."""
    return cevns.load_experiment("conus-plus")


@pytest.fixture(scope="session")
def exp_nores(exp):
    """CONUS+ with resolution off: eq. 17 literally."""
    return exp.replace(resolution="off")


def _reproduce_once(root):
    """Run `cevns reproduce` through the command line (with a user's Fig. 3 points file) into ``root``/results; the
    run dictionary that :func:`cevns.reproduce.reproduce` returned is pickled beside it."""
    import pickle

    import cevns.reproduce as R
    from cevns.cli import main

    out, points = root / "results", root / "points.csv"
    points.write_text("label,Q_GeV,value,err_plus,err_minus,scheme,reference\nTest point,0.05,0.24,0.02,0.03,MSbar,test\n")
    runs = []
    real = R.reproduce

    def spy(*args, **kw):
        runs.append(real(*args, **kw))
        return runs[-1]

    mp = pytest.MonkeyPatch()
    mp.setattr(R, "reproduce", spy)  # cmd_reproduce imports it at call time
    try:
        assert main(["reproduce", "--out", str(out), "--sin2w-points", str(points)]) == 0
    finally:
        mp.undo()
    assert len(runs) == 1
    (root / "run.pickle").write_bytes(pickle.dumps(runs[0]))


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory):
    """One `cevns reproduce` per test session, shared by every pytest-xdist worker (the first to ask computes it under
    a lock in the session's common temporary folder, the others read it): (output folder, the run dictionary that
    :func:`cevns.reproduce.reproduce` returned).  Tests only read both."""
    import fcntl
    import pickle

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "reproduced-once"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "run.pickle").exists():
            _reproduce_once(root)
    return root / "results", pickle.loads((root / "run.pickle").read_bytes())

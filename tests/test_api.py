"""The public API: documented, importable as a package and as `python -m cevns`."""

import inspect
import subprocess
import sys

import cevns


def test_every_public_name_has_a_docstring():
    missing = []
    for name in cevns.__all__:
        obj = getattr(cevns, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(name)
            if inspect.isclass(obj):
                for k, v in vars(obj).items():
                    if not k.startswith("_") and callable(v) and not (v.__doc__ or "").strip():
                        missing.append(f"{name}.{k}")
    assert missing == []


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "cevns", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("cevns ")


def test_experiment_methods_are_real_methods():
    for cls in (cevns.Experiment, cevns.JointExperiment):
        for m in ("predict", "fit", "limit", "exclusion", "contour", "chi2", "replace", "asimov"):
            assert any(m in vars(c) for c in cls.__mro__), (cls, m)

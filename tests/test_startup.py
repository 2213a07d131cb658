"""Start-up: ``import cevns`` and the command line's help and argument errors stay light.

Each check runs in a fresh interpreter (a subprocess) and lists the heavy modules it loaded.
"""

import importlib.metadata
import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "scipy.stats", "matplotlib")


def _loaded(code: str):
    """Run ``code`` in a fresh interpreter; the HEAVY modules it left in sys.modules."""
    probe = code + f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_cevns_is_light():
    assert _loaded("import cevns") == []


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["--version"], ["fit"], ["exclusion", "--model", "nope"],
                                  ["nonsense"]])
def test_cli_help_and_argument_errors_import_no_numpy(argv):
    code = f"from cevns.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    assert _loaded(code) == []


def test_analysis_imports_neither_scipy_stats_nor_matplotlib():
    code = ("import cevns\nexp = cevns.load_experiment('conus-plus')\nexp.predict()\nexp.limit('mu_nu')\n"
            "exp.fit('sin2w')\nexp.exclusion('scalar', masses=[1.0])")
    loaded = _loaded(code)
    assert "numpy" in loaded and "scipy.stats" not in loaded and "matplotlib" not in loaded


def test_every_public_name_resolves_lazily():
    import cevns

    for name in cevns.__all__:
        assert getattr(cevns, name) is not None, name
    assert set(cevns.__all__) <= set(dir(cevns))
    ns = {}
    exec("from cevns import *", ns)
    assert {"load_experiment", "VectorBL", "Chi2", "models", "constants"} <= set(ns)
    from cevns import MagneticMoment, models

    assert MagneticMoment is models.MagneticMoment and cevns.__version__ == importlib.metadata.version("cevns")
    with pytest.raises(AttributeError):
        cevns.not_a_name  # noqa: B018
    with pytest.raises(ImportError):
        exec("from cevns import not_a_name", {})

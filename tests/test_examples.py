"""Every example script runs (in a temporary folder)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_notebook_code_cells_run(tmp_path, monkeypatch):
    """The tutorial notebook's code cells, run in order (no Jupyter needed)."""
    import json
    nb = json.loads((Path(__file__).parent.parent / "examples" / "tutorial.ipynb").read_text())
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "tutorial.ipynb", "exec"), ns)
    assert ns["lim"].intervals["90%"][0][1] > 0

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


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path, monkeypatch, capsys):
    """Every command of the README's "A taste" block, from the repository root, exits 0 (figures and output
    folders redirected into a temporary folder); the Python block runs too."""
    import re
    import shlex

    from cevns.cli import main

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    taste = readme.split("## A taste", 1)[1]
    bash = taste.split("```bash\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    n = 0
    for line in bash.splitlines():
        argv = shlex.split(line.split(" #", 1)[0])
        if not argv:
            continue
        assert argv[0] == "cevns", line
        # figures and --out folders into the temporary folder, and a results.json read from one of those folders
        args = [str(tmp_path / Path(a).name) if re.search(r"\.(png|pdf)$", a) or prev == "--out" else
                str(tmp_path / a) if a.endswith("/results.json") else a for prev, a in zip(argv, argv[1:])]
        assert main(args) == 0, line
        n += 1
    assert n >= 10
    python = taste.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(python, "README.md", "exec"), {})
    assert "Prediction" in capsys.readouterr().out

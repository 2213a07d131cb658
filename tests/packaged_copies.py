"""Copies of the packaged experiment files for tests that edit them (one helper for every bad-input test file)."""

import shutil
from importlib import resources
from pathlib import Path

SRC = Path(str(resources.files("cevns.data").joinpath("experiments")))


def copy_experiment(tmp_path: Path, stem: str) -> Path:
    """Every packaged file of experiment ``stem`` (its TOML and data tables) copied into ``tmp_path``: the TOML's path."""
    for f in SRC.glob(stem + "*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / f"{stem}.toml"


def edit_once(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` in the file by ``new`` (``old`` must be there: a test cannot edit nothing)."""
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))

"""Safe outputs of the studies: nothing of the user's is overwritten or written through, and a run is either
complete or leaves the previous complete set in place.

* :func:`check_output_dir` runs *before* any computation: the folder must be writable, must not be a
  symbolic link, and may only hold files an earlier cevns run wrote (listed in its manifest,
  ``.cevns-manifest.json``) unless ``force``.
* :class:`StagedOutput` writes everything into a fresh temporary folder beside the target, then swaps it in
  with two renames (the old set is removed only after the new one is in place).  Writing into a fresh
  folder never follows a symbolic link of the old one; an error or an interrupt (Ctrl-C) removes the
  temporary folder and leaves the previous set untouched.  With ``force`` the files cevns did not write
  are carried over into the new set (unless an output of the same name replaces them).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional

from .errors import CevnsInputError

MANIFEST = ".cevns-manifest.json"


def _manifest(outdir: Path) -> List[str]:
    try:
        data = json.loads((outdir / MANIFEST).read_text())
        return [str(x) for x in data.get("files", [])]
    except (OSError, ValueError, AttributeError):
        return []


def foreign_files(outdir: Path) -> List[str]:
    """Entries of ``outdir`` that no cevns run wrote (not in its manifest)."""
    if not outdir.is_dir():
        return []
    mine = set(_manifest(outdir)) | {MANIFEST}
    # cevns writes regular files only: a symbolic link is the user's, whatever its name
    return sorted(p.name for p in outdir.iterdir() if p.name not in mine or p.is_symlink())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def recover(outdir: Path) -> None:
    """Undo what a run killed outright (SIGKILL, power loss) left beside ``outdir``: its temporary folder
    (a partial set, ``.NAME.tmp-PID-*``) and its figure process's folder (``.NAME.figures-PID-*``) are removed,
    and if it was killed between the two renames of the swap, the previous complete set (``.NAME.old-PID``)
    is put back."""
    parent = outdir.resolve().parent
    if not parent.is_dir():
        return
    for p in parent.glob(f".{outdir.name}.*-*"):
        kind, _, rest = p.name[len(outdir.name) + 2:].partition("-")
        pid = rest.split("-")[0]
        if kind not in ("tmp", "old", "figures") or not pid.isdigit() or _alive(int(pid)) or not p.is_dir():
            continue
        if kind == "old" and not outdir.exists() and (p / MANIFEST).is_file():
            os.rename(p, outdir)
        else:
            shutil.rmtree(p, ignore_errors=True)


def check_output_dir(outdir: Path, force: bool = False) -> None:
    """Refuse, before any computation, an output folder that cannot be written or holds files of the user's."""
    recover(outdir)
    if outdir.is_symlink():
        raise CevnsInputError(f"output folder {str(outdir)!r} is a symbolic link: give the real folder")
    if outdir.exists() and not outdir.is_dir():
        raise CevnsInputError(f"output folder {str(outdir)!r} exists and is not a folder")
    parent = outdir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=parent, prefix=".cevns-probe-", delete=True)
        probe.close()
    except OSError as e:
        raise CevnsInputError(f"cannot write next to {str(outdir)!r}: {e.strerror or e}") from None
    other = foreign_files(outdir)
    if other and not force:
        shown = ", ".join(other[:4]) + (f" and {len(other) - 4} more" if len(other) > 4 else "")
        raise CevnsInputError(f"output folder {str(outdir)!r} holds files cevns did not write ({shown}): choose "
                              "another --out, or --force to write there (those files are kept)")


class StagedOutput:
    """Write a set of outputs into a temporary folder, then swap it in for ``outdir`` (module docstring)."""

    def __init__(self, outdir: Path, force: bool = False):
        self.outdir = outdir
        self.force = force
        self.tmp: Optional[Path] = None

    def __enter__(self) -> Path:
        parent = self.outdir.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.outdir.name}.tmp-{os.getpid()}-"))
        os.chmod(self.tmp, 0o777 & ~_umask())  # a folder as mkdir makes it (mkdtemp's is private, 0700)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is not None and self.tmp.exists():
            if exc_type is None:
                self._commit()
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _commit(self) -> None:
        assert self.tmp is not None
        written = sorted(p.name for p in self.tmp.iterdir())
        if self.outdir.is_dir():
            for name in foreign_files(self.outdir):  # the user's files (only with force) travel to the new set
                if name not in written and self.force:
                    os.rename(self.outdir / name, self.tmp / name)
        (self.tmp / MANIFEST).write_text(json.dumps({"written_by": "cevns", "files": written}, indent=1))
        old = None
        if self.outdir.exists():
            old = self.outdir.resolve().parent / f".{self.outdir.name}.old-{os.getpid()}"
            os.rename(self.outdir, old)
        os.rename(self.tmp, self.outdir)
        self.tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_file_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename; a symbolic link is not written through."""
    if path.is_symlink():
        raise CevnsInputError(f"{str(path)!r} is a symbolic link: cevns does not write through links")
    fd, tmp = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # a file as open() makes it (mkstemp's is private, 0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- single files the user names (--plot FILE, --docs FILE, the files of `coverage --out DIR`) -----------------
#: what marks a file as written by cevns: in a figure's metadata (PNG "Software", PDF/PS/SVG "Creator"), in a
#: JSON result's "format" ("cevns-result/1") and in a Markdown file's first line
MARK = b"cevns"
#: a file larger than this is not searched for the mark (no figure of ours is near it)
MARK_SEARCH_BYTES = 64 * 2**20


def figure_metadata(path: str | Path) -> Optional[dict]:
    """savefig ``metadata`` that marks a figure file as cevns's (None for formats that carry none: jpg, tif)."""
    from . import __version__

    fmt = Path(path).suffix[1:].lower()
    who = f"cevns {__version__} (matplotlib)"
    if fmt == "png":
        return {"Software": who}
    if fmt in ("pdf", "ps", "eps", "svg"):
        return {"Creator": who}
    return None


def written_by_cevns(path: Path) -> bool:
    """Whether the regular file ``path`` carries cevns's mark (see :data:`MARK`)."""
    try:
        if not path.is_file() or path.stat().st_size > MARK_SEARCH_BYTES:
            return False
        return MARK in path.read_bytes()
    except OSError:
        return False


def check_output_file(path: Path, what: str, force: bool = False) -> None:
    """Refuse, before any computation, to write ``path`` (named by the user as ``what``, e.g. "--plot") through a
    symbolic link, or over an existing file that cevns did not write unless ``force``."""
    if path.is_symlink():
        raise CevnsInputError(f"{what} {str(path)!r} is a symbolic link: cevns does not write through links; give "
                              "the real file")
    if path.exists() and not path.is_file():
        raise CevnsInputError(f"{what} {str(path)!r} exists and is not a regular file")
    if path.exists() and not force and not written_by_cevns(path):
        raise CevnsInputError(f"{what} {str(path)!r} exists and was not written by cevns: choose another name, or "
                              "--force to replace it")


def check_docs_file(path: Optional[str | Path], force: bool = False) -> None:
    """Refuse, before any computation, a ``--docs FILE`` (the Markdown validation table) that is not ``.md``, lies
    in no folder, or would replace a file cevns did not write (unless ``force``)."""
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() != ".md":
        raise CevnsInputError(f"--docs {str(p)!r}: the validation table is Markdown; give a .md file, e.g. "
                              "docs/validation.md")
    if not p.resolve().parent.is_dir():
        raise CevnsInputError(f"--docs {str(p)!r}: folder {str(p.parent)!r} does not exist")
    check_output_file(p, "--docs", force)

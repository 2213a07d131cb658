"""Safe outputs: nothing of the user's is overwritten, moved or removed without ``--force`` (and nothing of the
user's is ever moved or removed, even with it), and a run is either complete or leaves the previous set in place.

An output folder (``reproduce --out DIR``, ``coverage --out DIR``):

* :class:`OutputLock` (a lock file ``.DIR.cevns-lock`` beside it, ``lockf``) is held for the whole run: a second
  run into the same folder is refused at once, so two runs can never mix their files.
* :func:`check_output_dir` runs *before* any computation: the folder must be writable (a read-only one is
  refused, not replaced), must not be a symbolic link, and may only hold files an earlier cevns run wrote
  (listed in its manifest, ``.cevns-manifest.json``) unless ``force``.
* :class:`StagedOutput` writes everything into a fresh temporary folder beside the target (marked as cevns's
  by a file ``.cevns-staging``), then puts it in place:

  - a new folder, or one that holds only cevns's files: swapped in with two renames (the old set is removed
    only after the new one is in place); the new folder gets the permissions, group and setgid bit of the
    old one;
  - a folder that also holds the user's files (with ``force``), or the working folder or one above it
    (``--out .``): the folder itself is kept (its permissions, group, setgid) and each new file is renamed
    into it; the files the previous manifest names and the new set does not are removed.  The user's files
    are never moved; one of the same name as an output is replaced (only with ``force``).

* :func:`recover` (run when a new set is about to be written, i.e. after every argument check and the
  computation) removes what a run killed outright (SIGKILL, power loss) left: temporary folders that carry
  the ``.cevns-staging`` mark and whose process is gone, and of a previous set moved aside
  (``.DIR.old-PID``) only the files its manifest names (or it puts the set back if the kill came between the
  two renames).  It never removes anything else.

A single file the user names (``--plot FILE``, ``--docs FILE``, the files of ``coverage --out``) counts as cevns's
only by a mark in its metadata or first line (:func:`written_by_cevns`); the bytes "cevns" elsewhere in the file
(a comment, a word of the text) do not make it cevns's.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO, List, Optional

from ._files import umask as _umask
from ._files import write_atomically
from .errors import CevnsInputError

MANIFEST = ".cevns-manifest.json"
#: the mark of a temporary folder of cevns's (everything in it is cevns's: nothing of the user's is moved there)
STAGING_MARK = ".cevns-staging"


def _manifest(outdir: Path) -> List[str]:
    try:
        data = json.loads((outdir / MANIFEST).read_text())
        return [str(x) for x in data.get("files", []) if "/" not in str(x) and str(x) not in ("", ".", "..")]
    except (OSError, ValueError, AttributeError, TypeError):
        return []


def _is_staging(p: Path) -> bool:
    """A temporary folder of cevns's: a real folder holding the staging mark."""
    return p.is_dir() and not p.is_symlink() and (p / STAGING_MARK).is_file()


def mark_staging(folder: Path) -> None:
    """Mark a temporary folder cevns made as its own (see :func:`recover`)."""
    (folder / STAGING_MARK).write_text(json.dumps({"written_by": "cevns", "pid": os.getpid()}) + "\n")


def foreign_files(outdir: Path) -> List[str]:
    """Entries of ``outdir`` that no cevns run wrote (not in its manifest)."""
    if not outdir.is_dir():
        return []
    mine = set(_manifest(outdir)) | {MANIFEST, LOCK_INSIDE}
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


def _remove_set(folder: Path) -> None:
    """Remove from ``folder`` the regular files its manifest names and the manifest, then the folder if that
    left it empty (anything else in it stays)."""
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            os.chmod(folder, stat.S_IMODE(folder.stat().st_mode) | stat.S_IRWXU)
        for name in _manifest(folder) + [MANIFEST]:
            p = folder / name
            if p.is_file() and not p.is_symlink():
                p.unlink()
        folder.rmdir()
    except OSError:
        pass


def recover(outdir: Path) -> None:
    """Undo what a run killed outright left (module docstring); nothing without cevns's mark is removed."""
    parent = outdir.resolve().parent
    if not parent.is_dir():
        return
    name = outdir.resolve().name
    for p in parent.glob(f".{glob.escape(name)}.*-*"):
        kind, _, rest = p.name[len(name) + 2:].partition("-")
        pid = rest.split("-")[0]
        if kind not in ("tmp", "old", "figures") or not pid.isdigit() or _alive(int(pid)) or p.is_symlink() \
                or not p.is_dir():
            continue
        if kind == "old":
            if not outdir.exists() and (p / MANIFEST).is_file():
                os.rename(p, outdir)
            else:
                _remove_set(p)
        elif _is_staging(p):
            shutil.rmtree(p, ignore_errors=True)


def is_writable(folder: Path) -> bool:
    """Whether ``folder`` may be written: by the permissions, and not marked read-only by its owner (a folder
    without the owner's write bit is refused even for root, who could write it)."""
    try:
        return os.access(folder, os.W_OK | os.X_OK) and bool(folder.stat().st_mode & stat.S_IWUSR)
    except OSError:
        return False


def _contains_cwd(outdir: Path) -> bool:
    """Whether ``outdir`` is the working folder or a folder above it."""
    try:
        cwd, out = Path.cwd().resolve(), outdir.resolve()
    except OSError:
        return False
    return cwd == out or out in cwd.parents


def check_output_dir(outdir: Path, force: bool = False, what: str = "output folder") -> None:
    """Refuse, before any computation, an output folder that cannot be written or holds files of the user's."""
    if outdir.is_symlink():
        raise CevnsInputError(f"{what} {str(outdir)!r} is a symbolic link: give the real folder")
    if outdir.exists() and not outdir.is_dir():
        raise CevnsInputError(f"{what} {str(outdir)!r} exists and is not a folder")
    if outdir.is_dir() and not is_writable(outdir):
        raise CevnsInputError(f"{what} {str(outdir)!r} is read-only: cevns does not change its permissions; "
                              "choose another --out")
    parent = outdir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=parent, prefix=".cevns-probe-", delete=True)
        probe.close()
    except OSError as e:
        raise CevnsInputError(f"cannot write next to {str(outdir)!r} (in {str(parent)!r}): {e.strerror or e}") from None
    other = foreign_files(outdir)
    if other and not force:
        shown = ", ".join(other[:4]) + (f" and {len(other) - 4} more" if len(other) > 4 else "")
        raise CevnsInputError(f"{what} {str(outdir)!r} holds files cevns did not write ({shown}): choose "
                              "another --out, or --force to write there (those files are kept, never moved)")


#: the lock file inside an output folder whose parent cannot be written (:func:`_lock_path`)
LOCK_INSIDE = ".cevns-lock"


def _lock_path(outdir: Path) -> Path:
    """The lock file of ``outdir``: ``.NAME.cevns-lock`` beside it, or :data:`LOCK_INSIDE` in it when it is an
    existing folder in a parent that cannot be written (e.g. a shared folder in a root-owned one); the choice
    depends only on the file system, so every run of the folder takes the same file."""
    out = outdir.resolve()
    if out.is_dir() and not os.access(out.parent, os.W_OK | os.X_OK):
        return out / LOCK_INSIDE
    return out.parent / f".{out.name}.cevns-lock"


class OutputLock:
    """One run at a time per output folder: an exclusive lock (POSIX ``lockf``: a forked child process does not
    inherit it, and it ends with the process) on ``.NAME.cevns-lock`` beside it, held from before the checks to
    the end of the run; a second run is refused at once (:class:`CevnsInputError`).  The lock file is removed on
    release (a stale one, left by a kill, holds no lock and is reused)."""

    def __init__(self, outdir: Path, what: str = "--out"):
        self.outdir = Path(outdir)
        self.what = what
        self.path = _lock_path(self.outdir)
        self._f: Optional[IO[str]] = None

    def __enter__(self) -> "OutputLock":
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise CevnsInputError(f"cannot make the folder of {self.what} {str(self.outdir)!r}: {e.strerror or e}") \
                from None
        if str(self.path) in _HELD:  # lockf locks belong to the process: this process's own runs are listed here
            raise self._busy(str(os.getpid()))
        for _ in range(20):
            try:
                f = open(self.path, "a+")
            except OSError as e:
                raise CevnsInputError(f"cannot write next to {str(self.outdir)!r}: {e.strerror or e}") from None
            try:
                fcntl.lockf(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                who = f.read().strip()[:20]
                f.close()
                raise self._busy(who) from None
            try:  # the file we locked must still be the one at the path (a releasing run unlinks it)
                same = os.stat(self.path).st_ino == os.fstat(f.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                f.seek(0)
                f.truncate()
                f.write(str(os.getpid()))
                f.flush()
                self._f = f
                _HELD.add(str(self.path))
                return self
            f.close()
        raise CevnsInputError(f"could not lock {self.what} {str(self.outdir)!r}")  # pragma: no cover

    def _busy(self, who: str) -> CevnsInputError:
        return CevnsInputError(f"{self.what} {str(self.outdir)!r} is being written by another cevns run"
                               f"{f' (pid {who})' if who.isdigit() else ''}: wait for it to end, or choose another "
                               "folder")

    def __exit__(self, *exc: object) -> None:
        if self._f is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            self._f.close()
            self._f = None
            _HELD.discard(str(self.path))


#: the lock files this process holds (:class:`OutputLock`)
_HELD: set = set()


class StagedOutput:
    """Write a set of outputs into a temporary folder, then put it in place for ``outdir`` (module docstring)."""

    def __init__(self, outdir: Path, force: bool = False):
        self.outdir = outdir
        self.force = force
        self.tmp: Optional[Path] = None

    def __enter__(self) -> Path:
        recover(self.outdir)
        parent = self.outdir.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{self.outdir.resolve().name}.tmp-{os.getpid()}-"))
        os.chmod(self.tmp, 0o777 & ~_umask())  # a folder as mkdir makes it (mkdtemp's is private, 0700)
        mark_staging(self.tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is None or not self.tmp.exists():
            return
        try:
            if exc_type is None:
                self._commit()
        finally:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None

    def _commit(self) -> None:
        assert self.tmp is not None
        written = sorted(p.name for p in self.tmp.iterdir() if p.name != STAGING_MARK)
        out = self.outdir
        if not out.exists():
            self._manifest(self.tmp, written)
            (self.tmp / STAGING_MARK).unlink()  # the mark stays until the last moment (recover() needs it)
            os.rename(self.tmp, out)
            self.tmp = None
            return
        if _contains_cwd(out) or foreign_files(out) or not self._same_folder_rights():
            self._commit_in_place(written)
            return
        self._manifest(self.tmp, written)
        old = out.resolve().parent / f".{out.resolve().name}.old-{os.getpid()}"
        os.rename(out, old)
        (self.tmp / STAGING_MARK).unlink()
        os.rename(self.tmp, out)
        self.tmp = None
        _remove_set(old)

    def _same_folder_rights(self) -> bool:
        """Give the staged folder the mode (setgid included) and group of the existing one; False if that is not
        possible (then the existing folder is kept and the files moved into it)."""
        assert self.tmp is not None
        st = self.outdir.stat()
        try:
            if self.tmp.stat().st_gid != st.st_gid:
                os.chown(self.tmp, -1, st.st_gid)
            os.chmod(self.tmp, stat.S_IMODE(st.st_mode))
            now = self.tmp.stat()
        except OSError:
            return False
        return now.st_gid == st.st_gid and stat.S_IMODE(now.st_mode) == stat.S_IMODE(st.st_mode)

    def _commit_in_place(self, written: List[str]) -> None:
        """Rename each new file into the existing folder (which stays, with its rights and the user's files)."""
        assert self.tmp is not None
        out = self.outdir
        theirs = set(foreign_files(out))
        clash = [n for n in written if (out / n).exists() and ((out / n).is_dir() and not (out / n).is_symlink()
                                                                 or (n in theirs and not self.force))]
        if clash:
            raise CevnsInputError(f"output folder {str(out)!r}: {', '.join(clash[:4])} appeared there during the run "
                                  "(or is a folder); nothing was written")
        if os.stat(out).st_dev != os.stat(self.tmp).st_dev:
            raise CevnsInputError(f"output folder {str(out)!r} is on another file system than its parent; "
                                  "choose another --out")
        before = [n for n in _manifest(out) if n not in theirs]
        self._manifest(out, sorted(set(before) | set(written)))  # a kill from here on leaves only listed files
        for n in written:
            os.replace(self.tmp / n, out / n)
        for n in before:
            p = out / n
            if n not in written and p.is_file() and not p.is_symlink():
                p.unlink()
        self._manifest(out, written)

    @staticmethod
    def _manifest(folder: Path, files: List[str]) -> None:
        write_atomically(folder / MANIFEST, json.dumps({"written_by": "cevns", "files": files}, indent=1))


# --- single files the user names (--plot FILE, --docs FILE, the files of `coverage --out DIR`) -----------------
#: the first line of a Markdown file cevns writes (``--docs``) starts with this
MARKDOWN_MARK = "<!-- written by `cevns"
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


def _png_software(data: bytes) -> Optional[str]:
    """The value of the PNG text chunk "Software" (None if the file is no PNG or has none)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    i = 8
    while i + 8 <= len(data):
        n = int.from_bytes(data[i:i + 4], "big")
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
        if kind == b"tEXt" and body.startswith(b"Software\x00"):
            return body[len(b"Software\x00"):].decode("latin-1")
        if kind == b"IEND":
            return None
        i += 12 + n
    return None


def _marked(data: bytes, fmt: str) -> bool:
    """Whether ``data`` (a file of format ``fmt``, by its suffix) carries cevns's mark where cevns puts it."""
    if fmt == "png":
        return (_png_software(data) or "").startswith("cevns ")
    if fmt == "pdf":  # the document information dictionary: /Creator (cevns ...)
        return data.startswith(b"%PDF") and re.search(rb"/Creator\s*\(cevns ", data) is not None
    if fmt in ("ps", "eps"):  # the DSC header comments
        head = data[:4096].decode("latin-1").splitlines()[:30]
        return bool(head) and head[0].startswith("%!PS") and any(ln.startswith("%%Creator: cevns ") for ln in head)
    if fmt == "svg":  # the RDF metadata, outside XML comments
        text = re.sub(r"<!--.*?-->", "", data[:1 << 20].decode("utf-8", "replace"), flags=re.S)
        return re.search(r"<metadata>.*?<dc:creator>\s*<cc:Agent>\s*<dc:title>cevns ", text, flags=re.S) is not None
    if fmt == "md":
        return data.split(b"\n", 1)[0].decode("utf-8", "replace").startswith(MARKDOWN_MARK)
    if fmt == "json":
        try:
            obj = json.loads(data.decode("utf-8"))
        except ValueError:
            return False
        return isinstance(obj, dict) and str(obj.get("format", "")).startswith("cevns-result/")
    return False


def written_by_cevns(path: Path) -> bool:
    """Whether the regular file ``path`` carries cevns's mark: the "Software" text of a PNG, the "Creator" of a
    PDF's information dictionary, a PS/EPS header or an SVG's metadata, the "format" of a JSON result
    (``cevns-result/1``) or the first line of a Markdown file (:data:`MARKDOWN_MARK`).  Other formats (jpg, tif)
    carry no mark: an existing file of theirs is replaced only with ``--force``."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MARK_SEARCH_BYTES:
            return False
        return _marked(path.read_bytes(), path.suffix[1:].lower())
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

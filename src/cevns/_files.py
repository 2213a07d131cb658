"""Files in and out.

Reading a user's text file (experiment TOML, data CSV) with a size cap and one clear error for every way
it can be wrong: missing, a folder, too large (also ``/dev/zero`` and other endless devices: at most
``limit + 1`` bytes are read), binary (NUL bytes) or not UTF-8.

Writing any file of cevns's (:func:`write_atomically`, the one helper for it): through a temporary file beside
the target and a rename, so that a kill never leaves half a file under the final name and a symbolic link
is never written through.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Callable, List, Tuple, Union

from .errors import CevnsInputError

#: the largest text file read (experiment files, data tables, determinations): 10 MB
MAX_FILE_BYTES = 10_000_000


def umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_atomically(path: Union[str, Path], content: Union[str, bytes, Callable[[str], None]]) -> None:
    """Write ``path`` through a temporary file in its folder and a rename.  ``content``: text (UTF-8), bytes, or
    a function that writes the temporary file given its name (e.g. ``lambda f: fig.savefig(f, format="png")``;
    the temporary name keeps the suffix of ``path``).  The file gets the permissions ``open`` would give it
    (0666 less the umask); a symbolic link at ``path`` is refused, never written through; on any error or
    interrupt the temporary file is removed and ``path`` is left as it was."""
    from .errors import CevnsInputError

    p = Path(path)
    if p.is_symlink():
        raise CevnsInputError(f"{str(p)!r} is a symbolic link: cevns does not write through links")
    fd, tmp = tempfile.mkstemp(dir=p.resolve().parent, prefix=f".{p.name}.tmp-{os.getpid()}-", suffix=p.suffix)
    try:
        if callable(content):
            os.close(fd)
            content(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.chmod(tmp, 0o666 & ~umask())  # as open() makes it (mkstemp's is private, 0600)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text_file(path: str | Path, what: str = "file", limit: int = MAX_FILE_BYTES) -> str:
    """The text of ``path`` (UTF-8, an optional byte-order mark dropped), else :class:`CevnsInputError`
    naming ``what`` (e.g. "data file") and the problem."""
    p = Path(path)
    if not p.exists():
        raise CevnsInputError(f"{what} {str(p)!r} not found")
    if p.is_dir():
        raise CevnsInputError(f"{what} {str(p)!r} is a folder, not a file")
    try:
        with open(p, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise CevnsInputError(f"{what} {str(p)!r} cannot be read: {e.strerror or e}") from None
    if len(data) > limit:
        raise CevnsInputError(f"{what} {p.name} is larger than {limit / 1e6:g} MB (the limit for a text input)")
    if b"\x00" in data:
        raise CevnsInputError(f"{what} {p.name} is not a text file (it holds NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise CevnsInputError(f"{what} {p.name} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line}); "
                              "save it as UTF-8") from None


def data_table(text: str, name: str, max_rows: int, rows: str = "rows") -> Tuple[List[str], List[Tuple[int, List[str]]]]:
    """:func:`csv_table` of a data file's text (``name``, e.g. "data file x.csv"), which must hold a header and from
    one to ``max_rows`` rows (named ``rows`` in the message, e.g. "bins")."""
    n_body = sum(1 for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#"))
    if n_body < 2:
        raise CevnsInputError(f"{name}: needs a header and at least one row")
    if n_body > max_rows + 1:
        raise CevnsInputError(f"{name}: more than {max_rows} {rows}")
    return csv_table(text, name)


def is_number(cell: str) -> bool:
    """Whether ``float(cell)`` reads the cell of a table."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def csv_table(text: str, name: str) -> Tuple[List[str], List[Tuple[int, List[str]]]]:
    """The header (cells stripped) and the rows (line number, cells) of a CSV text; blank lines and ``#``
    comment lines are skipped.  A header that names a column twice, or a row with more or fewer cells than the
    header (empty trailing cells aside, as a spreadsheet may write them), is a :class:`CevnsInputError` naming
    the line or column (``name``: the file, e.g. "data file excess.csv")."""
    body = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.lstrip().startswith("#")]
    if not body:
        return [], []
    header = [h.strip() for h in next(csv.reader([body[0][1]]))]
    seen = set()
    for h in header:
        if h and h in seen:
            raise CevnsInputError(f"{name}, line {body[0][0]}: the header names column {h!r} twice")
        seen.add(h)
    while header and not header[-1]:
        header.pop()
    rows = []
    for lineno, ln in body[1:]:
        cells = [c.strip() for c in next(csv.reader([ln]), [])]
        while len(cells) > len(header) and not cells[-1]:
            cells.pop()
        if len(cells) != len(header):
            raise CevnsInputError(f"{name}, line {lineno}: {len(cells)} cells, but the header names "
                                  f"{len(header)} columns ({', '.join(header)})"[:300])
        rows.append((lineno, cells))
    return header, rows

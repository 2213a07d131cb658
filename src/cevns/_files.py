"""Reading a user's text file (experiment TOML, data CSV) with a size cap and one clear error for every way
it can be wrong: missing, a folder, too large (also ``/dev/zero`` and other endless devices: at most
``limit + 1`` bytes are read), binary (NUL bytes) or not UTF-8."""

from __future__ import annotations

from pathlib import Path

from .errors import CevnsInputError

#: the largest text file read (experiment files, data tables, determinations): 10 MB
MAX_FILE_BYTES = 10_000_000


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

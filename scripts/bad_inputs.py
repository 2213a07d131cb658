"""Bad inputs tried on the command line, and the table of what each one got (docs/reliability.md).

    python scripts/bad_inputs.py            run every case, write the table into docs/reliability.md
    python scripts/bad_inputs.py --check    also exit 1 if a case gave a traceback, exit 0 with NaN/inf,
                                            or an exit status other than the one expected (2)
    python scripts/bad_inputs.py --no-write --only toml-empty,cli-k-2     a few cases, table not written

Every case is a real subprocess ``python -m cevns ...`` with this interpreter and this checkout's ``src``
first on ``PYTHONPATH``, in a temporary folder holding the files the case needs.  Those files are made
here from the packaged experiment files (``src/cevns/data/experiments``: CONUS+ and COHERENT), never from
anywhere else.  Each child runs under a memory limit (``RLIMIT_AS``, 2 GB) and a time limit (120 s), so a
case that would exhaust memory (``/dev/zero`` as an experiment file) ends as a failure, not a stuck machine.

For each case the table records the input, the exit status, the message (the line of stderr holding
``error:``, else its first line) and whether a traceback appeared.  The table sits between the markers
``<!-- bad-inputs:begin -->`` and ``<!-- bad-inputs:end -->`` of docs/reliability.md; paths of the temporary
folder are written as ``DIR`` so that the table does not change from run to run.

Cases marked ``area="schema"`` are bad experiment files whose clean error belongs to the declared
experiment schema (issue 13, part 1).  Until the command line has a ``schema`` command, ``--check`` lists
their failures as "left for the schema" without failing on them; once it has one (or with ``--strict``)
they count like every other case.  So after the schema lands, re-running this script is all that is
needed to regenerate the table and to hold the schema to every case here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
DATA = SRC / "cevns" / "data" / "experiments"
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- bad-inputs:begin -->", "<!-- bad-inputs:end -->"
TIMEOUT_S = 120.0
MEMORY_LIMIT = 2 * 1024**3
CONUS, CSI, LAR = "conus_plus_2025.toml", "coherent_csi_2021.toml", "coherent_lar_2020.toml"
CONUS_CSV = "conus_plus_2025_excess.csv"

Content = Callable[[], bytes]


@dataclass
class Case:
    """One bad input: ``argv`` after ``python -m cevns`` (``{d}`` is the case's temporary folder), the files to
    make there (name -> bytes, made when the case runs) and the exit status expected (None: 0 with finite
    output or 2 are both fine)."""

    key: str
    group: str
    what: str
    argv: List[str]
    files: Dict[str, Content] = field(default_factory=dict)
    expect: Optional[int] = 2
    area: str = ""  #: "schema": the clean error belongs to the experiment-file schema (module docstring)
    #: files of the user's in the case folder that must come out of the run byte for byte as they went in
    keep: Tuple[str, ...] = ()
    #: a TCP server on 127.0.0.1 during the run, its port as ``{port}`` in argv: "silent" (accepts, never answers),
    #: "ssh" or "http" (answers at once as such a service would), "closed" (a port nothing listens on)
    server: str = ""
    #: run in the case folder after its files are made (e.g. a chmod, a lock held); returns a clean-up or None
    setup: Optional[Callable[[Path], Optional[Callable[[], None]]]] = None
    cwd: str = ""  #: the working folder of the run, relative to the case folder (default: the case folder)


@dataclass
class Outcome:
    case: Case
    status: Optional[int]  #: None: killed by the time limit
    message: str
    traceback: bool
    nonfinite: bool
    seconds: float
    stderr: str = ""
    lost: List[str] = field(default_factory=list)  #: files of the user's changed, moved or removed by the run

    @property
    def problems(self) -> List[str]:
        out = []
        if self.traceback:
            out.append("traceback")
        if self.status is None:
            out.append(f"no answer within {TIMEOUT_S:g} s")
        if self.status == 0 and self.nonfinite:
            out.append("NaN/inf with exit 0")
        if self.case.expect is not None and self.status is not None and self.status != self.case.expect:
            out.append(f"exit {self.status}, expected {self.case.expect}")
        if self.case.expect is None and self.status not in (0, 2, None):
            out.append(f"exit {self.status}")
        if self.lost:
            out.append("the user's " + ", ".join(self.lost) + " changed or gone")
        return out


# --- files, made from the packaged experiments -------------------------------------------------------------------

def packaged(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _header(line: str) -> str:
    """A line without its comment, stripped (``[section]`` headers carry comments in the packaged files)."""
    return line.split("#", 1)[0].strip()


def slug(text: str) -> str:
    t = text.lower().replace("-", "minus").replace('"', "").replace("%", "pct")
    return re.sub(r"[^a-z0-9]+", "-", t).strip("-") or "x"


def set_key(text: str, key: str, value: str, section: Optional[str] = None) -> str:
    """``key = value`` (value in TOML) in place of the first ``key = ...`` line after ``[section]`` (or
    anywhere); an error if there is none, so a change of the packaged file cannot turn a case into a no-op."""
    lines = text.splitlines()
    start, stop = 0, len(lines)
    if section is not None:
        heads = [i for i, ln in enumerate(lines) if _header(ln) in (f"[{section}]", f"[[{section}]]")]
        if not heads:
            raise KeyError(f"no section [{section}]")
        start = heads[0] + 1
        stop = next((i for i in range(start, stop) if re.match(r"\s*\[", lines[i])), stop)
    for i in range(start, stop):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
            lines[i] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    raise KeyError(f"no key {key!r} in [{section}]")


def drop_key(text: str, key: str, section: Optional[str] = None) -> str:
    return "\n".join(ln for ln in set_key(text, key, "@DROP@", section).splitlines() if ln != f"{key} = @DROP@") + "\n"


def add_line(text: str, section: str, line: str) -> str:
    """Insert ``line`` right after the header of ``[section]`` (first one)."""
    lines = text.splitlines()
    for i, ln in enumerate(lines):
        if _header(ln) in (f"[{section}]", f"[[{section}]]"):
            return "\n".join(lines[:i + 1] + [line] + lines[i + 1:]) + "\n"
    raise KeyError(f"no section [{section}]")


def drop_section(text: str, section: str) -> str:
    """Remove every ``[section]`` / ``[[section]]`` block (header to the next header)."""
    out, skip = [], False
    for ln in text.splitlines():
        s = _header(ln)
        if re.match(r"\[\[?[A-Za-z_]", s):
            skip = s in (f"[{section}]", f"[[{section}]]")
        if not skip:
            out.append(ln)
    return "\n".join(out) + "\n"


def conus(*edits: Callable[[str], str], name: str = "exp.toml") -> Dict[str, Content]:
    """A CONUS+ experiment file with ``edits`` applied, beside a copy of its data file."""
    def make() -> bytes:
        text = packaged(CONUS)
        for e in edits:
            text = e(text)
        return text.encode()
    return {name: make, CONUS_CSV: lambda: (DATA / CONUS_CSV).read_bytes()}


def coherent(which: str, *edits: Callable[[str], str]) -> Dict[str, Content]:
    """A COHERENT experiment file (CSI or LAR) with ``edits`` applied, beside copies of its data files."""
    return packaged_set(which, *edits)


def edit(key: str, value: str, section: Optional[str] = None) -> Callable[[str], str]:
    return lambda t: set_key(t, key, value, section)


def conus_data(make_csv: Callable[[List[str]], str]) -> Dict[str, Content]:
    """CONUS+ with its data file replaced by ``make_csv(lines of the packaged CSV)``."""
    files = conus(edit("file", '"data.csv"', "data"))
    files["data.csv"] = lambda: make_csv((DATA / CONUS_CSV).read_text(encoding="utf-8").splitlines()).encode("utf-8")
    return files


def csv_rows(lines: List[str]) -> Tuple[List[str], str, List[str]]:
    """(comment lines, header, data rows) of a CSV."""
    comments = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    return comments, body[0], body[1:]


def with_rows(f: Callable[[List[str]], List[str]]) -> Callable[[List[str]], str]:
    def make(lines: List[str]) -> str:
        comments, header, rows = csv_rows(lines)
        return "\n".join(comments + [header] + f(rows)) + "\n"
    return make


def set_cell(row: int, col: int, value: str) -> Callable[[List[str]], List[str]]:
    def f(rows: List[str]) -> List[str]:
        cells = rows[row].split(",")
        cells[col] = value
        return rows[:row] + [",".join(cells)] + rows[row + 1:]
    return f


def many_bins(n: int) -> Callable[[List[str]], str]:
    def make(lines: List[str]) -> str:
        _, header, _ = csv_rows(lines)
        return header + "\n" + "".join(f"{160 + i},{161 + i},1.0,1.0\n" for i in range(n))
    return make


def padded(text_file: str, megabytes: int) -> Content:
    """The packaged file followed by ``megabytes`` MB of comment lines (valid, just huge)."""
    def make() -> bytes:
        line = b"# " + b"x" * 97 + b"\n"
        return (DATA / text_file).read_bytes() + line * (megabytes * 10_000)
    return make


def lar_events(make_csv: Callable[[List[str]], str]) -> Dict[str, Content]:
    """COHERENT CsI with its event list (the data) replaced by ``make_csv(lines of the packaged one)``."""
    files = coherent(CSI, edit("file", '"events.csv"', "data"))
    files["events.csv"] = lambda: make_csv(
        (DATA / "coherent_csi_2021_coincidence.csv").read_text(encoding="utf-8").splitlines()).encode("utf-8")
    return files


#: cases whose clean error belongs in src/cevns/experiments.py (reading and checking experiment and data
#: files, Experiment.replace), which the declared experiment schema replaces (module docstring)
SCHEMA_CASES = {
    "toml-latin1", "toml-binary", "toml-dev-zero", "toml-huge", "toml-misspelled-sigma-alpha", "toml-misspelled-exposure",
    "toml-unknown-reactor-key", "toml-thermal_power_GW-3-6", "toml-k-0-162", "toml-normalisation_mass_kg-0",
    "toml-normalisation_mass_kg-x", "toml-file-42", "toml-file-dev-zero", "csv-header-only", "csv-latin1",
    "csv-binary", "csv-huge", "cli-predict-input-thresholds_evee=100", "cli-predict-input-thresholds_evee=-c2-low",
    "cli-predict-input-efficiency=-c2-1",
}
#: cases that are not errors (a valid input that once failed, or a legitimate extreme): exit 0 with finite
#: output is as good as exit 2
MAY_SUCCEED = {
    "toml-abundances-documented", "toml-sigma0_eV-1eminus300", "cli-predict-k-2", "cli-fit-param-mu_nu-cl-0.9999999999999999",
    "cli-exclusion-model-scalar-cl-0.9999999",
    # EvES in CsI exists since the physics merge (Cs and I binding): an EvES-only fit of CsI is a valid input now
    "cli-fit-coherent-csi-2021-param-mu_nu-channels-eves",
    # --force into a folder that does not exist yet is an ordinary run
    "rq-reproduce-quenching-force",
}

POINTS_HEADER = "label,Q_GeV,value,err_plus,err_minus,scheme,reference\n"


# --- the cases ---------------------------------------------------------------------------------------------------

def coherent_meaning_cases(add: Callable[..., None], E: List[str]) -> None:
    """COHERENT files whose values parse but mean something wrong (issue 26, item 2): each must be refused."""
    T = "COHERENT inputs"
    csi_events = "coherent_csi_2021_coincidence.csv"
    lar_table = "coherent_lar_2020_pdfs.csv"

    def with_csv(which: str, name: str, change: Callable[[List[str]], List[str]]) -> Dict[str, Content]:
        files = coherent(which)

        def make() -> bytes:
            head, header, rows = csv_rows((DATA / name).read_text(encoding="utf-8").splitlines())
            return ("\n".join(head + [header] + change(rows)) + "\n").encode()
        files[name] = make
        return files

    def times_x1000(rows: List[str]) -> List[str]:
        return [f"{r.split(',')[0]},{float(r.split(',')[1]) * 1000:g}" for r in rows]

    def first_cell(value: str) -> Callable[[List[str]], List[str]]:
        return lambda rows: [rows[0].replace(",32,", f",{value},", 1)] + rows[1:]

    add("csi-times-in-ns", T, "COHERENT CsI: event times in ns read as us (x 1000)", E,
        with_csv(CSI, csi_events, times_x1000))
    add("csi-events-twice", T, "COHERENT CsI: every event listed twice", E, with_csv(CSI, csi_events, lambda r: r + r))
    add("csi-no-time-bins", T, "COHERENT CsI: `time_edges_us` removed (events have times)", E,
        coherent(CSI, lambda t: drop_key(t, "time_edges_us", "detector")))
    add("csi-time-bins-past-data", T, "COHERENT CsI: time bins to 30 us (the data end near 12 us)", E,
        coherent(CSI, edit("time_edges_us", "[0, 0.25, 0.5, 0.75, 1, 2, 4, 6, 20, 30]", "detector")))
    add("csi-qf-above-1", T, "COHERENT CsI: quenching coefficients x 100 (quenching factor above 1)", E,
        coherent(CSI, edit("coefficients", "[5.54628, 430.681, -11170.7, 84038.4]", "quenching")))
    add("csi-efficiency-above-1", T, "COHERENT CsI: logistic efficiency reaching 1.62 (d = 0.3)", E,
        coherent(CSI, edit("efficiency", '{ kind = "logistic", a = 1.32045, b = 0.285979, c = 10.8646, d = 0.3 }',
                           "detector")))
    add("csi-light-yield-alone", T, "COHERENT CsI: `light_yield = 20` without changing the spread", E,
        coherent(CSI, edit("light_yield", "20.0", "detector")))
    add("csi-nuisance-twice", T, "COHERENT CsI: two backgrounds named alike", E,
        coherent(CSI, lambda t: t.replace('name = "neutrino-induced neutrons"', 'name = "beam-related neutrons"', 1)))
    add("lar-negative-count", T, "COHERENT LAr: a count of -3 in the data table", E,
        with_csv(LAR, lar_table, first_cell("-3")))
    add("lar-fractional-count", T, "COHERENT LAr: a count of 32.5 in the data table", E,
        with_csv(LAR, lar_table, first_cell("32.5")))
    add("lar-row-twice", T, "COHERENT LAr: a table row repeated", E, with_csv(LAR, lar_table, lambda r: r + r[:1]))
    add("lar-cell-missing", T, "COHERENT LAr: a table cell missing", E, with_csv(LAR, lar_table, lambda r: r[1:]))


# --- the paths added with XENONnT 8B, Dresden-II, neutron radii and reproduce quenching ---------------------------

XENON, DRESDEN = "xenonnt_8b_2026.toml", "dresden_ii_2022.toml"


def packaged_set(which: str, *edits: Callable[[str], str], csv: Optional[Dict[str, Callable[[List[str]], List[str]]]]
                 = None) -> Dict[str, Content]:
    """The packaged experiment ``which`` (XENON or DRESDEN) as exp.toml with ``edits`` applied, beside copies of its
    data files (those sharing its stem); ``csv`` maps a data file's name to a change of its data rows (a ``.gz``
    file is read and written compressed)."""
    import gzip

    stem = which[:-len(".toml")]

    def make() -> bytes:
        text = packaged(which)
        for e in edits:
            text = e(text)
        return text.encode()
    files: Dict[str, Content] = {"exp.toml": make}
    for p in DATA.glob(stem + "_*"):
        files[p.name] = (lambda q=p: q.read_bytes())
    for name, change in (csv or {}).items():
        def make_csv(name: str = name, change: Callable[[List[str]], List[str]] = change) -> bytes:
            raw = (DATA / name).read_bytes()
            gz = name.endswith(".gz")
            head, header, rows = csv_rows((gzip.decompress(raw) if gz else raw).decode("utf-8").splitlines())
            out = ("\n".join(head + [header] + change(rows)) + "\n").encode()
            return gzip.compress(out, mtime=0) if gz else out
        files[name] = make_csv
    return files


def cell(row: int, col: int, value: str) -> Callable[[List[str]], List[str]]:
    return set_cell(row, col, value)


def drop_column(col: int) -> Callable[[List[str]], str]:
    """A CSV without its column ``col`` (header and rows)."""
    def make(lines: List[str]) -> str:
        return "\n".join(ln if ln.startswith("#") else ",".join(c for i, c in enumerate(ln.split(",")) if i != col)
                         for ln in lines) + "\n"
    return make


def new_path_cases(add: Callable[..., None], E: List[str]) -> None:
    """XENONnT 8B (templates), Dresden-II (chi^2 with a background model), neutron radii, reproduce quenching."""
    X = "XENONnT 8B file"
    bins, runs, mono, neut = ("xenonnt_8b_2026_bins.csv", "xenonnt_8b_2026_runs.csv", "xenonnt_8b_2026_mono.csv.gz",
                              "xenonnt_8b_2026_neutron.csv")
    for key, val, sec in [("kind", '"solar-7be"', "source"), ("kind", '["solar-8b"]', "source"),
                          ("kind", "{ a = 1 }", "source"), ("flux_cm2_s", "-5.25e6", "source"),
                          ("flux_cm2_s", "0", "source"), ("flux_cm2_s", "nan", "source"),
                          ("flux_cm2_s", "inf", "source"), ("flux_cm2_s", "1e308", "source"),
                          ("flux_cm2_s", '"5.25e6"', "source"), ("p_ee", "1.5", "source"), ("p_ee", "-0.1", "source"),
                          ("p_ee", "nan", "source"), ("mu_fraction", "2", "source"), ("mu_fraction", "-1", "source"),
                          ("model", '"release-template"', "quenching"), ("model", '["release-templates"]', "quenching"),
                          ("model", '"lindhard"', "quenching"),
                          ("element", '"Ge"', "target"), ("form_factor", '"gauss"', "target"),
                          ("runs", "[]", "templates"), ("runs", '["sr0", "sr9"]', "templates"),
                          ("runs", '["sr0", "sr0"]', "templates"), ("runs", '"sr0"', "templates"),
                          ("runs", "[0, 1]", "templates"),
                          ("energy_step_keV", "0", "templates"), ("energy_step_keV", "-0.1", "templates"),
                          ("energy_step_keV", "nan", "templates"), ("energy_step_keV", "7", "templates"),
                          ("year_days", "0", "templates"), ("year_days", "365.25e300", "templates"),
                          ("ac_sigma", "-0.05", "templates"), ("er_sigma", "nan", "templates"),
                          ("neutron_sigma", "inf", "templates"), ("neutron_sigma", '"half"', "templates"),
                          ("efficiency_file", '"nope.csv.gz"', "templates"), ("efficiency_file", "3", "templates"),
                          ("bins_file", '"."', "templates"), ("runs_file", '"/dev/zero"', "templates"),
                          ("kind", '"template"', "likelihood"), ("kind", '["templates"]', "likelihood"),
                          ("signal_sigma", "-0.038", "likelihood"), ("signal_sigma", "nan", "likelihood")]:
        add(f"xe-{key}-{slug(val)}" + ("-list" if val.startswith("[") else ""), X, f"XENONnT 8B: `{key} = {val}` in `[{sec}]`", E,
            packaged_set(XENON, edit(key, val, sec)))
    add("xe-unknown-templates-key", X, "XENONnT 8B: unknown key `energy_stp_keV = 0.1` in `[templates]`", E,
        packaged_set(XENON, lambda t: add_line(t, "templates", "energy_stp_keV = 0.1")))
    add("xe-unknown-source-key", X, "XENONnT 8B: unknown key `flux = 5e6` in `[source]`", E,
        packaged_set(XENON, lambda t: add_line(t, "source", "flux = 5e6")))
    add("xe-no-templates", X, "XENONnT 8B: section `[templates]` missing", E,
        packaged_set(XENON, lambda t: drop_section(t, "templates")))
    add("xe-no-likelihood", X, "XENONnT 8B: section `[likelihood]` missing", E,
        packaged_set(XENON, lambda t: drop_section(t, "likelihood")))
    add("xe-templates-with-chi2", X, 'XENONnT 8B: `[likelihood] kind = "chi2-background"` with templates', E,
        packaged_set(XENON, edit("kind", '"chi2-background"', "likelihood")))
    # data files
    def csv(name: str, change: Any) -> Dict[str, Content]:  # the packaged XENONnT files, one data file changed
        return packaged_set(XENON, csv={name: change})

    for key, what, files in [
            ("xe-bins-negative-ac", "bins: an AC template cell of -0.08", csv(bins, cell(0, 7, "-0.08"))),
            ("xe-bins-nan-er", "bins: an ER template cell `nan`", csv(bins, cell(3, 8, "nan"))),
            ("xe-bins-huge-ac", "bins: an AC template cell of 1e300", csv(bins, cell(5, 7, "1e300"))),
            ("xe-bins-inf-ac", "bins: an AC template cell `inf`", csv(bins, cell(5, 7, "inf"))),
            ("xe-bins-negative-count", "bins: an observed count of -1", csv(bins, cell(0, 6, "-1"))),
            ("xe-bins-fractional-count", "bins: an observed count of 0.5", csv(bins, cell(0, 6, "0.5"))),
            ("xe-bins-row-twice", "bins: a row repeated", csv(bins, lambda r: r[:1] + r)),
            ("xe-bins-row-missing", "bins: a row missing", csv(bins, lambda r: r[1:])),
            ("xe-bins-empty", "bins: only a header", csv(bins, lambda r: [])),
            ("xe-bins-unknown-run", "bins: a row of run `sr7`", csv(bins, lambda r: r + ["sr7" + r[0][3:]])),
            ("xe-bins-no-observed", "bins: column `observed` missing",
             {**packaged_set(XENON), bins: lambda: drop_column(6)((DATA / bins).read_text(encoding="utf-8")
                                                          .splitlines()).encode()}),
            ("xe-runs-negative-exposure", "runs: exposure -1.17 t yr", csv(runs, cell(0, 1, "-1.174398"))),
            ("xe-runs-zero-exposure", "runs: exposure 0", csv(runs, cell(0, 1, "0"))),
            ("xe-runs-nan-exposure", "runs: exposure `nan`", csv(runs, cell(1, 1, "nan"))),
            ("xe-runs-events-disagree", "runs: `events = 99` for sr0 (the bins hold 9)", csv(runs, cell(0, 2, "99"))),
            ("xe-runs-run-twice", "runs: run sr0 listed twice", csv(runs, lambda r: r + r[:1])),
            ("xe-runs-run-missing", "runs: run sr2 missing (still in `runs`)", csv(runs, lambda r: r[:2])),
            ("xe-mono-negative", "efficiencies: a template cell of -0.5", csv(mono, cell(10, 10, "-0.5"))),
            ("xe-mono-nan", "efficiencies: a template cell `nan`", csv(mono, cell(10, 10, "nan"))),
            ("xe-mono-above-1", "efficiencies: a cell of 7 (an efficiency above 1)", csv(mono, cell(10, 10, "7"))),
            ("xe-mono-row-missing", "efficiencies: a row missing", csv(mono, lambda r: r[1:])),
            ("xe-mono-row-twice", "efficiencies: a row repeated", csv(mono, lambda r: r[:1] + r)),
            ("xe-neutron-negative", "neutron template: a cell of -1", csv(neut, cell(0, 5, "-1"))),
            ("xe-neutron-inf", "neutron template: a cell `inf`", csv(neut, cell(0, 5, "inf"))),
            ("xe-neutron-row-twice", "neutron template: a row repeated", csv(neut, lambda r: r[:1] + r)),
    ]:
        add(key, X, f"XENONnT 8B {what}", E, files)
    XE = ["xenonnt-8b-2026"]
    for argv in (["predict", *XE, "--input", "runs=[]"], ["predict", *XE, "--input", 'runs=["sr9"]'],
                 ["predict", *XE, "--input", 'runs=["sr0","sr0"]'], ["predict", *XE, "--input", "runs=sr0"],
                 ["predict", *XE, "--input", "runs=3"], ["predict", *XE, "--input", "p_ee=2"],
                 ["predict", *XE, "--input", "p_ee=nan"], ["predict", *XE, "--input", "flux_cm2_s=-1"],
                 ["predict", *XE, "--input", "flux_cm2_s=0"], ["predict", *XE, "--input", "flux_cm2_s=inf"],
                 ["predict", *XE, "--input", "mu_fraction=1.5"], ["predict", *XE, "--input", "er_sigma=-1"],
                 ["predict", *XE, "--input", "signal_sigma=nan"], ["predict", *XE, "--input", "k=0.2"],
                 ["predict", *XE, "--input", "quenching=fef"], ["predict", *XE, "--input", "thermal_power_GW=3"],
                 ["predict", *XE, "--exposure", "5"], ["fit", *XE, "--param", "rn_Cs"],
                 ["fit", *XE, "--param", "rn_Xe", "--fix", "rn_Xe=-3"]):
        _cli(add, "xe-cli-", X, argv)

    D = "Dresden-II file"
    for key, val, sec in [("model", '"FEF"', "quenching"), ("model", '["fef"]', "quenching"),
                          ("model", "3", "quenching"), ("model", '"release-templates"', "quenching"),
                          ("kind", '"chi2-bkg"', "likelihood"), ("kind", '{ x = 1 }', "likelihood"),
                          ("edges_unit", '"MeV"', "data"), ("edges_unit", '"eVee"', "data"),
                          ("edges_unit", '["keVee"]', "data"),
                          ("total_kg_day", "-2.924", "exposure"), ("total_kg_day", "nan", "exposure"),
                          ("constant", '"yes"', "background_model"), ("exponential_keV", "0", "background_model"),
                          ("exponential_keV", "-0.24", "background_model"),
                          ("exponential_keV", "nan", "background_model"), ("exponential_order", "-1", "background_model"),
                          ("exponential_order", "1.5", "background_model"),
                          ("exponential_order", "100", "background_model"),
                          ("sigma_keV", "0", "background_model.peaks"), ("sigma_keV", "-0.07", "background_model.peaks"),
                          ("sigma_keV", "nan", "background_model.peaks"), ("energy_keV", "inf", "background_model.peaks"),
                          ("energy_keV", "-1.29", "background_model.peaks"),
                          ("energy_keV", "50", "background_model.peaks"), ("name", "7", "background_model.peaks"),
                          ("shift", '"yes"', "background_model.peaks"),
                          ("group", '"Q"', "background_model.priors"), ("relative_to", '"Z"', "background_model.priors"),
                          ("ratio", "-0.16", "background_model.priors"), ("ratio", "nan", "background_model.priors"),
                          ("sigma", "0", "background_model.priors"), ("sigma", "-0.03", "background_model.priors"),
                          ("sigma0_eV", "0", "resolution"), ("fano", "nan", "resolution")]:
        add(f"dr-{key}-{slug(val)}-{slug(sec)}" + ("-list" if val.startswith("[") else ""), D,
            f"Dresden-II: `{key} = {val}` in `[{sec}]`", E,
            packaged_set(DRESDEN, edit(key, val, sec)))
    add("dr-peak-unknown-key", D, "Dresden-II: unknown key `widht_keV = 0.07` in a peak", E,
        packaged_set(DRESDEN, lambda t: add_line(t, "background_model.peaks", "widht_keV = 0.07")))
    add("dr-background-unknown-key", D, "Dresden-II: unknown key `exponetial_keV = 0.2` in `[background_model]`", E,
        packaged_set(DRESDEN, lambda t: add_line(t, "background_model", "exponetial_keV = 0.2")))
    add("dr-peaks-same-name", D, "Dresden-II: two peaks named L1", E,
        packaged_set(DRESDEN, lambda t: t.replace('name = "L2"', 'name = "L1"')))
    add("dr-peak-ratio-negative", D, "Dresden-II: peak L2 with `ratio = -0.008`", E,
        packaged_set(DRESDEN, lambda t: t.replace("ratio = 0.008", "ratio = -0.008", 1)))
    add("dr-no-background-model", D, "Dresden-II: `[background_model]` missing with `chi2-background`", E,
        packaged_set(DRESDEN, lambda t: drop_section(drop_section(drop_section(t, "background_model.priors"),
                                                                  "background_model.peaks"), "background_model")))
    add("dr-background-model-with-chi2", D, 'Dresden-II: `[likelihood] kind = "chi2"` with a `[background_model]`', E,
        packaged_set(DRESDEN, edit("kind", '"chi2"', "likelihood")))
    sp = "dresden_ii_2022_spectra.csv"
    add("dr-csv-row-twice", D, "Dresden-II spectrum: a row repeated", E, packaged_set(DRESDEN, csv={sp: lambda r: r[:1] + r}))
    add("dr-csv-nan", D, "Dresden-II spectrum: a rate `nan`", E, packaged_set(DRESDEN, csv={sp: cell(4, 3, "nan")}))
    add("dr-csv-zero-error", D, "Dresden-II spectrum: an error of 0", E, packaged_set(DRESDEN, csv={sp: cell(4, 4, "0")}))
    add("dr-csv-header-only", D, "Dresden-II spectrum: only a header", E, packaged_set(DRESDEN, csv={sp: lambda r: []}))
    add("dr-csv-edges-in-ev", D, "Dresden-II spectrum: edges in eV while `edges_unit = \"keVee\"`", E,
        packaged_set(DRESDEN, csv={sp: lambda r: [",".join([c[0]] + [f"{float(x) * 1000:g}" for x in c[1:3]] + c[3:])
                                                 for c in (x.split(",") for x in r)]}))
    add("dr-csv-missing-column", D, "Dresden-II spectrum: column `rx_on_err` missing", E,
        {**packaged_set(DRESDEN), sp: lambda: drop_column(4)((DATA / sp).read_text(encoding="utf-8").splitlines())
         .encode()})
    DR = ["dresden-ii-2022"]
    for argv in (["predict", *DR, "--input", "quenching=FEF"], ["predict", *DR, "--input", "quenching=magic"],
                 ["predict", *DR, "--input", "quenching=[1,2]"], ["predict", *DR, "--input", "quenching=0.2"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=-1"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=0"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=nan"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=inf"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=abc"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "k_sigma=1e300"],
                 ["fit", "coherent-csi-2021", "--param", "mu_nu", "--input", "k_sigma=0.004"],
                 ["fit", *DR, "conus-plus", "--param", "mu_nu", "--input", "k_sigma=0.004"],
                 ["predict", *DR, "--input", "exposure_kg_day=-1"], ["predict", *DR, "--input", "exposure_kg_day=nan"],
                 ["predict", *DR, "--exposure", "0"], ["predict", *DR, "--input", "quenching=fef", "--k", "0.2"],
                 ["predict", *DR, "--input", "runs=[\"sr0\"]"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "quenching=lindhard", "--input", "k_sigma=-1"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "quenching=lindhard", "--input", "k_sigma=nan"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "quenching=lindhard", "--input", "k_sigma=inf"],
                 ["fit", *DR, "--param", "mu_nu", "--input", "quenching=lindhard", "--input", "k_sigma=0.5"],
                 ["fit", "conus-plus", "--param", "mu_nu", "--input", "k_sigma=1e300"],
                 ["fit", "conus-plus", "--param", "mu_nu", "--input", "k_sigma=[0.004]"]):
        _cli(add, "dr-cli-", D, argv)

    R = "neutron radius"
    csi = ["fit", "coherent-csi-2021"]
    for argv in (csi + ["--param", "rn_Zz"], csi + ["--param", "rn_Ge"], csi + ["--param", "rn_Cs", "--fix", "rn_Cs=-3"],
                 csi + ["--param", "rn_CsI", "--fix", "rn_Cs=nan"], csi + ["--param", "rn_Cs", "--fix", "rn_Cs=inf"],
                 csi + ["--param", "rn_Cs", "--fix", "rn_I=1e300"], csi + ["--param", "rn_Cs", "--fix", "rn_I=0"],
                 csi + ["--param", "rn_Cs", "--fix", "rn_Ar=4"], csi + ["--param", "rn_cs"],
                 csi + ["--param", "rn_CsI,rn_Cs"], ["fit", "coherent-lar-2020", "--param", "rn_Xe"],
                 ["fit", "--param", "rn_Ge", "--fix", "rn_Ge=-3"], ["predict", "coherent-csi-2021", "--set", "rn_Cs=-3"],
                 ["predict", "coherent-csi-2021", "--set", "rn_Cs=200"],
                 ["predict", "coherent-csi-2021", "--set", "rn_Zz=4"],
                 ["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Cs=-3"],
                 ["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Cs=200"],
                 ["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Zz=4"],
                 ["predict", "coherent-csi-2021", "--model", "neutron-radius-tied", "--set", "rn_CsI=nan"],
                 ["predict", "coherent-csi-2021", "--model", "neutron-radius", "--set", "rn_Xe=5", "--json"],
                 ["predict", "coherent-csi-2021", "--input", "radii_fm={\"Cs\": -1}"],
                 ["predict", "coherent-csi-2021", "--input", "radii_fm={\"Zz\": 4}"],
                 ["predict", "coherent-csi-2021", "--input", "radii_fm=4"],
                 ["contour", "coherent-csi-2021", "--params", "rn_Cs,rn_Cs"]):
        _cli(add, "rn-", R, argv)

    Q = "reproduce quenching"
    add("rq-out-user-folder", Q, "`reproduce quenching --out DIR/mine` into a folder of the user's, without --force",
        ["reproduce", "quenching", "--out", "{d}/mine"], {"mine/thesis.tex": lambda: USER_NOTE}, keep=("mine/thesis.tex",))
    add("rq-out-file", Q, "`reproduce quenching --out DIR/file.txt` (a file of the user's)",
        ["reproduce", "quenching", "--out", "{d}/file.txt"], {"file.txt": lambda: USER_NOTE}, keep=("file.txt",))
    for argv in (["reproduce", "quenching", "conus-plus"], ["reproduce", "quenching", "--k", "0.2"],
                 ["reproduce", "quenching", "--input", "quenching=fef"], ["reproduce", "quenching", "--force"],
                 ["reproduce", "global", "xenonnt-8b-2026"], ["reproduce", "global", "--input", "runs=[\"sr0\"]"],
                 ["reproduce", "quenching", "--out", "/proc/cevns-q"]):
        _cli(add, "rq-", Q, argv)


def _cli(add: Callable[..., None], prefix: str, group: str, argv: List[str]) -> None:
    text = " ".join(a if a and " " not in a else repr(a) for a in argv)
    key = re.sub(r"[^a-z0-9.=%+_]+", "-", text.replace("--", " ").lower()).strip("-")
    add(prefix + key, group, f"`cevns {text}`", argv + (["--out", "{d}/out"] if argv[0] == "reproduce" and "--out"
                                                          not in argv else []))


def cases() -> List[Case]:
    E = ["predict", "{d}/exp.toml", "--json"]
    c: List[Case] = []

    def add(key: str, group: str, what: str, argv: Sequence[str], files: Optional[Dict[str, Content]] = None,
            expect: Optional[int] = 2, area: str = "", **kw) -> None:
        c.append(Case(key, group, what, list(argv), dict(files or {}), expect, area, **kw))

    # experiment files (TOML): form
    T = "experiment file"
    add("toml-malformed", T, "malformed TOML (a line without `=`)", E,
        conus(lambda t: t.replace("[reactor]", "[reactor]\npower")))
    add("toml-duplicate-key", T, "the same key twice in `[reactor]`", E,
        conus(lambda t: add_line(t, "reactor", "distance_m = 5")))
    add("toml-latin1", T, "not UTF-8 (Latin-1 `é` in the title)", E,
        {**conus(), "exp.toml": lambda: packaged(CONUS).replace('title = "', 'title = "caf\u00e9 ').encode("latin-1")})
    add("toml-binary", T, "a binary file (PNG header and NUL bytes)", E,
        {"exp.toml": lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4})
    add("toml-empty", T, "an empty file", E, {"exp.toml": lambda: b""})
    add("toml-dev-zero", T, "`/dev/zero` as the experiment file", ["predict", "/dev/zero"])
    add("toml-huge", T, "a valid file padded to 20 MB with comments", E,
        {**conus(), "exp.toml": padded(CONUS, 20)})
    add("toml-folder", T, "a folder as the experiment file", ["predict", "{d}"])
    # sections and keys
    for sec in ("target", "reactor", "quenching", "exposure", "data"):
        add(f"toml-no-{sec}", T, f"section `[{sec}]` missing", E, conus(lambda t, s=sec: drop_section(t, s)))
    add("toml-no-detectors", T, "no `[[detectors]]`", E, conus(lambda t: drop_section(t, "detectors")))
    add("toml-unknown-section", T, "unknown section `[reactr]`", E,
        conus(lambda t: t.replace("[reactor]", "[reactr]")))
    add("toml-unknown-top-key", T, "unknown top-level key `colour = \"red\"`", E,
        conus(lambda t: 'colour = "red"\n' + t))
    add("toml-misspelled-sigma-alpha", T, "misspelled key `sigma_alpa = 0.5` in `[statistics]`", E,
        conus(lambda t: add_line(t, "statistics", "sigma_alpa = 0.5")))
    add("toml-misspelled-exposure", T, "misspelled key `exposure_kg_dy = 5` in a detector", E,
        conus(lambda t: add_line(t, "detectors", "exposure_kg_dy = 5")))
    add("toml-unknown-reactor-key", T, "unknown key `power_GW = 1` in `[reactor]`", E,
        conus(lambda t: add_line(t, "reactor", "power_GW = 1")))
    add("toml-missing-power", T, "`thermal_power_GW` missing", E, conus(lambda t: drop_key(t, "thermal_power_GW", "reactor")))
    add("toml-missing-threshold", T, "a detector without `threshold_eVee`", E,
        conus(lambda t: drop_key(t, "threshold_eVee", "detectors")))
    add("toml-detectors-not-list", T, "`detectors = 5`", E,
        conus(lambda t: drop_section(t, "detectors").replace('name = "conus-plus"', 'name = "conus-plus"\ndetectors = 5')))
    # types and values
    for key, val, sec, area in [
            ("mass_kg", '"heavy"', "detectors", ""), ("mass_kg", "true", "detectors", ""),
            ("mass_kg", "nan", "detectors", ""), ("mass_kg", "-1.0", "detectors", ""), ("mass_kg", "0.0", "detectors", ""),
            ("mass_kg", "1e308", "detectors", ""), ("mass_kg", "[1, 2]", "detectors", ""),
            ("thermal_power_GW", "1e308", "reactor", ""), ("thermal_power_GW", "inf", "reactor", ""),
            ("thermal_power_GW", "-3.6", "reactor", ""), ("thermal_power_GW", "0", "reactor", ""),
            ("thermal_power_GW", '"3.6"', "reactor", ""),
            ("distance_m", "1e-300", "reactor", ""), ("distance_m", "0", "reactor", ""),
            ("energy_per_fission_MeV", "1e-300", "reactor", ""), ("captures_per_fission", "-1", "reactor", ""),
            ("tail", '"guess"', "reactor", ""), ("tail", "3", "reactor", ""),
            ("k", "0", "quenching", ""), ("k", "1e308", "quenching", ""), ("k", '"0.162"', "quenching", ""),
            ("model", '"gauss"', "resolution", ""), ("sigma0_eV", "1e-300", "resolution", ""),
            ("fano", "-0.1", "resolution", ""), ("pair_energy_eV", "0", "resolution", ""),
            ("threshold_eVee", "nan", "detectors", ""), ("threshold_eVee", "-inf", "detectors", ""),
            ("total_kg_day", "0", "exposure", ""), ("total_kg_day", "1e308", "exposure", ""),
            ("sigma_alpha", "-0.2", "statistics", ""), ("sigma_alpha", "nan", "statistics", ""),
            ("binding_table", '"nope"', "target", ""), ("element", '"Xx"', "target", ""),
            ("element", '"Si"', "target", ""), ("element", "32", "target", ""),
            ("normalisation_mass_kg", "0", "data", ""), ("normalisation_mass_kg", '"x"', "data", ""),
            ("units", '"events"', "data", ""), ("file", "42", "data", ""), ("file", '"nope.csv"', "data", ""),
            ("file", '"."', "data", ""), ("file", '"/dev/zero"', "data", ""),
            ("columns", '{ lo = "bin_lo_eVee" }', "data", "")]:
        add(f"toml-{key}-{slug(val)}", T, f"`{key} = {val}` in `[{sec}]`", E,
            conus(edit(key, val, sec)), area=area)
    add("toml-eves-string", T, '`eves = "yes"` in `[target]`', E, conus(lambda t: add_line(t, "target", 'eves = "yes"')))
    add("toml-mass-with-counts", T, '`units = "counts"` with `normalisation_mass_kg` in `[data]` (the mass would be '
        "ignored)", E, conus(edit("units", '"counts"', "data")))
    # abundances and fission fractions
    for key, what, val in [("documented", "as in docs/experiments.md: `{ 76 = 0.88, 74 = 0.12 }`",
                             "{ 76 = 0.88, 74 = 0.12 }"),
                            ("sum", "summing to 0.9", '{ "76" = 0.8, "74" = 0.1 }'),
                            ("unknown", "with an unknown isotope", '{ "99" = 1.0 }'),
                            ("negative", "negative", '{ "76" = 1.5, "74" = -0.5 }'),
                            ("text", "a text", '"enriched"')]:
        add(f"toml-abundances-{key}", T, f"abundances {what}", E,
            conus(lambda t, v=val: add_line(t, "target", f"abundances = {v}")))
    for key, what, val in [("sum", "summing to 0.97", "{ U235 = 0.50, U238 = 0.08, Pu239 = 0.32, Pu241 = 0.07 }"),
                           ("unknown", "with an unknown isotope", "{ U235 = 0.53, U238 = 0.08, Pu239 = 0.32, Th232 = 0.07 }"),
                           ("negative", "negative", "{ U235 = 1.2, U238 = -0.2 }"),
                           ("number", "a number, not a table", "0.5"),
                           ("text", "with a text value", '{ U235 = "half", U238 = 0.5 }')]:
        add(f"toml-fission-{key}", T, f"fission fractions {what}", E, conus(edit("fission_fractions", val, "reactor")))
    # COHERENT files
    for key, val, sec, area in [("pot", "-1", "source", ""), ("energy_edges", "[0, 8, 4]", "detector", ""),
                                ("coefficients", "[]", "quenching", ""), ("coefficients", '"abc"', "quenching", ""),
                                ("time_edges_us", "[1, 0]", "detector", ""), ("kind", '"bayes"', "likelihood", ""),
                                ("shared", '{ "flux" = "sns" }', "likelihood", ""), ("spread", "[-1, 9]", "detector", ""),
                                ("efficiency", '{ kind = "magic" }', "detector", ""), ("kind", '"neutrinos"', "source", ""),
                                ("sigma", "-1", "backgrounds", ""), ("file", '"nope.csv"', "backgrounds", "")]:
        add(f"csi-{key}-{slug(val)}", T, f"COHERENT CsI: `{key} = {val}` in `[{sec}]`",
            E, coherent(CSI, edit(key, val, sec)), area=area)
    add("csi-many-bins", T, "COHERENT CsI: 200 001 energy edges (200 000 bins)", E,
        coherent(CSI, edit("energy_edges", "[" + ", ".join(str(0.0005 * i) for i in range(200_001)) + "]", "detector")))
    add("lar-efficiency-latin1", T, "COHERENT LAr: efficiency table not UTF-8", E,
        {**coherent(LAR), "coherent_lar_2020_efficiency.csv":
         lambda: (DATA / "coherent_lar_2020_efficiency.csv").read_bytes() + "# caf\u00e9\n".encode("latin-1")})
    coherent_meaning_cases(add, E)

    # data files (CSV)
    D = "data file"
    add("csv-header-only", D, "CONUS+ data: only a header", E, conus_data(with_rows(lambda r: [])))
    add("csv-empty", D, "CONUS+ data: empty file", E, conus_data(lambda lines: ""))
    add("csv-latin1", D, "CONUS+ data: not UTF-8", E,
        {**conus_data(lambda lines: ""), "data.csv": lambda: (DATA / CONUS_CSV).read_bytes() + "# caf\u00e9\n".encode("latin-1")})
    add("csv-binary", D, "CONUS+ data: binary (NUL bytes)", E, {**conus_data(lambda lines: ""), "data.csv": lambda: bytes(1000)})
    add("csv-missing-column", D, "CONUS+ data: column `sigma_per_kg` missing", E,
        conus_data(lambda lines: "\n".join(ln.rsplit(",", 1)[0] for ln in lines if not ln.startswith("#")) + "\n"))
    add("csv-text", D, "CONUS+ data: text in a number (`12,5`)", E, conus_data(with_rows(set_cell(3, 2, '"12,5"'))))
    add("csv-nan", D, "CONUS+ data: `nan` value", E, conus_data(with_rows(set_cell(2, 2, "nan"))))
    add("csv-inf-edge", D, "CONUS+ data: `inf` bin edge", E, conus_data(with_rows(set_cell(18, 1, "inf"))))
    add("csv-negative-sigma", D, "CONUS+ data: negative sigma", E, conus_data(with_rows(set_cell(4, 3, "-3"))))
    add("csv-zero-sigma", D, "CONUS+ data: sigma = 0", E, conus_data(with_rows(set_cell(4, 3, "0"))))
    add("csv-gap", D, "CONUS+ data: a gap between bins", E, conus_data(with_rows(lambda r: r[:5] + r[6:])))
    add("csv-overlap", D, "CONUS+ data: overlapping bins", E, conus_data(with_rows(set_cell(5, 0, "195"))))
    add("csv-decreasing", D, "CONUS+ data: bins in decreasing order", E, conus_data(with_rows(lambda r: r[::-1])))
    add("csv-empty-bin", D, "CONUS+ data: a bin with lo = hi", E,
        conus_data(with_rows(lambda r: r[:3] + ["190,190,1.0,1.0"] + r[3:])))
    add("csv-short-row", D, "CONUS+ data: a row with a missing field", E,
        conus_data(with_rows(lambda r: r[:6] + [",".join(r[6].split(",")[:3])] + r[7:])))
    add("csv-extra-cell", D, "CONUS+ data: a row with one cell more than the header", E,
        conus_data(with_rows(lambda r: r[:4] + [r[4] + ",7"] + r[5:])))
    add("csv-duplicate-column", D, "CONUS+ data: the header names `sigma_per_kg` twice", E,
        conus_data(lambda lines: "\n".join([csv_rows(lines)[1] + ",sigma_per_kg"]
                                           + [r + ",1.0" for r in csv_rows(lines)[2]]) + "\n"))
    add("csv-one-bin-below-threshold", D, "CONUS+ data: one bin, below every threshold", E,
        conus_data(lambda lines: csv_rows(lines)[1] + "\n100,110,1.0,1.0\n"))
    add("csv-many-bins", D, "CONUS+ data: 200 000 bins", E, conus_data(many_bins(200_000)))
    add("csv-huge", D, "CONUS+ data: padded to 60 MB with comments", E,
        {**conus_data(lambda lines: ""), "data.csv": padded(CONUS_CSV, 60)})
    add("events-text", D, "COHERENT CsI events: text in a number", E,
        lar_events(lambda lines: "\n".join(lines[:12] + ["abc,1.0"] + lines[12:]) + "\n"))
    add("events-header-only", D, "COHERENT CsI events: only a header", E,
        lar_events(lambda lines: csv_rows(lines)[1] + "\n"))
    add("events-nan", D, "COHERENT CsI events: `nan` energy", E,
        lar_events(lambda lines: "\n".join(lines + ["nan,1.0"]) + "\n"))
    add("events-latin1", D, "COHERENT CsI events: not UTF-8", E,
        {**lar_events(lambda lines: ""), "events.csv":
         lambda: (DATA / "coherent_csi_2021_coincidence.csv").read_bytes() + "# caf\u00e9\n".encode("latin-1")})
    add("events-missing-column", D, "COHERENT CsI events: column `t_us` missing", E,
        lar_events(lambda lines: "\n".join(ln.split(",")[0] for ln in lines if not ln.startswith("#")) + "\n"))
    add("events-huge", D, "COHERENT CsI events: padded to 60 MB", E,
        {**lar_events(lambda lines: ""), "events.csv": padded("coherent_csi_2021_coincidence.csv", 60)})
    add("points-latin1", D, "`reproduce --sin2w-points`: not UTF-8", ["reproduce", "--out", "{d}/out", "--sin2w-points",
        "{d}/p.csv"], {"p.csv": lambda: (POINTS_HEADER + "caf\u00e9,0.05,0.24,0.02,0.03,MSbar,x\n").encode("latin-1")})
    add("points-header-only", D, "`reproduce --sin2w-points`: only a header",
        ["reproduce", "--out", "{d}/out", "--sin2w-points", "{d}/p.csv"], {"p.csv": lambda: POINTS_HEADER.encode()})
    add("points-text", D, "`reproduce --sin2w-points`: text as Q", ["reproduce", "--out", "{d}/out", "--sin2w-points",
        "{d}/p.csv"], {"p.csv": lambda: (POINTS_HEADER + "a,low,0.24,0.02,0.03,MSbar,x\n").encode()})
    add("points-huge", D, "`reproduce --sin2w-points`: 20 MB", ["reproduce", "--out", "{d}/out", "--sin2w-points",
        "{d}/p.csv"], {"p.csv": lambda: (POINTS_HEADER + "a,0.05,0.24,0.02,0.03,MSbar,x\n" * 500_000).encode()})

    # command-line arguments
    A = "argument"
    for argv in (["predict", "no-such-experiment"], ["predict", "--model", "axion"],
                 ["predict", "--model", "magnetic-moment", "--set", "mu_nu=abc"],
                 ["predict", "--model", "magnetic-moment", "--set", "mu_nu=1e308", "--json"],
                 ["predict", "--model", "magnetic-moment", "--set", "mu_nu=nan"],
                 ["predict", "--model", "millicharge", "--set", "q_ee=inf"],
                 ["predict", "--set", "foo=1"], ["predict", "--set", "mu_nu"],
                 ["predict", "--model", "vector-bl", "--set", "mass_MeV=-1"],
                 ["predict", "--input", "thresholds_eVee=100"], ["predict", "--input", "numerics=1"],
                 ["predict", "--input", 'thresholds_eVee={"C2": '], ["predict", "--input", 'thresholds_eVee={"C9": 200}'],
                 ["predict", "--input", 'thresholds_eVee={"C2": "low"}'], ["predict", "--input", "quenchingk=0.2"],
                 ["predict", "--input", "k=abc"], ["predict", "--input", "tail=1"],
                 ["predict", "--input", "fission_fractions=[1,2]"], ["predict", "--input", 'efficiency={"C2": 1}'],
                 ["predict", "--input", "thermal_power_GW=1e308", "--json"], ["predict", "--input", "=3"],
                 ["predict", "--k", "2"], ["predict", "--k", "nan"], ["predict", "--k", "inf"],
                 ["predict", "--exposure", "-5"], ["predict", "--exposure", "1e308", "--json"],
                 ["predict", "--sigma-alpha", "-1"], ["predict", "--resolution", "gauss"],
                 ["fit", "--param", "sin2w", "--exposure", "1e200", "--json"],
                 ["fit", "--param", "sin2w", "--sigma-alpha", "1e-300", "--json"],
                 ["predict", "--input", "captures_per_fission=6e299", "--json"],
                 ["predict", "coherent-csi-2021", "--k", "0.2"],
                 ["predict", "--plot", "{d}/out.xyz"], ["predict", "--plot", "/nonexistent-folder/x.png"],
                 ["predict", "--plot", "{d}"],
                 ["fit", "--param", "nope"], ["fit", "--param", "g"],
                 ["fit", "--param", "g", "--mediator", "vector-bl", "--mass", "-1"],
                 ["fit", "--param", "g", "--mediator", "vector-bl", "--mass", "nan"],
                 ["fit", "--param", "mu_nu", "--cl=-1sigma"], ["fit", "--param", "mu_nu", "--cl", "0"],
                 ["fit", "--param", "mu_nu", "--cl", "1"], ["fit", "--param", "mu_nu", "--cl", "150%"],
                 ["fit", "--param", "mu_nu", "--cl", "nan"], ["fit", "--param", "mu_nu", "--cl", "abc"],
                 ["fit", "--param", "mu_nu", "--cl", "0.9999999999999999"],
                 ["fit", "--param", "mu_nu", "--channels", "cevns+eves+eves"],
                 ["fit", "--param", "mu_nu", "--channels", "cevns+foo"], ["fit", "--param", "mu_nu", "--channels", ""],
                 ["fit", "coherent-csi-2021", "--param", "mu_nu", "--channels", "eves"],
                 ["fit", "conus-plus", "conus-plus", "--param", "mu_nu"], ["fit", "--param", "mu_nu_mu"],
                 ["fit", "--param", "sin2w", "--plot", "{d}/fit.xyz"],
                 ["exclusion", "--model", "sm"], ["exclusion", "--model", "scalar", "--mass-min", "-1"],
                 ["exclusion", "--model", "scalar", "--mass-min", "10", "--mass-max", "1"],
                 ["exclusion", "--model", "scalar", "--mass-max", "inf"],
                 ["exclusion", "--model", "scalar", "--n-masses", "0"],
                 ["exclusion", "--model", "scalar", "--n-masses", "1000000000"],
                 ["exclusion", "--model", "scalar", "--cl", "0"], ["exclusion", "--model", "scalar", "--cl", "nan"],
                 ["exclusion", "--model", "scalar", "--cl", "0.9999999"], ["exclusion", "--model", "scalar", "--dof", "3"],
                 ["contour", "--params", "q_ee"], ["contour", "--params", "q_ee,q_ee"],
                 ["contour", "--params", "q_ee,mu_nu"], ["contour", "--params", "q_ee,q_emu", "--n", "0"],
                 ["contour", "--params", "q_ee,q_emu", "--n", "1000000"], ["contour", "--params", "q_ee,q_emu", "--cl", "abc"],
                 ["coverage", "--param", "mu_nu", "--toys", "0"], ["coverage", "--param", "mu_nu", "--workers", "-1"],
                 ["coverage", "--param", "mu_nu", "--scheduler", "localhost"],
                 ["coverage", "--param", "mu_nu", "--out", "{d}/file.txt"],
                 ["coverage", "--param", "mu_nu", "--seed", "-1", "--workers", "0"],
                 ["coverage", "--param", "mu_nu", "--toys", "100000000000", "--workers", "0"],
                 ["fit", "--param", "sin2w", "--plot", "{d}/file.txt.png"],
                 ["exclusion", "--model", "scalar", "--mass-min", "1e200", "--mass-max", "1e300"],
                 ["fit", "--param", "g", "--mediator", "scalar", "--mass", "1e300"],
                 ["reproduce", "--out", "{d}/out", "--docs", "{d}/file.txt"],
                 ["reproduce", "--out", "{d}/file.txt"], ["reproduce", "--out", "/proc/cevns-out"],
                 ["reproduce", "--sin2w-points", "{d}/missing.csv", "--out", "{d}/out"],
                 ["reproduce", "global", "--sin2w-points", "x.csv"],
                 ["frobnicate"], [], ["list", "--bogus"]):
        text = " ".join(a if a and " " not in a else repr(a) for a in argv)
        files = {"file.txt": lambda: b"a user's file\n"} if any("file.txt" in a for a in argv) else {}
        if any(a.endswith("file.txt.png") for a in argv):  # a user's own figure under the --plot name
            files = {"file.txt.png": lambda: b"a user's figure\n"}
        key = re.sub(r"[^a-z0-9.=%+_]+", "-", text.replace("{d}", "").replace("--", " ").lower()).strip("-")
        add("cli-" + (key or "none"), A,
            f"`cevns {text.replace('{d}', 'DIR')}`" if argv else "`cevns` (no command)", argv, files)
    output_and_cluster_cases(add)
    new_path_cases(add, E)
    for case in c:
        if case.key in SCHEMA_CASES:
            case.area = "schema"
        if case.key in MAY_SUCCEED:
            case.expect = None
    missing = (SCHEMA_CASES | MAY_SUCCEED) - {case.key for case in c}
    if missing:
        raise KeyError(f"SCHEMA_CASES or MAY_SUCCEED name no case: {sorted(missing)}")
    return c


def png_with_text(key: str, value: str) -> bytes:
    """A 1x1 PNG with one text chunk ``key`` = ``value`` (a user's figure whose metadata mention cevns)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"tEXt", key.encode() + b"\x00" + value.encode()) + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
            + chunk(b"IEND", b""))


def read_only(name: str) -> Callable[[Path], Optional[Callable[[], None]]]:
    """Setup: the folder ``name`` made read-only (given back its write bit after the run, so it can be removed)."""
    def setup(d: Path) -> Callable[[], None]:
        (d / name).mkdir(exist_ok=True)
        os.chmod(d / name, 0o555)
        return lambda: os.chmod(d / name, 0o755)
    return setup


def locked(name: str) -> Callable[[Path], Optional[Callable[[], None]]]:
    """Setup: the lock of output folder ``name`` held by this script (as another cevns run would hold it)."""
    def setup(d: Path) -> Callable[[], None]:
        import fcntl

        f = open(d / f".{name}.cevns-lock", "a+")
        fcntl.lockf(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(str(os.getpid()))
        f.flush()
        return f.close
    return setup


def symlinked(name: str, target: str) -> Callable[[Path], Optional[Callable[[], None]]]:
    def setup(d: Path) -> None:
        (d / target).mkdir(exist_ok=True)
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).symlink_to(d / target)
    return setup


USER_NOTE = b"my own notes; not cevns's\n"


def output_and_cluster_cases(add: Callable[..., None]) -> None:
    """Outputs that must never cost a user's file (issue 26, part 1) and coverage on a cluster (part 3)."""
    OUT = "output"
    cov = ["coverage", "conus-plus", "--param", "mu_nu", "--toys", "10", "--points", "3"]
    add("out-dot-force", OUT, "`reproduce --out . --force` in a folder holding the user's files (handled: they stay, "
        "nothing of theirs moves)", ["reproduce", "--out", ".", "--force"],
        {"thesis.tex": lambda: USER_NOTE, "data/x.csv": lambda: b"1,2\n"}, expect=0, keep=("thesis.tex", "data/x.csv"))
    add("out-dot", OUT, "`reproduce --out .` in a folder holding the user's files, without --force", ["reproduce", "--out",
        "."], {"thesis.tex": lambda: USER_NOTE}, keep=("thesis.tex",))
    add("out-up-force", OUT, "`reproduce --out .. --force` from a subfolder of the user's (handled in place)",
        ["reproduce", "--out", "..", "--force"], {"thesis.tex": lambda: USER_NOTE, "sub/notes.txt": lambda: USER_NOTE},
        expect=0, keep=("thesis.tex", "sub/notes.txt"), cwd="sub")
    add("out-read-only", OUT, "`reproduce --out DIR/ro --force` into a read-only folder", ["reproduce", "--out", "{d}/ro",
        "--force"], setup=read_only("ro"))
    add("out-locked", OUT, "`reproduce --out DIR/res` while another run holds that folder", ["reproduce", "--out",
        "{d}/res"], setup=locked("res"))
    add("out-coverage-locked", OUT, "`coverage --out DIR/cov` while another run holds that folder",
        cov + ["--workers", "0", "--out", "{d}/cov"], setup=locked("cov"))
    add("out-link", OUT, "`reproduce --out DIR/link` where link is a symbolic link to a folder",
        ["reproduce", "--out", "{d}/link"], setup=symlinked("link", "real"))
    add("docs-mentions-cevns", OUT, "`reproduce --docs notes.md`, a user's notes that mention cevns",
        ["reproduce", "--out", "{d}/res", "--docs", "{d}/notes.md"],
        {"notes.md": lambda: b"# notes\n\nRan `cevns reproduce`; cevns 0.1.0 (matplotlib) looks fine.\n"},
        keep=("notes.md",))
    add("plot-svg-comment", OUT, "`predict --plot talk.svg`, a user's SVG with cevns in a comment",
        ["predict", "--plot", "{d}/talk.svg"],
        {"talk.svg": lambda: b'<?xml version="1.0"?>\n<!-- for the cevns talk: <metadata><dc:creator><cc:Agent><dc:title>'
         b'cevns --><svg xmlns="http://www.w3.org/2000/svg"/>\n'}, keep=("talk.svg",))
    add("plot-png-title", OUT, "`fit --plot talk.png`, a user's PNG whose Title metadata says cevns",
        ["fit", "--param", "sin2w", "--plot", "{d}/talk.png"], {"talk.png": lambda: png_with_text("Title", "cevns 0.1.0")},
        keep=("talk.png",))
    add("coverage-json-mentions-cevns", OUT, "`coverage --out DIR/cov` over a user's coverage.json that mentions cevns",
        cov + ["--workers", "0", "--out", "{d}/cov"],
        {"cov/coverage.json": lambda: b'{"note": "made with cevns", "format": "cevns"}\n'}, keep=("cov/coverage.json",))
    add("coverage-cache-link", OUT, "`coverage --out DIR/cov` whose cache/ is a symbolic link",
        cov + ["--workers", "0", "--out", "{d}/cov"], setup=symlinked("cov/cache", "elsewhere"))

    K = "cluster"
    for scheme in ("tls", "inproc", "ucx"):
        add(f"scheduler-{scheme}", K, f"`coverage --scheduler {scheme}://127.0.0.1:8786`",
            cov + ["--scheduler", f"{scheme}://127.0.0.1:8786", "--out", "{d}/c"])
    for server, what in (("silent", "a server that accepts and never answers (30 s timeout)"),
                         ("ssh", "an SSH server (answers with its banner)"),
                         ("http", "a service answering in HTTP"), ("closed", "a port nothing listens on")):
        add(f"scheduler-{server}", K, f"`coverage --scheduler tcp://127.0.0.1:PORT`: {what}",
            cov + ["--scheduler", "tcp://127.0.0.1:{port}", "--out", "{d}/c"], server=server)
    for args in (["--points", "1000000000"], ["--toys", "10000000", "--batch", "1"], ["--workers", "100000"],
                 ["--toys", "10000000", "--points", "1001", "--batch", "1000000"],
                 ["--toys", "10000000", "--batch", "10000000"]):
        add("coverage-" + "-".join(a.strip("-") for a in args), K,
            f"`coverage {' '.join(args)}`", ["coverage", "conus-plus", "--param", "mu_nu"] + args + ["--out", "{d}/c"])


class TcpServer:
    """A server on 127.0.0.1 for the cluster cases (:attr:`Case.server`)."""

    BANNERS = {"ssh": b"SSH-2.0-OpenSSH_9.6\r\n", "http": b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}

    def __init__(self, kind: str):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list = []
        if kind != "closed":
            self.sock.listen(8)
            threading.Thread(target=self.serve, args=(self.BANNERS.get(kind, b""),), daemon=True).start()

    def serve(self, banner: bytes) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if banner:
                c.sendall(banner)

    def close(self) -> None:
        for c in self.conns:
            c.close()
        self.sock.close()


# --- running -----------------------------------------------------------------------------------------------------

def _limit_memory() -> None:  # in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def message_of(stderr: str) -> str:
    """The error line of stderr (the last line holding 'error:'); after a traceback its last line (the
    exception); else the first line."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if "Traceback (most recent call last)" in stderr:
        return "(traceback) " + lines[-1].strip()
    errs = [ln for ln in lines if "error:" in ln]
    if errs:
        return errs[-1].strip()
    return lines[0].strip() if lines else ""


def nonfinite_output(stdout: str) -> bool:
    """NaN or inf in the output: strict JSON when the output is JSON, else a `nan` word (text writes an unbounded
    limit as +inf, by design)."""
    s = stdout.strip()
    if s[:1] and s[:1] in "{[":
        def bad(token: str) -> None:
            raise ValueError(token)
        try:
            json.loads(s, parse_constant=bad)
            return False
        except ValueError:
            return True
    return re.search(r"(?<![A-Za-z])nan(?![A-Za-z])", s, flags=re.IGNORECASE) is not None


def run_case(case: Case, workdir: Path) -> Outcome:
    """Run one case in ``workdir`` (made empty here), as ``python -m cevns``."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    for name, make in case.files.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_bytes(make())
    cleanup = case.setup(workdir) if case.setup is not None else None
    kept = {name: (workdir / name).read_bytes() for name in case.keep}
    server = TcpServer(case.server) if case.server else None
    argv = [a.replace("{d}", str(workdir)).replace("{port}", str(server.port if server else 0)) for a in case.argv]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONWARNINGS="default")
    t0 = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, "-m", "cevns", *argv], cwd=workdir / case.cwd, env=env, capture_output=True,
                           text=True, errors="replace", timeout=TIMEOUT_S,
                           preexec_fn=_limit_memory if os.name == "posix" else None)
        status, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        def text(b: object) -> str:
            return b.decode(errors="replace") if isinstance(b, bytes) else str(b or "")
        status, out, err = None, text(e.stdout), text(e.stderr)
    dt = time.perf_counter() - t0
    if server is not None:
        server.close()
    if cleanup is not None:
        cleanup()
    lost = [n for n, b in kept.items() if not (workdir / n).is_file() or (workdir / n).read_bytes() != b]
    msg = message_of(err).replace(str(workdir), "DIR")
    if case.keep and status == 0 and not lost:  # a case handled without error: what counts is the user's files
        msg = f"(no error) the user's {', '.join(case.keep)} unchanged, the outputs written beside"
    if server is not None:  # a port and a process id change from run to run; the table must not
        msg = msg.replace(str(server.port), "PORT")
    msg = msg.replace(f"(pid {os.getpid()})", "(pid of the run holding it)")
    shutil.rmtree(workdir, ignore_errors=True)
    return Outcome(case, status, msg, "Traceback (most recent call last)" in err, nonfinite_output(out), dt,
                   err.replace(str(workdir), "DIR"), lost)


def schema_landed() -> bool:
    """True once the command line has a ``schema`` command (the declared experiment schema of issue 13)."""
    sys.path.insert(0, str(SRC))
    try:
        from cevns.cli import build_parser

        sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return "schema" in sub.choices
    finally:
        sys.path.remove(str(SRC))


# --- the table ---------------------------------------------------------------------------------------------------

def _cell(text: str, width: int = 170) -> str:
    text = text if len(text) <= width else text[:width - 3] + "..."
    return text.replace("|", "\\|") if text else "(nothing on stderr)"


def table(outcomes: Sequence[Outcome]) -> str:
    n = len(outcomes)
    exit2 = sum(o.status == 2 for o in outcomes)
    tb = sum(o.traceback for o in outcomes)
    bad = [o for o in outcomes if o.problems]
    waived = sum(o.case.area == "schema" for o in bad)
    kept = [o for o in outcomes if o.case.keep]
    lost = sum(bool(o.lost) for o in kept)
    lines = [f"{n} bad inputs, each run as `python -m cevns ...` by `python scripts/bad_inputs.py` (which writes this "
             f"table): {exit2} end with exit status 2, {tb} with a traceback, {len(bad)} not as expected ({waived} of "
             f"them left for the experiment schema); in the {len(kept)} cases with files of the user's, {lost} of "
             "those files changed or gone.  The message is the line of stderr holding `error:`; DIR is the "
             "case's temporary folder.", "",
             "| # | kind | input | exit | message | traceback |", "|---|---|---|---|---|---|"]
    for i, o in enumerate(outcomes, 1):
        status = "timeout" if o.status is None else str(o.status)
        if o.problems:
            status += " **(" + ", ".join(o.problems) + ("; left for the schema" if o.case.area == "schema" else "") + ")**"
        lines.append(f"| {i} | {o.case.group} | {_cell(o.case.what, 200)} | {status} | {_cell(o.message)} | "
                     f"{'**yes**' if o.traceback else 'no'} |")
    return "\n".join(lines) + "\n"


def write_table(text: str, doc: Path = DOC) -> None:
    src = doc.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in src and END in src:
        new = src[:src.index(BEGIN)] + block + src[src.index(END) + len(END):]
    else:
        new = src.rstrip("\n") + "\n\n## Bad inputs tried (generated)\n\n" + block + "\n"
    tmp = doc.with_name(doc.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(doc)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if any case is not as expected")
    ap.add_argument("--strict", action="store_true", help="with --check: count the cases left for the schema too")
    ap.add_argument("--no-write", action="store_true", help="do not write docs/reliability.md")
    ap.add_argument("--only", help="comma-separated case keys (implies --no-write)")
    ap.add_argument("--list", action="store_true", help="list the case keys and exit")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="cases run at once (default 2)")
    ap.add_argument("--show", action="store_true", help="print the end of stderr of every case not as expected")
    args = ap.parse_args(argv)
    all_cases = cases()
    keys = [c.key for c in all_cases]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SystemExit(f"duplicate case keys: {dup}")
    if args.list:
        for c in all_cases:
            print(f"{c.key:<50} {c.what}")
        return 0
    todo = all_cases
    if args.only:
        want = args.only.split(",")
        unknown = [k for k in want if k not in keys]
        if unknown:
            raise SystemExit(f"unknown case(s) {unknown}; see --list")
        todo = [c for c in all_cases if c.key in want]
    from concurrent.futures import ThreadPoolExecutor

    done = [0]

    def one(ic: Tuple[int, Case]) -> Outcome:
        o = run_case(ic[1], Path(tmp) / f"case{ic[0]}")
        done[0] += 1
        flag = ("  <-- " + ", ".join(o.problems)) if o.problems else ""
        print(f"[{done[0]:3d}/{len(todo)}] {o.seconds:5.1f}s exit {o.status} {ic[1].key}: {o.message[:100]}{flag}",
              file=sys.stderr, flush=True)
        return o

    with tempfile.TemporaryDirectory(prefix="cevns-bad-inputs-") as tmp:
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            outcomes = list(pool.map(one, enumerate(todo)))
    if not (args.no_write or args.only):
        write_table(table(outcomes))
        print(f"wrote the table into {DOC.relative_to(ROOT)}", file=sys.stderr)
    strict = args.strict or schema_landed()
    bad = [o for o in outcomes if o.problems]
    waived = [o for o in bad if o.case.area == "schema" and not strict]
    failing = [o for o in bad if o not in waived]
    print(f"{len(outcomes)} cases: {sum(o.status == 2 for o in outcomes)} exit 2, "
          f"{sum(o.traceback for o in outcomes)} tracebacks, {sum(o.status == 0 and o.nonfinite for o in outcomes)} "
          f"NaN/inf with exit 0, {len(bad)} not as expected ({len(waived)} left for the experiment schema)")
    for o in bad:
        print(f"  {'(schema) ' if o in waived else ''}{o.case.key}: {', '.join(o.problems)}: {o.message[:120]}")
        if args.show:
            print("    " + "\n    ".join(o.stderr.strip().splitlines()[-6:]))
    if args.check and failing:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Output safety of the studies: staged writes, manifests, symbolic links, interrupts."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from cevns.errors import CevnsInputError
from cevns.outputs import MANIFEST, STAGING_MARK, check_output_dir, foreign_files, recover
from cevns.reproduce import write_study


def _study(outdir, fail=False, force=False, value=1.0):
    """A tiny stand-in study through the real writer: two figure files, results, report."""
    def draw(run, d):
        (d / "fig.png").write_text("png")
        if fail:
            raise RuntimeError("drawing failed half way")
        (d / "fig.pdf").write_text("pdf")

    run = {"results": {"x": value}}
    return write_study(outdir, run, draw, lambda r: f"# report\n\nx = {r['results']['x']}", force=force,
                       figures=("fig",))


def test_a_second_run_replaces_its_own_outputs(tmp_path):
    out = tmp_path / "res"
    check_output_dir(out)
    _study(out, value=1.0)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "fig.pdf", "fig.png", "report.html", "report.md",
                                                            "results.json"])
    check_output_dir(out)  # only files cevns wrote: no --force needed
    _study(out, value=2.0)
    assert '"x": 2.0' in (out / "results.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folders left


def test_a_users_file_is_never_overwritten_without_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "results.json").write_text("my own notes")
    with pytest.raises(CevnsInputError, match="did not write"):
        check_output_dir(out)
    _study(out, force=True)  # --force: cevns writes, the user's other files are kept
    (out / "thesis.tex").write_text("keep me")
    check_output_dir(out, force=True)
    _study(out, force=True)
    assert (out / "thesis.tex").read_text() == "keep me"
    assert foreign_files(out) == ["thesis.tex"]


def test_a_symbolic_link_is_never_written_through(tmp_path):
    target = tmp_path / "precious.md"
    target.write_text("do not touch")
    out = tmp_path / "res"
    _study(out)
    (out / "report.md").unlink()
    (out / "report.md").symlink_to(target)
    with pytest.raises(CevnsInputError, match="did not write"):
        check_output_dir(out)  # the link is not in the manifest: it is the user's
    _study(out, force=True)
    assert target.read_text() == "do not touch"
    assert not (out / "report.md").is_symlink() and "x = 1.0" in (out / "report.md").read_text()
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(CevnsInputError, match="symbolic link"):
        check_output_dir(link)


def test_a_failed_run_leaves_the_previous_set_untouched(tmp_path):
    out = tmp_path / "res"
    _study(out, value=1.0)
    before = {p.name: p.read_text() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        _study(out, fail=True, value=2.0)
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_unwritable_place_is_refused_before_any_computation(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CevnsInputError, match="not a folder"):
        check_output_dir(tmp_path / "file")
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(CevnsInputError, match="cannot write"):
            check_output_dir(ro / "res")


@pytest.mark.slow
def test_interrupt_or_kill_during_reproduce_keeps_a_complete_set(tmp_path):
    """SIGINT ends `cevns reproduce` with exit 130 and no traceback; SIGKILL at any moment leaves either no
    folder or the previous complete set (never a partial one)."""
    out = tmp_path / "res"
    cmd = [sys.executable, "-c", "from cevns.cli import main; raise SystemExit(main())", "reproduce", "--out", str(out)]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    time.sleep(2.5)  # inside the analysis (the imports take ~0.7 s, the whole run ~5 s)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and not out.exists()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    complete = {q.name for q in out.iterdir()}
    t0 = time.monotonic()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    duration = time.monotonic() - t0
    rng = random.Random(13)
    for delay in sorted(rng.uniform(0.2, duration) for _ in range(5)):  # random moments of a whole run
        p = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
        recover(out)  # what the next run does before writing: recover from a kill between the swap's renames
        now = {q.name for q in out.iterdir()}
        assert now == complete, delay  # the previous complete set, whatever the moment
        listed = json.loads((out / MANIFEST).read_text())["files"]
        assert set(listed) | {MANIFEST} == complete and all((out / f).stat().st_size > 0 for f in listed)
        assert not [q for q in tmp_path.iterdir() if q.name.startswith(".res.")]  # nothing partial left beside


def test_a_kill_between_the_two_renames_is_recovered(tmp_path):
    """The one moment a kill leaves no folder: after the old set moved aside, before the new one moved in.
    The next run puts the previous complete set back, and removes the dead run's temporary folders (those with
    cevns's staging mark only)."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "res"
    _study(out)
    complete = sorted(q.name for q in out.iterdir())
    os.rename(out, tmp_path / f".res.old-{dead.pid}")
    for name in (f".res.tmp-{dead.pid}-x1y2", f".res.figures-{dead.pid}-k3j4"):  # the dead run's, marked
        (tmp_path / name).mkdir()
        (tmp_path / name / STAGING_MARK).write_text("{}")
        (tmp_path / name / "fig1.pdf").write_text("half")
    unmarked = tmp_path / f".res.tmp-{dead.pid}-zzzz"  # looks like one, but not marked: never removed
    unmarked.mkdir()
    (unmarked / "thesis.tex").write_text("keep me")
    alive = tmp_path / f".res.figures-{os.getpid()}-a1b2"  # a running run's: left alone
    alive.mkdir()
    (alive / STAGING_MARK).write_text("{}")
    check_output_dir(out)  # the checks alone recover nothing (recovery comes after every argument check)
    assert not out.exists()
    recover(out)
    assert sorted(q.name for q in out.iterdir()) == complete
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted([alive.name, unmarked.name, "res"])
    assert (unmarked / "thesis.tex").read_text() == "keep me"

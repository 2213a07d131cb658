"""Output safety of the studies: staged writes, manifests, symbolic links, interrupts."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cevns.errors import CevnsInputError
from cevns.outputs import MANIFEST, STAGING_MARK, OutputLock, check_output_dir, foreign_files, recover
from cevns.reproduce import write_study


def _study(outdir, fail=False, force=False, value=1.0):
    """A tiny stand-in study through the real writer: two figure files, results, report."""
    def draw(results, d):
        (d / "fig.png").write_text("png")
        if fail:
            raise RuntimeError("drawing failed half way")
        (d / "fig.pdf").write_text("pdf")
        return ["fig"]

    run = {"results": {"x": value}, "figure_data": {}}
    return write_study(outdir, run, "paper", lambda r: f"# report\n\nx = {r['results']['x']}", force=force,
                       draw=draw)


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

    def as_from_a_shell():  # Ctrl-C delivered as in a terminal, whatever this test process's signal state is (a
        # child inherits an ignored or blocked SIGINT, and Python then leaves it so)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=as_from_a_shell)
    time.sleep(2.5)  # inside the analysis or its figures (the imports take ~0.7 s, the whole run ~5 s)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130 and "Traceback" not in err and not out.exists(), (p.returncode, err[-500:])
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
        # nothing partial left beside; a kill may leave the lock file, which holds no lock (the next run reuses and
        # removes it)
        assert not [q for q in tmp_path.iterdir() if q.name.startswith(".res.") and q.name != ".res.cevns-lock"]
        with OutputLock(out):
            pass
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert sorted(q.name for q in tmp_path.iterdir()) == ["res"]


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


# --- the working folder, --force, folder rights, read-only folders, the lock, recovery order ------------------
def _inodes(d):
    return {p.name: (p.stat().st_ino, p.read_bytes() if p.is_file() else None) for p in d.iterdir()}


def test_out_dot_with_force_moves_nothing_of_the_users(tmp_path, monkeypatch):
    """`cevns reproduce --out . --force` in a folder of the user's (the issue's case): the folder stays where it is,
    each of the user's files keeps its inode and bytes, the outputs are added beside them."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("keep me")
    (work / "data").mkdir()
    (work / "data" / "x.csv").write_text("1,2\n")
    monkeypatch.chdir(work)
    with pytest.raises(CevnsInputError, match="did not write"):
        check_output_dir(Path("."))
    folder, theirs = work.stat().st_ino, _inodes(work)
    check_output_dir(Path("."), force=True)
    _study(Path("."), force=True)
    assert work.stat().st_ino == folder and Path.cwd() == work
    now = _inodes(work)
    assert {k: now[k] for k in theirs} == theirs
    assert set(now) - set(theirs) == {MANIFEST, "fig.pdf", "fig.png", "report.html", "report.md", "results.json"}
    _study(Path("."), force=True, value=2.0)  # a rerun replaces only its own files
    assert '"x": 2.0' in (work / "results.json").read_text() and (work / "thesis.tex").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing left beside


def test_out_above_the_working_folder_is_kept_in_place(tmp_path, monkeypatch):
    """`--out ..` (a folder above the working one) holding only cevns's files: written in place, never renamed
    (renaming it would pull the working folder away from under the shell)."""
    top = tmp_path / "top"
    _study(top)
    (top / "sub").mkdir()
    monkeypatch.chdir(top / "sub")
    with pytest.raises(CevnsInputError, match="did not write"):  # sub/ is the user's
        check_output_dir(Path(".."))
    ino = top.stat().st_ino
    _study(Path(".."), force=True, value=3.0)
    assert top.stat().st_ino == ino and (top / "sub").is_dir() and '"x": 3.0' in (top / "results.json").read_text()


@pytest.mark.parametrize("users_file", [False, True])
def test_force_keeps_the_permissions_group_and_setgid_of_the_folder(tmp_path, users_file):
    """A group-shared folder (setgid, another group): both ways of writing (swap when it holds only cevns's files,
    in place when it also holds the user's) keep its mode, group and setgid bit."""
    out = tmp_path / "shared"
    _study(out)
    groups = [g for g in os.getgroups() if g != out.stat().st_gid]
    if os.geteuid() == 0:
        groups = groups or [4242]
    if not groups:
        pytest.skip("this user belongs to no second group")
    os.chown(out, -1, groups[0])
    os.chmod(out, 0o2770)
    if users_file:
        (out / "theirs.txt").write_text("x")
    before = out.stat()
    _study(out, force=True, value=2.0)
    after = out.stat()
    assert (after.st_mode, after.st_gid) == (before.st_mode, before.st_gid)
    assert after.st_mode & 0o2000 and '"x": 2.0' in (out / "results.json").read_text()
    assert (out / "theirs.txt").exists() == users_file


def test_a_read_only_folder_is_refused_and_leaves_nothing(tmp_path):
    out = tmp_path / "ro"
    _study(out)
    os.chmod(out, 0o555)
    try:
        with pytest.raises(CevnsInputError, match="read-only"):
            check_output_dir(out, force=True)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ro"]
    finally:
        os.chmod(out, 0o755)


def test_a_previous_set_moved_aside_read_only_is_still_removed(tmp_path):
    """The old set of a swap is removed file by file (those its manifest names), its folder made writable
    first: no `.R.old-PID` that can never be removed."""
    from cevns.outputs import _remove_set

    out = tmp_path / "res"
    _study(out)
    os.chmod(out, 0o555)
    _remove_set(out)
    assert not out.exists()


def test_a_users_file_appearing_during_the_run_is_kept(tmp_path):
    """A file the user adds to the folder while the analysis runs: the set is then written in place (no swap),
    the user's file stays."""
    out = tmp_path / "res"
    _study(out)

    def draw(results, d):
        (out / "added-meanwhile.txt").write_text("mine")
        (d / "fig.png").write_text("png")
        return ["fig"]

    write_study(out, {"results": {"x": 5.0}, "figure_data": {}}, "paper", lambda r: "# r", draw=draw)
    assert (out / "added-meanwhile.txt").read_text() == "mine" and '"x": 5.0' in (out / "results.json").read_text()
    assert not (out / "fig.pdf").exists()  # the previous set's file, named by its manifest, removed


def test_recovery_runs_only_after_the_argument_checks(tmp_path, capsys, monkeypatch):
    """A dead run's marked temporary folder is removed only by a run that passed every check (when it writes),
    never by one refused for its arguments."""
    from cevns.cli import main

    monkeypatch.chdir(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".res.tmp-{dead.pid}-abcd"
    stale.mkdir()
    (stale / STAGING_MARK).write_text("{}")
    assert main(["reproduce", "--out", "res", "--docs", "v.txt"]) == 2
    assert "Markdown" in capsys.readouterr().err and stale.exists()
    _study(tmp_path / "res")
    assert not stale.exists()


def test_one_run_at_a_time_per_output_folder(tmp_path, capsys):
    """While a run holds the lock of --out, a second `coverage` or `reproduce` into it is refused at once (exit 2,
    one line); the lock file is gone after the run."""
    from cevns.cli import main
    from cevns.outputs import OutputLock

    out = tmp_path / "cov"
    with OutputLock(out):
        assert main(["coverage", "conus-plus", "--param", "mu_nu", "--toys", "10", "--points", "3", "--workers", "0",
                     "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "another cevns run" in err and f"pid {os.getpid()}" in err and err.count("\n") == 1
        assert main(["reproduce", "--out", str(out)]) == 2
        assert "another cevns run" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no folder made, lock file removed
    with OutputLock(out):  # free again
        pass


@pytest.mark.slow
def test_two_concurrent_coverage_runs_never_mix(tmp_path):
    """Two `coverage` runs started together into one --out: one is refused (exit 2), the other writes the whole
    set; coverage.json and the figures come from the same run."""
    out = tmp_path / "cov"
    cmd = [sys.executable, "-m", "cevns", "coverage", "conus-plus", "--param", "mu_nu", "--toys", "300", "--points",
           "4", "--workers", "0", "--out", str(out)]
    procs = [subprocess.Popen(cmd + ["--seed", str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for s in (1, 2)]
    res = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in res)
    assert codes == [0, 2], res
    winner = [i for i, (c, _) in enumerate(res) if c == 0][0]
    assert "another cevns run" in res[1 - winner][1]
    assert json.loads((out / "coverage.json").read_text())["result"]["run"]["seed"] == winner + 1
    assert "wrote" not in res[1 - winner][1]  # the refused run wrote nothing


def test_the_lock_lies_inside_a_folder_whose_parent_cannot_be_written(tmp_path, monkeypatch):
    """A shared folder in a parent the user cannot write (e.g. root-owned): the lock goes inside the folder
    (every run of it decides the same way), and it is not taken for a file of the user's."""
    from cevns import outputs
    from cevns.outputs import LOCK_INSIDE, OutputLock

    out = tmp_path / "shared"
    _study(out)
    real = os.access
    monkeypatch.setattr(outputs.os, "access", lambda p, m: False if Path(p) == tmp_path else real(p, m))
    with OutputLock(out) as lock:
        assert lock.path == out / LOCK_INSIDE and foreign_files(out) == []
        with pytest.raises(CevnsInputError, match="another cevns run"):
            OutputLock(out).__enter__()
    assert not (out / LOCK_INSIDE).exists()


def test_recovery_takes_a_folder_name_literally(tmp_path):
    """A name with glob characters ("res[1]") recovers its own leftovers, not those of "res1"."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in (f".res[1].tmp-{dead.pid}-ab", f".res1.tmp-{dead.pid}-cd"):
        (tmp_path / name).mkdir()
        (tmp_path / name / STAGING_MARK).write_text("{}")
    recover(tmp_path / "res[1]")
    assert sorted(q.name for q in tmp_path.iterdir()) == [f".res1.tmp-{dead.pid}-cd"]

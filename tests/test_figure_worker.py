"""The figure worker of `cevns reproduce` (figures drawn in a forked child while the analysis runs), the shared
mathtext parses and the single layout pass of the figure style, and the nested BLAS limit: each must leave the
outputs exactly as the plain in-process path writes them."""

import os
import subprocess
import sys
import textwrap
import time

import pytest

from cevns._figure_worker import FigureWorker, fork_available

needs_fork = pytest.mark.skipif(not fork_available(True), reason="the figure worker forks on Linux only")


def _draw_pid(state, folder, names):
    """A stand-in for the figures: one text file per name with the state it saw and the drawing process."""
    for n in names:
        (folder / f"{n}.txt").write_text(f"{state[n[0]]} {os.getpid()}")


def _alive(pid):
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@needs_fork
def test_the_child_draws_each_figure_once_its_inputs_exist(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    specs = [("a1", ("a",)), ("b1", ("a", "b")), ("c1", ("c",))]
    with FigureWorker(tmp_path, specs, _draw_pid, steal=99) as w:  # no work sharing here
        child = w.pid
        assert child is not None and w.folder is not None and w.folder.parent == tmp_path
        w.send({"a": 1})
        w.send({"b": 2})
        done = w.finish({"a": 1, "b": 2, "c": 3}, dest)  # "c" never sent: drawn here
        folder = w.folder
    assert done == ["a1", "b1"] and w.drawn_by_child == done and w.child_cpu is not None
    assert (dest / "a1.txt").read_text() == f"1 {child}" and (dest / "b1.txt").read_text() == f"2 {child}"
    assert (dest / "c1.txt").read_text() == f"3 {os.getpid()}"
    assert sorted(p.name for p in dest.iterdir()) == ["a1.txt", "b1.txt", "c1.txt"]
    assert not folder.exists() and not _alive(child)


@needs_fork
def test_the_parent_takes_the_last_figures_the_child_has_not_begun(tmp_path):
    """Work sharing: with four figures queued in a slow child, the parent takes figures from the back while two
    or more are free; each figure is drawn exactly once."""
    def slow(state, folder, names):
        if os.getpid() != parent:
            time.sleep(0.3)
        _draw_pid(state, folder, names)

    parent = os.getpid()
    dest = tmp_path / "dest"
    dest.mkdir()
    specs = [(f"a{i}", ("a",)) for i in range(4)]
    with FigureWorker(tmp_path, specs, slow, steal=2) as w:
        child = w.pid
        w.send({"a": 1})
        time.sleep(0.15)  # the child has claimed a0 and sleeps in it
        done = w.finish({"a": 1}, dest)
    assert done + w.drawn_by_parent[::-1] == ["a0", "a1", "a2", "a3"]
    assert w.drawn_by_parent[:2] == ["a3", "a2"] and done[:1] == ["a0"]
    who = {p.stem: int(p.read_text().split()[1]) for p in dest.iterdir()}
    assert sorted(who) == ["a0", "a1", "a2", "a3"]
    assert {n for n, pid in who.items() if pid == child} == set(done)
    assert {n for n, pid in who.items() if pid == parent} == set(w.drawn_by_parent)


@needs_fork
def test_a_failing_child_changes_nothing(tmp_path):
    """The child raises half way: every figure is drawn in-process, none of the child's files is used."""
    parent = os.getpid()

    def draw(state, folder, names):
        if os.getpid() != parent and "b1" in names:
            raise RuntimeError("broken in the child")
        _draw_pid(state, folder, names)

    dest = tmp_path / "dest"
    dest.mkdir()
    with FigureWorker(tmp_path, [("a1", ("a",)), ("b1", ("b",))], draw, steal=99) as w:
        w.send({"a": 1, "b": 2})
        assert w.finish({"a": 1, "b": 2}, dest) == []
    assert {p.name: p.read_text() for p in dest.iterdir()} == {"a1.txt": f"1 {parent}", "b1.txt": f"2 {parent}"}


@needs_fork
def test_a_hung_child_is_killed_and_its_figures_drawn_here(tmp_path):
    parent = os.getpid()

    def hangs(state, folder, names):
        if os.getpid() != parent:
            time.sleep(60)
        _draw_pid(state, folder, names)

    dest = tmp_path / "dest"
    dest.mkdir()
    with FigureWorker(tmp_path, [("a1", ("a",))], hangs, idle_limit=0.3) as w:
        child = w.pid
        w.send({"a": 1})
        t = time.monotonic()
        assert w.finish({"a": 1}, dest) == []
        assert time.monotonic() - t < 10 and not _alive(child)
    assert (dest / "a1.txt").read_text() == f"1 {parent}"


@needs_fork
def test_an_unpicklable_part_stops_the_child(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    with FigureWorker(tmp_path, [("a1", ("a",))], _draw_pid) as w:
        child = w.pid
        w.send({"a": lambda: 0})  # cannot be pickled: the child is stopped, the parent draws
        assert w.pid is None and not _alive(child)
        assert w.finish({"a": 5}, dest) == []
    assert (dest / "a1.txt").read_text() == f"5 {os.getpid()}"


@needs_fork
def test_an_interrupt_kills_the_child_and_removes_its_folder(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with FigureWorker(tmp_path, [("a1", ("a",))], _draw_pid) as w:
            child, folder = w.pid, w.folder
            raise KeyboardInterrupt
    assert not _alive(child) and not folder.exists() and list(tmp_path.iterdir()) == []


@needs_fork
def test_the_child_dies_with_its_parent(tmp_path):
    """A parent killed with SIGKILL (no clean-up possible) leaves no orphan drawing on."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from cevns._figure_worker import FigureWorker
        w = FigureWorker(Path({str(tmp_path)!r}), [("a1", ("a",))], lambda s, f, n: time.sleep(60)).__enter__()
        w.send({{"a": 1}})  # the child now "draws" for a minute
        print(w.pid, flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(p.stdout.readline())
    assert _alive(child)
    p.kill()
    p.wait()
    for _ in range(50):
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def test_without_a_child_everything_is_drawn_in_process(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    with FigureWorker(tmp_path, [("a1", ("a",))], _draw_pid, enabled=False) as w:
        assert w.pid is None and w.folder is None
        w.send({"a": 1})
        assert w.finish({"a": 7}, dest) == []
    assert (dest / "a1.txt").read_text() == f"7 {os.getpid()}"
    assert fork_available(False) is False


def test_reproduce_drew_its_figures_in_the_child(reproduced):
    """The session's `cevns reproduce`: where the worker runs, the child drew all nine figures."""
    from cevns.plots import PAPER_FIGURES

    proc = reproduced[1]["figure_process"]
    if proc["forked"]:  # the child in order of readiness; the parent, if at all, some of the last ones
        order = ["fig1_spectrum", "fig2_sin2w", "fig4_magnetic_moment", "fig5_millicharge", "fig6_charge_radius",
                 "fig7_mediators", "fig9_comparison", "fig8_contours", "fig3_running"]
        assert proc["drawn"] + proc["drawn_here"][::-1] == order
        assert len(proc["drawn"]) >= 6 and proc["cpu_seconds"] > 0
        assert set(proc["timeline"]["figures"]) == set(proc["drawn"])
    assert sorted(proc["drawn"] + proc["drawn_here"]) == sorted(n for n, _ in PAPER_FIGURES) or not proc["forked"]


# --- the figure style: one layout pass, shared mathtext parses ---------------------------------------------
def _figure():
    from cevns.style import new_figure

    fig, ax = new_figure("single")
    ax.loglog([1.0, 30.0], [2.0, 5.0], label=r"CE$\nu$NS")
    ax.set_xlabel(r"$M_X$ [MeV]")
    ax.set_ylabel(r"$\Delta\chi^2$")
    ax.legend()
    return fig


def test_save_lays_out_once_and_writes_what_savefig_writes(tmp_path):
    """style.save computes the constrained layout once for both files: the PNG is byte for byte what a plain
    savefig writes (which lays the figure out itself), and the figure keeps its layout engine."""
    from cevns.outputs import figure_metadata, written_by_cevns
    from cevns.style import figure_style, save

    with figure_style():
        fig = _figure()
        engine = fig.get_layout_engine()
        save(fig, tmp_path / "ours")
        assert fig.get_layout_engine() is engine
        _figure().savefig(tmp_path / "plain.png", metadata=figure_metadata("plain.png"))  # the same mark
    assert (tmp_path / "ours.png").read_bytes() == (tmp_path / "plain.png").read_bytes()
    assert written_by_cevns(tmp_path / "ours.png") and written_by_cevns(tmp_path / "ours.pdf")
    assert (tmp_path / "ours.pdf").read_bytes()[:5] == b"%PDF-"


def test_mathtext_parses_are_shared_inside_the_style_only(tmp_path):
    from matplotlib.mathtext import MathTextParser

    from cevns import style

    original = MathTextParser.__dict__["_parse_cached"]
    with style.figure_style():
        assert MathTextParser.__dict__["_parse_cached"] is style._parse_shared
        with style.figure_style():  # re-entrant
            pass
        assert MathTextParser.__dict__["_parse_cached"] is style._parse_shared
        a = MathTextParser("path").parse(r"$\Delta\chi^2$", 72)
        b = MathTextParser("path").parse(r"$\Delta\chi^2$", 72)  # another parser: the same parse
        assert a is b
        assert MathTextParser("agg").parse(r"$\Delta\chi^2$", 72) is not a  # another output type: its own
    assert MathTextParser.__dict__["_parse_cached"] is original and not style._MT_CACHE


def test_nested_analyses_set_the_blas_limit_once(monkeypatch):
    import contextlib

    from cevns import _threads

    entered = []

    def counting():
        entered.append(1)
        return contextlib.nullcontext()

    monkeypatch.setattr(_threads, "blas_threads", counting)

    @_threads.limited
    def inner(x):
        return x + 1

    @_threads.limited
    def outer(x):
        return inner(inner(x))

    assert outer(1) == 3 and entered == [1]
    assert inner(1) == 2 and entered == [1, 1]

"""Figures drawn in a second process while the analysis runs (internal; used by ``cevns reproduce``).

Writing a study's figures (PNG and PDF) costs about as much CPU as its analysis.  On a machine with two or
more cores a forked child process draws them while the parent computes: the child starts before the
analysis (and imports and warms up matplotlib while the parent builds the first results), the parent hands
it each group of results as soon as it exists (:meth:`FigureWorker.send`: a pickle in the worker's private
folder, announced through a pipe), and the child draws every figure whose inputs are then complete.  When
its analysis is done the parent takes the last figures the child has not begun, as long as the child has
several ahead of it (each figure is claimed once, by an exclusive file creation, by whichever process
takes it first).

Safety (the outputs must stay atomic, see :mod:`cevns.outputs`):

* the child writes only into its own private folder beside the output folder; the parent moves the files
  of the figures the child reports finished into the staged folder (:meth:`FigureWorker.finish`), and draws
  itself every figure the child did not finish (the child failed, was killed, or a figure's inputs never
  came), so the outputs never depend on the child having worked;
* the child ignores SIGINT (the parent decides), dies with the parent (Linux ``PR_SET_PDEATHSIG``, and it
  checks its parent between figures), and is killed and reaped when the parent leaves the ``with`` block
  for any reason (an error, Ctrl-C); the private folder is removed then;
* it never returns into the caller's code: it ends with ``os._exit``;
* a child that writes nothing for two minutes while the parent waits is taken for hung, killed, and its
  figures drawn in-process.

It is used only where ``os.fork`` is safe and useful: Linux, two or more usable cores, and not disabled
with ``CEVNS_FIGURE_WORKER=0`` (or ``parallel=False``); otherwise the figures are drawn in-process, as
before.  Either way the files are identical.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, Optional, Sequence, Set, Tuple

from .outputs import mark_staging

#: draw(state, folder, names): draw the named figures from ``state`` into ``folder``
DrawFn = Callable[[Dict[str, Any], Path, Sequence[str]], None]

_DONE = "done.txt"  # the child's finished figures with their CPU seconds (written last, atomically)


def fork_available(parallel: Optional[bool] = None) -> bool:
    """Whether figures go to a forked child: ``parallel`` if given (False: never), else automatic."""
    if parallel is False or not hasattr(os, "fork") or not sys.platform.startswith("linux"):
        return False
    if parallel is None:
        if os.environ.get("CEVNS_FIGURE_WORKER", "1").strip().lower() in ("0", "no", "false", "off"):
            return False
        try:
            return len(os.sched_getaffinity(0)) >= 2
        except (AttributeError, OSError):  # pragma: no cover - Linux has it
            return (os.cpu_count() or 1) >= 2
    return True


def _die_with_parent(parent: int) -> None:
    """Linux: SIGKILL this process when its parent ends (so a killed ``cevns`` leaves no orphan)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except Exception:  # pragma: no cover - then the check between figures is the guard
        pass
    if os.getppid() != parent:  # the parent ended before prctl
        os._exit(1)


class FigureWorker:
    """Draw ``specs`` = ((figure name, (entries of the state it needs, ...)), ...) in a forked child.

    Use as a context manager around the analysis; ``send(part)`` adds entries to the state, ``finish(run,
    dest)`` collects the figures into ``dest`` (drawing in-process whatever the child did not finish).
    In the child, ``session()`` (a context manager, e.g. the figure style) is entered once around all its
    drawing, and ``warmup()`` runs inside it right after the fork (imports, caches), while the parent
    computes.  With ``enabled`` False nothing is forked and ``finish`` draws everything in-process.
    """

    def __init__(self, beside: Path, specs: Sequence[Tuple[str, Sequence[str]]], draw: DrawFn,
                 state: Optional[Dict[str, Any]] = None, warmup: Optional[Callable[[], Any]] = None,
                 session: Optional[Callable[[], ContextManager[Any]]] = None, enabled: bool = True,
                 prefix: str = ".cevns-figures-", steal: int = 2, idle_limit: float = 120.0):
        self.beside = Path(beside)
        self.prefix = prefix
        self.steal = steal
        self.idle_limit = idle_limit
        self.specs = [(str(n), tuple(needs)) for n, needs in specs]
        self.draw = draw
        self.state: Dict[str, Any] = dict(state or {})
        self._initial = set(self.state)
        self.warmup = warmup
        self.session = session
        self.enabled = enabled
        self.pid: Optional[int] = None
        self.folder: Optional[Path] = None
        self._wfd: Optional[int] = None
        self._parts = 0
        #: CPU seconds the child used (user + system), once it is reaped; the figures it drew
        self.child_cpu: Optional[float] = None
        self.drawn_by_child: List[str] = []
        self.drawn_by_parent: List[str] = []
        #: timings for benchmarks/reproduce.py: the parent's CPU seconds since the fork when each part was
        #: sent, the child's CPU seconds for its warm-up and for each figure
        self.timeline: Dict[str, Any] = {"sent": [], "warmup": None, "figures": {}}
        self._cpu0 = 0.0

    # --- parent side -----------------------------------------------------------------------------------
    def __enter__(self) -> "FigureWorker":
        if self.enabled:
            try:
                self._start()
            except OSError:
                self._stop()
                self.enabled = False
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop()

    def _start(self) -> None:
        self.beside.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(dir=self.beside, prefix=self.prefix))
        mark_staging(self.folder)  # cevns's own: a later run may remove it if this process is killed
        rfd, wfd = os.pipe()
        parent = os.getpid()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # pragma: no cover
                pass
        self._cpu0 = time.process_time()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(wfd)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                _die_with_parent(parent)
                code = self._child(rfd, parent)
            except BaseException:  # noqa: BLE001 - the parent draws what is missing
                code = 1
            finally:
                os._exit(code)
        os.close(rfd)
        self.pid, self._wfd = pid, wfd

    def send(self, part: Dict[str, Any]) -> None:
        """Hand ``part`` (entries of the run dictionary) to the child; in-process, only remember it."""
        self.state.update(part)
        if self.pid is None or self._wfd is None or self.folder is None:
            return
        self.timeline["sent"].append((sorted(part), time.process_time() - self._cpu0))
        self._parts += 1
        name = f"part-{self._parts}.pickle"
        try:
            tmp = self.folder / (name + ".tmp")
            with open(tmp, "wb") as f:
                pickle.dump(part, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.folder / name)
            os.write(self._wfd, (name + "\n").encode())
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            self._abandon()  # the child cannot have this part: finish() draws in-process

    def finish(self, run: Dict[str, Any], dest: Path) -> List[str]:
        """Draw from ``run`` the last figures the child has not begun while it still has ``steal`` or more
        ahead of it (work sharing: each figure is claimed once, by whichever process takes it first), wait for
        the child, move the figures it finished into ``dest`` and draw in-process any other; returns the
        names of the figures the child drew."""
        done: List[str] = []
        if self.pid is not None and self._wfd is not None:
            try:
                os.write(self._wfd, b"end\n")
            except OSError:
                pass
            os.close(self._wfd)
            self._wfd = None
            while True:
                free = [n for n in self._child_order() if not self._claimed(n)]
                if len(free) < self.steal:
                    break
                if self._claim(free[-1]):
                    self.draw(run, Path(dest), [free[-1]])
                    self.drawn_by_parent.append(free[-1])
            status = self._wait(self.idle_limit)
            done_file = self.folder / _DONE if self.folder else None
            if status == 0 and done_file is not None and done_file.is_file():
                names = {n for n, _ in self.specs}
                for line in done_file.read_text().splitlines():
                    n, _, cpu = line.partition(" ")
                    if n in names:
                        done.append(n)
                        self.timeline["figures"][n] = float(cpu)
                    elif n == "(warm-up)":
                        self.timeline["warmup"] = float(cpu)
                for n in done:
                    for p in sorted(self.folder.glob(n + ".*")):  # type: ignore[union-attr]
                        os.replace(p, Path(dest) / p.name)
        self.drawn_by_child = list(done)
        rest = [n for n, _ in self.specs if n not in done and n not in self.drawn_by_parent]
        if rest:
            self.draw(run, Path(dest), rest)
        return done

    def _child_order(self) -> List[str]:
        """The order in which the child draws: by the part that completed a figure's inputs, then as listed."""
        arrived = {k: -1 for k in self._initial}
        for i, (keys, _) in enumerate(self.timeline["sent"]):
            for k in keys:
                arrived.setdefault(k, i)
        last = len(self.timeline["sent"])
        when = {n: max([arrived.get(k, last) for k in needs], default=-1) for n, needs in self.specs}
        return sorted(when, key=lambda n: when[n])  # stable: the listed order within one part

    def _claim(self, name: str) -> bool:
        """Take figure ``name`` for this process; False if the other process took it first."""
        assert self.folder is not None
        try:
            os.close(os.open(self.folder / f"claim-{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            return False

    def _progress(self) -> int:
        try:
            return len(os.listdir(self.folder)) if self.folder is not None else 0
        except OSError:
            return 0

    def _claimed(self, name: str) -> bool:
        return self.folder is not None and (self.folder / f"claim-{name}").exists()

    def _wait(self, idle_limit: Optional[float] = None) -> Optional[int]:
        """Reap the child; its exit status (None if it was killed).  With ``idle_limit``, a child that writes
        nothing for that many seconds is taken for hung and killed (its figures are then drawn here)."""
        pid, self.pid = self.pid, None
        if pid is None:
            return None
        try:
            if idle_limit is not None:
                seen, since = self._progress(), time.monotonic()
                while True:
                    got, status, usage = os.wait4(pid, os.WNOHANG)
                    if got:
                        break
                    now = self._progress()
                    if now != seen:
                        seen, since = now, time.monotonic()
                    elif time.monotonic() - since > idle_limit:
                        os.kill(pid, signal.SIGKILL)
                        _, status, usage = os.wait4(pid, 0)
                        self.child_cpu = usage.ru_utime + usage.ru_stime
                        return None
                    time.sleep(0.005)
            else:
                _, status, usage = os.wait4(pid, 0)
            self.child_cpu = usage.ru_utime + usage.ru_stime
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): trust only the done file
            return 0
        return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8

    def _abandon(self) -> None:
        """Stop the child; every figure is then drawn in-process."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait()
        if self._wfd is not None:
            try:
                os.close(self._wfd)
            except OSError:
                pass
            self._wfd = None

    def _stop(self) -> None:
        self._abandon()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    # --- child side ------------------------------------------------------------------------------------
    def _child(self, rfd: int, parent: int) -> int:
        from ._threads import blas_threads

        # one BLAS thread, as in the analyses: threads of the child's BLAS would compete with the parent
        t = time.process_time()
        with blas_threads(), self.session() if self.session is not None else contextlib.nullcontext():
            if self.warmup is not None:
                try:
                    self.warmup()
                except Exception:  # a failed warm-up costs only time
                    pass
            self.timeline["warmup"] = time.process_time() - t
            done = self._serve(rfd, parent)
        if done is None:
            return 1
        assert self.folder is not None
        tmp = self.folder / (_DONE + ".tmp")
        lines = [f"(warm-up) {self.timeline['warmup']:.6f}"] + [f"{n} {self.timeline['figures'][n]:.6f}" for n in done]
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.folder / _DONE)
        return 0

    def _serve(self, rfd: int, parent: int) -> Optional[List[str]]:
        """Read parts until "end", drawing each figure once its inputs are complete; the names drawn (None:
        the parent went away)."""
        assert self.folder is not None
        pending = list(self.specs)
        done: List[str] = []
        have: Set[str] = set(self.state)
        buf = b""
        while True:
            ready = [n for n, needs in pending if set(needs) <= have]
            for n in ready:
                if os.getppid() != parent:
                    return None
                if not self._claim(n):  # the parent took it
                    continue
                t = time.process_time()
                self.draw(self.state, self.folder, [n])
                self.timeline["figures"][n] = time.process_time() - t
                done.append(n)
            pending = [(n, needs) for n, needs in pending if n not in ready]
            while b"\n" not in buf:
                chunk = os.read(rfd, 4096)
                if not chunk:  # the parent closed the pipe without "end": it gave up
                    return None
                buf += chunk
            line, buf = buf.split(b"\n", 1)
            msg = line.decode()
            if msg == "end":
                return done
            path = self.folder / msg
            with open(path, "rb") as f:
                part = pickle.load(f)
            path.unlink()
            self.state.update(part)
            have |= set(part)

"""`cevns coverage` on a cluster fails cleanly: supported schemes only, every exchange with the scheduler bounded in
time, a port of another service refused, a worker without cevns named, Ctrl-C ends with one line and exit 130, run
sizes capped to the machine, and the run time estimated before the toys start."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cevns import coverage as C
from cevns.cli import main
from cevns.errors import CevnsInputError

BASE = ["coverage", "conus-plus", "--param", "mu_nu"]


def _err(capsys):
    err = capsys.readouterr().err
    assert err.startswith("cevns: error: ") and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("addr, words", [
    ("tls://10.0.0.1:8786", "tls:// is not"), ("inproc://127.0.0.1/1/2", "inproc:// is not"),
    ("ucx://10.0.0.1:8786", "ucx:// is not"), ("ws://h:1", "ws:// is not"), ("tcp://h:0", "port 1 to 65535"),
    ("tcp://h:99999", "port 1 to 65535"), ("h:8786", "tcp://HOST:PORT"), ("tcp://a b:1", "tcp://HOST:PORT"),
])
def test_unsupported_scheduler_addresses_are_refused_in_one_line(addr, words, tmp_path, capsys):
    t0 = time.monotonic()
    assert main(BASE + ["--scheduler", addr, "--out", str(tmp_path / "c")]) == 2
    assert words in _err(capsys) and time.monotonic() - t0 < 5
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("args, words", [
    (["--points", "1000000000"], "--points must be from 3 to 1001"),
    (["--toys", "10000000", "--batch", "1"], "raise --batch"),
    (["--toys", "10000000", "--points", "1001", "--batch", "1000000"], "quarter of this machine"),
    (["--workers", "100000"], "--workers must be at most"),
    (["--toys", "10000000", "--batch", "10000000", "--points", "3"], "lower --batch"),
])
def test_run_sizes_beyond_the_machine_are_refused_at_once(args, words, tmp_path, capsys):
    t0 = time.monotonic()
    assert main(BASE + args + ["--out", str(tmp_path / "c")]) == 2
    assert words in _err(capsys) and time.monotonic() - t0 < 10
    assert not (tmp_path / "c").exists()


def test_worker_cap_is_the_cores_and_the_memory():
    most = min(C.usable_cores(), C.machine_memory() // C.WORKER_BYTES)
    C.check_run_size(21, 2000, 500, 63, workers=most)
    with pytest.raises(CevnsInputError, match="workers must be at most"):
        C.check_run_size(21, 2000, 500, 63, workers=most + 1)
    C.check_run_size(21, 2000, 500, 63, workers=most + 1, processes=False)  # threads: no process each


def test_the_api_refuses_huge_grids_before_allocating(exp):
    with pytest.raises(CevnsInputError, match="points must be an integer from 3 to 1001"):
        C.feldman_cousins(exp, "mu_nu", toys=10, points=10**9, workers=0)


class _Server:
    """A plain TCP server on 127.0.0.1 that accepts and then either stays silent or sends ``banner``."""

    def __init__(self, banner: bytes = b""):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.banner = banner
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.banner:
                c.sendall(self.banner)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("banner, words", [
    (b"", "did not answer as a Dask scheduler within 1 s"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "is not a Dask scheduler"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "is not a Dask scheduler"),
    (b"\x00" * 8, "is not a Dask scheduler"),
])
def test_probe_refuses_what_is_not_a_dask_scheduler(banner, words):
    srv = _Server(banner)
    try:
        t0 = time.monotonic()
        with pytest.raises(CevnsInputError, match=words):
            C.probe_scheduler(f"tcp://127.0.0.1:{srv.port}", timeout=1.0)
        assert time.monotonic() - t0 < 5
    finally:
        srv.close()


def test_probe_of_a_closed_port_and_an_unknown_host():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: refused
        with pytest.raises(CevnsInputError, match="cannot reach"):
            C.probe_scheduler(f"tcp://127.0.0.1:{port}", timeout=1.0)
    with pytest.raises(CevnsInputError, match="unknown host|cannot reach"):
        C.probe_scheduler("tcp://no-such-host.invalid:8786", timeout=1.0)


def test_bounded_gives_up_with_one_line():
    t0 = time.monotonic()
    with pytest.raises(CevnsInputError, match="did not answer within 0.2 s"):
        C._bounded(lambda: time.sleep(30), 0.2, "a call that hangs")
    assert time.monotonic() - t0 < 2
    assert C._bounded(lambda: 7, 1.0, "x") == 7
    with pytest.raises(ZeroDivisionError):
        C._bounded(lambda: 1 / 0, 1.0, "x")


def test_the_run_time_is_estimated_before_the_toys_start(tmp_path, capsys):
    assert main(BASE + ["--toys", "200", "--points", "3", "--workers", "0", "--out", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    line = [ln for ln in err.splitlines() if ln.startswith("cevns: coverage: ")]
    assert len(line) == 1 and "600 toys in 3 task(s) on 1 worker(s): about" in line[0], err
    assert "the first task, 200 toys, took" in line[0]


def test_the_timed_first_task_is_the_runs_own():
    """The estimate's first task is computed as part of the run: the toys are those of a run without estimate."""
    import cevns

    prob, grid, _ = C.toy_problem(cevns.load_experiment("coherent-lar-2020"), "mu_nu_mu", points=3)
    said = []
    t0, h0 = C.run_toys(prob, grid, 300, seed=5, batch=100, workers=0)
    t1, h1 = C.run_toys(prob, grid, 300, seed=5, batch=100, workers=0, announce=said.append)
    assert (t0 == t1).all() and h1["computed_toys"] == h0["computed_toys"] == 900
    assert len(said) == 1 and said[0].startswith("900 toys in 9 task(s) on 1 worker(s): about")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the longest a failing cluster run may take: the scheduler timeout (30 s) and start-up with a margin
STATED_S = 60.0


@pytest.mark.slow
def test_a_scheduler_that_accepts_and_never_answers_ends_in_exit_2(tmp_path):
    """A server that accepts connections and never answers (as a hung scheduler would): exit 2 with one line
    within STATED_S seconds (the 30 s timeout of the scheduler's handshake), not a hang."""
    srv = _Server()
    try:
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "cevns", *BASE, "--toys", "10", "--points", "3", "--scheduler",
                            f"tcp://127.0.0.1:{srv.port}", "--out", str(tmp_path / "c")],
                           capture_output=True, text=True, timeout=STATED_S + 60)
        took = time.monotonic() - t0
    finally:
        srv.close()
    assert r.returncode == 2 and took < STATED_S, (took, r.stderr)
    assert r.stderr.strip().splitlines()[-1].startswith("cevns: error: ") and "Traceback" not in r.stderr
    assert "did not answer as a Dask scheduler within 30 s" in r.stderr


BLOCK_CEVNS = '''"""Dask worker preload: this worker cannot import cevns (as on a machine without it)."""
import sys


class _NoCevns:
    def find_spec(self, name, path=None, target=None):
        if name == "cevns" or name.startswith("cevns."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NoCevns())
for m in [m for m in sys.modules if m == "cevns" or m.startswith("cevns.")]:
    del sys.modules[m]
'''


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_a_worker_without_cevns_ends_in_exit_2(tmp_path):
    """A real `dask scheduler` and a `dask worker` that cannot import cevns: exit 2, one line naming the worker
    and what to install, within STATED_S seconds of the command's start."""
    pytest.importorskip("distributed")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    (tmp_path / "block_cevns.py").write_text(BLOCK_CEVNS)
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **quiet)]
    try:
        _wait_for_port(port, 60)
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", addr, "--nthreads", "1", "--host",
                                       "127.0.0.1", "--no-dashboard", "--preload", str(tmp_path / "block_cevns.py")],
                                      cwd=tmp_path, **quiet))
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "cevns", *BASE, "--toys", "10", "--points", "3", "--scheduler", addr,
                            "--out", str(tmp_path / "c")], capture_output=True, text=True, timeout=STATED_S + 60)
        took = time.monotonic() - t0
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert r.returncode == 2 and took < STATED_S, (took, r.stderr)
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("cevns: error: Dask worker tcp://127.0.0.1:") and "cannot import cevns" in last, r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "c" / "coverage.json").exists()


@pytest.mark.slow
def test_ctrl_c_on_a_local_cluster_is_one_line_and_exit_130(tmp_path):
    """Ctrl-C on a terminal sends SIGINT to the whole process group (cevns and its Dask workers): cevns ends with
    `cevns: interrupted` and exit 130, the workers print nothing (no traceback, no warning)."""
    pytest.importorskip("distributed")
    out = tmp_path / "c"
    p = subprocess.Popen([sys.executable, "-m", "cevns", "coverage", "coherent-csi-2021", "--param", "mu_nu", "--toys",
                          "20000", "--points", "5", "--workers", "2", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((out / "cache").glob("*.npy")) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)  # until the cluster has finished a batch: mid-run
    assert p.poll() is None, p.stderr.read()
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=60)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert p.returncode == 130 and lines[-1] == "cevns: interrupted", err
    assert all(ln.startswith("cevns: ") for ln in lines), err  # the estimate and the last line, nothing of Dask's
    assert not (out / "coverage.json").exists()
    assert not [q for q in Path(tmp_path).iterdir() if q.name.startswith(".")]

"""Feldman-Cousins intervals from pseudo-experiments, and the actual coverage of the Delta chi^2 (Wilks) interval.

``feldman_cousins(exp, "mu_nu")`` (``exp`` any :class:`~cevns.experiments.Experiment` or
:class:`~cevns.experiments.JointExperiment`) builds a one-parameter Neyman construction with the
likelihood-ratio ordering of Feldman and Cousins over a grid of true values: at each true x_j, toys
drawn from the experiment's own likelihood (:mod:`cevns.toys`) give the distribution of
t = q(x_j) - min_x q(x) (q the experiment's chi^2 or -2 ln lambda, nuisances profiled, x kept in its
physical range); its ``cl`` quantile c_j is the critical value.  The FC interval of the observed data
is {x_j : t_obs(x_j) <= c_j}; the fraction of toys with t <= the Wilks level (2.71 at 90%) is the
coverage of the Delta chi^2 interval at x_j.  The construction is one-dimensional: the other
parameters of the model stay at their defaults.

Toys run in batches (a batch of toys is a matrix); batches are tasks of a Dask cluster (a local one by
default, or ``scheduler="tcp://host:port"``), or run in this process with ``workers=0``.  Each batch's
random numbers come from ``SeedSequence(seed, spawn_key=(point, batch))``: a result does not depend on
the number of workers.  With ``cache`` set, each finished batch is written there (atomically) under a
hash of its inputs, and a rerun computes only the batches still missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._files import write_atomically
from .errors import CevnsInputError
from .toys import ToyProblem, check_parts, parts_of, toy_batch

#: toys per task (part of the seed scheme: changing it changes the toys, not their statistics)
DEFAULT_BATCH = 500
#: the most toys per true value a run may ask for
MAX_TOYS = 10**7
#: the most true values on the grid
MAX_POINTS = 1001
#: the most batches (tasks) of one run: each is a task of its own, with its own overhead on a cluster
MAX_TASKS = 100_000
#: memory of one toy of a batch per bin of the data (the peak measured with tracemalloc is 130-220 bytes per bin
#: for the three built-in experiments; twice that as a margin)
BYTES_PER_TOY_BIN = 400
#: memory set aside per local worker process (an interpreter with numpy, scipy and Dask)
WORKER_BYTES = 512 * 2**20
#: seconds any one interaction with a Dask scheduler may take (connection, handshake, workers, data, close)
SCHEDULER_TIMEOUT_S = 30.0
#: seconds without a finished batch after which a run on a cluster is given up
STALL_TIMEOUT_S = 600.0
#: the scheduler address schemes supported (a local cluster needs none)
SCHEMES = ("tcp",)
#: the longest handshake a Dask scheduler sends (its first message is a few hundred bytes)
MAX_HANDSHAKE_BYTES = 1 << 20
_CACHE_VERSION = "cevns-toys-1"


# --- the problem of an experiment -------------------------------------------------------------------
def _physical_range(par: Any, even: bool) -> Tuple[float, float]:
    """The declared bounds of a parameter (:class:`cevns.parameters.Parameter`), x >= 0 if the rates are even in it."""
    lo, hi = par.bounds
    return (max(lo, 0.0) if even else lo), hi


def toy_problem(exp: Any, param: str, channels: str = "cevns+eves", grid: Optional[Sequence[float]] = None,
                points: int = 21, cl: float | str = 0.90,
                fixed: Optional[Dict[str, float]] = None) -> Tuple[ToyProblem, np.ndarray, Dict[str, Any]]:
    """The :class:`~cevns.toys.ToyProblem` of ``exp`` for ``param`` (other parameters of its model at their
    defaults, or at ``fixed`` values), the grid of true values, and the Delta chi^2 fit used to choose it (default grid: the
    physical side of 2x the Wilks upper limit for a parameter that enters squared, else the Wilks
    interval widened by half its width on each side; ``points`` values)."""
    from .analysis import combined_basis
    from .models import model_for_parameter
    from .stats import delta_chi2_level

    cls = model_for_parameter(param)
    if cls.mass_table:
        raise CevnsInputError(f"{param!r} is a mediator coupling: coverage needs a parameter of a model without a mass "
                              "(`cevns list` names them)")
    level = delta_chi2_level(cl, 1)
    if param in (fixed or {}):
        raise CevnsInputError(f"{param} is the parameter of interest: it cannot also be fixed (--fix)")
    model = cls(**(fixed or {}))
    ch = exp.channels(channels)
    basis = combined_basis(exp, model, ch)
    if param not in basis.names:
        raise CevnsInputError(f"{param!r} is not a parameter of {cls.name}")
    if not any(param in dict(m) for m in basis.monomials):
        raise CevnsInputError(f"the data of {exp.name} do not depend on {param!r} in channels {'+'.join(ch)}")
    even = all(dict(m).get(param, 0) % 2 == 0 for m in basis.monomials)
    plo, phi = _physical_range(cls.parameter(param), even)
    n_bins = int(exp.data.counts.size)
    parts = parts_of(exp.chi2_function(), n_bins)
    check_parts(parts, n_bins)
    table = cls.parameter_table
    base = np.array([model.values()[n] for n in basis.names], dtype=float)
    # the Delta chi^2 fit (the other parameters fixed, as in the toys) picks the default grid
    fixed_free: List[str] = []
    fit = exp.fit(param, "+".join(ch), levels=(cl,), free=fixed_free, n_grid=201)
    ivs = next(iter(fit.intervals.values()))
    if grid is None:
        if not isinstance(points, (int, np.integer)) or not 3 <= points <= MAX_POINTS:
            raise CevnsInputError(f"points must be an integer from 3 to {MAX_POINTS}, got {points!r}")
        if not ivs:
            raise CevnsInputError(f"no Delta chi^2 interval for {param} to centre the grid on: give grid=[...]")
        lo, hi = ivs[0][0], ivs[-1][1]
        if even:
            lo, hi = 0.0, 2.0 * hi
        else:
            w = hi - lo
            lo, hi = max(plo, lo - 0.5 * w), min(phi, hi + 0.5 * w)
        g = np.linspace(lo, hi, int(points))
    else:
        g = np.asarray(grid, dtype=float)
        if g.ndim != 1 or g.size < 3 or np.any(np.diff(g) <= 0) or not np.all(np.isfinite(g)):
            raise CevnsInputError("grid must be an increasing sequence of at least 3 finite values")
        if g[0] < plo or g[-1] > phi:
            raise CevnsInputError(f"grid must lie in the physical range of {param}: [{plo:g}, {phi:g}]")
    w = g[-1] - g[0]
    fit_lo, fit_hi = max(plo, g[0] - w), min(phi, g[-1] + w)
    prob = ToyProblem(param, table[param][1], list(basis.monomials), list(basis.names), np.asarray(basis.B, dtype=float),
                      base, parts, np.asarray(exp.data.counts, dtype=float), float(fit_lo), float(fit_hi),
                      label=exp.name)
    info = {"wilks_fit": fit, "level": level, "even": even, "physical_range": [plo, phi], "channels": "+".join(ch)}
    return prob, g, info


# --- running the toys ----------------------------------------------------------------------------------
def _task_key(fingerprint: str, x: float, seed: int, point: int, batch: int, n: int) -> str:
    return hashlib.sha256(f"{_CACHE_VERSION}|{fingerprint}|{x!r}|{seed}|{point}|{batch}|{n}".encode()).hexdigest()[:32]


def local_cluster(n_workers: int, processes: bool = True) -> Any:
    """A local Dask cluster of ``n_workers`` single-threaded workers for toys.  Dask starts worker processes with
    ``MALLOC_TRIM_THRESHOLD_`` set, which makes glibc hand every large temporary array back to the system and
    fault it in again: the toys ran 3x slower.  It is unset here (Dask's documented way: the config value None);
    on a cluster of your own, start the workers without it (docs/coverage.md).  Call it inside
    :func:`sigint_blocked` so that the workers do not take Ctrl-C (see there)."""
    import dask
    from dask.distributed import LocalCluster

    # the worker processes log nothing: their failures reach this process as task errors (one line each), and a
    # stopped run would print a warning per cancelled task and an error per missed heartbeat
    cfg = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
           "distributed.nanny.pre-spawn-environ.DASK_LOGGING__DISTRIBUTED": "100"}
    with dask.config.set(cfg):
        # the scheduler's HTTP server binds its address even without a dashboard: a free port of this machine only
        # (None would take :8787 of every interface, and warn when another cluster has it)
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                            dashboard_address="127.0.0.1:0")


class sigint_blocked:
    """SIGINT ignored and blocked while a local cluster starts.  Ctrl-C on a terminal reaches the whole process
    group: the worker processes started meanwhile inherit the ignored SIGINT (it survives their exec), so a worker
    never takes Ctrl-C (no traceback of its own) and this process stops them.  Blocked as well, a Ctrl-C during
    the start stays pending instead of being discarded (Linux keeps a blocked signal pending even while it is
    ignored): it arrives when the block ends, after the caller has the cluster in hand to close it -- unless the
    kernel hands it to another thread of this process that does not block it (a BLAS thread started earlier),
    where it is ignored: a Ctrl-C in the second or two of the start may then be lost, and must be repeated."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and hasattr(signal, "pthread_sigmask")
        self.handler: Any = None
        self.mask: Any = None

    def __enter__(self) -> "sigint_blocked":
        if self.enabled:
            self.mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            self.handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        return self

    def end(self) -> None:
        if self.mask is not None:
            mask, self.mask = self.mask, None
            signal.signal(signal.SIGINT, self.handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a pending Ctrl-C is delivered here

    def __exit__(self, *exc: Any) -> None:
        self.end()


# --- the size of a run -------------------------------------------------------------------------------------
def machine_memory() -> int:
    """Bytes of memory of this machine (8 GiB if it cannot be read)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - Linux and macOS have both
        return 8 * 2**30


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_run_size(points: int, toys: int, batch: int, n_bins: int, workers: Optional[int] = None,
                   processes: bool = True, opt: str = "") -> None:
    """Refuse a run that cannot fit this machine: more than :data:`MAX_POINTS` true values or
    :data:`MAX_TASKS` batches; the toys' statistic (points x toys numbers) above a quarter of the memory; one
    batch (about :data:`BYTES_PER_TOY_BIN` per toy and bin) above half the memory shared by the workers; more
    local worker processes than cores or than the memory holds (:data:`WORKER_BYTES` each).  ``opt``: "--" to
    name the command-line options."""
    mem = machine_memory()
    gb = lambda b: f"{b / 1e9:.3g} GB"
    if points > MAX_POINTS:
        raise CevnsInputError(f"{opt}points must be at most {MAX_POINTS} (each true value costs all its toys), "
                              f"got {points}")
    tasks = points * -(-toys // batch)
    if tasks > MAX_TASKS:
        raise CevnsInputError(f"{opt}toys {toys} in batches of {batch} at {points} points make {tasks} tasks, more than "
                              f"{MAX_TASKS} (each is a task of its own): raise {opt}batch")
    if points * toys * 8 > mem // 4:
        raise CevnsInputError(f"{opt}points x {opt}toys = {points * toys} values of the statistic need "
                              f"{gb(points * toys * 8)}, more than a quarter of this machine's {gb(mem)}")
    if workers and processes:
        most = max(1, min(usable_cores(), mem // WORKER_BYTES))
        if workers > most:
            raise CevnsInputError(f"{opt}workers must be at most {most} here (the cores this process may use, and "
                                  f"{gb(WORKER_BYTES)} of memory per worker), got {workers}")
    nw = max(1, workers or 1)
    need = min(batch, toys) * n_bins * BYTES_PER_TOY_BIN
    if need > mem // (2 * nw):
        raise CevnsInputError(f"{opt}batch {batch} needs about {gb(need)} per worker ({n_bins} bins), more than "
                              f"this machine's {gb(mem)} allows for {nw} worker(s): lower {opt}batch")


def _first_task_timed(problem: ToyProblem, todo: List[Tuple[Any, ...]], seed: int, n_workers: int,
                      store: Callable[..., None]) -> Tuple[str, List[Tuple[Any, ...]]]:
    """Compute the first task in this process, timed (after a 10-toy warm-up at a batch index no run uses), and
    store it: the expected run time of the whole from it (its toys are the run's: nothing is wasted); returns
    the message and the tasks left."""
    j, b, x, n, _ = todo[0]
    toy_batch(problem, x, seed, 0, 2**31, min(n, 10))
    t0 = time.perf_counter()
    store(todo[0], toy_batch(problem, x, seed, j, b, n))
    took = time.perf_counter() - t0
    total = sum(t[3] for t in todo)
    secs = took + took / n * (total - n) / max(1, n_workers)
    when = f"{secs:.0f} s" if secs < 120 else f"{secs / 60:.0f} min" if secs < 7200 else f"{secs / 3600:.1f} h"
    return (f"{total} toys in {len(todo)} task(s) on {n_workers} worker(s): about {when} (the first task, {n} toys, "
            f"took {took:.2g} s here)"), todo[1:]


# --- the scheduler of a cluster ----------------------------------------------------------------------------
def check_scheduler(address: str, opt: str = "scheduler") -> Tuple[str, int]:
    """(host, port) of a scheduler address ``tcp://HOST:PORT``; any other form or scheme is refused in one line."""
    m = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.-]*)://(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):(\d{1,5})", address or "")
    scheme = address.split("://", 1)[0].lower() if isinstance(address, str) and "://" in address else ""
    if scheme and scheme not in SCHEMES:
        why = {"tls": "it needs certificates and keys that cevns does not configure",
               "inproc": "it reaches only a scheduler inside this same process",
               "ucx": "it needs UCX-Py and a UCX network", "ws": "it needs Dask's websocket extra",
               "wss": "it needs Dask's websocket extra and certificates"}.get(scheme, "it is not a Dask scheme cevns knows")
        raise CevnsInputError(f"{opt} {address!r}: only tcp://HOST:PORT is supported ({scheme}:// is not: {why}); "
                              "or use --workers N for a local cluster")
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise CevnsInputError(f"{opt} must look like tcp://HOST:PORT (port 1 to 65535), got {address!r}"[:300])
    return m.group(2).strip("[]"), int(m.group(3))


def probe_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_S) -> None:
    """Check, before Dask connects, that ``address`` answers as a Dask scheduler: on a connection a scheduler
    sends its handshake at once (an 8-byte length, then that many bytes).  A port that refuses, stays silent
    (accepts and never answers) or answers with something else (an HTTP or SSH server: Dask would read its
    first bytes as a length and try to allocate it) gives a one-line :class:`CevnsInputError`."""
    host, port = check_scheduler(address)
    t0 = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror as e:
        raise CevnsInputError(f"cannot reach the Dask scheduler at {address}: unknown host ({e.strerror})") from None
    except (socket.timeout, TimeoutError):
        raise CevnsInputError(f"cannot reach the Dask scheduler at {address}: no answer within {timeout:g} s") from None
    except OSError as e:
        raise CevnsInputError(f"cannot reach the Dask scheduler at {address}: {e.strerror or e}") from None
    with sock:
        head, n = b"", None
        try:
            while n is None or len(head) < 8 + n:
                sock.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
                chunk = sock.recv(4096)
                if not chunk:
                    raise CevnsInputError(f"{address} closed the connection without answering as a Dask scheduler")
                head += chunk
                if n is None and len(head) >= 8:
                    n = int.from_bytes(head[:8], "little")
                    if not 0 < n <= MAX_HANDSHAKE_BYTES:
                        raise CevnsInputError(f"{address} is not a Dask scheduler (it answered {head[:16]!r}...)")
        except (socket.timeout, TimeoutError):
            raise CevnsInputError(f"{address} accepted the connection but did not answer as a Dask scheduler "
                                  f"within {timeout:g} s") from None
        except OSError as e:
            raise CevnsInputError(f"the Dask scheduler at {address} dropped the connection: {e.strerror or e}") from None


def _bounded(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    """``fn()`` in a helper thread, given up after ``timeout`` s with a one-line :class:`CevnsInputError` (a Dask
    call that waits for an answer that never comes would otherwise wait for ever)."""
    box: Dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e

    th = threading.Thread(target=run, name=f"cevns-{what}", daemon=True)
    th.start()
    th.join(timeout)
    if th.is_alive():
        raise CevnsInputError(f"the Dask scheduler did not answer within {timeout:g} s ({what})")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _worker_cevns_version() -> str:
    """Run on every worker: its cevns version (a worker without cevns cannot even load this function)."""
    from . import __version__

    return __version__


def _check_workers(client: Any, timeout: float) -> int:
    """The number of workers, after checking that there is one and that each has this cevns."""
    from . import __version__

    try:
        _bounded(lambda: client.wait_for_workers(1, timeout=timeout), timeout + 5, "waiting for a worker")
    except (TimeoutError, OSError):
        raise CevnsInputError(f"the Dask scheduler has no workers (none joined within {timeout:g} s)") from None
    found = _bounded(lambda: client.run(_worker_cevns_version, on_error="return"), timeout, "asking the workers")
    for addr, v in sorted(found.items()):
        if isinstance(v, BaseException):
            why = "it cannot import cevns" if "No module named 'cevns" in str(v) else f"{type(v).__name__}: {v}"
            raise CevnsInputError(f"Dask worker {addr} cannot run cevns ({why}): install cevns {__version__} on every "
                                  "worker, or use --workers N for a local cluster"[:400])
        if v != __version__:
            raise CevnsInputError(f"Dask worker {addr} has cevns {v}, this is cevns {__version__}: install the same "
                                  "version on every worker")
    return len(found)


def _task_error(e: BaseException) -> CevnsInputError:
    if isinstance(e, ImportError) and "cevns" in str(e):
        return CevnsInputError(f"a Dask worker cannot import cevns ({e}): install cevns on every worker")
    return CevnsInputError(f"a batch of toys failed on a Dask worker: {type(e).__name__}: {e}"[:400])


def _run_on_dask(problem: ToyProblem, todo: List[Tuple[Any, ...]], seed: int, workers: Optional[int],
                 scheduler: Optional[str], client: Any, processes: bool, store: Callable[..., None],
                 how: Dict[str, Any], announce: Optional[Callable[[str], None]], stall: float) -> None:
    """The batches ``todo`` on a Dask cluster (module docstring); every interaction with its scheduler is
    bounded in time (:data:`SCHEDULER_TIMEOUT_S`, and ``stall`` s without a finished batch)."""
    try:
        from dask.distributed import Client, wait
    except ImportError:
        raise CevnsInputError("parallel toys need Dask: pip install 'cevns[parallel]' "
                              "(or run in this process with workers=0 / --workers 0)") from None
    T = SCHEDULER_TIMEOUT_S
    own_cluster = own_client = None
    failed = True
    try:
        if client is None:
            if scheduler is not None:
                how["executor"] = f"dask scheduler {scheduler}"
                probe_scheduler(scheduler, T)
                try:
                    client = own_client = _bounded(lambda: Client(scheduler, timeout=f"{T:g}s"), T + 5, "connecting")
                except (OSError, TimeoutError) as e:
                    raise CevnsInputError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
            else:
                nw = int(workers) if workers else usable_cores()
                how["executor"] = f"local dask cluster, {nw} worker(s)" + ("" if processes else " (threads)")
                with sigint_blocked(processes) as block:
                    own_cluster = local_cluster(nw, processes)
                    block.end()  # a Ctrl-C during the start arrives here, with the cluster in hand to close
                client = own_client = Client(own_cluster)
        else:
            how["executor"] = f"dask client {client.scheduler.address}"
        how["workers"] = _check_workers(client, T)
        if announce is not None:
            text, todo = _first_task_timed(problem, todo, seed, how["workers"], store)
            announce(text)
        remote = _bounded(lambda: client.scatter(problem, broadcast=True, timeout=T), T + 5, "sending the problem")
        futs = {client.submit(toy_batch, remote, x, int(seed), j, b, n, key=f"cevns-toys-{key}", pure=False):
                (j, b, x, n, key) for j, b, x, n, key in todo}
        pending = set(futs)
        while pending:
            try:
                done, pending = wait(pending, timeout=stall, return_when="FIRST_COMPLETED")
            except TimeoutError:
                raise CevnsInputError(f"no batch of toys finished in {stall:g} s: the workers are gone or stuck "
                                      f"({len(pending)} of {len(futs)} tasks left)") from None
            for fu in done:
                if fu.status != "finished":
                    raise _task_error(fu.exception(timeout=T))
                store(futs[fu], fu.result(timeout=T))
                fu.release()
        failed = False
    finally:
        _close(own_client, own_cluster, T, failed)


def _close(client: Any, cluster: Any, timeout: float, failed: bool = False) -> None:
    """Close a client and a cluster of this run, each within ``timeout`` s.  After an error or Ctrl-C, Dask's
    loggers in this process (the local scheduler, its nannies) are silenced for good: closing a run that was
    stopped makes them log every task they cancel and every connection they lose, with tracebacks, also after
    the close returns; the one line of cevns is what the user needs."""
    import logging

    quiet = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL + 10 if failed else logging.CRITICAL)
    try:
        for obj in (client, cluster):
            if obj is not None:
                try:
                    _bounded(functools.partial(obj.close, timeout=timeout), timeout + 5, "closing")
                except Exception:  # noqa: BLE001 - a close that fails leaves nothing of ours to save
                    pass
    finally:
        if not failed:
            for lg, lv in zip(quiet, levels):
                lg.setLevel(lv)


def _check_run_inputs(g: np.ndarray, toys: Any, seed: Any, batch: Any, workers: Any, scheduler: Optional[str],
                      problem: ToyProblem, processes: bool) -> None:
    """run_toys' arguments: integers in range, a supported scheduler address, a size the machine can hold."""
    if isinstance(toys, bool) or not isinstance(toys, (int, np.integer)) or not 1 <= toys <= MAX_TOYS:
        raise CevnsInputError(f"toys must be an integer from 1 to {MAX_TOYS:.0e} per true value (10^4 toys take "
                              f"~10 s of one core), got {toys!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**63:
        raise CevnsInputError(f"seed must be an integer from 0 to 2^63 - 1, got {seed!r}")
    if not isinstance(batch, (int, np.integer)) or batch < 1:
        raise CevnsInputError(f"batch must be an integer >= 1, got {batch!r}")
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 0):
        raise CevnsInputError(f"workers must be an integer >= 0, got {workers!r}")
    if scheduler is not None:
        check_scheduler(scheduler)
    check_run_size(g.size, int(toys), int(batch), int(problem.observed.size), None if workers is None else int(workers),
                   processes)


def run_toys(problem: ToyProblem, grid: Any, toys: int, seed: int = 0, batch: int = DEFAULT_BATCH,
             workers: Optional[int] = None, scheduler: Optional[str] = None, client: Any = None,
             processes: bool = True, cache: Optional[str | Path] = None,
             progress: Optional[Callable[[int, int], None]] = None,
             announce: Optional[Callable[[str], None]] = None,
             stall: float = STALL_TIMEOUT_S) -> Tuple[np.ndarray, Dict[str, Any]]:
    """The statistic t of ``toys`` toys at each grid value: (len(grid), toys), and how it was run.

    ``workers=0``: in this process; ``workers=N`` (default: the number of cores): a local Dask cluster of
    N single-threaded workers (``processes=False``: threads in this process); ``scheduler``: the address
    of a running Dask scheduler (``tcp://HOST:PORT``); ``client``: a ``dask.distributed.Client`` to use as is.
    ``announce(text)`` receives the expected run time before the toys start; ``stall``: seconds without a
    finished batch after which a cluster run is given up.  Sizes beyond the machine are refused
    (:func:`check_run_size`)."""
    g = np.asarray(grid, dtype=float)
    _check_run_inputs(g, toys, seed, batch, workers, scheduler, problem, processes)
    fp = problem.fingerprint()
    tasks = []
    for j, x in enumerate(g):
        for b in range(0, (toys + batch - 1) // batch):
            n = min(batch, toys - b * batch)
            tasks.append((j, b, float(x), n, _task_key(fp, float(x), int(seed), j, b, n)))
    out = np.empty((g.size, toys))
    cdir = Path(cache) if cache is not None else None
    if cdir is not None:
        cdir.mkdir(parents=True, exist_ok=True)
    done, todo = 0, []
    for j, b, x, n, key in tasks:
        f = cdir / f"{key}.npy" if cdir is not None else None
        if f is not None and f.exists():
            try:
                arr = np.load(f)
                if arr.shape == (n,):
                    out[j, b * batch:b * batch + n] = arr
                    done += 1
                    continue
            except (OSError, ValueError):
                pass
        todo.append((j, b, x, n, key))
    cached = done
    if progress:
        progress(done, len(tasks))

    def store(task, arr):
        nonlocal done
        j, b, _x, n, key = task
        out[j, b * batch:b * batch + n] = arr
        if cdir is not None:
            write_atomically(cdir / f"{key}.npy", lambda f: np.save(f, np.asarray(arr, dtype=float)))
        done += 1
        if progress:
            progress(done, len(tasks))

    t0 = time.perf_counter()
    how: Dict[str, Any] = {"tasks": len(tasks), "cached_tasks": cached, "batch": batch, "seed": int(seed)}
    if todo and workers == 0 and scheduler is None and client is None:
        how["executor"] = "in-process"
        if announce is not None:
            text, todo_rest = _first_task_timed(problem, todo, int(seed), 1, store)
            announce(text)
        else:
            todo_rest = todo
        for task in todo_rest:
            j, b, x, n, _ = task
            store(task, toy_batch(problem, x, int(seed), j, b, n))
    elif todo:
        _run_on_dask(problem, todo, int(seed), workers, scheduler, client, processes, store, how, announce, stall)
    else:
        how["executor"] = "cache"
    how["wall_s"] = time.perf_counter() - t0
    how["computed_toys"] = int(sum(t[3] for t in todo))
    return out, how


# --- the result ---------------------------------------------------------------------------------------
@dataclass
class CoverageResult:
    """A Feldman-Cousins construction and the coverage of the Delta chi^2 interval on the same toys.

    ``grid``: true values; ``critical``: the FC critical value c_j of t at each (the ``cl`` quantile of
    the toys); ``wilks_coverage`` (and its binomial error): fraction of toys with t <= ``level``;
    ``t_observed``: t of the data at each grid value; ``fc_intervals``/``wilks_intervals``: the
    intervals of the data."""

    param: str
    unit: str
    experiment: str
    channels: str
    cl: float
    level: float
    toys: int
    grid: np.ndarray
    critical: np.ndarray
    wilks_coverage: np.ndarray
    wilks_coverage_error: np.ndarray
    t_observed: np.ndarray
    fc_intervals: List[List[float]]
    wilks_intervals: List[List[float]]
    best_fit: float
    physical_range: Tuple[float, float]
    scan: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    scan_dchi2: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    run: Dict[str, Any] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    #: the experiment's title for figures (its name when empty)
    title: str = ""

    @property
    def fc_upper(self) -> float:
        return float(self.fc_intervals[-1][1]) if self.fc_intervals else float("nan")

    @property
    def wilks_upper(self) -> float:
        return float(self.wilks_intervals[-1][1]) if self.wilks_intervals else float("nan")

    def to_dict(self) -> Dict[str, Any]:
        f = lambda a: [float(v) for v in a]
        return {"param": self.param, "unit": self.unit, "experiment": self.experiment, "channels": self.channels,
                "cl": self.cl, "wilks_level": self.level, "toys_per_point": self.toys,
                "best_fit": self.best_fit, "physical_range": f(self.physical_range),
                "fc_intervals": [f(i) for i in self.fc_intervals],
                "wilks_intervals": [f(i) for i in self.wilks_intervals],
                "points": [{"true": float(x), "critical_t": float(c), "wilks_coverage": float(p),
                            "wilks_coverage_error": float(e), "t_observed": float(t)}
                           for x, c, p, e, t in zip(self.grid, self.critical, self.wilks_coverage,
                                                    self.wilks_coverage_error, self.t_observed)],
                "run": self.run, "notes": self.notes}

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), indent=kw.pop("indent", 2), **kw)

    def __str__(self) -> str:
        iv = lambda ivs: " U ".join(f"[{a:.4g}, {b:.4g}]" for a, b in ivs) or "(empty)"
        lines = [f"{self.param} ({self.experiment}, {self.channels}): Feldman-Cousins at {100 * self.cl:g}% C.L., "
                 f"{self.toys} toys per point, {self.grid.size} points",
                 f"  FC interval     {iv(self.fc_intervals)} {self.unit}",
                 f"  Delta chi^2     {iv(self.wilks_intervals)} {self.unit}  (Delta chi^2 <= {self.level:.3f})",
                 f"  {'true':>12}  {'c_FC':>7}  {'Wilks coverage':>16}  {'t_obs':>8}"]
        for x, c, p, e, t in zip(self.grid, self.critical, self.wilks_coverage, self.wilks_coverage_error,
                                 self.t_observed):
            lines.append(f"  {x:12.4g}  {c:7.3f}  {p:9.4f} +- {e:.4f}  {t:8.3f}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def figure(self, path: Optional[str | Path] = None, exts: Sequence[str] = ("png", "pdf")):
        """Two panels: the coverage of the Delta chi^2 interval vs the true value (nominal line, binomial
        errors); the observed t beside the FC critical values and the Wilks level, with both intervals as
        bands.  Written to ``path`` (without extension: ``.png`` and ``.pdf``) if given; returns the figure."""
        from .labels import UnknownLabel, label
        from .style import GUIDE, OKABE_ITO, figure_style, new_figure, save

        try:
            lab = label(self.param)
            scale, xlabel = lab.scale, lab.axis
        except UnknownLabel:
            scale, xlabel = 1.0, self.param + (f" [{self.unit}]" if self.unit else "")
        x = self.grid / scale
        with figure_style():
            fig, (a1, a2) = new_figure("single", 4.8, 2, 1, sharex=True)
            a1.axhline(self.cl, **GUIDE, label=f"nominal {100 * self.cl:g}%")
            a1.errorbar(x, self.wilks_coverage, yerr=self.wilks_coverage_error, fmt="o", ms=2.5, lw=0.8,
                        color=OKABE_ITO["vermillion"], label=rf"$\Delta\chi^2 \leq {self.level:.2f}$")
            a1.set_ylabel(r"coverage of the $\Delta\chi^2$ interval")
            lo = min(float(np.min(self.wilks_coverage - 3 * self.wilks_coverage_error)), self.cl - 0.02)
            hi = max(float(np.max(self.wilks_coverage + 3 * self.wilks_coverage_error)), self.cl + 0.02)
            a1.set_ylim(max(lo, 0.0), min(hi, 1.0))
            if self.scan.size:
                a2.plot(self.scan / scale, self.scan_dchi2, color=OKABE_ITO["black"], lw=1.0,
                        label=r"data: $\Delta\chi^2$")
            a2.plot(x, self.critical, "s-", ms=2.5, lw=1.0, color=OKABE_ITO["blue"], label="FC critical value")
            a2.axhline(self.level, color=OKABE_ITO["vermillion"], ls="--", lw=1.0, label=r"$\Delta\chi^2$ (Wilks) level")
            for i, (a, b) in enumerate(self.fc_intervals):
                a2.axvspan(a / scale, b / scale, ymin=0.0, ymax=0.06, color=OKABE_ITO["blue"], alpha=0.6,
                           label=f"FC {100 * self.cl:g}% interval" if i == 0 else None)
            for i, (a, b) in enumerate(self.wilks_intervals):
                a2.axvspan(a / scale, b / scale, ymin=0.07, ymax=0.13, color=OKABE_ITO["vermillion"], alpha=0.6,
                           label=rf"$\Delta\chi^2$ {100 * self.cl:g}% interval" if i == 0 else None)
            top = max(float(np.max(self.critical)), self.level) * 2.0
            a2.set_ylim(0.0, top)
            pad = 0.02 * (x[-1] - x[0])
            a2.set_xlim(x[0] - pad, x[-1] + pad)
            a2.set_ylabel(r"$t = \Delta\chi^2$")
            a2.set_xlabel(xlabel)
            h1, l1 = a1.get_legend_handles_labels()  # both panels' legends below them, where they hide no point
            h2, l2 = a2.get_legend_handles_labels()
            fig.legend(h1 + h2, l1 + l2, loc="outside lower center", ncol=2, fontsize=6)
            a1.set_title(f"{self.title or self.experiment}: {self.toys} toys per point", fontsize=7)
            if path is not None:
                save(fig, Path(path), exts)
        return fig


def _intervals_from(grid: np.ndarray, d: np.ndarray) -> List[List[float]]:
    """Connected regions where d <= 0 on ``grid``, edges linearly interpolated (closed at the grid ends)."""
    from .stats import regions

    return regions(grid, d <= 0, lambda a, b: grid[a] + (grid[b] - grid[a]) * d[a] / (d[a] - d[b]))


def construct(problem: ToyProblem, grid: Any, t: np.ndarray, cl: float, level: float,
              experiment: str = "", channels: str = "", physical_range: Tuple[float, float] = (-np.inf, np.inf),
              run: Optional[Dict[str, Any]] = None, n_scan: int = 401) -> CoverageResult:
    """The FC construction from the toys' statistic ``t`` (len(grid), toys), the observed data in ``problem``."""
    g = np.asarray(grid, dtype=float)
    toys = t.shape[1]
    crit = np.quantile(t, cl, axis=1, method="inverted_cdf")
    cov = (t <= level).mean(axis=1)
    err = np.sqrt(np.maximum(cov * (1.0 - cov), 1.0 / toys) / toys)
    obs = problem.observed[None, :]
    qmin, xbest = problem.minimise(obs)
    qg, _ = problem.q(obs, problem.signal(g)[None, :, :])
    t_obs = qg[0] - min(float(qmin[0]), float(qg[0].min()))
    scan = np.linspace(problem.lo, problem.hi, n_scan)
    qs, _ = problem.q(obs, problem.signal(scan)[None, :, :])
    q0 = min(float(qmin[0]), float(qs[0].min()), float(qg[0].min()))
    best = float(xbest[0]) if qmin[0] <= qs[0].min() else float(scan[int(np.argmin(qs[0]))])
    dchi = qs[0] - q0
    # FC interval: where the data's t (exact, on a fine scan) is below the critical values (linear between the
    # grid's true values)
    fine = np.linspace(g[0], g[-1], 20 * (g.size - 1) + 1)
    qf, _ = problem.q(obs, problem.signal(fine)[None, :, :])
    fc = _intervals_from(fine, qf[0] - q0 - np.interp(fine, g, crit))
    wilks = _wilks_intervals(problem, scan, dchi, q0, level)
    notes = []
    if fc and fc[-1][1] >= g[-1]:
        notes.append("the FC interval reaches the top of the grid: widen the grid")
    if fc and fc[0][0] <= g[0] and g[0] > physical_range[0]:
        notes.append("the FC interval reaches the bottom of the grid: widen the grid")
    return CoverageResult(problem.param, problem.unit, experiment, channels, float(cl), float(level), toys, g, crit,
                          cov, err, t_obs, fc, wilks, best, physical_range, scan, dchi, dict(run or {}), notes)


def _wilks_intervals(problem: ToyProblem, scan: np.ndarray, dchi: np.ndarray, q0: float, level: float):
    from .stats import find_intervals

    obs = problem.observed[None, :]
    f = lambda x: float(problem.q(obs, problem.signal([x])[None, :, :])[0][0, 0]) - q0
    # the values on the scan from the same scalar function the root finder calls (rounding consistent)
    return find_intervals(f, scan, level)


def _cl_value(cl: float | str) -> float:
    from scipy.stats import chi2 as chi2_dist

    from .stats import delta_chi2_level

    return float(chi2_dist.cdf(delta_chi2_level(cl, 1), 1))


def feldman_cousins(exp: Any, param: str, grid: Optional[Sequence[float]] = None, toys: int = 2000,
                    cl: float | str = 0.90, channels: str = "cevns+eves", seed: int = 0, points: int = 21,
                    batch: int = DEFAULT_BATCH, workers: Optional[int] = None, scheduler: Optional[str] = None,
                    client: Any = None, processes: bool = True, cache: Optional[str | Path] = None,
                    progress: Optional[Callable[[int, int], None]] = None,
                    announce: Optional[Callable[[str], None]] = None,
                    fixed: Optional[Dict[str, float]] = None) -> CoverageResult:
    """Feldman-Cousins interval of ``param`` for experiment ``exp`` (any Experiment or JointExperiment) from
    ``toys`` pseudo-experiments at each of ``points`` true values (or ``grid``), and the coverage of the
    Delta chi^2 interval at each; execution as in :func:`run_toys`.  One-dimensional: the other parameters
    of the model are fixed at their defaults or at ``fixed`` values (no profiling over them)."""
    clv = _cl_value(cl)
    prob, g, info = toy_problem(exp, param, channels, grid, points, cl, fixed)
    t, how = run_toys(prob, g, toys, seed, batch, workers, scheduler, client, processes, cache, progress, announce)
    how["seconds_per_10k_toys"] = how["wall_s"] / max(how["computed_toys"], 1) * 1e4 if how["computed_toys"] else None
    res = construct(prob, g, t, clv, info["level"], exp.name, info["channels"], tuple(info["physical_range"]), how)
    res.title = str(getattr(exp, "title", "") or exp.name)
    res.notes.append("one-dimensional construction: the other parameters of the model held fixed, at their defaults"
                     + (" except " + ", ".join(f"{k} = {v:g}" for k, v in fixed.items()) if fixed else ""))
    res.notes.append("toys: nuisances drawn from their constraints (Gaussian normalisation for chi^2 parts, "
                     "N(0, 1) for Poisson parts), data from the experiment's likelihood")
    return res


coverage = feldman_cousins
"""Alias: the same construction, read for the coverage of the Delta chi^2 interval (``result.wilks_coverage``)."""


def progress_bar(label: str = "toys", stream: Any = None) -> Callable[[int, int], None]:
    """A one-line progress display (tasks done / total, elapsed time) on stderr."""
    out = stream or sys.stderr
    t0 = time.perf_counter()

    def show(done: int, total: int) -> None:
        n = int(30 * done / max(total, 1))
        out.write(f"\r{label} [{'#' * n}{'.' * (30 - n)}] {done}/{total} tasks {time.perf_counter() - t0:6.1f}s")
        if done >= total:
            out.write("\n")
        out.flush()

    return show

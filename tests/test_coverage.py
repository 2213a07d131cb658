"""Feldman-Cousins constructions from toys (cevns.coverage, cevns.toys): the textbook Gaussian case against the
published table and the exact construction, coverage within binomial errors, the statistics against the
package's own, reproducibility whatever the number of workers, caching, the CLI and a real Dask cluster."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

import cevns
from cevns import coverage as C
from cevns.counting import with_data
from cevns.toys import GaussianPart, ToyProblem, toy_batch

CL = 0.90
LEVEL = float(stats.chi2.ppf(CL, 1))


def gaussian_problem(x0: float = 0.0, lo: float = 0.0, hi: float = 10.0) -> ToyProblem:
    """x ~ N(mu, 1) with the fit range [lo, hi] (lo = 0: the physical boundary mu >= 0)."""
    return ToyProblem("mu", "", [(("mu", 1),)], ["mu"], np.array([[1.0]]), np.array([0.0]),
                      [GaussianPart(np.array([0]), np.array([1.0]), 0.0)], np.array([x0]), lo, hi)


def _critical(mu: float) -> float:
    """The exact FC critical value of t at mu for x ~ N(mu, 1), mu >= 0: the acceptance region {t <= c} is
    [mu - sqrt(c), mu + sqrt(c)] for x >= 0, and x >= (mu^2 - c) / (2 mu) below 0; its probability is CL."""
    def excess(c):
        r = np.sqrt(c)
        x1 = mu - r if mu >= r else ((mu * mu - c) / (2 * mu) if mu > 0 else -np.inf)
        return stats.norm.cdf(r) - stats.norm.cdf(x1 - mu) - CL
    return optimize.brentq(excess, 1e-9, 30.0)


MUS = np.linspace(0.0, 6.0, 1201)
_CRIT: list = []


def exact_fc(x0: float) -> tuple:
    """The exact FC interval (to the 0.005 step of MUS): the acceptance regions from the normal integral, no toys."""
    if not _CRIT:
        _CRIT.append(np.array([_critical(m) for m in MUS]))
    t_obs = (x0 - MUS) ** 2 - (x0 - max(x0, 0.0)) ** 2
    inside = MUS[t_obs <= _CRIT[0]]
    return float(inside.min()), float(inside.max())


# Feldman & Cousins, Phys. Rev. D 57, 3873 (1998), Table X (90% C.L., Gaussian with mu >= 0): x0 = 2.6 ->
# [1.02, 4.24] as quoted in gammapy's test suite (gammapy/stats/tests/test_feldman_cousins.py); x0 = 0 -> upper
# limit 1.64.  The exact construction below reproduces both, and we compare the toys with it at more x0.
PUBLISHED = {0.0: (0.0, 1.64), 2.6: (1.02, 4.24)}


@pytest.fixture(scope="module")
def textbook():
    prob = gaussian_problem()
    grid = np.linspace(0.0, 5.0, 41)
    t, how = C.run_toys(prob, grid, 10000, seed=3, batch=2500, workers=0)
    return prob, grid, t


def test_exact_construction_reproduces_the_published_table():
    for x0, (lo, hi) in PUBLISHED.items():
        a, b = exact_fc(x0)
        assert a == pytest.approx(lo, abs=0.006) and b == pytest.approx(hi, abs=0.006)


@pytest.mark.parametrize("x0", [-1.0, 0.0, 1.0, 2.0, 2.6, 3.0])
def test_toy_fc_interval_equals_the_exact_one(textbook, x0):
    prob, grid, t = textbook
    res = C.construct(dataclasses.replace(prob, observed=np.array([x0])), grid, t, CL, LEVEL)
    (lo, hi), = res.fc_intervals
    a, b = exact_fc(x0)
    # 10^4 toys per point: the 90% quantile of t is known to ~0.02, the edges to ~0.02 (4 sigma below)
    assert lo == pytest.approx(a, abs=0.08) and hi == pytest.approx(b, abs=0.08)
    if x0 in PUBLISHED:
        assert (lo, hi) == pytest.approx(PUBLISHED[x0], abs=0.08)


def test_textbook_critical_values_and_wilks_coverage(textbook):
    prob, grid, t = textbook
    res = C.construct(prob, grid, t, CL, LEVEL)
    # far from the boundary t is chi^2_1: the critical value is 2.71 and Delta chi^2 covers; at mu = 0 the
    # boundary halves the distribution (t = 0 for x < 0): c = chi^2_1 quantile at 0.8 = 1.64, and Wilks over-covers
    assert res.critical[0] == pytest.approx(stats.chi2.ppf(0.8, 1), abs=0.15)  # 3 sigma of a 10^4-toy quantile
    far = grid >= 3.0
    assert np.allclose(res.critical[far], LEVEL, atol=0.15)
    assert res.wilks_coverage[0] == pytest.approx(0.95, abs=4 * res.wilks_coverage_error[0])
    assert np.all(np.abs(res.wilks_coverage[far] - CL) < 4 * res.wilks_coverage_error[far])


def test_known_correct_interval_covers_within_binomial_errors():
    # no boundary: t = (x - mu)^2 exactly, so Delta chi^2 <= 2.71 is an exact 90% interval
    prob = gaussian_problem(lo=-15.0, hi=15.0)
    grid = np.linspace(-2.0, 2.0, 5)
    t, _ = C.run_toys(prob, grid, 8000, seed=11, batch=2000, workers=0)
    cov = (t <= LEVEL).mean(axis=1)
    err = np.sqrt(CL * (1 - CL) / t.shape[1])
    assert np.all(np.abs(cov - CL) < 3.5 * err), cov
    # and the minimiser finds the analytic best fit: t equals (x - mu)^2 toy by toy
    rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(1, 0)))
    x = prob.generate(rng, grid[1], 2000)[:, 0]
    assert np.allclose(t[1, :2000], (x - grid[1]) ** 2, rtol=1e-9, atol=1e-9)


def _toy_statistic_against(exp, param, x_true, scan, reference, seed, **tol):
    """The vectorised toy statistic q of 3 toys over a scan of the parameter equals ``reference(toy_data, S)``,
    the package's own statistic for those data, toy by toy."""
    prob, grid, _ = C.toy_problem(exp, param, points=5)
    data = prob.generate(np.random.default_rng(seed), grid[x_true], 3)
    S = prob.signal(scan)
    q, _ = prob.q(data, np.broadcast_to(S, (3,) + S.shape))
    for i in range(3):
        assert np.allclose(q[i], reference(data[i], S), **tol)


def test_gaussian_statistic_equals_chi2_of_the_experiment(exp):
    _toy_statistic_against(exp, "mu_nu", 2, np.linspace(0, 3e-10, 9),
                           lambda d, S: cevns.Chi2(d, exp.data.sigma, exp.sigma_alpha)(S), 1, rtol=1e-12, atol=1e-10)


@pytest.fixture(scope="module")
def lar():
    return cevns.load_experiment("coherent-lar-2020")


def test_poisson_statistic_equals_the_profiled_likelihood(lar):
    _toy_statistic_against(lar, "mu_nu_mu", 3, np.linspace(0, 1.5e-8, 7),
                           lambda d, S: with_data(lar.counting, d, "toy").likelihood(S), 2, rtol=1e-9, atol=1e-7)


def test_toys_follow_the_likelihood(exp, lar):
    prob, grid, _ = C.toy_problem(exp, "mu_nu", points=5)
    s = prob.signal([grid[2]])[0]
    d = prob.generate(np.random.default_rng(5), grid[2], 40000)
    sd = np.sqrt(exp.data.sigma**2 + (s * exp.sigma_alpha) ** 2)  # data noise and the normalisation nuisance
    assert np.all(np.abs(d.mean(0) - s) < 5 * sd / np.sqrt(d.shape[0]))
    assert np.allclose(d.std(0), sd, rtol=0.03)
    prob, grid, _ = C.toy_problem(lar, "mu_nu_mu", points=5)
    d = prob.generate(np.random.default_rng(6), 0.0, 4000)
    assert np.all(d == np.round(d)) and d.min() >= 0
    expect = prob.signal([0.0])[0] + lar.counting.likelihood.bkg_total
    assert d.sum(1).mean() == pytest.approx(expect.sum(), rel=0.01)


def test_bit_identical_with_one_and_four_workers_and_in_process(exp):
    prob, grid, _ = C.toy_problem(exp, "mu_nu", points=4)
    t0, _ = C.run_toys(prob, grid, 300, seed=7, batch=100, workers=0)
    t1, h1 = C.run_toys(prob, grid, 300, seed=7, batch=100, workers=1, processes=False)
    t4, h4 = C.run_toys(prob, grid, 300, seed=7, batch=100, workers=4, processes=False)
    assert h1["workers"] == 1 and h4["workers"] == 4
    assert np.array_equal(t0, t1) and np.array_equal(t1, t4)
    t_other, _ = C.run_toys(prob, grid, 300, seed=8, batch=100, workers=0)
    assert not np.array_equal(t0, t_other)


@pytest.mark.slow  # a Dask cluster's start-up: ~4 s
def test_poisson_toys_identical_in_process_and_on_a_process_worker(lar):
    # a process worker runs one BLAS thread (Dask sets it); this process may run more: the toys pin one thread,
    # so matrix products sum in the same order everywhere
    prob, grid, _ = C.toy_problem(lar, "mu_nu_mu", points=3)
    grid = grid[1:]
    t0, _ = C.run_toys(prob, grid, 500, seed=4, batch=500, workers=0)
    t1, h = C.run_toys(prob, grid, 500, seed=4, batch=500, workers=1, processes=True)
    assert h["executor"].startswith("local dask cluster, 1 worker")
    assert np.array_equal(t0, t1)


def test_cache_resumes_an_interrupted_run(exp, tmp_path):
    prob, grid, _ = C.toy_problem(exp, "mu_nu", points=3)
    full, h = C.run_toys(prob, grid, 400, seed=1, batch=100, workers=0, cache=tmp_path)
    files = sorted(tmp_path.glob("*.npy"))
    assert h["cached_tasks"] == 0 and len(files) == 12 and not list(tmp_path.glob(".tmp-*"))
    for f in files[::2]:  # an interrupted run: half the batches missing
        f.unlink()
    seen = []
    again, h2 = C.run_toys(prob, grid, 400, seed=1, batch=100, workers=0, cache=tmp_path,
                           progress=lambda d, n: seen.append(d))
    assert h2["cached_tasks"] == 6 and h2["computed_toys"] == 600 and seen[0] == 6 and seen[-1] == 12
    assert np.array_equal(full, again)
    _, h3 = C.run_toys(prob, grid, 400, seed=1, batch=100, workers=0, cache=tmp_path)
    assert h3["executor"] == "cache" and h3["computed_toys"] == 0


def test_feldman_cousins_on_conus_plus(exp, tmp_path):
    res = C.feldman_cousins(exp, "mu_nu", toys=1000, points=7, workers=0, seed=2)
    wilks = exp.fit("mu_nu", levels=("90%",)).intervals["90%"]
    assert res.wilks_intervals[0][1] == pytest.approx(wilks[0][1], rel=1e-6, abs=0)
    assert res.fc_intervals[0][0] == 0.0 and 1.0e-10 < res.fc_upper < 1.6e-10
    assert res.critical[0] < 2.2 and res.wilks_coverage[0] > 0.92  # the boundary: Wilks over-covers at mu_nu = 0
    d = json.loads(res.to_json())
    assert d["fc_intervals"] == res.fc_intervals and len(d["points"]) == 7
    fig = res.figure(tmp_path / "cov")
    assert (tmp_path / "cov.png").stat().st_size > 1000 and len(fig.axes) == 2
    assert "FC interval" in str(res)


def test_bad_input_is_an_input_error(exp):
    with pytest.raises(cevns.CevnsInputError, match="mediator"):
        C.feldman_cousins(exp, "g", toys=10, workers=0)
    with pytest.raises(cevns.CevnsInputError, match="toys"):
        C.feldman_cousins(exp, "mu_nu", toys=0, workers=0)
    with pytest.raises(cevns.CevnsInputError, match="physical"):
        C.feldman_cousins(exp, "mu_nu", grid=[-1e-10, 0, 1e-10], toys=10, workers=0)
    with pytest.raises(cevns.CevnsInputError, match="unknown parameter"):
        C.feldman_cousins(exp, "mu_nux", toys=10, workers=0)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cevns", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def _main(capsys, *args):
    """The command line in this process (as `python -m cevns` runs it, without an interpreter start each):
    exit status, stdout, stderr."""
    from cevns.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, msg", [
    (["--toys", "0"], "--toys"),
    (["--points", "2"], "--points"),
    (["--scheduler", "localhost"], "tcp://HOST:PORT"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers"),
    (["--workers", "-1"], "--workers"),
    (["--cl", "120%"], "confidence level"),
])
def test_cli_errors_are_one_line(args, msg, tmp_path, capsys):
    code, _, err = _main(capsys, "coverage", "conus-plus", "--param", "mu_nu", "--out", str(tmp_path), *args)
    assert code == 2 and msg in err and err.count("\n") == 1, err


def test_cli_in_process(tmp_path, capsys):
    code, out, err = _main(capsys, "coverage", "conus-plus", "--param", "mu_nu", "--toys", "200", "--points", "4",
                           "--workers", "0", "--out", str(tmp_path), "--json")
    assert code == 0, err
    env = json.loads(out)
    d = env["result"]
    assert d["param"] == "mu_nu" and d["toys_per_point"] == 200 and len(d["points"]) == 4
    assert json.loads((tmp_path / "coverage.json").read_text()) == env
    assert (tmp_path / "coverage.png").exists() and len(list((tmp_path / "cache").glob("*.npy"))) == 4


def test_import_cevns_stays_light():
    code = "import sys, cevns, cevns.coverage; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "False", r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_cli_on_a_dask_cluster_over_loopback(tmp_path):
    """As a user with a cluster: a `dask scheduler` and a `dask worker` on 127.0.0.1, the job sent with --scheduler."""
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    # the workers as docs/coverage.md recommends: Dask's MALLOC_TRIM_THRESHOLD_ unset by a config file
    conf = tmp_path / "dask-config"
    conf.mkdir()
    (conf / "cevns.yaml").write_text("distributed:\n  nanny:\n    pre-spawn-environ:\n      MALLOC_TRIM_THRESHOLD_: null\n")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    env["DASK_CONFIG"] = str(conf)
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        from dask.distributed import Client

        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", addr, "--nthreads", "1", "--nworkers", "2",
                                       "--host", "127.0.0.1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path))
        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(2, timeout=90)
            envs = c.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(envs.values()) == [None, None]
        r = _cli("coverage", "conus-plus", "--param", "mu_nu", "--toys", "300", "--points", "4", "--batch", "100",
                 "--scheduler", addr, "--out", str(tmp_path / "out"), "--json")
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout)["result"]
        assert d["run"]["executor"] == f"dask scheduler {addr}" and d["run"]["workers"] == 2
        local = C.feldman_cousins(cevns.load_experiment("conus-plus"), "mu_nu", toys=300, points=4, batch=100, workers=0)
        assert [p["critical_t"] for p in d["points"]] == [float(c) for c in local.critical]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert all(p.returncode is not None for p in procs)


def test_toy_batch_depends_only_on_its_seed_key():
    prob = gaussian_problem()
    a = toy_batch(prob, 1.0, 5, 2, 3, 50)
    assert np.array_equal(a, toy_batch(prob, 1.0, 5, 2, 3, 50))
    assert not np.array_equal(a, toy_batch(prob, 1.0, 5, 2, 4, 50))
    assert Path(C.__file__).name == "coverage.py"

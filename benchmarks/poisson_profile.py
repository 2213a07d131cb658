"""The Poisson nuisance profile and the three-experiment B-L exclusion (issue 27): cevns against a bare-numpy
floor and against other source trees, every ratio measured in the same run on one BLAS thread.

Run:  python benchmarks/poisson_profile.py [--repeat 5] [--src PATH ...] [--masses 121] [--no-profile]
      [--no-exclusion]

1. The joint B-L exclusion of conus-plus + coherent-csi-2021 + coherent-lar-2020 (121 masses, 401 couplings per
   mass) in a fresh interpreter per source tree (default: this repository's src/; give others with --src, e.g.
   the code before a change, made with `git archive <commit> src | tar -x -C DIR`), the trees interleaved so
   that a change of the machine's load hits them alike; the medians of wall and CPU time and their ratios to
   the first tree.  A tree whose CPU time is more than 1.25x the tree's before it is flagged (the regression of
   commit eed75c6, 1.76x, is the case this comparison exists for: run it with --src on the trees of c97ddfe and
   eed75c6).
2. The profile itself, on the exclusion's scan points of CsI + LAr (shared flux; the points with fewer than 1e5
   events in every bin, where the profile is well conditioned), from zero nuisances in blocks of 64 as
   ``PoissonLikelihood.__call__``: cevns's ``newton_profile`` against the same damped Newton algorithm written
   as one bare-numpy function below (the same gradient, Hessian, step limit, Fisher fallback on clipped rows,
   backtracking and stopping rules, so the same step counts; checked: same values and point-steps).  Its ratio
   is what the package's structure costs over the algorithm's floor.  The --src trees' own ``newton_profile``
   (their cevns/poisson.py) is timed on the same points in the same run.

No test asserts a time; the numbers go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ("conus-plus", "coherent-csi-2021", "coherent-lar-2020")

#: one joint exclusion in a fresh interpreter: prints its wall and CPU seconds and a checksum of the curve
EXCLUSION = r"""
import sys, time
import numpy as np
from threadpoolctl import threadpool_limits
import cevns
with threadpool_limits(1):
    j = cevns.load_experiment("conus-plus") + cevns.load_experiment("coherent-csi-2021") \
        + cevns.load_experiment("coherent-lar-2020")
    j.exclusion("vector-bl", masses=[1.0])  # bases and caches warm
    t, c = time.perf_counter(), time.process_time()
    r = j.exclusion("vector-bl", masses=np.geomspace(0.01, 1e4, int(sys.argv[1])))
    print(time.perf_counter() - t, time.process_time() - c, float(np.nansum(np.log(r.g[np.isfinite(r.g) & (r.g > 0)]))))
"""


def bare_profile(s, d, dlogd, bkg, V, F, iterations=100, tol=1e-9, theta0=None, stop_above=None, dual=None):
    """The damped Newton profile of cevns.poisson.newton_profile in bare numpy (one function, no helpers), from
    zero nuisances or ``theta0`` (a row outside the allowed region from zero, as the package), a point stopped once
    its minimum is certainly above its ``stop_above`` (the package's strong-convexity bound, its
    Lagrangian bound with multipliers on the bins without counts, the dual bound at each Newton step's multipliers,
    and up to three dual Newton steps from the carried multipliers ``dual``, updated in place as the package's):
    returns (statistic, point-steps)."""
    P, kv, k = s.shape[0], V.shape[0], V.shape[0] + F.shape[0]
    kf, J_f = F.shape[0], F.T
    GVV = (V.T[:, :, None] * V.T[:, None, :]).reshape(V.shape[1], -1)
    GVF = (V.T[:, :, None] * F.T[:, None, :]).reshape(V.shape[1], -1)
    GFF = (F.T[:, :, None] * F.T[:, None, :]).reshape(V.shape[1], -1)
    empty = np.flatnonzero(d <= 0)
    mu0 = s + bkg
    theta, mu = np.zeros((P, k)), mu0.copy()
    if theta0 is not None:
        theta = np.array(theta0, dtype=float).reshape(P, k)
        mu = mu0 + s * (theta[:, :kv] @ V) + theta[:, kv:] @ F
        bad = np.any(mu <= 0, axis=1)
        theta[bad], mu[bad] = 0.0, mu0[bad]

    def stat(m, t, dd, dl):
        m = np.maximum(m, 1e-12)
        return 2.0 * (m - dd + dl - dd * np.log(m)).sum(-1) + (t * t).sum(-1)

    def room(m, dm):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(dm < 0, -(m - 1e-9 * np.maximum(m, 1.0)) / dm, np.inf).min(axis=1)

    def bound(sr, lam):  # the dual bound, lowered by its rounding
        jt = np.concatenate([(lam * sr) @ V.T, lam @ F.T], axis=1)
        ok = np.all(np.isfinite(lam), axis=1) & np.all((lam < 2.0) | ((d <= 0) & (lam <= 2.0)), axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lg = np.where(d > 0, 2.0 * d * np.log1p(-np.minimum(lam, 2.0) / 2.0), 0.0)
            la, q = lam * (sr + bkg), (jt * jt).sum(axis=1) / 4.0
            b = la.sum(axis=1) + lg.sum(axis=1) - q - 1e-10 * (np.abs(la).sum(axis=1) + np.abs(lg).sum(axis=1) + q + kv)
        return np.where(ok & np.isfinite(b), b, -np.inf)

    def hess(W, sa):
        H = np.empty((sa.shape[0], k, k))
        H[:, :kv, :kv] = ((W * sa * sa) @ GVV).reshape(sa.shape[0], kv, kv)
        H[:, :kv, kv:] = ((W * sa) @ GVF).reshape(sa.shape[0], kv, kf)
        H[:, kv:, :kv] = H[:, :kv, kv:].transpose(0, 2, 1)
        H[:, kv:, kv:] = (W @ GFF).reshape(sa.shape[0], kf, kf)
        return 2.0 * H + 2.0 * np.eye(k)

    with np.errstate(over="ignore", invalid="ignore"):
        f = stat(mu, theta, d, dlogd)
    if k == 0:
        return f, 0
    f = np.where(np.all(np.isfinite(s), axis=1), f, np.inf)
    active = np.all(np.isfinite(s), axis=1) & (np.abs(s).max(axis=1) < 1e11)
    steps = 0
    nz = d > 0
    if stop_above is not None:  # a negative line: above before any step (the statistic is >= 0)
        active &= ~(stop_above < 0)
    if empty.size >= k:  # the package's gate: the empty bins' multipliers instead of the dual bounds
        dual = None
    if dual is not None and stop_above is not None:  # the carried multipliers and up to three dual Newton steps
        rows = np.flatnonzero(active & (f > stop_above) & np.all(np.isfinite(dual), axis=1))
        lam = np.where(nz, dual[rows], 2.0)
        b = bound(s[rows], lam)
        done = b > stop_above[rows]
        for _ in range(3):
            r = np.flatnonzero(~done & np.isfinite(b))
            if r.size == 0:
                break
            sr, lr = s[rows[r]], lam[r]
            th = -np.concatenate([(lr * sr) @ V.T, lr @ F.T], axis=1) / 2.0
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                gr = np.where(nz, sr + bkg + sr * (th[:, :kv] @ V) + th[:, kv:] @ F - 2.0 * d / (2.0 - lr), 0.0)
                ci = np.where(nz, (2.0 - lr) ** 2 / (2.0 * np.where(nz, d, 1.0)), 0.0)
            cg = ci * gr
            M = hess(ci / 2.0, sr)
            dg = np.sqrt(np.einsum("pii->pi", M))
            try:
                z = np.linalg.solve(M / dg[:, :, None] / dg[:, None, :], (np.concatenate(
                    [(cg * sr) @ V.T, cg @ F.T], axis=1) / dg)[:, :, None])[:, :, 0] / dg
            except np.linalg.LinAlgError:
                break
            de = cg - ci * (sr * (z[:, :kv] @ V) + z[:, kv:] @ F)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.minimum(1.0, 0.99 * np.where(nz & (de > 0), (2.0 - lr) / de, np.inf).min(axis=1))
            for _ls in range(20):
                cand = lr + t[:, None] * de
                nb = bound(sr, cand)
                up = nb >= b[r]
                if up.all():
                    break
                t = np.where(up, t, 0.5 * t)
            lam[r[up]], b[r[up]] = cand[up], nb[up]
            b[r[~up]] = -np.inf
            done = b > stop_above[rows]
        dual[rows] = lam
        active[rows[done]] = False
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        if stop_above is not None:
            m_ = np.maximum(mu[idx], 1e-12)
            r_ = 1.0 - d / m_
            g_ = 2.0 * np.concatenate([(r_ * s[idx]) @ V.T, r_ @ F.T], axis=1) + 2.0 * theta[idx]
            y_ = theta[idx] - 0.5 * g_
            with np.errstate(divide="ignore", invalid="ignore"):
                sh = np.minimum(1.0, np.sqrt(np.maximum(stop_above[idx], 0.0)) / np.sqrt((y_ * y_).sum(axis=1)))
            dy = np.where(np.isfinite(sh), sh, 1.0)[:, None] * y_ - theta[idx]
            li, qu = (g_ * dy).sum(axis=1), (dy * dy).sum(axis=1)
            done = f[idx] + li + qu - 1e-12 * (np.abs(f[idx]) + np.abs(li) + qu) > stop_above[idx]
            ef = np.broadcast_to(d <= 0, m_.shape).astype(float)
            gE = 2.0 * np.concatenate([(ef * s[idx]) @ V.T, ef @ F.T], axis=1)
            rest = np.flatnonzero(~done & ((gE * gE).sum(axis=1) >= 0.25 * (g_ * g_).sum(axis=1))
                                  & ((ef > 0) & (m_ < 0.1 * np.abs(s[idx]))).any(axis=1)) if empty.size >= k else []
            if len(rest):  # the multipliers on the empty bins (the package's Lagrangian bound)
                sr, mr, gr, tr, lr = s[idx[rest]], m_[rest], g_[rest], theta[idx[rest]], stop_above[idx[rest]]
                Wn = np.where(d <= 0, 1.0 / mr, 0.0)
                Hn = np.empty((rest.size, k, k))
                Hn[:, :kv, :kv] = ((Wn * sr * sr) @ GVV).reshape(rest.size, kv, kv)
                Hn[:, :kv, kv:] = ((Wn * sr) @ GVF).reshape(rest.size, kv, kf)
                Hn[:, kv:, :kv] = Hn[:, :kv, kv:].transpose(0, 2, 1)
                Hn[:, kv:, kv:] = (Wn @ GFF).reshape(rest.size, kf, kf)
                try:
                    dl_ = -np.linalg.solve(2.0 * Hn + 2.0 * np.eye(k), gr[:, :, None])[:, :, 0]
                except np.linalg.LinAlgError:  # singular to rounding: the first bound alone, as the package
                    dl_ = np.zeros_like(gr)
                nu = np.where(d <= 0, np.maximum(-2.0 * (sr * (dl_[:, :kv] @ V) + dl_[:, kv:] @ F) / mr, 0.0), 0.0)
                a_ = np.concatenate([(nu * sr) @ V.T, nu @ F.T], axis=1)
                b_ = (nu * mr).sum(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    tt = np.maximum((gr * a_).sum(axis=1) - 2.0 * b_, 0.0) / (a_ * a_).sum(axis=1)
                tt = np.where(np.isfinite(tt), tt, 0.0)
                gl, fl = gr - tt[:, None] * a_, f[idx[rest]] - tt * b_
                y_ = tr - 0.5 * gl
                with np.errstate(divide="ignore", invalid="ignore"):
                    sh = np.minimum(1.0, np.sqrt(np.maximum(lr, 0.0)) / np.sqrt((y_ * y_).sum(axis=1)))
                dy = np.where(np.isfinite(sh), sh, 1.0)[:, None] * y_ - tr
                li, qu = (gl * dy).sum(axis=1), (dy * dy).sum(axis=1)
                done[rest] = fl + li + qu - 1e-12 * (np.abs(fl) + np.abs(li) + qu) > lr
            active[idx[done]] = False
            idx = idx[~done]
            if idx.size == 0:
                break
        steps += idx.size
        sa, ta, f0 = s[idx], theta[idx], f[idx]
        base = mu0[idx] + sa * (ta[:, :kv] @ V) + ta[:, kv:] @ F
        ma = np.maximum(mu[idx], 1e-12)
        r, W = 1.0 - d / ma, d / ma**2
        g = 2.0 * np.concatenate([(r * sa) @ V.T, r @ F.T], axis=1) + 2.0 * ta
        H = hess(W, sa)
        try:
            step = -np.linalg.solve(H, g[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # as the package: least squares, point by point
            step = np.stack([-np.linalg.lstsq(h, v, rcond=None)[0] for h, v in zip(H, g)])
        dmu = sa * (step[:, :kv] @ V) + step[:, kv:] @ F
        if empty.size < k and (dual is not None or stop_above is not None):  # the multipliers of the whole step
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                lam = np.where(nz, np.minimum(2.0 - 2.0 * d * (ma - dmu) / ma**2, 2.0 - 1e-12), 2.0)
        lim = room(ma, dmu)
        t = np.minimum(1.0, 0.99 * lim)
        clip = np.flatnonzero(lim < 1.0)
        if clip.size and empty.size:
            Je = np.concatenate([sa[clip][:, empty, None] * V.T[empty][None],
                                 np.broadcast_to(J_f[empty], (clip.size, empty.size, kf))], axis=2)
            Hf = H[clip] + 2.0 * np.einsum("pe,pea,peb->pab", 1.0 / ma[clip][:, empty], Je, Je)
            solved = True
            try:
                sf = -np.linalg.solve(Hf, g[clip][:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:  # singular to rounding: the clipped Newton steps, as the package
                sf, solved = np.zeros_like(g[clip]), False
            dmf = sa[clip] * (sf[:, :kv] @ V) + sf[:, kv:] @ F
            tf = np.minimum(1.0, 0.99 * room(ma[clip], dmf))
            fn = stat(base[clip] + t[clip, None] * dmu[clip], ta[clip] + t[clip, None] * step[clip], d, dlogd)
            ff = stat(base[clip] + tf[:, None] * dmf, ta[clip] + tf[:, None] * sf, d, dlogd)
            b = (ff < fn) & solved
            step[clip[b]], dmu[clip[b]], t[clip[b]] = sf[b], dmf[b], tf[b]
        new_f = np.full(idx.size, np.inf)
        new_t, new_mu = ta.copy(), base.copy()
        pend = np.arange(idx.size)
        for _ls in range(30):
            ct = ta[pend] + t[pend, None] * step[pend]
            cm = base[pend] + t[pend, None] * dmu[pend]
            fc = stat(cm, ct, d, dlogd)
            ok = fc <= f0[pend] + 1e-12 * np.abs(f0[pend])
            new_f[pend[ok]], new_t[pend[ok]], new_mu[pend[ok]] = fc[ok], ct[ok], cm[ok]
            pend = pend[~ok]
            if pend.size == 0:
                break
            t[pend] *= 0.5
        moved = np.isfinite(new_f)
        theta[idx[moved]], mu[idx[moved]], f[idx[moved]] = new_t[moved], new_mu[moved], new_f[moved]
        dec = np.where(moved, f0 - new_f, 0.0)
        active[idx] = moved & (-(g * step).sum(axis=1) > tol) & (dec > 1e-14 * np.abs(f[idx]))
        if dual is not None:
            dual[idx] = lam
        if stop_above is not None and empty.size < k:
            hi = np.flatnonzero(active[idx] & (f[idx] > stop_above[idx]))
            active[idx[hi]] &= ~(bound(sa[hi], lam[hi]) > stop_above[idx[hi]])
    return f, steps


def scan_points(n_masses: int):
    """The CsI + LAr merged likelihood and its B-L scan predictions (well-conditioned points: < 1e5 per bin)."""
    import cevns
    from cevns.analysis import _g_coefficients, combined_basis
    from cevns.models import MODELS

    j = cevns.load_experiment("coherent-csi-2021") + cevns.load_experiment("coherent-lar-2020")
    lk = j.chi2_function().groups[-1][0]
    ch = j.channels("cevns+eves")
    gg = np.concatenate([[0.0], np.geomspace(1e-9, 1.0, 400)])
    out = []
    for m in np.geomspace(0.01, 1e4, n_masses):
        mdl = MODELS["vector-bl"](mass_MeV=float(m))
        C = _g_coefficients(combined_basis(j, mdl, ch), mdl.values())
        out.append((gg[:, None] ** np.arange(C.shape[0])) @ C)
    S = np.concatenate(out)
    return lk, S[S.max(axis=1) < 1e5]


def other_profile(tree: Path):
    """``newton_profile`` of another source tree's cevns/poisson.py (loaded as a module of this cevns)."""
    spec = importlib.util.spec_from_file_location(f"cevns._poisson_{abs(hash(str(tree)))}", tree / "cevns" / "poisson.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, "newton_profile", None)  # before it was a function of its own: not comparable


def profile_case(repeat: int, n_masses: int, others) -> None:
    from threadpoolctl import threadpool_limits

    import cevns.poisson as P

    lk, S = scan_points(n_masses)
    steps = [0]
    orig = P._iteration

    def counted(pt, *a):
        steps[0] += pt.sa.shape[0]
        return orig(pt, *a)

    def package(fn=P.newton_profile):
        return np.concatenate([fn(S[a:a + 64], lk.data, lk._dlogd, lk.bkg_total, lk._V, lk._F, lk._G,
                                  None, lk.iterations, lk.tol)[0] for a in range(0, S.shape[0], 64)])

    def bare():
        out = [bare_profile(S[a:a + 64], lk.data, lk._dlogd, lk.bkg_total, lk._V, lk._F, lk.iterations, lk.tol)
               for a in range(0, S.shape[0], 64)]
        return np.concatenate([o[0] for o in out]), sum(o[1] for o in out)

    with threadpool_limits(1):
        P._iteration = counted
        fp = package()
        P._iteration = orig
        fb, nb = bare()
        ok = np.isfinite(fp)
        print(f"profile: {S.shape[0]} CsI+LAr scan points, {lk.n_nuisances} nuisances; point-steps package {steps[0]}, "
              f"bare {nb}; max |difference| {np.max(np.abs(fp[ok] - fb[ok])):.1e}")
        fns = {tree: fn for tree, fn in ((t, other_profile(t)) for t in others) if fn is not None}
        for tree, fn in fns.items():
            fo = package(fn)
            print(f"  {tree}: max |difference| from this tree {np.max(np.abs(fo[ok] - fp[ok])):.1e}")
        tp, tb = [], []
        to: dict = {tree: [] for tree in fns}
        for _ in range(repeat):
            for tree, fn in fns.items():
                t = time.perf_counter()
                package(fn)
                to[tree].append(time.perf_counter() - t)
            t = time.perf_counter()
            package()
            tp.append(time.perf_counter() - t)
            t = time.perf_counter()
            bare()
            tb.append(time.perf_counter() - t)
    mp, mb = statistics.median(tp), statistics.median(tb)
    print(f"  package {mp:.3f} s ({mp / steps[0] * 1e6:.1f} us per point-step), bare numpy {mb:.3f} s "
          f"({mb / nb * 1e6:.1f} us); package / bare = {mp / mb:.2f} (per-run ratios "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(tp, tb))})")
    for tree, ts in to.items():
        m = statistics.median(ts)
        print(f"  {tree}: {m:.3f} s, {m / mb:.2f}x the bare floor, {m / mp:.2f}x this tree (per-run "
              f"{', '.join(f'{a / b:.2f}' for a, b in zip(ts, tp))})")


def exclusion_case(trees, repeat: int, n_masses: int) -> None:
    times: dict = {t: [] for t in trees}
    cpu: dict = {t: [] for t in trees}
    sums = {}
    for _ in range(repeat):
        for tree in trees:
            env = dict(os.environ, PYTHONPATH=str(tree))
            out = subprocess.run([sys.executable, "-c", EXCLUSION, str(n_masses)], capture_output=True, text=True,
                                 env=env, check=True).stdout.split()
            times[tree].append(float(out[0]))
            cpu[tree].append(float(out[1]))
            sums[tree] = out[2]
    first, first_cpu = statistics.median(times[trees[0]]), statistics.median(cpu[trees[0]])
    print(f"joint B-L exclusion ({' + '.join(EXPERIMENTS)}, {n_masses} masses), median of {repeat}, load "
          f"{os.getloadavg()[0]:.2f}:")
    prev = None
    for tree in trees:
        m, mc = statistics.median(times[tree]), statistics.median(cpu[tree])
        flag = "  <-- more than 1.25x slower than the tree before" if prev and mc > 1.25 * prev else ""
        print(f"  {tree}: wall {m:.2f} s ({m / first:.2f}x the first), CPU {mc:.2f} s ({mc / first_cpu:.2f}x the "
              f"first); curve checksum {sums[tree]}{flag}")
        prev = mc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--masses", type=int, default=121)
    ap.add_argument("--src", nargs="*", default=[], help="other source trees to time the exclusion with, in order")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-exclusion", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if not args.no_profile:
        profile_case(args.repeat, 31, [Path(p).resolve() for p in args.src])
    if not args.no_exclusion:
        exclusion_case([Path(p).resolve() for p in args.src] + [ROOT / "src"], args.repeat, args.masses)


if __name__ == "__main__":
    main()

"""One-loop MS-bar running of sin^2 theta_W with fermion thresholds (for the paper's Fig. 3).

Between thresholds, with only fermions active, the one-loop equations

    d alpha / d ln mu = (2 alpha^2 / 3 pi) sum_f N_c Q_f^2,
    d s^2 / d ln mu   = (2 alpha / 3 pi) sum_f N_c (Q_f^2 s^2 - Q_f T3_f / 2)

give s^2(mu) - lambda proportional to alpha(mu), lambda = sum N_c Q T3 / (2 sum N_c Q^2)
(Erler & Ramsey-Musolf, PRD 72, 073003 (2005); Kumar et al., ARNPS 63, 237 (2013)).
Fermions decouple at mu = m_f (step thresholds).  The u, d, s quarks share one effective
threshold ``m_light_GeV``, fixed so that alpha runs from alpha(0) = 1/137.036 to the MS-bar
alpha^(5)(M_Z)^-1 = 127.952 (PDG 2024) with the same thresholds -- a measured input, not
sin^2 theta_W(0).  Not included: the W-boson loop, QCD corrections to the quark loops and the
non-perturbative hadronic treatment of the full analyses (they move s^2(0) by ~1e-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
from scipy import optimize

from . import constants as C
from .errors import CevnsInputError, check_finite, check_positive

ALPHA_MZ_INV = 127.952  #: MS-bar alpha^(5)(M_Z)^-1, PDG 2024
#: (name, mass [GeV] or None for the light-quark threshold, N_c, Q, T3)
FERMIONS: Tuple[Tuple[str, float | None, int, float, float], ...] = (
    ("e", C.M_ELECTRON * 1e-3, 1, -1.0, -0.5),
    ("mu", 0.1056583755, 1, -1.0, -0.5),
    ("tau", 1.77686, 1, -1.0, -0.5),
    ("u", None, 3, 2.0 / 3.0, 0.5),
    ("d", None, 3, -1.0 / 3.0, -0.5),
    ("s", None, 3, -1.0 / 3.0, -0.5),
    ("c", 1.27, 3, 2.0 / 3.0, 0.5),
    ("b", 4.18, 3, -1.0 / 3.0, -0.5),
)


def _masses(m_light: float):
    return [(m if m is not None else m_light, nc, q, t3) for _, m, nc, q, t3 in FERMIONS]


def _alpha_inv_drop(m_light: float) -> float:
    mz = C.M_Z * 1e-3
    return sum(2.0 / (3.0 * np.pi) * nc * q * q * np.log(mz / m) for m, nc, q, _ in _masses(m_light))


def effective_light_quark_mass() -> float:
    """u, d, s threshold [GeV] reproducing alpha(0) -> alpha^(5)(M_Z) with step thresholds."""
    target = 1.0 / C.ALPHA_EM - ALPHA_MZ_INV
    return float(optimize.brentq(lambda m: _alpha_inv_drop(m) - target, 1e-3, 1.0))


@dataclass(frozen=True)
class Sin2wRunning:
    """sin^2 theta_W(mu) in MS-bar, matched to ``sin2w_mz`` at M_Z."""

    sin2w_mz: float = C.SIN2W_MZ
    m_light_GeV: float | None = None

    def _thresholds(self):
        ml = self.m_light_GeV if self.m_light_GeV is not None else effective_light_quark_mass()
        return sorted(_masses(ml), key=lambda f: -f[0])

    def __call__(self, mu_GeV: Any) -> Any:
        """sin^2 theta_W at scale(s) mu [GeV] (mu <= M_Z; below m_e it is constant)."""
        mus = np.atleast_1d(np.asarray(mu_GeV, dtype=float))
        out = np.array([self._one(m) for m in mus])
        return out if np.ndim(mu_GeV) else float(out[0])

    def _one(self, mu: float) -> float:
        mz = C.M_Z * 1e-3
        mu = min(mu, mz)
        a_inv, s2, scale = ALPHA_MZ_INV, self.sin2w_mz, mz
        fer = self._thresholds()
        active = list(fer)
        for m, nc, q, t3 in fer + [(0.0, 0, 0.0, 0.0)]:
            stop = max(m, mu)
            if active and stop < scale:
                sq = sum(f[1] * f[2] ** 2 for f in active)
                lam = sum(f[1] * f[2] * f[3] for f in active) / (2.0 * sq)
                new_inv = a_inv - 2.0 / (3.0 * np.pi) * sq * np.log(stop / scale)
                s2 = lam + (a_inv / new_inv) * (s2 - lam)
                a_inv, scale = new_inv, stop
            if mu >= m:
                break
            active = [f for f in active if f[0] != m]
        return float(s2)


#: Columns of a determinations file (the packaged ``data/sin2w_determinations.csv`` and user files).
DETERMINATION_COLUMNS = ("label", "Q_GeV", "value", "err_plus", "err_minus", "scheme", "reference")
SCHEMES = ("MSbar", "on-shell", "effective")
#: the most determinations a file may add to Fig. 3
MAX_DETERMINATIONS = 1000


def _parse_determinations(text: str, source: str) -> List[Dict[str, Any]]:
    from ._files import csv_table

    if not any(ln.strip() and not ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise CevnsInputError(f"{source}: no rows (expected a header {','.join(DETERMINATION_COLUMNS)} and data)")
    header, lines = csv_table(text, source)
    missing = [c for c in DETERMINATION_COLUMNS if c not in header]
    if missing:
        raise CevnsInputError(f"{source}: missing column(s) {', '.join(missing)}; "
                              f"expected {','.join(DETERMINATION_COLUMNS)}")
    rows = [dict(zip(header, cells)) for _, cells in lines]
    if not rows:
        raise CevnsInputError(f"{source}: header but no data rows")
    if len(rows) > MAX_DETERMINATIONS:
        raise CevnsInputError(f"{source}: {len(rows)} rows; a figure shows at most {MAX_DETERMINATIONS} determinations")
    out = []
    for (lineno, _), row in zip(lines, rows):
        where = f"{source}, line {lineno}"
        if any(row.get(c) in (None, "") for c in DETERMINATION_COLUMNS):
            empty = [c for c in DETERMINATION_COLUMNS if row.get(c) in (None, "")]
            raise CevnsInputError(f"{where}: empty field(s) {', '.join(empty)}")
        value = check_finite(f"{where}: value", row["value"])
        if not 0.0 < value < 1.0:
            raise CevnsInputError(f"{where}: value must be a sin^2 theta_W between 0 and 1, got {value:g}")
        if row["scheme"] not in SCHEMES:
            raise CevnsInputError(f"{where}: scheme must be one of {', '.join(SCHEMES)}, got {row['scheme']!r}")
        out.append({"label": row["label"], "Q_GeV": check_positive(f"{where}: Q_GeV", row["Q_GeV"], unit="GeV"),
                    "value": value,
                    "err_plus": check_positive(f"{where}: err_plus", row["err_plus"], allow_zero=True),
                    "err_minus": check_positive(f"{where}: err_minus", row["err_minus"], allow_zero=True),
                    "scheme": row["scheme"], "reference": row["reference"], "read_from": row.get("read_from") or ""})
    return out


def load_determinations(path: str | Path | None = None) -> List[Dict[str, Any]]:
    """Published sin^2 theta_W determinations against the scale Q (for Fig. 3).

    With no argument: the packaged, cited ``data/sin2w_determinations.csv``.  With ``path``: a user file
    with the same columns (label, Q_GeV [GeV], value, err_plus, err_minus, scheme = MSbar | on-shell |
    effective, reference; optional read_from, where the number was read); lines starting with '#' are
    comments.  Values are checked (0 < value < 1, Q > 0, errors >= 0) and a bad row is named by file and line.
    """
    if path is None:
        return _parse_determinations(resources.files("cevns.data").joinpath("sin2w_determinations.csv").read_text(),
                                     "data/sin2w_determinations.csv")
    from ._files import read_text_file

    return _parse_determinations(read_text_file(path, "determinations file"), str(path))

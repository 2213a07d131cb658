"""Convert the Dresden-II reactor germanium data (Rx-ON, Rx-OFF) and the Fef / YBe germanium quenching models
into cevns's packaged CSV files.

Run once by a developer (the package never reads the sources):

    python scripts/convert_dresden.py SOURCE_DIR

SOURCE_DIR holds ``dresden_ii_data_release.txt`` and ``ge_quenching_fef_ybe.txt``: byte copies of
``data_release.txt`` and ``QF_Fef_YBe.txt`` of github LeireLarizgoitia/Reactor_CEnuNS at commit COPY_COMMIT
(a third-party copy of the collaboration's public data release; the MD5s below are checked).  Written:

- ``src/cevns/data/experiments/dresden_ii_2022_spectra.csv``: 130 bins of 10 eV from 0.2 keVee (centre and
  edges), Rx-ON and Rx-OFF values with their errors, copied unchanged;
- ``src/cevns/data/ge_quenching_fef_ybe.csv``: E_nr 0 - 4.5 keVnr in 0.01 steps, the quenching factor of the
  "Fef" and of the "YBe" model, copied unchanged (a germanium property, shared by all germanium data sets).

docs/dresden.md says what was checked of the copy's units and what remains open.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1] / "src" / "cevns" / "data"
COPY_COMMIT = "2242059ec1784d3f70d89add2f3bd7d63ef20239"
MD5 = {"dresden_ii_data_release.txt": "d27a35d52d8ad35ba08e34992014c88e",
       "ge_quenching_fef_ybe.txt": "33c67f8d0383a2e76db7658c0731165f"}

COPY = (f"# Provenance: byte copy (MD5 {{md5}}) of {{orig}} in github LeireLarizgoitia/Reactor_CEnuNS at commit\n"
        f"# {COPY_COMMIT} (a third-party copy; that repository states no licence; the numbers are the\n"
        "# collaboration's public data release, cite the papers, not the copy); not checked against the collaboration's\n"
        "# own file; converted by scripts/convert_dresden.py without changing a number.\n")
SPECTRA = ("# Dresden-II: J. Colaresi, J. I. Collar, T. W. Hossbach, C. M. Lewis and K. M. Yocum, Phys. Rev. Lett. 129,\n"
           "# 211802 (2022), arXiv:2202.09672: NCC-1701 p-type point-contact germanium detector (~3 kg; 2.924 kg in\n"
           "# the copy's analysis) at the Dresden-II reactor, 96.4 days Rx-ON and 25 days Rx-OFF (abstract).\n")
QUENCH = ("# Germanium quenching factor of nuclear recoils: the \"Fef\" (iron-filtered monochromatic neutrons) and \"YBe\"\n"
          "# (88Y/Be photoneutrons) models of J. I. Collar, A. R. L. Kavner and C. M. Lewis, Phys. Rev. D 103, 122003\n"
          "# (2021), arXiv:2102.10089, as used for Dresden-II (Colaresi et al., PRL 129, 211802 (2022)).\n")
UNITS = ("# Units as the copy's analysis code states them: counts / (10 eV 3 kg day), Rx-ON over 96.4 days and Rx-OFF\n"
         "# over 25 days; errors combine statistics and the signal-acceptance uncertainty.  Checked (docs/dresden.md):\n"
         "# the errors follow sigma^2 = value / X + (0.014 value)^2 with X_ON / X_OFF = 3.7 (livetimes 96.4 / 25 =\n"
         "# 3.86), so both columns are rates per unit time in one unit; the absolute unit (per detector-day or per\n"
         "# kg-day) is not fixed by the stored sources: use it as a named input.\n")


def _read(src: Path) -> np.ndarray:
    raw = src.read_bytes()
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != MD5[src.name]:
        sys.exit(f"{src}: MD5 {md5}, expected {MD5[src.name]}")
    return np.array([ln.split() for ln in raw.decode().splitlines() if ln.strip()], dtype=object)


def main(root: Path) -> None:
    rows = _read(root / "dresden_ii_data_release.txt")
    a = rows.astype(float)
    assert a.shape == (130, 5) and np.allclose(np.diff(a[:, 0]), 0.01) and abs(a[0, 0] - 0.205) < 1e-9
    assert np.all(a[:, 1:] > 0)
    with open(ROOT / "experiments" / "dresden_ii_2022_spectra.csv", "w") as f:
        f.write(SPECTRA + COPY.format(md5=MD5["dresden_ii_data_release.txt"], orig="data_release.txt") + UNITS)
        f.write("# One row per 10 eV bin (edges = centre -+ 5 eV).\n")
        f.write("E_keVee,E_lo_keVee,E_hi_keVee,rx_on,rx_on_err,rx_off,rx_off_err\n")
        for r, x in zip(rows, a):
            f.write(",".join([r[0], f"{x[0] - 0.005:.3f}", f"{x[0] + 0.005:.3f}"] + list(r[1:])) + "\n")
    rows = _read(root / "ge_quenching_fef_ybe.txt")
    q = rows.astype(float)
    assert q.shape == (451, 3) and np.allclose(q[:, 0], np.arange(451) * 0.01)
    assert np.all((q[:, 1:] > 0) & (q[:, 1:] < 1))
    with open(ROOT / "ge_quenching_fef_ybe.csv", "w") as f:
        f.write(QUENCH + COPY.format(md5=MD5["ge_quenching_fef_ybe.txt"], orig="QF_Fef_YBe.txt"))
        f.write("# quenching factor = E_ee / E_nr (ionisation energy over recoil energy), dimensionless.\n")
        f.write("E_keVnr,qf_fef,qf_ybe\n")
        for r in rows:
            f.write(",".join(r) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/convert_dresden.py SOURCE_DIR")
    main(Path(sys.argv[1]))

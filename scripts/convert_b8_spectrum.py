"""Write cevns's solar 8B neutrino spectrum table (src/cevns/data/solar_8b_spectrum.csv).

Run once by a developer (the package never reads the source):

    git -C PEANUTS_GIT_DIR show b53d514e8cd0b4e6767ae84252c7d92e49d45cd8:Data/8B_shape_Winter_et_al.csv > winter.csv
    python scripts/convert_b8_spectrum.py winter.csv

The numbers are the recommended 8B neutrino spectrum of W. T. Winter et al., Phys. Rev. C 73, 025503 (2006),
in 0.1 MeV steps, as typed into github michelelucente/PEANUTS (GPL-3.0; file Data/8B_shape_Winter_et_al.csv at
commit b53d514e...).  That commit is used, not the newer ones: commit a288d2ce ("Padded fluxes") set the rows
15.3, 15.4 and 15.5 MeV (0.032, 0.021, 0.014) to zero.  The numbers are copied unchanged; the table is in units of
1e-3 / MeV (its sum x 0.1 MeV is 999.998).  The third column, which the copy does not name, sums to ~0: a signed
shape shift at fixed normalisation (Winter et al. give the spectrum's uncertainty); it is carried, not used.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "cevns" / "data" / "solar_8b_spectrum.csv"
MD5 = "ea4aba2c7640e26baa552045f736a99f"

HEADER = """\
# Solar 8B neutrino energy spectrum (shape): W. T. Winter, S. J. Freedman, K. E. Rehm and J. P. Schiffer,
# Phys. Rev. C 73, 025503 (2006), recommended spectrum in 0.1 MeV steps.  Provenance: the table as typed in
# github michelelucente/PEANUTS (GPL-3.0; T. Gonzalo and M. Lucente, Eur. Phys. J. C 84, 119 (2024)), file
# Data/8B_shape_Winter_et_al.csv at commit b53d514e8cd0b4e6767ae84252c7d92e49d45cd8 (MD5 {md5}); not checked
# against the paper's own table; converted by scripts/convert_b8_spectrum.py without changing a number.  The
# numbers are the paper's published values (facts); the GPL copy is named as the provenance.  Rows end at 15.5
# MeV as in the copy (the spectrum above carries < 1e-5 of the total).
# lambda: the spectrum in 1e-3 / MeV (sum x 0.1 MeV = 999.998); delta: the copy's unnamed third column (signed,
# sums to ~0: a shape shift at fixed normalisation; not used by cevns).  The flux normalisation is separate
# (data/solar_8b_flux.csv).
E_MeV,lambda_1e-3_per_MeV,delta_1e-3_per_MeV
"""


def main(src: Path) -> None:
    raw = src.read_bytes()
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != MD5:
        sys.exit(f"{src}: MD5 {md5}, expected {MD5} (PEANUTS commit b53d514e...)")
    rows = [ln.split(",") for ln in raw.decode().splitlines() if ln.strip() and not ln.startswith("#")]
    rows = [[c.strip() for c in r] for r in rows]
    a = np.array(rows, dtype=float)
    keep = a[:, 0] <= 15.5 + 1e-9  # the copy's last line, 20.00 MeV with 0, is a padding point, not a table row
    assert np.allclose(np.diff(a[keep, 0]), 0.1), "0.1 MeV steps"
    with open(OUT, "w") as f:
        f.write(HEADER.format(md5=md5))
        for r, k in zip(rows, keep):
            if k:
                f.write(",".join(r) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/convert_b8_spectrum.py WINTER_CSV")
    main(Path(sys.argv[1]))

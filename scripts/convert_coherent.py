"""Convert the COHERENT CsI (2021) and LAr (2020) data releases into cevns's packaged CSV files.

Run once by a developer (the package never reads the releases):

    python scripts/convert_coherent.py RELEASES_DIR

RELEASES_DIR holds ``coherent-csi-2021/`` and ``coherent-lar-2020/`` with the release files under their
original names.  Numbers are copied, not changed: event lists as they are, the LAr 3D PDFs as columns
of one table (after checking that every file has the same bins in the same order).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "cevns" / "data" / "experiments"

CSI_CITE = ("# COHERENT, D. Akimov et al., PRL 129, 081801 (2022), arXiv:2110.07730; data release: the paper's\n"
            "# ancillary files (CsI[Na] full data set).  Provenance: copied from github philippeller/Newtrinos.jl\n"
            "# commit 653141ba6e05dd920fd0a795eb82e3de626076ce (MIT), not byte-checked against the original;\n"
            "# converted by scripts/convert_coherent.py without changing a number.\n")
LAR_CITE = ("# COHERENT, D. Akimov et al., PRL 126, 012002 (2021), arXiv:2003.10630; data release arXiv:2006.12659,\n"
            "# Zenodo doi:10.5281/zenodo.3903810 (CENNS-10 liquid argon, Analysis A).  Provenance: byte copies\n"
            "# of the release (MD5 as the Zenodo list); converted by scripts/convert_coherent.py without\n"
            "# changing a number.\n")


def _events(src: Path, dst: str, what: str) -> None:
    a = np.loadtxt(src)
    with open(OUT / dst, "w") as f:
        f.write(CSI_CITE + f"# {what}: one row per selected event (release file {src.name}).\n")
        f.write("pe,t_us\n")
        for pe, t in a:
            f.write(f"{pe:g},{t:g}\n")


def _columns(dst: str, cite: str, what: str, names, cols) -> None:
    with open(OUT / dst, "w") as f:
        f.write(cite + f"# {what}\n")
        f.write(",".join(names) + "\n")
        for row in zip(*cols):
            f.write(",".join(f"{v:.10g}" for v in row) + "\n")


def main(root: Path) -> None:
    csi, lar = root / "coherent-csi-2021", root / "coherent-lar-2020"
    _events(csi / "dataBeamOnC.txt", "coherent_csi_2021_coincidence.csv", "beam-on coincidence (C) window")
    _events(csi / "dataBeamOnAC.txt", "coherent_csi_2021_anticoincidence.csv",
            "beam-on anti-coincidence (AC) window: the steady-state background")
    bp, npe = np.loadtxt(csi / "brnPE.txt"), np.loadtxt(csi / "ninPE.txt")
    assert np.array_equal(bp[:, 0], npe[:, 0])
    _columns("coherent_csi_2021_neutron_pe.csv", CSI_CITE,
             "beam-related (brn) and neutrino-induced (nin) neutron energy shapes per 1-PE bin (brnPE.txt, ninPE.txt;"
             " energy efficiency included)", ["pe", "brn", "nin"], [bp[:, 0], bp[:, 1], npe[:, 1]])
    bt, nt = np.loadtxt(csi / "brnTrec.txt"), np.loadtxt(csi / "ninTrec.txt")
    assert np.array_equal(bt[:, 0], nt[:, 0])
    _columns("coherent_csi_2021_neutron_time.csv", CSI_CITE,
             "brn and nin time shapes per 0.01-us bin centre (brnTrec.txt, ninTrec.txt; not normalised, time "
             "efficiency not included)", ["t_us", "brn", "nin"], [bt[:, 0], bt[:, 1], nt[:, 1]])
    files = {"data": "datanobkgsub.txt", "cevns": "cevnspdf.txt", "cevns_f90_plus": "cevnspdf+1sigF90.txt",
             "cevns_f90_minus": "cevnspdf-1sigF90.txt", "cevns_timing_mean": "cevnspdfCEvNSTimingMeanSyst.txt",
             "ss": "bkgpdf.txt", "brn": "brnpdf.txt", "brn_energy_plus": "brnpdf+1sigEnergy.txt",
             "brn_energy_minus": "brnpdf-1sigEnergy.txt", "brn_timing_mean_plus": "brnpdf+1sigBRNTimingMean.txt",
             "brn_timing_mean_minus": "brnpdf-1sigBRNTimingMean.txt", "brn_timing_width": "brnpdfBRNTimingWidthSyst.txt",
             "brn_delayed": "delbrnpdf.txt"}
    tabs = {k: np.loadtxt(lar / v) for k, v in files.items()}
    ref = tabs["data"][:, :3]
    for k, t in tabs.items():
        assert np.array_equal(t[:, :3], ref), k
    _columns("coherent_lar_2020_pdfs.csv", LAR_CITE,
             "3D (energy keVee x F90 x time us) bin centres and counts of the release's files: " +
             ", ".join(f"{k} = {v}" for k, v in files.items()),
             ["energy_keVee", "f90", "t_us"] + list(files), [ref[:, 0], ref[:, 1], ref[:, 2]] + [t[:, 3] for t in tabs.values()])
    eff = np.loadtxt(lar / "CENNS10AnlAEfficiency.txt")
    _columns("coherent_lar_2020_efficiency.csv", LAR_CITE, "acceptance efficiency (CENNS10AnlAEfficiency.txt)",
             ["energy_keVee", "energy_keVnr", "efficiency"], [eff[:, 0], eff[:, 1], eff[:, 2]])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/convert_coherent.py RELEASES_DIR")
    main(Path(sys.argv[1]))

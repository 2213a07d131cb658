"""Convert the XENONnT solar 8B CEvNS data release into cevns's packaged CSV files.

Run once by a developer (the package never reads the release, and h5py is needed only here:
``pip install -e ".[convert]"``):

    python scripts/convert_xenonnt.py RELEASE_DIR

RELEASE_DIR is a checkout of github XENONnT/cevns_data_release at commit COMMIT below (``data/``, ``binning/``,
``templates/``, ``plot.ipynb``).  What is written to src/cevns/data/experiments/:

- ``xenonnt_8b_2026_runs.csv``: per run the exposure (t yr, read from plot.ipynb) and the number of events;
- ``xenonnt_8b_2026_binning.csv``: the 4 x (3 + 1) bin edges per run (binning/sr*.yaml, checked against the
  edges stored in every template file);
- ``xenonnt_8b_2026_events.csv``: the 62 selected events, observables copied as text, with their bin;
- ``xenonnt_8b_2026_bins.csv``: per run and bin (3 x 81 rows) the observed count and the accidental-coincidence
  (AC) and electronic-recoil (ER) templates in events / (t yr);
- ``xenonnt_8b_2026_neutron.csv``: the neutron (radiogenic, ``rg``) template in events / (t yr) per run on the
  7 x 7 grid of light-yield (tly) and charge-yield (tqy) nuisance values, one row of 81 bins each;
- ``xenonnt_8b_2026_mono.csv.gz``: the detection efficiency (dimensionless) of a mono-energetic nuclear recoil of
  energy E = 0.5 ... 5.0 keVnr (0.1 keV steps) per run, tly and tqy, one row of 81 bins each.

Bins are flattened in C order of the axes (cs2, S2-shadow quantile, S1 BDT score, S2 BDT score):
bin = ((i_cs2 * 3 + i_shadow) * 3 + i_s1bdt) * 3 + i_s2bdt.  Numbers are copied unchanged (shortest
round-trip text of the double) except in the mono file, which is written with 7 significant digits
(relative change < 5e-7, checked here) to keep it at ~2.5 MB instead of 12 MB.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "cevns" / "data" / "experiments"
COMMIT = "60d230dd7a5646fd4aa2368c5fdfba575ee0cb88"
RUNS = ("sr0", "sr1", "sr2")
AXES = ("cs2", "s2_shadow_s2_time_shadow_quantile", "s1_bdt_score", "s2_bdt_score")
GRID = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
MONO_E = tuple(round(0.5 + 0.1 * i, 1) for i in range(46))
MONO_DIGITS = 7

CITE = ("# XENON Collaboration, E. Aprile et al.: SR0+SR1 in PRL 133, 191002 (2024), arXiv:2408.02877 and PRL 134,\n"
        "# 111802 (2025); SR0+SR1+SR2 in arXiv:2604.06002.  Data release: github XENONnT/cevns_data_release commit\n"
        f"# {COMMIT}, DOI 10.5281/zenodo.20576156, licence CC-BY-4.0 (attribution:\n"
        "# cite the papers and the release).  Provenance: converted by scripts/convert_xenonnt.py from the release\n")


def _yaml_edges(path: Path) -> dict:
    """The release's binning yaml: four keys, each a list of four numbers (parsed without PyYAML)."""
    out: dict = {}
    key = None
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        if line.endswith(":") and not line.startswith(" ") and not line.startswith("-"):
            key = line[:-1]
            out[key] = []
        elif line.startswith("- ") and key is not None:
            out[key].append(float(line[2:]))
        else:
            raise ValueError(f"{path}: unexpected line {line!r}")
    assert tuple(out) == AXES and all(len(v) == 4 for v in out.values()), path
    return out


def _exposures(notebook: Path) -> dict:
    """The ``livetimes`` dictionary of plot.ipynb (t yr: it multiplies templates in events / (t yr))."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if src.startswith("livetimes"):
            found = dict(re.findall(r'"(sr\d)":\s*([0-9.]+)', src))
            assert tuple(found) == RUNS, found
            return {k: (v, float(v)) for k, v in found.items()}
    raise ValueError("no livetimes cell in plot.ipynb")


def _events(path: Path) -> list:
    lines = path.read_text().splitlines()
    assert lines[0] == "," + ",".join(AXES), lines[0]
    rows = [ln.split(",") for ln in lines[1:] if ln.strip()]
    assert [int(r[0]) for r in rows] == list(range(len(rows))), path
    return [r[1:] for r in rows]


def _template(h5py, path: Path, edges: dict) -> np.ndarray:
    with h5py.File(path, "r") as f:
        for i, ax in enumerate(AXES):
            stored = f["bins"][str(i)][:]
            assert np.allclose(stored, edges[ax], rtol=1e-12, atol=1e-9), (path, ax, stored)
        t = np.asarray(f["templates"]["template"][:], dtype=float)
    assert t.shape == (3, 3, 3, 3) and np.all(np.isfinite(t)) and np.all(t >= 0), path
    return t.ravel()


def _bin_of(values, edges: dict) -> tuple:
    idx = []
    for v, ax in zip(values, AXES):
        e = edges[ax]
        assert e[0] <= v <= e[-1], (v, ax, e)
        idx.append(min(int(np.searchsorted(e, v, side="right")) - 1, 2))  # last edge inclusive, as np.histogram
    return tuple(idx)


def _write(name: str, what: str, header: list, rows, opener=open) -> None:
    with opener(OUT / name, "wt") as f:
        f.write(CITE + f"# {what}\n")
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(row) + "\n")


def _gzip_text(path: Path, mode: str):
    """A text stream into a gzip file with a fixed header time, so that re-running gives the same bytes."""
    return io.TextIOWrapper(gzip.GzipFile(path, mode.replace("t", "b"), compresslevel=9, mtime=0), encoding="utf-8")


def _r(v: float) -> str:
    return repr(float(v))


def _grid_files(root: Path, run: str, kind: str, energy: float | None = None):
    for ly in GRID:
        for qy in GRID:
            mid = f"mono_{energy:.3f}_cevns" if kind == "mono" else "rg_cevns"
            yield ly, qy, root / "templates" / run / kind / f"template_XENONnT_{run}_{mid}_tly_{ly}_tqy_{qy}.h5"


def _convert_run(h5py, root: Path, run: str, out: dict) -> None:
    edges = _yaml_edges(root / "binning" / f"{run}.yaml")
    out["binning"] += [[run, ax] + [_r(x) for x in edges[ax]] for ax in AXES]
    counts = np.zeros(81, dtype=int)
    events = _events(root / "data" / f"{run}.csv")
    for ev in events:
        i = _bin_of([float(x) for x in ev], edges)
        b = int(np.ravel_multi_index(i, (3, 3, 3, 3)))
        counts[b] += 1
        out["events"].append([run] + ev + [str(b)])
    hist = np.histogramdd(np.array([[float(x) for x in ev] for ev in events]), bins=[edges[a] for a in AXES])[0]
    assert np.array_equal(hist.ravel().astype(int), counts), run  # the notebook's np.histogram convention
    out["n_events"][run] = len(events)
    ac = _template(h5py, root / "templates" / run / "ac" / f"template_XENONnT_{run}_ac_cevns.h5", edges)
    er = _template(h5py, root / "templates" / run / "er" / f"template_XENONnT_{run}_er_cevns.h5", edges)
    for b in range(81):
        out["bins"].append([run, str(b)] + [str(i) for i in np.unravel_index(b, (3, 3, 3, 3))]
                           + [str(counts[b]), _r(ac[b]), _r(er[b])])
    for ly, qy, p in _grid_files(root, run, "rg"):
        out["neutron"].append([run, f"{ly:g}", f"{qy:g}"] + [_r(v) for v in _template(h5py, p, edges)])
    worst = 0.0
    for e in MONO_E:
        for ly, qy, p in _grid_files(root, run, "mono", e):
            t = _template(h5py, p, edges)
            text = [f"{v:.{MONO_DIGITS}g}" for v in t]
            worst = max(worst, float(np.max(np.abs(np.array(text, dtype=float) / t - 1))))
            out["mono"].append([run, f"{e:.1f}", f"{ly:g}", f"{qy:g}"] + text)
    assert worst < 5.1 * 10.0 ** -MONO_DIGITS, worst
    out["mono_worst"] = max(out.get("mono_worst", 0.0), worst)


def main(root: Path) -> None:
    import h5py  # only this developer script needs it (the "convert" extra)

    exposure = _exposures(root / "plot.ipynb")
    out: dict = {"binning": [], "events": [], "bins": [], "neutron": [], "mono": [], "n_events": {}}
    for run in RUNS:
        _convert_run(h5py, root, run, out)
    bins = [f"b{b:02d}" for b in range(81)]
    _write("xenonnt_8b_2026_runs.csv", "per run: exposure in t yr (the 'livetimes' of the release's plot.ipynb, by which "
           "it multiplies the templates in events / (t yr)) and the number of selected events (data/sr*.csv)",
           ["run", "exposure_t_yr", "events"], [[r, exposure[r][0], str(out["n_events"][r])] for r in RUNS])
    _write("xenonnt_8b_2026_binning.csv", "bin edges per run and observable (binning/sr*.yaml; cs2 in PE, the others "
           "dimensionless); the same edges are stored in every template file", ["run", "observable", "edge_0", "edge_1",
           "edge_2", "edge_3"], out["binning"])
    _write("xenonnt_8b_2026_events.csv", "selected events (data/sr*.csv, values copied as text) and their flat bin "
           "index (C order of cs2, shadow, s1_bdt, s2_bdt; last edge inclusive as np.histogram)",
           ["run"] + list(AXES) + ["bin"], out["events"])
    _write("xenonnt_8b_2026_bins.csv", "per run and flat bin: observed events and the accidental-coincidence (ac) and "
           "electronic-recoil (er) templates in events / (t yr) (templates/sr*/{ac,er}/*.h5)",
           ["run", "bin", "i_cs2", "i_shadow", "i_s1_bdt", "i_s2_bdt", "observed", "ac_per_t_yr", "er_per_t_yr"],
           out["bins"])
    _write("xenonnt_8b_2026_neutron.csv", "neutron (rg) template in events / (t yr) per run on the 7 x 7 grid of "
           "light-yield (tly) and charge-yield (tqy) nuisance values; b00..b80 = flat bins "
           "(templates/sr*/rg/*_tly_*_tqy_*.h5)", ["run", "tly", "tqy"] + bins, out["neutron"])
    _write("xenonnt_8b_2026_mono.csv.gz", "detection efficiency (dimensionless) of a mono-energetic nuclear recoil of "
           f"energy E_keVnr per run, tly and tqy; b00..b80 = flat bins (templates/sr*/mono/*.h5), {MONO_DIGITS} "
           f"significant digits (largest relative change {out['mono_worst']:.2g}).  Signal events in a bin = "
           "exposure x sum_E efficiency(E) x dR/dE(E) x 0.1 keV", ["run", "E_keVnr", "tly", "tqy"] + bins, out["mono"],
           opener=_gzip_text)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/convert_xenonnt.py RELEASE_DIR")
    main(Path(sys.argv[1]))

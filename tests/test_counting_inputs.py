"""Every Poisson input checked for what it means (issue 26, item 2): a COHERENT-style file that would give a silently
wrong number is refused in one line (or, for a few repeated events, reported)."""

import re
import warnings
from pathlib import Path

import pytest
from packaged_copies import copy_experiment as _copy
from packaged_copies import edit_once as _edit

import cevns
from cevns.errors import CevnsInputError, CevnsWarning


def _rows(csv: Path):
    lines = csv.read_text().splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln and not ln.startswith("#")]
    return head, body[0], body[1:]


def _write(csv: Path, head, header, rows) -> None:
    csv.write_text("\n".join(head + [header] + rows) + "\n")


def test_csi_times_in_ns_typed_as_us_are_refused(tmp_path):
    toml = _copy(tmp_path, "coherent_csi_2021")
    csv = tmp_path / "coherent_csi_2021_coincidence.csv"
    head, header, rows = _rows(csv)
    _write(csv, head, header, [f"{r.split(',')[0]},{float(r.split(',')[1]) * 1000:g}" for r in rows])
    with pytest.raises(CevnsInputError, match="in ns, not us"):
        cevns.load_experiment(str(toml))


def test_every_event_listed_twice_is_refused_and_a_few_repeats_reported(tmp_path):
    toml = _copy(tmp_path, "coherent_csi_2021")
    csv = tmp_path / "coherent_csi_2021_coincidence.csv"
    head, header, rows = _rows(csv)
    _write(csv, head, header, rows + rows)
    with pytest.raises(CevnsInputError, match="listed twice"):
        cevns.load_experiment(str(toml))
    _write(csv, head, header, rows + rows[:3])
    with pytest.warns(CevnsWarning, match="3 of the .* events .* repeat"):
        cevns.load_experiment(str(toml))


def test_time_bins_removed_or_beyond_the_data_are_refused(tmp_path):
    toml = _copy(tmp_path, "coherent_csi_2021")
    text = toml.read_text()
    toml.write_text(re.sub(r"\ntime_edges_us = .*\n", "\n", text))
    with pytest.raises(CevnsInputError, match="no time_edges_us"):
        cevns.load_experiment(str(toml))
    toml.write_text(text.replace("time_edges_us = [0, 0.25, 0.5, 0.75, 1, 2, 4, 6]",
                                 "time_edges_us = [0, 0.25, 0.5, 0.75, 1, 2, 4, 6, 20, 30]"))
    with pytest.raises(CevnsInputError, match="lies outside the data"):
        cevns.load_experiment(str(toml))


@pytest.mark.parametrize("change,message", [
    (lambda cells: [cells[0].replace(",32,", ",-3,", 1)] + cells[1:], "whole numbers >= 0"),
    (lambda cells: [cells[0].replace(",32,", ",32.5,", 1)] + cells[1:], "whole numbers >= 0"),
    (lambda cells: cells + [cells[0]], "repeat another row"),
    (lambda cells: cells[1:], "does not cover its"),
])
def test_lar_table_counts_and_cells(tmp_path, change, message):
    toml = _copy(tmp_path, "coherent_lar_2020")
    csv = tmp_path / "coherent_lar_2020_pdfs.csv"
    head, header, rows = _rows(csv)
    _write(csv, head, header, change(rows))
    with pytest.raises(CevnsInputError, match=message):
        cevns.load_experiment(str(toml))


def test_two_nuisances_of_one_file_with_one_name_are_refused(tmp_path):
    toml = _copy(tmp_path, "coherent_csi_2021")
    _edit(toml, 'name = "neutrino-induced neutrons"', 'name = "beam-related neutrons"')
    with pytest.raises(CevnsInputError, match="given twice in one file"):
        cevns.load_experiment(str(toml))


def test_unphysical_quenching_and_efficiency_are_refused(tmp_path):
    toml = _copy(tmp_path, "coherent_csi_2021")
    text = toml.read_text()
    toml.write_text(text.replace("coefficients = [0.0554628, 4.30681, -111.707, 840.384]",
                                 "coefficients = [5.54628, 4.30681, -111.707, 840.384]"))
    with pytest.raises(CevnsInputError, match="above 1 -- more light than energy"):
        cevns.load_experiment(str(toml))
    toml.write_text(text.replace("d = -0.333322", "d = 0.3"))
    with pytest.raises(CevnsInputError, match="an efficiency above 1"):
        cevns.load_experiment(str(toml))


def test_a_huge_template_cell_is_refused(tmp_path):
    toml = _copy(tmp_path, "coherent_lar_2020")
    csv = tmp_path / "coherent_lar_2020_pdfs.csv"
    head, header, rows = _rows(csv)
    cols = header.split(",")
    first = rows[0].split(",")
    first[cols.index("cevns_f90_plus")] = "1e300"
    _write(csv, head, header, [",".join(first)] + rows[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning on the way: one clean error
        with pytest.raises(CevnsInputError, match="events in a bin"):
            cevns.load_experiment(str(toml))


def test_a_light_yield_that_disagrees_with_the_spread_is_refused(tmp_path):
    """The Gamma's mean E_ee / spread[0] is the light yield: a light_yield changed alone would have no effect (it
    cancels), so it must agree with 1 / spread[0]."""
    toml = _copy(tmp_path, "coherent_csi_2021")
    _edit(toml, "light_yield = 13.35 ", "light_yield = 20.0 ")
    with pytest.raises(CevnsInputError, match="light_yield 20 PE/keV_ee and spread"):
        cevns.load_experiment(str(toml))
    _edit(toml, "spread = [0.0749, 9.56]", "spread = [0.05, 9.56]")
    assert cevns.load_experiment(str(toml)).predict().cevns.sum() != cevns.load_experiment("coherent-csi-2021").predict(
    ).cevns.sum()

"""The declared experiment schema (cevns.schema): unknown keys, strict types, ranges, JSON Schema, docs, no-data."""

import copy
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import tomllib

import cevns
from cevns import CevnsInputError, schema
from cevns.cli import main
from cevns.registry import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1]
FILES = {name: f for name, (f, _) in EXPERIMENTS.items()}


def _builtin(name):
    return tomllib.loads(resources.files("cevns.data").joinpath("experiments", FILES[name]).read_text())


CONFIGS = {name: _builtin(name) for name in ("conus-plus", "coherent-csi-2021", "coherent-lar-2020")}
VALIDATOR = jsonschema.Draft202012Validator(schema.json_schema())


def _paths(cfg, prefix=()):
    """(path, value) of every key of a parsed file, tables entered, lists of tables entered by index."""
    for k, v in cfg.items():
        p = prefix + (k,)
        yield p, v
        if isinstance(v, dict):
            yield from _paths(v, p)
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                yield from _paths(x, p + (i,))


def _set(cfg, path, value):
    c = copy.deepcopy(cfg)
    node = c
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return c


def _rename(cfg, path, new):
    c = copy.deepcopy(cfg)
    node = c
    for p in path[:-1]:
        node = node[p]
    node[new] = node.pop(path[-1])
    return c


def _tables_of(cfg):
    """Paths of every table whose keys the schema fixes (not the free maps like abundances or shared)."""
    free = {"abundances", "composition", "radii_fm", "fission_fractions", "shared"}
    return [p for p, v in _paths(cfg) if isinstance(v, dict) and p[-1] not in free]


def test_json_schema_is_valid_and_accepts_every_builtin_file():
    jsonschema.Draft202012Validator.check_schema(schema.json_schema())
    for name, cfg in CONFIGS.items():
        VALIDATOR.validate(cfg)
        schema.validate(cfg)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_misspelled_key_anywhere_is_named_with_its_correction(name):
    """Every key of every table of the built-in files, misspelled (one letter doubled), is refused by both the
    validator (naming the key and suggesting the right one) and the JSON Schema."""
    cfg, n = CONFIGS[name], 0
    for table_path in [()] + _tables_of(cfg):
        node = cfg
        for p in table_path:
            node = node[p]
        for key in list(node):
            if table_path == () and key in ("name", "title", "reference"):
                continue
            bad = key[0] + key  # e.g. "ttail"
            c = _rename(cfg, table_path + (key,), bad)
            with pytest.raises(CevnsInputError, match=f"'{bad}'.*did you mean '{key}'"):
                schema.validate(c)
            assert not VALIDATOR.is_valid(c), (table_path, key)
            n += 1
    assert n > 30


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_types_are_strict(name):
    """Every number of the built-in files replaced by true, by a string and by NaN is refused by both."""
    cfg, n = CONFIGS[name], 0
    for path, v in _paths(cfg):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        for bad, msg in ((True, "must be a number"), ("3", "must be a number"), (float("nan"), "must be finite")):
            c = _set(cfg, path, bad)
            with pytest.raises(CevnsInputError, match=msg):
                schema.validate(c)
            if bad is not float("nan") and isinstance(bad, (bool, str)):
                assert not VALIDATOR.is_valid(c), path
            n += 1
    assert n >= 15


@pytest.mark.parametrize("path,value,msg", [
    (("reactor", "thermal_power_GW"), 0.0, "> 0"),
    (("reactor", "thermal_power_GW"), 1e308, "<= 10000 GW"),
    (("reactor", "distance_m"), 1e-300, ">= 0.01"),
    (("reactor", "tail"), "sumation", "did you mean 'summation'"),
    (("quenching", "k"), -0.1, r"\[quenching\] k must be > 0"),
    (("statistics", "sigma_alpha"), -1.0, ">= 0"),
    (("exposure", "total_kg_day"), float("inf"), "finite"),
    (("detectors", 1, "mass_kg"), 0, r"\[\[detectors\]\] C3 mass_kg must be > 0"),
    (("data", "normalisation_mass_kg"), -2.83, "> 0"),
    (("target", "eves"), 1, "true or false"),
    (("schema_version",), 2, "newer cevns"),
    (("schema_version",), 1.0, "integer"),
])
def test_ranges_and_values(path, value, msg):
    c = _set(CONFIGS["conus-plus"], path, value)
    with pytest.raises(CevnsInputError, match=msg):
        schema.validate(c)


def test_line_numbers_and_cli_exit_status(tmp_path, capsys):
    text = resources.files("cevns.data").joinpath("experiments", FILES["conus-plus"]).read_text()
    bad = tmp_path / "x.toml"
    bad.write_text(text.replace("sigma_alpha = 0.20", "sigma_alpa = 0.20"))
    for argv in (["predict", str(bad)], ["schema", "--validate", str(bad)], ["fit", str(bad), "--param", "sin2w"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "did you mean 'sigma_alpha'" in err and "(line 57)" in err


def test_defaults_are_the_schema_s(tmp_path):
    """Keys left out take the schema's defaults, which are what the experiment then uses."""
    text = resources.files("cevns.data").joinpath("experiments", FILES["conus-plus"]).read_text()
    for key in ("captures_per_fission", "energy_per_fission_MeV", "tail", "pair_energy_eV"):
        text = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(key))
    (tmp_path / "e.toml").write_text(text.replace('file = "', f'file = "{resources.files("cevns.data")}/experiments/'))
    exp = cevns.load_experiment(str(tmp_path / "e.toml"))
    f = schema.SCHEMA["reactor"].fields
    assert exp.flux.captures_per_fission == f["captures_per_fission"].default == 0.6
    assert exp.flux.energy_per_fission_MeV == f["energy_per_fission_MeV"].default
    assert exp.flux.tail == f["tail"].default == "summation"
    assert exp.resolution.pair_energy_eV == schema.SCHEMA["resolution"].fields["pair_energy_eV"].default
    assert exp.config["statistics"]["sigma_alpha"] == 0.20  # present in the file
    np.testing.assert_allclose(exp.predict().total, cevns.load_experiment("conus-plus").predict().total, rtol=1e-12)


def test_cross_field_rules():
    conus = CONFIGS["conus-plus"]
    for change, msg in [
        (lambda c: c.pop("reactor"), r"missing section \[reactor\]"),
        (lambda c: c.pop("detectors"), r"missing section \[detectors\]"),
        (lambda c: c["target"].update(label="GeX"), "either element"),
        (lambda c: c["detectors"][1].update(name="C2"), "names must differ"),
        (lambda c: c["detectors"][0].update(efficiency=[0.5]), "together"),
        (lambda c: c["data"].pop("normalisation_mass_kg"), "needs normalisation_mass_kg"),
        (lambda c: c.pop("data"), r"\[binning\]"),
        (lambda c: c.update(likelihood={"kind": "poisson"}), "counting detector"),
        (lambda c: c["data"].update(kind="events"), "'units' applies to kind = 'spectrum', not 'events'"),
    ]:
        c = copy.deepcopy(conus)
        change(c)
        with pytest.raises(CevnsInputError, match=msg):
            schema.validate(c)
    lar = copy.deepcopy(CONFIGS["coherent-lar-2020"])
    lar["exposure"] = {"total_kg_day": 3.0}
    with pytest.raises(CevnsInputError, match=r"\[exposure\] belongs to a germanium"):
        schema.validate(lar)


def test_docs_reference_tables_are_generated_from_the_schema():
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "schema_docs.py"), "--check"], capture_output=True)
    assert r.returncode == 0, "docs/experiments.md is stale: run python scripts/schema_docs.py"
    doc = (ROOT / "docs" / "experiments.md").read_text()
    for sec, k in schema.SCHEMA.items():
        if k.type == "table":
            assert f"### [{sec}]" in doc
    for block in doc.split("```toml\n")[1:]:  # every TOML example of the page is valid against the schema
        body = block.split("```")[0]
        cfg = tomllib.loads(body)
        if "target" in cfg:
            schema.validate(cfg, body)


def test_cevns_schema_prints_json_schema(capsys):
    import json

    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == schema.json_schema()
    assert main(["schema", "--validate", "coherent-csi-2021"]) == 0
    assert "valid" in capsys.readouterr().out


def test_file_guards(tmp_path, capsys):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(11_000_000)
    nonutf = tmp_path / "latin1.toml"
    nonutf.write_bytes(b'name = "caf\xe9"\n')
    for path, msg in ((big, "larger than 10 MB"), (nonutf, "not UTF-8"), (tmp_path, "not a regular file")):
        assert main(["predict", str(path)]) == 2
        assert msg in capsys.readouterr().err


NODATA_REACTOR = """
name = "future-reactor"
[target]
element = "Ge"
[reactor]
thermal_power_GW = 3.9
distance_m = 17.0
fission_fractions = { U235 = 0.56, U238 = 0.07, Pu239 = 0.31, Pu241 = 0.06 }
[quenching]
k = 0.162
[exposure]
total_kg_day = 1000.0
[[detectors]]
name = "D1"
mass_kg = 3.0
threshold_eVee = 160.0
[binning]
edges_eVee = [160, 200, 250, 300, 350]
"""


def test_a_reactor_experiment_without_data(tmp_path, capsys):
    """Predictions and Asimov sensitivities without [data]; a fit of it says there is nothing to fit."""
    p = tmp_path / "future.toml"
    p.write_text(NODATA_REACTOR)
    exp = cevns.load_experiment(str(p))
    assert exp.data is None and exp.predict().cevns.sum() > 0
    with pytest.raises(CevnsInputError, match="no \\[data\\].*asimov"):
        exp.fit("sin2w")
    with pytest.raises(CevnsInputError, match="sigma"):
        exp.asimov()
    asimov = exp.asimov(sigma=20.0)
    assert np.all(asimov.data.sigma == 20.0)
    res = asimov.fit("sin2w", channels="cevns")
    assert abs(res.best - 0.23857) < 1e-3  # the SM it was made from
    assert main(["predict", str(p)]) == 0
    assert main(["fit", str(p), "--param", "sin2w"]) == 2
    assert "no [data]" in capsys.readouterr().err
    with pytest.raises(CevnsInputError, match="per bin"):
        exp.asimov(sigma=[1.0, 2.0])


def test_a_counting_experiment_without_data(tmp_path):
    text = resources.files("cevns.data").joinpath("experiments", FILES["coherent-csi-2021"]).read_text()
    folder = Path(str(resources.files("cevns.data").joinpath("experiments")))
    for f in folder.glob("coherent_csi_2021_*.csv"):
        shutil.copy(f, tmp_path)
    start, end = text.index("[data]"), text.index("[likelihood]")
    (tmp_path / "csi.toml").write_text(text[:start] + text[end:])
    exp = cevns.load_experiment(str(tmp_path / "csi.toml"))
    full = cevns.load_experiment("coherent-csi-2021")
    assert exp.data is None
    np.testing.assert_allclose(exp.predict().total, full.predict().total, rtol=1e-12)
    a, b = exp.asimov(), full.asimov()
    np.testing.assert_allclose(a.data.counts, b.data.counts, rtol=1e-12)
    with pytest.raises(CevnsInputError, match="no \\[data\\]"):
        exp.limit("mu_nu_mu")
    with pytest.raises(CevnsInputError, match="no \\[data\\]"):
        exp + cevns.load_experiment("coherent-lar-2020")


def test_binning_must_agree_with_the_data():
    c = copy.deepcopy(CONFIGS["conus-plus"])
    c["binning"] = {"edges_eVee": [160.0, 200.0]}
    base = Path(str(resources.files("cevns.data").joinpath("experiments")))
    with pytest.raises(CevnsInputError, match="differ from the bins"):
        cevns.experiments.Experiment(c, base)


def test_bins_below_every_threshold_are_warned_about(capsys):
    from cevns.errors import CevnsWarning

    with pytest.warns(CevnsWarning, match="4 bin\\(s\\) lie below every detector threshold"):
        cevns.load_experiment("conus-plus", thresholds_eVee={"C2": 200, "C3": 200, "C5": 200})
    assert main(["predict", "conus-plus", "--input", 'thresholds_eVee={"C2":200,"C3":200,"C5":200}']) == 0
    err = capsys.readouterr().err
    assert err.startswith("cevns: warning:") and err.count("\n") == 1


def test_an_error_names_the_line_of_the_offending_value_in_its_own_section(tmp_path):
    """The second [[backgrounds]] entry's sigma, not the first line anywhere with a 'sigma' key (issue 26)."""
    import re
    import shutil
    from importlib import resources

    src = resources.files("cevns.data").joinpath("experiments")
    for f in ("coherent_csi_2021.toml",):
        shutil.copy(str(src.joinpath(f)), tmp_path / f)
    lines = (tmp_path / "coherent_csi_2021.toml").read_text().splitlines()
    heads = [i for i, ln in enumerate(lines) if ln.strip().startswith("[[backgrounds]]")]
    for b in range(len(heads)):
        edited = list(lines)
        j = next(k for k in range(heads[b], len(edited)) if re.match(r"\s*sigma\s*=", edited[k]))
        edited[j] = re.sub(r"=.*", "= -1", edited[j])
        text = "\n".join(edited) + "\n"


        with pytest.raises(CevnsInputError, match=rf"\(line {j + 1}\)"):
            schema.validate(tomllib.loads(text), text)


@pytest.mark.parametrize("given,suggested", [("CONUS+", "conus-plus"), ("coherent-csi", "coherent-csi-2021"),
                                              ("Coherent-LAr-2020", "coherent-lar-2020")])
def test_did_you_mean_for_experiment_names(given, suggested):
    import cevns

    with pytest.raises(CevnsInputError, match=f"did you mean '{suggested}'"):
        cevns.load_experiment(given)


def test_did_you_mean_for_channels_and_levels():
    import cevns
    from cevns.stats import parse_cl

    with pytest.raises(CevnsInputError, match="did you mean 'cevns'"):
        cevns.load_experiment("conus-plus").channels("CEvNS")
    with pytest.raises(CevnsInputError) as e:
        parse_cl("95")
    assert "95%" in str(e.value) and "95sigma" not in str(e.value)
    with pytest.raises(CevnsInputError, match="3sigma"):
        parse_cl("3")

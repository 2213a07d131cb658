"""Parameters as objects: each declared once in its model, every fact about it read from the declaration; --fix
and --free on the fit-like commands."""

import json
import math
import pathlib
import re
import subprocess
import sys

import pytest

import cevns
from cevns import models, nuclei
from cevns.cli import main
from cevns.parameters import Parameter

SRC = pathlib.Path(cevns.__file__).parent


def test_every_parameter_is_declared_with_unit_scale_label_and_description():
    pars = models.all_parameters()
    assert {"sin2w", "mu_nu", "mu_nu_e", "mu_nu_mu", "q_ee", "q_emu", "r2_mutau", "g", "mass_MeV"} <= set(pars)
    for name, p in pars.items():
        assert isinstance(p, Parameter) and p.name == name
        assert p.scale > 0 and p.shown_scale > 0 and p.description
        assert p.symbol and p.label.symbol == f"${p.symbol}$" and p.label.symbol != f"${p.name}$"  # a symbol, not the code name
        lo, hi = p.bounds
        assert lo < hi and (lo <= p.default <= hi)
        assert set(p.flavours) <= {"e", "mu", "tau"}
    # the table the engine reads is derived from the declarations, not declared a second time
    for cls in models.MODELS.values():
        assert cls.parameter_table == {p.name: (p.default, p.unit, p.scale) for p in cls.PARAMETERS}


def test_each_parameter_has_one_owner_and_the_shared_one_is_the_sm():
    assert models.model_for_parameter("sin2w") is models.StandardModel
    assert models.parameter("sin2w").shared and models.parameter("sin2w").bounds == (0.0, 1.0)
    for cls in models.MODELS.values():
        for p in cls.family():
            assert not p.shared and models.model_for_parameter(p.name) in (cls, *[c for c in models.MODELS.values()
                                                                                    if p in c.family()])


@pytest.mark.parametrize("name", ["conus-plus", "coherent-csi-2021"])
def test_declared_flavours_and_squares_agree_with_the_rates(name):
    """What a declaration says -- the flavours a parameter acts on, whether the rates depend on it only through its
    square -- is what the rate engine finds in the polynomial bases: a reactor (anti-nu_e) sees exactly the
    parameters acting on e (or on no flavour in particular); a rate even in x is declared squared."""
    exp = cevns.load_experiment(name)
    flavours_seen = {"e"} if name == "conus-plus" else {"e", "mu"}
    for cls in models.MODELS.values():
        if cls.MASSES:
            model = cls(mass_MeV=10.0)
        else:
            model = cls()
        monos = [m for ch in exp.channels("cevns+eves") for m in exp.engine.basis(model, ch).monomials]
        seen = {k for m in monos for k, _ in m}
        for p in cls.family():
            expect = not p.flavours or bool(set(p.flavours) & flavours_seen)
            if p.elements:  # a parameter of target elements (a neutron radius) is seen where they are in the target
                expect = expect and bool(set(p.elements) & {nuclei.element_of(i.Z) for i in exp.target.isotopes})
            assert (p.name in seen) == expect, (name, p.name)
            if p.name in seen:
                even = all(dict(m).get(p.name, 0) % 2 == 0 for m in monos)
                assert even == p.squared, (name, p.name)


def test_no_parameter_is_special_cased_by_name_outside_its_model():
    """Branches on a parameter's name belong to its declaration: no module but models.py compares a name with
    "sin2w" or parses flavours out of a parameter name."""
    pattern = re.compile(r"""([=!]=\s*["']sin2w["'])|(["']sin2w["']\s*[=!]=)|param\.split\("_"\)|flavours_of\(""")
    offenders = [f"{f.name}:{i}" for f in SRC.glob("*.py") if f.name != "models.py"
                 for i, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_bounds_are_enforced_and_unknown_names_get_a_suggestion():
    with pytest.raises(cevns.CevnsInputError, match=r"sin2w .* must lie in \[0, 1\]"):
        models.StandardModel(sin2w=1.5)
    with pytest.raises(cevns.CevnsInputError, match="did you mean 'q_ee'"):
        models.parameter("q_e")


def test_fit_with_fixed_and_free_states_what_it_held(exp):
    """q_ee with q_emu marginalised and q_etau fixed at 0 lies between the default fit (both marginalised) and the
    fit with both fixed; each result says which parameters were marginalised and which held fixed."""
    default = exp.limit("q_ee")
    partial = exp.limit("q_ee", fixed={"q_etau": 0.0}, free=["q_emu"])
    none = exp.limit("q_ee", free=[])
    width = {k: r.intervals["90%"][-1][1] - r.intervals["90%"][0][0] for k, r in
             (("default", default), ("partial", partial), ("none", none))}
    assert width["none"] <= width["partial"] * (1 + 1e-9) and width["partial"] <= width["default"] * (1 + 1e-9)
    assert default.marginalised == ["q_emu", "q_etau"] and "q_etau" not in default.fixed
    assert partial.marginalised == ["q_emu"] and partial.fixed["q_etau"] == 0.0
    assert none.marginalised == [] and set(none.fixed) == {"sin2w", "q_mumu", "q_emu", "q_etau", "q_mutau"}
    assert "q_emu marginalised; sin2w = " in str(partial) and "q_etau = 0" in str(partial)


def test_fixing_sin2w_moves_a_limit_as_the_weak_charge_says(exp):
    """A fit of mu_nu with sin2w fixed elsewhere: the fixed value is used (the SM prediction changes, so does chi2_min)."""
    a = exp.limit("mu_nu")
    b = exp.limit("mu_nu", fixed={"sin2w": 0.30})
    assert b.fixed["sin2w"] == 0.30 and a.fixed["sin2w"] == pytest.approx(0.23857)
    assert not math.isclose(a.chi2_min, b.chi2_min, rel_tol=1e-6)


def test_cli_fix_and_free(capsys):
    assert main(["fit", "conus-plus", "--param", "q_ee", "--fix", "q_etau=0", "--free", "q_emu", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["result"]
    assert d["marginalised"] == ["q_emu"] and d["fixed"]["q_etau"] == 0.0
    assert main(["contour", "conus-plus", "--params", "q_ee,q_emu", "--free", "q_etau", "--n", "9", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["result"]
    assert d["marginalised"] == ["q_etau"] and d["fixed"] == {"sin2w": 0.23857, "q_mumu": 0.0, "q_mutau": 0.0}


@pytest.mark.parametrize("args,message", [
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "q_ee=1e-12"], "parameter of interest"),
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "q_emu=0", "--free", "q_emu"], "both fixed and free"),
    (["fit", "conus-plus", "--param", "q_ee", "--free", "q_mumu"], "does not depend on q_mumu"),
    (["fit", "conus-plus", "--param", "q_ee", "--free", "q_emu,q_emu"], "twice"),
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "q_emu"], "NAME=VALUE"),
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "mu_nu=0"], "unknown parameter"),
    (["fit", "conus-plus", "--param", "sin2w", "--fix", "sin2w=0.2"], "parameter of interest"),
    (["exclusion", "conus-plus", "--model", "scalar", "--fix", "g=1e-6"], "cannot be fixed"),
])
def test_cli_fix_free_errors_are_one_line_exit_2(args, message):
    r = subprocess.run([sys.executable, "-m", "cevns", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.fixture
def models_restored():
    """The model registry (one shared dict) as it was before the test: a registration ends with its test."""
    saved = dict(models.MODELS)
    yield
    models.MODELS.clear()
    models.MODELS.update(saved)


def test_a_model_of_ones_own_is_one_class_and_one_register_line(models_restored):
    """examples/custom_model.py (docs/models.md): a vector-NSI-like model declared in one class and registered with one
    line is fitted like a built-in one; its weak charge is the hand-computed one, and with eps_d fixed its eps_u
    interval contains the SM (0) and is bounded.  The registration refuses a name or a parameter already taken."""
    import importlib.util

    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "custom_model.py"
    spec = importlib.util.spec_from_file_location("custom_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = mod.VectorNSIee
    assert models.MODELS["my-vector-nsi-ee"] is cls and models.model_for_parameter("my_eps_uV") is cls
    # the weak charge by hand: Ge-72 (Z = 32, N = 40), eps_u = 0.1, eps_d = -0.05
    from cevns import nuclei, xsec

    iso = next(i for i in nuclei.load_target("Ge").isotopes if i.N == 40)
    s2w = models.SIN2W.default
    q_hand = 32 * (0.5 - 2 * s2w + 2 * 0.1 - 0.05) + 40 * (-0.5 + 0.1 - 2 * 0.05)
    t = cls(my_eps_uV=0.1, my_eps_dV=-0.05).cevns_terms(1e-3, iso, 1.0, cls(my_eps_uV=0.1, my_eps_dV=-0.05).values())
    assert t[0] == pytest.approx(xsec.cevns_coherent_terms(1e-3, iso.mass_MeV, 1.0, q_hand**2)[0], rel=1e-12, abs=0)
    exp = cevns.load_experiment("conus-plus")
    res = exp.fit("my_eps_uV", "cevns", levels=("90%",), fixed={"my_eps_dV": 0.0})
    lo, hi = res.intervals["90%"][0][0], res.intervals["90%"][-1][1]
    assert lo < 0 < hi and not res.unbounded("90%") and res.fixed == {"sin2w": s2w, "my_eps_dV": 0.0}
    with pytest.raises(cevns.CevnsInputError, match="already"):
        models.register(type("Clash", (models.Model,), {"name": "clash", "PARAMETERS": (models.SIN2W, cls.PARAMETERS[1])}))


def test_no_import_circle():
    """The package's modules import one another without a circle (imports inside functions counted too), and the
    foundations import nothing above them (docs/architecture.md)."""
    import ast

    edges = {}
    for f in SRC.glob("*.py"):
        deps = set()
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level == 1:
                deps |= {n.module.split(".")[0]} if n.module else {a.name for a in n.names}
        edges[f.stem] = {d for d in deps if (SRC / f"{d}.py").exists() and d not in (f.stem, "__init__")}

    def reach(a):
        seen, todo = set(), [a]
        while todo:
            for b in edges.get(todo.pop(), ()):
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    assert [m for m in edges if m in reach(m)] == []
    for leaf in ("parameters", "constants", "registry", "published", "errors", "_poly", "convergence"):
        assert edges[leaf] <= {"errors"}, leaf


def test_no_function_over_80_lines():
    """Functions stay under ~80 lines (the project's rule; docs/architecture.md)."""
    import ast

    long = []
    for f in SRC.glob("*.py"):
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 80:
                long.append(f"{f.name}:{n.name} ({n.end_lineno - n.lineno + 1} lines)")
    assert long == []


def test_coverage_takes_fix_too(tmp_path):
    """`cevns coverage --fix`: the toys' model holds the given values, and the result says so."""
    r = subprocess.run([sys.executable, "-m", "cevns", "coverage", "conus-plus", "--param", "q_ee", "--fix", "q_emu=0",
                        "--toys", "20", "--points", "3", "--workers", "0", "--out", str(tmp_path / "cov")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    notes = json.loads((tmp_path / "cov" / "coverage.json").read_text())["result"]["notes"]
    assert any("except q_emu = 0" in n for n in notes)


@pytest.mark.parametrize("args,message", [
    (["fit", "conus-plus", "--param", "g", "--mediator", "scalar", "--mass", "1", "--fix", "mass_MeV=5"], "--mass"),
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "q_emu=1e300"], "overflows"),
    (["fit", "conus-plus", "--param", "q_ee", "--fix", "q_emu=1e-3"], "more than 1e+06 times"),
    (["fit", "conus-plus", "--param", "q_ee", "--channels", "cevns+"], "did you mean 'cevns'"),
    (["fit", "conus-plus", "--param", "q_ee", "--cl", "1e-20"], "below 0.1%"),
    (["fit", "conus-plus", "--param", "eps_ee_uV", "--fix", "eps_mumu_uV=0.5"], "fixing it changes nothing"),
])
def test_fix_values_get_the_unit_slip_guard_and_other_edges(args, message):
    r = subprocess.run([sys.executable, "-m", "cevns", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_predict_many_and_register_refuse_what_predict_refuses():
    exp = cevns.load_experiment("conus-plus")
    for points, message in (({"sin2w": [2.0]}, "must lie in"), ({"mu_nu": [True]}, "real numbers"),
                            ({"mu_nu": [1e300]}, "overflows"), ([1e-10], "must map")):
        with pytest.raises(cevns.CevnsInputError, match=message):
            exp.predict_many(cevns.MagneticMoment(), points)
    for attrs in ({"name": None}, {"name": "has space"}, {"name": "no-sin2w", "PARAMETERS": ()}):
        with pytest.raises(cevns.CevnsInputError):
            models.register(type("Bad", (models.Model,), attrs))


def test_a_parameter_of_another_model_is_named_with_its_model():
    """`--set rn_Cs=5` without `--model`: one line, exit 2, naming the model that declares the parameter."""
    r = subprocess.run([sys.executable, "-m", "cevns", "predict", "coherent-csi-2021", "--set", "rn_Cs=5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "'rn_Cs' is a parameter of model 'neutron-radius'" in r.stderr
    with pytest.raises(cevns.CevnsInputError, match="'mu_nu' is a parameter of model 'magnetic-moment'"):
        models.StandardModel(mu_nu=1e-10)
    with pytest.raises(cevns.CevnsInputError) as e:
        models.StandardModel(foo=1.0)
    assert "is a parameter of" not in str(e.value)

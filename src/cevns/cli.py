"""Command-line interface: a thin layer over the Python API.

  cevns predict conus-plus [--model magnetic-moment --set mu_nu=1e-10] [--json] [--plot FILE]
  cevns fit conus-plus --param sin2w [--channels cevns] [--json] [--plot FILE]
  cevns exclusion conus-plus --model vector-bl [--json] [--plot FILE]
  cevns contour conus-plus --params q_ee,q_emu [--dof 2] [--json] [--plot FILE]
  cevns reproduce [--out DIR]

Every input the paper leaves open can be changed from the command line
(``--k``, ``--resolution``, ``--exposure``, ``--tail``, ``--binding-table``,
or any ``--input NAME=VALUE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

from .errors import CevnsInputError

#: the reactor-on exposure of conus-plus [kg d], for the --exposure help (tests/test_integrity.py checks it
#: against the data file, so that --help needs no file read)
CONUS_PLUS_EXPOSURE = 327

EPILOG = """examples:
  cevns predict conus-plus                          SM counts per bin (CEvNS, EvES)
  cevns predict conus-plus --model magnetic-moment --set mu_nu=1e-10 --plot mu.png
  cevns fit conus-plus --param sin2w --plot sin2w.png
  cevns fit conus-plus --param q_ee --channels cevns+eves --json
  cevns exclusion conus-plus --model vector-bl --plot vector.png
  cevns contour conus-plus --params q_ee,q_emu --plot qee_qemu.png
  cevns predict conus-plus --resolution off --exposure 347 --tail cut
  cevns fit conus-plus examples/my_reactor.toml --param mu_nu   joint fit of two experiments
  cevns predict coherent-csi-2021                   COHERENT CsI: CEvNS, backgrounds, data per PE bin
  cevns fit coherent-lar-2020 --param sin2w --channels cevns
  cevns reproduce --out cevns-results
  cevns reproduce global --out cevns-global         reactor + COHERENT, alone and combined

built-in experiments: conus-plus (reactor, Ge), coherent-csi-2021 and coherent-lar-2020 (SNS stopped pions).
units: energies in eV_ee (germanium bins, thresholds), PE (CsI) or keV_ee (LAr), mu_nu* in Bohr magnetons, millicharges q_* in e,
charge radii r2_* in cm^2, mediator masses in MeV, couplings dimensionless."""


#: the --cl help of every command (one syntax: :func:`cevns.stats.parse_cl`)
CL_HELP = "confidence level: 90%%, 0.9, 1sigma, 2.5sigma (a probability strictly between 0 and 1)"


class Progress:
    """A minimal progress bar on stderr (only when stderr is a terminal, or forced)."""

    def __init__(self, label: str, enabled: Optional[bool] = None):
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self.open = False  # a bar's line is on the screen, not yet ended

    def estimate(self, seconds: float, what: str) -> None:
        """Before a long job: what it computes and roughly how long it will take (the job measures its own cost)."""
        if self.enabled:
            sys.stderr.write(("\n" if self.open else "") +
                             (f"{self.label}: {what}; estimated {seconds:.0f} s\n" if seconds >= 1 else
                              f"{self.label}: {what}; estimated under a second\n"))
            sys.stderr.flush()
            self.open = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        n = int(30 * done / max(total, 1))
        spent = time.perf_counter() - self.t0
        left = f", about {spent * (total - done) / done:.0f} s left" if 0 < done < total else ""
        sys.stderr.write(f"\r{self.label} [{'#' * n}{'.' * (30 - n)}] {done}/{total} {spent:5.1f}s{left}   ")
        self.open = done < total
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def dumps(obj: Any, **kw: Any) -> str:
    """Strict JSON (NaN and inf as null), see :func:`cevns.results.dumps`."""
    from .results import dumps as strict_dumps

    return strict_dumps(obj, **kw)


#: figure formats --plot writes (by the file's extension)
PLOT_FORMATS = ("png", "pdf", "svg", "eps", "ps", "jpg", "jpeg", "tif", "tiff")


def _check_plot(path: Optional[str], force: bool = False) -> None:
    """Refuse a --plot FILE that cannot be written, is a symbolic link, or is an existing file cevns did not write
    (unless ``force``), before any computation."""
    if path is None:
        return
    import os
    from pathlib import Path

    if not path.strip():
        raise CevnsInputError("--plot needs a file name, e.g. figure.png")
    p = Path(path)
    fmt = p.suffix[1:].lower()
    if p.is_dir():
        raise CevnsInputError(f"--plot {path!r} is a folder; give a file name, e.g. {os.path.join(path, 'figure.png')}")
    if fmt not in PLOT_FORMATS:
        raise CevnsInputError(f"--plot {path!r}: the file name must end in one of "
                              f"{', '.join('.' + f for f in PLOT_FORMATS)} (the figure format)")
    folder = p.parent
    if not folder.is_dir():
        raise CevnsInputError(f"--plot: No such file or directory: {path} (folder {str(folder)!r} does not exist)")
    if not os.access(folder, os.W_OK):
        raise CevnsInputError(f"--plot: cannot write into folder {str(folder)!r}")
    from .outputs import check_output_file

    check_output_file(p, "--plot", force)


def _write_figure(fig, path: str) -> None:
    """``fig`` into ``path`` (format by its extension), marked as cevns's in its metadata, through a temporary
    file and a rename (a kill never leaves half a figure under the user's name)."""
    from ._files import write_atomically
    from .outputs import figure_metadata

    fmt = path.rsplit(".", 1)[-1].lower()
    write_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt, metadata=figure_metadata(path)))


def _parse_value(text: str) -> Any:
    """A number, else a JSON value (tables and lists: '{"C2": 200}', '[0.25, 0.00078]'), else the text."""
    try:
        return float(text)
    except ValueError:
        pass
    if text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            raise CevnsInputError(f"not valid JSON: {text!r}") from None
    return text


def _pairs(items: Optional[List[str]], what: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for it in items or []:
        if "=" not in it:
            raise CevnsInputError(f"{what} expects NAME=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        if k.strip() in out:
            raise CevnsInputError(f"{what} {k.strip()} is given twice (the second time as {it!r}): give it once")
        out[k.strip()] = _parse_value(v.strip())
    return out


def _fix_free(args) -> Tuple[Optional[Dict[str, Any]], Optional[List[str]]]:
    """``--fix NAME=VALUE[,...]`` (repeatable) as {name: value} and ``--free NAME[,...]`` as a list (None if not given)."""
    fixed = _pairs([p for item in (getattr(args, "fix", None) or []) for p in item.split(",") if p.strip()], "--fix")
    free_items = getattr(args, "free", None)
    free = None
    if free_items is not None:
        free = [q.strip() for item in free_items for q in item.split(",") if q.strip()]
        twice = sorted({q for q in free if free.count(q) > 1})
        if twice:
            raise CevnsInputError(f"--free names {', '.join(twice)} twice: give each once")
    return (fixed or None), free


def _check_fixed(exp, model_cls, fixed: Optional[Dict[str, Any]], base: Any = None) -> None:
    """--fix values checked like `predict --set` (the unit-slip guard): the model they make must predict a number of
    events the data can be compared with; a mass goes with --mass, not --fix."""
    if not fixed:
        return
    from .plausibility import check_parameters

    masses = [k for k in fixed if k in model_cls.mass_table]
    if masses:
        raise CevnsInputError(f"--fix {masses[0]}: a mediator mass is given with --mass (or scanned by `exclusion`), "
                              "not with --fix")
    model = base.replace(**fixed) if base is not None else model_cls(**fixed)
    check_parameters(model, getattr(exp, "parts", [exp]))


def _shared_fit_model(param: str, fixed: Optional[Dict[str, Any]], free: Optional[List[str]]) -> Any:
    """The model of a fit of a shared parameter (sin2w) whose --fix or --free name parameters of one other model,
    e.g. `fit --param sin2w --fix rn_CsI=4.86` (sin2w at a given neutron radius): that model; else None."""
    from .models import model_for_parameter, parameter

    others = [k for k in [*(fixed or {}), *(free or [])] if k != param]
    if not others or not parameter(param).shared:
        return None
    owners = {model_for_parameter(k) for k in others if not parameter(k).shared}
    if len(owners) > 1:
        raise CevnsInputError(f"--fix/--free name parameters of several models ({', '.join(sorted(c.name for c in owners))}):"
                              " give those of one model")
    return owners.pop()() if owners else None


def _add_fix_free(sp, free: bool = True) -> None:
    """The --fix (and --free) options of a fit-like command."""
    sp.add_argument("--fix", action="append", metavar="NAME=VALUE[,...]",
                    help="hold other parameters of the model at these values, in their units (`cevns list`), e.g. "
                         "--fix sin2w=0.231 or --fix q_emu=0,q_etau=0; the result states every parameter held fixed")
    if free:
        sp.add_argument("--free", action="append", metavar="NAME[,...]",
                        help="marginalise exactly these other parameters of the model (default: the members of its "
                             "family that share a flavour with the parameter of interest); the rest stay at their "
                             "defaults or --fix values")


def _overrides(args) -> Dict[str, Any]:
    """The inputs changed on the command line: ``--input NAME=VALUE`` and the named options (--k, --exposure ...)."""
    overrides = _pairs(args.input, "--input")
    for name, attr in (("k", "k"), ("resolution", "resolution"), ("exposure_kg_day", "exposure"),
                       ("tail", "tail"), ("binding_table", "binding_table"), ("sigma_alpha", "sigma_alpha")):
        v = getattr(args, attr, None)
        if v is not None:
            if name in overrides:
                raise CevnsInputError(f"{name} is given twice (--input {name}=... and --{attr.replace('_', '-')}): "
                                      "give it once")
            overrides[name] = v
    return overrides


def _experiment(args):
    from .experiments import JointExperiment, load_experiment

    overrides = _overrides(args)
    names = args.experiment or ["conus-plus"]
    k_sigma = overrides.pop("k_sigma", None)  # the Lindhard k profiled with this prior (cevns.quenching_nuisance)
    if k_sigma is not None:
        from .quenching_nuisance import KProfiled

        if not isinstance(k_sigma, float):
            raise CevnsInputError(f"k_sigma must be a number (the prior width of the Lindhard k, e.g. --input "
                                  f"k_sigma=0.004), got {k_sigma!r}")
        if len(names) != 1:
            raise CevnsInputError("k_sigma (the Lindhard k profiled with a Gaussian prior of this width, e.g. "
                                  "--input k_sigma=0.004) applies to one germanium experiment")
        return KProfiled(load_experiment(names[0], **overrides), k_sigma)
    if len(names) == 1:
        return load_experiment(names[0], **overrides)
    joint = JointExperiment(*[load_experiment(n) for n in names])
    if "exposure_kg_day" in overrides:  # one experiment's exposure: never copied onto another reactor experiment
        reactors = [e.name for e in joint.parts if not e.counting_experiment]
        if len(reactors) > 1:
            raise CevnsInputError(f"--exposure (exposure_kg_day) is one experiment's exposure, but this joint fit has "
                                  f"{len(reactors)} reactor experiments ({', '.join(reactors)}): set [exposure] "
                                  "total_kg_day in each file")
    return joint.replace(**overrides) if overrides else joint  # each input to the parts it applies to


def _cl(text: Any):
    """A --cl value through the one parser of confidence levels (:func:`cevns.stats.parse_cl`)."""
    from .stats import parse_cl

    return parse_cl(text)


def _envelope(args, command: str, result: Any, exp=None, cl=None, units=None) -> Dict[str, Any]:
    """The JSON result format shared by every command (:func:`cevns.results.envelope`, docs/json.md)."""
    from .results import envelope

    parts = getattr(exp, "parts", [exp]) if exp is not None else []
    inputs = {"overrides": _overrides(args), "experiments": [e.inputs() for e in parts]} if parts else None
    return envelope(command, result, [e.name for e in parts] or None, inputs, cl, units)


def _print_json(obj: Any) -> None:
    print(dumps(obj, indent=2))


def _warn_convergence(res) -> None:
    """One line on stderr when a minimisation of ``res`` did not converge (the exit status stays 0)."""
    if not getattr(res, "converged", True):
        print(f"cevns: warning: the minimisation did not converge ({res.convergence}); the numbers may be "
              "inaccurate", file=sys.stderr)


def _add_common(p: argparse.ArgumentParser) -> None:
    from . import registry

    p.add_argument("experiment", nargs="*",
                   help="built-in experiment (" + ", ".join(k for k in registry.EXPERIMENTS if k != "conus-plus-2025")
                        + "; default conus-plus) or path to an experiment TOML file; several are fitted jointly "
                        "(their statistics summed, each with its own nuisances unless the files share one)")
    g = p.add_argument_group("inputs the paper leaves open (defaults in docs/physics.md)")
    g.add_argument("--k", type=float, help="Lindhard quenching parameter k (default 0.162)")
    g.add_argument("--resolution", choices=["fano", "off"], help="energy resolution model ('off' = eq. 17 literally)")
    g.add_argument("--exposure", type=float, metavar="KG_DAY",
                   help="total reactor-on exposure [kg d] of a reactor experiment, shared among its detectors "
                        f"(default: its file's; conus-plus: {CONUS_PLUS_EXPOSURE}); not for COHERENT; in a joint fit "
                        "it sets the one reactor experiment's (refused with several)")
    g.add_argument("--tail", choices=["summation", "extrapolate", "cut"], help="flux above 8 MeV")
    g.add_argument("--binding-table", dest="binding_table", choices=["carlson", "bearden"],
                   help="germanium binding energies for Z_eff(T_e)")
    g.add_argument("--sigma-alpha", dest="sigma_alpha", type=float, help="normalisation uncertainty (default 0.20)")
    g.add_argument("--input", action="append", metavar="NAME=VALUE",
                   help="any other input, e.g. captures_per_fission=0.55 (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def cmd_predict(args) -> int:
    from .models import get_model
    from .plausibility import check_parameters

    _check_plot(args.plot, args.force)
    joint = _experiment(args)
    params = _predict_parameters(args)
    model = get_model(args.model, **params)
    out: List[Dict[str, Any]] = []
    units: Dict[str, str] = {}
    parts = getattr(joint, "parts", [joint])
    _check_targets(model, params, parts)
    preds = [exp.predict(model) for exp in parts]
    check_parameters(model, parts, preds)
    for exp, pred in zip(parts, preds):
        counting = exp.counting_experiment
        if args.json:
            d = pred.to_dict()
            d["experiment"] = exp.name
            at = f"/predictions/{len(out)}"
            units.update(pred.units_map(at))
            if hasattr(exp.response, "exposures_t_yr"):  # a release's templates (XENONnT 8B)
                d["flux_cm2_s"], d["exposure_t_yr"] = exp.source.total_flux(), sum(exp.response.exposures_t_yr)
                units.update({f"{at}/flux_cm2_s": "cm^-2 s^-1", f"{at}/exposure_t_yr": "t yr"})
            elif counting:
                d["fluence_per_flavour_cm2"] = exp.source.fluence_per_cm2
                d["mass_kg"] = exp.response.mass_kg
                units.update({f"{at}/fluence_per_flavour_cm2": "cm^-2", f"{at}/mass_kg": "kg"})
            else:
                d["flux_cm2_s"] = exp.flux.total_flux()
                d["exposure_kg_day"] = exp.exposure_kg_day
                units.update({f"{at}/flux_cm2_s": "cm^-2 s^-1", f"{at}/exposure_kg_day": "kg d"})
            out.append(d)
        else:
            print(f"{exp.title}\n{pred}")
            if hasattr(exp.response, "exposures_t_yr"):
                print(f"8B flux {exp.source.total_flux():.4e} cm^-2 s^-1; exposure {sum(exp.response.exposures_t_yr):.4g} "
                      f"t yr (runs {', '.join(exp.response.runs)}); background {pred.background.sum():.2f}; observed "
                      f"{exp.data.counts.sum():g} events\n")
            elif counting:
                observed = "no data" if exp.data is None else f"observed {exp.data.counts.sum():g} events"
                print(f"fluence {exp.source.fluence_per_cm2:.4e} cm^-2 per flavour; mass {exp.response.mass_kg:g} kg; "
                      f"{observed}\n")
            else:
                print(f"total flux {exp.flux.total_flux():.4e} cm^-2 s^-1; exposure {exp.exposure_kg_day:g} kg d\n")
    if args.json:
        _print_json(_envelope(args, "predict", {"model": args.model, "parameters": params, "predictions": out},
                              joint, units=units))
    if args.plot:
        _plot_predictions(getattr(joint, "parts", [joint]), model, args.plot)
    return 0


def _check_targets(model, params: Dict[str, Any], parts) -> None:
    """A --set of a parameter acting on elements none of the experiments holds (rn_Xe on CsI) changes nothing: refused,
    as `fit --fix` refuses it."""
    from .nuclei import element_of

    held = {element_of(Z) for exp in parts for Z in exp.target.elements}
    for name in params:
        els = getattr(type(model).parameter_table.get(name) and type(model).parameter(name), "elements", ())
        if els and not held & set(els):
            raise CevnsInputError(f"no experiment here has {' or '.join(els)} in its target ({', '.join(sorted(held))})"
                                  f": --set {name} changes nothing")


def _predict_parameters(args) -> Dict[str, Any]:
    """--set values, with a mediator's mass from --mass (required for a mediator model, refused otherwise)."""
    from . import registry
    from .analysis import MAX_MEDIATOR_MASS_MeV

    params = _pairs(args.set, "--set")
    mediator = args.model in registry.MEDIATORS
    if args.mass is not None:
        if not mediator:
            raise CevnsInputError(f"--mass is the mediator mass of --model {' | '.join(registry.MEDIATORS)}, "
                                  f"not of --model {args.model}")
        if "mass_MeV" in params:
            raise CevnsInputError("the mediator mass is given twice (--mass and --set mass_MeV=...): give it once")
        if not 0 < args.mass <= MAX_MEDIATOR_MASS_MeV:
            raise CevnsInputError(f"--mass must be > 0 and at most {MAX_MEDIATOR_MASS_MeV:g} MeV (10 TeV), got "
                                  f"{args.mass:g}")
        params["mass_MeV"] = args.mass
    elif mediator and "mass_MeV" not in params:
        raise CevnsInputError(f"--model {args.model} needs the mediator mass: add --mass MEV (e.g. --mass 10)")
    return params


def _plot_predictions(exps, model, path: str) -> None:
    """`predict --plot`: per experiment, CEvNS and EvES stacked over the data (like Fig. 1)."""
    from .labels import model_label
    from .style import SINGLE_COLUMN, figure_style, legend, new_figure

    with figure_style():
        fig, axes = new_figure(SINGLE_COLUMN * len(exps), 2.7, 1, len(exps), squeeze=False)
        for ax, exp in zip(axes[0], exps):
            exp.predict(model).plot(ax, label=model_label(model), stacked=True)
            ax.set_xlim(exp.energy_edges[0], exp.energy_edges[-1])
            ax.set_title(exp.title, fontsize=7)
            legend(ax, loc="upper right")
        _write_figure(fig, path)
    print(f"wrote {path}", file=sys.stderr)


def _announce_joint(exp) -> None:
    note = getattr(exp, "joint_note", None)  # a joint experiment that is one data set (cevns.quenching_nuisance)
    if note:
        print(note, file=sys.stderr)
    elif hasattr(exp, "parts"):
        shared = exp.shared_nuisances()
        print(f"joint fit of {exp.name}: statistics summed, each experiment with its own nuisances"
              + (" except " + ", ".join(f"{t} (shared by {', '.join(v)})" for t, v in shared.items()) if shared else ""),
              file=sys.stderr)


def _save_plot(draw, path: str, title: str = "", note: str = "") -> None:
    """Draw into a new single-column figure in the cevns style and save it (no pyplot: the backend is left
    alone); ``title``: the experiment, small, above the axes; ``note`` (what is excluded or allowed, the statistic,
    what was marginalised or fixed): the title of a legend below the axes, where it hides no curve."""
    from .style import figure_style, legend, new_figure

    with figure_style():
        fig, ax = new_figure("single", 3.6 if note else None)
        draw(ax)
        if note:
            handles, labels = ax.get_legend_handles_labels()
            keep = {lab: h for h, lab in zip(handles, labels) if lab and not lab.startswith("_")}
            fig.legend(list(keep.values()), list(keep), loc="outside lower center", ncol=1, title=note,
                       title_fontsize=6, alignment="left")
        else:
            legend(ax, loc="best")
        if title:  # a joint fit's titles wrapped, never cut at the figure's edges
            import textwrap

            ax.set_title(textwrap.fill(title, 64), fontsize=7)
        _write_figure(fig, path)
    print(f"wrote {path}", file=sys.stderr)


def _plot_title(exp, model=None) -> str:
    from .labels import model_label

    title = getattr(exp, "title", None) or exp.name
    return title + (f"; {model_label(model)}" if model is not None else "")


def cmd_fit(args) -> int:
    from .models import parameter

    levels = [_cl(x) for x in (args.cl or parameter(args.param).levels)]
    fixed, free = _fix_free(args)
    _check_plot(args.plot, args.force)
    exp = _experiment(args)
    _announce_joint(exp)
    model = None
    if args.mediator is not None or args.mass is not None:
        from .models import get_model

        if args.mediator is None or args.mass is None:
            raise CevnsInputError("--mediator and --mass go together (e.g. --param g --mediator vector-bl --mass 10)")
        from .analysis import MAX_MEDIATOR_MASS_MeV

        if not 0 < args.mass <= MAX_MEDIATOR_MASS_MeV:
            raise CevnsInputError(f"--mass must be > 0 and at most {MAX_MEDIATOR_MASS_MeV:g} MeV (10 TeV), got "
                                  f"{args.mass:g}")
        model = get_model(args.mediator, mass_MeV=args.mass)
    elif args.param == "g":
        raise CevnsInputError("g is a mediator coupling: add --mediator scalar|vector-bl --mass MEV "
                              "(or scan the masses with `cevns exclusion`)")
    else:
        model = _shared_fit_model(args.param, fixed, free)
    from .models import model_for_parameter

    _check_fixed(exp, type(model) if model is not None else model_for_parameter(args.param), fixed, model)
    res = exp.fit(args.param, args.channels, levels=levels, model=model, fixed=fixed, free=free)
    _warn_convergence(res)
    if args.json:
        _print_json(_envelope(args, "fit", res.to_dict(), exp, [c.to_dict(1) for c in levels], res.units_map()))
    else:
        print(res)
    if args.plot:
        from .style import channel_style

        _save_plot(lambda ax: res.plot(ax, zoom=True, **channel_style(res.channels)), args.plot, _plot_title(exp, model),
                   res.note())
    return 0


def cmd_exclusion(args) -> int:
    import numpy as np

    cl = _cl(args.cl)
    from .analysis import MAX_MASSES, MAX_MEDIATOR_MASS_MeV

    _check_plot(args.plot, args.force)
    if args.mass_max > MAX_MEDIATOR_MASS_MeV and args.mass_max < float("inf"):
        raise CevnsInputError(f"--mass-max must be at most {MAX_MEDIATOR_MASS_MeV:g} MeV (10 TeV), got {args.mass_max:g}")
    if not (0 < args.mass_min < args.mass_max < float("inf")) or not 1 <= args.n_masses <= MAX_MASSES:
        raise CevnsInputError(f"need 0 < --mass-min < --mass-max (finite) and 1 <= --n-masses <= {MAX_MASSES}; got "
                              f"{args.mass_min:g}, {args.mass_max:g}, {args.n_masses}")
    exp = _experiment(args)
    _announce_joint(exp)
    masses = np.geomspace(args.mass_min, args.mass_max, args.n_masses)
    fixed, _ = _fix_free(args)
    res = exp.exclusion(args.model, args.channels, cl=cl, dof=args.dof, masses=masses,
                        convention=args.convention, progress=Progress(f"{args.model} scan"), fixed=fixed)
    _warn_convergence(res)
    if args.json:
        _print_json(_envelope(args, "exclusion", res.to_dict(), exp, [cl.to_dict(args.dof)], res.units_map()))
    else:
        print(res)
    if args.plot:
        from .style import channel_style

        _save_plot(lambda ax: res.plot(ax, **channel_style(res.channels)), args.plot, _plot_title(exp),
                   res.note(fixed))
    return 0


def cmd_contour(args) -> int:
    cl = _cl(args.cl)
    _check_plot(args.plot, args.force)
    params = [p.strip() for p in args.params.split(",")]
    if len(params) != 2:
        raise CevnsInputError(f"--params expects two names separated by a comma, e.g. q_ee,q_emu; got {args.params!r}")
    exp = _experiment(args)
    _announce_joint(exp)
    fixed, free = _fix_free(args)
    from .models import model_for_parameter

    owners = [model_for_parameter(p) for p in params]  # the model beyond the SM, if either parameter has one
    _check_fixed(exp, next((c for c in owners if c.family()), owners[0]), fixed)
    res = exp.contour(params, args.channels, cl=cl, dof=args.dof, n=args.n,
                      progress=Progress(f"{params[0]} x {params[1]}"), fixed=fixed, free=free)
    _warn_convergence(res)
    if args.json:
        _print_json(_envelope(args, "contour", res.to_dict(grid=args.grid), exp, [cl.to_dict(args.dof)],
                              res.units_map(grid=args.grid)))
    else:
        print(res)
    if args.plot:
        from .style import channel_style

        _save_plot(lambda ax: res.plot(ax, color=channel_style(res.channels).get("color", "C0"), zoom=True), args.plot,
                   _plot_title(exp), res.note())
    return 0


def cmd_list(args) -> int:
    """`cevns list`: built-in experiments, models and their parameters with units."""
    from . import registry
    from .models import MODELS

    data: Dict[str, Any] = {"experiments": {k: v[1] for k, v in registry.EXPERIMENTS.items()},
            "models": {name: {"parameters": {p: unit for p, (_d, unit, _s) in cls.parameter_table.items()},
                              "masses": {p: unit for p, (_d, unit) in cls.mass_table.items()},
                              "description": " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())}
                       for name, cls in MODELS.items()}}
    if args.json:
        _print_json(_envelope(args, "list", data))
        return 0
    print("built-in experiments:")
    for k, v in data["experiments"].items():
        print(f"  {k:<20} {v}")
    print("\nmodels (--model) and their parameters (--set, --param) [unit]:")
    for name, m in data["models"].items():
        pars = ", ".join(f"{p} [{u}]" if u else p for p, u in {**m["parameters"], **m["masses"]}.items())
        print(f"  {name:<24} {pars}\n  {'':<24} {m['description']}")
    return 0


def cmd_schema(args) -> int:
    """`cevns schema`: the experiment-file format as JSON Schema, Markdown, or a check of one file."""
    from . import schema

    if args.validate:
        from .experiments import read_experiment_file

        cfg, text, _ = read_experiment_file(args.validate)
        from .experiments import renamed_error

        try:
            c = schema.validate(cfg, text)
        except CevnsInputError as e:  # named as loading names it
            raise renamed_error(e, f"experiment file {args.validate}: ") from None
        print(f"{args.validate}: valid (schema version {schema.SCHEMA_VERSION}; "
              f"{len(c)} sections and keys; data files are read only by the other commands)")
        return 0
    print(schema.markdown() if args.markdown else dumps(schema.json_schema(), indent=2), end="\n" * (not args.markdown))
    return 0


def cmd_coverage(args) -> int:
    """`cevns coverage`: every argument checked, then the run under the lock of its --out folder (one run at a
    time per folder, so two runs can never mix their coverage.json and figures)."""
    from pathlib import Path

    from .coverage import MAX_POINTS, MAX_TOYS, check_run_size, check_scheduler
    from .outputs import OutputLock, check_output_file, is_writable

    cl = _cl(args.cl)
    if not 1 <= args.toys <= MAX_TOYS:
        raise CevnsInputError(f"--toys must be from 1 to {MAX_TOYS:.0e} per true value (10^4 toys take ~10 s of one "
                              f"core), got {args.toys}")
    if not 0 <= args.seed < 2**63:
        raise CevnsInputError(f"--seed must be from 0 to 2^63 - 1, got {args.seed}")
    if not 3 <= args.points <= MAX_POINTS:
        raise CevnsInputError(f"--points must be from 3 to {MAX_POINTS}, got {args.points}")
    if args.batch < 1:
        raise CevnsInputError(f"--batch must be >= 1, got {args.batch}")
    if args.workers is not None and args.workers < 0:
        raise CevnsInputError(f"--workers must be >= 0 (0: in this process, no Dask), got {args.workers}")
    if args.scheduler is not None:
        if args.workers is not None:
            raise CevnsInputError("--workers starts a local cluster; with --scheduler the cluster has its own workers")
        check_scheduler(args.scheduler, "--scheduler")
    check_run_size(args.points, args.toys, args.batch, 1, args.workers, True, "--")  # the bins are known below
    out = Path(args.out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise CevnsInputError(f"--out {str(out)!r} is {'a symbolic link' if out.is_symlink() else 'not a folder'}: "
                              "give a folder")
    with OutputLock(out):
        if out.is_dir() and not is_writable(out):
            raise CevnsInputError(f"--out {str(out)!r} is read-only: choose another folder")
        if (out / "cache").is_symlink() or ((out / "cache").exists() and not (out / "cache").is_dir()):
            raise CevnsInputError(f"--out {str(out)!r}: its cache is not a folder of cevns's (a link or a file)")
        for name in ("coverage.json", "coverage.png", "coverage.pdf"):  # before any computation
            check_output_file(out / name, "--out", args.force)
        return _coverage_run(args, cl, out)


def _coverage_run(args, cl, out) -> int:
    from ._files import write_atomically
    from .coverage import check_run_size, feldman_cousins

    exp = _experiment(args)
    _announce_joint(exp)
    check_run_size(args.points, args.toys, args.batch, int(exp.data.counts.size), args.workers, True, "--")
    fixed, _ = _fix_free(args)
    res = feldman_cousins(exp, args.param, toys=args.toys, cl=cl, channels=args.channels, fixed=fixed,
                          seed=args.seed, points=args.points, batch=args.batch, workers=args.workers,
                          scheduler=args.scheduler, cache=out / "cache", progress=Progress("toys"),
                          announce=lambda m: print(f"cevns: coverage: {m}", file=sys.stderr, flush=True))
    u = res.unit
    units = {k: u for k in ("/best_fit", "/physical_range", "/fc_intervals", "/wilks_intervals", "/points/*/true")} \
        if u else {}
    units.update({"/run/wall_s": "s", "/run/seconds_per_10k_toys": "s"})
    text = dumps(_envelope(args, "coverage", res.to_dict(), exp, [cl.to_dict(1)], units), indent=2)
    write_atomically(out / "coverage.json", text + "\n")
    res.figure(out / "coverage")
    print(f"wrote {out / 'coverage.json'}, {out / 'coverage.png'}, {out / 'coverage.pdf'}", file=sys.stderr)
    print(text if args.json else res)
    return 0


STUDIES = ("paper", "global", "quenching")


def cmd_figures(args) -> int:
    """`cevns figures RESULTS.json --out DIR`: a study's figures redrawn from its results.json."""
    from pathlib import Path

    from .figures import redraw

    names = None if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    if names is not None and not names:
        raise CevnsInputError("--only needs figure names, e.g. --only fig2_sin2w,fig7_mediators")
    drawn = redraw(Path(args.results), Path(args.out), args.force, names)
    print(f"wrote {len(drawn)} figure{'s' if len(drawn) != 1 else ''} (PNG, PDF) into {args.out}: {', '.join(drawn)}",
          file=sys.stderr)
    return 0


def cmd_reproduce(args) -> int:
    """`cevns reproduce [paper|global] [EXPERIMENT] [inputs]`.  The paper study runs on one reactor experiment
    (default conus-plus) with the same input options as `fit`; the global study runs the five built-in data sets
    with their default inputs (experiments and input options are refused there: its report compares those
    data sets as published, and changed inputs belong to a joint `cevns fit`)."""
    from pathlib import Path

    names = list(args.experiment or [])
    study = args.study
    if study not in STUDIES:  # `cevns reproduce my.toml ...`: an experiment for the paper study
        names.insert(0, study)
        study = "paper"
    given = [f"--{d.replace('_', '-')}" for d in args.input_options if getattr(args, d, None) is not None]
    if study == "quenching":
        if names or given or args.sin2w_points is not None or args.transitions != "zero":
            raise CevnsInputError("the quenching study runs conus-plus and dresden-ii-2022 (and coherent-csi-2021) under "
                                  "each germanium quenching model; it takes --out, --docs and --force only")
        from .study_quenching import reproduce_quenching

        run = reproduce_quenching(args.out or "cevns-quenching", progress=True, docs=args.docs, force=args.force)
    elif study == "global":
        if args.sin2w_points is not None:
            raise CevnsInputError("--sin2w-points belongs to the paper study (its Fig. 3)")
        if names or given:
            from .global_study import DATASETS

            raise CevnsInputError(f"the global study runs {', '.join(n for n, _, _ in DATASETS)} with their "
                                  f"default inputs; {', '.join(names + given)} apply to the paper study "
                                  "(`cevns reproduce [EXPERIMENT] --k ...`) or to a joint `cevns fit`")
        from .global_study import reproduce_global

        run = reproduce_global(args.out or "cevns-global", progress=True, transitions=args.transitions, docs=args.docs,
                               force=args.force)
    else:
        if args.transitions != "zero":
            raise CevnsInputError("--transitions belongs to the global study")
        if len(names) > 1:
            raise CevnsInputError(f"the paper study runs on one experiment, got {len(names)}: {', '.join(names)} "
                                  "(fit several together with `cevns fit A B`)")
        if names and names[0] not in _builtin_experiments() and not Path(names[0]).exists():
            raise CevnsInputError(f"{names[0]!r} is neither a study ({', '.join(STUDIES)}), a built-in experiment "
                                  f"({', '.join(_builtin_experiments())}) nor a file")
        args.experiment = names
        from .reproduce import reproduce

        run = reproduce(args.out or "cevns-results", progress=True, docs=args.docs, sin2w_points=args.sin2w_points,
                        force=args.force, experiment=_experiment(args), summary=not args.json)
    if args.json:  # results.json without its figure data
        print(dumps({**run["results"], "study": study}, indent=1, sort_keys=True))
    return 0


def _builtin_experiments() -> List[str]:
    from . import registry

    return [k for k in registry.EXPERIMENTS if k != "conus-plus-2025"]  # the alias is not listed (as in `fit`)


def _one_line(text: str) -> str:
    """An error message on one line: control characters (a newline in a key of the user's file) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Once(argparse.Action):
    """argparse's "store", refusing an option given twice (`--k 0.2 --k 0.3` would silently keep 0.3)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_given_once", set())
        if option_string is not None and self.dest in seen:
            parser.error(f"argument {option_string}: given twice; give it once")
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (``cevns fit: error: ... (see cevns fit --help)``), exit status 2;
    an option that takes one value may be given once."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.register("action", None, _Once)
        self.register("action", "store", _Once)

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, _one_line(f"{self.prog}: error: {message} (see {self.prog} --help)") + "\n")


def _add_plot(sp, text: str) -> None:
    sp.add_argument("--plot", metavar="FILE", help=text + "; an existing file is replaced only if cevns wrote it")
    sp.add_argument("--force", action="store_true", help="replace a --plot FILE that cevns did not write")


def _add_predict_command(sub) -> None:
    """The `predict` subcommand."""
    from . import registry

    sp = sub.add_parser("predict", help="expected counts per bin for a model",
                        description="Expected CEvNS and EvES counts per bin (eq. 17, 19), and for a counting experiment "
                        "(COHERENT) its backgrounds per energy x time bin.")
    _add_common(sp)
    sp.add_argument("--model", default="sm", choices=list(registry.MODELS),
                    help=" | ".join(registry.MODELS) + " (default sm; `cevns list` shows their parameters)")
    sp.add_argument("--set", action="append", metavar="PARAM=VALUE",
                    help="model parameter in the unit `cevns list` shows, e.g. mu_nu=1e-10 (mu_B), q_ee=1e-12 (e), "
                         "g=1e-5 (repeatable); a value far outside what experiments probe is warned about or refused")
    sp.add_argument("--mass", type=float, metavar="MEV", help="mediator mass [MeV] (required with --model scalar | "
                                                              "vector-bl)")
    _add_plot(sp, "draw CEvNS and EvES stacked over the data into FILE (png, pdf), like Fig. 1")
    sp.set_defaults(func=cmd_predict)


def _add_fit_command(sub) -> None:
    """The `fit` subcommand."""
    from . import registry

    sp = sub.add_parser("fit", help="best fit, Delta chi^2 profile and intervals of one parameter",
                        description="Profile one parameter with the experiment's own statistic: chi^2 of eq. 20 "
                        "for a chi^2 experiment (the normalisation alpha minimised analytically), the Poisson deviance "
                        "-2 ln(L/L_saturated) plus the nuisances' Gaussian constraints, every nuisance profiled, for "
                        "a counting one (COHERENT), their sum in "
                        "a joint fit; the result names the statistic.  By default the other members of the parameter's "
                        "family that share a flavour with it are marginalised and the rest held at their defaults "
                        "(--free, --fix change that; the result lists both).")
    _add_common(sp)
    sp.add_argument("--param", required=True,
                    help="a parameter of a model, e.g. sin2w, mu_nu, q_ee, r2_emu (`cevns list` names them all with "
                         "their units); g with --mediator and --mass")
    sp.add_argument("--channels", default="cevns+eves", help="cevns | eves | cevns+eves (default)")
    sp.add_argument("--cl", action="append", metavar="LEVEL",
                    help=CL_HELP + ", repeatable (default: the parameter's own, 1sigma and 90%% for sin2w, else 90%%)")
    _add_fix_free(sp)
    sp.add_argument("--mediator", choices=list(registry.MEDIATORS), help="with --param g: the mediator model")
    sp.add_argument("--mass", type=float, metavar="MEV", help="with --param g: the mediator mass [MeV]")
    _add_plot(sp, "draw the Delta chi^2 profile into FILE (png, pdf)")
    sp.set_defaults(func=cmd_fit)


def _add_exclusion_command(sub) -> None:
    """The `exclusion` subcommand."""
    from . import registry

    sp = sub.add_parser("exclusion", help="light-mediator exclusion in (M, g)",
                        description="Smallest excluded coupling per mediator mass: at each mass, Delta of the experiment's own "
                        "statistic (chi^2 of eq. 20; Poisson deviance with profiled nuisances for COHERENT; their sum "
                        "jointly) from its minimum over g >= 0, against the level of --cl and --dof.  Allowed islands "
                        "above the limit are listed; g = 0 at a mass means even the SM lies outside the region there "
                        "(only the islands are allowed); the other parameters stay at their defaults or --fix.")
    _add_common(sp)
    sp.add_argument("--model", required=True, choices=list(registry.MEDIATORS),
                    help="the light mediator: " + " | ".join(registry.MEDIATORS))
    sp.add_argument("--channels", default="cevns+eves", help="cevns | eves | cevns+eves (default)")
    sp.add_argument("--cl", default="90%", metavar="LEVEL", help=CL_HELP + " (default 90%%)")
    sp.add_argument("--dof", type=int, default=1, choices=[1, 2],
                    help="degrees of freedom of Delta chi^2: 1 (2.71 at 90%%, default) or 2 (4.61)")
    sp.add_argument("--convention", default="universal", choices=["universal", "product"],
                    help="g = g^nu = g^q = g^e (universal) or g = g^nu g^q (product)")
    sp.add_argument("--mass-min", type=float, default=0.01, help="lowest mass [MeV] (default 0.01)")
    sp.add_argument("--mass-max", type=float, default=1e4, help="highest mass [MeV] (default 1e4)")
    sp.add_argument("--n-masses", type=int, default=121,
                    help="number of log-spaced masses (default 121; the text table shows about 12, --json all)")
    _add_fix_free(sp, free=False)
    _add_plot(sp, "draw the excluded region in (M, g) into FILE (png, pdf), like Fig. 7")
    sp.set_defaults(func=cmd_exclusion)


def _add_contour_command(sub) -> None:
    """The `contour` subcommand."""
    sp = sub.add_parser("contour", help="allowed region of two parameters (the rest of the family marginalised)",
                        description="Delta chi^2 over a grid of two parameters of one model, e.g. q_ee,q_emu or "
                        "r2_ee,r2_emu or sin2w,mu_nu: Delta of the experiment's own statistic (chi^2 of eq. 20; "
                        "Poisson deviance with profiled nuisances for COHERENT; their sum jointly) from its minimum; "
                        "the other members of the family that share a flavour are minimised over (marginalised), the "
                        "rest held at their defaults (--free, --fix change that).  The region is allowed inside the "
                        "contour.")
    _add_common(sp)
    sp.add_argument("--params", required=True, metavar="P1,P2", help="two parameters of one model, e.g. q_ee,q_emu")
    sp.add_argument("--channels", default="cevns+eves", help="cevns | eves | cevns+eves (default)")
    sp.add_argument("--cl", default="90%", metavar="LEVEL", help=CL_HELP + " (default 90%%)")
    sp.add_argument("--dof", type=int, default=2, choices=[1, 2],
                    help="degrees of freedom of the level: 2 (joint region, 4.61 at 90%%, default) or 1 (2.71)")
    sp.add_argument("--n", type=int, default=61, help="grid points per axis (default 61)")
    sp.add_argument("--grid", action="store_true", help="with --json: include the whole Delta chi^2 grid")
    _add_fix_free(sp)
    _add_plot(sp, "draw the contour into FILE (png, pdf)")
    sp.set_defaults(func=cmd_contour)


def _add_list_command(sub) -> None:
    """The `list` subcommand."""
    sp = sub.add_parser("list", help="built-in experiments, models and parameters with units",
                        description="List the built-in experiments, the models and their parameters with units.")
    sp.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    sp.set_defaults(func=cmd_list)


def _add_schema_command(sub) -> None:
    """The `schema` subcommand."""
    sp = sub.add_parser("schema", help="the experiment-file format: JSON Schema, reference tables, or check a file",
                        description="Print every section and key an experiment file may hold (type, unit, allowed "
                        "range, default) as JSON Schema (draft 2020-12), or as the Markdown tables of "
                        "docs/experiments.md; or check one file against it.")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--markdown", action="store_true", help="print the reference tables instead of JSON Schema")
    g.add_argument("--validate", metavar="FILE", help="check FILE against the schema (no computation)")
    sp.set_defaults(func=cmd_schema)


def _add_coverage_command(sub) -> None:
    """The `coverage` subcommand."""
    sp = sub.add_parser("coverage", help="Feldman-Cousins interval from toys, and the coverage of the Delta chi^2 interval",
                        description="One-parameter Feldman-Cousins construction (likelihood-ratio ordering, physical "
                        "boundary respected) over a grid of true values, from pseudo-experiments drawn from the "
                        "experiment's own likelihood; the actual coverage of the Delta chi^2 interval at each value. "
                        "Runs on a local Dask cluster (default), an existing one (--scheduler) or in this process "
                        "(--workers 0); finished batches are cached under --out, so an interrupted run resumes.")
    _add_common(sp)
    sp.add_argument("--param", required=True, help="a parameter of a model without a mass (`cevns list`); the other "
                    "parameters of its model are held at their defaults, or at --fix values (a one-dimensional "
                    "construction)")
    sp.add_argument("--channels", default="cevns+eves", help="cevns | eves | cevns+eves (default)")
    sp.add_argument("--toys", type=int, default=2000, help="pseudo-experiments per grid point (default 2000)")
    sp.add_argument("--cl", default="90%", metavar="LEVEL", help=CL_HELP + " (default 90%%)")
    sp.add_argument("--points", type=int, default=21, help="true values on the grid (default 21, at most 1001)")
    sp.add_argument("--workers", type=int, default=None,
                    help="local Dask workers (default: the number of cores, and at most that); 0: in this process, "
                         "without Dask")
    sp.add_argument("--scheduler", metavar="ADDR",
                    help="address of a running Dask scheduler, tcp://HOST:PORT, e.g. tcp://10.0.0.1:8786 (tls://, "
                         "ucx:// and inproc:// are not supported); every exchange with it times out after 30 s")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0); results do not depend on --workers")
    sp.add_argument("--batch", type=int, default=500, help="toys per task (default 500; part of the seed scheme; "
                    "at most 100000 tasks in all)")
    sp.add_argument("--out", default="cevns-coverage",
                    help="output folder: coverage.json, coverage.png/pdf, cache/ (default ./cevns-coverage); its "
                         "files are replaced only if cevns wrote them (a mark in their metadata); one run at a time")
    sp.add_argument("--force", action="store_true", help="replace coverage.json/png/pdf in --out that cevns did not write")
    _add_fix_free(sp, free=False)
    sp.set_defaults(func=cmd_coverage)


def _add_figures_command(sub) -> None:
    """The `figures` subcommand."""
    sp = sub.add_parser("figures", help="redraw every figure of a study from its results.json, without refitting",
                        description="Redraw the figures of `cevns reproduce` (or `reproduce global`) from the "
                        "results.json it wrote: every number a figure shows is read from the file (its 'figure_data' "
                        "section holds the profiles, spectra and grids), nothing is refitted.  The figures go into "
                        "--out as PNG and PDF.")
    sp.add_argument("results", metavar="RESULTS.json", help="the results.json of a study")
    sp.add_argument("--out", required=True, metavar="DIR",
                    help="folder for the figures (not the study's own folder); replaced as a whole if cevns wrote it")
    sp.add_argument("--only", metavar="NAME[,...]", help="only these figures, e.g. fig2_sin2w,fig7_mediators")
    sp.add_argument("--force", action="store_true", help="replace a --out folder holding files cevns did not write")
    sp.set_defaults(func=cmd_figures)


def _add_reproduce_command(sub) -> None:
    """The `reproduce` subcommand."""
    sp = sub.add_parser("reproduce", help="a whole study (the paper's, or the global fit), with report and figures",
                        description="Run every analysis of a study and write results.json, report.md/html and the "
                        "figures.  'paper' (default): the reference paper on the embedded CONUS+ data, or on another "
                        "reactor experiment and with changed inputs (the options of `fit`; the report's header then "
                        "lists every input that differs from the default, and the comparison with the paper is not "
                        "like for like).  'global': CONUS+, COHERENT CsI and LAr, Dresden-II and XENONnT 8B alone and "
                        "combined, flavour by "
                        "flavour, with their default inputs (experiments and input options are refused).")
    sp.add_argument("study", nargs="?", default="paper",
                    help="paper (default), global or quenching; a built-in experiment or TOML file here runs the paper "
                         "study on it")
    before = {a.dest for a in sp._actions}
    _add_common(sp)  # the experiment and input options of `fit`, and --json (print results.json on stdout)
    input_options = [a.dest for a in sp._actions if a.dest not in before and a.dest not in ("experiment", "json")]
    sp.add_argument("--out", default=None,
                    help="output folder (default ./cevns-results for paper, ./cevns-global for global)")
    sp.add_argument("--force", action="store_true",
                    help="write into an --out folder that holds files cevns did not write (they are kept and never "
                         "moved; one named like an output is replaced), or over a --docs FILE cevns did not write")
    sp.add_argument("--transitions", default="zero", choices=["zero", "marginalised"],
                    help="global study: transition EM parameters at zero (default) or marginalised")
    sp.add_argument("--docs", metavar="FILE", help="also write the validation table to FILE (docs/validation.md)")
    sp.add_argument("--sin2w-points", metavar="CSV",
                    help="further sin^2 theta_W determinations for Fig. 3 (columns: label,Q_GeV,value,err_plus,"
                         "err_minus,scheme,reference; scheme = MSbar | on-shell | effective)")
    sp.set_defaults(func=cmd_reproduce, input_options=input_options)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cevns", description="CEvNS and EvES phenomenology: predictions, fits and "
                                "limits for reactor (CONUS+) and stopped-pion (COHERENT CsI, LAr) data, alone or "
                                "combined.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    p.add_argument("--version", action="version", version=f"cevns {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    _add_predict_command(sub)
    _add_fit_command(sub)
    _add_exclusion_command(sub)
    _add_contour_command(sub)
    _add_list_command(sub)
    _add_schema_command(sub)
    _add_coverage_command(sub)
    _add_figures_command(sub)
    _add_reproduce_command(sub)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import warnings

    from .errors import CevnsWarning

    def one_line(message, category, *_a, **_k):  # cevns's own warnings: one line, no source excerpt
        if issubclass(category, CevnsWarning):
            print(f"cevns: warning: {message}", file=sys.stderr)
        else:
            default_show(message, category, *_a, **_k)

    default_show = warnings.showwarning
    warnings.showwarning = one_line
    try:
        return int(args.func(args))
    except CevnsInputError as e:
        print(f"cevns: error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: no traceback; outputs are staged, so nothing half-written remains
        print("cevns: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly, like other Unix tools
        sys.stderr.close()
        return 0
    except OSError as e:  # e.g. --plot or --out into a folder that cannot be written
        print(_one_line(f"cevns: error: {e.strerror or e}: {e.filename or ''}"), file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = default_show

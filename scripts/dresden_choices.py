"""How much the Dresden-II results move with each choice the release leaves open (docs/dresden.md).

    python scripts/dresden_choices.py

For each variant of dresden-ii-2022 (one input changed at a time): the fitted CEvNS amplitude (x that variant's own
prediction) with its 1 sigma interval, Delta chi^2 of background only and of the SM against the best fit, sin^2 theta_W
(1 sigma) and the 90% C.L. limit on mu_nu.
"""

from __future__ import annotations

import copy

import cevns
from cevns.experiments import Experiment
from cevns.study_quenching import dresden_amplitude


def variant(base, **cfg_changes):
    cfg = copy.deepcopy(base.config)
    for path, value in cfg_changes.items():
        sec, key = path.split("__")
        if value is None:
            cfg[sec].pop(key, None)
        else:
            cfg[sec][key] = value
    return Experiment(cfg, base.base_dir)


def summary(e) -> str:
    a = dresden_amplitude(e)  # the amplitude scan the quenching study reports
    f = e.fit("sin2w", levels=("1sigma",))
    mu = e.limit("mu_nu").intervals["90%"][-1][1]
    (lo, hi), = f.intervals["1sigma"]
    (alo, ahi) = a["1sigma"]
    return (f"{a['events_per_day']:7.1f} | {a['best']:.2f} [{alo:.2f}, {ahi:.2f}] | {a['delta_chi2_no_cevns']:5.2f} | "
            f"{a['delta_chi2_sm']:5.2f} | {f.best:.3f} [{lo:.3f}, {hi:.3f}] | {mu / 1e-11:5.1f}")


def main() -> None:
    e = cevns.load_experiment("dresden-ii-2022")
    bm = e.config["background_model"]
    rows = [("default (Fef, per detector-day, exponential_order 1, L shift terms, M prior)", e),
            ("quenching YBe", e.replace(quenching="ybe")),
            ("quenching Lindhard k = 0.162", e.replace(quenching="lindhard")),
            ("unit per kg-day (exposure_kg_day = 1)", e.replace(exposure_kg_day=1.0)),
            ("mass 3 kg (abstract) instead of 2.924", e.replace(exposure_kg_day=3.0)),
            ("sigma_alpha = 0.10 (signal normalisation)", e.replace(sigma_alpha=0.10)),
            ("exponential_order 0 (decay energy fixed)", variant(e, background_model__exponential_order=0)),
            ("exponential_order 2", variant(e, background_model__exponential_order=2)),
            ("no L-group shift terms", variant(e, background_model__peaks=[{**p, "shift": False} for p in bm["peaks"]])),
            ("no M-shell prior (M area free)", variant(e, background_model__priors=None))]
    print("variant | CEvNS / day | amplitude (1 sigma) | Dchi2 no CEvNS | Dchi2 SM | sin2w (1 sigma) | mu_nu 90% [1e-11 mu_B]")
    for name, x in rows:
        print(f"{name} | {summary(x)}")


if __name__ == "__main__":
    main()

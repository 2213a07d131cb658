"""The names the package knows -- built-in experiments and models -- in one light module (no numpy), so
that the command line can list them in its help and choices without loading the physics.

Adding a model is its class in :mod:`cevns.models` plus one line in :data:`MODELS`; adding a built-in
experiment is its TOML file in ``data/experiments/`` plus one line in :data:`EXPERIMENTS`.  A test checks
that every entry here resolves and that every model class is registered.
"""

from __future__ import annotations

from typing import Dict, Tuple

#: built-in experiment name -> (file in data/experiments/, one-line description)
EXPERIMENTS: Dict[str, Tuple[str, str]] = {
    "conus-plus": ("conus_plus_2025.toml", "CONUS+ run 1 (Leibstadt reactor), Ge C2+C3+C5, digitised excess, chi^2"),
    "conus-plus-2025": ("conus_plus_2025.toml", "alias of conus-plus"),
    "coherent-csi-2021": ("coherent_csi_2021.toml", "COHERENT CsI[Na] 2021 (SNS stopped pions), Poisson, PE x time"),
    "dresden-ii-2022": ("dresden_ii_2022.toml", "Dresden-II 2022 (NCC-1701 Ge, Rx-ON), fitted background, chi^2"),
    "coherent-lar-2020": ("coherent_lar_2020.toml", "COHERENT CENNS-10 LAr 2020 Analysis A (SNS), Poisson, keVee x time"),
    "xenonnt-8b-2026": ("xenonnt_8b_2026.toml", "XENONnT solar 8B CEvNS, SR0+SR1+SR2 release, Poisson, 4-d bins"),
}

#: model name (CLI and files) -> class name in cevns.models
MODELS: Dict[str, str] = {
    "sm": "StandardModel",
    "magnetic-moment": "MagneticMoment",
    "magnetic-moment-flavour": "FlavourMagneticMoment",
    "millicharge": "Millicharge",
    "charge-radius": "ChargeRadius",
    "nsi-vector": "VectorNSI",
    "neutron-radius": "NeutronRadius",
    "neutron-radius-tied": "TiedNeutronRadius",
    "scalar": "ScalarMediator",
    "vector-bl": "VectorBL",
}

#: the models with a mediator mass (exclusion curves in (M, g))
MEDIATORS: Tuple[str, ...] = ("scalar", "vector-bl")

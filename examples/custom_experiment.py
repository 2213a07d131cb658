"""Define your own experiment in a TOML file and fit it (see docs/experiments.md)."""

from pathlib import Path

import cevns

here = Path(__file__).parent
exp = cevns.load_experiment(str(here / "my_reactor.toml"))
print(exp.predict())
print(exp.fit("sin2w"))
print(exp.limit("mu_nu", cl=0.9))

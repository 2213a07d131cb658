"""Write the golden values of the paper's results (tests/golden/*.json) from the current code.

Run:  python tests/golden/regenerate.py

The files pin every number of ``cevns reproduce`` (results.json, the sensitivity table, the mediator
choices table) and the per-bin SM prediction of conus-plus; ``tests/test_golden.py`` compares a fresh
run with them.  A change of physics or numerics therefore shows up as a failing test; if the change
is intended, rerun this script and commit the diff of the JSON files with it, so a reviewer reads
exactly which numbers moved and by how much.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict

HERE = Path(__file__).resolve().parent
RESULTS_FILE = HERE / "conus_plus_results.json"
PREDICTION_FILE = HERE / "conus_plus_sm_prediction.json"


def _clean(v: Any) -> Any:
    """JSON-ready: tuples to lists, numpy scalars to float, dict keys to str (floats keep repr)."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (bool, str)) or v is None:
        return v
    if isinstance(v, int):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def results_from_run(run: Dict[str, Any]) -> Dict[str, Any]:
    """The pinned numbers of one ``run_all``/``reproduce`` run (the package version left out)."""
    results = {k: v for k, v in run["results"].items() if k != "version"}
    return _clean({"results": results, "sensitivity": run["sensitivity"], "mediator_choices": run["mediator_choices"]})


def prediction(exp) -> Dict[str, Any]:
    """The per-bin SM prediction (events per bin) of an experiment."""
    d = exp.predict().to_dict()
    return _clean({k: d[k] for k in ("bins_eVee", "cevns", "eves", "total_cevns", "total_eves")})


def dump(obj: Any, path: Path) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True)
    json.loads(text)  # round trip
    path.write_text(text + "\n")


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def main() -> None:
    import cevns
    from cevns.reproduce import run_all

    run = run_all()
    dump(results_from_run(run), RESULTS_FILE)
    dump(prediction(cevns.load_experiment("conus-plus")), PREDICTION_FILE)
    print(f"wrote {RESULTS_FILE.name}, {PREDICTION_FILE.name} in {HERE}")
    assert not math.isnan(run["results"]["sin2w"]["best"])


if __name__ == "__main__":
    main()

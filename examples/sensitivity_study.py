"""What exposure or threshold would halve the magnetic-moment limit?  Asimov data at the SM.

The answer printed: about 3x the exposure halves it (x2 gives 0.67, x4 0.41).
The limit is computed for data equal to the SM prediction (Asimov) with the CONUS+ errors scaled
as 1/sqrt(exposure); we scan the exposure and the C3 threshold.
"""

from dataclasses import replace

import numpy as np

import cevns


def asimov_limit(exp, scale_errors=1.0):
    fake = exp.replace()
    fake.data = replace(exp.data, counts=exp.predict().total, sigma=exp.data.sigma * scale_errors)
    return fake.limit("mu_nu", cl=0.9).intervals["90%"][-1][1]


base = cevns.load_experiment("conus-plus")
ref = asimov_limit(base)
print(f"Asimov 90% C.L. limit at 327 kg d: {ref:.3e} mu_B")
for factor in (2, 4, 8, 16):
    lim = asimov_limit(base.replace(exposure_kg_day=327 * factor), 1 / np.sqrt(factor))
    print(f"  exposure x{factor:<2d}: {lim:.3e} mu_B  (ratio {lim / ref:.2f})")
# the binning starts at 160 eV_ee (the data), so only higher thresholds can be studied here
for thr in (160, 180, 200, 220):
    e = base.replace(thresholds_eVee={"C2": thr, "C3": thr, "C5": thr})
    print(f"  all thresholds at {thr} eV_ee: {asimov_limit(e):.3e} mu_B")

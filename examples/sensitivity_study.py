"""What exposure or threshold would halve the magnetic-moment limit?  Asimov data at the SM.

The expected (Asimov) 90% C.L. limit: the data replaced by the SM prediction, with the CONUS+
errors.  Scaling the exposure by f multiplies the counts by f and the background-dominated errors by
sqrt(f), so the relative errors fall as 1/sqrt(f).  The signal grows as mu_nu^2, hence the limit
falls roughly as f^(-1/4): the answer printed is that about 30x the exposure halves it (x4 gives
0.77, x25 0.52; a little slower than f^(-1/4) because the 20% normalisation freedom stays).
"""

import numpy as np

import cevns

base = cevns.load_experiment("conus-plus")


def asimov_limit(exp, error_scale=1.0):
    """Expected 90% C.L. upper limit on mu_nu [mu_B] (CEvNS + EvES)."""
    return exp.asimov(error_scale=error_scale).limit("mu_nu", cl=0.9).intervals["90%"][-1][1]


ref = asimov_limit(base)
print(f"Asimov 90% C.L. limit at 327 kg d: {ref:.3e} mu_B")
for factor in (2, 4, 16, 25, 100):
    lim = asimov_limit(base.replace(exposure_kg_day=327 * factor), np.sqrt(factor))
    print(f"  exposure x{factor:<3d}: {lim:.3e} mu_B  (ratio {lim / ref:.2f}; f^-1/4 = {factor ** -0.25:.2f})")
# the binning starts at 160 eV_ee (the data), so only higher thresholds can be studied here
for thr in (160, 180, 200, 220):
    e = base.replace(thresholds_eVee={"C2": thr, "C3": thr, "C5": thr})
    print(f"  all thresholds at {thr} eV_ee: {asimov_limit(e):.3e} mu_B")

"""The SM spectrum at CONUS+ with and without energy resolution (writes sm_spectrum.png)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import cevns  # noqa: E402

exp = cevns.load_experiment("conus-plus")
on = exp.predict()
off = exp.replace(resolution="off").predict()
print(f"SM CEvNS events, 160-350 eV_ee: resolution on {on.cevns.sum():.1f}, off (eq. 17) {off.cevns.sum():.1f}")
fig, ax = plt.subplots()
on.plot(ax, label="resolution on (default)")
off.plot(ax, label="resolution off (eq. 17)", data=False)
ax.legend()
fig.savefig("sm_spectrum.png", dpi=120)

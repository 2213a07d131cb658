"""A slow, obviously-correct reference: eq. 17 and 19 by nested scipy.quad, straight from the equations.

Independent of the fast engine: no flux moments, no response matrices, no node grids.  The CEvNS cross
section of the models the engine tests use is written out here too (:func:`dsigma_cevns`, full kinematics with
the -T/E term), so a term dropped or mis-signed in cevns.xsec shows up.  CEvNS is
integrated over the nuclear recoil T_N between the recoils that quench to the bin edges (so the
Jacobian of eq. 17 is not used at all: the change of variables is exact), EvES over T_e with the
Z_eff steps as break points.
"""

import bisect
import math

import numpy as np
from scipy import integrate, optimize
from scipy.special import erf

from cevns import constants as C
from cevns.flux import FISSILE, _hm_coefficients, _table
from cevns.nuclei import helm_form_factor
from cevns.xsec import e_min

QUAD = dict(epsrel=1e-7, epsabs=0.0, limit=400)


def _lin(x, y, e):
    """Linear interpolation, flat outside (scalar)."""
    if e <= x[0]:
        return y[0]
    if e >= x[-1]:
        return y[-1]
    j = bisect.bisect_right(x, e)
    t = (e - x[j - 1]) / (x[j] - x[j - 1])
    return y[j - 1] + t * (y[j] - y[j - 1])


class RefFlux:
    """eq. 18 written out with scalar arithmetic from the packaged tables (independent of ReactorFlux)."""

    def __init__(self, flux):
        self.f = flux
        self.xs, cols = _table("summation_fission_spectra.csv", FISSILE)
        self.xs, self.cols = list(self.xs), {k: list(v) for k, v in cols.items()}
        self.xc, cc = _table("capture_spectra.csv", ("U239", "Np239"))
        self.xc, self.cc = list(self.xc), {k: list(v) for k, v in cc.items()}
        self.a = _hm_coefficients()

    def __call__(self, E):
        lo, hi = self.f.hm_range
        s = 0.0
        for iso, frac in self.f.fission_fractions:
            hm = math.exp(sum(c * E**k for k, c in enumerate(self.a[iso])))
            if E < lo:
                v = _lin(self.xs, self.cols[iso], E)
            elif E <= hi:
                v = hm
            elif self.f.tail == "summation":
                v = _lin(self.xs, self.cols[iso], E) if E <= 12.5 else 0.0
            elif self.f.tail == "extrapolate":
                v = hm if E <= 12.5 else 0.0
            else:
                v = 0.0
            s += frac * v
        if E <= self.xc[-1] + 0.0125:
            s += self.f.captures_per_fission * (_lin(self.xc, self.cc["U239"], E) + _lin(self.xc, self.cc["Np239"], E))
        return s * self.f.fissions_per_cm2_s


_FLUX = {}


def _knots(exp, emin):
    """Energies where the tabulated spectrum has kinks or steps (quad break points)."""
    f = _FLUX.setdefault(id(exp), RefFlux(exp.flux))
    ks = sorted(set(f.xs) | set(f.xc) | set(exp.flux.breakpoints) | {f.xc[-1] + 0.0125})
    return [k for k in ks if emin < k < 12.5]


def _outer_energy(exp, inner, emin, quad_opts=QUAD):
    """int dE flux(E) inner(E) over [emin, 12.5], with every kink of the flux as a break point."""
    flux = _FLUX.setdefault(id(exp), RefFlux(exp.flux))
    pts = [emin] + _knots(exp, emin) + [12.5]
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        val, _ = integrate.quad(lambda E: flux(E) * inner(E), a, b, **quad_opts)
        total += val
    return total


def dsigma_cevns(model, E, T, iso):
    """dsigma/dT_N [cm^2/MeV] of a reactor anti-nu_e on one isotope, written out from eq. 1, 6a, 7a and 10 with
    the full spin-0 kinematics, dsigma/dT = G_F^2 m/pi F^2 Q^2 (1 - T/E - m T/(2E^2)) (+ the magnetic term):
    scalar arithmetic, independent of cevns.xsec and of the models' flux-moment terms.  Helm form factor."""
    m = iso.mass_MeV
    if T <= 0 or E < 0.5 * (T + math.sqrt(T * T + 2 * m * T)):
        return 0.0
    F2 = float(helm_form_factor(math.sqrt(2 * m * T), iso.A)) ** 2
    p = model.values()
    s = p["sin2w"]
    gv_shift = 0.0
    if "r2_ee" in p:  # charge radius: Q_ee = sqrt2 pi alpha/G_F <r^2>/3 (r2 in cm^2 -> MeV^-2)
        gv_shift = math.sqrt(2) * math.pi * C.ALPHA_EM / C.G_FERMI * p["r2_ee"] / C.CM2_PER_MEV_M2 / 3
    charge = iso.Z * (0.5 - 2 * s - gv_shift) - 0.5 * iso.N
    if "g" in p and type(model).__name__ == "VectorBL":
        M = p["mass_MeV"]
        charge += -iso.A * p["g"] ** 2 / (math.sqrt(2) * C.G_FERMI * (M * M + 2 * m * T))
    val = C.G_FERMI**2 * m / math.pi * F2 * charge**2 * (1 - T / E - m * T / (2 * E * E))
    if "mu_nu" in p:
        val += math.pi * C.ALPHA_EM**2 / C.M_ELECTRON**2 * (1 / T - 1 / E) * p["mu_nu"] ** 2 * iso.Z**2 * F2
    return val * C.CM2_PER_MEV_M2


#: the models whose CEvNS cross section :func:`dsigma_cevns` writes out (with only these parameters non-zero)
WRITTEN_OUT = {"StandardModel": {"sin2w"}, "MagneticMoment": {"sin2w", "mu_nu"},
               "ChargeRadius": {"sin2w", "r2_ee"}, "VectorBL": {"sin2w", "g", "mass_MeV"}}


def _cevns_xs(model, iso):
    """dsigma/dT_N(E, T) for the reference: :func:`dsigma_cevns` where it covers the model, else the model's own."""
    name = type(model).__name__
    covered = name in WRITTEN_OUT and all(v == 0 or k in WRITTEN_OUT[name] for k, v in model.values().items())
    if covered and model.options.get("convention", "universal") == "universal":
        return lambda E, T: dsigma_cevns(model, E, T, iso)
    return lambda E, T: float(model.dsigma_cevns(E, T, iso))


def _nr_of_ee(q, Tee):
    return optimize.brentq(lambda t: q.ee_from_nr(t) - Tee, 1e-12, 1.0, xtol=1e-18, rtol=1e-14)


def _exposure_factor(exp, det):
    """exposure [s] x targets per kg."""
    return det.exposure_kg_day * C.SECONDS_PER_DAY * exp.target.atoms_per_kg()


def _groups(exp, lo, hi):
    """Detectors grouped by the lower edge they see in [lo, hi): {lower edge: summed exposure factor}."""
    out = {}
    for det in exp.detectors:
        a = max(lo, det.threshold_eVee * C.eV)
        if a < hi:
            out[a] = out.get(a, 0.0) + _exposure_factor(exp, det)
    return out


def cevns_bin(exp, model, i):
    """Counts in bin i, resolution off (eq. 17 literally): outer quad over E_nu, inner over T_N."""
    lo, hi = exp.edges_eVee[i] * C.eV, exp.edges_eVee[i + 1] * C.eV
    total = 0.0
    for a, expo in _groups(exp, lo, hi).items():
        tn_lo, tn_hi = _nr_of_ee(exp.quenching, a), _nr_of_ee(exp.quenching, hi)
        for iso in exp.target.isotopes:
            m = iso.mass_MeV

            xs = _cevns_xs(model, iso)

            def inner(E):
                top = min(tn_hi, float(2 * E * E / (m + 2 * E)))
                if top <= tn_lo:
                    return 0.0
                return integrate.quad(lambda T: xs(E, T), tn_lo, top, **QUAD)[0]

            total += expo * iso.abundance * _outer_energy(exp, inner, float(e_min(tn_lo, m)))
    return total


def eves_bin(exp, model, i):
    """Counts in bin i, resolution off (eq. 19): outer quad over E_nu, inner over T_e with the Z_eff steps."""
    lo, hi = exp.edges_eVee[i] * C.eV, exp.edges_eVee[i + 1] * C.eV
    me = C.M_ELECTRON
    total = 0.0
    for a, expo in _groups(exp, lo, hi).items():
        steps = [e for e in exp.binding.edges_MeV if a < e < hi]

        def inner(E):
            top = min(hi, float(2 * E * E / (me + 2 * E)))
            if top <= a:
                return 0.0
            cuts = [a] + [s for s in steps if s < top] + [top]
            return sum(integrate.quad(lambda T: float(exp.binding.z_eff(T) * model.dsigma_eves(E, T)), x, y, **QUAD)[0]
                       for x, y in zip(cuts[:-1], cuts[1:]))

        total += expo * _outer_energy(exp, inner, float(e_min(a, me)))
    return total


def cevns_bin_smeared(exp, model, i, epsrel=1e-5):
    """Counts in bin i with the Gaussian resolution: outer E_nu, inner T_N weighted by P(bin | T_ee(T_N))."""
    q = dict(QUAD, epsrel=epsrel)
    lo, hi = exp.edges_eVee[i] * C.eV, exp.edges_eVee[i + 1] * C.eV
    res = exp.resolution
    e0, e1 = exp.edges_eVee[0] * C.eV, exp.edges_eVee[-1] * C.eV
    t_lo = max(exp.numerics.floor_eV * C.eV, e0 - res.nsigma * float(res.sigma(e0)))
    t_hi = e1 + res.nsigma * float(res.sigma(e1))
    total = 0.0
    for a, expo in _groups(exp, lo, hi).items():

        def p_bin(Tee):
            s = float(res.sigma(Tee))
            return 0.5 * (erf((hi - Tee) / (np.sqrt(2) * s)) - erf((a - Tee) / (np.sqrt(2) * s)))

        # beyond 8 sigma of the bin the Gaussian weight is < 1e-15: integrate the window only
        w_lo = max(t_lo, a - 8 * float(res.sigma(a)))
        w_hi = min(t_hi, hi + 8 * float(res.sigma(hi)))
        n_lo, n_hi = _nr_of_ee(exp.quenching, w_lo), _nr_of_ee(exp.quenching, w_hi)
        n_a, n_b = _nr_of_ee(exp.quenching, a), _nr_of_ee(exp.quenching, hi)
        for iso in exp.target.isotopes:
            m = iso.mass_MeV
            xs = _cevns_xs(model, iso)

            def inner(E):
                top = min(n_hi, float(2 * E * E / (m + 2 * E)))
                if top <= n_lo:
                    return 0.0
                f = lambda T: p_bin(float(exp.quenching.ee_from_nr(T))) * xs(E, T)
                cuts = [n_lo] + [c for c in (n_a, n_b) if n_lo < c < top] + [top]
                return sum(integrate.quad(f, x, y, **q)[0] for x, y in zip(cuts[:-1], cuts[1:]))

            total += expo * iso.abundance * _outer_energy(exp, inner, float(e_min(n_lo, m)), q)
    return total


# --- EvES in a scintillator (COHERENT CsI): electron recoils seen in PE ------------------------------------------
def _sns_spectra():
    """The stopped-pion spectra written out (per flavour, normalised to one): the prompt nu_mu line energy and the
    Michel densities of nu_e and anti-nu_mu on [0, m_mu/2]."""
    m = C.M_MUON
    e0 = (C.M_PION_CHARGED**2 - m**2) / (2 * C.M_PION_CHARGED)
    michel = {("e", False): lambda E: 192 * E * E / m**3 * (0.5 - E / m),
              ("mu", True): lambda E: 64 * E * E / m**3 * (0.75 - E / m)}
    return e0, michel


def _pe_bin_probability(exp, T_e, lo, hi):
    """int_lo^hi of the Gamma PE density x the efficiency, for an electron recoil T_e (the Gamma density and the
    logistic efficiency written out from the experiment file's numbers)."""
    d = exp.config["detector"]
    a0, b0 = d["spread"]
    eff = d["efficiency"]
    E = T_e / C.keV  # keV_ee: an electron's own energy
    a, b = a0 / E, b0 * E
    k, theta = 1 + b, 1 / (a * (1 + b))  # Gamma shape and scale: mean E / a0 PE
    norm = -math.lgamma(k) - k * math.log(theta)

    def f(x):
        e = eff["a"] / (1 + math.exp(-eff["b"] * (x - eff["c"]))) + eff["d"]
        pdf = math.exp((k - 1) * math.log(x) - x / theta + norm) if x > 0 else 0.0
        return pdf * min(1.0, max(0.0, e))

    # the efficiency reaches 0 at x0 (a kink): split there
    x0 = eff["c"] - math.log(eff["a"] / -eff["d"] - 1) / eff["b"]
    cuts = [lo] + [x0] * (lo < x0 < hi) + [hi]
    return sum(integrate.quad(f, p, q, epsabs=0, epsrel=1e-11, limit=200)[0] for p, q in zip(cuts[:-1], cuts[1:]))


def eves_bin_scintillator(exp, model, i, t_range=(1e-6, 0.05), epsrel=1e-9):
    """EvES counts in energy bin i of a stopped-pion PE experiment, summed over its time bins: outer quad over
    the electron recoil T_e with the Z_eff steps as break points, inner quads over the neutrino energy and the
    PE.  The time bins enter only as each flavour's total time fraction (its arrival times are tested apart)."""
    me = C.M_ELECTRON
    e0, michel = _sns_spectra()
    edges = exp.response.edges
    lo_pe, hi_pe = edges[i], edges[i + 1]
    tw = {c: float(exp.response.time_weights(exp.source, c).sum()) for c in exp.source.components}
    n_fu = exp.response.mass_kg * exp.target.atoms_per_kg()
    fluence = exp.source.fluence_per_cm2

    def per_recoil(T):
        emin = 0.5 * (T + math.sqrt(T * T + 2 * me * T))
        total = 0.0
        if e0 >= emin:  # the prompt line
            total += tw[("mu", False)] * float(model.dsigma_eves(e0, T, flavour="mu", antineutrino=False))
        for (fl, anti), f in michel.items():
            if emin < C.M_MUON / 2:
                total += tw[(fl, anti)] * integrate.quad(
                    lambda E: f(E) * float(model.dsigma_eves(E, T, flavour=fl, antineutrino=anti)),
                    emin, C.M_MUON / 2, epsabs=0, epsrel=1e-11, limit=200)[0]
        return float(exp.binding.z_eff(T)) * total * _pe_bin_probability(exp, T, lo_pe, hi_pe)

    a, b = t_range
    steps = sorted(e for e in exp.binding.edges_MeV if a < e < b)
    cuts = sorted(set([a] + steps + list(np.geomspace(a, b, 25)) + [b]))
    total = sum(integrate.quad(per_recoil, p, q, epsabs=0, epsrel=epsrel, limit=200)[0] for p, q in zip(cuts[:-1], cuts[1:]))
    return n_fu * fluence * total

"""Add a model of your own: a vector non-standard interaction of nu_e with u and d quarks (docs/models.md).

One class declares its parameters (cevns.parameters.Parameter) and its CEvNS cross section as flux-moment terms;
one line registers it.  Fits, limits and contours then work as for the built-in models, with fixed= and free=.
"""

import cevns
from cevns import models, xsec
from cevns.parameters import Parameter


@models.register
class VectorNSIee(models.Model):
    """Vector NSI of nu_e: Q_V -> Z (g_V^p + 2 eps_u + eps_d) + N (g_V^n + eps_u + 2 eps_d) (dimensionless eps)."""

    name = "my-vector-nsi-ee"
    display = "vector NSI"
    PARAMETERS = (models.SIN2W,
                  Parameter("my_eps_uV", 0.0, "", 0.05, None, r"\varepsilon^{uV}_{ee}", flavours=("e",),
                            description="vector NSI of nu_e with u quarks (units of G_F)"),
                  Parameter("my_eps_dV", 0.0, "", 0.05, None, r"\varepsilon^{dV}_{ee}", flavours=("e",),
                            description="vector NSI of nu_e with d quarks (units of G_F)"))

    def cevns_terms(self, T, iso, F2, p, flavour="e", antineutrino=True):
        charge = xsec.weak_charge(iso.Z, iso.N, p["sin2w"])
        if flavour == "e":
            u, d = p["my_eps_uV"], p["my_eps_dV"]
            charge = charge + (2 * u + d) * iso.Z + (u + 2 * d) * iso.N
        return xsec.cevns_coherent_terms(T, iso.mass_MeV, F2, charge**2)


if __name__ == "__main__":
    exp = cevns.load_experiment("conus-plus")
    # eps_u alone, eps_d held at zero: the classic one-parameter interval (two islands: the SM charge and its mirror)
    print(exp.fit("my_eps_uV", "cevns", levels=("90%",), fixed={"my_eps_dV": 0.0}))
    # marginalising eps_d instead is not meaningful on one target: Z (2 eps_u + eps_d) + N (eps_u + 2 eps_d) is
    # unchanged along a line in the plane, so eps_u is unconstrained; fix eps_d, or combine targets (docs/models.md)

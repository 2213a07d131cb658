"""Reactor flux (eq. 18) against hand numbers and the paper's normalisation."""

import numpy as np
import pytest
from scipy import integrate

from cevns import CevnsInputError, ReactorFlux
from cevns.flux import FISSILE, _table, huber_mueller


def test_total_flux_against_paper():
    """Paper: 1.5e13 cm^-2 s^-1 at CONUS+; ours must be within 3%."""
    tot = ReactorFlux().total_flux()
    assert tot == pytest.approx(1.5e13, rel=0.03)


def test_fission_rate_by_hand():
    P = 3.6e9 / 1.602176634e-13  # MeV/s
    d = 2070.0
    assert ReactorFlux().fissions_per_cm2_s == pytest.approx(P / (4 * np.pi * d * d * 205.24), rel=1e-12)


def test_huber_u235_at_4mev():
    a = [4.367, -4.577, 2.100, -0.5294, 0.06186, -0.002777]
    expect = np.exp(sum(c * 4.0**k for k, c in enumerate(a)))
    assert huber_mueller(4.0, "U235") == pytest.approx(expect, rel=1e-12)


KNOTS = sorted({float(x) for x in np.concatenate([_table("summation_fission_spectra.csv", FISSILE)[0],
                                                   _table("capture_spectra.csv", ("U239", "Np239"))[0], [2.0, 8.0]])})


@pytest.mark.slow  # ~15 s of scipy.quad; the moments enter the golden per-bin SM prediction of the default run
@pytest.mark.parametrize("tail", ["summation", "extrapolate", "cut"])
def test_moments_against_quad(tail):
    f = ReactorFlux(tail=tail)
    for emin in (0.01, 1.0, 3.0, 6.0, 9.0):
        got = f.moments(emin)
        for n in (0, -1, -2):
            # break points at every node of the tabulated spectra (linear interpolation: a kink at each)
            ref, _ = integrate.quad(lambda e: float(f(e)) * e**n, emin, 12.5, points=[x for x in KNOTS if emin < x < 12.5],
                                    limit=1000, epsrel=1e-9)
            assert got[n] == pytest.approx(ref, rel=2e-4), (tail, emin, n)


def test_tail_choice_only_changes_high_energies():
    a, b = ReactorFlux(tail="summation"), ReactorFlux(tail="cut")
    assert a(5.0) == b(5.0)
    assert b(9.0) == 0 and a(9.0) > 0


def test_inverse_square_law():
    assert ReactorFlux(distance_m=41.4).total_flux() == pytest.approx(ReactorFlux().total_flux() / 4, rel=1e-12)


@pytest.mark.parametrize("kw,msg", [
    (dict(fission_fractions={"U235": 0.5, "U238": 0.08, "Pu239": 0.32, "Pu241": 0.07}), "sum to 1"),
    (dict(fission_fractions={"U235": 1.0, "Th232": 0.0}), "unknown fissile"),
    (dict(thermal_power_GW=-3.6), "thermal_power_GW"),
    (dict(distance_m=0), "distance_m"),
    (dict(tail="guess"), "tail"),
])
def test_bad_flux_inputs(kw, msg):
    with pytest.raises(CevnsInputError, match=msg):
        ReactorFlux(**kw)

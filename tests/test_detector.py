"""Quenching, its Jacobian and the binding-energy steps against numbers worked out by hand."""

import numpy as np
import pytest

from cevns import Lindhard, load_binding_table


def test_lindhard_by_hand():
    """Q_f at T_N = 1 keV, k = 0.162, Z = 32 (text under eq. 17)."""
    eps = 11.5 * 32 ** (-7 / 3) * 1.0
    g = 3 * eps**0.15 + 0.7 * eps**0.6 + eps
    q = 0.162 * g / (1 + 0.162 * g)
    assert Lindhard().quenching(1e-3) == pytest.approx(q, rel=1e-12)
    assert 0.15 < q < 0.25  # the familiar ~20% for Ge at 1 keV


def test_jacobian_against_finite_difference():
    L = Lindhard()
    T = np.array([3e-4, 1e-3, 3e-3])
    h = 1e-9
    fd = (L.ee_from_nr(T + h) - L.ee_from_nr(T - h)) / (2 * h)
    np.testing.assert_allclose(L.dee_dnr(T), fd, rtol=1e-6)


def test_inverse_quenching():
    L = Lindhard(k=0.17)
    T = np.geomspace(1e-5, 1e-1, 50)
    np.testing.assert_allclose(L.nr_from_ee(L.ee_from_nr(T)), T, rtol=1e-12)


@pytest.mark.parametrize("table,expect", [
    ("carlson", {100: 14, 127: 18, 150: 20, 182: 20, 186: 22, 300: 22, 1300: 28, 1500: 30, 20000: 32}),
    ("bearden", {100: 14, 122: 18, 150: 20, 182: 22, 300: 22}),
])
def test_z_eff_steps(table, expect):
    """Z_eff(T_e) of eq. 19: electrons with binding energy below T_e (32 in all)."""
    b = load_binding_table("Ge", table)
    for T_eV, z in expect.items():
        assert b.z_eff(T_eV * 1e-6) == z, (table, T_eV)
    assert sum(o for _, _, o in b.shells) == 32

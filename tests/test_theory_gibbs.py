"""Which minimum wins: Laplace against quadrature of the Gibbs density, and where they part."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import double_well, tilted_multiwell, two_minima_2d
from threefactors.theory.critical import critical_points
from threefactors.theory.gibbs import (
    gibbs_crossover,
    gibbs_probabilities,
    laplace_crossover,
    laplace_probabilities,
)
from threefactors.theory.landscape import Landscape

LANDSCAPES = {
    "double_well": double_well(1.0, 0.5, 0.25, 0.5),
    "tilted_multiwell": tilted_multiwell(3, barrier=1.0, tilt=0.1),
    "two_minima_2d": two_minima_2d(coupling=0.5),
    "typed_2d": Landscape.from_string("(x**2-1)**2 + 0.3*x + 2*y**2 + 0.5*x*y", box=[(-2, 2)] * 2),
}


def _worst_error(name: str, temperature: float) -> float:
    """Largest relative error of the Laplace probability over minima holding ≥ 1e-6 mass."""
    land = LANDSCAPES[name]
    cp = critical_points(land)
    exact = gibbs_probabilities(land, temperature, cp)
    approx = laplace_probabilities(land, temperature, cp)
    assert exact.sum() == pytest.approx(1.0)
    seen = exact > 1e-6
    return float(np.max(np.abs(approx[seen] / exact[seen] - 1)))


@pytest.mark.parametrize("name", sorted(LANDSCAPES))
def test_laplace_agrees_at_low_temperature_and_parts_at_high(name: str) -> None:
    # Laplace's error is O(T): below 1% at T = 0.005 (barriers ≈ 0.5–1), it shrinks ∝ T, and
    # it has grown past 1% once T is a sizeable fraction of the barrier.
    low, lower, high = (_worst_error(name, t) for t in (0.005, 0.0025, 1.0))
    assert low < 0.01
    assert lower == pytest.approx(low / 2, rel=0.25)
    assert high > 0.01


def test_two_dimensional_grid_quadrature_matches_one_dimensional_quad() -> None:
    # L(x) + h y²/2 is separable: the y-integral cancels, so the 2-D basin masses must equal
    # the 1-D ones computed by adaptive quadrature (a different code path).
    one = Landscape.from_string("(x**2-1)**2 + 0.3*x")
    two = Landscape.from_string("(x**2-1)**2 + 0.3*x + 1.5*y**2", box=[(-2, 2), (-2, 2)])
    for temperature in (0.05, 0.3):
        p1 = gibbs_probabilities(one, temperature)
        p2 = gibbs_probabilities(two, temperature)
        # trapezoid grid (spacing ≤ half the narrowest Gaussian width, ≥ 200 nodes per axis:
        # spectrally accurate) plus cells cut by the basin boundary re-split on a 16×16
        # sub-grid: the indicator's error is O(h/16)·(density at the saddle) ≲ 2e-4 here
        np.testing.assert_allclose(p2, p1, rtol=5e-4)


def test_crossover_wide_shallow_overtakes_sharp_deep() -> None:
    shifts = []
    for gap in (0.1, 0.05):
        land = double_well(1.0, 1.0 - gap, 0.2, 0.5)  # left deep & sharp, right shallow & wide
        cp = critical_points(land)
        n_star = laplace_crossover(cp, wide=1, sharp=0)
        lam_l, lam_r = (m.hessian_eigenvalues[0] for m in cp.minima)
        assert n_star == pytest.approx(gap / np.log(np.sqrt(lam_l / lam_r)), rel=1e-9)
        below = laplace_probabilities(land, 0.9 * n_star, cp)
        above = laplace_probabilities(land, 1.1 * n_star, cp)
        assert below[0] > below[1] and above[1] > above[0]
        exact = gibbs_crossover(land, wide=1, sharp=0)
        p = gibbs_probabilities(land, exact, cp)
        assert p[0] == pytest.approx(p[1], rel=1e-8)
        shifts.append(exact / n_star - 1)
    # Laplace's error is O(T): halving the depth gap halves n*, and halves the shift of the
    # exact crossover from n*
    assert shifts[1] == pytest.approx(shifts[0] / 2, rel=0.2)


def test_non_normalisable_density_is_an_input_error() -> None:
    land = Landscape.from_string("(x**2-1)**2 - 0.01*x**5 + 0*y", coords=["x"])
    with pytest.raises(InputError, match="normalisable"):
        gibbs_probabilities(land, 0.1)

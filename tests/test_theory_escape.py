"""Escape: Eyring–Kramers against the exact mean first-passage time, which is checked itself
against a finite-difference solution of the backward equation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import diags
from scipy.sparse.linalg import spsolve

from threefactors.theory.builtin_landscapes import (
    double_well,
    quadratic,
    symmetric_double_well,
    two_minima_2d,
)
from threefactors.theory.critical import critical_points
from threefactors.theory.escape import escape_routes, kramers_time, mean_first_passage_time


def _backward_fd(land, temperature: float, left: float, start: float, target: float) -> float:
    """T τ'' − L' τ' = −1 on [left, target], τ'(left) = 0, τ(target) = 0: central differences
    on a uniform grid (second order), a route independent of the nested quadrature."""
    n = 20001
    x = np.linspace(left, target, n)
    h = x[1] - x[0]
    slope = land.gradient_at(x[:, None])[:, 0]
    lower = temperature / h**2 + slope / (2 * h)
    upper = temperature / h**2 - slope / (2 * h)
    main = np.full(n, -2 * temperature / h**2)
    upper[0] += lower[0]  # ghost node τ_{-1} = τ_1 (reflecting)
    a = diags([lower[1:], main, upper[:-1]], [-1, 0, 1], format="lil")
    rhs = -np.ones(n)
    a[n - 1, :] = 0
    a[n - 1, n - 1] = 1.0
    rhs[-1] = 0.0
    tau = spsolve(a.tocsr(), rhs)
    return float(np.interp(start, x, tau))


def test_mfpt_quadrature_matches_finite_differences() -> None:
    land = double_well(1.0, 0.5, 0.25, 0.5)
    temperature = 0.25
    exact = mean_first_passage_time(land, temperature, -1.0, 0.5)
    fd = _backward_fd(land, temperature, -2.0, -1.0, 0.5)
    # FD error O(h²) with h = 1.25e-4 relative to widths ≥ 0.1: ~1e-6; truncating the
    # reflecting end at −2 (L − L_min ≈ 40 ≫ T) is negligible
    assert fd == pytest.approx(exact, rel=1e-4)
    mirrored = mean_first_passage_time(land, temperature, 1.0, -0.5)
    assert mirrored == pytest.approx(_mirror_fd(land, temperature), rel=1e-4)


def _mirror_fd(land, temperature: float) -> float:
    class Mirrored:
        @staticmethod
        def gradient_at(x: np.ndarray) -> np.ndarray:
            return -land.gradient_at(-x)

    return _backward_fd(Mirrored, temperature, -2.0, -1.0, 0.5)


@pytest.mark.parametrize(
    "land", [symmetric_double_well(1.0, 0.5), double_well(1.0, 0.5, 0.25, 0.5)], ids=["sym", "asym"]
)
def test_kramers_converges_to_the_exact_passage_time(land) -> None:
    # Eyring–Kramers has relative error c·T/ΔL + O(T²): the error must shrink ∝ T.
    cp = critical_points(land)
    errors = []
    temperatures = (0.05, 0.025, 0.0125)
    for temperature in temperatures:
        rel = []
        for route in escape_routes(land, temperature, cp):
            start = cp.minima[route.start].x[0]
            target = cp.minima[route.target].x[0]
            mfpt = mean_first_passage_time(land, temperature, start, target)
            rel.append(mfpt / route.time - 1)
        errors.append(np.abs(rel))
    errors = np.array(errors)
    assert np.all(errors[-1] < 0.01)
    np.testing.assert_allclose(errors[1:] / errors[:-1], 0.5, atol=0.1)


def test_kramers_in_two_dimensions_uses_the_saddle_determinant() -> None:
    land = two_minima_2d(coupling=0.5)
    cp = critical_points(land)
    saddle, left = cp.saddles[0], cp.minima[0]
    lam = np.linalg.eigvalsh(land.hessian_at(saddle.x))
    det_min = np.linalg.det(land.hessian_at(left.x))
    temperature = 0.1
    expected = (
        2
        * np.pi
        / abs(lam[0])
        * np.sqrt(abs(np.prod(lam)) / det_min)
        * np.exp((saddle.loss - left.loss) / temperature)
    )
    assert kramers_time(land, temperature, 0) == pytest.approx(expected, rel=1e-9)
    routes = escape_routes(land, temperature, cp)
    assert [r.target for r in routes] == [1, 0]


def test_single_well_has_no_escape() -> None:
    (route,) = escape_routes(quadratic([1.0, 2.0]), 0.1)
    assert route.saddle is None and route.time == float("inf")

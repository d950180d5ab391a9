"""Weak error of the SDE picture: closed forms on a quadratic (discrete Lyapunov law), true
SGD ensembles held against them, and the fitted orders (1 for the SDE, 2 for the modified
equation on drift-driven observables)."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.simulate.sgd import sgd
from threefactors.simulate.weak_error import fit_slope, weak_error
from threefactors.theory.builtin_landscapes import quadratic
from threefactors.theory.landscape import Landscape
from threefactors.theory.sde import modified_landscape
from threefactors.theory.weak_error import quadratic_gaps, quadratic_moments

ETAS = np.array([0.02, 0.04, 0.08, 0.16])


def test_modified_landscape_is_l_plus_eta_quarter_gradient_squared() -> None:
    land = Landscape.from_string("(x**2-1)**2/4 + x*y + y**2")
    mod = modified_landscape(land, 0.1)
    theta = np.array([[0.3, -0.7], [1.2, 0.4]])
    grad = land.gradient_at(theta)
    expected = land.loss_at(theta) + 0.1 / 4 * np.sum(grad**2, axis=1)
    assert mod.loss_at(theta) == pytest.approx(expected, rel=1e-13)


def test_sgd_ensemble_matches_discrete_lyapunov_closed_form() -> None:
    """E θ and E θ² of true minibatch SGD on hθ²/2 after k steps from θ₀ = 1."""
    h, eta, batch, steps, n = 2.0, 0.1, 4, 8, 200_000
    run = sgd(quadratic([h]), eta=eta, batch_size=batch, sigma=1.0, examples=4096,
              particles=n, steps=steps, seed=3, start=np.ones(1), records=2)  # fmt: skip
    x = run.final[:, 0]
    mean, second = quadratic_moments(h, eta, batch, 1.0, 1.0, steps).sgd
    assert abs(x.mean() - mean) <= 4 * x.std() / np.sqrt(n)
    assert abs(np.mean(x**2) - second) <= 4 * np.std(x**2) / np.sqrt(n)


@pytest.mark.parametrize(
    ("observable", "fixed", "time", "sde_order", "modified_order"),
    [
        ("mean", "ratio", 0.64, 1, 2),
        ("second_moment", "batch", 0.64, 1, 2),
        # at fixed η/S the noise's own O(η) stays: Var ratio (1 + ηh/2)/(1 − ηh/2)
        ("second_moment", "ratio", 10.24, 1, 1),
    ],
)
def test_closed_form_orders(observable, fixed, time, sde_order, modified_order) -> None:
    batch = ETAS / 0.02 if fixed == "ratio" else np.full(ETAS.size, 4.0)
    first, second = quadratic_gaps(1.0, ETAS / 4, batch, 1.0, 1.0, time, observable)
    assert fit_slope(ETAS / 4, first, 0 * first).value == pytest.approx(sde_order, abs=0.02)
    assert fit_slope(ETAS / 4, second, 0 * second).value == pytest.approx(modified_order, abs=0.02)


def test_fit_slope_recovers_a_planted_order() -> None:
    rng = np.random.default_rng(0)
    gaps = 0.3 * ETAS**2 * (1 + 2 * ETAS)
    se = 0.01 * gaps
    noisy = gaps + se * rng.standard_normal(ETAS.size)
    slope = fit_slope(ETAS, noisy, se)
    assert abs(slope.value - 2) <= 4 * slope.stderr


def test_weak_error_on_quadratic_matches_closed_form() -> None:
    """The measured gaps (SGD ensemble − Fokker–Planck) against the closed forms, per η:
    within 4 se + the FP grid error; the SDE values themselves against the OU formula."""
    etas, batches = ETAS[:3], np.array([1, 2, 4])
    result = weak_error(quadratic([1.0]), etas, batches, time=0.64, start=[1.0], sigma=0.5,
                        particles=100_000, observable="mean", seed=5)  # fmt: skip
    for k, (eta, batch) in enumerate(zip(etas, batches, strict=True)):
        m = quadratic_moments(1.0, eta, batch, 0.5, 1.0, round(0.64 / eta))
        assert result.sde[k] == pytest.approx(m.sde[0], abs=result.grid_error[k] + 1e-6)
        assert result.modified[k] == pytest.approx(m.modified[0], abs=result.grid_error[k] + 1e-6)
        tolerance = 4 * result.stderr[k] + result.grid_error[k]
        assert abs((result.sgd[k] - result.sde[k]) - (m.sgd[0] - m.sde[0])) <= tolerance


@pytest.mark.slow
def test_weak_error_orders_on_a_double_well() -> None:
    """Nonlinear landscape, fixed η/S = 0.02, σ = 0.2, from θ₀ = 1.5: the SDE's gap in E θ
    is first order and the modified equation's second order (fitted small-η slopes within
    4 se + 0.15 for the unresolved higher orders)."""
    land = Landscape.from_string("(x**2-1)**2/4")
    result = weak_error(land, ETAS, [1, 2, 4, 8], time=0.64, start=[1.5], sigma=0.2,
                        particles=200_000, observable="mean")  # fmt: skip
    for slope, order in ((result.slope_sde, 1), (result.slope_modified, 2)):
        assert abs(slope.value - order) <= 4 * slope.stderr + 0.15

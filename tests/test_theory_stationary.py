"""Quadratic basins: discrete Lyapunov covariance against a numpy Monte-Carlo of SGD."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.errors import InputError
from threefactors.theory.setting import SGDSetting
from threefactors.theory.stationary import (
    mean_square_bound,
    quadratic_stationary,
    scalar_laws,
    sde_covariance,
    sgd_covariance,
)


def test_discrete_covariance_matches_monte_carlo_of_the_linear_recursion() -> None:
    h = np.array([1.0, 4.0])
    eta, batch, sigma = 0.3, 4, 1.0
    result = quadratic_stationary(h, SGDSetting(eta, batch, sigma))
    rng = np.random.default_rng(7)
    walkers, burn, steps = 20000, 200, 50
    theta = np.zeros((walkers, 2))
    samples = []
    for k in range(burn + steps):
        noise = rng.normal(0.0, sigma / np.sqrt(batch), size=theta.shape)
        theta = theta - eta * (h * theta + noise)
        if k >= burn:
            samples.append(theta**2)
    # each step's mean over independent walkers: se = var·sqrt(2/walkers); average over
    # steps (correlated) keeps se ≤ that of one step
    var = np.mean(samples, axis=(0, 1))
    se = result.sgd_covariance_diag * np.sqrt(2 / walkers)
    assert np.all(np.abs(var - result.sgd_covariance_diag) < 4 * se)
    # and the SDE value is off by 1/(1 − ηh/2), far beyond the error bars at ηh = 1.2
    assert np.abs(var[1] - result.sde_covariance_diag[1]) > 20 * se[1]
    np.testing.assert_allclose(result.ratio, 1 / (1 - eta * h / 2))


def test_closed_forms_match_matrix_lyapunov_solvers() -> None:
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    h = np.array([0.5, 2.0, 3.0])
    hessian = q @ np.diag(h) @ q.T
    for noise, c in (("isotropic", np.ones(3)), ("hessian", h)):
        res = quadratic_stationary(h, SGDSetting(0.2, 16, 0.7), noise=noise)
        cov = 0.49 * q @ np.diag(c) @ q.T
        np.testing.assert_allclose(
            np.diag(q.T @ sde_covariance(hessian, cov, 0.2, 16) @ q),
            res.sde_covariance_diag,
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            np.diag(q.T @ sgd_covariance(hessian, cov, 0.2, 16) @ q),
            res.sgd_covariance_diag,
            rtol=1e-10,
        )
    res = quadratic_stationary(h, eta=0.2, batch_size=16, sigma=0.7, noise="hessian")
    assert res.sde_excess_loss == pytest.approx(0.2 * 0.49 * h.sum() / (4 * 16), rel=1e-12)


def test_stability_bounds() -> None:
    laws = scalar_laws()
    assert laws["linear_bound"].callable(4.0) == pytest.approx(0.5)
    bad = quadratic_stationary([1.0, 4.0], SGDSetting(0.5, 8, 1.0))
    assert not bad.stable and bad.sgd_covariance_diag is None
    # Wu–Ma–E: at the bound, E(1 − η a_S)² = 1 for a_S with mean a and variance s²/S
    a, s, batch = 2.0, 3.0, 4
    eta = mean_square_bound(a, s, batch)
    assert (1 - eta * a) ** 2 + eta**2 * s**2 / batch == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    curv = rng.normal(a, s, size=(400000, batch)).mean(axis=1)
    growth = np.mean((1 - eta * curv) ** 2)
    assert growth == pytest.approx(1.0, abs=4 * np.std((1 - eta * curv) ** 2) / np.sqrt(4e5))
    assert mean_square_bound(a, 0.0, batch) == pytest.approx(2 / a)
    assert mean_square_bound(a, s, batch, examples=batch) == pytest.approx(2 / a)


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(InputError) as info:
        quadratic_stationary([1.0], eta=-0.1, batch_size=8, sigma=1.0)
    assert info.value.parameter == "eta"
    with pytest.raises(InputError) as info:
        quadratic_stationary([1.0], eta=0.1, batch_size=0, sigma=1.0)
    assert info.value.parameter == "batch_size"

"""True minibatch SGD against the exact discrete formulas, and where the SDE stops."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from threefactors.errors import InputError
from threefactors.simulate.finite_sum import make_finite_sum
from threefactors.simulate.sgd import sgd
from threefactors.theory.landscape import Landscape

H = np.array([1.0, 4.0])


@pytest.fixture(scope="module")
def bowl() -> Landscape:
    return Landscape.from_string("(x^2 + 4*y^2)/2", box=[(-2, 2), (-1, 1)])


def test_shift_data_is_exactly_isotropic() -> None:
    data = make_finite_sum("shift", 50, 2, 0.7, seed=1)
    np.testing.assert_allclose(data.inputs.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.noise_covariance(np.zeros(2)), 0.49 * np.eye(2), atol=1e-12)


@pytest.mark.parametrize("replacement", [True, False])
def test_variance_follows_exact_discrete_formula_and_breaks_invariance(
    bowl: Landscape, replacement: bool
) -> None:
    """Var θ_i = ησ²/(S h_i (2 − η h_i)) × (N−S)/(N−1) without replacement (docs/theory.md,
    "Where the SDE breaks"): (η, S) = (0.1, 1) and (0.4, 4) share η/S but not the variance
    (1/(1 − ηh/2))."""
    n, sigma = 50, 1.0
    for eta, batch, seed in ((0.1, 1, 1), (0.4, 4, 2)):
        run = sgd(
            bowl, eta=eta, batch_size=batch, sigma=sigma, examples=n, replacement=replacement,
            particles=60_000, steps=300, start=[0, 0], seed=seed, records=2,
        )  # fmt: skip
        factor = 1.0 if replacement else (n - batch) / (n - 1)
        expected = eta * sigma**2 / (batch * H * (2 - eta * H)) * factor
        var = run.final.var(axis=0, ddof=1)
        se = expected * math.sqrt(2 / len(run.final))
        assert np.all(np.abs(var - expected) <= 4 * se), (eta, var, expected)
        sde = eta * sigma**2 / (2 * batch * H) * factor
        if eta * H.max() > 1:  # the SDE misses by 1/(1 − ηh/2) − 1 = 400% here: detectable
            assert np.abs(var[1] - sde[1]) > 10 * se[1]


@pytest.mark.parametrize("replacement", [True, False])
def test_regression_noise_is_state_dependent(bowl: Landscape, replacement: bool) -> None:
    """One step from θ₀: Cov θ₁ = η² C(θ₀)/S, times (N − S)/(N − 1) without replacement
    (35/39 here: > 30 standard errors from 1); C the per-example gradient covariance, computed
    here from ∇ℓ_i − ∇L = x_i(x_i·θ − y_i) − mean over i."""
    eta, batch, theta0 = 0.1, 5, np.array([1.0, -0.5])
    data = make_finite_sum("regression", 40, 2, 0.5, seed=3)
    run = sgd(
        bowl, eta=eta, batch_size=batch, data=data, particles=200_000, steps=1, start=theta0,
        seed=4, records=2, replacement=replacement,
    )  # fmt: skip
    factor = 1.0 if replacement else (40 - batch) / (40 - 1)

    def covariance(theta: np.ndarray) -> np.ndarray:
        per_example = data.inputs * (data.inputs @ theta - data.targets)[:, None]
        return np.cov(per_example, rowvar=False, bias=True)  # population: 1/N

    expected = eta**2 * covariance(theta0) / batch * factor
    np.testing.assert_allclose(data.noise_covariance(theta0), covariance(theta0), rtol=1e-12)
    assert np.linalg.norm(covariance(theta0) - covariance(0 * theta0)) > 0.5
    drift = theta0 - eta * H * theta0
    se_mean = np.sqrt(expected.diagonal() / len(run.final))
    assert np.all(np.abs(run.final.mean(axis=0) - drift) <= 4 * se_mean)
    centred = run.final - run.final.mean(axis=0)
    for i in range(2):
        for j in range(2):
            products = centred[:, i] * centred[:, j]
            assert abs(products.mean() - expected[i, j]) <= 4 * products.std() / math.sqrt(2e5)


def test_sgd_divergence_step_and_determinism(bowl: Landscape) -> None:
    """σ = 0: y_k = (1 − 0.6·4)^k = (−1.4)^k first exceeds 10⁶ at k = 42; same numbers on
    1 and 2 threads with noise."""
    run = sgd(bowl, eta=0.6, batch_size=2, sigma=0.0, examples=10, particles=5, steps=60,
              start=[1, 1], records=2)  # fmt: skip
    assert run.diverged == 5 and run.first_divergence_step == 42
    before = numba.get_num_threads()
    finals = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            finals.append(sgd(bowl, eta=0.1, batch_size=4, examples=30, particles=3000,
                              steps=50, seed=5, replacement=False).final)  # fmt: skip
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(finals[0], finals[1])


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"batch_size": 60, "examples": 50}, "batch_size"),
        ({"batch_size": 1, "examples": 2}, "examples"),
        ({"batch_size": 1, "examples": 50, "perturbation": "nope"}, "perturbation"),
        ({"batch_size": 1, "examples": 50, "eta": -0.1}, "eta"),
    ],
)
def test_bad_input(bowl: Landscape, kwargs: dict, parameter: str) -> None:
    kwargs = {"eta": 0.1, "steps": 10, **kwargs}
    with pytest.raises(InputError) as err:
        sgd(bowl, **kwargs)
    assert err.value.parameter == parameter

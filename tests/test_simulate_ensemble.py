"""The SDE ensemble against exact results: OU variances (EM bias, LM exactness), Gibbs
occupancies, mean first-passage times, η/S invariance, divergence, determinism."""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov

from threefactors.errors import InputError
from threefactors.simulate import ensemble
from threefactors.simulate.ensemble import langevin
from threefactors.theory.builtin_landscapes import symmetric_double_well
from threefactors.theory.critical import critical_points
from threefactors.theory.escape import kramers_time, mean_first_passage_time
from threefactors.theory.gibbs import gibbs_probabilities
from threefactors.theory.landscape import Landscape

H = np.array([1.0, 4.0])


@pytest.fixture(scope="module")
def bowl() -> Landscape:
    """L = ½(x² + 4y²): two independent OU coordinates (h = 1, 4)."""
    return Landscape.from_string("(x^2 + 4*y^2)/2", box=[(-2, 2), (-1, 1)])


def assert_variances(final: np.ndarray, expected: np.ndarray) -> None:
    """Sample variance per coordinate within 4 standard errors var·sqrt(2/N) (Gaussian)."""
    var = final.var(axis=0, ddof=1)
    se = expected * math.sqrt(2 / len(final))
    assert np.all(np.abs(var - expected) <= 4 * se), (var, expected, se)


def test_ou_euler_maruyama_has_the_discrete_lyapunov_bias(bowl: Landscape) -> None:
    """EM on dθ = −hθ dt + sqrt(2T) dW: stationary Var = T/(h(1 − h dt/2)); LM: exactly T/h."""
    eta, dt, temperature = 0.1, 0.2, 0.05
    kw = dict(eta=eta, sigma=1.0, particles=100_000, steps=200, dt=dt, start=[0, 0], records=2)
    em = langevin(bowl, scheme="em", seed=1, **kw).final
    lm = langevin(bowl, scheme="lm", seed=2, **kw).final
    assert_variances(em, temperature / (H * (1 - H * dt / 2)))
    assert_variances(lm, temperature / H)


def test_eta_over_batch_invariance_of_the_sde(bowl: Landscape) -> None:
    """(η, S) → (4η, 4S) at fixed dt leaves the law unchanged (independent seeds)."""
    dt, temperature = 0.05, 0.05
    kw = dict(sigma=1.0, particles=50_000, steps=300, dt=dt, start=[0, 0], records=2)
    expected = temperature / (H * (1 - H * dt / 2))
    assert_variances(langevin(bowl, eta=0.1, batch_size=1, seed=3, **kw).final, expected)
    assert_variances(langevin(bowl, eta=0.4, batch_size=4, seed=4, **kw).final, expected)


def test_hessian_noise_gives_curvature_independent_variance(bowl: Landscape) -> None:
    """C = σ²H: Var θ_i = ησ²/(2S) for every curvature (ICANN), times EM's 1/(1 − h dt/2)."""
    eta, batch, sigma, dt = 0.2, 2, 1.0, 0.05
    run = langevin(
        bowl, eta=eta, batch_size=batch, sigma=sigma, noise="hessian", particles=50_000,
        steps=300, dt=dt, start=[0, 0], seed=5, records=2,
    )  # fmt: skip
    assert_variances(run.final, eta * sigma**2 / (2 * batch) / (1 - H * dt / 2))


@pytest.mark.parametrize(
    ("loss", "points"),
    [
        # d = 2, closed-form root: H indefinite at (0.2, 0.1), positive definite at (1, 0.3)
        ("(x^2 - 1)^2 + y^2 + x*y/2", [[0.2, 0.1], [1.0, 0.3]]),
        # d = 3: Cholesky where H is positive definite, the eigen fallback where it is not
        # ((y⁴ + z⁴)/10 confines: x y z alone sends L to −∞, which simulate refuses)
        ("(x^2 - 1)^2 + y^2 + z^2 + x*y*z + (y^4 + z^4)/10", [[1.0, 0.2, -0.1], [0.1, 0.5, 0.4]]),
    ],
)
def test_hessian_noise_one_step_covariance(loss: str, points: list) -> None:
    """One EM step from θ₀: Cov θ₁ = (η dt/S) σ² H₊(θ₀) (H₊: the positive part of ∇²L),
    each entry within 4 standard errors of its product mean; the mean is θ₀ − ∇L(θ₀) dt."""
    land = Landscape.from_string(loss)
    eta, batch, sigma, dt, n = 0.5, 2, 1.0, 0.1, 100_000
    for k, theta0 in enumerate(np.array(points)):
        run = langevin(
            land, eta=eta, batch_size=batch, sigma=sigma, noise="hessian", particles=n,
            steps=1, dt=dt, start=theta0, seed=20 + k, records=2,
        )  # fmt: skip
        lam, vec = np.linalg.eigh(land.hessian_at(theta0))
        expected = eta * dt / batch * sigma**2 * (vec * np.clip(lam, 0, None)) @ vec.T
        drift = theta0 - dt * land.gradient_at(theta0)
        se_mean = np.sqrt(expected.diagonal() / n)
        assert np.all(np.abs(run.final.mean(axis=0) - drift) <= 4 * se_mean + 1e-15)
        centred = run.final - drift
        for i in range(land.dim):
            for j in range(land.dim):
                products = centred[:, i] * centred[:, j]
                se = products.std() / math.sqrt(n)
                assert abs(products.mean() - expected[i, j]) <= 4 * se + 1e-15, (k, i, j)
        assert (lam.min() < 0) == (k == 0 if land.dim == 2 else k == 1)  # both routes ran


def test_constant_noise_covariance_solves_discrete_lyapunov(bowl: Landscape) -> None:
    """EM with constant C: Σ = A Σ Aᵀ + (η dt/S) C, A = I − H dt (Mandt et al. 2017)."""
    eta, batch, dt = 0.1, 2, 0.1
    c = np.array([[1.0, 0.6], [0.6, 2.0]])
    run = langevin(
        bowl, eta=eta, batch_size=batch, noise="constant", covariance=c, particles=100_000,
        steps=200, dt=dt, start=[0, 0], seed=6, records=2,
    )  # fmt: skip
    a = np.eye(2) - np.diag(H) * dt
    sigma = solve_discrete_lyapunov(a, eta * dt / batch * c)
    centred = run.final - run.final.mean(axis=0)
    for i in range(2):
        for j in range(2):
            products = centred[:, i] * centred[:, j]
            se = products.std() / math.sqrt(len(products))
            assert abs(products.mean() - sigma[i, j]) <= 4 * se


@pytest.fixture(scope="module")
def tilted() -> Landscape:
    return Landscape.from_string("(x^2 - 1)^2 + 0.3*x")


def unrelaxed_bound(landscape: Landscape, temperature: float, run, time: float) -> float:
    """What is left of the start after a time t: the total-variation distance of the
    starting occupancy p(0) from the Gibbs masses p, ½ Σ_j |p_j(0) − p_j|, times e^{−t/τ};
    τ the slowest two-group exchange of the 1-D chain of wells, 1/τ = min over adjacent
    wells of 1/τ_{i→i+1} + 1/τ_{i+1→i} with the exact mean first-passage times."""
    xs = [m.x[0] for m in critical_points(landscape).minima]
    rate = min(
        1 / mean_first_passage_time(landscape, temperature, a, b)
        + 1 / mean_first_passage_time(landscape, temperature, b, a)
        for a, b in itertools.pairwise(xs)
    )
    exact = gibbs_probabilities(landscape, temperature)
    distance = 0.5 * np.abs(run.occupancy_over_time[0] - exact).sum()
    return float(distance * math.exp(-rate * time))


def assert_gibbs_occupancy(landscape: Landscape, temperature: float, run, time: float) -> None:
    """Each well's occupancy equals the exact Gibbs mass p (quadrature) within 4 standard
    errors sqrt(p(1 − p)/N) plus the unrelaxed start; LM at dt = 0.01 makes the dt-bias
    O(dt²) negligible."""
    exact = gibbs_probabilities(landscape, temperature)
    se = np.sqrt(exact * (1 - exact) / len(run.final))
    bias = unrelaxed_bound(landscape, temperature, run, time)
    assert run.diverged == 0
    assert np.all(np.abs(run.occupancy - exact) <= 4 * se + bias), (run.occupancy, exact, se, bias)


def test_stationary_occupancy_matches_gibbs(tilted: Landscape) -> None:
    """T = 0.3 (barriers 2–4 T, τ ≈ 13.5): after t = 60 the unrelaxed start is ≤ 4e-3."""
    run = langevin(
        tilted, eta=0.6, sigma=1.0, particles=20_000, time=60.0, dt=0.01, scheme="lm", seed=7,
    )  # fmt: skip
    assert_gibbs_occupancy(tilted, 0.3, run, 60.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loss", "temperature", "box", "particles", "time"),
    [
        ("(x^2 - 1)^2 + 0.3*x", 0.25, None, 200_000, 200.0),  # τ ≈ 22: unrelaxed ≤ 1e-4
        # four wells: τ ≈ 184 between the inner and outer pairs, so t = 1000 (unrelaxed
        # ≤ 3e-3); the box keeps the start where the first step moves by < 1 (L' dt ≈ 0.6 at
        # x = 2.4; ≈ 28 at the default box's edge 3.5, from where a quarter diverged)
        ("(x^2-1)^2*(x^2-4)^2/9 + 0.2*x", 0.3, [(-2.4, 2.4)], 50_000, 1000.0),
    ],
)
def test_stationary_occupancy_matches_gibbs_large(
    loss: str, temperature: float, box: list | None, particles: int, time: float
) -> None:
    landscape = Landscape.from_string(loss, box=box)
    run = langevin(
        landscape, eta=2 * temperature, particles=particles, time=time, dt=0.01, scheme="lm",
        seed=8,
    )  # fmt: skip
    assert_gibbs_occupancy(landscape, temperature, run, time)


def _escape_check(particles: int, dt: float, seed: int) -> float:
    """Barrier 5 T. The mean escape time (first passage into the capture ball of the other
    minimum) vs the exact 1-D MFPT to that ball's edge: within 4 standard errors plus EM's
    dt-bias (T_eff = T/(1 − h dt/2) at the minimum → rate × e^{(ΔL/T)(h dt/2)}); vs Kramers
    within its own relative error O(T/ΔL)."""
    well = symmetric_double_well(depth=1.0, width=0.5)
    temperature = 0.2
    left = -math.sqrt(8) * 0.5
    rho = 0.25 * abs(left)  # capture radius: a quarter of the distance to the saddle at 0
    exact = mean_first_passage_time(well, temperature, left, -left - rho)
    steps = int(12 * exact / dt)
    run = langevin(
        well, eta=0.4, sigma=1.0, particles=particles, steps=steps, dt=dt, escape_from=0,
        escape_radius=rho, seed=seed, records=2,
    )  # fmt: skip
    esc = run.escape
    assert esc is not None and esc.censored == 0
    bias = math.exp(5 * (1 / 0.25) * dt / 2) - 1  # h = 1/w² = 4 at the minimum
    assert abs(esc.mean / exact - 1) <= 4 * esc.stderr / exact + bias
    assert abs(esc.mean / kramers_time(well, temperature, 0) - 1) <= temperature / 1.0 + bias
    return esc.mean / exact


def test_escape_time_matches_exact_mfpt() -> None:
    _escape_check(particles=2000, dt=0.005, seed=9)


@pytest.mark.slow
def test_escape_time_within_ten_percent() -> None:
    ratio = _escape_check(particles=20_000, dt=0.002, seed=10)
    assert abs(ratio - 1) <= 0.10


def test_same_seed_same_numbers_on_one_and_two_threads(tilted: Landscape) -> None:
    before = numba.get_num_threads()
    runs = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            runs.append(  # LM: the Gibbs test's kernel, compiled once
                langevin(tilted, eta=0.6, particles=3000, steps=200, dt=0.01, scheme="lm", seed=11)
            )
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(runs[0].final, runs[1].final)
    np.testing.assert_array_equal(runs[0].occupancy_over_time, runs[1].occupancy_over_time)
    np.testing.assert_array_equal(runs[0].mean_loss_over_time, runs[1].mean_loss_over_time)


def test_chunked_run_draws_the_numbers_of_one_call(
    tilted: Landscape, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run split into kernel calls (progress lines) equals the run in one call, with the
    LM memory and a diverging particle (σ large, bound small) carried across the splits."""
    kw = dict(eta=0.6, sigma=3.0, particles=500, steps=120, dt=0.01, scheme="lm", seed=12,
              bound=1.8, records=7)  # fmt: skip
    whole = langevin(tilted, **kw)
    monkeypatch.setattr(ensemble, "CHUNK_WORK", 500 * 120 // 7)
    split = langevin(tilted, **kw)
    assert 0 < whole.diverged < 500
    np.testing.assert_array_equal(whole.final, split.final)
    np.testing.assert_array_equal(whole.diverged_at, split.diverged_at)
    np.testing.assert_array_equal(whole.occupancy_over_time, split.occupancy_over_time)


def test_divergence_is_counted_with_its_step(bowl: Landscape) -> None:
    """σ = 0, dt = 0.6: y_k = (1 − 4·0.6)^k = (−1.4)^k passes 10⁶ first at k = 42."""
    run = langevin(bowl, eta=0.6, sigma=0.0, particles=10, steps=100, start=[1, 1], records=5)
    assert run.diverged == 10 and run.first_divergence_step == 42
    summary = run.summary()
    assert summary["mean"] is None and np.all(np.isnan(summary["occupancy"]))


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"eta": 0.0, "steps": 10}, "eta"),
        ({"eta": 0.1, "steps": 10, "dt": -1.0}, "dt"),
        ({"eta": 0.1, "steps": 0}, "steps"),
        ({"eta": 0.1, "steps": 10, "particles": 0}, "particles"),
        ({"eta": 0.1, "steps": 10, "time": 1.0}, "time"),
        ({"eta": 0.1, "steps": 10**7, "particles": 10**6}, "steps"),
        ({"eta": 0.1, "steps": 10, "batch_size": 0}, "batch_size"),
        ({"eta": 0.1, "steps": 10, "noise": "hessian", "scheme": "lm"}, "scheme"),
    ],
)
def test_bad_input_names_the_parameter(tilted: Landscape, kwargs: dict, parameter: str) -> None:
    with pytest.raises(InputError) as err:
        langevin(tilted, **kwargs)
    assert err.value.parameter == parameter


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, float("nan")])
def test_seed_outside_64_bits_is_refused(seed) -> None:
    bowl = Landscape.from_string("x**2")
    with pytest.raises(InputError, match="seed="):
        langevin(bowl, eta=0.1, particles=8, steps=2, seed=seed)

"""Fokker–Planck transients: conservation, the exact discrete Gibbs state, convergence order,
the slowest rate against the exact 1-D MFPT rate, and occupancy against SDE ensembles."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sparse
from scipy.sparse.linalg import spsolve

from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import double_well, symmetric_double_well, two_minima_2d
from threefactors.theory.critical import critical_points
from threefactors.theory.escape import mean_first_passage_time
from threefactors.theory.fokker_planck import bernoulli, fokker_planck
from threefactors.theory.landscape import Landscape
from threefactors.theory.relaxation import relax


def test_bernoulli_function() -> None:
    z = np.array([-800.0, -30.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, 30.0, 800.0])
    with np.errstate(over="ignore"):
        direct = z / np.expm1(np.where(z == 0, 1.0, z))
    direct[z == 0] = 1.0
    assert bernoulli(z) == pytest.approx(direct, rel=1e-12, abs=1e-300)
    # the identity behind the exact stationary state
    mid = z[np.abs(z) <= 30]
    assert bernoulli(mid) == pytest.approx(np.exp(-mid) * bernoulli(-mid), rel=1e-12)


@pytest.fixture(scope="module")
def well_1d():
    return fokker_planck(double_well(1.0, 0.8, 0.3, 0.5), 0.15, grid=800)


@pytest.fixture(scope="module")
def well_2d():
    return fokker_planck(two_minima_2d(), 0.3, grid=100)


@pytest.mark.parametrize("name", ["well_1d", "well_2d"])
@pytest.mark.parametrize("method", ["krylov", "implicit-euler"])
def test_mass_conserved_and_positive(name: str, method: str, request) -> None:
    fp = request.getfixturevalue(name)
    q = fp.generator
    off = q - sparse.diags(q.diagonal())
    assert off.min() >= 0.0 and q.diagonal().max() <= 0.0  # a rate matrix: positivity
    scale = float(abs(q.diagonal()).max())
    assert np.abs(np.asarray(q.sum(axis=0))).max() <= 1e-13 * scale  # columns sum to 0
    start = fp.point_mass(fp.critical.minima[0].x)
    ev = fp.evolve(start, [0.0, 0.3, 3.0, 30.0, 300.0], method=method, steps=20)
    assert ev.mass_error <= 1e-10
    if method == "implicit-euler":
        # (I − Δt Q)^{-1} is a nonnegative matrix: ≥ 0 up to the LU's round-off
        assert ev.min_density >= -1e-14 * start.max()
    else:
        assert ev.min_density >= -1e-8 * start.max()


@pytest.mark.parametrize("name", ["well_1d", "well_2d"])
def test_stationary_state_is_the_discrete_gibbs_density(name: str, request) -> None:
    """The null vector of Q, solved for independently (one balance row replaced by the
    normalisation), equals e^{−U}/Σ e^{−U} h^d on the grid to 1e-10."""
    fp = request.getfixturevalue(name)
    n = fp.potential.size
    a = fp.generator.tolil()
    a[0, :] = np.full(n, fp.grid.volume)
    rhs = np.zeros(n)
    rhs[0] = 1.0
    null = spsolve(a.tocsr(), rhs)
    gibbs = np.exp(-(fp.potential - fp.potential.min()))
    gibbs /= gibbs.sum() * fp.grid.volume
    assert np.max(np.abs(null - gibbs)) <= 1e-10 * gibbs.max()
    # and every transient ends there: at t = 60/λ_1 the deviation is below e^{-60}
    late = 60 / fp.relaxation_rates(1)[0]
    centre = fp.critical.minima[-1].x
    for initial in (fp.uniform(), fp.gaussian(centre, 0.2), fp.point_mass(centre)):
        ev = fp.evolve(initial, [late])
        assert np.max(np.abs(ev.densities[0] - gibbs)) <= 1e-10 * gibbs.max()


def test_refinement_converges_at_second_order() -> None:
    """The two slowest rates on grids N = 80 … 640 against N = 5120: the error falls as h²
    (fitted slope of log error against log h within 2 ± 0.25)."""
    land = double_well(1.0, 0.8, 0.3, 0.5)
    sizes = [80, 160, 320, 640]
    reference = fokker_planck(land, 0.2, grid=5120).relaxation_rates(2)
    errors = np.array([np.abs(fokker_planck(land, 0.2, grid=n).relaxation_rates(2) - reference)
                       for n in sizes])  # fmt: skip
    for k in range(2):
        slope = np.polyfit(np.log(1.0 / np.array(sizes)), np.log(errors[:, k]), 1)[0]
        assert slope == pytest.approx(2.0, abs=0.25)


def test_implicit_euler_converges_to_krylov_at_first_order(well_1d) -> None:
    start = well_1d.point_mass([-0.5])
    times = [2.0, 20.0]
    exact = well_1d.evolve(start, times).occupancy
    errors = [
        np.abs(well_1d.evolve(start, times, "implicit-euler", steps).occupancy - exact).max()
        for steps in (20, 40, 80)
    ]
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.15)
    assert errors[1] / errors[2] == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize("temperature", [0.1, 0.125])
def test_slowest_rate_matches_exact_mfpt_rate(temperature: float) -> None:
    """Two wells in 1-D: λ_1 = 1/MFPT(A → B) + 1/MFPT(B → A) up to corrections exponentially
    small in ΔL/T (Bovier et al. 2004: O(e^{−δ/T}), δ < ΔL; measured here ≈ e^{−0.9ΔL/T}, so
    the bound e^{−0.8ΔL/T} is 4× the gap at ΔL/T = 8); the FP grid error at N = 2000 is ~1e-6."""
    land = double_well(1.0, 0.8, 0.3, 0.5)
    cp = critical_points(land)
    a, b = (float(m.x[0]) for m in cp.minima)
    exact = 1 / mean_first_passage_time(land, temperature, a, b) + 1 / mean_first_passage_time(
        land, temperature, b, a
    )
    barrier = min(cp.saddles[0].loss - m.loss for m in cp.minima)
    rate = fokker_planck(land, temperature).relaxation_rates(1)[0]
    assert rate == pytest.approx(exact, rel=np.exp(-0.8 * barrier / temperature) + 1e-5)


def test_relax_reports_rates_and_stationary_occupancy() -> None:
    land = symmetric_double_well(1.0, 0.5)
    result = relax(land, 0.15, [-0.5], times=[0.0, 10.0])
    assert result.stationary_occupancy == pytest.approx([0.5, 0.5], abs=1e-12)
    assert result.mfpt_relaxation_rate == pytest.approx(result.relaxation_rates[0], rel=5e-3)
    assert result.kramers_rates == pytest.approx(result.mfpt_rates, rel=0.2)  # O(T/ΔL)
    assert result.evolution.occupancy[0] == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize(
    ("loss", "grid", "start", "parameter"),
    [
        ("x**2 + y**2 + z**2", None, [0, 0, 0], "loss"),
        ("(x**2-1)**2", None, [9.0], "start"),
        ("(x**2-1)**2", 10, [-1.0], "grid"),
    ],
)
def test_bad_input_names_the_parameter(loss, grid, start, parameter) -> None:
    with pytest.raises(InputError) as info:
        relax(Landscape.from_string(loss), 0.1, start, grid=grid)
    assert info.value.parameter == parameter
    if parameter == "grid":
        assert "need grid ≥" in info.value.reason


@pytest.mark.parametrize("times", [[-1.0, 2.0], [2.0, 1.0], [1.0, np.nan]])
def test_bad_times(times) -> None:
    with pytest.raises(InputError) as info:
        relax(symmetric_double_well(), 0.2, [-0.5], times=times)
    assert info.value.parameter == "times"


@pytest.mark.parametrize(
    ("case", "temperature", "grids", "start"),
    [("double well", 0.3, (1000, 500), [-0.3]), ("two minima 2-D", 0.4, (200, 100), [-1.0, 0.0])],
)
def test_occupancy_matches_sde_ensemble(case, temperature, grids, start) -> None:
    """Occupancy of the start's basin over 1.5 slowest relaxation times: FP against an
    Euler–Maruyama ensemble (10⁴ particles, same start). Tolerance per record: 4 se of the
    difference of the dt and 2dt ensembles + their gap (the EM dt-bias, weak order 1) + the
    FP grid change from N/2 to N."""
    from threefactors.simulate.ensemble import langevin

    land = double_well(1.0, 0.8, 0.3, 0.5) if case == "double well" else two_minima_2d()
    models = [fokker_planck(land, temperature, grid=g) for g in grids]
    slowest = models[0].relaxation_rates(1)[0]
    runs = [
        langevin(land, eta=2 * temperature, batch_size=1, sigma=1.0, particles=10_000,
                 time=1.5 / slowest, dt=dt, seed=seed, start=np.array(start), records=11)
        for dt, seed in ((0.01, 1), (0.02, 2))
    ]  # fmt: skip
    fine, coarse = (r.occupancy_over_time[:, 0] for r in runs)
    predicted = [m.evolve(m.point_mass(start), runs[0].times).occupancy[:, 0] for m in models]
    se = np.hypot(*(np.sqrt(p * (1 - p) / 10_000) for p in (fine, coarse)))
    tolerance = 4 * se + np.abs(fine - coarse) + np.abs(predicted[0] - predicted[1])
    assert np.all(np.abs(fine - predicted[0]) <= tolerance)
    assert predicted[0][-1] < 0.75  # the run covers real transitions, not just the start


def test_relaxation_rates_are_the_same_bits_on_every_call(well_2d) -> None:
    """Same input, same bits (issue 22, W10): ARPACK's random start vector made the rates
    differ at ~1e-11 relative between runs; the start is now fixed."""
    first = well_2d.relaxation_rates(2)
    again = [well_2d.relaxation_rates(2) for _ in range(3)]
    assert all(np.array_equal(first, rates) for rates in again)

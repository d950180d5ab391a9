"""width-depth-sgd: true SGD on the finite sum, its noise, its verdict, and a planted fault;
the discrete chain's stationary law against closed forms."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from threefactors.claims.base import Context
from threefactors.claims.width_depth import (
    SGD_EQUAL,
    SGD_SPEC,
    SGD_TREND,
    WIDE,
    dip_well,
    sgd_cells,
    sgd_decide,
    sgd_rows,
)
from threefactors.errors import InputError
from threefactors.theory.builtin_landscapes import double_well, quadratic
from threefactors.theory.discrete_stationary import stationary_density, stationary_masses
from threefactors.theory.gibbs import gibbs_probabilities


@pytest.mark.parametrize("eta", [0.1, 0.3, 0.45])
def test_discrete_law_on_a_quadratic_is_the_finite_eta_variance(eta: float) -> None:
    """Var = T/(h(1 − ηh/2)) = ησ²/(Sh(2 − ηh)) exactly; the grid's error is far below
    1e-3 relative (five points per noise scale)."""
    h, temperature = 4.0, 0.2
    x, p = stationary_density(quadratic([h]), eta, temperature)
    variance = float(p @ x**2 - (p @ x) ** 2)
    assert variance == pytest.approx(temperature / (h * (1 - eta * h / 2)), rel=1e-3)


def test_discrete_law_tends_to_gibbs_and_moves_with_eta_as_first_order_theory_says() -> None:
    """As η → 0 the basin masses are Gibbs'; at finite η the sharp basin loses mass (the
    Euler–Maruyama correction ηT L''/2 outweighs the wider well, −ηL'²/4)."""
    land, crit, _ = dip_well()
    temperature = 0.2
    gibbs = gibbs_probabilities(land, temperature, crit)[WIDE]
    small = stationary_masses(land, 1e-3, temperature, crit)[WIDE]
    larger = stationary_masses(land, 0.02, temperature, crit)[WIDE]
    assert small == pytest.approx(gibbs, abs=3e-3)
    assert larger > small + 5e-3


def test_discrete_law_refuses_an_eta_that_diverges_on_a_wall() -> None:
    """The polynomial double well has L'' > 100 on its walls: η = 0.02 is unstable there."""
    land = double_well(depth_left=1.0, depth_right=0.8, width_left=0.2, width_right=0.5)
    with pytest.raises(InputError, match="eta"):
        stationary_masses(land, 0.02, 0.3)


def test_minibatch_noise_of_the_finite_sum_has_the_declared_variance() -> None:
    """One SGD step from a fixed point: x₁ = x₀ − ηL'(x₀) − η·mean_B a_i, so
    Var x₁ = η²σ²/S exactly (with replacement; the a_i are whitened to variance σ²)."""
    from threefactors.simulate.finite_sum import make_finite_sum
    from threefactors.simulate.sgd import sgd

    land, crit, _ = dip_well()
    sigma, eta, batch, particles = 15.0, 0.01, 4, 200_000
    data = make_finite_sum("shift", 1024, 1, sigma, seed=7)
    assert float(data.noise_covariance(np.zeros(1))[0, 0]) == pytest.approx(sigma**2, rel=1e-12)
    start = np.array([0.3])
    result = sgd(
        land, eta=eta, batch_size=batch, sigma=sigma, data=data, replacement=True,
        particles=particles, steps=1, seed=11, start=start, critical=crit, records=2,
    )  # fmt: skip
    step = result.final[:, 0]
    drift = 0.3 - eta * float(land.gradient_at(start)[0])
    assert step.mean() == pytest.approx(drift, abs=4 * step.std() / np.sqrt(particles))
    variance = float(step.var(ddof=1))
    fourth = float(np.mean((step - step.mean()) ** 4))
    se = np.sqrt((fourth - variance**2) / particles)
    expected = eta**2 * sigma**2 / batch
    assert abs(variance - expected) <= 4 * se
    # a plausible bug (noise scaled by 1/√S instead of 1/S) would be far outside
    assert abs(variance - eta**2 * sigma**2 / np.sqrt(batch)) > 20 * se


def test_every_registered_cell_is_stable_and_equal_ratios_share_a_temperature() -> None:
    s = SGD_SPEC.settings("default")
    _, _, top = dip_well()
    cells = sgd_cells(s)
    assert all(c["eta"] * top < 2 for c in cells)  # GD stable on the whole box
    registered = [c for c in cells if c["registered"]]
    assert all(c["eta_h"] < 0.5 for c in registered)
    for m in s["multiples"]:
        same = [c for c in registered if c["multiple"] == m]
        assert len(same) == 3 and len({c["temperature"] for c in same}) == 1
        assert [c["eta"] / c["batch"] for c in same] == pytest.approx([c["ratio"] for c in same])


@pytest.fixture(scope="module")
def quick_rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    ctx = Context(out=tmp_path_factory.mktemp("wd"), scale="quick", seed=1000, progress=False)
    return sgd_rows(ctx, SGD_SPEC.settings("quick"))


@pytest.mark.slow
def test_quick_scale_reproduces_on_this_landscape(quick_rows: list[dict[str, Any]]) -> None:
    evidence = {e.quantity: e for e in sgd_decide(quick_rows, SGD_SPEC.settings("quick"))}
    assert evidence[SGD_TREND].verdict == "agrees" and evidence[SGD_TREND].effect > 0.8
    assert evidence[SGD_EQUAL].verdict == "agrees"
    assert evidence["equilibrated: the two starts agree"].verdict == "agrees"
    assert sum(r["diverged"] for r in quick_rows) == 0


@pytest.mark.slow
def test_occupancy_planted_independent_of_eta_over_s_is_not_reproduced(
    quick_rows: list[dict[str, Any]],
) -> None:
    """Planted: every cell's occupancy replaced by the value SGD reached at the same η and
    replicate at one η/S (m = 2) — SGD's real noise, but no dependence on η/S."""
    s = SGD_SPEC.settings("quick")
    at_one_ratio = {(r["replicate"], r["eta"]): r["wide"] for r in quick_rows if r["multiple"] == 2}
    planted = [{**r, "wide": at_one_ratio[(r["replicate"], r["eta"])]} for r in quick_rows]
    evidence = {e.quantity: e for e in sgd_decide(planted, s)}
    assert evidence[SGD_TREND].verdict != "agrees"
    claim = SGD_SPEC.claim(sgd_decide(planted, s), 0.0)
    assert claim.verdict in ("not reproduced", "inconclusive")


def test_a_reversed_trend_is_not_reproduced() -> None:
    """Synthetic rows whose occupancy falls with η/S: the registered trend disagrees."""
    s = SGD_SPEC.settings("quick")
    rng = np.random.default_rng(3)
    rows = [
        {**cell, "replicate": r, "wide": 0.6 - 40 * cell["ratio"] + rng.normal(0, 0.005),
         "from_sharp": 0.3, "from_wide": 0.3, "diverged": 0, "alive": [2000, 2000]}
        for r in range(4) for cell in sgd_cells(s)
    ]  # fmt: skip
    claim = SGD_SPEC.claim(sgd_decide(rows, s), 0.0)
    assert claim.evidence_of(SGD_TREND).verdict == "disagrees"
    assert claim.verdict == "not reproduced"


def test_sgd_occupancy_index_is_the_wide_minimum() -> None:
    _, crit, _ = dip_well()
    wide = crit.minima[WIDE]
    assert wide.hessian_eigenvalues[0] < crit.minima[1 - WIDE].hessian_eigenvalues[0]
    assert wide.loss > crit.minima[1 - WIDE].loss  # wide and shallow, the other sharp and deep

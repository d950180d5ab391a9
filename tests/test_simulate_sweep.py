"""Sweeps: one row per (η, S, σ); η/S invariance of the SDE shows in the rows."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.simulate.sweep import sweep
from threefactors.theory.landscape import Landscape


def test_sweep_rows_and_invariance() -> None:
    """The SDE at fixed dt: every row's covariance trace is Σ T/(h(1−h dt/2)) with T = ησ²/(2S)
    computed here, so rows with equal η/S share it and the row with 4× η/S has 4× it
    (4 standard errors, var·sqrt(2/N))."""
    bowl = Landscape.from_string("(x^2 + 4*y^2)/2", box=[(-2, 2), (-1, 1)])
    particles, dt = 40_000, 0.05
    rows = sweep(bowl, etas=[0.1, 0.4], batch_sizes=[1, 4], particles=particles, steps=300,
                 dt=dt, start=[0, 0], records=2)  # fmt: skip
    assert [(r["lr"], r["batch"]) for r in rows] == [(0.1, 1), (0.1, 4), (0.4, 1), (0.4, 4)]
    h = np.array([1.0, 4.0])
    for row in rows:
        temperature = row["lr"] * row["sigma"] ** 2 / (2 * row["batch"])  # T = ησ²/(2S)
        assert row["temperature"] == pytest.approx(temperature, rel=1e-12)  # rounding only
        variances = temperature / (h * (1 - h * dt / 2))
        se = np.sqrt(2 / particles * (variances**2).sum())  # independent Gaussian coordinates
        assert abs(row["covariance_trace"] - variances.sum()) <= 4 * se
        assert row["diverged"] == 0 and row["occupancy_0"] == 1.0

"""The plateau check and the early-stopping checkpoint on planted curves."""

from __future__ import annotations

import numpy as np
import pytest

from threefactors.claims.plateau import patience_checkpoint, plateau, window_gain


def test_window_gain_is_the_fitted_line_over_the_window() -> None:
    curve = [0.0] * 30 + [0.5 + 0.002 * e for e in range(10)]
    assert window_gain(curve, 10) == pytest.approx(0.02, rel=1e-9)


def _curves(slope: float, noise: float, seeds: int = 8, epochs: int = 60) -> list[list[float]]:
    rng = np.random.default_rng(7)
    e = np.arange(epochs)
    return [list(0.6 + slope * e + rng.normal(0, noise, epochs)) for _ in range(seeds)]


def test_a_rising_curve_is_not_a_plateau() -> None:
    """0.003 per epoch (0.03 over the window, three margins) under epoch noise 0.01."""
    check = plateau("q", _curves(0.003, 0.01), margin=0.01)
    assert check.verdict == "disagrees" and check.interval[0] > 0.01


def test_a_flat_noisy_curve_is_a_plateau() -> None:
    """Flat with epoch-to-epoch noise 0.01 over 8 seeds: the per-seed gain's sd is
    0.01·10/√82.5 ≈ 0.011, so the bound sits ≈ 1.9·0.011/√8 ≈ 0.007 above the mean."""
    check = plateau("q", _curves(0.0, 0.01), margin=0.01)
    assert check.verdict == "agrees" and check.interval[1] < 0.01
    assert abs(check.effect) < 4 * 0.011 / np.sqrt(8)


def test_a_curve_that_saturated_long_ago_is_a_plateau_whatever_came_before() -> None:
    curves = [[min(0.01 * e, 0.7) for e in range(200)] for _ in range(3)]
    assert plateau("q", curves, margin=0.001).verdict == "agrees"


def test_plateau_needs_two_curves_of_a_full_window() -> None:
    assert plateau("q", [[0.1] * 20, [0.1] * 5], margin=0.01).verdict == "not run"


def _history(values: list[float]) -> list[dict]:
    return [{"epoch": e, "validation_accuracy": v} for e, v in enumerate(values)]


def test_patience_keeps_the_best_before_the_stop_not_a_later_luckier_one() -> None:
    """Best 0.6 at epoch 2, no strict improvement for 3 epochs (a tie does not count): the
    run stops at epoch 5, and the 0.9 at epoch 7 (after the stop) is never seen."""
    history = _history([0.1, 0.5, 0.6, 0.6, 0.55, 0.58, 0.6, 0.9])
    kept = patience_checkpoint(history, patience=3)
    assert kept.entry["epoch"] == 2 and kept.stopped == 5


def test_patience_that_never_runs_out_is_censored_at_the_best_epoch() -> None:
    history = _history([0.1, 0.2, 0.3, 0.29, 0.4])
    kept = patience_checkpoint(history, patience=3)
    assert kept.entry["epoch"] == 4 and kept.stopped is None


def test_patience_skips_fractional_epochs_and_entries_without_validation() -> None:
    history = [
        {"epoch": 0, "validation_accuracy": 0.2},
        {"epoch": 0.5, "validation_accuracy": 0.9},  # a within-epoch measurement
        {"epoch": 1},
        {"epoch": 2, "validation_accuracy": 0.1},
        {"epoch": 3, "validation_accuracy": 0.1},
    ]
    kept = patience_checkpoint(history, patience=2)
    assert kept.entry["epoch"] == 0 and kept.stopped == 2  # two epochs after the best
    with pytest.raises(ValueError, match="patience"):
        patience_checkpoint(history, patience=0)

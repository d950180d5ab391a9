"""Has a learning curve stopped rising by the end of a fixed budget, and which checkpoint
would early stopping keep (shared by the network claims read at the end of training).

Plateau: over the last W epochs of each replicate's curve
y_e the least-squares slope b = Σ (e − ē)(y_e − ȳ) / Σ (e − ē)² gives the gain the fitted
line makes over the window, G = b·W. With one curve per seed, the mean gain Ḡ and its
Student-t interval over seeds (:func:`threefactors.statistics.mean_interval`) decide: the
curves have **plateaued** when the upper one-sided 95 % bound of Ḡ lies below a declared
margin (the accuracy the claims' tests treat as no difference). A rising curve has a gain
well above the margin; a flat curve with epoch-to-epoch noise has a gain within a few
standard errors of 0.

Early stopping with patience P (Keras' ``EarlyStopping(monitor="val_acc", patience=P)``, as
Jastrzębski et al. 2019 ran it, with the best-validation checkpoint kept): walking the
epochs in order, the run stops at the first epoch P epochs after the last strict
improvement of validation accuracy, and the checkpoint is the epoch of that best value.
Read from a run trained to a fixed budget, it is the checkpoint the patient run would have
kept; a run whose patience never ran out within the budget is censored (said, not hidden).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from threefactors.claims.base import Evidence, not_run

WINDOW = 10  # epochs at the end of the budget over which the gain is read


def window_gain(curve: Sequence[float], window: int = WINDOW) -> float:
    """G = b·W: the least-squares slope b of the last ``window`` values (one per epoch)
    times ``window``."""
    y = np.asarray(curve, float)[-window:]
    if y.size < 3:
        raise ValueError(f"a window gain needs ≥ 3 epochs, got {y.size}")
    e = np.arange(y.size, dtype=float)
    e -= e.mean()
    return float(window * np.dot(e, y - y.mean()) / np.dot(e, e))


def plateau(
    quantity: str,
    curves: Sequence[Sequence[float]],
    margin: float,
    *,
    window: int = WINDOW,
    what: str = "test accuracy",
) -> Evidence:
    """The plateau check of one schedule's (or one γ's) curves, one per seed: ``agrees``
    when the upper one-sided 95 % bound of the mean window gain is below ``margin``,
    ``disagrees`` otherwise (the curves may still be rising). Shown, never deciding; no
    p-value (it is a check of the readout, not a test of the claim)."""
    from threefactors.statistics import mean_interval

    kept = [list(c) for c in curves if len(c) >= window]
    if len(kept) < 2:
        return not_run("empirical", quantity, f"{len(kept)} curves reach {window} epochs")
    gains = [window_gain(c, window) for c in kept]
    mean = float(np.mean(gains))
    low, high = mean_interval(gains, confidence=0.90)  # its upper end: the one-sided 95 %
    flat = high < margin
    return Evidence(
        "empirical",
        quantity,
        f"gain over the last {window} epochs < {margin:g}",
        mean,
        "agrees" if flat else "disagrees",
        f"{what}: mean gain of the fitted line over the last {window} epochs {mean:+.4f} "
        f"(90 % t interval over {len(gains)} seeds [{low:+.4f}, {high:+.4f}]); "
        + ("plateaued" if flat else "may still be rising")
        + f" (margin {margin:g}); per seed {', '.join(f'{g:+.3f}' for g in gains)}",
        test=f"upper 95 % bound of the mean {window}-epoch gain < margin",
        effect=mean,
        interval=[low, high],
        margin=margin,
        n=len(gains),
        level=0.90,
    )


@dataclass(frozen=True)
class Checkpoint:
    """The entry early stopping keeps, and the epoch the run stops (None: censored, its
    patience did not run out within the budget)."""

    entry: dict[str, Any] | None
    stopped: int | None


def patience_checkpoint(
    history: Sequence[dict[str, Any]], patience: int, key: str = "validation_accuracy"
) -> Checkpoint:
    """Early stopping on ``key`` (higher is better) with ``patience`` epochs: the best entry
    before the stop, and the stop epoch (the first epoch ``patience`` after the last strict
    improvement), or None when the history ends first."""
    if patience < 1:
        raise ValueError(f"patience must be ≥ 1 epoch, got {patience}")
    best: dict[str, Any] | None = None
    for entry in history:
        value = entry.get(key)
        if value is None or entry["epoch"] != int(entry["epoch"]):
            continue
        if best is None or value > best[key]:
            best = entry
        elif entry["epoch"] - best["epoch"] >= patience:
            return Checkpoint(best, int(entry["epoch"]))
    return Checkpoint(best, None)

"""Figures of ``threefactors reproduce``, drawn from the saved data (never while computing).

Each ``plot_<name>(data, path)`` takes the JSON-able dict saved beside the figure as
``<name>.json`` and writes ``<name>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

Data = dict[str, Any]


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_width_depth(data: Data, path: Path) -> None:
    """P(wide minimum) vs temperature: exact Gibbs, Laplace, and the SDE ensemble."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(data["temperature_curve"], data["gibbs_wide"], "k-", label="Gibbs (quadrature)")
    ax.plot(data["temperature_curve"], data["laplace_wide"], "k--", label="Laplace")
    ax.errorbar(
        data["temperature"],
        data["simulated_wide"],
        yerr=[4 * s for s in data["simulated_stderr"]],
        fmt="o",
        color="C0",
        capsize=3,
        label="SDE ensemble (±4 se)",
    )
    ax.axhline(0.5, color="0.7", lw=0.8)
    ax.axvline(data["gibbs_crossover"], color="C3", lw=1, label="crossover (exact)")
    ax.axvline(data["laplace_crossover"], color="C3", lw=1, ls=":", label="n* (Laplace)")
    ax.set_xscale("log")
    ax.set_xlabel("temperature T = ησ²/(2S)")
    ax.set_ylabel("P(wide, higher minimum)")
    ax.set_title("Width vs depth: which minimum SGD's stationary law favours")
    ax.legend(fontsize=8)
    _save(fig, path)

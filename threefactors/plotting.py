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


def plot_excess_loss(data: Data, path: Path) -> None:
    """Simulated E[L − L_min] against (ησ²/4S) Tr H, curvature-shaped noise."""
    fig, ax = plt.subplots(figsize=(5, 4))
    predicted = data["predicted"]
    top = max(max(predicted), max(data["observed"])) * 1.15
    ax.plot([0, top], [0, top], "k-", lw=1, label="theory (ησ²/4S) Tr H")
    ax.errorbar(
        predicted,
        data["observed"],
        yerr=[4 * s for s in data["stderr"]],
        fmt="o",
        capsize=3,
        label="SDE ensemble, C = σ²H (±4 se)",
    )
    for x, y, lr, s in zip(predicted, data["observed"], data["eta"], data["batch"], strict=True):
        ax.annotate(
            f"η={lr}, S={s}", (x, y), textcoords="offset points", xytext=(5, -10), fontsize=7
        )
    ax.set_xlabel("predicted excess loss")
    ax.set_ylabel("simulated E[L − L_min]")
    ax.set_title(f"Excess loss with Hessian-shaped noise (Tr H = {data['trace_h']:g})")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_finite_eta(data: Data, path: Path) -> None:
    """SGD's stationary variance over the SDE's, against ηh, at fixed η/S."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 4))
    grid = np.linspace(0, 1.8, 200)
    ax.plot(grid, 1 / (1 - grid / 2), "k-", label="exact discrete SGD: 1/(1 − ηh/2)")
    ax.axhline(1, color="k", ls="--", label="SDE (η/S only)")
    ax.errorbar(
        data["eta_h"],
        data["sgd_over_sde"],
        yerr=[4 * s for s in data["stderr"]],
        fmt="o",
        capsize=3,
        label="true minibatch SGD (±4 se)",
    )
    ax.axvline(2, color="C3", lw=1, label="linear stability ηh = 2")
    ax.set_xlim(0, 2.1)
    ax.set_yscale("log")
    ax.set_xlabel("ηh")
    ax.set_ylabel("Var θ (SGD) / Var θ (SDE)")
    ax.set_title(f"Where the SDE stops describing SGD (η/S = {data['eta_over_s']})")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_escape(data: Data, path: Path) -> None:
    """Mean escape time against 1/T: exact MFPT, Kramers, and the SDE ensemble."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 4))
    inv_t = 1 / np.asarray(data["temperature"])
    ax.plot(inv_t, data["mfpt"], "k-o", ms=3, label="exact mean first-passage time")
    ax.plot(inv_t, data["kramers"], "k--", label="Eyring–Kramers")
    ax.errorbar(
        inv_t,
        data["simulated"],
        yerr=[4 * s for s in data["stderr"]],
        fmt="s",
        color="C0",
        capsize=3,
        label="SDE ensemble (±4 se)",
    )
    ax.set_yscale("log")
    ax.set_xlabel("1/T = 2S/(ησ²)")
    ax.set_ylabel("mean escape time (SDE time t = kη)")
    ax.set_title("Escape from a minimum grows as exp(ΔL/T)")
    ax.legend(fontsize=8)
    _save(fig, path)

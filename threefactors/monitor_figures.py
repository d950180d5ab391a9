"""Figures of ``threefactors monitor plot`` and ``threefactors spectrum``, drawn from saved data.

:func:`plot_monitor` reads a monitor log's header and measurement lines
(:mod:`threefactors.empirical.monitor`); :func:`plot_spectrum` the JSON that ``spectrum``
writes beside its figure. Neither computes anything the data does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

Data = dict[str, Any]
DENSITY_FLOOR = 1e-6  # the heat map's and the density plot's floor (log scale)


def _series(lines: list[Data], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the measurements that hold ``key`` (diverged ones have none)."""
    rows = [(r["step"], r[key]) for r in lines if r.get(key) is not None]
    if not rows:
        return np.zeros(0), np.zeros(0)
    steps, values = zip(*rows, strict=True)
    return np.asarray(steps, dtype=float), np.asarray(values, dtype=float)


def _mark_divergence(axes: list[Any], lines: list[Data]) -> None:
    diverged = [r["step"] for r in lines if r.get("diverged")]
    if diverged:
        for ax in axes:
            ax.axvline(diverged[0], color="C3", lw=1, ls=":", label="diverged")


def _density_map(ax: Any, lines: list[Data], eta: float, fig: Any) -> None:
    """log10 of each measured density on one common eigenvalue grid, steps along x."""
    rows = [r for r in lines if r.get("density")]
    low = min(min(r["density"]["grid"]) for r in rows)
    high = max(max(r["density"]["grid"]) for r in rows)
    grid = np.linspace(low, high, 300)
    image = np.array(
        [
            np.interp(grid, r["density"]["grid"], r["density"]["density"], left=0, right=0)
            for r in rows
        ]
    )
    steps = [r["step"] for r in rows]
    mesh = ax.pcolormesh(
        steps,
        grid,
        np.log10(np.maximum(image.T, DENSITY_FLOOR)),
        shading="nearest",
        cmap="viridis",
    )
    fig.colorbar(mesh, ax=ax, label="log10 density")
    if low <= 2 / eta <= high:
        ax.axhline(2 / eta, color="w", ls="--", lw=1, label="2/η")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlabel("step")
    ax.set_ylabel("Hessian eigenvalue")
    ax.set_title("Hessian spectral density (SLQ) over training")


def plot_monitor(header: Data, lines: list[Data], path: Path) -> None:
    """λ_max with 2/η, Tr H ± 2 se, Tr C and |g|², B_simple against S, T, the loss; the
    density as a heat map over steps when the log holds densities."""
    settings = header["monitor"]
    eta, batch = settings["eta"], settings["batch_size"]
    has_density = any(r.get("density") for r in lines)
    rows = 3 if has_density else 2
    fig = plt.figure(figsize=(14, 4.2 * rows))
    axes = [fig.add_subplot(rows, 3, i + 1) for i in range(6)]
    lam, trace, noise, scale, temp, loss = axes

    steps, values = _series(lines, "lambda_max")
    lam.plot(steps, values, "o-", ms=3, label="λ_max (Lanczos)")
    lam.axhline(2 / eta, color="C3", ls="--", label=f"2/η = {2 / eta:.3g}")
    lam.set_ylabel("λ_max")
    lam.set_title(f"Sharpest curvature vs the stability edge (η = {eta:g})")
    lam.set_ylim(bottom=0, top=max([2.2 / eta, *values]) * 1.05)

    steps, values = _series(lines, "hessian_trace")
    _, stderr = _series(lines, "hessian_trace_stderr")
    trace.errorbar(
        steps,
        values,
        yerr=2 * stderr if len(stderr) == len(values) else None,
        fmt="o-",
        ms=3,
        capsize=2,
        label="Tr H (Hutchinson, ±2 se)",
    )
    trace.set_ylabel("Tr H")
    trace.set_title("Hessian trace")

    for key, label in (("grad_noise_trace", "Tr C"), ("grad_norm_sq", "|g|²")):
        steps, values = _series(lines, key)
        noise.plot(steps, values, "o-", ms=3, label=label)
    noise.set_yscale("log")
    noise.set_title("Gradient noise Tr C and squared mean gradient")

    steps, values = _series(lines, "noise_scale")
    scale.plot(steps, values, "o-", ms=3, label="B_simple = Tr C/|g|²")
    scale.axhline(batch, color="C3", ls="--", label=f"batch size S = {batch}")
    scale.set_yscale("log")
    scale.set_title("Noise scale against the batch size")

    steps, values = _series(lines, "temperature")
    temp.plot(steps, values, "o-", ms=3, label="T = ησ²/(2S), σ² = Tr C/d")
    temp.set_yscale("log")
    temp.set_title("SDE temperature of this SGD")

    steps, values = _series(lines, "loss")
    loss.plot(steps, values, "o-", ms=3, label="loss on the measurement data")
    loss.set_yscale("log")
    loss.set_title(f"Training loss ({settings['n_measure']} examples)")

    _mark_divergence(axes, lines)
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    if has_density:
        _density_map(fig.add_subplot(rows, 1, rows), lines, eta, fig)
    mode = "eval" if settings.get("mode") == "eval" else "the model's own"
    fig.suptitle(
        f"Monitor: d = {settings['dim']} parameters, measured on {settings['n_measure']} "
        f"examples every {settings['every']} steps, in {mode} mode"
        + (" (BatchNorm)" if settings.get("batchnorm") else "")
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_spectrum(data: Data, path: Path) -> None:
    """The SLQ density on a log scale with its ±2 se band, and λ_max."""
    grid = np.asarray(data["grid"])
    density = np.asarray(data["density"])
    stderr = np.asarray(data["density_stderr"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(grid, np.maximum(density, DENSITY_FLOOR), "k-", lw=1.2, label="SLQ density")
    ax.fill_between(
        grid,
        np.maximum(density - 2 * stderr, DENSITY_FLOOR),
        np.maximum(density + 2 * stderr, DENSITY_FLOOR),
        color="0.7",
        alpha=0.6,
        label="±2 se over probes",
    )
    top = max(max(row) for row in data["nodes"])
    ax.axvline(top, color="C3", ls=":", label=f"λ_max ≈ {top:.4g}")
    if data.get("eta"):
        edge = 2 / data["eta"]
        if edge <= 1.5 * grid.max():  # else the line would squeeze the spectrum to one side
            ax.axvline(edge, color="C0", ls="--", label=f"2/η = {edge:.3g}")
        else:
            ax.plot([], [], " ", label=f"2/η = {edge:.3g} (off the axis)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=DENSITY_FLOOR)
    ax.set_xlabel("Hessian eigenvalue")
    ax.set_ylabel("density")
    probes, steps = len(data["nodes"]), len(data["nodes"][0])
    ax.set_title(
        f"{data['label']}: d = {data['dim']}, {probes} probes × {steps} Lanczos steps, "
        f"σ = {data['width']:.2g}",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)

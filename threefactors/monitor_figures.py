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


def _mark_divergence(axes: list[Any], lines: list[Data], colour: str) -> None:
    diverged = [r["step"] for r in lines if r.get("diverged")]
    if diverged:
        for ax in axes:
            ax.axvline(diverged[0], color=colour, lw=1, ls=":", label=f"diverged ({colour})")


def _density_map(ax: Any, lines: list[Data], eta: float, fig: Any, name: str) -> None:
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
    ax.set_title(f"Hessian spectral density (SLQ) over training, {name}")


def _name(settings: Data) -> str:
    return f"η = {settings['eta']:g}, S = {settings['batch_size']}"


def _curves(axes: list[Any], lines: list[Data], settings: Data, colour: str) -> None:
    """One run's curves on the six panels of :func:`plot_monitor`, in ``colour``."""
    lam, trace, noise, scale, temp, loss = axes
    eta, batch, name = settings["eta"], settings["batch_size"], _name(settings)
    style = {"color": colour, "ms": 3}
    lam.plot(*_series(lines, "lambda_max"), "o-", label=f"λ_max, {name}", **style)
    lam.axhline(2 / eta, color=colour, ls="--", lw=1, label=f"2/η = {2 / eta:.3g}")
    steps, values = _series(lines, "hessian_trace")
    _, stderr = _series(lines, "hessian_trace_stderr")
    trace.errorbar(
        steps,
        values,
        yerr=2 * stderr if len(stderr) == len(values) else None,
        fmt="o-",
        capsize=2,
        label=f"Tr H ± 2 se, {name}",
        **style,
    )
    noise.plot(*_series(lines, "grad_noise_trace"), "o-", label=f"Tr C, {name}", **style)
    noise.plot(*_series(lines, "grad_norm_sq"), "s:", label="|g|²", **style)
    scale.plot(*_series(lines, "noise_scale"), "o-", label=f"B_simple, {name}", **style)
    scale.axhline(batch, color=colour, ls="--", lw=1, label=f"S = {batch}")
    temp.plot(*_series(lines, "temperature"), "o-", label=f"T, {name}", **style)
    loss.plot(*_series(lines, "loss"), "o-", label=name, **style)
    _mark_divergence(axes, lines, colour)


def plot_monitor(runs: list[tuple[Data, list[Data]]], path: Path) -> None:
    """Monitor logs, one colour per run (header, measurement lines): λ_max with each 2/η,
    Tr H ± 2 se, Tr C and |g|², B_simple against S, T = ησ²/(2S), the loss; each run's
    density as a heat map over steps when its log holds densities."""
    with_density = [(h, lines) for h, lines in runs if any(r.get("density") for r in lines)]
    rows = 2 + len(with_density)
    fig = plt.figure(figsize=(15, 4.4 * rows))
    axes = [fig.add_subplot(rows, 3, i + 1) for i in range(6)]
    for index, (header, lines) in enumerate(runs):
        _curves(axes, lines, header["monitor"], f"C{index}")
    lam, trace, noise, scale, temp, loss = axes
    edges = [2.2 / header["monitor"]["eta"] for header, _ in runs]
    sharpest = [r.get("lambda_max") or 0 for _, lines in runs for r in lines]
    lam.set_ylim(bottom=0, top=max(edges + sharpest))
    titles = (
        (lam, "λ_max (Lanczos) against the stability edge 2/η", "linear"),
        (trace, "Hessian trace (Hutchinson)", "linear"),
        (noise, "gradient noise Tr C and squared mean gradient |g|²", "log"),
        (scale, "noise scale B_simple = Tr C/|g|² against the batch size S", "log"),
        (temp, "SDE temperature T = ησ²/(2S), σ² = Tr C/d", "log"),
        (loss, "training loss on the measurement data", "log"),
    )
    for ax, title, scale_kind in titles:
        ax.set_title(title, fontsize=10)
        ax.set_yscale(scale_kind)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    for row, (header, lines) in enumerate(with_density):
        ax = fig.add_subplot(rows, 1, 3 + row)
        _density_map(ax, lines, header["monitor"]["eta"], fig, _name(header["monitor"]))
    settings = runs[0][0]["monitor"]
    mode = "eval" if settings.get("mode") == "eval" else "the model's own"
    fig.suptitle(
        f"Monitor: d = {settings['dim']} parameters, measured on {settings['n_measure']} "
        f"examples every {settings['every']} steps, in {mode} mode"
        + (" (BatchNorm)" if settings.get("batchnorm") else ""),
        y=0.995,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.03 / rows))
    fig.savefig(path, dpi=100)
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

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


def plot_relaxation(data: Data, path: Path) -> None:
    """Left: occupancy of the start's basin over time, Fokker–Planck and SDE ensemble.
    Right: slowest rate λ_1 against 1/T, with the exact MFPT rate and Eyring–Kramers."""
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(data["times"], data["fp_occupancy"], "k-", label="Fokker–Planck")
    left.errorbar(
        data["times"],
        data["simulated"],
        yerr=[4 * s for s in data["stderr"]],
        fmt="o",
        ms=3,
        color="C0",
        capsize=2,
        label="SDE ensemble (±4 se)",
    )
    left.set_xlabel("SDE time t = kη")
    left.set_ylabel("P(start basin)")
    left.set_title(f"Relaxation from x = {data['start'][0]} (T = {data['transient_temperature']})")
    left.legend(fontsize=8)
    inv_t = 1 / np.asarray(data["temperature"])
    right.plot(inv_t, data["fp_rate"], "ko", label="λ_1 (FP generator)")
    right.plot(inv_t, data["mfpt_rate"], "k-", label="1/MFPT(A→B) + 1/MFPT(B→A)")
    right.plot(inv_t, data["kramers_rate"], "k--", label="Eyring–Kramers k_A + k_B")
    right.set_yscale("log")
    right.set_xlabel("1/T = 2S/(ησ²)")
    right.set_ylabel("slowest relaxation rate")
    right.legend(fontsize=8)
    _save(fig, path)


def plot_sde_accuracy(data: Data, path: Path) -> None:
    """|SGD − SDE| and |SGD − modified equation| in E θ against η (log-log), fitted orders;
    the quadratic's closed-form gaps for reference."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 4))
    eta = np.asarray(data["eta"])
    for key, slope, colour, label in (
        ("gap_sde", data["slope_sde"], "C0", "first-order SDE"),
        ("gap_modified", data["slope_modified"], "C3", "modified equation"),
    ):
        gap = np.asarray(data[key])
        text = f"{label}: order {slope[0]:.2f} ± {2 * slope[1]:.2f}"
        ax.errorbar(
            eta, gap, yerr=[4 * s for s in data["stderr"]], fmt="o", color=colour, capsize=3,
            label=text,
        )  # fmt: skip
        ax.plot(eta, gap[-1] * (eta / eta[-1]) ** round(slope[0]), ":", color=colour, lw=1)
    q_eta = np.asarray(data["quadratic_eta"])
    ax.plot(q_eta, data["quadratic_gaps"][0], "-", color="0.5", lw=1, label="hθ²/2, closed form")
    ax.plot(q_eta, data["quadratic_gaps"][1], "-", color="0.5", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"learning rate η (η/S = {data['eta_over_s']})")
    ax.set_ylabel("weak error |E_SGD θ − E θ(kη)|")
    ax.set_title("When does the SDE describe SGD?")
    ax.legend(fontsize=7)
    _save(fig, path)


def _by(rows: list[dict], key: str) -> dict[Any, list[dict]]:
    groups: dict[Any, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return dict(sorted(groups.items(), key=lambda kv: str(kv[0])))


def _reached(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["reached_threshold"] and not r["diverged"]]


def _metric_panels(
    ax_pair: Any, rows: list[dict], x: str, group: str, xlabel: str, log: bool = True
) -> None:
    """λ_max and test accuracy against ``x`` at the train-accuracy threshold, per ``group``."""
    for label, members in _by(_reached(rows), group).items():
        members = sorted(members, key=lambda r: r[x])
        for ax, metric in zip(ax_pair, ("lambda_max", "test_accuracy"), strict=True):
            ax.plot(
                [r[x] for r in members],
                [r[metric] for r in members],
                "o-",
                label=f"{group} = {label}",
            )
    for ax, metric in zip(ax_pair, ("λ_max of the Hessian", "test accuracy"), strict=True):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        if log:
            ax.set_xscale("log")
    ax_pair[0].legend(fontsize=7)


def plot_experiment(data: Data, path: Path) -> None:
    """One figure per network experiment, from its tidy rows, histories and analysis."""
    name, rows = data["experiment"], data["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if name in ("ratio", "memorization"):
        _metric_panels(
            axes, rows, "eta_over_s", "batch" if name == "ratio" else "random_labels", "η/S"
        )
    elif name == "rescaling":
        for row in rows:
            row["beta"] = row["lr"] / min(r["lr"] for r in rows)
        _metric_panels(axes, rows, "beta", "n_train", "β in (βη₀, βS₀)")
    elif name == "nsgd":
        _metric_panels(axes, rows, "nsgd_gamma", "batch", "Nudged SGD γ")
    elif name == "sharpest":
        for run in data["histories"]:
            axes[0 if run["batch"] == data["histories"][0]["batch"] else 1].plot(
                run["epoch"], run["lambda_max"], label=f"η={run['lr']:g}, S={run['batch']}"
            )
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.set_ylabel("λ_max")
            ax.legend(fontsize=7)
        axes[0].set_title("η grid at fixed S", fontsize=9)
        axes[1].set_title("S grid at fixed η", fontsize=9)
    elif name == "interpolation":
        for line in data["summary"]["lines"]:
            axes[0].plot(line["alpha"], line["loss"], label=f"{line['from']} → {line['to']}")
            axes[1].plot(line["alpha"], line["accuracy"], label=f"{line['from']} → {line['to']}")
        for ax, label in zip(axes, ("train loss", "train accuracy"), strict=True):
            ax.set_xlabel("α in (1−α)θ_A + αθ_B  [(η, S) of A → B]")
            ax.set_ylabel(label)
            ax.legend(fontsize=7)
        axes[0].set_yscale("log")
    elif name == "schedules":
        labels = [f"{r['schedule']}\nη={r['lr']:g} S={r['batch']}" for r in rows]
        for ax, metric in zip(axes, ("test_accuracy", "lambda_max"), strict=True):
            ax.bar(range(len(rows)), [r[metric] or 0 for r in rows])
            ax.set_xticks(range(len(rows)), labels, fontsize=6, rotation=30)
            ax.set_ylabel(metric)
        lo = min(r["test_accuracy"] or 1 for r in rows)
        axes[0].set_ylim(max(0, lo - 0.05), 1)
    fig.suptitle(
        f"{name}: metrics at the first epoch with train accuracy ≥ threshold"
        if name not in ("sharpest", "interpolation")
        else name
    )
    _save(fig, path)

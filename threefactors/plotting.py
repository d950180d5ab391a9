"""Figures of ``threefactors reproduce``, drawn from the saved data (never while computing).

Each ``plot_<name>(data, path)`` takes the JSON-able dict saved beside the figure as
``<name>.json`` and writes ``<name>.png``.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter, ScalarFormatter

Data = dict[str, Any]

# The model family a network figure shows, written in its top-left corner (None: not a
# per-family figure); the families are ``threefactors.empirical.experiments.FAMILIES``.
_FAMILY: ContextVar[str | None] = ContextVar("family", default=None)
FAMILY_TITLES = {
    "mlp": "MLP (2 hidden layers of 256 units; MNIST-1D, or MNIST digits where the grid says)",
    "cnn": "SimpleCNN (2 conv–max-pool stages, 16 / 32 channels; 5,000 MNIST digits)",
}


def draw(name: str, data: Data, path: Path) -> None:
    """``plot_<name>(data, path)``, the figure marked with ``data["family"]`` when it has one
    (a claim on two model families draws one figure per family)."""
    token = _FAMILY.set(data.get("family"))
    try:
        globals()[f"plot_{name.replace('-', '_')}"](data, path)
    finally:
        _FAMILY.reset(token)


def _save(fig: plt.Figure, path: Path) -> None:
    family = _FAMILY.get()
    if family is not None:
        fig.text(
            0.005,
            1.0,
            f"model family {family}: {FAMILY_TITLES.get(family, family)}",
            ha="left",
            va="bottom",
            fontsize=9,
            weight="bold",
            color="0.25",
        )
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")  # keeps a legend set beside the axes
    plt.close(fig)


def _side_legend(fig: plt.Figure, ax: plt.Axes) -> None:
    """``ax``'s legend beside the figure, off the data (per-seed legends are long)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6)


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


def _seed_marker(seed: int) -> str:
    return "osd^v<>p*h"[int(seed) % 10]


def plot_relaxation(data: Data, path: Path) -> None:
    """Left: occupancy of the start's basin over time, Fokker–Planck and SDE ensemble.
    Middle: slowest rate λ_1 against 1/T, with the exact MFPT rate and Eyring–Kramers.
    Right (the primary test): the relative gaps of both to λ_1 against T."""
    import numpy as np

    fig, (left, right, gaps) = plt.subplots(1, 3, figsize=(15, 4))
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
    temperature = data["kramers_temperature"]
    gaps.plot(temperature, data["mfpt_gap"], "ko-", label="|λ_1 / MFPT rate − 1|")
    gaps.plot(temperature, data["kramers_error"], "ks--", label="|Kramers / λ_1 − 1|")
    gaps.set_yscale("log")
    gaps.set_xlabel("temperature T = ησ²/(2S)")
    gaps.set_ylabel("relative gap to λ_1")
    gaps.set_title("both must vanish as T → 0")
    gaps.legend(fontsize=8)
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


def _per_seed(ax: Any, rows: list[dict], x: str, y: str, group: str | None = None) -> None:
    """One line per (group, seed), seeds told apart by marker, groups by colour."""
    groups = sorted(  # numbers in numeric order (S = 16 before 128), anything else after
        {r.get(group) for r in rows} if group else {None},
        key=lambda g: (0, g, "") if isinstance(g, int | float) else (1, 0, str(g)),
    )
    for colour, g in enumerate(groups):
        for seed in sorted({r["seed"] for r in rows}):
            members = sorted(
                (
                    r
                    for r in rows
                    if r["seed"] == seed
                    and (group is None or r[group] == g)
                    and r.get(y) is not None
                ),
                key=lambda r: r[x],
            )
            if members:
                ax.plot(
                    [r[x] for r in members],
                    [r[y] for r in members],
                    "-",
                    marker=_seed_marker(seed),
                    color=f"C{colour}",
                    alpha=0.8,
                    ms=4,
                    label=(f"{group} = {g}, " if group else "") + f"seed {seed}",
                )


def plot_eta_over_s(data: Data, path: Path) -> None:
    """True SGD's in-well variance at (η,S), (2η,2S), (4η,4S): finite-η theory vs the SDE."""
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 4))
    grid = np.linspace(0.05, 0.45, 100)
    sde = data["sde"]
    ax.plot(grid, sde / (1 - grid / 2), "k-", label="finite-η theory: SDE/(1 − ηh/2)")
    ax.axhline(sde, color="k", ls="--", label="SDE: depends on η/S only")
    ax.errorbar(
        data["eta_h"],
        data["variance"],
        yerr=[4 * v for v in data["stderr"]],
        fmt="o",
        capsize=3,
        label="true minibatch SGD (±4 se)",
    )
    for x, y, b in zip(data["eta_h"], data["variance"], data["batch"], strict=True):
        ax.annotate(f"β={b}", (x, y), textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_xlabel("ηh along (βη, βS), η/S fixed")
    ax.set_ylabel("stationary Var θ in the sharp well")
    ax.set_title("Is SGD invariant under (βη, βS)?")
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_experiment(data: Data, path: Path) -> None:
    """The ratio grid: λ_max and test accuracy at matched progress against η/S, per seed."""
    rows = [r for r in data["rows"] if r["reached_threshold"] and not r["diverged"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("lambda_max", "test_accuracy"), strict=True):
        _per_seed(ax, rows, "eta_over_s", metric, "batch")
        ax.set_xscale("log")
        ax.set_xlabel("η/S")
        ax.set_ylabel(metric.replace("_", " "))
    _side_legend(fig, axes[0])
    missing = len(data["rows"]) - len(rows)
    fig.suptitle(
        f"η × S grid at the first epoch with 95% train accuracy ({missing} runs not reaching it)"
    )
    _save(fig, path)


def plot_rescaling(data: Data, path: Path) -> None:
    """Test accuracy and λ_max against β per seed, and each β's TOST interval vs its margin."""
    rows = [r for r in data["rows"] if r.get("test_accuracy") is not None]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, metric in zip(axes[:2], ("test_accuracy", "lambda_max"), strict=True):
        _per_seed(ax, rows, "beta", metric, "n_train")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("β in (βη₀, βS₀)")
        ax.set_ylabel(metric.replace("_", " ") + " at matched progress")
    _side_legend(fig, axes[0])
    tests = [t for t in data["tost"] if t["metric"] == "test_accuracy"]
    for k, t in enumerate(tests):
        lo, hi = t["interval"]
        axes[2].plot([lo, hi], [k, k], "-", color="C0" if t["verdict"] == "agrees" else "C3")
        axes[2].plot([t["effect"]], [k], "o", color="k", ms=3)
    margin = data["margins"]["test_accuracy"]
    for m in (-margin, margin):
        axes[2].axvline(m, color="0.5", ls="--")
    axes[2].set_yticks(
        range(len(tests)), [f"β={t['beta']:g}, n={t['n_train']}" for t in tests], fontsize=7
    )
    axes[2].set_xlabel("Δ test accuracy vs β = 1 (90% CI; dashed: margin)")
    fig.suptitle(f"Rescaling (βη₀, βS₀) from (η₀, S₀) = {tuple(data['base'])}")
    _save(fig, path)


def plot_sharpest(data: Data, path: Path) -> None:
    """λ_max along a fixed budget per run (seeds by line style) for the η grid and the S grid;
    peaks marked (o), censored peaks (at the budget's last measurement) marked (x); legends
    below the axes."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    styles = ["-", "--", ":", "-."]
    for k, (ax, key, fixed) in enumerate(
        ((axes[0], "batch", data["fixed_batch"]), (axes[1], "lr", data["fixed_eta"]))
    ):
        level_key = "lr" if k == 0 else "batch"
        runs = sorted((h for h in data["histories"] if h[key] == fixed), key=lambda h: h[level_key])
        levels = sorted({h[level_key] for h in runs})
        first_seed = min((h["seed"] for h in runs), default=0)
        for h in runs:
            level = h[level_key]
            ax.plot(
                h["lambda_max_epoch"],
                h["lambda_max"],
                styles[h["seed"] % 4],
                color=f"C{levels.index(level)}",
                lw=1,
                label=f"{'η' if k == 0 else 'S'} = {level:g}" if h["seed"] == first_seed else None,
            )
        for r in data["runs"]:
            if r[key] == fixed and r["peak_epoch"] is not None:
                ax.plot(
                    [r["peak_epoch"]],
                    [r["peak_lambda_max"]],
                    "x" if r["censored"] else "o",
                    color=f"C{levels.index(r[level_key])}",
                    mfc="none",
                    ms=7 if r["censored"] else 5,
                    mew=1.5,
                )
        ax.plot([], [], "ko", mfc="none", ms=5, label="peak")
        ax.plot([], [], "kx", ms=7, mew=1.5, label="censored peak (budget's end)")
        ax.set_yscale("log")
        ax.set_xscale("symlog", linthresh=2, linscale=1.5)  # the first 2 epochs, 8 points each
        last = max((max(h["lambda_max_epoch"], default=0) for h in runs), default=2)
        ax.axvline(last, color="0.6", lw=0.8, ls=":")
        ax.set_xticks([t for t in (0, 1, 2, 10, 100, 1000) if t <= last])
        ax.set_xlim(0, last * 1.08)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("epoch (linear up to 2, log after; dotted: the budget's end)")
        ax.set_ylabel("λ_max")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4)
    axes[0].set_title(f"η grid at S = {data['fixed_batch']} (line style: seed)", fontsize=9)
    axes[1].set_title(f"S grid at η = {data['fixed_eta']} (line style: seed)", fontsize=9)
    _save(fig, path)


def plot_step_too_long(data: Data, path: Path) -> None:
    """The authors' step-length figure: relative loss change (% of L) after a step of γ times
    the SGD step's component along each direction, against γ (log), one line per direction
    (median over seeds, interquartile band), one panel per learning rate."""
    import numpy as np

    rates = data["rates"]
    gammas = data["multipliers"]
    fig, axes = plt.subplots(1, len(rates), figsize=(5 * len(rates), 4), squeeze=False)
    for ax, eta in zip(axes[0], rates, strict=True):
        runs = [r for r in data["runs"] if r["lr"] == eta]
        for k, direction in enumerate(data["directions"]):
            curves = np.array([r["relative_change"][direction] for r in runs])
            low, mid, high = np.percentile(curves, [25, 50, 75], axis=0)
            colour = "k" if direction == "random" else f"C{k}"
            name = direction if direction == "random" else f"v{direction[1:]}"
            ax.plot(gammas, mid, "o-", color=colour, ms=3, label=name)
            ax.fill_between(gammas, low, high, color=colour, alpha=0.15, lw=0)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.axvline(1, color="0.5", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xticks(gammas, [f"{g:g}" for g in gammas])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("γ (step along the direction = γ × the SGD step's component)")
        ax.set_ylabel("relative loss change (% of L)")
        epochs = runs[0]["epochs"] if runs else "?"
        ax.set_title(f"η = {eta:g}, after {epochs} epoch(s); {len(runs)} seeds", fontsize=9)
    axes[0][0].plot([], [], color="0.5", lw=6, alpha=0.3, label="interquartile band")
    _side_legend(fig, axes[0][0])
    fig.suptitle("Step too long along the sharpest directions? (median over seeds)", fontsize=10)
    _save(fig, path)


def plot_conditioning(data: Data, path: Path) -> None:
    """λ₁/λ₅ against training loss per run (colour = η/S; thick: the mean over seeds of the
    value interpolated at each level), and the three registered parts against η/S per seed:
    λ₁/λ₅ along training, λ₁ at 95 % train accuracy, the tanh MLP's saturated share."""
    import numpy as np
    from matplotlib.colors import LogNorm

    rows, levels, tanh = data["rows"], data["levels"], data.get("tanh") or []
    ratios = sorted({r["eta_over_s"] for r in rows} | {r["eta_over_s"] for r in tanh})
    norm = LogNorm(min(ratios, default=1e-3), max(ratios, default=1e-2))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    ax = axes[0]
    for curve in data["curves"]:
        ax.plot(
            curve["train_loss"],
            curve["condition"],
            ".-",
            color=cmap(norm(curve["eta_over_s"])),
            alpha=0.25,
            lw=0.7,
            ms=2,
        )
    for ratio in sorted({r["eta_over_s"] for r in rows}):
        means = []
        for level in levels:
            values = [
                r.get(f"condition_at_loss_{level:g}")
                for r in rows
                if r["eta_over_s"] == ratio and r.get(f"condition_at_loss_{level:g}") is not None
            ]
            means.append(float(np.exp(np.mean(np.log(values)))) if values else np.nan)
        ax.plot(levels, means, "o-", color=cmap(norm(ratio)), lw=2, ms=5)
    for level in levels:
        ax.axvline(level, color="0.8", lw=0.8, ls=":", zorder=0)
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.xaxis.set_minor_formatter(NullFormatter())
    ticks = sorted({*levels, 2.0, 0.2, 0.1})
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.set_xlabel("train loss (training runs left → right; dotted: the levels)")
    ax.set_ylabel("λ₁/λ₅ (thin: measured epochs; thick: geometric mean at each level)", fontsize=8)
    colourbar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02)
    colourbar.set_label("η/S")
    panels = (
        (
            axes[1],
            rows,
            "condition_along",
            "registered: λ₁/λ₅ along training (geom. mean over levels)",
        ),
        (axes[2], rows, "lambda_max", "registered: λ₁ at the first epoch with 95% train acc."),
        (axes[3], tanh, "saturated_fraction", "registered: tanh MLP, share of |z| > 2 (95% acc.)"),
    )
    for ax, panel_rows, metric, label in panels:
        _per_seed(ax, panel_rows, "eta_over_s", metric, "batch" if panel_rows is rows else None)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collided on η/S < 1e-2
        ax.set_xlabel("η/S")
        ax.set_ylabel(label, fontsize=8)
    _side_legend(fig, axes[1])
    fig.suptitle(
        "SGD noise and the top Hessian spectrum along training "
        "(ReLU η × S grid; right: tanh MLP at S = 32, marker = seed)"
    )
    _save(fig, path)


def plot_interpolation(data: Data, path: Path) -> None:
    """Training loss along the line from the highest-η/S minimum to each other, per seed."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for line in data["lines"]:
        ax.plot(
            line["alpha"],
            line["loss"],
            _seed_marker(line["seed"]) + "-",
            ms=2,
            label=f"seed {line['seed']}: {line['from']} → {line['to']}",
        )
    for x in (0, 1):
        ax.axvline(x, color="0.6", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("α in (1−α)θ_A + αθ_B  [(η, S) of A → B]")
    ax.set_ylabel("train loss")
    ax.legend(fontsize=6)
    _save(fig, path)


def _curves_and_mean(
    ax: Any, data: Data, key: str, group: str, value: Any, colour: str, name: str
) -> None:
    """The ``key`` curves of the histories whose ``data[group][index]`` is ``value``: one
    thin line per seed and their mean over seeds (thick, labelled)."""
    import numpy as np

    curves = [h[key] for i, h in enumerate(data["histories"]) if data[group][str(i)] == value]
    for c in curves:
        ax.plot(c, color=colour, lw=0.4, alpha=0.3)
    mean = np.mean([c[: min(len(c) for c in curves)] for c in curves], axis=0)
    ax.plot(mean, color=colour, lw=2, label=f"{name} (mean of {len(curves)} seeds)")


def plot_schedules(data: Data, path: Path) -> None:
    """Test accuracy along the budget per schedule (mean over seeds thick, seeds thin) with
    the plateau-check window marked, and the final values (one point per seed)."""

    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    names = sorted(set(data["labels"].values()))
    for k, name in enumerate(names):
        _curves_and_mean(axes[0], data, "test_accuracy", "labels", name, f"C{k}", name)
    end = max(len(h["test_accuracy"]) for h in data["histories"]) - 1
    window = data.get("window", 10)
    axes[0].axvspan(end - window, end, color="0.85", zorder=0, label="plateau-check window")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("test accuracy")
    _side_legend(fig, axes[0])
    for k, name in enumerate(names):
        values = [v for v in data["final"].get(name, {}).values() if v is not None]
        axes[1].plot([k] * len(values), values, "o", color=f"C{k}", alpha=0.7)
    axes[1].set_xticks(range(len(names)), names, fontsize=6, rotation=20)
    axes[1].set_ylabel(f"test accuracy at epoch {end} (one point per seed)")
    _save(fig, path)


def plot_memorization(data: Data, path: Path) -> None:
    """Per fraction of random labels (one row each): test accuracy against corrupted-subset
    train accuracy per run with the matched band, and the band's average against η/S."""
    noises = sorted({h.get("random_labels", 0.25) for h in data["histories"]})
    fig, axes = plt.subplots(len(noises), 2, figsize=(11, 3.6 * len(noises)), squeeze=False)
    ratios = sorted({h["lr"] / h["batch"] for h in data["histories"]})
    first = min(h["seed"] for h in data["histories"])  # one legend entry per η/S
    for row, noise in zip(axes, noises, strict=True):
        for h in data["histories"]:
            if h.get("random_labels", 0.25) != noise:
                continue
            colour = f"C{ratios.index(h['lr'] / h['batch'])}"
            first_row = noise == noises[0] and h["seed"] == first
            row[0].plot(
                h["train_accuracy_corrupted"],
                h["test_accuracy"],
                color=colour,
                lw=0.8,
                label=f"η/S={h['lr'] / h['batch']:.2g}" if first_row else None,
            )
        band = "matched band" if noise == noises[0] else None
        row[0].axvspan(min(data["levels"]), max(data["levels"]), color="0.9", label=band)
        row[0].set_xlabel("train accuracy on the randomly labelled subset")
        row[0].set_ylabel(f"test accuracy ({noise:.0%} random labels)")
        rows = [r for r in data["rows"] if r.get("random_labels", 0.25) == noise]
        _per_seed(row[1], rows, "eta_over_s", "matched_test_accuracy")
        row[1].set_xscale("log")
        row[1].set_xlabel("η/S")
        row[1].set_ylabel(f"band average ({noise:.0%} random labels)")
    _side_legend(fig, axes[0][0])
    _save(fig, path)


def plot_nsgd(data: Data, path: Path) -> None:
    """Validation accuracy along the budget per γ (mean over seeds, thick; seeds thin) with the
    early epoch and the plateau window marked; test accuracy and λ₁ at the early-stopping
    checkpoint per γ (paired thin lines, one per seed; mean thick)."""
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    rows = data["rows"]
    gammas = sorted({r["gamma"] for r in rows})
    colour = {g: f"C{k}" for k, g in enumerate(gammas)}
    ax = axes[0]
    for g in gammas:
        _curves_and_mean(ax, data, "validation_accuracy", "gammas", g, colour[g], f"γ = {g:g}")
    budget = data["budget"]
    ax.axvline(data["early_epoch"], color="k", ls=":", lw=1, label="early epoch (speed)")
    ax.axvspan(
        budget - data["window"], budget, color="0.85", label="plateau-check window", zorder=0
    )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.set_title(f"η = {data['eta']:g}, S = 128, K = 5", fontsize=9)
    _side_legend(fig, ax)
    seeds = sorted({r["seed"] for r in rows})
    names = {"test_accuracy": "test accuracy", "lambda_max": "λ₁"}
    for ax, metric in zip(axes[1:], ("test_accuracy", "lambda_max"), strict=True):
        for seed in seeds:
            pair = sorted((r for r in rows if r["seed"] == seed), key=lambda r: r["gamma"])
            ax.plot(
                [r["gamma"] for r in pair],
                [r[metric] for r in pair],
                _seed_marker(seed) + "-",
                color="0.5",
                lw=0.6,
                ms=3,
                alpha=0.6,
            )
        means = [np.mean([r[metric] for r in rows if r["gamma"] == g]) for g in gammas]
        ax.plot(gammas, means, "k-", lw=3)
        ax.set_xscale("log")
        ax.set_xlabel("Nudged SGD γ (grey: one seed; black: mean)")
        ax.set_ylabel(f"{names[metric]} at the checkpoint")
    axes[2].set_yscale("log")
    fig.suptitle(
        f"Nudged SGD, every γ from the seed's initial weights; checkpoint: early stopping with "
        f"patience {data['patience']} (non-inferiority margin {data['margin']})",
        fontsize=9,
    )
    _save(fig, path)


def _cell_means(rows: list[dict], metric: str) -> list[dict]:
    """Per (η, S) cell: the mean over seeds of ``metric`` and its standard error."""
    import numpy as np

    cells: dict[tuple[float, int], list[float]] = {}
    for r in rows:
        if r.get(metric) is not None:
            cells.setdefault((r["lr"], r["batch"]), []).append(r[metric])
    return [
        {
            "lr": lr,
            "batch": s,
            "mean": float(np.mean(v)),
            "se": float(np.std(v, ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0,
        }
        for (lr, s), v in sorted(cells.items())
    ]


def _by_cell(ax: Any, rows: list[dict], metric: str) -> None:
    """Cell means ± se against η/S: colour = S, marker = η, so cells of equal η/S stack."""
    batches = sorted({r["batch"] for r in rows})
    lrs = sorted({r["lr"] for r in rows})
    markers = "osD^v<>p"
    for cell in _cell_means(rows, metric):
        ax.errorbar(
            cell["lr"] / cell["batch"],
            cell["mean"],
            yerr=cell["se"],
            fmt=markers[lrs.index(cell["lr"]) % len(markers)],
            color=f"C{batches.index(cell['batch'])}",
            capsize=2,
            ms=5,
            label=f"η = {cell['lr']:g}, S = {cell['batch']}",
        )
    ax.set_xscale("log")
    ax.set_xlabel("η/S")


def plot_eta_over_s_only(data: Data, path: Path) -> None:
    """Does the outcome depend on η and S only through η/S? Cell means at equal η/S, and
    each seed's b_η + b_S against its equivalence margin."""
    rows = data["rows"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    _by_cell(axes[0], rows, "lambda_max")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("λ_max at 95 % train accuracy (mean ± se over seeds)")
    _by_cell(axes[1], rows, "test_accuracy")
    axes[1].set_ylabel("test accuracy (mean ± se over seeds)")
    ax = axes[2]
    for i, fit in enumerate(data["fits"]):
        sums = [a + b for a, b in zip(fit["b_eta"], fit["b_S"], strict=True)]
        ax.plot([i] * len(sums), [v / fit["margin"] for v in sums], "o", color="C0", alpha=0.7)
    ax.axhspan(-1, 1, color="0.85", label="equivalence margin")
    ax.axhline(0, color="k", lw=0.8, label="η/S only")
    ax.set_xticks(range(len(data["fits"])), [f["metric"].replace("_", " ") for f in data["fits"]])
    ax.set_xlim(-0.5, len(data["fits"]) - 0.5)
    ax.set_ylabel("per-seed (b_η + b_S) / margin")
    ax.set_title("one point per seed", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    _side_legend(fig, axes[0])
    fig.suptitle("Cells of equal η/S stack vertically: their spread is the dependence on the scale")
    _save(fig, path)


def plot_flatter_minima(data: Data, path: Path) -> None:
    """λ_max and test accuracy against η at each fixed S and against S at each fixed η."""
    import numpy as np

    rows = data["rows"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for col, (x, fixed, xlabel) in enumerate((("lr", "batch", "η"), ("batch", "lr", "S"))):
        for row_i, metric in enumerate(("lambda_max", "test_accuracy")):
            ax = axes[row_i, col]
            for k, level in enumerate(sorted({r[fixed] for r in rows})):
                cells = [c for c in _cell_means(rows, metric) if c[fixed] == level]
                ax.errorbar(
                    [c[x] for c in cells],
                    [c["mean"] for c in cells],
                    yerr=[c["se"] for c in cells],
                    fmt="-o",
                    color=f"C{k}",
                    capsize=2,
                    ms=4,
                    label=f"{'S' if fixed == 'batch' else 'η'} = {level:g}",
                )
            ax.set_xscale("log", base=2)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric.replace("_", " ") + " (mean ± se)")
            if metric == "lambda_max":
                ax.set_yscale("log")
            ax.set_xticks(
                sorted({r[x] for r in rows}), [f"{v:g}" for v in np.unique([r[x] for r in rows])]
            )
            ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle("One factor at a time, at 95 % train accuracy")
    _save(fig, path)


def _ci_points(
    ax: Any, x: list[float], cells: list[dict], fmt: str, color: str, label: str
) -> None:
    """Each cell's mean P(wide) at x with its 95 % interval (1.96 se over replicates)."""
    ax.errorbar(x, [c["wide"] for c in cells], yerr=[1.96 * c["stderr"] for c in cells],
                fmt=fmt, color=color, capsize=3, label=f"{label}, 95 % CI")  # fmt: skip


def plot_width_depth_sgd(data: Data, path: Path) -> None:
    """True SGD's P(wide) against η/S, one marker per η (pairs sharing η/S side by side),
    with the Gibbs law and the discrete chain's law per η; right: the breakdown at one η/S
    against ηh_sharp, with the equivalence margin around η = 0.005's occupancy."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    cells, curves, h = data["cells"], data["curves"], data["minima"]["sharp"]["h"]
    etas = sorted({c["eta"] for c in cells if c["registered"]})
    markers = "osD^v<>"
    left.plot(curves["ratio"], curves["gibbs"], "k-", label="Gibbs exp(−L/T) (η → 0)")
    for k, eta in enumerate(etas):
        color = f"C{k}"
        left.plot(curves["ratio"], curves["discrete"][f"{eta:g}"], "--", color=color, lw=1,
                  label=f"discrete SGD law, η = {eta:g}")  # fmt: skip
        mine = [c for c in cells if c["eta"] == eta and c["registered"]]
        shift = 1.04 ** (k - (len(etas) - 1) / 2)  # side by side at equal η/S
        x = [c["ratio"] * shift for c in mine]
        _ci_points(left, x, mine, markers[k], color, f"true SGD, η = {eta:g} (ηh = {eta * h:.2f})")
    left.set_xscale("log")
    ratios = sorted({c["ratio"] for c in cells if c["registered"]})
    left.set_xticks(ratios, [f"{r:.3g}" for r in ratios])
    left.xaxis.set_minor_formatter(NullFormatter())
    left.set_xlabel("η/S  (T = (η/S)·σ²/2; equal-η/S markers set side by side)")
    left.set_ylabel("P(wide minimum)")
    left.set_title("Occupancy of the wide minimum vs η/S")
    breakdown = sorted(
        (c for c in cells if c["ratio"] == cells[-1]["ratio"]), key=lambda c: c["eta"]
    )
    right.plot(
        [e * h for e in curves["breakdown_eta"]], curves["breakdown_discrete"], "k--", lw=1,
        label="discrete SGD law",
    )  # fmt: skip
    right.axhline(curves["breakdown_gibbs"], color="k", lw=1, label="Gibbs (η → 0)")
    base = breakdown[0]["wide"]
    band = f"equivalence margin ±{data['margin']} around η = {breakdown[0]['eta']:g}"
    right.axhspan(base - data["margin"], base + data["margin"], color="0.85", label=band)
    _ci_points(right, [c["eta_h"] for c in breakdown], breakdown, "o", "C3", "true SGD")
    right.set_xlabel("ηh_sharp (stable below 2)")
    right.set_ylabel("P(wide minimum)")
    right.set_title(f"Where equal η/S stops sufficing (η/S = {breakdown[0]['ratio']:g})")
    for ax in (left, right):
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.24), ncol=1)
    _save(fig, path)

"""CLI subcommands of threefactors.simulate (registered by threefactors.cli).

``threefactors simulate langevin``: an ensemble of the SGD SDE on a typed loss.
``threefactors simulate sgd``: true minibatch SGD on a finite sum built from the loss.
``threefactors simulate sweep``: either simulator over a grid of (η, S, σ), one row per
setting, each setting a task on the chosen executor (local, Dask, SLURM).
Both print occupancy (per minimum, in the order of ``threefactors minima``) ± stderr,
mean loss, mean, covariance, diverged count and first divergence step, escape times
(with ``--escape-from``) and ns per particle-step.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from threefactors import options
from threefactors.executors import add_arguments as add_executor_arguments
from threefactors.simulate.noise_models import NOISE_MODELS, noise_names
from threefactors.simulate.schemes import SCHEMES
from threefactors.theory.cli import add_loss_arguments, landscape_from_args, setting_from_args


def _common(parser: argparse.ArgumentParser) -> None:
    add_loss_arguments(parser)
    parser.add_argument(
        "--lr", "--eta", type=options.positive, required=True, help="learning rate η > 0"
    )
    parser.add_argument(
        "--sigma", type=options.nonnegative, default=1.0, help="gradient-noise scale σ ≥ 0"
    )
    parser.add_argument(
        "--particles", type=options.count, default=10_000, help="number of particles N"
    )
    parser.add_argument("--seed", type=options.seed, default=0, help="random seed (≥ 0)")
    parser.add_argument(
        "--start",
        default=None,
        help="start every particle at this point (comma separated); default: uniform over "
        "the landscape's box (theory's default_box)",
    )
    parser.add_argument(
        "--escape-from",
        type=options.integer(0),
        default=None,
        metavar="I",
        help="start at minimum I and measure first-passage times to any other minimum",
    )
    parser.add_argument(
        "--escape-radius",
        type=options.positive,
        default=None,
        help="capture radius around the target",
    )
    parser.add_argument(
        "--bound",
        type=options.positive,
        default=1e6,
        help="a particle with |θ_i| > bound has diverged",
    )
    options.add_memory_budget(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate langevin`` and ``simulate sgd``."""
    parser = subparsers.add_parser(
        "simulate",
        help="particle ensembles: the SGD SDE (langevin) and true minibatch SGD (sgd)",
        description="Numba particle ensembles on a typed loss landscape.",
    )
    sub = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", required=True)

    lang = sub.add_parser(
        "langevin",
        help="SDE dθ = −∇L dt + sqrt(η/S) B dW (time t = kη)",
        description="Ensemble of the SGD SDE dθ = −∇L dt + sqrt(η/S) B(θ) dW, C = B Bᵀ = σ² I "
        "(isotropic) or σ² H(θ)₊ (hessian); temperature T = ησ²/(2S).",
    )
    _common(lang)
    lang.add_argument(
        "--batch", "--batch-size", type=options.count, default=1, help="batch size S ≥ 1"
    )
    sde_noises = noise_names(minibatch=False, cli=True)
    lang.add_argument(
        "--noise",
        choices=sde_noises,
        default="isotropic",
        help="; ".join(f"{name}: {NOISE_MODELS[name].summary}" for name in sde_noises),
    )
    length = lang.add_mutually_exclusive_group(required=True)
    length.add_argument("--time", type=options.positive, help="SDE time to integrate (t = kη)")
    length.add_argument("--steps", type=options.count, help="number of steps")
    lang.add_argument(
        "--dt", type=options.positive, default=None, help="step in SDE time (default η)"
    )
    lang.add_argument(
        "--scheme",
        choices=tuple(SCHEMES),
        default="em",
        help="; ".join(f"{name}: {scheme.summary}" for name, scheme in SCHEMES.items()),
    )
    lang.set_defaults(func=_run_langevin)

    sgd = sub.add_parser(
        "sgd",
        help="true minibatch SGD θ ← θ − η g_S on a finite sum",
        description="True SGD on N examples ℓ_i = L + perturbation_i (shift: a_i·θ with "
        "covariance σ² I; regression: least-squares noise, state dependent).",
    )
    _common(sgd)
    sgd.add_argument(
        "--batch", "--batch-size", type=options.count, required=True, help="batch size 1 ≤ S ≤ N"
    )
    sgd.add_argument("--examples", type=options.count, required=True, help="number of examples N")
    perturbations = noise_names(minibatch=True, cli=True)
    sgd.add_argument(
        "--perturbation",
        choices=perturbations,
        default="shift",
        help="; ".join(f"{name}: {NOISE_MODELS[name].summary}" for name in perturbations),
    )
    sgd.add_argument(
        "--replacement",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="draw minibatches with (default) or without replacement",
    )
    sgd.add_argument("--steps", type=options.count, required=True, help="number of SGD steps")
    sgd.set_defaults(func=_run_sgd)

    sweep = sub.add_parser(
        "sweep",
        help="either simulator over a grid of (η, S, σ), one row per setting",
        description="Run langevin or sgd for every (η, S, σ) of the grid (seeds SEED + i); "
        "each setting is one task on --executor (local, dask, slurm).",
    )
    add_loss_arguments(sweep)
    sweep.add_argument("--simulator", choices=("langevin", "sgd"), default="langevin")
    sweep.add_argument("--lr", required=True, help="learning rates η, comma separated")
    sweep.add_argument("--batch", required=True, help="batch sizes S, comma separated")
    sweep.add_argument("--sigma", default="1.0", help="noise scales σ, comma separated")
    sweep.add_argument(
        "--particles", type=options.count, default=10_000, help="particles per setting"
    )
    sweep.add_argument("--steps", type=options.count, required=True, help="steps per setting")
    sweep.add_argument("--examples", type=options.count, default=None, help="N (required for sgd)")
    sweep.add_argument("--seed", type=options.seed, default=0, help="seed of the first setting")
    sweep.add_argument("--start", default=None, help="common start point (comma separated)")
    add_executor_arguments(sweep)
    options.add_memory_budget(sweep)
    sweep.add_argument("--json", action="store_true", help="print one JSON document")
    sweep.set_defaults(func=_run_sweep)


def _start(args: argparse.Namespace) -> Any:
    from threefactors.errors import InputError

    if args.start is None:
        return None
    try:
        return [float(v) for v in args.start.split(",")]
    except ValueError:
        raise InputError("start", args.start, "expected comma-separated numbers") from None


def _common_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The simulator's keywords shared by both subcommands (and ``--memory-budget`` applied)."""
    from threefactors.resources import set_memory_budget
    from threefactors.simulate.observers import Observe

    if args.memory_budget is not None:
        set_memory_budget(args.memory_budget)
    return {
        "particles": args.particles,
        "seed": args.seed,
        "start": _start(args),
        "observe": Observe.from_keywords(
            escape_from=args.escape_from, escape_radius=args.escape_radius, bound=args.bound
        ),
        "show_progress": True,
    }


def _run_langevin(args: argparse.Namespace) -> int:
    from threefactors.output import emit
    from threefactors.simulate.ensemble import langevin

    result = langevin(
        landscape_from_args(args),
        setting_from_args(args),
        noise=args.noise,
        time=args.time,
        steps=args.steps,
        dt=args.dt,
        scheme=args.scheme,
        **_common_kwargs(args),
    )
    config = result.provenance["config"]
    if config["time_requested"] is not None and not math.isclose(
        config["time"], config["time_requested"], rel_tol=1e-9
    ):
        print(
            f"threefactors simulate: note: time={args.time:g} is not a multiple of "
            f"dt={config['dt']:g}; simulated {config['steps']} steps, t = {config['time']:g}",
            file=sys.stderr,
        )
    emit(result.summary(), args.json, format_text)
    return 0


def _run_sgd(args: argparse.Namespace) -> int:
    from threefactors.output import emit
    from threefactors.simulate.sgd import sgd

    result = sgd(
        landscape_from_args(args),
        setting_from_args(args),
        perturbation=args.perturbation,
        steps=args.steps,
        **_common_kwargs(args),
    )
    emit(result.summary(), args.json, format_text)
    return 0


def _numbers(name: str, text: str, kind: type) -> list[Any]:
    from threefactors.errors import InputError

    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(name, text, "expected comma-separated numbers") from None
    if not values:
        raise InputError(name, text, "expected at least one value")
    return values


def _run_sweep(args: argparse.Namespace) -> int:
    from threefactors.executors import from_args
    from threefactors.output import emit
    from threefactors.resources import set_memory_budget
    from threefactors.simulate.sweep import sweep

    if args.memory_budget is not None:
        set_memory_budget(args.memory_budget)
    executor = from_args(args)
    rows = sweep(
        landscape_from_args(args),
        etas=_numbers("lr", args.lr, float),
        batch_sizes=_numbers("batch", args.batch, int),
        sigmas=_numbers("sigma", args.sigma, float),
        simulator=args.simulator,
        examples=args.examples,
        seed=args.seed,
        show_progress=True,
        executor=executor,
        particles=args.particles,
        steps=args.steps,
        start=_start(args),
    )
    emit({"loss": args.loss, "rows": rows}, args.json, format_sweep)
    return 0


def format_sweep(result: dict[str, Any]) -> str:
    """One line per setting: η, S, σ, T, occupancies, mean loss, diverged ("—" where every
    particle diverged and there is nothing to average)."""
    import math

    def number(value: float | None, fmt: str) -> str:
        return "—" if value is None or not math.isfinite(value) else format(value, fmt)

    lines = [f"sweep of {result['loss']}"]
    for row in result["rows"]:
        occupancy = " ".join(
            number(row[k], ".3f") for k in row if k.startswith("occupancy_") and "stderr" not in k
        )
        lines.append(
            f"  lr={row['lr']:g} S={row['batch']} σ={row['sigma']:g} T={row['temperature']:.3g}"
            f"  occupancy {occupancy}  mean loss {number(row['mean_loss'], '.4g')}"
            f"  diverged {row['diverged']}"
        )
    return "\n".join(lines)


def format_text(summary: dict[str, Any]) -> str:
    """Human-readable lines for a simulation summary; never NaN: a run whose particles all
    diverged says so, with the first step, like the JSON's ``first_divergence_step``."""
    import numpy as np

    config = summary["provenance"]["config"]
    lines = [
        f"{config['simulator']}: {config['loss']}  (η={config['lr']}, S={config['batch']}, "
        f"σ={config['sigma']}, {config['particles']} particles × {config['steps']} steps)"
    ]
    first = summary["first_divergence_step"]
    if summary["diverged"] == config["particles"]:
        lines.append(
            f"  diverged at step {first}: all {summary['diverged']} particles left the bound, "
            "no occupancy or moments to report"
        )
        lines.append(f"  {summary['ns_per_particle_step']:.3g} ns per particle-step")
        return "\n".join(lines)
    for j, (x, p, se) in enumerate(
        zip(summary["minima"], summary["occupancy"], summary["occupancy_stderr"], strict=True)
    ):
        point = ", ".join(f"{v:.4g}" for v in np.atleast_1d(x))
        lines.append(f"  minimum {j} at ({point}): occupancy {p:.4f} ± {se:.4f}")
    lines.append(f"  mean loss {summary['mean_loss']:.6g}")
    if summary["mean"] is not None:
        lines.append(f"  mean θ {np.array2string(np.asarray(summary['mean']), precision=4)}")
    if summary["covariance"] is not None and np.asarray(summary["covariance"]).size <= 16:
        cov = np.asarray(summary["covariance"])
        lines.append(f"  covariance {np.array2string(cov, precision=4)}")
    lines.append(
        f"  diverged {summary['diverged']}"
        + (f" (first at step {first})" if first is not None else "")
    )
    if "escape_times" in summary:
        e = summary["escape_times"]
        lines.append(
            f"  escape time {e['mean']:.4g} ± {e['stderr']:.2g} "
            f"({e['count']} escaped, {e['censored']} censored)"
            if e["count"]
            else f"  no particle escaped ({e['censored']} censored)"
        )
    lines.append(f"  {summary['ns_per_particle_step']:.3g} ns per particle-step")
    return "\n".join(lines)

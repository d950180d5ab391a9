"""CLI subcommands ``monitor plot`` (the figure of a monitor log) and ``spectrum`` (the Hessian
spectral density of a built-in model, trained or read from a checkpoint).

Only argparse is imported at module level; torch loads in the handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from threefactors import options


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``monitor`` (with ``plot``) and ``spectrum``."""
    monitor = subparsers.add_parser(
        "monitor",
        help="figures of a training-loop monitor log (tf.empirical.Monitor)",
        description="Work with the JSON Lines log that tf.empirical.Monitor writes.",
    )
    actions = monitor.add_subparsers(dest="action", metavar="ACTION", required=True)
    plot = actions.add_parser(
        "plot",
        help="λ_max with 2/η, Tr H, Tr C, B_simple vs S, temperature, loss (and the density)",
        description="Draw a monitor log: λ_max against the stability edge 2/η, Tr H ± 2 se, "
        "Tr C and |g|², B_simple against the batch size, the SDE temperature ησ²/(2S), the "
        "loss, and the SLQ density as a heat map over steps when the log holds densities.",
    )
    plot.add_argument("logs", nargs="+", metavar="LOG", help="monitor .jsonl logs (overlaid)")
    plot.add_argument("--out", default=None, help="PNG to write (default: the first log, .png)")
    plot.add_argument("--json", action="store_true", help="print one JSON document")
    plot.set_defaults(func=_plot)

    spectrum = subparsers.add_parser(
        "spectrum",
        help="Hessian spectral density (stochastic Lanczos quadrature) of a network",
        description="The eigenvalue density of the loss Hessian of a built-in model on a "
        "measurement subset of its data set, by stochastic Lanczos quadrature: at "
        "initialisation, after --epochs of SGD, or at the parameters in --checkpoint (a grid's "
        "params.pt or a state_dict, read as data). Writes OUT/spectrum.png and "
        "OUT/spectrum.json.",
    )
    spectrum.add_argument("--dataset", default="mnist1d", help="mnist1d (default), digits, …")
    spectrum.add_argument("--model", default="mlp", help="mlp, deep-mlp, cnn, …")
    spectrum.add_argument("--width", type=options.count, default=256, help="MLP hidden width")
    spectrum.add_argument("--depth", type=options.count, default=2, help="MLP hidden layers")
    spectrum.add_argument("--seed", type=options.seed, default=0)
    spectrum.add_argument("--checkpoint", default=None, help="parameters to load (weights only)")
    spectrum.add_argument("--epochs", type=options.integer(0), default=0, help="train first")
    spectrum.add_argument("--lr", type=options.positive, default=0.1, help="η when training")
    spectrum.add_argument("--batch", type=options.count, default=64, help="S when training")
    spectrum.add_argument("--measure-size", type=options.count, default=1000, help="examples")
    spectrum.add_argument("--probes", type=options.count, default=10, help="SLQ probes")
    spectrum.add_argument("--steps", type=options.integer(2), default=80, help="Lanczos steps")
    spectrum.add_argument("--grid", type=options.integer(2), default=1000, help="grid points")
    spectrum.add_argument(
        "--kernel-width", type=options.positive, default=None, help="σ of the Gaussian smoothing"
    )
    spectrum.add_argument("--out", type=options.output_dir, required=True, metavar="DIR")
    spectrum.add_argument("--json", action="store_true", help="print one JSON document")
    spectrum.set_defaults(func=_spectrum)


def _summary(log: str, header: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    measured = [r for r in lines if r.get("lambda_max") is not None]
    last = measured[-1] if measured else {}
    keys = ("step", "lambda_max", "eta_lambda_max", "noise_scale", "temperature", "loss")
    return {
        "log": log,
        "measurements": len(lines),
        "diverged_at": next((r["step"] for r in lines if r.get("diverged")), None),
        "eta": header["monitor"]["eta"],
        "batch_size": header["monitor"]["batch_size"],
        "last": {k: last.get(k) for k in keys},
    }


def _plot(args: argparse.Namespace) -> int:
    from threefactors.empirical.monitor import read_log
    from threefactors.errors import require
    from threefactors.monitor_figures import plot_monitor
    from threefactors.output import emit

    runs = []
    for log in args.logs:
        require(Path(log).is_file(), "log", log, "not found")
        header, lines = read_log(log)
        require(bool(lines), "log", log, "holds no measurement yet")
        runs.append((header, lines))
    out = Path(args.out) if args.out else Path(args.logs[0]).with_suffix(".png")
    plot_monitor(runs, out)
    result = {
        "figure": str(out),
        "runs": [_summary(log, *run) for log, run in zip(args.logs, runs, strict=True)],
    }
    emit(result, args.json, _format_plot)
    return 0


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.4g}"


def _format_plot(result: dict[str, Any]) -> str:
    lines = [f"figure: {result['figure']}"]
    for run in result["runs"]:
        last = run["last"]
        lines.append(
            f"  {run['log']}: {run['measurements']} measurements; at step {last['step']} "
            f"λ_max {_num(last['lambda_max'])} (ηλ_max = {_num(last['eta_lambda_max'])}, edge "
            f"2), B_simple {_num(last['noise_scale'])} (S = {run['batch_size']}), "
            f"T {_num(last['temperature'])}"
        )
        if run["diverged_at"] is not None:
            lines.append(f"    DIVERGED at step {run['diverged_at']}")
    return "\n".join(lines)


def _load_checkpoint(model: Any, path: str) -> None:
    """Parameters from ``path``: a flat vector (a grid's params.pt) or a state_dict."""
    import torch

    from threefactors.empirical.functional import num_params, set_flat_params
    from threefactors.errors import InputError, require

    require(Path(path).is_file(), "checkpoint", path, "not found")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # not a torch file, or one holding code: refused either way
        reason = f"unreadable: {str(err).splitlines()[0][:120]}"
        raise InputError("checkpoint", path, reason) from None
    if isinstance(saved, torch.Tensor):
        require(
            saved.dim() == 1 and saved.numel() == num_params(model),
            "checkpoint",
            path,
            f"holds {tuple(saved.shape)} numbers; the model has {num_params(model)} parameters",
        )
        set_flat_params(model, saved.to(next(model.parameters()).dtype))
        return
    require(isinstance(saved, dict), "checkpoint", path, "neither a flat vector nor a state_dict")
    try:
        model.load_state_dict(saved)
    except RuntimeError as err:
        raise InputError("checkpoint", path, str(err).splitlines()[1].strip()[:160]) from None


def _spectrum(args: argparse.Namespace) -> int:
    import torch.nn.functional as F

    from threefactors.empirical import data as datasets
    from threefactors.empirical.hessian import HessianOperator
    from threefactors.empirical.slq import spectral_density
    from threefactors.empirical.train import TrainConfig, build_model, train
    from threefactors.jsonio import dumps, write_atomic
    from threefactors.monitor_figures import plot_spectrum
    from threefactors.output import emit
    from threefactors.progress import Progress
    from threefactors.provenance import provenance

    data = datasets.load(args.dataset)
    config = TrainConfig(
        dataset=args.dataset,
        model=args.model,
        width=args.width,
        depth=args.depth,
        lr=args.lr,
        batch=args.batch,
        epochs=max(args.epochs, 1),
        seed=args.seed,
        stop_at_accuracy=1.0,
        measure=False,
    )
    if args.epochs > 0:
        progress = Progress("train", args.epochs)
        model = train(config, on_epoch=lambda e: progress.update(e["epoch"], "")).model
    else:
        model = build_model(config, data, "cpu")
    if args.checkpoint:
        _load_checkpoint(model, args.checkpoint)
    model.eval()
    inputs, targets = datasets.measurement_subset(data, args.measure_size)
    op = HessianOperator(model, F.cross_entropy, inputs, targets)
    density = spectral_density(
        op,
        probes=args.probes,
        steps=args.steps,
        grid=args.grid,
        width=args.kernel_width,
        seed=args.seed,
    )
    mean, mean_se = density.moment(1)
    state = "checkpoint" if args.checkpoint else f"{args.epochs} epochs of SGD"
    result = {
        **density.record(),
        "label": f"{args.dataset} {args.model} ({state})",
        "eta": args.lr if args.epochs > 0 and not args.checkpoint else None,
        "lambda_max": float(density.nodes.max()),
        "trace": mean * density.dim,
        "trace_stderr": mean_se * density.dim,
        "wasserstein_bound": density.wasserstein_bound(),
        "n_examples": int(inputs.shape[0]),
        "mode": op.mode,
        "provenance": provenance(_options(args), args.seed, "cpu"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "spectrum.json", dumps(result))
    plot_spectrum(result, args.out / "spectrum.png")
    result["files"] = [str(args.out / "spectrum.json"), str(args.out / "spectrum.png")]
    emit(result, args.json, _format_spectrum)
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The command's options as a JSON-able dict (the handler left out)."""
    return {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "func"}


def _format_spectrum(result: dict[str, Any]) -> str:
    probes, steps = len(result["nodes"]), len(result["nodes"][0])
    return "\n".join(
        [
            f"{result['label']}: d = {result['dim']}, {result['n_examples']} examples, "
            f"{probes} probes × {steps} Lanczos steps ({result['n_matvecs']} HVPs)",
            f"  λ_max {result['lambda_max']:.4g}   Tr H {result['trace']:.4g} "
            f"± {result['trace_stderr']:.2g}   W₁ error ≤ {result['wasserstein_bound']:.2g}",
            f"  wrote {', '.join(result['files'])}",
        ]
    )

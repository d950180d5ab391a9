"""Grids of runs that survive being killed: one record per run, keyed by its config hash.

Layout of a grid folder DIR:

- ``DIR/runs/<hash>.json``: the finished run's record (the keys of ``train --json``), written
  atomically (temporary file, fsync, rename) — a reader sees no file or the whole record;
- ``DIR/params/<hash>.pt``: the run's final parameters θ (flat), written before the record;
- ``DIR/checkpoints/<hash>.pt``: model, optimizer, generator state, epoch and history of a
  run in progress, replaced atomically every ``checkpoint_every`` seconds and removed once
  the record is written;
- ``DIR/errors/<hash>.txt``: the traceback of a run that raised (the grid goes on).

Re-running the same grid skips runs whose record exists and parses, resumes interrupted runs
from their checkpoint, and reruns the rest. A run's numbers depend only on its config (seeded
data order, initialisation and measurements), so a grid killed at any moment and re-run
gives the same records as an uninterrupted one, up to wall times.
With ``jobs`` > 1, runs execute in that many worker processes (one thread each).
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from threefactors.empirical.records import check_record, config_hash
from threefactors.empirical.train import TrainConfig, resolve_device, train, validate
from threefactors.errors import InputError, require
from threefactors.jsonio import dumps, write_atomic
from threefactors.saved import load_validated


def paths(out: Path, key: str) -> dict[str, Path]:
    """Where run ``key``'s record, parameters, checkpoint and error go under ``out``."""
    return {
        "record": out / "runs" / f"{key}.json",
        "params": out / "params" / f"{key}.pt",
        "checkpoint": out / "checkpoints" / f"{key}.pt",
        "error": out / "errors" / f"{key}.txt",
    }


def load_record(path: Path) -> dict[str, Any] | None:
    """The record at ``path``; None when it is missing or fails :func:`.records.check_record`
    (then it is moved aside with a warning, and the run is recomputed)."""
    return load_validated(path, lambda record: check_record(record, path.stem))


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
    where["params"].parent.mkdir(parents=True, exist_ok=True)
    tmp = where["params"].with_name(f".{key}.tmp.pt")
    torch.save(flat_params(run.model).cpu(), tmp)
    tmp.replace(where["params"])
    text = dumps(record)
    write_atomic(where["record"], text)
    where["checkpoint"].unlink(missing_ok=True)
    where["error"].unlink(missing_ok=True)
    return json.loads(text)  # exactly what a later run of the grid reads back


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
    jobs: int = 1,
    on_run: Callable[[int, int, dict[str, Any] | None], None] | None = None,
) -> dict[str, Any]:
    """Run every config (skipping finished ones); ``{"records": [...], "failed": [...]}``.

    Records come in the order of ``configs``, one per distinct config. ``on_run(done, total,
    record)`` is called after each run (record None for a failed one).
    """
    require(jobs >= 1, "jobs", jobs, "must be ≥ 1")
    device = resolve_device(device)
    unique = list(dict.fromkeys(configs))
    for config in unique:
        validate(config, config.n_train)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(c, str(out), device, data_dir, download, checkpoint_every) for c in unique]
    results: dict[str, dict[str, Any]] = {}
    failed: list[dict[str, Any]] = []

    def collect(done: int, config: TrainConfig, result: tuple) -> None:
        record, error = result
        if record is None:
            failed.append({"config_hash": config_hash(config), "error": error.splitlines()[-1]})
        else:
            results[config_hash(config)] = record
        if on_run is not None:
            on_run(done, len(unique), record)

    if jobs == 1:
        for i, task in enumerate(tasks):
            collect(i + 1, task[0], _run_or_fail(task))
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {pool.submit(_run_or_fail, task): task[0] for task in tasks}
            for i, future in enumerate(concurrent.futures.as_completed(futures)):
                collect(i + 1, futures[future], future.result())
    records = [results[config_hash(c)] for c in unique if config_hash(c) in results]
    return {"records": records, "failed": failed}

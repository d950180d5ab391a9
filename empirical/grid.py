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
worker processes (one thread each), or as Dask tasks, one task per ensemble (or per run with
``ensemble=False``); the worker writes the runs' files into DIR (a path every worker sees)
and the client only collects the records.

By default (``ensemble=True``) configs that can share an ensemble (same model, data set, S
and momentum: :func:`threefactors.empirical.ensemble.group_key`) train as one
(:mod:`~threefactors.empirical.ensemble`) — except convolutional models on a CPU, whose
runs go one by one (:func:`~threefactors.empirical.ensemble.stacks`: stacking them gains
nothing there) — a group is split so that its members fit in
``memory_fraction`` of the free memory, and into at least as many pieces as the executor has
workers, so every worker
has one; a piece of one member is still an ensemble, and a member's numbers do not depend
on which members share its ensemble, so the split never changes a record. Each member's
record and parameters are written the moment it finishes; the ensemble's checkpoint is
``DIR/checkpoints/ensemble-<hash of its members' hashes>.pt``, so a killed grid resumes
every member from it, and members whose record exists are skipped. (If the free memory
changes the split between the two runs, an unfinished group restarts from scratch: no
record is lost or duplicated, only progress.)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import math
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from threefactors.empirical.records import check_record, config_dict, config_hash
from threefactors.empirical.train import Run, TrainConfig, resolve_device, train, validate
from threefactors.errors import InputError, require
from threefactors.executors import LOCAL, ExecutorSpec, Outcome, run_tasks
from threefactors.jsonio import dumps, remove_stale_temporaries, write_atomic, write_once
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
    or its parameters file (``params/<hash>.pt``) is missing, does not hold ``n_params``
    numbers or not the ones the record names (``params_sha256``: two swapped files are
    caught): then the bad file is moved aside with a warning, and the run is recomputed."""
    record = load_validated(path, lambda record: _check_run(record, path.stem))
    if record is None:
        return None
    params = path.parent.parent / "params" / f"{path.stem}.pt"
    read = functools.partial(torch.load, weights_only=True)
    theta = load_validated(params, lambda t: _check_params(t, record), read=read)
    return record if theta is not None else None


def _check_run(record: Any, key: str) -> dict[str, Any]:
    """``record`` if :func:`.records.check_record` passes and its config is a valid
    :class:`TrainConfig` (raises otherwise)."""
    check_record(record, key)
    validate(TrainConfig.from_dict(record["config"]))
    return record


def params_digest(theta: torch.Tensor) -> str:
    """sha256 (first 16 hex digits) of the flat parameters' bytes: a record names its own."""
    raw = theta.detach().cpu().contiguous().view(torch.uint8)  # any dtype, bfloat16 too
    return hashlib.sha256(raw.numpy().tobytes()).hexdigest()[:16]


def _check_params(theta: Any, record: dict[str, Any]) -> torch.Tensor:
    n_params = record["n_params"]
    check(
        isinstance(theta, torch.Tensor) and theta.numel() == n_params,
        f"does not hold the record's {n_params} parameters",
    )
    digest = record.get("params_sha256")  # absent in records of earlier versions
    check(digest is None or params_digest(theta) == digest, "not the record's parameters")
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
    return _store(Path(out), key, run)


def _store(out: Path, key: str, run: Run) -> dict[str, Any]:
    """Write run ``key``'s parameters, then its record, each once and atomically; the record
    as read back (another worker's, if it finished the same run first)."""
    from threefactors.empirical.functional import flat_params

    where = paths(out, key)
    theta = flat_params(run.model).detach().cpu()
    params = io.BytesIO()
    torch.save(theta, params)
    write_once(where["params"], params.getvalue())
    text = dumps({"config_hash": key, "params_sha256": params_digest(theta), **run.record})
    if not write_once(where["record"], text):  # another worker finished this run first
        text = where["record"].read_text()
    where["checkpoint"].unlink(missing_ok=True)
    where["error"].unlink(missing_ok=True)
    return json.loads(text)  # exactly what a later run of the grid reads back


def _remove_litter(out: Path, key: str) -> None:
    """Remove the temporary files of run ``key``'s record, parameters and checkpoint that a
    writer killed mid-write left behind (the files they were meant to become are rewritten by
    this run); a live writer's, e.g. a second grid's on the same folder, stay
    (:func:`~threefactors.jsonio.remove_stale_temporaries`)."""
    for name in ("record", "params", "checkpoint"):
        remove_stale_temporaries(paths(out, key)[name])


def ensemble_checkpoint(out: Path, configs: Sequence[TrainConfig]) -> Path:
    """Where the ensemble of ``configs`` keeps its checkpoint (named by its members)."""
    joined = ",".join(config_hash(c) for c in configs)
    return out / "checkpoints" / f"ensemble-{hashlib.sha256(joined.encode()).hexdigest()[:16]}.pt"


def run_group(
    configs: Sequence[TrainConfig],
    out: str | Path,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    checkpoint_every: float = 30.0,
) -> list[dict[str, Any]]:
    """Run (or resume, or skip) ``configs`` as one ensemble; their records, in order."""
    from threefactors.empirical.ensemble import train_ensemble

    out = Path(out)
    keys = [config_hash(c) for c in configs]
    for key in keys:
        _remove_litter(out, key)
    records = [load_record(paths(out, key)["record"]) for key in keys]
    if all(r is not None for r in records):
        return records

    def on_member(index: int, run: Run) -> None:
        records[index] = _store(out, keys[index], run)

    checkpoint = ensemble_checkpoint(out, configs)
    remove_stale_temporaries(checkpoint)
    train_ensemble(
        configs,
        device=device,
        data_dir=data_dir,
        download=download,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        skip=[r is not None for r in records],
        on_member=on_member,
    )
    checkpoint.unlink(missing_ok=True)
    return records


def _run_or_fail(args: tuple) -> list[tuple[dict[str, Any] | None, str | None]]:
    """Run one task, ``(as_ensemble, configs, *arguments of run_group)``: a group as one
    ensemble, or a single config as a single run; per config (record, traceback).

    An exception fails the configs without a record (traceback written to errors/); members
    of an ensemble that finished before it keep their records. Grids with ensembles run
    even a group of one as an ensemble, so a record does not depend on how groups are split.
    """
    as_ensemble, configs, out = args[0], args[1], Path(args[2])
    try:
        if not as_ensemble:
            return [(run_one(configs[0], *args[2:]), None)]
        return [(record, None) for record in run_group(*args[1:])]
    except InputError:
        raise
    except Exception:
        text = traceback.format_exc()
        results = []
        for config in configs:
            where = paths(out, config_hash(config))
            record = load_record(where["record"])
            if record is None:
                write_atomic(where["error"], text)
            results.append((record, None if record is not None else text))
        return results


def plan(
    configs: Sequence[TrainConfig],
    device: str,
    workers: int,
    memory_fraction: float,
    data_dir: str | None = None,
    download: bool = False,
) -> list[list[TrainConfig]]:
    """Ensembles to run: groups of :func:`~threefactors.empirical.ensemble.group_configs`,
    split to fit ``memory_fraction`` of the free memory, then halved (largest first) until
    there are at least ``workers`` of them."""
    from threefactors.empirical import ensemble
    from threefactors.empirical.train import build_model, prepare_data

    pieces: list[list[TrainConfig]] = []
    for group in ensemble.group_configs(configs):
        data = prepare_data(group[0], device, data_dir, download)
        model = build_model(group[0], data, device)
        limit = ensemble.max_members(
            model, data.x_train[0], group[0].batch, device, memory_fraction
        )
        pieces += ensemble.group_configs(group, limit)
    while len(pieces) < workers and max((len(p) for p in pieces), default=0) > 1:
        largest = max(pieces, key=len)
        pieces.remove(largest)
        half = math.ceil(len(largest) / 2)
        pieces += [largest[:half], largest[half:]]
    return pieces


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
    ensemble: bool = True,
    memory_fraction: float = 0.5,
) -> dict[str, Any]:
    """Run every config (skipping finished ones); ``{"records": [...], "failed": [...]}``.

    Records come in the order of ``configs``, one per distinct config; a failure is
    ``{"config_hash", "config", "error"}`` (the error's last line). ``on_run(done, total,
    entry)`` is called on the client after each run with its record or, for a failed run,
    its failure (the entry with an ``"error"`` key). ``ensemble`` trains groups of
    compatible configs together (module docstring); their records say ``ensemble_size``.
    """
    device = resolve_device(device)
    unique = list(dict.fromkeys(configs))
    for config in unique:
        validate(config, config.n_train)
    out = Path(out)
    _check_layout(out, [config_hash(c) for c in unique])
    created = _missing_folders(out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        from threefactors.empirical.ensemble import stacks

        stacked = [c for c in unique if ensemble and stacks(c, device)]
        alone = [c for c in unique if not (ensemble and stacks(c, device))]
        groups = plan(stacked, device, executor.workers, memory_fraction, data_dir, download)
        tasks = [
            (as_ensemble, group, str(out), device, data_dir, download, checkpoint_every)
            for as_ensemble, groups_of in ((True, groups), (False, [[c] for c in alone]))
            for group in groups_of
        ]
        return _run_tasks(tasks, [config_hash(c) for c in unique], executor, on_run)
    except InputError:  # a config refused (e.g. S > N once the data is loaded)
        _remove_empty_folders(created)
        raise


#: The folders a grid writes into, under its folder (see the module docstring).
FOLDERS = ("runs", "params", "checkpoints", "errors")


def _check_layout(out: Path, keys: Sequence[str]) -> None:
    """Refuse (InputError) a grid folder whose :data:`FOLDERS` are not folders, or whose
    runs' files are not regular files (a folder at ``params/<hash>.pt`` made every call
    retrain and never save): checked before any training."""
    for name in FOLDERS:
        folder = out / name
        require(
            not folder.exists() or folder.is_dir(), "out", str(folder), "is not a folder: move it"
        )
    for key in keys:
        for path in paths(out, key).values():
            require(
                not path.exists() or path.is_file(),
                "out",
                str(path),
                "is not a regular file: move it",
            )


def _missing_folders(out: Path) -> list[Path]:
    """The folders a grid in ``out`` may create that do not exist yet, deepest first:
    :data:`FOLDERS`, ``out`` and its missing parents."""
    missing = [out / name for name in FOLDERS if not (out / name).exists()]
    folder = out
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty_folders(created: list[Path]) -> None:
    """Remove the folders of ``created`` (:func:`_missing_folders`) that are still empty: a
    refused grid leaves nothing behind, and removes nothing it did not create."""
    for folder in created:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _run_tasks(
    tasks: list[tuple],
    keys: list[str],
    executor: ExecutorSpec,
    on_run: Callable[[int, int, dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """Run each task (see :func:`_run_or_fail`) on ``executor``; the records in the order of
    ``keys`` (the configs' hashes). A task that failed as a whole (its worker died past the
    executor's retries) fails each of its configs."""
    results: dict[str, dict[str, Any]] = {}
    failed: list[dict[str, Any]] = []
    done = 0

    def collect(_: int, __: int, outcome: Outcome) -> None:
        nonlocal done
        group = tasks[outcome.index][1]
        per_config = (
            outcome.value if outcome.error is None else [(None, outcome.error)] * len(group)
        )
        for config, (record, error) in zip(group, per_config, strict=True):
            done += 1
            entry = record
            if record is None:
                entry = {
                    "config_hash": config_hash(config),
                    "config": config_dict(config),
                    "error": error.strip().splitlines()[-1],
                }
                failed.append(entry)
            else:
                results[config_hash(config)] = record
            if on_run is not None:
                on_run(done, len(keys), entry)

    labels = [
        config_hash(task[1][0])
        + (f" (+{len(task[1]) - 1} ensemble members)" if len(task[1]) > 1 else "")
        for task in tasks
    ]
    run_tasks(_run_or_fail, tasks, executor, labels=labels, on_done=collect)
    records = [results[key] for key in keys if key in results]
    return {"records": records, "failed": failed}


def load_model(
    out: str | Path, record: dict[str, Any], data_dir: str | None = None
) -> tuple[torch.nn.Module, Any]:
    """The run's model at its saved final parameters (eval mode, CPU) and its data set."""
    from threefactors.empirical.functional import set_flat_params
    from threefactors.empirical.train import build_model, prepare_data

    config = TrainConfig.from_dict(record["config"])
    data = prepare_data(config, "cpu", data_dir)
    model = build_model(config, data, "cpu")
    set_flat_params(model, load_params(out, record))
    return model.eval(), data

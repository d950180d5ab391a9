"""Run records: config hashing, the record's fixed keys, and tidy rows for analysis.

A record (the document ``threefactors train --json`` prints and a grid stores per run) has
the keys of :data:`RECORD_KEYS`. Its top-level metrics are read at the first epoch whose
train accuracy reaches the stop threshold (or at the last epoch when it never does);
``final`` holds the end-of-run values. A diverged run has ``diverged: true`` and the step,
and its metrics are ``null`` rather than NaN.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from threefactors.errors import shorten
from threefactors.jsonio import to_jsonable
from threefactors.saved import check, require_fields
from threefactors.theory.setting import SGDSetting

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
CURVATURE = ("lambda_max", "hessian_trace", "grad_noise_trace")
RECORD_KEYS = (
    "config",
    *METRICS,
    *CURVATURE,
    "diverged",
    "history",
    "seconds",
    "reached_threshold",
    "final",
)
# Keys that vary between identical runs (wall time, host, date, how many runs shared its
# ensemble — an execution detail like the thread count), and the digest of the parameters'
# bits (a check of the params file, not a result): not part of the science.
VOLATILE = frozenset(
    {
        "seconds",
        "measure_seconds",
        "provenance",
        "time_utc",
        "host",
        "ensemble_size",
        "params_sha256",
    }
)


def config_dict(config: Any) -> dict[str, Any]:
    """A JSON-able dict of a dataclass config (tuples become lists)."""
    return to_jsonable(dataclasses.asdict(config))


def config_hash(config: Any) -> str:
    """sha256 (first 16 hex digits) of the config's canonical JSON: the run's identity."""
    return _hash(config_dict(config))


def _hash(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(v is None or _number(v) for v in value)


#: The type of each field a measurement (a history entry, ``final``, a threshold's entry,
#: the record's top level) may hold; None is allowed for each (not measured, or diverged).
#: A history entry's epoch is fractional for measurements within an epoch.
FIELD_TYPES: dict[str, Callable[[Any], bool]] = {
    **dict.fromkeys(("epoch", "lr", "batch", "eta_over_s", "seconds", "measure_seconds"), _number),
    **dict.fromkeys(("steps", "n_matvecs", "n_examples", "n_train", "n_test"), _count),
    **dict.fromkeys(("ensemble_size", "diverged_step"), _count),
    **dict.fromkeys((*METRICS, *CURVATURE), _number),
    **dict.fromkeys(("condition_top_k", "hessian_trace_stderr", "grad_norm_sq"), _number),
    **dict.fromkeys(("noise_scale", "noise_top_k_fraction"), _number),
    **dict.fromkeys(("validation_loss", "validation_accuracy"), _number),
    **dict.fromkeys(("train_accuracy_corrupted", "train_accuracy_clean"), _number),
    **dict.fromkeys(("top_eigenvalues", "eigen_residuals"), _numbers),
    **dict.fromkeys(("mode", "params_sha256"), lambda value: isinstance(value, str)),
}


def _check_fields(entry: Any, what: str) -> None:
    """Raise :class:`~threefactors.saved.Invalid` unless ``entry`` is an object whose fields
    of :data:`FIELD_TYPES` have their types (or are None)."""
    check(isinstance(entry, dict), f"{what} is not an object")
    for name, valid in FIELD_TYPES.items():
        value = entry.get(name)
        check(value is None or valid(value), f"{what} {name}={shorten(value)} is not valid")


def _check_measurements(record: dict[str, Any]) -> None:
    """Every measurement in ``record`` has the types of :data:`FIELD_TYPES`; the epoch of
    the record's summary is a whole number (the epoch the metrics were read at)."""
    _check_fields(record, "record")
    check(record["epoch"] is None or _count(record["epoch"]), "epoch is not a whole number")
    check(isinstance(record["history"], list), "history is not a list")
    for i, entry in enumerate(record["history"]):
        _check_fields(entry, f"history[{i}]")
        check(_number(entry.get("epoch")), f"history[{i}] has no epoch")
    thresholds = record.get("thresholds") or {}
    check(isinstance(thresholds, dict), "thresholds is not an object")
    named = {f"thresholds[{k}]": v for k, v in thresholds.items()}
    for what, entry in {
        **named,
        "final": record["final"],
        "best_validation": record.get("best_validation"),
    }.items():
        if entry is not None:
            _check_fields(entry, what)


def check_record(record: Any, key: str) -> dict[str, Any]:
    """``record`` itself if it is a whole run record of config hash ``key`` written by this
    version of threefactors; else :class:`~threefactors.saved.Invalid` saying what is wrong.

    The hash is recomputed from the record's own config, so a record copied under another
    config's name is caught, not trusted.
    """
    from threefactors.provenance import VERSION as __version__

    require_fields(record, ("config_hash", *RECORD_KEYS, "n_params", "provenance"), "record")
    check(record["config_hash"] == key, f"config_hash {record['config_hash']!r} ≠ file name")
    check(isinstance(record["config"], dict), "config is not an object")
    own = _hash(record["config"])
    check(own == key, f"its config hashes to {own}, not to its file name")
    versions = (record["provenance"] or {}).get("versions") or {}
    version = versions.get("threefactors")
    check(version == __version__, f"written by threefactors {version}, this is {__version__}")
    check(isinstance(record["diverged"], bool), "diverged is not true/false")
    check(isinstance(record["reached_threshold"], bool), "reached_threshold is not true/false")
    check(_count(record["n_params"]) and record["n_params"] > 0, "n_params is not > 0")
    _check_measurements(record)
    return record


def strip_volatile(obj: Any) -> Any:
    """``obj`` without wall times and provenance, to compare the science of two records."""
    if isinstance(obj, dict):
        return {k: strip_volatile(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [strip_volatile(v) for v in obj]
    return obj


def tidy(record: dict[str, Any], where: str = "threshold") -> dict[str, Any]:
    """One flat row: the config fields, η/S, and the metrics at ``threshold`` or ``final``."""
    config = record["config"]
    source = record if where == "threshold" else (record.get("final") or {})
    row = {k: v for k, v in config.items() if not isinstance(v, list | dict)}
    row["eta_over_s"] = SGDSetting(config["lr"], config["batch"]).eta_over_s
    row["diverged"] = record["diverged"]
    row["reached_threshold"] = record["reached_threshold"]
    for key in ("epoch", *METRICS, *CURVATURE, "noise_scale", "train_accuracy_corrupted"):
        row[key] = source.get(key)
    return row

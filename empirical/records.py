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
from typing import Any

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
# ensemble — an execution detail like the thread count): not part of the science.
VOLATILE = frozenset(
    {"seconds", "measure_seconds", "provenance", "time_utc", "host", "ensemble_size"}
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
    check(isinstance(record["history"], list), "history is not a list")
    check(isinstance(record["n_params"], int) and record["n_params"] > 0, "n_params is not > 0")
    for name in (*METRICS, *CURVATURE):
        value = record[name]
        check(value is None or isinstance(value, int | float), f"{name} is not a number")
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

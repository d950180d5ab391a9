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
    "ensemble_size",  # K, the runs trained together with this one (1: alone)
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
    text = json.dumps(config_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
    row["eta_over_s"] = config["lr"] / config["batch"]
    row["diverged"] = record["diverged"]
    row["reached_threshold"] = record["reached_threshold"]
    for key in ("epoch", *METRICS, *CURVATURE, "noise_scale", "train_accuracy_corrupted"):
        row[key] = source.get(key)
    return row

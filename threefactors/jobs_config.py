"""The ``--jobs-config`` YAML file of ``--executor slurm``: read within bounds, checked key by key.

The file is data (a safe YAML loader) and its reading is bounded before any work: at most
:data:`MAX_BYTES` bytes of UTF-8 text from a regular file, no aliases (``*name``: an
8-level alias bomb of 475 bytes expands to gigabytes), at most :data:`MAX_DEPTH` levels of
nesting and :data:`MAX_NODES` values. Each setting has a type and a range (``jobs`` at most
:data:`MAX_JOBS`), checked before dask-jobqueue sees it; an error names the setting and
prints its value cut short (:func:`threefactors.errors.shorten`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from threefactors import options
from threefactors.errors import InputError, require
from threefactors.saved import read_bounded

MAX_BYTES = 64 * 2**10
MAX_DEPTH = 4
MAX_NODES = 2000
MAX_JOBS = 10_000
MAX_MEMORY = 2**50
MAX_CORES = 4096
MAX_TEXT = 1000
MAX_ITEMS = 100

Check = Callable[[str, Any], None]


def _kind(value: Any, kind: type | tuple[type, ...], name: str, key: str) -> None:
    require(
        isinstance(value, kind) and not isinstance(value, bool),
        f"jobs-config {key}",
        value,
        f"expected {name}",
    )


def _integer(low: int, high: int) -> Check:
    def check(key: str, value: Any) -> None:
        _kind(value, int, "int", key)
        require(low <= value <= high, f"jobs-config {key}", value, f"must be in {low}..{high}")

    return check


def _seconds(key: str, value: Any) -> None:
    _kind(value, (int, float), "a number", key)
    require(
        math.isfinite(value) and 0 < value <= 86400,
        f"jobs-config {key}",
        value,
        "must be a number of seconds in (0, 86400]",
    )


def _text(key: str, value: Any) -> None:
    _kind(value, str, "str", key)
    require(len(value) <= MAX_TEXT, f"jobs-config {key}", value, f"longer than {MAX_TEXT}")


def _size(key: str, value: Any) -> None:
    _text(key, value)
    try:
        nbytes = options.memory(value)
    except argparse.ArgumentTypeError as err:
        raise InputError(f"jobs-config {key}", value, str(err).split(", got")[0]) from None
    require(nbytes <= MAX_MEMORY, f"jobs-config {key}", value, "more than 1 PiB")


def _texts(key: str, value: Any) -> None:
    _kind(value, list, "list", key)
    require(len(value) <= MAX_ITEMS, f"jobs-config {key}", value, f"over {MAX_ITEMS} items")
    for item in value:
        _text(key, item)


def _optional_text(key: str, value: Any) -> None:
    if value is not None:
        _text(key, value)


#: The keys ``scheduler_options`` may hold (arguments of Dask's ``Scheduler``).
SCHEDULER_OPTIONS: dict[str, Check] = {
    "port": _integer(0, 65535),
    "host": _text,
    "interface": _text,
    "protocol": _text,
    "dashboard_address": _optional_text,
}


def _settings(table: dict[str, Check], where: str) -> Check:
    def check(key: str, value: Any) -> None:
        _kind(value, dict, "a mapping", key)
        for name, item in value.items():
            require(
                name in table,
                where,
                name,
                f"unknown setting{' in ' + key if key else ''}; known: {', '.join(table)}",
            )
            table[name](f"{key} {name}" if key else name, item)

    return check


# The keys a --jobs-config YAML file may hold, and their checks (dask-jobqueue's SLURMCluster
# arguments, plus ``jobs``: how many batch jobs to start).
JOBS_CONFIG_KEYS: dict[str, Check] = {
    "jobs": _integer(1, MAX_JOBS),
    "cores": _integer(1, MAX_CORES),
    "memory": _size,
    "processes": _integer(1, MAX_CORES),
    "queue": _text,
    "account": _text,
    "walltime": _text,
    "job_cpu": _integer(1, MAX_CORES),
    "job_mem": _size,
    "interface": _text,
    "local_directory": _text,
    "log_directory": _text,
    "python": _text,
    "death_timeout": _seconds,
    "job_extra_directives": _texts,
    "job_script_prologue": _texts,
    "worker_extra_args": _texts,
    "scheduler_options": _settings(SCHEDULER_OPTIONS, "jobs-config scheduler_options"),
}
JOBS_CONFIG_REQUIRED = ("jobs", "cores", "memory")


class _Refused(Exception):
    """The YAML document is over a bound."""


def _bounded_loader(text: str) -> Any:
    """A YAML safe loader of ``text`` that refuses aliases, deep nesting and many values."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0
        nodes = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _Refused("YAML aliases (*name) are not accepted")
            self.depth += 1
            self.nodes += 1
            if self.depth > MAX_DEPTH or self.nodes > MAX_NODES:
                raise _Refused(f"over {MAX_DEPTH} levels of nesting or {MAX_NODES} values")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader(text)


def read_yaml(path: str | Path) -> Any:
    """The YAML document in ``path``, within the bounds of the module docstring."""
    import yaml

    raw = read_bounded(path, MAX_BYTES, "jobs-config")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("jobs-config", str(path), "not UTF-8 text") from None
    loader = _bounded_loader(text)
    try:
        return loader.get_single_data()
    except _Refused as err:
        raise InputError("jobs-config", str(path), str(err)) from None
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise InputError("jobs-config", str(path), f"not valid YAML{line}") from None
    except ValueError as err:  # e.g. an integer over Python's 4300-digit conversion limit
        reason = str(err).split(":")[0]  # the first clause: Python's message runs on
        raise InputError("jobs-config", str(path), f"not valid YAML: {reason}") from None
    finally:
        loader.dispose()


def load_jobs_config(path: str | Path) -> dict[str, Any]:
    """The SLURMCluster settings in YAML file ``path``, checked key by key.

    Only the keys of :data:`JOBS_CONFIG_KEYS` are accepted, each with its type and range;
    ``jobs``, ``cores`` and ``memory`` are required.
    """
    data = read_yaml(path)
    require(isinstance(data, dict), "jobs-config", str(path), "expected a mapping of settings")
    _settings(JOBS_CONFIG_KEYS, "jobs-config")("", data)
    for key in JOBS_CONFIG_REQUIRED:
        require(key in data, "jobs-config", str(path), f"missing required setting {key!r}")
    return data

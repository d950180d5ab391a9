"""JSON output: numpy/sympy values to plain JSON, and crash-safe atomic writes."""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def to_jsonable(obj: Any) -> Any:
    """Convert numpy arrays/scalars, dataclasses, tuples and sympy numbers to JSON types.

    Non-finite floats become ``None`` (JSON has no NaN); callers report divergence
    explicitly instead of relying on NaN.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str):  # numpy array / scalar, torch
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool) or obj is None or isinstance(obj, str | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    try:  # sympy numbers and anything else float-like
        value = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    return value if math.isfinite(value) else None


def dumps(obj: Any, indent: int | None = 2) -> str:
    """One JSON document."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


Content = str | bytes | Callable[[BinaryIO], None]


#: The process's umask, read once at import (``os.umask`` can only be read by setting it):
#: files written here get the mode a plain ``open(path, "w")`` would give them.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


#: A temporary file of another writer is litter only once its writer is gone: on this host,
#: its process has exited; on another host (a shared folder), it was not modified for this
#: many seconds (a live writer's file changes within seconds).
STALE_SECONDS = 3600.0


def _writer() -> str:
    """``<pid>@<host>``: the writer named in its temporary files' names."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"
    return f"{os.getpid()}@{host}"


def temporary_prefix(path: Path) -> str:
    """The name start of this process's temporary files for ``path``:
    ``.<name>.<pid>@<host>.`` (then a random part and ``.tmp``)."""
    return f".{path.name}.{_writer()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _is_stale(tmp: Path, path: Path, me: str) -> bool:
    """True when ``tmp``, a temporary file for ``path``, is a dead writer's (see
    :data:`STALE_SECONDS`); never for a file of this process."""
    writer = tmp.name.removeprefix(f".{path.name}.").rpartition(".")[0].rpartition(".")[0]
    pid, _, host = writer.partition("@")
    here = me.partition("@")[2]
    if host == here and pid.isdigit():
        return writer != me and not _alive(int(pid))
    try:
        return time.time() - tmp.stat().st_mtime > STALE_SECONDS
    except FileNotFoundError:
        return False


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files for ``path`` that a killed writer left behind; the removed.

    Only a dead writer's files go: a writer that is still running (another process writing
    the same file, e.g. a second grid on the same folder) keeps its own (:func:`_is_stale`).
    """
    path, me = Path(path), _writer()
    removed = []
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        if _is_stale(tmp, path, me):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _fsynced_temporary(path: Path, content: Content) -> str:
    """A temporary file next to ``path`` holding ``content``, flushed to disk; its name.

    ``content``: text (written as UTF-8), bytes, or a writer called with the open binary file
    (e.g. ``lambda f: torch.save(state, f)``). A writer that raises leaves no temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temporary_prefix(path), suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600: a report others cannot read
        with os.fdopen(fd, "wb") as handle:
            if callable(content):
                content(handle)
            else:
                handle.write(content.encode() if isinstance(content, str) else content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: str | os.PathLike[str], content: Content) -> None:
    """Write ``content`` to ``path`` so that a reader sees the old file or the whole new one.

    ``content``: text, bytes or a writer (see :func:`_fsynced_temporary`): the atomic-write
    helper of the package (with :func:`write_once`). Write to a temporary file in the same
    folder, fsync, then ``os.replace`` (atomic on POSIX): a process killed mid-write never
    leaves a truncated file, and a writer that raises leaves the old file and no temporary one.
    """
    tmp = _fsynced_temporary(Path(path), content)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_once(path: str | os.PathLike[str], content: Content) -> bool:
    """Create ``path`` holding ``content`` unless it exists; True if this call created it.

    The content goes to a fsynced temporary file that is then hard-linked to ``path``: the
    link fails if ``path`` exists, so of two writers of the same record (a task retried after
    its worker was presumed dead) exactly one succeeds and the other changes nothing, and a
    reader never sees a partial file. Where hard links are not supported the temporary file
    is renamed over ``path`` instead (still atomic, last writer wins).
    """
    tmp = _fsynced_temporary(Path(path), content)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return True

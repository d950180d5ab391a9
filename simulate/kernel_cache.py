"""Where compiled kernels are cached on disk, and whether a folder is safe for it.

numba's file cache *unpickles* its index files (``*.nbi``): whoever can write into the
cache folder can run code in the next process that simulates. So a folder is used only when
it is this user's and nobody else's: owned by the user, writable by neither group nor
others, under folders that only their owner or root can change (a sticky folder such as
/tmp is fine). The generated kernels live in ``$THREEFACTORS_KERNEL_DIR`` or, by default,
``$XDG_CACHE_HOME/threefactors/kernels`` (``~/.cache/threefactors/kernels``), created with
mode 0700; numba keeps its index next to them (``__pycache__``) or under
``$NUMBA_CACHE_DIR``, which is held to the same test. A folder that fails, or has less
than :data:`MIN_FREE_BYTES` free, is not used: one warning line on stderr, and kernels are
compiled in memory for this process only. A home that cannot be written falls back to
``<tmp>/threefactors-kernels-<uid>``, held to the same test. Only the standard library is
imported here.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

#: Below this much free space a cache folder is not used (a kernel and its index: ~1 MiB).
MIN_FREE_BYTES = 64 * 2**20

_WARNED: set[str] = set()


def folder_problem(path: Path) -> str | None:
    """Why ``path`` is unsafe for files that will be unpickled (None: it is safe)."""
    try:
        info = path.stat()
    except OSError as err:
        return f"cannot read it ({err.strerror})"
    user = os.geteuid()
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder"
    if info.st_uid != user:
        return f"owned by uid {info.st_uid}, not by this user (uid {user})"
    if info.st_mode & 0o022:
        return f"writable by group or others (mode {info.st_mode & 0o777:o})"
    for parent in {*path.absolute().parents, *path.resolve().parents}:
        info = parent.stat()
        if info.st_uid not in (0, user):
            return f"{parent} is owned by uid {info.st_uid}"
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            return f"{parent} is writable by group or others (mode {info.st_mode & 0o777:o})"
    return None


def _make_private(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (existing ones are kept)."""
    missing = []
    while not path.exists() and not path.is_symlink():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)


def warn_no_cache(path: Path, reason: str) -> None:
    """One warning line on stderr (once per folder and reason): no disk cache, and why."""
    message = f"{path}: {reason}"
    if message not in _WARNED:
        _WARNED.add(message)
        print(
            f"threefactors: warning: kernel cache {message}; compiling without a disk cache",
            file=sys.stderr,
            flush=True,
        )


def _problem(path: Path) -> str | None:
    """Create ``path`` privately if missing; why it cannot hold the cache (None: it can)."""
    try:
        _make_private(path)
        problem = folder_problem(path)
        if problem is None and shutil.disk_usage(path).free < MIN_FREE_BYTES:
            problem = f"less than {MIN_FREE_BYTES // 2**20} MiB free"
    except OSError as err:
        problem = f"cannot create it ({err.strerror})"
    return problem


def usable(path: Path) -> bool:
    """True when ``path`` (created privately if missing) is safe and has room, else warn
    once (the folder and the reason) and return False."""
    problem = _problem(path)
    if problem is not None:
        warn_no_cache(path, problem)
    return problem is None


def _candidates() -> list[Path]:
    """$THREEFACTORS_KERNEL_DIR alone when set; else the XDG cache folder, then a per-user
    folder under the temporary directory (for a home that cannot be written)."""
    given = os.environ.get("THREEFACTORS_KERNEL_DIR")
    if given:
        return [Path(given).expanduser()]
    base = os.environ.get("XDG_CACHE_HOME", "")
    base = base if os.path.isabs(base) else "~/.cache"
    temporary = Path(tempfile.gettempdir(), f"threefactors-kernels-{os.geteuid()}")
    return [Path(base, "threefactors", "kernels").expanduser(), temporary]


def kernel_dir() -> Path | None:
    """The first candidate folder (:func:`_candidates`) that is safe and has room, with its
    ``__pycache__``; one that cannot be created is passed over, one that exists but fails
    stops the search: None, one warning line, compile without a disk cache."""
    guard_numba_cache_dir()
    candidates = _candidates()
    for path in candidates:
        index = path / "__pycache__"
        problem = _problem(path) or (_problem(index) if index.exists() else None)
        if problem is None:
            return path
        if not problem.startswith("cannot create") or path == candidates[-1]:
            warn_no_cache(path, problem)
            return None
    return None


def guard_numba_cache_dir() -> None:
    """Check ``$NUMBA_CACHE_DIR`` (where numba keeps the index of every cached function,
    when set); an unsafe one is dropped from the environment and numba's config, so numba
    uses the folder next to each source file instead (for kernels: :func:`kernel_dir`).
    Called when :mod:`threefactors.simulate` is imported, before any function is cached."""
    text = os.environ.get("NUMBA_CACHE_DIR")
    if text and not usable(Path(text).expanduser()):
        os.environ.pop("NUMBA_CACHE_DIR", None)
        numba = sys.modules.get("numba")
        if numba is not None:
            numba.core.config.CACHE_DIR = ""

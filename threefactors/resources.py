"""The memory budget: checked before every allocation whose size a user option decides.

The budget is :data:`FRACTION` of the memory available now (``MemAvailable`` in
``/proc/meminfo``: free memory plus the page cache the kernel can drop), not a fixed size,
so a run refuses up front instead of being killed half-way or swapping the machine to a
halt. ``threefactors … --memory-budget 2G`` (or :func:`set_memory_budget`, or the
environment variable ``THREEFACTORS_MEMORY_BUDGET`` in bytes) overrides it.
"""

from __future__ import annotations

import os
from typing import Any

from threefactors.errors import require

#: Share of the currently available memory one command may allocate.
FRACTION = 0.5
#: Environment variable holding an explicit budget in bytes (inherited by grid workers).
ENV = "THREEFACTORS_MEMORY_BUDGET"


def available_memory() -> int:
    """Bytes the kernel can hand out now: ``MemAvailable`` from /proc/meminfo (Linux), else
    free physical pages × page size (POSIX sysconf)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def set_memory_budget(nbytes: int | None) -> None:
    """Use ``nbytes`` as the budget from now on, in this process and the worker processes
    it starts (through :data:`ENV`); None: back to FRACTION × available."""
    require(nbytes is None or nbytes > 0, "memory-budget", nbytes, "must be > 0 bytes")
    if nbytes is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = str(int(nbytes))


def _override() -> int | None:
    text = os.environ.get(ENV)
    if text is None:
        return None
    require(text.isdigit() and int(text) > 0, ENV, text, "must be a number of bytes > 0")
    return int(text)


def memory_budget() -> int:
    """The budget in bytes: the override, else FRACTION × :func:`available_memory`."""
    override = _override()
    return override if override is not None else int(FRACTION * available_memory())


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes / 2**10:.3g} KiB"


def check_memory(need: float, parameter: str, value: Any) -> None:
    """Refuse (InputError naming ``parameter``) an allocation of ``need`` bytes over budget.

    Call it before allocating, with the option whose value decides the size.
    """
    budget = memory_budget()
    source = "--memory-budget" if _override() is not None else f"{FRACTION:g} × memory available"
    require(
        need <= budget,
        parameter,
        value,
        f"needs {_size(need)} of memory, more than the budget of {_size(budget)} ({source})",
    )

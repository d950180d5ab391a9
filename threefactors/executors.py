"""Where a list of independent tasks runs: here, in local processes, or on a Dask cluster.

A grid of network runs, a simulation sweep and ``reproduce`` all hand :func:`run_tasks` a
function and a list of tasks (one run, one setting, or one group of configs each). The task
writes its own result where it belongs (a grid's record, written atomically by the worker);
the client only collects what each task returns and reports progress.

Executors (:class:`ExecutorSpec`):

- ``local``: ``workers`` = 1 runs the tasks in this process; more runs them in that many
  spawned processes on this machine (one thread each).
- ``dask``: with ``scheduler`` (``tcp://HOST:PORT``) on any running Dask cluster
  (``dask scheduler`` + ``dask worker``); without, on a ``LocalCluster`` of ``workers``
  single-threaded worker processes that the command starts and closes.
- ``slurm``: a dask-jobqueue ``SLURMCluster`` built from a YAML file
  (:func:`threefactors.jobs_config.load_jobs_config`), scaled to its ``jobs`` batch jobs;
  refused at once on a machine without SLURM's ``sbatch``.

A task whose worker dies is rescheduled by the Dask scheduler (a task is given up after it
was running on ``distributed.scheduler.allowed-failures`` + 1 dead workers, default 4); an
exception in a task is a failure of that task only, reported with the task's label.
Dask is imported only when a Dask executor is used, never at CLI start-up.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from threefactors import options
from threefactors.errors import InputError, require, shorten
from threefactors.jobs_config import load_jobs_config
from threefactors.progress import Progress

EXECUTORS = ("local", "dask", "slurm")
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# inproc:// is left out: an in-process address cannot be reached from another process.
SCHEDULER_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/:]+(:\d{1,5})?$")

# A LocalCluster worker is one thread: numba's parallel loops too (Dask's nanny already
# sets OMP/MKL/OpenBLAS to one thread), so N workers use N cores, not N × cores.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1"}


@dataclasses.dataclass(frozen=True)
class ExecutorSpec:
    """Which executor runs the tasks (see the module docstring); validated on creation."""

    kind: str = "local"
    workers: int = 1
    scheduler: str | None = None
    jobs_config: str | None = None
    connect_timeout: float = 10.0

    def __post_init__(self) -> None:
        require(self.kind in EXECUTORS, "executor", self.kind, f"choose {', '.join(EXECUTORS)}")
        require(self.workers >= 1, "workers", self.workers, "must be ≥ 1")
        require(self.connect_timeout > 0, "connect-timeout", self.connect_timeout, "must be > 0")
        if self.scheduler is not None:
            require(self.kind == "dask", "scheduler", self.scheduler, "needs --executor dask")
            require(
                bool(SCHEDULER_ADDRESS.match(self.scheduler)),
                "scheduler",
                self.scheduler,
                "expected a Dask address such as tcp://HOST:PORT",
            )
        if self.kind == "slurm":
            require(self.jobs_config is not None, "jobs-config", None, "--executor slurm needs it")
            load_jobs_config(str(self.jobs_config))  # a bad file is refused before any run
            require(
                shutil.which("sbatch") is not None,
                "executor",
                self.kind,
                "SLURM's sbatch is not on PATH: run it where SLURM jobs can be submitted",
            )
        else:
            require(self.jobs_config is None, "jobs-config", self.jobs_config, "only for slurm")


LOCAL = ExecutorSpec()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What task ``index`` returned (``value``), or why it failed (``error``, one line)."""

    index: int
    label: str
    value: Any = None
    error: str | None = None


def slurm_cluster(settings: dict[str, Any]) -> Any:
    """A dask-jobqueue ``SLURMCluster`` with ``settings`` (:func:`load_jobs_config`), not
    yet scaled: ``cluster.job_script()`` shows the batch script each job will run."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(**{k: v for k, v in settings.items() if k != "jobs"})


def identify_scheduler(address: str, timeout: float) -> None:
    """Ask ``address`` who it is, all within ``timeout`` seconds; InputError (one line naming
    the scheduler) unless a Dask scheduler answers.

    ``distributed.Client``'s own timeout does not cover a port that accepts the connection
    and then stays silent (it waits forever), and a port that sends something else makes it
    raise whatever the bytes provoke: this probe turns every such case into one line.
    """
    import asyncio

    from distributed.comm import connect
    from distributed.security import Security

    settings = Security().get_connection_args("client")  # TLS from Dask's config, as Client

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout, **settings)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout))
    except (TimeoutError, OSError):
        reason = f"no Dask scheduler answered within {timeout:g} s"
        raise InputError("scheduler", address, reason) from None
    except Exception as err:  # whatever the other end's bytes provoked
        raise InputError("scheduler", address, f"not a Dask scheduler ({_one_line(err)})") from None
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise InputError(
            "scheduler", address, f"not a Dask scheduler (it answered {shorten(reply)})"
        )


@contextmanager
def dask_client(spec: ExecutorSpec, max_workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``spec``; a cluster it started is closed on exit.

    A ``--scheduler`` is identified first (:func:`identify_scheduler`); a LocalCluster gets
    ``spec.workers`` processes, at most ``max_workers`` (the number of tasks)."""
    max_workers = spec.workers if max_workers is None else max(1, max_workers)
    from distributed import Client, LocalCluster

    if spec.kind == "dask" and spec.scheduler is not None:
        identify_scheduler(spec.scheduler, spec.connect_timeout)
        try:
            client = Client(spec.scheduler, timeout=spec.connect_timeout)
        except (OSError, TimeoutError):
            raise InputError(
                "scheduler",
                spec.scheduler,
                f"no Dask scheduler answered within {spec.connect_timeout:g} s",
            ) from None
        with client:
            yield client
        return
    if spec.kind == "dask":
        cluster = LocalCluster(
            n_workers=min(spec.workers, max_workers),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
            env=WORKER_ENV,
        )
    else:
        settings = load_jobs_config(str(spec.jobs_config))
        cluster = slurm_cluster(settings)
        cluster.scale(jobs=settings["jobs"])
    with cluster, Client(cluster) as client:
        yield client


def check_scheduler(spec: ExecutorSpec) -> None:
    """Connect to ``spec``'s scheduler and disconnect: a command that reaches its grids only
    after minutes of other work (``reproduce``) refuses an unanswering address at once."""
    if spec.scheduler is not None:
        with dask_client(spec):
            pass


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    executor: ExecutorSpec = LOCAL,
    *,
    labels: Sequence[str] | None = None,
    on_done: Callable[[int, int, Outcome], None] | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Run ``fn(task)`` for every task on ``executor``; the outcomes in the order of ``tasks``.

    ``fn`` must be a module-level function and the tasks picklable (they travel to worker
    processes). ``on_done(done, total, outcome)`` is called on the client as each task ends;
    ``progress`` prints done/total with an ETA, and every failure with its label and error.
    An :class:`InputError` raised by a task is bad input, not a task failure: it propagates.
    """
    labels = list(labels) if labels is not None else [str(i) for i in range(len(tasks))]
    require(len(labels) == len(tasks), "labels", len(labels), f"expected {len(tasks)}")
    outcomes: dict[int, Outcome] = {}

    def finish(outcome: Outcome) -> None:
        outcomes[outcome.index] = outcome
        if progress is not None:
            note = f"FAILED {outcome.label}: {outcome.error}" if outcome.error else outcome.label
            progress.update(len(outcomes), note, force=outcome.error is not None)
        if on_done is not None:
            on_done(len(outcomes), len(tasks), outcome)

    if executor.kind == "local" and (executor.workers == 1 or len(tasks) <= 1):
        for i, task in enumerate(tasks):
            finish(_call(fn, task, i, labels[i]))
    elif executor.kind == "local":
        context = multiprocessing.get_context("spawn")
        workers = min(executor.workers, len(tasks))
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=tie_to_parent, initargs=(os.getpid(),)
        ) as pool:
            try:
                futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
                for future in concurrent.futures.as_completed(futures):
                    finish(_result(future, futures[future], labels[futures[future]]))
            except BaseException:  # Ctrl-C or bad input: stop the workers now
                _stop_workers(pool)  # finished results are saved; runs resume from checkpoints
                raise
    else:
        _run_on_dask(fn, tasks, labels, executor, finish)
    return [outcomes[i] for i in range(len(tasks))]


def tie_to_parent(parent: int) -> None:
    """Worker set-up: die with the parent process, leave Ctrl-C to the parent.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill the worker when its
    parent dies, even by SIGKILL; elsewhere a daemon thread polls ``os.getppid()``. A
    parent that died before this ran is caught by comparing ``os.getppid()`` with
    ``parent``. SIGINT is ignored: the parent stops the workers (:func:`_stop_workers`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel queued runs and terminate the running ones (their checkpoints stay)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # shutdown clears it
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()


def _call(fn: Callable[[Any], Any], task: Any, index: int, label: str) -> Outcome:
    try:
        return Outcome(index, label, value=fn(task))
    except InputError:
        raise
    except Exception as err:
        return Outcome(index, label, error=_one_line(err))


def _result(future: Any, index: int, label: str) -> Outcome:
    """The outcome of a finished concurrent.futures or Dask future."""
    try:
        return Outcome(index, label, value=future.result())
    except InputError:
        raise
    except Exception as err:
        return Outcome(index, label, error=_one_line(err))


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[-1] if text else ''}".rstrip(": ")


def _run_on_dask(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    labels: Sequence[str],
    executor: ExecutorSpec,
    finish: Callable[[Outcome], None],
) -> None:
    from distributed import as_completed

    batch = uuid.uuid4().hex[:8]
    with dask_client(executor, max_workers=len(tasks)) as client:
        futures = {
            client.submit(fn, task, key=f"threefactors-{labels[i]}-{batch}-{i}", pure=False): i
            for i, task in enumerate(tasks)
        }
        for future in as_completed(futures):
            i = futures[future]
            finish(_result(future, i, labels[i]))


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def add_arguments(parser: argparse.ArgumentParser, default_workers: int = 1) -> None:
    """``--executor``, ``--workers`` (alias ``--jobs``; ``default_workers`` when not given),
    ``--scheduler``, ``--jobs-config``, ``--connect-timeout``."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local (this machine, default), dask (a Dask cluster) or slurm (dask-jobqueue)",
    )
    parser.add_argument(
        "--workers",
        type=options.count,
        default=default_workers,
        help="worker processes: local, or a LocalCluster started for --executor dask "
        f"(default {default_workers})",
    )
    parser.add_argument(  # the name before executors existed: kept, same meaning
        "--jobs",
        dest="workers",
        type=options.count,
        default=default_workers,
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="a running Dask scheduler (with --executor dask)",
    )
    parser.add_argument(
        "--jobs-config",
        default=None,
        metavar="FILE",
        help="YAML settings of the SLURMCluster (with --executor slurm)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=options.positive,
        default=10.0,
        metavar="SECONDS",
        help="give up on a --scheduler that does not answer within this time",
    )


def from_args(args: argparse.Namespace) -> ExecutorSpec:
    """The executor named by the arguments of :func:`add_arguments`."""
    return ExecutorSpec(
        kind=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        jobs_config=args.jobs_config,
        connect_timeout=args.connect_timeout,
    )

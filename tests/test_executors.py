"""Executors: grids and sweeps on Dask give the local executor's records; a worker killed
mid-grid, a client killed mid-grid and a scheduler that does not answer are all survived or
reported in one line. Everything runs on 127.0.0.1 and is stopped by the test that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from threefactors.cli import main
from threefactors.empirical.records import config_hash, strip_volatile
from threefactors.empirical.train import TrainConfig
from threefactors.errors import InputError
from threefactors.executors import (
    ExecutorSpec,
    check_scheduler,
    load_jobs_config,
    run_tasks,
    slurm_cluster,
)
from threefactors.jsonio import write_once

# The quick ratio grid made CI-sized: (η, S) fixed at (0.1, 64) leaves the preset's three
# replicate seeds, and 60 epochs on 256 examples make each run last long enough (a second or
# more) to be killed mid-run.
GRID = ["grid", "--experiment", "ratio", "--quick", "--checkpoint-every", "0", "--json"]
SMALL = ["epochs=60", "stop_at_accuracy=1.0", "n_train=256", "n_test=200", "measure_size=128",
         "width=32", "lanczos_steps=8", "trace_probes=2", "batch=64", "lr=0.1"]  # fmt: skip
GRID += [arg for item in SMALL for arg in ("--set", item)]


def _grid(out: Path, *extra: str) -> list[str]:
    return [*GRID, "--out", str(out), *extra]


def _science(records: list[dict]) -> list[dict]:
    """The records without wall times, in the order of their config hashes."""
    return [strip_volatile(r) for r in sorted(records, key=lambda r: r["config_hash"])]


def _check_store(out: Path, expected: int) -> list[dict]:
    """Every record file parses, is named by its config's hash, and none is missing or extra;
    no temporary file is left behind."""
    files = sorted((out / "runs").glob("*.json"))
    assert len(files) == expected
    records = [json.loads(f.read_text()) for f in files]
    for path, record in zip(files, records, strict=True):
        config = TrainConfig(
            **{**record["config"], "thresholds": tuple(record["config"]["thresholds"])}
        )
        assert path.stem == record["config_hash"] == config_hash(config)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    return records


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[dict]:
    """The grid's records from the default (local, in-process) executor."""
    out = tmp_path_factory.mktemp("local")
    assert main(_grid(out)) == 0
    return _check_store(out, 3)


@pytest.fixture(scope="module")
def reference_single(tmp_path_factory) -> list[dict]:
    """The same grid run one config per task (``--no-ensemble``), locally. The kill tests
    use it: with one task per run, runs finish one after another, so there is a moment when
    one record is written and another run is still in progress (with ensembles the members
    of a task finish together and that moment may never come)."""
    out = tmp_path_factory.mktemp("local-single")
    assert main(_grid(out, "--no-ensemble")) == 0
    return _check_store(out, 3)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two single-threaded worker processes on 127.0.0.1."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as started:  # fmt: skip
        yield started


# Specs and configs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"kind": "mpi"}, "executor"),
        ({"workers": 0}, "workers"),
        ({"scheduler": "tcp://127.0.0.1:8786"}, "scheduler"),  # needs kind dask
        ({"kind": "dask", "scheduler": "127.0.0.1:8786"}, "scheduler"),  # no protocol
        ({"kind": "slurm"}, "jobs-config"),
        ({"jobs_config": "x.yaml"}, "jobs-config"),
        ({"kind": "dask", "connect_timeout": 0}, "connect-timeout"),
    ],
)
def test_bad_executor_specs_name_the_parameter(kwargs, parameter):
    with pytest.raises(InputError) as err:
        ExecutorSpec(**kwargs)
    assert err.value.parameter == parameter


JOBS = "jobs: 4\ncores: 8\nmemory: 32GB\n"
# Each level holds nine of the one before: 9**8 = 43 million strings when expanded.
BOMB = (
    "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9))
    + JOBS.replace("32GB", "*a8")
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (JOBS + "queue: [a, b]\n", "jobs-config queue=['a', 'b']: expected str"),
        (JOBS + "gpus: 2\n", "jobs-config='gpus': unknown setting"),
        ("cores: 8\nmemory: 32GB\n", "missing required setting 'jobs'"),
        (JOBS.replace("4", "0"), "jobs-config jobs=0: must be in 1..10000"),
        (JOBS.replace("8", "true"), "jobs-config cores=True: expected int"),
        ("jobs: [4\n", "not valid YAML (line 2)"),
        ("- 4\n", "expected a mapping"),
        # bounds: an 8-level alias bomb (475 bytes → 2.4 GB printed), a huge number of
        # jobs (hung growing 25 MB/s), deep nesting, a big or binary file, a 5000-digit int
        (BOMB, "YAML aliases (*name) are not accepted"),
        (JOBS.replace("4", str(10**38)), "jobs=100000000000000000000000000000000000000: must"),
        (JOBS + "job_extra_directives: " + "[" * 9 + "]" * 9, "levels of nesting"),
        (JOBS + "queue: '" + "q" * 70_000 + "'\n", "over the 65536 allowed"),
        (b"jobs: 4\xff\xfe\x00\x01", "not UTF-8 text"),
        (JOBS.replace("4", "9" * 5000), "not valid YAML: Exceeds the limit"),
        (JOBS.replace("32GB", "lots"), "jobs-config memory='lots': expected a size"),
        (JOBS.replace("32GB", "'" + "9" * 300 + "'"), "memory='9999999999999999999999999"),
        (JOBS + "death_timeout: .inf\n", "death_timeout=inf: must be a number of seconds"),
        (JOBS + "scheduler_options: {port: abc}\n", "scheduler_options port='abc': expected"),
        (JOBS + "scheduler_options: {port: 70000}\n", "port=70000: must be in 0..65535"),
        (JOBS + "scheduler_options: {evil: 1}\n", "unknown setting in scheduler_options"),
        (JOBS + "worker_extra_args: [1]\n", "worker_extra_args=1: expected str"),
    ],
)
def test_bad_jobs_configs_are_one_line_errors(tmp_path, capsys, text, message):
    """Refused before anything is built, in one short line (a value is cut short)."""
    path = tmp_path / "slurm.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="jobs-config"):
            load_jobs_config(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20  # the alias bomb grew to 2.4 GB
    argv = ["grid", "--experiment", "ratio", "--quick", "--out", str(tmp_path / "g")]
    assert main([*argv, "--executor", "slurm", "--jobs-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and len(err[0]) < 400
    assert not (tmp_path / "g").exists()


def test_slurm_without_sbatch_is_one_line(tmp_path, capsys, monkeypatch):
    """Without SLURM: 114 lines of tracebacks, then a hang; now one line, before any run."""
    path = tmp_path / "slurm.yaml"
    path.write_text(JOBS)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    argv = ["grid", "--experiment", "ratio", "--quick", "--out", str(tmp_path / "g")]
    assert main([*argv, "--executor", "slurm", "--jobs-config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "threefactors grid: error: executor='slurm': SLURM's sbatch is not on PATH: run it "
        "where SLURM jobs can be submitted"
    ]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_jobs_config_that_is_not_a_file_is_refused_without_reading(tmp_path, kind):
    """A FIFO hung the read, a link to /dev/zero read gigabytes."""
    path = tmp_path / "slurm.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        load_jobs_config(path)


def test_slurm_config_becomes_the_job_script(tmp_path):
    """The YAML's settings reach the batch script dask-jobqueue writes (no job is submitted)."""
    path = tmp_path / "slurm.yaml"
    path.write_text(
        JOBS + "queue: gpu\naccount: physics\nwalltime: '02:00:00'\nprocesses: 2\n"
        "job_extra_directives: ['--gres=gpu:1']\n"
        "scheduler_options: {host: 127.0.0.1, dashboard_address: null}\n"
    )
    settings = load_jobs_config(path)
    with slurm_cluster(settings) as cluster:
        script = cluster.job_script()
    for line in ("#SBATCH -p gpu", "#SBATCH -A physics", "#SBATCH -t 02:00:00",
                 "#SBATCH --gres=gpu:1", "#SBATCH --cpus-per-task=8", "--nworkers 2"):  # fmt: skip
        assert line in script


def test_a_second_writer_of_a_record_changes_nothing(tmp_path):
    path = tmp_path / "runs" / "abc.json"
    assert write_once(path, '{"seconds": 1}') is True
    assert write_once(path, '{"seconds": 2}') is False
    assert path.read_text() == '{"seconds": 1}'
    assert [p.name for p in path.parent.iterdir()] == ["abc.json"]


# Tasks ---------------------------------------------------------------------------------


def _square_or_fail(x: int) -> int:
    if x == 3:
        raise ArithmeticError("three is not allowed\n(second line)")
    return x * x


@pytest.mark.parametrize("where", ["in-process", "local processes", "dask"])
def test_outcomes_in_task_order_with_failures_labelled(where, cluster, capsys):
    from threefactors.progress import Progress

    executor = {
        "in-process": ExecutorSpec(),
        "local processes": ExecutorSpec(workers=2),
        "dask": ExecutorSpec("dask", scheduler=cluster.scheduler_address),
    }[where]
    seen = []
    outcomes = run_tasks(
        _square_or_fail,
        list(range(6)),
        executor,
        labels=[f"x={i}" for i in range(6)],
        on_done=lambda done, total, outcome: seen.append((done, total)),
        progress=Progress("squares", 6, every=60.0),
    )
    assert [o.value for o in outcomes] == [0, 1, 4, None, 16, 25]
    assert outcomes[3].label == "x=3" and outcomes[3].error == "ArithmeticError: (second line)"
    assert seen == [(i, 6) for i in range(1, 7)]
    err = capsys.readouterr().err
    assert "FAILED x=3: ArithmeticError" in err and "squares: 6/6" in err


def _bad_input(_: int) -> None:
    raise InputError("lr", -1, "must be > 0")


def test_bad_input_in_a_task_is_raised_not_listed():
    with pytest.raises(InputError, match="lr=-1"):
        run_tasks(_bad_input, [1])


# Grids on Dask -------------------------------------------------------------------------


def test_grid_on_a_two_worker_local_cluster_equals_the_local_grid(tmp_path, reference, capsys):
    assert main(_grid(tmp_path, "--executor", "dask", "--workers", "2")) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] == []
    assert _science(result["records"]) == _science(reference)
    assert _science(_check_store(tmp_path, 3)) == _science(reference)


def test_a_worker_killed_mid_grid_loses_nothing(tmp_path, reference_single, cluster):
    """SIGKILL to the worker process running a task: the nanny restarts it, the scheduler
    reruns the task (resuming from its checkpoint), and the store ends with one intact
    record per run, equal to the local executor's."""
    from distributed import Client

    killed: list[int] = []

    def kill_a_busy_worker() -> None:
        with Client(cluster.scheduler_address, timeout=20) as client:
            pids = client.run(os.getpid)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                busy = [w for w, keys in client.processing().items() if keys]
                started = list((tmp_path / "checkpoints").glob("*.pt"))
                if busy and started:
                    killed.append(pids[busy[0]])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    argv = _grid(
        tmp_path, "--no-ensemble", "--executor", "dask", "--scheduler", cluster.scheduler_address
    )
    try:
        code = main(argv)
    finally:
        killer.join()
    assert killed, "no worker was busy to be killed"
    assert code == 0
    assert _science(_check_store(tmp_path, 3)) == _science(reference_single)


def _children(pid: int) -> list:
    import psutil

    return psutil.Process(pid).children(recursive=True)


def test_a_killed_client_leaves_no_workers_and_the_rerun_resumes(
    tmp_path, reference_single, cluster
):
    """The command (with its own LocalCluster) is killed once a run is finished and another
    checkpointed; its worker processes go with it; the same grid run again completes with
    the local executor's records."""
    import psutil

    argv = [sys.executable, "-m", "threefactors", *_grid(tmp_path, "--no-ensemble",
            "--executor", "dask", "--workers", "2")]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid) or workers
            if list((tmp_path / "runs").glob("*.json")) and len(
                list((tmp_path / "checkpoints").glob("*.pt"))
            ):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the grid finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert len(workers) >= 2
    _, alive = psutil.wait_procs(workers, timeout=30)
    for leftover in alive:  # stop what the test started before failing
        leftover.kill()
    assert not alive, f"worker processes outlived their client: {[p.pid for p in alive]}"
    done_before = len(list((tmp_path / "runs").glob("*.json")))
    assert 1 <= done_before < 3

    argv = _grid(
        tmp_path, "--no-ensemble", "--executor", "dask", "--scheduler", cluster.scheduler_address
    )
    assert main(argv) == 0
    assert _science(_check_store(tmp_path, 3)) == _science(reference_single)


def _free_port() -> int:
    """A port on loopback that nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_one_error_line(tmp_path):
    port = _free_port()
    argv = [sys.executable, "-m", "threefactors", *_grid(tmp_path, "--executor", "dask"),
            "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2"]  # fmt: skip
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"scheduler='tcp://127.0.0.1:{port}'" in lines[0] and "within 2 s" in lines[0]
    assert time.monotonic() - start < 30


@contextlib.contextmanager
def _impostor(kind: str):
    """A plain socket server on 127.0.0.1 that is not Dask: ``silent`` accepts and says
    nothing, ``garbage`` answers with an HTTP page; its address, closed on exit."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # closed
                return
            accepted.append(conn)
            if kind == "garbage":
                with contextlib.suppress(OSError):
                    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"\xff" * 4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        server.close()
        for conn in accepted:
            conn.close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("kind", "protocol", "says"),
    [
        ("silent", "tcp", "no Dask scheduler answered within 1 s"),  # hung for ever
        ("garbage", "tcp", r"not a Dask scheduler \(MemoryError"),  # allocated 3 EiB
        ("silent", "tls", r"not a Dask scheduler \(TypeError: TLS expects"),  # traceback
        ("silent", "ws", "no Dask scheduler answered within 1 s"),
        ("garbage", "wss", "(not a|no) Dask scheduler"),  # TLS over garbage: either
    ],
)
def test_an_address_that_is_not_a_dask_scheduler_is_one_line_within_the_timeout(
    kind, protocol, says
):
    import distributed.comm  # noqa: F401  (imported before the clock starts)

    with _impostor(kind) as where:
        address = f"{protocol}://{where}"
        start = time.monotonic()
        with pytest.raises(InputError, match=says) as err:
            check_scheduler(ExecutorSpec("dask", scheduler=address, connect_timeout=1.0))
        assert time.monotonic() - start < 1.0 + 2.0  # the timeout, and slack for busy cores
        assert err.value.parameter == "scheduler"


def test_an_in_process_address_is_refused():
    """inproc://127.0.0.1 was a ValueError traceback: no other process can reach it."""
    with pytest.raises(InputError, match="expected a Dask address"):
        ExecutorSpec("dask", scheduler="inproc://127.0.0.1")


def _cluster_size(_: int) -> int:
    from distributed import get_client

    return len(get_client().scheduler_info()["workers"])


def test_a_local_cluster_starts_no_more_workers_than_tasks():
    """--workers 6 for 2 tasks started 6 processes; now 2."""
    outcomes = run_tasks(_cluster_size, [0, 1], ExecutorSpec("dask", workers=6))
    assert [o.value for o in outcomes] == [2, 2]


def test_reproduce_refuses_an_unanswering_scheduler_before_any_claim(tmp_path, capsys):
    port = _free_port()
    argv = ["reproduce", "--quick", "--out", str(tmp_path / "fig"), "--executor", "dask",
            "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "1"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"scheduler='tcp://127.0.0.1:{port}'" in err[0]
    assert not (tmp_path / "fig" / "claims").exists()


# Sweeps and the paper-scale data path on Dask ------------------------------------------


@pytest.mark.parametrize("where", ["local processes", "dask"])
def test_sweep_on_workers_equals_the_in_process_sweep(cluster, where):
    from threefactors.simulate.sweep import sweep
    from threefactors.theory.landscape import Landscape

    executor = {
        "local processes": ExecutorSpec(workers=2),
        "dask": ExecutorSpec("dask", scheduler=cluster.scheduler_address),
    }[where]
    well = Landscape.from_string("(x^2 - 1)^2 + 0.2*x")
    kwargs = {"etas": [0.05, 0.1], "batch_sizes": [1, 2], "particles": 500, "steps": 100}
    local = sweep(well, **kwargs)
    remote = sweep(well, executor=executor, **kwargs)
    drop = {"ns_per_particle_step"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in remote] == [
        {k: v for k, v in r.items() if k not in drop} for r in local
    ]
    assert [r["seed"] for r in remote] == [0, 1, 2, 3]


@pytest.mark.parametrize(("dataset", "model"), [("cifar10", "vgg11"), ("fashionmnist", "resnet32")])
def test_paper_models_run_as_a_dask_grid(tmp_path, vision_data, cluster, capsys, dataset, model):
    """Three runs (the ratio preset's seeds at η = 0.1, S = 32) of two SGD steps each, read
    from the torchvision layout by the workers."""
    root, _ = vision_data
    argv = ["grid", "--experiment", "ratio", "--quick", "--out", str(tmp_path), "--json",
            "--executor", "dask", "--scheduler", cluster.scheduler_address,
            "--data-dir", str(root)]  # fmt: skip
    for item in (f"dataset={dataset}", f"model={model}", "n_train=64", "n_test=32", "batch=32",
                 "lr=0.1", "epochs=1", "measure=false"):  # fmt: skip
        argv += ["--set", item]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] == [] and len(result["records"]) == 3
    for record in result["records"]:
        assert record["config"]["model"] == model and len(record["history"]) == 2
    _check_store(tmp_path, 3)


def test_grid_progress_lists_a_failure_with_its_config_and_error(tmp_path, monkeypatch, capsys):
    from threefactors.empirical import grid as grid_module

    real_train = grid_module.train

    def flaky(config, **kwargs):
        if config.seed == 0:
            raise RuntimeError("CUDA out of memory (planted)")
        return real_train(config, **kwargs)

    monkeypatch.setattr(grid_module, "train", flaky)  # single runs: the failure is one config's
    assert main(_grid(tmp_path, "--set", "epochs=2", "--no-ensemble")) == 1
    captured = capsys.readouterr()
    failed = json.loads(captured.out)["failed"]
    assert len(failed) == 1 and failed[0]["config"]["seed"] == 0
    line = next(x for x in captured.err.splitlines() if "FAILED" in x)
    assert f"FAILED {failed[0]['config_hash']} lr=0.1 S=64 seed=0" in line
    assert "RuntimeError: CUDA out of memory (planted)" in line and "ETA" in line


def test_temporary_files_of_killed_writers_are_cleared_on_rerun(tmp_path, capsys):
    """A worker killed mid-write leaves ``.<file>.<pid>@<host>.*.tmp`` next to a record,
    parameters or checkpoint; the next run of the grid removes them, and only them: a live
    writer's (a second grid on the same folder, writing the same checkpoint) stays."""
    from threefactors.jsonio import temporary_prefix

    argv = _grid(tmp_path, "--set", "epochs=2")
    assert main(argv) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    key = records[0]["config_hash"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def temporary(path: Path, pid: int) -> Path:
        prefix = temporary_prefix(path).replace(f".{os.getpid()}@", f".{pid}@")
        return path.parent / f"{prefix}{pid}.tmp"

    litter = [temporary(tmp_path / "runs" / f"{key}.json", dead.pid),
              temporary(tmp_path / "params" / f"{key}.pt", dead.pid),
              temporary(tmp_path / "checkpoints" / f"{key}.pt", dead.pid)]  # fmt: skip
    writing = temporary(tmp_path / "checkpoints" / f"{key}.pt", live.pid)
    try:
        for path in [*litter, writing]:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"half a fi")
        assert main(argv) == 0
    finally:
        live.kill()
        live.wait()
    assert json.loads(capsys.readouterr().out)["records"] == records
    assert not any(p.exists() for p in litter) and writing.exists()
    writing.unlink()
    _check_store(tmp_path, 3)

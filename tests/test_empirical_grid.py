"""Grids survive faults: a grid killed mid-run (SIGKILL) and re-run completes with exactly
one intact record per run, equal to an uninterrupted grid's records — run by run
(``ensemble=False``) and as an ensemble resumed from its checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from threefactors.empirical import grid as grid_module
from threefactors.empirical.grid import ensemble_checkpoint, load_params, paths, run_grid
from threefactors.empirical.records import config_hash, strip_volatile
from threefactors.empirical.train import TrainConfig
from threefactors.executors import ExecutorSpec

CONFIGS = [
    TrainConfig(
        n_train=400, width=32, lr=lr, batch=32, epochs=40, stop_at_accuracy=1.0,
        measure_every=10, measure_size=200, lanczos_steps=8, top_k=2, trace_probes=2,
        noise=False,
    )
    for lr in (0.05, 0.2)
]  # fmt: skip
# As an ensemble: the first member stops at epoch 10, its record written while the second
# trains on, so a kill can land between the two records.
MODES = {False: CONFIGS, True: [dataclasses.replace(CONFIGS[0], epochs=10), CONFIGS[1]]}

SCRIPT = textwrap.dedent(
    """
    import sys
    from threefactors.empirical.grid import run_grid
    from threefactors.empirical.train import TrainConfig
    configs = [TrainConfig(**c) for c in {configs!r}]
    run_grid(configs, sys.argv[1], checkpoint_every=0.0, ensemble={ensemble})
    """
)


def _science(records: list[dict]) -> list[dict]:
    return [strip_volatile(r) for r in records]


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[bool, list[dict]]:
    return {
        ensemble: run_grid(configs, tmp_path_factory.mktemp("reference"), ensemble=ensemble)[
            "records"
        ]
        for ensemble, configs in MODES.items()
    }


@pytest.fixture(scope="module")
def reference(references) -> list[dict]:
    return references[False]


@pytest.mark.parametrize("ensemble", [False, True])
def test_killed_grid_resumes_to_the_uninterrupted_records(tmp_path, references, ensemble):
    configs = MODES[ensemble]
    fields = [
        {k: v for k, v in c.__dict__.items() if k != "thresholds"} | {"thresholds": c.thresholds}
        for c in configs
    ]
    script = SCRIPT.format(configs=fields, ensemble=ensemble)
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    runs, checkpoints = tmp_path / "runs", tmp_path / "checkpoints"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if list(runs.glob("*.json")) and list(checkpoints.glob("*.pt")):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the grid finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert len(list(runs.glob("*.json"))) == 1
    if ensemble:
        interrupted = ensemble_checkpoint(tmp_path, configs)
    else:
        interrupted = paths(tmp_path, config_hash(configs[1]))["checkpoint"]
    assert interrupted.exists()  # the second run is resumed, not restarted

    result = run_grid(configs, tmp_path, ensemble=ensemble)
    assert result["failed"] == []
    assert _science(result["records"]) == _science(references[ensemble])
    assert [r["ensemble_size"] for r in result["records"]] == [2 if ensemble else 1] * 2
    on_disk = sorted(runs.glob("*.json"))
    assert [p.stem for p in on_disk] == sorted(config_hash(c) for c in configs)
    for path in on_disk:
        json.loads(path.read_text())  # intact
    assert not interrupted.exists()
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_finished_runs_are_skipped_and_corrupt_records_rerun(tmp_path, reference):
    first = run_grid(CONFIGS, tmp_path, ensemble=False)["records"]
    record_path = paths(tmp_path, config_hash(CONFIGS[0]))["record"]
    stamp = record_path.stat().st_mtime_ns
    again = run_grid(CONFIGS, tmp_path, ensemble=False)["records"]
    assert again == first and record_path.stat().st_mtime_ns == stamp
    record_path.write_text(record_path.read_text()[:100])  # a torn file (not ours: atomic)
    repaired = run_grid(CONFIGS, tmp_path, ensemble=False)["records"]
    assert _science(repaired) == _science(reference)
    theta = load_params(tmp_path, repaired[0])
    assert theta.numel() == repaired[0]["n_params"]


def test_a_failing_run_is_recorded_and_the_grid_goes_on(tmp_path, monkeypatch):
    real_train = grid_module.train

    def flaky(config, **kwargs):
        if config.lr == 0.2:
            raise RuntimeError("out of memory (simulated)")
        return real_train(config, **kwargs)

    monkeypatch.setattr(grid_module, "train", flaky)
    result = run_grid(CONFIGS, tmp_path, ensemble=False)
    assert len(result["records"]) == 1 and len(result["failed"]) == 1
    error = Path(paths(tmp_path, config_hash(CONFIGS[1]))["error"])
    assert "simulated" in error.read_text()


@pytest.mark.slow
def test_parallel_workers_give_the_same_records(tmp_path, reference):
    result = run_grid(CONFIGS, tmp_path, executor=ExecutorSpec(workers=2), ensemble=False)
    assert _science(result["records"]) == _science(reference)


ENDLESS = dict(
    n_train=200,
    n_test=200,
    width=16,
    lr=1e-6,
    batch=20,
    epochs=10**6,
    stop_at_accuracy=1.0,
    measure=False,
    noise=False,
)  # fmt: skip  (lr 1e-6: never reaches the threshold, runs until stopped)

PARALLEL = textwrap.dedent(
    """
    import signal
    import sys
    # Ctrl-C as in a terminal, also when the test runner itself was started in the
    # background (a shell without job control starts background jobs ignoring SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from threefactors.empirical.grid import run_grid
    from threefactors.empirical.train import TrainConfig
    from threefactors.executors import ExecutorSpec
    configs = [TrainConfig(**{endless!r}, seed=s) for s in (1, 2)]
    run_grid(configs, sys.argv[1], executor=ExecutorSpec(workers=2), checkpoint_every=0.0)
    """
)


def _children(pid: int) -> set[int]:
    """PIDs whose parent is ``pid`` (from /proc/*/stat)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _running_parallel_grid(out: Path) -> tuple[subprocess.Popen, set[int]]:
    """A two-worker grid whose two workers are both training (checkpoints written)."""
    proc = subprocess.Popen([sys.executable, "-c", PARALLEL.format(endless=ENDLESS), str(out)])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "checkpoints").glob("*.pt"))) == 2:
            return proc, _children(proc.pid)
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the parallel grid did not start two runs")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path):
    """SIGKILL of a two-worker grid left its workers and the resource tracker alive forever;
    now the kernel kills each worker with its parent (PR_SET_PDEATHSIG)."""
    proc, children = _running_parallel_grid(tmp_path)
    assert len(children) >= 2  # two workers (and the resource tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_a_parallel_grid_within_seconds(tmp_path):
    """SIGINT took 33 s (the workers finished their runs); now the parent terminates them at
    once and the runs in progress keep their checkpoints to resume from."""
    proc, children = _running_parallel_grid(tmp_path)
    os.kill(proc.pid, signal.SIGINT)
    start = time.monotonic()
    try:
        proc.wait(timeout=30)
    finally:
        proc.kill()
    waited = time.monotonic() - start
    assert waited < 10, f"took {waited:.1f} s"  # generous: 2 shared cores; typically < 1 s
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2


@pytest.mark.slow
def test_ensembles_split_over_workers_give_the_same_records(tmp_path, references):
    """Two workers split the ensemble of two into two ensembles of one: a member's numbers do
    not depend on which members share its ensemble."""
    result = run_grid(MODES[True], tmp_path, executor=ExecutorSpec(workers=2))
    assert _science(result["records"]) == _science(references[True])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_a_parallel_grid_cleanly(tmp_path):
    """SIGTERM killed the command outright: its worker pool's semaphores were left to the
    resource tracker, which warned of leaked semaphores. Now it stops as on Ctrl-C: one
    line, exit code 128 + 15, workers gone, checkpoints kept."""
    options = "grid --experiment ratio --quick --workers 2 --no-ensemble --checkpoint-every 0"
    argv = [sys.executable, "-m", "threefactors", *options.split(), "--out", str(tmp_path)]
    for key, value in {**ENDLESS, "measure": "false", "noise": "false"}.items():
        argv += ["--set", f"{key}={value}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2:
            break
        time.sleep(0.05)
    children = _children(proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    try:
        err = proc.communicate(timeout=30)[1]
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    lines = [line for line in err.splitlines() if not line.startswith("grid ratio")]
    assert lines == ["threefactors grid: terminated"], err  # no "leaked semaphore" warning
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert len(children) >= 2 and not [pid for pid in children if _alive(pid)]
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 2


def test_convolutional_runs_go_one_by_one_on_a_cpu_and_mlps_stack(tmp_path):
    """With ensembles on, a CPU grid stacks the MLP runs (ensemble of 2) and trains the
    SimpleCNN runs one by one (bench: stacking them gains nothing on a CPU); on a GPU both
    would stack. Records come back in the configs' order either way."""
    from threefactors.empirical.ensemble import stacks

    small = TrainConfig(
        dataset="digits", n_train=256, width=16, batch=32, epochs=1, stop_at_accuracy=1.0,
        measure=False,
    )  # fmt: skip
    mlps = [dataclasses.replace(small, lr=lr) for lr in (0.05, 0.1)]
    cnns = [dataclasses.replace(c, model="simplecnn") for c in mlps]
    configs = [cnns[0], mlps[0], cnns[1], mlps[1]]
    records = run_grid(configs, tmp_path, ensemble=True)["records"]
    assert [r["config"]["model"] for r in records] == [c.model for c in configs]
    assert [r["ensemble_size"] for r in records] == [1, 2, 1, 2]
    assert [stacks(c, "cuda") for c in configs] == [True] * 4

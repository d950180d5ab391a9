"""The training-loop monitor: it leaves the model and the training bit for bit as they were,
its numbers are the estimators' (and the SGD setting's) own, its log resumes, and it refuses
per-example noise under train-mode BatchNorm."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.monitor import Monitor, read_log
from threefactors.errors import InputError

pytestmark = pytest.mark.usefixtures("torch_one_thread")
SMALL = {"k": 2, "lanczos_steps": 12, "trace_probes": 4}


def _batchnorm_net(seed: int = 0) -> nn.Module:
    """A float64 net with BatchNorm and Dropout (both change with the train/eval mode)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 5)
    ).double()


def _data(n: int = 120, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=g, dtype=torch.float64), torch.randint(
        0, 5, (n,), generator=g
    )


def _state(model: nn.Module) -> dict:
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "flags": [m.training for m in model.modules()],
        "rng": torch.get_rng_state(),
    }


def _same(a: dict, b: dict) -> bool:
    tensors = all(
        (x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
        for key in ("params", "grads", "buffers")
        for x, y in zip(a[key], b[key], strict=True)
    )
    return tensors and a["flags"] == b["flags"] and torch.equal(a["rng"], b["rng"])


def test_a_measurement_leaves_the_model_bit_for_bit_as_it_was() -> None:
    model = _batchnorm_net()
    x, y = _data()
    model.train()
    F.cross_entropy(model(x), y).backward()  # .grad populated, running stats moved
    before = _state(model)
    monitor = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=16, mode="eval",
                      density_every=1, **SMALL)  # fmt: skip
    line = monitor.measure(0)
    assert _same(before, _state(model))
    assert line["mode"] == "eval" and monitor.settings["batchnorm"] is True
    assert "density" in line and model.training


def _train(monitor_every: int | None, log=None) -> list[torch.Tensor]:
    """20 SGD steps on shuffles and dropout masks from torch's global RNG."""
    model = _batchnorm_net(seed=1)
    x, y = _data(seed=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = None
    if monitor_every is not None:
        monitor = Monitor(model, F.cross_entropy, (x[:40], y[:40]), eta=0.1, batch_size=16,
                          every=monitor_every, log=log, mode="eval", **SMALL)  # fmt: skip
    torch.manual_seed(3)
    model.train()
    for step in range(20):
        batch = torch.randperm(len(y))[:16]
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
        if monitor is not None:
            monitor.step(step)
    return [p.detach().clone() for p in model.parameters()]


def test_training_with_and_without_the_monitor_is_identical(tmp_path) -> None:
    log = tmp_path / "run.jsonl"
    watched = _train(monitor_every=5, log=log)
    assert all(torch.equal(a, b) for a, b in zip(_train(None), watched, strict=True))
    header, lines = read_log(log)
    assert header["kind"] == "header" and header["provenance"]["versions"]["torch"]
    assert [line["step"] for line in lines] == [0, 5, 10, 15]


def test_the_numbers_are_the_estimators_and_the_settings(make_classifier) -> None:
    model, x, y = make_classifier()
    monitor = Monitor(model, F.cross_entropy, (x, y), eta=0.5, batch_size=8, k=3,
                      lanczos_steps=60, trace_probes=20)  # fmt: skip
    line = monitor.measure(0)
    dense = HessianOperator(model, F.cross_entropy, x, y).dense()
    exact = torch.linalg.eigvalsh(dense).flip(0)
    # 60 Lanczos steps on 341 parameters: top eigenvalues to 1e-8 (test_empirical_lanczos)
    assert line["top_eigenvalues"] == pytest.approx(exact[:3].tolist(), rel=1e-8)
    trace = float(dense.trace())
    assert abs(line["hessian_trace"] - trace) <= 4 * line["hessian_trace_stderr"]
    assert line["noise_scale"] == pytest.approx(line["grad_noise_trace"] / line["grad_norm_sq"])
    assert line["sigma2"] == pytest.approx(line["grad_noise_trace"] / 341)
    assert line["temperature"] == pytest.approx(0.5 * line["sigma2"] / (2 * 8))
    assert line["eta_lambda_max"] == pytest.approx(0.5 * exact[0].item())
    assert line["stable"] is (0.5 * exact[0].item() < 2)
    with torch.no_grad():
        assert line["loss"] == pytest.approx(float(F.cross_entropy(model(x), y)))
    assert 0 < line["noise_top_k_fraction"] < 1 and line["mode"] == "train"


def test_the_log_resumes_and_drops_a_truncated_last_line(tmp_path, make_classifier, capsys) -> None:
    model, x, y = make_classifier(n=60)
    log = tmp_path / "run.jsonl"
    first = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, every=10, log=log,
                    **SMALL)  # fmt: skip
    for step in range(25):
        first.step(step)
    with open(log, "a") as handle:
        handle.write('{"kind": "measurement", "step": 3')  # a writer killed mid-line
    second = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, every=10, log=log,
                     **SMALL)  # fmt: skip
    assert "truncated" in capsys.readouterr().err
    assert second.last_step == 20 and second.step(20) is None and second.step(25) is None
    assert second.step(30)["step"] == 30
    lines = log.read_text().splitlines()
    assert [json.loads(t)["kind"] for t in lines] == ["header"] + ["measurement"] * 4
    assert [r["step"] for r in read_log(log)[1]] == [0, 10, 20, 30]


def test_a_log_of_another_run_or_a_corrupt_one_is_refused(tmp_path, make_classifier) -> None:
    model, x, y = make_classifier(n=40)
    log = tmp_path / "run.jsonl"
    Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, log=log, **SMALL).measure(0)
    with pytest.raises(InputError, match=r"eta=0\.1, not 0\.2") as caught:
        Monitor(model, F.cross_entropy, (x, y), eta=0.2, batch_size=8, log=log, **SMALL)
    assert caught.value.parameter == "log"
    log.write_text(log.read_text().replace('"kind": "measurement"', '"kind": "other"'))
    with pytest.raises(InputError, match="line 2 is not a measurement"):
        read_log(log)


def test_train_mode_batchnorm_refuses_noise_but_measures_curvature() -> None:
    model = _batchnorm_net()
    x, y = _data()
    model.train()
    with pytest.raises(InputError) as caught:
        Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=16, **SMALL)
    assert caught.value.parameter == "mode" and "BatchNorm" in str(caught.value)
    assert "\n" not in str(caught.value)
    model[3].p = 0.0  # no dropout: the train-mode loss is deterministic
    before = _state(model)
    line = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=16, noise=False,
                   **SMALL).measure(0)  # fmt: skip
    assert line["mode"] == "train" and line["grad_noise_trace"] is None
    assert line["lambda_max"] > 0 and _same(before, _state(model))  # running stats kept


def test_a_diverged_model_is_logged_as_diverged(tmp_path, make_classifier) -> None:
    model, x, y = make_classifier(n=40)
    with torch.no_grad():
        model[0].weight[0, 0] = math.inf
    log = tmp_path / "run.jsonl"
    line = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, log=log).measure(7)
    assert line["diverged"] is True and "lambda_max" not in line
    assert "NaN" not in log.read_text() and "Infinity" not in log.read_text()


def test_density_every_second_measurement(make_classifier) -> None:
    model, x, y = make_classifier(n=40)
    monitor = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, every=1,
                      density_every=2, density_grid=50, **SMALL)  # fmt: skip
    lines = [monitor.step(s) for s in range(3)]
    assert ["density" in line for line in lines] == [True, False, True]
    assert len(lines[0]["density"]["grid"]) == len(lines[0]["density"]["density"]) == 50


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"every": 0}, "every"), ({"eta": -1.0}, "eta"), ({"batch_size": 0}, "batch_size"),
     ({"mode": "test"}, "mode"), ({"density_every": -1}, "density_every")],
)  # fmt: skip
def test_bad_settings_name_the_parameter(make_classifier, kwargs, name) -> None:
    model, x, y = make_classifier(n=20)
    settings = {"eta": 0.1, "batch_size": 8, **kwargs}
    with pytest.raises(InputError) as caught:
        Monitor(model, F.cross_entropy, (x, y), **settings)
    assert caught.value.parameter == name


@pytest.mark.gpu
def test_on_cuda_the_monitor_leaves_the_run_alone_and_matches_the_cpu(make_classifier) -> None:
    import copy

    model, x, y = make_classifier(n=100)
    cpu = Monitor(model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, **SMALL).measure(0)
    gpu_model = copy.deepcopy(model).cuda()
    F.cross_entropy(gpu_model(x.cuda()), y.cuda()).backward()
    before = _state(gpu_model)
    cuda_rng = torch.cuda.get_rng_state()
    line = Monitor(gpu_model, F.cross_entropy, (x, y), eta=0.1, batch_size=8, **SMALL).measure(0)
    assert _same(before, _state(gpu_model)) and torch.equal(cuda_rng, torch.cuda.get_rng_state())
    for key in ("lambda_max", "hessian_trace", "grad_noise_trace", "loss"):
        assert line[key] == pytest.approx(cpu[key], rel=1e-8), key

"""A curvature-and-noise monitor for any torch training loop, one JSON line per measurement.

Two lines in a plain loop::

    monitor = Monitor(model, loss_fn, measure_data=(x, y), eta=0.1, batch_size=64,
                      every=200, log="run.jsonl")
    for step, (xb, yb) in enumerate(loader):
        ...; optimizer.step()
        monitor.step(step)          # measures every `every` steps, else returns at once

At each measurement, on the fixed measurement data (x, y) and at the model's current
parameters θ (:func:`~threefactors.empirical.curvature.measure`):
- λ_max and the top-k Hessian eigenvalues (Lanczos), Tr H (Hutchinson, ± se);
- Tr C, |g|², B_simple = Tr C/|g|² (McCandlish et al. 2018), σ² = Tr C/d and the share of
  Tr C in the top-k eigenspace (per-example gradients, :mod:`~threefactors.empirical.noise`);
- the SDE temperature T = ησ²/(2S) of :class:`~threefactors.theory.setting.SGDSetting`
  (Jastrzębski et al. 2017, arXiv 1711.04623; docs/theory.md, "Real networks");
- ηλ_max against the linear stability edge 2 of SGD on a quadratic, η < 2/λ_max
  (docs/theory.md, "Where the SDE breaks"; Jastrzębski et al., ICLR 2019, arXiv 1807.05031);
- the training loss on (x, y), and every ``density_every``-th measurement the Hessian's
  spectral density by SLQ (:mod:`~threefactors.empirical.slq`).

The observed training is unchanged: parameters and their ``.grad``, every module's train/eval
flag, buffers (BatchNorm running statistics) and torch's CPU and CUDA random states are the
same, bit for bit, after a measurement as before it. ``mode`` chooses the mode measured in:
None (the model's own at each measurement) or ``"eval"``/``"train"`` (switched for the
measurement, then restored). Per-example gradient noise in train mode with BatchNorm is
refused: each example's loss then depends on its batch's statistics, so the per-example
gradients the noise is built from are undefined.

Cost: a measurement takes ``lanczos_steps`` + ``trace_probes`` Hessian–vector products
(each ≈ 2–3 forward–backward passes over the measurement data) and one per-example gradient
pass. With the defaults on 1,000 examples that is ≈ 1,200 SGD steps of the MLP 40-256-256-10
at S = 64 (1.7 s against 1.4 ms per step, one thread): the overhead falls below 10 % from
``every`` ≈ 10,000; a lean measurement (256 examples, k = 1, 10 Lanczos steps, 4 probes) from
≈ 2,000 (``threefactors bench --empirical`` measures both). Networks whose steps cost more
relative to a product (larger batches, convolutions) pay relatively less.

The log (JSON Lines): the first line is the header (``"kind": "header"``, provenance and the
monitor's settings), then one ``"kind": "measurement"`` line per measurement. A monitor given
an existing log resumes it: earlier measurements are read back (validated), steps already
measured are skipped, and a truncated last line (a killed process) is dropped. A run whose
parameters are no longer finite is logged as ``"diverged": true`` at that step, never as NaN.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from threefactors.empirical.curvature import measure
from threefactors.empirical.functional import LossFn, flat_params, mode_of, num_params
from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.slq import spectral_density
from threefactors.errors import InputError, require
from threefactors.jsonio import to_jsonable
from threefactors.provenance import provenance
from threefactors.saved import Invalid, check, require_fields
from threefactors.theory.setting import SGDSetting

HEADER, MEASUREMENT = "header", "measurement"
#: header settings a resumed log must share with the monitor that appends to it
_RESUME_KEYS = ("eta", "batch_size", "dim", "n_measure", "every")
_MODES = ("train", "eval")
BATCHNORM_NOISE = (
    "per-example gradient noise is undefined with BatchNorm in train mode (each example's "
    "loss depends on its batch's statistics); measure in eval mode (mode='eval') or pass "
    "noise=False"
)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` contains a BatchNorm layer (of any dimension)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


@contextlib.contextmanager
def untouched(model: nn.Module, mode: str | None) -> Iterator[None]:
    """Run the block in ``mode`` (None: as is), then restore every module's train/eval flag,
    the buffers, the parameters' ``.grad`` and torch's CPU (and CUDA) random states."""
    flags = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    grads = [(p, None if p.grad is None else p.grad.detach().clone()) for p in model.parameters()]
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices):
        try:
            if mode is not None:
                model.train(mode == "train")
            yield
        finally:
            with torch.no_grad():
                for buffer, saved in buffers:
                    buffer.copy_(saved)
            for p, grad in grads:
                p.grad = grad
            for module, flag in flags:
                module.training = flag


def _check_log_line(data: Any, number: int) -> dict[str, Any]:
    require_fields(data, ("kind",), f"line {number}")
    if number == 1:
        check(data["kind"] == HEADER, "line 1 is not a monitor header")
        require_fields(data, ("provenance", "monitor"), "the header")
        require_fields(data["monitor"], _RESUME_KEYS, "the header's settings")
    else:
        check(data["kind"] == MEASUREMENT, f"line {number} is not a measurement")
        require_fields(data, ("step",), f"line {number}")
        check(isinstance(data["step"], int), f"line {number} has a non-integer step")
    return data


def _parse_log(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The validated lines of a monitor log and the byte length of its valid part.

    Text after the last newline is a line cut short by a killed writer (each line is written
    with its newline in one call): it is left out. Any other bad line raises
    :class:`~threefactors.errors.InputError` naming the log.
    """
    *complete, _ = path.read_bytes().split(b"\n")
    parsed, valid = [], 0
    for number, line in enumerate(complete, start=1):
        try:
            parsed.append(_check_log_line(json.loads(line), number))
        except (ValueError, Invalid) as err:
            raise InputError("log", str(path), f"not a monitor log: {err}") from err
        valid += len(line) + 1
    return parsed, valid


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, measurements) of a monitor log, validated (a truncated last line left out)."""
    parsed, _ = _parse_log(Path(path))
    if not parsed:
        raise InputError("log", str(path), "not a monitor log: no complete header line")
    return parsed[0], parsed[1:]


class Monitor:
    """Curvature and gradient noise along a training run (module docstring).

    ``model``, ``loss_fn`` (mean loss ``loss_fn(outputs, targets)``), ``measure_data`` (x, y)
    a fixed subset the measurements use (moved to the model's device); ``eta``, ``batch_size``
    the run's SGD setting (for T and ηλ_max); ``every`` steps between measurements (step 0
    measures); ``log`` a JSON Lines file (None: keep ``records`` in memory only). ``k``,
    ``lanczos_steps``, ``trace_probes``, ``noise``: as in
    :func:`~threefactors.empirical.curvature.measure`; ``density_every`` n > 0 adds the SLQ
    density every n-th measurement (``density_probes`` × ``density_steps`` products,
    ``density_grid`` points). ``mode``: None, "train" or "eval" (module docstring).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        measure_data: tuple[Tensor, Tensor],
        eta: float,
        batch_size: int,
        every: int = 200,
        log: str | os.PathLike[str] | None = None,
        *,
        k: int = 5,
        lanczos_steps: int = 25,
        trace_probes: int = 10,
        noise: bool = True,
        density_every: int = 0,
        density_probes: int = 5,
        density_steps: int = 40,
        density_grid: int = 200,
        mode: str | None = None,
        seed: int = 0,
        chunk_size: int | None = None,
    ) -> None:
        self.setting = SGDSetting(eta=eta, batch_size=batch_size)
        require(int(every) == every and every >= 1, "every", every, "need an integer ≥ 1")
        require(
            int(density_every) == density_every and density_every >= 0,
            "density_every",
            density_every,
            "need an integer ≥ 0 (0: never)",
        )
        require(mode is None or mode in _MODES, "mode", mode, "choose None, 'train' or 'eval'")
        require(len(measure_data) == 2, "measure_data", "…", "need a pair (inputs, targets)")
        self.model, self.loss_fn, self.mode = model, loss_fn, mode
        self.every, self.density_every, self.seed = int(every), int(density_every), int(seed)
        self.batchnorm = has_batchnorm(model)
        self._check_batchnorm(noise)
        device = next(model.parameters()).device
        self.inputs, self.targets = (t.to(device) for t in measure_data)
        self.options = {
            "k": k,
            "lanczos_steps": lanczos_steps,
            "trace_probes": trace_probes,
            "noise": noise,
            "chunk_size": chunk_size,
        }
        self.density_options = {
            "probes": density_probes,
            "steps": density_steps,
            "grid": density_grid,
        }
        self.records: list[dict[str, Any]] = []
        self.log = None if log is None else Path(log)
        self.settings = {
            "eta": self.setting.eta,
            "batch_size": self.setting.batch_size,
            "every": self.every,
            "dim": num_params(model),
            "n_measure": int(self.inputs.shape[0]),
            "mode": mode,
            "batchnorm": self.batchnorm,
            "density_every": self.density_every,
            "seed": self.seed,
            **self.options,
            **{f"density_{key}": value for key, value in self.density_options.items()},
        }
        if self.log is not None:
            self._open_log(device)

    def _check_batchnorm(self, noise: bool) -> None:
        measured_in = self.mode or mode_of(self.model)
        if self.batchnorm and noise and measured_in == "train":
            raise InputError("mode", "train", BATCHNORM_NOISE)

    def _open_log(self, device: torch.device) -> None:
        assert self.log is not None
        parsed, valid = _parse_log(self.log) if self.log.is_file() else ([], 0)
        if parsed:
            for key in _RESUME_KEYS:
                written = parsed[0]["monitor"][key]
                if written != self.settings[key]:
                    reason = f"was written with {key}={written}, not {self.settings[key]}"
                    raise InputError("log", str(self.log), reason)
            self.records = parsed[1:]
        if self.log.is_file() and valid < self.log.stat().st_size:
            os.truncate(self.log, valid)
            print(f"threefactors: {self.log}: dropped a truncated last line", file=sys.stderr)
        if parsed:
            return
        config = {"settings": self.settings, "model": type(self.model).__name__}
        header = {
            "kind": HEADER,
            "provenance": provenance(config, self.seed, str(device)),
            "monitor": self.settings,
        }
        self._append(header)

    def _append(self, line: dict[str, Any]) -> None:
        if self.log is None:
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(to_jsonable(line), allow_nan=False) + "\n"
        with open(self.log, "a") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    @property
    def last_step(self) -> int | None:
        """The step of the latest measurement (read back from the log on resume), or None."""
        return self.records[-1]["step"] if self.records else None

    def step(self, step: int) -> dict[str, Any] | None:
        """Measure when ``step`` is a multiple of ``every`` not measured yet; else None, at once."""
        if step % self.every or (self.last_step is not None and step <= self.last_step):
            return None
        return self.measure(step)

    def measure(self, step: int) -> dict[str, Any]:
        """Measure now, log the line and return it."""
        require(int(step) == step and step >= 0, "step", step, "need an integer ≥ 0")
        self._check_batchnorm(bool(self.options["noise"]))
        clock = time.perf_counter()
        line: dict[str, Any] = {"kind": MEASUREMENT, "step": int(step)}
        if not bool(torch.isfinite(flat_params(self.model)).all()):
            line["diverged"] = True
        else:
            with untouched(self.model, self.mode):
                line.update(self._metrics(step))
        line["seconds"] = time.perf_counter() - clock
        self.records.append(to_jsonable(line))
        self._append(line)
        return self.records[-1]

    def _metrics(self, step: int) -> dict[str, Any]:
        seed = self.seed * 1_000_003 + 2 * int(step)
        result = measure(
            self.model,
            self.loss_fn,
            self.inputs,
            self.targets,
            loss=True,
            seed=seed,
            **self.options,
        )
        result.pop("seconds")
        lambda_max, sigma2 = result["lambda_max"], result["sigma2"]
        eta = self.setting.eta
        result["eta_lambda_max"] = eta * lambda_max
        result["stable"] = eta * lambda_max < 2
        result["temperature"] = (
            None
            if sigma2 is None
            else SGDSetting(eta, self.setting.batch_size, sigma=math.sqrt(sigma2)).temperature
        )
        result["diverged"] = not math.isfinite(result["loss"])
        index = len(self.records)
        if self.density_every and index % self.density_every == 0:
            op = HessianOperator(
                self.model,
                self.loss_fn,
                self.inputs,
                self.targets,
                chunk_size=self.options["chunk_size"],
            )
            density = spectral_density(op, seed=seed + 1, **self.density_options)
            record = density.record()
            result["density"] = {key: record[key] for key in ("grid", "density", "width")}
            result["n_matvecs"] += density.n_matvecs
        return result

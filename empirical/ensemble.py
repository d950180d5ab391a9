"""Ensembles: K runs of one architecture, data set and batch size trained in one loop.

A step of a small network is a few small matrix products plus fixed per-step overhead, so
K runs sharing the model, the data set and the batch-size schedule S_e are stepped
together: their parameters are stacked along a leading member axis, the forward pass of all
members is one batched computation over that axis (:func:`member_gradients`), and one backward
pass of Σ_k L_k gives every member its own gradient (∂(Σ_j L_j)/∂θ_k = ∇L_k(θ_k): members
share no parameters). The gain is the overhead saved, large on a GPU; on one CPU thread the
MLP step is mostly arithmetic (``bench --empirical`` measures it). Each member keeps
everything else of its single run (:func:`threefactors.empirical.train.train`):

- initial weights from ``models.build(seed)`` and minibatch order from its own
  ``torch.Generator`` seeded with its seed, one ``randperm`` per epoch — the same draws;
- its learning rate and schedule η_e, its random-label draw, and for Nudged SGD its own
  projector P_k from its own top eigenvectors, g_k ← g_k − (1 − γ_k) P_k (P_kᵀ g_k);
- stopping: at its stop threshold, its epoch cap, or divergence (the first step whose
  minibatch loss is not < ``divergence_ratio`` × its initial loss). A diverged member's step
  size is set to 0 on the device at once, and the batched products never mix members, so
  its numbers never reach the others; a finished one leaves the stacked tensors at the end
  of its epoch. Its record is built by
  the single run's own code and handed to ``on_member`` at once.

Evaluation and measurements (λ_max, top-k, Tr H, Tr C) run per member on a model holding
that member's parameters, through the single run's functions with the single run's seeds,
so a member's numbers equal the single run's up to the float round-off of the batched
training step (``tests/test_empirical_ensemble.py`` states the tolerance). They are not
batched across members: at matched progress members are measured at different epochs, and
one product on the 1,000–2,000-example subset is already large matrix products (on a CPU,
batching them saves no arithmetic); within a member, block products are vectorised
(:meth:`~threefactors.empirical.hessian.HessianOperator.matmat`).

All active members are always at the same epoch (they start together and only ever leave),
so the ensemble has one epoch counter, one S_e and one checkpoint holding every member
(parameters, momentum buffers, generator states, per-member histories).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from threefactors.empirical import data as datasets
from threefactors.empirical.functional import flat_params, set_flat_params
from threefactors.empirical.train import (  # the single run's own steps
    Run,
    TrainConfig,
    _evaluation,
    _measure,
    build_model,
    deterministic,
    early_steps,
    finish_record,
    initial_state,
    measure_at,
    measure_within_epoch,
    nudge_directions,
    prepare_data,
    record_epoch_entry,
    resolve_device,
    validate,
)
from threefactors.errors import require
from threefactors.jsonio import write_atomic
from threefactors.saved import check, load_validated, require_fields

# Fields every member of one ensemble must share (the rest may differ member by member).
SHARED_FIELDS = (
    "dataset",
    "model",
    "activation",
    "width",
    "depth",
    "batch",
    "n_train",
    "n_test",
    "data_seed",
    "validation",
    "momentum",
)
MemberCallback = Callable[[int, Run], None]
#: Models whose runs a grid stacks into ensembles on a CPU. An MLP step is small matrix
#: products plus a fixed per-step cost that stacking shares; a convolutional step is
#: arithmetic-bound on a CPU, so stacking gains nothing: the SimpleCNN on MNIST digits
#: (channels-last) ran as an ensemble of 4 at 0.74× the speed of its sequential runs and at
#: 0.93× on two cores (``bench --empirical``, 4,000 digits, S = 64, idle 2 cores; the members
#: are batched by ``vmap``, whose convolutions are grouped convolutions over the member axis).
CPU_STACKED = ("mlp", "deep-mlp")


def stacks(config: TrainConfig, device: str) -> bool:
    """Whether a grid with ensembles on trains ``config`` in an ensemble on ``device``:
    always on a GPU (stacking saves launch overhead), on a CPU only for :data:`CPU_STACKED`."""
    return device != "cpu" or config.model in CPU_STACKED


def group_key(config: TrainConfig) -> tuple:
    """Configs with equal keys can train in one ensemble: same model, data, S_e, momentum.

    A cyclic batch-size schedule makes S_e part of the key (cyclic η does not).
    """
    shared = tuple(getattr(config, name) for name in SHARED_FIELDS)
    if config.schedule == "cyclic-batch":
        return (*shared, config.schedule, config.cycle_factor, config.cycle_epochs)
    return (*shared, "fixed-batch")


def group_configs(configs: Sequence[TrainConfig], max_members: int | None = None) -> list[list]:
    """``configs`` grouped by :func:`group_key` (first-seen order), groups split to at most
    ``max_members`` (``None``: no limit) in consecutive pieces of near-equal size."""
    groups: dict[tuple, list[TrainConfig]] = {}
    for config in configs:
        groups.setdefault(group_key(config), []).append(config)
    out = []
    for members in groups.values():
        pieces = 1 if max_members is None else math.ceil(len(members) / max(1, max_members))
        size = math.ceil(len(members) / pieces)
        out += [members[i : i + size] for i in range(0, len(members), size)]
    return out


def available_memory(device: str) -> int:
    """Free bytes: ``cuda.mem_get_info`` on a GPU, ``MemAvailable`` of /proc/meminfo on CPU."""
    if device == "cuda":
        return int(torch.cuda.mem_get_info()[0])
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30  # no /proc (not Linux): assume 8 GiB


def member_bytes(model: nn.Module, example: Tensor, batch: int) -> int:
    """Bytes one member adds to an ensemble: 5 copies of θ (stacked value, gradient,
    momentum, working copy, measurement) and 3 of the activations of one minibatch (kept
    for backward, their gradients, slack), counted by hooks on one forward pass at S."""
    activations = 0

    def count(_module: nn.Module, _inputs: Any, output: Tensor) -> None:
        nonlocal activations
        if isinstance(output, Tensor):
            activations += output.numel()

    handles = [m.register_forward_hook(count) for m in model.modules()]
    try:
        with torch.no_grad():
            model(example.unsqueeze(0).expand(batch, *example.shape))
    finally:
        for handle in handles:
            handle.remove()
    size = next(model.parameters()).element_size()
    d = sum(p.numel() for p in model.parameters())
    return size * (5 * d + 3 * activations)


def max_members(model: nn.Module, example: Tensor, batch: int, device: str, fraction: float) -> int:
    """The most members whose :func:`member_bytes` fit in ``fraction`` of the free memory."""
    require(0 < fraction <= 1, "memory_fraction", fraction, "must be in (0, 1]")
    per_member = member_bytes(model, example, batch)
    return max(1, int(fraction * available_memory(device) // per_member))


def peak_memory(device: str) -> int:
    """Peak bytes of this process: CUDA allocator peak on a GPU, max RSS on CPU."""
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@dataclasses.dataclass
class _Member:
    """One member's own data, generator and bookkeeping (its single run's state)."""

    config: TrainConfig
    data: datasets.Dataset
    subset: tuple[Tensor, Tensor]
    generator: torch.Generator
    state: dict[str, Any]
    limit: float = math.inf
    done: bool = False
    diverged_step: int | None = None


class Ensemble:
    """K members (see module docstring) with stacked parameters on one device."""

    def __init__(
        self,
        configs: Sequence[TrainConfig],
        device: str,
        data_dir: str | None = None,
        download: bool = False,
    ) -> None:
        require(len(configs) >= 1, "configs", len(configs), "an ensemble needs a member")
        keys = {group_key(c) for c in configs}
        require(len(keys) == 1, "configs", len(keys), "members must share model, data and S")
        self.device = device
        self.members: list[_Member] = []
        thetas = []
        for config in configs:
            validate(config)
            data = prepare_data(config, device, data_dir, download)
            validate(config, data.n_train)
            model = build_model(config, data, device)
            thetas.append({name: p.detach() for name, p in model.named_parameters()})
            self.members.append(
                _Member(
                    config=config,
                    data=data,
                    subset=datasets.measurement_subset(data, config.measure_size),
                    generator=torch.Generator(device=device).manual_seed(config.seed),
                    state=initial_state(),
                )
            )
        self.model = model  # the architecture; holds one member's θ when evaluating it
        self.inputs = self.members[0].data.x_train
        self.labels = torch.stack([m.data.y_train for m in self.members])
        self.params = {name: torch.stack([t[name] for t in thetas]) for name in thetas[0]}
        self.momentum = {name: torch.zeros_like(p) for name, p in self.params.items()}
        self.epoch = 0

    @property
    def size(self) -> int:
        return len(self.members)

    def member_model(self, index: int) -> nn.Module:
        """The shared module holding member ``index``'s parameters."""
        flat = torch.cat([p[index].reshape(-1) for p in self.params.values()])
        set_flat_params(self.model, flat)
        return self.model

    def state_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "momentum": self.momentum,
            "epoch": self.epoch,
            "generators": [m.generator.get_state() for m in self.members],
            "members": [
                {"state": m.state, "done": m.done, "diverged_step": m.diverged_step}
                for m in self.members
            ],
        }

    def load_state_dict(self, saved: Any) -> Ensemble:
        """Restore a :meth:`state_dict`; :class:`~threefactors.saved.Invalid` (before any
        change) when it is not this ensemble's."""
        require_fields(
            saved, ("params", "momentum", "epoch", "generators", "members"), "checkpoint"
        )
        shapes = {k: tuple(v.shape) for k, v in self.params.items()}
        for field in ("params", "momentum"):
            got = {k: tuple(v.shape) for k, v in saved[field].items()}
            check(got == shapes, f"its {field} do not fit this ensemble")
        check(
            len(saved["members"]) == self.size == len(saved["generators"]),
            f"it holds {len(saved['members'])} members, the ensemble has {self.size}",
        )
        for fields in saved["members"]:
            require_fields(fields, ("state", "done", "diverged_step"), "member")
            require_fields(fields["state"], ("epoch", "history", "at", "seconds", "step"), "state")
        self.params = {k: v.to(self.device) for k, v in saved["params"].items()}
        self.momentum = {k: v.to(self.device) for k, v in saved["momentum"].items()}
        self.epoch = int(saved["epoch"])
        for member, generator, fields in zip(
            self.members, saved["generators"], saved["members"], strict=True
        ):
            member.generator.set_state(generator.to("cpu"))
            member.state, member.done = fields["state"], fields["done"]
            member.diverged_step = fields["diverged_step"]
        return self


StepGradients = Callable[[list[Tensor], Tensor, Tensor], tuple[Tensor, list[Tensor]]]


def member_gradients(model: nn.Module) -> StepGradients:
    """(θ stacked (A, ...) per parameter, x (A, S, ...), y (A, S)) ↦ (per-member mean
    cross-entropy (A,), per-member gradients stacked like θ).

    A ``Sequential`` of Flatten/Linear/ReLU (the MLPs) runs its forward and backward pass as
    batched matrix products written out (:func:`_stacked_mlp_gradients`: no autograd graph;
    measured 1.4× faster per step than autograd through ``torch.baddbmm``, whose backward
    products ran at half the speed of the same products called directly); other models use
    ``vmap(functional_call)`` over the member axis and autograd on Σ_k L_k."""
    layers = list(model) if isinstance(model, nn.Sequential) else []
    kinds = (nn.Flatten, nn.Linear, nn.ReLU)
    if layers and all(isinstance(layer, kinds) for layer in layers):
        return functools.partial(_stacked_mlp_gradients, layers)
    names = [name for name, _ in model.named_parameters()]

    def member_loss(theta: list[Tensor], x: Tensor, y: Tensor) -> Tensor:
        outputs = torch.func.functional_call(model, dict(zip(names, theta, strict=True)), (x,))
        return F.cross_entropy(outputs, y)

    losses_of = torch.func.vmap(member_loss)

    def gradients(theta: list[Tensor], x: Tensor, y: Tensor) -> tuple[Tensor, list[Tensor]]:
        with torch.enable_grad():
            leaves = [t.detach().requires_grad_(True) for t in theta]
            losses = losses_of(leaves, x, y)
            return losses.detach(), list(torch.autograd.grad(losses.sum(), leaves))

    return gradients


@torch.no_grad()
def _stacked_mlp_gradients(
    layers: list[nn.Module], theta: list[Tensor], x: Tensor, y: Tensor
) -> tuple[Tensor, list[Tensor]]:
    """Per-member mean cross-entropy of a Flatten/Linear/ReLU stack on stacked parameters,
    and its gradients by backpropagation written out (ReLU′ = 1[z > 0]):

        forward   z_l = h_{l−1} W_lᵀ + b_l,  h_l = relu(z_l),  L_k = mean_s CE(z_L, y)
        backward  δ_L = (softmax(z_L) − onehot(y)) / S,  ∂W_l = δ_lᵀ h_{l−1},
                  ∂b_l = Σ_s δ_l,  δ_{l−1} = (δ_l W_l) ⊙ 1[z_{l−1} > 0]
    """
    pieces = iter(theta)
    h = x
    # (W, b, input h, whether h is a ReLU output) per Linear; 1[z > 0] = 1[relu(z) > 0]
    linear: list[tuple[Tensor, Tensor | None, Tensor, bool]] = []
    rectified = False
    for layer in layers:
        if isinstance(layer, nn.Flatten):
            h = h.reshape(h.shape[0], h.shape[1], -1)
        elif isinstance(layer, nn.ReLU):
            h, rectified = torch.relu(h), True
        else:
            weight = next(pieces)
            bias = next(pieces) if layer.bias is not None else None
            linear.append((weight, bias, h, rectified))
            rectified = False
            product = torch.bmm(h, weight.transpose(1, 2))
            h = product if bias is None else product.add_(bias.unsqueeze(1))
    batch = y.shape[1]
    log_p = torch.log_softmax(h, dim=2)
    losses = -log_p.gather(2, y.unsqueeze(2)).squeeze(2).mean(dim=1)
    delta = log_p.exp_()
    delta.scatter_add_(2, y.unsqueeze(2), torch.full_like(delta[..., :1], -1.0)).div_(batch)
    grads: list[Tensor] = []
    for index in range(len(linear) - 1, -1, -1):
        weight, bias, h_in, after_relu = linear[index]
        if bias is not None:
            grads.append(delta.sum(dim=1))
        grads.append(torch.bmm(delta.transpose(1, 2), h_in))
        if index:
            delta = torch.bmm(delta, weight)
            if after_relu:  # ReLU's own backward kernel (measured 5× a multiply by a mask)
                delta = torch.ops.aten.threshold_backward(delta, h_in, 0.0)
    return losses, grads[::-1]


def _nudge(grads: list[Tensor], bases: Tensor, coefficients: Tensor) -> list[Tensor]:
    """Per member g_k − c_k P_k (P_kᵀ g_k), c_k = 1 − γ_k (0 for plain SGD members), on the
    flat gradients (A, d) split back into the parameter blocks."""
    flat = torch.cat([g.reshape(g.shape[0], -1) for g in grads], dim=1)
    along = torch.einsum("adk,ad->ak", bases, flat)
    flat = flat - coefficients[:, None] * torch.einsum("adk,ak->ad", bases, along)
    pieces = flat.split([g[0].numel() for g in grads], dim=1)
    return [p.reshape(g.shape) for p, g in zip(pieces, grads, strict=True)]


def _epoch(
    ensemble: Ensemble,
    active: list[int],
    etas: Tensor,
    batch: int,
    nudge: tuple[Tensor, Tensor] | None,
    at_step: Callable[[int, list[int]], None] | None = None,
    measure_after: Sequence[int] = (),
) -> Tensor:
    """One epoch of ⌊N/S⌋ steps for the ``active`` members; per member the 0-based step of
    divergence within the epoch, or −1. Members diverge independently: from its first bad
    step on, a member's step size is 0 (its parameters are frozen; a non-finite gradient can
    still turn them NaN, but the batched products never mix members, so that stays in its
    own row and is never read: its record was fixed at the bad step). After step k for k in
    ``measure_after`` the members' parameters are written back and ``at_step(k, members)``
    is called with the active members that have not diverged."""
    device = ensemble.device
    n = ensemble.inputs.shape[0]
    names = list(ensemble.params)
    rows = torch.tensor(active, device=device)
    work = [ensemble.params[k][rows].clone() for k in names]
    velocity = [ensemble.momentum[k][rows] for k in names]
    momentum = ensemble.members[active[0]].config.momentum
    limits = torch.tensor([ensemble.members[i].limit for i in active], device=device)
    orders = torch.stack(
        [torch.randperm(n, generator=ensemble.members[i].generator, device=device) for i in active]
    )
    labels = ensemble.labels[rows]
    gradients_of = member_gradients(ensemble.model)
    shape = (len(active),)
    first_bad = torch.full(shape, -1, dtype=torch.int64, device=device)
    counter = torch.zeros((), dtype=torch.int64, device=device)
    check_every = min(ensemble.members[i].config.check_every for i in active)
    views = [(-1, *([1] * (w.dim() - 1))) for w in work]
    steps = n // batch
    measure_after = set(measure_after)
    for i in range(steps):
        index = orders[:, i * batch : (i + 1) * batch]
        losses, grads = gradients_of(work, ensemble.inputs[index], labels.gather(1, index))
        if nudge is not None:
            grads = _nudge(grads, *nudge)
        with torch.no_grad():
            scale = torch.where(first_bad < 0, -etas, 0.0)  # −η_k, 0 once diverged
            for w, g, v, view in zip(work, grads, velocity, views, strict=True):
                if momentum:  # torch.optim.SGD: v ← g at the first step, then μ v + g
                    if ensemble.epoch == 0 and i == 0:
                        v.copy_(g)
                    else:
                        v.mul_(momentum).add_(g)
                    g = v
                w.addcmul_(g, scale.view(view))
            bad = ~(losses.detach() < limits)
            first_bad = torch.where(bad & (first_bad < 0), counter, first_bad)
        counter += 1
        if (i + 1) % check_every == 0 and bool((first_bad >= 0).all()):
            break
        if at_step is not None and i + 1 in measure_after:
            _write_back(ensemble, rows, work, velocity)
            healthy = [m for m, bad in zip(active, first_bad.tolist(), strict=True) if bad < 0]
            at_step(i + 1, healthy)
    _write_back(ensemble, rows, work, velocity)
    return first_bad.cpu()


def _measure_members(
    ensemble: Ensemble,
    schedule_values: dict[int, tuple[float, int]],
    early: dict[int, list[int]],
    steps: int,
    step: int,
    healthy: list[int],
) -> None:
    """The within-epoch spectrum after ``step`` of each healthy member that asks for one."""
    for i in healthy:
        if step in early[i]:
            member = ensemble.members[i]
            model = ensemble.member_model(i)
            measure_within_epoch(
                model, member.subset, member.config, member.state, step, steps, schedule_values[i]
            )


def _write_back(ensemble: Ensemble, rows: Tensor, work: list[Tensor], velocity: list[Tensor]):
    """Copy the epoch's working parameters and velocities of members ``rows`` back."""
    with torch.no_grad():
        for k, w, v in zip(ensemble.params, work, velocity, strict=True):
            ensemble.params[k][rows] = w.detach()
            ensemble.momentum[k][rows] = v


def _nsgd_bases(ensemble: Ensemble, active: list[int]) -> tuple[Tensor, Tensor] | None:
    """Stacked P_k (A, d, K_max; zero columns pad, zero for SGD members) and 1 − γ_k, each
    member's top eigenvectors from the single run's own function and seed."""
    nsgd = [i for i in active if ensemble.members[i].config.optimizer == "nsgd"]
    if not nsgd:
        return None
    d = sum(p[0].numel() for p in ensemble.params.values())
    width = max(ensemble.members[i].config.nsgd_k for i in nsgd)
    dtype = next(iter(ensemble.params.values())).dtype
    bases = torch.zeros(len(active), d, width, dtype=dtype, device=ensemble.device)
    coefficients = torch.zeros(len(active), dtype=dtype, device=ensemble.device)
    for row, i in enumerate(active):
        member = ensemble.members[i]
        if member.config.optimizer != "nsgd":
            continue
        model = ensemble.member_model(i)
        vectors = nudge_directions(model, member.subset, member.config, member.state)
        basis = torch.linalg.qr(vectors).Q  # as Nudge.set_basis
        bases[row, :, : basis.shape[1]] = basis
        coefficients[row] = 1.0 - member.config.nsgd_gamma
    return bases, coefficients


def train_ensemble(
    configs: Sequence[TrainConfig],
    *,
    device: str = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 30.0,
    skip: Sequence[bool] | None = None,
    on_member: MemberCallback | None = None,
) -> list[Run | None]:
    """Train ``configs`` as one ensemble; each member's :class:`Run` (None where skipped).

    ``on_member(index, run)`` is called as soon as a member finishes. With ``checkpoint``
    set, every member's state is saved there atomically at most every ``checkpoint_every``
    seconds (at an epoch's end) and an ensemble finding it resumes from it. ``skip[k]``
    True leaves member k untrained (its record already exists); the others' numbers do not
    depend on which members are skipped.
    """
    device = resolve_device(device)
    with deterministic(device):
        build = functools.partial(Ensemble, configs, device, data_dir, download)
        return _train(build, checkpoint, checkpoint_every, skip, on_member)


def _train(
    build: Callable[[], Ensemble],
    checkpoint: str | Path | None,
    checkpoint_every: float,
    skip: Sequence[bool] | None,
    on_member: MemberCallback | None,
) -> list[Run | None]:
    started = time.perf_counter()
    ensemble = build()
    ckpt = Path(checkpoint) if checkpoint is not None else None
    if ckpt is not None and ckpt.is_file():
        read = functools.partial(torch.load, map_location=ensemble.device, weights_only=True)
        if load_validated(ckpt, ensemble.load_state_dict, read=read) is None:
            ensemble = build()  # moved aside; a failed load may have half-filled it
    elapsed_before = max((m.state["seconds"] for m in ensemble.members), default=0.0)
    runs: list[Run | None] = [None] * ensemble.size
    members = ensemble.members
    skipped = list(skip) if skip is not None else [False] * ensemble.size
    for i, member in enumerate(members):
        member.done = member.done or skipped[i]

    def seconds() -> float:
        return elapsed_before + time.perf_counter() - started

    previous: dict[int, tuple[Tensor, int]] = {}  # member → its last epoch's (θ, epoch)

    def record_epoch(i: int, entry: dict[str, Any], final: bool) -> bool:
        member = members[i]
        model = ensemble.member_model(i)
        measure = functools.partial(_measure, model, member.subset, member.config, entry["epoch"])
        at_previous = (
            functools.partial(
                measure_at, model, previous[i][0], member.subset, member.config, previous[i][1]
            )
            if i in previous
            else None
        )
        stop = record_epoch_entry(
            member.config, member.state, entry, final, measure, seconds(), None, at_previous
        )
        if member.config.loss_levels:
            previous[i] = (flat_params(model), entry["epoch"])
        return stop

    def finish(i: int) -> None:
        member = members[i]
        member.done = True
        model = ensemble.member_model(i)
        record = finish_record(
            member.config,
            member.state,
            member.diverged_step,
            member.data,
            sum(p.numel() for p in model.parameters()),
            seconds(),
            ensemble.device,
            ensemble_size=ensemble.size,
        )
        runs[i] = Run(record, copy.deepcopy(model))  # the shared module moves on
        if on_member is not None:
            on_member(i, runs[i])

    for i, member in enumerate(members):
        if member.done:
            continue
        if not member.state["history"]:
            model = ensemble.member_model(i)
            initial = {"epoch": 0, "lr": None, "batch": None, "steps": 0}
            initial.update(_evaluation(model, member.data))
            record_epoch(i, initial, final=False)
        config = member.config
        member.limit = config.divergence_ratio * max(
            member.state["history"][0]["train_loss"], 1e-12
        )
        stopped = str(config.stop_at_accuracy) in member.state["at"]
        if (stopped and not config.continue_after_threshold) or ensemble.epoch >= config.epochs:
            finish(i)

    saved_at = -math.inf
    while active := [i for i, m in enumerate(members) if not m.done]:
        epoch = ensemble.epoch + 1
        schedules = [members[i].config.schedule_of().at(epoch - 1) for i in active]
        batch = schedules[0][1]
        dtype = next(iter(ensemble.params.values())).dtype
        etas = torch.tensor([eta for eta, _ in schedules], dtype=dtype, device=ensemble.device)
        nudge = _nsgd_bases(ensemble, active)
        steps = ensemble.inputs.shape[0] // batch
        early = {i: early_steps(members[i].config, epoch, steps) for i in active}
        values = dict(zip(active, schedules, strict=True))
        within = functools.partial(_measure_members, ensemble, values, early, steps)
        measure_after = sorted(set().union(*early.values()))
        first_bad = _epoch(ensemble, active, etas, batch, nudge, within, measure_after).tolist()
        ensemble.epoch = epoch
        for row, i in enumerate(active):
            member = members[i]
            if first_bad[row] >= 0:
                member.diverged_step = member.state["step"] + first_bad[row]
                finish(i)
                continue
            member.state["step"] += steps
            member.state["epoch"] = epoch
            eta, _ = schedules[row]
            entry = {"epoch": epoch, "lr": eta, "batch": batch, "steps": member.state["step"]}
            entry.update(_evaluation(ensemble.member_model(i), member.data))
            stop = record_epoch(i, entry, final=epoch == member.config.epochs)
            if stop or epoch >= member.config.epochs:
                finish(i)
        if ckpt is not None and seconds() - saved_at >= checkpoint_every:
            saved_at = seconds()
            for member in members:
                member.state["seconds"] = saved_at
            write_atomic(ckpt, functools.partial(torch.save, ensemble.state_dict()))
    return runs

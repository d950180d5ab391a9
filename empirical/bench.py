"""``threefactors bench --empirical``: the network code against baselines in the same process.

1. Training throughput (SGD steps per second) of the MLP 40-256-256-10 on MNIST-1D: our
   loop (data on the device, a seeded permutation per epoch, minibatches by index slicing,
   an on-device divergence flag, one intra-op thread for reproducibility) against the usual
   loop (``TensorDataset`` + ``DataLoader(shuffle=True)``, ``loss.item()`` every step),
   timed with torch's default thread count and with one thread.
2. Top-5 Hessian eigenvalues on a fixed 2,000-example subset (1,000 with ``quick``): Lanczos
   with full reorthogonalisation against power iteration with deflation (the PyHessian
   method) at equal accuracy (relative error 1e-3 against a long Lanczos reference),
   counting Hessian–vector products; target ratio ≥ 3.
3. Hessian–vector products per second by each product method and for a 30-column block,
   against curvlinops and PyHessian when installed (:mod:`~threefactors.empirical.hvp_bench`).
4. Ensembles: member-steps per second of nine runs trained together against one after
   another and against ``--jobs 2`` (:mod:`~threefactors.empirical.ensemble_bench`).
5. The Hessian spectral density by SLQ against PyHessian's and curvlinops' at equal products
   on the same trained MLP and 1,000 examples (:mod:`~threefactors.empirical.slq_bench`).
6. The training-loop monitor's overhead at every = 100 and 1,000 steps
   (:mod:`~threefactors.empirical.monitor_bench`).
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from threefactors.empirical import data as datasets
from threefactors.empirical import ensemble_bench, hvp_bench, models, monitor_bench, slq_bench
from threefactors.empirical.train import TrainConfig, deterministic, run_epoch
from threefactors.provenance import provenance


def _ours(config: TrainConfig, data: datasets.Dataset, epochs: int) -> float:
    """Steps per second of the package's loop (``train._epoch``) under its thread policy."""
    model = models.build("mlp", data.input_shape, data.num_classes, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(0)
    with deterministic("cpu"):
        run_epoch(model, optimizer, None, data, generator, config.batch, 1e9, config)  # warm-up
        clock = time.perf_counter()
        for _ in range(epochs):
            run_epoch(model, optimizer, None, data, generator, config.batch, 1e9, config)
        seconds = time.perf_counter() - clock
    return epochs * (data.n_train // config.batch) / seconds


def _dataloader(config: TrainConfig, data: datasets.Dataset, epochs: int, threads: int) -> float:
    """Steps per second of the usual DataLoader loop, logging ``loss.item()`` each step."""
    from torch.utils.data import DataLoader, TensorDataset

    model = models.build("mlp", data.input_shape, data.num_classes, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    loader = DataLoader(
        TensorDataset(data.x_train, data.y_train),
        batch_size=config.batch,
        shuffle=True,
        drop_last=True,
        generator=torch.Generator().manual_seed(0),
    )
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        losses = []
        clock = None
        for epoch in range(epochs + 1):  # the first epoch warms up
            if epoch == 1:
                clock = time.perf_counter()
            for x, y in loader:
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        seconds = time.perf_counter() - clock
    finally:
        torch.set_num_threads(before)
    return epochs * len(loader) / seconds


def _curvature(quick: bool) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Lanczos against power iteration, HVP speed and SLQ, on one partly trained network."""
    from threefactors.empirical.hessian import HessianOperator
    from threefactors.empirical.lanczos import lanczos_vs_power
    from threefactors.empirical.train import train

    config = TrainConfig(lr=0.1, batch=64, epochs=5, stop_at_accuracy=1.0, measure=False)
    model = train(config).model  # a partly trained network, not the random initialisation
    data = datasets.load("mnist1d")
    inputs, targets = datasets.measurement_subset(data, 1000 if quick else 2000)
    with deterministic("cpu"):
        op = HessianOperator(model, F.cross_entropy, inputs, targets)
        eigen = lanczos_vs_power(op, k=5, rel_tol=1e-3, max_iter=300 if quick else 1000)
        hvp = hvp_bench.run(model, inputs[:1000], targets[:1000], quick)
        density = slq_bench.run(model, inputs[:1000], targets[:1000], quick)
    return eigen, hvp, density


def run(quick: bool = False) -> dict[str, Any]:
    """Both benchmarks; JSON-able, with provenance."""
    config = TrainConfig(lr=0.1, batch=64)
    data = datasets.load("mnist1d")
    epochs = 3 if quick else 10
    ours = _ours(config, data, epochs)
    default_threads = torch.get_num_threads()
    usual = _dataloader(config, data, epochs, default_threads)
    usual_one = _dataloader(config, data, epochs, 1)
    training = {
        "model": "mlp 40-256-256-10",
        "batch": config.batch,
        "epochs_timed": epochs,
        "ours_steps_per_s": ours,
        "ours_threads": 1,
        "dataloader_steps_per_s": usual,
        "dataloader_threads": default_threads,
        "dataloader_one_thread_steps_per_s": usual_one,
        "speedup": ours / usual,
        "speedup_one_thread": ours / usual_one,
    }
    eigen, hvp, density = _curvature(quick)
    return {
        "training": training,
        "eigenvalues": eigen,
        "hvp": hvp,
        "ensemble": ensemble_bench.run(quick),
        "density": density,
        "monitor": monitor_bench.run(quick),
        "quick": quick,
        "provenance": provenance({"quick": quick}, 0, "cpu"),
    }


def format_text(result: dict[str, Any]) -> str:
    """Lines a person reads: steps per second and their ratios; HVP counts and their ratio."""
    t, e = result["training"], result["eigenvalues"]
    return "\n".join(
        [
            f"training ({t['model']}, S={t['batch']}, MNIST-1D):",
            f"  ours (tensors on device, 1 thread)   {t['ours_steps_per_s']:8.0f} steps/s",
            f"  DataLoader loop ({t['dataloader_threads']} threads)        "
            f"{t['dataloader_steps_per_s']:8.0f} steps/s   speedup {t['speedup']:.2f}×",
            f"  DataLoader loop (1 thread)           "
            f"{t['dataloader_one_thread_steps_per_s']:8.0f} steps/s   "
            f"speedup {t['speedup_one_thread']:.2f}×",
            f"top-{e['k']} Hessian eigenvalues (d = {e['dim']}, rel. error ≤ {e['rel_tol']:g}):",
            f"  Lanczos          {e['lanczos']['n_matvecs']:6d} HVPs  "
            f"{e['lanczos']['seconds']:7.2f} s  error {e['lanczos']['max_rel_error']:.1e}",
            f"  power+deflation  {e['power']['n_matvecs']:6d} HVPs  "
            f"{e['power']['seconds']:7.2f} s  error {e['power']['max_rel_error']:.1e}",
            f"  HVP ratio {e['matvec_ratio']:.1f}× (target ≥ 3), time ratio {e['time_ratio']:.1f}×",
            *hvp_bench.format_text(result["hvp"]),
            *ensemble_bench.format_text(result["ensemble"]),
            *slq_bench.format_text(result["density"]),
            *monitor_bench.format_text(result["monitor"]),
        ]
    )

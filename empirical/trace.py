"""Stochastic trace estimators for Hessian operators: Hutchinson and Hutch++.

Hutchinson (1989): for Rademacher z (entries ±1 with probability 1/2), E[zᵀ H z] = Tr H and
Var[zᵀ H z] = 2 (|H|_F² − Σ_i H_ii²). With m probes, T̂ = (1/m) Σ_j z_jᵀ H z_j and its standard
error is estimated from the probes themselves, se = sd(z_jᵀ H z_j) / sqrt(m).

Hutch++ (Meyer, Musco, Musco, Woodruff, SOSA 2021, arXiv 2010.09649, Algorithm 1): with m
products split in three equal parts of n = m/3, take Q = orth(H S) for a Rademacher d × n
block S, then

    T̂ = Tr(Qᵀ H Q) + (1/n) Σ_j g_jᵀ (I − QQᵀ) H (I − QQᵀ) g_j,

exact on the top-n subspace and Hutchinson on the deflated rest: error O(1/m) instead of
O(1/sqrt(m)) when the spectrum decays. Its standard error is that of the Hutchinson part,
sd(g_jᵀ (I − QQᵀ) H (I − QQᵀ) g_j)/sqrt(n) (the first term is deterministic given Q).

Probes are drawn on the CPU from a seeded generator, so the same seed gives the same probes
on any device and thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from threefactors.empirical.linear_operator import LinearOperator
from threefactors.errors import require


@dataclass(frozen=True)
class TraceEstimate:
    """An estimate of Tr H with its standard error, from ``probes`` Hessian–vector products."""

    value: float
    stderr: float
    probes: int


def rademacher(dim: int, count: int, seed: int) -> Tensor:
    """A (dim, count) float64 block of independent ±1 entries (seeded, CPU)."""
    generator = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (dim, count), generator=generator, dtype=torch.int64)
    return (2 * bits - 1).to(torch.float64)


def _apply(op: LinearOperator, vectors: Tensor) -> Tensor:
    """H V for a float64 block V on the operator's device, in float64."""
    return op.matmat(vectors.to(op.dtype)).to(torch.float64)


def _quadratic_forms(op: LinearOperator, vectors: Tensor) -> Tensor:
    """z_jᵀ H z_j for each column z_j (float64, on the CPU)."""
    return (vectors * _apply(op, vectors)).sum(dim=0).cpu()


def mean_and_stderr(values: Tensor) -> tuple[float, float]:
    """Mean of independent samples and its standard error sd/sqrt(m) (inf for one sample)."""
    m = values.numel()
    stderr = float(values.std(correction=1)) / math.sqrt(m) if m > 1 else math.inf
    return float(values.mean()), stderr


def hutchinson(op: LinearOperator, probes: int = 10, seed: int = 0) -> TraceEstimate:
    """Tr H by Hutchinson's estimator with ``probes`` Rademacher vectors."""
    require(int(probes) == probes and probes >= 1, "probes", probes, "need an integer ≥ 1")
    probe_block = rademacher(op.dim, probes, seed).to(op.device)
    value, stderr = mean_and_stderr(_quadratic_forms(op, probe_block))
    return TraceEstimate(value, stderr, int(probes))


def hutchpp(op: LinearOperator, matvecs: int = 30, seed: int = 0) -> TraceEstimate:
    """Tr H by Hutch++ with ``matvecs`` products (rounded down to a multiple of 3)."""
    require(int(matvecs) == matvecs and matvecs >= 3, "matvecs", matvecs, "need ≥ 3")
    n = int(matvecs) // 3
    block = rademacher(op.dim, 2 * n, seed).to(op.device)
    sketch, probes = block[:, :n], block[:, n:]
    q, _ = torch.linalg.qr(_apply(op, sketch))
    low_rank = float(_quadratic_forms(op, q).sum())
    deflated = probes - q @ (q.T @ probes)
    value, stderr = mean_and_stderr(_quadratic_forms(op, deflated))
    return TraceEstimate(low_rank + value, stderr, 3 * n)

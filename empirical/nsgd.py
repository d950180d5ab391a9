"""Nudged SGD (Jastrzębski et al., ICLR 2019, arXiv 1807.05031, §5).

The step along the K sharpest directions is scaled by γ:

    θ ← θ − η [ (I − P Pᵀ) g + γ P Pᵀ g ] = θ − η [ g − (1 − γ) P (Pᵀ g) ],

with P ∈ R^{d×K} the orthonormal top-K Hessian eigenvectors, recomputed every epoch on the
measurement subset. γ < 1 damps the sharpest directions, γ > 1 amplifies them, γ = 1 is SGD.
The nudge acts on the minibatch gradient before the optimizer step, so momentum (if any)
sees the nudged gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from threefactors.errors import check_positive, require


def nudge_vector(gradient: Tensor, basis: Tensor, gamma: float) -> Tensor:
    """g − (1 − γ) P (Pᵀ g) for a flat gradient g (d,) and orthonormal P (d, K)."""
    return gradient - (1.0 - gamma) * (basis @ (basis.T @ gradient))


class Nudge:
    """Applies :func:`nudge_vector` to a model's ``.grad`` fields in place."""

    def __init__(self, gamma: float, k: int) -> None:
        check_positive("nsgd-gamma", gamma)
        require(int(k) == k and k >= 1, "nsgd-k", k, "must be an integer ≥ 1")
        self.gamma, self.k = float(gamma), int(k)
        self.basis: Tensor | None = None

    def set_basis(self, eigenvectors: Tensor) -> None:
        """Use the columns of ``eigenvectors`` (d, K), orthonormalised by QR, as P."""
        self.basis = torch.linalg.qr(eigenvectors).Q

    def apply(self, model: nn.Module) -> None:
        """Replace each parameter's gradient by its part of the nudged flat gradient."""
        if self.basis is None:
            raise RuntimeError("Nudge.apply called before set_basis")
        params = [p for p in model.parameters() if p.grad is not None]
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        nudged = nudge_vector(flat, self.basis, self.gamma)
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(nudged[offset : offset + n].view_as(p.grad))
            offset += n

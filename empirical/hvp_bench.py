"""Hessian–vector products per second, ours against the peers, in one process.

On the trained MLP 40-256-256-10 (79k parameters) and 1,000 examples of MNIST-1D, one
thread: single products by each of :class:`~threefactors.empirical.hessian.HessianOperator`'s
methods (forward-over-reverse was the default before the kept gradient graph), and a
30-column block (``matmat``, Hutchinson's and Hutch++'s access pattern). With the optional
``bench`` extra installed, curvlinops' ``HessianLinearOperator`` (vmapped blocks; Dangel et
al., github.com/f-dangel/curvlinops) and PyHessian's kept-graph product (Yao et al. 2020,
arXiv 1912.07145) are timed on the same model and vectors; a peer that is not installed is
reported as absent (None), never guessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from threefactors.empirical.hessian import (
    FORWARD_OVER_REVERSE,
    GRADIENT_GRAPH,
    REVERSE_OVER_REVERSE,
    HessianOperator,
)

BLOCK = 30


def _rate(product: Callable[[], Any], columns: int, repeats: int) -> float:
    """Columns multiplied per second (one warm-up call, then ``repeats`` timed calls)."""
    product()
    clock = time.perf_counter()
    for _ in range(repeats):
        product()
    return columns * repeats / (time.perf_counter() - clock)


def _curvlinops(model: nn.Module, inputs: Tensor, targets: Tensor, block: Tensor, repeats: int):
    try:
        from curvlinops import HessianLinearOperator
    except ImportError:
        return None
    params = list(model.parameters())
    op = HessianLinearOperator(model, nn.CrossEntropyLoss(), params, [(inputs, targets)])
    return {
        "hvp_per_s": _rate(lambda: op @ block[:, :1], 1, repeats),
        "block_columns_per_s": _rate(lambda: op @ block, BLOCK, max(1, repeats // 10)),
    }


def _pyhessian(model: nn.Module, inputs: Tensor, targets: Tensor, block: Tensor, repeats: int):
    try:
        from pyhessian import hessian
        from pyhessian.utils import hessian_vector_product
    except ImportError:
        return None
    peer = hessian(model, nn.CrossEntropyLoss(), data=(inputs, targets), cuda=False)
    pieces = [
        c.view_as(p)
        for c, p in zip(
            block[:, 0].split([p.numel() for p in peer.params]), peer.params, strict=True
        )
    ]

    def one() -> None:
        hessian_vector_product(peer.gradsH, peer.params, pieces)

    return {"hvp_per_s": _rate(one, 1, repeats)}


def run(model: nn.Module, inputs: Tensor, targets: Tensor, quick: bool) -> dict[str, Any]:
    """HVP/s per method, 30-column block columns/s, and the peers' figures (or None)."""
    repeats = 10 if quick else 30
    model.eval()
    dim = sum(p.numel() for p in model.parameters())
    block = torch.randn(dim, BLOCK, generator=torch.Generator().manual_seed(0))
    ours: dict[str, float] = {}
    for method in (FORWARD_OVER_REVERSE, REVERSE_OVER_REVERSE, GRADIENT_GRAPH):
        op = HessianOperator(model, F.cross_entropy, inputs, targets, method=method)
        ours[method] = _rate(lambda op=op: op.matvec(block[:, 0]), 1, repeats)
    op = HessianOperator(model, F.cross_entropy, inputs, targets)
    block_rate = _rate(lambda: op.matmat(block), BLOCK, max(1, repeats // 10))
    curvlinops = _curvlinops(model, inputs, targets, block, repeats)
    pyhessian = _pyhessian(model, inputs, targets, block, repeats)
    return {
        "dim": dim,
        "n_examples": int(inputs.shape[0]),
        "hvp_per_s": ours,
        "speedup_vs_forward_over_reverse": ours[GRADIENT_GRAPH] / ours[FORWARD_OVER_REVERSE],
        "block_columns": BLOCK,
        "block_columns_per_s": block_rate,
        "curvlinops": curvlinops,
        "pyhessian": pyhessian,
        "block_vs_curvlinops": None
        if curvlinops is None
        else block_rate / curvlinops["block_columns_per_s"],
    }


def format_text(result: dict[str, Any]) -> list[str]:
    """Lines for ``bench --empirical``'s text output."""
    rates = result["hvp_per_s"]
    lines = [f"Hessian–vector products (d = {result['dim']}, {result['n_examples']} examples):"]
    lines += [f"  {method:22s} {rate:8.1f} HVP/s" for method, rate in rates.items()]
    lines.append(
        f"  gradient-graph / forward-over-reverse {result['speedup_vs_forward_over_reverse']:.2f}×"
        f" (target ≥ 1.8)"
    )
    lines.append(
        f"  {result['block_columns']}-column block      {result['block_columns_per_s']:8.1f} cols/s"
    )
    for peer in ("curvlinops", "pyhessian"):
        figures = result[peer]
        if figures is None:
            lines.append(f"  {peer}: not installed (pip install threefactors[bench])")
        else:
            text = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
            lines.append(f"  {peer}: {text}")
    if result["block_vs_curvlinops"] is not None:
        lines.append(f"  block vs curvlinops {result['block_vs_curvlinops']:.2f}× (target ≥ 1)")
    return lines

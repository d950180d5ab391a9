"""The Hessian spectral density by SLQ, ours against PyHessian's and curvlinops', in one process.

Same model, same examples, same number of Hessian–vector products (probes × Lanczos steps),
one thread; each timed from its own operator's construction (a kept gradient graph for ours
and PyHessian's) to the Gauss rules or density:
- ours: :func:`~threefactors.empirical.slq.spectral_density` (full reorthogonalisation);
- PyHessian 0.1 (Yao et al. 2020, arXiv 1912.07145): ``hessian.density(iter, n_v)``
  (Rademacher probes, full reorthogonalisation). It calls ``torch.eig``, removed in torch
  1.9+ (2.x raises): the failure is reported, then it is timed with ``torch.eig`` supplied for
  the call by ``torch.linalg.eigh`` on its symmetric tridiagonal (the only change; said so in
  the result);
- curvlinops (Dangel et al., github.com/f-dangel/curvlinops):
  ``lanczos_approximate_spectrum`` (Papyan 2020, no reorthogonalisation) on its
  ``HessianLinearOperator``, given our nodes' span as spectral boundaries so that it spends
  no products on estimating them.
A peer that is not installed is reported as absent (None), never guessed.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from threefactors.empirical.hessian import HessianOperator
from threefactors.empirical.slq import spectral_density


def _ours(model: nn.Module, inputs: Tensor, targets: Tensor, probes: int, steps: int) -> dict:
    clock = time.perf_counter()
    op = HessianOperator(model, F.cross_entropy, inputs, targets)
    density = spectral_density(op, probes=probes, steps=steps)
    seconds = time.perf_counter() - clock
    return {
        "seconds": seconds,
        "n_matvecs": density.n_matvecs,
        "span": [float(density.nodes.min()), float(density.nodes.max())],
        "mean_eigenvalue": density.moment(1)[0],
    }


@contextlib.contextmanager
def _legacy_eig() -> Iterator[None]:
    """``torch.eig(T, eigenvectors=True)`` for a symmetric T, by ``torch.linalg.eigh``: the
    eigenvalues as the (n, 2) real/imaginary pairs torch < 1.9 returned."""

    def eig(matrix: Tensor, eigenvectors: bool = False) -> tuple[Tensor, Tensor]:
        values, vectors = torch.linalg.eigh(matrix)
        return torch.stack([values, torch.zeros_like(values)], dim=1), vectors

    had = hasattr(torch, "eig")
    previous = getattr(torch, "eig", None)
    torch.eig = eig
    try:
        yield
    finally:
        if had:
            torch.eig = previous
        else:
            del torch.eig


def _pyhessian(model: nn.Module, inputs: Tensor, targets: Tensor, probes: int, steps: int):
    try:
        from pyhessian import hessian
    except ImportError:
        return None

    def run() -> tuple[float, list]:
        clock = time.perf_counter()
        peer = hessian(model, nn.CrossEntropyLoss(), data=(inputs, targets), cuda=False)
        nodes, _ = peer.density(iter=steps, n_v=probes)
        return time.perf_counter() - clock, nodes

    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its backward(create_graph=True) warns
        torch.manual_seed(0)
        try:
            run()
            as_is = "ran"
        except RuntimeError as err:  # torch.eig removed
            as_is = f"fails on torch {torch.__version__}: {str(err).splitlines()[0][:90]}"
        with _legacy_eig():
            seconds, nodes = run()
    model.zero_grad(set_to_none=True)  # PyHessian's backward(create_graph=True) filled .grad
    flat = [float(v) for row in nodes for v in row]
    return {
        "seconds": seconds,
        "n_matvecs": probes * steps,
        "span": [min(flat), max(flat)],
        "as_is": as_is,
        "change": None if as_is == "ran" else "torch.eig supplied by torch.linalg.eigh",
    }


def _curvlinops(
    model: nn.Module, inputs: Tensor, targets: Tensor, probes: int, steps: int, span: list
):
    try:
        from curvlinops import HessianLinearOperator
        from curvlinops.papyan2020traces.spectrum import lanczos_approximate_spectrum
    except ImportError:
        return None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        clock = time.perf_counter()
        op = HessianLinearOperator(
            model,
            nn.CrossEntropyLoss(),
            list(model.parameters()),
            [(inputs, targets)],
            check_deterministic=False,
        )
        lanczos_approximate_spectrum(op, steps, num_repeats=probes, boundaries=tuple(span))
        seconds = time.perf_counter() - clock
    return {"seconds": seconds, "n_matvecs": probes * steps}


def run(model: nn.Module, inputs: Tensor, targets: Tensor, quick: bool) -> dict[str, Any]:
    """Seconds of each density estimator at equal products, and ours / peer speed-ups."""
    probes, steps = (2, 30) if quick else (5, 80)
    model.eval()
    ours = _ours(model, inputs, targets, probes, steps)
    peers = {
        "pyhessian": _pyhessian(model, inputs, targets, probes, steps),
        "curvlinops": _curvlinops(model, inputs, targets, probes, steps, ours["span"]),
    }
    return {
        "dim": sum(p.numel() for p in model.parameters()),
        "n_examples": int(inputs.shape[0]),
        "probes": probes,
        "steps": steps,
        "ours": ours,
        **peers,
        "speedup": {
            name: None if peer is None else peer["seconds"] / ours["seconds"]
            for name, peer in peers.items()
        },
    }


def format_text(result: dict[str, Any]) -> list[str]:
    """Lines for ``bench --empirical``'s text output."""
    lines = [
        f"Hessian spectral density (SLQ, d = {result['dim']}, {result['n_examples']} examples, "
        f"{result['probes']} probes × {result['steps']} steps = "
        f"{result['ours']['n_matvecs']} HVPs each):",
        f"  ours             {result['ours']['seconds']:7.2f} s",
    ]
    for peer in ("pyhessian", "curvlinops"):
        figures = result[peer]
        if figures is None:
            lines.append(f"  {peer}: not installed (pip install threefactors[bench])")
            continue
        lines.append(
            f"  {peer:16s} {figures['seconds']:7.2f} s   {peer} / ours "
            f"{result['speedup'][peer]:.2f}×"
        )
        if figures.get("change"):
            lines.append(f"    as is it {figures['as_is']}; timed with {figures['change']}")
    return lines

"""SGD → SDE → Fokker–Planck → stationary density, derived symbolically and verified.

SGD θ ← θ − η g_S, E[g_S] = ∇L, Cov[g_S] = f C(θ) with f = 1/S (with replacement) or
f = (N − S)/(S(N − 1)) (without replacement, N examples). Matching the first two moments of
one step over time η (t = kη; Li, Tai, E, arXiv 1511.06251; Three Factors, arXiv 1711.04623):
  dθ = b(θ) dt + sqrt(2D) dW,   b = −∇L  (order 2: b = −∇(L + (η/4)|∇L|²)),
  D = (η f / 2) C(θ)                       (the diffusion matrix; 2D = η f C),
  ∂p/∂t = −Σ_i ∂_i(b_i p) + Σ_ij ∂_i ∂_j (D_ij p).
Stationary law: zero probability flux b_i p − Σ_j ∂_j(D_ij p) = 0 with p = e^{−Φ} gives
∇Φ = D⁻¹(∇·D − b), solvable when that field is curl-free. Isotropic C = σ² I:
Φ = L/T, T = η f σ²/2 (= ησ²/(2S) with replacement), so only η/S enters. The density is
*verified* by substituting it into the Fokker–Planck operator and simplifying to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.matrices.exceptions import NonInvertibleMatrixError

from threefactors.deadline import time_limit as deadline
from threefactors.errors import InputError, check_batch, check_positive, require
from threefactors.theory.formula import BATCH, ETA, EXAMPLES, SIGMA, TIME, Formula
from threefactors.theory.landscape import Landscape
from threefactors.theory.setting import noise_factor
from threefactors.theory.setting import temperature as sgd_temperature

NOISE_MODELS = ("isotropic", "hessian")


@dataclass
class Derivation:
    """The SDE of SGD on a landscape, its Fokker–Planck equation and stationary density.

    ``fp_residual`` is the stationary Fokker–Planck operator applied to the density, divided
    by it and simplified; ``verified`` is True only when that is exactly 0.
    ``eta_over_s_only`` is True when the density is unchanged by (η, S) → (βη, βS).
    """

    landscape: Landscape
    noise: str
    drift: Formula
    diffusion: Formula
    noise_covariance: Formula
    fokker_planck: Formula
    stationary_density: Formula
    temperature: Formula
    fp_residual: sp.Expr
    verified: bool
    eta_over_s_only: bool
    note: str = ""
    fokker_planck_conservative: Formula | None = None

    @property
    def conservative_text(self) -> str:
        """The Fokker–Planck equation in vector notation, as a researcher writes it."""
        tilde = "L̃" if self.order == 2 else "L"
        modified = ",  L̃ = L + (η/4)|∇L|²" if self.order == 2 else ""
        if self.noise == "isotropic":
            return f"∂p/∂t = ∇·(∇{tilde} p) + T Δp{modified}"
        return f"∂p/∂t = ∇·(∇{tilde} p + ∇·(D p)),  D = (ησ²/2S)∇²L{modified}"

    @property
    def order(self) -> int:
        return 2 if ETA in self.drift.expr.free_symbols else 1


def batch_factor(replacement: bool = True, examples: int | None = None) -> sp.Expr:
    """f with Cov[g_S] = f C: 1/S with replacement, (N − S)/(S(N − 1)) without."""
    if replacement:
        return noise_factor(BATCH)
    n = EXAMPLES if examples is None else sp.Integer(check_batch(examples, None, "examples"))
    return noise_factor(BATCH, n, replacement=False)


def noise_covariance(landscape: Landscape, noise: str) -> sp.Matrix:
    """C(θ): σ² I (isotropic) or σ² ∇²L(θ) (curvature-shaped)."""
    require(noise in NOISE_MODELS, "noise", noise, f"one of {', '.join(NOISE_MODELS)}")
    if noise == "isotropic":
        return SIGMA**2 * sp.eye(landscape.dim)
    return SIGMA**2 * landscape.hessian


def _potential(field: sp.Matrix, coords: tuple[sp.Symbol, ...]) -> sp.Expr | None:
    """Φ with ∇Φ = field, or None if the field is not curl-free (no zero-flux solution)."""
    d = len(coords)
    for i in range(d):
        for j in range(i + 1, d):
            curl = sp.simplify(sp.diff(field[i], coords[j]) - sp.diff(field[j], coords[i]))
            if curl != 0:
                return None
    phi = sp.Integer(0)
    for i, c in enumerate(coords):
        rest = sp.simplify(field[i] - sp.diff(phi, c))
        phi += sp.integrate(rest, c)
    return sp.simplify(phi)


#: Seconds :func:`derive` may spend before it refuses the loss: the residual's
#: simplification takes 0.3–4 s for the losses in docs/ and tests/ on a loaded 2-core
#: machine, and minutes for a 199-term sum of sines or a 7-deep tanh nest.
TIME_LIMIT = 60.0


def derive(
    landscape: Landscape,
    noise: str = "isotropic",
    replacement: bool = True,
    examples: int | None = None,
    order: int = 1,
    time_limit: float | None = TIME_LIMIT,
) -> Derivation:
    """Derive drift, diffusion, Fokker–Planck operator and stationary density (module doc).

    ``order=2`` uses the order-2 modified-equation drift −∇(L + (η/4)|∇L|²)
    (Li, Tai, E, arXiv 1811.01558). With ``replacement=False`` the finite number of examples
    is ``examples`` (symbol N when None). Work past ``time_limit`` seconds is refused
    (InputError naming ``loss``; :mod:`threefactors.deadline`).
    """
    require(order in (1, 2), "order", order, "1 or 2")
    require(noise in NOISE_MODELS, "noise", noise, f"one of {', '.join(NOISE_MODELS)}")
    with deadline(time_limit, "loss", str(landscape.loss), "the symbolic derivation"):
        return _derive(landscape, noise, replacement, examples, order)


def _derive(
    landscape: Landscape, noise: str, replacement: bool, examples: int | None, order: int
) -> Derivation:
    coords = landscape.coords
    # derive with exact rationals (binary values of typed floats) so cancellations are exact;
    # results are shown with floats again when the loss had any
    floats = landscape.loss.atoms(sp.Float)
    loss = landscape.loss.xreplace({v: sp.Rational(v) for v in floats})
    modified = modified_loss(loss, coords) if order == 2 else loss
    drift = -sp.Matrix([sp.diff(modified, c) for c in coords])
    f = batch_factor(replacement, examples)
    cov = SIGMA**2 * (sp.eye(len(coords)) if noise == "isotropic" else sp.hessian(loss, coords))
    diff_matrix = sp.simplify(ETA * f / 2 * cov)
    p = sp.Function("p")(*coords, TIME)

    def operator(density: sp.Expr) -> sp.Expr:
        return -sum(sp.diff(drift[i] * density, c) for i, c in enumerate(coords)) + sum(
            sp.diff(diff_matrix[i, j] * density, ci, cj)
            for i, ci in enumerate(coords)
            for j, cj in enumerate(coords)
        )

    temperature = sp.simplify(sgd_temperature(ETA, SIGMA, f))
    # conservative form ∂p/∂t = ∇·(−b p + ∇·(D p)), derivatives left unevaluated
    if noise == "isotropic":
        conservative = sum(
            sp.Derivative(-drift[i] * p, c) + temperature * sp.Derivative(p, (c, 2))
            for i, c in enumerate(coords)
        )
    else:
        conservative = sum(
            sp.Derivative(
                -drift[i] * p
                + sum(sp.Derivative(diff_matrix[i, j] * p, cj) for j, cj in enumerate(coords)),
                ci,
            )
            for i, ci in enumerate(coords)
        )
    if noise == "isotropic" and order == 1:
        phi = loss / temperature
    else:
        div = sp.Matrix(
            [
                sum(sp.diff(diff_matrix[i, j], c) for j, c in enumerate(coords))
                for i in range(len(coords))
            ]
        )
        try:
            inverse = diff_matrix.inv()
        except NonInvertibleMatrixError:
            raise InputError(
                "noise",
                noise,
                f"∇²L of {landscape.loss} is singular everywhere (det = 0): D = ηfσ²∇²L/2 "
                "has no inverse, so no stationary density e^(−Φ); use isotropic noise",
            ) from None
        phi = _potential(sp.simplify(inverse * (div - drift)), coords)
        phi = loss / temperature if phi is None else phi
    density = sp.exp(-phi)
    residual = sp.simplify(sp.expand(operator(density) / density))
    beta = sp.Symbol("beta", positive=True)
    scaled = density.subs({ETA: beta * ETA, BATCH: beta * BATCH}, simultaneous=True)
    invariant = sp.simplify(sp.log(scaled) - sp.log(density)) == 0
    params = (*coords, ETA, BATCH, SIGMA)

    def shown(expr: Any) -> Any:
        """Typed floats back as floats (rationals born of them, e.g. 8·c, as 15-digit floats)."""
        expr = expr.xreplace({sp.Rational(v): v for v in floats})
        return expr.xreplace({r: sp.Float(r, 15) for r in expr.atoms(sp.Rational) if r.q > 10**6})

    return Derivation(
        landscape=landscape,
        noise=noise,
        drift=Formula(shown(drift), params),
        diffusion=Formula(diff_matrix, params),
        noise_covariance=Formula(2 * diff_matrix, params),
        fokker_planck=Formula(shown(sp.Eq(sp.Derivative(p, TIME), operator(p))), ()),
        fokker_planck_conservative=Formula(shown(sp.Eq(sp.Derivative(p, TIME), conservative)), ()),
        stationary_density=Formula(shown(density), params),
        temperature=Formula(temperature, (ETA, BATCH, SIGMA)),
        fp_residual=residual,
        verified=residual == 0,
        eta_over_s_only=bool(invariant),
        note=""
        if noise == "isotropic"
        else "C = σ²∇²L is a covariance only where ∇²L ⪰ 0: the density holds there",
    )


def modified_loss(loss: sp.Expr, coords: tuple[sp.Symbol, ...]) -> sp.Expr:
    """L̃ = L + (η/4)|∇L|², whose gradient flow is the drift of the second-order stochastic
    modified equation of SGD (Li, Tai & E, ICML 2017, arXiv 1511.06251), η the symbol ETA."""
    return loss + ETA / 4 * sum(sp.diff(loss, c) ** 2 for c in coords)


def modified_landscape(landscape: Landscape, eta: float) -> Landscape:
    """The landscape L̃ = L + (η/4)|∇L|² at a learning rate ``eta``: the order-2 modified
    equation dθ = −∇L̃ dt + sqrt(2D) dW is the SDE of this landscape (same diffusion), so
    every view runs it as it runs any other loss."""
    check_positive("lr", eta)
    expr = sp.expand(modified_loss(landscape.loss, landscape.coords).subs(ETA, sp.Float(eta)))
    return Landscape(
        expr,
        landscape.coords,
        {},
        f"{landscape.name} + ({eta:g}/4)|∇L|²",
        landscape.box,
    )

"""Derive and typeset the SDE, Fokker–Planck equation and Gibbs law of a typed landscape.

Type a loss as text; `tf.theory.derive` turns SGD on it into the Itô SDE of SGD (drift
−∇L, diffusion D = ησ²/(2S) for isotropic noise), its Fokker–Planck equation and the
stationary density, and checks the density by substituting it into the Fokker–Planck
operator and simplifying the residual to exactly 0 (see [the theory](../theory.md#the-sde-of-sgd)).
Every result is a `Formula`: a sympy expression, its LaTeX (printed below, ready to paste
into a paper, and typeset on this page) and a fast numerical callable.

With curvature-shaped noise (C = σ²H) the diffusion varies with x; the derivation finds
the stationary density for that case too and states where it holds.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

import threefactors as tf

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")  # nothing here depends on it

land = tf.Landscape.from_string("(x**2 - 1)**2 + a*x", params={"a": 0.3})
result = tf.theory.derive(land)
print("loss:", land.loss)
print("drift b(x) =", result.drift)
print("diffusion D =", result.diffusion)
print("temperature T =", result.temperature)
print("Fokker–Planck:", result.conservative_text)
print("stationary density verified (FP residual = 0):", result.verified)
print("depends on eta and S only through eta/S:", result.eta_over_s_only)

print("\nLaTeX:")
print(f"$$ b(x) = {result.drift.latex} \\qquad D = {result.diffusion.latex} $$")
print(f"$$ {result.fokker_planck.latex} $$")
density, temperature = result.stationary_density.latex, result.temperature.latex
print(f"$$ p_s(x) \\propto {density}, \\qquad T = {temperature} $$")

curved = tf.theory.derive(land, noise="hessian")
print("\nnoise C = sigma^2 H: density verified:", curved.verified, "|", curved.note)

# The density as a numerical function: the Formula's callable over its symbols.
density = result.stationary_density
print("density's arguments:", density.symbols)
x = np.linspace(-1.8, 1.6, 400)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for eta in (0.1, 0.3, 1.0):
    setting = tf.SGDSetting(eta=eta, batch_size=1, sigma=1.0)
    values = {"x": x, "eta": eta, "S": 1, "sigma": 1.0}
    p = density.callable(*(values[s.name] for s in density.symbols))
    ax.plot(x, p / np.trapezoid(p, x), label=f"η = {eta:g}, T = {setting.temperature:.2f}")
ax.set_xlabel("x")
ax.set_ylabel("stationary density p_s(x)")
ax.set_title("Gibbs law exp(−L/T) of L = (x²−1)² + 0.3x")
ax.legend()
plt.show()

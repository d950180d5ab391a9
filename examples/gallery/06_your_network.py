"""λ_max and the gradient-noise scale of your own network.

Any `torch.nn.Module` and loss work: `tf.empirical.HessianOperator` gives Hessian–vector
products H v without ever forming H, `tf.empirical.lanczos` its top eigenvalues
(λ_max, the sharpest direction), `tf.empirical.hutchinson` the trace Tr H, and
`tf.empirical.gradient_noise` the per-example gradient covariance: Tr C, |g|² and the
simple noise scale B_simple = Tr C / |g|² (see [real networks](../theory.md#real-networks)).
Here a small MLP learns a synthetic classification task with plain SGD at η = 0.5; every
few epochs we measure λ_max against 2/η, the edge beyond which a gradient step of size η
is unstable along the sharpest direction of a quadratic basin.
"""

import os

import matplotlib.pyplot as plt
import torch
from torch import nn

import threefactors as tf

SIZE = os.environ.get("THREEFACTORS_GALLERY_SIZE", "small")
EXAMPLES, EPOCHS = (512, 12) if SIZE == "small" else (4096, 40)
ETA, BATCH = 0.5, 32

torch.manual_seed(0)
inputs = torch.randn(EXAMPLES, 10)
teacher = torch.randn(10, 3)
targets = (inputs @ teacher + 0.5 * torch.randn(EXAMPLES, 3)).argmax(dim=1)
model = nn.Sequential(nn.Linear(10, 64), nn.Tanh(), nn.Linear(64, 3))
loss_fn = nn.functional.cross_entropy
optimizer = torch.optim.SGD(model.parameters(), lr=ETA)

history = []
print(f"2/η = {2 / ETA:.1f}; Lanczos top-3 eigenvalues, Hutchinson Tr H ± se, noise Tr C, B_simple")
print("epoch   loss   λ_max  top-3                   Tr H          Tr C    B_simple")
for epoch in range(EPOCHS + 1):
    if epoch % 2 == 0:  # measure: the operator is a snapshot of the current parameters
        hessian = tf.empirical.HessianOperator(model, loss_fn, inputs, targets)
        top = tf.empirical.lanczos(hessian, k=3, steps=20, seed=epoch)
        trace = tf.empirical.hutchinson(hessian, probes=20, seed=epoch)
        noise = tf.empirical.gradient_noise(model, loss_fn, inputs, targets)
        with torch.no_grad():
            loss = float(loss_fn(model(inputs), targets))
        history.append((epoch, loss, float(top.eigenvalues[0]), noise.noise_scale))
        eigenvalues = ", ".join(f"{float(v):.3f}" for v in top.eigenvalues)
        print(
            f"{epoch:5d}  {loss:.3f}  {top.eigenvalues[0]:.3f}  [{eigenvalues}]  "
            f"{trace.value:5.2f} ± {trace.stderr:.2f}  {noise.trace_cov:6.3f}  "
            f"{noise.noise_scale:7.1f}"
        )
    for batch in torch.randperm(EXAMPLES).split(BATCH):
        optimizer.zero_grad()
        loss_fn(model(inputs[batch]), targets[batch]).backward()
        optimizer.step()

epochs, losses, lambda_max, noise_scale = zip(*history, strict=True)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
left.plot(epochs, lambda_max, "o-", label="λ_max (Lanczos)")
left.axhline(2 / ETA, color="grey", ls="--", label="2/η")
left.set_xlabel("epoch")
left.set_ylabel("λ_max")
left.legend()
right.semilogy(epochs, noise_scale, "o-", color="C2")
right.set_xlabel("epoch")
right.set_ylabel("B_simple = Tr C / |g|²")
right.set_title(f"noise scale (batch size S = {BATCH})")
plt.show()
print(f"each Lanczos run: {top.n_matvecs} Hessian–vector products, model in {hessian.mode} mode")

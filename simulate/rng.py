"""A fast, reproducible random generator for numba kernels: xoshiro256++ and a ziggurat normal.

The generator state is four uint64 words ``(s0, s1, s2, s3)`` carried in local variables
(every function takes the state and returns the new state with its draw), so that LLVM keeps
it in registers inside a kernel. One state per fixed block of particles, seeded from
``(seed, block)``: the numbers a block sees do not depend on how many threads run.

- xoshiro256++ (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
  47, 2021; https://prng.di.unimi.it/xoshiro256plusplus.c):
  ``out = rotl(s0 + s3, 23) + s0``; ``t = s1 << 17; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
  s2 ^= t; s3 = rotl(s3, 45)``. All 64 output bits are of full quality.
- Seeding by splitmix64 (Steele, Lea & Flood 2014), as the xoshiro authors recommend.
- Uniform double in [0, 1): ``(u >> 11) · 2⁻⁵³``.
- Standard normal by the 256-layer ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000),
  in 64-bit form (8 bits pick the layer, 1 bit the sign, 52 bits the abscissa): 98.8% of
  draws cost one uint64, a multiply and a compare. Tail beyond r by Marsaglia's
  exponential method: x = −log(U₁)/r, y = −log(U₂), accept if 2y > x².
- Bounded integer in [0, n) by Lemire's multiply-shift with rejection (ACM TOMACS 29, 2019),
  on 32-bit halves: exactly uniform for n < 2³²; :func:`randint_pair` takes two independent
  ones from the two halves of one uint64 and :func:`randint_quad` four from its 16-bit
  quarters (n ≤ 2¹⁶; rejection probability (2¹⁶ mod n)/2¹⁶ per index, so use it for small
  n): minibatch indices at a half or a quarter of the generator cost, still exact.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, uint64

_ONE = uint64(1)
_M32 = uint64(0xFFFFFFFF)
_M16 = uint64(0xFFFF)
_SM_GAMMA = uint64(0x9E3779B97F4A7C15)
_SM_M1 = uint64(0xBF58476D1CE4E5B9)
_SM_M2 = uint64(0x94D049BB133111EB)

#: Ziggurat constants for 256 layers (Marsaglia & Tsang 2000): right edge r of the base
#: layer and the common layer area v.
ZIGGURAT_R = 3.6541528853610088
ZIGGURAT_V = 0.00492867323399


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer tables (k, w, f) of the 256-layer ziggurat for 52-bit abscissae.

    Layer i ≥ 1 spans heights [f(x_i), f(x_{i−1})] with right edge x_i (x_0 = 0, x_255 = r,
    f(x) = exp(−x²/2)); layer 0 is the base rectangle of area v plus the tail.
    ``w[i] = x_i / 2⁵²`` scales the abscissa; ``k[i] = 2⁵² x_{i−1}/x_i`` is the threshold below
    which a point lies under f for sure; ``f[i] = f(x_i)``.
    """
    m = 2.0**52
    r, v = ZIGGURAT_R, ZIGGURAT_V
    k = np.zeros(256, dtype=np.uint64)
    w = np.zeros(256)
    f = np.zeros(256)
    q = v / math.exp(-0.5 * r * r)
    k[0] = np.uint64((r / q) * m)
    w[0] = q / m
    w[255] = r / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * r * r)
    dn = tn = r
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = np.uint64((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    k[1] = 0
    return k, w, f


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()


@njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(inline="always", cache=True)
def next_u64(s0, s1, s2, s3):
    """One xoshiro256++ output: returns (u, s0, s1, s2, s3)."""
    out = _rotl(s0 + s3, 23) + s0
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return out, s0, s1, s2, s3


@njit(inline="always", cache=True)
def uniform(s0, s1, s2, s3):
    """U ~ Uniform[0, 1) with 53 random bits: returns (u, s0, s1, s2, s3)."""
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    return float(u >> uint64(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@njit(inline="always", cache=True)
def randint(s0, s1, s2, s3, n):
    """J ~ Uniform{0, ..., n−1} for 1 ≤ n < 2³² (Lemire, exact): returns (j, s0, s1, s2, s3)."""
    nn = uint64(n)
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    m = (u >> uint64(32)) * nn
    if (m & _M32) < nn:
        threshold = ((_M32 - nn) + _ONE) % nn
        while (m & _M32) < threshold:
            u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
            m = (u >> uint64(32)) * nn
    return np.int64(m >> uint64(32)), s0, s1, s2, s3


@njit(inline="always", cache=True)
def _lemire(h, nn, mask):
    """Lemire's step on a b-bit value h (``mask`` = 2^b − 1): (m = h·n, accepted?), with
    m >> b the index; the rejection threshold (2^b − n) mod n keeps the index exactly uniform."""
    m = h * nn
    if (m & mask) < nn:
        return m, (m & mask) >= ((mask - nn) + _ONE) % nn
    return m, True


@njit(inline="always", cache=True)
def randint_quad(s0, s1, s2, s3, n):
    """Four independent J ~ Uniform{0, ..., n−1}, 1 ≤ n ≤ 2¹⁶, from the 16-bit quarters of one
    uint64 (a rejected quarter is redrawn alone): returns (j1, j2, j3, j4, s0, s1, s2, s3)."""
    nn = uint64(n)
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    m1, ok1 = _lemire(u >> uint64(48), nn, _M16)
    m2, ok2 = _lemire((u >> uint64(32)) & _M16, nn, _M16)
    m3, ok3 = _lemire((u >> uint64(16)) & _M16, nn, _M16)
    m4, ok4 = _lemire(u & _M16, nn, _M16)
    j1 = np.int64(m1 >> uint64(16))
    j2 = np.int64(m2 >> uint64(16))
    j3 = np.int64(m3 >> uint64(16))
    j4 = np.int64(m4 >> uint64(16))
    if not (ok1 and ok2 and ok3 and ok4):
        if not ok1:
            j1, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
        if not ok2:
            j2, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
        if not ok3:
            j3, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
        if not ok4:
            j4, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
    return j1, j2, j3, j4, s0, s1, s2, s3


@njit(inline="always", cache=True)
def randint_pair(s0, s1, s2, s3, n):
    """Two independent J ~ Uniform{0, ..., n−1}, 1 ≤ n < 2³², from the high and low halves of
    one uint64 (each rejected half is redrawn alone): returns (j1, j2, s0, s1, s2, s3)."""
    nn = uint64(n)
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    m1, ok1 = _lemire(u >> uint64(32), nn, _M32)
    m2, ok2 = _lemire(u & _M32, nn, _M32)
    if ok1 and ok2:
        return np.int64(m1 >> uint64(32)), np.int64(m2 >> uint64(32)), s0, s1, s2, s3
    j1 = np.int64(m1 >> uint64(32))
    j2 = np.int64(m2 >> uint64(32))
    if not ok1:
        j1, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
    if not ok2:
        j2, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n)
    return j1, j2, s0, s1, s2, s3


@njit(inline="always", cache=True)
def normal(s0, s1, s2, s3):
    """Z ~ N(0, 1) by the 256-layer ziggurat: returns (z, s0, s1, s2, s3).

    Fast path inlined (one uint64: bits 0–7 layer, bit 8 sign, bits 12–63 abscissa);
    wedges, tail and retries in :func:`_normal_slow`, called for 1.2% of draws.
    """
    u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
    idx = np.int64(u & uint64(0xFF))
    rabs = u >> uint64(12)
    x = float(np.int64(rabs)) * ZIG_W[idx]
    if (u >> uint64(8)) & _ONE:
        x = -x
    if rabs < ZIG_K[idx]:
        return x, s0, s1, s2, s3
    return _normal_slow(idx, x, s0, s1, s2, s3)


@njit(cache=True)
def _normal_slow(idx, x, s0, s1, s2, s3):
    """The ziggurat's rare branch for layer ``idx`` at abscissa ``x``; redraws on rejection."""
    while True:
        if idx == 0:
            while True:
                a, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
                b, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
                xx = -math.log1p(-a) / ZIGGURAT_R
                yy = -math.log1p(-b)
                if yy + yy > xx * xx:
                    tail = ZIGGURAT_R + xx
                    return (-tail if x < 0.0 else tail), s0, s1, s2, s3
        c, s0, s1, s2, s3 = uniform(s0, s1, s2, s3)
        if (ZIG_F[idx - 1] - ZIG_F[idx]) * c + ZIG_F[idx] < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        u, s0, s1, s2, s3 = next_u64(s0, s1, s2, s3)
        idx = np.int64(u & uint64(0xFF))
        rabs = u >> uint64(12)
        x = float(np.int64(rabs)) * ZIG_W[idx]
        if (u >> uint64(8)) & _ONE:
            x = -x
        if rabs < ZIG_K[idx]:
            return x, s0, s1, s2, s3


@njit(inline="always", cache=True)
def _splitmix(z):
    z = z + _SM_GAMMA
    z = (z ^ (z >> uint64(30))) * _SM_M1
    z = (z ^ (z >> uint64(27))) * _SM_M2
    return z ^ (z >> uint64(31)), z


@njit(cache=True)
def block_states(seed: int, n_blocks: int, stream: int = 0) -> np.ndarray:
    """Seeds (n_blocks, 4) uint64: block b's state from splitmix64 of (seed, stream, b).

    The key of block b is splitmix64(splitmix64(seed) ⊕ (stream·2³² + b + 1)·γ); its
    state is the next four splitmix64 outputs from that key (never all zero).
    """
    out = np.empty((n_blocks, 4), dtype=np.uint64)
    base, _ = _splitmix(uint64(seed))
    for b in range(n_blocks):
        tag = (uint64(stream) << uint64(32)) + uint64(b) + _ONE
        key, _ = _splitmix(base ^ (tag * _SM_GAMMA))
        z = key
        for i in range(4):
            v, z = _splitmix(z)
            out[b, i] = v
    return out


@njit(parallel=True, cache=True)
def _fill_normal(out, states, block):
    n = out.shape[0]
    for b in prange(states.shape[0]):
        s0, s1, s2, s3 = states[b, 0], states[b, 1], states[b, 2], states[b, 3]
        for i in range(b * block, min(n, (b + 1) * block)):
            out[i], s0, s1, s2, s3 = normal(s0, s1, s2, s3)


@njit(parallel=True, cache=True)
def _fill_uniform(out, states, block):
    n = out.shape[0]
    for b in prange(states.shape[0]):
        s0, s1, s2, s3 = states[b, 0], states[b, 1], states[b, 2], states[b, 3]
        for i in range(b * block, min(n, (b + 1) * block)):
            out[i], s0, s1, s2, s3 = uniform(s0, s1, s2, s3)


#: Draws per generator block in :func:`standard_normal` and :func:`uniform_draws`.
DRAW_BLOCK = 65536


def standard_normal(n: int, seed: int, stream: int = 0) -> np.ndarray:
    """``n`` N(0, 1) draws in parallel; identical arrays for any thread count."""
    out = np.empty(int(n))
    _fill_normal(out, block_states(seed, -(-int(n) // DRAW_BLOCK), stream), DRAW_BLOCK)
    return out


def uniform_draws(n: int, seed: int, stream: int = 0) -> np.ndarray:
    """``n`` Uniform[0, 1) draws in parallel; identical arrays for any thread count."""
    out = np.empty(int(n))
    _fill_uniform(out, block_states(seed, -(-int(n) // DRAW_BLOCK), stream), DRAW_BLOCK)
    return out


@njit(inline="always", cache=True)
def batch_index(P, j, n, replace, s0, s1, s2, s3):
    """Index j of a minibatch from {0, ..., n−1}: returns (i, s0, s1, s2, s3).

    With ``replace`` an independent uniform index; otherwise step j of a partial
    Fisher–Yates shuffle of the permutation ``P`` (swap P[j] with P[j + U{0..n−1−j}]), so
    that P[0..S−1] is a uniform S-subset whatever order ``P`` starts in.
    """
    if replace:
        return randint(s0, s1, s2, s3, n)
    t, s0, s1, s2, s3 = randint(s0, s1, s2, s3, n - j)
    idx = P[j + t]
    P[j + t] = P[j]
    P[j] = idx
    return idx, s0, s1, s2, s3

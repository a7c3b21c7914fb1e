"""Independent slow references (mpmath) and error budgets for the kernel tests.

Nothing here imports :mod:`tropical`. The mpmath functions work at
``DPS = 50`` significant digits and take exact inputs: every float64/float32
is converted to an ``mpf`` exactly, sums of two inputs are formed in mpmath
(exact at 50 digits for data of moderate dynamic range), and infinities are
the semiring zeros. Reused by other test files.

Error budget of a max-shifted log-sum-exp (derivation)
------------------------------------------------------
Max sense (the min sense is the negation). The exact value is
``L = m + eps*log(s)`` with summands ``z_k`` (``k = 1..N``, the ``N`` finite
ones), ``m = max z_k``, ``t_k = (z_k - m)/eps <= 0``, ``s = sum exp(t_k) >= 1``
and Gibbs weights ``pi_k = exp(t_k)/s``. The kernels compute in float64
(``u = 2**-53``; float32 inputs are widened exactly):

1. ``z_k``: exact for a row (``lse_rows``, ``softmax_rows``); for a product or
   a matvec ``fl(a + b)``, off by ``<= u |z_k|``. ``LSE`` has gradient ``pi``,
   so this moves ``L`` by ``<= u * sum_k pi_k |z_k|`` (first order).
2. ``t_k = fl(fl(z_k - c) * fl(1/eps))`` (or one division): ``<= 3u|t_k|``
   relative, i.e. ``3u |z_k - c|/eps`` absolute in the exponent. The shift
   ``c`` is ``m`` except in the float32 product, where it may be the float32
   rounding of ``m`` when that is within ``eps`` of ``m``; so ``|z_k - c| <=
   |z_k - m| + eps`` and the term's relative error is ``<= 3u(|t_k| + 1)``.
3. ``exp``: ``<= 2`` ulp ``<= 4u`` relative (measured: 1 ulp with FMA
   contraction, 1.12 ulp without), and terms below ``exp(-708)`` are flushed
   to 0 (absolute error ``< 3e-308`` each, invisible next to ``s >= 1``).
4. Summation of ``N`` nonnegative terms in any order: ``<= (N - 1) u s``.
   Steps 2-4 perturb ``s`` relatively by ``sum_k pi_k (3u|t_k| + 7u) +
   (N - 1)u`` and ``L`` by ``eps`` times that:
   ``u * (3 sum_k pi_k |z_k - m| + eps*(N + 6))``.
5. ``log(s)``: ``<= 1`` ulp, ``2u eps |log s|``; ``eps*log(s)`` and the final
   ``m + ...``: one rounding each (one if fused), ``u eps |log s| + u |L|``.

In all, to first order in ``u``::

    |L_computed - L| <= u * ( sum_k pi_k (rho |z_k| + 4 |z_k - m|)
                              + eps * (N + 6 + 3 |log s|) + 2 |L| )

with ``rho = 1`` where the summands are rounded sums, ``0`` for a row; the
constant 4 (not 3) and ``2 |L|`` (not ``|L|``) leave a margin of ``u |z - m|``
and ``u |L|`` for the second-order terms. ``eps = 0``: the result is the
exact maximum of the ``fl(z_k)`` (bound ``rho * u * |m|`` against the exact
summands). A float32 result adds its rounding, ``2**-24 |L|``.

The Gibbs weights (``softmax_rows``) ``w_k = e_k / s`` of a row (``c = m``
exactly) carry the relative error of their term (``3u|t_k| + 4u``; the budget
uses ``4u|t_k| + 4u``), of the sum (``sum_j pi_j (4u|t_j| + 4u) + (N - 1) u``)
and of the division (``u``); plus ``2**-24`` relative for float32
and an absolute ``1e-307`` for the flushed terms.

Results in the subnormal range (``eps`` itself subnormal) round absolutely:
``SUB64 = 4 * 2**-1075`` (four roundings) is added to the float64 budget, ``SUB32 = 2**-150`` for
a float32 store.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

__all__ = [
    "DPS",
    "U64",
    "U32_OUT",
    "SUB64",
    "SUB32",
    "mp_lse",
    "mp_softmax",
    "mp_sum2",
    "lse_budget",
    "softmax_budget",
]

DPS = 50
U64 = 2.0**-53
U32_OUT = 2.0**-24  # rounding of a float64 value to float32 (half an ulp, relative)
# Below the normal range rounding errors are absolute, not relative: four
# roundings of half the smallest subnormal (eps * log, the final sum, the log's
# and the terms' contributions when eps itself is subnormal), and the float32
# store.
SUB64 = 2 * 2.0**-1074  # = 4 * 2**-1075 (2**-1075 itself is not representable)
SUB32 = 2.0**-150


def _mpf(v):
    return mpmath.mpf(float(v))


def mp_sum2(a, b):
    """a + b exactly (as mpf) for two floats; infinities pass through."""
    with mpmath.workdps(DPS):
        return _mpf(a) + _mpf(b)


def mp_lse(values, eps, sense):
    """sense*eps*log(sum_k exp(sense*v_k/eps)) at DPS digits, as an mpf.

    ``values``: floats or mpfs (infinities allowed, no NaN). ``eps == 0``
    gives the max (min for ``sense = -1``). An empty list or one of semiring
    zeros only gives the zero, ``sense * -inf``.
    """
    with mpmath.workdps(DPS):
        z = [sense * (v if isinstance(v, mpmath.mpf) else _mpf(v)) for v in values]
        finite = [v for v in z if mpmath.isfinite(v)]
        if not finite:
            return mpmath.mpf(sense) * mpmath.mpf("-inf")
        m = max(finite)
        if eps == 0:
            return sense * m
        e = _mpf(eps)
        s = mpmath.fsum(mpmath.exp((v - m) / e) for v in finite)
        return sense * (m + e * mpmath.log(s))


def mp_softmax(values, eps, sense):
    """The Gibbs weights softmax(sense*v/eps) at DPS digits (list of mpf).

    eps = 0: uniform on the argmax set; only semiring zeros: uniform.
    """
    with mpmath.workdps(DPS):
        z = [sense * (v if isinstance(v, mpmath.mpf) else _mpf(v)) for v in values]
        n = len(z)
        finite = [v for v in z if mpmath.isfinite(v)]
        if not finite:
            return [mpmath.mpf(1) / n] * n
        m = max(finite)
        if eps == 0:
            w = [mpmath.mpf(1) if v == m else mpmath.mpf(0) for v in z]
        else:
            e = _mpf(eps)
            w = [mpmath.exp((v - m) / e) if mpmath.isfinite(v) else mpmath.mpf(0) for v in z]
        s = mpmath.fsum(w)
        return [x / s for x in w]


def _gibbs(z, eps):
    """(finite summands, m, pi, s) in float64 for the budgets (max sense)."""
    f = np.asarray(z, dtype=np.float64)
    f = f[np.isfinite(f)]
    if f.size == 0:
        return f, -math.inf, f, 0.0
    m = float(f.max())
    with np.errstate(under="ignore", over="ignore", divide="ignore"):
        t = (f - m) / eps
        w = np.exp(t)
    s = float(w.sum())
    return f, m, w / s, s


def lse_budget(z, eps, *, rounded_sums, out_dtype):
    """Absolute error budget of one computed LSE (see the module docstring).

    ``z``: the max-sense summands (``sense * values``; infinities allowed) in
    float64; ``rounded_sums``: whether they are rounded sums (product, matvec).
    """
    rho = 1.0 if rounded_sums else 0.0
    f, m, pi, s = _gibbs(z, eps) if eps > 0 else (None, None, None, None)
    if eps == 0:
        zz = np.asarray(z, dtype=np.float64)
        zz = zz[np.isfinite(zz)]
        if zz.size == 0:
            return 0.0
        mm = float(np.abs(zz.max()))
        b = rho * U64 * mm
        return b + (U32_OUT * mm + SUB32 if out_dtype == np.float32 else 0.0)
    if f.size == 0:
        return 0.0
    n = f.size
    L = abs(m + eps * math.log(s))
    with np.errstate(over="ignore", invalid="ignore"):
        weighted = float(np.sum(pi * (rho * np.abs(f) + 4.0 * (m - f))))
    b = U64 * (weighted + eps * (n + 6 + 3 * abs(math.log(s))) + 2 * L) + SUB64
    if out_dtype == np.float32:
        b += U32_OUT * L + SUB32
    return b


def softmax_budget(z, eps, *, out_dtype):
    """Per-entry absolute error budget of computed Gibbs weights (an array).

    ``z``: the max-sense values of one row (infinities allowed), eps > 0.
    """
    z = np.asarray(z, dtype=np.float64)
    fin = np.isfinite(z)
    out = np.full(z.shape, 1e-307)
    if not fin.any():
        return out + (U32_OUT if out_dtype == np.float32 else U64) / max(z.size, 1)
    f, m, pi, s = _gibbs(z, eps)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (m - f) / eps
        t = np.where(pi > 0, t, 0.0)
    common = float(np.sum(pi * (4 * t + 4))) + (f.size - 1) + 1
    rel = U64 * (4 * t + 4 + common)
    if out_dtype == np.float32:
        rel = rel + U32_OUT * (1 + 1e-9)
        out += SUB32
    out[fin] += pi * rel
    return out

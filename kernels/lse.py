"""Log-sum-exp kernels (``eps > 0``) with an exact max shift, and a vector exp.

Installed as ``tropical.kernels.lse``. The contracts (signatures, semantics,
handling of the semiring zeros) are those of the numpy twins of the same name in
:mod:`tropical.kernels.reference`:

``lse_rows(a, eps, sense, out)``
    ``out[i] = sense*eps*log(sum_k exp(sense*a[i, k]/eps))``; ``eps = 0``: the max.
``softmax_rows(a, eps, sense, out)``
    the Gibbs weights ``softmax(sense*a[i]/eps)`` of each row; ``eps = 0``:
    uniform on the argmax set; a row of semiring zeros only: uniform.
``lse_gemm_rows(A, B, M, eps, sense, rows, out)``
    the ``eps > 0`` product on the listed rows, given the exact ``eps = 0``
    product ``M``.
``lse_matvec(A, x, eps, sense, out)``
    ``out[i] = sense*eps*log(sum_k exp(sense*(A[i, k] + x[k])/eps))``.

How every sum is computed (max sense; the min sense is ``-K(-a)``, negation
being exact):

* the shift ``m`` is the exact maximum of the summands ``z_k`` (for the
  product, ``M[i, j]``), so every term ``exp((z_k - m)/eps)`` lies in
  ``[0, 1]``, the largest is exactly 1 and the shifted sum ``s`` satisfies
  ``1 <= s <= N``: no overflow and no underflow to ``-inf`` for any ``eps > 0``
  (``1e-300`` included), whatever the positions of the row and column maxima;
* the result is ``m + eps*log(s)`` (one fused multiply-add where the CPU has
  it);
* ``(z_k - m)/eps`` is computed as ``(z_k - m)*(1/eps)`` while ``1/eps`` is
  finite, and by true division when it overflows (``eps < 2**-1024``), where the
  product would give ``0*inf = NaN``;
* float32 inputs are widened to float64; sums, exps and logs are float64 and
  the result is rounded to float32 once, at the store. In the product the
  float32 path recomputes the shift in float64 (the float32 ``M`` is the float64
  maximum rounded, and a shift off by half a float32 ulp would over- or
  underflow ``exp`` once ``eps`` is far below that ulp); ``M`` is used as the
  shift for float64 only, where it is exact.

Error (float64, measured by ``tests/test_kernels_lse.py`` against mpmath at 50
digits): with ``u = 2**-53``, ``|computed - exact| <= 8*u*(|m| + max_k |z_k|
over the terms with z_k >= m - 40*eps) + 4*N*u*eps`` where the first part is the
rounding of the summands ``z_k`` (a sum ``A + B`` is itself rounded) and of the
exponent arguments, the second the rounding of the shifted sum and its log;
see the derivation in the test file.

The exp (:func:`exp_nonpos`) is a branch-free polynomial that LLVM vectorises
(``math.exp`` stays scalar with the PyPI llvmlite). Its measured error on
``[-745.2, 0]`` is at most 1 ulp (the maximum over 2.2 million arguments,
random and at the edges, against ``numpy.longdouble`` references; the
derivation bounds it by about 1.3 ulp); ``exp_nonpos(0) == 1`` exactly and it
returns exactly 0 below ``log(2**-1075)``.

Loops: ``prange`` over rows (blocks of rows for the row reductions), a
vectorised inner loop over contiguous columns. The product loops over blocks of
columns (``_JB`` wide, so the block of ``B`` stays in L2), then rows ``i``
(``prange``), then ``k``, then ``j`` innermost, accumulating a float64 row
buffer. Threads: Numba's, so ``NUMBA_NUM_THREADS`` applies. Nothing compiles at
import; every kernel compiles on first call for its dtype and is cached
(``cache=True``). All helpers live in this file (Numba's cache does not see
edits in other files).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir

from tropical._config import load_numba

numba = load_numba()
from numba import njit, prange  # noqa: E402
from numba.core import types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

__all__ = ["lse_rows", "softmax_rows", "lse_gemm_rows", "lse_matvec"]

_INF = math.inf
# Floating-point flags: 'contract' lets LLVM fuse a*b + c into an FMA (one
# rounding instead of two; never less accurate). No reassociation: the
# range reduction of the exp relies on the exact order of its operations.
_CONTRACT = {"contract"}
# Sums of positive terms may be reassociated (the bound (N-1)*u*s holds for
# any order), which lets LLVM vectorise the reduction.
_REASSOC = {"contract", "reassoc"}
_RB = 64  # rows per parallel task in the row reductions
_JB = 128  # columns per block of the product (K x 128 block of B in L2)


# --------------------------------------------------------------------------
# LLVM intrinsics
# --------------------------------------------------------------------------
@intrinsic
def _i64_bits_as_f64(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64 (an LLVM bitcast)."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(v, ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def _maxnum(typingctx, a, b):
    """``llvm.maxnum`` on float64: vectorises as a reduction, unlike ``max``."""
    if not (isinstance(a, types.Float) and isinstance(b, types.Float)):
        return None
    sig = types.float64(types.float64, types.float64)

    def codegen(context, builder, signature, args):
        x = context.cast(builder, args[0], a, types.float64)
        y = context.cast(builder, args[1], b, types.float64)
        fn = builder.module.declare_intrinsic("llvm.maxnum", [ir.DoubleType()])
        return builder.call(fn, [x, y])

    return sig, codegen


# --------------------------------------------------------------------------
# exp on (-inf, 0]
# --------------------------------------------------------------------------
_LOG2E = 1.4426950408889634  # 1/log(2)
_ROUND = 6755399441055744.0  # 1.5 * 2**52: x + _ROUND - _ROUND rounds x to an integer
# Cody-Waite split of log(2): _LN2_HI has 32 significant bits, so k*_LN2_HI is
# exact for |k| < 2**21; _LN2_HI + _LN2_LO = log(2) to about 2**-85.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# exp(x) rounds to 0 below log(2**-1075) (round half to even at 2**-1075).
_EXP_ZERO_BELOW = -745.1332191019412
_TWO_M54 = 2.0**-54
# exp(r) = 1 + r*(1 + r*q(r)) on |r| <= log(2)/2, q a degree-9 Chebyshev fit of
# (exp(r) - 1 - r)/r**2 (mpmath.chebyfit, relative error of exp 1.3e-17 ~ 0.06 ulp).
_Q0 = 0.5000000000000001
_Q1 = 0.16666666666666669
_Q2 = 0.04166666666662413
_Q3 = 0.008333333333330062
_Q4 = 0.0013888888917213717
_Q5 = 0.00019841269863053618
_Q6 = 2.4801521295954376e-05
_Q7 = 2.7557268459997064e-06
_Q8 = 2.7620088445409746e-07
_Q9 = 2.510038549551032e-08


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def exp_nonpos(x):
    """exp(x) for float64 x in [-inf, 0], branch-free (LLVM vectorises it).

    x = k*log(2) + r, |r| <= log(2)/2 (k rounded to nearest, two-constant
    Cody-Waite reduction), exp(r) by a degree-11 polynomial, then the scaling by
    2**k built from the bits of an int64: 2**(k+54) (always a normal number for
    k >= -1076), times 2**-54, so a subnormal result is rounded once.
    Exactly 1 at 0 and exactly 0 below log(2**-1075) (and at -inf).

    Measured error: at most 1 ulp over [-745.2, 0] (2.2 million arguments,
    random over the range and near 0, the subnormal range and the underflow
    threshold, against ``numpy.longdouble`` references: see
    ``tests/test_kernels_lse.py``). Arguments > 0 are outside the contract
    (correct up to about 670, garbage beyond).
    """
    xc = x if x > -746.0 else -746.0
    kf = (xc * _LOG2E + _ROUND) - _ROUND
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    q = _Q9
    q = q * r + _Q8
    q = q * r + _Q7
    q = q * r + _Q6
    q = q * r + _Q5
    q = q * r + _Q4
    q = q * r + _Q3
    q = q * r + _Q2
    q = q * r + _Q1
    q = q * r + _Q0
    p = 1.0 + r * (1.0 + r * q)
    k = np.int64(kf)
    scale = _i64_bits_as_f64((k + 1077) << 52)  # 2**(k + 54)
    y = (p * scale) * _TWO_M54
    return y if x >= _EXP_ZERO_BELOW else 0.0


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def exp_nonpos_array(x, out):
    """out[i] = exp_nonpos(x[i]) for 1-D float64 arrays (tests, benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = exp_nonpos(x[i])


# --------------------------------------------------------------------------
# Row helpers (float64 work, any input dtype)
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, inline="always")
def _inverse(eps):
    """(1/eps, use_division): division where 1/eps overflows (0*inf = NaN)."""
    inv = 1.0 / eps if eps > 0.0 else _INF
    return inv, not (inv < _INF)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _shifted_max(row, shift, sg):
    """max_j sg*(row[j] + shift[j]) in float64 (-inf for an empty row)."""
    m = -_INF
    for j in range(row.shape[0]):
        m = _maxnum(m, sg * (np.float64(row[j]) + np.float64(shift[j])))
    return m


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _row_max(row, sg):
    """max_j sg*row[j] in float64 (-inf for an empty row)."""
    m = -_INF
    for j in range(row.shape[0]):
        m = _maxnum(m, sg * np.float64(row[j]))
    return m


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _row_terms(row, sg, m, eps, inv, use_div, buf):
    """buf[j] = exp((sg*row[j] - m)/eps), in [0, 1]."""
    n = row.shape[0]
    if use_div:
        for j in range(n):
            buf[j] = exp_nonpos((sg * np.float64(row[j]) - m) / eps)
    else:
        for j in range(n):
            buf[j] = exp_nonpos((sg * np.float64(row[j]) - m) * inv)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _shifted_terms(row, shift, sg, m, eps, inv, use_div, buf):
    """buf[j] = exp((sg*(row[j] + shift[j]) - m)/eps), in [0, 1]."""
    n = row.shape[0]
    if use_div:
        for j in range(n):
            z = sg * (np.float64(row[j]) + np.float64(shift[j]))
            buf[j] = exp_nonpos((z - m) / eps)
    else:
        for j in range(n):
            z = sg * (np.float64(row[j]) + np.float64(shift[j]))
            buf[j] = exp_nonpos((z - m) * inv)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _sum(buf, n):
    """sum(buf[:n]) of nonnegative terms, in any order (vectorised)."""
    s = 0.0
    for j in range(n):
        s += buf[j]
    return s


# --------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_rows(a, eps, sense, out):
    """out[i] = sense*eps*log(sum_k exp(sense*a[i, k]/eps)); eps = 0: max.

    A row of semiring zeros (or an empty row) gives the zero.
    """
    nrows, n = a.shape
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    nblocks = (nrows + _RB - 1) // _RB
    for b in prange(nblocks):
        buf = np.empty(n, np.float64)
        for i in range(b * _RB, min(b * _RB + _RB, nrows)):
            m = _row_max(a[i], sg)
            if m == -_INF or eps == 0.0:
                out[i] = sg * m
                continue
            _row_terms(a[i], sg, m, eps, inv, use_div, buf)
            out[i] = sg * (m + eps * math.log(_sum(buf, n)))


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def softmax_rows(a, eps, sense, out):
    """Gibbs weights softmax(sense*a[i]/eps) of each row.

    eps = 0: uniform on the argmax set (argmin for sense = -1). A row of
    semiring zeros only has no Gibbs measure: its weights are uniform.
    """
    nrows, n = a.shape
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    nblocks = (nrows + _RB - 1) // _RB
    for b in prange(nblocks):
        buf = np.empty(n, np.float64)
        for i in range(b * _RB, min(b * _RB + _RB, nrows)):
            m = _row_max(a[i], sg)
            if m == -_INF:
                w = 1.0 / n
                for j in range(n):
                    out[i, j] = w
                continue
            if eps == 0.0:
                for j in range(n):
                    buf[j] = 1.0 if sg * np.float64(a[i, j]) == m else 0.0
            else:
                _row_terms(a[i], sg, m, eps, inv, use_div, buf)
            s = _sum(buf, n)
            for j in range(n):
                out[i, j] = buf[j] / s


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_matvec(A, x, eps, sense, out):
    """out[i] = sense*eps*log(sum_k exp(sense*(A[i, k] + x[k])/eps)); eps = 0: max."""
    nrows, n = A.shape
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    nblocks = (nrows + _RB - 1) // _RB
    for b in prange(nblocks):
        buf = np.empty(n, np.float64)
        for i in range(b * _RB, min(b * _RB + _RB, nrows)):
            m = _shifted_max(A[i], x, sg)
            if m == -_INF or eps == 0.0:
                out[i] = sg * m
                continue
            _shifted_terms(A[i], x, sg, m, eps, inv, use_div, buf)
            out[i] = sg * (m + eps * math.log(_sum(buf, n)))


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _gemm_block_shift(A, B, M, sg, i, j0, w, exact_shift, c):
    """c[jj] = the shift of out[i, j0 + jj] (max sense), +inf where it is the zero.

    float64 (exact_shift False): sg*M. float32: the float64 maximum of the
    widened sums, recomputed (the float32 M is that maximum rounded).
    """
    if exact_shift:
        for jj in range(w):
            c[jj] = -_INF
        for k in range(A.shape[1]):
            a = sg * np.float64(A[i, k])
            if a == -_INF:
                continue
            for jj in range(w):
                c[jj] = _maxnum(c[jj], a + sg * np.float64(B[k, j0 + jj]))
    else:
        for jj in range(w):
            c[jj] = sg * np.float64(M[i, j0 + jj])
    for jj in range(w):
        if c[jj] == -_INF:
            c[jj] = _INF  # every term is then exp(-inf) = 0; the entry stays the zero


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _gemm_block_sums(A, B, sg, i, j0, w, c, eps, inv, use_div, S):
    """S[jj] = sum_k exp((sg*(A[i, k] + B[k, j0 + jj]) - c[jj])/eps)."""
    for jj in range(w):
        S[jj] = 0.0
    for k in range(A.shape[1]):
        a = sg * np.float64(A[i, k])
        if a == -_INF:
            continue
        if use_div:
            for jj in range(w):
                d = (a + sg * np.float64(B[k, j0 + jj])) - c[jj]
                S[jj] += exp_nonpos(d / eps)
        else:
            for jj in range(w):
                d = (a + sg * np.float64(B[k, j0 + jj])) - c[jj]
                S[jj] += exp_nonpos(d * inv)


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_gemm_rows(A, B, M, eps, sense, rows, out):
    """Exact eps > 0 product on the listed rows, given the eps = 0 product M.

    For each i in ``rows``: out[i, j] = M[i, j] + sense*eps*log(sum_k
    exp(sense*(A[i, k] + B[k, j] - M[i, j])/eps)); entries where M is the
    semiring zero stay the zero; other rows of ``out`` are left untouched.
    (eps = 0 copies M.)
    """
    nr = rows.shape[0]
    n = B.shape[1]
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    exact_shift = A.itemsize < 8
    if eps == 0.0:
        for t in prange(nr):
            i = rows[t]
            for j in range(n):
                out[i, j] = M[i, j]
        return
    for j0 in range(0, n, _JB):
        w = min(_JB, n - j0)
        for t in prange(nr):
            i = rows[t]
            c = np.empty(w, np.float64)
            S = np.empty(w, np.float64)
            _gemm_block_shift(A, B, M, sg, i, j0, w, exact_shift, c)
            _gemm_block_sums(A, B, sg, i, j0, w, c, eps, inv, use_div, S)
            for jj in range(w):
                if c[jj] == _INF:
                    out[i, j0 + jj] = -sg * _INF
                else:
                    out[i, j0 + jj] = sg * (c[jj] + eps * math.log(S[jj]))

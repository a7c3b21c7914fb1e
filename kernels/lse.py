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
``lse_gemm_entries(A, B, eps, sense, mask, out)``
    the ``eps > 0`` product on the entries where ``mask`` is set (float64
    maximum as shift, groups of terms below ``exp(-40)`` of it left out).
``lse_from_top2(M1, M2, eps, gap, sense, out, tie)``
    the product from the two largest terms where they are more than
    ``gap*eps`` apart; ``tie`` marks the others.
``lse_shift_exp(X, eps, sense, axis, lift, shift, out)``
    the shifted exponentials of one operand for the BLAS path, scaled by
    ``2**lift``, those below ``2**-511`` after scaling set to 0.
``lse_gemm_blas_finish(M, S, ra, cb, K, eps, sense, safe_sum, out, unsafe)``
    the clamped result of the BLAS path; ``unsafe`` marks underflowed sums.

These four serve ``tropical._ops._lse_gemm`` (see its docstring for the
plans and their error analysis).

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
  the result is rounded to float32 once, at the store. In the product, ``M``
  is the exact shift in float64. A float32 ``M`` is the float64 maximum of the
  widened sums rounded to float32, off by ``h <= 2**-24*|M|``: used as the
  shift while ``h <= eps`` (terms ``<= e``, ``s >= 1/e``: harmless), and
  replaced by the float64 maximum, recomputed for the block, when ``eps < h``
  (else ``exp`` would overflow, or every term underflow, for tiny ``eps``).

Error: with ``u = 2**-53``, summands ``z_k``, their maximum ``m``, Gibbs weights
``pi_k``, ``N`` finite summands and the exact result ``L``, every result obeys
(first order in ``u``)::

    |computed - L| <= u * ( sum_k pi_k (rho*|z_k| + 4*|z_k - m|)
                            + eps*(N + 6 + 3*|log s|) + 2*|L| )

plus ``2**-24*|L|`` for a float32 result (``rho = 1`` for the product and the
matvec, whose summands are rounded sums; 0 for rows). Nothing grows like
``1/eps``. The derivation is in ``tests/reference.py``;
``tests/test_kernels_lse.py`` checks it against mpmath at 50 digits for eps from 1e-310 to 1e8 (measured
errors reach a quarter to a half of it in float64).

The exp: :func:`exp_nonpos` is a branch-free polynomial that LLVM vectorises
(``math.exp`` stays scalar with the PyPI llvmlite). Measured error on
``[-745.13, 0]``: at most 0.943 ulp (2.2 million arguments, random and at the
edges, against ``numpy.longdouble`` references; 1.12 ulp without FMA, i.e.
under ``NUMBA_DISABLE_JIT``); exactly 1 at 0, exactly 0 below
``log(2**-1075)``. The kernels use :func:`_exp_term`, bit-identical on
``[-708, 0]`` and 0 below (subnormal terms cannot change a sum ``s >= 1`` but
cost a ~100x slower microcode assist each).

Loops: ``prange`` over blocks of rows for the row reductions (max pass, exp
pass into a row buffer, vectorised sum), a vectorised inner loop over
contiguous columns. The product loops over blocks of ``jb`` columns (the
``K x jb`` panel of ``sense*B``, packed in float64, stays in L2), then rows
``i`` (``prange``), then ``k``, then ``j`` innermost in groups of ``_SB = 32``
columns, accumulating a float64 row buffer; then ``out = c + eps*log(S)``. A
group whose largest possible exponent argument (from the group's maximum of
``B[k, :]`` and minimum shift) is below the flush threshold is skipped for
that ``k``: its terms would all be exactly 0, so results are bit-identical,
and at small ``eps`` most terms are such zeros (2-3.5x faster at eps <= 1e-3
on standard normal data). Threads: Numba's, so
``NUMBA_NUM_THREADS`` applies. Nothing compiles at import; every kernel
compiles on first call for its dtype and is cached (``cache=True``). All
helpers live in this file (Numba's cache does not see edits in other files).
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

__all__ = [
    "lse_rows",
    "softmax_rows",
    "lse_gemm_rows",
    "lse_matvec",
    "lse_gemm_entries",
    "lse_from_top2",
    "lse_shift_exp",
    "lse_gemm_blas_finish",
]

_INF = math.inf
# Floating-point flags: 'contract' lets LLVM fuse a*b + c into an FMA (one
# rounding instead of two; never less accurate). No reassociation: the
# range reduction of the exp relies on the exact order of its operations.
_CONTRACT = {"contract"}
# Sums of positive terms may be reassociated (the bound (N-1)*u*s holds for
# any order), which lets LLVM vectorise the reduction.
_REASSOC = {"contract", "reassoc"}
_RB = 64  # rows per parallel task in the row reductions
_JB = 256  # at most this many columns per block of the product
_SB = 32  # columns per group in the product's test for all-zero terms
_PANEL_DOUBLES = 1 << 17  # the packed K x jb panel of B: <= 1 MiB (L2 is 2 MiB)


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
def _f64_bits_as_i64(typingctx, x):
    """Reinterpret the bits of a float64 as an int64 (an LLVM bitcast)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        return builder.bitcast(v, ir.IntType(64))

    return types.int64(x), codegen


def _maxnum_intrinsic(flags, doc):
    """Build an intrinsic calling ``llvm.maxnum`` on float64 with fast-math ``flags``."""

    def impl(typingctx, a, b):
        if not (isinstance(a, types.Float) and isinstance(b, types.Float)):
            return None
        sig = types.float64(types.float64, types.float64)

        def codegen(context, builder, signature, args):
            x = context.cast(builder, args[0], a, types.float64)
            y = context.cast(builder, args[1], b, types.float64)
            dbl = ir.DoubleType()
            fn = builder.module.declare_intrinsic(
                "llvm.maxnum", [dbl], ir.FunctionType(dbl, [dbl, dbl])
            )
            return builder.call(fn, [x, y], fastmath=flags)

        return sig, codegen

    impl.__doc__ = doc
    return intrinsic(impl)


_maxnum = _maxnum_intrinsic((), "``llvm.maxnum`` on float64: vectorises as a reduction, "
                                "unlike ``max``.")
_fmax_nnan = _maxnum_intrinsic(("nnan",), "``llvm.maxnum`` with ``nnan`` (a bare vmaxpd "
                                         "once vectorised; the operands must not be NaN).")


# NUMBA_DISABLE_JIT=1: the njit functions run as plain Python (slowly; for
# coverage and debugging); intrinsics cannot, so use Python stand-ins.
if numba.config.DISABLE_JIT:
    import struct

    def _i64_bits_as_f64(bits):  # noqa: F811
        return np.float64(struct.unpack("<d", struct.pack("<Q", int(bits) & (2**64 - 1)))[0])

    def _f64_bits_as_i64(x):  # noqa: F811
        return struct.unpack("<q", struct.pack("<d", float(x)))[0]

    def _maxnum(a, b):  # noqa: F811
        return np.float64(a if a >= b else b)

    def _fmax_nnan(a, b):  # noqa: F811
        return np.float64(a if a >= b else b)


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
# The kernels' exp flushes its results below exp(-708) (subnormal range) to 0.
_TERM_ZERO_BELOW = -708.0
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
def _exp_reduced(x):
    """(p, kf, t): exp(x) = p * 2**kf, kf an integer, p = exp(r), |r| <= log(2)/2.

    Range reduction x = kf*log(2) + r (kf = x/log(2) rounded to nearest by the
    1.5*2**52 trick, two-constant Cody-Waite split), exp(r) by the polynomial.
    t = kf + 1.5*2**52 holds kf in the low bits of its significand.
    """
    t = x * _LOG2E + _ROUND
    kf = t - _ROUND
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
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
    return 1.0 + r * (1.0 + r * q), kf, t


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def exp_nonpos(x):
    """exp(x) for float64 x in [-inf, 0], branch-free (LLVM vectorises it).

    x = k*log(2) + r, |r| <= log(2)/2 (k rounded to nearest, two-constant
    Cody-Waite reduction), exp(r) by a degree-11 polynomial, then the scaling by
    2**k built from the bits of an int64: 2**(k+54) (always a normal number for
    k >= -1076), times 2**-54, so a subnormal result is rounded once.
    Exactly 1 at 0 and exactly 0 below log(2**-1075) (and at -inf); arguments
    below the range are replaced by 0 before the arithmetic, so they cost no
    subnormal operations (which are ~100x slower on x86).

    Measured error: at most 0.943 ulp over [-745.13, 0] (2.2 million arguments,
    random over the range and near 0, the subnormal range and the underflow
    threshold, against ``numpy.longdouble`` references; the test in
    ``tests/test_kernels_lse.py`` asserts <= 1 ulp). Without FMA contraction
    (plain Python under ``NUMBA_DISABLE_JIT``) 1.12 ulp. Arguments > 0 are
    outside the contract (correct up to about 670, garbage beyond).
    """
    xc = x if x >= -746.0 else 0.0
    p, kf, t = _exp_reduced(xc)
    scale = _i64_bits_as_f64((np.int64(kf) + 1077) << 52)  # 2**(k + 54)
    y = (p * scale) * _TWO_M54
    return y if x >= _EXP_ZERO_BELOW else 0.0


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _exp_term(x):
    """exp(x) for x in [-inf, 1] with the subnormal range flushed to 0.

    The kernels' terms: identical to :func:`exp_nonpos` for x >= -708 (the
    result is then a normal number and 2**k is added to the exponent bits of
    exp(r)), exactly 0 below. Valid up to x = 1 (the float32 product's shift
    may exceed the true maximum by half a float32 ulp, see _gemm_block_shift).
    A term below exp(-708) ~ 3e-308 is invisible in a shifted sum s >= 1, while
    creating a subnormal number costs a ~100x slower microcode assist.
    """
    xc = x if x >= _TERM_ZERO_BELOW else 0.0
    p, kf, t = _exp_reduced(xc)
    # p * 2**k by adding k to the exponent field of p: k sits in the low bits of
    # t's significand, and (bits(t) << 52) is k << 52 modulo 2**64. Exact, no
    # int conversion, and the result is normal (k >= -1021 here).
    y = _i64_bits_as_f64(_f64_bits_as_i64(p) + (_f64_bits_as_i64(t) << 52))
    return y if x >= _TERM_ZERO_BELOW else 0.0


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def exp_nonpos_array(x, out):
    """out[i] = exp_nonpos(x[i]) for 1-D float64 arrays (tests, benchmarks)."""
    for i in range(x.shape[0]):
        out[i] = exp_nonpos(x[i])


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _exp_term_array(x, out):
    """out[i] = _exp_term(x[i]) for 1-D float64 arrays (tests)."""
    for i in range(x.shape[0]):
        out[i] = _exp_term(x[i])


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
            buf[j] = _exp_term((sg * np.float64(row[j]) - m) / eps)
    else:
        for j in range(n):
            buf[j] = _exp_term((sg * np.float64(row[j]) - m) * inv)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _shifted_terms(row, shift, sg, m, eps, inv, use_div, buf):
    """buf[j] = exp((sg*(row[j] + shift[j]) - m)/eps), in [0, 1]."""
    n = row.shape[0]
    if use_div:
        for j in range(n):
            z = sg * (np.float64(row[j]) + np.float64(shift[j]))
            buf[j] = _exp_term((z - m) / eps)
    else:
        for j in range(n):
            z = sg * (np.float64(row[j]) + np.float64(shift[j]))
            buf[j] = _exp_term((z - m) * inv)


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
def _gemm_block_shift(A, Bp, M, sg, eps, i, j0, c):
    """c[jj] = the shift of out[i, j0 + jj] (max sense), +inf where it is the zero.

    float64: sg*M, the exact maximum of the summands (largest term exactly 1).
    float32: the summands are widened to float64 and M is their maximum rounded
    to float32, off by up to h = 2**-24*|M|. While h <= eps that costs nothing
    (every term <= e, s >= 1/e); for smaller eps the float64 maximum is
    recomputed (an eps = 0 pass over the block), else exp would overflow or
    every term underflow.
    """
    w = Bp.shape[1]
    amax = 0.0
    for jj in range(w):
        v = sg * np.float64(M[i, j0 + jj])
        c[jj] = v
        if v > -_INF:
            amax = _maxnum(amax, abs(v))
    if A.itemsize < 8 and amax * 2.0**-24 > eps:
        for jj in range(w):
            c[jj] = -_INF
        for k in range(A.shape[1]):
            a = sg * np.float64(A[i, k])
            if a == -_INF:
                continue
            Bk = Bp[k]
            for jj in range(w):
                c[jj] = _maxnum(c[jj], a + Bk[jj])
    for jj in range(w):
        if c[jj] == -_INF:
            c[jj] = _INF  # every term is then exp(-inf) = 0; the entry stays the zero


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _add_terms_mul(S, b, c, a, inv):
    """S[j] += exp(((a + b[j]) - c[j]) * inv)."""
    for j in range(S.shape[0]):
        S[j] += _exp_term(((a + b[j]) - c[j]) * inv)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _add_terms_div(S, b, c, a, eps):
    """S[j] += exp(((a + b[j]) - c[j]) / eps)."""
    for j in range(S.shape[0]):
        S[j] += _exp_term(((a + b[j]) - c[j]) / eps)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _gemm_block_sums(A, Bp, bmax, sg, i, c, eps, inv, use_div, S):
    """S[jj] = sum_k exp((sg*A[i, k] + Bp[k, jj] - c[jj])/eps).

    Columns go in groups of _SB; a group is skipped for this k when even its
    largest exponent argument, fl(fl(a + bmax) - min c) / eps, is below the
    flush threshold of _exp_term: rounding is monotone, so every term of the
    group would be exactly 0 and the sums are bit-identical to the full loop.
    """
    w = Bp.shape[1]
    ng = (w + _SB - 1) // _SB
    cmin = np.empty(ng, np.float64)
    for g in range(ng):
        v = _INF
        for jj in range(g * _SB, min(g * _SB + _SB, w)):
            v = min(v, c[jj])
        cmin[g] = v
    for jj in range(w):
        S[jj] = 0.0
    for k in range(A.shape[1]):
        a = sg * np.float64(A[i, k])
        if a == -_INF:
            continue
        Bk = Bp[k]
        for g in range(ng):
            top = (a + bmax[k, g]) - cmin[g]
            top = top / eps if use_div else top * inv
            if not (top >= _TERM_ZERO_BELOW):  # also skips -inf and NaN (inf - inf)
                continue
            j0 = g * _SB
            j1 = min(j0 + _SB, w)
            # slices: loops from 0 let LLVM drop the negative-index wraparound
            # (a loop from j0 does not vectorise)
            if use_div:
                _add_terms_div(S[j0:j1], Bk[j0:j1], c[j0:j1], a, eps)
            else:
                _add_terms_mul(S[j0:j1], Bk[j0:j1], c[j0:j1], a, inv)


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def _pack_block(B, sg, j0, Bp, bmax):
    """Bp[k, jj] = sg*B[k, j0 + jj] in float64 (a contiguous K x w panel) and
    bmax[k, g] = max of Bp[k, g*_SB : (g+1)*_SB]."""
    w = Bp.shape[1]
    for k in prange(B.shape[0]):
        for jj in range(w):
            Bp[k, jj] = sg * np.float64(B[k, j0 + jj])
        for g in range(bmax.shape[1]):
            v = -_INF
            for jj in range(g * _SB, min(g * _SB + _SB, w)):
                v = _maxnum(v, Bp[k, jj])
            bmax[k, g] = v


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_gemm_rows(A, B, M, eps, sense, rows, out):
    """Exact eps > 0 product on the listed rows, given the eps = 0 product M.

    For each i in ``rows``: out[i, j] = M[i, j] + sense*eps*log(sum_k
    exp(sense*(A[i, k] + B[k, j] - M[i, j])/eps)); entries where M is the
    semiring zero stay the zero; other rows of ``out`` are left untouched.
    (eps = 0 copies M.)
    """
    nr = rows.shape[0]
    K = B.shape[0]
    n = B.shape[1]
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    if eps == 0.0:
        for t in prange(nr):
            i = rows[t]
            for j in range(n):
                out[i, j] = M[i, j]
        return
    if nr == 0 or n == 0:
        return
    # Block width: the K x jb float64 panel of B stays in L2 (<= 1 MiB).
    jb = (_PANEL_DOUBLES // max(K, 1)) // 16 * 16
    jb = max(16, min(_JB, jb))
    for j0 in range(0, n, jb):
        w = min(jb, n - j0)
        Bp = np.empty((K, w), np.float64)
        bmax = np.empty((K, (w + _SB - 1) // _SB), np.float64)
        _pack_block(B, sg, j0, Bp, bmax)
        for t in prange(nr):
            i = rows[t]
            c = np.empty(w, np.float64)
            S = np.empty(w, np.float64)
            _gemm_block_shift(A, Bp, M, sg, eps, i, j0, c)
            _gemm_block_sums(A, Bp, bmax, sg, i, c, eps, inv, use_div, S)
            for jj in range(w):
                if c[jj] == _INF:
                    out[i, j0 + jj] = -sg * _INF
                else:
                    out[i, j0 + jj] = sg * (c[jj] + eps * math.log(S[jj]))


# --------------------------------------------------------------------------
# Kernels of the eps > 0 product's fast paths (see tropical._ops._lse_gemm)
# --------------------------------------------------------------------------
# lse_gemm_entries skips a group of terms when all of them are below
# exp(-_WINDOW) times the largest: at most K - 1 such terms change the sum
# s >= 1 by a relative (K-1)*exp(-40) ~ (K-1)*4.2e-18, and the result by
# eps*(K-1)*4.2e-18: about 1% of the eps*2(K-1)*u term of the float64 budget.
_WINDOW = 40.0
_EG = 32  # terms per group in lse_gemm_entries' window test (4 zmm of float64)
_TILE_DOUBLES = 1 << 16  # rows of A (and of B^T) per tile: <= 512 KiB each


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def _pack_groups(X, sg, P):
    """P[r, q, g] = sg*X[r, q*ng + g] in float64 (ng = P.shape[2]), -inf past
    the row's end: group g (terms g, ng + g, 2*ng + g, ...) is column g."""
    rows, K = X.shape
    ng = P.shape[2]
    for r in prange(rows):
        for q in range(_EG):
            k0 = q * ng
            if k0 + ng <= K:
                for g in range(ng):
                    P[r, q, g] = sg * np.float64(X[r, k0 + g])
            else:
                for g in range(ng):
                    P[r, q, g] = sg * np.float64(X[r, k0 + g]) if k0 + g < K else -_INF


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def _pack_groups_cols(B, sg, P):
    """P[j, q, g] = sg*B[q*ng + g, j] in float64 (the columns of B, as
    :func:`_pack_groups` packs rows), -inf past the column's end."""
    K, n = B.shape
    ng = P.shape[2]
    nb = (n + 15) // 16
    for t in prange(nb):
        j0 = t * 16
        j1 = min(j0 + 16, n)
        for k in range(K):
            q = k // ng
            g = k - q * ng
            row = B[k]
            for j in range(j0, j1):
                P[j, q, g] = sg * np.float64(row[j])
        for k in range(K, _EG * ng):
            q = k // ng
            g = k - q * ng
            for j in range(j0, j1):
                P[j, q, g] = -_INF


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _group_maxima(a, b, gmax):
    """gmax[g] = max_q (a[q, g] + b[q, g]); returns the largest of them.

    The inner loop runs along g: elementwise, so LLVM vectorises it (a
    maximum along q would be a horizontal reduction per group)."""
    ng = gmax.shape[0]
    for g in range(ng):
        gmax[g] = _fmax_nnan(a[0, g] + b[0, g], -_INF)
    for q in range(1, _EG):
        aq = a[q]
        bq = b[q]
        for g in range(ng):
            gmax[g] = _fmax_nnan(gmax[g], aq[g] + bq[g])
    m = -_INF
    for g in range(ng):
        m = _fmax_nnan(m, gmax[g])
    return m


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _group_terms(a, b, g, m, eps, inv, use_div, z, buf):
    """buf[q] = exp((a[q, g] + b[q, g] - m)/eps) for group g.

    The group's sums are first copied to the contiguous z: the exponentials
    of strided operands vectorised badly (measured ~30x slower)."""
    for q in range(_EG):
        z[q] = a[q, g] + b[q, g]
    if use_div:
        for q in range(_EG):
            buf[q] = _exp_term((z[q] - m) / eps)
    else:
        for q in range(_EG):
            buf[q] = _exp_term((z[q] - m) * inv)


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_gemm_entries(A, B, eps, sense, mask, out):
    """The eps > 0 product on the entries where ``mask`` is set.

    ``out[i, j] = sense*(m + eps*log s)`` with ``m`` the float64 maximum of
    the terms ``sense*(A[i, k] + B[k, j])`` and ``s`` the sum of the shifted
    exponentials over the groups of ``_EG`` consecutive terms whose largest is
    within ``exp(-40)`` of ``m`` (the groups left out change the result by at
    most ``eps*(K-1)*4.3e-18``); the semiring zero where no term is finite.
    Other entries of ``out`` are left untouched (eps = 0: nothing written).

    The rows of A and the columns of B are first copied, in float64 and
    sense form, into ``_EG x ng`` blocks (group ``g`` = terms ``g, ng + g,
    ...``, padded with -inf), so that the group maxima are one elementwise
    vector loop; entries go in tiles of rows of A and columns of B whose
    copies stay in L2 (``prange`` over tiles).
    """
    m = A.shape[0]
    K = A.shape[1]
    n = B.shape[1]
    if m == 0 or n == 0 or K == 0 or eps == 0.0:
        return
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    ng = (K + _EG - 1) // _EG
    Ap = np.empty((m, _EG, ng), np.float64)
    Bp = np.empty((n, _EG, ng), np.float64)
    _pack_groups(A, sg, Ap)
    _pack_groups_cols(B, sg, Bp)
    tb = max(4, min(64, _TILE_DOUBLES // (ng * _EG)))
    nti = (m + tb - 1) // tb
    ntj = (n + tb - 1) // tb
    for t in prange(nti * ntj):
        i0 = (t // ntj) * tb
        j0 = (t % ntj) * tb
        gmax = np.empty(ng, np.float64)
        buf = np.empty(_EG, np.float64)
        z = np.empty(_EG, np.float64)
        for i in range(i0, min(i0 + tb, m)):
            a = Ap[i]
            for j in range(j0, min(j0 + tb, n)):
                if not mask[i, j]:
                    continue
                b = Bp[j]
                mx = _group_maxima(a, b, gmax)
                if mx == -_INF:
                    out[i, j] = -sg * _INF
                    continue
                s = 0.0
                for g in range(ng):
                    d = gmax[g] - mx
                    d = d / eps if use_div else d * inv
                    if d >= -_WINDOW:
                        _group_terms(a, b, g, mx, eps, inv, use_div, z, buf)
                        s += _sum(buf, _EG)
                out[i, j] = sg * (mx + eps * math.log(s))


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_from_top2(M1, M2, eps, gap, sense, out, tie):
    """The eps > 0 product from the two largest terms, where they settle it.

    ``M1``, ``M2``: the largest and second largest terms of each entry
    (:func:`~tropical.kernels.maxplus.maxplus_gemm_top2`). Where
    ``sense*(M1 - M2) > gap*eps`` (or fewer than two terms are finite):
    ``out = M1 + sense*eps*log1p(exp(-|M1 - M2|/eps))`` and ``tie = False``
    (every other term is below ``exp(-gap)`` of the largest and is left out);
    elsewhere ``tie = True`` and ``out`` is left untouched. Where ``M1`` is
    the semiring zero, ``out`` is the zero. (eps = 0: ``out = M1``.)
    """
    m, n = M1.shape
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    for i in prange(m):
        for j in range(n):
            a = sg * np.float64(M1[i, j])
            d = sg * np.float64(M2[i, j]) - a
            if a == -_INF or eps == 0.0:
                out[i, j] = M1[i, j]
                tie[i, j] = False
                continue
            r = d / eps if use_div else d * inv
            if r < -gap:  # -inf included; NaN cannot occur (a finite)
                e = _exp_term(r)
                # log1p(e) = e to within e/2 relative for e < 2**-30 (always
                # so for gap >= 21); math.log1p (scalar) otherwise
                lg = e if e < 2.0**-30 else math.log1p(e)
                out[i, j] = sg * (a + eps * lg)
                tie[i, j] = False
            else:
                tie[i, j] = True


# lse_shift_exp: kept (lifted) terms are at least this: two multiply to a normal number
_GEMM_TERM_MIN = 2.0 ** -511


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_shift_exp(X, eps, sense, axis, lift, shift, out):
    """Shifted exponentials of one operand, for the BLAS path of the product.

    ``shift[l]`` = the maximum of ``sense*X`` along ``axis`` (line ``l`` is a
    row for axis 1, a column for axis 0), 0 where that line is all semiring
    zeros; ``out = 2**lift * exp((sense*X - shift)/eps)`` in float64 (an
    exact scaling, ``0 <= lift <= 510``: the flush below ``exp(-708)`` then
    changes nothing), the terms ``exp(.) < 2**(-511 - lift)`` flushed to 0:
    every kept value is at least ``2**-511``, so a product of two is a normal
    number and the GEMM never computes a subnormal (through microcode
    assists, 2-3x slower at eps ~ 0.01).
    """
    m, n = X.shape
    sg = np.float64(sense)
    inv, use_div = _inverse(eps)
    up = 2.0 ** lift
    if axis == 1:
        for i in prange(m):
            c = _row_max(X[i], sg)
            c = c if c > -_INF else 0.0
            shift[i] = c
            row = out[i]
            _row_terms(X[i], sg, c, eps, inv, use_div, row)
            _lift_row(row, up)
    else:
        nb = (n + 255) // 256
        for b in prange(nb):
            j0 = b * 256
            j1 = min(j0 + 256, n)
            for j in range(j0, j1):
                shift[j] = -_INF
            for k in range(m):
                for j in range(j0, j1):
                    shift[j] = _maxnum(shift[j], sg * np.float64(X[k, j]))
            for j in range(j0, j1):
                if not (shift[j] > -_INF):
                    shift[j] = 0.0
        for k in prange(m):
            row = out[k]
            if use_div:
                for j in range(n):
                    row[j] = _exp_term((sg * np.float64(X[k, j]) - shift[j]) / eps)
            else:
                for j in range(n):
                    row[j] = _exp_term((sg * np.float64(X[k, j]) - shift[j]) * inv)
            _lift_row(row, up)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _lift_row(row, up):
    """row *= up (a power of two, exact); results below 2**-511 become 0."""
    for j in range(row.shape[0]):
        v = row[j] * up
        row[j] = v if v >= _GEMM_TERM_MIN else 0.0


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_gemm_blas_finish(M, S, ra, cb, K, eps, sense, safe_sum, out, unsafe):
    """The eps > 0 product from the shifted BLAS sums, clamped.

    ``S = exp((sA - ra)/eps) @ exp((sB - cb)/eps)`` (``sA = sense*A``, shifts
    from :func:`lse_shift_exp`), ``M`` the eps = 0 product, ``K`` the number
    of finite terms per entry (shape ``(m, n)``, or ``(1, 1)``: the same for
    all). ``out = sense*clamp(ra + cb + eps*log S, sM, sM + eps*log K)``
    (``sM = sense*M``), the semiring zero where ``M`` is;
    ``unsafe = S < safe_sum`` where ``M`` is finite (those entries are to be
    recomputed; ``out`` there is the clamped estimate).
    """
    m, n = M.shape
    sg = np.float64(sense)
    one = K.shape[0] == 1 and K.shape[1] == 1
    logk1 = math.log(K[0, 0]) if K[0, 0] > 0 else -_INF
    for i in prange(m):
        for j in range(n):
            sm = sg * np.float64(M[i, j])
            if sm == -_INF:
                out[i, j] = M[i, j]
                unsafe[i, j] = False
                continue
            s = S[i, j]
            lk = logk1 if one else math.log(K[i, j])
            c = (ra[i] + cb[j]) + eps * math.log(s) if s > 0.0 else -_INF
            hi = sm + eps * lk
            c = c if c > sm else sm
            c = c if c < hi else hi
            out[i, j] = sg * c
            unsafe[i, j] = not (s >= safe_sum)

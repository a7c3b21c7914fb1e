"""Fused forward pass and gradient of the least-squares loss of an LSE layer.

Installed as ``tropical.kernels.fit``. Two kernels (and a serial variant):

``lse_fit_loss_grad(X, y, W, b, eps, f, gW, gb) -> loss``
    For samples ``x_i`` (rows of ``X``, shape ``(M, d)``), targets ``y``
    (``M``), rows ``w_j`` of ``W`` (``(N, d)``) and biases ``b`` (``N``):
    ``f[i] = LSE_eps(W x_i + b)``, the loss
    ``0.5 * mean_i (f[i] - y[i])^2`` (returned) and its gradient with respect
    to the parameters (``eps`` is fixed),

    ``gW[j] = mean_i r_i pi_ij x_i``,  ``gb[j] = mean_i r_i pi_ij``,

    with residuals ``r_i = f[i] - y[i]`` and Gibbs weights
    ``pi_ij = softmax((W x_i + b)/eps)_j`` (MATH.md section 2:
    ``d f / d b_j = pi_j`` and ``d f / d w_j = pi_j x``). At ``eps = 0``,
    ``f = max_j`` and ``pi_i`` is the indicator of the argmax term; at an exact
    tie, the uniform weights on the tied terms (the ``eps -> 0`` limit of the
    softmax, an element of the subdifferential of the convex function
    ``(W, b) -> max_j (w_j.x + b_j)``).

How it runs. The samples are cut into at most ``_NBLOCK`` contiguous blocks
(the number depends on ``M`` only, never on the thread count, so the result is
bitwise the same for every ``NUMBA_NUM_THREADS``); ``prange`` runs the blocks.
Each block keeps its own gradient accumulator of ``(d + 1) x N`` float64; the
blocks' accumulators are summed at the end (in block order) and divided by
``M``. ``lse_fit_loss_grad_serial`` runs the same blocks in the same order on
the calling thread (bitwise the same result), for problems too small to pay
for waking the thread pool. Nothing of size ``M x N`` is ever stored: memory
is ``O(_NBLOCK * (d + 1) * N)`` plus a cache-sized buffer, independent of ``M``.
Per sample: ``z = W x + b``, the exact maximum ``m``, the terms
``exp((z_j - m)/eps)`` (each in ``[0, 1]``, the largest exactly ``1``, so
their sum ``s`` lies in ``[1, N]``: no overflow or underflow for any
``eps > 0``), ``f = m + eps*log(s)``, and ``(r/s) * term_j * (x, 1)`` added
to the accumulator. Two layouts, chosen by ``N`` only (so still independent
of the thread count; the threshold was measured, see
``benchmarks/results/fit.md``):

* ``N < _SAMPLE_LANES_BELOW``: the samples in the vector lanes
  (``_block_t``). ``X`` is transposed once to ``(d, M)`` (zero rows pad ``d``
  to 1, 2 or a multiple of 4); blocks of at least ``_MIN_BLOCK`` samples (long
  vector loops; still at most ``_NBLOCK`` blocks, the number set by ``M``
  alone) go in sub-blocks of ``B`` consecutive samples (``B * N <= _ZWORDS``,
  an L2-sized buffer; blocks and sub-blocks start on whole vectors and every
  work array on a 64-byte boundary, so no vector load or store straddles two
  cache lines). One vector pass over the sub-block per four terms
  (``d = 1``), two (``d = 2``) or one computes the running maxima; for
  ``d <= 2`` at ``eps > 0`` nothing else is stored and the terms pass computes
  ``z`` again (the same inlined chain of FMAs, so the largest term is exactly
  ``exp(0) = 1``), otherwise ``z`` is stored in the buffer. For ``d = 3, 4``
  at ``eps > 0`` (``_zterms4_t``) the pre-activations, maxima, terms and sums
  are written in explicit eight-lane vectors (``_f64x8``, LLVM
  ``<8 x double>``: generic IR that any target legalises): per vector of
  eight samples the coordinates, the maximum and the sum stay in registers,
  ``z`` goes to an ``8 N``-word buffer (in L1 up to a few hundred terms)
  instead of the L2-sized one, and the terms to the sub-block buffer,
  vector-major (eight lanes of term 0, of term 1, ...: one sequential stream
  of stores instead of ``N`` strided ones); the same bits as the scalar code (the
  same FMA chains and exp; ``_vfma`` is ``llvm.fmuladd``, fused exactly where
  the scalar code is contracted, and ``_vfma_exact`` / ``_vfms_exact`` are the
  ``llvm.fma`` of the scalar ``_fma``). These vectors are eight lanes whatever
  ``TROPICAL_WIDE_VECTORS`` says (LLVM splits them where registers are
  narrower). Where ``log2(e)/eps`` overflows (``eps`` below about ``8e-309``),
  the scalar path with a true division runs. Otherwise per term one vector
  pass computes the terms (stored over ``z_j``) and their sums; one vector
  pass over the samples computes ``f`` (a branch-free log, ``_log_ge1``),
  ``r`` and ``c = r/s``; then the ``d + 1`` dot products over the sub-block
  (one pass per four terms: the coefficient rows are loaded once for all of
  them and the sums form enough independent chains to hide the FMA latency;
  for ``d = 2, 3, 4`` in explicit vectors, ``_accumulate4_v``, which reads the
  terms vector-major as ``_zterms4_t`` writes them or row-major, in the same
  order: ``eps -> 0`` and ``eps = 0`` agree bit for bit) go to the accumulator. The
  loops are kept short (few arrays each): LLVM vectorises a loop only while
  its runtime alias checks stay few. No lane is wasted on padding terms, and
  the per-sample work (log, division) is vector code too, which is what costs
  at small ``N``.
  Where the samples are sorted (the Adam loop does it for ``d = 1`` at a small
  ``eps``, ``_skip_pays``), the terms with ``(z_j - m)/eps < -(_SKIP_T + log N)``
  at every sample of a sub-block are skipped (``_active_t``): together they
  weigh less than ``exp(-_SKIP_T) < 2^-64`` of ``s >= 1``, far below its
  rounding; at ``eps = 0`` only terms below the maximum everywhere, whose
  weights are exactly 0.
* otherwise the terms in the lanes (``_block``): samples in groups of four,
  row buffers of ``4 x N``; ``z`` for four samples in one pass over ``j``
  (``W`` transposed once to ``(d, N)``, four rows of ``W`` per pass), then
  the maxima, terms, sums and accumulation, every pass over ``j`` serving
  the four samples. ``N`` is padded to a multiple of 8 (the float64 lanes of
  a 512-bit vector) by terms with ``w = 0`` and ``b = -inf``, whose terms are
  exactly 0.

The terms are ``exp((z_j - m)/eps) = 2^((z_j - m) sc)`` with ``sc =
log2(e)/eps`` (``_exps_term``): ``k = round(x sc)`` and ``f = x sc - k`` each
by one true FMA (``llvm.fma``) on ``x = z_j - m``, a degree-11 polynomial of
``2^f`` on ``[-1/2, 1/2]`` and ``2^k`` put into the exponent. On an FMA target
it is within 1.02 ulp of ``2^(x sc)`` of the two doubles (0.963 ulp the worst
of 240,000 random arguments against mpmath, 1.016 the worst an adversarial
search found among 4.7e8 arguments with ``f`` near ``-1/2``, where ``2^f < 1``
has the finer ulp; 1.28 without FMA hardware, where the polynomial's
multiply-adds are not fused). ``sc = fl(_LOG2E/eps)`` is within 1.13 u of
``log2(e)/eps`` (``u = 2^-53``), which moves a term by at most
``1.13 |x|/eps`` ulps against the exact ``exp((z_j - m)/eps)``; the two
roundings of ``(z - m)*(1/eps)`` before :mod:`tropical.kernels.lse`'s exp
(0.943 ulp) cost up to ``2 |x|/eps``. The term is exactly 1 at ``x = 0``, and
results below ``2^-1021.5`` (about ``exp(-708.05)``) are flushed to 0, which
cannot change a sum ``s >= 1``. With no ``ln 2`` reduction constants and no
separate product by ``1/eps`` a term takes 17 vector operations with the
subtraction, the scaling and the sum, against 19: 6-11 % of the whole kernel. Where ``_flush_free``
proves from ``W``, ``b`` and the box of the samples that no exponent ``(z_j -
m)/eps`` can fall below ``-700`` (once per evaluation, ``O(N d)``), the terms
use ``_exps_unflushed``, the same operations without the compare and select of
the flush: the same bits. Where ``sc`` overflows (``eps`` below about
``8e-309``) the terms are ``exp((z_j - m)/eps)`` by true division and the
branch-free exp of :mod:`tropical.kernels.lse` (``_exp_term``, copied here
because a cached Numba kernel and every helper it calls must live in one file:
Numba's cache does not notice edits in another file; ``tests/test_fit.py``
checks that the two copies agree bit for bit). The same bounds guard against overflow:
where ``max_j |b_j| + sum_k max_j |w_jk| max_i |x_ik|`` reaches ``2^1000`` a
partial sum of some ``z_j`` could overflow, and the kernel returns NaN (loss,
``f`` and gradients) instead of a finite wrong number. The log of the small-``N`` layout, ``_log_ge1``
(``x >= 1``), is fdlibm's ``e_log.c`` (reduction to ``[sqrt(2)/2, sqrt(2)]``,
its polynomial of degree 7 in ``s^2``) without branches, below 1 ulp
(``tests/test_fit.py`` checks it against mpmath).

``lse_fit_adam(X, y, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
bestW, bestb, best, history, f, gW, gb) -> (done, status)``
    ``count`` iterations of full-batch Adam on ``(W, b)`` in one call (the
    caller loops over chunks, which keeps Ctrl-C and progress responsive),
    tracking the best point; see its docstring.

Nothing compiles at import; the kernel compiles on its first call and is
cached (``cache=True``). Callers validate (finite float64, C-contiguous,
matching shapes, ``eps >= 0``, ``M >= 1``).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from llvmlite import ir

from tropical._config import load_numba

numba = load_numba()
from numba import njit, prange  # noqa: E402
from numba.core import cgutils, types  # noqa: E402
from numba.extending import intrinsic, models, register_model  # noqa: E402

__all__ = ["lse_fit_loss_grad", "lse_fit_loss_grad_serial", "lse_fit_adam"]

_INF = math.inf
_CONTRACT = {"contract"}
_REASSOC = {"contract", "reassoc"}
_NBLOCK = 32  # at most this many sample blocks (each with its own accumulator)
_LANES = 8  # N is padded to a multiple of this (float64 lanes of a 512-bit vector)
_SAMPLE_LANES_BELOW = 1024  # N below this: samples in the vector lanes (_block_t)
_ZWORDS = 32768  # float64 words of the sub-block buffer Z of _block_t (256 KiB)
_MIN_BLOCK = 256  # samples per block of _block_t, at least (unless M is smaller)
_SKIP_T = 45.0  # d = 1: terms below exp(-_SKIP_T)/N on a whole sub-block are skipped


# --------------------------------------------------------------------------
# The exp of kernels/lse.py (copied: see the module docstring)
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


def _maxnum_intrinsic(name, flags, doc):
    """An intrinsic calling ``llvm.maxnum`` on float64 with the fast-math ``flags``."""

    def typer(typingctx, a, b):
        if not (isinstance(a, types.Float) and isinstance(b, types.Float)):
            return None
        sig = types.float64(types.float64, types.float64)

        def codegen(context, builder, signature, args):
            x = context.cast(builder, args[0], a, types.float64)
            y = context.cast(builder, args[1], b, types.float64)
            dbl = ir.DoubleType()
            fn = builder.module.declare_intrinsic("llvm.maxnum", [dbl],
                                                  ir.FunctionType(dbl, [dbl, dbl]))
            return builder.call(fn, [x, y], fastmath=flags)

        return sig, codegen

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


_maxnum = _maxnum_intrinsic(
    "_maxnum", (), "``llvm.maxnum`` on float64 (vectorises as a reduction, unlike ``max``).")
_max_finite = _maxnum_intrinsic(
    "_max_finite", ("nnan",),
    "``llvm.maxnum`` with the ``nnan`` flag, for operands that are never NaN: a single "
    "vector max (``vmaxpd``), and the result is always stored (a compare-and-select lets "
    "LLVM turn ``m[t] = max(m[t], z)`` into a masked store).")


if numba.config.DISABLE_JIT:  # intrinsics cannot run as Python: stand-ins
    import struct

    def _max_finite(a, b):  # noqa: F811
        return np.float64(a if a >= b else b)

    def _maxnum(a, b):  # noqa: F811
        return np.float64(a if a >= b else b)

    def _i64_bits_as_f64(bits):  # noqa: F811
        return np.float64(struct.unpack("<d", struct.pack("<Q", int(bits) & (2**64 - 1)))[0])

    def _f64_bits_as_i64(x):  # noqa: F811
        return struct.unpack("<q", struct.pack("<d", float(x)))[0]


_LOG2E = 1.4426950408889634
_ROUND = 6755399441055744.0  # 1.5 * 2**52
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_TERM_ZERO_BELOW = -708.0
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
def _exp_unflushed(x):
    """exp(x) for x in ``[-708, 0]`` only: the exp of kernels/lse.py without its
    flush (from about ``-708.4`` down the exponent field wraps: ``-720`` gives
    ``-6.6e303``); :func:`_exp_term` wraps it with the flush, for the terms of
    the division path (``log2(e)/eps`` overflows)."""
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
    p = 1.0 + r * (1.0 + r * q)
    return _i64_bits_as_f64(_f64_bits_as_i64(p) + (_f64_bits_as_i64(t) << 52))


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _exp_term(x):
    """exp(x) for x in [-inf, 0], results below exp(-708) flushed to 0 (vectorisable)."""
    y = _exp_unflushed(x if x >= _TERM_ZERO_BELOW else 0.0)
    return y if x >= _TERM_ZERO_BELOW else 0.0


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _exp_term_array(x, out):
    """out[i] = _exp_term(x[i]) (tests: bitwise the copy in kernels/lse.py)."""
    for i in range(x.shape[0]):
        out[i] = _exp_term(x[i])


_FLUSH_FREE_BELOW = 700.0  # no exponent (z_j - m)/eps can fall below -this: no flush


# --------------------------------------------------------------------------
# The terms' exp: exp((z_j - m)/eps) = 2^((z_j - m) sc) with sc = log2(e)/eps
# --------------------------------------------------------------------------
@intrinsic
def _fma(typingctx, a, b, c):
    """``a*b + c`` rounded once (``llvm.fma``: the FMA instruction, libm's ``fma``
    on a target without one), whatever the fast-math flags of the caller."""
    if not all(isinstance(v, types.Float) for v in (a, b, c)):
        return None

    def codegen(context, builder, sig, args):
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl],
                                              ir.FunctionType(dbl, [dbl] * 3))
        return builder.call(fn, [context.cast(builder, v, t, types.float64)
                                 for v, t in zip(args, sig.args)])

    return types.float64(a, b, c), codegen


def _fma_exact(a, b, c):
    """Plain-Python ``a*b + c`` rounded once (exact rational arithmetic; the
    stand-in of :func:`_fma` without the JIT), with IEEE's infinities and signed
    zeros."""
    a, b, c = float(a), float(b), float(c)
    if not (math.isfinite(a) and math.isfinite(b)):
        return np.float64(a * b + c)
    if not math.isfinite(c):
        return np.float64(c)                # the exact product is finite
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return np.float64(a * b + c)        # exact: the float sum has IEEE's sign of 0
    try:
        return np.float64(float(exact))
    except OverflowError:
        return np.float64(math.inf if exact > 0 else -math.inf)


if numba.config.DISABLE_JIT:
    _fma = _fma_exact  # noqa: F811


# 1 + f*(P1 + f*(P2 + ... + f*P11)) ~ 2^f on [-1/2, 1/2]: the Chebyshev fit of
# degree 10 to (2^f - 1)/f at 200 bits (mpmath.chebyfit), each coefficient
# rounded to the nearest double (tests/test_fit.py recomputes them)
_P1 = 0.6931471805599453
_P2 = 0.24022650695910097
_P3 = 0.0555041086648216
_P4 = 0.009618129107606888
_P5 = 0.0013333558146416936
_P6 = 0.0001540353044173605
_P7 = 1.525273382983612e-05
_P8 = 1.321544258792169e-06
_P9 = 1.0178062445845774e-07
_P10 = 7.072585949269223e-09
_P11 = 4.4549605981865186e-10
_SCALED_ZERO_BELOW = -1021.0  # round(x sc) below this: 2^(x sc) < 2^-1021.5, flushed


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _exps_unflushed(x, sc):
    """``2^(x sc)`` for ``x sc`` in ``[-1021, 0]`` (the terms ``exp((z_j - m)/eps)``
    with ``x = z_j - m`` and ``sc = log2(e)/eps``): within 1.02 ulp of the exact
    ``2^(x sc)`` of the two doubles on an FMA target (see the module docstring),
    exactly 1 at ``x = 0``.

    ``k = round(x sc)`` by the rounding trick on one FMA, ``f = x sc - k`` by a
    second (exact but for one rounding of a number below 1/2: no ``ln 2``
    reduction constants, no separate ``x/eps``), the degree-11 polynomial of
    ``2^f`` and ``2^k`` added to the exponent bits: 17 vector operations per
    term with the subtraction and the sum, against 19 for ``exp((z - m)*inv)``
    (whose two roundings also cost up to ``2 |x|/eps`` ulps before the exp).
    Outside the range the exponent field wraps (no flush: the kernels call it
    where :func:`_flush_free` proved every ``(z_j - m)/eps >= -700``).
    """
    t = _fma(x, sc, _ROUND)
    kf = t - _ROUND
    f = _fma(x, sc, -kf)
    q = _P11
    q = q * f + _P10
    q = q * f + _P9
    q = q * f + _P8
    q = q * f + _P7
    q = q * f + _P6
    q = q * f + _P5
    q = q * f + _P4
    q = q * f + _P3
    q = q * f + _P2
    q = q * f + _P1
    p = f * q + 1.0
    return _i64_bits_as_f64(_f64_bits_as_i64(p) + (_f64_bits_as_i64(t) << 52))


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _exps_term(x, sc):
    """:func:`_exps_unflushed` for every ``x <= 0``, results with ``round(x sc)
    < -1021`` (below ``2^-1021.5``, about ``exp(-708.05)``) flushed to 0: one
    compare and one select more (the garbage computed for those lanes is
    discarded)."""
    y = _exps_unflushed(x, sc)
    return y if _fma(x, sc, _ROUND) - _ROUND >= _SCALED_ZERO_BELOW else 0.0


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _exps_array(x, sc, out, unflushed):
    """out[i] = _exps_unflushed(x[i], sc) or _exps_term(x[i], sc) (tests)."""
    for i in range(x.shape[0]):
        out[i] = _exps_unflushed(x[i], sc) if unflushed else _exps_term(x[i], sc)


@njit(cache=True, nogil=True, error_model="numpy")
def _coord_ranges(XT, d):
    """``R[k] = max_i |XT[k, i]|`` for ``k < d`` (once per call; the bound of
    :func:`_flush_free`)."""
    R = np.zeros(d, np.float64)
    for k in range(d):
        row = XT[k]
        r = 0.0
        for i in range(row.shape[0]):
            r = max(r, abs(row[i]))
        R[k] = r
    return R


# --------------------------------------------------------------------------
# Explicit 8-lane float64 vectors (LLVM ``<8 x double>``: one 512-bit register
# with AVX-512, two or four elsewhere; generic IR, no target intrinsic)
# --------------------------------------------------------------------------
class _F64x8(types.Type):
    """Eight float64 lanes held in registers (only inside the kernels)."""

    def __init__(self):
        super().__init__(name="f64x8")


_f64x8 = _F64x8()
_VT = ir.VectorType(ir.DoubleType(), 8)
_VI = ir.VectorType(ir.IntType(64), 8)


@register_model(_F64x8)
class _F64x8Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VT)


def _lane_ptr(context, builder, aryty, ary, idx):
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [idx]), _VT.as_pointer())


@intrinsic
def _vload(typingctx, arr, i):
    """``arr[i:i + 8]`` of a C-contiguous 1-D float64 array (no bounds check: the
    callers size their buffers to whole vectors)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 1
            and arr.layout == "C" and isinstance(i, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_lane_ptr(context, builder, sig.args[0], args[0], args[1]),
                            align=8)

    return _f64x8(arr, i), codegen


@intrinsic
def _vstore(typingctx, arr, i, v):
    """``arr[i:i + 8] = v`` into a writable C-contiguous 1-D float64 array (no bounds
    check)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.float64 and arr.ndim == 1
            and arr.layout == "C" and arr.mutable and isinstance(i, types.Integer)
            and v == _f64x8):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _lane_ptr(context, builder, sig.args[0], args[0], args[1]),
                      align=8)
        return context.get_dummy_value()

    return types.none(arr, i, v), codegen


@intrinsic
def _vsplat(typingctx, x):
    """Eight copies of a float."""
    if not isinstance(x, (types.Float, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[0], sig.args[0], types.float64)
        i32 = ir.IntType(32)
        v = builder.insert_element(ir.Constant(_VT, ir.Undefined), v, ir.Constant(i32, 0))
        return builder.shuffle_vector(v, ir.Constant(_VT, ir.Undefined),
                                      ir.Constant(ir.VectorType(i32, 8), [0] * 8))

    return _f64x8(x), codegen


def _vector_op(name, arity, emit, doc):
    """An intrinsic on ``arity`` eight-lane vectors, its IR from ``emit(builder, *vals)``."""
    def codegen(context, builder, sig, vals):
        return emit(builder, *vals)

    def check(*args):
        return _f64x8(*args) if all(a == _f64x8 for a in args) else None

    if arity == 2:
        def typer(typingctx, a, b):
            sig = check(a, b)
            return None if sig is None else (sig, codegen)
    elif arity == 3:
        def typer(typingctx, a, b, c):
            sig = check(a, b, c)
            return None if sig is None else (sig, codegen)
    else:
        def typer(typingctx, a, b, c, e):
            sig = check(a, b, c, e)
            return None if sig is None else (sig, codegen)

    typer.__name__ = typer.__qualname__ = name
    typer.__doc__ = doc
    return intrinsic(typer)


def _call(builder, name, nargs, *vals, flags=()):
    fn = cgutils.get_or_insert_function(builder.module,
                                        ir.FunctionType(_VT, [_VT] * nargs), name)
    return builder.call(fn, list(vals), fastmath=flags)


def _exp_bits(builder, p, t):
    pi = builder.bitcast(p, _VI)
    ti = builder.bitcast(t, _VI)
    return builder.bitcast(builder.add(pi, builder.shl(ti, ir.Constant(_VI, [52] * 8))), _VT)


def _select_ge(builder, x, c, a, b):
    return builder.select(builder.fcmp_ordered(">=", x, c), a, b)


_vadd = _vector_op("_vadd", 2, lambda b, x, y: b.fadd(x, y), "Lane-wise a + b.")
_vsub = _vector_op("_vsub", 2, lambda b, x, y: b.fsub(x, y), "Lane-wise a - b.")
_vfma = _vector_op("_vfma", 3,
                   lambda b, x, y, z: _call(b, "llvm.fmuladd.v8f64", 3, x, y, z),
                   "Lane-wise a * b + c, fused where the target has FMA (``llvm.fmuladd``:"
                   " exactly what FMA contraction does to the scalar code, so the same bits"
                   " there; no per-lane library call on targets without FMA).")
_vfma_exact = _vector_op(
    "_vfma_exact", 3, lambda b, x, y, z: _call(b, "llvm.fma.v8f64", 3, x, y, z),
    "Lane-wise ``a * b + c`` rounded once (``llvm.fma``: :func:`_fma` on eight lanes).")
_vfms_exact = _vector_op(
    "_vfms_exact", 3, lambda b, x, y, z: _call(b, "llvm.fma.v8f64", 3, x, y, b.fneg(z)),
    "Lane-wise ``a * b - c`` rounded once (one ``vfmsub``).")
_vmax = _vector_op("_vmax", 2,
                   lambda b, x, y: _call(b, "llvm.maxnum.v8f64", 2, x, y, flags=("nnan",)),
                   "Lane-wise max of operands that are never NaN.")


def _has_avx512(context):
    """Whether the code generator targets AVX-512 (Numba's CPU features, which
    ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` may set below the host's)."""
    try:
        features = context.codegen()._tm_features
    except AttributeError:  # pragma: no cover - another Numba layout: the generic IR
        return False
    return "+avx512f" in str(features).split(",")


@intrinsic
def _vexp_scale(typingctx, p, t, kf):
    """Lane-wise ``p * 2^kf`` for the exp: ``kf`` an integer-valued double and ``t``
    the rounding-trick value whose low bits hold it (``kf = t - 1.5 * 2^52``).

    With AVX-512 one ``vscalefpd`` (``p``, ``kf``); elsewhere ``bits(p) +
    (bits(t) << 52)`` (two integer operations). Both are exact, so the same bits,
    wherever the result is a normal number (the exps call it only there: one
    operation fewer of about twenty, 4 % of the ``d = 4`` kernel).
    """
    if not (p == _f64x8 and t == _f64x8 and kf == _f64x8):
        return None

    def codegen(context, builder, sig, args):
        vp, vt, vk = args
        if not _has_avx512(context):
            return _exp_bits(builder, vp, vt)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(_VT, [_VT, _VT, _VT, ir.IntType(8), ir.IntType(32)]),
            "llvm.x86.avx512.mask.scalef.pd.512")
        return builder.call(fn, [vp, vk, vp, ir.Constant(ir.IntType(8), -1),
                                 ir.Constant(ir.IntType(32), 4)])   # all lanes, MXCSR rounding

    return _f64x8(p, t, kf), codegen


_vselect_ge = _vector_op("_vselect_ge", 4, _select_ge, "Lane-wise ``a if x >= c else b``.")


@intrinsic
def _vhsum(typingctx, v):
    """The sum of the eight lanes, ``((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))``
    (a fixed order, the one LLVM uses to reduce a reassociated eight-lane loop)."""
    if v != _f64x8:
        return None

    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        lane = [builder.extract_element(args[0], ir.Constant(i32, k)) for k in range(8)]
        return builder.fadd(
            builder.fadd(builder.fadd(lane[0], lane[4]), builder.fadd(lane[2], lane[6])),
            builder.fadd(builder.fadd(lane[1], lane[5]), builder.fadd(lane[3], lane[7])))

    return types.float64(v), codegen


if numba.config.DISABLE_JIT:  # plain-Python stand-ins: numpy arrays of eight lanes
    def _vload(arr, i):  # noqa: F811
        return np.array(arr[i:i + 8], dtype=np.float64)

    def _vstore(arr, i, v):  # noqa: F811
        arr[i:i + 8] = v

    def _vsplat(x):  # noqa: F811
        return np.full(8, x, dtype=np.float64)

    def _vadd(a, b):  # noqa: F811
        return a + b

    def _vsub(a, b):  # noqa: F811
        return a - b

    def _vfma(a, b, c):  # noqa: F811
        return a * b + c          # unfused, like the scalar code run as plain Python

    def _vmax(a, b):  # noqa: F811
        return np.maximum(a, b)

    def _vfma_exact(a, b, c):  # noqa: F811
        return np.array([_fma_exact(*v) for v in zip(a, b, c)])

    def _vfms_exact(a, b, c):  # noqa: F811
        return np.array([_fma_exact(u, v, -w) for u, v, w in zip(a, b, c)])

    def _vexp_scale(p, t, kf):  # noqa: F811
        return (p.view(np.int64) + (t.view(np.int64) << 52)).view(np.float64)

    def _vselect_ge(x, c, a, b):  # noqa: F811
        return np.where(x >= c, a, b)

    def _vhsum(v):  # noqa: F811
        return np.float64(((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7])))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _vexps_unflushed(x, sc):
    """:func:`_exps_unflushed` on eight lanes (``sc`` splat): the same operations,
    the same bits (the final ``2^k`` by :func:`_vexp_scale`: one ``vscalefpd`` on
    AVX-512, exact)."""
    rnd = _vsplat(_ROUND)
    t = _vfma_exact(x, sc, rnd)
    kf = _vsub(t, rnd)
    f = _vfms_exact(x, sc, kf)
    q = _vfma(_vsplat(_P11), f, _vsplat(_P10))
    q = _vfma(q, f, _vsplat(_P9))
    q = _vfma(q, f, _vsplat(_P8))
    q = _vfma(q, f, _vsplat(_P7))
    q = _vfma(q, f, _vsplat(_P6))
    q = _vfma(q, f, _vsplat(_P5))
    q = _vfma(q, f, _vsplat(_P4))
    q = _vfma(q, f, _vsplat(_P3))
    q = _vfma(q, f, _vsplat(_P2))
    q = _vfma(q, f, _vsplat(_P1))
    return _vexp_scale(_vfma(f, q, _vsplat(1.0)), t, kf)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _vexps_term(x, sc):
    """:func:`_exps_term` on eight lanes (the flush below ``2^-1021.5``)."""
    rnd = _vsplat(_ROUND)
    kf = _vsub(_vfma_exact(x, sc, rnd), rnd)
    return _vselect_ge(kf, _vsplat(_SCALED_ZERO_BELOW), _vexps_unflushed(x, sc),
                       _vsplat(0.0))


@njit(cache=True, nogil=True, error_model="numpy")
def _vexps_array(x, sc, out, unflushed):
    """out[i:i+8] = the eight-lane exp of x[i:i+8] (tests: the bits of the scalar ones);
    ``len(x)`` a multiple of 8."""
    assert x.shape[0] % 8 == 0 and out.shape[0] == x.shape[0]
    vs = _vsplat(sc)
    for i in range(0, x.shape[0], 8):
        v = _vload(x, i)
        _vstore(out, i, _vexps_unflushed(v, vs) if unflushed else _vexps_term(v, vs))


_Z_TOO_BIG = 2.0 ** 1000  # |b_j| + sum_k |w_jk| |x_k| from here on: NaN, not a wrong number


@njit(cache=True, nogil=True, error_model="numpy")
def _bounds(R, W, b):
    """``(spread, big)`` over the box ``|x_k| <= R[k]``: ``spread = sum_k (max_j w_jk -
    min_j w_jk) R_k + (max_j b_j - min_j b_j)`` bounds ``z_l - z_j`` for any two terms,
    ``big = max_j |b_j| + sum_k max_j |w_jk| R_k`` every partial sum of any ``z_j``.
    ``O(N d)``, once per evaluation."""
    N, d = W.shape
    lo = hi = b[0]
    big = 0.0
    for j in range(N):
        lo = min(lo, b[j])
        hi = max(hi, b[j])
        big = max(big, abs(b[j]))
    spread = hi - lo
    for k in range(d):
        lo = hi = W[0, k]
        a = 0.0
        for j in range(N):
            lo = min(lo, W[j, k])
            hi = max(hi, W[j, k])
            a = max(a, abs(W[j, k]))
        spread += (hi - lo) * R[k]
        big += a * R[k]
    return spread, big


@njit(cache=True, nogil=True, error_model="numpy")
def _flush_free(spread, big, d, inv):
    """Whether ``(z_j - max_l z_l)*inv >= -_FLUSH_FREE_BELOW`` provably holds for every
    sample in the box of :func:`_bounds` and every term (then ``(z_j - m) sc >= -700
    log2(e) (1 + margin) > -1011``, far inside the range of :func:`_exps_unflushed`,
    which computes exactly what :func:`_exps_term` would).

    ``z_l - z_j <= spread``; the rounding of ``z`` (``d + 1`` operations on
    terms of size at most ``big``), of the subtraction and of the product is
    covered by a relative margin far above ``(d + 4) u``. NaN or infinite
    bounds, or ``inv = inf``: False.
    """
    if not inv < _INF:
        return False
    margin = (d + 8) * 2.0 ** -50
    bound = (spread * (1.0 + margin) + 2.0 * big * margin) * inv * (1.0 + margin)
    return bound <= _FLUSH_FREE_BELOW


@njit(cache=True, nogil=True, error_model="numpy")
def _overflowed(f, gW, gb):
    """The result where a pre-activation could overflow (``big >= _Z_TOO_BIG``): NaN
    everywhere, never a finite wrong number."""
    f[:] = np.nan
    gW[:, :] = np.nan
    gb[:] = np.nan
    return np.nan


_SQRT2 = 1.4142135623730951
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_MANT = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _log_ge1(x):
    """log(x) for finite x >= 1 (branch-free, vectorisable; fdlibm's e_log.c
    reduction and polynomial, error below 1 ulp there; ``tests/test_fit.py``
    checks it against ``math.log``)."""
    bits = _f64_bits_as_i64(x)
    k = (bits >> 52) - 1023
    m = _i64_bits_as_f64((bits & _MANT) | _ONE_BITS)  # x = 2^k m, m in [1, 2)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    kf = float(k + 1) if big else float(k)        # m in (sqrt(2)/2, sqrt(2)]
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    hfsq = 0.5 * f * f
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + r) + kf * _LN2_LO)) - f)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _log_ge1_array(x, out):
    """out[i] = _log_ge1(x[i]) (tests)."""
    for i in range(x.shape[0]):
        out[i] = _log_ge1(x[i])


# --------------------------------------------------------------------------
# Row helpers
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _preactivations(WT, b, x, z):
    """z[j] = b[j] + sum_k WT[k, j] * x[k] (k < len(x); WT may have zero rows beyond)."""
    d = x.shape[0]
    n = WT.shape[1]
    for j in range(n):
        z[j] = b[j]
    for k in range(d):
        xk = x[k]
        row = WT[k]
        for j in range(n):
            z[j] += row[j] * xk


@njit(cache=True, nogil=True, error_model="numpy")
def _row_max(z):
    m = -_INF
    for j in range(z.shape[0]):
        m = _maxnum(m, z[j])
    return m


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _terms(z, m, eps, use_div, e):
    """e[j] = exp((z[j] - m)/eps) in [0, 1]; eps = 0: the indicator of z[j] == m."""
    n = z.shape[0]
    if eps == 0.0:
        for j in range(n):
            e[j] = 1.0 if z[j] == m else 0.0
    elif use_div:
        for j in range(n):
            e[j] = _exp_term((z[j] - m) / eps)
    else:
        sc = _LOG2E / eps
        for j in range(n):
            e[j] = _exps_term(z[j] - m, sc)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _sum(e):
    s = 0.0
    for j in range(e.shape[0]):
        s += e[j]
    return s


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _accumulate(acc, e, c, x):
    """acc[k, j] += c*x[k]*e[j] (k < d), acc[d, j] += c*e[j]."""
    d = x.shape[0]
    n = e.shape[0]
    for k in range(d):
        ck = c * x[k]
        row = acc[k]
        for j in range(n):
            row[j] += ck * e[j]
    row = acc[d]
    for j in range(n):
        row[j] += c * e[j]


# --------------------------------------------------------------------------
# The kernels: one block body, run in parallel or serially
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _setup(X, W, b, eps):
    """``(WT, bp, inv, use_div, nblocks, size)``: padded W transposed and b, 1/eps, blocks."""
    M = X.shape[0]
    N, d = W.shape
    Np = (N + _LANES - 1) // _LANES * _LANES
    # zero rows pad d to a multiple of 4; padding terms (w = 0, b = -inf) pad N to a
    # multiple of the vector width: their terms are exactly 0 and change nothing
    WT = np.zeros(((d + 3) // 4 * 4, Np), np.float64)
    bp = np.full(Np, -_INF)
    for j in range(N):
        bp[j] = b[j]
        for k in range(d):
            WT[k, j] = W[j, k]
    inv = 1.0 / eps if eps > 0.0 else _INF
    use_div = not (eps > 0.0 and _LOG2E / eps < _INF)   # the scale of _exps overflows
    nblocks = min(_NBLOCK, M)
    size = (M + nblocks - 1) // nblocks
    nblocks = (M + size - 1) // size
    return WT, bp, inv, use_div, nblocks, size


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _preactivations4(WT, b, X, i, Z):
    """Z[s, j] = b[j] + sum_k WT[k, j] * X[i + s, k] for s < 4.

    ``WT`` has a multiple of 4 rows (zero rows beyond ``d``): each pass over
    ``j`` takes four rows of ``W`` and four samples, 16 FMAs per 4 stores.
    """
    d = X.shape[1]
    n = WT.shape[1]
    z0, z1, z2, z3 = Z[0], Z[1], Z[2], Z[3]
    for k0 in range(0, WT.shape[0], 4):
        w0, w1, w2, w3 = WT[k0], WT[k0 + 1], WT[k0 + 2], WT[k0 + 3]
        x00 = X[i, k0] if k0 < d else 0.0
        x01 = X[i, k0 + 1] if k0 + 1 < d else 0.0
        x02 = X[i, k0 + 2] if k0 + 2 < d else 0.0
        x03 = X[i, k0 + 3] if k0 + 3 < d else 0.0
        x10 = X[i + 1, k0] if k0 < d else 0.0
        x11 = X[i + 1, k0 + 1] if k0 + 1 < d else 0.0
        x12 = X[i + 1, k0 + 2] if k0 + 2 < d else 0.0
        x13 = X[i + 1, k0 + 3] if k0 + 3 < d else 0.0
        x20 = X[i + 2, k0] if k0 < d else 0.0
        x21 = X[i + 2, k0 + 1] if k0 + 1 < d else 0.0
        x22 = X[i + 2, k0 + 2] if k0 + 2 < d else 0.0
        x23 = X[i + 2, k0 + 3] if k0 + 3 < d else 0.0
        x30 = X[i + 3, k0] if k0 < d else 0.0
        x31 = X[i + 3, k0 + 1] if k0 + 1 < d else 0.0
        x32 = X[i + 3, k0 + 2] if k0 + 2 < d else 0.0
        x33 = X[i + 3, k0 + 3] if k0 + 3 < d else 0.0
        if k0 == 0:
            for j in range(n):
                a, p, q, r = w0[j], w1[j], w2[j], w3[j]
                z0[j] = b[j] + ((a * x00 + p * x01) + (q * x02 + r * x03))
                z1[j] = b[j] + ((a * x10 + p * x11) + (q * x12 + r * x13))
                z2[j] = b[j] + ((a * x20 + p * x21) + (q * x22 + r * x23))
                z3[j] = b[j] + ((a * x30 + p * x31) + (q * x32 + r * x33))
        else:
            for j in range(n):
                a, p, q, r = w0[j], w1[j], w2[j], w3[j]
                z0[j] += (a * x00 + p * x01) + (q * x02 + r * x03)
                z1[j] += (a * x10 + p * x11) + (q * x12 + r * x13)
                z2[j] += (a * x20 + p * x21) + (q * x22 + r * x23)
                z3[j] += (a * x30 + p * x31) + (q * x32 + r * x33)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _accumulate4(acc, E, c, X, i):
    """acc[k, j] += sum_s c[s]*X[i+s, k]*E[s, j] (k < d), acc[d, j] += sum_s c[s]*E[s, j]."""
    d = X.shape[1]
    n = E.shape[1]
    e0, e1, e2, e3 = E[0], E[1], E[2], E[3]
    for k in range(d):
        a0 = c[0] * X[i, k]
        a1 = c[1] * X[i + 1, k]
        a2 = c[2] * X[i + 2, k]
        a3 = c[3] * X[i + 3, k]
        row = acc[k]
        for j in range(n):
            row[j] += (a0 * e0[j] + a1 * e1[j]) + (a2 * e2[j] + a3 * e3[j])
    a0, a1, a2, a3 = c[0], c[1], c[2], c[3]
    row = acc[d]
    for j in range(n):
        row[j] += (a0 * e0[j] + a1 * e1[j]) + (a2 * e2[j] + a3 * e3[j])


@njit(cache=True, nogil=True, error_model="numpy")
def _max4(Z, m):
    """m[s] = max_j Z[s, j] for the four rows (one pass)."""
    z0, z1, z2, z3 = Z[0], Z[1], Z[2], Z[3]
    a0 = a1 = a2 = a3 = -_INF
    for j in range(Z.shape[1]):
        a0 = _maxnum(a0, z0[j])
        a1 = _maxnum(a1, z1[j])
        a2 = _maxnum(a2, z2[j])
        a3 = _maxnum(a3, z3[j])
    m[0], m[1], m[2], m[3] = a0, a1, a2, a3


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _terms4(Z, m, eps, use_div, unflushed, E):
    """E[s, j] = exp((Z[s, j] - m[s])/eps) for the four rows (eps = 0: indicator)."""
    n = Z.shape[1]
    z0, z1, z2, z3 = Z[0], Z[1], Z[2], Z[3]
    e0, e1, e2, e3 = E[0], E[1], E[2], E[3]
    m0, m1, m2, m3 = m[0], m[1], m[2], m[3]
    if eps == 0.0:
        for j in range(n):
            e0[j] = 1.0 if z0[j] == m0 else 0.0
            e1[j] = 1.0 if z1[j] == m1 else 0.0
            e2[j] = 1.0 if z2[j] == m2 else 0.0
            e3[j] = 1.0 if z3[j] == m3 else 0.0
    elif use_div:
        for j in range(n):
            e0[j] = _exp_term((z0[j] - m0) / eps)
            e1[j] = _exp_term((z1[j] - m1) / eps)
            e2[j] = _exp_term((z2[j] - m2) / eps)
            e3[j] = _exp_term((z3[j] - m3) / eps)
    elif unflushed:
        sc = _LOG2E / eps
        for j in range(n):
            e0[j] = _exps_unflushed(z0[j] - m0, sc)
            e1[j] = _exps_unflushed(z1[j] - m1, sc)
            e2[j] = _exps_unflushed(z2[j] - m2, sc)
            e3[j] = _exps_unflushed(z3[j] - m3, sc)
    else:
        sc = _LOG2E / eps
        for j in range(n):
            e0[j] = _exps_term(z0[j] - m0, sc)
            e1[j] = _exps_term(z1[j] - m1, sc)
            e2[j] = _exps_term(z2[j] - m2, sc)
            e3[j] = _exps_term(z3[j] - m3, sc)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _sum4(E, out):
    """out[s] = sum_j E[s, j] for the four rows (one pass, any order)."""
    e0, e1, e2, e3 = E[0], E[1], E[2], E[3]
    a0 = a1 = a2 = a3 = 0.0
    for j in range(E.shape[1]):
        a0 += e0[j]
        a1 += e1[j]
        a2 += e2[j]
        a3 += e3[j]
    out[0], out[1], out[2], out[3] = a0, a1, a2, a3


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _block(X, y, WT, b, eps, use_div, unflushed, lo, hi, f, acc):
    """Samples ``lo <= i < hi``: fill ``f[i]``, add to ``acc``, return the sum of r^2.

    Samples go in groups of four: every pass over ``j`` (pre-activations,
    maxima, terms, sums, gradient accumulation) serves four samples, which
    amortises the loop overhead (it dominates for small ``N``) and keeps
    four independent exps in flight; the remainder goes one by one.
    """
    N = WT.shape[1]
    # Z and E in one buffer, E half a page (mod 4 KiB) after Z: the terms pass loads
    # Z[s, j] and stores E[s, j], and where the two addresses agree in their low 12
    # bits (the allocator decided, so it varied from process to process) every load
    # waits for the store before it (4K aliasing: up to 1.3x slower)
    pad = (256 - 4 * N) % 512
    buf = _aligned(8 * N + pad)
    Z = buf[:4 * N].reshape(4, N)
    E = buf[4 * N + pad:8 * N + pad].reshape(4, N)
    c = np.empty(4, np.float64)
    m4 = np.empty(4, np.float64)
    s4 = np.empty(4, np.float64)
    sq = 0.0
    i = lo
    while i + 4 <= hi:
        _preactivations4(WT, b, X, i, Z)
        _max4(Z, m4)
        _terms4(Z, m4, eps, use_div, unflushed, E)
        _sum4(E, s4)
        for s in range(4):
            tot = s4[s]
            fi = m4[s] + eps * math.log(tot) if eps > 0.0 else m4[s]
            f[i + s] = fi
            r = fi - y[i + s]
            sq += r * r
            c[s] = r / tot
        _accumulate4(acc, E, c, X, i)
        i += 4
    z = Z[0]
    e = E[0]
    while i < hi:
        x = X[i]
        _preactivations(WT, b, x, z)
        m = _row_max(z)
        _terms(z, m, eps, use_div, e)
        tot = _sum(e)
        fi = m + eps * math.log(tot) if eps > 0.0 else m
        f[i] = fi
        r = fi - y[i]
        sq += r * r
        _accumulate(acc, e, r / tot, x)
        i += 1
    return sq


# --------------------------------------------------------------------------
# Small N: samples in the vector lanes
# --------------------------------------------------------------------------
# The pre-activation ``z = b_j + w_j . x`` of the sample-lane layout, one formula per
# padded dimension: :func:`_max_t` and :func:`_terms_fused_t` compute ``z`` twice
# (once for the maxima, once for the terms) and must get the same bits, so both
# inline these (the same operations, contracted to the same chain of FMAs).
@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _z1(bj, w0, x0):
    return bj + w0 * x0


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _z2(bj, w0, w1, x0, x1):
    return bj + w0 * x0 + w1 * x1


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _z4(bj, w0, w1, w2, w3, x0, x1, x2, x3):
    return bj + w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3


@njit(cache=True, nogil=True, error_model="numpy")
def _pad4_into(W, W4):
    """``W4[:, :d] = W``, ``W4[:, d:] = 0`` (``W4`` has ``W``'s rows and 4 columns)."""
    for j in range(W4.shape[0]):
        for k in range(4):
            W4[j, k] = W[j, k] if k < W.shape[1] else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _w4(W, j):
    """Row ``j`` of ``W`` padded with zeros to four coordinates."""
    d = W.shape[1]
    return (W[j, 0], W[j, 1] if 1 < d else 0.0, W[j, 2] if 2 < d else 0.0,
            W[j, 3] if 3 < d else 0.0)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _max_t(XT, W, b, i0, n, mx):
    """mx[t] = max_j z_j(x_(i0 + t)) for t < n and ``d <= 2``, nothing stored but the
    maxima (:func:`_terms_fused_t` recomputes ``z``: cheaper than a round trip of an
    ``N x B`` buffer through the L2 cache). Each vector pass serves four terms
    (``d = 1``) or two."""
    N = W.shape[0]
    dp = XT.shape[0]
    for t in range(n):
        mx[t] = -_INF
    j = 0
    if dp == 1:
        x0 = XT[0, i0:i0 + n]
        while j + 4 <= N:
            ba, bb, bc, bd = b[j], b[j + 1], b[j + 2], b[j + 3]
            wa, wb, wc, wd = W[j, 0], W[j + 1, 0], W[j + 2, 0], W[j + 3, 0]
            for t in range(n):
                x = x0[t]
                p = _max_finite(_z1(ba, wa, x), _z1(bb, wb, x))
                q = _max_finite(_z1(bc, wc, x), _z1(bd, wd, x))
                mx[t] = _max_finite(mx[t], _max_finite(p, q))
            j += 4
        while j < N:
            bj, w0 = b[j], W[j, 0]
            for t in range(n):
                mx[t] = _max_finite(mx[t], _z1(bj, w0, x0[t]))
            j += 1
    else:
        x0, x1 = XT[0, i0:i0 + n], XT[1, i0:i0 + n]
        while j + 2 <= N:
            ba, a0, a1 = b[j], W[j, 0], W[j, 1]
            bb, c0, c1 = b[j + 1], W[j + 1, 0], W[j + 1, 1]
            for t in range(n):
                p = _max_finite(_z2(ba, a0, a1, x0[t], x1[t]), _z2(bb, c0, c1, x0[t], x1[t]))
                mx[t] = _max_finite(mx[t], p)
            j += 2
        while j < N:
            bj, w0, w1 = b[j], W[j, 0], W[j, 1]
            for t in range(n):
                mx[t] = _max_finite(mx[t], _z2(bj, w0, w1, x0[t], x1[t]))
            j += 1


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _terms_fused_t(XT, W, b, i0, n, mx, sc, unflushed, Z, sv, act, na):
    """Z[j, t] = exp((z_j(x_(i0 + t)) - mx[t])/eps), sv[t] = their sum in order, for
    the terms ``j = act[a]``, ``a < na``, ``z`` recomputed exactly as :func:`_max_t`
    did (``eps > 0`` with finite ``sc = log2(e)/eps``, ``d <= 2``)."""
    dp = XT.shape[0]
    for t in range(n):
        sv[t] = 0.0
    if dp == 1:
        x0 = XT[0, i0:i0 + n]
        for a in range(na):
            j = act[a]
            zr = Z[j]
            bj, w0 = b[j], W[j, 0]
            if unflushed:
                for t in range(n):
                    e = _exps_unflushed(_z1(bj, w0, x0[t]) - mx[t], sc)
                    zr[t] = e
                    sv[t] += e
            else:
                for t in range(n):
                    e = _exps_term(_z1(bj, w0, x0[t]) - mx[t], sc)
                    zr[t] = e
                    sv[t] += e
    else:
        x0, x1 = XT[0, i0:i0 + n], XT[1, i0:i0 + n]
        for a in range(na):
            j = act[a]
            zr = Z[j]
            bj, w0, w1 = b[j], W[j, 0], W[j, 1]
            if unflushed:
                for t in range(n):
                    e = _exps_unflushed(_z2(bj, w0, w1, x0[t], x1[t]) - mx[t], sc)
                    zr[t] = e
                    sv[t] += e
            else:
                for t in range(n):
                    e = _exps_term(_z2(bj, w0, w1, x0[t], x1[t]) - mx[t], sc)
                    zr[t] = e
                    sv[t] += e


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _active1_t(XT, W, b, i0, n, mx, inv, T, act):
    """:func:`_active_t` for ``d = 1`` and ``eps > 0`` (finite ``1/eps``) without a
    stored ``Z``: ``z`` recomputed as :func:`_max_t` does."""
    N = W.shape[0]
    x0 = XT[0, i0:i0 + n]
    na = 0
    for j in range(N):
        bj, w0 = b[j], W[j, 0]
        g = -_INF
        for t in range(n):
            g = _maxnum(g, _z1(bj, w0, x0[t]) - mx[t])
        if g * inv >= -T:
            act[na] = j
            na += 1
    return na


@njit(cache=True, nogil=True, error_model="numpy")
def _zterms4_t(XT, W4, b, i0, n, sc, unflushed, Zg, E, mx, sv):
    """``d`` padded to 4 (``W4``: ``(N, 4)``, zero columns after ``d``), ``eps > 0`` with
    finite ``sc = log2(e)/eps``: maxima, terms and sums of the sub-block in explicit eight-lane
    vectors, the terms vector-major.

    For each vector ``g`` of eight samples (a vector starts at or before sample
    ``M - 1``, and ``XT`` has 8 zero columns after the samples; lanes past ``n``
    compute finite values in ``[0, 1]`` that :func:`_accumulate4_v` multiplies by
    zero): the four coordinates stay in registers while one pass over the terms
    computes ``z_j`` (the FMA chain of :func:`_z4`, the same bits) into ``Zg``
    (``8 N`` words: in L1 up to a few hundred terms) and the running maximum; a
    second pass computes the terms into ``E[8 (g N + j):8 (g N + j) + 8]`` (one
    sequential stream of stores) and their sum; the maximum and the sum stay in
    registers.
    """
    N = W4.shape[0]
    vs = _vsplat(sc)
    x0r, x1r, x2r, x3r = XT[0], XT[1], XT[2], XT[3]
    for g in range((n + 7) // 8):
        o = i0 + 8 * g
        x0, x1 = _vload(x0r, o), _vload(x1r, o)
        x2, x3 = _vload(x2r, o), _vload(x3r, o)
        m = _vsplat(-_INF)
        for j in range(N):
            # unconditional loads: each splat folds into its FMA as a broadcast
            # operand (the selects of _w4 here cost 10-14 % of the whole kernel)
            w0, w1, w2, w3 = W4[j, 0], W4[j, 1], W4[j, 2], W4[j, 3]
            z = _vfma(_vsplat(w0), x0, _vsplat(b[j]))
            z = _vfma(_vsplat(w1), x1, z)
            z = _vfma(_vsplat(w2), x2, z)
            z = _vfma(_vsplat(w3), x3, z)
            _vstore(Zg, 8 * j, z)
            m = _vmax(m, z)
        _vstore(mx, 8 * g, m)
        s = _vsplat(0.0)
        base = 8 * g * N
        if unflushed:
            for j in range(N):
                e = _vexps_unflushed(_vsub(_vload(Zg, 8 * j), m), vs)
                _vstore(E, base + 8 * j, e)
                s = _vadd(s, e)
        else:
            for j in range(N):
                e = _vexps_term(_vsub(_vload(Zg, 8 * j), m), vs)
                _vstore(E, base + 8 * j, e)
                s = _vadd(s, e)
        _vstore(sv, 8 * g, s)


@njit(cache=True, nogil=True, error_model="numpy")
def _accumulate4_v(CX, E, n, acc, sg, sj):
    """acc[k, j] += sum_t CX[k, t]*e_j[t] for ``k <= d`` (``d + 1 = 3, 4`` or ``5``),
    the eight lanes of term ``j`` at vector ``g`` at ``E[g sg + j sj:...+ 8]``.

    Vector-major as :func:`_zterms4_t` writes the terms (``sg = 8 N``, ``sj = 8``)
    or row-major as :func:`_terms_t` does (``sg = 8``, ``sj`` the row length, a
    multiple of 8): the same sums in the same order either way, so ``eps > 0``
    and ``eps = 0`` give the same bits where the same terms are non-zero. Four
    terms per pass over the vectors of the sub-block (a short last group repeats
    its last term, the copies dropped: a term's sums do not depend on its
    group), ``4 (d + 1)`` eight-lane accumulators (the coefficient vectors are
    loaded once for four terms: about 20 % faster than two), the lanes summed
    by :func:`_vhsum`. In the last vector the lanes past ``n`` must hold
    ``CX = 0`` and finite terms.
    """
    K, N = acc.shape
    G = (n + 7) // 8
    c0r, c1r, c2r, c3r, c4r = CX[0], CX[1], CX[2], CX[min(3, K - 1)], CX[K - 1]
    for j in range(0, N, 4):
        j1, j2, j3 = min(j + 1, N - 1), min(j + 2, N - 1), min(j + 3, N - 1)
        zero = _vsplat(0.0)
        a0 = a1 = a2 = a3 = a4 = zero
        u0 = u1 = u2 = u3 = u4 = zero
        p0 = p1 = p2 = p3 = p4 = zero
        q0 = q1 = q2 = q3 = q4 = zero
        for g in range(G):
            o = 8 * g
            e = _vload(E, g * sg + j * sj)
            f = _vload(E, g * sg + j1 * sj)
            h = _vload(E, g * sg + j2 * sj)
            w = _vload(E, g * sg + j3 * sj)
            c = _vload(c0r, o)
            a0, u0, p0, q0 = _vfma(c, e, a0), _vfma(c, f, u0), _vfma(c, h, p0), _vfma(c, w, q0)
            c = _vload(c1r, o)
            a1, u1, p1, q1 = _vfma(c, e, a1), _vfma(c, f, u1), _vfma(c, h, p1), _vfma(c, w, q1)
            c = _vload(c2r, o)
            a2, u2, p2, q2 = _vfma(c, e, a2), _vfma(c, f, u2), _vfma(c, h, p2), _vfma(c, w, q2)
            if K >= 4:
                c = _vload(c3r, o)
                a3, u3 = _vfma(c, e, a3), _vfma(c, f, u3)
                p3, q3 = _vfma(c, h, p3), _vfma(c, w, q3)
            if K == 5:
                c = _vload(c4r, o)
                a4, u4 = _vfma(c, e, a4), _vfma(c, f, u4)
                p4, q4 = _vfma(c, h, p4), _vfma(c, w, q4)
        _add_v(acc, j, (a0, a1, a2, a3, a4))
        if j1 > j:
            _add_v(acc, j1, (u0, u1, u2, u3, u4))
        if j2 > j1:
            _add_v(acc, j2, (p0, p1, p2, p3, p4))
        if j3 > j2:
            _add_v(acc, j3, (q0, q1, q2, q3, q4))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _add_v(acc, j, s):
    """acc[k, j] += the lane sum of s[k] for k < acc.shape[0] (3, 4 or 5)."""
    acc[0, j] += _vhsum(s[0])
    acc[1, j] += _vhsum(s[1])
    acc[2, j] += _vhsum(s[2])
    if acc.shape[0] >= 4:
        acc[3, j] += _vhsum(s[3])
    if acc.shape[0] == 5:
        acc[4, j] += _vhsum(s[4])


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _zmax_t(XT, W, b, i0, n, Z, mx):
    """Z[j, t] = b[j] + w_j . x_(i0 + t), mx[t] = max_j Z[j, t] (t < n).

    ``XT`` is ``X`` transposed, with zero rows padding ``d`` to 1, 2 or a
    multiple of 4. Each vector pass over the sub-block serves four terms
    (``d = 1``), two (``d = 2``) or one (``d`` padded to 4: four coordinates
    per pass), so the running maxima are loaded and stored once per pass; ``z``
    is the chain ``b_j + w_j1 x_1 + ...`` of fused multiply-adds. The
    pre-activations are finite (validated inputs): :func:`_max_finite`.
    """
    N, d = W.shape
    dp = XT.shape[0]
    for t in range(n):
        mx[t] = -_INF
    j = 0
    if dp == 1:
        x0 = XT[0, i0:i0 + n]
        while j + 4 <= N:
            za, zb, zc, zd = Z[j], Z[j + 1], Z[j + 2], Z[j + 3]
            ba, bb, bc, bd = b[j], b[j + 1], b[j + 2], b[j + 3]
            wa, wb, wc, wd = W[j, 0], W[j + 1, 0], W[j + 2, 0], W[j + 3, 0]
            for t in range(n):
                x = x0[t]
                p = _z1(ba, wa, x)
                q = _z1(bb, wb, x)
                r = _z1(bc, wc, x)
                u = _z1(bd, wd, x)
                za[t] = p
                zb[t] = q
                zc[t] = r
                zd[t] = u
                mx[t] = _max_finite(mx[t], _max_finite(_max_finite(p, q), _max_finite(r, u)))
            j += 4
        while j < N:
            zr = Z[j]
            bj, w0 = b[j], W[j, 0]
            for t in range(n):
                z = _z1(bj, w0, x0[t])
                zr[t] = z
                mx[t] = _max_finite(mx[t], z)
            j += 1
    elif dp == 2:
        x0, x1 = XT[0, i0:i0 + n], XT[1, i0:i0 + n]
        while j + 2 <= N:
            za, zb = Z[j], Z[j + 1]
            ba, a0, a1 = b[j], W[j, 0], W[j, 1]
            bb, c0, c1 = b[j + 1], W[j + 1, 0], W[j + 1, 1]
            for t in range(n):
                p = _z2(ba, a0, a1, x0[t], x1[t])
                q = _z2(bb, c0, c1, x0[t], x1[t])
                za[t] = p
                zb[t] = q
                mx[t] = _max_finite(mx[t], _max_finite(p, q))
            j += 2
        while j < N:
            zr = Z[j]
            bj, w0, w1 = b[j], W[j, 0], W[j, 1]
            for t in range(n):
                z = _z2(bj, w0, w1, x0[t], x1[t])
                zr[t] = z
                mx[t] = _max_finite(mx[t], z)
            j += 1
    elif dp == 4:
        x0, x1 = XT[0, i0:i0 + n], XT[1, i0:i0 + n]
        x2, x3 = XT[2, i0:i0 + n], XT[3, i0:i0 + n]
        for j in range(N):
            zr = Z[j]
            bj = b[j]
            w0, w1, w2, w3 = _w4(W, j)
            for t in range(n):
                z = _z4(bj, w0, w1, w2, w3, x0[t], x1[t], x2[t], x3[t])
                zr[t] = z
                mx[t] = _max_finite(mx[t], z)
    else:
        for j in range(N):
            zr = Z[j]
            bj = b[j]
            for k0 in range(0, dp, 4):
                x0, x1 = XT[k0, i0:i0 + n], XT[k0 + 1, i0:i0 + n]
                x2, x3 = XT[k0 + 2, i0:i0 + n], XT[k0 + 3, i0:i0 + n]
                w0 = W[j, k0]
                w1 = W[j, k0 + 1] if k0 + 1 < d else 0.0
                w2 = W[j, k0 + 2] if k0 + 2 < d else 0.0
                w3 = W[j, k0 + 3] if k0 + 3 < d else 0.0
                if k0 == 0:
                    for t in range(n):
                        zr[t] = bj + w0 * x0[t] + w1 * x1[t] + w2 * x2[t] + w3 * x3[t]
                else:
                    for t in range(n):
                        zr[t] += w0 * x0[t] + w1 * x1[t] + w2 * x2[t] + w3 * x3[t]
            for t in range(n):
                mx[t] = _max_finite(mx[t], zr[t])


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _terms_t(Z, n, mx, eps, use_div, unflushed, sv, act, na):
    """Z[j, t] <- exp((Z[j, t] - mx[t])/eps) (eps = 0: indicator), sv[t] = sum_j in order,
    for the terms ``j = act[a]``, ``a < na``. ``unflushed``: :func:`_flush_free` has
    proven every exponent ``>= -700``, so :func:`_exps_unflushed` gives the same bits
    as :func:`_exps_term` without its compare and select."""
    sc = _LOG2E / eps if eps > 0.0 else 0.0
    for t in range(n):
        sv[t] = 0.0
    for a in range(na):
        zr = Z[act[a]]
        if eps == 0.0:
            for t in range(n):
                e = 1.0 if zr[t] == mx[t] else 0.0
                zr[t] = e
                sv[t] += e
        elif use_div:
            for t in range(n):
                e = _exp_term((zr[t] - mx[t]) / eps)
                zr[t] = e
                sv[t] += e
        elif unflushed:
            for t in range(n):
                e = _exps_unflushed(zr[t] - mx[t], sc)
                zr[t] = e
                sv[t] += e
        else:
            for t in range(n):
                e = _exps_term(zr[t] - mx[t], sc)
                zr[t] = e
                sv[t] += e


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _dot(a, b, n):
    """sum_t a[t]*b[t] for t < n (any order: the compiled order is fixed)."""
    s = 0.0
    for t in range(n):
        s += a[t] * b[t]
    return s


# The gradient's dot products over a sub-block: several terms per pass, so the
# coefficient rows CX are loaded once for all of them and the sums form enough
# independent chains to hide the latency of the fused multiply-add.
@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _dot2x4(a0, a1, e, f, g, h, n):
    """(a0.e, a1.e, a0.f, a1.f, a0.g, a1.g, a0.h, a1.h) over t < n."""
    s0 = s1 = u0 = u1 = v0 = v1 = w0 = w1 = 0.0
    for t in range(n):
        p, q = a0[t], a1[t]
        et, ft, gt, ht = e[t], f[t], g[t], h[t]
        s0 += p * et
        s1 += q * et
        u0 += p * ft
        u1 += q * ft
        v0 += p * gt
        v1 += q * gt
        w0 += p * ht
        w1 += q * ht
    return s0, s1, u0, u1, v0, v1, w0, w1


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _accumulate_t(CX, Z, n, acc, act, na):
    """acc[k, j] += sum_t CX[k, t]*Z[j, t] for k <= d and ``j = act[a]``, ``a < na``
    (one pass over the sub-block serves four terms for d = 1; d = 2, 3 and 4 go
    to :func:`_accumulate4_v`, here they take the generic per-row loop, which the
    tests use as a reference). Terms are skipped for d = 1 only: ``na = N``
    otherwise."""
    d = acc.shape[0] - 1
    N = Z.shape[0]
    if d == 1:
        # every term through _dot2x4 (a short last group repeats its last term and
        # drops the copies): a term's sums do not depend on which terms were skipped
        c0, c1 = CX[0], CX[1]
        for a in range(0, na, 4):
            j0 = act[a]
            j1 = act[min(a + 1, na - 1)]
            j2 = act[min(a + 2, na - 1)]
            j3 = act[min(a + 3, na - 1)]
            s = _dot2x4(c0, c1, Z[j0], Z[j1], Z[j2], Z[j3], n)
            acc[0, j0] += s[0]
            acc[1, j0] += s[1]
            if a + 1 < na:
                acc[0, j1] += s[2]
                acc[1, j1] += s[3]
            if a + 2 < na:
                acc[0, j2] += s[4]
                acc[1, j2] += s[5]
            if a + 3 < na:
                acc[0, j3] += s[6]
                acc[1, j3] += s[7]
    else:   # d >= 5 (d = 2, 3, 4: _accumulate4_v)
        for j in range(N):
            er = Z[j]
            for k in range(d + 1):
                acc[k, j] += _dot(CX[k], er, n)


@njit(cache=True, nogil=True, error_model="numpy")
def _active_t(Z, n, mx, eps, inv, use_div, T, act):
    """The terms not negligible on the sub-block, into ``act``; returns their number.

    Term ``j`` is skipped when ``(z_j - m)/eps < -T`` for every sample of the
    sub-block (``T = _SKIP_T + log N``): its weights are below
    ``exp(-T) = exp(-_SKIP_T)/N``, all skipped terms of a sample together below
    ``exp(-_SKIP_T) < 2^-64`` of the sum ``s >= 1``, far below its rounding. At
    ``eps = 0``, the terms below the maximum everywhere (their weights are
    exactly 0: skipping them changes nothing).
    """
    N = Z.shape[0]
    na = 0
    for j in range(N):
        zr = Z[j]
        g = -_INF
        for t in range(n):
            g = _maxnum(g, zr[t] - mx[t])
        if eps == 0.0:
            keep = g >= 0.0
        elif use_div:
            keep = g / eps >= -T
        else:
            keep = g * inv >= -T
        if keep:
            act[na] = j
            na += 1
    return na


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _block_t(XT, y, W, b, eps, inv, use_div, unflushed, lo, hi, f, acc, Z, CX, mx, sv, act,
             Zg, local):
    """:func:`_block` with the samples in the vector lanes (for small ``N``).

    Sub-blocks of ``Z.shape[1]`` consecutive samples (``XT`` is ``X``
    transposed, ``(d, M)``): for each term ``j`` one vector pass over the
    sub-block computes ``z_j`` and the running maxima, a second the terms
    ``exp((z_j - m)/eps)`` (stored over ``z_j``) and their sums; then per
    sample ``f``, ``r`` and ``c = r/s`` times ``(x, 1)`` (``CX``), and per term
    ``d + 1`` dot products over the sub-block go to the accumulator. No lane
    is wasted on padding terms, whatever ``N``.
    """
    N, d = W.shape
    B = Z.shape[1]
    for j in range(N):
        act[j] = j
    # negligible terms are skipped where ``local`` says the samples are sorted (d = 1)
    skip = _SKIP_T + math.log(N) if local and XT.shape[0] == 1 else 0.0
    # eps > 0, finite log2(e)/eps, d <= 2: z computed twice, never stored (for d = 4 the
    # four extra FMAs per term in the exp loop cost more than the buffer's round trip;
    # there the explicit vectors of _zterms4_t keep z in L1 instead)
    fused = eps > 0.0 and not use_div and XT.shape[0] <= 2
    vec4 = eps > 0.0 and not use_div and XT.shape[0] == 4
    Ev = Z.reshape(Z.size)              # the terms vector-major (vec4)
    # d = 3, 4: Zg holds 8 N words of pre-activations, then W padded to (N, 4)
    n4 = N if vec4 else 0
    W4 = Zg[8 * N:8 * N + 4 * n4].reshape(n4, 4)
    if vec4:
        _pad4_into(W, W4)
    sq = 0.0
    i0 = lo
    while i0 < hi:
        n = min(B, hi - i0)
        if vec4:
            _zterms4_t(XT, W4, b, i0, n, _LOG2E / eps, unflushed, Zg[:8 * N], Ev, mx, sv)
            na = N
        elif fused:
            _max_t(XT, W, b, i0, n, mx)
            na = _active1_t(XT, W, b, i0, n, mx, inv, skip, act) if skip > 0.0 else N
            _terms_fused_t(XT, W, b, i0, n, mx, _LOG2E / eps, unflushed, Z, sv, act, na)
        else:
            _zmax_t(XT, W, b, i0, n, Z, mx)
            na = _active_t(Z, n, mx, eps, inv, use_div, skip, act) if skip > 0.0 else N
            _terms_t(Z, n, mx, eps, use_div, unflushed, sv, act, na)
        # short loops over at most three arrays each: LLVM vectorises a loop only
        # while its runtime alias checks stay few
        fr = mx                                 # f overwrites the maxima, then r overwrites f
        if eps > 0.0:
            for t in range(n):
                fr[t] = mx[t] + eps * _log_ge1(sv[t])
        fo = f[i0:i0 + n]
        yo = y[i0:i0 + n]
        for t in range(n):
            fo[t] = fr[t]
        for t in range(n):
            fr[t] = fr[t] - yo[t]
        sq += _dot(fr, fr, n)
        cr = CX[d]
        for t in range(n):
            cr[t] = fr[t] / sv[t]
        for k in range(d):
            ck = CX[k]
            xk = XT[k, i0:i0 + n]
            for t in range(n):
                ck[t] = cr[t] * xk[t]
        if XT.shape[0] == 4 or XT.shape[0] == 2:
            # d = 2, 3, 4: explicit vectors (d = 2: 1-2 % faster than LLVM's own, 7 % at
            # N = 512), the lanes of the last vector past n zeroed
            n8 = (n + 7) // 8 * 8
            for k in range(d + 1):
                for t in range(n, n8):
                    CX[k, t] = 0.0
            if vec4:                        # terms vector-major
                _accumulate4_v(CX, Ev, n, acc, 8 * N, 8)
            else:                           # terms row-major (_terms_t, _terms_fused_t)
                for j in range(N):
                    for t in range(n, n8):
                        Z[j, t] = 0.0
                _accumulate4_v(CX, Ev, n, acc, 8, B)
        else:
            _accumulate_t(CX, Z, n, acc, act, na)
        i0 += n
    return sq


@njit(cache=True, nogil=True, error_model="numpy")
def _sub_block(N, size):
    """Samples per sub-block of :func:`_block_t`, a multiple of 8 (the explicit
    vectors): ``Z`` (``N`` rows) stays in L2."""
    return max(8, min(size, _ZWORDS // max(N, 1)) // 8 * 8)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _blocks(M, eps):
    """``(inv, use_div, nblocks, size)`` of the sample-lane layout: at most ``_NBLOCK``
    blocks of at least ``_MIN_BLOCK`` samples (long vector loops; ``M`` alone decides)."""
    inv = 1.0 / eps if eps > 0.0 else _INF
    use_div = not (eps > 0.0 and _LOG2E / eps < _INF)   # the scale of _exps overflows
    nblocks = max(1, min(_NBLOCK, M // _MIN_BLOCK))
    size = ((M + nblocks - 1) // nblocks + 7) // 8 * 8   # blocks start on whole vectors
    nblocks = (M + size - 1) // size
    return inv, use_div, nblocks, size


@njit(cache=True, nogil=True, error_model="numpy")
def _zg_words(N, d):
    """Words of the ``Zg`` work array of :func:`_block_t`: for ``d = 3, 4`` the ``8 N``
    pre-activations of eight samples, then ``W`` padded to ``(N, 4)``."""
    return 12 * N if d in (3, 4) else 0


@njit(cache=True, nogil=True, error_model="numpy")
def _aligned(n):
    """An uninitialised float64 array of ``n`` words starting on a 64-byte boundary (a
    cache line: whole-vector loads and stores never straddle two)."""
    buf = np.empty(n + 8, np.float64)
    off = (64 - buf.ctypes.data % 64) % 64 // 8
    return buf[off:off + n]


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _finish(acc, part, M, gW, gb):
    """Sum the blocks in order, divide by M; return the loss."""
    nblocks = acc.shape[0]
    N, d = gW.shape
    scale = 1.0 / M
    for j in range(N):
        for k in range(d):
            t = 0.0
            for blk in range(nblocks):
                t += acc[blk, k, j]
            gW[j, k] = t * scale
        t = 0.0
        for blk in range(nblocks):
            t += acc[blk, d, j]
        gb[j] = t * scale
    total = 0.0
    for blk in range(nblocks):
        total += part[blk]
    return 0.5 * total * scale


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def _loss_grad_par(X, XT, R, y, W, b, eps, f, gW, gb, local):
    M, d = X.shape
    N = W.shape[0]
    if N < _SAMPLE_LANES_BELOW:
        inv, use_div, nblocks, size = _blocks(M, eps)
        spread, big = _bounds(R, W, b)
        if not big < _Z_TOO_BIG:
            return _overflowed(f, gW, gb)
        unflushed = _flush_free(spread, big, d, inv)
        B = _sub_block(N, size)
        acc = np.zeros((nblocks, d + 1, N), np.float64)
        part = np.zeros(nblocks, np.float64)
        for blk in prange(nblocks):
            Z = _aligned(N * B).reshape(N, B)
            CX = _aligned((d + 1) * B).reshape(d + 1, B)
            mx = _aligned(B)
            sv = _aligned(B)
            act = np.empty(N, np.int64)
            Zg = _aligned(_zg_words(N, d))
            part[blk] = _block_t(XT, y, W, b, eps, inv, use_div, unflushed, blk * size,
                                 min(M, blk * size + size), f, acc[blk], Z, CX, mx, sv, act,
                                 Zg, local)
        return _finish(acc, part, M, gW, gb)
    spread, big = _bounds(R, W, b)
    if not big < _Z_TOO_BIG:
        return _overflowed(f, gW, gb)
    WT, bp, inv, use_div, nblocks, size = _setup(X, W, b, eps)
    # padding terms (b = -inf) need the flush
    unflushed = WT.shape[1] == N and _flush_free(spread, big, d, inv)
    acc = np.zeros((nblocks, d + 1, WT.shape[1]), np.float64)
    part = np.zeros(nblocks, np.float64)
    for blk in prange(nblocks):
        part[blk] = _block(X, y, WT, bp, eps, use_div, unflushed, blk * size,
                           min(M, blk * size + size), f, acc[blk])
    return _finish(acc, part, M, gW, gb)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _loss_grad_ser(X, XT, R, y, W, b, eps, f, gW, gb, local):
    M, d = X.shape
    N = W.shape[0]
    if N < _SAMPLE_LANES_BELOW:
        acc, part, Z, CX, mx, sv, act, Zg = _work_t(M, N, d)
        return _loss_grad_ser_t(XT, R, y, W, b, eps, f, gW, gb, acc, part, Z, CX, mx, sv,
                                act, Zg, local)
    spread, big = _bounds(R, W, b)
    if not big < _Z_TOO_BIG:
        return _overflowed(f, gW, gb)
    WT, bp, inv, use_div, nblocks, size = _setup(X, W, b, eps)
    # padding terms (b = -inf) need the flush
    unflushed = WT.shape[1] == N and _flush_free(spread, big, d, inv)
    acc = np.zeros((nblocks, d + 1, WT.shape[1]), np.float64)
    part = np.zeros(nblocks, np.float64)
    for blk in range(nblocks):
        part[blk] = _block(X, y, WT, bp, eps, use_div, unflushed, blk * size,
                           min(M, blk * size + size), f, acc[blk])
    return _finish(acc, part, M, gW, gb)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _work_t(M, N, d):
    """Work arrays of the serial sample-lane layout (allocated once per Adam call)."""
    _, _, nblocks, size = _blocks(M, 1.0)
    B = _sub_block(N, size)
    return (np.zeros((nblocks, d + 1, N), np.float64), np.zeros(nblocks, np.float64),
            _aligned(N * B).reshape(N, B), _aligned((d + 1) * B).reshape(d + 1, B),
            _aligned(B), _aligned(B), np.empty(N, np.int64),
            _aligned(_zg_words(N, d)))


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _loss_grad_ser_t(XT, R, y, W, b, eps, f, gW, gb, acc, part, Z, CX, mx, sv, act, Zg,
                     local):
    """The serial sample-lane layout on work arrays from :func:`_work_t`."""
    M = y.shape[0]
    inv, use_div, nblocks, size = _blocks(M, eps)
    spread, big = _bounds(R, W, b)
    if not big < _Z_TOO_BIG:
        return _overflowed(f, gW, gb)
    unflushed = _flush_free(spread, big, W.shape[1], inv)
    acc[:] = 0.0
    for blk in range(nblocks):
        part[blk] = _block_t(XT, y, W, b, eps, inv, use_div, unflushed, blk * size,
                             min(M, blk * size + size), f, acc[blk], Z, CX, mx, sv, act, Zg,
                             local)
    return _finish(acc, part, M, gW, gb)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _transposed(X):
    """``X`` transposed, ``(dp, M + 8)`` C-contiguous, zero rows padding ``d`` to 1, 2
    or a multiple of 4 and eight zero columns after the samples (an eight-lane load
    may start at any sample; only the small-``N`` path reads it)."""
    M, d = X.shape
    dp = d if d <= 2 else (d + 3) // 4 * 4
    Mp = (M + 15) // 8 * 8                   # >= M + 8, rows on 64-byte boundaries
    XT = _aligned(dp * Mp).reshape(dp, Mp)
    XT[:, :] = 0.0
    for i in range(M):
        for k in range(d):
            XT[k, i] = X[i, k]
    return XT


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def lse_fit_loss_grad(X, y, W, b, eps, f, gW, gb):
    """Loss ``0.5*mean((LSE_eps(X W^T + b) - y)^2)``; fills ``f``, ``gW``, ``gb`` (threads)."""
    XT = _transposed(X)
    return _loss_grad_par(X, XT, _coord_ranges(XT, X.shape[1]), y, W, b, eps, f, gW, gb,
                          False)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def lse_fit_loss_grad_serial(X, y, W, b, eps, f, gW, gb):
    """:func:`lse_fit_loss_grad` on the calling thread, bitwise the same result.

    The same blocks in the same order; for small problems, where starting the
    thread pool costs more than the work (on a loaded machine, milliseconds).
    """
    XT = _transposed(X)
    return _loss_grad_ser(X, XT, _coord_ranges(XT, X.shape[1]), y, W, b, eps, f, gW, gb,
                          False)


# --------------------------------------------------------------------------
# Full-batch Adam, a chunk of iterations per call
# --------------------------------------------------------------------------
_BETA1 = 0.9
_BETA2 = 0.999
_ADAM_EPS = 1e-8


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _adam_update(p, g, m, v, lr, c1, c2):
    """One Adam step on flat arrays: bias-corrected moments ``m/c1``, ``v/c2``."""
    for i in range(p.shape[0]):
        gi = g[i]
        m[i] = _BETA1 * m[i] + (1.0 - _BETA1) * gi
        v[i] = _BETA2 * v[i] + (1.0 - _BETA2) * (gi * gi)
        p[i] -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + _ADAM_EPS)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def lse_fit_adam(X, y, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
                 bestW, bestb, best, history, f, gW, gb):
    """``count`` full-batch Adam iterations on ``(W, b)``; returns ``(done, status)``.

    Iteration ``k`` evaluates the loss and gradient at the current ``(W, b)``
    (:func:`lse_fit_loss_grad`, threads if ``parallel``), stores the loss in
    ``history[k]``, keeps the best point in ``bestW``, ``bestb`` and
    ``best = [loss, gradient norm]``, then updates ``(W, b)`` and the moments
    ``mW, vW, mb, vb`` in place (Adam step number ``t = step0 + k + 1``:
    ``beta1 = 0.9``, ``beta2 = 0.999``, ``1e-8``, bias corrections
    ``1 - beta^t``). ``status``: 0 all ``count`` updates done; 1 the gradient
    norm was ``<= tol`` (``tol > 0``) at iterate ``done`` (no update, its
    loss in ``history[done]``); 2 the loss was not finite at iterate ``done``.

    For ``d = 1``, fewer than ``_SAMPLE_LANES_BELOW`` terms and a small ``eps``
    (``_skip_pays``) the samples are first sorted by ``x`` (a stable sort;
    ``f`` is returned in the caller's order): a sub-block then covers a short
    interval of ``x``, where many terms are negligible and skipped
    (``_active_t``). The sums run in another order than in
    :func:`lse_fit_loss_grad`, deterministically.
    """
    N, d = W.shape
    if d == 1 and N < _SAMPLE_LANES_BELOW and _skip_pays(X, N, eps):
        order = np.argsort(X[:, 0], kind="mergesort")
        Xs = np.empty_like(X)
        ys = np.empty_like(y)
        for i in range(X.shape[0]):
            Xs[i, 0] = X[order[i], 0]
            ys[i] = y[order[i]]
        fs = np.empty_like(f)
        out = _adam_loop(Xs, ys, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
                         bestW, bestb, best, history, fs, gW, gb, True)
        for i in range(X.shape[0]):
            f[order[i]] = fs[i]
        return out
    return _adam_loop(X, y, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
                      bestW, bestb, best, history, f, gW, gb, False)


@njit(cache=True, nogil=True, error_model="numpy")
def _skip_pays(X, N, eps):
    """d = 1: whether sorting the samples and skipping negligible terms is worth its
    extra pass: ``eps = 0``, or the skip distance ``(_SKIP_T + log N)*eps`` (in
    ``z``) below a quarter of the range of ``x`` (measured: it pays at
    ``N = 64``, ``eps = 1/64`` on ``[-2, 2]``, not at ``N <= 32``, ``eps = 1/N``)."""
    lo = hi = X[0, 0]
    for i in range(X.shape[0]):
        lo = min(lo, X[i, 0])
        hi = max(hi, X[i, 0])
    return eps == 0.0 or (_SKIP_T + math.log(N)) * eps < 0.25 * (hi - lo)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _adam_loop(X, y, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
               bestW, bestb, best, history, f, gW, gb, local):
    """The Adam iterations of :func:`lse_fit_adam` on the samples as given (``local``:
    sorted, d = 1: skip negligible terms)."""
    N, d = W.shape
    Wf = W.reshape(N * d)
    gWf = gW.reshape(N * d)
    mWf = mW.reshape(N * d)
    vWf = vW.reshape(N * d)
    XT = _transposed(X)
    R = _coord_ranges(XT, d)
    # none allocated per iteration; the term-lane layout (N >= _SAMPLE_LANES_BELOW) has its own
    acc, part, Z, CX, mx, sv, act, Zg = _work_t(X.shape[0] if N < _SAMPLE_LANES_BELOW else 1,
                                                N if N < _SAMPLE_LANES_BELOW else 1, d)
    for k in range(count):
        if parallel:
            loss = _loss_grad_par(X, XT, R, y, W, b, eps, f, gW, gb, local)
        elif N < _SAMPLE_LANES_BELOW:
            loss = _loss_grad_ser_t(XT, R, y, W, b, eps, f, gW, gb, acc, part, Z, CX, mx, sv,
                                    act, Zg, local)
        else:
            loss = _loss_grad_ser(X, XT, R, y, W, b, eps, f, gW, gb, local)
        history[k] = loss
        if not (abs(loss) < _INF):
            return k, 2
        g2 = 0.0
        for i in range(N * d):
            g2 += gWf[i] * gWf[i]
        for j in range(N):
            g2 += gb[j] * gb[j]
        gn = math.sqrt(g2)
        if loss < best[0]:
            best[0] = loss
            best[1] = gn
            bestW[:, :] = W
            bestb[:] = b
        if tol > 0.0 and gn <= tol:
            return k, 1
        t = step0 + k + 1
        c1 = 1.0 - _BETA1 ** t
        c2 = 1.0 - _BETA2 ** t
        _adam_update(Wf, gWf, mWf, vWf, lr, c1, c2)
        _adam_update(b, gb, mb, vb, lr, c1, c2)
    return count, 0

"""Row kernels of the views of one LSE layer (network, PDE, convex) for batches of points.

Installed as ``tropical.kernels.views``. The contracts (signatures, semantics)
are those of the numpy twins of the same name in
:mod:`tropical.kernels.reference`:

``lse_layer_rows(X, WT, b, eps, f, zmax, nmax, second, ent, gibbs)``
    the network view at points ``X`` (P, d) with ``WT = W^T`` (d, N):
    ``z_j = b_j + sum_k X[i, k] WT[k, j]`` (an FMA chain, computed on the
    fly), ``f[i] = LSE_eps(z)``, the Gibbs weights ``softmax(z/eps)`` into
    ``gibbs`` (skipped when ``gibbs`` has no rows), their entropy ``ent``,
    and the eps-independent statistics of ``z``: ``zmax[i] = max_j z_j``, the
    number ``nmax[i]`` of ``j`` attaining it (a float) and the largest value
    below it, ``second[i]`` (``-inf`` if none); ``nmax`` and ``second`` are
    skipped (one pass less) when they have no rows.
``lse_scores_rows(Z, eps, f, zmax, nmax, second, ent, gibbs)``
    the same from given pre-activations ``Z`` (P, N) (formed by BLAS where
    ``d`` is large: the FMA chain reads all of ``W`` once per point);
    ``gibbs`` may be ``Z`` itself (a row is read before it is written).
``hopf_cole_rows(X, yT, g, t, eps, u, amin, nmin, second, ent, gibbs, grad, ez2, var)``
    the PDE view: ``a_j = g_j + |x - y_j|^2/(4t)`` with the squared distance
    summed directly, ``sum_k (x_k - y_jk)^2`` (no ``|x|^2 - 2 x.y + |y|^2``
    expansion, so no cancellation far from the data), ``u[i] =
    -eps*log sum_j exp(-a_j/eps)`` (``eps = 0``: ``min_j a_j``), the Gibbs
    weights ``softmax(-a/eps)``, their entropy, ``amin``/``nmin``/``second``
    (smallest ``a_j``, its multiplicity, the next larger value, ``+inf`` if
    none; the last two skipped when they have no rows) and, when ``grad`` has rows, ``grad[i] = E_pi z``, ``ez2[i] =
    E_pi |z|^2`` and ``var[i] = E_pi |z - E z|^2`` (centred) for
    ``z_j = (x - y_j)/(2t)``.
``entropic_dual_rows(A, eps, tol, err_a, max_iter, value, pi, lower, upper, its, ent)``
    the convex view's optimiser for ``max <pi, a> + eps*H(pi)`` over the
    simplex, one row ``a`` of ``A`` per point (``eps > 0``): Newton's method
    on the Lagrangian dual ``D(lam) = lam + eps*sum_j exp((a_j - lam)/eps - 1)``
    with a certified bracket ``lower <= optimum <= upper`` (see below).
``entropic_dual_points(X, WT, b, eps, rtol, max_iter, value, pi, lower, upper, its, ent, tol, err_a)``
    the same optimiser at points ``X`` (P, d), ``WT = W^T``: ``a = W x + b``
    is formed per point (an FMA chain) together with its rounding scale
    ``mag = max_j (|b_j| + sum_k |x_k| |w_jk|)``, and ``tol[i] = rtol*(mag +
    eps*max(1, log N))``, ``err_a[i] = (d + 2) u mag (1 + 1e-6)`` are returned
    (no ``(P, N)`` matrix besides ``pi``).
``gibbs_l1_rows(A, B, out)``
    ``out[i] = sum_j |A[i, j] - B[i, j]|``.
``gibbs_l1_pair_rows(A, B, C, ab, bc)``
    both ``sum_j |A - B|`` and ``sum_j |B - C|`` per row, ``B`` read once.
``affine_scale_rows(X, WT, b, magmax)``
    ``magmax[i] = max_j (|b_j| + sum_k |X[i, k]| |WT[k, j]|)``, the scale of
    the rounding of the convex view's ``a = W x + b``.

The optimiser (``entropic_dual_rows``). Shifted coordinates ``a' = a - max(a)``,
``lam' = lam - max(a)``, start ``lam' = -eps`` (left of the minimiser; ``D'`` is
concave and increasing, so Newton's iterates ``lam' += eps*(1 - 1/s)``,
``s = sum_j exp((a'_j - lam')/eps - 1)``, increase monotonically to it), or
at the larger ``lam' = -eps + eps*max(0, log n(c) - c)`` over ``c`` in
``{1, 4, 16}``, ``n(c) = #{j : a'_j/eps >= -c}`` (still left of the minimiser:
``sum_j exp(a'_j/eps) >= n(c) exp(-c)``). Every iteration evaluates ``s``
afresh from the terms (``O(N)``). Terms with ``a'_j/eps < -60`` are below
``exp(-60)`` at every iterate (``lam' >= -eps``): they are left out once per
point, their total ``<= n_dropped*exp(-60)`` is added to the upper bound, and
the primal ``pi`` (zero there) stays feasible. When ``eps*(s - 1 - log s)`` (the gap the
certificate would show, to first order) is within the tolerance, the
certificate is evaluated: the dual value ``lam + eps*s`` (an upper bound, weak
duality, any ``lam``) and the primal objective ``<pi, a> - eps*sum_j pi_j log pi_j``
of the normalised Lagrangian minimiser ``pi = e/s`` with ``log pi_j`` taken of
the computed float ``pi_j`` (a lower bound: ``pi`` is feasible), each widened
by an a-priori rounding allowance (as in the numpy twin). The best bracket is
kept. The closed form ``eps*log sum exp(a/eps)`` is never evaluated: the value
returned is the primal objective of a feasible ``pi``, certified by the dual.

The exp and log: the branch-free polynomial exp of :mod:`tropical.kernels.lse`
(copied: a cached kernel and its helpers live in one file), and a branch-free
log on ``(0, inf)`` (fdlibm's ``__ieee754_log`` reduction and polynomial,
subnormals scaled by ``2**54`` first) that LLVM vectorises; ``math.log`` stays
a scalar libm call. ``tests/test_convex.py`` measures both against
``numpy.longdouble``: within 1 ulp (the exp 1.2 ulp without FMA contraction,
i.e. under ``NUMBA_DISABLE_JIT``).
Loops: ``prange`` over blocks of points; everything per point runs in
thread-local buffers of length ``N``. Nothing compiles at import.
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

__all__ = ["lse_layer_rows", "hopf_cole_rows", "entropic_dual_rows", "gibbs_l1_rows",
           "gibbs_l1_pair_rows", "entropic_dual_points", "affine_scale_rows", "log_pos_array", "exp_term_array"]

_INF = math.inf
_U = 2.0 ** -53
_CONTRACT = {"contract"}
_REASSOC = {"contract", "reassoc"}
_RB = 16  # points per parallel task
_DROP = 60.0  # the optimiser leaves out terms below exp(-_DROP) of the largest
_EXP_M_DROP = 8.7565107626966e-27  # exp(-60) = 8.756510762696520338e-27, rounded up


# --------------------------------------------------------------------------
# LLVM intrinsics (as in kernels/lse.py)
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


@intrinsic
def _maxnum(typingctx, a, b):
    """``llvm.maxnum`` on float64: vectorises as a reduction, unlike ``max``."""
    if not (isinstance(a, types.Float) and isinstance(b, types.Float)):
        return None
    sig = types.float64(types.float64, types.float64)

    def codegen(context, builder, signature, args):
        x = context.cast(builder, args[0], a, types.float64)
        y = context.cast(builder, args[1], b, types.float64)
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.maxnum", [dbl],
                                              ir.FunctionType(dbl, [dbl, dbl]))
        return builder.call(fn, [x, y])

    return sig, codegen


if numba.config.DISABLE_JIT:
    import struct

    def _i64_bits_as_f64(bits):  # noqa: F811
        return np.float64(struct.unpack("<d", struct.pack("<Q", int(bits) & (2**64 - 1)))[0])

    def _f64_bits_as_i64(x):  # noqa: F811
        return struct.unpack("<q", struct.pack("<d", float(x)))[0]

    def _maxnum(a, b):  # noqa: F811
        return np.float64(a if a >= b else b)


# --------------------------------------------------------------------------
# exp on [-inf, 1] (the kernels' _exp_term of kernels/lse.py, same constants)
# --------------------------------------------------------------------------
_LOG2E = 1.4426950408889634
_ROUND = 6755399441055744.0
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
def _exp_term(x):
    """exp(x) for x in [-inf, 1], the subnormal range flushed to 0 (<= 1 ulp)."""
    xc = x if x >= _TERM_ZERO_BELOW else 0.0
    t = xc * _LOG2E + _ROUND
    kf = t - _ROUND
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
    y = _i64_bits_as_f64(_f64_bits_as_i64(p) + (_f64_bits_as_i64(t) << 52))
    return y if x >= _TERM_ZERO_BELOW else 0.0


# --------------------------------------------------------------------------
# log on (0, inf): fdlibm's reduction and polynomial, branch-free
# --------------------------------------------------------------------------
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_TWO54 = 18014398509481984.0
_TINY = 2.2250738585072014e-308  # smallest normal
_MANT = 0x000FFFFFFFFFFFFF
_SQ2_OFF = 0x00095F6400000000  # fdlibm's 0x95f64 in the high word
_BIT52 = 0x0010000000000000
_ONE_BITS = 0x3FF0000000000000


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _log_pos(x):
    """log(x) for finite x > 0 (normal or subnormal), about 1 ulp; garbage elsewhere.

    x = 2**k * y with y in [sqrt(2)/2, sqrt(2)), f = y - 1, s = f/(2 + f),
    log(1 + f) = f - (f*f/2 - s*(f*f/2 + R(s*s))) with fdlibm's degree-14
    polynomial R, plus k*log(2) in two parts.
    """
    sub = x < _TINY
    xs = x * _TWO54 if sub else x
    bits = _f64_bits_as_i64(xs)
    k = (bits >> 52) - (1023 + 54 if sub else 1023)
    m = bits & _MANT
    i = (m + _SQ2_OFF) & _BIT52
    y = _i64_bits_as_f64(m | (i ^ _ONE_BITS))
    k = k + (i >> 52)
    f = y - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    hfsq = 0.5 * f * f
    dk = np.float64(k)
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def log_pos_array(x, out):
    """out[i] = log(x[i]) by the vectorised log (tests)."""
    for i in range(x.shape[0]):
        out[i] = _log_pos(x[i])


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def exp_term_array(x, out):
    """out[i] = exp(x[i]) by the vectorised exp, x <= 1 (tests)."""
    for i in range(x.shape[0]):
        out[i] = _exp_term(x[i])


# --------------------------------------------------------------------------
# row helpers
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _sum(buf, n):
    s = 0.0
    for j in range(n):
        s += buf[j]
    return s


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _top_stats(z, n):
    """(max, multiplicity as float, largest value below the max) of z[:n]."""
    m = -_INF
    for j in range(n):
        m = _maxnum(m, z[j])
    cnt = 0.0
    sec = -_INF
    for j in range(n):
        zj = z[j]
        cnt += 1.0 if zj == m else 0.0
        sec = _maxnum(sec, zj if zj < m else -_INF)
    return m, cnt, sec


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _terms(z, n, m, eps, e):
    """e[j] = exp((z[j] - m)/eps) in [0, 1] (eps > 0)."""
    inv = 1.0 / eps
    if inv < _INF:
        for j in range(n):
            e[j] = _exp_term((z[j] - m) * inv)
    else:
        for j in range(n):
            e[j] = _exp_term((z[j] - m) / eps)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _weighted_gap(z, e, n, m, eps):
    """sum_j e[j]*(m - z[j])/eps over the terms with e[j] > 0."""
    h = 0.0
    for j in range(n):
        r = (m - z[j]) / eps
        h += e[j] * r if e[j] > 0.0 else 0.0
    return h


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _gibbs_from_scores(z, n, eps, e, out_row, want, stats):
    """Max-sense LSE of scores z: (value, max, count, second, entropy); Gibbs into out_row.

    Without ``stats`` (and eps > 0) count and second are not computed (returned as 0, -inf).
    """
    if stats or eps == 0.0:
        m, cnt, sec = _top_stats(z, n)
    else:
        m = -_INF
        for j in range(n):
            m = _maxnum(m, z[j])
        cnt, sec = 0.0, -_INF
    if eps == 0.0:
        if want:
            w = 1.0 / cnt
            for j in range(n):
                out_row[j] = w if z[j] == m else 0.0
        return m, m, cnt, sec, math.log(cnt)
    _terms(z, n, m, eps, e)
    s = _sum(e, n)
    h = _weighted_gap(z, e, n, m, eps)
    if want:
        for j in range(n):
            out_row[j] = e[j] / s
    return m + eps * math.log(s), m, cnt, sec, math.log(s) + h / s


@njit(cache=True, nogil=True, inline="always", fastmath=_CONTRACT, error_model="numpy")
def _layer_row(z, i, eps, e, want, stats, f, zmax, nmax, second, ent, gibbs):
    """Row ``i`` of the network view from its scores ``z`` (``e``: a work row)."""
    v, m, cnt, sec, h = _gibbs_from_scores(z, z.shape[0], eps, e, gibbs[i] if want else e,
                                           want, stats)
    f[i] = v
    zmax[i] = m
    if stats:
        nmax[i] = cnt
        second[i] = sec
    ent[i] = h


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_layer_rows(X, WT, b, eps, f, zmax, nmax, second, ent, gibbs):
    """Network view at the rows of X (module docstring)."""
    P, d = X.shape
    n = WT.shape[1]
    want = gibbs.shape[0] > 0
    stats = nmax.shape[0] > 0
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        z = np.empty(n, np.float64)
        e = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            for j in range(n):
                z[j] = b[j]
            for k in range(d):
                xk = X[i, k]
                wk = WT[k]
                for j in range(n):
                    z[j] += xk * wk[j]
            _layer_row(z, i, eps, e, want, stats, f, zmax, nmax, second, ent, gibbs)


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def lse_scores_rows(Z, eps, f, zmax, nmax, second, ent, gibbs):
    """:func:`lse_layer_rows` from given pre-activations ``Z`` (P, N) (module docstring)."""
    P, n = Z.shape
    want = gibbs.shape[0] > 0
    stats = nmax.shape[0] > 0
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        e = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            _layer_row(Z[i], i, eps, e, want, stats, f, zmax, nmax, second, ent, gibbs)


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def hopf_cole_rows(X, yT, g, t, eps, u, amin, nmin, second, ent, gibbs, grad, ez2, var):
    """PDE view at the rows of X (module docstring)."""
    P, d = X.shape
    n = yT.shape[1]
    want = gibbs.shape[0] > 0
    deriv = grad.shape[0] > 0
    stats = nmin.shape[0] > 0
    four_t = 4.0 * t
    two_t = 2.0 * t
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        sq = np.empty(n, np.float64)
        z = np.empty(n, np.float64)
        e = np.empty(n, np.float64)
        pw = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            for j in range(n):
                sq[j] = 0.0
            for k in range(d):
                xk = X[i, k]
                yk = yT[k]
                for j in range(n):
                    dl = xk - yk[j]
                    sq[j] += dl * dl
            for j in range(n):
                z[j] = -(g[j] + sq[j] / four_t)
            row = gibbs[i] if want else pw
            v, m, cnt, sec, h = _gibbs_from_scores(z, n, eps, e, row, want or deriv, stats)
            u[i] = -v
            amin[i] = -m
            if stats:
                nmin[i] = cnt
                second[i] = -sec
            ent[i] = h
            if deriv:
                _moments(X[i], yT, sq, row, n, d, two_t, grad[i], ez2, var, i, pw)


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _moments(x, yT, sq, p, n, d, two_t, gout, ez2, var, i, tmp):
    """E z, E|z|^2 and the centred E|z - E z|^2 under weights p, z_j = (x - y_j)/(2t)."""
    acc = 0.0
    for j in range(n):
        acc += p[j] * sq[j]
    ez2[i] = acc / (two_t * two_t)
    v = 0.0
    for k in range(d):
        xk = x[k]
        yk = yT[k]
        mk = 0.0
        for j in range(n):
            mk += p[j] * (xk - yk[j])
        mk = mk / two_t
        gout[k] = mk
        vk = 0.0
        for j in range(n):
            c = (xk - yk[j]) / two_t - mk
            vk += p[j] * (c * c)
        v += vk
    var[i] = v


@njit(cache=True, nogil=True, parallel=True, fastmath=_REASSOC, error_model="numpy")
def gibbs_l1_pair_rows(A, B, C, ab, bc):
    """ab[i] = sum_j |A[i, j] - B[i, j]|, bc[i] = sum_j |B[i, j] - C[i, j]| (B read once)."""
    P, n = A.shape
    for i in prange(P):
        s1 = 0.0
        s2 = 0.0
        for j in range(n):
            bij = B[i, j]
            s1 += abs(A[i, j] - bij)
            s2 += abs(bij - C[i, j])
        ab[i] = s1
        bc[i] = s2


@njit(cache=True, nogil=True, parallel=True, fastmath=_REASSOC, error_model="numpy")
def gibbs_l1_rows(A, B, out):
    """out[i] = sum_j |A[i, j] - B[i, j]|."""
    P, n = A.shape
    for i in prange(P):
        s = 0.0
        for j in range(n):
            s += abs(A[i, j] - B[i, j])
        out[i] = s


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _dual_exps(ac, na, lam, eps, e):
    """e[k] = exp((ac[k] - lam)/eps - 1); returns their sum."""
    inv = 1.0 / eps
    if inv < _INF:
        for k in range(na):
            e[k] = _exp_term((ac[k] - lam) * inv - 1.0)
    else:
        for k in range(na):
            e[k] = _exp_term((ac[k] - lam) / eps - 1.0)
    return _sum(e, na)


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _dual_logs(e, na, s, p, lp):
    """p = e/s and lp = log p (0 where p = 0), by the vectorised log."""
    for k in range(na):
        pk = e[k] / s
        p[k] = pk
        lp[k] = _log_pos(pk) if pk > 0.0 else 0.0


@njit(cache=True, nogil=True, fastmath=_REASSOC, error_model="numpy")
def _dual_certificate_sums(ac, e, p, lp, na, lam, eps):
    """(sum p a', sum p log p, sum |p a'|, sum |p log p|, sum e*rel_e) of the certificate."""
    pa = 0.0
    pl = 0.0
    apa = 0.0
    apl = 0.0
    er = 0.0
    alam = abs(lam)
    for k in range(na):
        a = ac[k]
        t1 = p[k] * a
        t2 = p[k] * lp[k]
        pa += t1
        pl += t2
        apa += abs(t1)
        apl += abs(t2)
        arg = (a - lam) / eps - 1.0
        er += e[k] * ((abs(a) + alam) / eps + abs(arg) + 2.0)
    return pa, pl, apa, apl, er


@njit(cache=True, nogil=True, fastmath=_CONTRACT, error_model="numpy")
def _dual_row(row, n, eps, tol_i, err_i, max_iter, c_sum, ac, idx, e, p, lp, pi_row):
    """Certified Newton for one row a: (value, lower, upper, iterations, entropy); pi into pi_row."""
    m = -_INF
    for j in range(n):
        m = _maxnum(m, row[j])
    # Terms with a'_j/eps < -_DROP stay below exp(-_DROP) at every iterate
    # (lam' >= -eps): left out of the iteration; their total is at most
    # n_drop*exp(-_DROP), added to the upper bound (the primal pi, zero there,
    # stays feasible: the lower bound needs nothing). A start left of the
    # minimiser from counts: S = sum exp(a'/eps) >= n(c)*exp(-c), n(c) = #{a'_j/eps >= -c}.
    na = 0
    n1 = 0.0
    n4 = 0.0
    n16 = 0.0
    for j in range(n):
        r = (row[j] - m) / eps
        if r >= -_DROP:
            ac[na] = row[j] - m
            idx[na] = j
            na += 1
            n1 += 1.0 if r >= -1.0 else 0.0
            n4 += 1.0 if r >= -4.0 else 0.0
            n16 += 1.0 if r >= -16.0 else 0.0
    dropped = (n - na) * _EXP_M_DROP
    lb = max(0.0, math.log(n1) - 1.0, math.log(max(n4, 1.0)) - 4.0,
             math.log(max(n16, 1.0)) - 16.0)
    lam = -eps + eps * lb
    best = _INF
    bv = 0.0
    blo = -_INF
    bhi = _INF
    bh = 0.0
    last = 0
    for it in range(max_iter):
        s = _dual_exps(ac, na, lam, eps, e)
        near = eps * (s - 1.0 - math.log(s)) <= tol_i or it == max_iter - 1
        if near:
            _dual_logs(e, na, s, p, lp)
            pa, pl, apa, apl, er = _dual_certificate_sums(ac, e, p, lp, na, lam, eps)
            Pv = pa - eps * pl
            mag_p = apa + eps * apl
            pad_p = (c_sum + 8 * _U) * mag_p + c_sum * eps + 4 * _U * eps
            pad_p += 2 * _U * mag_p
            Dv = lam + eps * s
            pad_d = eps * 3 * _U * er + c_sum * eps * s + 2 * _U * abs(lam)
            pad_d += eps * dropped * (1.0 + 4 * _U)
            lo = (m + Pv) - (pad_p + err_i + 2 * _U * abs(m + Pv))
            hi = (m + Dv) + (pad_d + err_i + 2 * _U * abs(m + Dv))
            last = it
            if hi - lo < best:
                best = hi - lo
                blo, bhi, bv, bh = lo, hi, m + Pv, -pl
                for j in range(n):
                    pi_row[j] = 0.0
                for k in range(na):
                    pi_row[idx[k]] = p[k]
            if best <= tol_i:
                break
        lam = lam + eps * (1.0 - 1.0 / s)
    return bv, blo, bhi, last, bh


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def entropic_dual_rows(A, eps, tol, err_a, max_iter, value, pi, lower, upper, its, ent):
    """Certified Newton on the Lagrangian dual, one point per row of A (module docstring)."""
    P, n = A.shape
    c_sum = (math.log2(max(n, 2)) + 24) * _U
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        ac = np.empty(n, np.float64)
        idx = np.empty(n, np.int64)
        e = np.empty(n, np.float64)
        p = np.empty(n, np.float64)
        lp = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            value[i], lower[i], upper[i], its[i], ent[i] = _dual_row(
                A[i], n, eps, tol[i], err_a[i], max_iter, c_sum, ac, idx, e, p, lp, pi[i])


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def entropic_dual_points(X, WT, b, eps, rtol, max_iter, value, pi, lower, upper, its, ent,
                         tol, err_a):
    """The optimiser at the points X: a = W x + b formed per point (module docstring)."""
    P, d = X.shape
    n = WT.shape[1]
    c_sum = (math.log2(max(n, 2)) + 24) * _U
    logscale = max(1.0, math.log(n))
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        a = np.empty(n, np.float64)
        mg = np.empty(n, np.float64)
        ac = np.empty(n, np.float64)
        idx = np.empty(n, np.int64)
        e = np.empty(n, np.float64)
        p = np.empty(n, np.float64)
        lp = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            for j in range(n):
                a[j] = b[j]
                mg[j] = abs(b[j])
            for k in range(d):
                xk = X[i, k]
                ak = abs(xk)
                wk = WT[k]
                for j in range(n):
                    a[j] += xk * wk[j]
                    mg[j] += ak * abs(wk[j])
            mx = 0.0
            for j in range(n):
                mx = _maxnum(mx, mg[j])
            tol[i] = rtol * (mx + eps * logscale)
            err_a[i] = (d + 2) * _U * mx * (1 + 1e-6)
            value[i], lower[i], upper[i], its[i], ent[i] = _dual_row(
                a, n, eps, tol[i], err_a[i], max_iter, c_sum, ac, idx, e, p, lp, pi[i])


@njit(cache=True, nogil=True, parallel=True, fastmath=_CONTRACT, error_model="numpy")
def affine_scale_rows(X, WT, b, magmax):
    """magmax[i] = max_j (|b_j| + sum_k |X[i, k]| |WT[k, j]|)."""
    P, d = X.shape
    n = WT.shape[1]
    nblocks = (P + _RB - 1) // _RB
    for blk in prange(nblocks):
        mg = np.empty(n, np.float64)
        for i in range(blk * _RB, min(blk * _RB + _RB, P)):
            for j in range(n):
                mg[j] = abs(b[j])
            for k in range(d):
                ak = abs(X[i, k])
                wk = WT[k]
                for j in range(n):
                    mg[j] += ak * abs(wk[j])
            mx = 0.0
            for j in range(n):
                mx = _maxnum(mx, mg[j])
            magmax[i] = mx

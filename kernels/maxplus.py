"""Tiled max-plus matrix products (installed as ``tropical.kernels.maxplus``).

``maxplus = (R U {-inf}, max, +, -inf, 0)``; ``sense = -1`` runs the min-plus
semiring ``(R U {+inf}, min, +, +inf, 0)`` as ``-K(-A, -B)``, which is exact.

Kernels (contracts: the numpy twins in :mod:`tropical.kernels.reference`):

``maxplus_gemm(A, B, sense, out)``
    ``out[i, j] = sense * max_k (sense*A[i, k] + sense*B[k, j])``.
``maxplus_gemm_argmax(A, B, sense, out, arg)``
    The same, and ``arg[i, j]`` = the least ``k`` attaining it (``0`` when
    every candidate is the semiring zero, as ``numpy.argmax`` gives).
``maxplus_matvec(A, x, sense, out)``
    ``out[i] = sense * max_k (sense*A[i, k] + sense*x[k])``.

How the product is fast (BLIS-style, see ``docs``/PERFORMANCE notes):
B is packed, with the sign applied, into ``KC x NR`` micro-panels shared by
all threads; each thread packs its own ``MC x KC`` block of A into ``MR x KC``
micro-panels; a micro-kernel keeps an ``MR x NR`` accumulator block in vector
registers (a stack array that LLVM promotes to registers) and updates it with
one add and one ``llvm.maxnum`` per entry and per ``k``. Padded rows and
columns of edge panels hold the semiring zero and are never written back.
Block sizes are chosen per dtype by :func:`_blocking` (compile-time
constants). Indices in the micro-kernel are unsigned: signed ones made LLVM
emit gathers.

Everything the kernels call is defined in this file: Numba's on-disk cache
(``cache=True``) does not notice edits to helpers in other files. Nothing is
compiled at import.
"""

from __future__ import annotations

import numpy as np

from tropical._config import load_numba

numba = load_numba()

from numba import njit, prange, types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

__all__ = ["maxplus_gemm", "maxplus_gemm_argmax", "maxplus_matvec"]

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)

# Block sizes per dtype: (MR, NR, KC, MC, NC). NR is a multiple of the vector
# width (16 float32 / 8 float64 lanes of a 512-bit register); the MR x NR
# accumulator plus one row of B and one broadcast fit the 32 vector registers.
_BLOCKS = {
    "float32": (8, 32, 256, 96, 2048),
    "float64": (8, 16, 256, 96, 2048),
}


# --------------------------------------------------------------------------
# intrinsics
# --------------------------------------------------------------------------

@intrinsic
def _blocking(typingctx, arr):
    """(MR, NR, KC, MC, NC) for ``arr``'s dtype, as compile-time constants."""
    key = str(arr.dtype)
    if key not in _BLOCKS:
        return None
    vals = _BLOCKS[key]
    sig = types.UniTuple(types.intp, len(vals))(arr)

    def codegen(context, builder, signature, args):
        ll = context.get_value_type(types.intp)
        items = [ll(v) for v in vals]
        return context.make_tuple(builder, signature.return_type, items)

    return sig, codegen


@intrinsic
def _stack_block(typingctx, arr):
    """Pointer to an uninitialised ``MR*NR`` stack array of ``arr``'s dtype.

    Allocated once in the entry block of the calling function, so that LLVM
    can promote it to registers once the loops over it are unrolled.
    """
    key = str(arr.dtype)
    if key not in _BLOCKS:
        return None
    mr, nr = _BLOCKS[key][:2]
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, args):
        lltype = context.get_value_type(arr.dtype)
        return cgutils.alloca_once(builder, lltype, size=mr * nr)

    return sig, codegen


@intrinsic
def _micro_loop(typingctx, kc, Ap, a0, Bp, b0, acc):
    """The register-blocked inner loop, written directly in LLVM IR.

    ``acc[i*NR + j] = max_p (Ap[a0 + p*MR + i] + Bp[b0 + p*NR + j])`` for
    ``p < kc`` (``kc >= 1``), with the ``MR x NR`` block held in ``MR*NR/L``
    vector values of ``L = 512 / bitwidth`` lanes (split into 256-bit halves
    by LLVM where the target prefers them). Explicit vectors keep LLVM from
    vectorising the wrong loop (it otherwise treats each accumulator as a
    reduction over ``p`` and gathers).
    """
    if not isinstance(Ap, types.Array) or str(Ap.dtype) not in _BLOCKS:
        return None
    mr, nr = _BLOCKS[str(Ap.dtype)][:2]
    lanes = 512 // Ap.dtype.bitwidth
    nv = nr // lanes
    sig = types.void(kc, Ap, a0, Bp, b0, acc)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        kc_v, ap_v, a0_v, bp_v, b0_v, acc_v = args
        fty = context.get_value_type(Ap.dtype)
        vty = ir.VectorType(fty, lanes)
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        elsize = Ap.dtype.bitwidth // 8
        maxfn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vty, [vty, vty]),
            f"llvm.maxnum.v{lanes}f{Ap.dtype.bitwidth}")
        a_data = context.make_array(Ap)(context, builder, ap_v).data
        b_data = context.make_array(Bp)(context, builder, bp_v).data
        pa0 = builder.gep(a_data, [a0_v])
        pb0 = builder.gep(b_data, [b0_v])
        neg = ir.Constant(vty, [ir.Constant(fty, float("-inf"))] * lanes)
        zero_mask = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
        undef = ir.Constant(vty, ir.Undefined)

        pre = builder.basic_block
        loop = builder.append_basic_block("mp_loop")
        done = builder.append_basic_block("mp_done")
        builder.branch(loop)
        builder.position_at_end(loop)
        p = builder.phi(i64)
        pa = builder.phi(pa0.type)
        pb = builder.phi(pb0.type)
        accs = [builder.phi(vty) for _ in range(mr * nv)]
        p.add_incoming(ir.Constant(i64, 0), pre)
        pa.add_incoming(pa0, pre)
        pb.add_incoming(pb0, pre)
        for a in accs:
            a.add_incoming(neg, pre)
        bvec = []
        for v in range(nv):
            ptr = builder.bitcast(builder.gep(pb, [ir.Constant(i64, v * lanes)]),
                                  vty.as_pointer())
            ld = builder.load(ptr)
            ld.align = elsize
            bvec.append(ld)
        new = []
        for i in range(mr):
            s = builder.load(builder.gep(pa, [ir.Constant(i64, i)]))
            splat = builder.shuffle_vector(
                builder.insert_element(undef, s, ir.Constant(i32, 0)),
                undef, zero_mask)
            for v in range(nv):
                t = builder.fadd(splat, bvec[v])
                new.append(builder.call(maxfn, [accs[i * nv + v], t]))
        p_next = builder.add(p, ir.Constant(i64, 1))
        pa_next = builder.gep(pa, [ir.Constant(i64, mr)])
        pb_next = builder.gep(pb, [ir.Constant(i64, nr)])
        latch = builder.basic_block
        p.add_incoming(p_next, latch)
        pa.add_incoming(pa_next, latch)
        pb.add_incoming(pb_next, latch)
        for a, nv_ in zip(accs, new):
            a.add_incoming(nv_, latch)
        builder.cbranch(builder.icmp_signed("<", p_next, kc_v), loop, done)
        builder.position_at_end(done)
        base = acc_v
        for idx, val in enumerate(new):
            ptr = builder.bitcast(
                builder.gep(base, [ir.Constant(i64, idx * lanes)]),
                vty.as_pointer())
            st = builder.store(val, ptr)
            st.align = elsize
        return context.get_dummy_value()

    return sig, codegen


def _minmax_intrinsic(llvm_name):
    @intrinsic
    def _impl(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None
        sig = a(a, b)

        def codegen(context, builder, signature, args):
            lltype = context.get_value_type(a)
            fn = cgutils.get_or_insert_function(
                builder.module,
                __import__("llvmlite").ir.FunctionType(lltype, [lltype, lltype]),
                f"llvm.{llvm_name}.f{a.bitwidth}",
            )
            return builder.call(fn, args)

        return sig, codegen

    return _impl


_fmax = _minmax_intrinsic("maxnum")
_fmin = _minmax_intrinsic("minnum")


# --------------------------------------------------------------------------
# packing
# --------------------------------------------------------------------------

@njit(**_OPTS)
def _pack_b(B, sgn, pc, kc, jc, nc, Bp):
    """Bp[(jp*kc + p)*NR + j] = sgn*B[pc+p, jc+jp*NR+j]; zero-padded (-inf)."""
    MR, NR, KC, MC, NC = _blocking(B)
    npan = (nc + NR - 1) // NR
    ninf = -np.inf
    for jp in prange(npan):
        j0 = jc + jp * NR
        nr = min(NR, jc + nc - j0)
        base = jp * kc * NR
        if nr == NR:
            for p in range(kc):
                row = B[pc + p]
                o = base + p * NR
                for j in range(NR):
                    Bp[o + j] = sgn * row[j0 + j]
        else:
            for p in range(kc):
                row = B[pc + p]
                o = base + p * NR
                for j in range(nr):
                    Bp[o + j] = sgn * row[j0 + j]
                for j in range(nr, NR):
                    Bp[o + j] = ninf


@njit(**_OPTS)
def _pack_a(A, sgn, ic, mc, pc, kc, Ap):
    """Ap[(ip*kc + p)*MR + i] = sgn*A[ic+ip*MR+i, pc+p]; zero-padded (-inf)."""
    MR, NR, KC, MC, NC = _blocking(A)
    npan = (mc + MR - 1) // MR
    ninf = -np.inf
    for ip in range(npan):
        i0 = ic + ip * MR
        mr = min(MR, ic + mc - i0)
        base = ip * kc * MR
        for i in range(mr):
            row = A[i0 + i]
            for p in range(kc):
                Ap[base + p * MR + i] = sgn * row[pc + p]
        for i in range(mr, MR):
            for p in range(kc):
                Ap[base + p * MR + i] = ninf


# --------------------------------------------------------------------------
# micro-kernel
# --------------------------------------------------------------------------

@njit(**_OPTS)
def _micro(kc, Ap, a0, Bp, b0, C, i0, j0, mr, nr, first, sgn_out):
    """C[i0:i0+mr, j0:j0+nr] (max)= the MR x NR block of Ap-panel x Bp-panel.

    ``first``: overwrite C instead of merging; ``sgn_out``: sign applied on
    store (-1 on the last k-block of a min-sense product, else +1).
    """
    MR, NR, KC, MC, NC = _blocking(Ap)
    acc = _stack_block(Ap)
    _micro_loop(kc, Ap, a0, Bp, b0, acc)
    s = C.dtype.type(sgn_out)
    if first:
        for i in range(mr):
            for j in range(nr):
                C[i0 + i, j0 + j] = s * acc[i * NR + j]
    else:
        for i in range(mr):
            for j in range(nr):
                C[i0 + i, j0 + j] = s * _fmax(C[i0 + i, j0 + j], acc[i * NR + j])


# --------------------------------------------------------------------------
# products
# --------------------------------------------------------------------------

@njit(**_OPTS)
def _gemm_small(A, B, sense, out):
    """Row-by-row product for tiny problems (no packing, no threads)."""
    m, k = A.shape
    n = B.shape[1]
    sgn = A.dtype.type(sense)
    for i in range(m):
        row = out[i]
        a = sgn * A[i, 0]
        for j in range(n):
            row[j] = a + sgn * B[0, j]
        for p in range(1, k):
            a = sgn * A[i, p]
            b = B[p]
            for j in range(n):
                row[j] = _fmax(row[j], a + sgn * b[j])
        for j in range(n):
            row[j] = sgn * row[j]


@njit(parallel=True, **_OPTS)
def maxplus_gemm(A, B, sense, out):
    """out[i, j] = sense * max_k (sense*A[i, k] + sense*B[k, j])."""
    MR, NR, KC, MC, NC = _blocking(A)
    m, k = A.shape
    n = B.shape[1]
    if m * n * k <= 32768:
        _gemm_small(A, B, sense, out)
        return
    sgn = A.dtype.type(sense)
    # Balanced row blocks of at most MC rows, and at least 8 of them where m
    # allows (so every thread of a typical pool gets work; the pool size is
    # not read here: that would put a dynamic global in the cached code).
    nblk_m = max((m + MC - 1) // MC, min(8, (m + MR - 1) // MR))
    per = (m + nblk_m - 1) // nblk_m
    mc_blk = ((per + MR - 1) // MR) * MR
    nblk_m = (m + mc_blk - 1) // mc_blk
    kc_max = min(KC, k)
    nc_max = min(NC, n)
    Bp = np.empty(((nc_max + NR - 1) // NR) * NR * kc_max, dtype=A.dtype)
    Apall = np.empty((nblk_m, ((mc_blk + MR - 1) // MR) * MR * kc_max),
                     dtype=A.dtype)
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            first = pc == 0
            last = pc + kc >= k
            sgn_out = sense if last else 1
            _pack_b(B, sgn, pc, kc, jc, nc, Bp)
            for ib in prange(nblk_m):
                ic = ib * mc_blk
                mc = min(mc_blk, m - ic)
                Ap = Apall[ib]
                _pack_a(A, sgn, ic, mc, pc, kc, Ap)
                for jp in range((nc + NR - 1) // NR):
                    j0 = jp * NR
                    nr = min(NR, nc - j0)
                    for ip in range((mc + MR - 1) // MR):
                        i0 = ip * MR
                        mr = min(MR, mc - i0)
                        _micro(kc, Ap, ip * kc * MR, Bp, jp * kc * NR, out,
                               ic + i0, jc + j0, mr, nr, first, sgn_out)


@njit(parallel=True, **_OPTS)
def maxplus_gemm_argmax(A, B, sense, out, arg):
    """As :func:`maxplus_gemm`; ``arg[i, j]`` is the least k attaining it."""
    m, k = A.shape
    n = B.shape[1]
    R = 4
    JB = 512
    sgn = A.dtype.type(sense)
    ninf = A.dtype.type(-np.inf)
    nblk = (m + R - 1) // R
    for ib in prange(nblk):
        i0 = ib * R
        r = min(R, m - i0)
        best = np.empty((R, JB), dtype=A.dtype)
        idx = np.empty((R, JB), dtype=np.int64)
        for j0 in range(0, n, JB):
            nb = min(JB, n - j0)
            for t in range(r):
                for j in range(nb):
                    best[t, j] = ninf
                    idx[t, j] = 0
            for p in range(k):
                brow = B[p, j0:j0 + nb]
                for t in range(r):
                    a = sgn * A[i0 + t, p]
                    bt = best[t]
                    it = idx[t]
                    for j in range(nb):
                        v = a + sgn * brow[j]
                        if v > bt[j]:
                            bt[j] = v
                            it[j] = p
            for t in range(r):
                for j in range(nb):
                    out[i0 + t, j0 + j] = sgn * best[t, j]
                    arg[i0 + t, j0 + j] = idx[t, j]


@njit(parallel=True, **_OPTS)
def maxplus_matvec(A, x, sense, out):
    """out[i] = sense * max_k (sense*A[i, k] + sense*x[k])."""
    m, k = A.shape
    W = 32
    sgn = A.dtype.type(sense)
    ninf = A.dtype.type(-np.inf)
    xs = np.empty(k, dtype=A.dtype)
    for p in range(k):
        xs[p] = sgn * x[p]
    kv = (k // W) * W
    for i in prange(m):
        row = A[i]
        acc = np.empty(W, dtype=A.dtype)
        for t in range(W):
            acc[t] = ninf
        for p0 in range(0, kv, W):
            for t in range(W):
                acc[t] = _fmax(acc[t], sgn * row[p0 + t] + xs[p0 + t])
        r = ninf
        for t in range(W):
            r = _fmax(r, acc[t])
        for p in range(kv, k):
            r = _fmax(r, sgn * row[p] + xs[p])
        out[i] = sgn * r

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
``maxplus_gemm_top2(A, B, sense, out1, out2)``
    ``out1`` as ``maxplus_gemm``'s ``out``; ``out2[i, j]`` the second largest
    (sense) of the terms ``sense*(A[i, k] + B[k, j])`` over ``k``, counting
    multiplicity (a tie gives ``out2 == out1``), the semiring zero when fewer
    than two terms are finite. The ``eps > 0`` product uses the gap
    ``out1 - out2`` to settle most entries without exponentials.

How the product is fast (BLIS-style; see the design notes on performance):
B is packed, with the sign applied, into ``KC x NR`` micro-panels shared by
all threads; each thread packs its own ``MC x KC`` block of A into ``MR x KC``
micro-panels (``prange`` over row blocks). The micro-kernel's k-loop is
written directly in LLVM IR (:func:`_micro_loop`): the ``MR x NR``
accumulator block lives in explicit 512-bit vector values (registers), each
k-step loads ``NR`` entries of B, broadcasts ``MR`` entries of A and does one
add and one ``llvm.maxnum`` (``nnan``: a bare ``vmaxps``/``vmaxpd``) per
vector. Left to itself, LLVM vectorised that loop nest along k (treating each
accumulator as a max-reduction, with gathers); explicit vectors rule that
out, and they give 512-bit code whether or not the target prefers 256-bit
vectors (``TROPICAL_WIDE_VECTORS``). The output tile is prefetched before the
k-loop (its cache lines are far away in memory; this was worth ~10%). Padded
rows and columns of edge panels hold the semiring zero and are never written
back. Block sizes are per dtype (:data:`_BLOCKS`, compile-time constants
through :func:`_blocking`). Measured on 2 Sapphire Rapids cores at n = 2048:
about 70% of the max/add peak in float32 and float64, 4-5x tropical_gemm.

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

__all__ = ["maxplus_gemm", "maxplus_gemm_argmax", "maxplus_matvec", "maxplus_gemm_top2"]

_OPTS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)

# Block sizes per dtype: (MR, NR, KC, MC, NC), tuned on a 2-core Sapphire
# Rapids (48 KiB L1d, 2 MiB L2 per core). NR is a multiple of the 512-bit
# vector width (16 float32 / 8 float64 lanes); the MR x NR accumulator block
# (16 zmm registers) plus the NR/lanes vectors of B and one broadcast of A
# fit the 32 vector registers. KC = 512 keeps the A micro-panel in L1 and
# halves the merges into C against KC = 256 (measured: 256 cost ~7%); an
# MC x KC block of A (192 KiB f32, 384 KiB f64) stays in L2; the shared
# KC x NC panel of B lives in L2/L3. 6 x NR and 12 x NR tiles measured the
# same within noise.
_BLOCKS = {
    "float32": (8, 32, 512, 96, 2048),
    "float64": (8, 16, 512, 96, 2048),
}
# The top-2 kernel keeps two accumulator blocks (largest, second largest):
# half the rows per tile so that both fit the 32 vector registers.
_BLOCKS2 = {
    "float32": (4, 32, 512, 96, 2048),
    "float64": (4, 16, 512, 96, 2048),
}
# k-steps per iteration of the micro-kernel's loop (2: ~3% over 1; 4: same).
_UNROLL = 2
# Most workers (each with an MC x KC packing buffer) in one product.
_MAX_WORKERS = 64


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
    """Pointer to an uninitialised ``MR*NR`` stack array of ``arr``'s dtype
    (allocated once, in the entry block of the calling function): where the
    micro-kernel leaves its accumulator block for the merge into C."""
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

        def step(pa, pb, accs, u):
            # one k-step: NV loads of B, MR broadcasts of A, MR*NV add+max
            bvec = []
            for v in range(nv):
                off = ir.Constant(i64, u * nr + v * lanes)
                ptr = builder.bitcast(builder.gep(pb, [off]), vty.as_pointer())
                ld = builder.load(ptr)
                ld.align = elsize
                bvec.append(ld)
            out = []
            for i in range(mr):
                s = builder.load(builder.gep(pa, [ir.Constant(i64, u * mr + i)]))
                splat = builder.shuffle_vector(
                    builder.insert_element(undef, s, ir.Constant(i32, 0)),
                    undef, zero_mask)
                for v in range(nv):
                    t = builder.fadd(splat, bvec[v])
                    out.append(builder.call(maxfn, [accs[i * nv + v], t],
                                            fastmath=("nnan",)))
            return out

        def loop(count, unroll, pa_in, pb_in, accs_in, name):
            # `count` iterations of `unroll` k-steps each (count may be 0)
            pre = builder.basic_block
            body = builder.append_basic_block(name)
            exit_ = builder.append_basic_block(name + "_exit")
            builder.cbranch(builder.icmp_signed(">", count, zero64), body, exit_)
            builder.position_at_end(body)
            q = builder.phi(i64)
            pa = builder.phi(pa_in.type)
            pb = builder.phi(pb_in.type)
            accs = [builder.phi(vty) for _ in accs_in]
            q.add_incoming(zero64, pre)
            pa.add_incoming(pa_in, pre)
            pb.add_incoming(pb_in, pre)
            for a, a_in in zip(accs, accs_in):
                a.add_incoming(a_in, pre)
            cur = accs
            for u in range(unroll):
                cur = step(pa, pb, cur, u)
            q_next = builder.add(q, ir.Constant(i64, 1))
            pa_next = builder.gep(pa, [ir.Constant(i64, unroll * mr)])
            pb_next = builder.gep(pb, [ir.Constant(i64, unroll * nr)])
            latch = builder.basic_block
            q.add_incoming(q_next, latch)
            pa.add_incoming(pa_next, latch)
            pb.add_incoming(pb_next, latch)
            for a, a_new in zip(accs, cur):
                a.add_incoming(a_new, latch)
            builder.cbranch(builder.icmp_signed("<", q_next, count), body, exit_)
            builder.position_at_end(exit_)
            outs = []
            for v_in, v_new in [(pa_in, pa_next), (pb_in, pb_next)] + list(
                    zip(accs_in, cur)):
                ph = builder.phi(v_in.type)
                ph.add_incoming(v_in, pre)
                ph.add_incoming(v_new, latch)
                outs.append(ph)
            return outs[0], outs[1], outs[2:]

        zero64 = ir.Constant(i64, 0)
        n_main = builder.sdiv(kc_v, ir.Constant(i64, _UNROLL))
        n_rest = builder.sub(kc_v, builder.mul(n_main, ir.Constant(i64, _UNROLL)))
        pa, pb, accs = loop(n_main, _UNROLL, pa0, pb0, [neg] * (mr * nv), "mp_main")
        pa, pb, new = loop(n_rest, 1, pa, pb, accs, "mp_rest")
        base = acc_v
        for idx, val in enumerate(new):
            ptr = builder.bitcast(
                builder.gep(base, [ir.Constant(i64, idx * lanes)]),
                vty.as_pointer())
            st = builder.store(val, ptr)
            st.align = elsize
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _blocking2(typingctx, arr):
    """(MR, NR, KC, MC, NC) of the top-2 kernel for ``arr``'s dtype."""
    key = str(arr.dtype)
    if key not in _BLOCKS2:
        return None
    vals = _BLOCKS2[key]
    sig = types.UniTuple(types.intp, len(vals))(arr)

    def codegen(context, builder, signature, args):
        ll = context.get_value_type(types.intp)
        items = [ll(v) for v in vals]
        return context.make_tuple(builder, signature.return_type, items)

    return sig, codegen


@intrinsic
def _stack_block2(typingctx, arr):
    """Pointer to an uninitialised ``2*MR*NR`` stack array (top-2 kernel):
    the largest values first, then the second largest."""
    key = str(arr.dtype)
    if key not in _BLOCKS2:
        return None
    mr, nr = _BLOCKS2[key][:2]
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, args):
        lltype = context.get_value_type(arr.dtype)
        return cgutils.alloca_once(builder, lltype, size=2 * mr * nr)

    return sig, codegen


@intrinsic
def _micro_loop2(typingctx, kc, Ap, a0, Bp, b0, acc):
    """The top-2 inner loop in LLVM IR (see :func:`_micro_loop`).

    For each of the ``MR x NR`` (top-2 blocking) entries, over ``p < kc``:
    the largest ``m1`` and second largest ``m2`` (with multiplicity) of
    ``x = Ap[a0 + p*MR + i] + Bp[b0 + p*NR + j]``, by
    ``m2 = max(m2, min(m1, x)); m1 = max(m1, x)`` (two accumulator vectors
    per output vector). Stored to ``acc[0:MR*NR]`` (m1) and
    ``acc[MR*NR:2*MR*NR]`` (m2).
    """
    if not isinstance(Ap, types.Array) or str(Ap.dtype) not in _BLOCKS2:
        return None
    mr, nr = _BLOCKS2[str(Ap.dtype)][:2]
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
        minfn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vty, [vty, vty]),
            f"llvm.minnum.v{lanes}f{Ap.dtype.bitwidth}")
        a_data = context.make_array(Ap)(context, builder, ap_v).data
        b_data = context.make_array(Bp)(context, builder, bp_v).data
        pa0 = builder.gep(a_data, [a0_v])
        pb0 = builder.gep(b_data, [b0_v])
        neg = ir.Constant(vty, [ir.Constant(fty, float("-inf"))] * lanes)
        zero_mask = ir.Constant(ir.VectorType(i32, lanes), [0] * lanes)
        undef = ir.Constant(vty, ir.Undefined)
        nacc = mr * nv

        def step(pa, pb, accs, u):
            # accs: nacc largest, then nacc second largest
            bvec = []
            for v in range(nv):
                off = ir.Constant(i64, u * nr + v * lanes)
                ptr = builder.bitcast(builder.gep(pb, [off]), vty.as_pointer())
                ld = builder.load(ptr)
                ld.align = elsize
                bvec.append(ld)
            m1s = list(accs[:nacc])
            m2s = list(accs[nacc:])
            for i in range(mr):
                s = builder.load(builder.gep(pa, [ir.Constant(i64, u * mr + i)]))
                splat = builder.shuffle_vector(
                    builder.insert_element(undef, s, ir.Constant(i32, 0)),
                    undef, zero_mask)
                for v in range(nv):
                    q = i * nv + v
                    t = builder.fadd(splat, bvec[v])
                    lo = builder.call(minfn, [m1s[q], t], fastmath=("nnan",))
                    m2s[q] = builder.call(maxfn, [m2s[q], lo], fastmath=("nnan",))
                    m1s[q] = builder.call(maxfn, [m1s[q], t], fastmath=("nnan",))
            return m1s + m2s

        def loop(count, unroll, pa_in, pb_in, accs_in, name):
            pre = builder.basic_block
            body = builder.append_basic_block(name)
            exit_ = builder.append_basic_block(name + "_exit")
            builder.cbranch(builder.icmp_signed(">", count, zero64), body, exit_)
            builder.position_at_end(body)
            q = builder.phi(i64)
            pa = builder.phi(pa_in.type)
            pb = builder.phi(pb_in.type)
            accs = [builder.phi(vty) for _ in accs_in]
            q.add_incoming(zero64, pre)
            pa.add_incoming(pa_in, pre)
            pb.add_incoming(pb_in, pre)
            for a, a_in in zip(accs, accs_in):
                a.add_incoming(a_in, pre)
            cur = accs
            for u in range(unroll):
                cur = step(pa, pb, cur, u)
            q_next = builder.add(q, ir.Constant(i64, 1))
            pa_next = builder.gep(pa, [ir.Constant(i64, unroll * mr)])
            pb_next = builder.gep(pb, [ir.Constant(i64, unroll * nr)])
            latch = builder.basic_block
            q.add_incoming(q_next, latch)
            pa.add_incoming(pa_next, latch)
            pb.add_incoming(pb_next, latch)
            for a, a_new in zip(accs, cur):
                a.add_incoming(a_new, latch)
            builder.cbranch(builder.icmp_signed("<", q_next, count), body, exit_)
            builder.position_at_end(exit_)
            outs = []
            for v_in, v_new in [(pa_in, pa_next), (pb_in, pb_next)] + list(
                    zip(accs_in, cur)):
                ph = builder.phi(v_in.type)
                ph.add_incoming(v_in, pre)
                ph.add_incoming(v_new, latch)
                outs.append(ph)
            return outs[0], outs[1], outs[2:]

        zero64 = ir.Constant(i64, 0)
        n_main = builder.sdiv(kc_v, ir.Constant(i64, _UNROLL))
        n_rest = builder.sub(kc_v, builder.mul(n_main, ir.Constant(i64, _UNROLL)))
        pa, pb, accs = loop(n_main, _UNROLL, pa0, pb0, [neg] * (2 * nacc), "t2_main")
        pa, pb, new = loop(n_rest, 1, pa, pb, accs, "t2_rest")
        for idx, val in enumerate(new):
            ptr = builder.bitcast(
                builder.gep(acc_v, [ir.Constant(i64, idx * lanes)]),
                vty.as_pointer())
            st = builder.store(val, ptr)
            st.align = elsize
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _prefetch_row(typingctx, C, i, j, count):
    """Prefetch (for writing) ``count`` entries of ``C[i, j:]``, line by line.

    The micro-kernel issues it for its output tile before its k-loop, so the
    tile's cache lines (often far away in memory) arrive while it computes.
    """
    if not (isinstance(C, types.Array) and C.ndim == 2):
        return None
    sig = types.void(C, i, j, count)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        c_v, i_v, j_v, n_v = args
        ary = context.make_array(C)(context, builder, c_v)
        ptr = cgutils.get_item_pointer(context, builder, C, ary, [i_v, j_v])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        base = builder.bitcast(ptr, i8p)
        nbytes = builder.mul(n_v, ir.Constant(n_v.type, C.dtype.bitwidth // 8))
        with cgutils.for_range_slice(builder, ir.Constant(n_v.type, 0), nbytes,
                                     ir.Constant(n_v.type, 64)) as (off, _):
            builder.call(fn, [builder.gep(base, [off]), ir.Constant(i32, 1),
                              ir.Constant(i32, 3), ir.Constant(i32, 1)])
        # the last byte too, in case the row straddles one more line
        last = builder.gep(base, [builder.sub(nbytes, ir.Constant(n_v.type, 1))])
        builder.call(fn, [last, ir.Constant(i32, 1), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _fetch_add(typingctx, counter, idx):
    """Atomically ``old = counter[idx]; counter[idx] += 1``; returns ``old``.

    Hands out row blocks dynamically inside a ``prange`` (Numba's parallel
    loops split iterations statically, so a thread whose core is busy with
    another process would otherwise hold up the whole product).
    """
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64
            and counter.ndim == 1):
        return None
    sig = types.int64(counter, idx)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        ary = context.make_array(counter)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, counter, ary, [args[1]])
        return builder.atomic_rmw("add", ptr, ir.Constant(ir.IntType(64), 1),
                                  "monotonic")

    return sig, codegen


def _minmax_intrinsic(llvm_name):
    @intrinsic
    def _impl(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None
        sig = a(a, b)

        def codegen(context, builder, signature, args):
            from llvmlite import ir

            lltype = context.get_value_type(a)
            fn = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(lltype, [lltype, lltype]),
                f"llvm.{llvm_name}.f{a.bitwidth}",
            )
            return builder.call(fn, args, fastmath=("nnan",))

        return sig, codegen

    return _impl


_fmax = _minmax_intrinsic("maxnum")
_fmin = _minmax_intrinsic("minnum")


def _row_dot_intrinsic(llvm_name, identity):
    """Intrinsic ``f(A, i, x)`` = ``op_k (A[i, k] + x[k])`` with ``op`` the
    LLVM intrinsic ``llvm_name`` (maxnum or minnum), ``identity`` its zero.

    Written in LLVM IR with four explicit 512-bit accumulators, then a
    horizontal reduction and a scalar tail; ``A`` C-contiguous 2-D, ``x``
    contiguous 1-D with ``A.shape[1]`` entries.
    """

    @intrinsic
    def _impl(typingctx, A, i, x):
        if not (isinstance(A, types.Array) and A.ndim == 2
                and isinstance(x, types.Array) and x.dtype == A.dtype
                and str(A.dtype) in _BLOCKS):
            return None
        sig = A.dtype(A, i, x)
        lanes = 512 // A.dtype.bitwidth
        nacc = 4

        def codegen(context, builder, signature, args):
            from llvmlite import ir

            a_v, i_v, x_v = args
            fty = context.get_value_type(A.dtype)
            vty = ir.VectorType(fty, lanes)
            i64 = ir.IntType(64)
            elsize = A.dtype.bitwidth // 8
            vfn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vty, [vty, vty]),
                f"llvm.{llvm_name}.v{lanes}f{A.dtype.bitwidth}")
            sfn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(fty, [fty, fty]),
                f"llvm.{llvm_name}.f{A.dtype.bitwidth}")
            ary = context.make_array(A)(context, builder, a_v)
            xary = context.make_array(x)(context, builder, x_v)
            k = builder.extract_value(ary.shape, 1)
            row = cgutils.get_item_pointer(context, builder, A, ary,
                                           [i_v, ir.Constant(i64, 0)])
            xp = xary.data
            step = lanes * nacc
            nmain = builder.mul(builder.udiv(k, ir.Constant(i64, step)),
                                ir.Constant(i64, step))
            ident_v = ir.Constant(vty, [ir.Constant(fty, identity)] * lanes)

            def vload(ptr, off):
                p = builder.bitcast(builder.gep(ptr, [off]), vty.as_pointer())
                ld = builder.load(p)
                ld.align = elsize
                return ld

            accs = [cgutils.alloca_once_value(builder, ident_v)
                    for _ in range(nacc)]
            with cgutils.for_range_slice(builder, ir.Constant(i64, 0), nmain,
                                         ir.Constant(i64, step)) as (p0, _):
                for u in range(nacc):
                    off = builder.add(p0, ir.Constant(i64, u * lanes))
                    t = builder.fadd(vload(row, off), vload(xp, off))
                    builder.store(builder.call(vfn, [builder.load(accs[u]), t],
                                               fastmath=("nnan",)), accs[u])
            v = builder.load(accs[0])
            for u in range(1, nacc):
                v = builder.call(vfn, [v, builder.load(accs[u])],
                                 fastmath=("nnan",))
            r = builder.extract_element(v, ir.Constant(ir.IntType(32), 0))
            for l in range(1, lanes):
                e = builder.extract_element(v, ir.Constant(ir.IntType(32), l))
                r = builder.call(sfn, [r, e], fastmath=("nnan",))
            res = cgutils.alloca_once_value(builder, r)
            with cgutils.for_range_slice(builder, nmain, k,
                                         ir.Constant(i64, 1)) as (p, _):
                t = builder.fadd(builder.load(builder.gep(row, [p])),
                                 builder.load(builder.gep(xp, [p])))
                builder.store(builder.call(sfn, [builder.load(res), t],
                                           fastmath=("nnan",)), res)
            return builder.load(res)

        return sig, codegen

    return _impl


_row_max_plus = _row_dot_intrinsic("maxnum", float("-inf"))
_row_min_plus = _row_dot_intrinsic("minnum", float("inf"))


# --------------------------------------------------------------------------
# NUMBA_DISABLE_JIT=1: the njit functions below run as plain Python (slowly;
# for coverage and debugging); intrinsics cannot, so use numpy stand-ins.
# --------------------------------------------------------------------------

if numba.config.DISABLE_JIT:

    def _blocking(arr):  # noqa: F811
        return _BLOCKS[str(arr.dtype)]

    def _stack_block(arr):  # noqa: F811
        mr, nr = _BLOCKS[str(arr.dtype)][:2]
        return np.empty(mr * nr, dtype=arr.dtype)

    def _micro_loop(kc, Ap, a0, Bp, b0, acc):  # noqa: F811
        mr, nr = _BLOCKS[str(Ap.dtype)][:2]
        a = Ap[a0:a0 + kc * mr].reshape(kc, mr)
        b = Bp[b0:b0 + kc * nr].reshape(kc, nr)
        acc[:] = (a[:, :, None] + b[:, None, :]).max(axis=0).ravel()

    def _prefetch_row(C, i, j, count):  # noqa: F811
        pass

    def _fetch_add(counter, idx):  # noqa: F811
        old = counter[idx]
        counter[idx] += 1
        return old

    def _fmax(a, b):  # noqa: F811
        return a if a >= b else b

    def _fmin(a, b):  # noqa: F811
        return a if a <= b else b

    def _blocking2(arr):  # noqa: F811
        return _BLOCKS2[str(arr.dtype)]

    def _stack_block2(arr):  # noqa: F811
        mr, nr = _BLOCKS2[str(arr.dtype)][:2]
        return np.empty(2 * mr * nr, dtype=arr.dtype)

    def _micro_loop2(kc, Ap, a0, Bp, b0, acc):  # noqa: F811
        mr, nr = _BLOCKS2[str(Ap.dtype)][:2]
        a = Ap[a0:a0 + kc * mr].reshape(kc, mr)
        b = Bp[b0:b0 + kc * nr].reshape(kc, nr)
        t = np.sort(a[:, :, None] + b[:, None, :], axis=0)
        acc[:mr * nr] = t[-1].ravel()
        acc[mr * nr:] = (t[-2] if kc > 1 else np.full((mr, nr), -np.inf)).ravel()

    def _row_max_plus(A, i, x):  # noqa: F811
        return (A[i] + x).max()

    def _row_min_plus(A, i, x):  # noqa: F811
        return (A[i] + x).min()


# --------------------------------------------------------------------------
# packing
# --------------------------------------------------------------------------

@njit(**_OPTS)
def _pack_b(B, sgn, pc, kc, jc, nc, jp, Bp):
    """Micro-panel ``jp`` of the packed B block (rows pc:pc+kc, columns
    jc:jc+nc): ``Bp[(jp*kc + p)*NR + j] = sgn*B[pc+p, jc+jp*NR+j]``, columns
    past the block padded with -inf."""
    MR, NR, KC, MC, NC = _blocking(B)
    ninf = -np.inf
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
    for i in range(mr):
        _prefetch_row(C, i0 + i, j0, nr)
    _micro_loop(kc, Ap, a0, Bp, b0, acc)
    s = C.dtype.type(sgn_out)
    if mr == MR and nr == NR:
        # full tile: constant trip counts, vectorised loads and stores
        if first:
            for i in range(MR):
                ci = C[i0 + i]
                for j in range(NR):
                    ci[j0 + j] = s * acc[i * NR + j]
        else:
            for i in range(MR):
                ci = C[i0 + i]
                for j in range(NR):
                    ci[j0 + j] = s * _fmax(ci[j0 + j], acc[i * NR + j])
    elif first:
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


@njit(**_OPTS)
def _gemm_worker(A, sgn, out, Ap, Bp, counter, nblk_m, mc_blk, pc, kc, jc, nc,
                 first, sgn_out):
    """Take row blocks from ``counter`` until none is left; for each, pack
    its A block into ``Ap`` and run the micro-kernel over the packed B."""
    MR, NR, KC, MC, NC = _blocking(A)
    m = A.shape[0]
    ib = _fetch_add(counter, 0)
    while ib < nblk_m:
        ic = ib * mc_blk
        mc = min(mc_blk, m - ic)
        _pack_a(A, sgn, ic, mc, pc, kc, Ap)
        for jp in range((nc + NR - 1) // NR):
            j0 = jp * NR
            nr = min(NR, nc - j0)
            for ip in range((mc + MR - 1) // MR):
                i0 = ip * MR
                mr = min(MR, mc - i0)
                _micro(kc, Ap, ip * kc * MR, Bp, jp * kc * NR, out, ic + i0,
                       jc + j0, mr, nr, first, sgn_out)
        ib = _fetch_add(counter, 0)


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
    # Workers take row blocks from a shared counter; each owns a packing
    # buffer for A. At most _MAX_WORKERS of them (>= any thread pool here),
    # so a tall A does not get one buffer per row block.
    nwork = min(nblk_m, _MAX_WORKERS)
    counter = np.zeros(1, dtype=np.int64)
    Apall = np.empty((nwork, ((mc_blk + MR - 1) // MR) * MR * kc_max),
                     dtype=A.dtype)
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            first = pc == 0
            last = pc + kc >= k
            sgn_out = sense if last else 1
            npan_b = (nc + NR - 1) // NR
            if kc * nc >= 1 << 18:  # worth a parallel region of its own
                for jp in prange(npan_b):
                    _pack_b(B, sgn, pc, kc, jc, nc, jp, Bp)
            else:
                for jp in range(npan_b):
                    _pack_b(B, sgn, pc, kc, jc, nc, jp, Bp)
            # Dynamic load balance under Numba's static split of a prange:
            # a worker whose thread is slowed by another process takes fewer
            # blocks. Small products stay on one thread (a parallel region
            # costs ~10 us, and milliseconds when another process holds a
            # core).
            counter[0] = 0
            if m * nc * kc >= 1 << 21:
                for w in prange(nwork):
                    _gemm_worker(A, sgn, out, Apall[w], Bp, counter, nblk_m,
                                 mc_blk, pc, kc, jc, nc, first, sgn_out)
            else:
                _gemm_worker(A, sgn, out, Apall[0], Bp, counter, nblk_m,
                             mc_blk, pc, kc, jc, nc, first, sgn_out)


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
                        # unconditional selects (no branch): vectorised
                        v = a + sgn * brow[j]
                        better = v > bt[j]
                        bt[j] = v if better else bt[j]
                        it[j] = p if better else it[j]
            for t in range(r):
                for j in range(nb):
                    out[i0 + t, j0 + j] = sgn * best[t, j]
                    arg[i0 + t, j0 + j] = idx[t, j]


@njit(parallel=True, **_OPTS)
def maxplus_matvec(A, x, sense, out):
    """out[i] = sense * max_k (sense*A[i, k] + sense*x[k]).

    The min sense computes ``min_k (A[i, k] + x[k])`` directly, which is the
    same number: negation commutes exactly with rounding.
    """
    m = A.shape[0]
    if sense > 0:
        for i in prange(m):
            out[i] = _row_max_plus(A, i, x)
    else:
        for i in prange(m):
            out[i] = _row_min_plus(A, i, x)


# --------------------------------------------------------------------------
# top-2 product (largest and second largest term of each entry)
# --------------------------------------------------------------------------

@njit(**_OPTS)
def _pack_b2(B, sgn, pc, kc, jc, nc, jp, Bp):
    """As :func:`_pack_b` with the top-2 kernel's ``NR``."""
    MR, NR, KC, MC, NC = _blocking2(B)
    ninf = -np.inf
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
def _pack_a2(A, sgn, ic, mc, pc, kc, Ap):
    """As :func:`_pack_a` with the top-2 kernel's ``MR``."""
    MR, NR, KC, MC, NC = _blocking2(A)
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


@njit(**_OPTS)
def _micro2(kc, Ap, a0, Bp, b0, C1, C2, i0, j0, mr, nr, first, sgn_out):
    """(C1, C2)[i0:i0+mr, j0:j0+nr] (top-2 merge)= the block's top-2.

    Merging two top-2 lists (c1 >= c2) and (a1 >= a2): the largest is
    max(c1, a1), the second max(min(c1, a1), max(c2, a2)) (multiplicity kept).
    """
    MR, NR, KC, MC, NC = _blocking2(Ap)
    acc = _stack_block2(Ap)
    for i in range(mr):
        _prefetch_row(C1, i0 + i, j0, nr)
        _prefetch_row(C2, i0 + i, j0, nr)
    _micro_loop2(kc, Ap, a0, Bp, b0, acc)
    s = C1.dtype.type(sgn_out)
    off = MR * NR
    if first:
        if mr == MR and nr == NR:
            for i in range(MR):
                c1 = C1[i0 + i]
                c2 = C2[i0 + i]
                for j in range(NR):
                    c1[j0 + j] = s * acc[i * NR + j]
                    c2[j0 + j] = s * acc[off + i * NR + j]
        else:
            for i in range(mr):
                for j in range(nr):
                    C1[i0 + i, j0 + j] = s * acc[i * NR + j]
                    C2[i0 + i, j0 + j] = s * acc[off + i * NR + j]
    else:
        for i in range(mr):
            c1 = C1[i0 + i]
            c2 = C2[i0 + i]
            for j in range(nr):
                a1 = acc[i * NR + j]
                a2 = acc[off + i * NR + j]
                b1 = c1[j0 + j]
                b2 = c2[j0 + j]
                c2[j0 + j] = s * _fmax(_fmin(b1, a1), _fmax(b2, a2))
                c1[j0 + j] = s * _fmax(b1, a1)


@njit(**_OPTS)
def _gemm2_small(A, B, sense, out1, out2):
    """Row-by-row top-2 product for tiny problems (no packing, no threads)."""
    m, k = A.shape
    n = B.shape[1]
    sgn = A.dtype.type(sense)
    ninf = A.dtype.type(-np.inf)
    for i in range(m):
        r1 = out1[i]
        r2 = out2[i]
        for j in range(n):
            r1[j] = ninf
            r2[j] = ninf
        for p in range(k):
            a = sgn * A[i, p]
            b = B[p]
            for j in range(n):
                x = a + sgn * b[j]
                r2[j] = _fmax(r2[j], _fmin(r1[j], x))
                r1[j] = _fmax(r1[j], x)
        for j in range(n):
            r1[j] = sgn * r1[j]
            r2[j] = sgn * r2[j]


@njit(**_OPTS)
def _gemm2_worker(A, sgn, out1, out2, Ap, Bp, counter, nblk_m, mc_blk, pc, kc,
                  jc, nc, first, sgn_out):
    """As :func:`_gemm_worker`, for the top-2 product."""
    MR, NR, KC, MC, NC = _blocking2(A)
    m = A.shape[0]
    ib = _fetch_add(counter, 0)
    while ib < nblk_m:
        ic = ib * mc_blk
        mc = min(mc_blk, m - ic)
        _pack_a2(A, sgn, ic, mc, pc, kc, Ap)
        for jp in range((nc + NR - 1) // NR):
            j0 = jp * NR
            nr = min(NR, nc - j0)
            for ip in range((mc + MR - 1) // MR):
                i0 = ip * MR
                mr = min(MR, mc - i0)
                _micro2(kc, Ap, ip * kc * MR, Bp, jp * kc * NR, out1, out2,
                        ic + i0, jc + j0, mr, nr, first, sgn_out)
        ib = _fetch_add(counter, 0)


@njit(parallel=True, **_OPTS)
def maxplus_gemm_top2(A, B, sense, out1, out2):
    """out1 = the max-plus product; out2 = the second largest term (sense),
    with multiplicity, the semiring zero where fewer than two are finite."""
    MR, NR, KC, MC, NC = _blocking2(A)
    m, k = A.shape
    n = B.shape[1]
    if m * n * k <= 32768:
        _gemm2_small(A, B, sense, out1, out2)
        return
    sgn = A.dtype.type(sense)
    nblk_m = max((m + MC - 1) // MC, min(8, (m + MR - 1) // MR))
    per = (m + nblk_m - 1) // nblk_m
    mc_blk = ((per + MR - 1) // MR) * MR
    nblk_m = (m + mc_blk - 1) // mc_blk
    kc_max = min(KC, k)
    nc_max = min(NC, n)
    Bp = np.empty(((nc_max + NR - 1) // NR) * NR * kc_max, dtype=A.dtype)
    nwork = min(nblk_m, _MAX_WORKERS)
    counter = np.zeros(1, dtype=np.int64)
    Apall = np.empty((nwork, ((mc_blk + MR - 1) // MR) * MR * kc_max),
                     dtype=A.dtype)
    for jc in range(0, n, NC):
        nc = min(NC, n - jc)
        for pc in range(0, k, KC):
            kc = min(KC, k - pc)
            first = pc == 0
            last = pc + kc >= k
            sgn_out = sense if last else 1
            npan_b = (nc + NR - 1) // NR
            if kc * nc >= 1 << 18:
                for jp in prange(npan_b):
                    _pack_b2(B, sgn, pc, kc, jc, nc, jp, Bp)
            else:
                for jp in range(npan_b):
                    _pack_b2(B, sgn, pc, kc, jc, nc, jp, Bp)
            counter[0] = 0
            if m * nc * kc >= 1 << 20:
                for w in prange(nwork):
                    _gemm2_worker(A, sgn, out1, out2, Apall[w], Bp, counter,
                                  nblk_m, mc_blk, pc, kc, jc, nc, first, sgn_out)
            else:
                _gemm2_worker(A, sgn, out1, out2, Apall[0], Bp, counter, nblk_m,
                              mc_blk, pc, kc, jc, nc, first, sgn_out)

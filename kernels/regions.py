"""Polygon splitting for the exact activation regions of a network in two inputs.

``split_faces_2d(V, face_ptr, face_idx, tol)`` refines a planar partition of a
box into convex polygons by the zero lines of the ``n`` units of one layer.

``V`` has one row per vertex: ``(x, y, z_0, ..., z_{n-1})``, the input point
and the layer's pre-activations there. Each face is a counter-clockwise list of
vertex ids ``face_idx[face_ptr[f]:face_ptr[f + 1]]``; faces share vertices, and
the partition is edge-to-edge (no vertex of one face lies inside an edge of
another). Inside every face the pre-activations are affine, so a vertex created
on an edge is the linear interpolation of the whole row.

The sign of unit ``i`` at vertex ``v`` is ``+1`` if ``z_i(v) > tol[i]``, ``-1``
if ``z_i(v) < -tol[i]`` and ``0`` (on the line) otherwise: a property of the
vertex, so two faces sharing an edge always agree on whether a line crosses it.
A face is cut by unit ``i`` only when it has vertices of both signs; the new
vertex on a crossed edge ``(p, q)`` is looked up in a dictionary keyed by the
unordered pair, and computed, when new, from the positive end towards the
negative end, so the two faces of an edge get the same vertex id. Faces are
processed one after another (face-major), each by the units in order.

Returns ``(V, face_ptr, face_idx, parent, bits)``: the grown vertex array, the
new faces, the index of the face each new face came from, and ``bits[f, i]``
(1 where unit ``i`` is positive on face ``f``; a unit that is zero on a whole
face counts as inactive). Unlike the other kernels this one allocates its
outputs, whose size is not known in advance.
"""

from __future__ import annotations

from tropical._config import load_numba

numba = load_numba()
from numba import njit  # noqa: E402
from numba import types  # noqa: E402
from numba.typed import Dict  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["split_faces_2d"]

_KEY = np.int64(1) << np.int64(31)


@njit(cache=True, nogil=True)
def _grow_float(buf, need):
    if need <= buf.shape[0]:
        return buf
    cap = buf.shape[0] * 2
    while cap < need:
        cap *= 2
    out = np.empty((cap, buf.shape[1]), dtype=buf.dtype)
    out[:buf.shape[0]] = buf
    return out


@njit(cache=True, nogil=True)
def _grow_int(buf, need):
    if need <= buf.shape[0]:
        return buf
    cap = buf.shape[0] * 2
    while cap < need:
        cap *= 2
    out = np.empty(cap, dtype=buf.dtype)
    out[:buf.shape[0]] = buf
    return out


@njit(cache=True, nogil=True)
def _grow_bits(buf, need):
    if need <= buf.shape[0]:
        return buf
    cap = buf.shape[0] * 2
    while cap < need:
        cap *= 2
    out = np.zeros((cap, buf.shape[1]), dtype=buf.dtype)
    out[:buf.shape[0]] = buf
    return out


@njit(cache=True, nogil=True)
def _sign(V, v, col, t):
    z = V[v, col]
    if z > t:
        return 1
    if z < -t:
        return -1
    return 0


@njit(cache=True, nogil=True)
def split_faces_2d(V, face_ptr, face_idx, tol):
    nv0, ncol = V.shape
    n = ncol - 2
    nf = face_ptr.shape[0] - 1
    Vb = np.empty((max(2 * nv0, 64), ncol), dtype=np.float64)
    Vb[:nv0] = V
    nv = nv0
    edge = Dict.empty(key_type=types.int64, value_type=types.int64)
    # output faces
    optr = np.zeros(max(2 * nf + 1, 64), dtype=np.int64)
    oidx = np.empty(max(2 * face_idx.shape[0], 64), dtype=np.int64)
    opar = np.empty(max(2 * nf, 64), dtype=np.int64)
    obits = np.zeros((max(2 * nf, 64), max(n, 1)), dtype=np.uint8)
    nof = 0
    nidx = 0
    # per-face scratch: pieces as (start, length) in a flat buffer
    pbuf = np.empty(256, dtype=np.int64)
    pst = np.empty(64, dtype=np.int64)
    pln = np.empty(64, dtype=np.int64)
    fbits = np.zeros(max(n, 1), dtype=np.uint8)
    cross = np.empty(max(n, 1), dtype=np.int64)
    for f in range(nf):
        a0 = face_ptr[f]
        k0 = face_ptr[f + 1] - a0
        pbuf = _grow_int(pbuf, k0)
        for j in range(k0):
            pbuf[j] = face_idx[a0 + j]
        used = k0
        npc = 1
        pst[0] = 0
        pln[0] = k0
        # units whose line misses the face keep one sign on every piece
        ncross = 0
        for i in range(n):
            has_pos = False
            has_neg = False
            for j in range(k0):
                sg = _sign(Vb, pbuf[j], 2 + i, tol[i])
                if sg > 0:
                    has_pos = True
                elif sg < 0:
                    has_neg = True
            fbits[i] = 1 if has_pos else 0
            if has_pos and has_neg:
                cross[ncross] = i
                ncross += 1
        for ic in range(ncross):
            i = cross[ic]
            col = 2 + i
            t = tol[i]
            npc0 = npc
            for pc in range(npc0):
                s0 = pst[pc]
                L = pln[pc]
                has_pos = False
                has_neg = False
                for j in range(L):
                    sg = _sign(Vb, pbuf[s0 + j], col, t)
                    if sg > 0:
                        has_pos = True
                    elif sg < 0:
                        has_neg = True
                if not (has_pos and has_neg):
                    continue
                # split: children need at most L + 2 vertices each
                pbuf = _grow_int(pbuf, used + 2 * L + 4)
                ps = used
                npos = 0
                ns = used + L + 2
                nneg = 0
                for j in range(L):
                    p = pbuf[s0 + j]
                    q = pbuf[s0 + (j + 1) % L]
                    sp = _sign(Vb, p, col, t)
                    sq = _sign(Vb, q, col, t)
                    if sp >= 0:
                        pbuf[ps + npos] = p
                        npos += 1
                    if sp <= 0:
                        pbuf[ns + nneg] = p
                        nneg += 1
                    if sp * sq < 0:
                        lo = min(p, q)
                        hi = max(p, q)
                        key = lo * _KEY + hi
                        r = edge.get(key, -1)
                        if r < 0:
                            r = nv
                            Vb = _grow_float(Vb, nv + 1)
                            a = p if sp > 0 else q
                            b = q if sp > 0 else p
                            za = Vb[a, col]
                            zb = Vb[b, col]
                            tt = za / (za - zb)
                            for c in range(ncol):
                                Vb[r, c] = Vb[a, c] + tt * (Vb[b, c] - Vb[a, c])
                            Vb[r, col] = 0.0
                            edge[key] = r
                            nv += 1
                        pbuf[ps + npos] = r
                        npos += 1
                        pbuf[ns + nneg] = r
                        nneg += 1
                used = ns + nneg
                pst[pc] = ps
                pln[pc] = npos
                if npc >= pst.shape[0]:
                    pst = _grow_int(pst, npc + 1)
                    pln = _grow_int(pln, npc + 1)
                pst[npc] = ns
                pln[npc] = nneg
                npc += 1
        # emit the pieces of face f
        optr = _grow_int(optr, nof + npc + 2)
        opar = _grow_int(opar, nof + npc + 1)
        obits = _grow_bits(obits, nof + npc + 1)
        for pc in range(npc):
            s0 = pst[pc]
            L = pln[pc]
            oidx = _grow_int(oidx, nidx + L)
            for j in range(L):
                oidx[nidx + j] = pbuf[s0 + j]
            for i in range(n):
                obits[nof, i] = fbits[i]
            for ic in range(ncross):
                i = cross[ic]
                bit = 0
                for j in range(L):
                    if _sign(Vb, pbuf[s0 + j], 2 + i, tol[i]) > 0:
                        bit = 1
                        break
                obits[nof, i] = bit
            opar[nof] = f
            nidx += L
            nof += 1
            optr[nof] = nidx
    return Vb[:nv].copy(), optr[:nof + 1].copy(), oidx[:nidx].copy(), opar[:nof].copy(), \
        obits[:nof, :n].copy()

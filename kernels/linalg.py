"""Graph kernels of max-plus spectral theory: Howard, Karp, reachability maxima.

All three work on a weighted digraph in compressed sparse row form, arcs
grouped by their tail: the arcs leaving node ``i`` are
``indices[indptr[i]:indptr[i+1]]`` (heads) with ``weights[...]`` (max-sense
weights; the caller negates for the min sense). ``indptr`` and ``indices`` are
int64, ``weights`` float64. Nothing is validated here (the wrappers in
:mod:`tropical.linalg` do), and every kernel has a plain-Python twin there
with the same name and signature (``TROPICAL_JIT=0``).

``howard_mcm(indptr, indices, weights, max_iter, rtol, pi, P, Q, W, K)``
    Howard's policy iteration for the maximum cycle mean (Cochet-Terrasson,
    Cohen, Gaubert, McGettrick, Quadrat 1998) on a graph in which every node
    has an out-arc. ``pi`` (the arc chosen at each node) is the initial
    policy on entry and the optimal one on exit. On exit node ``i`` reaches
    the policy cycle of weight ``P[i]`` and length ``Q[i]`` (its cycle mean
    ``eta_i = P[i] / Q[i]`` is the largest cycle mean reachable from ``i``),
    and its bias is ``x_i = W[i] - K[i] * eta_i`` (``W[i]`` the weight and
    ``K[i]`` the length of the policy path from ``i`` to the root of its
    cycle). Comparisons are cross-multiplied (``P_j Q_i`` against
    ``P_i Q_j``), so no cycle mean is ever rounded and the iteration is exact
    on integer data; a change of policy needs an improvement larger than
    ``rtol`` times the magnitudes compared. Returns the number of iterations
    (``max_iter + 1`` if it did not converge).
``karp_mcm(indptr, indices, weights, comp_ptr, table_limit, out)``
    Karp's maximum cycle mean of every strongly connected component
    ``[comp_ptr[c], comp_ptr[c+1])`` (nodes numbered so that components are
    contiguous and no arc leaves its component). ``out[c]`` receives
    ``max_v min_k (D_n(v) - D_k(v)) / (n - k)``. Components with
    ``n (n + 1) <= table_limit`` keep the whole table of ``D_k`` (one pass);
    larger ones use two passes and ``O(n)`` memory. Time ``O(n m)``.
``dag_max_reach(indptr, indices, val)``
    On a directed acyclic graph, replaces ``val[i]`` by the maximum of
    ``val`` over the nodes reachable from ``i`` (``i`` included), in
    ``O(n + m)`` by one depth-first post-order.
"""

from __future__ import annotations

from tropical._config import load_numba

numba = load_numba()
from numba import njit  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["howard_mcm", "karp_mcm", "dag_max_reach"]


@njit(cache=True, nogil=True)
def _worse(a, b, rtol):
    """True when ``b`` exceeds ``a`` by more than ``rtol * (|a| + |b|)``."""
    return b - a > rtol * (abs(a) + abs(b))


@njit(cache=True, nogil=True)
def howard_mcm(indptr, indices, weights, max_iter, rtol, pi, P, Q, W, K):
    n = indptr.shape[0] - 1
    stamp = np.zeros(n, np.int64)
    stack = np.empty(n, np.int64)
    it = 0
    while True:
        it += 1
        # ---- value determination: cycles of the policy graph, then biases
        for i in range(n):
            stamp[i] = 0
        walk = 0
        for s in range(n):
            if stamp[s] != 0:
                continue
            walk += 1
            top = 0
            u = s
            while stamp[u] == 0:
                stamp[u] = walk
                stack[top] = u
                top += 1
                u = indices[pi[u]]
            if stamp[u] == walk:
                # a new cycle: stack[pos:top] with root u = stack[pos]
                pos = top - 1
                while stack[pos] != u:
                    pos -= 1
                W[u] = 0.0
                K[u] = 0
                for t in range(top - 1, pos, -1):
                    v = stack[t]
                    a = pi[v]
                    j = indices[a]
                    W[v] = weights[a] + W[j]
                    K[v] = K[j] + 1
                a = pi[u]
                j = indices[a]
                p = weights[a] + W[j]
                q = K[j] + 1
                for t in range(pos, top):
                    v = stack[t]
                    P[v] = p
                    Q[v] = q
                top = pos
            for t in range(top - 1, -1, -1):
                v = stack[t]
                a = pi[v]
                j = indices[a]
                W[v] = weights[a] + W[j]
                K[v] = K[j] + 1
                P[v] = P[j]
                Q[v] = Q[j]
        if it > max_iter:
            break
        # ---- policy improvement, first of the cycle means
        changed = False
        for i in range(n):
            bp = P[i]
            bq = Q[i]
            best = -1
            for a in range(indptr[i], indptr[i + 1]):
                j = indices[a]
                if _worse(bp * Q[j], P[j] * bq, rtol):
                    bp = P[j]
                    bq = Q[j]
                    best = a
            if best >= 0:
                pi[i] = best
                changed = True
        if changed:
            continue
        # ---- then of the biases, among successors of the same cycle mean
        for i in range(n):
            p = P[i]
            q = Q[i]
            cur = W[i] * q - K[i] * p
            bestval = cur
            best = -1
            for a in range(indptr[i], indptr[i + 1]):
                j = indices[a]
                if _worse(p * Q[j], P[j] * q, rtol) or _worse(P[j] * q, p * Q[j], rtol):
                    continue
                val = (weights[a] + W[j]) * q - (K[j] + 1) * p
                if _worse(bestval, val, rtol):
                    bestval = val
                    best = a
            if best >= 0 and best != pi[i]:
                pi[i] = best
                changed = True
        if not changed:
            break
    return it


@njit(cache=True, nogil=True)
def karp_mcm(indptr, indices, weights, comp_ptr, table_limit, out):
    ncomp = comp_ptr.shape[0] - 1
    for c in range(ncomp):
        lo = comp_ptr[c]
        hi = comp_ptr[c + 1]
        nc = hi - lo
        if nc * (nc + 1) <= table_limit:
            D = np.full((nc + 1, nc), -np.inf)
            D[0, 0] = 0.0
            for k in range(1, nc + 1):
                prev = D[k - 1]
                cur = D[k]
                for u in range(nc):
                    du = prev[u]
                    if du == -np.inf:
                        continue
                    for a in range(indptr[lo + u], indptr[lo + u + 1]):
                        v = indices[a] - lo
                        val = du + weights[a]
                        if val > cur[v]:
                            cur[v] = val
            best = -np.inf
            for v in range(nc):
                dn = D[nc, v]
                if dn == -np.inf:
                    continue
                worst = np.inf
                for k in range(nc):
                    dk = D[k, v]
                    if dk == -np.inf:
                        continue
                    r = (dn - dk) / (nc - k)
                    if r < worst:
                        worst = r
                if worst > best:
                    best = worst
            out[c] = best
        else:
            cur = np.full(nc, -np.inf)
            nxt = np.full(nc, -np.inf)
            cur[0] = 0.0
            for k in range(1, nc + 1):
                nxt[:] = -np.inf
                for u in range(nc):
                    du = cur[u]
                    if du == -np.inf:
                        continue
                    for a in range(indptr[lo + u], indptr[lo + u + 1]):
                        v = indices[a] - lo
                        val = du + weights[a]
                        if val > nxt[v]:
                            nxt[v] = val
                cur, nxt = nxt, cur
            dn = cur.copy()
            worst = np.full(nc, np.inf)
            cur[:] = -np.inf
            cur[0] = 0.0
            for k in range(nc):
                for v in range(nc):
                    if dn[v] != -np.inf and cur[v] != -np.inf:
                        r = (dn[v] - cur[v]) / (nc - k)
                        if r < worst[v]:
                            worst[v] = r
                if k == nc - 1:
                    break
                nxt[:] = -np.inf
                for u in range(nc):
                    du = cur[u]
                    if du == -np.inf:
                        continue
                    for a in range(indptr[lo + u], indptr[lo + u + 1]):
                        v = indices[a] - lo
                        val = du + weights[a]
                        if val > nxt[v]:
                            nxt[v] = val
                cur, nxt = nxt, cur
            best = -np.inf
            for v in range(nc):
                if dn[v] != -np.inf and worst[v] > best:
                    best = worst[v]
            out[c] = best


@njit(cache=True, nogil=True)
def dag_max_reach(indptr, indices, val):
    n = indptr.shape[0] - 1
    state = np.zeros(n, np.int8)  # 0 new, 1 on the stack, 2 done
    stack = np.empty(n, np.int64)
    edge = np.empty(n, np.int64)
    for s in range(n):
        if state[s] != 0:
            continue
        top = 0
        stack[0] = s
        edge[0] = indptr[s]
        state[s] = 1
        while top >= 0:
            u = stack[top]
            a = edge[top]
            if a < indptr[u + 1]:
                edge[top] = a + 1
                v = indices[a]
                if state[v] == 0:
                    state[v] = 1
                    top += 1
                    stack[top] = v
                    edge[top] = indptr[v]
            else:
                m = val[u]
                for b in range(indptr[u], indptr[u + 1]):
                    w = val[indices[b]]
                    if w > m:
                        m = w
                val[u] = m
                state[u] = 2
                top -= 1

"""Plain-numpy twins of every kernel: same names, same signatures.

These are the oracle the compiled kernels are tested against and the path
``TROPICAL_JIT=0`` runs. They favour obviousness over speed (broadcasting,
``O(m*k*n)`` memory in blocks). Arguments follow the conventions of
:mod:`tropical.kernels`: C-contiguous float32/float64 arrays, ``sense`` is +1
(max) or -1 (min), ``eps >= 0``, outputs are passed in and filled.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "maxplus_gemm",
    "maxplus_gemm_argmax",
    "maxplus_matvec",
    "lse_rows",
    "softmax_rows",
    "lse_gemm_rows",
    "lse_matvec",
    "maxplus_gemm_top2",
    "lse_gemm_entries",
    "lse_from_top2",
    "lse_shift_exp",
    "lse_gemm_blas_finish",
    "maxplus_closure",
    "howard_mcm",
    "karp_mcm",
    "dag_max_reach",
    "split_faces_2d",
    "lse_fit_loss_grad",
    "lse_fit_loss_grad_serial",
    "lse_fit_adam",
    "entropy_derivatives",
    "lse_layer_rows",
    "hopf_cole_rows",
    "entropic_dual_rows",
    "gibbs_l1_rows",
    "affine_scale_rows",
    "entropic_dual_points",
    "gibbs_l1_pair_rows",
]

_ROW_BLOCK = 64


def maxplus_gemm(A, B, sense, out):
    """out[i, j] = sense * max_k (sense*A[i, k] + sense*B[k, j])."""
    sA, sB = sense * A, sense * B
    for i0 in range(0, A.shape[0], _ROW_BLOCK):
        blk = sA[i0:i0 + _ROW_BLOCK, :, None] + sB[None, :, :]
        out[i0:i0 + _ROW_BLOCK] = sense * blk.max(axis=1)


def maxplus_gemm_argmax(A, B, sense, out, arg):
    """As :func:`maxplus_gemm`; ``arg[i, j]`` is the least k attaining it."""
    sA, sB = sense * A, sense * B
    for i0 in range(0, A.shape[0], _ROW_BLOCK):
        blk = sA[i0:i0 + _ROW_BLOCK, :, None] + sB[None, :, :]
        arg[i0:i0 + _ROW_BLOCK] = blk.argmax(axis=1)
        out[i0:i0 + _ROW_BLOCK] = sense * blk.max(axis=1)


def maxplus_matvec(A, x, sense, out):
    """out[i] = sense * max_k (sense*A[i, k] + sense*x[k])."""
    out[:] = sense * (sense * A + sense * x[None, :]).max(axis=1)


def _lse_last_axis(z, eps):
    """eps*log(sum exp(z/eps)) along the last axis, max sense, in float64."""
    z = z.astype(np.float64, copy=False)
    m = z.max(axis=-1, keepdims=True)
    if eps == 0.0:
        return m[..., 0]
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0.0)
    with np.errstate(under="ignore", divide="ignore", over="ignore"):
        s = np.exp((z - shift) / eps).sum(axis=-1, keepdims=True)
        res = np.where(finite, shift + eps * np.log(s), m)
    return res[..., 0]


def lse_rows(a, eps, sense, out):
    """out[i] = sense * eps*log(sum_k exp(sense*a[i, k]/eps)); eps = 0: max."""
    out[:] = sense * _lse_last_axis(sense * a, eps)


def softmax_rows(a, eps, sense, out):
    """Gibbs weights of each row: softmax(sense*a/eps); eps = 0: uniform on
    the argmax set (argmin for sense = -1). A row of semiring zeros only
    (every entry -inf for max) has no Gibbs measure: its weights are NaN-free
    uniform over the whole row."""
    z = (sense * a).astype(np.float64)
    m = z.max(axis=1, keepdims=True)
    allzero = ~np.isfinite(m[:, 0])
    z[allzero] = 0.0
    m[allzero] = 0.0
    if eps == 0.0:
        w = (z == m).astype(np.float64)
    else:
        with np.errstate(under="ignore"):
            w = np.exp((z - m) / eps)
    out[:] = w / w.sum(axis=1, keepdims=True)


def lse_gemm_rows(A, B, M, eps, sense, rows, out):
    """Exact eps > 0 product on the listed rows, given the eps = 0 product M.

    For each i in ``rows``:
    out[i, j] = M[i, j] + sense*eps*log(sum_k exp(sense*(A[i, k] + B[k, j]
    - M[i, j])/eps)); entries where M is the semiring zero stay the zero.
    Other rows of ``out`` are left untouched.
    """
    sB = sense * B.astype(np.float64)
    for i in rows:
        z = sense * A[i].astype(np.float64)[:, None] + sB  # (k, n)
        out[i] = sense * _lse_last_axis(z.T, eps)


def lse_matvec(A, x, eps, sense, out):
    """out[i] = sense * eps*log(sum_k exp(sense*(A[i, k] + x[k])/eps))."""
    z = sense * (A.astype(np.float64) + x.astype(np.float64)[None, :])
    out[:] = sense * _lse_last_axis(z, eps)


def maxplus_closure(A, sense, out):
    """Floyd-Warshall-Kleene closure: out = A (+) A^2 (+) ... (the plus, A+).

    Valid when no cycle has positive weight (negative for sense = -1); the
    caller checks the diagonal of ``out`` afterwards to detect divergence.
    """
    D = (sense * A).astype(out.dtype, copy=True)
    n = D.shape[0]
    for k in range(n):
        D = np.maximum(D, D[:, k:k + 1] + D[k:k + 1, :])
    out[:] = sense * D


# --- max-plus spectral theory (twins of kernels/linalg.py) ---------------------------

def _worse(a, b, rtol):
    return b - a > rtol * (abs(a) + abs(b))


def howard_mcm(indptr, indices, weights, max_iter, rtol, pi, P, Q, W, K):
    """Howard policy iteration for the maximum cycle mean on a CSR graph (twin of the kernel)."""
    n = indptr.shape[0] - 1
    indptr, indices, weights = indptr.tolist(), indices.tolist(), weights.tolist()
    it = 0
    while True:
        it += 1
        stamp = [0] * n
        Wl, Kl, Pl, Ql = [0.0] * n, [0] * n, [0.0] * n, [1] * n
        walk = 0
        for s in range(n):
            if stamp[s]:
                continue
            walk += 1
            stack = []
            u = s
            while not stamp[u]:
                stamp[u] = walk
                stack.append(u)
                u = indices[pi[u]]
            if stamp[u] == walk:
                pos = stack.index(u)
                Wl[u], Kl[u] = 0.0, 0
                for v in reversed(stack[pos + 1:]):
                    a = pi[v]
                    j = indices[a]
                    Wl[v], Kl[v] = weights[a] + Wl[j], Kl[j] + 1
                a = pi[u]
                j = indices[a]
                p, q = weights[a] + Wl[j], Kl[j] + 1
                for v in stack[pos:]:
                    Pl[v], Ql[v] = p, q
                stack = stack[:pos]
            for v in reversed(stack):
                a = pi[v]
                j = indices[a]
                Wl[v], Kl[v], Pl[v], Ql[v] = weights[a] + Wl[j], Kl[j] + 1, Pl[j], Ql[j]
        W[:], K[:], P[:], Q[:] = Wl, Kl, Pl, Ql
        if it > max_iter:
            break
        changed = False
        for i in range(n):
            bp, bq, best = Pl[i], Ql[i], -1
            for a in range(indptr[i], indptr[i + 1]):
                j = indices[a]
                if _worse(bp * Ql[j], Pl[j] * bq, rtol):
                    bp, bq, best = Pl[j], Ql[j], a
            if best >= 0:
                pi[i] = best
                changed = True
        if changed:
            continue
        for i in range(n):
            p, q = Pl[i], Ql[i]
            bestval = Wl[i] * q - Kl[i] * p
            best = -1
            for a in range(indptr[i], indptr[i + 1]):
                j = indices[a]
                if _worse(p * Ql[j], Pl[j] * q, rtol) or _worse(Pl[j] * q, p * Ql[j], rtol):
                    continue
                val = (weights[a] + Wl[j]) * q - (Kl[j] + 1) * p
                if _worse(bestval, val, rtol):
                    bestval, best = val, a
            if best >= 0 and best != pi[i]:
                pi[i] = best
                changed = True
        if not changed:
            break
    return it


def karp_mcm(indptr, indices, weights, comp_ptr, table_limit, out):
    """Karp's maximum cycle mean per strongly connected component (always the full table)."""
    for c in range(comp_ptr.shape[0] - 1):
        lo, hi = int(comp_ptr[c]), int(comp_ptr[c + 1])
        nc = hi - lo
        a0, a1 = indptr[lo], indptr[hi]
        tails = np.repeat(np.arange(nc), np.diff(indptr[lo:hi + 1]))
        heads = indices[a0:a1] - lo
        w = weights[a0:a1]
        D = np.full((nc + 1, nc), -np.inf)
        D[0, 0] = 0.0
        for k in range(1, nc + 1):
            np.maximum.at(D[k], heads, D[k - 1][tails] + w)
        with np.errstate(invalid="ignore"):
            ratios = (D[nc][None, :] - D[:nc]) / (nc - np.arange(nc))[:, None]
        ratios[~np.isfinite(D[:nc])] = np.inf
        per_node = ratios.min(axis=0)
        per_node[~np.isfinite(D[nc])] = -np.inf
        out[c] = per_node.max()


def dag_max_reach(indptr, indices, val):
    """Propagate the maximum of ``val`` over everything reachable in a DAG."""
    n = indptr.shape[0] - 1
    state = [0] * n
    for s in range(n):
        if state[s]:
            continue
        stack = [(s, int(indptr[s]))]
        state[s] = 1
        while stack:
            u, a = stack[-1]
            if a < indptr[u + 1]:
                stack[-1] = (u, a + 1)
                v = int(indices[a])
                if not state[v]:
                    state[v] = 1
                    stack.append((v, int(indptr[v])))
            else:
                succ = indices[indptr[u]:indptr[u + 1]]
                if succ.size:
                    val[u] = max(val[u], val[succ].max())
                state[u] = 2
                stack.pop()


def maxplus_gemm_top2(A, B, sense, out1, out2):
    """out1 = the max-plus product; out2[i, j] = the second largest (sense) of
    sense*(A[i, k] + B[k, j]) over k with multiplicity (a tie gives out2 ==
    out1), the semiring zero where fewer than two terms are finite."""
    sA, sB = sense * A, sense * B
    for i0 in range(0, A.shape[0], _ROW_BLOCK):
        blk = np.sort(sA[i0:i0 + _ROW_BLOCK, :, None] + sB[None, :, :], axis=1)
        out1[i0:i0 + _ROW_BLOCK] = sense * blk[:, -1]
        if blk.shape[1] > 1:
            out2[i0:i0 + _ROW_BLOCK] = sense * blk[:, -2]
        else:
            out2[i0:i0 + _ROW_BLOCK] = -sense * np.inf


def lse_gemm_entries(A, B, eps, sense, mask, out):
    """The eps > 0 product on the entries where ``mask`` is set:
    out[i, j] = sense*eps*log(sum_k exp(sense*(A[i, k] + B[k, j])/eps)), the
    semiring zero where no term is finite; other entries
    untouched, nothing written at eps = 0. (The kernel may leave out terms
    below exp(-40) of the largest.)"""
    if eps == 0.0:
        return
    for i, j in zip(*np.nonzero(mask)):
        z = sense * (A[i].astype(np.float64) + B[:, j].astype(np.float64))
        out[i, j] = sense * _lse_last_axis(z, eps)


def lse_from_top2(M1, M2, eps, gap, sense, out, tie):
    """The eps > 0 product from the two largest terms where they settle it:
    where sense*(M1 - M2) > gap*eps (or M2 is the zero), out = M1 +
    sense*eps*log1p(exp(-|M1 - M2|/eps)) and tie = False; elsewhere tie = True
    and out is untouched; out = M1 where M1 is the semiring zero or eps = 0.
    (The scaled gap is computed as the kernel does: times 1/eps while that is
    finite, so both draw the line at the same entries.)"""
    a = sense * M1.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        d = sense * M2.astype(np.float64) - a
        zero = ~np.isfinite(a) | (eps == 0.0)
        inv = 1.0 / eps if eps > 0 else np.inf
        r = d * inv if np.isfinite(inv) else d / eps
        settled = zero | (r < -gap)
        val = sense * (a + eps * np.log1p(np.exp(r)))
    val = np.where(zero, M1, val)
    out[settled] = val[settled]
    tie[...] = ~settled


def lse_shift_exp(X, eps, sense, axis, lift, shift, out):
    """shift = max of sense*X along axis (0 for an all-zero line); out =
    2**lift * exp((sense*X - shift)/eps) in float64, values below 2**-511 set to 0."""
    z = sense * X.astype(np.float64)
    c = z.max(axis=axis)
    c = np.where(np.isfinite(c), c, 0.0)
    shift[:] = c
    cc = c[:, None] if axis == 1 else c[None, :]
    with np.errstate(under="ignore", over="ignore"):
        out[...] = np.exp((z - cc) / eps) * 2.0 ** lift
    out[out < 2.0 ** -511] = 0.0


def lse_gemm_blas_finish(M, S, ra, cb, K, eps, sense, safe_sum, out, unsafe):
    """out = sense*clamp(ra + cb + eps*log S, sM, sM + eps*log K) (sM =
    sense*M; K of shape (m, n) or (1, 1)), the zero where M is; unsafe = S <
    safe_sum where M is finite."""
    sM = sense * M.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        logK = np.log(K)
        C = (ra[:, None] + cb[None, :]) + eps * np.log(S)
        C = np.minimum(np.maximum(C, sM), sM + eps * logK)
    fin = np.isfinite(sM)
    out[...] = np.where(fin, sense * C, M)
    unsafe[...] = fin & ~(S >= safe_sum)


def split_faces_2d(*args):
    """Twin of :func:`tropical.kernels.regions.split_faces_2d`: its Python body.

    The 2-D face-splitting loop works on Numba typed dictionaries; its plain
    Python function (``.py_func``) is the reference (it imports Numba for
    the typed containers, not to compile).
    """
    from tropical.kernels import regions as kr

    return kr.split_faces_2d.py_func(*args)


def lse_fit_loss_grad(X, y, W, b, eps, f, gW, gb):
    """Twin of :func:`tropical.kernels.fit.lse_fit_loss_grad`, vectorised numpy.

    ``f = LSE_eps(X W^T + b)``, returns ``0.5*mean((f - y)^2)`` and fills the
    gradient ``gW = (r*pi)^T X / M``, ``gb = sum_i r_i pi_i / M`` (Gibbs
    weights ``pi``; ``eps = 0``: uniform on the argmax set). Stores the
    ``(M, N)`` matrices the kernel avoids.
    """
    Z = X @ W.T + b
    m = Z.max(axis=1, keepdims=True)
    if eps == 0.0:
        E = (Z == m).astype(np.float64)
    else:
        with np.errstate(under="ignore"):
            E = np.exp((Z - m) / eps)
    s = E.sum(axis=1)
    f[:] = m[:, 0] + eps * np.log(s) if eps > 0.0 else m[:, 0]
    r = f - y
    R = E * (r / s)[:, None]
    M = X.shape[0]
    gW[:] = (R.T @ X) / M
    gb[:] = R.sum(axis=0) / M
    return 0.5 * float(np.mean(r * r))


lse_fit_loss_grad_serial = lse_fit_loss_grad


def entropy_derivatives(W, b, X, eps, order, H, G, Hs, T3, Ge, He):
    """Attribution entropy ``H(pi(x))`` and its derivatives at the rows of ``X``
    (see :mod:`tropical.kernels.attribution` for the formulas): ``H``; with
    ``order >= 1`` the gradient ``G``; ``>= 2`` the Hessian ``Hs``; ``>= 3``
    the third derivatives ``T3`` and ``Ge = dG/deps``, ``He = dHs/deps``."""
    s = X @ W.T + b                                         # (M, N)
    r = s.argmax(axis=1)
    m = s[np.arange(len(s)), r][:, None]
    with np.errstate(under="ignore"):
        e = np.exp((s - m) / eps)
    S = e.sum(axis=1, keepdims=True)
    pi = e / S
    ds = (pi * (s - m)).sum(axis=1, keepdims=True)
    H[:] = np.maximum(np.log(S[:, 0]) - ds[:, 0] / eps, 0.0)
    if order < 1:
        return
    dW = W[None, :, :] - W[r][:, None, :]                   # (M, N, d)
    u = dW - np.einsum("mj,mjk->mk", pi, dW)[:, None, :]
    c = ((s - m) - ds) / eps
    c = np.where(pi > 0, c, 0.0)
    v = np.einsum("mj,mjk,mj->mk", pi, u, c)
    G[:] = -v / eps
    if order < 2:
        return
    C = np.einsum("mj,mjk,mjl->mkl", pi, u, u)
    Q = np.einsum("mj,mjk,mjl,mj->mkl", pi, u, u, c)
    Hs[:] = -(C + Q) / eps**2
    if order < 3:
        return
    Ec2 = np.einsum("mj,mj,mj->m", pi, c, c)[:, None, None]
    Ge[:] = (2 * v + np.einsum("mj,mjk,mj,mj->mk", pi, u, c, c)) / eps**2
    Q2 = np.einsum("mj,mjk,mjl,mj,mj->mkl", pi, u, u, c, c)
    He[:] = (2 * C + 4 * Q + Q2 - C * Ec2 - 2 * v[:, :, None] * v[:, None, :]) / eps**3
    R3 = np.einsum("mj,mjk,mjl,mjn->mkln", pi, u, u, u)
    R4 = np.einsum("mj,mjk,mjl,mjn,mj->mkln", pi, u, u, u, c)
    Cv = (C[:, :, :, None] * v[:, None, None, :] + C[:, :, None, :] * v[:, None, :, None]
          + C[:, None, :, :] * v[:, :, None, None])
    T3[:] = (-2 * R3 - R4 + Cv) / eps**3


def lse_fit_adam(X, y, W, b, eps, lr, step0, count, tol, parallel, mW, vW, mb, vb,
                 bestW, bestb, best, history, f, gW, gb):
    """Twin of :func:`tropical.kernels.fit.lse_fit_adam`: the same Adam loop in numpy."""
    b1, b2, ae = 0.9, 0.999, 1e-8
    for k in range(count):
        loss = lse_fit_loss_grad(X, y, W, b, eps, f, gW, gb)
        history[k] = loss
        if not np.isfinite(loss):
            return k, 2
        gn = float(np.sqrt((gW * gW).sum() + (gb * gb).sum()))
        if loss < best[0]:
            best[0], best[1] = loss, gn
            bestW[...] = W
            bestb[...] = b
        if tol > 0.0 and gn <= tol:
            return k, 1
        t = step0 + k + 1
        c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t
        for p, g, m, v in ((W, gW, mW, vW), (b, gb, mb, vb)):
            m[...] = b1 * m + (1.0 - b1) * g
            v[...] = b2 * v + (1.0 - b2) * (g * g)
            p -= lr * (m / c1) / (np.sqrt(v / c2) + ae)
    return count, 0


# ---- views (tropical.kernels.views): network, PDE and convex rows -------------------
def _top_stats_rows(Z):
    """(max, multiplicity, largest value below the max) of each row of Z."""
    m = Z.max(axis=1)
    cnt = (Z == m[:, None]).sum(axis=1).astype(np.float64)
    sec = np.where(Z < m[:, None], Z, -np.inf).max(axis=1)
    return m, cnt, sec


def _gibbs_rows_from_scores(Z, eps):
    """(value, max, count, second, entropy, gibbs) of max-sense scores Z (rows)."""
    m, cnt, sec = _top_stats_rows(Z)
    if eps == 0.0:
        pi = (Z == m[:, None]) / cnt[:, None]
        return m, m, cnt, sec, np.log(cnt), pi
    with np.errstate(under="ignore"):
        E = np.exp((Z - m[:, None]) / eps)
    S = E.sum(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        R = np.where(E > 0, (m[:, None] - Z) / eps, 0.0)
    h = (E * R).sum(axis=1)
    return m + eps * np.log(S), m, cnt, sec, np.log(S) + h / S, E / S[:, None]


def lse_layer_rows(X, WT, b, eps, f, zmax, nmax, second, ent, gibbs):
    """Network view rows: z = X WT + b, f = LSE_eps(z), Gibbs weights, entropy, top stats
    (nmax, second skipped when they have no rows)."""
    Z = X @ WT + b
    f[:], zmax[:], cnt, sec, ent[:], pi = _gibbs_rows_from_scores(Z, eps)
    if nmax.shape[0]:
        nmax[:], second[:] = cnt, sec
    if gibbs.shape[0]:
        gibbs[:] = pi


def lse_scores_rows(Z, eps, f, zmax, nmax, second, ent, gibbs):
    """lse_layer_rows from given pre-activations Z (P, N)."""
    f[:], zmax[:], cnt, sec, ent[:], pi = _gibbs_rows_from_scores(Z, eps)
    if nmax.shape[0]:
        nmax[:], second[:] = cnt, sec
    if gibbs.shape[0]:
        gibbs[:] = pi


def hopf_cole_rows(X, yT, g, t, eps, u, amin, nmin, second, ent, gibbs, grad, ez2, var):
    """PDE view rows: a = g + |x - y_j|^2/(4t) (direct squares), u, Gibbs, stats, moments."""
    D = X[:, :, None] - yT[None, :, :]                      # (P, d, N)
    sq = np.einsum("pkj,pkj->pj", D, D)
    A = g + sq / (4.0 * t)
    v, m, cnt, sec, h, pi = _gibbs_rows_from_scores(-A, eps)
    u[:], amin[:], ent[:] = -v, -m, h
    if nmin.shape[0]:
        nmin[:], second[:] = cnt, -sec
    if gibbs.shape[0]:
        gibbs[:] = pi
    if grad.shape[0]:
        z = D / (2.0 * t)
        mk = np.einsum("pj,pkj->pk", pi, z)
        grad[:] = mk
        ez2[:] = np.einsum("pj,pj->p", pi, sq) / (4.0 * t * t)
        zc = z - mk[:, :, None]
        var[:] = np.einsum("pj,pkj,pkj->p", pi, zc, zc)


def gibbs_l1_rows(A, B, out):
    """out[i] = sum_j |A[i, j] - B[i, j]|."""
    out[:] = np.abs(A - B).sum(axis=1)


def gibbs_l1_pair_rows(A, B, C, ab, bc):
    """ab = row sums of |A - B|, bc = row sums of |B - C|."""
    ab[:] = np.abs(A - B).sum(axis=1)
    bc[:] = np.abs(B - C).sum(axis=1)


def entropic_dual_rows(A, eps, tol, err_a, max_iter, value, pi, lower, upper, its, ent):
    """Batched Newton on D(lam) = lam + eps*sum exp((a - lam)/eps - 1), certified bracket.

    Shifted coordinates a' = a - max(a), lam' = lam - max(a), start lam' = -eps;
    every iteration evaluates the certificate (primal objective of the
    normalised Lagrangian minimiser, dual value, rounding allowances) and keeps
    the best bracket; stops at upper - lower <= tol.
    """
    u = 2.0 ** -53
    P, N = A.shape
    m = A.max(axis=1) if N else np.zeros(P)
    Ap = A - m[:, None]
    lam = np.full(P, -eps)
    lower[:] = -np.inf
    upper[:] = np.inf
    its[:] = 0
    active = np.arange(P)
    c_sum = (np.log2(max(N, 2)) + 24) * u
    for it in range(max_iter):
        if not len(active):
            break
        a = Ap[active]
        lm = lam[active]
        with np.errstate(under="ignore"):
            arg = (a - lm[:, None]) / eps - 1.0
            e = np.exp(arg)
        s = e.sum(axis=1)
        p = e / s[:, None]
        logp = np.log(np.where(p > 0, p, 1.0))
        plogp = p * logp
        pa = p * a
        Pv = pa.sum(axis=1) - eps * plogp.sum(axis=1)
        mag_p = np.abs(pa).sum(axis=1) + eps * np.abs(plogp).sum(axis=1)
        pad_p = (c_sum + 8 * u) * mag_p + c_sum * eps + 4 * u * eps
        pad_p += 2 * u * mag_p
        Dv = lm + eps * s
        rel_e = 3 * u * ((np.abs(a) + np.abs(lm)[:, None]) / eps + np.abs(arg) + 2)
        pad_d = eps * (e * rel_e).sum(axis=1) + c_sum * eps * s + 2 * u * np.abs(lm)
        mm = m[active]
        lo = (mm + Pv) - (pad_p + err_a[active] + 2 * u * np.abs(mm + Pv))
        hi = (mm + Dv) + (pad_d + err_a[active] + 2 * u * np.abs(mm + Dv))
        better = hi - lo < upper[active] - lower[active]
        idx = active[better]
        lower[idx], upper[idx] = lo[better], hi[better]
        value[idx] = mm[better] + Pv[better]
        pi[idx] = p[better]
        ent[idx] = -plogp[better].sum(axis=1)
        its[active] = it
        done = (upper[active] - lower[active]) <= tol[active]
        lam[active] = lm + eps * (1.0 - 1.0 / s)
        active = active[~done]


def log_pos_array(x, out):
    """out = log(x) (numpy)."""
    out[:] = np.log(x)


def exp_term_array(x, out):
    """out = exp(x) with results below exp(-708) flushed to 0 (numpy)."""
    with np.errstate(under="ignore"):
        out[:] = np.where(x >= -708.0, np.exp(x), 0.0)


def affine_scale_rows(X, WT, b, magmax):
    """magmax[i] = max_j (|b_j| + sum_k |X[i, k]| |WT[k, j]|)."""
    magmax[:] = (np.abs(X) @ np.abs(WT) + np.abs(b)).max(axis=1) if WT.shape[1] else 0.0


def entropic_dual_points(X, WT, b, eps, rtol, max_iter, value, pi, lower, upper, its, ent,
                         tol, err_a):
    """entropic_dual_rows at a = X WT + b, with tol and err_a from the rounding scale of a."""
    N = WT.shape[1]
    A = X @ WT + b
    mag = np.empty(X.shape[0])
    affine_scale_rows(X, WT, b, mag)
    tol[:] = rtol * (mag + eps * max(1.0, np.log(N)))
    err_a[:] = (X.shape[1] + 2) * 2.0 ** -53 * mag * (1 + 1e-6)
    entropic_dual_rows(A, eps, tol, err_a, max_iter, value, pi, lower, upper, its, ent)

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
    "maxplus_closure",
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
    with np.errstate(under="ignore", divide="ignore"):
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

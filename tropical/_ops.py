"""The public array functions: products, powers, closures, reductions.

Each function validates its arguments once (:mod:`tropical._validate`), then
hands plain C-contiguous arrays to a kernel chosen by :mod:`tropical._kernels`.
All of them take ``sense="max"|"min"`` and, where it has a meaning, ``eps``:
``eps = 0`` is the tropical semiring, ``eps > 0`` the log semiring of
temperature ``eps`` (``../shared/design/MATH.md`` section 1).
"""

from __future__ import annotations

import math

import numpy as np

from . import _kernels
from ._validate import (
    as_semiring_array,
    check_axis,
    check_eps,
    check_int,
    check_sense,
    result_dtype,
)

__all__ = ["matmul", "matvec", "lse", "softmax", "entropy", "power", "star", "identity"]

# The BLAS fast path of the eps > 0 product is used for an entry only when its
# shifted sum S is at least this large (float64 arithmetic): every dropped or
# subnormal term then contributes below k * 2**-1022 / 1e-250 ~ k * 1e-58
# relative, far below one ulp. Entries below it are recomputed exactly.
_BLAS_SAFE_SUM = 1e-250


#: doctest collects examples only from objects whose __module__ is this module;
#: the public functions claim ``tropical``, so list them here explicitly.
__test__: dict = {}


def _public(fn):
    fn.__module__ = "tropical"
    __test__[fn.__name__] = fn
    return fn


def _batched(arr: np.ndarray, batch: tuple, core_ndim: int) -> np.ndarray:
    return np.broadcast_to(arr, batch + arr.shape[arr.ndim - core_ndim:])


@_public
def matmul(A, B, eps=0.0, sense="max", return_argmax=False):
    """Matrix product over the semiring of temperature ``eps``.

    ``C[i, j] = (+)_k (A[i, k] + B[k, j])``: the max-plus product
    ``max_k (A[i, k] + B[k, j])`` at ``eps = 0`` and the log-sum-exp product
    ``eps * log sum_k exp((A[i, k] + B[k, j]) / eps)`` at ``eps > 0`` (min and
    ``-eps*log sum exp(-./eps)`` for ``sense="min"``). Leading axes broadcast
    as in :func:`numpy.matmul`, and 1-D operands are promoted the same way.

    Parameters
    ----------
    A : array_like, shape (..., m, k) or (k,)
    B : array_like, shape (..., k, n) or (k,)
        Real entries; the semiring zero (``-inf`` for max, ``+inf`` for min)
        is allowed, NaN and the other infinity are not. float32 is kept when
        both operands are float32; everything else computes in float64.
    eps : float, default 0.0
        Temperature ``>= 0``.
    sense : {"max", "min"}
    return_argmax : bool, default False
        Also return the least ``k`` attaining each entry (``eps = 0`` only).

    Returns
    -------
    C : ndarray, shape (..., m, n)
    argmax : ndarray of int64, same shape as ``C`` (only with ``return_argmax``)

    Notes
    -----
    At ``eps = 0`` the result is exact (one rounding per ``A[i,k] + B[k,j]``).
    At ``eps > 0``, for every ``eps``, each entry is within
    ``2u (7 S + 3 |C| + eps (2 (K-1) + 2 log K))`` of the exact value, where
    ``u`` is the unit roundoff, ``S = max|A[i,:]| + max|B[:,j]|`` and ``K``
    the number of finite terms: a few ulps of the scale of the data and of
    ``K*eps``, the accuracy of any summation of ``K`` terms. An entry with a
    single finite term is exactly ``A[i,k] + B[k,j]``, and ``max <= C <=
    max + eps*log K`` holds bitwise. Entries where the shifted BLAS product
    ``exp((A - rowmax)/eps) @ exp((B - colmax)/eps)`` is provably safe come
    from it, the others from the exact two-pass kernel (the ``eps = 0``
    product as shift, then a streaming sum of ``exp(. / eps) <= 1``).

    Examples
    --------
    >>> import tropical
    >>> tropical.matmul([[0.0, 1.0], [2.0, -float("inf")]], [[1.0], [3.0]])
    array([[4.],
           [3.]])
    >>> tropical.matmul([[0.0, 1.0]], [[1.0], [3.0]], sense="min")
    array([[1.]])
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    A = as_semiring_array(A, "A", s, min_ndim=1)
    B = as_semiring_array(B, "B", s, min_ndim=1)
    if return_argmax and eps > 0:
        raise ValueError("return_argmax is only defined at eps = 0 (the tropical product)")
    a_vec, b_vec = A.ndim == 1, B.ndim == 1
    A2 = A[None, :] if a_vec else A
    B2 = B[:, None] if b_vec else B
    (m, k), (k2, n) = A2.shape[-2:], B2.shape[-2:]
    if k != k2:
        raise ValueError(
            f"matmul: inner dimensions differ: A has shape {A.shape} (k={k}), "
            f"B has shape {B.shape} (k={k2})"
        )
    if k == 0:
        raise ValueError(
            f"matmul: the inner dimension is empty (A has shape {A.shape}, B has shape {B.shape})"
        )
    try:
        batch = np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
    except ValueError:
        raise ValueError(
            f"matmul: batch dimensions of A {A.shape} and B {B.shape} do not broadcast"
        ) from None
    dtype = result_dtype(A, B)
    A2 = _batched(A2.astype(dtype, copy=False), batch, 2)
    B2 = _batched(B2.astype(dtype, copy=False), batch, 2)
    out = np.empty(batch + (m, n), dtype)
    arg = np.empty(batch + (m, n), np.int64) if return_argmax else None
    if out.size:
        for idx in np.ndindex(*batch):
            a = np.ascontiguousarray(A2[idx])
            b = np.ascontiguousarray(B2[idx])
            if return_argmax:
                _kernels.get("maxplus_gemm_argmax")(a, b, s, out[idx], arg[idx])
            elif eps == 0.0:
                _kernels.get("maxplus_gemm")(a, b, s, out[idx])
            else:
                _lse_gemm(a, b, eps, s, out[idx])
    if a_vec:
        out = out[..., 0, :]
        arg = arg[..., 0, :] if arg is not None else None
    if b_vec:
        out = out[..., 0]
        arg = arg[..., 0] if arg is not None else None
    return (out, arg) if return_argmax else out


def _lse_gemm(a, b, eps, s, out):
    """eps > 0 product of two C-contiguous 2-D arrays into ``out``.

    1. ``M``, the exact eps = 0 product (the tiled kernel).
    2. The shifted BLAS product ``S = exp((A - r)/eps) @ exp((B - c)/eps)``
       in float64, ``C = r + c + eps*log S``, clamped into the interval
       ``[M, M + eps*log K]`` that the exact value lies in (``K``: number of
       finite terms of the entry). The clamp makes an entry with a single
       finite term exactly ``M`` and keeps ``max <= LSE`` bitwise.
    3. Rows holding an entry with ``S < _BLAS_SAFE_SUM`` (underflow: the
       row maximum of A and the column maximum of B at different k, far apart
       on the scale of eps) are recomputed by the exact two-pass kernel.

    Both paths meet ``|C - C_exact| <= 2u (7 S + 3 |C| + eps (2 (K-1) + 2 log K))``
    (u: unit roundoff; S: ``max|A_i.| + max|B_.j|`` over finite entries).
    """
    m, k = a.shape
    M = np.empty((m, b.shape[1]), a.dtype)
    _kernels.get("maxplus_gemm")(a, b, s, M)
    sa = s * a.astype(np.float64)
    sb = s * b.astype(np.float64)
    ra = sa.max(axis=1)
    cb = sb.max(axis=0)
    row_ok = np.isfinite(ra)
    col_ok = np.isfinite(cb)
    ra0 = np.where(row_ok, ra, 0.0)
    cb0 = np.where(col_ok, cb, 0.0)
    with np.errstate(under="ignore", over="ignore"):
        ea = np.exp((sa - ra0[:, None]) / eps)
        eb = np.exp((sb - cb0[None, :]) / eps)
        S = ea @ eb
    if np.isfinite(sa).all() and np.isfinite(sb).all():
        logK = math.log(k)
    else:
        K = np.isfinite(sa).astype(np.float64) @ np.isfinite(sb).astype(np.float64)
        with np.errstate(divide="ignore"):
            logK = np.log(K)
    sM = s * M.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        C = (ra0[:, None] + cb0[None, :]) + eps * np.log(S)
        C = np.minimum(np.maximum(C, sM), sM + eps * logK)
    C[np.isneginf(sM)] = -np.inf
    out[...] = s * C
    unsafe = (S < _BLAS_SAFE_SUM) & np.isfinite(sM)
    rows = np.flatnonzero(unsafe.any(axis=1))
    if rows.size:
        sub_out = np.empty((rows.size, b.shape[1]), a.dtype)
        _kernels.get("lse_gemm_rows")(np.ascontiguousarray(a[rows]), b,
                                      np.ascontiguousarray(M[rows]), eps, s,
                                      np.arange(rows.size, dtype=np.int64), sub_out)
        out[rows] = sub_out


@_public
def matvec(A, x, eps=0.0, sense="max"):
    """Matrix-vector product over the semiring: ``y[i] = (+)_k (A[i, k] + x[k])``.

    Parameters
    ----------
    A : array_like, shape (..., m, k)
    x : array_like, shape (..., k)
    eps : float, default 0.0
    sense : {"max", "min"}

    Returns
    -------
    y : ndarray, shape (..., m)

    Examples
    --------
    >>> import tropical
    >>> tropical.matvec([[0.0, 1.0], [2.0, 0.0]], [1.0, 0.0])
    array([1., 3.])
    >>> tropical.matvec([[0.0, 0.0]], [0.0, 0.0], eps=1.0)  # log(2)
    array([0.69314718])
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    A = as_semiring_array(A, "A", s, min_ndim=2)
    x = as_semiring_array(x, "x", s, min_ndim=1)
    m, k = A.shape[-2:]
    if x.shape[-1] != k:
        raise ValueError(f"matvec: A has shape {A.shape} (k={k}) but x has shape {x.shape}")
    if k == 0:
        raise ValueError(f"matvec: the inner dimension is empty (A has shape {A.shape})")
    try:
        batch = np.broadcast_shapes(A.shape[:-2], x.shape[:-1])
    except ValueError:
        raise ValueError(
            f"matvec: batch dimensions of A {A.shape} and x {x.shape} do not broadcast"
        ) from None
    dtype = result_dtype(A, x)
    A = _batched(A.astype(dtype, copy=False), batch, 2)
    x = _batched(x.astype(dtype, copy=False), batch, 1)
    out = np.empty(batch + (m,), dtype)
    if out.size:
        kern = _kernels.get("maxplus_matvec") if eps == 0.0 else _kernels.get("lse_matvec")
        for idx in np.ndindex(*batch):
            a = np.ascontiguousarray(A[idx])
            v = np.ascontiguousarray(x[idx])
            if eps == 0.0:
                kern(a, v, s, out[idx])
            else:
                kern(a, v, eps, s, out[idx])
    return out


def _rows_view(a: np.ndarray, axis: int):
    """Move ``axis`` last and flatten the rest: a C-contiguous 2-D array."""
    moved = np.moveaxis(a, axis, -1)
    return np.ascontiguousarray(moved.reshape(-1, moved.shape[-1])), moved.shape[:-1]


@_public
def lse(a, eps, axis=-1, sense="max"):
    """N-ary semiring sum along an axis: ``LSE_eps(a) = eps*log sum exp(a/eps)``.

    ``eps = 0`` gives ``max`` (``min`` for ``sense="min"``, where ``eps > 0``
    gives ``-LSE_eps(-a)``). For every ``eps > 0``,
    ``max(a) <= lse(a, eps) <= max(a) + eps*log(N)``. Computed with the
    maximum shifted out, so it neither overflows nor underflows for any
    ``eps > 0``.

    Parameters
    ----------
    a : array_like
        Real entries, semiring zeros allowed; the reduced axis must not be empty.
    eps : float
        Temperature ``>= 0``.
    axis : int, default -1
    sense : {"max", "min"}

    Returns
    -------
    ndarray
        ``a`` with ``axis`` removed (float32 for float32 input).

    Examples
    --------
    >>> import tropical
    >>> tropical.lse([0.0, 0.0], eps=1.0)
    np.float64(0.6931471805599453)
    >>> tropical.lse([[1.0, 3.0], [2.0, -float("inf")]], eps=0.0)
    array([3., 2.])
    >>> tropical.lse([1000.0, 1000.0], eps=1e-3)   # no overflow: 1000 + 1e-3 log 2
    np.float64(1000.0006931471805)
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    a = as_semiring_array(a, "a", s, min_ndim=1)
    axis = check_axis(axis, a.ndim)
    if a.shape[axis] == 0:
        raise ValueError(f"lse: cannot reduce the empty axis {axis} of an array of shape {a.shape}")
    rows, rest = _rows_view(a, axis)
    out = np.empty(rows.shape[0], a.dtype)
    if out.size:
        _kernels.get("lse_rows")(rows, eps, s, out)
    out = out.reshape(rest)
    return out if out.ndim else out[()]


@_public
def softmax(a, eps, axis=-1, sense="max"):
    """Gibbs weights ``pi = softmax(a/eps)`` along an axis (``-a/eps`` for min).

    ``pi`` is the gradient of ``lse(a, eps)`` with respect to ``a``. At
    ``eps = 0`` it is the uniform distribution on the set where the maximum
    (minimum) is attained, the limit of ``pi`` as ``eps -> 0``. A slice whose
    entries are all the semiring zero gets uniform weights.

    Parameters
    ----------
    a : array_like
    eps : float
        Temperature ``>= 0``.
    axis : int, default -1
    sense : {"max", "min"}

    Returns
    -------
    ndarray, same shape as ``a``; non-negative, sums to 1 along ``axis``.

    Examples
    --------
    >>> import tropical
    >>> tropical.softmax([0.0, 0.0, -1.0], eps=0.0)
    array([0.5, 0.5, 0. ])
    >>> tropical.softmax([0.0, 1.0], eps=1.0).round(4)
    array([0.2689, 0.7311])
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    a = as_semiring_array(a, "a", s, min_ndim=1)
    axis = check_axis(axis, a.ndim)
    if a.shape[axis] == 0:
        raise ValueError(f"softmax: the axis {axis} of an array of shape {a.shape} is empty")
    rows, _ = _rows_view(a, axis)
    out = np.empty_like(rows)
    if out.size:
        _kernels.get("softmax_rows")(rows, eps, s, out)
    moved_shape = np.moveaxis(a, axis, -1).shape
    return np.moveaxis(out.reshape(moved_shape), -1, axis)


@_public
def entropy(p, axis=-1):
    """Shannon entropy ``H(p) = -sum p log p`` (natural log, ``0 log 0 = 0``).

    Parameters
    ----------
    p : array_like
        Probability vectors along ``axis``: finite, non-negative, summing to
        1 (to within ``8 * N`` units of roundoff of the dtype).
    axis : int, default -1

    Returns
    -------
    ndarray
        ``p`` with ``axis`` removed, values in ``[0, log N]``.

    Examples
    --------
    >>> import tropical
    >>> tropical.entropy([0.5, 0.5])
    np.float64(0.6931471805599453)
    >>> tropical.entropy([1.0, 0.0])
    np.float64(0.0)
    """
    p = as_semiring_array(p, "p", 1, min_ndim=1)
    axis = check_axis(axis, p.ndim)
    n = p.shape[axis]
    if n == 0:
        raise ValueError(f"entropy: the axis {axis} of an array of shape {p.shape} is empty")
    if not np.isfinite(p).all():
        raise ValueError("entropy: p must be finite")
    if (p < 0).any():
        idx = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"entropy: p must be non-negative, got {p[idx]} at index {idx}")
    total = p.sum(axis=axis, dtype=np.float64)
    tol = 8 * n * np.finfo(p.dtype).eps
    if np.any(np.abs(total - 1.0) > tol):
        worst = float(np.max(np.abs(total - 1.0)))
        raise ValueError(
            f"entropy: p must sum to 1 along axis {axis} (off by up to {worst:.3g})"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = -terms.sum(axis=axis)
    h = np.maximum(h, 0.0).astype(p.dtype, copy=False)
    return h if h.ndim else h[()]


@_public
def identity(n, sense="max", dtype=np.float64):
    """The ``n x n`` identity of the semiring: ``0`` on the diagonal, the zero elsewhere.

    Parameters
    ----------
    n : int >= 0
        Size.
    sense : {"max", "min"}
        The zero is ``-inf`` for max and ``+inf`` for min.
    dtype : numpy dtype, default float64

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import tropical
    >>> tropical.identity(2)
    array([[  0., -inf],
           [-inf,   0.]])
    """
    s = check_sense(sense)
    n = check_int(n, "n")
    out = np.full((n, n), -s * np.inf, dtype=dtype)
    np.fill_diagonal(out, 0.0)
    return out


def _square(A, name, s):
    A = as_semiring_array(A, name, s, min_ndim=2)
    if A.shape[-1] != A.shape[-2]:
        raise ValueError(f"{name} must be square in its last two axes, got shape {A.shape}")
    return A


@_public
def power(A, k, eps=0.0, sense="max"):
    """Matrix power ``A^k = A (x) A (x) ... (x) A`` over the semiring, by repeated squaring.

    ``k = 0`` gives the semiring identity. At ``eps = 0`` (max sense)
    ``power(A, k)[i, j]`` is the greatest weight of a walk of length ``k``
    from ``i`` to ``j``.

    Parameters
    ----------
    A : array_like, shape (..., n, n)
    k : int >= 0
    eps : float, default 0.0
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (..., n, n)

    Examples
    --------
    >>> import tropical
    >>> tropical.power([[0.0, 1.0], [2.0, 0.0]], 3)
    array([[3., 4.],
           [5., 3.]])
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    A = _square(A, "A", s)
    k = check_int(k, "k")
    n = A.shape[-1]
    if n == 0:
        raise ValueError(f"power: A is empty (shape {A.shape})")
    result = None
    base = A
    while True:
        if k & 1:
            result = base if result is None else matmul(result, base, eps=eps, sense=sense)
        k >>= 1
        if not k:
            break
        base = matmul(base, base, eps=eps, sense=sense)
    if result is None:
        result = np.broadcast_to(identity(n, sense, A.dtype), A.shape).copy()
    return np.array(result, copy=True) if result is A else result


@_public
def star(A, sense="max"):
    """Kleene star ``A* = I (+) A (+) A^2 (+) ...`` of a max-plus (min-plus) matrix.

    ``A*[i, j]`` is the greatest (least, for ``sense="min"``) weight of a walk
    from ``i`` to ``j``, the empty walk included. It exists iff no cycle of
    the weighted digraph of ``A`` has positive (negative) weight; otherwise a
    ``ValueError`` names such a cycle. Computed by Floyd-Warshall-Kleene
    elimination in ``O(n^3)``.

    Parameters
    ----------
    A : array_like, shape (n, n)
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import tropical
    >>> tropical.star([[-1.0, 2.0], [-3.0, -float("inf")]])
    array([[ 0.,  2.],
           [-3.,  0.]])
    """
    s = check_sense(sense)
    A = _square(A, "A", s)
    if A.ndim != 2:
        raise ValueError(f"star: A must be a single square matrix, got shape {A.shape}")
    n = A.shape[0]
    if n == 0:
        raise ValueError("star: A is empty (shape (0, 0))")
    A = np.ascontiguousarray(A)
    plus = np.empty_like(A)
    _kernels.get("maxplus_closure")(A, s, plus)
    diag = s * np.diagonal(plus)
    if (diag > 0).any():
        raise ValueError(_divergence_message(A, s, int(np.argmax(diag))))
    out = plus
    np.fill_diagonal(out, 0.0)  # I (+) A+: diag(A+) <= 0 (>= 0 for min) here
    return out


def _divergence_message(A, s, node):
    kind = "positive" if s == 1 else "negative"
    cycle = _find_cycle(A, s, node)
    if cycle is None:
        return f"star: the Kleene star diverges: node {node} lies on a closed walk of {kind} weight"
    weight = math.fsum(float(A[u, v]) for u, v in zip(cycle, cycle[1:]))
    path = " -> ".join(str(v) for v in cycle)
    return (f"star: the Kleene star diverges: the cycle {path} has {kind} weight {weight!r}")


def _find_cycle(A, s, node):
    """A cycle of positive weight (negative for min) reachable from ``node``.

    Bellman-Ford on the longest-walk problem from ``node``: after ``n``
    rounds of relaxation, following predecessors ``n`` times from a vertex
    improved in the last round lands on a positive cycle, read off backwards.
    """
    W = s * np.asarray(A, dtype=np.float64)
    n = W.shape[0]
    dist = np.full(n, -np.inf)
    dist[node] = 0.0
    pred = np.full(n, -1)
    changed = None
    for _ in range(n):
        cand = dist[:, None] + W
        best = cand.argmax(axis=0)
        val = cand[best, np.arange(n)]
        changed = val > dist
        if not changed.any():
            return None
        dist = np.where(changed, val, dist)
        pred = np.where(changed, best, pred)
    v = int(np.flatnonzero(changed)[0])
    for _ in range(n):
        v = int(pred[v])
    cycle = [v]
    u = int(pred[v])
    while u != v:
        cycle.append(u)
        u = int(pred[u])
    cycle.append(v)
    return cycle[::-1]

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
# shifted sum S is at least this large (float64 arithmetic): every dropped
# term then contributes below k * 2**-1011 / 1e-250 ~ k * 2**-180 relative
# (see _gemm_lift), far below one ulp. Entries below it are recomputed exactly.
_BLAS_SAFE_SUM = 1e-250
# The top-2 plan settles an entry without exponentials when its two largest
# terms are more than _TOP2_GAP*eps apart (by result itemsize): the neglected
# terms, each below exp(-gap) of the largest, move it by at most
# eps*(K-2)*exp(-gap), about 1% of the eps*2(K-1)*u of the error budget
# (u = 2**-53: exp(-40) = 4.2e-18; float32, u = 2**-24: exp(-24) = 3.8e-11).
_TOP2_GAP = {8: 40.0, 4: 24.0}
# Plan choice (_lse_gemm_plan): sampled rows and columns; products up to
# _PLAN_SMALL multiply-adds always take the top-2 plan; an entry whose largest
# BLAS term is below exp(_PLAN_UNSAFE_LOG) counts as unsafe (log(1e-250) =
# -575.6, minus a margin for the sum of the other terms).
_PLAN_ROWS = 16
_PLAN_COLS = 256
_PLAN_SMALL = 1 << 12
_PLAN_UNSAFE_LOG = -570.0
# Measured costs, in units of one max-plus product of the same dtype
# (itemsize -> (E, G); 2 Sapphire Rapids cores, n = 1024, one and two
# threads): E, the per-entry kernel on every entry with narrow windows
# (small eps; sparse masks, packing included); G, the BLAS plan's
# exponentials, float64 GEMM and final pass. The top-2 product costs ~1.9.
_PLAN_COST = {8: (8.0, 1.0), 4: (15.0, 1.5)}


#: doctest collects examples only from objects whose __module__ is this module;
#: the public functions claim ``tropical``, so list them here explicitly.
__test__: dict = {}


def _public(fn):
    fn.__module__ = "tropical"
    __test__[fn.__name__] = fn
    return fn


def _batched(arr: np.ndarray, batch: tuple, core_ndim: int) -> np.ndarray:
    return np.broadcast_to(arr, batch + arr.shape[arr.ndim - core_ndim:])


def _product_batch(op, A, other, name, k, k_other, batch_a, batch_b):
    """Shared shape checks of the products: equal, non-empty inner dimensions
    and broadcastable batch axes (each error names both shapes). Returns the
    broadcast batch shape."""
    if k != k_other:
        raise ValueError(
            f"{op}: inner dimensions differ: A has shape {A.shape} (k={k}), "
            f"{name} has shape {other.shape} (k={k_other})"
        )
    if k == 0:
        raise ValueError(
            f"{op}: the inner dimension is empty (A has shape {A.shape}, "
            f"{name} has shape {other.shape})"
        )
    try:
        return np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        raise ValueError(
            f"{op}: batch dimensions of A {A.shape} and {name} {other.shape} do not broadcast"
        ) from None


@_public
def matmul(A, B, eps=0.0, sense="max", return_argmax=False, device="cpu"):
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
        Also return the least ``k`` attaining each entry (``eps = 0`` only,
        ``device="cpu"`` only).
    device : {"cpu", "cuda"}, default "cpu"
        Where the product runs. ``"cuda"`` runs the tiled ``numba.cuda``
        kernels of :mod:`tropical.kernels.cuda` on the current GPU (or in
        Numba's CUDA simulator when ``NUMBA_ENABLE_CUDASIM=1``), and raises
        ``RuntimeError`` where there is neither. NumPy operands (and
        array-likes) are validated, copied to the device and the result
        copied back (leading batch axes run one after the other); CUDA
        device arrays (Numba's, or any object with
        ``__cuda_array_interface__``) must be 2-D float32/float64, are
        checked for NaN and the wrong infinity on the device, and give a
        Numba device array. At ``eps = 0`` the result is bit for bit the CPU
        result; at ``eps > 0`` it meets the bound stated in the Notes.

    Returns
    -------
    C : ndarray, shape (..., m, n)
        (a Numba device array where an operand was a device array)
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
    max + eps*log K`` holds bitwise. One of two plans, whichever a cost
    model fed with a sample of entries expects to be cheaper: (1) the two
    largest terms ``M1 >= M2`` of every entry (a tiled pass like the max-plus
    product); where ``M1 - M2 > 40 eps`` (24 in float32) the entry is ``M1 +
    eps log1p(exp(-(M1 - M2)/eps))``, the other terms being negligible
    within the bound; or (2) the max-plus product ``M`` and the shifted BLAS
    product ``exp((A - rowmax)/eps) @ exp((B - colmax)/eps)``, clamped into
    ``[M, M + eps log K]``, where its sum is provably safe. The remaining
    entries (near ties, BLAS underflow) come from an exact per-entry kernel
    (float64 maximum as shift, then a sum of ``exp(. / eps) <= 1``). With
    ``device="cuda"`` the ``eps > 0`` product is the two-pass kernel of
    :mod:`tropical.kernels.cuda` (exact float64 maximum, then the shifted
    sum in float64): within ``u (sum_k pi_k (|z_k| + 4 |z_k - M|) + eps (K
    + 6 + 3 log K) + 2 |C|)`` (``u = 2**-53``, ``pi`` the Gibbs weights of
    the terms ``z_k``, ``M`` their maximum), plus ``2**-24 |C|`` for a
    float32 result.

    Examples
    --------
    >>> import tropical
    >>> tropical.matmul([[0.0, 1.0], [2.0, -float("inf")]], [[1.0], [3.0]])
    array([[4.],
           [3.]])
    >>> tropical.matmul([[0.0, 1.0]], [[1.0], [3.0]], sense="min")
    array([[1.]])
    >>> tropical.matmul([[0.0, 1.0]], [[1.0], [3.0]], device="cpu")
    array([[4.]])
    >>> tropical.matmul([[0.0]], [[1.0]], device="tpu")
    Traceback (most recent call last):
        ...
    ValueError: device must be 'cpu' or 'cuda', got 'tpu'
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    cu = _device_module(device, "matmul", A, B)
    if cu is not None and return_argmax:
        raise ValueError("matmul: return_argmax is not available with device='cuda' "
                         "(use device='cpu')")
    if cu is not None and (cu.is_device_array(A) or cu.is_device_array(B)):
        return _cuda_product_device(cu, "matmul", A, B, "B", eps, s, vec=False)
    A = as_semiring_array(A, "A", s, min_ndim=1)
    B = as_semiring_array(B, "B", s, min_ndim=1)
    if return_argmax and eps > 0:
        raise ValueError("return_argmax is only defined at eps = 0 (the tropical product)")
    a_vec, b_vec = A.ndim == 1, B.ndim == 1
    A2 = A[None, :] if a_vec else A
    B2 = B[:, None] if b_vec else B
    (m, k), (k2, n) = A2.shape[-2:], B2.shape[-2:]
    batch = _product_batch("matmul", A, B, "B", k, k2, A2.shape[:-2], B2.shape[:-2])
    dtype = result_dtype(A, B)
    A2 = _batched(A2.astype(dtype, copy=False), batch, 2)
    B2 = _batched(B2.astype(dtype, copy=False), batch, 2)
    out = np.empty(batch + (m, n), dtype)
    arg = np.empty(batch + (m, n), np.int64) if return_argmax else None
    if out.size:
        for idx in np.ndindex(*batch):
            a = np.ascontiguousarray(A2[idx])
            b = np.ascontiguousarray(B2[idx])
            if cu is not None:
                out[idx] = _cuda_product_host(cu, a, b, eps, s, out.dtype)
            elif return_argmax:
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


def _lse_gemm(a, b, eps, s, out, plan=None):
    """eps > 0 product of two C-contiguous 2-D arrays into ``out``.

    Two plans, both within ``|C - C_exact| <= 2u (7 S + 3 |C| + eps (2 (K-1) +
    2 log K))`` (u: unit roundoff; S: ``max|A_i.| + max|B_.j|`` over finite
    entries; K: number of finite terms of the entry):

    ``"top2"``
        The two largest terms ``M1 >= M2`` of every entry (one tiled pass,
        about twice the max-plus product). Where ``M1 - M2 > gap*eps``
        (``gap`` = 40 in float64, 24 in float32) every term but the largest
        two is below ``exp(-gap)`` of the largest: ``C = M1 + eps*log1p(exp(
        -(M1 - M2)/eps))``, off by at most ``eps*(K-2)*exp(-gap)`` (about 1%
        of the budget's ``eps`` term; rounding of ``M1 - M2`` moves the
        threshold by ``~u*S``, covered by the budget's ``S`` term). The other
        entries (near ties) get the exact per-entry kernel.
    ``"blas"``
        ``M``, the exact eps = 0 product; the shifted BLAS product ``S =
        exp((A - r)/eps) @ exp((B - c)/eps)`` in float64, ``C = r + c +
        eps*log S``, clamped into ``[M, M + eps*log K]`` (exact for a single
        finite term, and ``max <= LSE`` bitwise). Entries with ``S <
        _BLAS_SAFE_SUM`` (underflow: the row maximum of A and the column
        maximum of B at different k, far apart on the scale of eps) get the
        exact per-entry kernel.

    ``plan=None`` picks the cheaper by a cost model fed with a sample of
    entries (:func:`_lse_gemm_plan`).
    """
    m, k = a.shape
    n = b.shape[1]
    if plan is None:
        plan = _lse_gemm_plan(a, b, eps, s)
    if plan == "top2":
        M1 = np.empty((m, n), a.dtype)
        M2 = np.empty((m, n), a.dtype)
        _kernels.get("maxplus_gemm_top2")(a, b, s, M1, M2)
        redo = np.empty((m, n), np.bool_)
        _kernels.get("lse_from_top2")(M1, M2, eps, _TOP2_GAP[a.dtype.itemsize], s, out, redo)
    else:
        M = np.empty((m, n), a.dtype)
        _kernels.get("maxplus_gemm")(a, b, s, M)
        shift = _kernels.get("lse_shift_exp")
        lift = _gemm_lift(k)
        ea = np.empty((m, k))
        ra = np.empty(m)
        shift(a, eps, s, 1, lift, ra, ea)
        eb = np.empty((k, n))
        cb = np.empty(n)
        shift(b, eps, s, 0, lift, cb, eb)
        S = ea @ eb
        del ea, eb
        S *= 2.0 ** (-2 * lift)     # exact wherever S >= 2**-1022, so at every safe entry
        if np.isinf(a).any() or np.isinf(b).any():
            # finite-term counts: exact in float32 below 2**24 terms
            dt = np.float32 if k < 1 << 24 else np.float64
            K = np.isfinite(a).astype(dt) @ np.isfinite(b).astype(dt)
            K = K.astype(np.float64, copy=False)
        else:
            K = np.full((1, 1), float(k))
        redo = np.empty((m, n), np.bool_)
        _kernels.get("lse_gemm_blas_finish")(M, S, ra, cb, K, eps, s, _BLAS_SAFE_SUM, out, redo)
    if redo.any():
        _kernels.get("lse_gemm_entries")(a, b, eps, s, redo, out)


def _gemm_lift(k):
    """The power of two ``lift`` that ``lse_shift_exp`` scales both BLAS factors by.

    Kept factors are at least ``2**-511`` (smaller ones are 0), so every product
    in the GEMM is a normal number (no microcode assists), and at most
    ``2**lift``: the sum of ``k`` products stays below ``k * 2**(2 lift) <=
    2**1021``. The flushed factors are those below ``2**(-511 - lift)`` before
    the scaling (``2**-1011`` for ``k < 2**21``): together they move an entry's
    sum by less than ``k * 2**(-511 - lift)``, relative to a safe sum (``>=
    _BLAS_SAFE_SUM``) at most ``k * 2**(319.5 - lift)``: ``k * 2**-180``.
    """
    return min(500, (1021 - int(k).bit_length()) // 2)


def _lse_gemm_plan(a, b, eps, s):
    """"top2" or "blas", whichever the cost model says is cheaper.

    On a sample of up to ``_PLAN_ROWS x _PLAN_COLS`` entries (rows and
    columns evenly spread): the share ``f_tie`` of entries the top-2 plan
    leaves to the per-entry kernel and the share ``f_unsafe`` whose BLAS sum
    underflows (its largest term, ``exp((M - r - c)/eps)``, below the safe
    sum). Costs, in max-plus products: top2 ``2 + f_tie*E``, blas ``1 + G +
    f_unsafe*E`` (:data:`_PLAN_COST`).
    """
    m, k = a.shape
    n = b.shape[1]
    if m * n * k <= _PLAN_SMALL:
        return "top2"
    ri = np.unique(np.linspace(0, m - 1, min(m, _PLAN_ROWS)).astype(np.int64))
    cj = np.unique(np.linspace(0, n - 1, min(n, _PLAN_COLS)).astype(np.int64))
    sa = np.ascontiguousarray(a[ri])
    sb = np.ascontiguousarray(b[:, cj])
    M1 = np.empty((ri.size, cj.size), a.dtype)
    M2 = np.empty_like(M1)
    _kernels.get("maxplus_gemm_top2")(sa, sb, s, M1, M2)
    m1 = s * M1.astype(np.float64)
    m2 = s * M2.astype(np.float64)
    fin = np.isfinite(m1)
    if not fin.any():
        return "top2"
    with np.errstate(invalid="ignore", over="ignore"):  # subnormal eps: (.)/eps = -inf
        f_tie = float(np.mean(m2[fin] >= m1[fin] - _TOP2_GAP[a.dtype.itemsize] * eps))
        r = (s * sa.astype(np.float64)).max(axis=1)
        c = (s * sb.astype(np.float64)).max(axis=0)
        top = (m1 - r[:, None] - c[None, :]) / eps
        f_unsafe = float(np.mean(~(top[fin] >= _PLAN_UNSAFE_LOG)))
    E, G = _PLAN_COST[a.dtype.itemsize]
    return "top2" if 2.0 + f_tie * E <= 1.0 + G + f_unsafe * E else "blas"


@_public
def matvec(A, x, eps=0.0, sense="max", device="cpu"):
    """Matrix-vector product over the semiring: ``y[i] = (+)_k (A[i, k] + x[k])``.

    Parameters
    ----------
    A : array_like, shape (..., m, k)
    x : array_like, shape (..., k)
    eps : float, default 0.0
    sense : {"max", "min"}
    device : {"cpu", "cuda"}, default "cpu"
        ``"cuda"`` runs the product on the GPU as :func:`matmul` does (with
        ``x`` as a one-column matrix); device arrays ``A`` (2-D) and ``x``
        (1-D, contiguous) give a device array.

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
    >>> tropical.matvec([[0.0, 1.0]], [1.0, 0.0], device="gpu")
    Traceback (most recent call last):
        ...
    ValueError: device must be 'cpu' or 'cuda', got 'gpu'
    """
    s = check_sense(sense)
    eps = check_eps(eps)
    cu = _device_module(device, "matvec", A, x)
    if cu is not None and (cu.is_device_array(A) or cu.is_device_array(x)):
        return _cuda_product_device(cu, "matvec", A, x, "x", eps, s, vec=True)
    A = as_semiring_array(A, "A", s, min_ndim=2)
    x = as_semiring_array(x, "x", s, min_ndim=1)
    m, k = A.shape[-2:]
    batch = _product_batch("matvec", A, x, "x", k, x.shape[-1], A.shape[:-2], x.shape[:-1])
    dtype = result_dtype(A, x)
    A = _batched(A.astype(dtype, copy=False), batch, 2)
    x = _batched(x.astype(dtype, copy=False), batch, 1)
    out = np.empty(batch + (m,), dtype)
    if out.size and cu is not None:
        for idx in np.ndindex(*batch):
            a = np.ascontiguousarray(A[idx])
            v = np.ascontiguousarray(x[idx])
            out[idx] = _cuda_product_host(cu, a, v[:, None], eps, s, out.dtype)[:, 0]
    elif out.size:
        kern = _kernels.get("maxplus_matvec") if eps == 0.0 else _kernels.get("lse_matvec")
        for idx in np.ndindex(*batch):
            a = np.ascontiguousarray(A[idx])
            v = np.ascontiguousarray(x[idx])
            if eps == 0.0:
                kern(a, v, s, out[idx])
            else:
                kern(a, v, eps, s, out[idx])
    return out


# --------------------------------------------------------------------------
# device="cuda"
# --------------------------------------------------------------------------
_DEVICES = ("cpu", "cuda")


def _looks_on_device(x) -> bool:
    """A CUDA device array (Numba's, real or simulated, or any object with
    ``__cuda_array_interface__``), told without importing Numba."""
    return bool(getattr(x, "__cuda_ndarray__", False)) or hasattr(x, "__cuda_array_interface__")


def _device_module(device, op, *operands):
    """Validate ``device``; the CUDA kernel module for ``"cuda"``, None for ``"cpu"``.

    ``"cuda"`` without a GPU (and without the simulator) is a RuntimeError;
    a device array with ``device="cpu"`` a TypeError.
    """
    if not (isinstance(device, str) and device in _DEVICES):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        for name, x in zip(("A", "B" if op == "matmul" else "x"), operands):
            if _looks_on_device(x):
                raise TypeError(f"{op}: {name} is a CUDA device array; pass device='cuda' "
                                "(or copy it to the host first)")
        return None
    from .kernels import cuda as cu  # imports numba.cuda

    if not cu.is_available():
        raise RuntimeError(
            f"{op}: device='cuda' needs a CUDA GPU, and none is available "
            f"({cu.unavailable_reason()}); use device='cpu', or set "
            "NUMBA_ENABLE_CUDASIM=1 before Numba is imported to run the (slow) CUDA simulator")
    return cu


def _cuda_product_host(cu, a, b, eps, s, dtype):
    """One 2-D product of validated host arrays on the GPU; a host array."""
    dout = cu.device_array((a.shape[0], b.shape[1]), dtype)
    dA, dB = cu.to_device(a), cu.to_device(b)
    if eps == 0.0:
        cu.maxplus_gemm(dA, dB, s, dout)
    else:
        cu.lse_gemm(dA, dB, eps, s, dout)
    return dout.copy_to_host()


def _device_operand(cu, x, name, s, ndim, op):
    """A validated device array of ``ndim`` dimensions from a device or host operand."""
    if not cu.is_device_array(x):
        arr = as_semiring_array(x, name, s)
        if arr.ndim != ndim:
            raise ValueError(f"{op}: with a device array operand, {name} must have {ndim} "
                             f"dimension(s) (no batching on the device), got shape {arr.shape}")
        return cu.to_device(arr)
    d = cu.as_device_array(x)
    if d.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: the device array {name} must be float32 or float64, "
                        f"got dtype {d.dtype}")
    if d.ndim != ndim:
        raise ValueError(f"{op}: the device array {name} must have {ndim} dimension(s) "
                         f"(no batching on the device), got shape {tuple(d.shape)}")
    if cu.has_bad_elements(d, s):
        # rare path: copy to the host for the precise message (index and value)
        as_semiring_array(d.copy_to_host(), name, s)
        raise ValueError(f"{name} contains NaN or an infinity that is not the semiring zero")
    return d


def _cuda_product_device(cu, op, A, other, name, eps, s, vec):
    """The product with at least one device-array operand; a device array."""
    dA = _device_operand(cu, A, "A", s, 2, op)
    dB = _device_operand(cu, other, name, s, 1 if vec else 2, op)
    m, k = dA.shape
    k2 = dB.shape[0]
    _product_batch(op, dA, dB, name, k, k2, (), ())
    if vec:
        try:
            dB = dB.reshape(k2, 1)
        except Exception:
            raise ValueError(f"{op}: the device array {name} must be contiguous") from None
    n = dB.shape[1]
    both32 = dA.dtype == np.float32 and dB.dtype == np.float32
    dout = cu.device_array((m, n), np.float32 if both32 else np.float64)
    if eps == 0.0:
        cu.maxplus_gemm(dA, dB, s, dout)
    else:
        cu.lse_gemm(dA, dB, eps, s, dout)
    return dout.reshape(m) if vec else dout


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

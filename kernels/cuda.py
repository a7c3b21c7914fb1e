"""CUDA kernels (``numba.cuda``) of the semiring matrix product.

Installed as ``tropical.kernels.cuda``; used by ``tropical.matmul(...,
device="cuda")`` and ``tropical.matvec(..., device="cuda")``, which validate
their arguments first (:mod:`tropical._ops`). Importing this module imports
``numba.cuda`` but compiles nothing: each kernel is built by a factory on its
first use, one specialisation per compute dtype and tile shape, and then by
Numba for each combination of argument types (``cuda.jit(cache=True)``: the
PTX/cubin is cached on disk next to this file where a GPU compiles it).
Where no GPU is present, ``NUMBA_ENABLE_CUDASIM=1`` (set before Numba is
first imported) runs the same kernels in Numba's CUDA simulator, one Python
thread per CUDA thread: slow, but the same code, used by ``tests/test_cuda.py``.

Entry points (device arrays in, results written into a device array ``out``;
``sense`` is ``+1`` for max, ``-1`` for min, as in every kernel of the
package; the min sense runs ``-K(-A, -B)``, which is exact):

``maxplus_gemm(A, B, sense, out, tiles=None)``
    ``out[i, j] = sense * max_k (sense*A[i, k] + sense*B[k, j])``, computed in
    ``out``'s dtype (float32 or float64). Every ``A[i, k] + B[k, j]`` is one
    rounded addition and the maximum is exact, so the result is bit for bit
    the CPU kernel's (:func:`tropical.kernels.maxplus.maxplus_gemm`; a float32
    sum formed in float64 and rounded to float32 is the float32 sum).
``lse_gemm(A, B, eps, sense, out, tiles=None)``
    ``out[i, j] = sense * eps * log sum_k exp(sense*(A[i, k] + B[k, j])/eps)``
    for ``eps > 0`` (``eps = 0`` runs :func:`maxplus_gemm`); the semiring zero
    where every term is the zero.
``has_bad_elements(X, sense)``
    Whether the device array ``X`` holds NaN or the infinity that is not the
    semiring zero (one pass on the device; the caller then finds the entry).

How the product works (both kernels): a block of ``TY x TX`` threads owns a
``BM x BN`` tile of ``out`` (``BM = TY*TM``, ``BN = TX*TN``); each thread
accumulates a ``TM x TN`` register block, rows ``ty + r*TY`` and columns ``tx
+ c*TX`` (interleaved, so that a warp reads consecutive words of shared
memory and writes consecutive entries of ``out``). The inner dimension goes
in steps of ``BK``: the block stages the ``BM x BK`` tile of ``sense*A``
(transposed) and the ``BK x BN`` tile of ``sense*B`` in shared memory, then
every thread runs ``BK`` rank-1 updates of its register block from them.
Rows, columns and steps past the edges of a matrix whose sizes are not
multiples of the tile are staged as the semiring zero ``-inf``: it adds
nothing to a maximum and ``exp(-inf) = 0`` nothing to a sum, and nothing is
written outside ``out``. Infinities that are semiring zeros pass through
(``-inf + x = -inf``; no ``+inf`` ever meets a ``-inf``, so no NaN arises).

The ``eps > 0`` product has two passes over the tiles. Pass 1 is
:func:`maxplus_gemm` in float64 (float32 operands are widened exactly): ``M``,
the exact float64 maximum of the rounded sums ``z_k = fl(sA + sB)``. Pass 2
recomputes the same ``z_k`` (same operands, same single rounding) and sums
``exp((z_k - M)/eps)`` in a float64 register per entry; the largest term is
exactly ``exp(0) = 1`` and every term lies in ``[0, 1]``, so ``1 <= s <=
K``: nothing overflows or underflows for any ``eps > 0`` (``1e-300`` and
subnormal ``eps`` included); the result is ``M + eps*log(s)``, rounded to
the output dtype once, at the store. ``(z_k - M)/eps`` is ``(z_k - M)*(1/eps)``
while ``1/eps`` is finite and a true division when it overflows (``eps <
2**-1024``), where the product would give ``0*inf = NaN``. Terms whose
exponent is below ``-746`` are skipped: ``exp`` of them is exactly 0.

Error of the ``eps > 0`` product (first order in ``u = 2**-53``; the
derivation of the CPU kernels in ``tests/reference.py`` applies step by
step: the same summands, the exact float64 maximum as the shift, one
``fl(1/eps)`` multiplication, CUDA's ``exp`` and ``log`` within 1 ulp
(CUDA Math API, double precision), a sequential float64 sum of nonnegative
terms). With ``N`` the number of finite terms, ``m`` their maximum, ``pi_k``
the Gibbs weights, ``s`` the shifted sum and ``L`` the exact entry::

    |computed - L| <= u * ( sum_k pi_k (|z_k| + 4 |z_k - m|)
                            + eps * (N + 6 + 3 |log s|) + 2 |L| )

plus ``2**-24 |L|`` for a float32 result (its one rounding). That is the
budget of :mod:`tropical.kernels.lse` (``rho = 1``): a few ulps of the data
and of ``N*eps``, nothing growing like ``1/eps``. An entry with one finite
term is exactly ``fl(A[i, k] + B[k, j])``, and ``M <= out <= M + eps*log N``
holds to rounding. ``tests/test_cuda.py`` checks it entry by entry against
mpmath at 50 digits on the simulator, with the budget of ``tropical.matmul``
(``2u (7 S + 3 |C| + eps (2 (K-1) + 2 log K))``) as well.

Tile shapes (:data:`TILES`) are compile-time constants. They were chosen by
the usual rules for a register-blocked GEMM (a ``TM x TN`` block per thread
that hides the shared-memory loads, ``BK`` steps per synchronisation) and
have not yet been measured on a GPU (none was available when they were
written; ``benchmarks/bench_cuda.py`` measures them). A kernel and all it
calls live in this file (Numba's cache does not notice edits elsewhere).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tropical._config import load_numba

numba = load_numba()
from numba import cuda  # noqa: E402

__all__ = [
    "TILES",
    "simulating",
    "is_available",
    "unavailable_reason",
    "device_name",
    "is_device_array",
    "as_device_array",
    "to_device",
    "device_array",
    "has_bad_elements",
    "maxplus_gemm",
    "lse_gemm",
]

#: Tile shape per compute dtype: ``(TY, TX, TM, TN, BK)``. A block of ``TY x
#: TX`` threads computes a ``TY*TM x TX*TN`` tile of the output, each thread a
#: ``TM x TN`` register block, ``BK`` inner steps per stage in shared memory
#: (float32: 128 x 128 tiles, 8 KiB of shared memory; float64: 64 x 64, 16 KiB).
#: The ``eps > 0`` product computes in float64 whatever the operands' dtype.
TILES = {
    "float32": (16, 16, 8, 8, 8),
    "float64": (16, 16, 4, 4, 16),
}
_CHECK_BLOCK = (16, 16)  # threads per block of the element check
# exp(x) is exactly 0 in float64 for x < log(2**-1075) = -745.13...
_EXP_ZERO_BELOW = -746.0


# --------------------------------------------------------------------------
# Device plumbing (no validation: tropical._ops validates)
# --------------------------------------------------------------------------
def simulating() -> bool:
    """Whether Numba's CUDA simulator is active (``NUMBA_ENABLE_CUDASIM=1``)."""
    return bool(numba.config.ENABLE_CUDASIM)


def is_available() -> bool:
    """Whether a CUDA GPU (or the simulator) can run the kernels."""
    return bool(cuda.is_available())


def unavailable_reason() -> str:
    """Why :func:`is_available` is False, in words (the driver's error where it gave one)."""
    try:
        err = cuda.cuda_error()
    except Exception as exc:  # pragma: no cover - defensive: the probe itself failed
        err = exc
    text = " ".join(str(err).split()) if err else ""
    return text or "numba.cuda.is_available() is False"


def device_name() -> str:
    """The name of the current CUDA device (``"CUDA simulator"`` when simulating)."""
    if simulating():
        return "CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def is_device_array(obj) -> bool:
    """Whether ``obj`` lives on the GPU: a Numba device array (real or
    simulated) or any object with ``__cuda_array_interface__`` (CuPy, PyTorch)."""
    return bool(getattr(obj, "__cuda_ndarray__", False)) or hasattr(
        obj, "__cuda_array_interface__")


def as_device_array(obj):
    """A Numba device array viewing ``obj`` (no copy)."""
    if getattr(obj, "__cuda_ndarray__", False):
        return obj
    return cuda.as_cuda_array(obj)


def to_device(arr: np.ndarray):
    """Copy a host array to the device."""
    return cuda.to_device(np.ascontiguousarray(arr))


def device_array(shape, dtype):
    """An uninitialised device array."""
    return cuda.device_array(shape, dtype=np.dtype(dtype))


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _py_fmax(a, b):
    """The simulator's stand-in for libdevice's fmax (whose stubs return None there)."""
    return b if b > a else a


def _fmax_for(dtype_name: str):
    """``max`` of two floats as one ``max.f32``/``max.f64`` instruction (libdevice
    ``fmaxf``/``fmax``; operands are never NaN here). Python's ``max`` would
    compile to a compare and a select."""
    if simulating():
        return _py_fmax
    from numba.cuda import libdevice

    return libdevice.fmaxf if dtype_name == "float32" else libdevice.fmax


# --------------------------------------------------------------------------
# Kernel factories (compiled on first launch, per argument types)
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _check_kernel():
    @cuda.jit(cache=True)
    def bad_elements(X, sg, flag):
        """flag[0] = 1 if some sg*X[i, j] is NaN or +inf."""
        i, j = cuda.grid(2)
        if i < X.shape[0] and j < X.shape[1]:
            v = sg * X[i, j]
            if not (v < math.inf):
                flag[0] = 1

    return bad_elements


@functools.lru_cache(maxsize=None)
def _maxplus_kernel(dtype_name: str, tiles: tuple):
    """The tiled max-plus kernel computing in ``dtype_name``."""
    TY, TX, TM, TN, BK = tiles
    BM = TY * TM
    BN = TX * TN
    NT = TY * TX
    dt = numba.from_dtype(np.dtype(dtype_name))
    NEG = np.dtype(dtype_name).type(-np.inf)
    fmax = _fmax_for(dtype_name)

    @cuda.jit(cache=True)
    def maxplus_tile(A, B, sg, out):
        """out = sg * max_k (sg*A[i, k] + sg*B[k, j]) on one BM x BN tile."""
        m = A.shape[0]
        K = A.shape[1]
        n = B.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * TX + tx
        i0 = cuda.blockIdx.y * BM
        j0 = cuda.blockIdx.x * BN
        As = cuda.shared.array((BK, BM), dt)
        Bs = cuda.shared.array((BK, BN), dt)
        acc = cuda.local.array((TM, TN), dt)
        a = cuda.local.array(TM, dt)
        b = cuda.local.array(TN, dt)
        for r in range(TM):
            for c in range(TN):
                acc[r, c] = NEG
        for k0 in range(0, K, BK):
            for e in range(tid, BM * BK, NT):
                ii = e // BK
                kk = e - ii * BK
                v = NEG
                if i0 + ii < m and k0 + kk < K:
                    v = sg * A[i0 + ii, k0 + kk]
                As[kk, ii] = v
            for e in range(tid, BK * BN, NT):
                kk = e // BN
                jj = e - kk * BN
                v = NEG
                if k0 + kk < K and j0 + jj < n:
                    v = sg * B[k0 + kk, j0 + jj]
                Bs[kk, jj] = v
            cuda.syncthreads()
            for kk in range(BK):
                for r in range(TM):
                    a[r] = As[kk, ty + r * TY]
                for c in range(TN):
                    b[c] = Bs[kk, tx + c * TX]
                for r in range(TM):
                    for c in range(TN):
                        acc[r, c] = fmax(acc[r, c], a[r] + b[c])
            cuda.syncthreads()
        for r in range(TM):
            i = i0 + ty + r * TY
            if i < m:
                for c in range(TN):
                    j = j0 + tx + c * TX
                    if j < n:
                        out[i, j] = sg * acc[r, c]

    return maxplus_tile


@functools.lru_cache(maxsize=None)
def _lse_kernel(tiles: tuple):
    """Pass 2 of the eps > 0 product (float64 throughout)."""
    TY, TX, TM, TN, BK = tiles
    BM = TY * TM
    BN = TX * TN
    NT = TY * TX
    f64 = numba.float64
    NEG = np.float64(-np.inf)
    ZERO_BELOW = np.float64(_EXP_ZERO_BELOW)

    @cuda.jit(cache=True)
    def lse_tile(A, B, M, sg, eps, inv, use_div, out):
        """out = sg*(c + eps*log sum_k exp((sg*A[i, k] + sg*B[k, j] - c)/eps)),
        c = sg*M[i, j] (the exact float64 maximum of the same sums); the
        semiring zero where M is."""
        m = A.shape[0]
        K = A.shape[1]
        n = B.shape[1]
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * TX + tx
        i0 = cuda.blockIdx.y * BM
        j0 = cuda.blockIdx.x * BN
        As = cuda.shared.array((BK, BM), f64)
        Bs = cuda.shared.array((BK, BN), f64)
        sh = cuda.local.array((TM, TN), f64)
        S = cuda.local.array((TM, TN), f64)
        a = cuda.local.array(TM, f64)
        b = cuda.local.array(TN, f64)
        for r in range(TM):
            i = i0 + ty + r * TY
            for c in range(TN):
                j = j0 + tx + c * TX
                v = NEG
                if i < m and j < n:
                    v = sg * M[i, j]
                # an all-zero entry: every term is exp(-inf - 0) = 0
                sh[r, c] = v if v > NEG else 0.0
                S[r, c] = 0.0
        for k0 in range(0, K, BK):
            for e in range(tid, BM * BK, NT):
                ii = e // BK
                kk = e - ii * BK
                v = NEG
                if i0 + ii < m and k0 + kk < K:
                    v = sg * A[i0 + ii, k0 + kk]
                As[kk, ii] = v
            for e in range(tid, BK * BN, NT):
                kk = e // BN
                jj = e - kk * BN
                v = NEG
                if k0 + kk < K and j0 + jj < n:
                    v = sg * B[k0 + kk, j0 + jj]
                Bs[kk, jj] = v
            cuda.syncthreads()
            for kk in range(BK):
                for r in range(TM):
                    a[r] = As[kk, ty + r * TY]
                for c in range(TN):
                    b[c] = Bs[kk, tx + c * TX]
                for r in range(TM):
                    for c in range(TN):
                        d = (a[r] + b[c]) - sh[r, c]
                        x = d / eps if use_div else d * inv
                        if x >= ZERO_BELOW:  # below: exp(x) == 0 (also -inf)
                            S[r, c] += math.exp(x)
            cuda.syncthreads()
        for r in range(TM):
            i = i0 + ty + r * TY
            if i < m:
                for c in range(TN):
                    j = j0 + tx + c * TX
                    if j < n:
                        if S[r, c] > 0.0:
                            out[i, j] = sg * (sh[r, c] + eps * math.log(S[r, c]))
                        else:
                            out[i, j] = M[i, j]

    return lse_tile


# --------------------------------------------------------------------------
# Launchers
# --------------------------------------------------------------------------
def _tiles(dtype_name: str, tiles) -> tuple:
    if tiles is None:
        return TILES[dtype_name]
    tiles = tuple(int(t) for t in tiles)
    if len(tiles) != 5 or min(tiles) < 1:
        raise ValueError(f"tiles must be five positive ints (TY, TX, TM, TN, BK), got {tiles}")
    return tiles


def _grid(m: int, n: int, tiles: tuple):
    TY, TX, TM, TN, _ = tiles
    return (_cdiv(n, TX * TN), _cdiv(m, TY * TM)), (TX, TY)


def has_bad_elements(X, sense: int) -> bool:
    """Whether the 1-D or 2-D device array ``X`` holds NaN or ``sense*inf``.

    Examples
    --------
    (These need a GPU or ``NUMBA_ENABLE_CUDASIM=1``.)

    >>> import numpy as np
    >>> from tropical.kernels import cuda as kc
    >>> X = kc.to_device(np.array([[0.0, -np.inf], [np.inf, 1.0]]))
    >>> kc.has_bad_elements(X, 1), kc.has_bad_elements(X[:1], 1)
    (True, False)
    """
    if X.size == 0:
        return False
    X2 = X.reshape(X.shape[0], 1) if X.ndim == 1 else X
    flag = cuda.to_device(np.zeros(1, np.int32))
    by, bx = _CHECK_BLOCK
    grid = (_cdiv(X2.shape[0], by), _cdiv(X2.shape[1], bx))
    _check_kernel()[grid, (by, bx)](X2, X2.dtype.type(sense), flag)
    return bool(flag.copy_to_host()[0])


def maxplus_gemm(A, B, sense: int, out, tiles=None) -> None:
    """``out = sense * max_k (sense*A[:, k] + sense*B[k, :])`` on the device.

    ``A`` (m, k) and ``B`` (k, n) are device arrays of float32 or float64;
    the product is computed in ``out``'s dtype (float32 only where both
    operands are float32, which the caller ensures). ``tiles``: a tile
    shape ``(TY, TX, TM, TN, BK)`` instead of :data:`TILES` (tests use small
    tiles to put ragged edges in small matrices).

    Examples
    --------
    (These need a GPU or ``NUMBA_ENABLE_CUDASIM=1``.)

    >>> import numpy as np
    >>> from tropical.kernels import cuda as kc
    >>> A = kc.to_device(np.array([[0.0, 1.0], [2.0, -np.inf]]))
    >>> B = kc.to_device(np.array([[1.0], [3.0]]))
    >>> out = kc.device_array((2, 1), np.float64)
    >>> kc.maxplus_gemm(A, B, 1, out)
    >>> out.copy_to_host()
    array([[4.],
           [3.]])
    >>> A = kc.to_device(np.array([[0.0, 1.0], [2.0, np.inf]]))
    >>> kc.maxplus_gemm(A, B, -1, out)   # min-plus: +inf is its zero
    >>> out.copy_to_host()
    array([[1.],
           [3.]])
    """
    name = "float32" if out.dtype == np.float32 else "float64"
    tiles = _tiles(name, tiles)
    m, n = out.shape
    if m == 0 or n == 0:
        return
    grid, block = _grid(m, n, tiles)
    _maxplus_kernel(name, tiles)[grid, block](A, B, np.dtype(name).type(sense), out)


def lse_gemm(A, B, eps: float, sense: int, out, tiles=None) -> None:
    """The ``eps > 0`` product into the device array ``out`` (two passes, float64).

    ``tiles`` applies to both passes (both compute in float64). See the
    module docstring for the error bound.

    Examples
    --------
    (These need a GPU or ``NUMBA_ENABLE_CUDASIM=1``.)

    >>> import numpy as np
    >>> from tropical.kernels import cuda as kc
    >>> A = kc.to_device(np.array([[1000.0, 1000.0]]))
    >>> B = kc.to_device(np.array([[0.0], [0.0]]))
    >>> out = kc.device_array((1, 1), np.float64)
    >>> kc.lse_gemm(A, B, 1e-3, 1, out)   # 1000 + 1e-3 log 2: no overflow
    >>> out.copy_to_host()
    array([[1000.00069315]])
    """
    eps = float(eps)
    if eps == 0.0:
        maxplus_gemm(A, B, sense, out, tiles)
        return
    tiles = _tiles("float64", tiles)
    m, n = out.shape
    if m == 0 or n == 0:
        return
    M = cuda.device_array((m, n), dtype=np.float64)
    maxplus_gemm(A, B, sense, M, tiles)
    inv = 1.0 / eps
    use_div = not math.isfinite(inv)
    grid, block = _grid(m, n, tiles)
    _lse_kernel(tiles)[grid, block](A, B, M, np.float64(sense), np.float64(eps),
                                    np.float64(0.0 if use_div else inv), use_div, out)

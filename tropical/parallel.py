r"""Scale-out on Dask: blockwise semiring products, parameter sweeps, regions by sub-boxes.

Nothing here imports Dask at module import: ``import tropical.parallel``
works without it, and each function imports ``dask`` (or
``dask.distributed``) when called, raising an :class:`ImportError` that names
the extra (``pip install 'tropical-engine[dask]'``) where it is missing.

:func:`matmul`
    The semiring product of two large matrices as a graph of block products
    (the Numba kernels on blocks) and a (+)-tree reduction over the
    contracted blocks: ``max``/``min`` at ``eps = 0`` (exact: the result is
    bit for bit the single-call kernel's), a max-shifted log-sum-exp of the
    partial products at ``eps > 0``. Inputs are ``dask.array`` arrays,
    numpy arrays, ``np.memmap`` files or zarr arrays (read block by block
    inside the tasks); the result is a lazy ``dask.array`` or, with
    ``out=``, is written into a memmap / zarr array / ndarray block by block
    (:func:`dask.array.store`) without ever holding the whole of it.
:func:`sweep`
    A picklable callable mapped over a grid of parameters, on a
    ``dask.distributed.Client`` when one is given and locally otherwise;
    results are gathered as they finish, failures keep their exception text,
    Ctrl-C keeps what finished (:class:`SweepResult`).
:func:`regions`
    Exact activation regions (:func:`tropical.regions.regions`) enumerated
    sub-box by sub-box and merged into the single-process answer.

The kernels release the GIL (``nogil=True``), so the threaded scheduler runs
block products truly in parallel. Each block product sets Numba's thread
count for its own thread (``numba.set_num_threads`` is per calling thread) to
``NUMBA_NUM_THREADS // concurrent tasks`` (at least 1): the concurrent tasks
of the threaded scheduler (``dask.config`` ``num_workers``, else the CPU
count) or the threads of the ``dask.distributed`` worker it runs on, so that
Dask threads times Numba threads never exceeds the cores (see
:func:`matmul`'s ``numba_threads``).

Examples
--------
>>> import numpy as np
>>> import tropical
>>> from tropical import parallel
>>> rng = np.random.default_rng(0)
>>> A, B = rng.normal(size=(5, 7)), rng.normal(size=(7, 3))
>>> C = parallel.matmul(A, B, chunks=2)            # 3 x 4 x 2 blocks, lazy
>>> C.chunks
((2, 2, 1), (2, 1))
>>> bool((C.compute(scheduler="threads") == tropical.matmul(A, B)).all())
True
>>> res = parallel.sweep(lambda eps, n: eps * n, {"eps": [0.1, 1.0], "n": [1, 2]})
>>> res
SweepResult(4/4 done, 0 failed)
>>> res[{"eps": 1.0, "n": 2}]
2.0
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import numbers
import os
import sys
import threading
import time
import uuid

import numpy as np

from . import _config, _kernels
from ._jsonio import dump_document, load_document
from ._progress import want_progress as _want_progress
from ._validate import as_semiring_array, check_eps, check_int, check_sense

__all__ = ["matmul", "plan_chunks", "sweep", "SweepResult", "regions"]

_EXTRA = "pip install 'tropical-engine[dask]'"
#: default memory budget of :func:`matmul` (bytes), for the blocks in flight
DEFAULT_MEMORY_BUDGET = 512 * 2**20


def _require_dask(what):
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError:
        raise ImportError(f"tropical.parallel.{what} needs dask[array]: {_EXTRA}") from None
    return dask


def _require_distributed(what):
    try:
        import distributed
    except ImportError:
        raise ImportError(f"tropical.parallel.{what} with a client needs dask.distributed: "
                          f"{_EXTRA}") from None
    return distributed


def _is_client(obj):
    return obj is not None and hasattr(obj, "submit") and hasattr(obj, "gather")


# ---------------------------------------------------------------------------
# block sources and targets
# ---------------------------------------------------------------------------
class _FileArray:
    """A C-ordered 2-D array in a file (an ``np.memmap``'s), read and written
    by positional I/O (``preadv`` / ``pwrite``).

    Reading a block through a memory map leaves its pages mapped into the
    process, where they count as resident memory until the kernel reclaims
    them; positional reads leave them in the page cache only, so the
    resident memory of an out-of-core product is that of the blocks in
    flight. Pickles as ``(path, offset, shape, dtype)``: a distributed worker
    on the same file system reopens the file.
    """

    def __init__(self, path, offset, shape, dtype, writable=False):
        self.path = os.fspath(path)
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.writable = bool(writable)
        self._fds = {}

    @classmethod
    def from_memmap(cls, mm, writable=False):
        """The file behind ``mm`` when ``mm`` is a whole, C-ordered memmap; else None."""
        import mmap

        if not (isinstance(mm, np.memmap) and isinstance(mm.base, mmap.mmap)
                and mm.filename is not None and mm.flags.c_contiguous and mm.ndim == 2):
            return None
        if writable and getattr(mm, "mode", None) not in ("r+", "w+"):
            return None
        return cls(mm.filename, mm.offset, mm.shape, mm.dtype, writable)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_fds"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._fds = {}

    def __dask_tokenize__(self):
        return ("tropical-file-array", self.path, self.offset, self.shape, self.dtype.str)

    def _fd(self):
        pid = os.getpid()           # never reuse a descriptor across a fork
        fd = self._fds.get(pid)
        if fd is None:
            fd = os.open(self.path, os.O_RDWR if self.writable else os.O_RDONLY)
            kept = self._fds.setdefault(pid, fd)      # another thread may have won
            if kept != fd:
                os.close(fd)
            fd = kept
        return fd

    def __del__(self):
        for pid, fd in getattr(self, "_fds", {}).items():
            if pid == os.getpid():
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _rows(self, rows, cols):
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        return r0, max(r0, r1), c0, max(c0, c1)

    def __getitem__(self, key):
        rows, cols = key
        r0, r1, c0, c1 = self._rows(rows, cols)
        out = np.empty((r1 - r0, c1 - c0), self.dtype)
        if out.size == 0:
            return out
        fd, item, n = self._fd(), self.dtype.itemsize, self.shape[1]
        raw = out.view(np.uint8).reshape(r1 - r0, -1)
        if c0 == 0 and c1 == n:                           # whole rows: one read
            _read_full(fd, memoryview(raw.reshape(-1)), self.offset + r0 * n * item)
        else:
            for r in range(r0, r1):
                _read_full(fd, memoryview(raw[r - r0]), self.offset + (r * n + c0) * item)
        return out

    def __setitem__(self, key, value):
        rows, cols = key
        r0, r1, c0, c1 = self._rows(rows, cols)
        block = np.ascontiguousarray(value, dtype=self.dtype)
        if block.shape != (r1 - r0, c1 - c0):
            raise ValueError(f"block of shape {block.shape} does not fit [{r0}:{r1}, {c0}:{c1}]")
        fd, item, n = self._fd(), self.dtype.itemsize, self.shape[1]
        raw = block.view(np.uint8).reshape(r1 - r0, -1)
        for r in range(r0, r1):
            _write_full(fd, memoryview(raw[r - r0]), self.offset + (r * n + c0) * item)


def _read_full(fd, buf, offset):
    done = 0
    while done < len(buf):
        if hasattr(os, "preadv"):
            got = os.preadv(fd, [buf[done:]], offset + done)
        else:  # pragma: no cover - platforms without preadv
            chunk = os.pread(fd, len(buf) - done, offset + done)
            got = len(chunk)
            buf[done:done + got] = chunk
        if got <= 0:
            raise OSError(f"unexpected end of file at byte {offset + done}")
        done += got


def _write_full(fd, buf, offset):
    done = 0
    while done < len(buf):
        done += os.pwrite(fd, buf[done:], offset + done)


def _as_source(x, name, s):
    """``(source, shape, dtype)``: something that slices into blocks inside a task."""
    fa = _FileArray.from_memmap(x)
    if fa is not None:
        return fa, fa.shape, fa.dtype
    if isinstance(x, np.ndarray):
        return x, x.shape, x.dtype
    if hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "__getitem__") \
            and not isinstance(x, (list, tuple)):
        return x, tuple(x.shape), np.dtype(x.dtype)             # zarr, h5py, ...
    arr = as_semiring_array(x, name, s)
    return arr, arr.shape, arr.dtype


def _block_dtype(dtype, name):
    dt = np.dtype(dtype)
    if dt.kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {dt}")
    if dt.kind not in "fiub":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {dt}")
    return dt


# ---------------------------------------------------------------------------
# the block product and the (+)-reduction
# ---------------------------------------------------------------------------
def _auto_threads(total):
    """Numba threads for one task: ``total`` // tasks running at once (>= 1)."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return max(1, total // max(1, int(get_worker().state.nthreads)))
        except (ImportError, ValueError, AttributeError):
            pass
    if threading.current_thread() is threading.main_thread():
        return total                                  # synchronous scheduler
    import dask

    concurrent = dask.config.get("num_workers", None) or os.cpu_count() or 1
    return max(1, total // int(concurrent))


@contextlib.contextmanager
def _numba_threads(n):
    if n is None or not _config.jit_enabled():
        yield
        return
    numba = _config.load_numba()
    total = int(numba.config.NUMBA_NUM_THREADS)
    want = _auto_threads(total) if n == "auto" else max(1, min(int(n), total))
    old = numba.get_num_threads()
    numba.set_num_threads(want)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _checked_block(block, name, s, dtype):
    arr = as_semiring_array(np.asarray(block), name, s)
    return np.ascontiguousarray(arr, dtype=dtype)


def _block_product(a, b, eps, s, dtype, where, threads):
    """One block product by the kernels, its operands validated (named by ``where``)."""
    a = _checked_block(a, f"A{where[0]}", s, dtype)
    b = _checked_block(b, f"B{where[1]}", s, dtype)
    out = np.empty((a.shape[0], b.shape[1]), dtype)
    if out.size:
        with _numba_threads(threads):
            if eps == 0.0:
                _kernels.get("maxplus_gemm")(a, b, s, out)
            else:
                from ._ops import _lse_gemm

                _lse_gemm(a, b, eps, s, out)
    return out


def _source_product(srcA, srcB, ra, ka, cb, eps, s, dtype, threads):
    """Read the blocks ``A[ra, ka]`` and ``B[ka, cb]`` from their sources, multiply."""
    where = (f"[{ra.start}:{ra.stop}, {ka.start}:{ka.stop}]",
             f"[{ka.start}:{ka.stop}, {cb.start}:{cb.stop}]")
    return _block_product(srcA[ra, ka], srcB[ka, cb], eps, s, dtype, where, threads)


def _combine(parts, eps, s, dtype=None):
    """(+)_eps of the partial products ``parts`` (same shape), elementwise.

    ``eps = 0``: ``max`` / ``min`` (exact, dtype kept). ``eps > 0``: in
    float64, ``m + s*eps*log sum_b exp(s*(P_b - m)/eps)`` with ``m`` the
    elementwise max (min) of the parts: every exponent is ``<= 0``, the sum
    lies in ``[1, len(parts)]``; semiring zeros contribute ``exp(-inf) = 0``
    and an entry whose parts are all zero stays zero. ``dtype``: cast the
    result (the last level of the tree); intermediate levels stay float64.
    """
    if len(parts) == 1 and eps == 0.0:
        out = parts[0]
    elif eps == 0.0:
        out = parts[0].copy()
        red = np.maximum if s == 1 else np.minimum
        for p in parts[1:]:
            red(out, p, out=out)
    else:
        X = np.stack([np.asarray(p, dtype=np.float64) for p in parts])
        m = X.max(axis=0) if s == 1 else X.min(axis=0)
        fin = np.isfinite(m)
        shift = np.where(fin, m, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            X -= shift
            X *= s / eps
            np.exp(X, out=X)
            tot = X.sum(axis=0)
        del X
        out = np.where(fin, m + (s * eps) * np.log(np.where(fin, tot, 1.0)), m)
    return out if dtype is None else out.astype(dtype, copy=False)


def _cast(x, dtype):
    return x.astype(dtype, copy=False)


def _parse_bytes(value, name):
    if isinstance(value, str):
        from dask.utils import parse_bytes

        try:
            value = parse_bytes(value)
        except ValueError:
            raise ValueError(f"{name}: cannot read {value!r} as a number of bytes") from None
    value = check_int(value, name, minimum=1)
    return value


def plan_chunks(m, k, n, dtype=np.float64, memory_budget=DEFAULT_MEMORY_BUDGET, workers=None,
                eps=0.0, split_every=4):
    """Block sizes ``(bm, bk, bn)`` whose product tasks fit a memory budget.

    Each of the ``workers`` tasks running at once holds an ``A`` block and a
    ``B`` block (read from the source), the kernel's packing copies of them,
    its partial product, and its share of the reduction (``split_every``
    partials and the float64 work arrays of a combine, or at ``eps > 0`` the
    float64 exponentials and sums of the product plan). With square blocks
    of side ``b`` and itemsize ``s`` that is at most ``b**2 * (5 s +
    8 (split_every + 3))`` bytes per task, plus ``40 b**2`` at ``eps > 0``;
    ``b`` is the largest multiple of 64 (or the whole dimension) keeping
    ``workers`` of them within ``memory_budget``.

    Parameters
    ----------
    m, k, n : int
        ``A`` is ``m x k``, ``B`` is ``k x n``.
    dtype : dtype, default float64
    memory_budget : int or str, default 512 MiB
        Bytes (or a string like ``"256MiB"``) for the blocks in flight; the
        interpreter, Numba and Dask themselves come on top.
    workers : int, optional
        Tasks running at once (default: the CPU count).
    eps : float, default 0.0
    split_every : int, default 4
        Fan-in of the reduction tree.

    Returns
    -------
    (bm, bk, bn) : tuple of int

    Examples
    --------
    >>> from tropical.parallel import plan_chunks
    >>> plan_chunks(16384, 16384, 16384, "float32", "512MiB", workers=2)
    (1856, 1856, 1856)
    >>> plan_chunks(100, 100, 100)
    (100, 100, 100)
    """
    _require_dask("plan_chunks")
    m, k, n = (check_int(v, name, minimum=1) for v, name in ((m, "m"), (k, "k"), (n, "n")))
    budget = _parse_bytes(memory_budget, "memory_budget")
    workers = check_int(workers if workers is not None else (os.cpu_count() or 1), "workers", 1)
    split_every = check_int(split_every, "split_every", minimum=2)
    s = np.dtype(dtype).itemsize
    per = 5 * s + 8 * (split_every + 3) + (40 if check_eps(eps) > 0 else 0)
    b = int(math.isqrt(budget // (workers * per)))
    if b < 64:
        raise ValueError(f"memory_budget={budget} bytes is too small for {workers} block "
                         f"products of at least 64 x 64 ({workers * per * 64 * 64} bytes)")
    b -= b % 64
    return min(b, m), min(b, k), min(b, n)


def _chunk_sizes(total, c, name):
    if isinstance(c, numbers.Integral) and not isinstance(c, bool):
        c = check_int(c, name, minimum=1)
        return (c,) * (total // c) + ((total % c,) if total % c else ()) or (0,)
    sizes = tuple(check_int(v, name, minimum=1) for v in c)
    if sum(sizes) != total:
        raise ValueError(f"{name}: block sizes {sizes} sum to {sum(sizes)}, expected {total}")
    return sizes


def _offsets(sizes):
    return np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()


def _scheduler_workers(scheduler):
    if _is_client(scheduler):
        return max(1, sum(scheduler.nthreads().values()))
    if scheduler in ("sync", "synchronous", "single-threaded"):
        return 1
    import dask

    return dask.config.get("num_workers", None) or os.cpu_count() or 1


def matmul(A, B, eps=0.0, sense="max", *, chunks=None, out=None, scheduler=None,
           memory_budget=DEFAULT_MEMORY_BUDGET, split_every=4, numba_threads="auto"):
    """Semiring product of two large matrices, blockwise on Dask.

    ``C[i, j] = (+)_k (A[i, k] + B[k, j])`` as in :func:`tropical.matmul`:
    every block ``C[I, J]`` is the (+)-sum over the contracted blocks ``K``
    of the block products ``A[I, K] (x) B[K, J]``, each computed by the
    Numba kernels in one task, summed by a tree of fan-in ``split_every``.

    Parameters
    ----------
    A, B : dask.array.Array, ndarray, np.memmap, zarr array or array_like, 2-D
        ``A`` is ``m x k``, ``B`` is ``k x n``. Non-Dask inputs are read
        block by block inside the tasks (a whole, C-ordered ``np.memmap``
        by positional reads of its file, which a distributed worker reopens;
        zarr by slicing). Entries are validated block by block when the
        graph runs (NaN or the wrong infinity raise :class:`ValueError`
        naming the block). float32 is kept when both are float32.
    eps : float, default 0.0
        Temperature ``>= 0``.
    sense : {"max", "min"}
    chunks : int, (bm, bk, bn) or three tuples of block sizes, optional
        Blocks of ``A`` are ``bm x bk``, of ``B`` ``bk x bn`` (ragged
        tuples allowed). Default: a Dask input's own chunks (``B``'s rows
        rechunked to ``A``'s columns), else :func:`plan_chunks` from
        ``memory_budget``.
    out : np.memmap, zarr array or ndarray, optional
        Compute now, writing each block of ``C`` into ``out`` (shape
        ``(m, n)``) as it is finished (:func:`dask.array.store`); the whole
        of ``C`` is never held. A plain ndarray needs a local scheduler (a
        distributed worker would write into its own copy).
    scheduler : str or dask.distributed.Client, optional
        Scheduler of the computation when ``out`` is given (default: Dask's
        default, ``"threads"`` unless a client is active).
    memory_budget : int or str, default 512 MiB
        For the default ``chunks`` (see :func:`plan_chunks`).
    split_every : int, default 4
        Fan-in of the reduction tree over the contracted blocks.
    numba_threads : "auto", int or None
        Numba threads per block product: ``"auto"`` divides
        ``NUMBA_NUM_THREADS`` by the tasks running at once (the threaded
        scheduler's workers, or the threads of the distributed worker);
        ``None`` leaves Numba's setting alone.

    Returns
    -------
    dask.array.Array or the ``out`` array
        Lazy ``C`` (chunks ``bm x bn``), or ``out`` once written.

    Notes
    -----
    ``eps = 0``: the partial products are exact up to the one rounding of
    each ``A[i,k] + B[k,j]``, and max / min of them is exact, so the result
    equals the single-call kernel bit for bit for any chunking.
    ``eps > 0``: each block product is within the kernel's budget
    ``2u (7 S + 3 |P| + eps (2 (K_b-1) + 2 log K_b))`` of its exact value
    (``u`` the unit roundoff of the dtype, ``S = max|A[i,:]| +
    max|B[:,j]|``, ``K_b <= K`` finite terms), with ``|P| <= S + eps log
    K``; log-sum-exp is 1-Lipschitz in the max norm, so these errors pass
    to ``C`` undiminished but unamplified. Each of the ``L =
    ceil(log(n_blocks) / log(split_every))`` levels of the tree (float64)
    adds at most ``2 u64 (4 S + |C| + eps (2 log K + split_every + 2))``,
    and the cast to the dtype ``u |C|``. In all, per entry::

        |C - C_exact| <= 2u (10 S + 4 |C| + eps (2 (K-1) + 5 log K))
                         + 2 u64 L (4 S + |C| + eps (2 log K + split_every + 2))

    Examples
    --------
    >>> import numpy as np
    >>> import tropical
    >>> from tropical.parallel import matmul
    >>> A = np.array([[0.0, 1.0, -np.inf], [2.0, 0.0, 1.0]])
    >>> B = np.array([[1.0], [3.0], [0.0]])
    >>> matmul(A, B, chunks=(1, 2, 1)).compute()
    array([[4.],
           [3.]])
    >>> out = np.empty((2, 1))
    >>> _ = matmul(A, B, eps=1.0, chunks=1, out=out, scheduler="threads")
    >>> bool(np.allclose(out, tropical.matmul(A, B, eps=1.0), rtol=0, atol=1e-15))
    True
    """
    dask = _require_dask("matmul")
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    s = check_sense(sense)
    eps = check_eps(eps)
    split_every = check_int(split_every, "split_every", minimum=2)
    if numba_threads not in ("auto", None):
        numba_threads = check_int(numba_threads, "numba_threads", minimum=1)
    operands = []
    for x, name in ((A, "A"), (B, "B")):
        if isinstance(x, da.Array):
            operands.append((x, x.shape, _block_dtype(x.dtype, name)))
        else:
            src, shape, dt = _as_source(x, name, s)
            operands.append((src, shape, _block_dtype(dt, name)))
    (xa, sa, dta), (xb, sb, dtb) = operands
    for shape, name in ((sa, "A"), (sb, "B")):
        if len(shape) != 2:
            raise ValueError(f"matmul: {name} must be 2-D, got shape {shape} (batches: loop, "
                             f"or use tropical.matmul)")
    (m, k), (k2, n) = sa, sb
    if k != k2:
        raise ValueError(f"matmul: inner dimensions differ: A has shape {sa} (k={k}), "
                         f"B has shape {sb} (k={k2})")
    if min(m, k, n) == 0:
        raise ValueError(f"matmul: empty operand (A has shape {sa}, B has shape {sb})")
    dtype = np.dtype(np.float32) if dta == np.float32 and dtb == np.float32 else \
        np.dtype(np.float64)

    # block sizes
    if chunks is None:
        if isinstance(xa, da.Array) and isinstance(xb, da.Array):
            rc, kc, cc = xa.chunks[0], xa.chunks[1], xb.chunks[1]
        else:
            workers = _scheduler_workers(scheduler)
            bm, bk, bn = plan_chunks(m, k, n, dtype, memory_budget, workers, eps, split_every)
            rc = xa.chunks[0] if isinstance(xa, da.Array) else _chunk_sizes(m, bm, "chunks")
            kc = xa.chunks[1] if isinstance(xa, da.Array) else _chunk_sizes(k, bk, "chunks")
            cc = xb.chunks[1] if isinstance(xb, da.Array) else _chunk_sizes(n, bn, "chunks")
    else:
        if isinstance(chunks, numbers.Integral) and not isinstance(chunks, bool):
            chunks = (chunks, chunks, chunks)
        if not isinstance(chunks, (tuple, list)) or len(chunks) != 3:
            raise ValueError(f"chunks must be an int, (bm, bk, bn) or three tuples of block "
                             f"sizes, got {chunks!r}")
        rc = _chunk_sizes(m, chunks[0], "chunks[0] (rows of A)")
        kc = _chunk_sizes(k, chunks[1], "chunks[1] (inner dimension)")
        cc = _chunk_sizes(n, chunks[2], "chunks[2] (columns of B)")
    if isinstance(xa, da.Array) and xa.chunks != (tuple(rc), tuple(kc)):
        xa = xa.rechunk((tuple(rc), tuple(kc)))
    if isinstance(xb, da.Array) and xb.chunks != (tuple(kc), tuple(cc)):
        xb = xb.rechunk((tuple(kc), tuple(cc)))
    ro, ko, co = _offsets(rc), _offsets(kc), _offsets(cc)

    token = uuid.uuid4().hex
    name = f"tropical-matmul-{token}"
    pname = f"tropical-matmul-block-{token}"
    dsk = {}
    deps = []
    src_keys = []
    for x, label in ((xa, "A"), (xb, "B")):
        if isinstance(x, da.Array):
            deps.append(x)
            src_keys.append(None)
        else:
            key = f"tropical-matmul-source{label}-{token}"
            dsk[key] = x
            src_keys.append(key)
    threads = numba_threads
    for i, j, t in itertools.product(range(len(rc)), range(len(cc)), range(len(kc))):
        ra, ka, cb = slice(ro[i], ro[i + 1]), slice(ko[t], ko[t + 1]), slice(co[j], co[j + 1])
        if src_keys[0] is None and src_keys[1] is None:
            where = (f"[{ra.start}:{ra.stop}, {ka.start}:{ka.stop}]",
                     f"[{ka.start}:{ka.stop}, {cb.start}:{cb.stop}]")
            dsk[(pname, i, j, t)] = (_block_product, (xa.name, i, t), (xb.name, t, j), eps, s,
                                     dtype, where, threads)
        else:
            a = src_keys[0] if src_keys[0] is not None else \
                (_LazyBlockSource, (xa.name, i, t), ro[i], ko[t])
            b = src_keys[1] if src_keys[1] is not None else \
                (_LazyBlockSource, (xb.name, t, j), ko[t], co[j])
            dsk[(pname, i, j, t)] = (_source_product, a, b, ra, ka, cb, eps, s, dtype, threads)
        # the (+)-tree over t is built below, once all leaves exist
    nk = len(kc)
    for i, j in itertools.product(range(len(rc)), range(len(cc))):
        level = [(pname, i, j, t) for t in range(nk)]
        depth = 0
        while len(level) > split_every:
            depth += 1
            nxt = []
            for g in range(0, len(level), split_every):
                key = (f"{name}-combine{depth}", i, j, g // split_every)
                dsk[key] = (_combine, level[g:g + split_every], eps, s)
                nxt.append(key)
            level = nxt
        if len(level) == 1 and eps == 0.0:
            dsk[(name, i, j)] = (_cast, level[0], dtype)
        else:
            dsk[(name, i, j)] = (_combine, level, eps, s, dtype)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=deps)
    C = da.Array(graph, name, chunks=(tuple(rc), tuple(cc)), dtype=dtype)
    if out is None:
        return C
    return _store(C, out, scheduler, dask)


class _LazyBlockSource:
    """A Dask block seen as a source sliced with global indices (mixed inputs)."""

    def __init__(self, block, r0, c0):
        self.block, self.r0, self.c0 = block, r0, c0

    def __getitem__(self, key):
        rows, cols = key
        return self.block[rows.start - self.r0:rows.stop - self.r0,
                          cols.start - self.c0:cols.stop - self.c0]


def _store(C, out, scheduler, dask):
    import dask.array as da

    if tuple(getattr(out, "shape", ())) != C.shape:
        raise ValueError(f"out must have shape {C.shape}, got {getattr(out, 'shape', None)}")
    out_dtype = np.dtype(getattr(out, "dtype", np.float64))
    if not np.can_cast(C.dtype, out_dtype, casting="safe"):
        # an integer (or float32 for a float64 C) target would silently truncate or round
        raise ValueError(f"out must have a dtype that holds {C.dtype} exactly, got {out_dtype}")
    target = _FileArray.from_memmap(out, writable=True)
    if target is None:
        if isinstance(out, np.memmap) and getattr(out, "mode", None) == "r":
            raise ValueError("out is a read-only memmap (mode 'r'); open it with mode 'r+' or 'w+'")
        if isinstance(out, np.ndarray) and not isinstance(out, np.memmap) and (
                _is_client(scheduler) or (scheduler is None and _default_is_distributed())):
            raise ValueError("out is an in-memory ndarray, which distributed workers cannot "
                             "write into; use an np.memmap on a shared file system or a zarr "
                             "array, or compute C and gather it")
        if isinstance(out, np.ndarray) and not out.flags.writeable:
            raise ValueError("out is not writeable")
        target = out
    kwargs = {}
    if scheduler is not None:
        kwargs["scheduler"] = scheduler
    # Each task writes its own, disjoint block: no lock needed (positional
    # writes for memmaps, distinct chunks for zarr with chunk-aligned blocks).
    lock = not (isinstance(target, _FileArray) or isinstance(out, np.ndarray))
    da.store(C, target, lock=lock, compute=True, **kwargs)
    if isinstance(out, np.memmap) and isinstance(target, _FileArray):
        out.flush()
    return out


def _default_is_distributed():
    if "distributed" not in sys.modules:
        return False
    try:
        from distributed import default_client

        default_client()
        return True
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------------
# sweeps
# ---------------------------------------------------------------------------
def _grid_points(grid):
    """The grid as a list of dicts (a dict of lists is a cartesian product)."""
    if isinstance(grid, dict):
        if not grid:
            raise ValueError("grid is an empty dict: give at least one parameter")
        names, values = [], []
        for key, vals in grid.items():
            if not isinstance(key, str):
                raise TypeError(f"grid: parameter names must be strings, got {key!r}")
            if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
                raise TypeError(f"grid[{key!r}] must be a sequence of values, got {vals!r}")
            vals = list(vals)
            if not vals:
                raise ValueError(f"grid[{key!r}] is empty: the grid would have no points")
            names.append(key)
            values.append(vals)
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    if isinstance(grid, (str, bytes)) or not hasattr(grid, "__iter__"):
        raise TypeError(f"grid must be a list of dicts or a dict of lists, got "
                        f"{type(grid).__name__}")
    points = list(grid)
    if not points:
        raise ValueError("grid is empty: no points to run")
    for q, p in enumerate(points):
        if not isinstance(p, dict):
            raise TypeError(f"grid[{q}] must be a dict of keyword arguments, got "
                            f"{type(p).__name__} {p!r}")
    return [dict(p) for p in points]


def _exc_text(exc):
    return f"{type(exc).__name__}: {exc}"


def _jsonable(value):
    if hasattr(value, "to_json") and callable(value.to_json):
        return {"__type__": type(value).__name__, "json": json.loads(value.to_json())}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": repr(value)}


class SweepResult:
    """What a :func:`sweep` computed: results and failures by grid point.

    Attributes
    ----------
    points : list of dict
        The grid points, in grid order.
    results : dict of int -> object
        ``results[q]``: the value returned at ``points[q]`` (finished points only).
    failures : dict of int -> str
        ``failures[q]``: ``"ExceptionType: message"`` of a point that failed
        (after its retries; a task whose worker died too often fails with
        ``KilledWorker``).
    interrupted : bool
        True when the sweep was stopped (Ctrl-C) before every point finished.
    elapsed : float
        Seconds.

    Examples
    --------
    >>> from tropical.parallel import sweep
    >>> r = sweep(lambda x: 1.0 / x, {"x": [1.0, 0.0, 4.0]})
    >>> r
    SweepResult(2/3 done, 1 failed)
    >>> r.failures
    {1: 'ZeroDivisionError: float division by zero'}
    >>> r[{"x": 4.0}], r.pending, r.complete
    (0.25, [], True)
    """

    def __init__(self, points, results=None, failures=None, interrupted=False, elapsed=0.0):
        self.points = list(points)
        self.results = dict(results or {})
        self.failures = dict(failures or {})
        self.interrupted = bool(interrupted)
        self.elapsed = float(elapsed)

    def _index(self, point):
        if isinstance(point, dict):
            for q, p in enumerate(self.points):
                if p == point:
                    return q
            raise KeyError(f"{point!r} is not a point of this grid")
        q = check_int(point, "point", minimum=-len(self.points))
        if q >= len(self.points):
            raise KeyError(f"grid index {q} out of range for {len(self.points)} points")
        return q % len(self.points)

    def __getitem__(self, point):
        """The result at a grid point (a dict) or grid index; KeyError if it has none."""
        q = self._index(point)
        if q in self.results:
            return self.results[q]
        if q in self.failures:
            raise KeyError(f"point {self.points[q]!r} failed: {self.failures[q]}")
        raise KeyError(f"point {self.points[q]!r} has no result (interrupted before it finished)")

    def __len__(self):
        return len(self.results)

    def items(self):
        """``(point, result)`` of the finished points, in grid order."""
        return [(self.points[q], self.results[q]) for q in sorted(self.results)]

    @property
    def pending(self):
        """Grid indices with neither a result nor a failure."""
        return [q for q in range(len(self.points)) if q not in self.results
                and q not in self.failures]

    @property
    def complete(self):
        """Every point has a result or a failure."""
        return not self.pending

    def __repr__(self):
        state = ", interrupted" if self.interrupted else ""
        pend = f", {len(self.pending)} pending" if self.pending else ""
        return (f"SweepResult({len(self.results)}/{len(self.points)} done, "
                f"{len(self.failures)} failed{pend}{state})")

    def to_json(self, path=None) -> str:
        """JSON text (also written to ``path``). Values with ``to_json()``
        are embedded as their JSON; arrays as lists; others by ``repr``."""
        doc = {"format": "tropical.sweep", "version": 1,
               "points": [_jsonable(p) for p in self.points],
               "results": {str(q): _jsonable(v) for q, v in sorted(self.results.items())},
               "failures": {str(q): v for q, v in sorted(self.failures.items())},
               "interrupted": self.interrupted, "elapsed": self.elapsed}
        return dump_document(doc, path)

    @classmethod
    def from_json(cls, text) -> "SweepResult":
        """Rebuild from :meth:`to_json` output (text or a path); values come back as JSON data."""
        doc = load_document(text, "tropical.sweep")
        return cls(doc["points"], {int(q): v for q, v in doc["results"].items()},
                   {int(q): v for q, v in doc["failures"].items()}, doc["interrupted"],
                   doc["elapsed"])


class _Progress:
    def __init__(self, show, total, label):
        self.show, self.total, self.label = show, total, label
        self.t0 = self.last = time.monotonic()

    def update(self, done, failed, force=False):
        if not self.show:
            return
        now = time.monotonic()
        if force or now - self.last > 0.2:
            self.last = now
            sys.stderr.write(f"\r{self.label}: {done}/{self.total} done, {failed} failed, "
                             f"{now - self.t0:.1f} s")
            sys.stderr.flush()

    def close(self, note=""):
        if self.show:
            sys.stderr.write(f"{note}\n")
            sys.stderr.flush()


def _call_point(fn, point):
    return fn(**point)


def sweep(fn, grid, client=None, *, threads=None, progress=None, retries=0):
    """Map ``fn(**point)`` over a grid of parameters, on a cluster or locally.

    Parameters
    ----------
    fn : callable
        Called with each grid point as keyword arguments. With a client it
        must be picklable (cloudpickle: lambdas and local functions are fine,
        module-level functions are importable on the workers).
    grid : list of dict or dict of lists
        The points; a dict of lists is the cartesian product of its values
        (in key order, last key fastest).
    client : dask.distributed.Client, optional
        Run on this cluster (one task per point, gathered as they finish).
        Default: locally.
    threads : int, optional
        Locally: run on a pool of this many threads (default: serially).
    progress : bool, optional
        Progress on stderr (default: when stderr is a terminal).
    retries : int, default 0
        Extra attempts of a point that raised (``client.submit(retries=)``
        with a client). A task whose worker dies is rescheduled by the
        scheduler (up to ``distributed.scheduler.allowed-failures`` times,
        then it fails with ``KilledWorker``); finished results are kept on
        the client as they arrive, so a dying worker loses none of them.

    Returns
    -------
    SweepResult
        Ctrl-C returns the results so far with ``interrupted=True`` (the
        points still running are cancelled).

    Examples
    --------
    >>> from tropical.parallel import sweep
    >>> r = sweep(lambda a, b: a + b, [{"a": 1, "b": 2}, {"a": 3, "b": 4}], threads=2)
    >>> r.items()
    [({'a': 1, 'b': 2}, 3), ({'a': 3, 'b': 4}, 7)]
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    points = _grid_points(grid)
    retries = check_int(retries, "retries", minimum=0)
    if threads is not None:
        threads = check_int(threads, "threads", minimum=1)
    show = _want_progress(progress)
    res = SweepResult(points)
    bar = _Progress(show, len(points), "sweep")
    t0 = time.perf_counter()
    try:
        if client is not None:
            if not _is_client(client):
                raise TypeError(f"client must be a dask.distributed.Client, got "
                                f"{type(client).__name__}")
            _sweep_client(fn, points, client, retries, res, bar)
        elif threads is None or threads == 1:
            for q, p in enumerate(points):
                _run_local(fn, p, q, retries, res)
                bar.update(len(res.results), len(res.failures))
        else:
            _sweep_threads(fn, points, threads, retries, res, bar)
    except KeyboardInterrupt:
        res.interrupted = True
    res.elapsed = time.perf_counter() - t0
    bar.update(len(res.results), len(res.failures), force=True)
    bar.close(" (interrupted)" if res.interrupted else "")
    return res


def _run_local(fn, point, q, retries, res):
    for attempt in range(retries + 1):
        try:
            res.results[q] = fn(**point)
            res.failures.pop(q, None)
            return
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            res.failures[q] = _exc_text(exc)


def _sweep_threads(fn, points, threads, retries, res, bar):
    from concurrent.futures import ThreadPoolExecutor, as_completed

    def job(q, p):
        tmp = SweepResult(points)
        _run_local(fn, p, q, retries, tmp)
        return q, tmp

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tropical-sweep")
    try:
        futs = [pool.submit(job, q, p) for q, p in enumerate(points)]
        for f in as_completed(futs):
            q, tmp = f.result()
            res.results.update(tmp.results)
            res.failures.update(tmp.failures)
            bar.update(len(res.results), len(res.failures))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _sweep_client(fn, points, client, retries, res, bar):
    distributed = _require_distributed("sweep")
    tag = uuid.uuid4().hex[:12]
    futs = {}
    for q, p in enumerate(points):
        f = client.submit(_call_point, fn, p, key=f"tropical-sweep-{tag}-{q}", pure=False,
                          retries=retries)
        futs[f] = q
    ac = distributed.as_completed(list(futs), loop=client.loop)
    try:
        for f in ac:
            q = futs[f]
            if f.status == "finished":
                try:
                    res.results[q] = f.result()
                except Exception as exc:  # noqa: BLE001 - lost between finish and gather
                    res.failures[q] = _exc_text(exc)
            else:
                try:
                    exc = f.exception()
                except Exception as err:  # noqa: BLE001 - a cancelled future raises here
                    exc = err
                res.failures[q] = _exc_text(exc) if exc is not None else f"task {f.status}"
            f.release()
            bar.update(len(res.results), len(res.failures))
    except KeyboardInterrupt:
        client.cancel([f for f, q in futs.items() if q not in res.results
                       and q not in res.failures])
        raise


# ---------------------------------------------------------------------------
# regions by sub-boxes
# ---------------------------------------------------------------------------
def _check_splits(splits, d):
    if splits is None:
        return tuple(2 if k < 3 else 1 for k in range(d))
    if isinstance(splits, numbers.Integral) and not isinstance(splits, bool):
        return (check_int(splits, "splits", minimum=1),) * d
    try:
        seq = tuple(splits)
    except TypeError:
        raise TypeError(f"splits must be an int or a sequence of {d} ints, "
                        f"got {splits!r}") from None
    if len(seq) != d:
        raise ValueError(f"splits must have one entry per input ({d}), got {len(seq)}: {seq!r}")
    return tuple(check_int(v, "splits entry", minimum=1) for v in seq)


def _subbox_regions(net, lo, hi, method, faces, scale):
    """Regions of one sub-box, as plain arrays, with the pieces on its inner faces.

    ``faces``: ``(axis, side, c)`` of each face shared with another sub-box
    (``side`` +1 for the upper face ``x_axis = c = hi[axis]``, -1 for the
    lower one). For each, the pieces touching it in a ``(d-1)``-dimensional
    set: ``(index, footprint, A, b)`` with ``footprint`` the piece's
    vertices on the face (coordinate ``axis`` dropped) and, in ``d >= 3``,
    its inequalities ``A x <= b``.
    """
    from .regions import regions as enumerate_regions

    R = enumerate_regions(net, (np.asarray(lo), np.asarray(hi)), method=method, progress=False)
    d = R.dim
    n = len(R)
    tol = 1e-9 * scale
    verts = [R._vertices(i) for i in range(n)] if (faces or d <= 2) else []
    touching = {}
    for axis, side, c in faces:
        found = []
        for i in range(n):
            V = verts[i]
            on = np.abs(V[:, axis] - c) <= tol
            if d == 1:
                ok = bool(on.any())
            else:
                ok = int(on.sum()) >= d
            if not ok:
                continue
            foot = np.delete(V[on], axis, axis=1)
            if d >= 3:
                A, b = R._hrep(i)
                found.append((i, foot, A, b))
            else:
                found.append((i, foot, None, None))
        touching[(axis, side)] = found
    return {
        "codes": R.codes, "interior": R.interior_points, "edges": R.edges,
        "method": R.method, "complete": R.complete,
        "volumes": R.volumes if d <= 2 else None,
        "verts": verts if d <= 2 else None,
        "faces": touching,
    }


def _faces_touch(d, axis, c, p, q, tol, scale):
    """Whether two pieces on opposite sides of ``x_axis = c`` share a (d-1)-dim set of it."""
    _, fp, Ap, bp = p
    _, fq, Aq, bq = q
    if d == 1:
        return True
    lo = np.maximum(fp.min(axis=0), fq.min(axis=0))
    hi = np.minimum(fp.max(axis=0), fq.max(axis=0))
    if not np.all(hi - lo > tol):
        return False
    if d == 2:
        return True                           # two intervals of one line overlap
    from .regions import _RADIUS_TOL, _chebyshev_linprog

    A = np.vstack([Ap, Aq])
    b = np.concatenate([bp, bq]) - A[:, axis] * c
    A = np.delete(A, axis, axis=1)
    norms = np.linalg.norm(A, axis=1)
    flat = norms <= 1e-12
    if np.any(b[flat] < -tol):
        return False
    A, b = A[~flat] / norms[~flat, None], b[~flat] / norms[~flat]
    _, radius = _chebyshev_linprog(A, b, scale)
    return bool(radius > _RADIUS_TOL * scale)


def regions(net, box, client=None, *, splits=None, method="auto", progress=None):
    """Exact activation regions, enumerated sub-box by sub-box and merged.

    The box is cut into a grid of sub-boxes; :func:`tropical.regions.regions`
    runs on each (on the cluster when a client is given), and the pieces are
    merged. An activation region is convex (its pattern fixes every layer's
    affine map, so it is an intersection of half-spaces with the box): the
    pieces of one region in different sub-boxes carry the same pattern, and
    two pieces with the same pattern always belong to one region (they are
    parts of one convex set, so touching along the shared boundary), which
    makes merging by pattern exact. Adjacency inside a sub-box comes from
    its enumeration; across a shared face, two regions are adjacent where
    their pieces' footprints on the face overlap in a ``(d-1)``-dimensional
    set (interval overlap in 2-D, a Chebyshev LP in ``d >= 3``), which finds
    the facets lying inside the face (a unit's hyperplane on the cut).

    Parameters
    ----------
    net : tropical.nets.Network or list of (W, b)
        As for :func:`tropical.regions.regions`.
    box : float or (lo, hi)
        A half-width or the corners.
    client : dask.distributed.Client, optional
        Run the sub-boxes on this cluster (default: here, one after the other).
    splits : int or sequence of int, optional
        Pieces along each axis (``int``: every axis). Default: 2 along each
        of the first three axes (at most 8 sub-boxes).
    method : {"auto", "walk", "split"}
        Passed to every sub-box.
    progress : bool, optional
        Progress on stderr (default: when stderr is a terminal).

    Returns
    -------
    tropical.regions.Regions
        The same regions (patterns, adjacency, volumes) as one enumeration of
        the whole box, ordered by pattern; ``method`` names the sub-box
        method and the number of sub-boxes. Volumes in 1-D / 2-D are the sums
        of the pieces'. Ctrl-C keeps the finished sub-boxes
        (``complete=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from tropical.nets import Network
    >>> from tropical.regions import regions as regions_here
    >>> from tropical.parallel import regions
    >>> rng = np.random.default_rng(1)
    >>> net = Network.from_weights([(rng.normal(size=(6, 2)), rng.normal(size=6)),
    ...                             (rng.normal(size=(1, 6)), np.zeros(1))])
    >>> R = regions(net, 2.0, splits=3)
    >>> S = regions_here(net, 2.0)                    # one enumeration of the whole box
    >>> R.method, len(R) == len(S), R.counts() == S.counts()
    ('split-2d (9 sub-boxes)', True, True)
    """
    from . import regions as regmod

    t0 = time.perf_counter()
    net, spec = regmod._spec(net)
    d = net.in_dim
    lo, hi = regmod._box(box, d)
    if method not in ("auto", "walk", "split"):
        raise ValueError(f"method must be 'auto', 'walk' or 'split', got {method!r}")
    splits = _check_splits(splits, d)
    cuts = []
    for k in range(d):
        c = np.linspace(lo[k], hi[k], splits[k] + 1)
        c[0], c[-1] = lo[k], hi[k]
        cuts.append(c)
    cells = list(itertools.product(*[range(sk) for sk in splits]))
    scale = float(np.max(hi - lo))
    jobs = []
    for cell in cells:
        sub_lo = np.array([cuts[k][cell[k]] for k in range(d)])
        sub_hi = np.array([cuts[k][cell[k] + 1] for k in range(d)])
        faces = []
        for k in range(d):
            if cell[k] > 0:
                faces.append((k, -1, float(sub_lo[k])))
            if cell[k] < splits[k] - 1:
                faces.append((k, 1, float(sub_hi[k])))
        jobs.append((sub_lo, sub_hi, faces))
    show = _want_progress(progress)
    bar = _Progress(show, len(cells), "regions: sub-boxes")
    done = {}
    interrupted = False
    try:
        if client is not None:
            if not _is_client(client):
                raise TypeError(f"client must be a dask.distributed.Client, got "
                                f"{type(client).__name__}")
            distributed = _require_distributed("regions")
            [net_f] = client.scatter([net], broadcast=True)
            futs = {client.submit(_subbox_regions, net_f, sl, sh, method, fc, scale,
                                  pure=False): q for q, (sl, sh, fc) in enumerate(jobs)}
            try:
                for f in distributed.as_completed(list(futs), loop=client.loop):
                    done[futs[f]] = f.result()
                    f.release()
                    bar.update(len(done), 0)
            except KeyboardInterrupt:
                client.cancel(list(futs))
                raise
        else:
            for q, (sl, sh, fc) in enumerate(jobs):
                done[q] = _subbox_regions(net, sl, sh, method, fc, scale)
                bar.update(len(done), 0)
    except KeyboardInterrupt:
        interrupted = True
    bar.update(len(done), 0, force=True)
    bar.close(" (interrupted)" if interrupted else "")
    return _merge_subboxes(net, spec, d, lo, hi, cells, splits, jobs, done, interrupted, scale,
                           time.perf_counter() - t0)


def _merge_subboxes(net, spec, d, lo, hi, cells, splits, jobs, done, interrupted, scale, elapsed):
    from .regions import Regions, _ccw, _drop_collinear, _unique_rows

    gid_of = {}                          # pattern bytes -> global id
    codes, first_x = [], []
    local = {}                           # sub-box -> local index -> global id
    vols, verts = {}, {}
    edges = set()
    methods = set()
    complete = not interrupted and len(done) == len(cells)
    for q in sorted(done):
        part = done[q]
        methods.add(part["method"])
        complete &= bool(part["complete"])
        ids = np.empty(len(part["codes"]), np.int64)
        for i, code in enumerate(part["codes"]):
            key = code.tobytes()
            g = gid_of.get(key)
            if g is None:
                g = gid_of[key] = len(codes)
                codes.append(code)
                first_x.append(part["interior"][i])
            ids[i] = g
            if part["volumes"] is not None:
                vols[g] = vols.get(g, 0.0) + float(part["volumes"][i])
            if part["verts"] is not None:
                verts.setdefault(g, []).append(part["verts"][i])
        local[q] = ids
        for a, b in np.asarray(part["edges"], dtype=np.int64).reshape(-1, 2):
            ga, gb = int(ids[a]), int(ids[b])
            if ga != gb:
                edges.add((min(ga, gb), max(ga, gb)))
    # adjacency across the faces shared by two sub-boxes
    tol = 1e-9 * scale
    index = {cell: q for q, cell in enumerate(cells)}
    for q, cell in enumerate(cells):
        if q not in done:
            continue
        for axis, side, c in jobs[q][2]:
            if side != 1:
                continue
            other = list(cell)
            other[axis] += 1
            r = index[tuple(other)]
            if r not in done:
                continue
            P = done[q]["faces"][(axis, 1)]
            Q = done[r]["faces"][(axis, -1)]
            for p in P:
                gp = int(local[q][p[0]])
                for pq in Q:
                    gq = int(local[r][pq[0]])
                    e = (min(gp, gq), max(gp, gq))
                    if gp == gq or e in edges:
                        continue
                    if _faces_touch(d, axis, c, p, pq, tol, scale):
                        edges.add(e)
    N = len(codes)
    P = sum(L.ncode for L in spec)
    C = np.array(codes, dtype=np.int16).reshape(N, P)
    order = np.lexsort(C.T[::-1]) if N and P else np.arange(N)
    rank = np.empty(N, np.int64)
    rank[order] = np.arange(N)
    E = np.array(sorted((min(rank[a], rank[b]), max(rank[a], rank[b])) for a, b in edges),
                 dtype=np.int64).reshape(-1, 2)
    X = np.array(first_x, dtype=np.float64).reshape(N, d)[order]
    volumes = None
    vdict = None
    if d <= 2 and N:
        volumes = np.array([vols[g] for g in order])
        vdict = {}
        for newi, g in enumerate(order):
            pts = np.vstack(verts[g])
            if d == 1:
                V = np.array([[pts.min()], [pts.max()]])
                X[newi] = V.mean(axis=0)
            else:
                V = _drop_collinear(_ccw(_unique_rows(pts)))
                X[newi] = V.mean(axis=0)
            vdict[newi] = V
    method = f"{'/'.join(sorted(methods)) or 'none'} ({len(cells)} sub-boxes)"
    layout = [(L.kind, L.ncode) for L in spec]
    return Regions(dim=d, lo=lo, hi=hi, codes=C[order], interior=X, edges=E, method=method,
                   complete=complete, spec=spec, net=net, layout=layout, volumes=volumes,
                   verts=vdict, elapsed=elapsed)

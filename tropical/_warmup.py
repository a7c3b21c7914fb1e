"""Compile (or load from Numba's cache) every kernel before first use."""

from __future__ import annotations

import time

import numpy as np

from . import _config, _kernels
from .kernels import KERNEL_NAMES

__all__ = ["warmup"]


def _fit_args():
    """``(X, y, W, b, eps, f, gW, gb)`` then Adam's state for the fit kernels (float64)."""
    X = np.arange(6.0).reshape(3, 2) / 5
    W, b = np.eye(2), np.zeros(2)
    return (X, X[:, 0], W, b, 0.5, np.empty(3), np.empty((2, 2)), np.empty(2),
            np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2), np.zeros(2), W.copy(), b.copy(),
            np.array([np.inf, np.nan]), np.empty(1), np.empty(3), np.empty((2, 2)),
            np.empty(2))


def _calls(dtype):
    """One small call per kernel, exercising its compiled signature."""
    A = np.arange(12, dtype=dtype).reshape(3, 4) / 7
    B = np.arange(8, dtype=dtype).reshape(4, 2) / 5
    x = np.arange(4, dtype=dtype) / 3
    sq = np.full((3, 3), -np.inf, dtype=dtype)
    M = (A[:, :, None] + B[None, :, :]).max(axis=1)  # the eps = 0 product of A and B
    return {
        "maxplus_gemm": (A, B, 1, M),
        "maxplus_gemm_argmax": (A, B, 1, np.empty((3, 2), dtype), np.empty((3, 2), np.int64)),
        "maxplus_matvec": (A, x, 1, np.empty(3, dtype)),
        "lse_rows": (A, 0.5, 1, np.empty(3, dtype)),
        "softmax_rows": (A, 0.5, 1, np.empty_like(A)),
        "lse_gemm_rows": (A, B, M, 0.5, 1, np.arange(3, dtype=np.int64), np.empty((3, 2), dtype)),
        "lse_matvec": (A, x, 0.5, 1, np.empty(3, dtype)),
        "maxplus_gemm_top2": (A, B, 1, np.empty((3, 2), dtype), np.empty((3, 2), dtype)),
        "lse_gemm_entries": (A, B, 0.5, 1, np.ones((3, 2), np.bool_),
                             np.empty((3, 2), dtype)),
        "lse_from_top2": (M, M, 0.5, 40.0, 1, np.empty((3, 2), dtype), np.empty((3, 2), np.bool_)),
        "lse_shift_exp": (A, 0.5, 1, 1, 500, np.empty(3), np.empty((3, 4))),
        "lse_gemm_blas_finish": (M, np.ones((3, 2)), np.zeros(3), np.zeros(2), np.ones((1, 1)),
                                 0.5, 1, 1e-250, np.empty((3, 2), dtype),
                                 np.empty((3, 2), np.bool_)),
        "maxplus_closure": (sq, 1, np.empty_like(sq)),
        # graph kernels: float64 weights and int64 CSR indices whatever ``dtype``
        "howard_mcm": (np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 2.0]), 10, 0.0,
                       np.array([0, 1]), np.empty(2), np.empty(2, np.int64), np.empty(2),
                       np.empty(2, np.int64)),
        "karp_mcm": (np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 2.0]),
                     np.array([0, 2]), 2**23, np.empty(1)),
        "dag_max_reach": (np.array([0, 1, 1]), np.array([1]), np.array([0.0, 1.0])),
        "split_faces_2d": (np.array([[0, 0, 1.0], [1, 0, -1.0], [1, 1, -1.0], [0, 1, 1.0]]),
                           np.array([0, 4]), np.arange(4), np.array([1e-12])),
        # fit kernels: float64 whatever ``dtype``
        "lse_fit_loss_grad": _fit_args()[:8],
        "lse_fit_loss_grad_serial": _fit_args()[:8],
        "lse_fit_adam": _fit_args()[:5] + (0.01, 0, 1, 0.0, False) + _fit_args()[8:],
        # views, attribution: float64 whatever ``dtype``
        **_view_calls(),
    }


def _view_calls():
    """Small calls of the one-pass view kernels and the attribution kernel (float64)."""
    X, WT, b = np.arange(6.0).reshape(3, 2) / 5, np.eye(2), np.zeros(2)
    e = lambda *shape: np.empty(shape)  # noqa: E731
    A, its = X @ WT + b, np.zeros(3, np.int64)
    return {
        "lse_layer_rows": (X, WT, b, 0.5, e(3), e(3), e(3), e(3), e(3), e(3, 2)),
        "lse_scores_rows": (A, 0.5, e(3), e(3), e(3), e(3), e(3), e(3, 2)),
        "hopf_cole_rows": (X, WT, b, 1.0, 0.5, e(3), e(3), e(3), e(3), e(3), e(3, 2), e(3, 2),
                           e(3), e(3)),
        "entropic_dual_rows": (A, 0.5, np.full(3, 1e-12), np.zeros(3), 50, e(3), e(3, 2), e(3),
                               e(3), its, e(3)),
        "gibbs_l1_rows": (A, A, e(3)),
        "gibbs_l1_pair_rows": (A, A, A, e(3), e(3)),
        "affine_scale_rows": (X, WT, b, e(3)),
        "entropic_dual_points": (X, WT, b, 0.5, 1e-12, 50, e(3), e(3, 2), e(3), e(3), its, e(3),
                                 e(3), e(3)),
        "entropy_derivatives": (WT, b, X, 0.5, 3, e(3), e(3, 2), e(3, 2, 2), e(3, 2, 2, 2),
                                e(3, 2), e(3, 2, 2)),
    }


def warmup(verbose=False):
    """Compile or load every kernel for float32 and float64.

    The first call in a fresh environment compiles (seconds); later processes
    load the kernels from Numba's on-disk cache (``NUMBA_CACHE_DIR``).
    With ``TROPICAL_JIT=0`` there is nothing to compile and this returns at once.

    Parameters
    ----------
    verbose : bool, default False
        Print one line per kernel with the time it took.

    Returns
    -------
    dict
        Kernel name -> seconds spent compiling/loading it (both dtypes).

    Examples
    --------
    >>> import tropical
    >>> times = tropical.warmup()
    >>> sorted(times) == sorted(tropical.kernels.KERNEL_NAMES)
    True
    """
    times = {}
    for name in KERNEL_NAMES:
        t0 = time.perf_counter()
        if _config.jit_enabled():
            fn = _kernels.get(name)
            # "M" of lse_gemm_rows must hold the eps = 0 product
            for dtype in (np.float64, np.float32):
                args = _calls(dtype)[name]
                if name == "lse_gemm_rows":
                    _kernels.get("maxplus_gemm")(args[0], args[1], 1, args[2])
                fn(*args)
        times[name] = time.perf_counter() - t0
        if verbose:
            print(f"  {name:<22s} {times[name]:7.3f} s", flush=True)
    return times


warmup.__module__ = "tropical"

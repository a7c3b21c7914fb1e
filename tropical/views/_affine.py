"""The data shared by the network and convex views: ``(W, b, eps)``.

Both :class:`~tropical.views.network.LSELayer` and
:class:`~tropical.views.convex.EntropicLP` are the family of affine functions
``x -> W x + b`` (rows ``w_j``, biases ``b_j``) at a temperature ``eps``;
this base class validates and stores that data once, read-only.
"""

from __future__ import annotations

import numpy as np

from .._validate import as_semiring_array, check_eps

__all__ = ["AffineFamily", "finite_matrix", "row_kernel"]

#: Below this many (point, term) pairs the row kernels of the views run as their
#: numpy twins: loading a compiled kernel from Numba's cache costs more than
#: the whole evaluation of a small batch (``tropical check`` on the default model).
SMALL_WORK = 1 << 15


def row_kernel(name, work):
    """The kernel ``name`` of :mod:`tropical.kernels.views` for ``work`` (point, term) pairs.

    The compiled kernel (through :func:`tropical._kernels.get`, so
    ``TROPICAL_JIT=0`` applies), or its numpy twin from
    :mod:`tropical.kernels.reference` (same contract, tested against each
    other) when ``work < SMALL_WORK``.
    """
    if work < SMALL_WORK:
        from ..kernels import reference

        return getattr(reference, name)
    from .. import _kernels

    return _kernels.get(name)


def finite_matrix(W, name="W"):
    """``W`` as a finite float64 (N, d) array (a 1-D array means d = 1)."""
    W = np.asarray(as_semiring_array(W, name, float32_ok=False), dtype=np.float64)
    if W.ndim == 1:
        W = W[:, None]
    if W.ndim != 2 or W.shape[0] == 0 or W.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, d) with N, d >= 1, got {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError(f"{name} must be finite")
    return W


class AffineFamily:
    """Validated, immutable ``W`` (N, d), ``b`` (N,) and ``eps >= 0``."""

    __slots__ = ("_W", "_b", "_eps")

    def __init__(self, W, b, eps=0.0):
        W = finite_matrix(W)
        b = np.asarray(as_semiring_array(b, "b", float32_ok=False), dtype=np.float64)
        if b.ndim == 0:
            b = b[None]
        if b.shape != (W.shape[0],):
            raise ValueError(f"b must have shape ({W.shape[0]},) to match W {W.shape}, "
                             f"got {b.shape}")
        if not np.isfinite(b).all():
            raise ValueError("b must be finite")
        W = W.copy()
        b = b.copy()
        W.flags.writeable = False
        b.flags.writeable = False
        self._W, self._b, self._eps = W, b, check_eps(eps)

    @property
    def W(self) -> np.ndarray:
        return self._W

    @property
    def b(self) -> np.ndarray:
        return self._b

    @property
    def eps(self) -> float:
        return self._eps

    @property
    def N(self) -> int:
        return self._W.shape[0]

    @property
    def d(self) -> int:
        return self._W.shape[1]

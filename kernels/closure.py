"""Kleene closure of a max-plus (min-plus) matrix: Floyd-Warshall-Kleene.

``maxplus_closure(A, sense, out)`` fills ``out`` with
A+ = A (+) A^2 (+) A^3 (+) ... (the weights of the heaviest walks, lightest for
``sense = -1``), exact when no cycle has positive weight (negative for the min
sense); the caller checks ``diag(out)`` afterwards to detect divergence. The
loop over the pivot k is sequential; for each k the update of all rows is a
``prange`` over rows with a vectorised inner loop over columns.
"""

from __future__ import annotations

from tropical._config import load_numba

numba = load_numba()
from numba import njit, prange  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["maxplus_closure"]


@njit(cache=True, nogil=True, parallel=True)
def maxplus_closure(A, sense, out):
    n = A.shape[0]
    for i in range(n):
        for j in range(n):
            out[i, j] = sense * A[i, j]
    for k in range(n):
        rowk = out[k].copy()
        for i in prange(n):
            a = out[i, k]
            if a == -np.inf:
                continue
            row = out[i]
            for j in range(n):
                v = a + rowk[j]
                if v > row[j]:
                    row[j] = v
    if sense != 1:
        for i in range(n):
            for j in range(n):
                out[i, j] = -out[i, j]


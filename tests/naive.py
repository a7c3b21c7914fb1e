"""Slow, obviously-correct references for the public-layer tests.

Nothing here imports :mod:`tropical`; every function is a few lines of plain
numpy, mpmath or networkx, so that a test comparing the engine with it compares
two independent implementations.

Error budget of the eps > 0 product (used by :func:`lse_matmul_budget`)
----------------------------------------------------------------------
Write ``u`` for the unit roundoff of the working dtype, ``S_ij`` for the
scale ``max_k |A_ik| + max_k |B_kj|`` (finite entries only), ``C`` for the
result and ``k`` for the inner dimension. Both algorithms the engine uses

* two-pass: ``M = max_k fl(a+b)``, ``C = M + eps*log sum_k exp((fl(a+b) - M)/eps)``,
* shifted BLAS: ``C = (r_i + c_j) + eps*log sum_k exp((a - r_i)/eps) exp((b - c_j)/eps)``

make these errors: each term's exponent ``d/eps`` carries an absolute error of
at most ``4 u S / eps`` (rounding of ``a + b`` or of the shift, ``|d| <= 2 S``),
plus ``u |d|/eps`` from the division and ``u`` from ``exp``: each term is
correct to a relative ``(6 S/eps + 1) u``. Summing the ``K`` terms that are not
the semiring zero (``K <= k``; a zero factor contributes nothing) adds a
relative ``(K - 1) u``; ``eps*log`` of the sum therefore has an absolute error
of ``6 u S + 2 (K - 1) u eps`` plus ``2 u |eps log sum|`` (``sum <= K``); adding
the shift rounds once more (``u |C| + u S``). In all:

    |C - C_exact| <= u * (7 S + 3 |C| + eps * (2 (K - 1) + 2 log K)),

which we double (``finfo.eps`` is ``2 u``) to absorb the second-order terms.
With a single finite term (``K = 1``) the sum is exactly 1 in the two-pass
algorithm and the result is ``fl(a + b)``: no ``eps`` term at all.
"""

from __future__ import annotations

import math
import re

import mpmath
import numpy as np

MP_DPS = 50


# -----------------------------------------------------------------------------
# eps = 0 products (plain numpy broadcasting)
# -----------------------------------------------------------------------------
def naive_matmul(A, B, sense=1):
    """``sense * max_k (sense*A[..., i, k] + sense*B[..., k, j])`` for >= 2-D operands."""
    A = np.asarray(A)
    B = np.asarray(B)
    z = sense * A[..., :, :, None] + sense * B[..., None, :, :]
    return sense * z.max(axis=-2)


def naive_matmul_argmax(A, B, sense=1):
    """Least k attaining each entry of :func:`naive_matmul` (np.argmax picks the first)."""
    A = np.asarray(A)
    B = np.asarray(B)
    z = sense * A[..., :, :, None] + sense * B[..., None, :, :]
    return z.argmax(axis=-2)


def naive_identity(n, sense=1):
    out = np.full((n, n), -sense * np.inf)
    np.fill_diagonal(out, 0.0)
    return out


def naive_star(A, sense=1):
    """``I (+) A (+) A^2 (+) ... (+) A^(n-1)`` at eps = 0, by naive products."""
    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    pick = np.maximum if sense == 1 else np.minimum
    acc = naive_identity(n, sense)
    term = naive_identity(n, sense)
    for _ in range(n - 1):
        term = naive_matmul(term, A, sense)
        acc = pick(acc, term)
    return acc


def floyd_warshall_min_star(A):
    """Min-plus star of a matrix with non-negative weights, by networkx.

    Entries ``+inf`` are missing edges; networkx's Floyd-Warshall puts 0 on
    the diagonal (the empty walk), which is exactly ``I (+) A (+) A^2 ...``.
    """
    import networkx as nx

    A = np.asarray(A, dtype=np.float64)
    n = A.shape[0]
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for i in range(n):
        for j in range(n):
            if np.isfinite(A[i, j]):
                G.add_edge(i, j, weight=float(A[i, j]))
    return np.asarray(nx.floyd_warshall_numpy(G, nodelist=list(range(n)), weight="weight"))


_CYCLE_RE = re.compile(r"the cycle ((?:\d+ -> )+\d+) has (positive|negative) weight (\S+)")


def parse_cycle(message):
    """``(nodes, kind, weight)`` from a star divergence message, or None."""
    m = _CYCLE_RE.search(message)
    if m is None:
        return None
    nodes = [int(v) for v in m.group(1).split(" -> ")]
    return nodes, m.group(2), float(m.group(3))


def cycle_weight(A, nodes):
    """Exact-ish (math.fsum) weight of the closed walk ``nodes[0] -> ... -> nodes[-1]``."""
    return math.fsum(float(A[u, v]) for u, v in zip(nodes, nodes[1:]))


# -----------------------------------------------------------------------------
# mpmath references (50 significant digits)
# -----------------------------------------------------------------------------
def mp_lse_exact(values, eps, sense=1):
    """``sense * eps*log sum exp(sense*v/eps)`` as an mpf at 50 digits.

    The maximum is shifted out; terms below ``exp(-5000)`` relative to the
    largest one are dropped (they are far below 50 digits). Semiring zeros
    are skipped; an all-zero input gives the zero.
    """
    with mpmath.workdps(MP_DPS):
        vals = []
        for v in values:
            v = float(v)
            if math.isinf(v):
                if sense * v < 0:
                    continue
                raise ValueError("the wrong infinity has no place in a reference")
            vals.append(sense * mpmath.mpf(v))
        if not vals:
            return mpmath.mpf(-sense * mpmath.inf)
        m = max(vals)
        if eps == 0:
            return sense * m
        e = mpmath.mpf(eps)
        total = mpmath.fsum(mpmath.exp((v - m) / e) for v in vals if (v - m) / e > -5000)
        return sense * (m + e * mpmath.log(total))


def mp_matmul_exact(A, B, eps, sense=1):
    """2-D semiring product as a nested list of mpf (exact a + b at 50 digits)."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    m, k = A.shape
    n = B.shape[1]
    out = []
    with mpmath.workdps(MP_DPS):
        for i in range(m):
            row = []
            for j in range(n):
                terms = []
                for t in range(k):
                    a, b = A[i, t], B[t, j]
                    if math.isinf(a) or math.isinf(b):
                        continue  # a zero factor absorbs: the term is the zero
                    terms.append(mpmath.mpf(a) + mpmath.mpf(b))
                row.append(_mp_lse_mpf(terms, eps, sense))
            out.append(row)
    return out


def _mp_lse_mpf(terms, eps, sense):
    if not terms:
        return mpmath.mpf(-sense * mpmath.inf)
    vals = [sense * t for t in terms]
    m = max(vals)
    if eps == 0:
        return sense * m
    e = mpmath.mpf(eps)
    total = mpmath.fsum(mpmath.exp((v - m) / e) for v in vals if (v - m) / e > -5000)
    return sense * (m + e * mpmath.log(total))


def mp_abs_error(computed, exact):
    """``|computed - exact|`` as a float array (0 where both are the same infinity)."""
    computed = np.asarray(computed, dtype=np.float64)
    flat = computed.reshape(-1)
    exact_flat = [x for row in exact for x in row] if computed.ndim == 2 else list(exact)
    err = np.empty(flat.shape)
    with mpmath.workdps(MP_DPS):
        for idx, (c, x) in enumerate(zip(flat, exact_flat)):
            if mpmath.isinf(x) or math.isinf(c):
                err[idx] = 0.0 if (math.isinf(c) and mpmath.isinf(x) and (c > 0) == (x > 0)) \
                    else np.inf
            else:
                err[idx] = float(abs(mpmath.mpf(c) - x))
    return err.reshape(computed.shape)


def finite_absmax(X, axis):
    """max |X| along ``axis`` over the finite entries (0 where there are none)."""
    X = np.asarray(X, dtype=np.float64)
    return np.where(np.isfinite(X), np.abs(X), 0.0).max(axis=axis)


def lse_matmul_budget(A, B, C, eps, dtype=np.float64):
    """The error budget derived in the module docstring, per entry of ``C``."""
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    K = (np.isfinite(A).astype(np.float64) @ np.isfinite(B).astype(np.float64))
    S = finite_absmax(A, -1)[:, None] + finite_absmax(B, 0)[None, :]
    absC = np.where(np.isfinite(C), np.abs(np.asarray(C, dtype=np.float64)), 0.0)
    u2 = float(np.finfo(dtype).eps)
    Kc = np.maximum(K, 1.0)
    return u2 * (7 * S + 3 * absC + eps * (2 * (Kc - 1) + 2 * np.log(Kc)))


def ulp(x, dtype=np.float64):
    """Spacing of floats at |x| (for tolerances stated in ulps)."""
    return np.spacing(np.abs(np.asarray(x, dtype=dtype)))

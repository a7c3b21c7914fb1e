r"""Max-plus (min-plus) linear algebra: spectral theory, residuation, determinants, systems.

Conventions (``../shared/design/MATH.md`` section 1)::

    maxplus = (R U {-inf}, max, +, -inf, 0)      minplus = (R U {+inf}, min, +, +inf, 0)
    (A (x) x)_i = (+)_j (A_ij + x_j)             arc i -> j of weight A_ij

A square matrix ``A`` is the weighted digraph with an arc ``i -> j`` of
weight ``A[i, j]`` for every entry that is not the semiring zero (the same
orientation as :func:`networkx.to_numpy_array` and
:func:`networkx.floyd_warshall_numpy`). Every function takes
``sense="max"|"min"``; the min sense is the max sense under negation,
implemented once: ``f(A, sense="min") = -f(-A, sense="max")`` for the
matrix- and vector-valued results (the eigenvalue of ``A`` in the min sense
is the *least* cycle mean). Orders are the semiring's: in the min sense the
"greatest subsolution" of :func:`solve` is the numerically least ``x`` with
``A (x) x >= b``.

Graph-shaped functions (:func:`eigenvalue`, :func:`cycle_time`,
:func:`critical_graph`) accept a dense array, a ``scipy.sparse`` matrix or
array (its *stored* entries are the arcs, explicit zeros included; absent
entries are the semiring zero; duplicates are combined with (+)) or a
networkx graph (arcs with a ``weight`` attribute; node ``k`` of the result is
``list(G)[k]``). Howard's policy iteration and Karp's algorithm run on the
compressed sparse rows of the strongly connected components, in
``O(m)`` per Howard iteration and ``O(n m)`` time, ``O(n)`` memory for Karp.
The other functions work on dense matrices and convert sparse input.

Exactness: on integer-valued data (entries and their sums below ``2**45``)
every comparison is exact: cycle means are compared cross-multiplied
(``P_1 Q_2`` against ``P_2 Q_1``), never rounded, and the eigenvalue is
``P / Q`` rounded once, the same float from Howard and from Karp. On general
floats, ties are decided with a relative tolerance that each function states.

Examples
--------
>>> import numpy as np
>>> from tropical import linalg
>>> A = np.array([[1.0, 6.0], [2.0, 3.0]])     # cycles: 1, 3 (loops), 8/2 = 4
>>> float(linalg.eigenvalue(A)), float(linalg.eigenvalue(A, method="karp"))
(4.0, 4.0)
>>> linalg.eigenvectors(A)                      # column 0 of (A - 4)*
array([[ 0.],
       [-2.]])
>>> float(linalg.eigenvalue(A, sense="min"))   # least cycle mean
1.0
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import NamedTuple

import numpy as np

from . import _kernels, _ops
from ._validate import as_semiring_array, check_int, check_sense

__all__ = [
    "to_graph",
    "from_graph",
    "eigenvalue",
    "cycle_time",
    "critical_graph",
    "eigenvectors",
    "spectral_projector",
    "cyclicity",
    "transient",
    "Transient",
    "star",
    "plus",
    "astarb",
    "solve",
    "is_solvable",
    "minimal_covers",
    "det",
    "is_singular",
    "rank",
    "simulate",
    "Simulation",
]

#: Relative tolerance of Howard's comparisons on non-integer data.
_RTOL_HOWARD = 2.0 ** -45
#: Relative tolerance deciding "tight" (zero reduced weight) arcs on non-integer data.
_RTOL_TIGHT = 2.0 ** -36
#: Karp keeps the whole (n+1) x n table up to this many entries (64 MiB).
_KARP_TABLE_LIMIT = 2 ** 23
#: Integer-valued data is treated exactly while |entries| * n**2 stays below this.
_EXACT_LIMIT = 2.0 ** 45


# --------------------------------------------------------------------------------------
# kernels: the compiled ones (kernels/linalg.py) or their plain-Python twins below
# --------------------------------------------------------------------------------------

def _kernel(name):
    return _kernels.get(name)


def _worse(a, b, rtol):
    """``b`` exceeds ``a`` by more than the relative tolerance (0: exactly)."""
    return b - a > rtol * (abs(a) + abs(b))


# --------------------------------------------------------------------------------------
# input conversion: dense, scipy.sparse, networkx -> arcs with max-sense weights
# --------------------------------------------------------------------------------------

class _Graph(NamedTuple):
    n: int
    src: np.ndarray   # int64 tails
    dst: np.ndarray   # int64 heads
    w: np.ndarray     # float64 max-sense weights, finite
    dense: np.ndarray | None   # the max-sense dense matrix when the input was dense


def _is_networkx(obj):
    return hasattr(obj, "adj") and hasattr(obj, "is_directed") and hasattr(obj, "nodes")


def _is_sparse(obj):
    mod = type(obj).__module__
    if not mod.startswith("scipy.sparse"):
        return False
    import scipy.sparse

    return scipy.sparse.issparse(obj)


def _check_weights(values, name, s):
    """Validate graph weights (a 1-D array) as semiring elements; True where an arc."""
    arr = as_semiring_array(np.asarray(values, dtype=np.float64), name, s)
    return arr, np.isfinite(arr)


def _combine(n, src, dst, w):
    """Merge parallel arcs with (+) = max (max-sense weights)."""
    if src.size == 0:
        return src, dst, w
    order = np.lexsort((dst, src))
    src, dst, w = src[order], dst[order], w[order]
    key = src * n + dst
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return src[first], dst[first], np.maximum.reduceat(w, first)


def _as_graph(A, name, s, weight="weight"):
    """Arcs of ``A`` (dense, scipy.sparse or networkx) with max-sense weights."""
    if _is_networkx(A):
        nodes = list(A)
        index = {v: k for k, v in enumerate(nodes)}
        src, dst, vals = [], [], []
        for u, v, data in A.edges(data=True):
            if weight not in data:
                raise ValueError(f"{name}: the edge {u!r} -> {v!r} has no {weight!r} attribute")
            src.append(index[u])
            dst.append(index[v])
            vals.append(data[weight])
            if not A.is_directed() and u != v:
                src.append(index[v])
                dst.append(index[u])
                vals.append(data[weight])
        vals = np.asarray(vals, dtype=object)
        try:
            vals = vals.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: edge attribute {weight!r} must be real numbers") from None
        vals, ok = _check_weights(vals, f"{name} (edge weights)", s)
        src = np.asarray(src, np.int64)[ok]
        dst = np.asarray(dst, np.int64)[ok]
        src, dst, w = _combine(len(nodes), src, dst, s * vals[ok])
        return _Graph(len(nodes), src, dst, w, None)
    if _is_sparse(A):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
        coo = A.tocoo()
        vals, ok = _check_weights(coo.data, f"{name} (stored entries)", s)
        src = np.asarray(coo.row, np.int64)[ok]
        dst = np.asarray(coo.col, np.int64)[ok]
        src, dst, w = _combine(A.shape[0], src, dst, s * vals[ok])
        return _Graph(A.shape[0], src, dst, w, None)
    M = _square_dense(A, name, s)
    W = s * M.astype(np.float64, copy=False)
    src, dst = np.nonzero(np.isfinite(W))
    return _Graph(W.shape[0], src.astype(np.int64), dst.astype(np.int64), W[src, dst], W)


def _square_dense(A, name, s):
    A = as_semiring_array(A, name, s, min_ndim=2)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {A.shape}")
    if A.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {A.shape})")
    return A


def _dense(A, name, s):
    """A dense float64 square matrix in the caller's sense from any accepted input."""
    if _is_networkx(A) or _is_sparse(A):
        g = _as_graph(A, name, s)
        if g.n == 0:
            raise ValueError(f"{name} is empty")
        M = np.full((g.n, g.n), -np.inf)
        M[g.src, g.dst] = g.w
        return s * M
    return _square_dense(A, name, s).astype(np.float64, copy=False)


def _integral(*arrays):
    """Whether every finite entry is an integer small enough for exact arithmetic."""
    n = 1
    for a in arrays:
        n = max(n, a.shape[0] if a.ndim else 1)
    for a in arrays:
        f = a[np.isfinite(a)]
        if f.size and (np.any(f != np.round(f)) or np.abs(f).max() * n * n >= _EXACT_LIMIT):
            return False
    return True


# --------------------------------------------------------------------------------------
# strongly connected components and the cycle-mean solvers
# --------------------------------------------------------------------------------------

def _scc(n, src, dst):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    g = csr_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(n, n))
    return connected_components(g, directed=True, connection="strong")


def _csr(n, src, dst, w):
    """CSR arrays with the arcs of each tail sorted by decreasing weight."""
    order = np.lexsort((-w, src))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, np.ascontiguousarray(dst[order], np.int64), np.ascontiguousarray(w[order])


class _Cycles:
    """Max cycle means of every strongly connected component of a max-sense graph."""

    def __init__(self, g: _Graph, method: str):
        self.g = g
        n = g.n
        self.ncomp, self.labels = _scc(n, g.src, g.dst)
        intra = self.labels[g.src] == self.labels[g.dst]
        nontrivial = np.zeros(self.ncomp, bool)
        nontrivial[self.labels[g.src[intra]]] = True
        kept = np.flatnonzero(nontrivial[self.labels])
        kept = kept[np.argsort(self.labels[kept], kind="stable")]
        self.kept = kept
        self.newid = np.full(n, -1, np.int64)
        self.newid[kept] = np.arange(kept.size)
        src = self.newid[g.src[intra]]
        dst = self.newid[g.dst[intra]]
        self.indptr, self.indices, self.weights = _csr(kept.size, src, dst, g.w[intra])
        self.tails = np.repeat(np.arange(kept.size), np.diff(self.indptr))
        self.exact = _integral(g.w) and (g.w.size == 0 or
                                         np.abs(g.w).max() * max(n, 1) ** 2 < _EXACT_LIMIT)
        self.comp_lambda = np.full(self.ncomp, -np.inf)
        self.iterations = 0
        if kept.size == 0:
            return
        comps, counts = np.unique(self.labels[kept], return_counts=True)
        if method == "karp":
            comp_ptr = np.zeros(comps.size + 1, np.int64)
            np.cumsum(counts, out=comp_ptr[1:])
            out = np.empty(comps.size)
            _kernel("karp_mcm")(self.indptr, self.indices, self.weights, comp_ptr,
                                _KARP_TABLE_LIMIT, out)
            self.comp_lambda[comps] = out
            return
        m = kept.size
        self.pi = self.indptr[:-1].copy()          # the heaviest arc out of each node
        self.P = np.empty(m)
        self.Q = np.empty(m, np.int64)
        self.W = np.empty(m)
        self.K = np.empty(m, np.int64)
        rtol = 0.0 if self.exact else _RTOL_HOWARD
        max_iter = 100 + 10 * m
        self.iterations = _kernel("howard_mcm")(self.indptr, self.indices, self.weights,
                                                max_iter, rtol, self.pi, self.P, self.Q,
                                                self.W, self.K)
        if self.iterations > max_iter:
            import warnings

            warnings.warn(f"Howard's policy iteration stopped after {max_iter} iterations "
                          "without converging (rounding on float data?); the eigenvalue is "
                          "the mean of a cycle of the last policy, a lower bound",
                          RuntimeWarning, stacklevel=3)
        eta = self.P / self.Q
        comp_of = self.labels[kept]
        np.maximum.at(self.comp_lambda, comp_of, eta)
        # the representative (weight, length) of each component's best cycle
        best = np.full(self.ncomp, -1, np.int64)
        order = np.lexsort((eta, comp_of))
        best[comp_of[order]] = order            # last (largest eta) wins
        self.comp_best = best

    @property
    def value(self):
        return float(self.comp_lambda.max()) if self.ncomp else -np.inf

    def best_cycle(self):
        """(P, Q, node) of a cycle of maximal mean (Howard only)."""
        c = int(np.argmax(self.comp_lambda))
        k = int(self.comp_best[c])
        return float(self.P[k]), int(self.Q[k]), k


def _method(method):
    if method not in ("howard", "karp"):
        raise ValueError(f"method must be 'howard' or 'karp', got {method!r}")
    return method


# --------------------------------------------------------------------------------------
# graphs
# --------------------------------------------------------------------------------------

def to_graph(A, sense="max"):
    """The weighted digraph of a square matrix: an arc ``i -> j`` per non-zero entry.

    Parameters
    ----------
    A : array_like, shape (n, n), or scipy.sparse matrix
        Entries equal to the semiring zero (``-inf`` for max, ``+inf`` for
        min) are absent arcs; for sparse input the stored entries are the arcs.
    sense : {"max", "min"}

    Returns
    -------
    networkx.DiGraph
        Nodes ``0..n-1``; arc ``i -> j`` with attribute ``weight = A[i, j]``.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical import linalg
    >>> G = linalg.to_graph([[0.0, 2.0], [-np.inf, 1.0]])
    >>> sorted(G.edges(data="weight"))
    [(0, 0, 0.0), (0, 1, 2.0), (1, 1, 1.0)]
    """
    import networkx as nx

    s = check_sense(sense)
    g = _as_graph(A, "A", s)
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n))
    G.add_weighted_edges_from(zip(g.src.tolist(), g.dst.tolist(), (s * g.w).tolist()))
    return G


def from_graph(G, nodelist=None, weight="weight", sense="max"):
    """The matrix of a weighted digraph: ``A[i, j]`` = weight of the arc ``i -> j``.

    Absent arcs are the semiring zero. Parallel arcs of a multigraph are
    combined with (+) (the max, or the min for ``sense="min"``); an undirected
    graph gives a symmetric matrix.

    Parameters
    ----------
    G : networkx.Graph
    nodelist : sequence, optional
        The order of rows and columns (default ``list(G)``).
    weight : str, default "weight"
        The edge attribute holding the weight; every edge must have it.
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import networkx as nx
    >>> from tropical import linalg
    >>> G = nx.DiGraph([(0, 1, {"weight": 3.0}), (1, 0, {"weight": -1.0})])
    >>> linalg.from_graph(G)
    array([[-inf,   3.],
           [ -1., -inf]])
    """
    s = check_sense(sense)
    if not _is_networkx(G):
        raise TypeError(f"G must be a networkx graph, got {type(G).__name__}")
    if nodelist is not None:
        nodelist = list(nodelist)
        if len(set(nodelist)) != len(nodelist):
            raise ValueError("nodelist contains duplicate nodes")
        missing = [v for v in nodelist if v not in G]
        if missing:
            raise ValueError(f"nodelist: {missing[0]!r} is not a node of G")
        if len(nodelist) != G.number_of_nodes():
            G = G.subgraph(nodelist)
        H = G.__class__()
        H.add_nodes_from(nodelist)
        H.add_edges_from(G.edges(data=True))
        G = H
    g = _as_graph(G, "G", s, weight=weight)
    M = np.full((g.n, g.n), -np.inf)
    M[g.src, g.dst] = g.w
    return s * M


# --------------------------------------------------------------------------------------
# spectral theory
# --------------------------------------------------------------------------------------

def eigenvalue(A, method="howard", sense="max"):
    """The tropical eigenvalue: the maximum cycle mean (the least, for ``sense="min"``).

    For an irreducible ``A`` it is the unique eigenvalue; for a reducible one
    the largest (the max-plus spectral radius), the maximum over the strongly
    connected components (see :func:`cycle_time` for the per-node rates).
    ``-inf`` (``+inf`` for min) when the graph has no cycle.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    method : {"howard", "karp"}
        ``"howard"``: policy iteration (Cochet-Terrasson et al. 1998), ``O(m)``
        per iteration, few iterations in practice. ``"karp"``: Karp (1978),
        ``O(n m)`` time per component, ``O(n)`` memory for large components
        (two passes) - use it for cross-checks and moderate ``n``.
    sense : {"max", "min"}

    Returns
    -------
    float
        ``P / Q`` rounded once (``P`` the weight and ``Q`` the length of an
        optimal cycle): Howard and Karp return the same float on integer data.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical import linalg
    >>> A = np.array([[-np.inf, 3.0, -np.inf], [-np.inf, -np.inf, 1.0], [0.0, -np.inf, 5.0]])
    >>> float(linalg.eigenvalue(A)), float(linalg.eigenvalue(A, method="karp"))
    (5.0, 5.0)
    >>> B = np.where(np.isfinite(A), A, np.inf)     # the same arcs, min-plus zero
    >>> float(linalg.eigenvalue(B, sense="min", method="karp"))   # the cycle 0 -> 1 -> 2 -> 0
    1.3333333333333333
    """
    s = check_sense(sense)
    method = _method(method)
    g = _as_graph(A, "A", s)
    return s * _Cycles(g, method).value


def cycle_time(A, method="howard", sense="max"):
    """The cycle-time vector: ``chi_i = lim_k (A^k (x) x0)_i / k`` for finite ``x0``.

    ``chi_i`` is the largest cycle mean among the strongly connected
    components reachable from ``i`` (arcs ``i -> j`` for ``A[i, j]``), computed
    on the condensation: the mean of each component, then a maximum over the
    reachable ones in one pass over the acyclic condensation. ``-inf``
    (``+inf`` for min) where no cycle is reachable.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    method : {"howard", "karp"}
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from tropical import linalg
    >>> ninf = -np.inf
    >>> A = np.array([[1.0, 0.0, ninf], [ninf, 3.0, ninf], [ninf, ninf, 2.0]])
    >>> linalg.cycle_time(A)      # node 0 reaches the loop of weight 3 at node 1
    array([3., 3., 2.])
    """
    s = check_sense(sense)
    method = _method(method)
    g = _as_graph(A, "A", s)
    cyc = _Cycles(g, method)
    labels = cyc.labels
    inter = labels[g.src] != labels[g.dst]
    csrc, cdst = labels[g.src[inter]], labels[g.dst[inter]]
    order = np.argsort(csrc, kind="stable")
    indptr = np.zeros(cyc.ncomp + 1, np.int64)
    np.cumsum(np.bincount(csrc, minlength=cyc.ncomp), out=indptr[1:])
    val = cyc.comp_lambda.copy()
    _kernel("dag_max_reach")(indptr, np.ascontiguousarray(cdst[order], np.int64), val)
    return s * val[labels]


class _Critical(NamedTuple):
    value: float          # max-sense eigenvalue
    P: float              # weight and length of a critical cycle (value = P / Q)
    Q: int
    classes: list         # lists of original node indices, sorted
    arcs: tuple           # (src, dst, w) critical arcs, original indices, max-sense weights
    cycles: _Cycles


def _critical(g: _Graph) -> _Critical:
    cyc = _Cycles(g, "howard")
    lam = cyc.value
    empty = np.empty(0, np.int64)
    if lam == -np.inf:
        return _Critical(lam, -np.inf, 1, [], (empty, empty, np.empty(0)), cyc)
    P0, Q0, _ = cyc.best_cycle()
    rtol_cmp = 0.0 if cyc.exact else _RTOL_HOWARD
    rtol = 0.0 if cyc.exact else _RTOL_TIGHT
    # components whose mean equals the eigenvalue (cross-multiplied comparison)
    crit_comp = np.zeros(cyc.ncomp, bool)
    for c in np.flatnonzero(np.isfinite(cyc.comp_lambda)):
        k = cyc.comp_best[c]
        Pc, Qc = cyc.P[k], cyc.Q[k]
        crit_comp[c] = not _worse(Pc * Q0, P0 * Qc, rtol_cmp)
    i, j, w = cyc.tails, cyc.indices, cyc.weights
    on = crit_comp[cyc.labels[cyc.kept[i]]]
    i, j, w = i[on], j[on], w[on]
    Pi, Qi = cyc.P[i], cyc.Q[i]
    dk = cyc.K[j] + 1 - cyc.K[i]
    lhs = (w + cyc.W[j] - cyc.W[i]) * Qi
    rhs = dk * Pi
    scale = Qi * (np.abs(w) + np.abs(cyc.W[j]) + np.abs(cyc.W[i])) + np.abs(dk * Pi)
    tight = np.abs(lhs - rhs) <= rtol * scale
    ti, tj, tw = i[tight], j[tight], w[tight]
    m = cyc.kept.size
    ncomp, lab = _scc(m, ti, tj)
    inside = lab[ti] == lab[tj]
    ti, tj, tw = ti[inside], tj[inside], tw[inside]
    classes = {}
    for node in np.unique(np.r_[ti, tj]):
        classes.setdefault(int(lab[node]), []).append(int(cyc.kept[node]))
    classes = sorted(sorted(c) for c in classes.values())
    return _Critical(lam, P0, Q0, classes, (cyc.kept[ti], cyc.kept[tj], tw), cyc)


def critical_graph(A, sense="max"):
    """The critical graph: the union of all cycles of maximal mean (minimal, for min).

    An arc is critical when it lies on a critical cycle. It is found without
    enumerating cycles: Howard's bias ``x`` is a potential with reduced
    weights ``A[i, j] - lambda + x_j - x_i <= 0`` inside the critical
    components; a cycle is critical iff all its arcs are tight (reduced weight
    zero), so the critical arcs are the tight arcs inside the strongly
    connected components of the tight graph, and those components are the
    critical classes. Exact on integer data; on float data an arc is tight
    when its reduced weight is within ``2**-36`` of the magnitudes involved.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}

    Returns
    -------
    networkx.DiGraph
        Nodes: the critical nodes (indices into ``A``) with attribute
        ``class`` (index into ``G.graph["classes"]``); arcs with their
        ``weight``. ``G.graph["eigenvalue"]`` is the eigenvalue and
        ``G.graph["classes"]`` the sorted node lists of the critical classes.

    Examples
    --------
    >>> import numpy as np
    >>> from tropical import linalg
    >>> A = np.array([[2.0, 1.0, -np.inf], [3.0, 0.0, -np.inf], [-np.inf, 4.0, 1.0]])
    >>> G = linalg.critical_graph(A)     # loop at 0 and cycle 0 -> 1 -> 0, both mean 2
    >>> sorted(G.edges()), G.graph["classes"], G.graph["eigenvalue"]
    ([(0, 0), (0, 1), (1, 0)], [[0, 1]], 2.0)
    """
    import networkx as nx

    s = check_sense(sense)
    crit = _critical(_as_graph(A, "A", s))
    G = nx.DiGraph(eigenvalue=s * crit.value, classes=crit.classes)
    for k, cls in enumerate(crit.classes):
        G.add_nodes_from(cls, **{"class": k})
    src, dst, w = crit.arcs
    G.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), (s * w).tolist()))
    return G


def _eigen_setup(A, name, s):
    W = s * _dense(A, name, s)
    g = _as_graph(W, name, 1)
    crit = _critical(g)
    return W, crit


def _normalized_plus(W, crit):
    """Kleene plus of ``Q*W - P`` (max sense), whose cycles have weight <= 0."""
    B = np.ascontiguousarray(crit.Q * W - crit.P)
    S = np.empty_like(B)
    _kernels.get("maxplus_closure")(B, 1, S)
    return S


def eigenvectors(A, sense="max", return_nodes=False):
    """Generators of the eigenspace of the eigenvalue: columns of ``(A - lambda)*``.

    One column per critical class, at its least node: ``v = (A - lambda)*[:, c]``
    satisfies ``A (x) v = lambda (x) v`` and ``v[c] = 0``. Every eigenvector
    of ``lambda`` is a max-plus combination of these columns (the columns at
    the other critical nodes of a class are multiples of its representative),
    for irreducible and reducible matrices alike (``lambda`` the maximum cycle
    mean). Computed as ``(Q A - P)* / Q`` with ``lambda = P / Q``: exact on
    integer data up to the final division by the critical cycle length ``Q``.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}
    return_nodes : bool, default False
        Also return the critical node of each column.

    Returns
    -------
    V : ndarray, shape (n, number of critical classes)
    nodes : list of int (only with ``return_nodes``)

    Raises
    ------
    ValueError
        When ``A`` has no cycle (its only eigenvalue is the semiring zero).

    Examples
    --------
    >>> import numpy as np
    >>> import tropical
    >>> from tropical import linalg
    >>> A = np.array([[0.0, -np.inf], [-np.inf, 0.0]])   # two critical loops
    >>> linalg.eigenvectors(A)
    array([[  0., -inf],
           [-inf,   0.]])
    >>> A = np.array([[3.0, 1.0], [5.0, 2.0]])
    >>> V = linalg.eigenvectors(A)
    >>> V, tropical.matmul(A, V) - V     # lambda = 3
    (array([[0.],
           [2.]]), array([[3.],
           [3.]]))
    """
    s = check_sense(sense)
    W, crit = _eigen_setup(A, "A", s)
    if crit.value == -np.inf:
        raise ValueError("A has no cycle: its only eigenvalue is the semiring zero, "
                         "with eigenvectors supported on its zero columns")
    S = _normalized_plus(W, crit)
    nodes = [cls[0] for cls in crit.classes]
    V = S[:, nodes] / crit.Q
    V[nodes, np.arange(len(nodes))] = 0.0
    V = s * V
    return (V, nodes) if return_nodes else V


def spectral_projector(A, sense="max"):
    """The spectral projector ``Pr = (+)_c v_c (x) w_c``, ``c`` over the critical nodes.

    ``v_c`` and ``w_c`` are the column and the row of ``(A - lambda)*`` at
    ``c`` (right and left eigenvectors). ``Pr (x) x`` is the eigenvector that
    ``lambda^(-k) (x) A^k (x) x`` tends to (along multiples of the cyclicity),
    ``Pr (x) Pr = Pr`` and ``A (x) Pr = lambda (x) Pr``.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.spectral_projector([[3.0, 1.0], [5.0, 2.0]])
    array([[ 0., -2.],
           [ 2.,  0.]])
    """
    s = check_sense(sense)
    W, crit = _eigen_setup(A, "A", s)
    if crit.value == -np.inf:
        raise ValueError("A has no cycle: it has no spectral projector")
    S = _normalized_plus(W, crit)
    nodes = [c for cls in crit.classes for c in cls]
    cols = S[:, nodes] / crit.Q
    rows = S[nodes, :] / crit.Q
    cols[nodes, np.arange(len(nodes))] = 0.0
    rows[np.arange(len(nodes)), nodes] = 0.0
    Pr = np.max(cols[:, :, None] + rows[None, :, :], axis=1)
    return s * Pr


def _class_period(cls, src, dst):
    """gcd of the cycle lengths of a strongly connected class (BFS levels)."""
    members = set(cls)
    adj = {v: [] for v in cls}
    for u, v in zip(src.tolist(), dst.tolist()):
        if u in members and v in members:
            adj[u].append(v)
    level = {cls[0]: 0}
    frontier = [cls[0]]
    g = 0
    while frontier:
        nxt = []
        for u in frontier:
            for v in adj[u]:
                if v not in level:
                    level[v] = level[u] + 1
                    nxt.append(v)
        frontier = nxt
    for u in cls:
        for v in adj[u]:
            g = math.gcd(g, level[u] + 1 - level[v])
    return g


def _cyclicity(crit):
    c = 1
    src, dst, _ = crit.arcs
    for cls in crit.classes:
        c = math.lcm(c, _class_period(cls, src, dst))
    return c


def cyclicity(A, sense="max"):
    """The cyclicity: lcm over the critical classes of the gcd of their cycle lengths.

    For an irreducible ``A`` it is the least ``c >= 1`` with
    ``A^(k+c) = (c lambda) (x) A^k`` for all large ``k`` (see
    :func:`transient`). Each class's gcd is read off breadth-first levels:
    ``gcd(level(u) + 1 - level(v))`` over its arcs ``u -> v``. ``1`` when
    ``A`` has no cycle.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}

    Returns
    -------
    int

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.cyclicity([[-float("inf"), 1.0], [1.0, -float("inf")]])
    2
    >>> linalg.cyclicity([[1.0, 1.0], [1.0, 1.0]])
    1
    """
    s = check_sense(sense)
    return _cyclicity(_critical(_as_graph(A, "A", s)))


class Transient(NamedTuple):
    """Result of :func:`transient`."""

    #: the least k0 with A^(k+c) = (c lambda) (x) A^k for all k >= k0 (or the bound)
    transient: int
    #: the period c (the cyclicity)
    cyclicity: int
    #: the eigenvalue lambda
    eigenvalue: float
    #: whether ``transient`` is exact (else it is the bound)
    exact: bool
    #: the Hartmann-Arguelles upper bound (None for reducible A)
    bound: int | None
    #: the bound's name
    bound_name: str


def _ha_bound(W, crit):
    """Hartmann-Arguelles bound, for irreducible W (max sense)."""
    n = W.shape[0]
    critical = sorted({v for cls in crit.classes for v in cls})
    rest = np.setdiff1d(np.arange(n), critical)
    lam_nc = -np.inf
    if rest.size:
        lam_nc = _Cycles(_as_graph(W[np.ix_(rest, rest)], "A", 1), "howard").value
    base = 2 * n * n
    if lam_nc == -np.inf:
        return base
    f = W[np.isfinite(W)]
    spread = float(f.max() - f.min())
    return max(base, math.ceil(2 * n * n * spread / (crit.value - lam_nc)))


def transient(A, sense="max", exact=None, max_power=None, tol=None):
    """The transient of the powers of ``A``: the least ``k0`` with ``A^(k+c) = (c lambda) (x) A^k``.

    ``c`` is the :func:`cyclicity`; once the relation holds at ``k`` it holds
    for every larger ``k``. **Exact** (default for ``n <= 128``): ``A^k`` by
    repeated squaring, a doubling search for a ``k`` where the relation holds,
    then bisection. **Bound**: the Hartmann-Arguelles bound (Hartmann &
    Arguelles 1999, "Transience bounds for long walks", as stated in Nowak &
    Charron-Bost 2014) for irreducible ``A``:
    ``max(2 n^2, ceil(2 n^2 (max A - min A) / (lambda - lambda_nc)))``, where
    ``max A - min A`` is the spread of the finite entries and ``lambda_nc`` the
    largest cycle mean among the non-critical nodes (the first term alone when
    they have no cycle).

    Comparison rule: exact equality (and equal zero patterns) on integer
    data; on float data ``|A^(k+c) - c lambda - A^k| <= tol`` with
    ``tol = 1e-9 (k + c) max(1, max |A|)`` unless ``tol`` is given.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}
    exact : bool, optional
        Compute exactly (default: when ``n <= 128``) or return the bound.
    max_power : int, optional
        Give up (``RuntimeError``) beyond this ``k``; default the bound for
        irreducible ``A``, ``max(1000, 4 n^2)`` otherwise.
    tol : float, optional
        Absolute tolerance of the comparison on float data.

    Returns
    -------
    Transient
        ``(transient, cyclicity, eigenvalue, exact, bound, bound_name)``.

    Raises
    ------
    ValueError
        For a bound on a reducible ``A`` (none is implemented).
    RuntimeError
        When the relation does not hold up to ``max_power`` (reducible ``A``
        whose powers grow at several rates).

    Examples
    --------
    >>> from tropical import linalg
    >>> t = linalg.transient([[0.0, -1.0], [-1.0, -3.0]])   # A^3 = A^2 != A
    >>> t.transient, t.cyclicity, t.eigenvalue
    (2, 1, 0.0)
    >>> t = linalg.transient([[-float("inf"), 1.0], [1.0, -float("inf")]])
    >>> t.transient, t.cyclicity, t.eigenvalue
    (0, 2, 1.0)
    """
    s = check_sense(sense)
    W, crit = _eigen_setup(A, "A", s)
    n = W.shape[0]
    c = _cyclicity(crit)
    cyc = crit.cycles
    irreducible = cyc.ncomp == 1 and crit.value > -np.inf
    bound = _ha_bound(W, crit) if irreducible else None
    name = "Hartmann-Arguelles"
    if exact is None:
        exact = n <= 128
    if not exact:
        if bound is None:
            raise ValueError("transient: A is reducible; no bound is implemented, use exact=True")
        return Transient(bound, c, s * crit.value, False, bound, name)
    if max_power is None:
        max_power = bound if bound is not None else max(1000, 4 * n * n)
    max_power = check_int(max_power, "max_power")
    integral = _integral(W)
    if tol is not None:
        tol = float(tol)
        if not tol >= 0:
            raise ValueError(f"tol must be >= 0, got {tol}")
    finite = W[np.isfinite(W)]
    scale = max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    shift = c * crit.P / crit.Q if crit.value > -np.inf else -np.inf
    Ac = _ops.power(W, c)

    def holds(k):
        Ak = _ops.power(W, k)
        Akc = _ops.matmul(Ak, Ac)
        fin = np.isfinite(Ak)
        if shift == -np.inf:
            return not np.isfinite(Akc).any()
        if not np.array_equal(fin, np.isfinite(Akc)):
            return False
        diff = np.abs(Akc[fin] - (Ak[fin] + shift))
        t = tol if tol is not None else (0.0 if integral else 1e-9 * (k + c) * scale)
        return bool(np.all(diff <= t))

    if holds(0):
        return Transient(0, c, s * crit.value, True, bound, name)
    lo, hi = 0, 1
    while not holds(hi):
        if hi >= max_power:
            raise RuntimeError(
                f"transient: A^(k+{c}) != {c}*lambda + A^k up to k = max_power = {max_power}"
                + ("" if irreducible else " (A is reducible: its powers may grow at several rates)"))
        lo, hi = hi, min(2 * hi, max_power)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid
    return Transient(hi, c, s * crit.value, True, bound, name)


# --------------------------------------------------------------------------------------
# Kleene star, plus, least solutions
# --------------------------------------------------------------------------------------

def star(A, sense="max"):
    """Kleene star ``A* = I (+) A (+) A^2 (+) ...`` (:func:`tropical.star`, any input type).

    Raises ``ValueError`` naming a cycle of positive weight (negative, for
    min) when the star diverges.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.star([[-1.0, 2.0], [-3.0, -float("inf")]])
    array([[ 0.,  2.],
           [-3.,  0.]])
    """
    s = check_sense(sense)
    return _ops.star(_dense(A, "A", s), sense=sense)


def plus(A, sense="max"):
    """Kleene plus ``A+ = A (x) A* = A (+) A^2 (+) ...``: heaviest walks of length >= 1.

    Raises ``ValueError`` naming a cycle of positive weight (negative, for
    min) when it diverges.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.plus([[-1.0, 2.0], [-3.0, -float("inf")]])
    array([[-1.,  2.],
           [-3., -1.]])
    """
    s = check_sense(sense)
    M = np.ascontiguousarray(_dense(A, "A", s))
    out = np.empty_like(M)
    _kernels.get("maxplus_closure")(M, s, out)
    diag = s * np.diagonal(out)
    if (diag > 0).any():
        msg = _ops._divergence_message(M, s, int(np.argmax(diag)))
        raise ValueError(msg.replace("star: the Kleene star", "plus: the Kleene plus"))
    return out


def astarb(A, b, sense="max"):
    """Least solution of ``x = A (x) x (+) b``: ``x = A* (x) b``.

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    b : array_like, shape (n,) or (n, p)
    sense : {"max", "min"}

    Returns
    -------
    ndarray, the shape of ``b``

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.astarb([[-float("inf"), 2.0], [-3.0, -float("inf")]], [0.0, 5.0])
    array([7., 5.])
    """
    s = check_sense(sense)
    S = star(A, sense=sense)
    b = as_semiring_array(b, "b", s, min_ndim=1)
    if b.ndim > 2 or b.shape[0] != S.shape[0]:
        raise ValueError(f"b must have shape ({S.shape[0]},) or ({S.shape[0]}, p), got {b.shape}")
    return _ops.matmul(S, b, sense=sense) if b.ndim == 2 else _ops.matvec(S, b, sense=sense)


# --------------------------------------------------------------------------------------
# residuation
# --------------------------------------------------------------------------------------

def _residuation_args(A, b, s, side):
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    A = as_semiring_array(A, "A", s, min_ndim=2).astype(np.float64, copy=False)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix, got shape {A.shape}")
    b = as_semiring_array(b, "b", s, min_ndim=1).astype(np.float64, copy=False)
    if b.ndim > 2:
        raise ValueError(f"b must be a vector or a matrix, got shape {b.shape}")
    vec = b.ndim == 1
    if side == "right":
        # X (x) A <= B  <=>  A^T (x) X^T <= B^T
        A = A.T
        b = b if vec else b.T
    B = b[:, None] if vec else b
    if B.shape[0] != A.shape[0]:
        raise ValueError(f"A has shape {A.shape if side == 'left' else A.T.shape} and b has "
                         f"shape {b.shape if side == 'left' or vec else b.T.shape}: "
                         + ("A (x) x = b needs len(b) == A.shape[0]" if side == "left"
                            else "x (x) A = b needs b.shape[-1] == A.shape[1]"))
    return s * A, s * B, vec


def _left_residual(W, B):
    """Greatest X with W (x) X <= B (max sense); +inf where a column of W is empty."""
    with np.errstate(invalid="ignore"):
        T = B[:, None, :] - W[:, :, None]          # (m, n, p): B_ik - W_ij
    T[np.broadcast_to((W == -np.inf)[:, :, None], T.shape)] = np.inf
    return T.min(axis=0), T


def solve(A, b, side="left", sense="max"):
    r"""Greatest subsolution: the greatest ``x`` with ``A (x) x <= b`` (``A \ b``).

    ``x_j = min_i (b_i - A_ij)`` over the ``i`` with ``A_ij`` finite: the
    residuation ``A \ b = -(A^T (x)' -b)`` (min-plus product with the
    conjugate). It solves ``A (x) x = b`` whenever anything does
    (:func:`is_solvable`). A column of ``A`` with no finite entry leaves
    ``x_j`` unconstrained: ``+inf`` (``-inf`` for min). ``b`` may be a matrix,
    solved column by column. ``side="right"`` gives ``b / A``, the greatest
    ``x`` with ``x (x) A <= b``. In the min sense the order is the
    semiring's: the numerically least ``x`` with ``A (x) x >= b``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,) or (m, p) (``(n,)`` or ``(p, n)`` for ``side="right"``)
    side : {"left", "right"}
    sense : {"max", "min"}

    Returns
    -------
    ndarray, shape (n,) or (n, p) (``(m,)`` or ``(p, m)`` for ``side="right"``)

    Notes
    -----
    In floating point ``b_i - A_ij + A_ij`` may differ from ``b_i`` by one
    rounding, so ``A (x) (A \ b) <= b`` holds exactly on integer data and to
    one rounding in general.

    Examples
    --------
    >>> from tropical import linalg
    >>> A = [[0.0, 2.0], [1.0, 0.0]]
    >>> linalg.solve(A, [3.0, 2.0])
    array([1., 1.])
    >>> linalg.solve(A, [3.0, 2.0], side="right")   # x (x) A <= b
    array([0., 2.])
    """
    s = check_sense(sense)
    W, B, vec = _residuation_args(A, b, s, side)
    X = s * _left_residual(W, B)[0]
    if side == "right":
        return X[:, 0] if vec else X.T
    return X[:, 0] if vec else X


def _cover_sets(A, b, s):
    """(x, rows to cover, S_j as boolean matrix (m, n)) for a vector b, max sense."""
    W, B, _ = _residuation_args(A, b, s, "left")
    X, T = _left_residual(W, B)
    x = X[:, 0]
    S = (T[:, :, 0] == x[None, :]) & np.isfinite(W) & np.isfinite(x)[None, :]
    need = np.isfinite(B[:, 0])
    return x, need, S


def is_solvable(A, b, sense="max"):
    """Whether ``A (x) x = b`` has a solution (exactly when ``A (x) (A \\ b) = b``).

    Decided by covering: equation ``i`` (with ``b_i`` finite) is met by the
    greatest subsolution ``x = A \\ b`` iff some ``j`` attains the minimum
    defining ``x_j`` at ``i`` (``b_i - A_ij == x_j`` as computed); the system
    is solvable iff every equation is met. Exact on integer data, and robust
    to the rounding of ``b_i - A_ij + A_ij`` on floats. A matrix ``b`` is
    solvable when each column is.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,) or (m, p)
    sense : {"max", "min"}

    Returns
    -------
    bool

    Examples
    --------
    >>> from tropical import linalg
    >>> A = [[0.0, 2.0], [1.0, 0.0]]
    >>> linalg.is_solvable(A, [3.0, 2.0]), linalg.is_solvable(A, [3.0, 5.0])
    (True, False)
    """
    s = check_sense(sense)
    b_arr = as_semiring_array(b, "b", s, min_ndim=1)
    if b_arr.ndim == 2:
        return all(is_solvable(A, b_arr[:, k], sense=sense) for k in range(b_arr.shape[1]))
    _, need, S = _cover_sets(A, b_arr, s)
    return bool(np.all(S.any(axis=1) | ~need))


def minimal_covers(A, b, sense="max", max_columns=20):
    r"""The minimal sets ``J`` of columns whose equations cover ``b``.

    With ``x = A \ b`` and ``S_j`` the rows where column ``j`` attains
    (``A_ij + x_j = b_i``), the solutions of ``A (x) x = b`` are the
    ``x <= A \ b`` with ``x_j = (A \ b)_j`` for all ``j`` of some cover
    ``J`` (``union of S_j = {i : b_i finite}``). Returns every minimal cover,
    by increasing size; ``[]`` when the system is not solvable.

    Parameters
    ----------
    A : array_like, shape (m, n)
    b : array_like, shape (m,)
    sense : {"max", "min"}
    max_columns : int, default 20
        Refuse (``ValueError``) more useful columns than this: the number of
        minimal covers can grow exponentially.

    Returns
    -------
    list of tuple of int

    Examples
    --------
    >>> from tropical import linalg
    >>> A = [[0.0, 0.0, 3.0], [0.0, 0.0, -9.0]]
    >>> linalg.minimal_covers(A, [0.0, 0.0])
    [(0,), (1,)]
    """
    s = check_sense(sense)
    b_arr = as_semiring_array(b, "b", s, min_ndim=1)
    if b_arr.ndim != 1:
        raise ValueError(f"b must be a vector, got shape {b_arr.shape}")
    max_columns = check_int(max_columns, "max_columns")
    _, need, S = _cover_sets(A, b_arr, s)
    S = S & need[:, None]
    rows = np.flatnonzero(need)
    if not np.all(S[rows].any(axis=1)):
        return []
    useful = [j for j in range(S.shape[1]) if S[:, j].any()]
    if len(useful) > max_columns:
        raise ValueError(f"minimal_covers: {len(useful)} useful columns exceed "
                         f"max_columns={max_columns}")
    full = sum(1 << int(i) for i in rows)
    masks = {j: sum(1 << int(i) for i in np.flatnonzero(S[:, j])) for j in useful}
    if full == 0:
        return [()]
    found = []
    for size in range(1, len(useful) + 1):
        for combo in itertools.combinations(useful, size):
            if any(set(f) <= set(combo) for f in found):
                continue
            acc = 0
            for j in combo:
                acc |= masks[j]
            if acc == full:
                found.append(combo)
    return found


# --------------------------------------------------------------------------------------
# determinant, singularity, rank
# --------------------------------------------------------------------------------------

def _assignment(W):
    """(value, permutation) of a max-weight assignment of W (max sense); -inf if none."""
    from scipy.optimize import linear_sum_assignment

    try:
        rows, cols = linear_sum_assignment(W, maximize=True)
    except ValueError:  # no assignment of finite weight
        return -np.inf, None
    return math.fsum(W[rows, cols].tolist()), cols


def det(A, sense="max", return_permutation=False):
    """Tropical determinant (= permanent): ``max_sigma sum_i A[i, sigma(i)]``.

    An optimal assignment problem, solved by :func:`scipy.optimize.linear_sum_assignment`
    (``maximize=True``); the value is the exactly rounded sum (``math.fsum``)
    of the chosen entries. ``-inf`` (``+inf`` for min) when every permutation
    meets a zero entry.

    Parameters
    ----------
    A : array_like, shape (n, n)
    sense : {"max", "min"}
    return_permutation : bool, default False
        Also return an optimal permutation ``sigma`` (``None`` when the value
        is the semiring zero).

    Returns
    -------
    float, or (float, ndarray of int)

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.det([[1.0, 5.0], [4.0, 2.0]])
    9.0
    >>> linalg.det([[1.0, 5.0], [4.0, 2.0]], sense="min", return_permutation=True)
    (3.0, array([0, 1]))
    """
    s = check_sense(sense)
    W = s * _square_dense(A, "A", s).astype(np.float64, copy=False)
    value, perm = _assignment(W)
    value = s * value
    return (value, perm) if return_permutation else value


def _is_singular_max(W):
    n = W.shape[0]
    value, perm = _assignment(W)
    if value == -np.inf:
        return True
    for i in range(n):
        V = W.copy()
        V[i, perm[i]] = -np.inf
        other, _ = _assignment(V)
        if other == value:
            return True
    return False


def is_singular(A, sense="max"):
    """Whether ``A`` is tropically singular: the optimum of :func:`det` is attained twice.

    A matrix whose determinant is the semiring zero also counts as singular.
    Decided exactly: with ``sigma`` optimal, the matrix is singular iff
    forbidding some arc ``(i, sigma(i))`` leaves the optimum unchanged
    (``n`` more assignment problems; values compared as exactly rounded sums).

    Parameters
    ----------
    A : array_like, shape (n, n)
    sense : {"max", "min"}

    Returns
    -------
    bool

    Examples
    --------
    >>> from tropical import linalg
    >>> linalg.is_singular([[0.0, 0.0], [0.0, 0.0]]), linalg.is_singular([[1.0, 0.0], [0.0, 0.0]])
    (True, False)
    """
    s = check_sense(sense)
    W = s * _square_dense(A, "A", s).astype(np.float64, copy=False)
    return _is_singular_max(W)


def _tropical_rank(W):
    m, n = W.shape
    for k in range(min(m, n), 0, -1):
        perms = np.array(list(itertools.permutations(range(k))))
        for rows in itertools.combinations(range(m), k):
            sub = W[list(rows)]
            for cols in itertools.combinations(range(n), k):
                M = sub[:, list(cols)]
                vals = M[np.arange(k), perms].sum(axis=1)
                best = vals.max()
                if best > -np.inf and np.count_nonzero(vals == best) == 1:
                    return k
    return 0


def _prufer_trees(n):
    """Edge lists of all labelled trees on n nodes (Pruefer sequences)."""
    if n == 1:
        yield []
        return
    if n == 2:
        yield [(0, 1)]
        return
    for seq in itertools.product(range(n), repeat=n - 2):
        degree = [1] * n
        for v in seq:
            degree[v] += 1
        edges = []
        for v in seq:
            leaf = min(u for u in range(n) if degree[u] == 1)
            edges.append((leaf, v))
            degree[leaf] -= 1
            degree[v] -= 1
        u, w = [x for x in range(n) if degree[x] == 1]
        edges.append((u, w))
        yield edges


def _barvinok_rank(W):
    m, n = W.shape
    if n > m:
        W = W.T
        m, n = n, m
    # candidate rank-one terms: the vertices of {(u, v): u_i + v_j <= W_ij}, given by a
    # spanning tree on the columns whose arcs (j, j') carry a row i with
    # v_j' - v_j = W_ij' - W_ij; each vertex covers its tight entries.
    cand = set()
    labels = np.array(list(itertools.product(range(m), repeat=n - 1)), dtype=np.int64)
    labels = labels.reshape(-1, n - 1)
    for edges in _prufer_trees(n):
        adj = {j: [] for j in range(n)}
        for e, (a, b) in enumerate(edges):
            adj[a].append((b, e))
            adj[b].append((a, e))
        V = np.zeros((labels.shape[0], n))
        seen, stack = {0}, [0]
        while stack:
            a = stack.pop()
            for b, e in adj[a]:
                if b not in seen:
                    seen.add(b)
                    rows = labels[:, e]
                    V[:, b] = V[:, a] + W[rows, b] - W[rows, a]
                    stack.append(b)
        R = W[None, :, :] - V[:, None, :]                  # (cand, m, n)
        tight = R == R.min(axis=2, keepdims=True)
        bits = (tight.reshape(tight.shape[0], -1).astype(np.int64)
                << np.arange(m * n, dtype=np.int64)).sum(axis=1)
        cand.update(bits.tolist())
    cand = sorted(cand, key=lambda x: -bin(x).count("1"))
    maximal = [c for c in cand if not any(c != d and c & d == c for d in cand)]
    full = (1 << (m * n)) - 1
    best = [n]

    def search(covered, used):
        if covered == full:
            best[0] = min(best[0], used)
            return
        if used + 1 >= best[0]:
            return
        low = (~covered) & (covered + 1)
        for c in maximal:
            if c & low:
                search(covered | c, used + 1)

    search(0, 0)
    return best[0]


def rank(A, kind="tropical", sense="max"):
    """Rank of a small matrix, by definition.

    ``kind="tropical"``: the largest ``k`` with a tropically non-singular
    ``k x k`` minor (:func:`is_singular`), by searching minors from the
    largest down (``max(m, n) <= 8``). ``kind="barvinok"``: the least ``r``
    with ``A = (+)_{t <= r} u_t (x) v_t^T`` (a max of ``r`` rank-one
    matrices): the rank-one terms worth using are the vertices of
    ``{(u, v) : u_i + v_j <= A_ij}``, enumerated through spanning trees, and a
    minimum cover of the entries by their tight sets is searched
    (finite entries, ``min(m, n) <= 5``, ``max(m, n) <= 8``). Always
    tropical rank <= Barvinok rank <= ``min(m, n)``.

    Parameters
    ----------
    A : array_like, shape (m, n)
    kind : {"tropical", "barvinok"}
    sense : {"max", "min"}

    Returns
    -------
    int

    Examples
    --------
    >>> from tropical import linalg
    >>> A = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]   # zeros (+) one bump
    >>> linalg.rank(A), linalg.rank(A, kind="barvinok")
    (2, 2)
    """
    s = check_sense(sense)
    if kind not in ("tropical", "barvinok"):
        raise ValueError(f"kind must be 'tropical' or 'barvinok', got {kind!r}")
    M = as_semiring_array(A, "A", s, min_ndim=2).astype(np.float64, copy=False)
    if M.ndim != 2 or M.size == 0:
        raise ValueError(f"A must be a non-empty matrix, got shape {M.shape}")
    W = s * M
    if max(W.shape) > 8:
        raise ValueError(f"rank is computed by definition (exponential search): A has shape "
                         f"{W.shape}, at most 8 rows and 8 columns are supported")
    if kind == "tropical":
        return _tropical_rank(W)
    if not np.isfinite(W).all():
        raise ValueError("rank(kind='barvinok') needs finite entries")
    if min(W.shape) > 5:
        raise ValueError(f"rank(kind='barvinok') supports min(m, n) <= 5, got shape {W.shape}")
    return _barvinok_rank(W)


# --------------------------------------------------------------------------------------
# dynamical systems
# --------------------------------------------------------------------------------------

class Simulation(NamedTuple):
    """Result of :func:`simulate`."""

    #: states x_0 .. x_steps, shape (steps + 1, n)
    x: np.ndarray
    #: outputs y_k = C (x) x_k, shape (steps + 1, p), or None without C
    y: np.ndarray | None
    #: first k of the detected periodic regime x_(k+c) = d + x_k (None if not detected)
    transient: int | None
    #: its period c
    period: int | None
    #: growth per step d / c (the eigenvalue for irreducible autonomous systems)
    cycle_time: float | None
    #: 1 / cycle_time: events per time unit of a timed event graph (None unless > 0)
    throughput: float | None


def _detect_regime(X, tol):
    steps = X.shape[0] - 1
    for c in range(1, steps // 2 + 1):
        D = X[c:] - np.where(np.isfinite(X[:-c]), X[:-c], 0.0)
        fin = np.isfinite(X[c:])
        same = fin == np.isfinite(X[:-c])
        ok = same.all(axis=1)
        dmax = np.where(fin, D, -np.inf).max(axis=1)
        dmin = np.where(fin, D, np.inf).min(axis=1)
        any_fin = fin.any(axis=1)
        d = np.where(any_fin, dmax, 0.0)
        ok &= ~any_fin | (dmax - dmin <= tol)
        # the increment d must be the same on every row of the regime
        good = ok.copy()
        last_d = d[-1]
        good &= ~any_fin | (np.abs(d - last_d) <= tol)
        bad = np.flatnonzero(~good)
        k0 = int(bad[-1]) + 1 if bad.size else 0
        if k0 + 2 * c <= steps:
            return k0, c, (float(last_d) / c if any_fin[-1] else None)
    return None, None, None


def simulate(A, x0, steps, B=None, u=None, C=None, sense="max", tol=None):
    """Simulate ``x_(k+1) = A (x) x_k (+) B (x) u_k``, ``y_k = C (x) x_k``; detect the periodic regime.

    In a timed event graph ``x_k[i]`` is the time of the ``k``-th firing of
    transition ``i`` and ``A[i, j]`` the holding time from ``j`` to ``i``. The
    regime detected is the least period ``c`` (and the least ``k0`` for it)
    with ``x_(k+c) = d + x_k`` (the same ``d`` on every entry, the same zero
    pattern) for all ``k0 <= k <= steps - c``, seen over at least two periods
    (``k0 + 2c <= steps``). ``cycle_time = d / c`` and ``throughput = 1 /
    cycle_time``. Comparisons are exact on integer data, else within ``tol``
    (default ``1e-9 max(1, max |x|)``).

    Parameters
    ----------
    A : array_like (n, n), scipy.sparse matrix or networkx graph
    x0 : array_like, shape (n,)
    steps : int >= 0
    B : array_like, shape (n, q), optional
    u : array_like, shape (steps, q), optional
        Inputs ``u_0 .. u_(steps-1)``; required with ``B``.
    C : array_like, shape (p, n), optional
    sense : {"max", "min"}
    tol : float, optional

    Returns
    -------
    Simulation
        ``(x, y, transient, period, cycle_time, throughput)``.

    Examples
    --------
    >>> from tropical import linalg
    >>> sim = linalg.simulate([[3.0, 7.0], [2.0, 4.0]], [0.0, 0.0], steps=8)
    >>> sim.x[:4]
    array([[ 0.,  0.],
           [ 7.,  4.],
           [11., 9.],
           [16., 13.]])
    >>> sim.period, sim.cycle_time, sim.throughput   # critical cycle 0 -> 1 -> 0 of length 2
    (2, 4.5, 0.2222222222222222)
    """
    s = check_sense(sense)
    M = _dense(A, "A", s)
    n = M.shape[0]
    steps = check_int(steps, "steps")
    x = as_semiring_array(x0, "x0", s, min_ndim=1).astype(np.float64)
    if x.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {x.shape}")
    if (B is None) != (u is None):
        raise ValueError("B and u go together: pass both or neither")
    if B is not None:
        Bm = as_semiring_array(B, "B", s, min_ndim=2).astype(np.float64)
        if Bm.ndim != 2 or Bm.shape[0] != n:
            raise ValueError(f"B must have shape ({n}, q), got {Bm.shape}")
        U = as_semiring_array(u, "u", s, min_ndim=1).astype(np.float64)
        if U.ndim == 1:
            U = U[:, None]
        if U.shape != (steps, Bm.shape[1]):
            raise ValueError(f"u must have shape ({steps}, {Bm.shape[1]}), got {U.shape}")
    X = np.empty((steps + 1, n))
    X[0] = x
    for k in range(steps):
        nxt = _ops.matvec(M, X[k], sense=sense)
        if B is not None:
            ext = _ops.matvec(Bm, U[k], sense=sense)
            nxt = np.maximum(nxt, ext) if s == 1 else np.minimum(nxt, ext)
        X[k + 1] = nxt
    Y = None
    if C is not None:
        Cm = as_semiring_array(C, "C", s, min_ndim=2).astype(np.float64)
        if Cm.ndim != 2 or Cm.shape[1] != n:
            raise ValueError(f"C must have shape (p, {n}), got {Cm.shape}")
        Y = _ops.matmul(X, Cm.T, sense=sense)
    SX = s * X
    if tol is None:
        fin = SX[np.isfinite(SX)]
        ints = _integral(M) and _integral(x) and (B is None or (_integral(Bm) and _integral(U)))
        tol = 0.0 if ints else 1e-9 * max(1.0, float(np.abs(fin).max()) if fin.size else 1.0)
    k0, c, rate = _detect_regime(SX, float(tol))
    if rate is not None:
        rate = s * rate
    throughput = 1.0 / rate if rate is not None and rate > 0 else None
    return Simulation(X, Y, k0, c, rate, throughput)

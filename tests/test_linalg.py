"""tropical.linalg: spectral theory, residuation, determinants, systems.

Exact comparisons on integer-valued data; brute-force oracles (networkx
``simple_cycles``, permutations, explicit matrix powers) for small n.
"""

from __future__ import annotations

import doctest
import itertools
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import tropical
from tropical import linalg

NINF = -np.inf


# ---- oracles ----------------------------------------------------------------------------
def brute_cycles(A):
    """(weight, length, arcs) of every elementary cycle of A (max-plus orientation i -> j)."""
    G = nx.DiGraph()
    n = A.shape[0]
    G.add_nodes_from(range(n))
    for i, j in zip(*np.nonzero(np.isfinite(A))):
        G.add_edge(int(i), int(j))
    out = []
    for c in nx.simple_cycles(G):
        arcs = [(c[k], c[(k + 1) % len(c)]) for k in range(len(c))]
        out.append((sum(A[a] for a in arcs), len(c), arcs))
    return out


def brute_mcm(A):
    cyc = brute_cycles(A)
    return max((w / L for w, L, _ in cyc), default=NINF)


def brute_det(A):
    n = A.shape[0]
    vals = [sum(A[i, p[i]] for i in range(n)) for p in itertools.permutations(range(n))]
    best = max(vals)
    return best, vals.count(best)


def random_int_matrix(rng, n, density=None, low=-9, high=10):
    A = rng.integers(low, high, (n, n)).astype(float)
    density = rng.random() if density is None else density
    A[rng.random((n, n)) > density] = NINF
    return A


# ---- textbook examples worked by hand ----------------------------------------------------
def test_2x2_by_hand():
    A = np.array([[1.0, 6.0], [2.0, 3.0]])     # loops 1, 3; 2-cycle (6 + 2)/2 = 4
    assert linalg.eigenvalue(A) == 4.0
    assert linalg.eigenvalue(A, method="karp") == 4.0
    V = linalg.eigenvectors(A)
    np.testing.assert_array_equal(V, [[0.0], [-2.0]])
    assert linalg.cyclicity(A) == 2
    assert sorted(linalg.critical_graph(A).edges()) == [(0, 1), (1, 0)]
    # by hand: A^2 = [[8, 9], [5, 8]], A^3 = [[11, 14], [10, 11]] != 8 + A,
    # A^4 = [[16, 17], [13, 16]] = 8 + A^2: the transient is 2, the period 2
    np.testing.assert_array_equal(tropical.power(A, 2), [[8.0, 9.0], [5.0, 8.0]])
    np.testing.assert_array_equal(tropical.power(A, 3), [[11.0, 14.0], [10.0, 11.0]])
    t = linalg.transient(A)
    assert (t.transient, t.cyclicity, t.eigenvalue, t.exact) == (2, 2, 4.0, True)


def test_3x3_with_ties_several_critical_circuits():
    # loop at 0 (2), cycle 0->1->0 (1+3)/2 = 2, cycle 1->2->1 (0+4)/2 = 2, loop at 2 (1)
    A = np.array([[2.0, 1.0, NINF], [3.0, NINF, 0.0], [NINF, 4.0, 1.0]])
    assert linalg.eigenvalue(A) == 2.0 == linalg.eigenvalue(A, method="karp")
    G = linalg.critical_graph(A)
    assert sorted(G.edges()) == [(0, 0), (0, 1), (1, 0), (1, 2), (2, 1)]
    assert G.graph["classes"] == [[0, 1, 2]]
    assert linalg.cyclicity(A) == 1              # lengths 1 and 2
    V = linalg.eigenvectors(A)
    assert V.shape == (3, 1)
    np.testing.assert_array_equal(V[:, 0], [0.0, 1.0, 3.0])  # longest walks to 0 in A - 2
    np.testing.assert_array_equal(tropical.matmul(A, V), V + 2.0)


def test_two_critical_classes_give_two_generators():
    A = np.array([[0.0, -5.0, NINF], [-5.0, NINF, -1.0], [NINF, -7.0, 0.0]])
    G = linalg.critical_graph(A)
    assert G.graph["classes"] == [[0], [2]] and sorted(G.edges()) == [(0, 0), (2, 2)]
    V, nodes = linalg.eigenvectors(A, return_nodes=True)
    assert nodes == [0, 2]
    np.testing.assert_array_equal(V, [[0.0, -6.0], [-5.0, -1.0], [-12.0, 0.0]])
    np.testing.assert_array_equal(tropical.matmul(A, V), V)
    Pr = linalg.spectral_projector(A)
    np.testing.assert_array_equal(tropical.matmul(Pr, Pr), Pr)
    np.testing.assert_array_equal(tropical.matmul(A, Pr), Pr)


def test_reducible_cycle_time_and_condensation():
    # 0 -> 1 (loop 3), 0 has loop 1; 2 isolated loop 2; 3 -> 0; 4 no cycle reachable
    A = np.full((5, 5), NINF)
    A[0, 0], A[0, 1], A[1, 1], A[2, 2], A[3, 0], A[4, 3] = 1, 0, 3, 2, 7, 1
    np.testing.assert_array_equal(linalg.cycle_time(A), [3, 3, 2, 3, 3])
    np.testing.assert_array_equal(linalg.cycle_time(A, method="karp"), [3, 3, 2, 3, 3])
    B = A.copy()
    B[4, 3] = NINF
    B[3, 0] = NINF
    np.testing.assert_array_equal(linalg.cycle_time(B), [3, 3, 2, NINF, NINF])
    assert linalg.eigenvalue(A) == 3.0
    # the eigenvector of the dominant class (node 1) reaches 0, 3, 4 as well
    V = linalg.eigenvectors(A)
    np.testing.assert_array_equal(V[:, 0], [-3.0, 0.0, NINF, 1.0, -1.0])
    np.testing.assert_array_equal(tropical.matmul(A, V), V + 3.0)
    with pytest.raises(RuntimeError, match="reducible"):
        linalg.transient(np.array([[1.0, 0.0], [NINF, 0.0]]), max_power=50)


def test_acyclic():
    A = np.array([[NINF, 1.0], [NINF, NINF]])
    assert linalg.eigenvalue(A) == NINF == linalg.eigenvalue(A, method="karp")
    np.testing.assert_array_equal(linalg.cycle_time(A), [NINF, NINF])
    assert linalg.critical_graph(A).number_of_nodes() == 0
    assert linalg.cyclicity(A) == 1
    with pytest.raises(ValueError, match="no cycle"):
        linalg.eigenvectors(A)


# ---- Karp == Howard == brute force --------------------------------------------------------
@pytest.mark.parametrize("density", [1.0, 0.4, 0.15])
def test_karp_howard_brute_force(rng, density):
    for _ in range(60):
        n = int(rng.integers(1, 9))
        A = random_int_matrix(rng, n, density)
        expected = brute_mcm(A)
        assert linalg.eigenvalue(A) == expected
        assert linalg.eigenvalue(A, method="karp") == expected


def test_karp_howard_float_and_sparse(rng):
    for _ in range(40):
        n = int(rng.integers(2, 9))
        A = rng.normal(size=(n, n))
        A[rng.random((n, n)) < 0.5] = NINF
        b = brute_mcm(A)
        for method in ("howard", "karp"):
            v = linalg.eigenvalue(A, method=method)
            assert (v == b) if b == NINF else abs(v - b) <= 1e-12 * (1 + abs(b))
    # large sparse: Howard and Karp (both the table and the O(n) two-pass variant)
    n, m = 3000, 24000
    r, c = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.integers(-100, 101, m).astype(float)
    S = sp.coo_matrix((w, (r, c)), shape=(n, n))
    h = linalg.eigenvalue(S)
    assert h == linalg.eigenvalue(S, method="karp")
    # the same graph as networkx and as dense gives the same value
    dense = np.full((n, n), NINF)
    np.maximum.at(dense, (r, c), w)
    assert linalg.eigenvalue(dense) == h
    np.testing.assert_array_equal(linalg.cycle_time(S), linalg.cycle_time(S, method="karp"))


def test_sparse_duplicates_combine_with_max_and_explicit_zero_is_an_arc():
    S = sp.coo_matrix(([1.0, 5.0, 0.0], ([0, 0, 1], [1, 1, 0])), shape=(2, 2))
    assert linalg.eigenvalue(S) == 2.5      # (5 + 0) / 2, the stored 0 is an arc
    np.testing.assert_array_equal(linalg.from_graph(linalg.to_graph(S)),
                                  [[NINF, 5.0], [0.0, NINF]])


def test_graph_round_trip(rng):
    A = random_int_matrix(rng, 6, 0.5)
    G = linalg.to_graph(A)
    assert all(A[u, v] == d for u, v, d in G.edges(data="weight"))
    np.testing.assert_array_equal(linalg.from_graph(G), A)
    assert linalg.eigenvalue(G) == linalg.eigenvalue(A)
    H = nx.relabel_nodes(G, {k: f"v{k}" for k in range(6)})
    order = [f"v{k}" for k in range(6)][::-1]
    np.testing.assert_array_equal(linalg.from_graph(H, nodelist=order), A[::-1, ::-1])
    M = nx.MultiDiGraph([(0, 1, {"weight": 1.0}), (0, 1, {"weight": 4.0}), (1, 0, {"weight": 0.0})])
    np.testing.assert_array_equal(linalg.from_graph(M), [[NINF, 4.0], [0.0, NINF]])
    np.testing.assert_array_equal(linalg.from_graph(M, sense="min"), [[np.inf, 1.0], [0.0, np.inf]])


def test_critical_graph_is_union_of_critical_cycles(rng):
    for _ in range(80):
        n = int(rng.integers(1, 8))
        A = random_int_matrix(rng, n, low=-3, high=4)   # many ties
        lam = brute_mcm(A)
        arcs = set()
        for w, L, cyc in brute_cycles(A):
            if w / L == lam:
                arcs |= set(cyc)
        G = linalg.critical_graph(A)
        assert set(G.edges()) == arcs
        nodes = {u for a in arcs for u in a}
        assert set(G.nodes()) == nodes
        classes = [sorted(c) for c in nx.strongly_connected_components(nx.DiGraph(list(arcs)))]
        assert G.graph["classes"] == sorted(classes)
        if arcs:
            periods = [math.gcd(*[L for w, L, cyc in brute_cycles(A)
                                  if w / L == lam and set(cyc) <= set(G.subgraph(c).edges())])
                       for c in G.graph["classes"]]
            assert linalg.cyclicity(A) == math.lcm(*periods)


def test_eigenvectors_satisfy_eigen_equation(rng):
    for _ in range(80):
        n = int(rng.integers(1, 8))
        A = random_int_matrix(rng, n)
        lam = linalg.eigenvalue(A)
        if lam == NINF:
            continue
        V = linalg.eigenvectors(A)
        AV = tropical.matmul(A, V)
        if lam == round(lam):               # integer eigenvalue: everything exact
            np.testing.assert_array_equal(AV, V + lam)
        else:
            np.testing.assert_allclose(AV, V + lam, rtol=0, atol=1e-12)
        assert np.isfinite(V).sum(axis=0).min() >= 1


# ---- transient and periodic regime --------------------------------------------------------
def test_transient_exact_against_powers_and_bound(rng):
    done = 0
    while done < 40:
        n = int(rng.integers(1, 6))
        A = random_int_matrix(rng, n, density=0.7, low=-5, high=6)
        G = linalg.to_graph(A)
        if not nx.is_strongly_connected(G) or G.number_of_edges() == 0:
            continue
        done += 1
        t = linalg.transient(A)
        lam, c = t.eigenvalue, t.cyclicity
        P = [tropical.power(A, k) for k in range(t.transient + 3 * c + 3)]
        # periodic regime from the transient on, and not one step earlier
        for k in range(t.transient, len(P) - c):
            np.testing.assert_array_equal(P[k + c], P[k] + c * lam)
        if t.transient > 0:
            assert not np.array_equal(P[t.transient - 1 + c], P[t.transient - 1] + c * lam)
        assert t.transient <= t.bound and t.bound_name == "Hartmann-Arguelles"
        assert linalg.transient(A, exact=False).transient == t.bound


def test_transient_large_gap_example():
    # Hartmann-Arguelles-type slow convergence: two loops whose means differ a little
    A = np.array([[0.0, -10.0], [-10.0, -1.0]])
    t = linalg.transient(A)
    P = [tropical.power(A, k) for k in range(t.transient + 3)]
    assert np.array_equal(P[t.transient + 1], P[t.transient])
    assert not np.array_equal(P[t.transient], P[t.transient - 1])
    assert t.transient >= 10 and t.transient <= t.bound


def test_simulate_detects_regime():
    A = np.array([[3.0, 7.0], [2.0, 4.0]])
    sim = linalg.simulate(A, [0.0, 0.0], steps=12)
    assert (sim.period, sim.cycle_time, sim.throughput) == (2, 4.5, 1 / 4.5)
    for k in range(sim.transient, 12 - 1):
        np.testing.assert_array_equal(sim.x[k + 2], sim.x[k] + 9.0)
    # inputs and outputs: B u as release times, y the completion of the last machine
    B = np.array([[0.0], [NINF]])
    u = np.arange(12.0)[:, None] * 10
    C = np.array([[NINF, 0.0]])
    sim = linalg.simulate(A, [0.0, 0.0], 12, B=B, u=u, C=C)
    assert sim.y.shape == (13, 1)
    np.testing.assert_array_equal(sim.y[:, 0], sim.x[:, 1])
    x1 = np.maximum(tropical.matvec(A, sim.x[3]), tropical.matvec(B, u[3]))
    np.testing.assert_array_equal(sim.x[4], x1)
    assert sim.period == 1 and sim.cycle_time == 10.0      # paced by the input
    with pytest.raises(ValueError, match="B and u"):
        linalg.simulate(A, [0.0, 0.0], 3, B=B)


# ---- Kleene star, residuation ------------------------------------------------------------
def test_star_plus_astarb():
    A = np.array([[NINF, 2.0], [-3.0, NINF]])
    S = linalg.star(A)
    np.testing.assert_array_equal(S, [[0.0, 2.0], [-3.0, 0.0]])
    np.testing.assert_array_equal(linalg.plus(A), tropical.matmul(A, S))
    x = linalg.astarb(A, [0.0, 5.0])
    np.testing.assert_array_equal(x, np.maximum(tropical.matvec(A, x), [0.0, 5.0]))
    np.testing.assert_array_equal(
        linalg.star(sp.coo_matrix(([2.0, -3.0], ([0, 1], [1, 0])), shape=(2, 2))), S)
    with pytest.raises(ValueError, match=r"plus: .*the cycle (0 -> 1 -> 0|1 -> 0 -> 1) has positive weight 1.0"):
        linalg.plus([[NINF, 2.0], [-1.0, NINF]])
    with pytest.raises(ValueError, match="positive weight"):
        linalg.astarb([[1.0]], [0.0])


def test_residuation_subsolution_and_solvability(rng):
    solvable_seen = unsolvable_seen = 0
    for _ in range(200):
        m, n = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        A = rng.integers(-4, 5, (m, n)).astype(float)
        A[rng.random((m, n)) < 0.2] = NINF
        if rng.random() < 0.5:                       # a solvable right-hand side
            b = tropical.matvec(A, rng.integers(-4, 5, n).astype(float))
        else:
            b = rng.integers(-6, 7, m).astype(float)
        x = linalg.solve(A, b)
        xf = np.where(np.isposinf(x), NINF, x)       # unconstrained entries meet only -inf
        Ax = tropical.matvec(A, xf)
        assert np.all(Ax <= b)
        solvable = linalg.is_solvable(A, b)
        assert solvable == bool(np.array_equal(Ax, b))
        # brute force: any x in a grid solving A x = b implies solvable
        solvable_seen += solvable
        unsolvable_seen += not solvable
        covers = linalg.minimal_covers(A, b)
        assert (covers != []) == solvable
        for J in covers:                              # x_J = xbar_J, others lowered: still solves
            y = np.where(np.isin(np.arange(n), J), xf, NINF)
            np.testing.assert_array_equal(tropical.matvec(A, y), b)
            for j in J:                               # minimal
                z = y.copy()
                z[j] = NINF
                assert not np.array_equal(tropical.matvec(A, z), b)
    assert solvable_seen > 20 and unsolvable_seen > 20


def test_residuation_right_and_matrix_rhs(rng):
    A = rng.integers(-4, 5, (3, 4)).astype(float)
    Bm = rng.integers(-4, 5, (3, 2)).astype(float)
    X = linalg.solve(A, Bm)
    for k in range(2):
        np.testing.assert_array_equal(X[:, k], linalg.solve(A, Bm[:, k]))
    assert np.all(tropical.matmul(A, X) <= Bm)
    Y = linalg.solve(A.T, Bm.T, side="right")          # greatest Y with Y (x) A^T <= Bm^T
    assert np.all(tropical.matmul(Y, A.T) <= Bm.T)
    np.testing.assert_array_equal(Y, linalg.solve(A, Bm).T)
    assert linalg.is_solvable(A, tropical.matmul(A, np.zeros((4, 2))))


# ---- determinants and rank ----------------------------------------------------------------
def test_det_and_singularity_against_permutations(rng):
    for _ in range(120):
        n = int(rng.integers(1, 7))
        A = rng.integers(-3, 4, (n, n)).astype(float)
        A[rng.random((n, n)) < 0.2] = NINF
        best, count = brute_det(A)
        assert linalg.det(A) == best
        value, perm = linalg.det(A, return_permutation=True)
        if best > NINF:
            assert sum(A[i, perm[i]] for i in range(n)) == best
        assert linalg.is_singular(A) == (best == NINF or count >= 2)
        assert linalg.det(-A, sense="min") == -best


def test_rank(rng):
    assert linalg.rank(np.zeros((3, 3))) == 1
    assert linalg.rank(np.zeros((3, 3)), kind="barvinok") == 1
    identity = np.array([[0.0, -5.0, -5.0], [-5.0, 0.0, -5.0], [-5.0, -5.0, 0.0]])
    assert linalg.rank(identity) == 3 == linalg.rank(identity, kind="barvinok")
    for _ in range(25):
        m, n, r = int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(1, 4))
        U = rng.integers(-4, 5, (m, r)).astype(float)
        V = rng.integers(-4, 5, (r, n)).astype(float)
        A = tropical.matmul(U, V)                    # a max of r rank-one matrices
        trop, barv = linalg.rank(A), linalg.rank(A, kind="barvinok")
        assert 1 <= trop <= barv <= min(r, m, n)
        # tropical rank by brute force over minors
        best = 0
        for k in range(1, min(m, n) + 1):
            for rows in itertools.combinations(range(m), k):
                for cols in itertools.combinations(range(n), k):
                    v, cnt = brute_det(A[np.ix_(rows, cols)])
                    if v > NINF and cnt == 1:
                        best = k
        assert trop == best


# ---- min sense = max sense under negation -------------------------------------------------
small_int = st.integers(-6, 6).map(float)


@st.composite
def int_matrices(draw):
    n = draw(st.integers(1, 5))
    vals = draw(st.lists(st.one_of(small_int, st.just(NINF)), min_size=n * n, max_size=n * n))
    return np.array(vals).reshape(n, n)


@given(int_matrices())
def test_min_sense_is_max_sense_negated(A):
    N = -A                                          # a min-plus matrix (+inf for absent)
    for method in ("howard", "karp"):
        assert linalg.eigenvalue(N, method=method, sense="min") == -linalg.eigenvalue(A, method=method)
    np.testing.assert_array_equal(linalg.cycle_time(N, sense="min"), -linalg.cycle_time(A))
    Gmax, Gmin = linalg.critical_graph(A), linalg.critical_graph(N, sense="min")
    assert sorted(Gmax.edges()) == sorted(Gmin.edges())
    assert Gmin.graph["eigenvalue"] == -Gmax.graph["eigenvalue"]
    assert linalg.cyclicity(N, sense="min") == linalg.cyclicity(A)
    assert linalg.det(N, sense="min") == -linalg.det(A)
    assert linalg.is_singular(N, sense="min") == linalg.is_singular(A)
    b = tropical.matvec(A, np.zeros(A.shape[0])) - 1.0
    b = np.where(np.isfinite(b), b, 0.0)
    np.testing.assert_array_equal(linalg.solve(N, -b, sense="min"), -linalg.solve(A, b))
    assert linalg.is_solvable(N, -b, sense="min") == linalg.is_solvable(A, b)
    if linalg.eigenvalue(A) > NINF:
        np.testing.assert_array_equal(linalg.eigenvectors(N, sense="min"), -linalg.eigenvectors(A))
    if A.shape[0] <= 4:
        assert linalg.rank(N, sense="min") == linalg.rank(A)


# ---- errors ---------------------------------------------------------------------------------
def test_bad_input_errors():
    with pytest.raises(ValueError, match="A must be a square matrix"):
        linalg.eigenvalue(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        linalg.eigenvalue([[np.nan]])
    with pytest.raises(ValueError, match="not an element of the max-plus"):
        linalg.eigenvalue([[np.inf]])
    with pytest.raises(ValueError, match="method must be"):
        linalg.eigenvalue([[0.0]], method="bellman")
    with pytest.raises(ValueError, match="sense must be"):
        linalg.cycle_time([[0.0]], sense="maximum")
    with pytest.raises(ValueError, match="has no 'weight' attribute"):
        linalg.eigenvalue(nx.DiGraph([(0, 1)]))
    with pytest.raises(ValueError, match="stored entries"):
        linalg.eigenvalue(sp.csr_matrix(np.array([[np.nan, 1.0], [0.0, 0.0]])))
    with pytest.raises(ValueError, match="len\\(b\\)"):
        linalg.solve(np.zeros((2, 2)), [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="side must be"):
        linalg.solve(np.zeros((2, 2)), [0.0, 0.0], side="up")
    with pytest.raises(ValueError, match="kind must be"):
        linalg.rank(np.zeros((2, 2)), kind="kapranov")
    with pytest.raises(ValueError, match="at most 8"):
        linalg.rank(np.zeros((9, 9)))
    with pytest.raises(ValueError, match="x0 must have shape"):
        linalg.simulate(np.zeros((2, 2)), [0.0], 3)
    with pytest.raises(TypeError, match="steps must be an integer"):
        linalg.simulate(np.zeros((2, 2)), [0.0, 0.0], 2.5)
    with pytest.raises(TypeError, match="G must be a networkx graph"):
        linalg.from_graph(np.zeros((2, 2)))


# ---- kernels and their twins, docs --------------------------------------------------------
def test_compiled_kernels_match_twins(rng):
    from tropical.kernels import linalg as K
    from tropical.kernels import reference

    for _ in range(30):
        n = int(rng.integers(1, 9))
        A = random_int_matrix(rng, n)
        g = linalg._as_graph(A, "A", 1)
        cyc = linalg._Cycles(g, "howard")
        if cyc.kept.size == 0:
            continue
        res = []
        for fn in (K.howard_mcm, reference.howard_mcm):
            arrays = (cyc.indptr[:-1].copy(), np.empty(cyc.kept.size), np.empty(cyc.kept.size, np.int64),
                      np.empty(cyc.kept.size), np.empty(cyc.kept.size, np.int64))
            fn(cyc.indptr, cyc.indices, cyc.weights, 1000, 0.0, *arrays)
            res.append(arrays)
        for a, b in zip(*res):
            np.testing.assert_array_equal(a, b)
        comps, counts = np.unique(cyc.labels[cyc.kept], return_counts=True)
        ptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
        outs = []
        for fn, limit in ((K.karp_mcm, 2 ** 23), (K.karp_mcm, 0), (reference.karp_mcm, 0)):
            out = np.empty(comps.size)
            fn(cyc.indptr, cyc.indices, cyc.weights, ptr, limit, out)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(outs[0], outs[2])
    indptr = np.array([0, 2, 3, 3], np.int64)
    indices = np.array([1, 2, 2], np.int64)
    for fn in (K.dag_max_reach, reference.dag_max_reach):
        val = np.array([0.0, 5.0, 1.0])
        fn(indptr, indices, val)
        np.testing.assert_array_equal(val, [5.0, 5.0, 1.0])


def test_doctests():
    result = doctest.testmod(linalg, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 20 and result.failed == 0

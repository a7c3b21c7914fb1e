# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Max-plus matrices as weighted graphs
#
# **What this notebook shows.** A square matrix $A$ over max-plus is a
# weighted digraph: an arc $i \to j$ of weight $A_{ij}$ for every entry that
# is not $-\infty$. Then
#
# 1. products are paths: $(A \otimes A)_{ij} = \max_k (A_{ik} + A_{kj})$ is the
#    heaviest walk of two arcs, $A^{\otimes n}$ of $n$ arcs, and the Kleene star
#    $A^* = I \oplus A \oplus A^{\otimes 2} \oplus \cdots$ of any length (it
#    exists iff no cycle has positive weight); the min sense gives shortest
#    paths;
# 2. the eigenvalue $\lambda$ in $A \otimes v = \lambda \otimes v$ is the
#    **maximum cycle mean** (Howard's and Karp's algorithms,
#    `tropical.linalg`), its eigenvectors come from the critical cycles, and
#    the powers become periodic: $A^{\otimes(k + c)} = c\lambda + A^{\otimes k}$
#    for $k$ past a transient, $c$ the cyclicity;
# 3. a timed system $x_{k+1} = A \otimes x_k$ runs at the speed $\lambda$;
# 4. at $\varepsilon > 0$ the log-sum-exp product is a soft version of all
#    this, and the `Tropical` array type writes it in numpy notation.
#
# NetworkX (Floyd-Warshall, simple cycles) is the independent oracle
# throughout. Every cell asserts what it shows; the last cell collects the
# headline numbers.

# %%
import itertools
import math

import networkx as nx
import numpy as np

import tropical
from tropical import Tropical, linalg, minplus

# %% [markdown]
# ## 1. Products are paths, the star is the best walk
#
# Read $A_{ij}$ as the weight of the edge $i \to j$ ($-\infty$: no edge). Then
# $(A \otimes B)_{ij} = \max_k (A_{ik} + B_{kj})$, the power $A^{\otimes n}$ holds
# the best walks of exactly $n$ edges, and the Kleene star
# $A^* = I \oplus A \oplus A^{\otimes 2} \oplus \cdots$ the best walks of any
# length (the empty walk included). It exists iff no cycle has positive weight.

# %%
NEG = -np.inf
edges = {(0, 1): 4.0, (0, 2): 1.0, (1, 3): 2.0, (2, 1): 2.0, (2, 3): 5.0,
         (3, 4): 1.0, (4, 0): -9.0, (1, 4): 0.5}
n = 5
A = np.full((n, n), NEG)
for (i, j), w in edges.items():
    A[i, j] = w
print(A)
Gw = linalg.to_graph(A)  # the same thing as a networkx DiGraph, attribute "weight"
assert {(u, v): w for u, v, w in Gw.edges(data="weight")} == edges
assert np.array_equal(linalg.from_graph(Gw, nodelist=range(n)), A)

# %%
A2 = tropical.matmul(A, A)
print("A (x) A: best walks of two edges\n", A2)
for i, j in itertools.product(range(n), repeat=2):
    best = max((A[i, l] + A[l, j] for l in range(n)), default=NEG)
    assert A2[i, j] == best
assert np.array_equal(tropical.power(A, 2), A2)
assert np.array_equal((Tropical(A) @ Tropical(A)).data, A2)


# %%
def longest_walk_bruteforce(A):
    """Greatest weight of a simple path i -> j (the empty one for i == j).

    With no positive cycle a best walk can be taken simple, so this is A*.
    """
    n = A.shape[0]
    best = np.full((n, n), NEG)
    np.fill_diagonal(best, 0.0)
    for length in range(1, n):
        for path in itertools.permutations(range(n), length + 1):
            w = sum(A[u, v] for u, v in zip(path, path[1:]))
            best[path[0], path[-1]] = max(best[path[0], path[-1]], w)
    return best


S = tropical.star(A)
print("A*: best walks of any length\n", S)
assert np.array_equal(S, longest_walk_bruteforce(A))
# A* solves the fixed-point equation X = I (+) A (x) X
assert np.array_equal(S, np.maximum(tropical.identity(n), tropical.matmul(A, S)))
# and the sequence of partial sums I (+) A (+) ... (+) A^(n-1) reaches it
partial = tropical.identity(n)
for p in range(1, n):
    partial = np.maximum(partial, tropical.power(A, p))
assert np.array_equal(S, partial)

# %% [markdown]
# A cycle of positive weight makes the star diverge; the error names a cycle.

# %%
A_bad = A.copy()
A_bad[4, 0] = -4.0  # the cycle 0 -> 1 -> 3 -> 4 -> 0 now weighs 4 + 2 + 1 - 4 = 3 > 0
try:
    tropical.star(A_bad)
except ValueError as err:
    print(err)
    message = str(err)
else:
    raise AssertionError("the star of a matrix with a positive cycle must diverge")
assert "positive weight" in message

# %% [markdown]
# The min sense gives shortest paths. NetworkX's Floyd-Warshall is an
# independent oracle.

# %%
D = np.full((n, n), np.inf)
G = nx.DiGraph()
G.add_nodes_from(range(n))
for (i, j), w in edges.items():
    D[i, j] = abs(w)
    G.add_edge(i, j, weight=abs(w))
dist = tropical.star(D, sense="min")
print(dist)
assert np.array_equal(dist, nx.floyd_warshall_numpy(G, nodelist=range(n)))
assert np.array_equal(dist, -tropical.star(-D))  # min sense = max sense under negation

# %% [markdown]
# The graph, drawn (matplotlib is optional; the assertions are the record):

# %%
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed")
else:
    fig, ax = plt.subplots(figsize=(5, 3.5))
    pos = nx.circular_layout(Gw)
    nx.draw_networkx(Gw, pos, ax=ax, node_color="#cde", connectionstyle="arc3,rad=0.12")
    nx.draw_networkx_edge_labels(Gw, pos, edge_labels=edges, ax=ax, connectionstyle="arc3,rad=0.12",
                                 font_size=8)
    ax.set_axis_off()
    plt.show()

# %% [markdown]
# ## 2. The eigenvalue is the maximum cycle mean
#
# If $A \otimes v = \lambda + v$ with $v$ finite, then along any cycle
# $i_0 \to i_1 \to \cdots \to i_\ell = i_0$,
# $A_{i_0 i_1} + v_{i_1} \le \lambda + v_{i_0}$ and so on; summing, the
# $v$'s cancel and the mean weight of the cycle is at most $\lambda$, with
# equality on the **critical** cycles. For an irreducible matrix (strongly
# connected graph) $\lambda$ is therefore the maximum cycle mean.
# `linalg.eigenvalue` computes it by Howard's policy iteration (default) or
# Karp's formula; here both are checked against a brute-force enumeration of
# the simple cycles with NetworkX.

# %%
cycles = [(c, sum(A[u, v] for u, v in zip(c, c[1:] + c[:1]))) for c in nx.simple_cycles(Gw)]
print(f"{'cycle':27} {'weight':>7} {'length':>6} {'mean':>7}")
for c, w in sorted(cycles, key=lambda cw: -cw[1] / len(cw[0])):
    print(f"{' -> '.join(map(str, c + [c[0]])):27} {w:7.2f} {len(c):6d} {w / len(c):7.3f}")
best = max(w / len(c) for c, w in cycles)

lam = float(linalg.eigenvalue(A))
print("eigenvalue (Howard):", lam, "  (Karp):", float(linalg.eigenvalue(A, method="karp")))
assert lam == best == float(linalg.eigenvalue(A, method="karp")) == -0.5

# %% [markdown]
# Two cycles attain the mean $-1/2$, both of length 4. The **critical graph**
# is their union; each of its strongly connected classes gives one
# eigenvector, a column of $(A - \lambda)^*$, and the **cyclicity** (the gcd of
# the critical cycle lengths, per class) is the eventual period of the powers.

# %%
crit = linalg.critical_graph(A)
critical_cycles = [c for c, w in cycles if w / len(c) == best]
print("critical arcs:", sorted(crit.edges()), "  classes:", crit.graph["classes"])
assert set(crit.edges()) == {(u, v) for c in critical_cycles for u, v in zip(c, c[1:] + c[:1])}

V = linalg.eigenvectors(A)
print("eigenvector:", V[:, 0])
assert np.array_equal(tropical.matmul(A, V), V + lam)        # A (x) v = lambda (x) v, exactly
S_lam = tropical.star(A - lam)                                 # (A - lambda)* exists: no cycle > 0
assert np.array_equal(V[:, 0] - V[0, 0], S_lam[:, 0] - S_lam[0, 0])

c = linalg.cyclicity(A)
tr = linalg.transient(A)
print(f"cyclicity {c}, transient {tr.transient} (bound {tr.bound}, {tr.bound_name})")
assert c == math.gcd(*[len(cc) for cc in critical_cycles]) == 4
powers = [tropical.identity(n)]
for _ in range(tr.transient + 2 * c):
    powers.append(tropical.matmul(powers[-1], A))
k0 = tr.transient
for k in range(k0, k0 + c):                     # A^(k + c) = c*lambda + A^k from the transient on
    assert np.allclose(powers[k + c], powers[k] + c * lam, rtol=0, atol=1e-12, equal_nan=False)
assert not np.allclose(powers[k0 - 1 + c], powers[k0 - 1] + c * lam)  # ... and not before

# %% [markdown]
# ## 3. A timed system runs at the speed of its critical cycle
#
# Read $x_k[i]$ as the time event $i$ happens for the $k$-th time and
# $A_{ij}$ as the delay from event $j$ to event $i$:
# $x_{k+1} = A \otimes x_k$. Two machines in a loop (the example of the
# `linalg` guide): machine 1 takes 3 units, machine 2 takes 4, transport takes
# 2, and the pallet needs 7 to come back. The system settles into a periodic
# regime whose average cycle time is the eigenvalue, the mean of the pallet
# loop $(7 + 2)/2 = 4.5$.

# %%
M = np.array([[3.0, 7.0], [2.0, 4.0]])
sim = linalg.simulate(M, [0.0, 0.0], steps=12)
print(sim.x[:6])
print(f"transient {sim.transient}, period {sim.period}, cycle time {sim.cycle_time}, "
      f"throughput {sim.throughput:.4f}")
assert float(linalg.eigenvalue(M)) == sim.cycle_time == 4.5
assert sim.period == linalg.cyclicity(M) == 2
# the simulation is repeated matrix-vector products
x = np.zeros(2)
for k in range(12):
    assert np.array_equal(sim.x[k], x)
    x = tropical.matvec(M, x)

# %% [markdown]
# ## 4. At $\varepsilon > 0$: the log-sum-exp product
#
# $\varepsilon \log \sum_k e^{(A_{ik} + B_{kj})/\varepsilon}$ lies between the
# max-plus product and the max-plus product $+\ \varepsilon \log K$.

# %%
print(f"{'eps':>8} {'max (L - M)':>12} {'eps log n':>12}")
for eps in [1.0, 0.1, 0.01, 0.0]:
    L = tropical.matmul(A, A, eps=eps)
    finite = np.isfinite(A2)
    assert np.array_equal(np.isfinite(L), finite)  # the semiring zero passes through
    diff = L[finite] - A2[finite]
    print(f"{eps:8} {diff.max():12.3e} {eps * math.log(n):12.3e}")
    assert (diff >= 0).all() and (diff <= eps * math.log(n) + 1e-14).all()

# %% [markdown]
# ## 5. The `Tropical` array notation
#
# `@` is the semiring product, `+` is $\oplus$, `*` is $\otimes$ (ordinary
# `+`), `**` the $\otimes$-power, `/` the residual (ordinary `-`), and unary
# `-` maps max-plus onto min-plus.

# %%
T = Tropical(A)
U = T @ T + T * 1.0
print(U)
assert np.array_equal(U.data, np.maximum(A2, A + 1.0))
assert np.array_equal((T ** 3).data, 3 * A)
assert np.array_equal((T / 2.0).data, A - 2.0)
assert (-T).semiring == minplus and np.array_equal((-T).data, -A)
assert float(T.sum()) == A.max()

Ts = Tropical(A, eps=0.5)
print(Ts.semiring, float(Ts.sum()))
assert Ts.sum() == tropical.lse(A.ravel(), 0.5)
try:
    T - T
except TypeError as err:
    print("T - T:", str(err).split(";")[0])
else:
    raise AssertionError("ordinary subtraction has no meaning in the semiring")

# %% [markdown]
# ## Checks
#
# The headline numbers, against independent computations.

# %%
rng = np.random.default_rng(6)
R = np.where(rng.random((7, 7)) < 0.5, rng.integers(-9, 10, (7, 7)).astype(float), NEG)
np.fill_diagonal(R, NEG)
GR = linalg.to_graph(R)
# brute-force maximum cycle mean with networkx (integer data: the comparisons are exact)
means = [sum(R[u, v] for u, v in zip(c, c[1:] + c[:1])) / len(c) for c in nx.simple_cycles(GR)]
assert float(linalg.eigenvalue(R)) == max(means) == float(linalg.eigenvalue(R, method="karp"))
# products are best two-arc walks, with networkx shortest paths as the min-plus oracle
dist = tropical.star(np.where(np.isfinite(R), np.abs(R), np.inf), sense="min")
Gabs = nx.DiGraph()
Gabs.add_nodes_from(range(7))
Gabs.add_weighted_edges_from((u, v, abs(w)) for u, v, w in GR.edges(data="weight"))
assert np.array_equal(dist, nx.floyd_warshall_numpy(Gabs, nodelist=range(7)))
# the log-sum-exp product lies in [max-plus, max-plus + eps log K]
for h in [1.0, 0.01]:
    L, P = tropical.matmul(A, A, eps=h), tropical.matmul(A, A)
    fin = np.isfinite(P)
    assert np.array_equal(np.isfinite(L), fin)
    assert np.all(L[fin] >= P[fin]) and np.all(L[fin] <= P[fin] + h * math.log(n) + 1e-14)
print("eigenvalue", lam, " cyclicity", c, " production-line cycle time", sim.cycle_time, ": all checks hold")

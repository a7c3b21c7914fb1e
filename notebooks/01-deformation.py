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
# # The family of semirings, from log-sum-exp to max-plus
#
# One parameter $\varepsilon \ge 0$ indexes a family of semirings on
# $\mathbb{R} \cup \{-\infty\}$ with multiplication $a \otimes b = a + b$:
#
# | name | $a \oplus b$ | zero | one |
# |---|---|---|---|
# | `maxplus` ($\varepsilon = 0$) | $\max(a, b)$ | $-\infty$ | $0$ |
# | `minplus` ($\varepsilon = 0$) | $\min(a, b)$ | $+\infty$ | $0$ |
# | `logsemiring(eps)` | $\varepsilon \log(e^{a/\varepsilon} + e^{b/\varepsilon})$ | $-\infty$ | $0$ |
# | `logsemiring(eps, sense="min")` | $-\varepsilon \log(e^{-a/\varepsilon} + e^{-b/\varepsilon})$ | $+\infty$ | $0$ |
#
# Every cell below asserts the facts it shows, so running the notebook is a test.

# %%
import itertools
import math

import numpy as np

import tropical
from tropical import Tropical, logsemiring, maxplus, minplus

# %% [markdown]
# ## 1. The semirings as objects

# %%
a, b = 1.0, 3.0
print(f"{'semiring':<34} {'zero':>6} {'one':>5} {'a (+) b':>12} {'a (x) b':>9}")
for sr in [maxplus, minplus, logsemiring(1.0), logsemiring(0.1), logsemiring(1.0, sense="min")]:
    print(f"{sr!r:<34} {sr.zero:>6} {sr.one:>5} {float(sr.add(a, b)):>12.6f} {float(sr.mul(a, b)):>9}")

assert maxplus.add(a, b) == 3.0 and minplus.add(a, b) == 1.0 and maxplus.mul(a, b) == 4.0
assert logsemiring(0.0) is maxplus and logsemiring(0.0, sense="min") is minplus
for sr in [maxplus, minplus, logsemiring(0.5)]:
    assert sr.add(a, sr.zero) == a and sr.mul(a, sr.one) == a

# %% [markdown]
# For $\varepsilon > 0$, $a \mapsto e^{a/\varepsilon}$ is a semiring isomorphism
# onto $(\mathbb{R}_{\ge 0}, +, \times)$, and $\otimes$ distributes over
# $\oplus_\varepsilon$ exactly: $(a + c) \oplus_\varepsilon (b + c) = c + (a \oplus_\varepsilon b)$.

# %%
rng = np.random.default_rng(0)
x, y, c = rng.uniform(-2, 2, size=(3, 1000))
for eps in [2.0, 0.7, 0.3]:
    sr = logsemiring(eps)
    np.testing.assert_allclose(np.exp(sr.add(x, y) / eps), np.exp(x / eps) + np.exp(y / eps), rtol=1e-13)
    np.testing.assert_allclose(np.exp(sr.mul(x, y) / eps), np.exp(x / eps) * np.exp(y / eps), rtol=1e-13)
    np.testing.assert_allclose(sr.add(x + c, y + c), c + sr.add(x, y), rtol=0, atol=1e-14)
print("isomorphism and distributivity hold at eps = 2, 0.7, 0.3")

# %% [markdown]
# ## 2. Dequantization: $\mathrm{LSE}_\varepsilon \to \max$ as $\varepsilon \to 0$
#
# With $m = \max_j a_j$ attained $k$ times and $\mathrm{gap}$ the distance to the
# next value, for every $\varepsilon > 0$
#
# $$\max_j a_j \le \mathrm{LSE}_\varepsilon(a) \le \max_j a_j + \varepsilon \log\bigl(k + (N-k)e^{-\mathrm{gap}/\varepsilon}\bigr) \le \max_j a_j + \varepsilon \log N,$$
#
# and $\mathrm{LSE}_\varepsilon(a) = \max(a) + \varepsilon \log k + O(\varepsilon e^{-\mathrm{gap}/\varepsilon})$.
# The last column tends to $\log 2 = 0.693147\ldots$; once $\varepsilon \log k$
# drops below the spacing of the floats near $\max(a) = 1$ ($2.2 \times 10^{-16}$)
# the excess is rounding (row $10^{-12}$), and at $\varepsilon = 10^{-300}$ the
# result is $\max(a)$ exactly.

# %%
a = np.array([1.0, 1.0, 0.25, -0.5, -3.0])  # N = 5, max 1 attained k = 2 times, gap 0.75
N, k, m, gap = a.size, 2, a.max(), 0.75
eps_grid = [10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 1e-3, 1e-6, 1e-12, 1e-300]

rows = []
print(f"{'eps':>8} {'LSE - max':>13} {'eps log k':>13} {'sharp bound':>13} {'eps log N':>13} {'(LSE-max)/eps':>14}")
for eps in eps_grid:
    excess = float(tropical.lse(a, eps)) - m
    sharp = eps * math.log(k + (N - k) * math.exp(-gap / eps))
    loose = eps * math.log(N)
    rows.append((eps, excess, sharp, loose))
    print(f"{eps:8.0e} {excess:13.6e} {eps * math.log(k):13.6e} {sharp:13.6e} {loose:13.6e} {excess / eps:14.10f}")
    assert 0.0 <= excess <= sharp * (1 + 1e-12) + 4 * np.spacing(m)
    assert sharp <= loose

# the slope of the excess tends to log k
assert abs(rows[-4][1] / rows[-4][0] - math.log(k)) < 1e-9
# at eps = 1e-300 the excess is below the spacing of the floats near max: LSE = max exactly
assert tropical.lse(a, 1e-300) == m

# %% [markdown]
# The same as a picture, when matplotlib is installed (it is an optional extra;
# the table above is the record).

# %%
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the table above")
else:
    eps_arr = np.array([r[0] for r in rows[:-3]])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(eps_arr, [r[1] for r in rows[:-3]], "o-", label="LSE - max")
    ax.loglog(eps_arr, [r[2] for r in rows[:-3]], "--", label="sharp bound")
    ax.loglog(eps_arr, [r[3] for r in rows[:-3]], ":", label="eps log N")
    ax.set_xlabel("eps")
    ax.legend()
    plt.show()

# %% [markdown]
# The computation never overflows: the naive formula already fails at
# $\varepsilon = 10^{-3}$ for values near $1$, the engine does not.

# %%
with np.errstate(over="ignore"):
    naive = 1e-3 * np.log(np.sum(np.exp(a / 1e-3)))
print("naive:", naive, "  engine:", float(tropical.lse(a, 1e-3)))
assert np.isinf(naive)
assert tropical.lse(a, 1e-3) == m + 1e-3 * math.log(2) or abs(tropical.lse(a, 1e-3) - (m + 1e-3 * math.log(2))) < 4e-16

# %% [markdown]
# ## 3. Matrix products and the Kleene star as longest paths
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
import networkx as nx

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

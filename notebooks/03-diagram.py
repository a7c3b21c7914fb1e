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
# # One LSE layer, four views, one commutative diagram
#
# **What this notebook shows.** A log-sum-exp layer
# $f_\varepsilon(x) = \mathrm{LSE}_\varepsilon(Wx + b)$ ($W$ of shape $(N, d)$,
# rows $w_j$) is the same function seen four ways (`MATH.md` section 2):
#
# | view | object | formula |
# |---|---|---|
# | network | `LSELayer(W, b, eps)` | $\varepsilon \log \sum_j e^{(w_j \cdot x + b_j)/\varepsilon}$ |
# | tropical ($\varepsilon = 0$) | `TropicalPolynomial` | $\max_j (w_j \cdot x + b_j)$ |
# | PDE | `HopfCole(y, g, eps)` | $u_\varepsilon(x, t) = -\varepsilon \log \sum_j e^{-(g_j + \lvert x - y_j\rvert^2/(4t))/\varepsilon}$, and $f_\varepsilon = \lvert x\rvert^2/(4t) - u_\varepsilon$ |
# | convex | `EntropicLP(W, b, eps)` | $\max_{\pi \in \Delta_N} \langle \pi, Wx + b\rangle + \varepsilon H(\pi)$ |
#
# with the dictionary $y_j = 2t\,w_j$, $g_j = -b_j - t\lvert w_j\rvert^2$. We
#
# 1. evaluate the four views at the same points and see them agree to
#    rounding (each by its own algorithm: a kernel, a PDE formula, a Newton
#    solver with a certified duality gap);
# 2. watch $\varepsilon \to 0$: the three vertical gaps are at most
#    $\varepsilon \log N$, and their slope is the Gibbs entropy;
# 3. run the commutation report `tropical.check`, which measures every arrow
#    and square of the diagram against its bound;
# 4. break it on purpose: a perturbed bias or a wrong dictionary makes exactly
#    the squares that contain the wrong view fail, and the report names them.
#
# Every cell asserts what it shows; the last cell collects the headline checks.

# %%
import math

import numpy as np

import tropical
from tropical import EntropicLP, HopfCole, LSELayer
from tropical.diagram import diagram

# %% [markdown]
# ## 1. The four views of one layer
#
# A layer with $N = 5$ terms in the plane, at $\varepsilon = 0.25$, and the PDE
# time $t = 1/2$. The weights are dyadic (exact binary fractions), so the
# dictionary $y = 2tW$, $g = -b - t|w|^2$ is computed without rounding.

# %%
W = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.5, -1.0], [-0.25, -0.75]])
b = np.array([0.0, 0.25, -0.5, -0.125, 0.5])
eps, t = 0.25, 0.5
N, d = W.shape

layer = LSELayer(W, b, eps)               # network view
poly = layer.tropical()                   # tropical view (eps = 0)
pde = layer.to_pde(t)                     # PDE view: HopfCole with the exact dictionary
cvx = layer.to_convex()                   # convex view: EntropicLP
print(layer, pde, cvx, sep="\n")
print("tropical polynomial:", poly)
assert np.array_equal(pde.y, 2 * t * W) and np.array_equal(pde.g, -b - t * (W ** 2).sum(axis=1))
assert HopfCole.from_network(layer, t) == pde and pde.to_network(t) == layer

# %% [markdown]
# At a few points: the network value, the PDE value turned back into a network
# value, and the convex optimum (a Newton solver on the dual problem, whose
# certified gap bounds its error), at $\varepsilon = 0.25$ and at
# $\varepsilon = 0$ (the tropical polynomial, the Hopf-Lax formula, the linear
# programme).

# %%
X = np.array([[0.0, 0.0], [1.0, 0.5], [-2.0, 1.0], [0.3, -1.7], [0.125, 0.375]])
q = (X ** 2).sum(axis=1) / (4 * t)

f_net = layer(X)
f_pde = q - pde.u(X, t)
sol = cvx.solve(X)
print(f"{'x':>16} {'network':>20} {'|x|^2/4t - u':>20} {'convex':>20} {'certified gap':>14}")
for i, x in enumerate(X):
    print(f"{str(x):>16} {f_net[i]:20.16f} {f_pde[i]:20.16f} {sol.value[i]:20.16f} {sol.gap[i]:14.2e}")
scale = 1 + np.abs(f_net) + q
assert np.all(np.abs(f_net - f_pde) <= 8 * np.finfo(float).eps * scale)
assert np.all(sol.gap <= sol.tol) and np.all(np.abs(f_net - sol.value) <= sol.tol + 8e-16 * scale)
# the maximiser of the entropic programme is the Gibbs vector of the layer
assert np.allclose(sol.pi, layer.gibbs(X), rtol=0, atol=1e-7)

f0 = poly(X)
print("eps = 0:", f0)
assert np.array_equal(f0, layer.with_eps(0.0)(X))
assert np.all(np.abs(f0 - (q - pde.hopf_lax(X, t))) <= 8e-16 * scale)
assert np.all(np.abs(f0 - cvx.with_eps(0.0).value(X)) <= 8e-16 * scale)

# %% [markdown]
# The derivatives agree too: $\nabla f_\varepsilon = \sum_j \pi_j w_j$ in the
# network view and $\nabla f_\varepsilon = x/(2t) - \nabla u_\varepsilon$ in the PDE view.

# %%
g_net = layer.grad(X)
g_pde = X / (2 * t) - pde.grad_u(X, t)
print(np.c_[g_net, g_pde])
assert np.allclose(g_net, g_pde, rtol=0, atol=1e-14)

# %% [markdown]
# ## 2. The limit $\varepsilon \to 0$
#
# For every $\varepsilon > 0$ and every $x$,
# $0 \le f_\varepsilon(x) - f_0(x) \le \varepsilon \log N$, and the same for
# $u_0 - u_\varepsilon$ and $C_\varepsilon - C_0$ (they are the same number
# through the exact arrows). Along a line through the plane: the smooth
# layer, its tropical limit, and the Gibbs weights $\pi_j(x)$ (the attribution
# of the output to each term), which become indicators of the active term.

# %%
s = np.linspace(-3, 3, 601)
line = np.stack([s, 0.4 * s - 0.3], axis=-1)
eps_list = [1.0, 0.25, 0.05]
f_line0 = poly(line)
gaps_line = {}
for e in eps_list:
    gaps_line[e] = layer.with_eps(e)(line) - f_line0
    print(f"eps = {e:5}: max gap along the line {gaps_line[e].max():.4f} <= eps log N = {e * math.log(N):.4f}")
    assert np.all(gaps_line[e] >= 0) and np.all(gaps_line[e] <= e * math.log(N) + 1e-15)

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the numbers above")
else:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    axes[0].plot(s, f_line0, "k", lw=2, label="f_0 (tropical)")
    for e in eps_list:
        axes[0].plot(s, layer.with_eps(e)(line), label=f"f_eps, eps={e}")
    axes[0].set_xlabel("s  (x = (s, 0.4 s - 0.3))")
    axes[0].legend(fontsize=8)
    axes[1].plot(s, pde.hopf_lax(line, t), "k", lw=2, label="u_0 (Hopf-Lax)")
    for e in eps_list:
        axes[1].plot(s, pde.with_eps(e).u(line, t), label=f"u_eps, eps={e}")
    axes[1].set_title(f"PDE view at t = {t}")
    axes[1].legend(fontsize=8)
    pis = layer.with_eps(0.05).gibbs(line)
    for j in range(N):
        axes[2].plot(s, pis[:, j], label=f"pi_{j}")
    axes[2].set_title("Gibbs weights, eps = 0.05")
    axes[2].legend(fontsize=8)
    plt.show()

# %% [markdown]
# ## 3. The diagram and the commutation report
#
# ```text
#    network N_eps  ==Hopf-Cole==  PDE u_eps  ==entropic duality==  convex C_eps
#         | eps->0                    | eps->0 (vanishing viscosity)     | eps->0
#    tropical f_0   ==Hopf-Lax===  PDE u_0    ==LP duality=========  convex C_0
# ```
#
# `tropical.diagram.diagram()` is this picture as a networkx graph: horizontal
# arrows are exact identities at every $\varepsilon$, vertical arrows are
# limits.

# %%
G = diagram()
for u, v, a in G.edges(data=True):
    print(f"{u:>9} -> {v:<9} {a['kind']:6} {a['name']:24} {a['formula']}")
squares = G.graph["squares"]
print("squares:", squares)
assert G.number_of_nodes() == 6 and G.number_of_edges() == 7
assert sorted(v for u, v, k in G.edges(data="kind") if k == "limit") == ["hopf_lax", "lp", "tropical"]

# %% [markdown]
# `tropical.check` evaluates every node at sample points (a box around the
# tie hyperplanes, points *on* the tropical hypersurface, far points) and a
# sweep of temperatures, and reports for every arrow and square the measured
# discrepancy next to the bound it must respect. The exact arrows hold to a
# rounding budget (first order in the unit roundoff); the vertical gaps to
# $\varepsilon \log(k + (N-k)e^{-\mathrm{gap}/\varepsilon}) \le \varepsilon \log N$;
# the fitted slopes at tie points tend to $\log k$.

# %%
report = tropical.check(layer, eps=[1.0, 0.1, 1e-2, 1e-3, 1e-4, 1e-5], t=t, npoints=128)
print(report)
assert report.ok and report.complete
for name in ["network->tropical", "pde->hopf_lax", "convex->lp"]:
    row = report[name]
    assert row.ok and row.max_measured <= 1.0 * math.log(N)
    for e, measured, bound in row.by_eps:         # eps by eps: gap <= its bound, and <= eps log N
        assert measured <= bound and measured <= e * math.log(N)
for name in ["network->pde", "pde->convex", "tropical->hopf_lax", "hopf_lax->lp"]:
    assert report[name].arrow_kind == "exact" and report[name].max_measured < 1e-10

# %% [markdown]
# The vertical gaps against $\varepsilon$ (solid) with $\varepsilon \log N$
# (dashed): the three curves lie on top of each other, because the exact
# arrows make the three gaps one and the same number.

# %%
try:
    import matplotlib.pyplot as plt  # noqa: F811
except ImportError:
    print("matplotlib not installed")
else:
    report.plot()
    plt.show()

# %% [markdown]
# ## 4. Breaking the diagram on purpose
#
# The checker is only worth something if it fails when a view is wrong. We
# replace one view at a time (the `views=` argument) and look at which
# squares fail:
#
# * **a perturbed bias** ($b_2 + 10^{-6}$) in the convex view: only the
#   duality square contains the convex view;
# * **a wrong dictionary** in the PDE view, $y = t\,w$ instead of $2t\,w$ (a
#   classic slip): the PDE view sits in both squares;
# * **a perturbed bias** in the network view: only the Hopf-Cole square.
#
# In each case the failing squares are exactly those whose corners include
# the wrong view, and the report names the two paths that disagree and where.

# %%
b_bad = b.copy()
b_bad[2] += 1e-6
y_ok, g_ok = layer.pde_data(t)
wrong = {
    "convex": {"convex": EntropicLP(W, b_bad, 0.0)},
    "pde": {"pde": (t * W, g_ok)},
    "network": {"network": LSELayer(W, b_bad)},
}
square_names = {k: f"square {k}" for k in squares}
failed_squares = {}
for view, replacement in wrong.items():
    bad = tropical.check(layer, eps=[1.0, 1e-3], t=t, npoints=64, views=replacement)
    failing = sorted(k for k, name in square_names.items() if not bad[name].ok)
    expected = sorted(k for k, corners in squares.items() if view in corners)
    failed_squares[view] = failing
    print(f"wrong {view:8} view -> failing squares {failing} (the squares containing it: {expected})")
    for k in failing:
        print("   ", bad[square_names[k]].failure_message())
    assert not bad.ok and failing == expected
    # the squares without the wrong view still commute
    assert all(bad[square_names[k]].ok for k in squares if k not in failing)

# %% [markdown]
# ## Checks

# %%
assert report.ok
assert failed_squares == {"convex": ["duality"], "pde": sorted(squares), "network": ["hopf_cole"]}
# the exact arrows at a random layer and random points, with the rounding budget of tropical.diagram
rng = np.random.default_rng(3)
Wr, br = rng.normal(size=(9, 3)), rng.normal(size=9)
Xr = rng.normal(size=(200, 3)) * 3
for e in [1.0, 1e-3, 0.0]:
    L = LSELayer(Wr, br, e)
    err = np.abs(L(Xr) + L.to_pde(t).u(Xr, t) - (Xr ** 2).sum(axis=1) / (4 * t))
    M = np.max(np.abs(br) + t * (Wr ** 2).sum(axis=1)
               + (np.linalg.norm(Xr, axis=1)[:, None] + 2 * t * np.linalg.norm(Wr, axis=1)) ** 2 / (4 * t),
               axis=1) + (Xr ** 2).sum(axis=1) / (4 * t)
    budget = tropical.diagram.rounding_budget(M, e, 9, 3)
    assert np.all(err <= budget), (e, (err / budget).max())
print("the diagram commutes; each wrong view breaks exactly its squares")

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
# # Attribution: Gibbs weights, entropy landscapes and their fold bifurcations
#
# **What this notebook shows.** For an LSE layer
# $f_\varepsilon(x) = \mathrm{LSE}_\varepsilon(Wx + b)$ the Gibbs weights
# $\pi(x) = \mathrm{softmax}((Wx + b)/\varepsilon)$ are the exact influences
# $\pi_j = \partial f_\varepsilon / \partial b_j$ of the terms on the output
# (`MATH.md` sections 2 and 5). Their entropy $H(\pi(x)) \in [0, \log N]$
# says how many terms share the decision at $x$. On the **two-cluster
# example** (16 points in the plane, 8 with value 0 around $(-1, -1)$, 8 with
# value 1 around $(1, 1)$, read as Hopf-Cole data at $t = 1$) we
#
# 1. compute the **Gibbs weights** and check that they are the derivatives
#    of $f_\varepsilon$ in $b$;
# 2. draw the **entropy landscape** $x \mapsto H(\pi_\varepsilon(x))$ at three
#    temperatures, from the "particle" regime (one term decides, $H \approx 0$
#    inside the cells of the tropical curve) to the "wave" regime (all share);
# 3. find **every critical point** of the landscape at one $\varepsilon$, with
#    the Poincare-Hopf completeness check (index sum = winding number of
#    $\nabla H$ along the box);
# 4. follow all of them in $\varepsilon$: the critical points disappear in
#    pairs at **fold bifurcations** (a saddle meets a minimum or a maximum),
#    located to machine precision by Newton on
#    $\{\nabla H = 0, \det \mathrm{Hess}\, H = 0\}$, and the attribution
#    basins (the minima) merge into a tree.
#
# Every cell asserts what it shows; the last cell collects the headline checks.
# It runs in well under a minute.

# %%
import math

import numpy as np

from tropical.attribution import (
    TWO_CLUSTER_BOX,
    bifurcation_diagram,
    critical_points,
    entropy,
    entropy_grad,
    influence,
    two_cluster_example,
)

try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("matplotlib not installed: the cells print numbers instead of plots")

layer = two_cluster_example(t=1.0)
box = TWO_CLUSTER_BOX
print(layer, "box", box)
assert layer.N == 16 and layer.d == 2

# %% [markdown]
# ## 1. Gibbs weights are influences
#
# $\pi_j(x) = \partial f_\varepsilon(x) / \partial b_j$: a central difference in
# $b_j$ (step $10^{-6}$; $f$ is smooth with $|\partial^3 f/\partial b_j^3| \le
# 1/\varepsilon^2$, so the truncation error is below $10^{-12}$) agrees.

# %%
x0 = np.array([0.0, 0.2])
for eps in (0.1, 1.0):
    L = layer.with_eps(eps)
    pi = influence(L, x0)
    h = 1e-6
    fd = np.empty(L.N)
    for j in range(L.N):
        db = np.zeros(L.N)
        db[j] = h
        fd[j] = (type(L)(L.W, L.b + db, eps)(x0) - type(L)(L.W, L.b - db, eps)(x0)) / (2 * h)
    print(f"eps = {eps}: largest influences {np.sort(pi)[::-1][:3].round(4)}, "
          f"max |pi - FD| = {np.abs(pi - fd).max():.1e}")
    assert abs(pi.sum() - 1) < 1e-14 and np.abs(pi - fd).max() < 1e-8

# %% [markdown]
# ## 2. Entropy landscapes, from particle to wave
#
# At small $\varepsilon$ the entropy is nearly 0 inside the cells of the
# tropical curve (one term decides) and jumps to $\log 2$, $\log 3$ across its
# edges and vertices; at large $\varepsilon$ it is one smooth hill.

# %%
n = 121
g1 = np.linspace(box[0][0], box[1][0], n)
g2 = np.linspace(box[0][1], box[1][1], n)
XX = np.stack(np.meshgrid(g1, g2, indexing="xy"), axis=-1).reshape(-1, 2)
landscapes = {eps: entropy(layer.with_eps(eps), XX).reshape(n, n) for eps in (0.03, 0.3, 3.0)}
for eps, Hgrid in landscapes.items():
    print(f"eps = {eps:5}: H in [{Hgrid.min():.3f}, {Hgrid.max():.3f}], mean {Hgrid.mean():.3f}")
    assert 0 <= Hgrid.min() and Hgrid.max() <= math.log(16)
means = [H.mean() for H in landscapes.values()]
assert means[0] < means[1] < means[2]          # warmer: more terms share the decision

if plt is not None:
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    y = 2 * layer.W                             # the data points y_j = 2 t w_j
    for ax, (eps, Hgrid) in zip(axes, landscapes.items()):
        im = ax.contourf(g1, g2, Hgrid, levels=30, cmap="viridis")
        ax.plot(y[:8, 0], y[:8, 1], "w.", y[8:, 0], y[8:, 1], "r.")
        ax.set_title(f"H(pi(x)), eps = {eps}")
        ax.set_aspect("equal")
        fig.colorbar(im, ax=ax, shrink=0.8)
    plt.show()

# %% [markdown]
# ## 3. Every critical point at one temperature
#
# `critical_points` runs Newton on $\nabla H = 0$ from a grid and from the
# $\varepsilon \to 0$ skeleton (data points, tie lines, triple points), and
# checks Poincare-Hopf: minima and maxima count $+1$, saddles $-1$, and the
# sum must equal the winding number of $\nabla H$ along the box boundary
# (computed with a certified step rule). The gradient vanishes at every point
# found, and the kinds come from the exact Hessian.

# %%
L = layer.with_eps(0.1)
cps = critical_points(L, box)
print(cps)
for p in cps:
    print(f"  {p.kind:8s} at ({p.x[0]:+.4f}, {p.x[1]:+.4f}), H = {p.H:.4f}")
assert cps.complete and cps.index_sum == cps.winding
assert np.abs(entropy_grad(L, cps.x)).max() < 1e-8

# %% [markdown]
# ## 4. Fold bifurcations in eps
#
# `bifurcation_diagram` follows every branch of critical points in
# $(x, \log\varepsilon)$ by pseudo-arclength continuation and locates each fold
# (where the branch turns back in $\varepsilon$) by Newton with the closed-form
# third derivatives of $H$. Each fold removes two critical points, and a
# branch can also cross the box boundary, so the number of critical points at
# the two ends of the range differs by twice (annihilations $-$ creations)
# plus (exits $-$ entries) through the boundary.

# %%
diag = bifurcation_diagram(layer, (0.03, 10 ** 0.8), box, progress=False)
print(diag)
for f in diag.folds:
    print(f"  fold at eps = {f.eps:.10f}, x = ({f.x[0]:+.4f}, {f.x[1]:+.4f}): "
          f"{' + '.join(f.kinds)} ({f.direction})")
lo_count = sum(diag.counts(0.03).values())
hi_count = sum(diag.counts(10 ** 0.8).values())
n_ann = sum(f.direction == "annihilation" for f in diag.folds)
n_cre = len(diag.folds) - n_ann
exits = entries = 0
for br in diag.branches:
    for end, e in zip(br.ends, (br.eps[0], br.eps[-1])):
        if end == "box":
            exits += e == br.eps.max()
            entries += e == br.eps.min()
print(f"{lo_count} critical points at eps = 0.03, {hi_count} at eps = 10^0.8; "
      f"{n_ann} annihilations, {n_cre} creations, {exits} exits from the box, {entries} entries")
assert diag.complete
assert lo_count - hi_count == 2 * (n_ann - n_cre) + exits - entries
for eps in (0.05, 0.5):
    assert diag.counts(eps) == critical_points(layer.with_eps(eps), box).counts()

if plt is not None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    diag.plot(ax=axes[0], coordinate=0)
    eg = np.geomspace(0.03, 10 ** 0.8, 200)     # endpoints exact
    for kind, color in (("minimum", "tab:blue"), ("saddle", "tab:green"), ("maximum", "tab:red")):
        axes[1].step(eg, [diag.counts(e).get(kind, 0) for e in eg], where="mid", color=color,
                     label=kind)
    axes[1].set_xscale("log")
    axes[1].set_xlabel("eps")
    axes[1].set_ylabel("number of critical points")
    axes[1].legend()
    plt.show()

# %% [markdown]
# ## 5. Attribution basins merge
#
# At a fold where a minimum meets a saddle, the minimum's basin joins the
# basin of the minimum at the other end of the saddle's descent path (the node
# `"box"` when that path leaves through the box boundary, where $H$ keeps
# decreasing). The merges form a forest of trees.

# %%
tree = diag.basin_tree
print(f"{tree.number_of_nodes()} nodes (minimum branches, and 'box'), {tree.number_of_edges()} merges:")
for a, b, data in sorted(tree.edges(data=True), key=lambda e: e[2]["eps"]):
    print(f"  basin {a} -> basin {b} at eps = {data['eps']:.6f}")
min_saddle = {f.eps for f in diag.folds if set(f.kinds) == {"minimum", "saddle"}}
assert all(data["eps"] in min_saddle for _, _, data in tree.edges(data=True))
assert all(tree.out_degree(v) <= 1 for v in tree.nodes)     # each basin merges at most once

# %% [markdown]
# ## Checks

# %%
assert all(f.residual < 1e-12 for f in diag.folds)               # located to rounding
assert diag.counts(5.0) == {"maximum": 1}                        # the wave regime: one hill
assert all("saddle" in f.kinds for f in diag.folds)              # d = 2: saddle-node folds
assert len(diag.folds) >= 5
print("all checks passed")

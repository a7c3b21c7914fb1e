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
# # A trained ReLU network: its tropical form, its regions, its smoothing
#
# **What this notebook shows.** A ReLU network is a continuous
# piecewise-affine function, and every such function is a *tropical rational
# function* $F = G - H$ with $G, H$ maxima of affine functions (`MATH.md`
# section 4). We
#
# 1. train a small network $\mathbb{R}^2 \to \mathbb{R}$ (2-4-4-1) in plain
#    numpy to fit the pyramid $\max(|x|, |y|) - 1$;
# 2. compute its exact tropical rational form (`Network.to_tropical`);
# 3. enumerate its **activation regions** exactly (`tropical.regions`: the
#    polygons where every unit keeps its on/off state) and merge them into
#    **linear regions** (where $F$ has one affine map), and look at the region
#    adjacency graph;
# 4. replace ReLU by $\mathrm{softplus}_\varepsilon(z) = z \oplus_\varepsilon 0$
#    and watch the smooth network approach the ReLU network within the proven
#    bound $\varepsilon \log 2 \sum_{k<L} |W_L| \cdots |W_{k+1}| \mathbf{1}$, its
#    Gibbs weights concentrating on the regions.
#
# Everything runs in a few seconds on a laptop core. PyTorch is optional:
# when it is installed, one cell checks the conversion from an `nn.Sequential`.
# Every cell asserts what it shows; the last cell collects the headline checks.

# %%
import math

import networkx as nx
import numpy as np

import tropical
from tropical.diagram import deep_bound
from tropical.nets import Network
from tropical.regions import estimate_count, gibbs_concentration, regions

# %% [markdown]
# ## 1. Training, in numpy
#
# Full-batch Adam on 512 points of the box $[-1.5, 1.5]^2$ (step $10^{-2}$,
# then $10^{-3}$ for the last third), mean squared error, backpropagation
# written out by hand (the derivative of ReLU is the indicator of the unit
# being on). Weights in PyTorch orientation: $W_k$ has
# shape `(out, in)`.

# %%
rng = np.random.default_rng(1)
sizes = [2, 4, 4, 1]
Ws = [rng.normal(size=(o, i)) * math.sqrt(2 / i) for i, o in zip(sizes[:-1], sizes[1:])]
bs = [np.zeros(o) for o in sizes[1:]]
BOX = 1.5
X_train = rng.uniform(-BOX, BOX, size=(512, 2))
y_train = np.maximum(np.abs(X_train[:, 0]), np.abs(X_train[:, 1])) - 1.0


def forward(X, Ws, bs):
    """Hidden outputs and pre-activations of the ReLU network (identity last)."""
    hs, zs = [X], []
    for k, (W, b) in enumerate(zip(Ws, bs)):
        z = hs[-1] @ W.T + b
        zs.append(z)
        hs.append(np.maximum(z, 0.0) if k < len(Ws) - 1 else z)
    return hs, zs


params = Ws + bs
m1 = [np.zeros_like(p) for p in params]
m2 = [np.zeros_like(p) for p in params]
beta1, beta2 = 0.9, 0.999
losses = []
for step in range(1, 3001):
    lr = 1e-2 if step <= 2000 else 1e-3                  # a smaller step once the fit is close
    hs, zs = forward(X_train, Ws, bs)
    r = hs[-1][:, 0] - y_train
    losses.append(float(np.mean(r ** 2)))
    g = (2 * r / len(r))[:, None]                       # d loss / d output
    gW, gb = [None] * len(Ws), [None] * len(Ws)
    for k in reversed(range(len(Ws))):
        if k < len(Ws) - 1:
            g = g * (zs[k] > 0)                           # through the ReLU
        gW[k], gb[k] = g.T @ hs[k], g.sum(axis=0)
        g = g @ Ws[k]
    for i, (p, gr) in enumerate(zip(params, gW + gb)):  # Adam, in place
        m1[i] = beta1 * m1[i] + (1 - beta1) * gr
        m2[i] = beta2 * m2[i] + (1 - beta2) * gr ** 2
        p -= lr * (m1[i] / (1 - beta1 ** step)) / (np.sqrt(m2[i] / (1 - beta2 ** step)) + 1e-8)

print(f"mean squared error: {losses[0]:.3g} at the start, {losses[-1]:.3g} after {len(losses)} steps")
assert losses[-1] < 1e-4 and losses[-1] < losses[0] / 1000

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the numbers above")
else:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.semilogy(losses)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("training MSE")
    plt.show()

# %% [markdown]
# ## 2. The network and its tropical rational form
#
# `Network.from_weights` puts a ReLU after every layer but the last.
# `to_tropical()` propagates pairs $(G, H)$ layer by layer
# ($W = W^+ - W^-$; ReLU maps $G - H$ to $\max(G, H) - H$) and drops, exactly,
# every monomial that is nowhere strictly maximal.

# %%
net = Network.from_weights(list(zip(Ws, bs)))
print(net)
grid = np.stack(np.meshgrid(np.linspace(-BOX, BOX, 61), np.linspace(-BOX, BOX, 61)), axis=-1).reshape(-1, 2)
assert np.array_equal(net(grid)[:, 0], forward(grid, Ws, bs)[0][-1][:, 0])

F = net.to_tropical()
F_raw = net.to_tropical(simplify=False)
print(f"G has {F.numerator.nterms} monomials, H has {F.denominator.nterms} "
      f"(before simplification: {F_raw.numerator.nterms} and {F_raw.denominator.nterms})")
err = np.abs(F(grid) - net(grid)[:, 0])
print(f"max |F - net| on a 61 x 61 grid: {err.max():.2e}")
assert err.max() <= 1e-12
assert np.allclose(F_raw(grid), F(grid), rtol=0, atol=1e-12)
assert F.numerator.nterms <= F_raw.numerator.nterms and F.denominator.nterms <= F_raw.denominator.nterms
# G and H are convex (maxima of affine functions): midpoint convexity on random pairs
P, Q = rng.uniform(-BOX, BOX, size=(2, 500, 2))
for poly in (F.numerator, F.denominator):
    assert np.all(poly((P + Q) / 2) <= (poly(P) + poly(Q)) / 2 + 1e-12)

# %% [markdown]
# Optional: the same network as a PyTorch module converts to the same
# `Network`.

# %%
try:
    import torch
except ImportError:
    print("torch not installed: skipped")
else:
    seq = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4),
                              torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    with torch.no_grad():
        for lin, W, b in zip([seq[0], seq[2], seq[4]], Ws, bs):
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
    assert Network.from_torch(seq) == net
    with torch.no_grad():
        assert np.allclose(seq(torch.from_numpy(grid)).numpy(), net(grid), rtol=0, atol=1e-13)
    print("Network.from_torch(seq) == net")

# %% [markdown]
# ## 3. Exact regions
#
# `regions(net, box)` cuts the box layer by layer along the zero lines of the
# units (exact 2-D splitting, no sampling) and returns every activation
# region with its pattern, inequalities, affine map $F(x) = Jx + c$, volume and
# neighbours. Merging adjacent regions with the same map gives the linear
# regions.

# %%
R = regions(net, BOX)
print(R, R.counts())
assert R.complete
assert abs(sum(r.volume for r in R) - (2 * BOX) ** 2) <= 1e-12     # the regions tile the box
# the affine map of the region containing a point is the network there
pts = rng.uniform(-BOX, BOX, size=(300, 2))
for x in pts:
    r = R[R.locate(x)]
    assert abs(float((r.J @ x + r.c)[0]) - float(net(x)[0])) <= 1e-12
    assert all(np.array_equal(a, b) for a, b in zip(r.pattern, net.activation_pattern(x)))
# sampling patterns only gives a lower bound
sampled = estimate_count(net, BOX, n_samples=2000, seed=0)
print(f"distinct patterns among 2000 random points: {sampled} <= {len(R)}")
assert sampled <= len(R)

# %% [markdown]
# The network fits the pyramid well where it has data: on most of the box its
# affine map is close to one of the four faces $\pm x - 1$, $\pm y - 1$, each
# of which covers a quarter of the box (area $2.25$). The exact count is
# higher: a trained network is never *exactly* the pyramid, so regions whose
# maps differ in the fourth decimal stay apart (merging with a looser
# relative tolerance joins some of them), and small regions sit along the
# diagonals and in the corners, where the fit bends.

# %%
exact_lin = R.merge_linear()
loose_lin = R.merge_linear(rtol=1e-2)
print(f"activation regions {len(R)}, linear regions {exact_lin.count} (rtol 1e-9), "
      f"{loose_lin.count} (rtol 1e-2)")
faces = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
face_area = np.zeros(4)
for r in R:
    dist = np.abs(faces - r.J[0]).max(axis=1)
    k = int(np.argmin(dist))
    if dist[k] < 1e-2 and abs(r.c[0] + 1) < 1e-2:
        face_area[k] += r.volume
for f, area in zip(faces, face_area):
    print(f"  gradient within 0.01 of {f}: area {area:.3f} of 2.25")
assert np.all(face_area > 1.5) and face_area.sum() > 0.9 * (2 * BOX) ** 2
assert len(R) >= exact_lin.count >= loose_lin.count >= 4

# %% [markdown]
# ## 4. The adjacency graph
#
# `R.graph` is a networkx graph: one node per activation region, an edge
# between regions that share a boundary segment. Crossing a boundary switches
# the units whose zero line it lies on; for this (generic) network each
# crossing switches exactly one unit.

# %%
G_adj = R.graph
flips = [int(np.sum(R[u].code != R[v].code)) for u, v in G_adj.edges()]
degrees = np.bincount([d for _, d in G_adj.degree()])
print(G_adj, "  connected:", nx.is_connected(G_adj))
print("units switched across an edge:", {int(k): int(n) for k, n in zip(*np.unique(flips, return_counts=True))})
print("degree histogram:", {k: int(v) for k, v in enumerate(degrees) if v})
assert nx.is_connected(G_adj)
assert all(f >= 1 for f in flips)
assert all(sorted(R[i].neighbors) == sorted(G_adj.neighbors(i)) for i in range(len(R)))

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed")
else:
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    R.plot(ax=axes[0], color_by="gradient")
    axes[0].set_title(f"{len(R)} activation regions, coloured by gradient")
    R.plot(ax=axes[1], color_by="region", linewidth=0.2)
    pos = {i: R[i].interior_point for i in range(len(R))}
    nx.draw_networkx(G_adj, pos, ax=axes[1], node_size=18, with_labels=False, width=0.8)
    axes[1].set_title("adjacency graph")
    plt.show()

# %% [markdown]
# ## 5. Smoothing: softplus$_\varepsilon$ networks
#
# `net.deform(eps)` keeps the weights and replaces every ReLU
# $z \oplus_0 0$ by $\mathrm{softplus}_\varepsilon(z) = z \oplus_\varepsilon 0$.
# Since $0 \le \mathrm{softplus}_\varepsilon - \mathrm{ReLU} \le \varepsilon \log 2$
# and both are 1-Lipschitz, the output gap is at most
# $\varepsilon \cdot C$ with $C = \log 2 \sum_{k<L} |W_L| \cdots |W_{k+1}| \mathbf 1$
# (`tropical.diagram.deep_bound`). The gap is largest near the region
# boundaries, where units switch.

# %%
C = float(deep_bound(list(zip(Ws, bs)))[0])
print(f"C = {C:.4f}")
gaps = {}
for e in [0.3, 0.1, 0.03, 0.01]:
    smooth = net.deform(e)
    gaps[e] = np.abs(smooth(grid) - net(grid))[:, 0]
    print(f"eps = {e:5}: max gap on the grid {gaps[e].max():.5f} <= eps*C = {e * C:.5f}")
    assert gaps[e].max() <= e * C
print(net.deform(0.1), " tropicalize() gives back net:", net.deform(0.1).tropicalize() == net)
assert net.deform(0.1).tropicalize() == net

# the same arrow through the diagram checker (softplus network -> ReLU network)
deep = tropical.check(list(zip(Ws, bs)), eps=[0.3, 0.1, 0.01])
print(deep["softplus->relu"].failure_message() if not deep.ok else
      f"check: softplus->relu holds, measured/bound = "
      f"{deep['softplus->relu'].max_measured / deep['softplus->relu'].max_bound:.3f}")
assert deep.ok

# %% [markdown]
# As $\varepsilon \to 0$ each softplus unit's Gibbs weights
# $(\sigma(z/\varepsilon), 1 - \sigma(z/\varepsilon))$ concentrate on the piece the
# ReLU network uses: the smooth network "chooses" the activation region of
# its limit at more and more points.

# %%
conc = gibbs_concentration(net.deform(0.1), BOX, eps=[1.0, 0.1, 0.01, 0.001], n_samples=2000, seed=0)
for e, off, agree in zip(conc.eps, conc.off_limit, conc.agreement):
    print(f"eps = {e:6}: mass off the limit's piece {off.round(4)}, same region as the limit {agree:.3f}")
assert np.all(np.diff(conc.off_limit, axis=0) < 0)
assert conc.agreement[-1] >= 0.99

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed")
else:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, e in zip(axes, [0.1, 0.01]):
        im = ax.imshow(gaps[e].reshape(61, 61) / e, origin="lower", extent=[-BOX, BOX, -BOX, BOX])
        ax.set_title(f"|softplus net - ReLU net| / eps at eps = {e}")
        fig.colorbar(im, ax=ax)
    plt.show()

# %% [markdown]
# ## Checks

# %%
assert losses[-1] < 1e-4
assert err.max() <= 1e-12                           # the tropical form is the network
assert abs(float(R.volumes.sum()) - 9.0) <= 1e-12   # the regions tile the box
assert R.counts() == {"activation_regions": len(R), "linear_regions": exact_lin.count, "complete": True}
assert all(gaps[e].max() <= e * C for e in gaps)    # the smoothing bound
# the region count does not depend on the algorithm: the LP facet walk finds the same patterns
walk = regions(net, BOX, method="walk", progress=False)
assert sorted(map(bytes, walk.codes)) == sorted(map(bytes, R.codes))
print(f"{len(R)} activation regions, {exact_lin.count} linear regions, smoothing within eps*{C:.3f}")

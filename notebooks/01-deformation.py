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
# # The log semiring and its tropical limit
#
# **What this notebook shows.** One parameter $\varepsilon \ge 0$ indexes a
# family of semirings on $\mathbb{R} \cup \{-\infty\}$ with multiplication
# $a \otimes b = a + b$; the addition $a \oplus_\varepsilon b$ is log-sum-exp at
# temperature $\varepsilon$ and becomes $\max$ at $\varepsilon = 0$ (Maslov
# dequantization). We
#
# 1. meet the semirings as objects and check that for $\varepsilon > 0$ the
#    log semiring is ordinary arithmetic in disguise;
# 2. measure $\mathrm{LSE}_\varepsilon \to \max$ against its bounds and draw it
#    (softplus $\to$ ReLU, the smoothed tropical line);
# 3. do the same symbolically with SymPy (`tropical.symbolic`): `deform` a
#    tropical expression, `dequantize` it back exactly, and `expand` it near
#    $\varepsilon = 0$, where the term $\varepsilon \log k$ counts the tied
#    monomials;
# 4. evaluate at tiny $\varepsilon$ without overflow.
#
# Max-plus *matrices* (products as paths, the Kleene star) are in
# `06-maxplus.py`. Conventions: `MATH.md` section 1.
#
# | name | $a \oplus b$ | zero | one |
# |---|---|---|---|
# | `maxplus` ($\varepsilon = 0$) | $\max(a, b)$ | $-\infty$ | $0$ |
# | `minplus` ($\varepsilon = 0$) | $\min(a, b)$ | $+\infty$ | $0$ |
# | `logsemiring(eps)` | $\varepsilon \log(e^{a/\varepsilon} + e^{b/\varepsilon})$ | $-\infty$ | $0$ |
# | `logsemiring(eps, sense="min")` | $-\varepsilon \log(e^{-a/\varepsilon} + e^{-b/\varepsilon})$ | $+\infty$ | $0$ |
#
# Every cell asserts the facts it shows, so running the notebook is a test;
# the last cell collects the headline numbers.

# %%
import math

import numpy as np
import sympy as sp

import tropical
from tropical import logsemiring, maxplus, minplus
from tropical.symbolic import deform, dequantize, expand, lambdify_deformed
from tropical.symbolic import eps as eps_s  # the positive SymPy symbol eps

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
# ### Pictures: softplus $\to$ ReLU and the smoothed tropical line
#
# $\mathrm{softplus}_\varepsilon(z) = z \oplus_\varepsilon 0 = \varepsilon\log(1 + e^{z/\varepsilon})$
# is the deformation of $\mathrm{ReLU}(z) = z \oplus_0 0$. The gap is largest
# at the tie $z = 0$, where it is exactly $\varepsilon \log 2$, and it decays
# like $\varepsilon e^{-|z|/\varepsilon}$ away from it.
#
# In two variables, $\mathrm{LSE}_\varepsilon(x, y, 0) - \max(x, y, 0)$ is
# visible only near the **tropical line** (where two of $x, y, 0$ tie): it is
# $\approx \varepsilon \log 2$ on its three rays and $\varepsilon \log 3$ at the
# vertex, where all three tie.

# %%
z = np.linspace(-2.0, 2.0, 401)  # contains z = 0 exactly
relu = np.maximum(z, 0.0)
softplus = {e: tropical.lse(np.stack([z, np.zeros_like(z)], axis=-1), e) for e in [1.0, 0.3, 0.1, 0.03]}
for e, s in softplus.items():
    gap_z = s - relu
    i = int(np.argmax(gap_z))
    print(f"eps = {e:5}: max gap {gap_z.max():.6f} at z = {z[i]:+.2f}, eps log 2 = {e * math.log(2):.6f}")
    assert z[i] == 0.0 and abs(gap_z[i] - e * math.log(2)) <= 4e-16
    assert np.all(gap_z >= 0) and np.all(gap_z <= e * math.log(2) + 4e-16)
    # away from the tie the gap is exponentially small: eps*log(1 + exp(-|z|/eps)) <= eps*exp(-|z|/eps)
    assert np.all(gap_z <= e * np.exp(-np.abs(z) / e) + 4e-16)

g = np.linspace(-1.5, 1.5, 121)
XY = np.stack(np.meshgrid(g, g), axis=-1)                       # (121, 121, 2)
terms = np.concatenate([XY, np.zeros(XY.shape[:-1] + (1,))], axis=-1)
excess_2d = {e: tropical.lse(terms, e) - terms.max(axis=-1) for e in [0.3, 0.1]}
c0 = (60, 60)                                                    # the grid point (0, 0)
assert XY[c0].tolist() == [0.0, 0.0]
for e, ex in excess_2d.items():
    print(f"eps = {e}: excess at the vertex {ex[c0]:.6f} (eps log 3 = {e * math.log(3):.6f}), "
          f"max over the grid {ex.max():.6f}")
    assert abs(ex[c0] - e * math.log(3)) <= 4e-16 and ex.max() == ex[c0]

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: see the numbers above")
else:
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    axes[0].plot(z, relu, "k", lw=2, label="ReLU = max(z, 0)")
    for e, s in softplus.items():
        axes[0].plot(z, s, label=f"softplus, eps={e}")
    axes[0].set_xlabel("z")
    axes[0].legend(fontsize=8)
    for ax, (e, ex) in zip(axes[1:], excess_2d.items()):
        im = ax.pcolormesh(g, g, ex / e, shading="auto", vmin=0, vmax=math.log(3))
        ax.set_title(f"(LSE - max)/eps at eps = {e}")
        ax.set_aspect("equal")
        fig.colorbar(im, ax=ax)
    plt.show()

# %% [markdown]
# ## 3. The same, symbolically
#
# `tropical.symbolic` works with SymPy expressions and the positive symbol
# `eps`. `deform` replaces every $\max$ by log-sum-exp (and $\min$ by the
# soft minimum); `dequantize` computes the limit $\varepsilon \to 0^+$
# *exactly*, by a valuation rewrite ($e^{u/\varepsilon} \to u$, sums $\to
# \max$, products $\to$ sums, positive constants $\to 0$). It is not
# `sympy.limit`, which cannot decide the limit for symbolic arguments (and
# in some versions returns a wrong one).

# %%
x_, y_ = sp.symbols("x y", real=True)
F_relu = deform(sp.Max(x_, 0))
F_line = deform(sp.Max(x_, y_, 0))
F_nested = deform(sp.Max(sp.Min(x_, y_), 0))
for F in [F_relu, F_line, F_nested]:
    print(F, "  ->  ", dequantize(F))
assert F_relu == eps_s * sp.log(sp.exp(x_ / eps_s) + 1)
assert dequantize(F_relu) == sp.Max(x_, 0)
assert dequantize(F_line) == sp.Max(x_, y_, 0)
assert dequantize(F_nested) == sp.Max(sp.Min(x_, y_), 0)

a_, b_ = sp.symbols("a b", real=True)
two_terms = eps_s * sp.log(sp.exp(a_ / eps_s) + sp.exp(b_ / eps_s))
try:
    lim = sp.limit(two_terms, eps_s, 0, "+")
except Exception as err:  # SymPy cannot decide it without knowing signs
    lim = f"{type(err).__name__}: {err}"
print("sympy.limit:", lim)
print("dequantize: ", dequantize(two_terms))
assert dequantize(two_terms) == sp.Max(a_, b_)

# %% [markdown]
# A tropical polynomial deforms the same way; the round trip gives back the
# same function.

# %%
p = tropical.parse("max(0, x + 2*y - 1, 3*x)")
P_eps = deform(p)
print(P_eps)
print(dequantize(P_eps))
assert tropical.symbolic.from_sympy(dequantize(P_eps), variables=p.variables) == p

# %% [markdown]
# ### The expansion near $\varepsilon = 0$ counts ties
#
# At a point where $k$ of the terms attain the maximum $M$ and the others are
# at least $\mathrm{gap}$ below,
#
# $$\mathrm{LSE}_\varepsilon = M + \varepsilon \log k + \varepsilon \sum_i \tfrac{1}{k} e^{-g_i/\varepsilon} + R(\varepsilon),$$
#
# and `expand` returns each piece with a proven bound on $|R|$
# (`remainder_bound`). On the tropical line $\max(x, y, 0)$: the vertex
# $(0, 0)$ ($k = 3$), a point of a ray $(1, 1)$ ($k = 2$, the third term $1$
# below), and a generic point $(2, -1)$ ($k = 1$, gaps $2$ and $3$). The
# expansion is compared with a 40-digit evaluation of the deformation and
# with the float kernel.

# %%
import mpmath

points = {"vertex (0, 0)": (0, 0), "ray (1, 1)": (1, 1), "generic (2, -1)": (2, -1)}
expected_k = {"vertex (0, 0)": 3, "ray (1, 1)": 2, "generic (2, -1)": 1}
print(f"{'point':16} {'k':>2} {'expansion':34} {'eps':>5} {'|exp. - exact|':>15} {'bound':>10} {'|kernel - exact|':>16}")
with mpmath.workdps(40):
    for label, (px, py) in points.items():
        X = expand(F_line, at={x_: px, y_: py}, order=1)
        k_here = X.multiplicity[0]
        assert k_here == expected_k[label]
        assert X.leading == max(px, py, 0)
        assert sp.simplify(X.log_multiplicity - eps_s * sp.log(k_here)) == 0
        approx = sp.lambdify(eps_s, X.as_expr(), "mpmath")
        for h in ["0.5", "0.2", "0.1"]:
            hm = mpmath.mpf(h)
            exact = hm * mpmath.log(mpmath.exp(px / hm) + mpmath.exp(py / hm) + 1)
            err = abs(approx(hm) - exact)
            kernel = float(tropical.lse([float(px), float(py), 0.0], float(h)))
            kerr = abs(mpmath.mpf(kernel) - exact)
            print(f"{label:16} {k_here:>2} {str(X.as_expr()):34} {h:>5} {mpmath.nstr(err, 3):>15} "
                  f"{mpmath.nstr(X.remainder_bound(hm), 3):>10} {mpmath.nstr(kerr, 3):>16}")
            assert err <= X.remainder_bound(hm)
            assert kerr <= 4e-16 * max(1, abs(float(exact)))

# %% [markdown]
# Without a point, `expand` returns one piece per region where a term
# dominates, with the region as a condition:

# %%
for piece in expand(F_relu):
    print(piece.conditions, "  ", piece.as_expr())
assert [piece.leading for piece in expand(F_relu)] == [0, x_]

# %% [markdown]
# ### The slope is the Gibbs entropy
#
# $\frac{d}{d\varepsilon}\bigl(\mathrm{LSE}_\varepsilon(a) - \max a\bigr) = H(\pi_\varepsilon)$
# with $\pi_\varepsilon = \mathrm{softmax}(a/\varepsilon)$: exact calculus,
# done by SymPy here and compared with the kernels' `softmax` and `entropy`.
# It tends to $\log k$ as $\varepsilon \to 0$ and to $\log N$ as
# $\varepsilon \to \infty$.

# %%
dF = sp.diff(F_line, eps_s)
for (px, py), h in [((1, 1), 0.3), ((0, 0), 0.5), ((2, -1), 0.7), ((0.5, -0.25), 2.0)]:
    slope = float(dF.subs({x_: px, y_: py, eps_s: h}))
    H = float(tropical.entropy(tropical.softmax([px, py, 0.0], h)))
    print(f"at ({px}, {py}), eps = {h}: d/deps LSE = {slope:.15f}, H(pi) = {H:.15f}")
    assert abs(slope - H) <= 1e-14

# %% [markdown]
# ## 4. Tiny $\varepsilon$ without overflow
#
# The naive formula overflows already at $\varepsilon = 10^{-3}$ for values
# near $1$: $e^{1000}$ is not a float. The kernels shift by the maximum first,
# and `lambdify_deformed` routes a deformed SymPy expression through them.

# %%
with np.errstate(over="ignore"):
    naive = 1e-3 * np.log(np.sum(np.exp(a / 1e-3)))
print("naive:", naive, "  engine:", float(tropical.lse(a, 1e-3)))
assert np.isinf(naive)
assert abs(tropical.lse(a, 1e-3) - (m + 1e-3 * math.log(2))) <= 4e-16

naive_fn = sp.lambdify((x_, y_), F_line.subs(eps_s, 1e-3), "numpy")
safe_fn = lambdify_deformed(F_line, [x_, y_], 1e-3)
pt = np.array([1.0, 1.0])
with np.errstate(over="ignore"):
    print("sympy.lambdify:", naive_fn(*pt), "  lambdify_deformed:", float(safe_fn(pt)))
    assert np.isinf(naive_fn(*pt))
assert abs(float(safe_fn(pt)) - (1 + 1e-3 * math.log(2))) <= 4e-16

# %% [markdown]
# ## Checks
#
# The headline numbers of this notebook; a wrong kernel or a wrong symbolic
# rule makes this cell fail.

# %%
# the excess at a k-fold tie is eps log k, to rounding
for k_tie in [1, 2, 3, 7]:
    for h in [1.0, 0.1, 1e-3]:
        assert abs(tropical.lse(np.zeros(k_tie), h) - h * math.log(k_tie)) <= 4e-16 * max(1, h * math.log(k_tie) * 4)
# max <= LSE_eps <= max + eps log N, tested on random data
vals = rng.normal(size=(200, 9))
for h in [2.0, 0.1, 1e-4]:
    d = tropical.lse(vals, h) - vals.max(axis=1)
    assert np.all(d >= 0) and np.all(d <= h * math.log(9) + 1e-15)
# eps = 0 is max-plus, and dequantization of a deformation is the identity on tropical expressions
assert tropical.lse(vals, 0.0).tolist() == vals.max(axis=1).tolist()
assert dequantize(deform(sp.Max(x_ + 2 * y_, 3 * x_ - 1, 0))) == sp.Max(x_ + 2 * y_, 3 * x_ - 1, 0)
print("all checks hold")

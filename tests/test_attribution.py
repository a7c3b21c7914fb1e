"""Tests of tropical.attribution: influences, the entropy landscape, its bifurcations.

References used here, independent of the code under test:

* central finite differences of the entropy (and of its gradient); the step
  ``h = 1e-5`` at ``eps >= 0.5`` with ``|w_j| <= 1.5``: the truncation error is
  ``h^2/6 * sup|f'''|`` with ``sup|f'''| <~ 10 * (2 diam/eps)^3 ~ 2e4``
  (third/fourth cumulants of the bounded ``w``, ``c``), i.e. ``<~ 4e-7``, and the
  rounding error ``~ u |f| / h ~ 1e-10``; the tolerance ``1e-6`` (absolute,
  the values are O(1)-O(10)) covers both with a margin and is 1e4 below the
  size of the quantities compared;
* mpmath at 40 digits: ``H = -sum pi log pi`` written directly, derivatives
  by ``mpmath.diff`` (high-order differences at 40 digits: ~1e-25 accurate),
  fold points by ``mpmath.findroot`` on ``{H' = 0, H'' = 0}``.
"""

from __future__ import annotations

import doctest
import json
import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tropical.attribution as A
from tropical.attribution import (
    BifurcationDiagram,
    CriticalPoints,
    bifurcation_diagram,
    critical_points,
    entropy,
    entropy_grad,
    entropy_hessian,
    influence,
    two_cluster_example,
)
from tropical.kernels import reference
from tropical.views.network import LSELayer
from tropical.views.pde import HopfCole



@pytest.fixture(autouse=True)
def _mp40():
    """40 digits inside these tests only (a global setting would leak into other files)."""
    with mpmath.workdps(40):
        yield


# ----------------------------------------------------------------------------- helpers
def mp_entropy(W, b, x, eps):
    """-sum pi log pi at mpmath precision (x, eps may be mpf)."""
    s = [sum(mpmath.mpf(W[j][k]) * x[k] for k in range(len(x))) + mpmath.mpf(b[j])
         for j in range(len(W))]
    m = max(s)
    e = [mpmath.exp((sj - m) / eps) for sj in s]
    S = sum(e)
    return -sum((ej / S) * mpmath.log(ej / S) for ej in e)


def small_layer(rng, N=5, d=2, eps=0.7):
    return LSELayer(rng.uniform(-1.5, 1.5, (N, d)), rng.uniform(-1, 1, N), eps)


# ----------------------------------------------------------------------------- pointwise
def test_doctests():
    res = doctest.testmod(A, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


def test_influence_is_gradient_of_f_wrt_b(rng):
    layer = small_layer(rng)
    X = rng.normal(size=(4, 2))
    pi = influence(layer, X)
    h = 1e-6
    for j in range(layer.N):
        db = np.zeros(layer.N)
        db[j] = h
        fd = (LSELayer(layer.W, layer.b + db, layer.eps)(X)
              - LSELayer(layer.W, layer.b - db, layer.eps)(X)) / (2 * h)
        # f is smooth with |d^3 f/db^3| <= 1/eps^2: truncation <= h^2/(6 eps^2) ~ 4e-13
        np.testing.assert_allclose(pi[:, j], fd, atol=1e-8)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=0, atol=4e-16 * layer.N)


@settings(max_examples=30)
@given(st.integers(1, 8), st.integers(1, 3), st.floats(1e-3, 50.0), st.integers(0, 2**32 - 1))
def test_entropy_range_and_definition(N, d, eps, seed):
    rng = np.random.default_rng(seed)
    layer = LSELayer(rng.normal(size=(N, d)), rng.normal(size=N), eps)
    X = rng.normal(scale=3, size=(6, d))
    H = entropy(layer, X)
    assert H.shape == (6,)
    assert np.all(H >= 0) and np.all(H <= math.log(N))
    pi = influence(layer, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = -np.where(pi > 0, pi * np.log(pi), 0.0).sum(axis=1)
    # two computations of the same sum of N terms of size <= 1/e + pi*|log|: a few ulps each
    np.testing.assert_allclose(H, direct, rtol=0, atol=64 * N * 2.2e-16 * (1 + math.log(N)))


def test_entropy_grad_and_hessian_vs_finite_differences(rng):
    h = 1e-5
    for eps in (0.5, 1.3):
        layer = small_layer(rng, N=6, d=2, eps=eps)
        X = rng.normal(size=(5, 2))
        G = entropy_grad(layer, X)
        Hs = entropy_hessian(layer, X)
        for k in range(2):
            e = np.zeros(2)
            e[k] = h
            fd_g = (entropy(layer, X + e) - entropy(layer, X - e)) / (2 * h)
            np.testing.assert_allclose(G[:, k], fd_g, rtol=0, atol=1e-6)
            fd_h = (entropy_grad(layer, X + e) - entropy_grad(layer, X - e)) / (2 * h)
            np.testing.assert_allclose(Hs[:, :, k], fd_h, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(Hs, np.swapaxes(Hs, 1, 2))
        assert np.abs(G).max() > 1e-2 and np.abs(Hs).max() > 1e-2   # the comparison is not vacuous


def test_derivatives_vs_mpmath(rng):
    """grad, Hessian, third derivatives and eps-derivatives against 40-digit mpmath."""
    layer = small_layer(rng, N=4, d=2, eps=0.3)
    W, b = layer.W.tolist(), layer.b.tolist()
    for x in rng.normal(size=(3, 2)):
        _, G, Hs, T3, Ge, He = A._derivs(layer, x[None], layer.eps, 3)

        def f(x0, x1, e):
            return mp_entropy(W, b, [x0, x1], e)

        args = (mpmath.mpf(x[0]), mpmath.mpf(x[1]), mpmath.mpf(layer.eps))
        scale1 = max(1.0, np.abs(G).max())
        for k in range(2):
            n = [0, 0, 0]
            n[k] = 1
            assert abs(float(mpmath.diff(f, args, tuple(n))) - G[0, k]) <= 1e-12 * scale1
            n[2] = 1
            assert abs(float(mpmath.diff(f, args, tuple(n))) - Ge[0, k]) <= 1e-11 * max(1, abs(Ge).max())
            for l in range(2):
                n = [0, 0, 0]
                n[k] += 1
                n[l] += 1
                assert abs(float(mpmath.diff(f, args, tuple(n))) - Hs[0, k, l]) \
                    <= 1e-12 * max(1, abs(Hs).max())
                n[2] = 1
                assert abs(float(mpmath.diff(f, args, tuple(n))) - He[0, k, l]) \
                    <= 1e-11 * max(1, abs(He).max())
                for m in range(2):
                    n = [0, 0, 0]
                    n[k] += 1
                    n[l] += 1
                    n[m] += 1
                    assert abs(float(mpmath.diff(f, args, tuple(n))) - T3[0, k, l, m]) \
                        <= 1e-11 * max(1, abs(T3).max())


def test_kernel_matches_numpy_twin(rng):
    layer = small_layer(rng, N=7, d=3, eps=0.2)
    X = rng.normal(size=(9, 3))
    compiled = A._derivs(layer, X, layer.eps, 3)
    M, d = X.shape
    outs = (np.empty(M), np.empty((M, d)), np.empty((M, d, d)), np.empty((M, d, d, d)),
            np.empty((M, d)), np.empty((M, d, d)))
    reference.entropy_derivatives(layer.W, layer.b, X, layer.eps, 3, *outs)
    for a, r in zip(compiled, outs):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12 * max(1.0, np.abs(r).max()))


def test_shapes_batched_and_single(rng):
    layer = small_layer(rng, N=5, d=2)
    X = rng.normal(size=(3, 2))
    assert entropy(layer, X).shape == (3,)
    assert isinstance(entropy(layer, X[0]), float)
    assert entropy_grad(layer, X).shape == (3, 2) and entropy_grad(layer, X[0]).shape == (2,)
    assert entropy_hessian(layer, X).shape == (3, 2, 2)
    assert entropy_hessian(layer, X[0]).shape == (2, 2)
    assert influence(layer, X).shape == (3, 5) and influence(layer, X[0]).shape == (5,)
    np.testing.assert_array_equal(entropy_grad(layer, X)[1], entropy_grad(layer, X[1]))
    one_d = LSELayer([[1.0], [-2.0]], [0.0, 0.3], 0.5)
    assert entropy(one_d, [0.1, 0.2, 0.3]).shape == (3,)          # d = 1: (M,) are M points


def test_hopfcole_is_accepted_and_converted(rng):
    y = rng.normal(size=(5, 2))
    g = rng.normal(size=5)
    hc = HopfCole(y, g, eps=0.4)
    X = rng.normal(size=(4, 2))
    layer = hc.to_network(0.7)
    np.testing.assert_array_equal(entropy(hc, X, t=0.7), entropy(layer, X))
    np.testing.assert_array_equal(entropy_grad(hc, X, t=0.7), entropy_grad(layer, X))
    # the Gibbs weights of the two views agree (softmax(-a/eps) of the PDE view)
    np.testing.assert_allclose(influence(hc, X, t=0.7), hc.gibbs(X, 0.7), rtol=1e-12, atol=1e-15)


def test_eps_zero_semantics():
    layer = LSELayer([[1.0], [-1.0], [0.0]], [0.0, 0.0, 0.0], eps=0.0)
    np.testing.assert_array_equal(influence(layer, [[2.0], [0.0]]),
                                  [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_array_equal(entropy(layer, [[2.0], [0.0]]), [0.0, math.log(3)])
    np.testing.assert_array_equal(entropy_grad(layer, [[2.0], [-0.5]]), [[0.0], [0.0]])
    np.testing.assert_array_equal(entropy_hessian(layer, [[2.0]]), [[[0.0]]])
    with pytest.raises(ValueError, match="tropical hypersurface"):
        entropy_grad(layer, [[0.0]])
    with pytest.raises(ValueError, match="tropical hypersurface"):
        entropy_hessian(layer, [[1.0], [0.0]])
    # the eps -> 0 limit at a fixed point off the hypersurface
    assert entropy(layer.with_eps(1e-3), [2.0]) < 1e-300 + 1e-250


def test_sup_moment_bounds_dominate_samples(rng):
    """The certified bounds are >= the moments at every sampled point of the segment."""
    for eps in (0.05, 0.5):
        layer = small_layer(rng, N=6, d=2, eps=eps)
        Apts = rng.normal(size=(20, 2))
        Bpts = Apts + rng.normal(scale=0.05, size=(20, 2))
        bounds = A._sup_moment_bounds(layer, eps, Apts, Bpts)
        for i in range(20):
            ts = np.linspace(0, 1, 41)[:, None]
            P = Apts[i] + ts * (Bpts[i] - Apts[i])
            pi = influence(layer, P)
            s = P @ layer.W.T + layer.b
            u = layer.W[None] - (pi @ layer.W)[:, None, :]
            un = np.linalg.norm(u, axis=2)
            c = np.abs(s - (pi * s).sum(1, keepdims=True)) / eps
            got = [(pi * un**2).sum(1), (pi * un**2 * c).sum(1), (pi * un**3).sum(1),
                   (pi * un**3 * c).sum(1), (pi * un * c).sum(1)]
            for bound, val in zip(bounds, got):
                assert np.all(val <= bound[i] * (1 + 1e-12))


# ----------------------------------------------------------------------------- critical points
def test_two_symmetric_terms_critical_point_at_symmetry_point():
    layer = LSELayer([[-1.0], [1.0]], [0.3, 0.3], eps=0.4)
    cps = critical_points(layer, (-3.0, 3.0))
    assert cps.complete and len(cps) == 1
    p = cps[0]
    assert p.kind == "maximum" and abs(p.x[0]) <= 1e-15
    assert p.H == pytest.approx(math.log(2), abs=4e-16)


def test_symmetric_three_terms_pairs_and_mpmath():
    eps = 0.2
    layer = LSELayer([[-1.0], [0.0], [1.0]], [0.0, 0.6, 0.0], eps=eps)
    cps = critical_points(layer, (-4.0, 4.0))
    assert cps.complete
    assert cps.kinds == ["maximum", "minimum", "maximum"]
    xs = cps.x[:, 0]
    assert abs(xs[1]) <= 1e-15 and abs(xs[0] + xs[2]) <= 1e-13     # symmetric pair
    W, b = layer.W.tolist(), layer.b.tolist()
    root = mpmath.findroot(lambda x: mpmath.diff(lambda z: mp_entropy(W, b, [z], eps), x),
                           mpmath.mpf(xs[2]))
    assert abs(float(root) - xs[2]) <= 1e-12


def test_1d_certified_search_reports_unsettled_intervals():
    layer = LSELayer([[-1.0], [0.0], [1.0]], [0.0, 0.6, 0.0], eps=0.2)
    cut = critical_points(layer, (-4.0, 4.0), grid=1, max_depth=2)
    assert not cut.complete and "could not be settled" in cut.reason
    full = critical_points(layer, (-4.0, 4.0))
    assert full.info["intervals"] > 1 and not full.info["unresolved"]


def test_underflow_is_reported_not_guessed():
    # |x| > ~3.7: the weight of the other term is below 1e-308, H' == 0 in floating point
    layer = LSELayer([[-1.0], [1.0]], [0.0, 0.0], eps=0.01)
    cps = critical_points(layer, (-20.0, 20.0))
    assert not cps.complete and "underflow" in cps.reason
    assert any(abs(p.x[0]) < 1e-12 and p.kind == "maximum" for p in cps)
    plane = LSELayer([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [0.0, 0.0, -1.0], eps=0.01)
    flat = critical_points(plane, ((-20.0, -20.0), (20.0, 20.0)), starts=[[15.0, -15.0]])
    assert len(flat) == 0 and not flat.complete                   # no point from a flat start


def test_2d_index_check_catches_truncated_search():
    layer = two_cluster_example(eps=0.1)
    full = critical_points(layer, A.TWO_CLUSTER_BOX)
    assert full.complete and full.index_sum == full.winding
    assert full.info["winding_certified"]
    assert set(full.kinds) == {"minimum", "saddle", "maximum"}
    for drop in ("saddle", "minimum", "maximum"):
        # truncate the search on purpose: start only next to the points of the other kinds
        keep = np.array([p.x for p in full if p.kind != drop])
        cut = critical_points(layer, A.TWO_CLUSTER_BOX, starts=keep + 1e-4)
        assert not cut.complete
        assert cut.winding == full.winding and cut.index_sum != cut.winding
        assert f"index sum {cut.index_sum}" in cut.reason
        assert f"winding number {cut.winding}" in cut.reason
        for p in cut:       # every point of the truncated search is one of the full search
            assert np.min(np.linalg.norm(full.x - p.x, axis=1)) < 1e-9


def test_2d_points_are_critical_and_kinds_match_eigenvalues():
    layer = two_cluster_example(eps=0.05)
    cps = critical_points(layer, A.TWO_CLUSTER_BOX)
    assert cps.complete
    G = entropy_grad(layer, cps.x)
    Hs = entropy_hessian(layer, cps.x)
    assert np.all(np.linalg.norm(G, axis=1) <= 1e-9 * np.abs(Hs).max(axis=(1, 2)))
    for p, h in zip(cps, Hs):
        ev = np.linalg.eigvalsh(h)
        want = "minimum" if (ev > 0).all() else "maximum" if (ev < 0).all() else "saddle"
        assert p.kind == want
    back = CriticalPoints.from_json(cps.to_json())
    assert back.kinds == cps.kinds and np.array_equal(back.x, cps.x)
    assert "complete=True" in repr(cps)


def test_degenerate_critical_points_are_flagged():
    # two terms in the plane: H depends on one direction only -> a line of critical points
    layer = LSELayer([[1.0, 0.0], [-1.0, 0.0]], [0.0, 0.0], eps=0.5)
    cps = critical_points(layer, ((-2.0, -2.0), (2.0, 2.0)), starts=[[0.1, 0.3]])
    assert cps[0].kind == "degenerate" and not cps.complete
    assert "degenerate" in cps.reason


# ----------------------------------------------------------------------------- bifurcations
def mp_fold(W, b, x0, eps0):
    """The fold of a 1-D layer: findroot on {H' = 0, H'' = 0} at 40 digits."""
    def Hp(x, e, n):
        return mpmath.diff(lambda z: mp_entropy(W, b, [z], e), x, n)

    sol = mpmath.findroot(lambda x, e: (Hp(x, e, 1), Hp(x, e, 2)),
                          (mpmath.mpf(x0), mpmath.mpf(eps0)))
    return float(sol[0]), float(sol[1])


def test_fold_located_to_1e12_against_mpmath():
    layer = LSELayer([[-1.0], [0.0], [2.0]], [0.0, 0.6, 0.0], eps=1.0)
    diag = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0), progress=False)
    assert diag.complete and len(diag.folds) == 1
    f = diag.folds[0]
    assert f.kinds == ("maximum", "minimum") and f.direction == "annihilation"
    x_ref, eps_ref = mp_fold(layer.W.tolist(), layer.b.tolist(), f.x[0] + 1e-3, f.eps * 1.01)
    # Newton on the regular system {H' = 0, H'' = 0} in (x, log eps) ends at the rounding
    # level (measured: |d eps| = 0, |dx| = 6e-17); 1e-12 leaves ~1e4 ulps for other CPUs'
    # vectorised exp/log (was 1e-8 and 1e-6: a fold off by 1e-7 passed)
    assert abs(f.eps - eps_ref) <= 1e-12
    assert abs(f.x[0] - x_ref) <= 1e-12
    assert diag.counts(f.eps * 0.999) == {"minimum": 1, "maximum": 2}
    assert diag.counts(f.eps * 1.001) == {"maximum": 1}


def local_critical_points(layer, x0, radius):
    """Critical points within ``radius`` of ``x0``: Newton from 48 starts around it."""
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    starts = np.concatenate([x0 + r * np.stack([np.cos(ang), np.sin(ang)], 1)
                             for r in (radius / 100, radius / 10, radius / 2)])
    lo, hi = x0 - 10 * radius, x0 + 10 * radius
    X, _ = A._newton_roots(layer, layer.eps, starts, lo, hi)
    X = A._dedup(X, 1e-9)
    X = X[np.linalg.norm(X - x0, axis=1) < radius]
    return sorted(A._make_point(layer, x, layer.eps, 1e-8).kind for x in X)


def test_two_cluster_diagram_consistent_with_searches():
    layer = two_cluster_example()
    box = A.TWO_CLUSTER_BOX
    diag = bifurcation_diagram(layer, (0.03, 10 ** 0.8), box, progress=False)
    assert diag.complete, diag.reason
    assert diag.counts(5.0) == {"maximum": 1}
    for eps in (0.04, 0.2):
        assert diag.counts(eps) == critical_points(layer.with_eps(eps), box).counts()
    assert len(diag.folds) >= 5
    for f in diag.folds:
        # a pair of the fold's kinds within 0.05 of x_f on one side of eps_f, none on the other
        # (distance of the pair ~ sqrt(1e-6) * scale: resolved by Newton from close starts)
        below = local_critical_points(layer.with_eps(f.eps * (1 - 1e-6)), f.x, 0.05)
        above = local_critical_points(layer.with_eps(f.eps * (1 + 1e-6)), f.x, 0.05)
        pair, empty = (below, above) if f.direction == "annihilation" else (above, below)
        assert pair == list(f.kinds) and empty == []
        assert "saddle" in f.kinds                         # d = 2: a saddle meets an extremum
    tree = diag.basin_tree
    minima = {b.id for b in diag.branches if b.kind == "minimum"}
    assert set(tree.nodes) - {"box"} == minima
    fold_eps = {f.eps for f in diag.folds if set(f.kinds) == {"minimum", "saddle"}}
    assert tree.number_of_edges() >= 1
    for a, b_, data in tree.edges(data=True):
        assert data["eps"] in fold_eps and a in minima and (b_ in minima or b_ == "box")
        assert tree.out_degree(a) == 1
    back = BifurcationDiagram.from_json(diag.to_json())
    assert back.counts(0.07) == diag.counts(0.07)
    assert [f.eps for f in back.folds] == [f.eps for f in diag.folds]
    assert json.loads(back.to_json()) == json.loads(diag.to_json())
    assert "BifurcationDiagram(d=2" in repr(diag)


def test_interrupt_keeps_partial_result(monkeypatch):
    layer = LSELayer([[-1.0], [0.0], [2.0]], [0.0, 0.6, 0.0], eps=1.0)
    real = A._trace
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "_trace", flaky)
    diag = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0), progress=False)
    assert diag.interrupted and not diag.complete and len(diag.branches) >= 1


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs():
    layer = LSELayer([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], eps=0.5)
    with pytest.raises(TypeError, match="LSELayer or a HopfCole"):
        entropy("layer", [0.0, 0.0])
    with pytest.raises(ValueError, match="NaN"):
        entropy(layer, [np.nan, 0.0])
    with pytest.raises(ValueError, match="shape"):
        entropy_grad(layer, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="ragged"):
        entropy(layer, [[0.0, 0.0], [1.0]])
    with pytest.raises(ValueError, match="x contains inf"):
        entropy_hessian(layer, [np.inf, 0.0])
    with pytest.raises(ValueError, match="x must be finite"):
        influence(layer, [-np.inf, 0.0])
    with pytest.raises(ValueError, match="eps > 0"):
        critical_points(layer.with_eps(0.0), ((-1, -1), (1, 1)))
    with pytest.raises(NotImplementedError, match="d = 3"):
        critical_points(LSELayer(np.eye(3), np.zeros(3), 0.5), ((-1,) * 3, (1,) * 3))
    with pytest.raises(NotImplementedError, match="d = 3"):
        bifurcation_diagram(LSELayer(np.eye(3), np.zeros(3), 0.5), (0.1, 1), ((-1,) * 3, (1,) * 3))
    with pytest.raises(ValueError, match="lo < hi"):
        critical_points(layer, ((1, 1), (-1, -1)))
    with pytest.raises(ValueError, match="box"):
        critical_points(layer, (0.0,))
    with pytest.raises(ValueError, match="box\\[1\\]"):
        critical_points(layer, ((0, 0), (1, np.nan)))
    with pytest.raises(ValueError, match="starts"):
        critical_points(layer, ((-1, -1), (1, 1)), starts=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="eps_range"):
        bifurcation_diagram(layer, (1.0, 0.1), ((-1, -1), (1, 1)))
    with pytest.raises(ValueError, match="eps_range"):
        bifurcation_diagram(layer, (0.0, 1.0), ((-1, -1), (1, 1)))
    with pytest.raises(ValueError, match="eps_range"):
        bifurcation_diagram(layer, 0.5, ((-1, -1), (1, 1)))
    with pytest.raises(ValueError, match=">= 0"):
        bifurcation_diagram(layer, (-1.0, 1.0), ((-1, -1), (1, 1)))
    with pytest.raises(ValueError, match="outside the diagram's range"):
        bifurcation_diagram(LSELayer([[-1.0], [1.0]], [0.0, 0.0]), (0.1, 1.0), (-2.0, 2.0),
                            progress=False).counts(2.0)
    with pytest.raises(ValueError, match="not the JSON"):
        BifurcationDiagram.from_json('{"type": "x"}')
    with pytest.raises(ValueError, match="not the JSON"):
        CriticalPoints.from_json("[]")
    with pytest.raises(ValueError, match="t must be > 0"):
        entropy(HopfCole([[0.0]], [0.0], 0.5), [0.0], t=0.0)


def test_plot_progress_and_hopfcole_diagram(capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    hc = HopfCole([[-2.0], [0.0], [4.0]], [-1.0, -0.6, -4.0], eps=1.0)   # the layer of the fold test
    layer = hc.to_network(1.0)
    np.testing.assert_array_equal(layer.W[:, 0], [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(layer.b, [0.0, 0.6, 0.0])
    diag = bifurcation_diagram(hc, (0.05, 1.0), (-4.0, 4.0), progress=True)
    err = capsys.readouterr().err
    assert "bifurcation: seeds at eps" in err
    ax = diag.plot()
    assert len(ax.lines) == len(diag.branches) + 1          # the branches and the folds
    assert len(diag.folds) == 1


def test_numpy_twin_path_gives_the_same_fold(monkeypatch):
    """TROPICAL_JIT=0 runs kernels.reference: the same diagram to rounding."""
    layer = LSELayer([[-1.0], [0.0], [2.0]], [0.0, 0.6, 0.0], eps=1.0)
    fast = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0), progress=False)
    monkeypatch.setattr(A._kernels, "get", lambda name: getattr(reference, name))
    slow = bifurcation_diagram(layer, (0.05, 1.0), (-4.0, 4.0), progress=False)
    assert len(slow.folds) == len(fast.folds) == 1
    assert abs(slow.folds[0].eps - fast.folds[0].eps) <= 1e-12

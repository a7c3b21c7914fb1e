"""The network view: LSELayer and attention (MATH.md sections 2 and 4)."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from tropical.views.network import LSELayer, attention


U = np.finfo(np.float64).eps / 2


def random_layer(rng, N=7, d=3, eps=0.3):
    return LSELayer(rng.normal(size=(N, d)), rng.normal(size=N), eps)


def mp_lse(W, b, x, eps):
    with mpmath.workdps(50):
        z = [mpmath.fsum(mpmath.mpf(float(w)) * mpmath.mpf(float(v)) for w, v in zip(row, x))
             + mpmath.mpf(float(bj)) for row, bj in zip(W, b)]
        s = mpmath.fsum(mpmath.exp(zj / eps) for zj in z)
        f = eps * mpmath.log(s)
        pi = [mpmath.exp(zj / eps) / s for zj in z]
        return f, pi


def test_call_gibbs_against_mpmath(rng):
    for eps in (1e-3, 0.1, 1.0, 1e3):
        layer = random_layer(rng, eps=eps)
        X = rng.normal(size=(5, 3)) * 3
        f, pi = layer(X), layer.gibbs(X)
        for i, x in enumerate(X):
            fm, pim = mp_lse(layer.W, layer.b, x, eps)
            scale = float(np.max(np.abs(layer.preactivations(x)))) + eps * math.log(layer.N)
            assert abs(f[i] - float(fm)) <= 16 * U * scale * (layer.d + 2)
            assert np.abs(pi[i] - np.array([float(p) for p in pim])).max() <= \
                math.expm1(8 * U * scale * (layer.d + 2) / eps) * 2 + 16 * U


def test_grad_is_gibbs_times_W_exactly(rng):
    layer = random_layer(rng)
    X = rng.normal(size=(4, 6, 3))
    assert np.array_equal(layer.grad(X), layer.gibbs(X) @ layer.W)
    assert layer.grad(X).shape == (4, 6, 3)


def test_grad_and_hessian_against_finite_differences(rng):
    eps = 0.5
    layer = random_layer(rng, eps=eps)
    W = layer.W
    diam = max(np.linalg.norm(a - c) for a in W for c in W)
    h = 1e-4
    for x in rng.normal(size=(5, 3)):
        fx = abs(float(layer(x))) + 1
        for k in range(3):
            e = np.zeros(3)
            e[k] = h
            fd = (layer(x + e) - layer(x - e)) / (2 * h)
            # truncation h^2/6 |f'''| with |f'''| <= diam^3/eps^2, rounding 4u|f|/(2h)
            bound = h * h / 6 * diam ** 3 / eps ** 2 + 4 * U * fx / h
            assert abs(fd - layer.grad(x)[k]) <= bound
            fdH = (layer.grad(x + e) - layer.grad(x - e)) / (2 * h)
            boundH = h * h / 6 * 4 * diam ** 4 / eps ** 3 + 8 * U * np.abs(W).max() / h
            assert np.abs(fdH - layer.hessian(x)[k]).max() <= boundH


def test_hessian_psd_and_covariance(rng):
    layer = random_layer(rng, N=9, d=4, eps=0.05)
    H = layer.hessian(rng.normal(size=(20, 4)))
    assert H.shape == (20, 4, 4)
    assert np.allclose(H, np.swapaxes(H, -1, -2))
    lam = np.linalg.eigvalsh(H)
    assert (lam >= -1e-12 * np.abs(lam).max()).all()


def test_eps_zero_everywhere():
    layer = LSELayer([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], [0.0, 0.0, -5.0], eps=0.0)
    X = np.array([[2.0, 0.0], [0.0, 0.0], [-3.0, 1.0]])
    assert np.array_equal(layer(X), [2.0, 0.0, 3.0])
    assert np.array_equal(layer.gibbs(X), [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0]])
    assert np.array_equal(layer.grad(X), [[1, 0], [0, 0], [-1, 0]])
    H = layer.hessian(X)
    assert np.array_equal(H[0], np.zeros((2, 2))) and np.array_equal(H[2], np.zeros((2, 2)))
    # tie between (1,0) and (-1,0) at x=0: infinite curvature along x1 only
    assert H[1, 0, 0] == np.inf and H[1, 1, 1] == 0 and H[1, 0, 1] == 0


def test_tropical_equals_eps_zero(rng):
    layer = random_layer(rng, N=11, d=2, eps=0.2)
    X = rng.normal(size=(50, 2)) * 4
    assert np.array_equal(layer.tropical()(X), layer.with_eps(0.0)(X))
    assert layer.tropical().sense == "max"


def test_to_pde_and_back(rng):
    layer = random_layer(rng, eps=0.07)
    for t in (0.3, 1.0, 2.5):
        pde = layer.to_pde(t)
        back = pde.to_network(t)
        assert np.allclose(back.W, layer.W, rtol=4 * U, atol=0)
        assert np.allclose(back.b, layer.b, rtol=0, atol=64 * U * (1 + np.abs(layer.b).max()
                                                                    + t * (layer.W ** 2).sum(1).max()))
        X = rng.normal(size=(9, 3))
        q = (X ** 2).sum(1) / (4 * t)
        assert np.allclose(layer(X) + pde.u(X, t), q, rtol=0, atol=1e-12)


def test_to_convex(rng):
    layer = random_layer(rng, eps=0.2)
    cvx = layer.to_convex()
    X = rng.normal(size=(6, 3))
    assert np.allclose(cvx.value(X), layer(X), rtol=0, atol=1e-12)


def test_json_and_npz_round_trip(rng, tmp_path):
    layer = random_layer(rng, eps=1e-3)
    assert LSELayer.from_json(layer.to_json()) == layer
    path = tmp_path / "layer.npz"
    layer.save(path)
    assert LSELayer.load(path) == layer
    assert LSELayer.load(path, eps=0.5).eps == 0.5
    with pytest.raises(ValueError, match="not the JSON"):
        LSELayer.from_json(json.dumps({"type": "x"}))
    assert repr(layer) == "LSELayer(N=7, d=3, eps=0.001)"


def test_immutable_and_validation(rng):
    layer = random_layer(rng)
    with pytest.raises(ValueError):
        layer.W[0, 0] = 1.0
    with pytest.raises(ValueError, match="NaN"):
        LSELayer([[np.nan]], [0.0])
    with pytest.raises(ValueError, match="shape"):
        LSELayer([[1.0, 2.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        LSELayer([[1.0]], [0.0], eps=-1)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        layer(np.zeros(2))


def test_no_overflow_far_away(rng):
    layer = random_layer(rng, eps=1e-6)
    x = np.full(3, 1e6)
    assert np.isfinite(layer(x)) and np.isfinite(layer.gibbs(x)).all()


@pytest.mark.parametrize("eps", [1e-4, 0.1, 1.0, 8.0, 1e3])
def test_attention_is_the_gibbs_average(rng, eps):
    Q = rng.normal(size=(2, 5, 4))
    K = rng.normal(size=(7, 4))
    V = rng.normal(size=(7, 3))
    S = Q @ K.T / eps
    S = S - S.max(axis=-1, keepdims=True)
    P = np.exp(S)
    plain = (P / P.sum(axis=-1, keepdims=True)) @ V
    got = attention(Q, K, V, eps)
    # the weights agree to a few ulps relative to exp of a rounded exponent
    tol = 64 * U * (1 + np.abs(Q @ K.T).max() / eps) * np.abs(V).sum(0).max()
    assert np.abs(got - plain).max() <= tol
    assert got.shape == (2, 5, 3)


def test_attention_hard_limit():
    K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    V = np.array([[1.0], [2.0], [4.0]])
    assert np.array_equal(attention([[3.0, 0.0]], K, V, 0.0), [[2.5]])


# ---- one-pass evaluation (kernel lse_layer_rows) -----------------------------------
@pytest.mark.parametrize("d", [3, 40])
@pytest.mark.parametrize("eps", [0.0, 1e-300, 1e-3, 0.7, 1e3])
def test_evaluate_matches_the_separate_methods(rng, eps, d, monkeypatch):
    import tropical
    from tropical.views import network

    # d = 40: BLAS pre-activations, the Gibbs weights written over them (lse_scores_rows),
    # here in blocks of 2 rows (and a short last block)
    monkeypatch.setattr(network, "_BLOCK_ENTRIES", 80)
    layer = LSELayer(rng.normal(size=(40, d)), rng.normal(size=40), eps)
    X = np.vstack([rng.normal(size=(25, d)), 1e5 * rng.normal(size=(2, d))])
    ev = layer.evaluate(X)
    Z = layer.preactivations(X)
    # the FMA chain of the kernel and BLAS differ by the rounding of w_j.x + b_j:
    # (d + 2) u (|w_j|.|x| + |b_j|) each, plus the LSE kernel's u (7 M + eps (N + 6 + 3 log N))
    mag = (np.abs(X) @ np.abs(layer.W).T + np.abs(layer.b)).max(axis=1)
    budget = U * ((2 * (d + 2) + 14) * mag + 2 * eps * (40 + 6 + 3 * math.log(40)))
    assert np.all(np.abs(ev.value - layer(X)) <= budget)
    assert np.all(np.abs(ev.value - tropical.lse(Z, eps)) <= budget)
    np.testing.assert_allclose(ev.top, Z.max(axis=1), rtol=0, atol=float(8 * U * mag.max()))
    if eps == 0 or eps == 1e-300:   # Gibbs weights: uniform on the argmax set, exactly
        np.testing.assert_array_equal(ev.gibbs, layer.gibbs(X))
        np.testing.assert_array_equal(ev.entropy, np.log(ev.multiplicity))
    else:
        assert np.abs(ev.gibbs - layer.gibbs(X)).sum(axis=1).max() <= \
            math.expm1(float(2 * 8 * U * mag.max() / eps)) + 1e-13
        np.testing.assert_allclose(ev.entropy, tropical.entropy(layer.gibbs(X)), rtol=1e-11,
                                   atol=1e-12)
    # top statistics: multiplicity >= 1 and the next value below the top
    assert np.all(ev.multiplicity >= 1) and np.all(ev.second < ev.top)
    assert ev.value.shape == (27,) and ev.gibbs.shape == (27, 40)
    # the value is exactly tropical.lse of the pre-activations
    np.testing.assert_array_equal(layer(X), tropical.lse(Z, eps))
    # without the Gibbs weights or the statistics: the same numbers
    lean = layer.evaluate(X, gibbs=False, stats=False)
    assert lean.gibbs is None and lean.multiplicity is None
    np.testing.assert_array_equal(lean.value, ev.value)
    np.testing.assert_array_equal(lean.entropy, ev.entropy)


def test_evaluate_ties_and_second_exact():
    # max(x, x, -x, 0) at x = 2: the top 2 is attained twice, the next value is 0
    layer = LSELayer([[1.0], [1.0], [-1.0], [0.0]], [0.0, 0.0, 0.0, 0.0], eps=0.0)
    ev = layer.evaluate([[2.0], [0.0]])
    np.testing.assert_array_equal(ev.top, [2.0, 0.0])
    np.testing.assert_array_equal(ev.multiplicity, [2.0, 4.0])
    np.testing.assert_array_equal(ev.second, [0.0, -np.inf])
    np.testing.assert_array_equal(ev.gibbs, [[0.5, 0.5, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_array_equal(ev.entropy, np.log([2.0, 4.0]))
    # gibbs=False skips the (P, N) weights; batch shapes are kept
    ev2 = layer.with_eps(0.5).evaluate(np.zeros((2, 3, 1)), gibbs=False)
    assert ev2.gibbs is None and ev2.value.shape == (2, 3)
    assert np.ndim(layer.evaluate([1.0]).value) == 0


@pytest.mark.parametrize("d", [1, 2, 40])
def test_call_shapes_and_bits(rng, d):
    import tropical

    layer = LSELayer(rng.normal(size=(30, d)), rng.normal(size=30), 0.25)
    X = rng.normal(size=(3, 7, d))
    out = layer(X)
    assert out.shape == (3, 7)
    # one BLAS product on the points flattened to 2-D: the same bits as the rows
    # of evaluate and as tropical.lse of the pre-activations, whatever the batch shape
    np.testing.assert_array_equal(out, tropical.lse(layer.preactivations(X), 0.25))
    np.testing.assert_array_equal(out.ravel(), layer(X.reshape(-1, d)))
    if d > 16:  # evaluate's BLAS path: the same pre-activations
        np.testing.assert_array_equal(layer.evaluate(X).value, out)
    assert np.ndim(layer(X[0, 0])) == 0 and layer(np.zeros((0, d))).shape == (0,)
    if d == 1:
        assert np.ndim(layer(0.5)) == 0 and layer([0.5, 1.5]).shape == (2,)


def test_evaluate_kernel_equals_numpy_twin(rng):
    from tropical.kernels import reference, views

    W, b = rng.normal(size=(60, 4)), rng.normal(size=60)
    X = rng.normal(size=(9, 4))
    for eps in (0.0, 0.01, 2.0):
        outs = [[np.empty(9) for _ in range(5)] + [np.empty((9, 60))] for _ in range(2)]
        for mod, o in zip((views, reference), outs):
            mod.lse_layer_rows(X, np.ascontiguousarray(W.T), b, eps, *o)
        for a, c in zip(*outs):
            np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-13)
        # from given pre-activations, and with the statistics skipped
        Z = X @ W.T + b
        for skip in (False, True):
            res = [[np.empty(9), np.empty(9)] + [np.empty(0 if skip else 9) for _ in range(2)]
                   + [np.empty(9), np.empty((9, 60))] for _ in range(2)]
            for mod, o in zip((views, reference), res):
                mod.lse_scores_rows(Z, eps, *o)
            for a, c in zip(*res):
                np.testing.assert_allclose(a, c, rtol=1e-13, atol=1e-13)
            # the scores kernel on BLAS's z is the layer kernel's twin: same value
            np.testing.assert_array_equal(res[1][0], outs[1][0])
            # the Gibbs weights written over the scores: the same bits as separate arrays
            for mod, o in zip((views, reference), res):
                Z2 = Z.copy()
                alias = [np.empty_like(a) for a in o[:5]]
                mod.lse_scores_rows(Z2, eps, *alias, Z2)
                for a, c in zip(alias + [Z2], o):
                    np.testing.assert_array_equal(a, c)


def test_evaluate_validates():
    layer = LSELayer([[1.0, 0.0]], [0.0])
    with pytest.raises(ValueError, match="x must have shape"):
        layer.evaluate([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="x contains inf"):
        layer.evaluate([[np.inf, 0.0]])


def test_doctests():
    import doctest

    import tropical.views.network as mod

    res = doctest.testmod(mod)
    assert res.failed == 0 and res.attempted > 0


def test_evaluate_without_stats(rng):
    layer = LSELayer(rng.normal(size=(300, 3)), rng.normal(size=300), 0.2)
    X = rng.normal(size=(120, 3))      # 36000 pairs: the compiled kernel
    full, lean = layer.evaluate(X), layer.evaluate(X, stats=False)
    assert lean.multiplicity is None and lean.second is None
    for name in ("value", "gibbs", "entropy", "top"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name))

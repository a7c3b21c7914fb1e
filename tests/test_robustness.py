"""Certified second-order robustness of an LSE layer (MATH.md sections 2 and 5).

The oracle for every certificate is the exact remainder at the floating-point
inputs, evaluated with mpmath at 60 digits.
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

import tropical.robustness as rb
from tropical.robustness import (adversarial_search, ball_bound, diameter, hessian_bound,
                                 hessian_norm, remainder, remainder_bound, remainder_budget,
                                 robustness_report, RobustnessReport)
from tropical.views.network import LSELayer

U = np.finfo(np.float64).eps / 2
KINDS = ("uniform", "local", "segment", "linear", "best")


# ---------------------------------------------------------------------------------
# oracles
# ---------------------------------------------------------------------------------

def mp_remainder(layer, x, delta):
    """Exact f(x + delta) - f(x) - <grad f(x), delta> at the float inputs.

    60 digits, plus twice the decimal exponent of the smallest nonzero input:
    the remainder is second order, so tiny inputs need that range to survive.
    The oracle itself is good to ``oracle_tol`` (its working precision times
    the size of the numbers it subtracts).
    """
    W, b, eps = layer.W, layer.b, layer.eps
    vals = np.abs(np.concatenate([W.ravel(), b, np.ravel(x), np.ravel(delta), [eps]]))
    vals = vals[vals > 0]
    tiny = float(vals.min()) if vals.size else 1.0
    dps = 60 + 2 * max(0, math.ceil(-math.log10(tiny)))
    with mpmath.workdps(dps):
        mpf = mpmath.mpf
        z = [mpmath.fsum(mpf(float(w)) * mpf(float(v)) for w, v in zip(row, x)) + mpf(float(bj))
             for row, bj in zip(W, b)]
        a = [mpmath.fsum(mpf(float(w)) * mpf(float(v)) for w, v in zip(row, delta)) for row in W]
        if eps == 0:
            m = max(z)
            tied = [j for j, zj in enumerate(z) if zj == m]
            abar = mpmath.fsum(a[j] for j in tied) / len(tied)
            return float(max(zj + aj for zj, aj in zip(z, a)) - m - abar), 0.0
        e = mpf(float(eps))
        m = max(z)
        s = mpmath.fsum(mpmath.exp((zj - m) / e) for zj in z)
        pi = [mpmath.exp((zj - m) / e) / s for zj in z]
        abar = mpmath.fsum(p * aj for p, aj in zip(pi, a))
        # f(x + delta) - f(x) = eps log sum pi_j exp(a_j/eps)
        amax = max(a)
        t = mpmath.fsum(p * mpmath.exp((aj - amax) / e) for p, aj in zip(pi, a))
        tol = 10.0 ** (10 - dps) * float(1 + max(abs(v) for v in z + a) + e)
        return float(amax + e * mpmath.log(t) - abar), tol


def direct_cov_norm(layer, x):
    pi = layer.gibbs(x)
    C = np.cov(layer.W.T, aweights=pi, bias=True, ddof=0) if layer.d > 1 else \
        np.atleast_2d(np.cov(layer.W[:, 0], aweights=pi, bias=True))
    return float(np.linalg.eigvalsh(np.atleast_2d(C))[-1])


def brute_diameter(W):
    W = np.asarray(W, dtype=float).reshape(len(W), -1)
    return max(math.dist(p, q) for p in W for q in W)


def on_tie(layer, x):
    """Move x onto the hyperplane where its two largest pre-activations tie."""
    z = layer.W @ x + layer.b
    j, k = np.argsort(z)[-2:]
    g = layer.W[j] - layer.W[k]
    gg = float(g @ g)
    if gg == 0:
        return x
    return x - (z[j] - z[k]) / gg * g


# ---------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------

finite = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@st.composite
def layers_points(draw, eps_zero=False):
    N = draw(st.integers(2, 6))
    d = draw(st.integers(1, 3))
    W = np.array(draw(st.lists(finite, min_size=N * d, max_size=N * d))).reshape(N, d)
    b = np.array(draw(st.lists(finite, min_size=N, max_size=N)))
    if eps_zero:
        eps = 0.0
    else:
        eps = 10.0 ** draw(st.floats(-4.0, 1.0))
    layer = LSELayer(W, b, eps)
    M = draw(st.integers(1, 3))
    X = np.array(draw(st.lists(finite, min_size=M * d, max_size=M * d))).reshape(M, d)
    if draw(st.booleans()):  # the tropical hypersurface: where curvature concentrates
        X = np.array([on_tie(layer, x) for x in X])
    radius = 10.0 ** draw(st.floats(-3.0, 0.5))
    return layer, X, radius


# ---------------------------------------------------------------------------------
# the certificate dominates every finding
# ---------------------------------------------------------------------------------

@settings(max_examples=20)
@given(layers_points())
def test_certificates_dominate_adversarial_findings(case):
    layer, X, radius = case
    res = adversarial_search(layer, X, radius, steps=8, restarts=6, seed=1)
    assert np.all(np.linalg.norm(res.delta, axis=1) <= radius * (1 + 4 * U))
    bounds = remainder_bound(layer, X, res.delta, kind="all")
    assert set(bounds) == set(KINDS)
    ball = {k: ball_bound(layer, X, radius, kind=k) for k in ("uniform", "local", "linear",
                                                             "best")}
    budget = remainder_budget(layer, X, res.delta)
    for i, (x, dl) in enumerate(zip(X, res.delta)):
        exact, tol = mp_remainder(layer, x, dl)
        assert exact >= -tol
        # measured remainder within its rounding budget of the exact one
        assert abs(res.remainder[i] - exact) <= budget[i] + tol, (res.remainder[i], exact)
        for k, v in bounds.items():
            assert exact - tol <= v[i], (k, exact, v[i])
        for k, v in ball.items():
            assert exact - tol <= v[i], ("ball " + k, exact, v[i])
        # the finding is the measured one: it is dominated up to its budget
        assert res.remainder[i] <= bounds["best"][i] + budget[i]


@settings(max_examples=25)
@given(layers_points(), st.integers(0, 2**31 - 1))
def test_certificates_dominate_random_perturbations(case, seed):
    layer, X, radius = case
    rng = np.random.default_rng(seed)
    D = rng.normal(size=X.shape)
    D *= (radius * rng.uniform(0, 1, size=(len(X), 1))) / np.maximum(
        np.linalg.norm(D, axis=1, keepdims=True), 1e-300)
    for k, bound in remainder_bound(layer, X, D, kind="all").items():
        for i in range(len(X)):
            exact, tol = mp_remainder(layer, X[i], D[i])
            assert exact - tol <= bound[i], (k, exact, bound[i])


@settings(max_examples=12)
@given(layers_points(eps_zero=True))
def test_eps_zero_linear_certificate(case):
    layer, X, radius = case
    res = adversarial_search(layer, X, radius, steps=5, restarts=5)
    lin = remainder_bound(layer, X, res.delta, kind="linear")
    uni = remainder_bound(layer, X, res.delta, kind="uniform")
    budget = remainder_budget(layer, X, res.delta)
    assert np.all(res.remainder <= lin + budget)
    # quadratic certificates are infinite at eps = 0 (unless f_0 is affine)
    flat = diameter(layer.W)[0] == 0
    assert np.all(np.isinf(uni) | flat | (np.linalg.norm(res.delta, axis=1) == 0))
    assert np.all(ball_bound(layer, X, radius, kind="best") >= res.remainder)


def test_all_kinds_in_one_pass_agree(rng):
    layer = LSELayer(rng.normal(size=(5, 2)), rng.normal(size=5), eps=0.05)
    X, D = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    every = remainder_bound(layer, X, D, kind="all")
    for k in KINDS:
        assert np.array_equal(every[k], remainder_bound(layer, X, D, kind=k)), k
    assert np.array_equal(every["best"], np.minimum.reduce([every[k] for k in KINDS[:4]]))


def test_segment_certificate_is_sharp(rng):
    # v varies by at most e^{L/n} <= e^{0.1} on a grid piece, so the segment bound is
    # within that factor of the exact integral (when the grid is not capped)
    for _ in range(10):
        layer = LSELayer(rng.normal(size=(6, 2)), rng.normal(size=6), eps=0.2)
        x = on_tie(layer, rng.normal(size=2))
        delta = rng.normal(size=2) * 0.5
        exact, _ = mp_remainder(layer, x, delta)
        seg = float(remainder_bound(layer, x, delta, kind="segment"))
        assert exact <= seg <= math.exp(0.1) * exact * (1 + 1e-9) + 1e-12
        assert seg <= float(remainder_bound(layer, x, delta, kind="uniform")) * (1 + 1e-12)


def test_local_certificate_tends_to_the_hessian_term(rng):
    layer = LSELayer(rng.normal(size=(5, 3)), rng.normal(size=5), eps=0.5)
    x = rng.normal(size=3)
    u = rng.normal(size=3)
    H = layer.hessian(x)
    for t in (1e-2, 1e-3):
        delta = t * u
        quad = float(delta @ H @ delta) / 2
        loc = float(remainder_bound(layer, x, delta, kind="local"))
        # v(0) phi(L)/eps = quad (1 + O(L)), L = width/eps
        L = float(np.ptp(layer.W @ delta)) / layer.eps
        assert quad <= loc <= quad * (1 + L) + 1e-15


# ---------------------------------------------------------------------------------
# the measured remainder
# ---------------------------------------------------------------------------------

def test_remainder_against_definition_and_mpmath(rng):
    for eps in (1e-3, 0.1, 2.0):
        layer = LSELayer(rng.normal(size=(7, 3)), rng.normal(size=7), eps)
        X = rng.normal(size=(5, 3))
        D = rng.normal(size=(5, 3))
        R = remainder(layer, X, D)
        direct = layer(X + D) - layer(X) - np.einsum("mk,mk->m", layer.grad(X), D)
        budget = remainder_budget(layer, X, D)
        for i in range(5):
            exact, _ = mp_remainder(layer, X[i], D[i])
            assert abs(R[i] - exact) <= budget[i]
            # the naive difference carries the cancellation of f(x + delta) - f(x)
            assert abs(direct[i] - exact) <= 64 * U * (abs(layer(X[i])) + abs(layer(X[i] + D[i]))
                                                       + 1) + budget[i]
    assert np.all(R >= 0)


def test_remainder_broadcasts_and_shapes(rng):
    layer = LSELayer(rng.normal(size=(4, 2)), rng.normal(size=4), 0.3)
    X = rng.normal(size=(3, 2))
    d = rng.normal(size=2)
    R = remainder(layer, X, d)
    assert R.shape == (3,)
    # row by row in a fixed order: batching does not change a bit
    assert np.array_equal(R, np.array([remainder(layer, x, d) for x in X]))
    assert isinstance(remainder(layer, X[0], d), float)
    one = LSELayer([[1.0], [-1.0]], [0.0, 0.0], 0.5)
    assert remainder_bound(one, [0.0, 1.0], [0.1, 0.2]).shape == (2,)


# ---------------------------------------------------------------------------------
# Hessian norms and uniform bounds
# ---------------------------------------------------------------------------------

def test_hessian_norm_shapes(rng):
    layer = LSELayer(rng.normal(size=(5, 3)), rng.normal(size=5), 0.2)
    X = rng.normal(size=(2, 4, 3))
    hn = hessian_norm(layer, X)
    assert hn.shape == (2, 4)
    assert np.array_equal(hn[1], hessian_norm(layer, X[1]))
    assert isinstance(hessian_norm(layer, X[0, 0]), float)
    one = LSELayer([[1.0], [-1.0]], [0.0, 0.0], 0.5)
    assert hessian_norm(one, [0.0, 1.0, 2.0]).shape == (3,)       # (M,) points when d = 1


def test_hessian_norm_against_direct_covariance(rng):
    for eps in (1e-2, 0.3, 5.0):
        for d in (1, 2, 4):
            layer = LSELayer(rng.normal(size=(8, d)), rng.normal(size=8), eps)
            X = rng.normal(size=(6, d))
            hn = hessian_norm(layer, X)
            for i, x in enumerate(X):
                ref = direct_cov_norm(layer, x) / eps
                # two evaluations of the same covariance: ~ N d u max|w|^2 / eps apart
                tol = 64 * 8 * d * U * float(np.max(layer.W ** 2)) / eps
                assert abs(hn[i] - ref) <= tol, (hn[i], ref)


def test_hessian_norm_against_finite_differences(rng):
    eps = 0.5
    layer = LSELayer(rng.normal(size=(6, 3)), rng.normal(size=6), eps)
    diam = brute_diameter(layer.W)
    h = 1e-4
    for x in rng.normal(size=(4, 3)):
        H = np.empty((3, 3))
        for k in range(3):
            e = np.zeros(3)
            e[k] = h
            H[k] = (layer.grad(x + e) - layer.grad(x - e)) / (2 * h)
        # truncation h^2/6 |d^3 Hess_lm / dx_k^3|: a mixed fourth cumulant of coordinates of w
        # under pi, over eps^3; each centred coordinate is at most diam in size, so
        # |kappa_4| <= mu_4 + 3 mu_2^2 <= 2 diam^4. Rounding: 8u max|w|/h per entry.
        entry = h * h / 6 * 2 * diam ** 4 / eps ** 3 + 8 * U * np.abs(layer.W).max() / h
        # spectral norms of symmetric matrices differ by at most ||H - H_fd||_2 <= 3 * entry
        Hs = (H + H.T) / 2
        assert abs(float(hessian_norm(layer, x)) - np.linalg.eigvalsh(Hs)[-1]) <= 3 * entry


def test_bounds_dominate_norms_everywhere(rng):
    for eps in (1e-4, 0.1, 3.0):
        for d in (1, 2, 3, 5):
            layer = LSELayer(rng.normal(size=(9, d)) * 2, rng.normal(size=9), eps)
            X = rng.normal(size=(40, d)) * 2
            X = np.concatenate([X, [on_tie(layer, x) for x in X]])
            hb = hessian_bound(layer)
            hn = hessian_norm(layer, X)
            assert np.all(hn <= hb.diameter)
            assert hb.diameter <= hb.max_norm
            assert hb.diam == pytest.approx(brute_diameter(layer.W), rel=1e-14)


def test_diameter_bound_attained_by_two_terms(rng):
    for d in (1, 2, 3, 6):
        for eps in (1e-3, 0.2, 4.0):
            W = rng.normal(size=(2, d))
            layer = LSELayer(W, rng.normal(size=2), eps)
            x = on_tie(layer, rng.normal(size=d))
            ratio = float(hessian_norm(layer, x)) / hessian_bound(layer, kind="diameter")
            # pi = (1/2, 1/2) up to rounding of the tie: Var = diam^2/4 (1 - tanh^2(dz/2eps))
            assert 1 - 1e-6 <= ratio <= 1.0, ratio
            # and away from the tie it is strictly smaller
            far = x + 3 * (W[0] - W[1])
            assert float(hessian_norm(layer, far)) < 0.99 * hessian_bound(layer, kind="diameter")


def test_two_term_remainder_reaches_the_uniform_certificate():
    # 1-D, w = +-1: f = eps log(2 cosh(x/eps)); at x = 0 and tiny delta the remainder
    # is delta^2/(2 eps) * Var = delta^2/(2 eps) = |delta|^2 diam^2/(8 eps)
    layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=1.0)
    delta = 1e-3
    exact, _ = mp_remainder(layer, [0.0], [delta])
    uni = float(remainder_bound(layer, [0.0], [delta], kind="uniform"))
    assert exact <= uni <= exact * (1 + 1e-5)


def test_diameter_methods(rng):
    for d in (1, 2, 3):
        W = rng.normal(size=(60, d))
        W = np.concatenate([W, W[:10], (W[:5] + W[5:10]) / 2])   # duplicates, interior points
        exact = brute_diameter(W)
        for method in ("exact", "auto") + (("hull",) if d <= 2 else ()):
            val, how = diameter(W, method)
            assert abs(val - exact) <= 8 * U * exact, (method, val, exact)
        val, how = diameter(W, "pruned")
        assert how == "pruned" and abs(val - exact) <= 8 * U * exact
        up, how = diameter(W, "bound")
        assert how == "bound" and exact <= up <= math.sqrt(d) * exact * (1 + 1e-12)
    # collinear and repeated points in 2-D
    t = rng.normal(size=30)
    line = np.stack([t, 2 * t + 1], axis=1)
    assert diameter(line, "hull")[0] == pytest.approx(brute_diameter(line), rel=1e-15)
    assert diameter([[1.0, 2.0]] * 3, "hull") == (0.0, "hull")
    with pytest.raises(ValueError, match="hull"):
        diameter(rng.normal(size=(5, 3)), "hull")
    # pruning where the answer hides among interior-looking rows: a long thin cloud
    T = rng.normal(size=(400, 4)) * [10.0, 0.1, 0.1, 0.1]
    assert diameter(T, "pruned")[0] == pytest.approx(brute_diameter(T), rel=1e-15)
    # pruning that keeps (almost) every row: points on a sphere
    S = rng.normal(size=(300, 3))
    S /= np.linalg.norm(S, axis=1, keepdims=True)
    assert diameter(S, "pruned")[0] == pytest.approx(brute_diameter(S), rel=1e-15)
    with pytest.raises(ValueError, match="method"):
        diameter(W, "fast")


def test_eps_zero_hessian_norm_and_bounds():
    layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0], eps=0.0)
    assert np.array_equal(hessian_norm(layer, [[0.0], [1.0]]), [np.inf, 0.0])
    hb = hessian_bound(layer)
    assert hb.diameter == math.inf and hb.max_norm == math.inf
    flat = LSELayer([[1.0], [1.0]], [0.0, 1.0], eps=0.0)
    assert hessian_bound(flat, kind="diameter") == 0.0
    assert float(remainder_bound(flat, [0.0], [1.0], kind="best")) == 0.0


# ---------------------------------------------------------------------------------
# the search
# ---------------------------------------------------------------------------------

def test_search_is_exact_in_one_dimension(rng):
    # the ball is {-r, r} on the boundary and R is convex: the max is at an end
    for eps in (1e-3, 0.1, 1.0):
        layer = LSELayer(rng.normal(size=(5, 1)), rng.normal(size=5), eps)
        X = rng.normal(size=(6, 1))
        res = adversarial_search(layer, X, 0.7, steps=10)
        ends = np.maximum(remainder(layer, X, [0.7]), remainder(layer, X, [-0.7]))
        assert np.array_equal(res.remainder, ends)


def test_search_beats_random_sampling(rng):
    layer = LSELayer(rng.normal(size=(12, 4)), rng.normal(size=12), 0.1)
    X = rng.normal(size=(5, 4))
    res = adversarial_search(layer, X, 0.5, seed=3)
    S = rng.normal(size=(400, 4))
    S *= 0.5 / np.linalg.norm(S, axis=1, keepdims=True)
    for i, x in enumerate(X):
        sampled = remainder(layer, x, S).max()
        assert res.remainder[i] >= sampled * (1 - 1e-12)
    # monotone ascent: more steps never lose (same starts)
    res0 = adversarial_search(layer, X, 0.5, steps=0, seed=3)
    assert np.all(res.remainder >= res0.remainder)
    # a finite step size projects onto the ball too
    res2 = adversarial_search(layer, X, 0.5, step_size=0.3, seed=3)
    assert np.all(np.linalg.norm(res2.delta, axis=1) <= 0.5 * (1 + 4 * U))


def test_search_seeded_and_reproducible(rng):
    layer = LSELayer(rng.normal(size=(6, 3)), rng.normal(size=6), 0.2)
    X = rng.normal(size=(3, 3))
    a = adversarial_search(layer, X, 0.3, seed=7)
    b = adversarial_search(layer, X, 0.3, seed=7)
    assert np.array_equal(a.delta, b.delta) and not a.interrupted


def test_search_keeps_the_best_on_interrupt(rng, monkeypatch):
    layer = LSELayer(rng.normal(size=(6, 2)), rng.normal(size=6), 0.1)
    X = rng.normal(size=(3, 2))
    real = rb._ops

    class Interrupting:
        calls = 0
        lse = staticmethod(real.lse)

        @classmethod
        def softmax(cls, *args, **kw):
            cls.calls += 1
            if cls.calls == 6:            # inside the ascent loop
                raise KeyboardInterrupt
            return real.softmax(*args, **kw)

    monkeypatch.setattr(rb, "_ops", Interrupting)
    res = adversarial_search(layer, X, 0.4, steps=50)
    monkeypatch.setattr(rb, "_ops", real)
    assert res.interrupted
    assert np.array_equal(res.remainder, remainder(layer, X, res.delta))
    assert np.all(res.remainder <= ball_bound(layer, X, 0.4))


def test_segment_certificate_in_blocks(monkeypatch, rng):
    # the grid is evaluated in blocks when it is large: same numbers
    layer = LSELayer(rng.normal(size=(7, 2)), rng.normal(size=7), 1e-3)
    X, D = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    whole = remainder_bound(layer, X, D, kind="segment")
    monkeypatch.setattr(rb, "_CHUNK", 2048)
    assert np.allclose(remainder_bound(layer, X, D, kind="segment"), whole, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------

def test_report_round_trip_and_contents(rng):
    layer = LSELayer(rng.normal(size=(6, 2)), rng.normal(size=6), 0.05)
    X = rng.normal(size=(5, 2))
    rep = robustness_report(layer, X, 0.3, steps=10)
    assert rep.ok
    assert np.all(rep.found <= rep.certificate + rep.budget)
    assert np.all(rep.ratio <= 1 + 1e-9)
    assert np.array_equal(rep.hessian_norm, hessian_norm(layer, X))
    assert np.all(rep.certificate == np.minimum.reduce([rep.ball_uniform, rep.ball_local,
                                                        rep.ball_linear]))
    back = RobustnessReport.from_json(rep.to_json())
    for name in rb._ARRAYS:
        assert np.array_equal(getattr(back, name), getattr(rep, name)), name
    assert back.hessian_bounds == rep.hessian_bounds and back.eps == rep.eps
    assert "RobustnessReport(5 points, d=2" in repr(rep)
    assert "diam^2/(4 eps)" in str(rep)
    assert json.loads(rep.to_json())["ok"] is True
    # eps = 0: infinite Hessian certificates survive the JSON round trip
    rep0 = robustness_report(layer.with_eps(0.0), X, 0.3, steps=5)
    assert rep0.ok and math.isinf(rep0.hessian_bounds["diameter"])
    assert RobustnessReport.from_json(rep0.to_json()).hessian_bounds["diameter"] == math.inf


def test_report_flags_a_violation(rng):
    layer = LSELayer(rng.normal(size=(6, 2)), rng.normal(size=6), 0.05)
    rep = robustness_report(layer, rng.normal(size=(3, 2)), 0.3, steps=5)
    rep.found = rep.found.copy()
    rep.found[1] = rep.certificate[1] * 1.01 + rep.budget[1] + 1e-12
    assert not rep.ok


# ---------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------

def test_bad_inputs():
    layer = LSELayer([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], 0.5)
    with pytest.raises(TypeError, match="LSELayer"):
        hessian_norm(([[1.0]], [0.0]), [0.0])
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        hessian_norm(layer, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x must be finite.*NaN"):
        remainder(layer, [0.0, np.nan], [0.0, 0.0])
    with pytest.raises(TypeError, match="delta must be an array of real numbers"):
        remainder(layer, [0.0, 0.0], ["a", "b"])
    with pytest.raises(ValueError, match="ragged"):
        hessian_norm(layer, [[0.0, 1.0], [1.0]])
    with pytest.raises(ValueError, match="delta must be finite"):
        remainder_bound(layer, [0.0, 0.0], [np.inf, 0.0])
    with pytest.raises(ValueError, match="delta must have shape"):
        remainder_bound(layer, [0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="do not broadcast"):
        remainder(layer, np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="kind must be one of"):
        remainder_bound(layer, [0.0, 0.0], [0.1, 0.0], kind="sharp")
    with pytest.raises(ValueError, match="kind must be"):
        hessian_bound(layer, kind="spectral")
    with pytest.raises(ValueError, match="radius must be > 0"):
        adversarial_search(layer, [0.0, 0.0], -1.0)
    with pytest.raises(ValueError, match="radius must be finite"):
        ball_bound(layer, [0.0, 0.0], np.nan)
    with pytest.raises(ValueError, match="one value per point"):
        adversarial_search(layer, np.zeros((3, 2)), [0.1, 0.2])
    with pytest.raises(TypeError, match="radius"):
        adversarial_search(layer, [0.0, 0.0], "big")
    with pytest.raises(ValueError, match="steps must be >= 0"):
        adversarial_search(layer, [0.0, 0.0], 0.1, steps=-1)
    with pytest.raises(ValueError, match="restarts must be >= 1"):
        adversarial_search(layer, [0.0, 0.0], 0.1, restarts=0)
    with pytest.raises(ValueError, match="step_size"):
        adversarial_search(layer, [0.0, 0.0], 0.1, step_size=-2.0)
    with pytest.raises(ValueError, match="X is empty"):
        robustness_report(layer, np.zeros((0, 2)), 0.1)
    with pytest.raises(ValueError, match="not the JSON of a RobustnessReport"):
        RobustnessReport.from_json('{"type": "DiagramReport"}')


def test_doctests():
    failed, attempted = doctest.testmod(rb)
    assert failed == 0 and attempted > 0

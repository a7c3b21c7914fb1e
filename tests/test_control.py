"""Residual networks as control systems: backprop is the discrete co-state (MATH.md section 4).

Three oracles for the same gradients: the tape (``ResidualNetwork.backprop``),
the Hamiltonian co-state (``costate``), and ``torch.autograd`` when torch is
importable; plus 50-digit mpmath finite differences as a fourth.
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

import tropical.control as ctl
from tropical.control import (Block, CostateReport, Hamiltonian, Loss, ResidualNetwork,
                              costate, costate_check)

U = np.finfo(np.float64).eps / 2
KINDS = ("tanh", "softplus", "lse", "mixed")


def losses(d, rng):
    t = rng.normal(size=d)
    c = rng.normal(size=d)
    return [("squared", t), ("linear", c), "squared", "linear", Loss.squared(t),
            (lambda x: float(np.sum(np.cos(x))), lambda x: -np.sin(x))]


# ---------------------------------------------------------------------------------
# co-state == backprop
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_costate_equals_backprop(kind, rng):
    for seed in range(4):
        d = 1 + seed
        net = ResidualNetwork.random(d, 3 + 2 * seed, kind=kind, h=0.15, seed=seed, eps=0.4)
        for i, loss in enumerate(losses(d, rng)):
            for x in (rng.normal(size=d), rng.normal(size=(4, d)))[i % 2:][:1 + (i == 0)]:
                rep = costate_check(net, x, loss)
                assert rep.ok, (kind, seed, loss, rep)
                assert rep.costate_rel <= 1e-12 and rep.theta_rel <= 1e-12
                assert rep.state_rel <= 1e-12


@settings(max_examples=30)
@given(d=st.integers(1, 4), depth=st.integers(1, 8), kind=st.sampled_from(KINDS),
       h=st.floats(1e-3, 1.0), eps=st.floats(1e-2, 3.0), seed=st.integers(0, 2**31 - 1),
       batch=st.booleans())
def test_costate_equals_backprop_hypothesis(d, depth, kind, h, eps, seed, batch):
    net = ResidualNetwork.random(d, depth, kind=kind, h=h, seed=seed, eps=eps)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, d) if batch else d)
    rep = costate_check(net, x, ("squared", rng.normal(size=d)))
    assert rep.ok, rep


def test_relu_limit_is_consistent(rng):
    # softplus at eps = 0 is ReLU; both paths use the derivative 1/2 at 0
    net = ResidualNetwork.random(3, 5, kind="softplus", eps=0.0, seed=1)
    rep = costate_check(net, rng.normal(size=(6, 3)), "linear")
    assert rep.ok


def test_costate_discrepancy_is_rounding_sized(rng):
    net = ResidualNetwork.random(4, 20, kind="mixed", h=0.05, seed=9)
    rep = costate_check(net, rng.normal(size=4), ("squared", rng.normal(size=4)))
    # independent summation orders: agreement to a few hundred ulps of the scale
    assert rep.costate_rel <= 256 * U * net.depth and rep.theta_rel <= 256 * U * net.depth
    assert len(rep.per_layer_costate) == net.depth + 1 and len(rep.per_layer_theta) == net.depth
    assert rep.per_layer_costate[-1] == 0.0        # p_K = grad L(x_K) on both paths


# ---------------------------------------------------------------------------------
# wrong co-states fail
# ---------------------------------------------------------------------------------

class FlippedCostate(Hamiltonian):
    def dx(self, k, x, p):
        return -super().dx(k, x, p)


class FlippedGradient(Hamiltonian):
    def dtheta(self, k, x, p):
        return {n: -v for n, v in super().dtheta(k, x, p).items()}


class TransposedJacobian(Hamiltonian):
    """The forward-mode product (df/dx) p instead of (df/dx)^T p."""

    def dx(self, k, x, p):
        # row i of the stack is (df/dx)^T e_i = row i of df/dx: the stack is the Jacobian
        J = np.stack([super(TransposedJacobian, self).dx(k, x, e) for e in np.eye(self.net.d)])
        return J @ p


@pytest.mark.parametrize("kind", ("tanh", "softplus", "lse"))
def test_wrong_costate_fails(kind, rng):
    net = ResidualNetwork.random(3, 6, kind=kind, h=0.3, seed=5)
    x = rng.normal(size=3)
    loss = ("squared", rng.normal(size=3))
    bad = costate_check(net, x, loss, hamiltonian=FlippedCostate(net))
    assert not bad.ok and bad.costate_rel > 1e-3
    bad = costate_check(net, x, loss, hamiltonian=FlippedGradient(net))
    assert not bad.ok and bad.theta_rel > 0.5 and bad.costate_rel <= 1e-12
    bad = costate_check(net, x, loss, hamiltonian=TransposedJacobian(net))
    assert not bad.ok


# ---------------------------------------------------------------------------------
# dL/dtheta_k = h dH/dtheta_k, against torch and against high-precision differences
# ---------------------------------------------------------------------------------

def torch_gradients(net, x, target):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    X = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    params = [{n: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for n, v in blk.params.items()} for blk in net.blocks]
    states = [X]
    for blk, P in zip(net.blocks, params):
        xk = states[-1]
        if blk.kind == "tanh":
            f = torch.tanh(xk @ P["A"].T + P["c"])
        elif blk.kind == "softplus":
            f = F.softplus(xk @ P["A"].T + P["c"], beta=1.0 / blk.eps, threshold=60.0)
        else:
            f = torch.softmax((xk @ P["W"].T + P["b"]) / blk.eps, dim=-1) @ P["V"].T
        nxt = xk + net.h * f
        nxt.retain_grad()
        states.append(nxt)
    loss = 0.5 * ((states[-1] - torch.tensor(target, dtype=torch.float64)) ** 2).sum()
    loss.backward()
    adj = np.stack([s.grad.numpy() for s in states])
    grads = [{n: v.grad.numpy() for n, v in P.items()} for P in params]
    return float(loss.detach()), adj, grads


@pytest.mark.parametrize("kind", KINDS)
def test_against_torch_autograd(kind, rng):
    for seed in range(3):
        d = 2 + seed
        net = ResidualNetwork.random(d, 5, kind=kind, h=0.2, seed=seed, eps=0.3)
        x = rng.normal(size=(3, d))
        target = rng.normal(size=d)
        tl, tadj, tgrads = torch_gradients(net, x, target)
        xs, ps, dth = costate(net, x, ("squared", target))
        bp = net.backprop(x, ("squared", target))
        scale_p = np.abs(tadj).max()
        assert np.abs(ps - tadj).max() <= 1e-12 * scale_p
        assert np.abs(bp.adjoints - tadj).max() <= 1e-12 * scale_p
        scale_t = max(np.abs(g[n]).max() for g in tgrads for n in g)
        for g_t, g_h, g_b in zip(tgrads, dth, bp.grads):
            assert set(g_t) == set(g_h) == set(g_b)
            for n in g_t:
                assert np.abs(g_h[n] - g_t[n]).max() <= 1e-12 * scale_t
                assert np.abs(g_b[n] - g_t[n]).max() <= 1e-12 * scale_t
        assert bp.loss == pytest.approx(tl, rel=1e-14)


def mp_loss(net, x, target, which=None, t=0):
    """50-digit forward pass and squared loss, with entry `which` shifted by t."""
    with mpmath.workdps(50):
        mpf = mpmath.mpf
        X = [mpf(float(v)) for v in x]
        for k, blk in enumerate(net.blocks):
            P = {n: [[mpf(float(a)) for a in np.atleast_1d(row)] for row in np.atleast_2d(v)]
                 if v.ndim == 2 else [mpf(float(a)) for a in v] for n, v in blk.params.items()}
            if which is not None and which[0] == k:
                _, n, idx = which
                if len(idx) == 2:
                    P[n][idx[0]][idx[1]] += t
                else:
                    P[n][idx[0]] += t
            if which is not None and which[0] == "x" and k == 0:
                X[which[1]] += t
            if blk.kind in ("tanh", "softplus"):
                z = [mpmath.fsum(a * xv for a, xv in zip(row, X)) + c
                     for row, c in zip(P["A"], P["c"])]
                if blk.kind == "tanh":
                    f = [mpmath.tanh(zi) for zi in z]
                else:
                    e = mpf(float(blk.eps))
                    f = [e * mpmath.log1p(mpmath.exp(zi / e)) for zi in z]
            else:
                e = mpf(float(blk.eps))
                z = [mpmath.fsum(a * xv for a, xv in zip(row, X)) + c
                     for row, c in zip(P["W"], P["b"])]
                m = max(z)
                w = [mpmath.exp((zi - m) / e) for zi in z]
                s = mpmath.fsum(w)
                pi = [wi / s for wi in w]
                f = [mpmath.fsum(v * p for v, p in zip(row, pi)) for row in P["V"]]
            X = [xv + mpf(float(net.h)) * fi for xv, fi in zip(X, f)]
        return mpmath.fsum((xv - mpf(float(tv))) ** 2 for xv, tv in zip(X, target)) / 2


@pytest.mark.parametrize("kind", ("tanh", "softplus", "lse"))
def test_gradients_against_mpmath_differences(kind, rng):
    # central differences at t = 1e-20 in 50-digit arithmetic: truncation t^2 |L'''|/6
    # and rounding 1e-50 |L|/t are both below 1e-28, far under the 1e-12 tested
    net = ResidualNetwork.random(2, 3, kind=kind, h=0.3, seed=11, eps=0.5)
    x = rng.normal(size=2)
    target = rng.normal(size=2)
    xs, ps, dth = costate(net, x, ("squared", target))
    t = mpmath.mpf("1e-20")
    scale = max(np.abs(g[n]).max() for g in dth for n in g)
    for k, blk in enumerate(net.blocks):
        for n, v in blk.params.items():
            for idx in [tuple(int(i) for i in rng.integers(0, v.shape))]:
                with mpmath.workdps(50):
                    fd = (mp_loss(net, x, target, (k, n, idx), t)
                          - mp_loss(net, x, target, (k, n, idx), -t)) / (2 * t)
                assert abs(dth[k][n][idx] - float(fd)) <= 1e-12 * scale, (k, n, idx)
    for i in range(2):
        with mpmath.workdps(50):
            fd = (mp_loss(net, x, target, ("x", i), t) - mp_loss(net, x, target, ("x", i), -t)) \
                / (2 * t)
        assert abs(ps[0][i] - float(fd)) <= 1e-12 * np.abs(ps).max()


def test_hamiltonian_partials_against_differences(rng):
    # dH/dx and dH/dp of H = <p, f(x)> by central differences (h = 1e-6:
    # truncation h^2/6 |H'''| <~ 1e-12 |p| max|A|^3, rounding u |H| / h ~ 1e-10)
    net = ResidualNetwork.random(3, 3, kind="mixed", seed=4, eps=0.7)
    H = Hamiltonian(net)
    x, p = rng.normal(size=3), rng.normal(size=3)
    step = 1e-6
    for k in range(3):
        assert np.array_equal(H.dp(k, x, p), net.blocks[k](x))
        assert H.value(k, x, p) == pytest.approx(float(p @ net.blocks[k](x)), rel=1e-15)
        g = H.dx(k, x, p)
        for i in range(3):
            e = np.zeros(3)
            e[i] = step
            fd = (H.value(k, x + e, p) - H.value(k, x - e, p)) / (2 * step)
            assert abs(fd - g[i]) <= 1e-8


# ---------------------------------------------------------------------------------
# blocks, network, persistence
# ---------------------------------------------------------------------------------

def test_softplus_is_stable_and_deforms_relu():
    z = np.array([-1e3, -1.0, 0.0, 1.0, 1e3])
    for eps in (1e-3, 0.5, 2.0):
        ref = eps * np.logaddexp(0.0, z / eps)
        assert np.allclose(ctl._softplus(z, eps), ref, rtol=4 * U, atol=0)
        gap = ctl._softplus(z, eps) - np.maximum(z, 0)
        assert np.all((gap >= 0) & (gap <= eps * math.log(2) * (1 + 4 * U)))
    assert np.array_equal(ctl._softplus(z, 0.0), np.maximum(z, 0))
    assert np.array_equal(ctl._sigmoid(np.array([-1.0, 0.0, 2.0]), 0.0), [0.0, 0.5, 1.0])


def test_forward_matches_the_recursion(rng):
    net = ResidualNetwork.random(3, 4, kind="mixed", h=0.25, seed=2)
    x = rng.normal(size=(5, 3))
    S = net.forward(x)
    assert S.shape == (5, 5, 3)
    assert np.array_equal(S[0], x)
    for k, blk in enumerate(net.blocks):
        assert np.array_equal(S[k + 1], S[k] + 0.25 * blk(S[k]))
    assert np.array_equal(net(x), S[-1])
    # lse block = Gibbs average of the columns of V
    blk = net.blocks[2]
    pi = np.exp((x @ blk.params["W"].T + blk.params["b"]) / blk.eps)
    pi /= pi.sum(axis=1, keepdims=True)
    assert np.allclose(blk(x), pi @ blk.params["V"].T, rtol=1e-13, atol=1e-15)


def test_json_round_trips(rng):
    net = ResidualNetwork.random(3, 5, kind="mixed", seed=8, eps=0.2)
    back = ResidualNetwork.from_json(net.to_json())
    assert back == net and back.h == net.h
    rep = costate_check(net, rng.normal(size=3), "linear")
    rep2 = CostateReport.from_json(rep.to_json())
    assert rep2.to_json() == rep.to_json() and rep2.ok == rep.ok
    assert json.loads(rep.to_json())["ok"] is True
    assert "CostateReport(depth=5" in repr(rep) and "co-state" in str(rep)
    assert repr(net) == "ResidualNetwork(depth=5, d=3, h=0.1, kinds=['tanh', 'softplus', 'lse', " \
        "'tanh', 'softplus'])"


def test_loss_forms_agree(rng):
    net = ResidualNetwork.random(2, 3, seed=0)
    x = rng.normal(size=2)
    t = np.array([0.5, -1.0])
    a = net.backprop(x, ("squared", t))
    b = net.backprop(x, Loss.squared(t))
    c = net.backprop(x, (lambda y: 0.5 * float(np.sum((y - t) ** 2)), lambda y: y - t))
    assert a.loss == b.loss == c.loss
    assert np.array_equal(a.adjoints, b.adjoints) and np.array_equal(a.adjoints, c.adjoints)
    lin = net.backprop(x, "linear")
    assert np.array_equal(lin.adjoints[-1], np.ones(2))
    assert lin.loss == pytest.approx(float(net(x).sum()), rel=1e-15)


# ---------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------

def test_bad_inputs():
    A, c = np.eye(2), np.zeros(2)
    with pytest.raises(ValueError, match="kind must be one of"):
        Block("relu", {"A": A, "c": c})
    with pytest.raises(ValueError, match=r"missing \['c'\]"):
        Block("tanh", {"A": A})
    with pytest.raises(ValueError, match="square"):
        Block("tanh", {"A": np.ones((2, 3)), "c": c})
    with pytest.raises(ValueError, match=r"c must have shape \(2,\)"):
        Block("tanh", {"A": A, "c": np.zeros(3)})
    with pytest.raises(ValueError, match="A must be finite"):
        Block("tanh", {"A": [[np.nan, 0], [0, 1]], "c": c})
    with pytest.raises(TypeError, match="A must be an array of real numbers"):
        Block("tanh", {"A": [["a", "b"], ["c", "d"]], "c": c})
    with pytest.raises(ValueError, match="no temperature"):
        Block("tanh", {"A": A, "c": c}, eps=0.1)
    with pytest.raises(ValueError, match="needs a temperature"):
        Block("softplus", {"A": A, "c": c})
    with pytest.raises(ValueError, match="eps must be >= 0"):
        Block("softplus", {"A": A, "c": c}, eps=-1.0)
    with pytest.raises(ValueError, match="eps > 0"):
        Block("lse", {"W": np.ones((3, 2)), "b": np.zeros(3), "V": np.ones((2, 3))}, eps=0.0)
    with pytest.raises(ValueError, match=r"V must have shape \(2, 3\)"):
        Block("lse", {"W": np.ones((3, 2)), "b": np.zeros(3), "V": np.ones((3, 2))}, eps=1.0)
    blk = Block("tanh", {"A": A, "c": c})
    with pytest.raises(ValueError, match="h must be finite and > 0"):
        ResidualNetwork([blk], h=0.0)
    with pytest.raises(TypeError, match="h must be a real number"):
        ResidualNetwork([blk], h="0.1")
    with pytest.raises(ValueError, match="blocks is empty"):
        ResidualNetwork([], h=0.1)
    with pytest.raises(TypeError, match="sequence of Block"):
        ResidualNetwork(blk, h=0.1)
    with pytest.raises(ValueError, match="same dimension"):
        ResidualNetwork([blk, Block("tanh", {"A": np.eye(3), "c": np.zeros(3)})], h=0.1)
    net = ResidualNetwork([blk], h=0.1)
    with pytest.raises(ValueError, match=r"x must have shape \(2,\) or \(M, 2\)"):
        net.forward([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x must be finite"):
        net.backprop([np.inf, 0.0], "linear")
    with pytest.raises(ValueError, match="loss must be"):
        net.backprop([0.0, 0.0], "hinge")
    with pytest.raises(ValueError, match="unknown loss name"):
        net.backprop([0.0, 0.0], ("hinge", [0.0, 0.0]))
    with pytest.raises(ValueError, match="last dimension 2"):
        net.backprop([0.0, 0.0], ("squared", [0.0, 0.0, 0.0]))
    with pytest.raises(TypeError, match="loss must be"):
        net.backprop([0.0, 0.0], 3)
    with pytest.raises(ValueError, match="gradient must have the shape"):
        net.backprop([0.0, 0.0], (lambda y: 0.0, lambda y: np.zeros(3)))
    with pytest.raises(ValueError, match="not finite"):
        costate(net, [0.0, 0.0], (lambda y: 0.0, lambda y: np.full(2, np.nan)))
    with pytest.raises(TypeError, match="ResidualNetwork"):
        costate_check("net", [0.0, 0.0], "linear")
    with pytest.raises(TypeError, match="hamiltonian must be a Hamiltonian"):
        costate(net, [0.0, 0.0], "linear", hamiltonian=object())
    with pytest.raises(ValueError, match="kind must be one of"):
        ResidualNetwork.random(2, 2, kind="sigmoid")
    with pytest.raises(ValueError, match="depth must be >= 1"):
        ResidualNetwork.random(2, 0)
    with pytest.raises(ValueError, match="not the JSON of a ResidualNetwork"):
        ResidualNetwork.from_json('{"type": "LSELayer"}')
    with pytest.raises(ValueError, match="not the JSON of a CostateReport"):
        CostateReport.from_json("{}")


def test_doctests():
    failed, attempted = doctest.testmod(ctl)
    assert failed == 0 and attempted > 0


def test_block_call_and_ragged_input_are_checked():
    blk = Block("tanh", {"A": np.eye(2), "c": np.zeros(2)})
    with pytest.raises(ValueError, match="x must be finite"):
        blk([np.nan, 0.0])
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        blk([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="x is ragged"):
        ResidualNetwork([blk], 0.1).forward([[1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="A is ragged"):
        Block("tanh", {"A": [[1.0], [1.0, 2.0]], "c": np.zeros(2)})

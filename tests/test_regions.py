"""Exact activation regions (tropical.regions): closed forms, tilings, two methods agreeing."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tropical.nets import Layer, Network
from tropical.regions import (Regions, estimate_count, gibbs_concentration, regions,
                              regions_cli)

BENCH = Path(__file__).resolve().parent.parent.parent / "shared" / "bench-nets"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def random_net(rng, dims, activation="relu", alpha=0.1, group=2):
    layers = []
    for k in range(len(dims) - 1):
        last = k == len(dims) - 2
        act = "identity" if last else activation
        g = group if act == "maxout" else 1
        out = dims[k + 1] * g
        W = rng.standard_normal((out, dims[k]))
        b = 0.5 * rng.standard_normal(out)
        layers.append(Layer(W, b, act, alpha=alpha if act == "leaky_relu" else 0.0, group=g))
    return Network(layers)


def pattern_set(R):
    return {c.tobytes() for c in R.codes}


def edge_set(R):
    return {frozenset((R.codes[i].tobytes(), R.codes[j].tobytes())) for i, j in R.edges}


def box_volume(R):
    return float(np.prod(R.hi - R.lo))


def check_points(R, net, X, atol=1e-9):
    """Each point lies in exactly one region, whose affine map reproduces the network."""
    Y = net(X)
    idx = R.locate(X)
    assert (idx >= 0).all()
    As = [R[i].A for i in range(len(R))]
    bs = [R[i].b for i in range(len(R))]
    checked = 0
    for x, y, i in zip(X, Y, idx):
        slack = np.array([np.max(A @ x - b) for A, b in zip(As, bs)])
        if np.sort(np.abs(slack))[0] < 1e-7:      # within rounding of a boundary: ambiguous
            continue
        inside = np.flatnonzero(slack < 0)
        assert inside.tolist() == [i], (x, inside, i)
        np.testing.assert_allclose(R.jacobians[i] @ x + R.offsets[i], y, atol=atol, rtol=1e-9)
        checked += 1
    assert checked >= 0.9 * len(X)


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
def arrangement_box(W, b):
    """A box holding every vertex of the arrangement {W x + b = 0} strictly inside."""
    n, d = W.shape
    pts = [np.zeros(d)]
    for S in itertools.combinations(range(n), d):
        pts.append(np.linalg.solve(W[list(S)], -b[list(S)]))
    P = np.array(pts)
    span = P.max(axis=0) - P.min(axis=0) + 1.0
    return P.min(axis=0) - span, P.max(axis=0) + span


@pytest.mark.parametrize("d, n, method", [(2, 7, "split"), (2, 7, "walk"), (3, 5, "walk"),
                                          (2, 12, "split")])
def test_one_layer_arrangement_count(d, n, method):
    rng = np.random.default_rng(10 * d + n)
    W = rng.standard_normal((n, d))
    b = rng.standard_normal(n)
    net = Network.from_weights([(W, b), (rng.standard_normal((1, n)), np.zeros(1))])
    lo, hi = arrangement_box(W, b)
    R = regions(net, (lo, hi), method=method, progress=False)
    expected = sum(math.comb(n, i) for i in range(d + 1))
    assert len(R) == expected
    assert R.complete
    np.testing.assert_allclose(R.volumes.sum(), np.prod(hi - lo), rtol=1e-9)


def test_one_layer_in_small_box_is_fewer():
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((6, 2)), 3.0 + rng.random(6)
    net = Network.from_weights([(W, b), (np.ones((1, 6)), np.zeros(1))])
    # every hyperplane misses the small box around the origin? then one region
    far = np.abs(b) / np.linalg.norm(W, axis=1)
    R = regions(net, 0.5 * far.min())
    assert len(R) == 1 and R[0].volume == pytest.approx((far.min()) ** 2)


def test_one_dimensional_breakpoints():
    rng = np.random.default_rng(5)
    w = rng.standard_normal(6)
    b = rng.standard_normal(6)
    net = Network.from_weights([(w[:, None], b), (rng.standard_normal((1, 6)), np.zeros(1))])
    lo, hi = -2.0, 3.0
    bp = np.sort(-b / w)
    bp = bp[(bp > lo) & (bp < hi)]
    ends = np.r_[lo, bp, hi]
    for method in ("split", "walk"):
        R = regions(net, (lo, hi), method=method, progress=False)
        got = np.sort(np.array([R[i].vertices.ravel() for i in range(len(R))]), axis=0)
        got = got[np.argsort(got[:, 0])]
        np.testing.assert_allclose(got[:, 0], ends[:-1], atol=1e-12)
        np.testing.assert_allclose(got[:, 1], ends[1:], atol=1e-12)
        assert len(R.edges) == len(R) - 1


def test_deep_1d_split_matches_walk_and_samples():
    rng = np.random.default_rng(8)
    net = random_net(rng, [1, 5, 4, 3, 1])
    S = regions(net, 2.0)
    W = regions(net, 2.0, method="walk", progress=False)
    assert pattern_set(S) == pattern_set(W)
    np.testing.assert_allclose(S.volumes.sum(), 4.0, rtol=1e-12)
    X = np.linspace(-2, 2, 4001)[:, None]
    assert estimate_count(net, 2.0, 20000) <= len(S)
    check_points(S, net, X)


def sawtooth(k):
    """k tent maps T(x) = 2 relu(x) - 4 relu(x - 1/2) composed: 2^k pieces on [0, 1]."""
    first = (np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))
    mid = (np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5]))
    last = (np.array([[2.0, -4.0]]), np.zeros(1))
    return Network.from_weights([first] + [mid] * (k - 1) + [last])


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("method", ["split", "walk"])
def test_sawtooth(k, method):
    net = sawtooth(k)
    R = regions(net, (0.0, 1.0), method=method, progress=False)
    assert len(R) == 2 ** k
    assert R.merge_linear().count == 2 ** k
    np.testing.assert_allclose(np.sort(R.volumes), np.full(2 ** k, 2.0 ** -k), rtol=1e-9)
    slopes = np.abs(R.jacobians[:, 0, 0])
    np.testing.assert_allclose(slopes, 2.0 ** k)


# ---------------------------------------------------------------------------
# random networks: tiling, maps, adjacency, the two methods
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_random_2d_split_equals_walk(seed, activation):
    rng = np.random.default_rng(seed)
    net = random_net(rng, [2, 6, 5, 2], activation)
    S = regions(net, 1.5)
    W = regions(net, 1.5, method="walk", progress=False)
    assert S.method == "split-2d" and W.method == "walk"
    assert pattern_set(S) == pattern_set(W)
    assert edge_set(S) == edge_set(W)
    for R in (S, W):
        np.testing.assert_allclose(R.volumes.sum(), 9.0, rtol=1e-9)
    X = rng.uniform(-1.5, 1.5, (300, 2))
    check_points(S, net, X)
    check_points(W, net, X)


@pytest.mark.parametrize("seed", range(3))
def test_random_3d_walk(seed):
    rng = np.random.default_rng(100 + seed)
    net = random_net(rng, [3, 6, 4, 1])
    R = regions(net, 1.0, progress=False)
    np.testing.assert_allclose(R.volumes.sum(), 8.0, rtol=1e-9)
    X = rng.uniform(-1, 1, (200, 3))
    check_points(R, net, X)
    assert estimate_count(net, 1.0, 20000, seed=1) <= len(R)


@pytest.mark.parametrize("d", [2, 3])
def test_maxout_walk(d):
    rng = np.random.default_rng(40 + d)
    net = random_net(rng, [d, 3, 3, 1], "maxout", group=3)
    R = regions(net, 1.0, progress=False)
    assert R.method == "walk"
    np.testing.assert_allclose(R.volumes.sum(), 2.0 ** d, rtol=1e-9)
    X = rng.uniform(-1, 1, (200, d))
    check_points(R, net, X)
    p = R[0].pattern
    assert p[0].dtype.kind == "i" and p[0].shape == (3,) and p[-1].shape == (0,)


def test_adjacency_symmetric_and_across_facets():
    rng = np.random.default_rng(21)
    net = random_net(rng, [2, 5, 5, 1])
    for R in (regions(net, 1.0), regions(net, 1.0, method="walk", progress=False)):
        G = R.graph
        assert G.number_of_nodes() == len(R)
        for i, j in R.edges:
            assert i != j and G.has_edge(j, i)
        assert (R.edges[:, 0] < R.edges[:, 1]).all()
        # crossing each interior facet lands in a neighbour
        for i in range(len(R)):
            r = R[i]
            V = r.vertices
            for a, b in zip(r.A, r.b):
                on = np.abs(V @ a - b) <= 1e-9
                y = V[on].mean(axis=0)
                if np.any(np.isclose(y, R.lo) & (a < 0)) or np.any(np.isclose(y, R.hi) & (a > 0)):
                    continue                          # a box face
                j = R.locate(y + 1e-7 * a)
                assert j in r.neighbors, (i, j)


def test_bench_nets_split_equals_walk():
    for name in ("net_2x8", "net_2x5_zas"):
        path = BENCH / f"{name}.npz"
        if not path.exists():
            pytest.skip(f"{path} absent")
        net = Network.from_npz(path)
        h = float(np.load(path)["box_halfwidth"])
        S = regions(net, h)
        W = regions(net, h, method="walk", progress=False)
        assert len(S) == len(W)
        assert pattern_set(S) == pattern_set(W)
        assert edge_set(S) == edge_set(W)
        np.testing.assert_allclose(S.volumes.sum(), (2 * h) ** 2, rtol=1e-9)
        np.testing.assert_allclose(W.volumes.sum(), (2 * h) ** 2, rtol=1e-9)


def test_bench_net_zas_closed_form():
    path = BENCH / "net_2x5_zas.npz"
    if not path.exists():
        pytest.skip(f"{path} absent")
    # 5 lines in general position, every vertex inside the box: 1 + 5 + 10 regions
    assert len(regions(Network.from_npz(path), 100.0)) == 16


def test_degenerate_start_on_boundaries():
    # every line through the box centre; duplicated unit (two units, one hyperplane)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    net = Network.from_weights([(W, np.zeros(4)), (np.ones((1, 4)), np.zeros(1))])
    S = regions(net, 1.0)
    Wk = regions(net, 1.0, method="walk", progress=False)
    assert len(S) == len(Wk) == 6
    assert pattern_set(S) == pattern_set(Wk)


# ---------------------------------------------------------------------------
# linear regions, serialisation, locate, plots, cli
# ---------------------------------------------------------------------------
def test_merge_linear():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    net = Network.from_weights([(W, np.array([0.0, 0.0, -0.5])),
                                (np.array([[1.0, 1.0, 0.0]]), np.zeros(1))])
    R = regions(net, 1.0)
    assert len(R) == 7
    L = R.merge_linear()
    assert L.count == 4 and len(L.members) == 4
    np.testing.assert_allclose(np.sort(L.volumes), [1.0, 1.0, 1.0, 1.0])
    assert R.counts() == {"activation_regions": 7, "linear_regions": 4, "complete": True}


def test_json_roundtrip(tmp_path):
    rng = np.random.default_rng(2)
    net = random_net(rng, [2, 4, 3, 1])
    R = regions(net, 1.0)
    text = R.to_json(tmp_path / "r.json")
    doc = json.loads(text)
    assert doc["counts"]["activation_regions"] == len(R)
    Q = Regions.from_json(tmp_path / "r.json")
    assert len(Q) == len(R) and Q.complete
    np.testing.assert_array_equal(Q.codes, R.codes)
    np.testing.assert_allclose(Q.volumes, R.volumes)
    np.testing.assert_allclose(Q.jacobians, R.jacobians)
    assert Q.merge_linear().count == R.merge_linear().count
    X = rng.uniform(-1, 1, (50, 2))
    np.testing.assert_array_equal(Q.locate(X), R.locate(X))
    W = regions(random_net(rng, [3, 4, 1]), 1.0, progress=False)
    Q3 = Regions.from_json(W.to_json())
    np.testing.assert_allclose(Q3[0].A, W[0].A)


def test_locate_outside_and_shapes():
    net = random_net(np.random.default_rng(0), [2, 3, 1])
    R = regions(net, 1.0)
    assert R.locate([5.0, 0.0]) == -1
    assert R.locate(np.zeros((2, 3, 2))).shape == (2, 3)
    with pytest.raises(ValueError, match="shape"):
        R.locate([1.0, 2.0, 3.0])


def test_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net = random_net(np.random.default_rng(1), [2, 5, 1])
    R = regions(net, 1.0)
    for how in ("region", "gradient"):
        ax = R.plot(color_by=how)
        assert len(ax.collections) == 1
        plt.close("all")
    with pytest.raises(ValueError, match="color_by"):
        R.plot(color_by="nope")
    with pytest.raises(ValueError, match="2-D"):
        regions(random_net(np.random.default_rng(1), [3, 2, 1]), 1.0, progress=False).plot()


def test_cli(tmp_path, capsys):
    rng = np.random.default_rng(4)
    arrays = {"W0": rng.standard_normal((5, 2)), "b0": rng.standard_normal(5),
              "W1": rng.standard_normal((1, 5)), "b1": np.zeros(1),
              "box_halfwidth": np.array(2.0)}
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    rc = regions_cli([str(path), "--json", str(tmp_path / "o.json"),
                      "--png", str(tmp_path / "o.png"), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    n = len(regions(Network.from_npz(path), 2.0))
    assert f"activation regions: {n}" in out
    assert (tmp_path / "o.png").stat().st_size > 0
    assert len(Regions.from_json(tmp_path / "o.json")) == n
    assert regions_cli([str(path), "--box", "-1", "-1", "1", "1", "--no-progress"]) == 0


def test_interrupt_returns_partial(monkeypatch):
    import tropical.regions as mod

    real = mod._facets
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(mod, "_facets", flaky)
    net = random_net(np.random.default_rng(9), [2, 8, 1])
    R = regions(net, 1.0, method="walk", progress=False)
    assert not R.complete and 1 <= len(R) <= 5
    monkeypatch.undo()
    full = regions(net, 1.0, method="walk", progress=False)
    assert pattern_set(R) <= pattern_set(full)
    capped = regions(net, 1.0, method="walk", progress=False, max_regions=3)
    assert len(capped) == 3 and not capped.complete


def test_gibbs_concentration():
    rng = np.random.default_rng(6)
    net = random_net(rng, [2, 6, 4, 1]).deform(0.5)
    G = gibbs_concentration(net, 1.0, eps=[1.0, 0.1, 0.01, 0.001], n_samples=500)
    assert G.layers == [0, 1]
    assert G.off_limit.shape == (4, 2)
    assert np.all(np.diff(G.off_limit[:, 0]) < 0)         # concentrates as eps -> 0
    assert G.off_limit[-1].max() < 0.01
    assert G.agreement[-1] > 0.95
    assert np.all(G.spread <= G.off_limit + 1e-12)
    with pytest.raises(ValueError, match="> 0"):
        gibbs_concentration(net, 1.0, eps=[0.0])


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_input():
    net = random_net(np.random.default_rng(0), [2, 3, 1])
    with pytest.raises(ValueError, match="empty or inverted"):
        regions(net, ([0.0, 0.0], [1.0, 0.0]))
    with pytest.raises(ValueError, match="empty or inverted"):
        regions(net, ([1.0, 0.0], [0.0, 1.0]))
    with pytest.raises(ValueError, match="half-width"):
        regions(net, 0.0)
    with pytest.raises(ValueError, match="half-width"):
        regions(net, -1.0)
    with pytest.raises(ValueError, match="finite"):
        regions(net, ([np.nan, 0.0], [1.0, 1.0]))
    with pytest.raises(ValueError):
        regions(net, ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]))
    with pytest.raises(TypeError):
        regions("not a network", 1.0)
    with pytest.raises(TypeError):
        regions(net, True)
    with pytest.raises(ValueError, match="method"):
        regions(net, 1.0, method="magic")
    with pytest.raises(ValueError, match="split"):
        regions(random_net(np.random.default_rng(0), [3, 3, 1]), 1.0, method="split")
    with pytest.raises(ValueError, match="split"):
        regions(random_net(np.random.default_rng(0), [2, 3, 1], "maxout"), 1.0, method="split")
    with pytest.raises(ValueError, match="tropicalize"):
        regions(net.deform(0.1), 1.0)
    with pytest.raises(ValueError, match="max_regions"):
        regions(net, 1.0, max_regions=0)
    with pytest.raises(ValueError):      # mismatched layer shapes
        regions([(np.ones((3, 2)), np.zeros(3)), (np.ones((1, 4)), np.zeros(1))], 1.0)
    with pytest.raises(ValueError):      # NaN weights
        regions([(np.full((3, 2), np.nan), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))], 1.0)
    with pytest.raises(IndexError):
        regions(net, 1.0)[99]


def test_chebyshev_centre():
    R = regions(Network.from_weights([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]),
                1.0)
    for r in R:
        c, rad = r.chebyshev()
        assert rad == pytest.approx(0.5)
        assert r.contains(c) and R.locate(c) == r.index
        assert r.contains(r.interior_point)

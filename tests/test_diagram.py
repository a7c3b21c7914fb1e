"""The commutative diagram checker and ``tropical check`` (MATH.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tropical import diagram as dg
from tropical.cli import main
from tropical.views.network import LSELayer


EPS_WIDE = np.logspace(3, -6, 10)
ARROWS = {f"{u}->{v}" for u, v, *_ in dg.EDGES}
LEFT = {"network->pde", "tropical->hopf_lax", "network->pde gibbs",
        "square hopf_cole defect", "square hopf_cole"}
RIGHT = {"pde->convex", "hopf_lax->lp", "pde->convex gibbs",
         "square duality defect", "square duality"}


def failing(report):
    return {r.name for r in report.failures()}


def test_graph():
    G = dg.diagram()
    assert set(G.nodes) == {"network", "pde", "convex", "tropical", "hopf_lax", "lp"}
    assert G.number_of_edges() == 7
    kinds = {(u, v): k for u, v, k in G.edges(data="kind")}
    assert kinds[("network", "pde")] == "exact" and kinds[("pde", "hopf_lax")] == "limit"
    assert all(G.nodes[n]["eps"] == "eps = 0" for n in ("tropical", "hopf_lax", "lp"))
    assert set(G.graph["squares"]) == {"hopf_cole", "duality"}


def test_default_model_commutes():
    report = dg.check(dg.load_model(None), npoints=128)
    assert report.ok, str(report)
    assert report.info["N"] == 16 and report.info["d"] == 2 and report.info["t"] == 0.5
    names = set(report.names())
    assert ARROWS <= names and {"square hopf_cole", "square duality"} <= names


@pytest.mark.parametrize("d", [1, 2, 5])
def test_random_models_commute_across_eps(rng, d):
    for N, t in ((1, 1.0), (13, 0.37), (40, 3.0)):
        layer = LSELayer(rng.normal(size=(N, d)) * 2, rng.normal(size=N) * 3)
        report = dg.check(layer, eps=EPS_WIDE, t=t, npoints=96, seed=d)
        assert report.ok, str(report)
        # vertical gaps: within eps log N at the largest eps, never negative
        for name in ("network->tropical", "pde->hopf_lax", "convex->lp"):
            r = report[name]
            assert r.max_measured <= 1e3 * math.log(max(N, 1)) + 1e-9


def test_vertical_bound_is_nearly_attained_at_large_eps(rng):
    # far below eps, every term counts: the gap tends to eps log N
    layer = LSELayer(rng.normal(size=(8, 2)) * 1e-3, np.zeros(8))
    report = dg.check(layer, eps=[1e3, 1.0], x=np.zeros((1, 2)))
    r = report["network->tropical"]
    assert r.ok and r.measured >= 0.999 * 1e3 * math.log(8)


def test_rate_at_a_tie_is_log_k():
    # three terms tie at x = 0, the others far below: slope log 3
    W = np.array([[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8], [0.0, 0.0]])
    b = np.array([0.0, 0.0, 0.0, -1.0])
    report = dg.check((W, b), eps=np.logspace(-2, -6, 6), x=np.zeros((1, 2)))
    assert report.ok
    assert "mean slope 1.0986" in report["rate network->tropical"].detail
    assert "log k = 1.0986" in report["rate network->tropical"].detail


def _layer(rng):
    return LSELayer(rng.normal(size=(12, 2)), rng.normal(size=12))


def test_perturbed_convex_view_fails_exactly_the_duality_square(rng):
    from tropical.views.convex import EntropicLP

    layer = _layer(rng)
    b = layer.b.copy()
    b[np.argmax(layer.b)] += 1e-6
    report = dg.check(layer, eps=[1.0, 1e-2, 1e-4], views={"convex": EntropicLP(layer.W, b, 0.0)})
    assert not report.ok
    assert {"square duality"} <= failing(report) <= RIGHT
    assert "square hopf_cole" not in failing(report)
    msg = report["square duality"].failure_message()
    assert "pde->convex->lp" in msg and "pde->hopf_lax->lp" in msg and "x=[" in msg
    assert "FAIL" in str(report)


def test_perturbed_network_bias_fails_exactly_the_hopf_cole_square(rng):
    layer = _layer(rng)
    b = layer.b.copy()
    b[:] += 1e-9  # tiny, still far beyond the rounding budget
    report = dg.check(layer, eps=[1.0, 1e-3], views={"network": LSELayer(layer.W, b)})
    assert {"network->pde", "tropical->hopf_lax", "square hopf_cole"} <= failing(report) <= LEFT


def test_wrong_dictionary_fails_both_squares(rng):
    layer = _layer(rng)
    t = 0.8
    y = t * layer.W                       # should be 2 t w
    g = -layer.b - t * (layer.W ** 2).sum(1)
    report = dg.check(layer, eps=[1.0, 1e-3], t=t, views={"pde": (y, g)})
    assert {"network->pde", "tropical->hopf_lax", "pde->convex", "hopf_lax->lp",
            "square hopf_cole", "square duality"} <= failing(report)
    assert "network->tropical" not in failing(report)   # the vertical arrows are untouched
    assert "pde->hopf_lax" not in failing(report)


def test_report_json_str_and_graph(rng, tmp_path):
    report = dg.check(_layer(rng), eps=[1.0, 0.1, 1e-3, 1e-5], npoints=40)
    again = dg.DiagramReport.from_json(report.to_json())
    assert again.ok == report.ok and again.names() == report.names()
    assert again["network->pde"].measured == report["network->pde"].measured
    text = str(report)
    assert "network->pde" in text and text.splitlines()[-1].endswith("checks hold")
    G = report.graph()
    assert G.edges["network", "pde"]["ok"] is True
    fig = report.plot(tmp_path / "gaps.png")
    assert (tmp_path / "gaps.png").stat().st_size > 1000
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plot_without_matplotlib_names_the_extra(rng, monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real(name, *a, **k)

    report = dg.check(_layer(rng), eps=[1.0, 0.1], npoints=8)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="'plot' extra"):
        report.plot()


def test_interrupt_returns_partial_report(rng):
    layer = _layer(rng)
    calls = []

    def net(eps):
        calls.append(eps)
        if len(calls) == 4:     # eps = 0, then two temperatures, then Ctrl-C
            raise KeyboardInterrupt
        return layer.with_eps(eps)

    report = dg.check(layer, eps=[1.0, 0.1, 0.01, 0.001], views={"network": net}, npoints=16)
    assert not report.complete and not report.ok
    assert list(report.eps) == [1.0, 0.1]
    assert "INCOMPLETE" in str(report)


# ---- deep softplus / ReLU networks -----------------------------------------------
def test_deep_bound_tight_on_one_hidden_unit():
    layers = [(np.array([[2.0, -1.0]]), np.array([0.5])), (np.array([[1.0]]), np.array([0.0]))]
    report = dg.check(layers, eps=[1.0, 0.1, 1e-3, 1e-6])
    r = report["softplus->relu"]
    assert report.ok and r.ok
    assert r.max_measured >= 0.999999 * r.max_bound - 1e-12   # attained at z = 0
    assert np.allclose(dg.deep_bound(layers), [math.log(2)])


def test_deep_bound_respected_random(rng):
    sizes = [3, 8, 8, 2]
    layers = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(sizes, sizes[1:])]
    report = dg.check(layers, eps=np.logspace(0, -6, 7), npoints=64)
    assert report.ok, str(report)
    C = dg.deep_bound(layers)
    W3 = np.abs(layers[2][0])
    W2 = np.abs(layers[1][0])
    expected = math.log(2) * (W3 @ np.ones(8) + W3 @ W2 @ np.ones(8))
    assert np.allclose(C, expected)


def test_deep_check_fails_when_the_bound_is_wrong(rng, monkeypatch):
    layers = [(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))]
    monkeypatch.setattr(dg, "deep_bound", lambda *a, **k: np.array([0.5 * math.log(2)]))
    report = dg.check(layers, eps=[0.1, 0.01])
    assert "softplus->relu" in failing(report)


# ---- the CLI ------------------------------------------------------------------------
def test_cli_default_exit_0(capsys):
    assert main(["check", "--points", "64"]) == 0
    out = capsys.readouterr().out
    assert "tropical check" in out and "square hopf_cole" in out


def test_cli_broken_model_exit_1(tmp_path, capsys):
    data = dg.load_model(None)
    g = data["g"].copy()
    g[0] += 1e-3
    path = tmp_path / "broken.npz"
    np.savez(path, W=data["W"], b=data["b"], y=data["y"], g=g, t=data["t"])
    assert main(["check", "--model", str(path), "--points", "64"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "network->pde" in out


@pytest.mark.parametrize("arrays,msg", [
    ({"X": np.zeros((3, 2))}, "lacks arrays"),
    ({"W": np.zeros((3, 2)), "b": np.zeros(4)}, "W must be (N, d) and b (N,)"),
    ({"W": np.array([[0.0, np.nan]]), "b": np.zeros(1)}, "NaN"),
    ({"W": np.zeros((3, 2)), "b": np.zeros(3), "y": np.zeros((3, 2))}, "y and g"),
    ({"W": np.zeros((3, 2)), "b": np.zeros(3), "t": np.array(-1.0)}, "t must be"),
])
def test_cli_malformed_exit_2(tmp_path, capsys, arrays, msg):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    assert main(["check", "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tropical: error:") and msg in err and len(err.splitlines()) == 1


def test_cli_missing_and_garbage_file(tmp_path, capsys):
    assert main(["check", "--model", str(tmp_path / "nope.npz")]) == 2
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    assert main(["check", "--model", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("tropical: error:") == 2


def test_cli_json_and_plot(tmp_path, capsys):
    import json

    png = tmp_path / "p.png"
    assert main(["check", "--json", "--eps", "1", "0.01", "0.0001", "--points", "32",
                 "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True and data["eps"] == [1.0, 0.01, 0.0001]
    assert png.exists()


# ---- the checker at scale: chunking, the HiGHS sample, large N --------------------
def _rows_numbers(report):
    return [(r.name, r.measured, r.bound, r.max_measured, r.max_bound, r.ok, r.worst_x,
             r.worst_eps, [list(v) for v in r.by_eps]) for r in report.rows]


def test_chunked_equals_unchunked(rng):
    layer = LSELayer(rng.normal(size=(30, 3)), rng.normal(size=30))
    eps = [1.0, 1e-2, 1e-5]
    whole = dg.check(layer, eps=eps, npoints=50, chunk=1000)
    parts = dg.check(layer, eps=eps, npoints=50, chunk=7)
    assert whole.info["chunk"] == 1000 and parts.info["chunk"] == 7
    _same_up_to_rounding(whole, parts)


def _same_up_to_rounding(r1, r2):
    """Same rows and verdicts; the numbers agree to the rounding of the blocks
    (BLAS may round ``X @ W.T`` of a 7-row block differently from a 50-row one)."""
    assert r1.names() == r2.names()
    for a, c in zip(r1.rows, r2.rows):
        assert a.ok == c.ok and a.kind == c.kind
        assert abs(a.max_bound - c.max_bound) <= 1e-12 * (1 + abs(a.max_bound))
        if a.kind == "arrow" and a.arrow_kind == "limit":
            assert abs(a.max_measured - c.max_measured) <= 1e-12 * (1 + abs(a.max_measured))
        elif a.kind != "rate":    # exact arrows and squares: both within the same bound
            assert max(a.max_measured, c.max_measured) <= a.max_bound


def test_chunked_equals_unchunked_bitwise_on_the_compiled_path():
    # every per-point quantity is computed row by row by the kernels, except
    # W x + b of the tropical and convex nodes (BLAS): exact on dyadic data
    r = np.random.default_rng(3)
    W = np.round(r.normal(size=(5000, 2)) * 8) / 8
    b = np.round(r.normal(size=5000) * 8) / 8
    x = np.round(r.normal(size=(21, 2)) * 4) / 4
    eps = [1.0, 1e-3]
    whole = dg.check((W, b), eps=eps, x=x, chunk=21, highs_points=2)
    parts = dg.check((W, b), eps=eps, x=x, chunk=7, highs_points=2)
    assert _rows_numbers(whole) == _rows_numbers(parts)


def test_highs_sample_gives_the_same_exact_lp_values(rng):
    layer = LSELayer(rng.normal(size=(25, 2)), rng.normal(size=25))
    eps = [1.0, 1e-3]
    full = dg.check(layer, eps=eps, npoints=40)
    some = dg.check(layer, eps=eps, npoints=40, highs_points=5)
    none = dg.check(layer, eps=eps, npoints=40, highs_points=0)
    assert full.info["lp_eps0"] == {"highs_points": 40, "pivot_points": 0}
    assert some.info["lp_eps0"] == {"highs_points": 5, "pivot_points": 35}
    assert none.info["lp_eps0"] == {"highs_points": 0, "pivot_points": 40}
    # both LP solvers return the exact optimum a_j, certified: identical reports
    assert _rows_numbers(full) == _rows_numbers(some) == _rows_numbers(none)
    assert "seconds_by_view" in full.info
    assert set(full.info["seconds_by_view"]) >= {"network", "pde", "convex", "lp (eps = 0)",
                                                 "checker (bounds, comparisons, rates)"}


@pytest.fixture(scope="module")
def big_layer():
    # N * chunk >= 2**15: the compiled row kernels of every view run
    r = np.random.default_rng(7)
    return LSELayer(r.normal(size=(3000, 4)), r.normal(size=3000) * 2)


def test_large_n_commutes_through_the_compiled_kernels(big_layer):
    report = dg.check(big_layer, eps=[1.0, 1e-2, 1e-4], npoints=24, highs_points=4)
    assert report.ok, str(report)
    assert report.info["lp_eps0"]["highs_points"] == 4


def test_large_n_broken_convex_fails_exactly_the_duality_square(big_layer):
    from tropical.views.convex import EntropicLP

    b = big_layer.b.copy()
    b += 1e-7
    report = dg.check(big_layer, eps=[1.0, 1e-2, 1e-4], npoints=24, highs_points=4,
                      views={"convex": EntropicLP(big_layer.W, b, 0.0)})
    assert {"pde->convex", "hopf_lax->lp", "square duality"} <= failing(report) <= RIGHT


def test_large_n_broken_pde_fails_both_squares_not_the_verticals(big_layer):
    y, g = big_layer.pde_data(1.0)
    g = g.copy()
    g += 1e-7
    report = dg.check(big_layer, eps=[1.0, 1e-2, 1e-4], npoints=24, highs_points=4,
                      views={"pde": (y, g)})
    assert {"network->pde", "tropical->hopf_lax", "pde->convex", "hopf_lax->lp",
            "square hopf_cole", "square duality"} <= failing(report)
    assert not {"network->tropical", "pde->hopf_lax", "convex->lp"} & failing(report)


class _PlainPDE:
    """A PDE view without ``evaluate``: the checker's per-method path."""

    def __init__(self, hc):
        self.hc, self.y, self.g = hc, hc.y, hc.g

    def u(self, x, t):
        return self.hc.u(x, t)

    def gibbs(self, x, t):
        return self.hc.gibbs(x, t)

    def hopf_lax(self, x, t):
        return self.hc.hopf_lax(x, t)


class _PlainNet:
    """A network view with only ``preactivations`` (and ``__call__`` at eps = 0)."""

    def __init__(self, layer):
        self.layer = layer

    def preactivations(self, x):
        return self.layer.preactivations(x)

    def __call__(self, x):
        return self.layer(x)


def test_views_without_evaluate_give_the_same_report(rng):
    from tropical.views.pde import HopfCole

    layer = LSELayer(rng.normal(size=(10, 2)), rng.normal(size=10))
    y, g = layer.pde_data(1.0)
    eps = [1.0, 1e-2, 1e-4]
    fast = dg.check(layer, eps=eps, npoints=30)
    plain = dg.check(layer, eps=eps, npoints=30,
                     views={"pde": lambda e: _PlainPDE(HopfCole(y, g, e)),
                            "network": lambda e: _PlainNet(layer.with_eps(e))})
    assert fast.ok and plain.ok, str(plain)
    assert fast.names() == plain.names()
    for a, c in zip(fast.rows, plain.rows):   # same verdicts, measured to rounding
        assert a.ok == c.ok
        if a.kind == "arrow" and a.arrow_kind == "limit":
            assert abs(a.max_measured - c.max_measured) <= 1e-12 * (1 + abs(a.max_measured))


def test_check_validates_chunk_and_highs_points(rng):
    layer = _layer(rng)
    with pytest.raises(ValueError, match="chunk"):
        dg.check(layer, eps=[1.0], npoints=8, chunk=0)
    with pytest.raises(ValueError, match="highs_points"):
        dg.check(layer, eps=[1.0], npoints=8, highs_points=-1)


def test_doctests():
    import doctest

    res = doctest.testmod(dg)
    assert res.failed == 0 and res.attempted > 0


def test_gibbs_l1_kernels_equal_numpy(rng):
    from tropical.kernels import reference, views

    A, B, C = (rng.dirichlet(np.ones(50), size=7) for _ in range(3))
    for mod in (views, reference):
        ab, bc, one = np.empty(7), np.empty(7), np.empty(7)
        mod.gibbs_l1_pair_rows(A, B, C, ab, bc)
        mod.gibbs_l1_rows(A, B, one)
        np.testing.assert_allclose(ab, np.abs(A - B).sum(1), rtol=1e-14)
        np.testing.assert_allclose(bc, np.abs(B - C).sum(1), rtol=1e-14)
        np.testing.assert_allclose(one, ab, rtol=1e-14)


def test_public_helpers_reject_bad_input():
    layer = LSELayer([[1.0], [-1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="npoints must be >= 1"):
        dg.check(layer, eps=[0.5], npoints=0)
    with pytest.raises(ValueError, match="npoints must be >= 1"):
        dg.check_deep([([[1.0]], [0.0])], eps=[0.5], npoints=0)
    with pytest.raises(TypeError, match="views must be a dict"):
        dg.check(layer, eps=[0.5], npoints=8, views=["pde"])
    with pytest.raises(ValueError, match="fit_below must be > 0"):
        dg.check(layer, eps=[0.5], npoints=8, fit_below=0.0)
    with pytest.raises(ValueError, match="M must be finite and >= 0"):
        dg.rounding_budget(np.nan, 0.1, 3, 2)
    with pytest.raises(ValueError, match="N must be >= 1"):
        dg.rounding_budget(1.0, 0.1, 0, 2)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        dg.rounding_budget(1.0, -0.1, 3, 2)
    with pytest.raises(ValueError, match="0 < low <= high"):
        dg.default_eps(low=2.0, high=1.0)
    with pytest.raises(ValueError, match="W contains NaN"):
        dg.default_points([[np.nan, 0.0]], [0.0])
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        dg.default_points(np.eye(3), [0.0, 1.0])
    # the checked public budget is the one the check uses
    assert dg.rounding_budget(2.0, 0.1, 5, 3) == dg._rounding_budget(2.0, 0.1, 5, 3)


def test_plot_to_a_file_leaves_the_backend_alone(tmp_path):
    # saving used matplotlib.use("Agg"): the caller's backend was switched for the session
    import os
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    code = ("import sys, matplotlib; from tropical import diagram as dg; "
            "from tropical.views.network import LSELayer; "
            "from tropical.experiments import ExperimentResult, Claim; "
            "r = dg.check(LSELayer([[1.0], [-1.0]], [0.0, 0.0]), eps=[1.0, 0.1, 0.01], "
            "npoints=16); "
            f"r.plot({str(tmp_path / 'a.png')!r}); "
            "ExperimentResult('x', {}, {}, [Claim('s', True, 'e')])"
            f".plot({str(tmp_path / 'b.png')!r}); "
            "print(matplotlib.rcParams['backend'], 'matplotlib.pyplot' in sys.modules)")
    env = dict(os.environ, MPLBACKEND="svg")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["svg", "False"]
    assert (tmp_path / "a.png").stat().st_size > 1000 and (tmp_path / "b.png").stat().st_size > 0

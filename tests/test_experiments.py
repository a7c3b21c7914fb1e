"""tropical.experiments and ``tropical reproduce``: the claims are real checks.

Every experiment runs with ``quick=True``. A claim must hold on the engine as
it is and must fail when the ingredient it checks is broken (monkeypatched):
a wrong dictionary, a wrong residual, a wrong softplus, a network evaluated at
the wrong temperature.
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tropical import experiments
from tropical.experiments import Claim, ExperimentResult, ExperimentUnavailable
from tropical.cli import main


def claim(res, prefix):
    """The claim whose statement starts with ``prefix`` (exactly one)."""
    found = [c for c in res.claims if c.statement.startswith(prefix)]
    assert len(found) == 1, [c.statement for c in res.claims]
    return found[0]


SOFTPLUS = "0 <= softplus_eps(z) - relu(z)"
SOFTPLUS_REF = "softplus_eps(z) - relu(z) = eps log"
HOPF_COLE = "f_eps(x) + u_eps(x, t) = |x|^2/(4t)"
ROUNDTRIP = "the dictionary is exact both ways"
NORMALIZED = "the identity holds for the unnormalised u only"
RESIDUAL = "u_t + |grad u|^2 - eps Lap u"
RESIDUAL_MP = "the same residuals from 40-digit mpmath"
NETWORK = "|softplus_eps net(x) - ReLU net(x)|"
NAIVE_NET = "a depth-independent bound"
RELU = "Hopf-Lax recovers ReLU"
G_ZERO = "with g = 0"
SOFTPLUS_PDE = "at eps > 0 the same data"


@pytest.fixture(scope="module")
def quick_identities():
    return experiments.identities(quick=True, progress=False)


# ---- identities: the claims hold, and the numbers say what the claims say -------------
def test_identities_hold(quick_identities):
    res = quick_identities
    assert res.ok and not res.interrupted and res.failures() == []
    assert len(res.claims) == 12
    sp = res.numbers["softplus"]
    for e, g, g0, bd in zip(sp["eps"], sp["max_gap"], sp["gap_at_0"], sp["bound"]):
        assert g == g0 and bd == e * math.log(2) and abs(g0 - bd) <= 2 * 2.0 ** -53 * bd
    zmax = res.parameters["zmax"]      # the smallest gap is at |z| = zmax (0 once absorbed)
    for e, m in zip(sp["eps"], sp["min_gap"]):
        assert 0 <= m <= e * math.log1p(math.exp(-zmax / e)) * (1 + 1e-14)
    net = res.numbers["network"]
    for key in ("depth2", "depth3"):
        rows = net[key]
        for g, bd, bn, nv in zip(rows["max_gap"], rows["bound"], rows["norm_bound"],
                                 rows["naive"]):
            assert nv < g <= bd + rows["rounding_allowance"] and bd <= bn * (1 + 1e-15)
    d2 = net["depth2"]    # attained at x = 0 in depth 2
    assert all(abs(g - b) <= d2["rounding_allowance"] for g, b in zip(d2["gap_at_0"], d2["bound"]))
    hl = res.numbers["hopf_lax_relu"]
    assert hl["y"] == [[0.0, 2 * t] for t in hl["t"]]
    assert hl["g"] == [[0.0, -t] for t in hl["t"]]
    assert hl["naive_g0_max"] == pytest.approx(hl["t"], rel=1e-14)
    # normalised offset: -(eps/2) log(4 pi eps t), independent of x
    for t, offs in zip(hl["t"], hl["normalized_offset"]):
        for e, off in zip(hl["eps"], offs):
            assert off == pytest.approx(-0.5 * e * math.log(4 * math.pi * e * t), abs=1e-12)


def test_broken_dictionary_fails(monkeypatch):
    from tropical.views.network import LSELayer

    good = LSELayer.pde_data

    def shifted(self, t=1.0):       # g off the dictionary by 1e-9
        y, g = good(self, t)
        return y, g + 1e-9

    monkeypatch.setattr(LSELayer, "pde_data", shifted)
    res = experiments.identities(quick=True, progress=False)
    assert not res.ok
    for prefix in (HOPF_COLE, ROUNDTRIP, NORMALIZED, RELU, SOFTPLUS_PDE):
        assert not claim(res, prefix).holds, prefix
    for prefix in (SOFTPLUS, SOFTPLUS_REF, NETWORK, NAIVE_NET):
        assert claim(res, prefix).holds, prefix


def test_sign_error_in_dictionary_fails(monkeypatch):
    from tropical.views.network import LSELayer

    def wrong(self, t=1.0):        # g = -b + t|w|^2: the sign of the quadratic term
        return 2 * t * self.W, -self.b + t * np.einsum("jk,jk->j", self.W, self.W)

    monkeypatch.setattr(LSELayer, "pde_data", wrong)
    res = experiments.identities(quick=True, progress=False)
    assert not claim(res, HOPF_COLE).holds and not claim(res, RELU).holds


def test_broken_residual_fails(monkeypatch):
    from tropical.views.pde import HopfCole

    good = HopfCole.residual

    def forgets_normalisation(self, x, t):   # claims 0 for the unnormalised u
        r = good(self, x, t)
        return r if self.normalized else r + self.eps * self.d / (2 * t)

    monkeypatch.setattr(HopfCole, "residual", forgets_normalisation)
    res = experiments.identities(quick=True, progress=False)
    assert not claim(res, RESIDUAL).holds and not claim(res, RESIDUAL_MP).holds
    assert claim(res, HOPF_COLE).holds


def test_broken_softplus_fails(monkeypatch):
    from tropical.nets import Layer

    good = Layer.activate

    def loose(self, z):              # softplus 0.1% too large
        out = good(self, z)
        if self.activation == "softplus" and self.eps > 0:
            return np.maximum(z, 0.0) + 1.001 * (out - np.maximum(z, 0.0))
        return out

    monkeypatch.setattr(Layer, "activate", loose)
    res = experiments.identities(quick=True, progress=False)
    for prefix in (SOFTPLUS, SOFTPLUS_REF, NETWORK, SOFTPLUS_PDE):
        assert not claim(res, prefix).holds, prefix


def test_network_at_wrong_temperature_fails(monkeypatch):
    from tropical.nets import Network

    good = Network.deform
    monkeypatch.setattr(Network, "deform", lambda self, eps: good(self, 1.5 * eps))
    res = experiments.identities(quick=True, progress=False)
    assert not claim(res, NETWORK).holds


# ---- the depth bound, independently of the experiment ---------------------------------
@settings(max_examples=25)
@given(seed=st.integers(0, 2 ** 32 - 1), depth=st.integers(1, 4), width=st.integers(1, 6),
       eps=st.sampled_from([1.0, 0.1, 1e-3]))
def test_network_gap_bound_holds(seed, depth, width, eps):
    from tropical.nets import Network

    rng = np.random.default_rng(seed)
    dims = [2] + [width] * (depth - 1) + [1]
    weights = [(rng.normal(size=(dims[k + 1], dims[k])), rng.normal(size=dims[k + 1]))
               for k in range(depth)]
    C, Cn = experiments.network_gap_bound(weights)
    assert np.all(C <= Cn * (1 + 1e-12))
    relu = Network.from_weights(weights, activation="relu")
    X = rng.uniform(-3, 3, size=(200, 2))
    gap = np.abs(relu.deform(eps)(X) - relu(X))
    # rounding: a few ulps of the propagated magnitudes
    scale = 1 + np.abs(relu(X)).max() + eps * C.max()
    assert np.all(gap <= eps * C + 64 * depth * 2.0 ** -53 * scale * (width + 4))
    if depth == 1:
        assert np.all(C == 0)


def test_network_gap_bound_is_attained():
    W1 = np.array([[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]])
    W2 = np.array([[0.25, 2.0, 1.0]])
    weights = [(W1, np.zeros(3)), (W2, np.zeros(1))]
    C, _ = experiments.network_gap_bound(weights)
    assert C[0] == pytest.approx(3.25 * math.log(2), rel=1e-15)
    from tropical.nets import Network

    net = Network.from_weights(weights)
    eps = 0.01
    gap = net.deform(eps)(np.zeros((1, 2)))[0, 0] - net(np.zeros((1, 2)))[0, 0]
    assert gap == pytest.approx(eps * C[0], rel=1e-14)


# ---- bifurcation -----------------------------------------------------------------
@pytest.fixture(scope="module")
def raw_diagram():
    """The continuation the quick experiment computes, once (for patched variants)."""
    attribution = pytest.importorskip("tropical.attribution")
    layer = attribution.two_cluster_example()
    return attribution.bifurcation_diagram(layer, (0.1, 10 ** 0.8),
                                           attribution.TWO_CLUSTER_BOX, progress=False)


@pytest.fixture(scope="module")
def quick_bifurcation():
    pytest.importorskip("tropical.attribution")
    return experiments.bifurcation(quick=True, progress=False)


def test_bifurcation_holds(quick_bifurcation, raw_diagram):
    res = quick_bifurcation
    for prefix in ("bifurcation_diagram locates", "the numbers of (minima", "wave regime"):
        assert claim(res, prefix).holds, str(res)
    # BifurcationDiagram.counts against the independent search: the claim says what the
    # numbers say (it is probed also just after each box crossing)
    checks = res.numbers["independent"]
    counts_claim = claim(res, "BifurcationDiagram.counts(eps)")
    assert counts_claim.holds == all(c["found"] == c["diagram"] for c in checks)
    assert res.ok == counts_claim.holds
    diag = res.numbers["diagram"]
    assert len(diag["folds"]) == len(raw_diagram.folds) > 0
    for f in diag["folds"]:
        assert set(f) >= {"eps", "x", "kinds"} and len(f["x"]) == 2
        assert 0.1 <= f["eps"] <= 10 ** 0.8 and "saddle" in f["kinds"]
    # one check between every two consecutive events, plus the two ends
    assert len(checks) >= len(diag["events"]) + 1
    assert checks[-1]["found"] == [0, 0, 1]
    assert all(c["found"] == c["predicted"] for c in checks)
    crossings = [ev for ev in diag["events"] if "box" in ev["what"]]
    assert crossings       # two saddles cross the boundary of [-3, 3]^2 near eps = 0.16
    # the total change is the sum of the events
    total = np.sum([ev["delta"] for ev in diag["events"]], axis=0)
    assert list(np.array(checks[0]["found"]) + total) == checks[-1]["found"]
    assert "engine's own fixed two-cluster set" in res.claims[1].note


def _patched_diagram(monkeypatch, raw, edit):
    import copy

    import tropical.attribution as attribution

    def fake(layer, eps_range, box, **kw):
        d = copy.deepcopy(raw)
        edit(d)
        return d

    monkeypatch.setattr(attribution, "bifurcation_diagram", fake)
    return experiments.bifurcation(quick=True, progress=False)


def test_bifurcation_missing_fold_fails(monkeypatch, raw_diagram):
    res = _patched_diagram(monkeypatch, raw_diagram, lambda d: d.folds.pop(0))
    assert claim(res, "the numbers of (minima").holds is False
    assert claim(res, "wave regime").holds is True


def test_bifurcation_wrong_counts_fail(monkeypatch, raw_diagram):
    import tropical.attribution as attribution

    monkeypatch.setattr(attribution.BifurcationDiagram, "counts", lambda self, eps: {})
    res = _patched_diagram(monkeypatch, raw_diagram, lambda d: None)
    assert not claim(res, "BifurcationDiagram.counts(eps)").holds
    assert claim(res, "the numbers of (minima").holds


def test_bifurcation_misplaced_fold_fails(monkeypatch, raw_diagram):
    def shift(d):
        for f in d.folds:
            f.eps *= 1.01
    res = _patched_diagram(monkeypatch, raw_diagram, shift)
    assert claim(res, "bifurcation_diagram locates").holds is False


# ---- scaling -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scaling_run():
    """The quick experiment, and the raw ScalingResult it was computed from."""
    fitm = pytest.importorskip("tropical.fit")
    seen = []
    real = fitm.scaling_experiment

    def spy(*a, **k):
        seen.append((a, k, real(*a, **k)))
        return seen[-1][2]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitm, "scaling_experiment", spy)
        res = experiments.scaling(quick=True, progress=False)
    return res, seen


def test_scaling_holds(scaling_run):
    res, seen = scaling_run
    assert res.ok, str(res)
    (args, kwargs, raw), = seen
    assert args == ("norm",) and kwargs["dims"] == (1, 2, 4) and kwargs["box"] == (-2.0, 2.0)
    sc = res.numbers["scaling"]
    for d in (1, 2, 4):
        k = str(d)
        assert sc["eps"][k] == pytest.approx([N ** (-1 / d) for N in sc["Ns"][k]], rel=1e-15)
        assert sc["exponent"][k] == raw.exponent[d]
        lo, hi = sc["interval"][k]
        assert lo <= sc["exponent"][k] <= hi
    assert sc["two_term_max_error_d1"] == pytest.approx(
        [e * math.log(2) / 2 for e in sc["eps"]["1"]], rel=1e-12)


@pytest.mark.parametrize("edit,broken", [
    (lambda r: r.exponent.__setitem__(2, r.exponent[2] + 0.05), "error ~ N^s"),
    (lambda r: r.max_errors.__setitem__(4, r.max_errors[4] * r.Ns[4][:, None] ** 1.0),
     "what the exponent measures"),
    (lambda r: r.max_errors.__setitem__(1, r.max_errors[1] * 0.3), "in d = 1"),
])
def test_scaling_claims_fail_on_wrong_numbers(monkeypatch, scaling_run, edit, broken):
    import copy

    import tropical.fit as fitm

    raw = copy.deepcopy(scaling_run[1][0][2])
    edit(raw)
    monkeypatch.setattr(fitm, "scaling_experiment", lambda *a, **k: raw)
    res = experiments.scaling(quick=True, progress=False)
    assert not claim(res, broken).holds
    if broken == "error ~ N^s":     # the errors are untouched: the other claims still hold
        assert sum(c.holds for c in res.claims) == len(res.claims) - 1


# ---- robustness ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_robustness():
    pytest.importorskip("tropical.fit")
    pytest.importorskip("tropical.robustness")
    return experiments.robustness(quick=True, progress=False)


def test_robustness_holds(quick_robustness):
    res = quick_robustness
    assert res.ok, str(res)
    for key, d in (("d1", 1), ("d8", 8)):
        L = res.numbers["layers"][key]
        assert L["d"] == d
        assert L["sup_hessian_sampled"] <= L["bound_diameter"] <= L["bound_max_norm"]
        assert L["bound_diameter"] >= L["diam"] ** 2 / (4 * L["eps"])
        found, cert = np.array(L["found"]), np.array(L["certificate"])
        assert np.all(found <= cert * (1 + 1e-9) + 1e-12) and np.all(found >= -1e-12)
    ce = res.numbers["pointwise_counterexample"]
    # f = LSE_0.05(x, -x) at x = 1, delta = -1: R = f(0) - f(1) + f'(1), f' = tanh(x/eps),
    # at 40 digits; the engine's error is within its own stated rounding budget
    # (was rel=1e-9, about 1e6 times looser than the budget)
    import mpmath

    from tropical.robustness import remainder_budget
    from tropical.views.network import LSELayer

    with mpmath.workdps(40):
        e = mpmath.mpf("0.05")
        f = lambda x: e * mpmath.log(mpmath.exp(x / e) + mpmath.exp(-x / e))  # noqa: E731
        exact = f(0) - f(1) + mpmath.tanh(1 / e)
        err = abs(mpmath.mpf(ce["remainder"]) - exact)
    two = LSELayer([[1.0], [-1.0]], [0.0, 0.0], 0.05)
    assert err <= remainder_budget(two, [[1.0]], [[-1.0]])[0]


def test_robustness_claims_fail_on_broken_ingredients(monkeypatch):
    import tropical.robustness as rob

    good_bound, good_report = rob.hessian_bound, rob.robustness_report

    def half_bound(layer, kind="both", method="auto"):
        b = good_bound(layer, kind, method)
        return b._replace(diameter=b.diameter / 2)

    def wrong_found(*a, **k):
        rep = good_report(*a, **k)
        rep.found = rep.found * 1.5 + 1e-6
        return rep

    monkeypatch.setattr(rob, "hessian_bound", half_bound)
    monkeypatch.setattr(rob, "robustness_report", wrong_found)
    monkeypatch.setattr(rob, "remainder", lambda layer, x, delta: np.zeros(np.shape(x)[:-1]))
    res = experiments.robustness(quick=True, progress=False)
    held = [c.holds for c in res.claims]
    assert held == [False, False, False, False], str(res)


# ---- results: JSON, repr, plot, interruption ---------------------------------------
def test_json_round_trip(quick_identities, tmp_path):
    res = quick_identities
    text = res.to_json()
    back = ExperimentResult.from_json(text)
    assert back == res and back.ok == res.ok and back.claims == res.claims
    assert json.loads(text)["ok"] is True
    assert "ExperimentResult('identities', 12 claims, 12 hold, ok=True)" == repr(res)
    assert str(res).splitlines()[-1] == "12/12 claims hold"
    # non-finite numbers are encoded as strings: the JSON stays strict
    r = ExperimentResult("x", {}, {"a": [1.0, math.inf, -math.inf, math.nan]},
                         [Claim("s", False, "e", "n")], interrupted=True)
    data = json.loads(r.to_json(), parse_constant=lambda c: pytest.fail(f"literal {c}"))
    assert data["numbers"]["a"] == [1.0, "inf", "-inf", "nan"] and data["ok"] is False
    assert ExperimentResult.from_json(r.to_json()) == r
    with pytest.raises(ValueError, match="not the JSON of an ExperimentResult"):
        ExperimentResult.from_json('{"type": "DiagramReport"}')
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        ExperimentResult("x", {}, {"a": object()}, [])


def test_claim_is_a_tuple():
    c = Claim("s", 1, "e")
    assert tuple(c) == ("s", True, "e", "") and c.holds is True
    assert "note" not in repr(c) and "note='n'" in repr(Claim("s", 0, "e", "n"))


def test_plot_writes_png(quick_identities, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "f.png"
    back = ExperimentResult.from_json(quick_identities.to_json())
    fig = back.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    plt.close(fig)
    other = ExperimentResult("unknown-name", {}, {}, [Claim("s", True, "e")])
    plt.close(other.plot(tmp_path / "g.png"))
    assert (tmp_path / "g.png").stat().st_size > 0


def test_interrupt_keeps_what_was_computed(monkeypatch, tmp_path):
    from tropical.views.pde import HopfCole

    def stop(self, x, t):
        raise KeyboardInterrupt

    monkeypatch.setattr(HopfCole, "residual", stop)
    out = tmp_path / "partial.json"
    res = experiments.run("identities", quick=True, out=out, progress=False)
    assert res.interrupted and not res.ok
    assert set(res.numbers) == {"softplus", "hopf_cole"}
    assert all(c.holds for c in res.claims) and len(res.claims) == 5
    saved = ExperimentResult.from_json(out.read_text())
    assert saved == res and saved.interrupted
    assert main(["reproduce", "identities", "--quick"]) == 130


def test_progress_on_request(capsys):
    experiments.identities(quick=True, progress=True)
    err = capsys.readouterr().err
    assert "tropical reproduce identities: [5/5] Hopf-Lax recovers ReLU" in err


def test_run_validates_before_computing(tmp_path, monkeypatch):
    called = []
    monkeypatch.setitem(experiments.EXPERIMENTS, "identities",
                        (lambda **k: called.append(k), "x", ()))
    with pytest.raises(ValueError, match="unknown experiment 'nope'; choose from"):
        experiments.run("nope")
    with pytest.raises(ValueError, match="directory .* does not exist"):
        experiments.run("identities", out=tmp_path / "no" / "x.json")
    with pytest.raises(ValueError, match="is a directory"):
        experiments.run("identities", plot=tmp_path)
    with pytest.raises(TypeError, match="quick must be a bool"):
        experiments.run("identities", quick="yes")
    assert called == []


@pytest.mark.parametrize("name,module", [("bifurcation", "tropical.attribution"),
                                         ("scaling", "tropical.fit"),
                                         ("robustness", "tropical.robustness")])
def test_missing_module_is_a_clear_error(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)     # import raises ImportError
    with pytest.raises(ExperimentUnavailable, match=f"experiment {name} needs .*{module}"):
        experiments.run(name, quick=True)
    assert issubclass(ExperimentUnavailable, ImportError)


# ---- the command line ---------------------------------------------------------------
def test_cli_reproduce_out_and_plot(tmp_path, capsys):
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    assert main(["reproduce", "identities", "--quick", "--out", str(out), "--plot",
                 str(png)]) == 0
    text = capsys.readouterr().out
    assert "12/12 claims hold" in text and f"JSON written to {out}" in text
    data = json.loads(out.read_text())
    assert data["ok"] is True and data["name"] == "identities" and data["parameters"]["quick"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_reproduce_failing_claim_exits_1(monkeypatch, capsys):
    from tropical.views.network import LSELayer

    good = LSELayer.pde_data
    monkeypatch.setattr(LSELayer, "pde_data", lambda self, t=1.0: (good(self, t)[0] * 1.001,
                                                                   good(self, t)[1]))
    assert main(["reproduce", "identities", "--quick"]) == 1
    assert "[FAILS]" in capsys.readouterr().out


def test_cli_reproduce_list(capsys):
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == experiments.names()


@pytest.mark.parametrize("argv,msg", [
    (["reproduce", "nope"], "unknown experiment 'nope'"),
    (["reproduce"], "give an experiment NAME or --list"),
    (["reproduce", "identities", "--out", "/nonexistent-dir/x.json"], "--out: directory"),
])
def test_cli_reproduce_bad_input_exits_2(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tropical: error:") and msg in err and len(err.splitlines()) == 1


def test_cli_reproduce_subprocess_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tropical.cli", "reproduce", "identities",
                           "--plot", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--plot:" in proc.stderr and "is a directory" in proc.stderr


# ---- docstrings ---------------------------------------------------------------------
def test_doctests():
    mod = importlib.import_module("tropical.experiments")
    failed, attempted = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert failed == 0 and attempted > 0


def test_network_gap_bound_rejects_bad_weights():
    with pytest.raises(ValueError, match="at least one layer"):
        experiments.network_gap_bound([])
    with pytest.raises(ValueError, match=r"W\[0\] contains NaN"):
        experiments.network_gap_bound([([[np.nan]], [0.0])])
    with pytest.raises(ValueError, match="layer 1: W has 5 inputs"):
        experiments.network_gap_bound([(np.zeros((2, 3)), np.zeros(2)),
                                       (np.zeros((2, 5)), np.zeros(2))])
    with pytest.raises(TypeError, match="weights must be a sequence"):
        experiments.network_gap_bound(3)

"""Networks (tropical.nets): evaluation, the tropical form, the eps family, loaders, bad input.

Reference values come from a plain-numpy forward pass written here
independently of :mod:`tropical.nets`; loaders are checked against PyTorch
(float64 modules) and, for ONNX, against the PyTorch module that was exported.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from tropical.nets import Layer, Network
from tropical.polynomial import TropicalRational

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench-nets"
if not BENCH.is_dir():  # the documented location of the shared benchmark networks
    BENCH = Path("/work/shared/bench-nets")
U = np.finfo(np.float64).eps / 2  # unit roundoff


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------
def numpy_forward(specs, x):
    """Forward pass from plain (W, b, act, param) tuples, loops over units."""
    u = np.asarray(x, dtype=float)
    for W, b, act, p in specs:
        z = np.einsum("oi,...i->...o", W, u) + b
        if act == "relu":
            u = np.where(z > 0, z, 0.0)
        elif act == "leaky_relu":
            u = np.where(z > 0, z, p * z)
        elif act == "identity":
            u = z
        elif act == "softplus":
            u = p * np.logaddexp(z / p, 0.0)
        elif act == "maxout":
            u = np.stack([z[..., g:g + p].max(axis=-1) for g in range(0, z.shape[-1], p)], -1)
        elif act == "lse":
            k, eps = p
            u = np.stack([eps * np.logaddexp.reduce(z[..., g:g + k] / eps, axis=-1)
                          for g in range(0, z.shape[-1], k)], -1)
        else:  # pragma: no cover
            raise AssertionError(act)
    return u


def random_specs(rng, act, depth, d_in=2, width=3, alpha=0.3, group=2, eps=0.5):
    """Random weights: hidden layers with ``act``, identity scalar output."""
    specs, d = [], d_in
    for _ in range(depth - 1):
        out = width * group if act in ("maxout", "lse") else width
        p = {"relu": None, "leaky_relu": alpha, "maxout": group, "softplus": eps,
             "lse": (group, eps), "identity": None}[act]
        specs.append((rng.standard_normal((out, d)), rng.standard_normal(out), act, p))
        d = width
    specs.append((rng.standard_normal((1, d)), rng.standard_normal(1), "identity", None))
    return specs


def net_of(specs):
    layers = []
    for W, b, act, p in specs:
        kw = {}
        if act == "leaky_relu":
            kw["alpha"] = p
        elif act == "maxout":
            kw["group"] = p
        elif act == "softplus":
            kw["eps"] = p
        elif act == "lse":
            kw["group"], kw["eps"] = p
        layers.append(Layer(W, b, act, **kw))
    return Network(layers)


def magnitude_bound(specs, x):
    """Absolute forward pass: |W| a + |b| per layer, leaky scaled by (1 + |alpha|), groups summed.

    Every monomial of G and H, and every partial sum the network evaluates,
    is a signed sum of path products bounded by this (see ``rounding_budget``).
    """
    a = np.abs(np.asarray(x, dtype=float))
    for W, b, act, p in specs:
        m = np.abs(a) @ np.abs(W).T + np.abs(b)
        if act == "leaky_relu":
            m = (1 + abs(p)) * m
        elif act == "maxout":
            m = m.reshape(m.shape[:-1] + (-1, p)).sum(axis=-1)
        a = m
    return a


def rounding_budget(specs, x):
    """Error budget of comparing ``to_tropical()`` with the network at ``x``.

    Both evaluate sums of products of weights and inputs along paths through
    the network, in a different order: each computed quantity is a sum of at
    most ``K`` rounded operations on terms bounded in absolute value by the
    absolute forward pass ``A(x)``. With ``K`` the sum over layers of
    (fan-in + group + 3) plus the input dimension (exponent and coefficient
    accumulation, the scale by ``alpha``, the final ``G - H``), each side is
    within ``K * u * A(x)`` (first order in ``u``); G and H are each bounded by
    ``A(x)``, so the difference is within ``4 K u A(x)``.
    """
    K = x.shape[-1] + sum(W.shape[1] + (p if act == "maxout" else 1) + 3
                          for W, b, act, p in specs)
    return 4 * K * U * magnitude_bound(specs, x)[..., 0]


# ---------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "leaky_relu", "maxout", "softplus", "lse", "identity"])
def test_call_matches_numpy_forward(rng, act):
    specs = random_specs(rng, act, depth=3, d_in=3)
    net = net_of(specs)
    x = rng.standard_normal((4, 5, 3)) * 2
    y = net(x)
    assert y.shape == (4, 5, 1) and y.dtype == np.float64
    np.testing.assert_allclose(y, numpy_forward(specs, x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(net(x[1, 2]), y[1, 2], rtol=1e-14, atol=1e-14)  # one point
    np.testing.assert_array_equal(net(x.tolist()), y)                          # nested lists


def test_softplus_does_not_overflow():
    net = Network([Layer([[1.0]], [0.0], "softplus", eps=1e-3)])
    y = net(np.array([[-1000.0], [0.0], [1000.0]]))
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[:, 0], [0.0, 1e-3 * math.log(2), 1000.0], rtol=1e-15)


def test_activation_pattern_reproduces_the_network(rng):
    specs = random_specs(rng, "relu", depth=3)
    net = net_of(specs)
    x = rng.standard_normal((50, 2))
    pats = net.activation_pattern(x)
    assert [p.dtype for p in pats] == [bool, bool, bool]
    assert [p.shape for p in pats] == [(50, 3), (50, 3), (50, 0)]
    # the affine map of the pattern's region gives the network's values
    u = x
    for (W, b, act, _), p in zip(specs, pats):
        z = u @ W.T + b
        assert np.array_equal(p, z > 0) if act == "relu" else p.size == 0
        u = z * p if act == "relu" else z
    np.testing.assert_allclose(u, net(x), rtol=1e-14, atol=1e-14)


def test_activation_pattern_maxout_and_leaky(rng):
    net = Network([Layer(np.array([[1.0, 0], [0, 1], [-1, 0], [0, -1]]), np.zeros(4), "maxout",
                         group=2),
                   Layer(np.eye(2), np.zeros(2), "leaky_relu", alpha=0.1)])
    pats = net.activation_pattern(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, -2.0]]))
    np.testing.assert_array_equal(pats[0], [[0, 1], [1, 0], [0, 1]])
    assert pats[0].dtype.kind == "i"
    np.testing.assert_array_equal(pats[1], [[True, False], [True, False], [True, True]])


# ---------------------------------------------------------------------------
# the tropical form
# ---------------------------------------------------------------------------
TROPICAL_CASES = [("relu", {}, 1), ("relu", {}, 2), ("relu", {}, 3),
                  ("leaky_relu", {"alpha": 0.3}, 2), ("leaky_relu", {"alpha": 0.3}, 3),
                  ("leaky_relu", {"alpha": -0.5}, 2), ("leaky_relu", {"alpha": 1.5}, 2),
                  ("leaky_relu", {"alpha": 0.0}, 3),
                  ("maxout", {"group": 2}, 2), ("maxout", {"group": 3}, 2),
                  ("maxout", {"group": 2}, 3),
                  ("identity", {}, 2)]


@pytest.mark.parametrize("act,kw,depth", TROPICAL_CASES)
def test_to_tropical_equals_network(act, kw, depth):
    rng = np.random.default_rng(abs(hash((act, depth, tuple(kw.items())))) % 2**32)
    width = 2 if (act in ("leaky_relu", "maxout") and depth == 3) else 3
    specs = random_specs(rng, act, depth, width=width, alpha=kw.get("alpha", 0.3),
                         group=kw.get("group", 2))
    net = net_of(specs)
    F = net.to_tropical()
    assert isinstance(F, TropicalRational) and F.nvars == 2
    x = rng.standard_normal((500, 2)) * 4
    err = np.abs(F(x) - net(x)[:, 0])
    assert (err <= rounding_budget(specs, x)).all(), err.max()


def test_to_tropical_exact_on_dyadic_weights():
    """Small integer weights, dyadic alpha and integer points: no rounding anywhere."""
    rng = np.random.default_rng(7)
    for act, kw in [("relu", {}), ("leaky_relu", {"alpha": 0.25}), ("leaky_relu", {"alpha": -2.0}),
                    ("leaky_relu", {"alpha": 3.0}), ("maxout", {"group": 2})]:
        k = kw.get("group", 1)
        layers = [Layer(rng.integers(-3, 4, (3 * k, 2)), rng.integers(-3, 4, 3 * k), act, **kw),
                  Layer(rng.integers(-3, 4, (3 * k, 3)), rng.integers(-3, 4, 3 * k), act, **kw),
                  Layer(rng.integers(-3, 4, (1, 3)), rng.integers(-3, 4, 1), "identity")]
        net = Network(layers)
        x = rng.integers(-20, 21, (400, 2)).astype(float)
        np.testing.assert_array_equal(net.to_tropical()(x), net(x)[:, 0], err_msg=act)


def test_to_tropical_vector_output_and_variables(rng):
    net = Network.from_weights([(rng.standard_normal((3, 2)), rng.standard_normal(3)),
                                (rng.standard_normal((2, 3)), rng.standard_normal(2))])
    Fs = net.to_tropical(variables=("a", "b"))
    assert isinstance(Fs, list) and len(Fs) == 2
    assert Fs[0].numerator.variables == ("a", "b")
    x = rng.standard_normal((100, 2))
    np.testing.assert_allclose(np.stack([F(x) for F in Fs], -1), net(x), atol=1e-12)


@pytest.mark.parametrize("act,kw,depth", [("relu", {}, 3), ("leaky_relu", {"alpha": 0.5}, 2),
                                          ("maxout", {"group": 2}, 3)])
def test_simplification_never_adds_monomials(act, kw, depth):
    rng = np.random.default_rng(11 + depth)
    specs = random_specs(rng, act, depth, width=2 if act == "maxout" else 3,
                         alpha=kw.get("alpha", 0.3), group=kw.get("group", 2))
    net = net_of(specs)
    F, R = net.to_tropical(), net.to_tropical(simplify=False)
    assert F.numerator.nterms <= R.numerator.nterms
    assert F.denominator.nterms <= R.denominator.nterms
    if act != "leaky_relu":  # these two do have monomials to remove
        assert F.numerator.nterms + F.denominator.nterms < \
            R.numerator.nterms + R.denominator.nterms
    # simplified once more: nothing left to remove
    assert F.numerator.simplify().nterms == F.numerator.nterms
    x = rng.standard_normal((500, 2)) * 3
    budget = rounding_budget(specs, x)
    assert (np.abs(F(x) - R(x)) <= 2 * budget).all()
    assert (np.abs(R(x) - net(x)[:, 0]) <= budget).all()


@pytest.mark.parametrize("name", ["net_2x8.npz", "net_2x5_zas.npz"])
def test_to_tropical_on_bench_nets(name):
    path = BENCH / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    raw = np.load(path, allow_pickle=False)
    net = Network.from_npz(path)
    specs = [(raw["W0"], raw["b0"], "relu", None), (raw["W1"], raw["b1"], "identity", None)]
    h = float(raw["box_halfwidth"])
    x = np.random.default_rng(3).uniform(-h, h, (2000, 2))
    F = net.to_tropical()
    err = np.abs(F(x) - numpy_forward(specs, x)[:, 0])
    assert (err <= rounding_budget(specs, x)).all(), err.max()


def test_to_tropical_refuses_smooth_layers(rng):
    net = net_of(random_specs(rng, "relu", 2)).deform(0.1)
    with pytest.raises(ValueError, match="layer 0 is softplus.*tropicalize"):
        net.to_tropical()


# ---------------------------------------------------------------------------
# the eps family
# ---------------------------------------------------------------------------
def test_deform_tropicalize_round_trip(rng):
    net = Network([Layer(rng.standard_normal((4, 2)), rng.standard_normal(4), "relu"),
                   Layer(rng.standard_normal((4, 4)), rng.standard_normal(4), "maxout", group=2),
                   Layer(rng.standard_normal((3, 2)), rng.standard_normal(3), "leaky_relu",
                         alpha=0.1),
                   Layer(rng.standard_normal((1, 3)), rng.standard_normal(1), "identity")])
    smooth = net.deform(0.25)
    assert smooth.activations == ("softplus", "lse", "leaky_relu", "identity")
    assert [layer.eps for layer in smooth] == [0.25, 0.25, 0.0, 0.0]
    assert smooth[1].group == 2
    assert all(np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b) for a, b in zip(net, smooth))
    assert smooth.tropicalize() == net
    assert net.deform(0) == net and net.tropicalize() == net
    assert smooth.deform(0.5).tropicalize() == net
    assert not smooth.is_piecewise_linear() and net.is_piecewise_linear()


def deformation_bound(specs, eps):
    """Bound on |f_eps - f_0| (per output) derived layer by layer.

    softplus_eps and relu differ by at most eps*log 2 (at z = 0), LSE_eps over k
    units and max by at most eps*log k, and all four are 1-Lipschitz (sup
    norm over a group). So if the layer inputs differ by at most e, the
    pre-activations differ by at most |W| e, and the outputs by at most
    |W| e + eps*log 2 (softplus) or max over the group of |W| e + eps*log k
    (lse); identity layers add nothing.
    """
    e = np.zeros(specs[0][0].shape[1])
    for W, b, act, p in specs:
        z = np.abs(W) @ e
        if act == "softplus":
            e = z + eps * math.log(2)
        elif act == "lse":
            k = p[0]
            e = z.reshape(-1, k).max(axis=1) + eps * math.log(k)
        else:
            e = z
    return e


@pytest.mark.parametrize("act", ["softplus", "lse"])
def test_deformation_tends_to_tropical_limit_within_bound(rng, act):
    specs = random_specs(rng, act, depth=3, width=4, eps=1.0)
    relu_net = net_of(specs).tropicalize()
    x = rng.standard_normal((300, 2)) * 3
    f0 = relu_net(x)
    errs = []
    for eps in (1.0, 0.1, 0.01, 1e-3):
        f = relu_net.deform(eps)(x)
        assert (np.abs(f - f0) <= deformation_bound(specs, eps) + 1e-12).all()
        assert (f >= f0 - 1e-12).all() if act == "softplus" and (specs[-1][0] > 0).all() else True
        errs.append(np.abs(f - f0).max())
    assert errs[-1] < errs[0] / 100  # it does converge


def test_deformation_bound_is_attained():
    """One softplus layer at z = 0 with positive output weights: exactly the bound."""
    W2 = np.array([[0.5, 2.0, 1.5]])
    specs = [(np.array([[1.0, -1.0], [2.0, 0.5], [-1.0, 3.0]]), np.zeros(3), "softplus", 0.1),
             (W2, np.zeros(1), "identity", None)]
    net = net_of(specs)
    gap = net(np.zeros(2)) - net.tropicalize()(np.zeros(2))
    np.testing.assert_allclose(gap, deformation_bound(specs, 0.1), rtol=1e-14)


# ---------------------------------------------------------------------------
# loaders
# ---------------------------------------------------------------------------
def test_from_weights_activation_options(rng):
    W = [(rng.standard_normal((4, 2)), None), (rng.standard_normal((2, 2)), rng.standard_normal(2))]
    net = Network.from_weights(W, activation="maxout", group=2, final_activation="relu")
    assert net.activations == ("maxout", "relu") and net.out_dim == 2
    assert np.array_equal(net[0].b, np.zeros(4))
    W2 = [(rng.standard_normal((2, 2)), None), W[1]]
    net = Network.from_weights(W2, activation=["leaky_relu", "identity"], alpha=0.2)
    assert net[0].alpha == 0.2 and net[1].alpha == 0.0
    assert repr(net) == "Network(Linear(2, 2), leaky_relu(alpha=0.2), Linear(2, 2))"
    with pytest.raises(ValueError, match="final_activation"):
        Network.from_weights(W, activation=["relu", "relu"], final_activation="relu")
    with pytest.raises(ValueError, match="2 layers"):
        Network.from_weights(W, activation=["relu"])


def test_repr_is_readable():
    net = Network([Layer(np.ones((4, 2)), np.zeros(4), "lse", group=2, eps=0.5),
                   Layer(np.ones((3, 2)), np.zeros(3), "leaky_relu", alpha=0.01),
                   Layer(np.ones((1, 3)), np.zeros(1), "softplus", eps=0.1)])
    assert repr(net) == ("Network(Linear(2, 4), lse(group=2, eps=0.5), Linear(2, 3), "
                         "leaky_relu(alpha=0.01), Linear(3, 1), softplus(eps=0.1))")


@pytest.mark.parametrize("name", ["net_2x8.npz", "net_2x5_zas.npz", "net_2x3x16.npz",
                                  "net_8x2x16.npz"])
def test_from_npz_bench_nets(name):
    path = BENCH / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    raw = np.load(path, allow_pickle=False)
    net = Network.from_npz(path)
    L = len([k for k in raw.files if k.startswith("W")])
    assert net.depth == L and list(net.activations) == ["relu"] * (L - 1) + ["identity"]
    assert [net.in_dim] + [layer.out_dim for layer in net] == raw["dims"].tolist()
    specs = [(raw[f"W{k}"], raw[f"b{k}"], "relu" if k < L - 1 else "identity", None)
             for k in range(L)]
    x = np.random.default_rng(0).uniform(-1, 1, (100, net.in_dim))
    np.testing.assert_allclose(net(x), numpy_forward(specs, x), rtol=1e-14, atol=1e-14)


def test_npz_and_json_round_trip(tmp_path, rng):
    net = Network([Layer(rng.standard_normal((4, 2)), rng.standard_normal(4), "lse", group=2,
                         eps=0.3),
                   Layer(rng.standard_normal((3, 2)), rng.standard_normal(3), "leaky_relu",
                         alpha=0.2),
                   Layer(rng.standard_normal((1, 3)), rng.standard_normal(1), "identity")])
    net.to_npz(tmp_path / "n.npz")
    assert Network.from_npz(tmp_path / "n.npz") == net
    assert Network.from_json(net.to_json()) == net
    plain = Network.from_weights([(layer.W, layer.b) for layer in net.layers[1:]])
    plain.to_npz(tmp_path / "p.npz")
    assert Network.from_npz(tmp_path / "p.npz") == plain


def test_from_npz_bad_files(tmp_path):
    W0, b0, W1 = np.ones((3, 2)), np.zeros(3), np.ones((1, 3))
    np.savez(tmp_path / "missing.npz", W0=W0, b0=b0, W1=W1)
    with pytest.raises(ValueError, match="b1 is missing"):
        Network.from_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "gap.npz", W0=W0, b0=b0, W2=W1, b2=np.zeros(1))
    with pytest.raises(ValueError, match="W1 is missing"):
        Network.from_npz(tmp_path / "gap.npz")
    np.savez(tmp_path / "none.npz", dims=np.array([2, 1]))
    with pytest.raises(ValueError, match="no weight arrays"):
        Network.from_npz(tmp_path / "none.npz")
    np.savez(tmp_path / "ragged.npz", W0=W0, b0=b0, W1=np.ones((1, 4)), b1=np.zeros(1))
    with pytest.raises(ValueError, match=r"layer 1: W has shape \(1, 4\).*\(3, 2\)"):
        Network.from_npz(tmp_path / "ragged.npz")
    np.savez(tmp_path / "bias.npz", W0=W0, b0=np.zeros(2), W1=W1, b1=np.zeros(1))
    with pytest.raises(ValueError, match=r"b0 has shape \(2,\)"):
        Network.from_npz(tmp_path / "bias.npz")
    np.savez(tmp_path / "dims.npz", W0=W0, b0=b0, W1=W1, b1=np.zeros(1), dims=np.array([2, 4, 1]))
    with pytest.raises(ValueError, match="dims"):
        Network.from_npz(tmp_path / "dims.npz")
    np.savez(tmp_path / "obj.npz", W0=np.array([W0, None], dtype=object), b0=b0)
    with pytest.raises(ValueError, match="pickle"):
        Network.from_npz(tmp_path / "obj.npz")


def test_from_state_dict_numpy_and_prefixes(rng):
    W0, b0 = rng.standard_normal((3, 2)), rng.standard_normal(3)
    W2 = rng.standard_normal((1, 3))
    # keys out of order, numeric order 2 < 10, bias-free last layer, a prefix
    sd = {"net.10.weight": W2, "net.2.bias": b0, "net.2.weight": W0}
    net = Network.from_state_dict(sd)
    assert net.activations == ("relu", "identity")
    np.testing.assert_array_equal(net[1].b, [0.0])
    x = rng.standard_normal((10, 2))
    expected = numpy_forward([(W0, b0, "relu", None), (W2, np.zeros(1), "identity", None)], x)
    np.testing.assert_allclose(net(x), expected, rtol=1e-15)
    with pytest.raises(ValueError, match="neither a weight nor a bias"):
        Network.from_state_dict({"0.weight": W0, "1.running_mean": b0})
    with pytest.raises(ValueError, match="no 0.weight"):
        Network.from_state_dict({"0.bias": b0})


# -- PyTorch and ONNX -------------------------------------------------------------------
def torch_model(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 6), nn.LeakyReLU(0.25),  # ONNX keeps float32 alpha
        nn.Linear(6, 8), nn.MaxPool1d(2), nn.Linear(4, 5),
        nn.Softplus(beta=2.0, threshold=1e4),  # no linear shortcut in float64 range
        nn.Linear(5, 2)).double()


def test_from_torch_reproduces_outputs():
    torch = pytest.importorskip("torch")
    model = torch_model(torch)
    net = Network.from_torch(model)
    assert net.activations == ("relu", "leaky_relu", "maxout", "softplus", "identity")
    assert net[2].group == 2 and net[3].eps == 0.5 and net[1].alpha == 0.25
    x = torch.randn(200, 3, dtype=torch.float64) * 2
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(net(x.numpy()), expected, rtol=0, atol=1e-12)
    # the same through the state dict, activations given by hand
    sd = Network.from_state_dict(model.state_dict(),
                                 activation=["relu", "leaky_relu", "maxout", "softplus",
                                             "identity"], alpha=0.25, group=2, eps=0.5)
    assert sd == net


def test_from_torch_activation_after_activation_and_nested():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.MaxPool1d(3),
                          nn.Sequential(nn.Dropout(0.0), nn.Linear(2, 1))).double().eval()
    net = Network.from_torch(model)
    assert net.activations == ("relu", "maxout", "identity")
    x = torch.randn(100, 2, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(net(x.numpy()), model(x).numpy(), atol=1e-12, rtol=0)


def test_from_torch_unsupported_module():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    with pytest.raises(TypeError, match="unsupported module type Tanh"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))
    with pytest.raises(ValueError, match="stride"):
        Network.from_torch(nn.Sequential(nn.Linear(2, 4), nn.MaxPool1d(2, stride=1)))
    with pytest.raises(ValueError, match="before the first affine"):
        Network.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(2, 4)))


def _export_onnx(torch, model, d_in):
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(4, d_in, dtype=torch.float64),), f,
                          dynamo=False)
    return f.getvalue()


def test_from_onnx_reproduces_torch(tmp_path):
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    model = torch_model(torch)
    try:
        data = _export_onnx(torch, model, 3)
    except Exception as exc:  # pragma: no cover - exporter unavailable offline
        pytest.skip(f"torch.onnx.export failed: {exc}")
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert "Softplus" in ops and "MaxPool" in ops and "LeakyRelu" in ops
    net = Network.from_onnx(path)
    assert net == Network.from_torch(model)
    x = torch.randn(200, 3, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(net(x.numpy()), model(x).numpy(), atol=1e-12, rtol=0)


def _helper_model(onnx, nodes, inits, d_in=2, d_out=1):
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [None, d_in])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.DOUBLE, [None, d_out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float64), k) for k, v in inits.items()])
    return helper.make_model(graph)


def test_from_onnx_matmul_add_and_unsupported_op(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    rng = np.random.default_rng(2)
    B, c, B2 = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((3, 1))
    nodes = [helper.make_node("MatMul", ["x", "B"], ["h"]),
             helper.make_node("Add", ["c", "h"], ["z"]),
             helper.make_node("Relu", ["z"], ["r"]),
             helper.make_node("Gemm", ["r", "B2"], ["y"], alpha=2.0)]
    model = _helper_model(onnx, nodes, {"B": B, "c": c, "B2": B2})
    onnx.save(model, tmp_path / "ok.onnx")
    net = Network.from_onnx(tmp_path / "ok.onnx")
    x = rng.standard_normal((20, 2))
    expected = 2.0 * (np.maximum(x @ B + c, 0) @ B2)
    np.testing.assert_allclose(net(x), expected, rtol=1e-14, atol=1e-14)

    bad = [helper.make_node("MatMul", ["x", "B"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])]
    onnx.save(_helper_model(onnx, bad, {"B": B}, d_out=3), tmp_path / "bad.onnx")
    with pytest.raises(ValueError, match="unsupported ONNX op Tanh"):
        Network.from_onnx(tmp_path / "bad.onnx")


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_mismatched_layer_shapes_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"layer 2: W has shape \(1, 5\).*layer 1 \(W of shape "
                                         r"\(4, 3\)\) outputs 4"):
        Network.from_weights([(np.ones((3, 2)), None), (np.ones((4, 3)), None),
                              (np.ones((1, 5)), None)])
    with pytest.raises(ValueError, match=r"b must have shape \(3,\)"):
        Layer(np.ones((3, 2)), np.zeros(2), "relu")
    with pytest.raises(ValueError, match="do not split into groups of 2"):
        Layer(np.ones((3, 2)), np.zeros(3), "maxout", group=2)


def test_unsupported_activation():
    with pytest.raises(ValueError, match="layer 0: unsupported activation 'tanh'"):
        Network.from_weights([(np.ones((3, 2)), None), (np.ones((1, 3)), None)], activation="tanh")
    with pytest.raises(ValueError, match="unsupported activation 'sigmoid'"):
        Layer(np.ones((1, 1)), np.zeros(1), "sigmoid")
    with pytest.raises(ValueError, match="alpha applies only to leaky_relu"):
        Layer(np.ones((1, 1)), np.zeros(1), "relu", alpha=0.1)
    with pytest.raises(ValueError, match="eps applies only"):
        Layer(np.ones((1, 1)), np.zeros(1), "relu", eps=0.1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        Layer(np.ones((1, 1)), np.zeros(1), "softplus", eps=-1.0)


def test_nan_weights():
    W = np.ones((3, 2))
    W[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"W of layer 0 contains nan at index \(1, 0\)"):
        Network.from_weights([(W, None)])
    with pytest.raises(ValueError, match="b contains inf"):
        Layer(np.ones((1, 1)), [np.inf], "relu")
    with pytest.raises(ValueError, match=r"0.weight contains nan"):
        Network.from_state_dict({"0.weight": W})


def test_wrong_input():
    net = Network.from_weights([(np.ones((3, 2)), None), (np.ones((1, 3)), None)])
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\).*got shape \(5, 3\)"):
        net(np.ones((5, 3)))
    with pytest.raises(ValueError, match="x must have shape"):
        net.activation_pattern(1.0)
    with pytest.raises(ValueError, match="finite"):
        net([np.nan, 0.0])
    with pytest.raises(TypeError, match="real numbers"):
        net(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])
    with pytest.raises(TypeError, match="layer 0 must be"):
        Network([(np.ones((1, 1)), np.zeros(1))])


def test_layers_are_immutable(rng):
    W = rng.standard_normal((2, 2))
    layer = Layer(W, np.zeros(2), "relu")
    W[0, 0] = 100.0  # the layer holds a copy
    assert layer.W[0, 0] != 100.0
    with pytest.raises(ValueError):
        layer.W[0, 0] = 1.0
    with pytest.raises(AttributeError):
        layer.activation = "identity"


def test_prefilter_removes_only_non_maximal_monomials():
    """The float-proposed, exactly certified pre-filter never drops a hull vertex."""
    from tropical._hull import strictly_maximal_terms
    from tropical.nets import _dominated_prefilter

    rng = np.random.default_rng(4)
    removed = 0
    for n in (2, 3):
        for trial in range(6):
            E = rng.standard_normal((80, n))
            c = rng.standard_normal(80) - (E ** 2).sum(axis=1) * (trial % 2)
            # a degenerate set: lattice points on a paraboloid, many exactly on faces
            L = np.unique(rng.integers(-2, 3, (60, n)).astype(float), axis=0)
            cl = -(L ** 2).sum(axis=1) + rng.integers(0, 2, len(L)) * (trial % 3 == 0)
            for EE, cc in ((E, c), (L, cl)):
                keep = _dominated_prefilter(EE, cc)
                assert (keep >= strictly_maximal_terms(EE, cc)).all()
                removed += int((~keep).sum())
    assert removed > 100

"""The PDE view: Hopf-Cole / Hopf-Lax, its derivatives, the dictionary, the FD solver.

Conventions of ``../shared/design/MATH.md`` sections 2-3. ``U = 2**-53`` is
the unit roundoff of float64; every rounding budget below is derived in the
test that uses it (bounds of the form ``gamma_k = k*U/(1 - k*U)``, rounded up
to ``(k + 1)*U``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tropical
from tropical.views.pde import (
    FDConvergence,
    HopfCole,
    fd_convergence,
    from_initial_data,
    heat_fd_solve,
)

U = 2.0**-53
EPS_GRID = [1e-300, 1e-6, 1e-3, 0.1, 1.0, 37.0, 1e3]
TIMES = [0.3, 1.7, 13.0]


def _model(rng, N, d, eps, scale=3.0, normalized=False):
    y = rng.normal(size=(N, d)) * scale
    g = rng.normal(size=N) * 2.0
    return HopfCole(y, g, eps, normalized=normalized)


def _points(rng, d, near=40, far=6):
    """Points near the data and points with |x| ~ 1e6, far from every y_j."""
    x_near = rng.normal(size=(near, d)) * 5.0
    x_far = rng.normal(size=(far, d))
    x_far *= 1e6 / np.linalg.norm(x_far, axis=1, keepdims=True)
    return np.concatenate([x_near, x_far])


# ------------------------------------------------------------------------ f_eps + u_eps = |x|^2/(4t)
def _dictionary_budget(hc, W, b, x, t, f, u):
    """Rounding budget of ``|f + u - |x|^2/(4t)|`` (the dictionary identity).

    In exact arithmetic ``w_j.x + b_j = |x|^2/(4t) - a_j`` with
    ``a_j = g_j + |x - y_j|^2/(4t)``, and LSE is 1-Lipschitz in the sup norm,
    so the error is the sum of
      * the rounding of ``W x + b`` (gamma_{d+1}) and of ``W, b`` themselves
        (one rounding of ``w_j``, gamma_{d+2} for ``b_j``): <= (2d+5) U A_j,
        ``A_j = sum_k |w_jk x_k| + |b_j| + |g_j| + |y_j|^2/(4t)``;
      * the rounding of ``a_j`` (difference, d squares, sum, /4t, +g):
        gamma_{d+3} B_j, ``B_j = |g_j| + |x - y_j|^2/(4t)``;
      * the rounding of ``|x|^2/(4t)``: gamma_{d+1} q;
      * each LSE kernel: 2U (7 max|arg| + 3|result| + eps (2(N-1) + 2 log N))
        (tropical.lse Notes);
      * the two final additions: 2U (|f| + |u| + q).
    Collected: (4d + 44) U S with S the sum of the magnitudes below.
    """
    d, N, eps = hc.d, hc.N, hc.eps
    q = np.einsum("ik,ik->i", x, x) / (4 * t)
    A = (np.abs(x[:, None, :] * W).sum(-1) + np.abs(b) + np.abs(hc.g)
         + (hc.y ** 2).sum(-1) / (4 * t)).max(-1)
    B = (np.abs(hc.g) + ((x[:, None, :] - hc.y) ** 2).sum(-1) / (4 * t)).max(-1)
    S = A + B + q + np.abs(f) + np.abs(u) + 2 * eps * (N + math.log(N))
    return (4 * d + 44) * U * S


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("eps", [0.0] + EPS_GRID)
def test_f_plus_u_is_the_quadratic_with_lse(rng, d, eps):
    """f_eps(x) + u_eps(x, t) = |x|^2/(4t) with f from tropical.lse directly."""
    for t in TIMES:
        hc = _model(rng, 7, d, eps)
        W = hc.y / (2 * t)
        b = -hc.g - np.einsum("jk,jk->j", hc.y, hc.y) / (4 * t)
        x = _points(rng, d)
        f = tropical.lse(x @ W.T + b, eps)
        u = hc.u(x, t)
        assert np.isfinite(u).all() and np.isfinite(f).all()
        q = np.einsum("ik,ik->i", x, x) / (4 * t)
        err = np.abs(f + u - q)
        budget = _dictionary_budget(hc, W, b, x, t, f, u)
        assert (err <= budget).all(), (t, float((err / budget).max()))


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("eps", [0.0] + EPS_GRID)
def test_f_plus_u_is_the_quadratic_with_lselayer(rng, d, eps):
    """The same identity through HopfCole.to_network and LSELayer.to_pde."""
    network = pytest.importorskip("tropical.views.network")
    for t in TIMES:
        hc = _model(rng, 7, d, eps)
        layer = hc.to_network(t)
        assert isinstance(layer, network.LSELayer) and layer.eps == eps
        x = _points(rng, d)
        f, u = layer(x), hc.u(x, t)
        q = np.einsum("ik,ik->i", x, x) / (4 * t)
        budget = _dictionary_budget(hc, layer.W, layer.b, x, t, f, u)
        assert (np.abs(f + u - q) <= budget).all()
        # and from the network side: the layer's own to_pde
        back = layer.to_pde(t)
        ub = back.u(x, t)
        budget_b = _dictionary_budget(back, layer.W, layer.b, x, t, f, ub)
        assert (np.abs(f + ub - q) <= budget_b).all()


def test_dictionary_identity_detects_a_wrong_bias(rng):
    """The budget is tight enough that a bias off by 1e-9 relative fails."""
    hc = _model(rng, 5, 2, 0.01)
    t = 0.7
    W = hc.y / (2 * t)
    b = -hc.g - np.einsum("jk,jk->j", hc.y, hc.y) / (4 * t)
    b_bad = b * (1 + 1e-9)
    x = _points(rng, 2)
    f = tropical.lse(x @ W.T + b_bad, hc.eps)
    u = hc.u(x, t)
    q = np.einsum("ik,ik->i", x, x) / (4 * t)
    assert (np.abs(f + u - q) > _dictionary_budget(hc, W, b, x, t, f, u)).any()


# ------------------------------------------------------------------------ the dictionary round trip
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# the ulp statements hold in the normal range: y and y/(2t) not subnormal
_mag = st.floats(1e-290, 1e6, allow_nan=False, allow_infinity=False)
normal = st.one_of(st.just(0.0), _mag, _mag.map(lambda v: -v))
times = st.floats(1e-3, 1e3, allow_nan=False)


@given(y=st.lists(st.lists(normal, min_size=3, max_size=3), min_size=1, max_size=6),
       t=times, data=st.data())
def test_dictionary_round_trip_y_w_y(y, t, data):
    """y -> w = y/(2t) -> 2t*w: two roundings (2t is exact), hence <= 1 ulp of y.

    |y' - y| <= (2U + U^2)|y| < 2 ulp(y), and y' - y is a multiple of ulp(y)
    unless y' drops below the binade of y, where the bound is ulp(y)(1 + U/2).
    (Normal range only: a subnormal quotient is rounded absolutely, not relatively.)
    """
    y = np.array(y)
    g = np.array(data.draw(st.lists(finite, min_size=len(y), max_size=len(y))))
    pytest.importorskip("tropical.views.network")
    layer = HopfCole(y, g, 0.5).to_network(t)
    back = layer.to_pde(t)
    assert (np.abs(back.y - y) <= np.spacing(np.abs(y))).all()
    # g -> b -> g: roundings of |y|^2 (gamma_d), /(4t), the sum for b; w (1 each),
    # |w|^2 (gamma_{d+1}), t*, the final sum: <= (2d + 6) U (|g| + |y|^2/(4t)).
    d = y.shape[1]
    Q = (y ** 2).sum(1) / (4 * t)
    assert (np.abs(back.g - g) <= (2 * d + 6) * U * (np.abs(g) + Q)).all()
    # the other way: w -> y -> w is again two roundings, within 1 ulp of w
    again = back.to_network(t)
    assert (np.abs(again.W - layer.W) <= np.spacing(np.abs(layer.W))).all()


def test_from_network_is_layer_to_pde(rng):
    network = pytest.importorskip("tropical.views.network")
    layer = network.LSELayer(rng.normal(size=(6, 3)), rng.normal(size=6), 0.25)
    for t in TIMES:
        assert HopfCole.from_network(layer, t) == layer.to_pde(t)   # bitwise
    with pytest.raises(TypeError, match="LSELayer"):
        HopfCole.from_network(object(), 1.0)


def test_dictionary_exact_on_dyadic_data():
    """Dyadic data and t = 2^k: every rounding is exact, the round trip bitwise."""
    pytest.importorskip("tropical.views.network")
    y = np.array([[1.5, -2.0], [0.25, 3.0], [-4.0, 0.5]])
    g = np.array([0.5, -1.25, 2.0])
    for t in (0.25, 1.0, 4.0):
        hc = HopfCole(y, g, 0.3)
        assert hc.to_network(t).to_pde(t) == hc


# ------------------------------------------------------------------------ residual and derivatives
@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("normalized", [False, True])
def test_residual_is_minus_eps_d_over_2t(rng, d, normalized):
    for eps in [0.0] + EPS_GRID:
        for t in TIMES:
            hc = _model(rng, 9, d, eps, normalized=normalized)
            x = _points(rng, d)
            res = hc.residual(x, t)
            target = 0.0 if normalized else -eps * d / (2 * t)
            budget = hc.residual_budget(x, t)
            assert np.isfinite(res).all()
            assert (np.abs(res - target) <= budget).all(), (eps, t)


def test_residual_budget_is_meaningful(rng):
    """The budget is far below the term it certifies: it can detect a wrong sign."""
    hc = _model(rng, 9, 2, 0.7)
    x = rng.normal(size=(20, 2))
    t = 0.9
    budget = hc.residual_budget(x, t)
    assert (budget < 1e-12 * (hc.eps * hc.d / (2 * t))).all()
    # u_t with the wrong sign (a tempting mistake) would miss by 2 E|z|^2 >> budget
    wrong = -hc.u_t(x, t) + (hc.grad_u(x, t) ** 2).sum(-1) - hc.eps * hc.laplacian_u(x, t)
    assert (np.abs(wrong + hc.eps * hc.d / (2 * t)) > budget).all()


@pytest.mark.parametrize("normalized", [False, True])
def test_derivatives_match_finite_differences(rng, normalized):
    """The closed forms of u_t, grad u, Laplacian(u) against central differences of u."""
    d, eps, t = 2, 0.3, 0.8
    hc = _model(rng, 6, d, eps, scale=1.0, normalized=normalized)
    x = rng.normal(size=(15, d))
    hstep = 1e-4
    ut_fd = (hc.u(x, t + hstep) - hc.u(x, t - hstep)) / (2 * hstep)
    np.testing.assert_allclose(hc.u_t(x, t), ut_fd, rtol=1e-6, atol=1e-6)
    grad_fd = np.empty_like(x)
    lap_fd = np.zeros(len(x))
    hx = 1e-3
    u0 = hc.u(x, t)
    for k in range(d):
        e = np.zeros(d)
        e[k] = 1.0
        up, um = hc.u(x + hx * e, t), hc.u(x - hx * e, t)
        grad_fd[:, k] = (up - um) / (2 * hx)
        lap_fd += (up - 2 * u0 + um) / hx**2
    np.testing.assert_allclose(hc.grad_u(x, t), grad_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hc.laplacian_u(x, t), lap_fd, rtol=1e-4, atol=1e-4)


def test_derivatives_far_away_and_tiny_eps(rng):
    """Nothing overflows at |x| = 1e6, eps from 1e-300; single dominant term there."""
    for eps in (1e-300, 1e-6, 1.0):
        hc = _model(rng, 5, 3, eps)
        x = _points(rng, 3, near=0, far=8)
        t = 1.7
        for fn in (hc.u, hc.hopf_lax, hc.u_t, hc.residual, hc.gibbs, hc.grad_u):
            assert np.isfinite(fn(x, t)).all()
        pi = hc.gibbs(x, t)
        np.testing.assert_allclose(pi.sum(-1), 1.0, rtol=0, atol=1e-14)
        # grad u = E_pi (x - y)/(2t): within the hull of the (x - y_j)/(2t)
        z = (x[:, None, :] - hc.y) / (2 * t)
        g = hc.grad_u(x, t)
        assert ((g >= z.min(1) - 1e-9 * np.abs(z).max(1)) & (g <= z.max(1) + 1e-9 * np.abs(z).max(1))).all()


def test_eps_zero_derivatives():
    """eps = 0: u = Hopf-Lax, derivatives of the active branch, kinks where tied."""
    hc = HopfCole([[-1.0], [1.0]], [0.0, 0.0], eps=0.0)
    t = 0.5
    x = np.array([[-2.0], [0.5], [0.0]])       # left branch, right branch, the kink
    np.testing.assert_array_equal(hc.u(x, t), hc.hopf_lax(x, t))
    np.testing.assert_array_equal(hc.u(x, t), [0.5, 0.125, 0.5])
    np.testing.assert_array_equal(hc.grad_u(x, t)[:2, 0], [-1.0, -0.5])   # (x - y*)/(2t)
    np.testing.assert_array_equal(hc.grad_u(x, t)[2, 0], 0.0)             # barycentre of -1, 1
    np.testing.assert_array_equal(hc.u_t(x, t)[:2], [-1.0, -0.25])        # -|x - y*|^2/(4t^2)
    lap = hc.laplacian_u(x, t)
    assert lap[0] == lap[1] == 1.0 and lap[2] == -np.inf
    np.testing.assert_array_equal(hc.residual(x, t), 0.0)
    # coincident tied points are not a kink
    same = HopfCole([[1.0], [1.0]], [0.0, 0.0], eps=0.0)
    assert same.laplacian_u([[3.0]], t)[0] == 1.0


def test_time_broadcasting(rng):
    hc = _model(rng, 4, 2, 0.2)
    x = rng.normal(size=(3, 2))
    t = np.array([0.5, 1.0, 2.0])
    np.testing.assert_array_equal(hc.u(x, t), [hc.u(x[i], t[i]) for i in range(3)])
    grid = hc.u(x[None, :, :], t[:, None])          # (3 times, 3 points)
    assert grid.shape == (3, 3)
    np.testing.assert_array_equal(grid[1], hc.u(x, 1.0))
    assert np.ndim(hc.u([0.0, 0.0], 1.0)) == 0      # one point -> a scalar


# ------------------------------------------------------------------------ vertical limit and semigroup
@pytest.mark.parametrize("d", [1, 2, 5])
def test_vertical_limit_bitwise(rng, d):
    """0 <= u_0 - u_eps <= eps*log N (u is a min: the viscous value is lower)."""
    N = 11
    hc0 = _model(rng, N, d, 0.0)
    x = _points(rng, d)
    for t in TIMES:
        u0 = hc0.hopf_lax(x, t)
        for eps in EPS_GRID:
            ue = hc0.with_eps(eps).u(x, t)
            gap = u0 - ue
            assert (gap >= 0).all()
            assert (u0 <= ue + eps * math.log(N)).all()
    # and the gap tends to 0 at rate eps (not only bounded): a unique minimiser
    # gives gap = O(eps * exp(-delta/eps)), so gap/eps -> 0
    x1 = x[:5]
    gaps = [float(np.max(u0[:5] - hc0.with_eps(e).u(x1, TIMES[-1]))) / e for e in (1e-1, 1e-3, 1e-6)]
    assert gaps[-1] <= gaps[0] and gaps[-1] <= math.log(N)


def test_hopf_lax_semigroup_brute_force():
    """u_0(., t+s) = min_z (u_0(z, t) + |x - z|^2/(4s)) by brute force on a 1-D grid.

    For each term the minimiser is z* = y_j + t/(t+s) (x - y_j) and the
    minimand is a quadratic of curvature 1/(2t) + 1/(2s); the nearest grid
    point is within h/2, so 0 <= grid_min - exact <= (h^2/16)(1/t + 1/s)
    (plus rounding, a few U of the values).
    """
    rng = np.random.default_rng(7)
    hc = HopfCole(rng.uniform(-2, 2, size=(6, 1)), rng.uniform(-1, 1, size=6), eps=0.0)
    t, s = 0.6, 0.35
    h = 1e-3
    z = np.arange(-8.0, 8.0 + h / 2, h)
    u_t = hc.hopf_lax(z[:, None], t)                    # u_0(z, t) on the grid
    x = np.linspace(-3, 3, 41)
    brute = np.min(u_t[None, :] + (x[:, None] - z[None, :]) ** 2 / (4 * s), axis=1)
    exact = hc.hopf_lax(x[:, None], t + s)
    slack = 64 * U * (np.abs(exact) + 50)
    diff = brute - exact
    assert (diff >= -slack).all()
    bound = h * h / 16 * (1 / t + 1 / s)
    assert (diff <= bound + slack).all()
    # the brute force is not trivially exact: the grid error is visible
    assert diff.max() > bound / 100
    # a wrong semigroup (times not adding) is far off
    wrong = hc.hopf_lax(x[:, None], t + 2 * s)
    assert np.max(np.abs(brute - wrong)) > 100 * bound


# ------------------------------------------------------------------------ continuous initial data
def _cone_hopf_lax(x, t, L):
    """Hopf-Lax of g(y) = L|y| (Euclidean): |x|^2/(4t) inside |x| <= 2tL, L|x| - tL^2 outside."""
    r = np.linalg.norm(np.atleast_2d(x), axis=-1)
    return np.where(r <= 2 * t * L, r * r / (4 * t), L * r - t * L * L)


@pytest.mark.parametrize("d", [1, 2])
def test_sampling_bound_lipschitz_data(rng, d):
    L, t = 1.5, 0.4
    g = lambda Y: L * np.linalg.norm(Y, axis=1)  # noqa: E731
    x = rng.uniform(-1.5, 1.5, size=(30, d))
    errs = []
    for h in (0.4, 0.2, 0.1):
        for eps in (0.0, 1e-3, 0.05):
            hc = from_initial_data(g, L, eps, box=([-4.0] * d, [4.0] * d), h=h)
            assert hc.sampling.covering_radius == pytest.approx(h * math.sqrt(d) / 2)
            lower, upper = hc.sampling_bound(x, t)
            assert np.isfinite(upper).all()
            gap = hc.u(x, t) - _cone_hopf_lax(x, t, L)
            slack = 1e-13
            assert (gap >= lower - slack).all() and (gap <= upper + slack).all()
            if eps == 0.0:
                errs.append(float(gap.max()))
                assert (gap >= -slack).all()          # a min over a subset
    assert errs[0] > errs[-1] > 0                       # it converges, and is not exact


def test_sampling_bound_outside_the_box_is_infinite():
    hc = HopfCole.from_initial_data(lambda Y: np.abs(Y[:, 0]), 1.0, box=(-1.0, 1.0), h=0.1)
    lower, upper = hc.sampling_bound([[0.0], [0.9]], t=0.2)   # B(x, 2tL) = B(x, 0.4)
    assert np.isfinite(upper[0]) and upper[1] == np.inf
    with pytest.raises(ValueError, match="from_initial_data"):
        HopfCole([[0.0]], [0.0]).sampling_bound([[0.0]], 1.0)


def test_sampling_at_points_gives_a_layer(rng):
    network = pytest.importorskip("tropical.views.network")
    P = rng.uniform(-1, 1, size=(50, 2))
    hc = from_initial_data(lambda Y: np.sin(Y[:, 0]) + Y[:, 1], 2.0, 0.1, points=P)
    assert hc.N == 50 and hc.sampling.covering_radius is None
    layer = hc.to_network(0.5)
    assert isinstance(layer, network.LSELayer)
    lower, upper = hc.sampling_bound([[0.0, 0.0]], 0.5)
    assert upper[0] == np.inf and lower[0] == pytest.approx(-0.1 * math.log(50))


@pytest.mark.parametrize("d", [1, 2])
def test_quadrature_weights_give_the_viscous_solution(d):
    """g = |y|^2/(4s): the viscous solution is |x|^2/(4(t+s)) + (eps*d/2) log((t+s)/s).

    The quadrature-weighted samples (midpoint rule of the heat-kernel
    integral, normalised) reproduce it; the unweighted ones are off by
    about -eps*d*log h plus the normalisation.
    """
    s, t, eps = 0.5, 0.3, 0.2
    box = ([-6.0] * d, [6.0] * d)
    g = lambda Y: (Y ** 2).sum(1) / (4 * s)  # noqa: E731
    hc = from_initial_data(g, 6.0 / (2 * s), eps, box=box, h=0.1, quadrature=True)
    assert hc.normalized
    x = np.random.default_rng(3).uniform(-1, 1, size=(10, d))
    exact = (x ** 2).sum(1) / (4 * (t + s)) + 0.5 * eps * d * math.log((t + s) / s)
    np.testing.assert_allclose(hc.u(x, t), exact, rtol=0, atol=1e-8)
    plain = from_initial_data(g, 6.0 / (2 * s), eps, box=box, h=0.1)
    assert np.max(np.abs(plain.u(x, t) - exact)) > 0.1
    with pytest.raises(ValueError, match="quadrature"):
        hc.with_eps(0.1)


# ------------------------------------------------------------------------ the FD solver
def test_fd_converges_at_second_order_1d():
    hc = HopfCole([[-0.5], [0.5], [1.2]], [0.0, 0.2, -0.1], eps=0.5)
    study = fd_convergence(hc, 0.25, 1.0, box=(-8.0, 8.0), ns=(40, 80, 160, 320),
                           window=(-2.0, 2.0))
    assert isinstance(study, FDConvergence)
    print(study)
    assert (np.diff(study.errors) < 0).all()
    # Crank-Nicolson with dt ~ h: order 2; the fitted slope and the finest pair
    assert 1.85 <= study.order <= 2.15, str(study)
    assert 1.9 <= study.orders[-1] <= 2.1, str(study)
    assert study.errors[-1] < 1e-3


def test_fd_converges_at_second_order_2d():
    rng = np.random.default_rng(11)
    hc = HopfCole(rng.uniform(-1, 1, size=(4, 2)), rng.uniform(0, 0.5, size=4), eps=0.5,
                  normalized=True)
    study = fd_convergence(hc, 0.25, 1.0, box=(-6.0, 6.0), ns=(32, 64, 128),
                           window=(-2.0, 2.0))
    print(study)
    assert (np.diff(study.errors) < 0).all()
    assert 1.85 <= study.order <= 2.15, str(study)
    assert 1.9 <= study.orders[-1] <= 2.1, str(study)


def test_fd_solution_is_independent_of_the_closed_form():
    """The FD result disagrees with a different model: it is not a copy of the closed form."""
    hc = HopfCole([[-0.5], [0.5]], [0.0, 0.2], eps=0.5)
    res = heat_fd_solve(hc, 0.25, 1.0, box=(-8.0, 8.0), n=200, window=(-2.0, 2.0))
    other = HopfCole([[-0.5], [0.5]], [0.0, 0.3], eps=0.5)
    x = np.array(res.grid[0])[:, None]
    off = np.abs(res.u_fd - other.u(x, 1.0))[res.window]
    assert off.max() > 10 * res.max_error
    assert res.u_fd[0] == np.inf                       # v = 0 on the boundary


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(y=[[0.0], [np.nan]], g=[0.0, 0.0]), ValueError, "y.*NaN"),
    (dict(y=[[0.0], [1.0]], g=[0.0, np.inf]), ValueError, "g"),
    (dict(y=[[0.0], [1.0]], g=[0.0, 0.0, 1.0]), ValueError, r"g must have shape \(2,\)"),
    (dict(y=np.zeros((0, 2)), g=[]), ValueError, "y must have shape"),
    (dict(y=[[0.0]], g=[0.0], eps=-1.0), ValueError, "eps must be >= 0"),
    (dict(y=[[0.0]], g=[0.0], eps=float("nan")), ValueError, "eps.*NaN"),
    (dict(y=[[0.0]], g=[0.0], eps="1"), TypeError, "eps"),
    (dict(y=[["a"]], g=[0.0]), TypeError, "y"),
])
def test_bad_model_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        HopfCole(**kwargs)


def test_bad_points_and_times():
    hc = HopfCole([[0.0, 0.0], [1.0, 1.0]], [0.0, 0.0], eps=0.1)
    for fn in (hc.u, hc.u_t, hc.grad_u, hc.laplacian_u, hc.residual, hc.hopf_lax, hc.gibbs):
        with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
            fn([[0.0, 0.0, 0.0]], 1.0)
        with pytest.raises(ValueError, match="x.*NaN"):
            fn([[0.0, np.nan]], 1.0)
        with pytest.raises(ValueError, match="t must be > 0"):
            fn([[0.0, 0.0]], 0.0)
        with pytest.raises(ValueError, match="t must be > 0"):
            fn([[0.0, 0.0]], -1.0)
        with pytest.raises(ValueError, match="t.*NaN"):
            fn([[0.0, 0.0]], np.nan)
        with pytest.raises(ValueError, match="t must be finite"):
            fn([[0.0, 0.0]], np.inf)
        with pytest.raises(ValueError, match="does not broadcast"):
            fn(np.zeros((3, 2)), [1.0, 2.0])
    with pytest.raises(ValueError, match="t must be > 0"):
        hc.to_network(0.0)
    with pytest.raises(ValueError, match="t must be > 0"):
        HopfCole.from_network(hc, -1.0)


def test_bad_solver_and_sampling_input():
    hc = HopfCole([[0.0]], [0.0], eps=0.5)
    with pytest.raises(ValueError, match="eps > 0"):
        heat_fd_solve(hc.with_eps(0.0), 0.1, 1.0, box=(-1, 1), n=10)
    with pytest.raises(ValueError, match="d = 1 and 2"):
        heat_fd_solve(HopfCole(np.zeros((1, 3)), [0.0], 0.5), 0.1, 1.0, box=(-1, 1), n=10)
    with pytest.raises(ValueError, match="t1 must be > t0"):
        heat_fd_solve(hc, 1.0, 0.5, box=(-1, 1), n=10)
    with pytest.raises(ValueError, match="t0 must be > 0"):
        heat_fd_solve(hc, 0.0, 0.5, box=(-1, 1), n=10)
    with pytest.raises(ValueError, match="box must have lo < hi"):
        heat_fd_solve(hc, 0.1, 0.5, box=(1, -1), n=10)
    with pytest.raises(ValueError, match="n must be >= 4"):
        heat_fd_solve(hc, 0.1, 0.5, box=(-1, 1), n=2)
    with pytest.raises(TypeError, match="HopfCole"):
        heat_fd_solve("model", 0.1, 0.5, box=(-1, 1), n=10)
    with pytest.raises(TypeError, match="callable"):
        from_initial_data([1.0], 1.0, box=(-1, 1), h=0.1)
    with pytest.raises(ValueError, match="lipschitz must be >= 0"):
        from_initial_data(np.sin, -1.0, box=(-1, 1), h=0.1)
    with pytest.raises(ValueError, match="needs points, or a box"):
        from_initial_data(np.sin, 1.0)
    with pytest.raises(ValueError, match="h must be > 0"):
        from_initial_data(np.sin, 1.0, box=(-1, 1), h=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        from_initial_data(lambda Y: np.full(len(Y), np.nan), 1.0, box=(-1, 1), h=0.5)


def test_repr_equality_immutability():
    hc = HopfCole([1.0, 2.0], [0.0, 1.0], eps=0.5)      # 1-D y means d = 1
    assert repr(hc) == "HopfCole(N=2, d=1, eps=0.5, normalized=False)"
    assert hc == HopfCole([[1.0], [2.0]], [0.0, 1.0], 0.5) and hash(hc) == hash(hc.with_eps(0.5))
    assert hc != hc.with_eps(0.25)
    with pytest.raises(ValueError):
        hc.y[0, 0] = 3.0
    np.testing.assert_array_equal(hc.u([0.0, 1.0], 1.0), hc.u([[0.0], [1.0]], 1.0))


# ---------------------------------------------------------------- one-pass evaluation
def _exponent_budget(hc, x, t):
    """Rounding of ``a_j = g_j + |x - y_j|^2/(4t)`` by two summation orders.

    Each order computes ``a_j`` to within gamma_{d+3} B_j, ``B_j = |g_j| +
    |x - y_j|^2/(4t)`` (d differences and squares, the sum, /4t, +g), so two of
    them differ by at most 2 gamma_{d+3} max_j B_j; an LSE or min of such
    exponents moves by no more (1-Lipschitz in the sup norm), plus each LSE
    kernel's own 2U (7 max|arg| + 3|result| + eps (2(N-1) + 2 log N)).
    """
    B = (np.abs(hc.g) + ((x[:, None, :] - hc.y) ** 2).sum(-1) / (4 * t)).max(-1)
    N, eps = hc.N, hc.eps
    return (2 * (hc.d + 4) + 2 * 10) * U * B + 4 * U * eps * (N + math.log(N))


@pytest.mark.parametrize("eps", [0.0, 1e-300, 1e-3, 1.0, 1e3])
@pytest.mark.parametrize("normalized", [False, True])
def test_evaluate_matches_the_separate_methods(rng, eps, normalized):
    hc = _model(rng, 30, 3, eps, normalized=normalized and eps > 0)
    x = _points(rng, 3, near=20, far=3)
    t = 0.7
    ev = hc.evaluate(x, t, derivatives=True)
    bud = _exponent_budget(hc, x, t)
    assert np.all(np.abs(ev.u - hc.u(x, t)) <= bud)
    assert np.all(np.abs(ev.hopf_lax - hc.hopf_lax(x, t)) <= bud)
    assert np.all(ev.hopf_lax >= ev.u) if not hc.normalized else True
    pg = hc.gibbs(x, t)
    if eps in (0.0, 1e-300):
        np.testing.assert_array_equal(ev.gibbs, pg)
    else:  # weights move by a factor exp(+-2 bud/eps)
        l1 = np.abs(ev.gibbs - pg).sum(-1)
        assert np.all(l1 <= np.expm1(np.minimum(2 * bud / eps, 700)) + 64 * hc.N * U)
    np.testing.assert_allclose(ev.entropy, tropical.entropy(pg), rtol=1e-9, atol=1e-9)
    near = slice(0, 20)   # the derivatives: near the data, relative to their size
    np.testing.assert_allclose(ev.grad_u[near], hc.grad_u(x[near], t), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ev.u_t[near], hc.u_t(x[near], t), rtol=1e-9, atol=1e-9)
    lap = hc.laplacian_u(x[near], t)
    fin = np.isfinite(lap)
    np.testing.assert_array_equal(np.isfinite(ev.laplacian_u[near]), fin)
    np.testing.assert_allclose(ev.laplacian_u[near][fin], lap[fin], rtol=1e-7,
                               atol=1e-7 * (1 + 1 / max(eps, 1e-300)))


def test_evaluate_direct_squares_far_from_the_data():
    """|x - y|^2 is summed directly: exact to a few ulps where the BLAS expansion
    |x|^2 - 2 x.y + |y|^2 cancels catastrophically (|x| = 1e8, |x - y| ~ 1)."""
    import mpmath

    y = np.array([[1e8, 0.0], [1e8 + 1.0, 0.5]])
    g = np.array([0.0, 0.25])
    x = np.array([[1e8 + 0.3, 0.1]])
    hc = HopfCole(y, g, eps=0.0)
    ev = hc.evaluate(x, 1.0)
    with mpmath.workdps(40):
        exact = min(mpmath.mpf(float(g[j])) + sum((mpmath.mpf(float(x[0, k]))
                                                   - mpmath.mpf(float(y[j, k]))) ** 2
                                                  for k in range(2)) / 4 for j in range(2))
    assert abs(float(ev.u[0]) - float(exact)) <= 8 * U * float(exact)
    expanded = float(g[0] + ((x ** 2).sum() - 2 * x[0] @ y[0] + (y[0] ** 2).sum()) / 4)
    assert abs(expanded - float(exact)) > 1e3 * 8 * U * float(exact)   # why not BLAS


def test_evaluate_ties_and_stats():
    hc = HopfCole([[-1.0], [1.0], [1.0], [3.0]], [0.0, 0.0, 0.0, 0.0], eps=0.0)
    ev = hc.evaluate([[0.0], [1.0]], 1.0, gibbs=False)
    np.testing.assert_array_equal(ev.hopf_lax, [0.25, 0.0])
    np.testing.assert_array_equal(ev.multiplicity, [3.0, 2.0])
    np.testing.assert_array_equal(ev.second, [2.25, 1.0])
    assert ev.gibbs is None and ev.grad_u is None
    with pytest.raises(ValueError, match="t must be > 0"):
        hc.evaluate([[0.0]], 0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        HopfCole([[0.0, 1.0]], [0.0]).evaluate([[0.0, 1.0, 2.0]], 1.0)


def test_hopf_cole_kernel_equals_numpy_twin(rng):
    from tropical.kernels import reference, views

    y, g = rng.normal(size=(300, 4)) * 2, rng.normal(size=300)
    X = rng.normal(size=(120, 4)) * 3     # 36000 pairs: the compiled path in evaluate too
    for eps in (0.0, 1e-4, 0.3, 50.0):
        outs = []
        for mod in (views, reference):
            o = [np.empty(120) for _ in range(5)] + [np.empty((120, 300)), np.empty((120, 4)),
                                                      np.empty(120), np.empty(120)]
            mod.hopf_cole_rows(X, np.ascontiguousarray(y.T), g, 0.9, eps, *o)
            outs.append(o)
        for a, c in zip(*outs):
            np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-12)
        ev = HopfCole(y, g, eps).evaluate(X, 0.9)
        from tropical import _config

        np.testing.assert_array_equal(ev.u, outs[0 if _config.jit_enabled() else 1][0])


def test_doctests():
    import doctest

    import tropical.views.pde as mod

    res = doctest.testmod(mod)
    assert res.failed == 0 and res.attempted > 0


def test_evaluate_without_stats(rng):
    hc = _model(rng, 300, 3, 0.2)
    x = rng.normal(size=(120, 3))
    full, lean = hc.evaluate(x, 0.5), hc.evaluate(x, 0.5, stats=False)
    assert lean.multiplicity is None and lean.second is None
    for name in ("u", "hopf_lax", "gibbs", "entropy"):
        np.testing.assert_array_equal(getattr(lean, name), getattr(full, name))

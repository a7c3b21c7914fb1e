"""The public array functions: matmul, matvec, power, star, identity, lse,
softmax, entropy.

References: plain-numpy broadcasting and ``tropical.kernels.reference`` at
eps = 0 (bitwise), mpmath at 50 digits at eps > 0 (with the error budget
derived in ``naive.py``), networkx's Floyd-Warshall for the min-plus star.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tropical
from tropical.kernels import reference

from naive import (
    cycle_weight,
    finite_absmax,
    floyd_warshall_min_star,
    lse_matmul_budget,
    mp_abs_error,
    mp_lse_exact,
    mp_matmul_exact,
    naive_identity,
    naive_matmul,
    naive_matmul_argmax,
    naive_star,
    parse_cycle,
    ulp,
)

SENSES = [("max", 1), ("min", -1)]
EPS_GRID = [0.0, 1e-300, 1e-8, 1e-3, 1.0, 1e8]
EPS_POSITIVE = EPS_GRID[1:]
INF = math.inf


def same(x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    return x.shape == y.shape and np.array_equal(x, y)


def int_matrix(sign, max_side=6, lo=-50, hi=50, zero_weight=1):
    """Hypothesis: a 2-D integer-valued float matrix with some semiring zeros."""
    elems = st.one_of(*([st.integers(lo, hi).map(float)] * 4),
                      *([st.just(-sign * INF)] * zero_weight))
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side)).flatmap(
        lambda mn: hnp.arrays(np.float64, mn, elements=elems))


@st.composite
def matmul_pairs(draw, lo=-50, hi=50, max_side=6):
    sense, sign = draw(st.sampled_from(SENSES))
    m, k, n = (draw(st.integers(1, max_side)) for _ in range(3))
    elems = st.one_of(*([st.integers(lo, hi).map(float)] * 4), st.just(-sign * INF))
    A = draw(hnp.arrays(np.float64, (m, k), elements=elems))
    B = draw(hnp.arrays(np.float64, (k, n), elements=elems))
    return sense, sign, A, B


def random_semiring_matrix(rng, shape, sign, scale=3.0, zero_frac=0.15, dtype=np.float64):
    X = rng.uniform(-scale, scale, shape)
    X[rng.random(shape) < zero_frac] = -sign * INF
    return X.astype(dtype)


# =============================================================================
# matmul at eps = 0
# =============================================================================
@given(matmul_pairs())
def test_matmul_eps0_matches_naive_and_reference(case):
    sense, sign, A, B = case
    C = tropical.matmul(A, B, sense=sense)
    assert C.dtype == np.float64
    assert same(C, naive_matmul(A, B, sign))
    ref = np.empty_like(C)
    reference.maxplus_gemm(A, B, sign, ref)
    assert same(C, ref)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 7, 7), (33, 7, 1), (1, 33, 7),
                                   (257, 7, 33), (5, 257, 9), (33, 33, 33)])
def test_matmul_eps0_sizes_bitwise(m, k, n, sense, sign, dtype, rng):
    """General (non-integer) floats: one rounding per a + b, so still bitwise."""
    A = random_semiring_matrix(rng, (m, k), sign, scale=1e3, dtype=dtype)
    B = random_semiring_matrix(rng, (k, n), sign, scale=1e3, dtype=dtype)
    A[0, :] = -sign * INF  # a whole zero row of A
    B[:, -1] = -sign * INF  # a whole zero column of B
    C = tropical.matmul(A, B, sense=sense)
    assert C.dtype == dtype
    assert same(C, naive_matmul(A, B, sign))
    assert (C[0] == -sign * INF).all() and (C[:, -1] == -sign * INF).all()


@given(matmul_pairs())
def test_matmul_min_sense_is_negated_max(case):
    _, sign, A, B = case
    if sign == 1:  # turn into a min-sense pair
        A, B = -A, -B
    got = tropical.matmul(A, B, sense="min")
    assert same(got, -tropical.matmul(-A, -B, sense="max"))


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(SENSES), st.integers(0, 2**32 - 1))
def test_matmul_associative_exactly_eps0(m, k, l, n, sense_sign, seed):
    sense, sign = sense_sign
    r = np.random.default_rng(seed)
    A, B, C = (np.where(r.random(s) < 0.2, -sign * INF, r.integers(-100, 100, s).astype(float))
               for s in [(m, k), (k, l), (l, n)])
    left = tropical.matmul(tropical.matmul(A, B, sense=sense), C, sense=sense)
    right = tropical.matmul(A, tropical.matmul(B, C, sense=sense), sense=sense)
    assert same(left, right)


@pytest.mark.parametrize("sense,sign", SENSES)
def test_identity_is_neutral(sense, sign, rng):
    A = random_semiring_matrix(rng, (4, 6), sign)
    I4 = tropical.identity(4, sense)
    I6 = tropical.identity(6, sense)
    assert same(I4, naive_identity(4, sign))
    assert same(tropical.matmul(I4, A, sense=sense), A)
    assert same(tropical.matmul(A, I6, sense=sense), A)
    assert tropical.identity(3, dtype=np.float32).dtype == np.float32
    assert tropical.identity(0).shape == (0, 0)


# ---- shapes: batching, broadcasting, 1-D promotion ---------------------------
@pytest.mark.parametrize("shape_a,shape_b", [
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((3, 4), (6, 4, 2)),
    ((6, 3, 4), (4, 2)),
    ((1, 3, 4), (7, 4, 1)),
    ((2, 0, 3, 4), (4, 5)),      # empty batch
    ((0, 4), (4, 3)),            # empty m
    ((3, 4), (4, 0)),            # empty n
])
@pytest.mark.parametrize("sense,sign", SENSES)
def test_matmul_batched_broadcast(shape_a, shape_b, sense, sign, rng):
    A = random_semiring_matrix(rng, shape_a, sign)
    B = random_semiring_matrix(rng, shape_b, sign)
    C = tropical.matmul(A, B, sense=sense)
    assert C.shape == np.matmul(np.ones(shape_a), np.ones(shape_b)).shape
    assert same(C, naive_matmul(A, B, sign))
    for eps in (1e-3, 1.0):
        Ce = tropical.matmul(A, B, eps=eps, sense=sense)
        assert Ce.shape == C.shape
        # each batch entry equals the unbatched product bitwise
        Ab = np.broadcast_to(A, C.shape[:-2] + A.shape[-2:])
        Bb = np.broadcast_to(B, C.shape[:-2] + B.shape[-2:])
        for idx in np.ndindex(*C.shape[:-2]):
            assert same(Ce[idx], tropical.matmul(Ab[idx], Bb[idx], eps=eps, sense=sense))


@pytest.mark.parametrize("shape_a,shape_b", [
    ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
    ((1,), (1,)),
])
@pytest.mark.parametrize("eps", [0.0, 0.5])
def test_matmul_promotes_vectors_like_numpy(shape_a, shape_b, eps, rng):
    A = random_semiring_matrix(rng, shape_a, 1)
    B = random_semiring_matrix(rng, shape_b, 1)
    C = tropical.matmul(A, B, eps=eps)
    assert np.shape(C) == np.matmul(np.ones(shape_a), np.ones(shape_b)).shape
    A2 = A[None, :] if A.ndim == 1 else A
    B2 = B[:, None] if B.ndim == 1 else B
    full = tropical.matmul(A2, B2, eps=eps)
    if A.ndim == 1:
        full = full[..., 0, :]
    if B.ndim == 1:
        full = full[..., 0]
    assert same(C, full)
    if eps == 0.0:
        expect = naive_matmul(A2, B2)
        expect = expect[..., 0, :] if A.ndim == 1 else expect
        expect = expect[..., 0] if B.ndim == 1 else expect
        assert same(C, expect)


# ---- dtypes and memory layouts -----------------------------------------------
def test_matmul_dtypes(rng):
    A = rng.uniform(-3, 3, (3, 4))
    B = rng.uniform(-3, 3, (4, 2))
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    for eps in (0.0, 0.1):
        assert tropical.matmul(A32, B32, eps=eps).dtype == np.float32
        mixed = tropical.matmul(A32, B, eps=eps)
        assert mixed.dtype == np.float64
        assert same(mixed, tropical.matmul(A32.astype(np.float64), B, eps=eps))
        assert tropical.matmul(A, B32, eps=eps).dtype == np.float64
        f16 = tropical.matmul(A.astype(np.float16), B.astype(np.float16), eps=eps)
        assert f16.dtype == np.float64
    Ai = rng.integers(-9, 9, (3, 4))
    Bi = rng.integers(-9, 9, (4, 2)).astype(np.int32)
    Ci = tropical.matmul(Ai, Bi)
    assert Ci.dtype == np.float64
    assert same(Ci, naive_matmul(Ai.astype(float), Bi.astype(float)))
    assert same(tropical.matmul(Ai.tolist(), Bi.tolist()), Ci)
    Ab = np.array([[True, False]])
    assert same(tropical.matmul(Ab, [[1.0], [2.5]]), np.array([[2.5]]))  # max(1+1, 0+2.5)
    # float32 agrees with the float64 product of the same values, rounded
    C32 = tropical.matmul(A32, B32)
    assert same(C32, naive_matmul(A32, B32))


@pytest.mark.parametrize("eps", EPS_GRID)
@pytest.mark.parametrize("sense,sign", SENSES)
def test_matmul_layouts(eps, sense, sign, rng):
    big_a = random_semiring_matrix(rng, (10, 14), sign)
    big_b = random_semiring_matrix(rng, (14, 12), sign)
    A = big_a[::2, ::2]           # (5, 7), non-contiguous
    B = big_b[1::2, ::3]          # (7, 4), non-contiguous
    expect = tropical.matmul(np.ascontiguousarray(A), np.ascontiguousarray(B), eps=eps,
                             sense=sense)
    assert same(tropical.matmul(A, B, eps=eps, sense=sense), expect)
    assert same(tropical.matmul(np.asfortranarray(A), np.asfortranarray(B), eps=eps,
                                sense=sense), expect)
    assert same(tropical.matmul(np.ascontiguousarray(A.T).T, B, eps=eps, sense=sense), expect)
    neg = np.ascontiguousarray(A[::-1, ::-1])[::-1, ::-1]  # negative strides
    assert same(tropical.matmul(neg, B, eps=eps, sense=sense), expect)
    A_ro = np.ascontiguousarray(A)
    A_ro.setflags(write=False)
    assert same(tropical.matmul(A_ro, B, eps=eps, sense=sense), expect)


def test_matmul_does_not_modify_inputs(rng):
    A = random_semiring_matrix(rng, (5, 6), 1)
    B = random_semiring_matrix(rng, (6, 3), 1)
    A0, B0 = A.copy(), B.copy()
    for eps in EPS_GRID:
        tropical.matmul(A, B, eps=eps)
        tropical.matmul(A, B, eps=eps, return_argmax=eps == 0.0)
    assert same(A, A0) and same(B, B0)


# ---- argmax ------------------------------------------------------------------
@given(matmul_pairs(lo=-3, hi=3))  # small range: many ties, least k must win
def test_matmul_argmax_least_k(case):
    sense, sign, A, B = case
    C, arg = tropical.matmul(A, B, sense=sense, return_argmax=True)
    assert arg.dtype == np.int64
    assert same(C, naive_matmul(A, B, sign))
    assert same(arg, naive_matmul_argmax(A, B, sign))
    # the index really attains the entry
    m, n = C.shape
    for i in range(m):
        for j in range(n):
            assert A[i, arg[i, j]] + B[arg[i, j], j] == C[i, j]


@pytest.mark.parametrize("sense,sign", SENSES)
def test_matmul_argmax_batched_and_vectors(sense, sign, rng):
    A = np.round(random_semiring_matrix(rng, (3, 4, 5), sign))
    B = np.round(random_semiring_matrix(rng, (5, 2), sign))
    C, arg = tropical.matmul(A, B, sense=sense, return_argmax=True)
    assert same(C, naive_matmul(A, B, sign))
    assert same(arg, naive_matmul_argmax(A, B, sign))
    a = A[0, 0]
    c, g = tropical.matmul(a, B, sense=sense, return_argmax=True)
    assert same(c, naive_matmul(a[None, :], B, sign)[0])
    assert same(g, naive_matmul_argmax(a[None, :], B, sign)[0])
    c, g = tropical.matmul(a, a, sense=sense, return_argmax=True)
    assert np.shape(c) == () and np.shape(g) == ()
    s = sign * (a + a)
    assert g == int(np.argmax(s))


def test_matmul_argmax_needs_eps0():
    with pytest.raises(ValueError, match="argmax"):
        tropical.matmul([[1.0]], [[1.0]], eps=0.5, return_argmax=True)


# =============================================================================
# matmul at eps > 0 against mpmath
# =============================================================================
def assert_close_to_mp(C, A, B, eps, sign, dtype=np.float64):
    exact = mp_matmul_exact(A.astype(np.float64), B.astype(np.float64), eps, sign)
    err = mp_abs_error(C, exact)
    budget = lse_matmul_budget(A, B, C, eps, dtype)
    bad = ~(err <= budget)
    assert not bad.any(), (
        f"eps={eps} sense={sign}: {bad.sum()} entries over budget; worst "
        f"err/budget={np.max(err / np.maximum(budget, 1e-320)):.3g}, at "
        f"{np.argwhere(bad)[0].tolist()}: got {C[tuple(np.argwhere(bad)[0])]!r}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", EPS_GRID)
@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("scale", [1.0, 100.0])
def test_matmul_against_mpmath(scale, sense, sign, eps, dtype, rng):
    A = random_semiring_matrix(rng, (6, 7), sign, scale=scale, dtype=dtype)
    B = random_semiring_matrix(rng, (7, 5), sign, scale=scale, dtype=dtype)
    A[2, :] = -sign * INF
    B[:, 1] = -sign * INF
    C = tropical.matmul(A, B, eps=eps, sense=sense)
    assert C.dtype == dtype
    assert (C[2] == -sign * INF).all() and (C[:, 1] == -sign * INF).all()
    assert_close_to_mp(C, A, B, eps, sign, dtype)


@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("eps", EPS_GRID)
def test_matmul_single_finite_term_is_exact(eps, sense, sign):
    """An entry with one finite term a + b is exactly fl(a + b) at every eps (LSE of
    one term is the term), even when the row and column maxima sit elsewhere."""
    A = sign * np.array([[1.0, 0.0], [0.0009522, -0.00054313], [3.0, -2.0]])
    B = sign * np.array([[-INF, -7.0], [0.0, -INF]])  # min sense: +inf, its zero
    expect = np.array([[A[0, 1] + B[1, 0], A[0, 0] + B[0, 1]],
                       [A[1, 1] + B[1, 0], A[1, 0] + B[0, 1]],
                       [A[2, 1] + B[1, 0], A[2, 0] + B[0, 1]]])
    C = tropical.matmul(A, B, eps=eps, sense=sense)
    assert same(C, expect), C - expect
    y = tropical.matvec(A, B[:, 0], eps=eps, sense=sense)
    assert same(y, expect[:, 0])


@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("eps", EPS_GRID)
def test_matmul_sizes_1_and_ties_against_mpmath(eps, sense, sign):
    A = np.array([[2.5]])
    B = np.array([[-1.0]])
    C = tropical.matmul(A, B, eps=eps, sense=sense)
    assert same(C, np.array([[1.5]]))  # a single term: exactly a + b
    # k equal terms: a + b + sign*eps*log k
    A = np.zeros((2, 5))
    B = np.full((5, 3), 1.25)
    C = tropical.matmul(A, B, eps=eps, sense=sense)
    assert_close_to_mp(C, A, B, eps, sign)


@pytest.mark.parametrize("spread", [0.1, 0.3, 0.5, 0.57, 0.58, 0.6, 0.7, 0.72, 0.735, 0.745, 1.0, 10.0, 1e3])
@pytest.mark.parametrize("sense,sign", SENSES)
def test_matmul_row_and_column_maxima_at_different_k(spread, sense, sign):
    """The shifted-BLAS trick underflows here; the product must fall back and stay exact.

    Row i of A peaks at k = i mod K, column j of B at k = (j + 1) mod K, so
    every entry's row maximum and column maximum sit at different k; the
    true value is ``-spread`` below ``rowmax + colmax``: the BLAS sum is about
    ``exp(-spread/eps)``, below ``1e-250`` from spread ~ 0.576 at eps = 1e-3.
    """
    eps = 1e-3
    K = 4
    A = np.full((5, K), -spread)
    B = np.full((K, 6), -spread)
    for i in range(5):
        A[i, i % K] = 0.0
    for j in range(6):
        B[(j + 1) % K, j] = 0.0
    A += np.arange(5)[:, None] * 0.25
    B += np.arange(6)[None, :] * 0.5
    A, B = sign * A, sign * B
    C = tropical.matmul(A, B, eps=eps, sense=sense)
    assert np.isfinite(C).all()
    assert_close_to_mp(C, A, B, eps, sign)
    # at this spread the exact value sits within eps*log(2K) of the eps=0 one
    gap = sign * (C - tropical.matmul(A, B, sense=sense))
    assert (gap >= 0).all() and (gap <= eps * math.log(K)).all()


@pytest.mark.parametrize("eps", EPS_POSITIVE)
def test_matmul_against_numpy_twin(eps, rng):
    """The public eps > 0 product vs the exact two-pass reference kernel."""
    for sign in (1, -1):
        A = random_semiring_matrix(rng, (33, 17), sign, scale=10.0)
        B = random_semiring_matrix(rng, (17, 9), sign, scale=10.0)
        M = np.empty((33, 9))
        reference.maxplus_gemm(A, B, sign, M)
        ref = np.empty_like(M)
        reference.lse_gemm_rows(A, B, M, eps, sign, np.arange(33, dtype=np.int64), ref)
        C = tropical.matmul(A, B, eps=eps, sense="max" if sign == 1 else "min")
        both_inf = np.isinf(C) & (C == ref)
        err = np.where(both_inf, 0.0, np.abs(C - ref))
        # two results each within the budget of the exact value
        assert (err <= 2 * lse_matmul_budget(A, B, C, eps)).all()


@given(matmul_pairs(lo=-1000, hi=1000), st.sampled_from(EPS_POSITIVE))
def test_matmul_min_sense_is_negated_max_eps(case, eps):
    _, sign, A, B = case
    if sign == 1:
        A, B = -A, -B
    assert same(tropical.matmul(A, B, eps=eps, sense="min"),
                -tropical.matmul(-A, -B, eps=eps, sense="max"))


@st.composite
def float_pairs(draw):
    sense, sign = draw(st.sampled_from(SENSES))
    m, k, n = (draw(st.integers(1, 6)) for _ in range(3))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    r = np.random.default_rng(seed)
    A = random_semiring_matrix(r, (m, k), sign, scale=scale, zero_frac=0.2)
    B = random_semiring_matrix(r, (k, n), sign, scale=scale, zero_frac=0.2)
    return sense, sign, A, B


@given(float_pairs(), st.sampled_from(EPS_POSITIVE) | st.floats(1e-6, 1e3))
def test_matmul_eps_to_zero_bound(case, eps):
    """0 <= matmul(eps) - matmul(0) <= eps*log k (min sense: mirrored)."""
    sense, sign, A, B = case
    k = A.shape[1]
    C0 = tropical.matmul(A, B, sense=sense)
    Ce = tropical.matmul(A, B, eps=eps, sense=sense)
    zero = np.isinf(C0)
    assert same(np.isinf(Ce), zero)
    assert (Ce[zero] == C0[zero]).all()
    gap = sign * (Ce[~zero] - C0[~zero])
    assert (gap >= 0).all(), f"LSE below max by {-gap.min()!r}"
    # the bound itself, plus the roundings of the final addition (one ulp of |C|)
    slack = ulp(np.abs(Ce[~zero]) + eps * math.log(k))
    assert (gap <= eps * math.log(k) + slack).all()


# =============================================================================
# matvec
# =============================================================================
@pytest.mark.parametrize("eps", EPS_GRID)
@pytest.mark.parametrize("sense,sign", SENSES)
def test_matvec_equals_matmul_with_column(eps, sense, sign, rng):
    A = random_semiring_matrix(rng, (9, 7), sign, scale=5.0)
    x = random_semiring_matrix(rng, (7,), sign, scale=5.0)
    A[3] = -sign * INF
    y = tropical.matvec(A, x, eps=eps, sense=sense)
    col = tropical.matmul(A, x[:, None], eps=eps, sense=sense)[:, 0]
    assert y.shape == (9,)
    if eps == 0.0:
        assert same(y, col)
        assert same(y, naive_matmul(A, x[:, None], sign)[:, 0])
    else:
        exact = mp_matmul_exact(A, x[:, None], eps, sign)
        err = mp_abs_error(y[:, None], exact)
        assert (err <= lse_matmul_budget(A, x[:, None], y[:, None], eps)).all()
        same_inf = np.isinf(y) & (y == col)
        with np.errstate(invalid="ignore"):
            diff = np.abs(y - col)
        assert (np.where(same_inf, 0, diff)
                <= 2 * lse_matmul_budget(A, x[:, None], y[:, None], eps)[:, 0]).all()


@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_matvec_batched(eps, rng):
    A = random_semiring_matrix(rng, (3, 4, 5), 1)
    x = random_semiring_matrix(rng, (5,), 1)
    X = random_semiring_matrix(rng, (3, 5), 1)
    y = tropical.matvec(A, x, eps=eps)
    assert y.shape == (3, 4)
    for b in range(3):
        assert same(y[b], tropical.matvec(A[b], x, eps=eps))
    Y = tropical.matvec(A, X, eps=eps)
    for b in range(3):
        assert same(Y[b], tropical.matvec(A[b], X[b], eps=eps))
    Y2 = tropical.matvec(A[0], X, eps=eps)  # one matrix, a batch of vectors
    assert Y2.shape == (3, 4)
    for b in range(3):
        assert same(Y2[b], tropical.matvec(A[0], X[b], eps=eps))
    assert tropical.matvec(A.astype(np.float32), x.astype(np.float32), eps=eps).dtype \
        == np.float32


# =============================================================================
# power
# =============================================================================
@given(st.integers(1, 5), st.integers(0, 9), st.sampled_from(SENSES),
       st.integers(0, 2**32 - 1))
def test_power_against_repeated_products_eps0(n, k, sense_sign, seed):
    sense, sign = sense_sign
    r = np.random.default_rng(seed)
    A = np.where(r.random((n, n)) < 0.25, -sign * INF, r.integers(-20, 20, (n, n)).astype(float))
    expect = naive_identity(n, sign)
    for _ in range(k):
        expect = naive_matmul(expect, A, sign)
    got = tropical.power(A, k, sense=sense)
    assert same(got, expect)
    assert got is not A


def test_power_k0_identity_and_k1_copy(rng):
    A = random_semiring_matrix(rng, (2, 3, 3), 1)
    I = tropical.power(A, 0)
    assert same(I, np.broadcast_to(naive_identity(3), (2, 3, 3)))
    P1 = tropical.power(A, 1)
    assert same(P1, A)
    P1[0, 0, 0] = 123.0
    assert A[0, 0, 0] != 123.0  # a fresh array, not a view of A
    Amin = np.where(np.isinf(A), INF, A)
    assert same(tropical.power(Amin, 0, sense="min"),
                np.broadcast_to(naive_identity(3, -1), (2, 3, 3)))
    assert tropical.power(A.astype(np.float32), 0).dtype == np.float32


@pytest.mark.parametrize("eps", EPS_POSITIVE)
@pytest.mark.parametrize("sense,sign", SENSES)
def test_power_eps_against_mpmath(eps, sense, sign, rng):
    n, k = 3, 5
    A = random_semiring_matrix(rng, (n, n), sign, scale=2.0, zero_frac=0.2)
    got = tropical.power(A, k, eps=eps, sense=sense)
    with mpmath.workdps(50):
        P = [[mpmath.mpf(0) if i == j else mpmath.mpf(-sign * mpmath.inf) for j in range(n)]
             for i in range(n)]
        for _ in range(k):
            P = [[_mp_entry(P, A, i, j, eps, sign) for j in range(n)] for i in range(n)]
    err = mp_abs_error(got, P)
    # each of the k-1 products is within its budget; the product is 1-Lipschitz in the
    # sup norm, so the errors add up: (k-1) budgets at the scale of the powers
    Mk = k * (finite_absmax(A, None) + eps * math.log(n))
    tol = (k - 1) * np.finfo(np.float64).eps * (10 * Mk + eps * (n + 2 * math.log(n)))
    assert (err <= tol).all(), (err.max(), tol)
    # the batched call and the repeated-matmul call agree within the same budget
    seq = A
    for _ in range(k - 1):
        seq = tropical.matmul(seq, A, eps=eps, sense=sense)
    both = np.isinf(seq) & (seq == got)
    assert (np.where(both, 0, np.abs(seq - got)) <= 2 * tol).all()


def _mp_entry(P, A, i, j, eps, sign):
    terms = [P[i][t] + mpmath.mpf(A[t, j]) for t in range(len(P))
             if not mpmath.isinf(P[i][t]) and math.isfinite(A[t, j])]
    if not terms:
        return mpmath.mpf(-sign * mpmath.inf)
    vals = [sign * t for t in terms]
    m = max(vals)
    if eps == 0:
        return sign * m
    e = mpmath.mpf(eps)
    return sign * (m + e * mpmath.log(mpmath.fsum(mpmath.exp((v - m) / e) for v in vals)))


# =============================================================================
# star
# =============================================================================
@given(st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_star_min_against_floyd_warshall(n, seed):
    r = np.random.default_rng(seed)
    A = np.where(r.random((n, n)) < 0.4, INF, r.integers(0, 30, (n, n)).astype(float))
    got = tropical.star(A, sense="min")
    assert same(got, floyd_warshall_min_star(A))
    assert (np.diagonal(got) == 0).all()


def potential_matrix(r, n, sign, zero_frac=0.3):
    """No cycle of positive (max) / negative (min) weight: A_ij = sign*(w_ij + p_i - p_j), w <= 0."""
    w = -r.integers(0, 10, (n, n)).astype(float)
    p = r.integers(-20, 20, n).astype(float)
    A = sign * (w + p[:, None] - p[None, :])
    A[r.random((n, n)) < zero_frac] = -sign * INF
    return A


@given(st.integers(1, 7), st.sampled_from(SENSES), st.integers(0, 2**32 - 1))
def test_star_is_finite_geometric_series(n, sense_sign, seed):
    sense, sign = sense_sign
    r = np.random.default_rng(seed)
    A = potential_matrix(r, n, sign)
    got = tropical.star(A, sense=sense)
    assert same(got, naive_star(A, sign))
    # the same series through the public power: I (+) A (+) ... (+) A^(n-1)
    pick = np.maximum if sign == 1 else np.minimum
    series = tropical.identity(n, sense)
    for k in range(1, n):
        series = pick(series, tropical.power(A, k, sense=sense))
    assert same(got, series)
    # fixed point: A* = I (+) A A*
    assert same(got, pick(tropical.identity(n, sense), tropical.matmul(A, got, sense=sense)))


@given(st.integers(1, 6), st.sampled_from(SENSES), st.integers(0, 2**32 - 1))
def test_star_divergence_names_a_real_cycle(n, sense_sign, seed):
    sense, sign = sense_sign
    r = np.random.default_rng(seed)
    A = sign * r.integers(-6, 4, (n, n)).astype(float)
    A[r.random((n, n)) < 0.3] = -sign * INF
    # diverges iff some closed walk of length <= n has positive (min: negative) weight
    plus = naive_matmul(naive_identity(n, sign), A, sign)
    acc = plus.copy()
    for _ in range(n - 1):
        plus = naive_matmul(plus, A, sign)
        acc = np.maximum(acc, plus) if sign == 1 else np.minimum(acc, plus)
    diverges = bool((sign * np.diagonal(acc) > 0).any())
    if not diverges:
        assert same(tropical.star(A, sense=sense), naive_star(A, sign))
        return
    with pytest.raises(ValueError, match="diverges") as info:
        tropical.star(A, sense=sense)
    _check_cycle_message(str(info.value), A, sign)


def _check_cycle_message(msg, A, sign):
    parsed = parse_cycle(msg)
    assert parsed is not None, f"no cycle named in: {msg}"
    nodes, kind, weight = parsed
    assert kind == ("positive" if sign == 1 else "negative")
    assert len(nodes) >= 2 and nodes[0] == nodes[-1]
    assert len(set(nodes[:-1])) == len(nodes) - 1, "a cycle visits each node once"
    assert all(np.isfinite(A[u, v]) for u, v in zip(nodes, nodes[1:]))
    true_weight = cycle_weight(A, nodes)
    assert sign * true_weight > 0
    assert weight == true_weight


def test_star_examples():
    assert same(tropical.star([[0.0]]), np.array([[0.0]]))  # zero cycle is fine
    assert same(tropical.star([[-INF]]), np.array([[0.0]]))
    with pytest.raises(ValueError, match=r"the cycle 0 -> 0 has positive weight 1\.0"):
        tropical.star([[1.0]])
    with pytest.raises(ValueError, match=r"negative weight"):
        tropical.star([[INF, -1.0], [0.5, INF]], sense="min")
    # a positive cycle 1 -> 2 -> 1 away from node 0
    A = np.array([[-INF, 0.0, -INF], [-INF, -INF, 2.0], [-INF, -1.0, -INF]])
    with pytest.raises(ValueError) as info:
        tropical.star(A)
    _check_cycle_message(str(info.value), A, 1)


def test_star_float32_and_layouts(rng):
    A = potential_matrix(np.random.default_rng(3), 5, 1)
    expect = naive_star(A, 1)
    assert same(tropical.star(np.asfortranarray(A)), expect)
    assert same(tropical.star(A.T.copy().T), expect)
    got32 = tropical.star(A.astype(np.float32))
    assert got32.dtype == np.float32
    assert same(got32, expect.astype(np.float32))


# =============================================================================
# lse
# =============================================================================
@st.composite
def lse_rows(draw, with_zero=True):
    sense, sign = draw(st.sampled_from(SENSES))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3, 1e6]))
    ties = draw(st.booleans())
    r = np.random.default_rng(seed)
    a = r.uniform(-scale, scale, n)
    if ties:
        a = np.round(a / scale * 3) * scale / 3  # few distinct values: ties
    if with_zero and n > 1:
        a[r.random(n) < 0.2] = -sign * INF
    eps = draw(st.sampled_from(EPS_POSITIVE) | st.floats(1e-6, 1e6))
    return sense, sign, a, eps


def _lse_slack(top, eps, n):
    """Roundings of m + eps*log(s): one ulp of |result| and N u of eps*log(s)."""
    return float(ulp(abs(top) + eps * math.log(n))) * 2 + n * eps * 2.0**-53 * 2


@given(lse_rows())
def test_lse_bounds(case):
    """max <= lse <= max + eps*log N, and the sharp bound with multiplicity and gap."""
    sense, sign, a, eps = case
    got = sign * float(tropical.lse(a, eps, sense=sense))
    s = sign * a
    top = s.max()
    if math.isinf(top):
        assert got == top
        return
    finite = s[np.isfinite(s)]
    n = len(a)
    assert got >= top  # exact: the maximum is shifted out, log(sum) >= 0
    excess = got - top
    slack = _lse_slack(top, eps, n)
    assert excess <= eps * math.log(n) + slack
    k = int((finite == top).sum())
    rest = finite[finite < top]
    gap = top - rest.max() if rest.size else INF
    sharp = eps * math.log(k + (n - k) * math.exp(-gap / eps)) if rest.size else eps * math.log(k)
    assert excess <= sharp + slack
    # the expansion at a k-fold tie: 0 <= excess - eps log k <= eps (N-k)/k exp(-gap/eps)
    dev = excess - eps * math.log(k)
    assert dev >= -slack
    assert dev <= eps * (n - k) / k * math.exp(-gap / eps) + slack


@pytest.mark.parametrize("k", [1, 2, 3, 7])
@pytest.mark.parametrize("eps", [1e-3, 1e-2, 0.1])
def test_lse_tie_expansion(k, eps):
    """lse = max + eps*log k + O(eps exp(-gap/eps)), the O(.) bounded explicitly."""
    gap = 0.05
    N = 10
    a = np.concatenate([np.full(k, 2.0), 2.0 - gap - np.linspace(0, 1, N - k)])
    excess = float(tropical.lse(a, eps)) - 2.0
    dev = excess - eps * math.log(k)
    bound = eps * (N - k) / k * math.exp(-gap / eps)
    slack = _lse_slack(2.0, eps, N)
    assert -slack <= dev <= bound + slack
    exact = float(mp_lse_exact(a, eps)) - 2.0 - eps * math.log(k)
    assert abs(dev - exact) <= slack


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", EPS_GRID)
@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("n", [1, 7, 33, 257])
def test_lse_against_mpmath(n, sense, sign, eps, dtype, rng):
    rows = [random_semiring_matrix(rng, (n,), sign, scale=s, zero_frac=0.1 if n > 1 else 0)
            for s in (1.0, 1e3)]
    if n > 1:
        rows.append(np.round(rows[0]))  # ties
        rows.append(np.full(n, -sign * INF))  # all zero
    a = np.stack(rows).astype(dtype)
    got = tropical.lse(a, eps, sense=sense)
    assert got.dtype == dtype and got.shape == (len(rows),)
    exact = [mp_lse_exact(row.astype(np.float64), eps, sign) for row in a]
    err = mp_abs_error(got, exact)
    budget = lse_matmul_budget(a, np.zeros((n, 1)), got[:, None], eps, dtype)[:, 0]
    assert (err <= budget).all(), (err, budget)


@given(lse_rows())
def test_lse_sense_duality_bitwise(case):
    sense, sign, a, eps = case
    assert same(tropical.lse(a, eps, sense=sense),
                -tropical.lse(-a, eps, sense="max" if sense == "min" else "min"))


@given(hnp.arrays(np.float64, st.integers(1, 20),
                  elements=st.floats(-1e6, 1e6) | st.just(-INF)))
def test_lse_eps0_is_max(a):
    assert same(tropical.lse(a, 0.0), np.max(a))
    b = np.where(np.isinf(a), INF, a)
    assert same(tropical.lse(b, 0.0, sense="min"), np.min(b))


@pytest.mark.parametrize("eps", EPS_GRID)
def test_lse_single_term_and_shift(eps, rng):
    """lse of one term is the term; LSE(a + c) = c + LSE(a) to a few ulps."""
    for v in (0.0, -3.5, 1e300, -1e300, 7e-310):
        assert same(tropical.lse([v], eps), v)
    a = rng.uniform(-10, 10, (50, 9))
    c = rng.uniform(-100, 100, (50, 1))
    lhs = tropical.lse(a + c, eps)
    rhs = c[:, 0] + tropical.lse(a, eps)
    scale = np.abs(a).max(axis=1) + np.abs(c[:, 0]) + eps * math.log(9)
    assert (np.abs(lhs - rhs) <= 8 * ulp(scale)).all()


def test_lse_axis_handling(rng):
    a = random_semiring_matrix(rng, (3, 4, 5), 1)
    for eps in (0.0, 0.7):
        for axis in (0, 1, 2, -1, -2, -3):
            got = tropical.lse(a, eps, axis=axis)
            expect_shape = tuple(s for i, s in enumerate(a.shape) if i != axis % 3)
            assert got.shape == expect_shape
            moved = np.moveaxis(a, axis, -1)
            assert same(got, tropical.lse(np.ascontiguousarray(moved), eps))
            for idx in np.ndindex(*expect_shape):
                assert same(got[idx], tropical.lse(moved[idx], eps))
        assert same(tropical.lse(a, eps, axis=np.int64(1)), tropical.lse(a, eps, axis=1))
    assert np.ndim(tropical.lse([1.0, 2.0], 1.0)) == 0
    assert tropical.lse(np.zeros((0, 3)), 1.0).shape == (0,)  # nothing to reduce over rows


def test_lse_no_overflow_no_underflow():
    assert same(tropical.lse([1000.0, 1000.0], 1e-300), 1000.0)
    got = tropical.lse([1000.0, 1000.0], 1e-3)
    assert abs(got - (1000.0 + 1e-3 * math.log(2))) <= ulp(1000.0)
    got = tropical.lse([-1e4, -1e4 - 1.0], 1e-3)  # would underflow naively
    assert got == -1e4
    assert same(tropical.lse([1e300, 1e300], 1e8), 1e300)


# =============================================================================
# softmax
# =============================================================================
@given(lse_rows())
def test_softmax_is_a_distribution(case):
    sense, sign, a, eps = case
    p = tropical.softmax(a, eps, sense=sense)
    assert p.shape == a.shape
    assert (p >= 0).all() and (p <= 1).all()
    n = len(a)
    assert abs(math.fsum(p) - 1.0) <= (n + 1) * 2.0**-52
    # exactly zero on the semiring zeros (unless every entry is the zero)
    if np.isfinite(a).any():
        assert (p[np.isinf(a)] == 0).all()


@pytest.mark.parametrize("eps", EPS_POSITIVE)
@pytest.mark.parametrize("sense,sign", SENSES)
@pytest.mark.parametrize("n", [1, 7, 33])
def test_softmax_is_exp_of_a_minus_lse(n, sense, sign, eps, rng):
    """softmax_j = exp(sign*(a_j - LSE)/eps) = d LSE / d a_j, against mpmath.

    The exponent a_j - max is rounded (relative u), giving an absolute error
    below u*|t| e^{-|t|} <= u/e in p_j; the sum of N terms and the division add
    (N + 2) u relative.
    """
    a = random_semiring_matrix(rng, (n,), sign, scale=max(1.0, 1e3 * eps) if eps < 1e8 else 1e3,
                               zero_frac=0.1 if n > 1 else 0)
    p = tropical.softmax(a, eps, sense=sense)
    u = 2.0**-53
    with mpmath.workdps(50):
        L = mp_lse_exact(a, eps, sign)
        for j in range(n):
            if math.isinf(a[j]):
                assert p[j] == 0.0
                continue
            exact = mpmath.exp(sign * (mpmath.mpf(a[j]) - L) / mpmath.mpf(eps))
            err = float(abs(mpmath.mpf(p[j]) - exact))
            assert err <= 2 * u * (1.0 + (n + 2) * float(exact)), (j, p[j], exact)


@pytest.mark.parametrize("sense,sign", SENSES)
def test_softmax_eps0_uniform_on_argmax(sense, sign, rng):
    a = np.round(rng.uniform(-2, 2, (20, 6)))
    a[0] = -sign * INF
    a[1, :3] = -sign * INF
    p = tropical.softmax(a, 0.0, sense=sense)
    s = sign * a
    top = s.max(axis=1, keepdims=True)
    mask = s == top
    expect = mask / mask.sum(axis=1, keepdims=True)
    assert same(p, expect)
    # the eps -> 0 limit: at eps = 1e-300 every non-maximal weight underflows to 0
    assert same(tropical.softmax(a[1:], 1e-300, sense=sense), expect[1:])
    assert same(p[0], np.full(6, 1 / 6))  # all zeros: uniform by convention


def test_softmax_axis_and_sense(rng):
    a = random_semiring_matrix(rng, (3, 4, 5), 1)
    for eps in (0.0, 0.3):
        for axis in (0, 1, -1):
            p = tropical.softmax(a, eps, axis=axis)
            assert p.shape == a.shape
            moved = np.moveaxis(a, axis, -1)
            assert same(np.moveaxis(p, axis, -1), tropical.softmax(moved, eps))
        amin = -a
        assert same(tropical.softmax(amin, eps, sense="min"), tropical.softmax(a, eps))
    assert tropical.softmax(a.astype(np.float32), 0.3).dtype == np.float32


# =============================================================================
# entropy
# =============================================================================
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 8, 10, 64, 100, 257, 1000])
def test_entropy_of_uniform_is_log_n(n):
    h = tropical.entropy(np.full(n, 1.0 / n))
    # pairwise summation of n equal terms: (3 + log2 n) ulps
    assert abs(h - math.log(n)) <= (3 + math.log2(n)) * max(ulp(math.log(n)), 5e-324)
    assert tropical.entropy(np.eye(n)[0]) == 0.0


@given(st.integers(1, 50), st.integers(0, 2**32 - 1), st.floats(0.05, 5))
def test_entropy_range_and_mpmath(n, seed, alpha):
    r = np.random.default_rng(seed)
    p = r.dirichlet(np.full(n, alpha))
    p[r.random(n) < 0.2] = 0.0
    if p.sum() == 0:
        p[0] = 1.0
    p = p / p.sum()
    assume(abs(p.sum() - 1.0) <= 8 * n * 2.0**-52)
    h = float(tropical.entropy(p))
    u = 2.0**-53
    assert 0.0 <= h <= math.log(n) * (1 + 2 * n * u) if n > 1 else h == 0.0
    with mpmath.workdps(50):
        exact = -mpmath.fsum(mpmath.mpf(x) * mpmath.log(mpmath.mpf(x)) for x in p if x > 0)
    assert abs(h - float(exact)) <= 2 * u * (n + 2) * float(exact) + 1e-300


@given(lse_rows(with_zero=False))
def test_entropy_of_softmax_tends_to_log_n(case):
    """KL(pi || uniform) = log N - H(pi) <= R/eps, R the range of a."""
    sense, _, a, _ = case
    n = len(a)
    R = float(a.max() - a.min())
    for eps in (1.0, 1e2, 1e4, 1e8):
        h = float(tropical.entropy(tropical.softmax(a, eps, sense=sense)))
        deficit = math.log(n) - h
        assert deficit <= R / eps + 4 * n * 2.0**-52 * max(math.log(n), 1.0)
        assert h >= 0.0


def test_entropy_axis_and_dtypes(rng):
    P = rng.dirichlet(np.ones(5), size=(3, 4))  # (3, 4, 5)
    H = tropical.entropy(P)
    assert H.shape == (3, 4)
    Pt = np.moveaxis(P, -1, 0)
    for other in (tropical.entropy(Pt, axis=0), tropical.entropy(np.ascontiguousarray(Pt), axis=0)):
        assert other.shape == H.shape
        # the same sum in another order: each within (N + 2) u of the exact value
        assert (np.abs(other - H) <= 2 * (5 + 2) * 2.0**-53 * H).all()
    for idx in np.ndindex(3, 4):
        assert same(H[idx], tropical.entropy(P[idx]))
    assert tropical.entropy(P.astype(np.float32)).dtype == np.float32
    assert np.ndim(tropical.entropy([0.25, 0.75])) == 0

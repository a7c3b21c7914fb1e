"""The ``Tropical`` array: numpy notation over a semiring of the family."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tropical
from tropical import Tropical
from tropical.semiring import logsemiring, maxplus, minplus

INF = math.inf
SEMIRINGS = [maxplus, minplus, logsemiring(0.5), logsemiring(1e-3, "min")]


def same(x, y):
    x = np.asarray(x)
    y = np.asarray(y)
    return x.shape == y.shape and np.array_equal(x, y)


def sign_of(S):
    return 1 if S.sense == "max" else -1


def sample(rng, shape, S, zero_frac=0.2, integer=True):
    X = rng.uniform(-9, 9, shape)
    if integer:
        X = np.round(X)
    X[rng.random(shape) < zero_frac] = -sign_of(S) * INF
    return X


def wrap(X, S):
    return Tropical(X, sense=S.sense, eps=S.eps)


# ---- construction ---------------------------------------------------------------
def test_construction_and_data(rng):
    X = sample(rng, (2, 3), maxplus)
    T = Tropical(X)
    assert type(T.data) is np.ndarray
    assert same(T.data, X)
    assert T.semiring is maxplus
    assert Tropical(X, eps=0.0).semiring is maxplus
    T2 = Tropical(np.where(np.isinf(X), INF, X), sense="min", eps=0.25)
    assert T2.semiring == logsemiring(0.25, "min")
    assert Tropical([[1, 2]]).dtype == np.float64
    assert Tropical(np.float32([1, 2])).dtype == np.float32
    assert same(Tropical(T).data, X)
    assert T.shape == (2, 3) and T.ndim == 2 and T.size == 6 and len(T) == 2
    assert same(np.asarray(T), X)
    C = np.array(T, copy=True)
    C[0, 0] = 99.0
    assert T.data[0, 0] != 99.0
    assert np.asarray(T, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_repr_shows_semiring(S, rng):
    T = wrap(sample(rng, (2, 2), S), S)
    text = repr(T)
    assert text.startswith("Tropical(")
    assert text.endswith(f"semiring={S!r})")
    assert str(T) == text
    assert repr(Tropical([1.0, -INF])) == "Tropical([  1., -inf], semiring=maxplus)"


# ---- operators ------------------------------------------------------------------
@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_matmul_operator(S, rng):
    A = sample(rng, (3, 4), S, integer=False)
    B = sample(rng, (4, 2), S, integer=False)
    expect = tropical.matmul(A, B, eps=S.eps, sense=S.sense)
    for res in (wrap(A, S) @ wrap(B, S), wrap(A, S) @ B, A @ wrap(B, S),
                np.matmul(wrap(A, S), wrap(B, S))):
        assert isinstance(res, Tropical)
        assert res.semiring == S
        assert same(res.data, expect)


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_add_mul_operators(S, rng):
    A = sample(rng, (3, 4), S, integer=False)
    B = sample(rng, (3, 4), S, integer=False)
    TA, TB = wrap(A, S), wrap(B, S)
    for res in (TA + TB, TA + B, A + TB, np.add(TA, TB)):
        assert isinstance(res, Tropical) and res.semiring == S
        assert same(res.data, S.add(A, B))
    for res in (TA * TB, TA * B, A * TB, np.multiply(TA, TB)):
        assert isinstance(res, Tropical) and res.semiring == S
        assert same(res.data, A + B)  # (x) is ordinary +
    assert same((TA + 2.0).data, S.add(A, 2.0))
    assert same((2.0 * TA).data, A + 2.0)
    # broadcasting against a row
    assert same((TA + B[0]).data, S.add(A, B[0][None, :]))


@given(st.sampled_from([maxplus, minplus]), st.integers(0, 2**32 - 1))
def test_operators_obey_semiring_laws_exactly(S, seed):
    rng = np.random.default_rng(seed)
    A, B, C = (wrap(sample(rng, (3, 3), S), S) for _ in range(3))
    assert same(((A + B) * C).data, (A * C + B * C).data)
    assert same((A @ (B + C)).data, (A @ B + A @ C).data)
    assert same(((A @ B) @ C).data, (A @ (B @ C)).data)
    I = wrap(tropical.identity(3, S.sense), S)
    assert same((I @ A).data, A.data)
    Z = wrap(np.full((3, 3), S.zero), S)
    assert same((A + Z).data, A.data)
    assert same((A * Z).data, Z.data)


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_power_operator(S, rng):
    A = sample(rng, (3, 3), S)
    T = wrap(A, S)
    for k in (0, 1, 2, 5):
        res = T ** k
        assert isinstance(res, Tropical) and res.semiring == S
        assert same(res.data, np.zeros_like(A) if k == 0 else k * A)  # elementwise k*a
        # equals k-fold (x)
        acc = wrap(np.zeros_like(A), S)
        for _ in range(k):
            acc = acc * T
        assert same(res.data, acc.data)
    assert same((T ** np.int64(2)).data, 2 * A)
    with pytest.raises(ValueError, match="k must be >= 0"):
        T ** -1
    with pytest.raises(TypeError, match="k must be an integer"):
        T ** 1.5
    with pytest.raises(TypeError, match="only a Tropical can be raised"):
        2 ** T
    with pytest.raises(TypeError):
        T ** T


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_matrix_power(S, rng):
    A = sample(rng, (2, 3, 3), S)
    T = wrap(A, S)
    for k in (0, 1, 3):
        res = np.linalg.matrix_power(T, k)
        assert isinstance(res, Tropical) and res.semiring == S
        assert same(res.data, tropical.power(A, k, eps=S.eps, sense=S.sense))


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_division_is_the_residual(S, rng):
    A = sample(rng, (3, 4), S)
    B = sample(rng, (3, 4), S, zero_frac=0.0)
    TA, TB = wrap(A, S), wrap(B, S)
    X = TA / TB
    assert isinstance(X, Tropical) and X.semiring == S
    assert same(X.data, A - B)
    # residuation: X (x) B recovers A exactly on integer data
    assert same((X * TB).data, A)
    assert same((TA / 2.0).data, A - 2.0)
    assert same((5.0 / TB).data, 5.0 - B)
    with pytest.raises(ZeroDivisionError, match="semiring zero"):
        TA / S.zero
    with pytest.raises(ZeroDivisionError):
        TB / TA if np.isinf(A).any() else TB / wrap(np.full((3, 4), S.zero), S)
    with pytest.raises(ZeroDivisionError):
        np.divide(TA, wrap(np.full((3, 4), S.zero), S))


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_negation_switches_sense(S, rng):
    A = sample(rng, (3, 4), S)
    T = wrap(A, S)
    N = -T
    assert isinstance(N, Tropical)
    assert N.semiring.sense == ("min" if S.sense == "max" else "max")
    assert N.semiring.eps == S.eps
    assert same(N.data, -A)
    assert (N.data[np.isinf(A)] == sign_of(S) * INF).all()  # -inf <-> +inf
    assert not np.signbit(N.data[A == 0]).any()  # 0 - 0 = +0, no -0 creeps in
    assert (-N).semiring == S and same((-N).data, A)
    # the isomorphism carries the product: -(A @ B) = (-A) @ (-B)
    B = sample(rng, (4, 2), S)
    assert same((-(T @ wrap(B, S))).data, ((-T) @ (-wrap(B, S))).data)
    P = +T
    assert P.semiring == S and same(P.data, A) and P.data is not T.data


def test_comparisons_are_plain_bool(rng):
    A = sample(rng, (3, 4), maxplus)
    B = sample(rng, (3, 4), maxplus)
    TA, TB = Tropical(A), Tropical(B)
    for res, expect in [(TA == TB, A == B), (TA != TB, A != B), (TA < TB, A < B),
                        (TA <= 2.0, A <= 2.0), (TA > B, A > B), (TA >= TB, A >= B),
                        (np.isfinite(TA), np.isfinite(A)), (np.isinf(TA), np.isinf(A))]:
        assert type(res) is np.ndarray and res.dtype == bool
        assert same(res, expect)
    with pytest.raises(TypeError, match="ambiguous"):
        bool(TA)


@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_meaningless_ufuncs_raise(S, rng):
    T = wrap(sample(rng, (2, 2), S), S)
    for call in (lambda: np.sin(T), lambda: np.exp(T), lambda: np.log(T),
                 lambda: np.sqrt(T), lambda: np.subtract(T, T), lambda: T - T,
                 lambda: T - 1.0, lambda: 1.0 - T, lambda: np.maximum(T, T),
                 lambda: abs(T), lambda: T // T, lambda: T % 2.0,
                 lambda: np.add.accumulate(T), lambda: np.multiply.reduce(T),
                 lambda: np.add(T, T, out=np.empty((2, 2)))):
        with pytest.raises(TypeError):
            call()
    with pytest.raises(TypeError, match=r"numpy.sin .*no meaning over " + repr(S).replace("(", r"\(").replace(")", r"\)")):
        np.sin(T)


def test_mixing_semirings_raises(rng):
    A = sample(rng, (2, 2), maxplus)
    Amin = np.where(np.isinf(A), INF, A)
    Tmax = Tropical(A)
    Tmin = Tropical(Amin, sense="min")
    Teps = Tropical(A, eps=0.5)
    Teps2 = Tropical(A, eps=0.25)
    for x, y in [(Tmax, Tmin), (Tmin, Tmax), (Tmax, Teps), (Teps, Teps2)]:
        for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p @ q,
                   lambda p, q: p / q):
            with pytest.raises(ValueError, match="cannot combine a Tropical over"):
                op(x, y)
    # but flipping with unary minus makes them compatible
    assert isinstance(Tmax + (-Tropical(-A, sense="min")), Tropical)


def test_bad_plain_operands(rng):
    T = Tropical(sample(rng, (2, 2), maxplus))
    with pytest.raises(ValueError, match="NaN"):
        T + np.nan
    with pytest.raises(ValueError, match="inf"):
        T * np.array([INF, 0.0])  # +inf is not in the max-plus carrier
    with pytest.raises(TypeError):
        T + "a"
    with pytest.raises(TypeError, match="cannot combine Tropical with"):
        T + {1: 2}


# ---- reductions and indexing ----------------------------------------------------
@pytest.mark.parametrize("S", SEMIRINGS, ids=repr)
def test_sum(S, rng):
    A = sample(rng, (3, 4), S, integer=False)
    T = wrap(A, S)
    total = T.sum()
    assert np.ndim(total) == 0 and not isinstance(total, Tropical)
    assert same(total, tropical.lse(A.reshape(-1), S.eps, sense=S.sense))
    for axis in (0, 1, -1):
        res = T.sum(axis=axis)
        assert isinstance(res, Tropical) and res.semiring == S
        assert same(res.data, tropical.lse(A, S.eps, axis=axis, sense=S.sense))
    assert same(np.sum(T), total)
    assert same(np.sum(T, axis=0).data, T.sum(axis=0).data)
    assert same(np.add.reduce(T, axis=1).data, T.sum(axis=1).data)
    assert same(np.add.reduce(T).data, T.sum(axis=0).data)  # numpy's default axis 0
    if S.eps == 0:
        assert same(total, A.max() if S.sense == "max" else A.min())


def test_indexing_and_iteration(rng):
    A = sample(rng, (3, 4), minplus)
    T = Tropical(A, sense="min", eps=0.5)
    row = T[1]
    assert isinstance(row, Tropical) and row.semiring == T.semiring and same(row.data, A[1])
    assert not isinstance(T[1, 2], Tropical) and same(T[1, 2], A[1, 2])
    sub = T[:, ::2]
    assert isinstance(sub, Tropical) and same(sub.data, A[:, ::2])
    assert same(T[A > 0].data, A[A > 0])
    assert [same(r.data, A[i]) for i, r in enumerate(T)] == [True] * 3
    assert same(T.T.data, A.T) and T.T.semiring == T.semiring
    c = T.copy()
    assert c.semiring == T.semiring and same(c.data, A) and c.data is not T.data
    assert np.shape(T) == (3, 4) and np.ndim(T) == 2 and np.size(T) == 12

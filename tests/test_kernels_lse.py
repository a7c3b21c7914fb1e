"""The log-sum-exp kernels against mpmath (50 digits) and their numpy twins.

Error budget
------------
Every eps > 0 result is checked against the first-order bound derived in
``tests/reference.py`` (module docstring), with ``u = 2**-53`` (the kernels
work in float64 whatever the input dtype)::

    |L_computed - L| <= u * ( sum_k pi_k (rho |z_k| + 4 |z_k - m|)
                              + eps * (N + 6 + 3 |log s|) + 2 |L| )
                        [+ 2**-24 |L| for a float32 result]

where ``z_k`` are the summands, ``m`` their max, ``pi_k`` the Gibbs weights,
``s >= 1`` the shifted sum, ``N`` the number of finite summands and ``rho = 1``
when the summands are rounded sums (product, matvec), 0 for a row. It is the
rounding of the summands and of the exponent arguments (weighted by the terms
that matter), of the terms, the sum and the log, and of the result: nothing
scales with ``1/eps`` and nothing is a loose tolerance. Against mpmath the
bound applies as it is; against the numpy twin (which makes the same kind of
errors) the difference is allowed twice the bound. ``eps = 0`` is exact.

The fast exp is checked against its measured bound (1 ulp compiled, see
:func:`tropical.kernels.lse.exp_nonpos`; 1.5 ulp in plain Python, no FMA).

Data: random rows, rows that tie up to eps (every term matters at every eps,
including eps = 1e-300 and a subnormal eps), semiring zeros, rows of zeros only,
and products whose row maxima of A and column maxima of B sit at different k
(where exp-shift-then-BLAS underflows to -inf).
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from reference import (
    DPS,
    U32_OUT,
    U64,
    lse_budget,
    mp_lse,
    mp_softmax,
    mp_sum2,
    softmax_budget,
)

from tropical.kernels import lse, reference

# Under NUMBA_DISABLE_JIT=1 (coverage runs) the kernels run as plain Python:
# the larger twin comparisons shrink there.
PURE_PYTHON = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0")

DTYPES = [np.float64, np.float32]
SENSES = [1, -1]
EPSILONS = [0.0, 1e-310, 1e-300, 1e-8, 1e-3, 1.0, 1e8]
SIZES = [1, 7, 33, 257]


def _ids(v):
    return getattr(v, "__name__", repr(v))


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def _rows(rng, n, eps, dtype, sense):
    """Five rows of length n: general, tied at 3 up to eps, tied at 0 up to
    eps, with semiring zeros, and zeros only."""
    e = eps if eps > 0 else 1.0
    r = np.empty((5, n), dtype=np.float64)
    r[0] = 10 * rng.standard_normal(n)
    r[1] = 3 + 2 * e * rng.standard_normal(n) if e < 1e6 else 1e8 * rng.standard_normal(n)
    r[2] = 2 * e * rng.standard_normal(n)
    r[3] = 10 * rng.standard_normal(n)
    r[3, rng.random(n) < 0.4] = -np.inf
    r[3, rng.integers(n)] = 1.5  # at least one finite entry
    r[4] = -np.inf
    a = (sense * r).astype(dtype)
    return np.ascontiguousarray(a)


def _trap_product(rng, m, k, n, eps, dtype, sense):
    """A, B with the maxima of A's rows and B's columns at different k.

    Row i of A peaks at k = i % k (value 0), column j of B at another k
    (value 0); every other entry sits 60 below (60*eps below where eps < 1,
    so every term still matters). Then exp((A - rowmax)/eps) and
    exp((B - colmax)/eps) are tiny wherever the other one is 1 and their
    product underflows for eps <~ 0.1, while the exact product is finite.
    Some semiring zeros are sprinkled in, and one row / column of zeros only.
    """
    gap = 60.0 * min(eps, 1.0) if eps > 0 else 60.0
    A = -gap * (1 + rng.random((m, k)))
    B = -gap * (1 + rng.random((k, n)))
    for i in range(m):
        A[i, i % k] = 0.25 * rng.standard_normal()
    for j in range(n):
        B[(j + 1) % k, j] = 0.25 * rng.standard_normal()
        if k > 1:
            # a near-tie: the row peak meets a column entry just below it
            B[j % k, j] = -gap / 2
    A[rng.random((m, k)) < 0.1] = -np.inf
    B[rng.random((k, n)) < 0.1] = -np.inf
    if m > 2:
        A[1] = -np.inf
    if n > 2:
        B[:, 2] = -np.inf
    return (
        np.ascontiguousarray((sense * A).astype(dtype)),
        np.ascontiguousarray((sense * B).astype(dtype)),
    )


def _close(got, exact, bound):
    """|got - exact| <= bound, in mpmath; infinities must match exactly."""
    got = float(got)
    if not mpmath.isfinite(exact):
        return got == float(exact)
    if not math.isfinite(got):
        return False
    with mpmath.workdps(DPS):
        return abs(mpmath.mpf(got) - exact) <= mpmath.mpf(bound)


# ---------------------------------------------------------------------------
# the exp
# ---------------------------------------------------------------------------
def _ulp_error(got, x):
    """|got - exp(x)| in ulps of exp(x), references in long double."""
    ref = np.exp(x.astype(np.longdouble))
    ulp = np.spacing(ref.astype(np.float64)).astype(np.longdouble)
    return np.abs(got.astype(np.longdouble) - ref) / ulp


@pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double reference"
)
def test_exp_nonpos_measured_ulp_bound():
    rng = np.random.default_rng(7)
    scale = 100 if PURE_PYTHON else 1
    x = np.concatenate(
        [
            -rng.uniform(0, 745.2, 400_000 // scale),
            -rng.uniform(0, 1.0, 50_000 // scale),
            -rng.uniform(0, 1e-8, 10_000 // scale),
            -rng.uniform(700, 745.2, 100_000 // scale),  # the subnormal range
            -np.arange(0, 1076) * math.log(2),  # reduction boundaries
            -(np.arange(0, 2152) + 0.5) * math.log(2),
        ]
    )
    got = np.empty_like(x)
    lse.exp_nonpos_array(x, got)
    keep = x >= -745.1332191019411  # below: both are 0 (checked next)
    err = _ulp_error(got[keep], x[keep])
    # 1 ulp compiled (LLVM fuses the polynomial into FMAs); plain Python has
    # no FMA and measures 1.12 ulp.
    bound = 1.5 if PURE_PYTHON else 1.0
    assert err.max() <= bound, f"max error {err.max()} ulp at x = {x[keep][err.argmax()]}"
    special = np.array([0.0, -0.0, -745.1332191019412, -745.2, -746.0, -1e300, -np.inf])
    out = np.empty_like(special)
    lse.exp_nonpos_array(special, out)
    assert out.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    # the kernels' variant: bit-identical on [-708, 0], flushed to 0 below
    y = np.concatenate([-rng.uniform(0, 708, 100_000 // scale), [0.0, -708.0]])
    a, b = np.empty_like(y), np.empty_like(y)
    lse.exp_nonpos_array(y, a)
    lse._exp_term_array(y, b)
    assert np.array_equal(a, b)
    z = np.array([-708.0000001, -720.0, -1e300, -np.inf])
    lse._exp_term_array(z, b[:4])
    assert b[:4].tolist() == [0.0] * 4


# ---------------------------------------------------------------------------
# lse_rows and softmax_rows against mpmath
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_rows_mpmath(dtype, sense, eps, n):
    rng = np.random.default_rng(n * 31 + (sense > 0))
    a = _rows(rng, n, eps, dtype, sense)
    out = np.full(a.shape[0], 7.0, dtype=dtype)
    lse.lse_rows(a, eps, sense, out)
    for i in range(a.shape[0]):
        exact = mp_lse(a[i].tolist(), eps, sense)
        b = lse_budget(sense * a[i].astype(np.float64), eps, rounded_sums=False, out_dtype=dtype)
        assert _close(out[i], exact, b), (i, out[i], exact, b)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_softmax_rows_mpmath(dtype, sense, eps, n):
    rng = np.random.default_rng(n * 37 + (sense > 0))
    a = _rows(rng, min(n, 33), eps, dtype, sense)
    out = np.full(a.shape, 7.0, dtype=dtype)
    lse.softmax_rows(a, eps, sense, out)
    u_out = U32_OUT if dtype == np.float32 else U64
    for i in range(a.shape[0]):
        exact = mp_softmax(a[i].tolist(), eps, sense)
        if eps == 0:
            bounds = [u_out] * a.shape[1]  # 1/count rounded once
        else:
            bounds = softmax_budget(sense * a[i].astype(np.float64), eps, out_dtype=dtype)
        for j in range(a.shape[1]):
            assert _close(out[i, j], exact[j], bounds[j]), (i, j, out[i, j], exact[j])
        assert abs(float(np.sum(out[i], dtype=np.float64)) - 1) <= (a.shape[1] + 2) * u_out


# ---------------------------------------------------------------------------
# lse_matvec and lse_gemm_rows against mpmath
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_matvec_mpmath(dtype, sense, eps, n):
    rng = np.random.default_rng(n * 41 + (sense > 0))
    # x is column 0 of B, A the trap matrix: the maxima of A's rows and of x
    # sit at different k.
    A, B = _trap_product(rng, 5, n, 3, eps, dtype, sense)
    x = np.ascontiguousarray(B[:, 0])
    out = np.full(A.shape[0], 7.0, dtype=dtype)
    lse.lse_matvec(A, x, eps, sense, out)
    for i in range(A.shape[0]):
        z = [mp_sum2(A[i, k], x[k]) for k in range(n)]
        exact = mp_lse(z, eps, sense)
        zf = sense * (A[i].astype(np.float64) + x.astype(np.float64))
        b = lse_budget(zf, eps, rounded_sums=True, out_dtype=dtype)
        assert _close(out[i], exact, b), (i, out[i], exact, b)


GEMM_SHAPES = [(1, 1, 1), (3, 7, 5), (4, 33, 6), (2, 257, 3)]


@pytest.mark.parametrize("shape", GEMM_SHAPES, ids=str)
@pytest.mark.parametrize("eps", [e for e in EPSILONS if e > 0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_rows_mpmath(dtype, sense, eps, shape):
    m, k, n = shape
    rng = np.random.default_rng(m * 1000 + k * 10 + n + (sense > 0))
    A, B = _trap_product(rng, m, k, n, eps, dtype, sense)
    M = np.empty((m, n), dtype=dtype)
    reference.maxplus_gemm(A, B, sense, M)
    rows = np.arange(0, m, 2, dtype=np.int64)  # every other row
    out = np.full((m, n), 7.0, dtype=dtype)
    lse.lse_gemm_rows(A, B, M, eps, sense, rows, out)
    for i in range(m):
        if i % 2:
            assert np.all(out[i] == 7.0), "rows not listed must be left untouched"
            continue
        for j in range(n):
            z = [mp_sum2(A[i, kk], B[kk, j]) for kk in range(k)]
            exact = mp_lse(z, eps, sense)
            zf = sense * (A[i].astype(np.float64) + B[:, j].astype(np.float64))
            b = lse_budget(zf, eps, rounded_sums=True, out_dtype=dtype)
            assert _close(out[i, j], exact, b), (i, j, out[i, j], exact, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_rows_float32_shift_recomputed(dtype):
    """float32, eps far below a float32 ulp of M: the shift must be exact in
    float64, not the rounded float32 M (else exp over- or underflows)."""
    rng = np.random.default_rng(3)
    A = (1000 + rng.random((4, 9))).astype(dtype)
    B = (rng.random((9, 5)) * 1e-3).astype(dtype)
    M = np.empty((4, 5), dtype=dtype)
    reference.maxplus_gemm(A, B, 1, M)
    out = np.empty_like(M)
    for eps in (1e-300, 1e-12, 1e-6):
        lse.lse_gemm_rows(A, B, M, eps, 1, np.arange(4, dtype=np.int64), out)
        for i in range(4):
            for j in range(5):
                z = [mp_sum2(A[i, kk], B[kk, j]) for kk in range(9)]
                zf = A[i].astype(np.float64) + B[:, j].astype(np.float64)
                b = lse_budget(zf, eps, rounded_sums=True, out_dtype=dtype)
                assert _close(out[i, j], mp_lse(z, eps, 1), b)


# ---------------------------------------------------------------------------
# larger sizes against the numpy twins
# ---------------------------------------------------------------------------
def _assert_within(got, want, bounds):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    fin = np.isfinite(want)
    assert np.array_equal(got[~fin], want[~fin])
    assert np.all(np.isfinite(got[fin]))
    err = np.abs(got[fin] - want[fin])
    bounds = np.broadcast_to(bounds, got.shape)[fin]
    assert np.all(err <= bounds), (err.max(), bounds[err.argmax()])


@pytest.mark.parametrize("eps", EPSILONS)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_row_kernels_twin(dtype, sense, eps):
    rng = np.random.default_rng(11)
    a = np.concatenate([_rows(rng, 257, eps, dtype, sense) for _ in range(2 if PURE_PYTHON else 40)])
    got, want = np.empty(a.shape[0], dtype), np.empty(a.shape[0], dtype)
    lse.lse_rows(a, eps, sense, got)
    with np.errstate(all="ignore"):
        reference.lse_rows(a, eps, sense, want)
    z = sense * a.astype(np.float64)
    if eps == 0:
        assert np.array_equal(got, want)
    else:
        b = [2 * lse_budget(r, eps, rounded_sums=False, out_dtype=dtype) for r in z]
        _assert_within(got, want, np.array(b))
    got2, want2 = np.empty_like(a), np.empty_like(a)
    lse.softmax_rows(a, eps, sense, got2)
    with np.errstate(all="ignore"):
        reference.softmax_rows(a, eps, sense, want2)
    if eps == 0:
        assert np.array_equal(got2, want2)
    else:
        b2 = np.stack([2 * softmax_budget(r, eps, out_dtype=dtype) for r in z])
        _assert_within(got2, want2, b2)
    x = np.ascontiguousarray(a[3])
    got3, want3 = np.empty(a.shape[0], dtype), np.empty(a.shape[0], dtype)
    lse.lse_matvec(a, x, eps, sense, got3)
    with np.errstate(all="ignore"):
        reference.lse_matvec(a, x, eps, sense, want3)
    if eps == 0:
        assert np.array_equal(got3, want3)
    else:
        zz = sense * (a.astype(np.float64) + x.astype(np.float64))
        b3 = [2 * lse_budget(r, eps, rounded_sums=True, out_dtype=dtype) for r in zz]
        _assert_within(got3, want3, np.array(b3))


@pytest.mark.parametrize("data", ["trap", "normal"])
@pytest.mark.parametrize("eps", [e for e in EPSILONS if e > 0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_rows_twin(dtype, sense, eps, data):
    """'normal' data (standard normal entries, zeros sprinkled in): at small
    eps most groups of 32 columns are skipped for most k (all their terms
    flush to 0), the rest are summed; 'trap': every term matters."""
    rng = np.random.default_rng(13)
    m, k, n = 33, 257, 300  # n > one column block; K = 257 is no multiple of 16
    rows = np.array([0, 5, 6, 7, 20, 32], dtype=np.int64)
    if PURE_PYTHON:
        m, k, n = 8, 33, 40
        rows = np.array([0, 5, 6, 7], dtype=np.int64)
    if data == "trap":
        A, B = _trap_product(rng, m, k, n, eps, dtype, sense)
    else:
        A = sense * rng.standard_normal((m, k))
        B = sense * rng.standard_normal((k, n))
        A[rng.random((m, k)) < 0.05] = -sense * np.inf
        B[rng.random((k, n)) < 0.05] = -sense * np.inf
        A, B = A.astype(dtype), B.astype(dtype)
    M = np.empty((m, n), dtype=dtype)
    reference.maxplus_gemm(A, B, sense, M)
    got = np.full((m, n), 7.0, dtype=dtype)
    want = np.full((m, n), 7.0, dtype=dtype)
    lse.lse_gemm_rows(A, B, M, eps, sense, rows, got)
    with np.errstate(all="ignore"):
        reference.lse_gemm_rows(A, B, M, eps, sense, rows, want)
    b = np.zeros((m, n))
    for i in rows:
        zi = sense * (A[i].astype(np.float64)[:, None] + B.astype(np.float64))
        for j in range(n):
            b[i, j] = 2 * lse_budget(zi[:, j], eps, rounded_sums=True, out_dtype=dtype)
    _assert_within(got, want, b)


def test_eps_zero_product_copies_M():
    rng = np.random.default_rng(5)
    A, B = _trap_product(rng, 6, 9, 4, 0.0, np.float64, 1)
    M = np.empty((6, 4))
    reference.maxplus_gemm(A, B, 1, M)
    out = np.full((6, 4), 7.0)
    lse.lse_gemm_rows(A, B, M, 0.0, 1, np.array([1, 2], dtype=np.int64), out)
    assert np.array_equal(out[1:3], M[1:3]) and np.all(out[[0, 3, 4, 5]] == 7.0)


def test_empty_inputs():
    a = np.empty((3, 0))
    out = np.empty(3)
    lse.lse_rows(a, 1.0, 1, out)
    assert np.all(out == -np.inf)
    lse.lse_rows(a, 1.0, -1, out)
    assert np.all(out == np.inf)
    lse.lse_rows(np.empty((0, 4)), 1.0, 1, np.empty(0))


@pytest.mark.skipif(PURE_PYTHON, reason="JIT disabled: no assembly")
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_inner_loops_vectorise(dtype):
    """The exp loops compile to packed FMAs on ymm/zmm registers (math.exp
    would stay scalar). Code loaded from the cache keeps no assembly: compile
    uncached copies of the two hot helpers (the product's inner loop and the
    rows' exp pass)."""
    import re

    import numba

    flags = dict(nogil=True, fastmath={"contract"}, error_model="numpy")
    sums = numba.njit(**flags)(lse._add_terms_mul.py_func)
    S, b, c = np.zeros(64), np.ones(64), np.full(64, 2.0)
    sums(S, b, c, 0.5, 1.0)
    A = np.ones((3, 40), dtype=dtype)
    terms = numba.njit(**flags)(lse._row_terms.py_func)
    buf = np.empty(40)
    terms(A[0], 1.0, 1.0, 1.0, 1.0, False, buf)
    for fn in (sums, terms):
        asm = fn.inspect_asm(fn.signatures[0])
        assert len(re.findall(r"vfmadd\w*pd\s+[^\n]*%[yz]mm", asm)) >= 11


# ---------------------------------------------------------------------------
# kernels of the product's fast paths (tropical._ops._lse_gemm)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", GEMM_SHAPES + [(3, 70, 4)], ids=str)
@pytest.mark.parametrize("eps", [e for e in EPSILONS if e > 0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_entries_mpmath(dtype, sense, eps, shape):
    """The per-entry kernel, on the listed entries only, within the kernels'
    budget (the groups it leaves out weigh <= eps*(K-1)*4.3e-18)."""
    m, k, n = shape
    rng = np.random.default_rng(m * 1000 + k * 10 + n + (sense > 0) + 7)
    A, B = _trap_product(rng, m, k, n, eps, dtype, sense)
    mask = (np.add.outer(np.arange(m), np.arange(n)) % 2) == 0
    out = np.full((m, n), 7.0, dtype=dtype)
    lse.lse_gemm_entries(A, B, eps, sense, mask, out)
    assert np.all(out[~mask] == 7.0), "entries not listed must be left untouched"
    for i, j in zip(*np.nonzero(mask)):
        z = [mp_sum2(A[i, kk], B[kk, j]) for kk in range(k)]
        exact = mp_lse(z, eps, sense)
        zf = sense * (A[i].astype(np.float64) + B[:, j].astype(np.float64))
        b = lse_budget(zf, eps, rounded_sums=True, out_dtype=dtype)
        assert _close(out[i, j], exact, b), (i, j, out[i, j], exact, b)


@pytest.mark.parametrize("eps", [e for e in EPSILONS if e > 0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_entries_twin(dtype, sense, eps):
    rng = np.random.default_rng(17)
    m, k, n = (8, 33, 40) if PURE_PYTHON else (70, 300, 90)
    A = sense * rng.standard_normal((m, k))
    B = sense * rng.standard_normal((k, n))
    A[rng.random((m, k)) < 0.05] = -sense * np.inf
    B[rng.random((k, n)) < 0.05] = -sense * np.inf
    A[3] = -sense * np.inf
    A, B = A.astype(dtype), B.astype(dtype)
    mask = rng.random((m, n)) < 0.3
    mask[3] = True
    got = np.full((m, n), 7.0, dtype=dtype)
    want = np.full((m, n), 7.0, dtype=dtype)
    lse.lse_gemm_entries(A, B, eps, sense, mask, got)
    with np.errstate(all="ignore"):
        reference.lse_gemm_entries(A, B, eps, sense, mask, want)
    b = np.zeros((m, n))
    for i, j in zip(*np.nonzero(mask)):
        zf = sense * (A[i].astype(np.float64) + B[:, j].astype(np.float64))
        b[i, j] = 2 * lse_budget(zf, eps, rounded_sums=True, out_dtype=dtype)
    _assert_within(got, want, b)
    assert np.all(got[3] == -sense * np.inf)


@pytest.mark.parametrize("eps", [0.0, 1e-310, 1e-8, 1e-3, 1.0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_from_top2_twin(dtype, sense, eps):
    """Same split into settled entries and near ties as the twin; settled
    values equal to a rounding (log1p(e) vs e for e < exp(-gap))."""
    from tropical.kernels import maxplus

    rng = np.random.default_rng(19)
    m, k, n = 30, 20, 40
    A = sense * np.round(rng.standard_normal((m, k)) * 4) * max(eps, 1e-3) * 10
    B = sense * np.round(rng.standard_normal((k, n)) * 4) * max(eps, 1e-3) * 10
    A[rng.random((m, k)) < 0.3] = -sense * np.inf
    A[0] = -sense * np.inf
    A[1, 1:] = -sense * np.inf
    A, B = A.astype(dtype), B.astype(dtype)
    M1, M2 = np.empty((m, n), dtype), np.empty((m, n), dtype)
    maxplus.maxplus_gemm_top2(A, B, sense, M1, M2)
    for gap in (2.0, 24.0, 40.0):
        got = np.full((m, n), 7.0, dtype=dtype)
        want = got.copy()
        tie = np.empty((m, n), np.bool_)
        tie_ref = np.empty((m, n), np.bool_)
        lse.lse_from_top2(M1, M2, eps, gap, sense, got, tie)
        reference.lse_from_top2(M1, M2, eps, gap, sense, want, tie_ref)
        assert np.array_equal(tie, tie_ref)
        assert np.all(got[tie] == 7.0)
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)
        assert np.all(got[0] == -sense * np.inf) and not tie[0].any()
        assert np.array_equal(got[1], M1[1]) and not tie[1].any()  # one finite term
        assert np.all(sense * got[~tie] >= sense * M1[~tie])


@pytest.mark.parametrize("eps", [1e-310, 1e-8, 1e-3, 1.0, 1e8])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_shift_exp_and_blas_finish_twin(dtype, sense, eps):
    rng = np.random.default_rng(23)
    m, k, n = 37, 300, 290
    A = sense * rng.standard_normal((m, k))
    B = sense * rng.standard_normal((k, n))
    A[rng.random((m, k)) < 0.1] = -sense * np.inf
    B[rng.random((k, n)) < 0.1] = -sense * np.inf
    A[2] = -sense * np.inf
    B[:, 5] = -sense * np.inf
    A, B = A.astype(dtype), B.astype(dtype)
    ea, ra = np.empty((m, k)), np.empty(m)
    eb, cb = np.empty((k, n)), np.empty(n)
    ea2, ra2, eb2, cb2 = np.empty_like(ea), np.empty_like(ra), np.empty_like(eb), np.empty_like(cb)
    lift = 500
    lse.lse_shift_exp(A, eps, sense, 1, lift, ra, ea)
    lse.lse_shift_exp(B, eps, sense, 0, lift, cb, eb)
    reference.lse_shift_exp(A, eps, sense, 1, lift, ra2, ea2)
    reference.lse_shift_exp(B, eps, sense, 0, lift, cb2, eb2)
    assert np.array_equal(ra, ra2) and np.array_equal(cb, cb2)
    assert ra[2] == 0.0 and cb[5] == 0.0
    up = 2.0**lift
    # 1 ulp of exp (the kernel's fast exp) plus the rounding of its argument x
    # (x*(1/eps) against x/eps: relative u*|x|); (lifted) terms below 2**-511 flushed
    for got, want in ((ea, ea2), (eb, eb2)):
        assert np.all((got == 0) | (got >= 2.0**-511)) and np.all(got <= up)
        with np.errstate(divide="ignore"):
            arg = np.where(want > 0, np.abs(np.log(np.where(want > 0, want / up, 1.0))), 0.0)
        tol = 2.0**-52 * (2.5 + 2 * arg) * want + 2.0**-511
        assert np.all(np.abs(got - want) <= tol)
    # every product of two kept terms is a normal number (no subnormal arithmetic)
    kept_a, kept_b = ea[ea > 0], eb[eb > 0]
    if kept_a.size and kept_b.size:
        assert kept_a.min() * kept_b.min() >= np.finfo(np.float64).tiny
    S = (ea @ eb) * 2.0**(-2 * lift)
    M = np.empty((m, n), dtype)
    reference.maxplus_gemm(A, B, sense, M)
    K = np.isfinite(A).astype(np.float64) @ np.isfinite(B).astype(np.float64)
    for Kc in (K, np.full((1, 1), float(k))):
        got, want = np.empty((m, n), dtype), np.empty((m, n), dtype)
        un, un2 = np.empty((m, n), np.bool_), np.empty((m, n), np.bool_)
        lse.lse_gemm_blas_finish(M, S, ra, cb, Kc, eps, sense, 1e-250, got, un)
        with np.errstate(all="ignore"):
            reference.lse_gemm_blas_finish(M, S, ra, cb, Kc, eps, sense, 1e-250, want, un2)
        assert np.array_equal(un, un2)
        fin = np.isfinite(want)
        assert np.array_equal(got[~fin], want[~fin])
        np.testing.assert_allclose(got[fin], want[fin], rtol=4 * np.finfo(dtype).eps,
                                   atol=4 * np.finfo(dtype).eps * eps * math.log(k))
        assert np.all(sense * got[fin] >= sense * M[fin])  # the clamp, bitwise


@pytest.mark.parametrize("plan", ["top2", "blas", None])
@pytest.mark.parametrize("eps", [e for e in EPSILONS if e > 0])
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_plans_mpmath(dtype, sense, eps, plan):
    """Both plans of the public eps > 0 product (forced, and as chosen)
    within the documented error budget of ``tropical.matmul``, on products
    that trap the BLAS path, with near ties and clear gaps."""
    from naive import lse_matmul_budget, mp_abs_error, mp_matmul_exact

    from tropical import _ops

    rng = np.random.default_rng(29)
    for m, k, n in [(5, 9, 6), (6, 40, 7)]:
        A, B = _trap_product(rng, m, k, n, eps, dtype, sense)
        out = np.empty((m, n), dtype)
        _ops._lse_gemm(A, B, eps, sense, out, plan)
        exact = mp_matmul_exact(A.astype(np.float64), B.astype(np.float64), eps, sense)
        err = mp_abs_error(out, exact)
        budget = lse_matmul_budget(A, B, out, eps, dtype)
        assert np.all(err <= budget), (m, k, n, np.max(err / np.maximum(budget, 1e-320)))
        M = np.empty((m, n), dtype)
        reference.maxplus_gemm(A, B, sense, M)
        fin = np.isfinite(M)
        assert np.array_equal(out[~fin], M[~fin])
        assert np.all(sense * out[fin] >= sense * M[fin])


@pytest.mark.skipif(PURE_PYTHON, reason="too slow as plain Python")
@pytest.mark.parametrize("eps", [1e-4, 1e-3, 1e-2, 1.0])
@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_lse_gemm_plans_agree_with_two_pass(dtype, eps):
    """Larger standard normal products (near ties, BLAS underflow, both
    plans): each plan within twice the budget of the exact two-pass kernel."""
    from naive import lse_matmul_budget

    from tropical import _ops

    rng = np.random.default_rng(31)
    m, k, n = 90, 300, 110
    A = rng.standard_normal((m, k)).astype(dtype)
    B = rng.standard_normal((k, n)).astype(dtype)
    M = np.empty((m, n), dtype)
    reference.maxplus_gemm(A, B, 1, M)
    ref = np.empty((m, n), dtype)
    lse.lse_gemm_rows(A, B, M, eps, 1, np.arange(m, dtype=np.int64), ref)
    for plan in ("top2", "blas", None):
        out = np.empty((m, n), dtype)
        _ops._lse_gemm(A, B, eps, 1, out, plan)
        err = np.abs(out.astype(np.float64) - ref)
        assert np.all(err <= 2 * lse_matmul_budget(A, B, out, eps, dtype)), plan

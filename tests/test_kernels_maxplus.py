"""The tiled max-plus kernels against their numpy twins, exactly.

Max-plus needs one addition per term and a max, both correctly rounded and
order independent, so the compiled kernels and ``kernels/reference.py`` agree
bit for bit (up to the sign of zero) on any data, not only integer-valued.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from tropical import _config
from tropical.kernels import maxplus, reference

def _numba_jit_disabled():
    return os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0")


# Under NUMBA_DISABLE_JIT=1 (coverage runs) the kernels run as plain Python:
# keep to small shapes there (still crossing the tiled path's thresholds).
PURE_PYTHON = _numba_jit_disabled()

DTYPES = [np.float32, np.float64]
SENSES = [1, -1]
SIZES = [1, 7, 33, 257]

# m, k, n: every size appears in every position, with tile remainders
# (none of 7, 33, 257 is a multiple of a micro-tile or cache block).
SHAPES = sorted(
    {(s, 33, 7) for s in SIZES}
    | {(7, s, 33) for s in SIZES}
    | {(33, 7, s) for s in SIZES}
    | {(1, 1, 1), (257, 1, 257), (257, 257, 257), (257, 33, 257), (33, 257, 257), (300, 700, 130)}
)
if PURE_PYTHON:
    SHAPES = [s for s in SHAPES if s[0] * s[1] * s[2] <= 300_000]


def _data(rng, shape, dtype, sense, integer, p_zero=0.15):
    """Random matrix in sense-form: semiring zeros are -inf*sense."""
    if integer:
        a = rng.integers(-4, 5, size=shape).astype(dtype)
    else:
        a = rng.standard_normal(shape).astype(dtype) * 10
    a[rng.random(shape) < p_zero] = -np.inf * sense
    return np.ascontiguousarray(a)


def _with_zero_lines(A, B, sense, rng):
    """Whole rows of A and whole columns of B set to the semiring zero."""
    zero = -np.inf * sense
    A[rng.integers(0, A.shape[0])] = zero
    B[:, rng.integers(0, B.shape[1])] = zero
    if A.shape[1] > 1:
        A[:, rng.integers(0, A.shape[1])] = zero
    return A, B


def _case(shape, dtype, sense, integer, seed):
    rng = np.random.default_rng(seed)
    m, k, n = shape
    A = _data(rng, (m, k), dtype, sense, integer)
    B = _data(rng, (k, n), dtype, sense, integer)
    return _with_zero_lines(A, B, sense, rng)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gemm_matches_reference(shape, sense, dtype):
    for integer in (True, False):
        A, B = _case(shape, dtype, sense, integer, seed=hash(shape) % 1000)
        out = np.full((shape[0], shape[2]), np.nan, dtype=dtype)
        ref = np.empty_like(out)
        maxplus.maxplus_gemm(A, B, sense, out)
        reference.maxplus_gemm(A, B, sense, ref)
        np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
def test_gemm_all_zero(sense, dtype):
    zero = -np.inf * sense
    for m, k, n in [(1, 1, 1), (9, 40, 70), (70, 300, 9)]:
        A = np.full((m, k), zero, dtype=dtype)
        B = np.zeros((k, n), dtype=dtype)
        out = np.empty((m, n), dtype=dtype)
        maxplus.maxplus_gemm(A, B, sense, out)
        assert np.all(out == zero)
        out_t = np.empty((n, m), dtype=dtype)
        maxplus.maxplus_gemm(B.T.copy(), A.T.copy(), sense, out_t)
        assert np.all(out_t == zero)


@pytest.mark.skipif(PURE_PYTHON, reason="too slow as plain Python")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
def test_gemm_large_blocks(sense, dtype):
    """Several k-blocks and column blocks, odd edges everywhere."""
    A, B = _case((19, 1100, 2100), dtype, sense, False, seed=5)
    out = np.empty((19, 2100), dtype=dtype)
    ref = np.empty_like(out)
    maxplus.maxplus_gemm(A, B, sense, out)
    reference.maxplus_gemm(A, B, sense, ref)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.skipif(PURE_PYTHON, reason="too slow as plain Python")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_tall(dtype):
    """More row blocks than workers: workers take several blocks each."""
    A, B = _case((6500, 20, 40), dtype, 1, False, seed=11)
    out = np.empty((6500, 40), dtype=dtype)
    ref = np.empty_like(out)
    maxplus.maxplus_gemm(A, B, 1, out)
    reference.maxplus_gemm(A, B, 1, ref)
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gemm_argmax_matches_reference(shape, sense, dtype):
    # integer-valued data in a small range: many ties, exercised on purpose
    A, B = _case(shape, dtype, sense, True, seed=hash(shape) % 997)
    out = np.empty((shape[0], shape[2]), dtype=dtype)
    arg = np.full(out.shape, -1, dtype=np.int64)
    ref = np.empty_like(out)
    ref_arg = np.empty_like(arg)
    maxplus.maxplus_gemm_argmax(A, B, sense, out, arg)
    reference.maxplus_gemm_argmax(A, B, sense, ref, ref_arg)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(arg, ref_arg)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
def test_gemm_argmax_all_zero_gives_zero_index(sense, dtype):
    zero = -np.inf * sense
    A = np.full((5, 9), zero, dtype=dtype)
    B = np.ones((9, 6), dtype=dtype)
    out = np.empty((5, 6), dtype=dtype)
    arg = np.full((5, 6), -1, dtype=np.int64)
    maxplus.maxplus_gemm_argmax(A, B, sense, out, arg)
    assert np.all(out == zero)
    assert np.all(arg == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("k", SIZES + [1000])
def test_matvec_matches_reference(m, k, sense, dtype):
    rng = np.random.default_rng(m * 1000 + k)
    for integer in (True, False):
        A = _data(rng, (m, k), dtype, sense, integer)
        x = _data(rng, (k,), dtype, sense, integer)
        A[rng.integers(0, m)] = -np.inf * sense
        out = np.full(m, np.nan, dtype=dtype)
        ref = np.empty_like(out)
        maxplus.maxplus_matvec(A, x, sense, out)
        reference.maxplus_matvec(A, x, sense, ref)
        np.testing.assert_array_equal(out, ref)


def _jit_disabled():
    return PURE_PYTHON or not _config.jit_enabled()


@pytest.mark.skipif(_jit_disabled(), reason="JIT disabled: no assembly")
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_assembly_has_vector_max(dtype):
    import numba

    # Code loaded from the on-disk cache keeps no assembly: compile uncached
    # copies. The gemm's assembly includes the micro-kernel it calls.
    gemm = numba.njit(parallel=True, nogil=True, error_model="numpy")(
        maxplus.maxplus_gemm.py_func
    )
    A = np.ones((40, 50), dtype=dtype)
    out = np.empty((40, 40), dtype=dtype)
    gemm(A, A.T.copy(), 1, out)
    asm = gemm.inspect_asm(gemm.signatures[0])
    insn = "vmaxps" if dtype == np.float32 else "vmaxpd"
    assert re.search(rf"{insn}\s+[^\n]*%[yz]mm", asm), "no vector max in gemm"

    # the micro-kernel: packed loads and broadcasts, never gathers
    from numba import types

    micro = numba.njit(nogil=True, error_model="numpy")(maxplus._micro.py_func)
    i8 = types.int64
    vec = types.Array(numba.from_dtype(np.dtype(dtype)), 1, "C")
    mat = types.Array(numba.from_dtype(np.dtype(dtype)), 2, "C")
    sig = (i8, vec, i8, vec, i8, mat, i8, i8, i8, i8, types.boolean, i8)
    micro.compile(sig)
    masm = micro.inspect_asm(micro.signatures[0])
    assert len(re.findall(rf"{insn}\s+[^\n]*%[yz]mm", masm)) >= 8
    assert "gather" not in masm


# --------------------------------------------------------------------------
# top-2 product
# --------------------------------------------------------------------------
TOP2_SHAPES = SHAPES + ([] if PURE_PYTHON else [(9, 1100, 300), (5, 600, 2100)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
@pytest.mark.parametrize("shape", TOP2_SHAPES)
def test_gemm_top2_matches_reference(shape, sense, dtype):
    """Largest and second largest term, exactly (integer data: many ties,
    where the second equals the first)."""
    for integer in (True, False):
        A, B = _case(shape, dtype, sense, integer, seed=hash(shape) % 991)
        out1 = np.full((shape[0], shape[2]), np.nan, dtype=dtype)
        out2 = np.full_like(out1, np.nan)
        ref1 = np.empty_like(out1)
        ref2 = np.empty_like(out1)
        maxplus.maxplus_gemm_top2(A, B, sense, out1, out2)
        reference.maxplus_gemm_top2(A, B, sense, ref1, ref2)
        np.testing.assert_array_equal(out1, ref1)
        np.testing.assert_array_equal(out2, ref2)
        # the first output is the max-plus product
        mp = np.empty_like(out1)
        maxplus.maxplus_gemm(A, B, sense, mp)
        np.testing.assert_array_equal(out1, mp)
        assert np.all(sense * out2 <= sense * out1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sense", SENSES)
def test_gemm_top2_ties_and_zeros(sense, dtype):
    """Ties give out2 == out1; fewer than two finite terms give the zero."""
    zero = -np.inf * sense
    for m, k, n in [(3, 4, 5), (40, 300, 70)]:
        A = np.zeros((m, k), dtype=dtype)
        B = np.full((k, n), 2.0 * sense, dtype=dtype)
        out1 = np.empty((m, n), dtype=dtype)
        out2 = np.empty_like(out1)
        maxplus.maxplus_gemm_top2(A, B, sense, out1, out2)
        assert np.all(out1 == 2.0 * sense) and np.all(out2 == 2.0 * sense)
        # one finite term per entry: the second is the zero
        A[:, 1:] = zero
        maxplus.maxplus_gemm_top2(A, B, sense, out1, out2)
        assert np.all(out1 == 2.0 * sense) and np.all(out2 == zero)
        A[:] = zero
        maxplus.maxplus_gemm_top2(A, B, sense, out1, out2)
        assert np.all(out1 == zero) and np.all(out2 == zero)
    # k = 1: a single term everywhere
    A = np.ones((50, 1), dtype=dtype)
    B = np.ones((1, 700), dtype=dtype)
    out1 = np.empty((50, 700), dtype=dtype)
    out2 = np.empty_like(out1)
    maxplus.maxplus_gemm_top2(A, B, sense, out1, out2)
    assert np.all(out1 == 2.0) and np.all(out2 == zero)

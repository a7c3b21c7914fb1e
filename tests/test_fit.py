"""Tests of tropical.fit and its kernel tropical.kernels.fit.

The fused loss-and-gradient kernel is checked against its plain-numpy twin,
against central finite differences computed in mpmath at 50 digits (so the
difference quotient is exact to far below float64 rounding, and the tolerance
is the kernel's own rounding), and against the eps = 0 (argmax) kernel as
eps -> 0 with a bound derived from the Gibbs weights. Fitting must recover a
planted layer; quadrature layers must respect their proven bound; the scaling
experiment must recover exponents derived in closed form.
"""

from __future__ import annotations

import doctest
import json
import math
import subprocess
import sys
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tropical import fit as tfit
from tropical.fit import (FitResult, QuadratureLayer, ScalingResult, fit, quadrature_layer,
                          scaling_experiment)
from tropical.kernels import fit as kfit
from tropical.kernels import reference as kref
from tropical.views.network import LSELayer
from tropical.views.pde import HopfCole

U = 2.0 ** -53


def _problem(rng, M, N, d, scale=1.0):
    X = rng.uniform(-2, 2, size=(M, d))
    y = rng.normal(size=M)
    W = scale * rng.normal(size=(N, d))
    b = rng.normal(size=N)
    return X, y, W, b


def _run(kernel, X, y, W, b, eps):
    M, d = X.shape
    N = W.shape[0]
    f, gW, gb = np.empty(M), np.empty((N, d)), np.empty(N)
    loss = kernel(X, y, W, b, eps, f, gW, gb)
    return loss, f, gW, gb


# ----------------------------------------------------------------------------- kernel
def test_exp_copy_is_bitwise_the_lse_one():
    """kernels/fit.py carries a copy of the exp of kernels/lse.py: they must not drift."""
    from tropical.kernels import lse

    rng = np.random.default_rng(0)
    x = np.concatenate([-rng.exponential(5.0, 20000), -rng.uniform(0, 800, 20000),
                        [0.0, -0.0, -708.0, -708.0000001, -745.2, -np.inf, -1e-300]])
    a, b = np.empty_like(x), np.empty_like(x)
    kfit._exp_term_array(x, a)
    lse._exp_term_array(x, b)
    assert np.array_equal(a, b)


def _flush_free(X, W, b, eps):
    XT = kfit._transposed(X)
    R = kfit._coord_ranges(XT, X.shape[1])
    assert np.array_equal(R, np.abs(X).max(axis=0))
    spread, big = kfit._bounds(R, W, b)
    return kfit._flush_free(spread, big, X.shape[1], 1.0 / eps)


@settings(max_examples=60)
@given(N=st.integers(1, 9), d=st.integers(1, 5), wscale=st.sampled_from([0.1, 1.0, 40.0]),
       xscale=st.sampled_from([0.5, 2.0, 30.0]), seed=st.integers(0, 2**32 - 1),
       slack=st.sampled_from([1 - 1e-3, 1 - 1e-9, 1 + 1e-9, 1 + 1e-3]))
def test_flush_free_bound_is_exact_where_the_spread_is_attained(N, d, wscale, xscale, seed,
                                                               slack):
    """Two terms ``w`` and ``-w`` with biases ``c`` and ``-c``, samples at the corners of
    the box: there the spread of z is attained, ``2 (sum_k |w_k| R_k + |c|)``. The bound
    must say 'no flush needed' just below -700 * (1 - 1e-9) and must refuse just above."""
    rng = np.random.default_rng(seed)
    w = wscale * rng.normal(size=d)
    c = wscale * rng.normal()
    R = xscale * rng.uniform(0.5, 1.0, size=d)
    corner = R * np.sign(w)
    X = np.concatenate([corner[None], -corner[None], rng.uniform(-R, R, size=(5, d))])
    rows = [w, -w] + [0.3 * w] * (N - 2)                 # extra terms inside the range
    W = np.array(rows[:max(N, 2)])
    b = np.array([c, -c] + [0.3 * c] * (max(N, 2) - 2))
    spread = 2.0 * (np.abs(w) @ R + abs(c))
    eps = spread / (kfit._FLUSH_FREE_BELOW * slack)     # lowest exponent -700*slack
    lowest = float((((X @ W.T + b) - (X @ W.T + b).max(axis=1, keepdims=True)) / eps).min())
    assert lowest == pytest.approx(-kfit._FLUSH_FREE_BELOW * slack, rel=1e-12)
    free = _flush_free(X, W, b, eps)
    if slack > 1:
        assert not free                                  # sound: an exponent is below -700
    elif slack < 1 - 1e-6:
        assert free                                      # and not loose
    assert kfit._FLUSH_FREE_BELOW < 708.39               # where the unflushed exp wraps


@pytest.mark.parametrize("d, N", [(1, 3), (2, 1024), (3, 9), (4, 40)])
def test_unflushed_path_gives_the_flushed_bits_at_the_bound(d, N):
    """At an eps that puts the bound at 700 (1 - 1e-13), the kernel (both layouts) gives
    bit for bit what it gives with the bound switched off (a box 1e6 times too large:
    always the flush)."""
    rng = np.random.default_rng(30 + d)
    X, y, W, b = _problem(rng, 150, N, d, scale=3.0)
    XT = kfit._transposed(X)
    R = kfit._coord_ranges(XT, d)
    spread, big = kfit._bounds(R, W, b)
    margin = (d + 8) * 2.0 ** -50
    eps = (spread * (1 + margin) + 2 * big * margin) * (1 + margin) / (700 * (1 - 1e-13))
    assert kfit._flush_free(spread, big, d, 1.0 / eps)
    out = []
    assert not kfit._flush_free(*kfit._bounds(R * 1e6, W, b), d, 1.0 / eps)
    for RR in (R, R * 1e6):
        f, gW, gb = np.empty(150), np.empty((N, d)), np.empty(N)
        loss = kfit._loss_grad_ser(X, XT, RR, y, W, b, eps, f, gW, gb, False)
        out.append((loss, f, gW, gb))
    for u, v in zip(*out):
        assert np.array_equal(u, v)
    # the lowest exponent is close to the bound: the unflushed exp really ran near -700
    Z = X @ W.T + b
    assert ((Z - Z.max(axis=1, keepdims=True)) / eps).min() < -100


def test_overflowing_pre_activations_give_nan_not_a_wrong_number():
    """w.x overflows although z would be finite: NaN, like the numpy twin, in every path."""
    X = np.array([[1e200, 1e200], [1.0, 2.0]])
    y = np.zeros(2)
    W = np.array([[-1e200, 1e200], [0.0, 0.0]])
    b = np.zeros(2)
    for kernel in (kfit.lse_fit_loss_grad, kfit.lse_fit_loss_grad_serial):
        loss, f, gW, gb = _run(kernel, X, y, W, b, 0.1)
        assert math.isnan(loss) and np.isnan(f).all() and np.isnan(gW).all()
    Wbig = np.zeros((kfit._SAMPLE_LANES_BELOW, 2))
    Wbig[0] = W[0]
    loss, f, gW, gb = _run(kfit.lse_fit_loss_grad_serial, X, y, Wbig,
                           np.zeros(kfit._SAMPLE_LANES_BELOW), 0.1)
    assert math.isnan(loss) and np.isnan(gb).all()


def test_skipping_is_for_one_input_only():
    """The sorted-sample skipping recomputes z from the first coordinate: for d = 2 the
    kernel must ignore the flag (bit for bit the result without it)."""
    rng = np.random.default_rng(9)
    X, y, W, b = _problem(rng, 600, 40, 2, scale=3.0)
    X = X[np.argsort(X[:, 0])]
    a = _run(_local(False), X, y, W, b, 1e-3)
    c = _run(kfit.lse_fit_loss_grad_serial, X, y, W, b, 1e-3)
    for u, v in zip(a, c):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("d", [1, 2])
def test_fused_terms_recompute_the_maxima_bits(d):
    """d <= 2: the maxima pass and the terms pass compute z separately; the largest
    term of every sample must be exactly exp(0) = 1, with or without the flush."""
    rng = np.random.default_rng(3 + d)
    n, N = 203, 37
    XT = kfit._transposed(rng.uniform(-2, 2, size=(n, d)))
    W = rng.normal(size=(N, d)) * 3.0
    b = rng.normal(size=N)
    mx = np.empty(n)
    kfit._max_t(XT, W, b, 0, n, mx)
    act = np.arange(N)
    out = []
    for unflushed in (True, False):
        Z, sv = np.empty((N, n)), np.empty(n)
        kfit._terms_fused_t(XT, W, b, 0, n, mx, 1.0 / 0.07, unflushed, Z, sv, act, N)
        assert np.all(Z.max(axis=0) == 1.0)
        assert np.all(Z >= 0.0) and np.all(sv >= 1.0)
        out.append((Z, sv))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    # and the stored-z path gives the same maxima
    Z, m2 = np.empty((N, n)), np.empty(n)
    kfit._zmax_t(XT, W, b, 0, n, Z, m2)
    assert np.array_equal(mx, m2)
    assert np.array_equal(Z.max(axis=0), mx)


_SCALES = [math.log2(math.e) * v for v in (1.0, 1 / 0.07, 1 / 0.5, 4.0, 1e3, 1 / 3e-3, 7.7e5)]


def _scaled_args(rng, sc, n=4000):
    """Arguments x <= 0 of 2^(x sc): spread over the whole range (and past the flush),
    near 0, at the rounding points (x sc = k + 1/2) and at the flush boundary."""
    k = -rng.integers(0, 1030, n // 4).astype(float)
    x = np.concatenate([-rng.uniform(0, 1030 / sc, n), -rng.exponential(4 / sc, n),
                        -rng.uniform(0.45, 0.5, n // 4) / sc,      # f near -1/2: the worst
                        (k + 0.5) / sc, (k - 0.5) / sc, np.nextafter((k + 0.5) / sc, 0),
                        np.array([-1021.5, -1021.0, -1020.5, -1022.0, -1030.0]) / sc,
                        [0.0, -0.0, -1e-300, -5e-324, -np.inf]])
    x = x[x <= 0.0]
    return x[:len(x) // 8 * 8]


@pytest.mark.parametrize("sc", _SCALES)
def test_eight_lane_exp_is_bitwise_the_scalar_one(sc):
    """The explicit-vector terms' exp (flushed and select-free) against the scalar one,
    bit for bit, for every argument (the select-free one on its range)."""
    x = _scaled_args(np.random.default_rng(12), sc)
    want, got = np.empty_like(x), np.empty_like(x)
    kfit._exps_array(x, sc, want, False)
    kfit._vexps_array(x, sc, got, False)
    assert np.array_equal(got, want)
    y = x[np.round(x * sc) >= -1021.0]
    y = y[:len(y) // 8 * 8]
    want, got = np.empty_like(y), np.empty_like(y)
    kfit._exps_array(y, sc, want, True)
    kfit._vexps_array(y, sc, got, True)
    assert np.array_equal(got, want)
    flushed = np.empty_like(y)
    kfit._exps_array(y, sc, flushed, False)
    assert np.array_equal(flushed, want)          # the flush only drops what it must


# found by an adversarial search (4.7e8 arguments with f near -1/2): the worst known
_EXP_WORST = [(-8.930593616299793e-07, 539474.0767250665),     # 1.0158 ulp
              (-1.0207079679751085, 0.4714189393193661),       # 1.0092 ulp
              (-2.416827048761922e-06, 196812.05930049662)]    # 1.0086 ulp


@pytest.mark.parametrize("sc", _SCALES + sorted({s for _, s in _EXP_WORST}))
def test_terms_exp_within_its_ulp_bound_and_flushes_exactly_below_its_bound(sc):
    """2^(x sc) of the two doubles (exact product, mpmath at 120 bits): within 1.02 ulp
    wherever x sc >= -1021.5 (the worst known arguments included), exactly 1 at
    x = 0, exactly 0 from round(x sc) < -1021 on, and every result a normal number
    or 0 (no subnormal ever reaches a sum)."""
    x = _scaled_args(np.random.default_rng(13), sc, 2000)
    worst_known = [v for v, s in _EXP_WORST if s == sc]
    x = np.concatenate([x, worst_known])
    got = np.empty_like(x)
    kfit._exps_array(x, sc, got, False)
    # the kernel's k: round(x sc) of the exact product, ties to even (one FMA)
    k = np.array([-np.inf if v == -np.inf else float(round(Fraction(v) * Fraction(sc)))
                  for v in x])
    kept = k >= -1021.0
    assert np.all(got[~kept] == 0.0)
    assert np.all(got[kept] >= 2.0 ** -1022) and np.all(got[kept] <= 1.0)
    assert np.all(got[x == 0.0] == 1.0)
    worst = 0.0
    with mpmath.workprec(120):
        for xi, gi in zip(x[kept], got[kept]):
            exact = mpmath.power(2, mpmath.mpf(xi) * mpmath.mpf(sc))
            ulp = mpmath.mpf(2) ** (mpmath.floor(mpmath.log(exact, 2)) - 52)
            worst = max(worst, float(abs(mpmath.mpf(gi) - exact) / ulp))
    assert worst < 1.02, worst
    if worst_known:
        assert worst > 1.0         # the search's finding is reproduced (bits unchanged)


def test_fma_stand_in_is_the_compiled_fma():
    """The plain-Python ``_fma_exact`` (the no-JIT stand-in of ``llvm.fma``) gives the
    compiled FMA's bits: random operands, cancellation to +-0, overflow, infinities
    and NaN."""
    from numba import njit

    fma = njit(lambda a, b, c: kfit._fma(a, b, c))
    rng = np.random.default_rng(21)
    big, inf, nan = 1e308, np.inf, np.nan
    cases = [tuple(v) for v in rng.normal(size=(300, 3)) * 10.0 ** rng.integers(-300, 300,
                                                                                 (300, 3))]
    cases += [(0.1, 0.1, -0.01), (-0.0, 3.0, -0.0), (0.0, 3.0, -0.0), (2.0, 3.0, -6.0),
              (big, 10.0, -big), (-big, 10.0, 1.0), (big, 10.0, -inf), (inf, 0.0, 1.0),
              (inf, 2.0, -inf), (nan, 1.0, 1.0), (1.0, 1.0, nan), (-1e10, 1.4427e300, 0.5),
              (5e-324, 0.5, 0.0), (-5e-324, 0.5, 0.0)]
    for a, b, c in cases:
        want, got = fma(a, b, c), kfit._fma_exact(a, b, c)
        assert (np.isnan(want) and np.isnan(got)) or (
            np.float64(want).tobytes() == np.float64(got).tobytes()), (a, b, c, want, got)


def test_terms_exp_coefficients_are_the_rounded_chebyshev_fit():
    """_P1.._P11: the degree-10 Chebyshev fit of (2^f - 1)/f on [-1/2, 1/2] at 200 bits,
    each rounded to the nearest double (so a mistyped digit fails here)."""
    with mpmath.workprec(200):
        def g(f):
            return (mpmath.power(2, f) - 1) / f if f != 0 else mpmath.log(2)
        poly = mpmath.chebyfit(g, [-0.5, 0.5], 11)
    want = [float(c) for c in reversed(poly)]
    assert [getattr(kfit, f"_P{k}") for k in range(1, 12)] == want


_EXP_SCALE_PROBE = """
import json, numpy as np
from numba.core.registry import cpu_target
from tropical.kernels import fit as kfit
rng = np.random.default_rng(5)
sc = 1.4426950408889634 / 0.07
x = np.concatenate([-rng.uniform(0, 1021 / sc, 4000), -rng.exponential(3, 4000), [0.0]])
x = x[:len(x) // 8 * 8]
want, got = np.empty_like(x), np.empty_like(x)
kfit._exps_array(x, sc, want, True)
kfit._vexps_array(x, sc, got, True)
asm = kfit._vexps_array.inspect_asm(kfit._vexps_array.signatures[0])
import hashlib
print(json.dumps({"same": bool(np.array_equal(got, want)), "scalef": "vscalefpd" in asm,
                  "bits": hashlib.sha1(got.tobytes()).hexdigest(),
                  "avx512": "+avx512f" in cpu_target.target_context.codegen()._tm_features}))
"""


@pytest.mark.slow
def test_exp_scale_without_avx512_gives_the_same_bits(tmp_path):
    """On a target without AVX-512 the eight-lane exp scales by integer bits instead of
    vscalefpd: the same bits either way (a subprocess compiles for Haswell)."""
    import os

    from tropical import _config

    if not _config.jit_enabled():
        pytest.skip("TROPICAL_JIT=0")
    runs = {}
    for name, extra in (("haswell", {"NUMBA_CPU_NAME": "haswell",
                                     "NUMBA_CPU_FEATURES": "+64bit,+avx,+avx2,+fma,+sse4.2"}),
                        ("host", {})):
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
        env.update(extra, NUMBA_CACHE_DIR=str(tmp_path / name))
        proc = subprocess.run([sys.executable, "-c", _EXP_SCALE_PROBE], capture_output=True,
                              text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        runs[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    bits = runs["haswell"].pop("bits")
    assert runs["haswell"] == {"same": True, "scalef": False, "avx512": False}
    host = runs["host"]
    assert host["same"] and host["scalef"] == host["avx512"]
    assert host["bits"] == bits                  # the same terms on both targets


@pytest.mark.parametrize("d, n", [(3, 203), (4, 203), (4, 8), (4, 5)])
def test_eight_lane_terms_match_the_scalar_passes_bit_for_bit(d, n):
    """_zterms4_t (d padded to 4, eps > 0) against the scalar z/max pass and terms pass:
    the same maxima, terms and sums bit for bit, the largest term exactly 1, whatever
    the tail of the last vector."""
    rng = np.random.default_rng(40 + n)
    N = 37
    n8 = (n + 7) // 8 * 8
    XT = kfit._transposed(rng.uniform(-2, 2, size=(n, d)))
    W = rng.normal(size=(N, d)) * 3.0
    b = rng.normal(size=N)
    for unflushed, eps in ((True, 0.5), (False, 0.07)):
        inv = 1.0 / eps
        # the select-free exp only where the bound proves every exponent >= -700
        # (below about -708.4 the scalar one wraps, the vector one may not)
        assert kfit._flush_free(*kfit._bounds(kfit._coord_ranges(XT, d), W, b), d,
                                inv) == unflushed
        Zs, ms, ss = np.empty((N, n)), np.empty(n), np.empty(n)
        kfit._zmax_t(XT, W, b, 0, n, Zs, ms)
        kfit._terms_t(Zs, n, ms, eps, False, unflushed, ss, np.arange(N), N)
        Ev, mv, sv = np.empty(N * n8), np.empty(n8), np.empty(n8)
        W4 = np.zeros((N, 4))
        W4[:, :d] = W
        kfit._zterms4_t(XT, W4, b, 0, n, kfit._LOG2E / eps, unflushed, np.empty(8 * N), Ev,
                        mv, sv)
        Zv = Ev.reshape(n8 // 8, N, 8).transpose(1, 0, 2).reshape(N, n8)  # vector-major
        assert np.array_equal(mv[:n], ms)
        assert np.array_equal(sv[:n], ss)
        assert np.array_equal(Zv[:, :n], Zs)
        assert np.all(Zv[:, :n].max(axis=0) == 1.0)
        assert np.all((Zv >= 0.0) & (Zv <= 1.0))     # the tail lanes too (finite)
        # the dot products: vector-major (eps > 0) and row-major (eps = 0) layouts give
        # the same bits, tail or not; both within n ulps of an independent order
        Zr = np.zeros((N, n8))
        Zr[:, :n] = Zv[:, :n]
        for K in (3, 4, 5):                     # d + 1 for d = 2, 3, 4
            CX = np.zeros((K, n8))
            CX[:, :n] = rng.normal(size=(K, n))
            got, rowm, ref = np.zeros((K, N)), np.zeros((K, N)), np.zeros((K, N))
            kfit._accumulate4_v(CX, Ev, n, got, 8 * N, 8)
            kfit._accumulate4_v(CX, Zr.ravel(), n, rowm, 8, n8)
            kfit._accumulate_t(CX, Zr, n, ref, np.arange(N), N)
            assert np.array_equal(got, rowm)
            bound = n * 2.0**-53 * (np.abs(CX[:, :n]) @ np.abs(Zv[:, :n]).T)
            assert np.all(np.abs(got - ref) <= bound)
            assert np.all(np.abs(got - (CX[:, :n] @ Zv[:, :n].T)) <= bound)


def test_sub_blocks_are_whole_vectors_on_cache_lines():
    for N in (1, 3, 37, 128, 700, 1023):
        for size in (1, 5, 8, 13, 64, 257, 4096):
            B = kfit._sub_block(N, size)
            assert B % 8 == 0 and B >= 8 and B >= min(size, 8)
    for M in (1, 7, 255, 256, 1000, 4097, 10**5):
        _, _, nblocks, size = kfit._blocks(M, 0.5)
        assert size % 8 == 0 and nblocks * size >= M > (nblocks - 1) * size
    for n in (0, 1, 7, 8, 1000, 32768):
        a = kfit._aligned(n)
        assert a.shape == (n,) and a.ctypes.data % 64 == 0
    XT = kfit._transposed(np.arange(39.0).reshape(13, 3))
    assert XT.shape == (4, 24) and XT.ctypes.data % 64 == 0 and XT.strides[0] % 64 == 0
    assert np.array_equal(XT[:3, :13], np.arange(39.0).reshape(13, 3).T)
    assert not XT[3].any() and not XT[:, 13:].any()


def test_vector_loads_refuse_strided_and_read_only_arrays():
    from numba import njit
    from numba.core.errors import TypingError

    @njit
    def store(a, v):
        kfit._vstore(a, 0, kfit._vsplat(v))

    a = np.arange(32.0)
    store(a, 2.0)
    assert np.array_equal(a[:8], np.full(8, 2.0)) and a[8] == 8.0
    with pytest.raises(TypingError):
        store(a[::2], 1.0)
    with pytest.raises(TypingError):
        store(a.reshape(4, 8), 1.0)
    ro = np.arange(16.0)
    ro.flags.writeable = False
    with pytest.raises(TypingError):
        store(ro, 1.0)


def test_log_copy_is_within_one_ulp():
    """The branch-free log of the small-N path (x >= 1) against mpmath at 60 digits."""
    rng = np.random.default_rng(1)
    x = np.concatenate([1.0 + rng.exponential(3.0, 2000), rng.uniform(1.0, 1.0 + 1e-6, 300),
                        rng.uniform(1.40, 1.43, 300), np.exp(rng.uniform(0.0, 700.0, 300)),
                        [1.0, np.nextafter(1.0, 2.0), math.sqrt(2.0),
                         np.nextafter(math.sqrt(2.0), 2), 2.0, 3.0, 2.0**31, 1e300,
                         np.finfo(float).max]])
    got = np.empty_like(x)
    kfit._log_ge1_array(x, got)
    assert got[len(x) - 9] == 0.0                       # log(1) = 0 exactly
    with mpmath.workdps(60):
        for v, g in zip(x, got):
            want = mpmath.log(mpmath.mpf(float(v)))
            if want != 0:
                assert abs(mpmath.mpf(float(g)) - want) <= np.spacing(float(want)), v


def _local(parallel):
    """The kernel as the Adam loop runs it on samples sorted by x (d = 1): negligible
    terms skipped on each sub-block."""
    inner = kfit._loss_grad_par if parallel else kfit._loss_grad_ser

    def kernel(X, y, W, b, eps, f, gW, gb):
        XT = kfit._transposed(X)
        return inner(X, XT, kfit._coord_ranges(XT, X.shape[1]), y, W, b, eps, f, gW, gb, True)
    return kernel


def _check_against_twin(M, N, d, eps, seed, local=False):
    rng = np.random.default_rng(seed)
    X, y, W, b = _problem(rng, M, N, d)
    if local:                                         # sorted samples, skipping on
        X = np.sort(X, axis=0)
    want = _run(kref.lse_fit_loss_grad, X, y, W, b, eps)
    got = _run(_local(True) if local else kfit.lse_fit_loss_grad, X, y, W, b, eps)
    serial = _run(_local(False) if local else kfit.lse_fit_loss_grad_serial, X, y, W, b, eps)
    for a, s in zip(got, serial):                     # threads change nothing, bit for bit
        assert np.array_equal(a, s)
    Z = X @ W.T + b
    zmax = np.abs(Z).max()
    r = np.abs(want[1] - y)
    budget = (N + d + 8) * U
    # f = m + eps*log s: errors relative to |z| and eps*log N
    tol_f = budget * (zmax + eps * math.log(N) + 1.0) * 4
    assert np.abs(got[1] - want[1]).max() <= tol_f
    # loss: sums of r^2; each r carries the error of f
    assert abs(got[0] - want[0]) <= np.mean(r) * tol_f + M * U * want[0] * 4 + 1e-300
    # gradient: mean of r*pi*x; errors from r (tol_f), pi (budget) and the sums (M u)
    xs = np.abs(X).max()
    tol_g = (tol_f + (r.mean() + tol_f) * (budget + M * U)) * max(xs, 1.0) * 4
    assert np.abs(got[2] - want[2]).max() <= tol_g
    assert np.abs(got[3] - want[3]).max() <= tol_g


@settings(max_examples=25)
@given(M=st.integers(1, 70), N=st.integers(1, 12), d=st.integers(1, 4),
       eps=st.sampled_from([1e-3, 0.05, 0.7, 30.0]), seed=st.integers(0, 2**32 - 1))
def test_kernel_matches_numpy_twin(M, N, d, eps, seed):
    """Same sums in another order: agreement to a rounding budget of (N + d + 8) u per term."""
    _check_against_twin(M, N, d, eps, seed)


@settings(max_examples=15)
@given(M=st.integers(1, 600), N=st.integers(1, 70), eps=st.sampled_from([1e-3, 1 / 64, 0.25]),
       scale=st.sampled_from([1.0, 30.0]), seed=st.integers(0, 2**32 - 1))
def test_skipping_negligible_terms_keeps_the_twin_budget(M, N, eps, scale, seed):
    """d = 1, samples sorted (as the Adam loop runs them): terms below exp(-45)/N on a
    whole sub-block are skipped; the result stays within the same budget."""
    _check_against_twin(M, N, 1, eps, seed, local=True)


def test_skipping_at_eps_zero_is_exact():
    """eps = 0: only terms below the maximum on the whole sub-block are skipped, whose
    weights are exactly 0: bit for bit the result without skipping."""
    rng = np.random.default_rng(4)
    X, y, W, b = _problem(rng, 700, 40, 1, scale=3.0)
    X = np.sort(X, axis=0)
    a = _run(_local(False), X, y, W, b, 0.0)
    c = _run(kfit.lse_fit_loss_grad_serial, X, y, W, b, 0.0)
    for u, v in zip(a, c):
        assert np.array_equal(u, v)


@pytest.mark.parametrize("M, N, d, eps", [
    (203, kfit._SAMPLE_LANES_BELOW - 1, 1, 0.05), (203, kfit._SAMPLE_LANES_BELOW - 1, 5, 0.7),
    (150, kfit._SAMPLE_LANES_BELOW, 2, 1e-3), (97, kfit._SAMPLE_LANES_BELOW + 3, 3, 30.0),
    (1100, 20, 4, 0.05), (1100, 21, 3, 0.05), (40, 5, 9, 0.7),
    (100, kfit._SAMPLE_LANES_BELOW, 3, 30.0)])
def test_both_layouts_match_numpy_twin(M, N, d, eps):
    """Both layouts of the kernel (samples in the lanes below _SAMPLE_LANES_BELOW terms,
    terms in the lanes from there on), sub-blocks cut short, d padded: the same budget."""
    _check_against_twin(M, N, d, eps, 11)


def _mp_loss(X, y, W, b, eps):
    M = X.shape[0]
    tot = mpmath.mpf(0)
    for i in range(M):
        z = [mpmath.fsum(mpmath.mpf(W[j, k]) * mpmath.mpf(X[i, k]) for k in range(X.shape[1]))
             + mpmath.mpf(b[j]) for j in range(W.shape[0])]
        m = max(z)
        f = m + eps * mpmath.log(mpmath.fsum(mpmath.exp((zj - m) / eps) for zj in z))
        tot += (f - mpmath.mpf(y[i])) ** 2
    return tot / (2 * M)


@pytest.mark.parametrize("eps", [0.05, 0.5, 4.0])
def test_gradient_against_mpmath_central_differences(eps):
    """Central differences at 50 digits with step 1e-20: truncation ~1e-40 |L'''|,
    cancellation ~1e-50/1e-20: the quotient is exact to ~1e-30, far below the
    float64 rounding of the kernel, whose own budget is the tolerance."""
    rng = np.random.default_rng(7)
    X, y, W, b = _problem(rng, 9, 4, 2)
    loss, f, gW, gb = _run(kfit.lse_fit_loss_grad, X, y, W, b, eps)
    epsm = mpmath.mpf(eps)
    hstep = mpmath.mpf("1e-20")
    with mpmath.workdps(50):
        L0 = _mp_loss(X, y, W, b, epsm)
        assert abs(float(L0) - loss) <= 64 * U * float(L0) + 1e-300
        theta = [mpmath.mpf(v) for v in np.concatenate([W.ravel(), b])]
        num = []
        for p in range(len(theta)):
            def L_at(delta):
                th = list(theta)
                th[p] += delta
                Wm = np.array(th[:8], dtype=object).reshape(4, 2)
                bm = np.array(th[8:], dtype=object)
                return _mp_loss(X, y, Wm, bm, epsm)
            num.append((L_at(hstep) - L_at(-hstep)) / (2 * hstep))
    got = np.concatenate([gW.ravel(), gb])
    want = np.array([float(v) for v in num])
    # float64 kernel: each gradient entry is a mean of r*pi*x with |r| <= R, |x| <= 2;
    # relative rounding of r (~|f|/|r| ulps, the cancellation f - y), pi and the sum
    R = np.abs(f - y).max()
    tol = 64 * U * (np.abs(f).max() + R + 1.0) * 2.0
    assert np.abs(got - want).max() <= tol, (got - want)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_eps_to_zero_against_argmax_kernel(d):
    """eps -> 0: f within [f_0, f_0 + eps log N] and the gradient within the bound
    from |pi_eps - pi_0|_1 <= 2 (N - 1) exp(-gap/eps) (gap: top two terms); at
    eps <= 1e-8 the bits of eps = 0 (the same sums in the same order)."""
    rng = np.random.default_rng(3)
    X, y, W, b = _problem(rng, 203, 6, d)
    N = 6
    loss0, f0, gW0, gb0 = _run(kfit.lse_fit_loss_grad, X, y, W, b, 0.0)
    _, f0r, gW0r, gb0r = _run(kref.lse_fit_loss_grad, X, y, W, b, 0.0)
    Z = X @ W.T + b
    zs = np.sort(Z, axis=1)
    gap = zs[:, -1] - zs[:, -2]
    # z = b + W x in another order (and FMAs) than BLAS: (d + 2) u |terms| each, twice
    zerr = 2 * (d + 2) * U * (np.abs(X) @ np.abs(W).T + np.abs(b)).max()
    assert np.abs(f0 - Z.max(axis=1)).max() <= zerr and np.abs(f0 - f0r).max() <= zerr
    assert gap.min() > 1e3 * zerr                          # the argmax is the same term
    np.testing.assert_allclose(gb0, gb0r, rtol=0, atol=zerr + 8 * U * np.abs(gb0r).max())
    # 8.02e-309 and 7e-309: 1/eps finite but log2(e)/eps not, so the division path
    for eps in (1e-2, 1e-3, 1e-8, 1e-300, 8.1e-309, 8.02e-309, 7e-309, 5e-324):
        loss, f, gW, gb = _run(kfit.lse_fit_loss_grad, X, y, W, b, eps)
        assert np.all(f >= f0) and np.all(f - f0 <= eps * math.log(N) * (1 + 1e-12))
        r0, r = f0 - y, f - y
        with np.errstate(under="ignore", over="ignore"):
            dpi = 2 * (N - 1) * np.exp(-gap / eps)
        bound_b = (np.abs(r) * dpi + np.abs(r - r0)).mean() + 8 * U * np.abs(r).mean()
        assert np.abs(gb - gb0).max() <= bound_b
        assert np.abs(gW - gW0).max() <= 2.0 * bound_b    # |x| <= 2
        if eps <= 1e-8:                                    # every other term is exactly 0
            assert np.array_equal(gb, gb0) and np.array_equal(f, f0)


def test_eps_zero_tie_gives_uniform_weights():
    """Two equal rows: at eps = 0 the subgradient splits the residual equally."""
    X = np.array([[0.5], [1.5]])
    y = np.array([0.0, 0.0])
    W = np.array([[1.0], [1.0], [-1.0]])
    b = np.array([0.0, 0.0, -5.0])
    for k in (kfit.lse_fit_loss_grad_serial, kref.lse_fit_loss_grad):
        loss, f, gW, gb = _run(k, X, y, W, b, 0.0)
        assert np.array_equal(f, [0.5, 1.5])
        assert loss == 0.25 * (0.25 + 2.25)
        assert gb[0] == gb[1] == 0.5 * 0.5 * (0.5 + 1.5) and gb[2] == 0.0
        assert gW[0, 0] == gW[1, 0] == 0.25 * (0.25 + 2.25) and gW[2, 0] == 0.0


@pytest.mark.parametrize("eps", [0.0, 1e-300, 8.1e-309, 8.02e-309, 7e-309])
def test_eps_zero_tie_gives_uniform_weights_in_the_wide_layout(eps):
    """The same tie with N >= _SAMPLE_LANES_BELOW terms (terms in the vector lanes); at
    a tiny eps > 0 the same numbers exactly (the tied terms are exp(0) = 1, the others
    flushed to 0), also where 1/eps is finite but log2(e)/eps overflows (8.02e-309,
    7e-309: the division path)."""
    N = 2 + (1 << (kfit._SAMPLE_LANES_BELOW - 1).bit_length())   # N - 2: a power of 2
    X = np.array([[0.5], [1.5], [-2.0], [-2.0]])
    y = np.zeros(4)
    W = np.full((N, 1), -1.0)
    W[:2] = 1.0
    b = np.full(N, -1.5)
    b[:2] = 0.0
    for k in (kfit.lse_fit_loss_grad_serial, kfit.lse_fit_loss_grad):
        loss, f, gW, gb = _run(k, X, y, W, b, eps)
        assert np.array_equal(f, [0.5, 1.5, 0.5, 0.5])
        assert loss == 0.5 * (0.25 + 2.25 + 0.25 + 0.25) / 4
        assert gb[0] == gb[1] == (0.5 * 0.5 + 0.5 * 1.5) / 4
        assert np.all(gb[2:] == 2 * 0.5 / (N - 2) / 4)
        assert gW[0, 0] == gW[1, 0] == (0.25 * 0.5 + 0.75 * 1.5) / 4
        assert np.all(gW[2:, 0] == 2 * -2.0 * 0.5 / (N - 2) / 4)


# ----------------------------------------------------------------------------- fit
def _planted(seed=1, N=4, d=2, eps=0.3, M=300):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(N, d))
    b = rng.normal(size=N) * 0.5
    layer = LSELayer(W, b, eps)
    X = rng.uniform(-2, 2, size=(M, d))
    Xt = rng.uniform(-2, 2, size=(100, d))
    return layer, X, layer(X), Xt, rng


@pytest.mark.parametrize("method,iters,rel", [("lbfgs", 150, 1e-12), ("adam", 1200, 1e-8)])
def test_fit_recovers_planted_layer(method, iters, rel):
    """Data generated by a layer with the same N: from a nearby start the loss goes
    to ~0 relative to the planted problem's scale 0.5*Var(y) (the constant predictor)."""
    planted, X, y, Xt, rng = _planted()
    scale = 0.5 * y.var()
    start = LSELayer(planted.W + 0.15 * rng.normal(size=planted.W.shape),
                     planted.b + 0.15 * rng.normal(size=planted.N), planted.eps)
    res = fit(X, y, init=start, method=method, iterations=iters, lr=0.01)
    assert res.loss <= rel * scale, res
    assert res.loss == min(res.loss_history)
    assert res.loss_history[0] > 100 * res.loss
    # function values at held-out points: as good as on the training points
    rms_train = math.sqrt(2 * res.loss)
    rms_test = math.sqrt(np.mean((res.layer(Xt) - planted(Xt)) ** 2))
    assert rms_test <= 3 * rms_train + 1e-12
    # the reported loss is the layer's loss
    assert res.loss == pytest.approx(0.5 * np.mean((res.layer(X) - y) ** 2), rel=1e-10)
    assert res.grad_norm >= 0 and res.method == method and not res.interrupted


def test_fit_from_default_init_reaches_small_loss_both_methods():
    planted, X, y, Xt, rng = _planted(seed=5, N=3, d=1, eps=0.2)
    scale = 0.5 * y.var()
    for method, iters in (("lbfgs", 60), ("adam", 400)):
        res = fit(X, y, 3, 0.2, method=method, iterations=iters, lr=0.02, seed=0)
        assert res.loss <= 1e-3 * scale, (method, res)


def test_lbfgs_history_is_monotone_and_adam_history_has_every_iterate():
    planted, X, y, Xt, rng = _planted(seed=2, N=5, d=2, eps=0.5)
    res = fit(X, y, 5, 0.5, method="lbfgs", iterations=50, seed=1)
    h = res.loss_history
    assert np.all(np.diff(h) <= 0) and len(h) == res.iterations + 1
    res = fit(X, y, 5, 0.5, method="adam", iterations=37, seed=1)
    assert len(res.loss_history) == 38 and res.iterations == 37 and res.evaluations == 38


def test_same_seed_same_result_and_tol_stops():
    planted, X, y, Xt, rng = _planted(seed=4)
    a = fit(X, y, 4, 0.3, iterations=20, seed=11)
    b = fit(X, y, 4, 0.3, iterations=20, seed=11)
    assert a.layer == b.layer and np.array_equal(a.loss_history, b.loss_history)
    res = fit(X, y, init=planted, iterations=100, tol=1e-6)
    assert res.iterations == 0 and "tol" in res.message and res.loss < 1e-25


def test_fit_eps_zero_adam_uses_subgradient():
    """eps = 0 (max-plus layer): Adam on the subgradient still fits a planted layer."""
    planted, X, y, Xt, rng = _planted(seed=8, N=3, d=1, eps=0.0)
    start = LSELayer(planted.W + 0.1, planted.b - 0.1, 0.0)
    res = fit(X, y, init=start, method="adam", iterations=1500, lr=0.005)
    assert res.loss <= 1e-3 * res.loss_history[0]
    assert res.layer.eps == 0.0


def test_parallel_and_serial_fits_agree_bitwise():
    planted, X, y, Xt, rng = _planted(seed=6)
    a = fit(X, y, 4, 0.3, iterations=15, seed=2, parallel=True)
    b = fit(X, y, 4, 0.3, iterations=15, seed=2, parallel=False)
    assert a.settings["parallel"] and not b.settings["parallel"]
    assert a.layer == b.layer and np.array_equal(a.loss_history, b.loss_history)


def test_ctrl_c_keeps_best_parameters_lbfgs(monkeypatch):
    planted, X, y, Xt, rng = _planted(seed=9)
    real = tfit._loss_grad_kernel
    calls = []

    def fake(work, parallel):
        kernel, par = real(work, parallel)

        def wrapped(*args):
            calls.append(1)
            if len(calls) == 12:
                raise KeyboardInterrupt
            return kernel(*args)
        return wrapped, par

    monkeypatch.setattr(tfit, "_loss_grad_kernel", fake)
    res = fit(X, y, 4, 0.3, method="lbfgs", iterations=100, seed=0)
    assert res.interrupted and "interrupted" in res.message
    assert res.evaluations == 11
    assert res.loss <= min(res.loss_history)
    assert res.loss == pytest.approx(0.5 * np.mean((res.layer(X) - y) ** 2), rel=1e-12)
    assert "interrupted=True" in repr(res)


def test_ctrl_c_keeps_best_parameters_adam(monkeypatch):
    """Adam runs in chunks of iterations (one kernel call each); Ctrl-C is seen
    between chunks and the best iterate so far is returned."""
    planted, X, y, Xt, rng = _planted(seed=9)
    real = tfit._adam_chunk
    calls = []

    def fake(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(tfit, "_adam_chunk", fake)
    res = fit(X, y, 4, 0.3, method="adam", iterations=10**6, seed=0, lr=0.05)
    assert res.interrupted and "interrupted" in res.message
    assert res.evaluations == len(res.loss_history) == res.iterations >= 9
    assert res.loss == min(res.loss_history)
    assert res.loss == pytest.approx(0.5 * np.mean((res.layer(X) - y) ** 2), rel=1e-12)


def test_adam_kernel_matches_its_numpy_twin():
    """The chunked Adam kernel and the numpy twin: same iterates up to rounding."""
    planted, X, y, Xt, rng = _planted(seed=12)
    out = []
    for mod in (kfit, kref):
        W, b = planted.W + 0.3, planted.b.copy()
        st_ = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)]
        bestW, bestb, best = W.copy(), b.copy(), np.array([np.inf, np.nan])
        hist = np.empty(50)
        M, d = X.shape
        done, status = mod.lse_fit_adam(X, y, W, b, 0.3, 0.01, 0, 50, 0.0, False, *st_, bestW,
                                        bestb, best, hist, np.empty(M), np.empty((4, d)),
                                        np.empty(4))
        assert (done, status) == (50, 0)
        out.append((W, b, hist, best))
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-10)
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-9, atol=1e-12)
    assert out[0][3][0] == out[0][2].min()


def test_adam_kernel_d1_sorts_skips_and_matches_its_numpy_twin():
    """d = 1 at a small eps: the kernel sorts the samples and skips negligible terms;
    same iterates as the twin up to rounding, f back in the caller's order."""
    rng = np.random.default_rng(8)
    M, N, eps = 2048, 24, 1 / 64
    X = rng.uniform(-2, 2, size=(M, 1))
    y = np.abs(X[:, 0])
    W0 = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)[:, None] * rng.uniform(0.5, 1.0, (N, 1))
    b0 = rng.normal(size=N) * 0.1
    # the test means something: some (sub-block, term) pairs of the sorted samples skip
    _, _, nblocks, size = kfit._blocks(M, eps)
    B = kfit._sub_block(N, size)
    G = np.sort(X, axis=0) @ W0.T + b0
    G -= G.max(axis=1, keepdims=True)
    gmax = np.array([G[i:i + B].max(axis=0) for i in range(0, M, B)])   # size % B == 0 here
    assert size % B == 0 and np.mean(gmax < -(kfit._SKIP_T + math.log(N)) * eps) > 0.2
    assert kfit._skip_pays(X, N, eps)
    out = []
    for mod in (kfit, kref):
        W, b = W0.copy(), b0.copy()
        st_ = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)]
        bestW, bestb, best = W.copy(), b.copy(), np.array([np.inf, np.nan])
        hist, f = np.empty(40), np.empty(M)
        done, status = mod.lse_fit_adam(X, y, W, b, eps, 0.01, 0, 40, 0.0, False, *st_, bestW,
                                        bestb, best, hist, f, np.empty((N, 1)), np.empty(N))
        assert (done, status) == (40, 0)
        out.append((W, b, hist, f))
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-10)
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out[0][3], out[1][3], rtol=1e-12, atol=1e-12)


def test_fit_result_json_and_repr():
    planted, X, y, Xt, rng = _planted()
    res = fit(X, y, 4, 0.3, iterations=10, seed=0)
    again = FitResult.from_json(res.to_json())
    assert again.layer == res.layer and np.array_equal(again.loss_history, res.loss_history)
    assert again.settings == res.settings and again.message == res.message
    assert repr(res).startswith("FitResult(method='adam', N=4, d=2, eps=0.3, loss=")
    with pytest.raises(ValueError, match="FitResult"):
        FitResult.from_json(json.dumps({"type": "other"}))


def test_fit_bad_inputs():
    X = np.zeros((5, 2))
    y = np.zeros(5)
    with pytest.raises(ValueError, match="X contains NaN"):
        fit(np.array([[np.nan, 0.0]]), [0.0], 2, 0.1)
    with pytest.raises(ValueError, match="X must be finite"):
        fit(np.array([[np.inf, 0.0]]), [0.0], 2, 0.1)
    with pytest.raises(ValueError, match="y must have shape"):
        fit(X, np.zeros(4), 2, 0.1)
    with pytest.raises(ValueError, match="X must have shape"):
        fit(np.zeros((0, 2)), np.zeros(0), 2, 0.1)
    with pytest.raises(ValueError, match="ragged"):
        fit([[1.0, 2.0], [1.0]], [0.0, 0.0], 2, 0.1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fit(X, y, 2, -0.1)
    with pytest.raises(ValueError, match="eps is required"):
        fit(X, y, 2)
    with pytest.raises(ValueError, match="n_terms is required"):
        fit(X, y, eps=0.1)
    with pytest.raises(ValueError, match="n_terms must be >= 1"):
        fit(X, y, 0, 0.1)
    with pytest.raises(ValueError, match="method must be one of"):
        fit(X, y, 2, 0.1, method="sgd")
    with pytest.raises(ValueError, match="init must be one of"):
        fit(X, y, 2, 0.1, init="zeros")
    with pytest.raises(ValueError, match="iterations must be >= 0"):
        fit(X, y, 2, 0.1, iterations=-1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        fit(X, y, 2, 0.1, lr=0.0)
    with pytest.raises(TypeError, match="iterations must be an integer"):
        fit(X, y, 2, 0.1, iterations=2.5)
    layer = LSELayer([[1.0]], [0.0], 0.1)
    with pytest.raises(ValueError, match="init has d = 1"):
        fit(X, y, init=layer)
    with pytest.raises(ValueError, match="does not match init.N"):
        fit(X[:, :1], y, 3, init=layer)
    with pytest.raises(TypeError, match="parallel must be a bool"):
        fit(X, y, 2, 0.1, parallel="yes")
    with pytest.raises(FloatingPointError, match="diverged"):
        fit(np.array([[0.0], [1.0]]), np.array([0.0, 1e200]), 1, 0.1, iterations=3, seed=0)


# ----------------------------------------------------------------------------- quadrature
def _hopf_lax_norm(x, t):
    """U(x, t) for g = |y|: |x|^2/(4t) inside the ball |x| <= 2t, |x| - t outside."""
    r = np.linalg.norm(x, axis=-1)
    return np.where(r <= 2 * t, r * r / (4 * t), r - t)


@pytest.mark.parametrize("d,h", [(1, 0.2), (2, 0.25)])
@pytest.mark.parametrize("eps", [0.0, 0.01, 0.2])
def test_quadrature_layer_within_its_bound(d, h, eps):
    t = 0.5
    q = quadrature_layer(lambda Y: np.linalg.norm(Y, axis=1), eps, t, box=(-3.0, 3.0), h=h,
                         lipschitz=1.0, d=d)
    # built on HopfCole.from_initial_data: the same layer, bit for bit
    hc = HopfCole.from_initial_data(lambda Y: np.linalg.norm(Y, axis=1), 1.0, eps,
                                    box=(np.full(d, -3.0), np.full(d, 3.0)), h=h)
    assert q.layer == hc.to_network(t)
    rng = np.random.default_rng(d)
    x = rng.uniform(-2.0, 2.0, size=(400, d))
    F = np.einsum("ij,ij->i", x, x) / (4 * t) - _hopf_lax_norm(x, t)
    lo, hi = q.bound(x)
    gap = q.layer(x) - F
    inside = np.isfinite(lo)
    assert inside.sum() > 100
    # 1e-12: rounding of layer(x) and F(x), values of size <= 10 (a few hundred ulps)
    assert np.all(gap[inside] >= lo[inside] - 1e-12) and np.all(gap <= hi + 1e-12)
    assert np.all(hi == eps * math.log(q.layer.N))


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("eps", [0.05, 0.02])
def test_weighted_quadrature_has_the_closed_form_viscous_bias(d, eps):
    """g = a|y|^2/2: the viscous solution is U_0 + (eps d/2) log(1 + 2at) exactly
    (Gaussian integral), so layer - F_0 = -(eps d/2) log(1 + 2at) up to the Riemann
    error of the grid, 2 exp(-2 pi^2 sigma^2/h^2) relative, sigma^2 = eps/(a + 1/(2t))."""
    a, t, h = 1.0, 0.5, 0.05
    q = quadrature_layer(lambda Y: a * (Y ** 2).sum(axis=1) / 2, eps, t, box=(-2.5, 2.5), h=h,
                         weighted=True, d=d)
    x = np.random.default_rng(0).uniform(-1, 1, size=(50, d))
    r2 = (x * x).sum(axis=1)
    F0 = r2 / (4 * t) - a * r2 / (2 * (1 + 2 * a * t))
    bias = -(eps * d / 2) * math.log(1 + 2 * a * t)
    sigma2 = eps / (a + 1 / (2 * t))
    riemann = 2 * d * math.exp(-2 * math.pi ** 2 * sigma2 / h ** 2) * eps
    assert np.abs(q.layer(x) - F0 - bias).max() <= riemann + 1e-12
    with pytest.raises(ValueError, match="no bound is claimed"):
        q.bound(x)


def test_quadrature_layer_points_unknown_lipschitz_json_and_bad_inputs():
    pts = np.linspace(-1, 1, 11)[:, None]
    q = quadrature_layer(lambda Y: Y[:, 0] ** 2, 0.1, 1.0, points=pts, covering_radius=0.1)
    lo, hi = q.bound([[0.0], [0.5]])
    assert np.all(np.isinf(lo)) and np.all(hi == 0.1 * math.log(11))
    again = QuadratureLayer.from_json(q.to_json())
    assert again.layer == q.layer and again.model == q.model and again.t == q.t
    assert "QuadratureLayer(N=11, d=1" in repr(q)
    with pytest.raises(ValueError, match="t must be > 0"):
        quadrature_layer(lambda Y: Y[:, 0], 0.1, 0.0, points=pts)
    with pytest.raises(TypeError, match="weighted must be a bool"):
        quadrature_layer(lambda Y: Y[:, 0], 0.1, 1.0, points=pts, weighted=1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        quadrature_layer(lambda Y: Y[:, 0], -1.0, 1.0, points=pts)
    with pytest.raises(ValueError, match="lipschitz must be >= 0"):
        quadrature_layer(lambda Y: Y[:, 0], 0.1, 1.0, points=pts, lipschitz=-1.0)
    with pytest.raises(ValueError, match="non-finite"):
        quadrature_layer(lambda Y: np.full(len(Y), np.nan), 0.1, 1.0, points=pts)
    with pytest.raises(ValueError, match="needs points, or a box"):
        quadrature_layer(lambda Y: Y[:, 0], 0.1, 1.0)


# ----------------------------------------------------------------------------- scaling
def test_scaling_quadrature_recovers_the_smoothing_exponent_exactly():
    """Weighted quadrature of g = |y|^2/2 at t = 1/2 with eps = N^(-1/d): the error
    is (eps d/2) log 2 at every x up to the Riemann error of the grid (relative
    2 d exp(-2 pi^2 sigma^2/h^2), sigma^2 = eps/2), so log(error) is linear in
    log N with slope -1/d up to that relative error."""
    for d, Ns in ((1, (33, 65, 129)), (2, (400, 900, 1600))):
        res = scaling_experiment(lambda X: (X ** 2).sum(axis=1) / 4, dims=(d,), Ns=Ns,
                                 mode="quadrature", t=0.5,
                                 initial_data=lambda Y: (Y ** 2).sum(axis=1) / 2,
                                 box=(-1.0, 1.0), quadrature_box=(-1.5, 1.5), n_test=100)
        assert tuple(res.Ns[d]) == Ns
        eps = res.eps[d]
        h = 3.0 / (np.array([round(N ** (1 / d)) for N in Ns]) - 1)
        rel = 2 * d * np.exp(-2 * math.pi ** 2 * (eps / 2) / h ** 2) + 1e-12
        predicted = eps * d / 2 * math.log(2.0)
        assert np.all(np.abs(res.errors[d][:, 0] - predicted) <= rel * eps)
        assert np.all(np.abs(res.max_errors[d][:, 0] - predicted) <= rel * eps)
        # log error_k = a - log(N_k)/d + delta_k, |delta_k| <= 1.01 rel_k: the OLS slope
        # moves by sum (x_k - mean x) delta_k / Sxx at most
        x = np.log(np.array(Ns, float))
        xc = x - x.mean()
        shift = 1.01 * (np.abs(xc) * rel).sum() / (xc ** 2).sum()
        assert abs(res.exponent[d] + 1.0 / d) <= shift + 1e-12
        lo, hi = res.interval[d]
        assert lo <= -1.0 / d <= hi


@pytest.mark.parametrize("d,Ns", [(1, (8, 16, 32, 64)), (2, (64, 144, 400, 900))])
def test_scaling_quadrature_recovers_the_resolution_exponent(d, Ns):
    """eps = 0, plain samples of a linear g = a.y: the error at x is exactly
    dist(y*, grid)^2/(4t), y* = x - 2ta, so the RMS error is C h^2 in
    distribution; h = width/(nodes - 1) with nodes = N^(1/d), so the exponent in N
    is the OLS slope of log h^2 on log N over these grids (-2/d asymptotically)."""
    t = 0.5
    avec = np.full(d, 0.3)
    F = lambda X: (X ** 2).sum(axis=1) / (4 * t) - (X @ avec - t * avec @ avec)   # noqa: E731
    res = scaling_experiment(F, dims=(d,), Ns=Ns, mode="quadrature", t=t, eps_rule=0.0,
                             weighted=False, initial_data=lambda Y: Y @ avec,
                             box=(-1.0, 1.0), quadrature_box=(-1.5, 1.5), n_test=400,
                             repeats=4, seed=2)
    nodes = np.array([round(N ** (1 / d)) for N in Ns])
    hs = 3.0 / (nodes - 1)
    expected = tfit._slope_fit(np.log(nodes ** d), 2 * np.log(hs))[0]
    lo, hi = res.interval[d]
    assert lo <= expected <= hi, (expected, res)
    assert hi - lo < 0.2                                      # and the interval is informative
    # the max error never exceeds the worst case d h^2/(16 t) (cell centre)
    assert np.all(res.max_errors[d] <= (d * hs ** 2 / (16 * t))[:, None] * (1 + 1e-9))


def test_scaling_bootstrap_interval_and_fit_mode_result():
    res = scaling_experiment("norm", dims=(1, 2), Ns=(2, 4, 8), mode="fit", method="adam",
                             iterations=300, lr=0.05, n_train=300, n_test=200, repeats=3,
                             ci="bootstrap", seed=1)
    for d in (1, 2):
        assert res.errors[d].shape == (3, 3) and np.isfinite(res.errors[d]).all()
        assert np.all(res.max_errors[d] >= res.errors[d])
        lo, hi = res.interval[d]
        assert lo <= hi and np.isfinite(res.train_loss[d]).all()
        np.testing.assert_allclose(res.eps[d], np.array([2, 4, 8.0]) ** (-1 / d))
    # more terms fit ||x|| better (d = 1: the kink is resolved at rate ~ eps)
    assert res.exponent[1] < -0.3
    again = ScalingResult.from_json(res.to_json())
    assert again.dims == res.dims and again.exponent == res.exponent
    assert again.interval == res.interval and np.array_equal(again.errors[2], res.errors[2])
    assert "ScalingResult(mode='fit', dims=(1, 2), exponent={1: " in repr(res)
    assert "d = 2: s(RMS)" in str(res)
    pytest.importorskip("matplotlib")
    fig = res.plot()
    assert len(fig.axes[0].lines) >= 4
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_scaling_ambient_embedding_keeps_the_errors_of_the_intrinsic_problem():
    """A random isometry of R^d into R^D changes nothing for ||x|| except the optimiser's
    path: the errors stay finite and of the same order."""
    kw = dict(dims=(1,), Ns=(2, 4, 8), mode="fit", method="adam", iterations=300, lr=0.05,
              n_train=300, n_test=200, seed=3)
    a = scaling_experiment("norm", **kw)
    b = scaling_experiment("norm", ambient_dim=3, **kw)
    assert np.all(b.errors[1] < 3 * a.errors[1] + 0.05)


def test_scaling_interrupt_returns_partial(monkeypatch):
    calls = []
    real = tfit.quadrature_layer

    def fake(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tfit, "quadrature_layer", fake)
    res = scaling_experiment(lambda X: X[:, 0], dims=(1,), Ns=(4, 8, 16, 32),
                             mode="quadrature", initial_data=lambda Y: Y[:, 0])
    assert res.interrupted and np.isnan(res.errors[1][2:]).all()
    assert np.isfinite(res.errors[1][:2]).all() and math.isfinite(res.exponent[1])
    assert "INCOMPLETE" in str(res)


def test_scaling_workers_give_the_same_result():
    """Every fit draws its seed before any runs: one thread or three, same numbers."""
    kw = dict(dims=(1, 2), Ns=(2, 4, 8), mode="fit", method="adam", iterations=60, lr=0.05,
              n_train=200, n_test=100, repeats=2, seed=5)
    a = scaling_experiment("norm", workers=1, **kw)
    b = scaling_experiment("norm", workers=3, **kw)
    for d in (1, 2):
        for name in ("errors", "max_errors", "train_loss", "eps"):
            assert np.array_equal(getattr(a, name)[d], getattr(b, name)[d]), (d, name)
    assert a.exponent == b.exponent and a.interval == b.interval


def _interrupting_fit(monkeypatch, how):
    """A stand-in for fit: N = 64 and 32 (the largest, started first) finish; N = 16 then
    raises Ctrl-C inside its worker (``how = "worker"``) or sends it to the main thread
    (``"main"``); smaller fits block until the stop event and are dropped."""
    import _thread
    import threading

    real = tfit.fit
    finished = {64: threading.Event(), 32: threading.Event()}
    started = []

    def fake(X, y, N, eps, **kwargs):
        started.append(N)
        if N == 16:
            assert finished[64].wait(30) and finished[32].wait(30)
            if how == "worker":
                raise KeyboardInterrupt
            _thread.interrupt_main()
        if N <= 16:                    # still running when Ctrl-C comes
            assert tfit._worker.stop.wait(30)
        r = real(X, y, N, eps, **kwargs)
        if N in finished:
            finished[N].set()
        return r

    monkeypatch.setattr(tfit, "fit", fake)
    return started


@pytest.mark.parametrize("how", ["worker", "main"])
def test_scaling_workers_interrupt_keeps_finished_fits(monkeypatch, how):
    """Ctrl-C (inside a fit on a worker thread, or in the main thread while it waits): the
    experiment stops, fits running on other threads stop at their next chunk and are
    dropped, queued fits never start, and the finished fits are kept with the values of
    an uninterrupted run."""
    kw = dict(dims=(1,), Ns=(2, 4, 16, 32, 64), mode="fit", method="adam", iterations=40,
              lr=0.05, n_train=200, n_test=100, seed=2)
    full = scaling_experiment("norm", workers=1, **kw)
    started = _interrupting_fit(monkeypatch, how)
    res = scaling_experiment("norm", workers=2, **kw)
    assert res.interrupted and "INCOMPLETE" in str(res)
    e = res.errors[1][:, 0]
    assert np.array_equal(e[3:], full.errors[1][3:, 0])
    assert np.isnan(e[:3]).all()
    assert started[:2] in ([64, 32], [32, 64])      # the largest first
    assert 2 not in started                          # queued when Ctrl-C came: never run


def test_scaling_workers_never_run_parallel_regions_concurrently():
    """Under Numba's workqueue threading layer two parallel regions at once abort the
    process: the worker threads run only serial kernels (the test errors, whose kernel
    is parallel, are evaluated on the calling thread)."""
    code = ("from tropical.fit import scaling_experiment\n"
            "r = scaling_experiment('norm', dims=(1, 2), Ns=(2, 4, 8), mode='fit', "
            "method='adam', iterations=30, n_train=200, n_test=100, repeats=2, seed=5, "
            "workers=3)\n"
            "print(int(r.errors[1].size + r.errors[2].size))\n")
    env = dict(__import__("os").environ, NUMBA_THREADING_LAYER="workqueue",
               NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "12"


def test_scaling_bad_inputs():
    g = lambda Y: Y[:, 0]                                   # noqa: E731
    with pytest.raises(ValueError, match="mode must be"):
        scaling_experiment("norm", mode="train")
    with pytest.raises(ValueError, match="target must be a callable or one of"):
        scaling_experiment("sqrt(x)")
    with pytest.raises(TypeError, match="target must be a callable"):
        scaling_experiment(3.0)
    with pytest.raises(ValueError, match="eps_rule must be one of"):
        scaling_experiment("norm", eps_rule="__import__('os').getcwd()")
    with pytest.raises(ValueError, match="eps_rule must be >= 0"):
        scaling_experiment("norm", eps_rule=-1.0)
    with pytest.raises(ValueError, match="eps_rule\\(N, d\\) must be a real number"):
        scaling_experiment("norm", eps_rule=lambda N, d: float("nan"))
    with pytest.raises(ValueError, match="bootstrap"):
        scaling_experiment("norm", ci="bootstrap", repeats=1)
    with pytest.raises(ValueError, match="ci must be"):
        scaling_experiment("norm", ci="normal")
    with pytest.raises(ValueError, match="level must be in"):
        scaling_experiment("norm", level=1.0)
    with pytest.raises(ValueError, match="dims is empty"):
        scaling_experiment("norm", dims=())
    with pytest.raises(ValueError, match="exclude each other"):
        scaling_experiment("norm", parallel=True, workers=2)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        scaling_experiment("norm", workers=0)
    with pytest.raises(TypeError, match="parallel must be a bool"):
        scaling_experiment("norm", parallel="yes")
    with pytest.raises(ValueError, match="only mode='fit' runs on several threads"):
        scaling_experiment(lambda X: X[:, 0], mode="quadrature", initial_data=g, workers=2)
    with pytest.raises(ValueError, match="must not repeat"):
        scaling_experiment("norm", Ns=(4, 4))
    with pytest.raises(ValueError, match="dims must be >= 1"):
        scaling_experiment("norm", dims=(0,))
    with pytest.raises(ValueError, match="needs initial_data"):
        scaling_experiment("norm", mode="quadrature")
    with pytest.raises(ValueError, match="ambient_dim applies"):
        scaling_experiment("norm", mode="quadrature", initial_data=g, ambient_dim=3)
    with pytest.raises(ValueError, match="below max\\(dims\\)"):
        scaling_experiment("norm", dims=(2,), ambient_dim=1)
    with pytest.raises(ValueError, match="box must have lo < hi"):
        scaling_experiment("norm", box=(1.0, -1.0))
    with pytest.raises(ValueError, match="target\\(X\\) must return"):
        scaling_experiment(lambda X: X, dims=(2,), Ns=(2, 3), iterations=1)
    with pytest.raises(ValueError, match="non-finite"):
        scaling_experiment(lambda X: np.full(len(X), np.inf), dims=(1,), Ns=(2, 3), iterations=1)


# ----------------------------------------------------------------------------- module
def test_import_loads_nothing_heavy():
    code = ("import sys, tropical.fit; "
            "bad = [m for m in ('numba', 'scipy', 'matplotlib', 'sympy') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_fit_runs_on_the_numpy_twins():
    """TROPICAL_JIT=0: fit (both methods) runs on the plain-numpy twins of the kernels."""
    code = ("import numpy as np; from tropical.fit import fit; "
            "X = np.linspace(-1, 1, 40)[:, None]; y = np.abs(X[:, 0]); "
            "a = fit(X, y, 2, 0.1, iterations=30, lr=0.05, seed=0); "
            "b = fit(X, y, 2, 0.1, method='lbfgs', iterations=30, seed=0); "
            "import sys; print(a.loss < a.loss_history[0], b.loss < b.loss_history[0], "
            "'numba' in sys.modules)")
    import os

    env = dict(os.environ, TROPICAL_JIT="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.strip()
    assert out == "True True False"


def test_registry_and_twin():
    from tropical.kernels import KERNEL_NAMES

    assert KERNEL_NAMES["lse_fit_loss_grad"] == "fit"
    assert KERNEL_NAMES["lse_fit_loss_grad_serial"] == "fit"
    assert hasattr(kref, "lse_fit_loss_grad") and hasattr(kref, "lse_fit_loss_grad_serial")


def test_doctests():
    result = doctest.testmod(tfit, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0

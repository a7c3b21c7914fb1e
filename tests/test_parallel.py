"""tropical.parallel: blockwise products, sweeps and sub-box regions on Dask.

References: the single-call kernel (``tropical.matmul``; eps = 0 results must
be bitwise equal for every chunking), the 50-digit mpmath product of
``tests/naive.py`` with the blockwise error budget stated in
:func:`tropical.parallel.matmul` (eps > 0), the single-process region
enumeration (patterns, adjacency, volumes, counts) and local sweeps. The
distributed tests share one ``LocalCluster`` (two single-threaded worker
processes on loopback) and are skipped without ``distributed``.
"""

from __future__ import annotations

import doctest
import logging
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import mp_abs_error, mp_matmul_exact

pytest.importorskip("dask")
import dask.array as da  # noqa: E402

import tropical  # noqa: E402
from tropical import parallel  # noqa: E402
from tropical.nets import Layer, Network  # noqa: E402
from tropical.regions import regions as regions_here  # noqa: E402

SENSES = {"max": 1, "min": -1}


def _data(rng, m, k, n, dtype, sense, zero_blocks=True):
    """Random A, B with semiring-zero blocks, a zero row of A and a zero column of B."""
    zero = -np.inf if sense == "max" else np.inf
    A = rng.standard_normal((m, k)) * 3
    B = rng.standard_normal((k, n)) * 3
    if zero_blocks:
        A[: m // 2, : k // 3] = zero          # a zero block of A
        B[k // 3: 2 * k // 3, n // 2:] = zero  # a zero block of B
        A[-1, :] = zero                         # an all-zero row: C row is zero
        B[:, 0] = zero
        A[1, :] = zero                          # exactly one finite term in C[1, :]
        A[1, k - 1] = 0.5
    return A.astype(dtype), B.astype(dtype)


# ---------------------------------------------------------------------------
# import and optional dependency
# ---------------------------------------------------------------------------
def test_import_tropical_loads_no_dask():
    code = ("import sys, tropical, tropical.parallel; "
            "assert 'dask' not in sys.modules and 'distributed' not in sys.modules, "
            "sorted(m for m in sys.modules if 'dask' in m)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"tropical-engine\[dask\]"):
        parallel.matmul(np.zeros((2, 2)), np.zeros((2, 2)))


# ---------------------------------------------------------------------------
# matmul, eps = 0: bitwise the single-call kernel
# ---------------------------------------------------------------------------
CHUNKINGS = [
    3,
    7,
    (5, 6, 4),
    ((3, 5, 2, 9), (4, 1, 6, 2, 10), (7, 2, 8)),   # ragged everywhere
    ((19,), (23,), (17,)),                          # one block
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sense", ["max", "min"])
@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_eps0_equals_kernel_bitwise(rng, dtype, sense, chunks):
    A, B = _data(rng, 19, 23, 17, dtype, sense)
    ref = tropical.matmul(A, B, sense=sense)
    C = parallel.matmul(A, B, sense=sense, chunks=chunks, split_every=2)
    got = C.compute(scheduler="threads")
    assert got.dtype == np.dtype(dtype) == ref.dtype
    assert np.array_equal(got, ref)
    assert np.isinf(got[-1]).all() and np.isinf(got[:, 0]).all()


@settings(max_examples=15)
@given(data=st.data())
def test_eps0_random_ragged_chunks(data):
    m, k, n = (data.draw(st.integers(1, 12)) for _ in range(3))

    def cuts(total):
        sizes, left = [], total
        while left:
            s = data.draw(st.integers(1, left))
            sizes.append(s)
            left -= s
        return tuple(sizes)

    chunks = (cuts(m), cuts(k), cuts(n))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.integers(-5, 5, (m, k)).astype(np.float64)   # ties: integer-valued
    B = rng.integers(-5, 5, (k, n)).astype(np.float64)
    A[rng.random((m, k)) < 0.3] = -np.inf
    got = parallel.matmul(A, B, chunks=chunks, split_every=data.draw(st.integers(2, 4)))
    assert np.array_equal(got.compute(scheduler="sync"), tropical.matmul(A, B))


def test_dask_inputs_rechunked_and_mixed(rng):
    A, B = _data(rng, 30, 26, 21, np.float64, "max")
    ref = tropical.matmul(A, B)
    dA = da.from_array(A, chunks=(7, 9))
    dB = da.from_array(B, chunks=(5, 8))                 # rows differ from A's columns
    C = parallel.matmul(dA, dB)
    assert C.chunks == ((7, 7, 7, 7, 2), (8, 8, 5))
    assert np.array_equal(C.compute(), ref)
    assert np.array_equal(parallel.matmul(dA, B, chunks=(6, 10, 4)).compute(), ref)
    assert np.array_equal(parallel.matmul(A, dB, chunks=(6, 10, 4)).compute(), ref)
    # lists are array-likes too
    assert np.array_equal(parallel.matmul(A.tolist(), B.tolist(), chunks=8).compute(), ref)


def test_numba_threads_settings_agree(rng):
    A, B = _data(rng, 70, 90, 60, np.float64, "max")
    ref = tropical.matmul(A, B)
    for nt in ("auto", 1, None):
        got = parallel.matmul(A, B, chunks=32, numba_threads=nt).compute(scheduler="threads")
        assert np.array_equal(got, ref)


def test_numba_threads_per_task():
    numba = pytest.importorskip("numba")
    import dask

    tropical.matmul(np.zeros((2, 2)), np.zeros((2, 2)))      # loads Numba
    total = numba.config.NUMBA_NUM_THREADS
    before = numba.get_num_threads()

    def probe():
        with parallel._numba_threads("auto"):
            return numba.get_num_threads()

    with dask.config.set(num_workers=2):
        assert dask.delayed(probe)().compute(scheduler="threads") == max(1, total // 2)
    assert dask.delayed(probe)().compute(scheduler="sync") == total
    with parallel._numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before                  # restored


# ---------------------------------------------------------------------------
# matmul, eps > 0: within the stated budget of the exact product
# ---------------------------------------------------------------------------
def _blockwise_budget(A, B, C, eps, dtype, nk, split_every):
    """The budget of tropical.parallel.matmul's Notes, per entry."""
    A = np.asarray(A, np.float64)
    B = np.asarray(B, np.float64)
    K = np.maximum(np.isfinite(A).astype(float) @ np.isfinite(B).astype(float), 1.0)
    fa = np.where(np.isfinite(A), np.abs(A), 0.0).max(axis=1)
    fb = np.where(np.isfinite(B), np.abs(B), 0.0).max(axis=0)
    S = fa[:, None] + fb[None, :]
    absC = np.where(np.isfinite(C), np.abs(np.asarray(C, np.float64)), 0.0)
    u2 = float(np.finfo(dtype).eps)
    u64 = float(np.finfo(np.float64).eps)
    L = math.ceil(math.log(nk) / math.log(split_every)) if nk > 1 else 0
    return (u2 * (10 * S + 4 * absC + eps * (2 * (K - 1) + 5 * np.log(K)))
            + u64 * L * (4 * S + absC + eps * (2 * np.log(K) + split_every + 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sense", ["max", "min"])
@pytest.mark.parametrize("eps", [1.0, 0.05])
def test_eps_positive_within_budget(rng, dtype, sense, eps):
    A, B = _data(rng, 9, 14, 7, dtype, sense)
    chunks = ((4, 5), (3, 1, 4, 6), (2, 5))
    C = parallel.matmul(A, B, eps=eps, sense=sense, chunks=chunks, split_every=2)
    got = C.compute(scheduler="threads")
    assert got.dtype == np.dtype(dtype)
    exact = mp_matmul_exact(A, B, eps, SENSES[sense])
    err = mp_abs_error(got, exact)
    budget = _blockwise_budget(A, B, got, eps, dtype, nk=4, split_every=2)
    assert np.all(err <= budget), float(np.max(err / np.where(budget > 0, budget, 1)))
    # the budget is far below what a wrong (+) would cost (eps*log 2 for a tie)
    assert budget[np.isfinite(got)].max() < 1e-3 * eps * math.log(2)
    # the semiring zero passes through; a single finite term is exact
    assert np.array_equal(np.isinf(got), np.isinf(tropical.matmul(A, B, sense=sense)))
    single = A[1, -1].astype(np.float64) + B[-1, :].astype(np.float64)
    fin = np.isfinite(single)
    assert np.array_equal(got[1, fin], (A[1, -1] + B[-1, fin]).astype(dtype))
    # and agrees with the single-call kernel within both budgets
    ref = tropical.matmul(A, B, eps=eps, sense=sense)
    both = budget + _blockwise_budget(A, B, ref, eps, dtype, nk=1, split_every=2)
    f = np.isfinite(ref)
    assert np.all(np.abs(got[f].astype(np.float64) - ref[f]) <= both[f])


def test_eps_positive_tiny_eps_no_overflow(rng):
    A = rng.standard_normal((6, 8)) * 100
    B = rng.standard_normal((8, 5)) * 100
    got = parallel.matmul(A, B, eps=1e-300, chunks=(3, 3, 2)).compute()
    assert np.isfinite(got).all()
    assert np.array_equal(got, tropical.matmul(A, B))   # eps*log K < one ulp


# ---------------------------------------------------------------------------
# matmul: validation
# ---------------------------------------------------------------------------
def test_matmul_bad_input():
    A = np.zeros((4, 3))
    with pytest.raises(ValueError, match="inner dimensions differ"):
        parallel.matmul(A, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        parallel.matmul(A, np.zeros((3, 2)), eps=-1.0)
    with pytest.raises(ValueError, match="sense"):
        parallel.matmul(A, np.zeros((3, 2)), sense="avg")
    with pytest.raises(ValueError, match="2-D"):
        parallel.matmul(np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="sum to 5, expected 4"):
        parallel.matmul(A, np.zeros((3, 2)), chunks=((2, 3), 3, 2))
    with pytest.raises(ValueError, match="empty"):
        parallel.matmul(np.zeros((0, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="complex"):
        parallel.matmul(A.astype(complex), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="out must have shape"):
        parallel.matmul(A, np.zeros((3, 2)), out=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="too small"):
        parallel.plan_chunks(1000, 1000, 1000, memory_budget=1000, workers=2)
    bad = np.zeros((6, 3))
    bad[4, 2] = np.nan
    C = parallel.matmul(bad, np.zeros((3, 2)), chunks=2)
    with pytest.raises(ValueError, match=r"A\[4:6, 2:3\] contains NaN"):
        C.compute(scheduler="sync")
    wrong = np.zeros((3, 2))
    wrong[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"B\[0:2, 0:2\] contains inf"):
        parallel.matmul(A, wrong, chunks=2).compute(scheduler="sync")
    # +inf is the zero of the min sense
    parallel.matmul(A, wrong, sense="min", chunks=2).compute(scheduler="sync")


# ---------------------------------------------------------------------------
# out-of-core: memmap in, memmap out
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.5])
def test_memmap_in_memmap_out(tmp_path, rng, eps):
    A, B = _data(rng, 37, 29, 41, np.float32, "max")
    # a raw file and a .npy file (header: non-zero offset)
    a_mm = np.memmap(tmp_path / "a.bin", dtype=np.float32, mode="w+", shape=A.shape)
    a_mm[:] = A
    a_mm.flush()
    b_mm = np.lib.format.open_memmap(tmp_path / "b.npy", mode="w+", dtype=np.float32,
                                     shape=B.shape)
    b_mm[:] = B
    b_mm.flush()
    A_in = np.memmap(tmp_path / "a.bin", dtype=np.float32, mode="r", shape=A.shape)
    B_in = np.load(tmp_path / "b.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float32,
                                    shape=(37, 41))
    res = parallel.matmul(A_in, B_in, eps=eps, out=out, chunks=(10, 8, 12),
                          scheduler="threads")
    assert res is out
    del out
    C = np.load(tmp_path / "c.npy")        # read back from the file
    ref = tropical.matmul(A, B, eps=eps)
    if eps == 0:
        assert np.array_equal(C, ref)
    else:
        exact = mp_matmul_exact(A, B, eps)
        budget = _blockwise_budget(A, B, C, eps, np.float32, nk=4, split_every=4)
        assert np.all(mp_abs_error(C, exact) <= budget)


def test_out_ndarray_and_bad_targets(tmp_path, rng):
    A, B = _data(rng, 12, 10, 9, np.float64, "min")
    out = np.full((12, 9), 7.0)
    parallel.matmul(A, B, sense="min", out=out, chunks=4, scheduler="sync")
    assert np.array_equal(out, tropical.matmul(A, B, sense="min"))
    ro = np.memmap(tmp_path / "r.bin", dtype=np.float64, mode="w+", shape=(12, 9))
    del ro
    ro = np.memmap(tmp_path / "r.bin", dtype=np.float64, mode="r", shape=(12, 9))
    with pytest.raises(ValueError, match="read-only"):
        parallel.matmul(A, B, sense="min", out=ro, chunks=4)
    # a memmap view (not the whole file) still works, through its mapping
    big = np.memmap(tmp_path / "v.bin", dtype=np.float64, mode="w+", shape=(12, 20))
    parallel.matmul(A, B, sense="min", out=big[:, 5:14], chunks=4, scheduler="threads")
    assert np.array_equal(np.asarray(big[:, 5:14]), tropical.matmul(A, B, sense="min"))


def test_file_array_blocks(tmp_path):
    X = np.arange(30.0).reshape(5, 6)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64, shape=(5, 6))
    mm[:] = X
    mm.flush()
    fa = parallel._FileArray.from_memmap(np.load(tmp_path / "x.npy", mmap_mode="r+"),
                                         writable=True)
    assert np.array_equal(fa[1:4, 2:5], X[1:4, 2:5])
    assert np.array_equal(fa[0:5, 0:6], X)
    fa[2:4, 1:3] = -np.ones((2, 2))
    X[2:4, 1:3] = -1
    assert np.array_equal(np.load(tmp_path / "x.npy"), X)
    import pickle

    assert np.array_equal(pickle.loads(pickle.dumps(fa))[0:2, 0:6], X[0:2])
    assert parallel._FileArray.from_memmap(mm[1:]) is None      # a view: not the whole file


def test_plan_chunks_fits_budget():
    for dtype, eps in (("float32", 0.0), ("float64", 0.0), ("float64", 1.0)):
        bm, bk, bn = parallel.plan_chunks(10**5, 10**5, 10**5, dtype, "256MiB", workers=3,
                                          eps=eps)
        assert bm == bk == bn and bm % 64 == 0
        s = np.dtype(dtype).itemsize
        per = 5 * s + 8 * 7 + (40 if eps else 0)
        assert 3 * per * bm**2 <= 256 * 2**20 < 3 * per * (bm + 64) ** 2


# ---------------------------------------------------------------------------
# sweeps (local)
# ---------------------------------------------------------------------------
def _square(i, marker_dir=None):
    return i * i


def _fail_once(i, marker_dir):
    path = os.path.join(marker_dir, f"fail-{i}")
    if i == 1 and not os.path.exists(path):
        open(path, "w").close()
        raise RuntimeError(f"first attempt of point {i}")
    return i * i


def _die_once(i, marker_dir):
    """Kills its own worker process on the first attempt of point 2."""
    path = os.path.join(marker_dir, f"died-{i}")
    if i == 2 and not os.path.exists(path):
        open(path, "w").close()
        os._exit(1)
    return i * i


def _check_point(eps, npoints):
    r = tropical.check(os.path.join(os.path.dirname(tropical.__file__), "data",
                                    "default_model.npz"), eps=[eps], npoints=npoints)
    return {"ok": bool(r.ok), "worst": [[row.name, float(row.max_measured)] for row in r.rows]}


def test_grid_forms_and_errors():
    r = parallel.sweep(lambda a, b: (a, b), {"a": [1, 2], "b": ["x", "y", "z"]})
    assert [p for p, _ in r.items()] == [{"a": a, "b": b} for a in (1, 2) for b in "xyz"]
    assert all(v == (p["a"], p["b"]) for p, v in r.items())
    with pytest.raises(ValueError, match="empty"):
        parallel.sweep(_square, [])
    with pytest.raises(ValueError, match=r"grid\['i'\] is empty"):
        parallel.sweep(_square, {"i": []})
    with pytest.raises(TypeError, match="sequence of values"):
        parallel.sweep(_square, {"i": 3})
    with pytest.raises(TypeError, match=r"grid\[1\] must be a dict"):
        parallel.sweep(_square, [{"i": 1}, 2])
    with pytest.raises(TypeError, match="callable"):
        parallel.sweep(3, {"i": [1]})
    with pytest.raises(TypeError, match="Client"):
        parallel.sweep(_square, {"i": [1]}, client="tcp://127.0.0.1:1")
    with pytest.raises(KeyError, match="not a point"):
        r[{"a": 3, "b": "x"}]


@pytest.mark.parametrize("threads", [None, 3])
def test_local_sweep_failures_retries_and_json(tmp_path, threads):
    grid = {"i": list(range(5)), "marker_dir": [str(tmp_path)]}
    r = parallel.sweep(_fail_once, grid, threads=threads)
    assert r.failures == {1: "RuntimeError: first attempt of point 1"}
    assert r.results == {q: q * q for q in (0, 2, 3, 4)} and r.complete
    with pytest.raises(KeyError, match="failed: RuntimeError"):
        r[1]
    back = parallel.SweepResult.from_json(r.to_json(tmp_path / "r.json"))
    assert back.points == r.points and back.results == r.results
    assert back.failures == r.failures and back.interrupted is False
    assert parallel.SweepResult.from_json(tmp_path / "r.json").results == r.results
    os.remove(tmp_path / "fail-1")
    r2 = parallel.sweep(_fail_once, grid, threads=threads, retries=1)
    assert r2.results == {q: q * q for q in range(5)} and not r2.failures


def test_local_sweep_interrupt_keeps_results(capsys):
    def fn(i):
        if i == 3:
            raise KeyboardInterrupt
        return -i

    r = parallel.sweep(fn, {"i": range(6)}, progress=True)
    assert r.interrupted and r.results == {0: 0, 1: -1, 2: -2}
    assert r.pending == [3, 4, 5] and not r.complete
    assert repr(r) == "SweepResult(3/6 done, 0 failed, 3 pending, interrupted)"
    err = capsys.readouterr().err
    assert "sweep: 3/6 done" in err and "(interrupted)" in err


def test_sweep_json_embeds_reports(tmp_path):
    r = parallel.sweep(lambda eps: tropical.check(
        os.path.join(os.path.dirname(tropical.__file__), "data", "default_model.npz"),
        eps=[eps], npoints=16), {"eps": [0.1]})
    import json

    doc = json.loads(r.to_json())
    assert doc["results"]["0"]["__type__"] == "DiagramReport"
    assert doc["results"]["0"]["json"] == json.loads(r.results[0].to_json())


# ---------------------------------------------------------------------------
# regions by sub-boxes (local)
# ---------------------------------------------------------------------------
def _random_net(rng, dims, activation="relu", group=2):
    layers = []
    for k in range(len(dims) - 1):
        last = k == len(dims) - 2
        act = "identity" if last else activation
        g = group if act == "maxout" else 1
        W = rng.standard_normal((dims[k + 1] * g, dims[k]))
        b = 0.5 * rng.standard_normal(dims[k + 1] * g)
        layers.append(Layer(W, b, act, group=g))
    return Network(layers)


def _same_regions(R, S, vol_rtol=1e-9):
    """Same patterns, same adjacency (as pattern pairs), same volumes and counts."""
    pr = {c.tobytes(): i for i, c in enumerate(R.codes)}
    ps = {c.tobytes(): i for i, c in enumerate(S.codes)}
    assert len(pr) == len(R) and len(ps) == len(S)
    assert pr.keys() == ps.keys()
    er = {frozenset((R.codes[i].tobytes(), R.codes[j].tobytes())) for i, j in R.edges}
    es = {frozenset((S.codes[i].tobytes(), S.codes[j].tobytes())) for i, j in S.edges}
    assert er == es
    keys = list(pr)
    np.testing.assert_allclose(R.volumes[[pr[k] for k in keys]], S.volumes[[ps[k] for k in keys]],
                               rtol=vol_rtol, atol=vol_rtol * float(np.prod(R.hi - R.lo)))
    assert R.counts() == S.counts()
    assert R.complete and S.complete


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("splits", [2, (3, 2)])
def test_regions_2d_subboxes_equal_single(seed, splits):
    rng = np.random.default_rng(seed)
    net = _random_net(rng, [2, 7, 5, 1])
    single = regions_here(net, 1.5)
    merged = parallel.regions(net, 1.5, splits=splits)
    n = 4 if splits == 2 else 6
    assert merged.method == f"split-2d ({n} sub-boxes)"
    _same_regions(merged, single)
    # a region cut by the sub-boxes is one region: fewer regions than pieces
    X = rng.uniform(-1.5, 1.5, (300, 2))
    np.testing.assert_array_equal(merged.codes[merged.locate(X)], single.codes[single.locate(X)])
    assert merged.volumes.sum() == pytest.approx(9.0, rel=1e-12)


def test_regions_facet_on_the_cut_is_found():
    # the unit x = 0 (and y = 0) lies on the cuts of splits=2 on [-1, 1]^2: the
    # facets between the regions on either side lie inside the shared faces,
    # so only the cross-face step can see those adjacencies
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -2.0]])
    net = Network.from_weights([(W1, np.array([0.0, 0.0, 0.3, -0.2])),
                                (np.array([[1.0, -1.0, 0.5, 2.0]]), np.zeros(1))])
    single = regions_here(net, 1.0)
    merged = parallel.regions(net, 1.0, splits=2)
    _same_regions(merged, single)
    # and the 1-D case: a breakpoint on the cut
    net1 = Network.from_weights([(np.array([[1.0], [1.0], [-2.0]]), np.array([0.0, 0.4, 0.1])),
                                 (np.array([[1.0, -1.0, 1.0]]), np.zeros(1))])
    _same_regions(parallel.regions(net1, 1.0, splits=4), regions_here(net1, 1.0))


def test_regions_3d_walk_subboxes():
    rng = np.random.default_rng(102)
    net = _random_net(rng, [3, 6, 3, 1])
    single = regions_here(net, 1.0, progress=False)
    merged = parallel.regions(net, 1.0, splits=(2, 2, 1))
    assert merged.method == "walk (4 sub-boxes)"
    _same_regions(merged, single, vol_rtol=1e-8)


def test_regions_interrupt_keeps_finished_subboxes(monkeypatch):
    net = _random_net(np.random.default_rng(3), [2, 5, 1])
    real = parallel._subbox_regions
    calls = []

    def flaky(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(parallel, "_subbox_regions", flaky)
    R = parallel.regions(net, 1.0, splits=2, progress=False)
    assert not R.complete and 0 < len(R)
    full = regions_here(net, 1.0)
    assert {c.tobytes() for c in R.codes} <= {c.tobytes() for c in full.codes}
    assert R.volumes.sum() == pytest.approx(2.0, rel=1e-12)   # two of four sub-boxes


def test_regions_bad_splits():
    net = _random_net(np.random.default_rng(0), [2, 3, 1])
    with pytest.raises(ValueError, match="one entry per input"):
        parallel.regions(net, 1.0, splits=(2, 2, 2))
    with pytest.raises(ValueError, match="splits"):
        parallel.regions(net, 1.0, splits=0)
    with pytest.raises(ValueError, match="method"):
        parallel.regions(net, 1.0, method="magic")


# ---------------------------------------------------------------------------
# on a LocalCluster: two worker processes on loopback
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None, host="127.0.0.1",
                                       silence_logs=logging.ERROR)
    cl = distributed.Client(cluster, set_as_default=False)
    try:
        yield cl
    finally:
        cl.close()
        cluster.close()


def test_distributed_sweep_equals_local(client):
    grid = {"eps": [1.0, 0.1, 0.01, -1.0], "npoints": [16, 32]}
    here = parallel.sweep(_check_point, grid)
    there = parallel.sweep(_check_point, grid, client=client)
    assert there.results == here.results and len(here.results) == 6
    assert there.failures == here.failures
    assert set(there.failures) == {6, 7} and "eps must be >= 0" in there.failures[6]


def test_distributed_sweep_survives_a_killed_worker(client, tmp_path):
    grid = {"i": list(range(6)), "marker_dir": [str(tmp_path)]}
    r = parallel.sweep(_die_once, grid, client=client)
    assert os.path.exists(tmp_path / "died-2")          # the worker did die once
    assert r.results == {i: i * i for i in range(6)} and not r.failures
    r2 = parallel.sweep(_fail_once, grid, client=client, retries=1)
    assert os.path.exists(tmp_path / "fail-1")
    assert r2.results == {i: i * i for i in range(6)} and not r2.failures


def test_distributed_regions_equal_single(client):
    rng = np.random.default_rng(7)
    net = _random_net(rng, [2, 8, 6, 1])
    single = regions_here(net, 1.5)
    merged = parallel.regions(net, 1.5, client=client, splits=(2, 3))
    _same_regions(merged, single)
    local = parallel.regions(net, 1.5, splits=(2, 3))
    assert np.array_equal(local.codes, merged.codes) and np.array_equal(local.edges, merged.edges)


def test_distributed_matmul_memmap(client, tmp_path, rng):
    A, B = _data(rng, 40, 33, 27, np.float64, "max")
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    out = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float64,
                                    shape=(40, 27))
    parallel.matmul(np.load(tmp_path / "a.npy", mmap_mode="r"),
                    np.load(tmp_path / "b.npy", mmap_mode="r"), out=out, chunks=(16, 12, 10),
                    scheduler=client)
    assert np.array_equal(np.load(tmp_path / "c.npy"), tropical.matmul(A, B))
    with pytest.raises(ValueError, match="in-memory ndarray"):
        parallel.matmul(A, B, out=np.empty((40, 27)), scheduler=client)


# ---------------------------------------------------------------------------
def test_doctests():
    res = doctest.testmod(parallel, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0


def test_out_with_a_lossy_dtype_is_rejected(rng):
    # writing the float64 product into an int or float32 target truncated/rounded silently
    A, B = _data(rng, 6, 5, 4, np.float64, "max")
    for dtype in (np.int64, np.float32):
        with pytest.raises(ValueError, match="out must have a dtype that holds float64"):
            parallel.matmul(A, B, out=np.zeros((6, 4), dtype=dtype), scheduler="sync")
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    out = np.zeros((6, 4))                       # float32 C into float64: exact
    parallel.matmul(A32, B32, out=out, chunks=3, scheduler="sync")
    assert np.array_equal(out, tropical.matmul(A32, B32).astype(np.float64))

"""CUDA kernels (``tropical.kernels.cuda``) and ``device="cuda"``, on Numba's CUDA simulator.

Why a child process: Numba reads ``NUMBA_ENABLE_CUDASIM`` when ``numba.cuda``
is first imported, so the simulator cannot be switched on reliably inside a
pytest process that may already hold the real ``numba.cuda`` (and the other
tests must keep the real JIT). This file therefore also runs as a script:
``python tests/test_cuda.py OUT.npz`` (with ``NUMBA_ENABLE_CUDASIM=1``) makes
every CUDA call of :data:`CASES` and :data:`ERRORS` in ONE process and saves
the results and exception messages. The tests below, in the pytest process,
rebuild the same operands from their seeds and compare: bit for bit with the
CPU kernels (real JIT) and the plain-numpy product at ``eps = 0``, entry by
entry against mpmath at 50 digits within the stated error budgets at
``eps > 0``. The simulator runs a Python thread per CUDA thread: sizes are
tiny and the kernel-level cases use small tiles (16 x 16 and 8 x 8 output
tiles, 8 and 4 inner steps) so that every matrix has ragged edges.
"""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

SIM_TIMEOUT = 600
#: kernel tile shapes (TY, TX, TM, TN, BK): 16 x 16 tiles with 8 inner steps, 8 x 8 with 4
T16 = (4, 4, 4, 4, 8)
T8 = (4, 4, 2, 2, 4)


# -----------------------------------------------------------------------------
# Operands (numpy only: built identically in the child and in the parent)
# -----------------------------------------------------------------------------
def _operands(seed, m, k, n, dtype, sense, zeros=True, offset=0.0):
    """Ragged operands with semiring zeros in blocks, all-zero rows/columns,
    near ties and a wide spread of magnitudes (so that sums round)."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-2, 2, size=(m, 1))
    A = rng.normal(size=(m, k)) * scale
    B = rng.normal(size=(k, n)) * 10.0 ** rng.uniform(-2, 2, size=(1, n))
    A[1, : k // 2] = A[1, 0]            # exact ties inside a row
    B[: k // 2, 3] = 0.25               # ... and in a column
    A[4] += offset                      # a row far from the others
    if zeros:
        z = -np.inf
        A[0] = z                        # an all-zero row of A: a zero row of C
        A[2, 2:] = z                    # entries with a single finite term
        A[2, 0] = z
        A[3:6, 2:9] = z                 # a block of zeros
        B[:, 2] = z                     # an all-zero column of B
        B[k - 3] = z                    # an all-zero row of B
        A[rng.random(A.shape) < 0.1] = z
    return (sense * A).astype(dtype), (sense * B).astype(dtype)


def _sense_name(sense):
    return "max" if sense == 1 else "min"


#: kernel-level cases: name -> (seed, m, k, n, dtype, sense, eps, tiles, offset)
CASES = {
    "mp_f64_max": (1, 37, 29, 23, "float64", 1, 0.0, T16, 0.0),
    "mp_f64_min": (2, 37, 29, 23, "float64", -1, 0.0, T16, 0.0),
    "mp_f32_max": (3, 37, 29, 23, "float32", 1, 0.0, T16, 0.0),
    "mp_f32_min": (4, 37, 29, 23, "float32", -1, 0.0, T16, 0.0),
    "mp_f64_max_t8": (5, 19, 13, 21, "float64", 1, 0.0, T8, 0.0),
    "mp_f32_min_t8": (6, 19, 13, 21, "float32", -1, 0.0, T8, 0.0),
    "lse_f64_sub": (11, 21, 19, 17, "float64", 1, 5e-324, T16, 0.0),
    "lse_f64_tiny": (12, 21, 19, 17, "float64", -1, 1e-300, T16, 1e6),
    "lse_f64_small": (13, 21, 19, 17, "float64", 1, 1e-3, T16, 1e6),
    "lse_f64_one": (14, 21, 19, 17, "float64", -1, 1.0, T16, 0.0),
    "lse_f64_large": (15, 21, 19, 17, "float64", 1, 1e8, T16, 0.0),
    "lse_f64_one_t8": (16, 19, 13, 21, "float64", 1, 0.5, T8, 0.0),
    "lse_f32_tiny": (21, 21, 19, 17, "float32", -1, 1e-30, T16, 0.0),
    "lse_f32_small": (22, 21, 19, 17, "float32", 1, 1e-3, T16, 1e3),
    "lse_f32_one": (23, 21, 19, 17, "float32", -1, 1.0, T16, 0.0),
    "lse_f32_large": (24, 21, 19, 17, "float32", 1, 1e6, T16, 0.0),
}


def _case_operands(name):
    seed, m, k, n, dtype, sense, eps, tiles, offset = CASES[name]
    return _operands(seed, m, k, n, dtype, sense, offset=offset)


#: public-API cases (default tiles): name -> (seed, kind, dtype, sense, eps)
API = {
    "api_batched_f32": (31, "matmul_batched", "float32", 1, 0.0),
    "api_batched_lse_min": (32, "matmul_batched", "float64", -1, 0.5),
    "api_vec_left": (33, "matmul_vec", "float64", 1, 0.0),
    "api_matvec_f32": (34, "matvec", "float32", -1, 0.0),
    "api_matvec_lse": (35, "matvec", "float64", 1, 0.25),
    "api_dev_mm_f32": (36, "device_mm", "float32", 1, 0.0),
    "api_dev_lse_mixed": (37, "device_mm_mixed", "float64", -1, 2.0),
    "api_dev_mv": (38, "device_mv", "float64", 1, 0.0),
    "api_dev_mv_lse_f32": (39, "device_mv", "float32", -1, 1e-2),
    "api_empty": (40, "empty", "float64", 1, 0.0),
}


def _api_operands(name):
    """(A, B, A_on_device, B_on_device) for an API case; B is a vector for matvec."""
    seed, kind, dtype, sense, eps = API[name]
    if kind == "matmul_batched":
        A, B = _operands(seed, 2 * 9, 7, 12, dtype, sense)
        return A.reshape(2, 9, 7), B, False, False
    if kind == "matmul_vec":
        A, B = _operands(seed, 9, 7, 12, dtype, sense)
        return A[2], B, False, False
    if kind == "matvec":
        A, B = _operands(seed, 2 * 9, 7, 12, dtype, sense)
        return A.reshape(2, 9, 7), B[:, 0], False, False
    if kind == "device_mm":
        A, B = _operands(seed, 11, 10, 13, dtype, sense)
        return A, B, True, False
    if kind == "device_mm_mixed":
        A, B = _operands(seed, 11, 10, 13, dtype, sense)
        return A, B.astype(np.float32), True, True
    if kind == "device_mv":
        A, B = _operands(seed, 11, 10, 13, dtype, sense)
        return A, B[:, 0], True, True
    if kind == "empty":
        return np.zeros((0, 3), dtype), np.zeros((3, 4), dtype), False, False
    raise KeyError(kind)


def _api_call(name, A, B, device, to_device=None):
    seed, kind, dtype, sense, eps = API[name]
    import tropical

    s = _sense_name(sense)
    fn = tropical.matvec if kind in ("matvec", "device_mv") else tropical.matmul
    if kind == "matmul_vec":
        return tropical.matmul(A, B, eps=eps, sense=s, device=device)
    return fn(A, B, eps=eps, sense=s, device=device)


#: error cases: name -> (expected exception type, substring of its message)
ERRORS = {
    "nan_on_device": ("ValueError", "A contains NaN at index (2, 3)"),
    "wrong_inf_on_device_max": ("ValueError", "not an element of the max-plus semiring"),
    "wrong_inf_on_device_min": ("ValueError", "not an element of the min-plus semiring"),
    "int_device_array": ("TypeError", "must be float32 or float64, got dtype int64"),
    "device_3d": ("ValueError", "must have 2 dimension(s) (no batching on the device)"),
    "device_vec_2d": ("ValueError", "the device array x must have 1 dimension(s)"),
    "device_shape_mismatch": ("ValueError", "inner dimensions differ"),
    "host_nan_cuda": ("ValueError", "B contains NaN"),
    "argmax_cuda": ("ValueError", "return_argmax is not available with device='cuda'"),
    "device_array_on_cpu": ("TypeError", "A is a CUDA device array; pass device='cuda'"),
    "device_array_on_cpu_matvec": ("TypeError", "x is a CUDA device array"),
    "negative_eps_cuda": ("ValueError", "eps must be >= 0"),
    "bad_device_name": ("ValueError", "device must be 'cpu' or 'cuda', got 'CUDA'"),
}


def _error_calls(cu):
    """name -> zero-argument callable that must raise (run in the child)."""
    import tropical

    good = np.zeros((5, 4))
    bad = good.copy()
    bad[2, 3] = np.nan
    plus = np.zeros((4, 3))
    plus[1, 1] = np.inf
    minus = np.zeros((4, 3))
    minus[0, 2] = -np.inf
    host_nan = np.zeros((4, 3))
    host_nan[3, 0] = np.nan
    d = cu.to_device
    return {
        "nan_on_device": lambda: tropical.matmul(d(bad), np.zeros((4, 2)), device="cuda"),
        "wrong_inf_on_device_max": lambda: tropical.matmul(good, d(plus), device="cuda"),
        "wrong_inf_on_device_min": lambda: tropical.matmul(
            d(good), d(minus), eps=1.0, sense="min", device="cuda"),
        "int_device_array": lambda: tropical.matmul(
            d(np.zeros((5, 4), np.int64)), np.zeros((4, 3)), device="cuda"),
        "device_3d": lambda: tropical.matmul(d(np.zeros((2, 5, 4))), np.zeros((4, 3)),
                                             device="cuda"),
        "device_vec_2d": lambda: tropical.matvec(d(good), d(np.zeros((4, 1))), device="cuda"),
        "device_shape_mismatch": lambda: tropical.matmul(d(good), d(np.zeros((3, 3))),
                                                         device="cuda"),
        "host_nan_cuda": lambda: tropical.matmul(good, host_nan, device="cuda"),
        "argmax_cuda": lambda: tropical.matmul(good, np.zeros((4, 3)), return_argmax=True,
                                               device="cuda"),
        "device_array_on_cpu": lambda: tropical.matmul(d(good), np.zeros((4, 3))),
        "device_array_on_cpu_matvec": lambda: tropical.matvec(good, d(np.zeros(4))),
        "negative_eps_cuda": lambda: tropical.matmul(good, np.zeros((4, 3)), eps=-1.0,
                                                     device="cuda"),
        "bad_device_name": lambda: tropical.matmul(good, np.zeros((4, 3)), device="CUDA"),
    }


# -----------------------------------------------------------------------------
# The child: every CUDA call, on the simulator
# -----------------------------------------------------------------------------
def _simulate(path):
    import tropical.kernels.cuda as cu

    assert cu.simulating(), "run with NUMBA_ENABLE_CUDASIM=1"
    # nothing is built at import: the factories are empty until the first call
    meta = {"built_at_import": cu._maxplus_kernel.cache_info().currsize
            + cu._lse_kernel.cache_info().currsize + cu._check_kernel.cache_info().currsize,
            "errors": {}, "device_results": {}}
    out = {}
    for name, (seed, m, k, n, dtype, sense, eps, tiles, offset) in CASES.items():
        A, B = _case_operands(name)
        dout = cu.device_array((m, n), dtype)
        if eps == 0.0:
            cu.maxplus_gemm(cu.to_device(A), cu.to_device(B), sense, dout, tiles)
        else:
            cu.lse_gemm(cu.to_device(A), cu.to_device(B), eps, sense, dout, tiles)
        out[name] = dout.copy_to_host()
    for name in API:
        A, B, a_dev, b_dev = _api_operands(name)
        res = _api_call(name, cu.to_device(A) if a_dev else A, cu.to_device(B) if b_dev else B,
                        "cuda")
        meta["device_results"][name] = bool(cu.is_device_array(res))
        out[name] = res.copy_to_host() if cu.is_device_array(res) else res
    for name, call in _error_calls(cu).items():
        try:
            call()
            meta["errors"][name] = ["no exception", ""]
        except Exception as exc:  # recorded, then checked by the parent
            meta["errors"][name] = [type(exc).__name__, str(exc)]
    res = doctest.testmod(cu, optionflags=doctest.ELLIPSIS, verbose=False)
    meta["doctest"] = [res.failed, res.attempted]
    meta["device_name"] = cu.device_name()
    np.savez(path, meta=np.array(json.dumps(meta)), **out)


if __name__ == "__main__":
    _simulate(sys.argv[1])
    sys.exit(0)


# -----------------------------------------------------------------------------
# The tests (pytest process, real JIT on the CPU)
# -----------------------------------------------------------------------------
import pytest  # noqa: E402

import tropical  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive import lse_matmul_budget, mp_abs_error, mp_matmul_exact, naive_matmul  # noqa: E402
from reference import lse_budget  # noqa: E402


_PTX_CHECK = r"""
import re, sys
from numba import cuda, float32, float64, boolean, int32
from numba.cuda.cudadrv import nvvm
if not nvvm.is_available():
    print("NO NVVM"); sys.exit(0)
from tropical.kernels import cuda as cu
f32, f64 = float32[:, ::1], float64[:, ::1]
jobs = [
    (cu._maxplus_kernel("float32", cu.TILES["float32"]), (f32, f32, float32, f32)),
    (cu._maxplus_kernel("float64", cu.TILES["float64"]), (f64, f64, float64, f64)),
    (cu._maxplus_kernel("float64", cu.TILES["float64"]), (f32, f32, float64, f64)),
    (cu._lse_kernel(cu.TILES["float64"]), (f32, f32, f64, float64, float64, float64, boolean, f32)),
    (cu._lse_kernel(cu.TILES["float64"]), (f64, f64, f64, float64, float64, float64, boolean, f64)),
    (cu._check_kernel(), (float32[:, :], float32, int32[::1])),
]
for disp, sig in jobs:
    ptx, _ = cuda.compile_ptx(disp.py_func, sig, cc=(9, 0))
    assert "ld.local" not in ptx and "st.local" not in ptx, "local memory in " + str(sig)
print("OK", len(jobs))
"""


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """Start the two child processes at once (they run in parallel): the
    simulator run of this file, and the PTX compilation check (real
    ``numba.cuda``, no GPU needed, NVVM needed)."""
    path = tmp_path_factory.mktemp("cudasim") / "sim.npz"
    real = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    procs = {
        "sim": subprocess.Popen([sys.executable, __file__, str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1")),
        "ptx": subprocess.Popen([sys.executable, "-c", _PTX_CHECK], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=real),
    }
    results = {}

    def wait(name):
        if name not in results:
            try:
                out, err = procs[name].communicate(timeout=SIM_TIMEOUT)
            except subprocess.TimeoutExpired:
                procs[name].kill()
                out, err = procs[name].communicate()
            results[name] = (procs[name].returncode, out, err)
        return results[name]

    yield wait, path
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def sim(children):
    """The simulator's results and messages."""
    wait, path = children
    rc, out, err = wait("sim")
    assert rc == 0, err[-4000:]
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data["meta"] = json.loads(str(data["meta"]))
    return data


def _cpu(A, B, eps, sense):
    return tropical.matmul(A, B, eps=eps, sense=_sense_name(sense))


def _check_lse(C, A, B, eps, sense, where):
    """C (the CUDA result) against mpmath within both budgets, and the CPU result."""
    dtype = C.dtype
    cpu = _cpu(A, B, eps, sense)
    assert C.dtype == cpu.dtype and C.shape == cpu.shape, where
    assert np.array_equal(np.isinf(C), np.isinf(cpu)), where
    assert np.array_equal(np.sign(C[np.isinf(C)]), np.sign(cpu[np.isinf(cpu)])), where
    exact = mp_matmul_exact(A, B, eps, sense)
    err = mp_abs_error(C, exact)
    # the budget of tropical.matmul, in the unit roundoff of the result dtype
    public = lse_matmul_budget(A, B, C, eps, dtype)
    fin = np.isfinite(C)
    assert (err[fin] <= public[fin]).all(), (where, float((err / public)[fin].max()))
    # the per-entry budget of the kernel's docstring (tests/reference.py)
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    for i, j in zip(*np.nonzero(fin)):
        z = sense * (A64[i, :] + B64[:, j])
        b = lse_budget(z, eps, rounded_sums=True, out_dtype=dtype)
        assert err[i, j] <= b, (where, i, j, err[i, j], b)
    # the CPU result is within its own budget of the same exact value
    assert (np.abs(C[fin].astype(np.float64) - cpu[fin]) <= 2 * public[fin]).all(), where
    # sandwich: max <= LSE bitwise (the sum s >= 1 and rounding is monotone)
    M = tropical.matmul(A, B, sense=_sense_name(sense))
    assert (sense * C[fin] >= sense * M[fin]).all(), where


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][6] == 0.0])
def test_maxplus_kernel_exact(sim, name):
    seed, m, k, n, dtype, sense, eps, tiles, offset = CASES[name]
    A, B = _case_operands(name)
    C = sim[name]
    assert C.dtype == np.dtype(dtype) and C.shape == (m, n)
    cpu = _cpu(A, B, 0.0, sense)
    assert np.array_equal(C, cpu)                           # bit for bit (values)
    assert np.array_equal(C, naive_matmul(A, B, sense))     # and the plain-numpy product
    zero = -sense * np.inf
    assert (C[0] == zero).all() and (C[:, 2] == zero).all()  # zero rows/columns pass through
    assert np.isfinite(C[1:, 3:]).any()


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][6] > 0.0])
def test_lse_kernel_within_budget(sim, name):
    seed, m, k, n, dtype, sense, eps, tiles, offset = CASES[name]
    A, B = _case_operands(name)
    C = sim[name]
    assert C.dtype == np.dtype(dtype) and C.shape == (m, n)
    _check_lse(C, A, B, eps, sense, name)
    zero = -sense * np.inf
    assert (C[0] == zero).all() and (C[:, 2] == zero).all()


def test_lse_single_term_is_exact(sim):
    """An entry with one finite term is exactly fl(a + b), for every eps."""
    hits = 0
    for name, (seed, m, k, n, dtype, sense, eps, tiles, offset) in CASES.items():
        if eps == 0.0:
            continue
        A, B = _case_operands(name)
        fin = np.isfinite(A)[:, :, None] & np.isfinite(B)[None, :, :]
        one = fin.sum(axis=1) == 1
        for i, j in zip(*np.nonzero(one)):
            kk = int(np.flatnonzero(fin[i, :, j])[0])
            assert sim[name][i, j] == A[i, kk] + B[kk, j], (name, i, j)
            hits += 1
    assert hits > 0


@pytest.mark.parametrize("name", list(API))
def test_public_api(sim, name):
    seed, kind, dtype, sense, eps = API[name]
    A, B, a_dev, b_dev = _api_operands(name)
    C = sim[name]
    assert sim["meta"]["device_results"][name] == (a_dev or b_dev)
    cpu = _api_call(name, A, B, "cpu")
    assert C.shape == cpu.shape and C.dtype == cpu.dtype, (C.shape, cpu.shape)
    if eps == 0.0:
        assert np.array_equal(C, cpu)
        return
    # eps > 0: each 2-D product against mpmath within the budgets
    if kind in ("matvec", "device_mv"):
        A3 = A if A.ndim == 3 else A[None]
        C3 = C if C.ndim == 2 else C[None]
        for b in range(A3.shape[0]):
            _check_lse(C3[b][:, None], A3[b], B[:, None], eps, sense, (name, b))
    elif A.ndim == 3:
        for b in range(A.shape[0]):
            _check_lse(C[b], A[b], B, eps, sense, (name, b))
    else:
        _check_lse(C, A.astype(C.dtype), B.astype(C.dtype), eps, sense, name)


@pytest.mark.parametrize("name", list(ERRORS))
def test_validation_errors(sim, name):
    kind, fragment = ERRORS[name]
    got_kind, message = sim["meta"]["errors"][name]
    assert got_kind == kind, (name, got_kind, message)
    assert fragment in message, (name, message)


def test_nothing_compiled_at_import_and_doctests(sim):
    meta = sim["meta"]
    assert meta["built_at_import"] == 0
    failed, attempted = meta["doctest"]
    assert failed == 0 and attempted > 0
    assert meta["device_name"] == "CUDA simulator"


# ---- in this process: validation that needs no GPU ------------------------------
@pytest.mark.parametrize("device", ["gpu", "CPU", None, 0, "cuda:0"])
def test_unknown_device_is_a_value_error(device):
    with pytest.raises(ValueError, match=f"device must be 'cpu' or 'cuda', got {device!r}"):
        tropical.matmul([[0.0]], [[1.0]], device=device)
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        tropical.matvec([[0.0]], [1.0], device=device)


def test_cuda_without_a_gpu_is_a_runtime_error():
    code = """
        import numba.cuda, tropical
        if numba.cuda.is_available():
            print("GPU")
        else:
            try:
                tropical.matmul([[0.0]], [[1.0]], device="cuda")
            except RuntimeError as exc:
                print("RuntimeError:", exc)
    """
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.strip() == "GPU":
        pytest.skip("a CUDA GPU is present")
    msg = proc.stdout.strip()
    assert msg.startswith("RuntimeError: matmul: device='cuda' needs a CUDA GPU"), msg
    assert "device='cpu'" in msg and "NUMBA_ENABLE_CUDASIM=1" in msg


def test_kernels_compile_to_ptx(children):
    """The kernels compile for a real GPU (sm_90) where NVVM is installed.

    The simulator runs the kernels as Python, so it cannot tell whether Numba's
    CUDA compiler accepts them; ``compile_ptx`` needs NVVM (the CUDA toolkit)
    but no GPU. Also checks that no register block spills to local memory.
    """
    rc, out, err = children[0]("ptx")
    assert rc == 0, err[-4000:]
    if out.strip() == "NO NVVM":
        pytest.skip("NVVM (CUDA toolkit) not installed: nothing to compile with")
    assert out.strip() == "OK 6"

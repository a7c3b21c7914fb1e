"""The package as a whole: lazy imports, the JIT switch, the CLI, warmup, docs."""

from __future__ import annotations

import doctest
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tropical

HEAVY = ("numba", "sympy", "scipy", "networkx", "matplotlib")


def run_python(code, env_extra=None, timeout=300, check=True):
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def run_cli(*args, timeout=300, **env):
    return subprocess.run([sys.executable, "-m", "tropical.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})


# ---- lazy imports ---------------------------------------------------------------
def test_import_is_light():
    proc = run_python(f"""
        import sys, json
        import tropical
        after_import = sorted(m for m in {HEAVY!r} if m in sys.modules)
        f = tropical.matmul          # attribute access loads _ops, not numba
        g = tropical.semiring.maxplus
        after_access = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps([after_import, after_access]))
    """, env_extra={"TROPICAL_JIT": "1"})
    after_import, after_access = json.loads(proc.stdout.strip().splitlines()[-1])
    assert after_import == []
    assert after_access == []


def test_first_call_loads_numba_only_with_jit():
    code = """
        import sys
        import tropical
        tropical.matmul([[0.0, 1.0]], [[1.0], [2.0]])
        print("numba" in sys.modules)
    """
    assert run_python(code, {"TROPICAL_JIT": "1"}).stdout.strip().endswith("True")
    assert run_python(code, {"TROPICAL_JIT": "0"}).stdout.strip().endswith("False")


# ---- TROPICAL_WIDE_VECTORS does not depend on the import order --------------------
_WIDE_PROBE = """
    import json, os, sys, warnings
    first = sys.argv[1]
    if first in ("numba", "compiled"):
        import numba
        numba.config.THREADING_LAYER = "workqueue"  # a setting made in code: must survive
    if first == "compiled":
        numba.njit(lambda x: x + 1)(1)          # the user's own Numba code, compiled first
    import numpy as np
    import tropical
    from tropical import _config
    from tropical.fit import fit
    X = np.random.default_rng(0).uniform(-2, 2, (256, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if sys.argv[2] == "fit":
            history = fit(X, np.linalg.norm(X, axis=1), 16, 0.25, iterations=30,
                          seed=0).loss_history.tobytes().hex()
        else:                                   # load the kernels, compile nothing
            import tropical.kernels.fit
            history = ""
    from numba.core.registry import cpu_target
    import llvmlite.binding as llvm
    print(json.dumps({
        "host_avx512": "+avx512f" in llvm.get_host_cpu_features().flatten().split(","),
        "features": cpu_target.target_context.codegen()._tm_features,
        "history": history,
        "warnings": [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)],
        "layer": str(sys.modules["numba"].config.THREADING_LAYER),
        "env": os.environ.get("NUMBA_CPU_FEATURES"),
        "active": _config.wide_vectors_active(),
    }))
"""


def _wide_probe(first, wide="1", run="fit", **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    env["TROPICAL_WIDE_VECTORS"] = wide
    env.update(extra)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_WIDE_PROBE), first, run],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_wide_vectors_whatever_imports_numba_first():
    from tropical import _config

    if not _config.jit_enabled():
        pytest.skip("TROPICAL_JIT=0: no Numba code generator")
    plain, numba_first = _wide_probe("tropical"), _wide_probe("numba")
    # a notebook that runs `import numba` before tropical gets the same kernels, and
    # keeps what it set in numba.config (the environment is left alone there)
    assert numba_first["features"] == plain["features"]
    assert numba_first["history"] == plain["history"]
    assert plain["warnings"] == numba_first["warnings"] == []
    assert plain["features"].endswith(",-prefer-256-bit") == plain["host_avx512"]
    assert plain["active"] == numba_first["active"] == plain["host_avx512"]
    assert numba_first["layer"] == "workqueue" and numba_first["env"] is None
    # the user's own choice of CPU is left alone
    named = _wide_probe("tropical", run="load", NUMBA_CPU_NAME="haswell")
    assert "-prefer-256-bit" not in named["features"] and named["env"] is None
    # the switch off: Numba's defaults, no warning
    off = _wide_probe("numba", wide="0", run="load")
    assert "-prefer-256-bit" not in off["features"] and off["warnings"] == []
    # too late (Numba already compiled code): the defaults stay, and a warning says so
    late = _wide_probe("compiled", run="load")
    assert late["features"] == off["features"] and late["layer"] == "workqueue"
    assert not late["active"]
    if plain["host_avx512"]:
        assert len(late["warnings"]) == 1 and "TROPICAL_WIDE_VECTORS" in late["warnings"][0]
    else:
        assert late["warnings"] == []


def test_invalid_wide_vectors_switch_is_refused_every_time():
    code = """
        import tropical
        for attempt in range(2):
            try:
                import tropical.kernels.fit
            except ValueError as exc:
                print("refused:", exc)
    """
    out = run_python(code, {"TROPICAL_WIDE_VECTORS": "maybe", "TROPICAL_JIT": "1"}).stdout
    assert out.count("refused: environment variable TROPICAL_WIDE_VECTORS='maybe'") == 2


def test_public_names_and_modules():
    for name in tropical.__all__:
        assert hasattr(tropical, name), name
    assert set(tropical.__all__) <= set(dir(tropical))
    for name in ("matmul", "matvec", "lse", "softmax", "entropy", "power", "star",
                 "identity", "warmup"):
        assert getattr(tropical, name).__module__ == "tropical"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tropical.nope
    assert isinstance(tropical.__version__, str) and tropical.__version__
    assert tropical.kernels.KERNEL_NAMES


# ---- TROPICAL_JIT=0 and =1 agree ------------------------------------------------
_COMPUTE = """
    import sys
    import numpy as np
    import tropical
    rng = np.random.default_rng(7)
    out = {}
    for dt in (np.float64, np.float32):
        A = rng.uniform(-5, 5, (37, 19)).astype(dt)
        B = rng.uniform(-5, 5, (19, 23)).astype(dt)
        A[rng.random(A.shape) < 0.1] = -np.inf
        B[:, 3] = -np.inf
        a = rng.uniform(-5, 5, (11, 40)).astype(dt)
        a[rng.random(a.shape) < 0.1] = -np.inf
        t = dt.__name__
        for s, sg in (("max", 1), ("min", -1)):
            out[f"mm0_{t}_{s}"] = tropical.matmul(sg * A, sg * B, sense=s)
            C, arg = tropical.matmul(sg * A, sg * B, sense=s, return_argmax=True)
            out[f"arg_{t}_{s}"] = arg
            out[f"mv0_{t}_{s}"] = tropical.matvec(sg * A, sg * B[:, 0], sense=s)
            out[f"lse0_{t}_{s}"] = tropical.lse(sg * a, 0.0, sense=s)
            out[f"sm0_{t}_{s}"] = tropical.softmax(sg * a, 0.0, sense=s)
            out[f"pow0_{t}_{s}"] = tropical.power(sg * A[:19], 5, sense=s)
            for eps in (1e-300, 1e-3, 1.0, 1e8):
                out[f"mm{eps}_{t}_{s}"] = tropical.matmul(sg * A, sg * B, eps=eps, sense=s)
                out[f"mv{eps}_{t}_{s}"] = tropical.matvec(sg * A, sg * B[:, 0], eps=eps, sense=s)
                out[f"lse{eps}_{t}_{s}"] = tropical.lse(sg * a, eps, sense=s)
                out[f"sm{eps}_{t}_{s}"] = tropical.softmax(sg * a, eps, sense=s)
        D = np.abs(rng.integers(0, 20, (9, 9))).astype(dt)
        D[rng.random(D.shape) < 0.3] = np.inf
        out[f"star_{t}"] = tropical.star(D, sense="min")
    np.savez(sys.argv[1] if len(sys.argv) > 1 else "out.npz", **out)
"""


def _compute(tmp_path, jit):
    path = tmp_path / f"jit{jit}.npz"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_COMPUTE), str(path)],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, TROPICAL_JIT=jit))
    assert proc.returncode == 0, proc.stderr
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def test_jit_and_numpy_twins_agree(tmp_path):
    ref = _compute(tmp_path, "0")
    jit = _compute(tmp_path, "1")
    assert ref.keys() == jit.keys()
    for key in ref:
        r, j = ref[key], jit[key]
        assert r.dtype == j.dtype and r.shape == j.shape, key
        exact = key.startswith(("mm0_", "arg_", "mv0_", "lse0_", "sm0_", "pow0_", "star_"))
        if exact:
            assert np.array_equal(r, j), key
            continue
        # eps > 0: both within a few ulps of the exact value; inf pattern identical
        assert np.array_equal(np.isinf(r), np.isinf(j)), key
        fin = np.isfinite(r)
        eps = float(key[2:].split("_")[0]) if key.startswith(("mm", "mv")) else \
            float(key[3:].split("_")[0]) if key.startswith("lse") else \
            float(key[2:].split("_")[0])
        u = np.finfo(r.dtype).eps
        if key.startswith("sm"):
            tol = u * (2 + 45 * np.abs(r[fin]))  # probabilities: N + 2 ulps relative
        else:
            n = 40 if key.startswith("lse") else 19
            scale = 10.0 + np.abs(r[fin])
            tol = u * (7 * scale + 3 * np.abs(r[fin]) + eps * (2 * n + 2 * np.log(n))) * 2
        assert (np.abs(r[fin] - j[fin]) <= tol).all(), (key, np.abs(r[fin] - j[fin]).max())


# ---- CLI --------------------------------------------------------------------------
# ``tropical check`` runs the commutative diagram (tests/test_diagram.py covers it
# in depth); ``tropical selfcheck`` keeps the kernel identities of the former check.
def test_cli_check_text():
    proc = run_cli("check", "--points", "64")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "tropical check" in out
    lines = out.strip().splitlines()
    held, total = lines[-1].split()[0].split("/")
    assert held == total and int(total) > 5
    assert not any(line.rstrip().endswith("NO") for line in lines)


def test_cli_check_json():
    proc = run_cli("check", "--json", "--eps", "1", "0.01", "0.001", "--points", "64")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["complete"] is True
    entries = report["rows"]
    assert isinstance(entries, list) and len(entries) > 5
    for entry in entries:
        assert set(entry) >= {"name", "measured", "bound", "ok"}
        assert entry["ok"] is True, entry
        assert entry["measured"] <= entry["bound"]


def test_cli_check_with_model(tmp_path):
    rng = np.random.default_rng(1)
    good = tmp_path / "good.npz"
    np.savez(good, W=rng.normal(size=(12, 3)), b=rng.normal(size=12))
    proc = run_cli("check", "--json", "--model", str(good), "--points", "64")
    assert proc.returncode == 0, proc.stderr
    assert all(e["ok"] for e in json.loads(proc.stdout)["rows"])


def test_cli_check_broken_model_exits_1(tmp_path):
    rng = np.random.default_rng(2)
    W, b = rng.normal(size=(10, 2)), rng.normal(size=10)
    bad = tmp_path / "broken.npz"   # PDE data off the dictionary y = 2t w, g = -b - t|w|^2
    np.savez(bad, W=W, b=b, y=2 * W, g=-b - (W ** 2).sum(1) + 1e-4, t=1.0)
    proc = run_cli("check", "--model", str(bad), "--points", "64")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout


@pytest.mark.parametrize("command", ["check", "selfcheck"])
@pytest.mark.parametrize("arrays,msg", [
    ({"X": np.zeros((3, 2))}, "lacks arrays"),
    ({"W": np.zeros((3, 2)), "b": np.zeros(4)}, "W must be (N, d) and b (N,)"),
    ({"W": np.zeros(3), "b": np.zeros(3)}, "W must have at least 2 dimension"),
    ({"W": np.array([[0.0, np.nan]]), "b": np.zeros(1)}, "NaN"),
    ({"W": np.array([[0.0, -np.inf]]), "b": np.zeros(1)}, "finite"),
    ({"W": np.zeros((3, 2)), "b": np.zeros(3), "eps": np.array([-1.0])}, "eps must be >= 0"),
])
def test_cli_check_bad_model(tmp_path, command, arrays, msg):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    proc = run_cli(command, "--model", str(path))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "tropical: error:" in proc.stderr and msg in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_check_missing_file_and_bad_eps(tmp_path):
    proc = run_cli("check", "--model", str(tmp_path / "nope.npz"))
    assert proc.returncode == 2 and "tropical: error:" in proc.stderr
    proc = run_cli("check", "--eps", "-1")
    assert proc.returncode == 2 and "--eps must be >= 0" in proc.stderr
    proc = run_cli("check", "--eps", "nan")
    assert proc.returncode == 2 and "NaN" in proc.stderr


def test_cli_selfcheck_kernel_identities():
    proc = run_cli("selfcheck", "--eps", "1", "0.01", "0.001")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("tropical selfcheck")
    held, total = lines[-1].split()[0].split("/")
    assert held == total and int(total) > 5
    proc = run_cli("selfcheck", "--json")
    assert proc.returncode == 0 and all(e["ok"] for e in json.loads(proc.stdout))


def test_cli_info_and_usage():
    proc = run_cli("info")
    assert proc.returncode == 0 and "tropical-engine" in proc.stdout
    # the OpenBLAS switch the eps > 0 product's speed depends on (docs/kernels.md)
    assert "OPENBLAS_THREAD_TIMEOUT=4" in run_cli("info", OPENBLAS_THREAD_TIMEOUT="4").stdout
    unset = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    proc = subprocess.run([sys.executable, "-m", "tropical.cli", "info"], capture_output=True,
                          text=True, timeout=300, env=unset)
    assert "OPENBLAS_THREAD_TIMEOUT=(unset" in proc.stdout
    proc = run_cli()
    assert proc.returncode == 2  # argparse: a command is required


# ---- warmup -----------------------------------------------------------------------
def test_warmup_times_every_kernel():
    times = tropical.warmup()
    assert set(times) == set(tropical.kernels.KERNEL_NAMES)
    assert all(isinstance(t, float) and t >= 0 for t in times.values())


def test_warmup_compiles_in_subprocess():
    proc = run_python("""
        import json, tropical
        t = tropical.warmup()
        print(json.dumps(t))
    """, {"TROPICAL_JIT": "1"}, timeout=600)
    times = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(times) == set(tropical.kernels.KERNEL_NAMES)


# ---- documentation ----------------------------------------------------------------
PUBLIC = [name for name in tropical.__all__ if name != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc_docstring_with_examples(name):
    from numpydoc.docscrape import ClassDoc, FunctionDoc

    obj = getattr(tropical, name)  # every public name resolves
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        obj = type(obj)  # an instance (maxplus): its class carries the docs
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    parsed = ClassDoc(obj) if inspect.isclass(obj) else FunctionDoc(obj)
    assert parsed["Summary"] and parsed["Summary"][0].strip(), name
    examples = "\n".join(parsed["Examples"])
    assert ">>>" in examples, f"{name} has no Examples section with doctests"
    if not inspect.isclass(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
        documented = {p.name.split(":")[0].strip() for p in parsed["Parameters"]}
        documented |= {n.strip() for p in parsed["Parameters"] for n in p.name.split(",")}
        missing = [p for p in params if p not in documented]
        assert not missing, f"{name}: parameters {missing} are not documented"


DOCTEST_MODULES = ["tropical._ops", "tropical.semiring", "tropical._warmup", "tropical._progress", "tropical._jsonio", "tropical"]


def _run_doctests(module):
    """doctest.testmod, plus the docstrings it skips.

    The public functions of ``tropical._ops`` carry ``__module__ = "tropical"``
    (so the REPL shows ``tropical.matmul``); ``doctest.testmod`` then treats them
    as foreign to ``_ops`` and skips them. ``module=False`` makes the finder take
    every docstring reachable from the module's namespace.
    """
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    finder = doctest.DocTestFinder()
    names = set()
    for test in finder.find(module, module.__name__, module=False,
                            globs=dict(vars(module))):
        if test.examples:
            runner.run(test, out=lambda text: failures.append(text))
            names.add(test.name.rsplit(".", 1)[-1])
    return runner.summarize(verbose=False), names


failures: list[str] = []


@pytest.mark.parametrize("modname", DOCTEST_MODULES)
def test_doctests(modname):
    module = importlib.import_module(modname)
    if modname == "tropical":
        # load every lazy public name, so that testmod sees all of them whatever
        # ran before (a name that fails to load is test_public_names' business)
        for name in module.__all__:
            try:
                getattr(module, name)
            except Exception:
                pass
    failures.clear()
    plain = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=False)
    assert plain.failed == 0, f"doctest.testmod: {plain.failed} failure(s) in {modname}"
    result, names = _run_doctests(module)
    assert result.attempted > 0, f"{modname} has no doctests"
    assert result.failed == 0, "".join(failures)
    # every public name of the module that shows examples had them run
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if obj is not None and ">>>" in (getattr(obj, "__doc__", "") or "") and \
                (inspect.isroutine(obj) or inspect.isclass(obj)):
            assert name in names, f"the examples of {modname}.{name} were not run"

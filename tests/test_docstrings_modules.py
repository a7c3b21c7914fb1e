"""numpydoc checks of the public names of the submodules (not re-exported at top level).

``tests/test_package.py::test_numpydoc_docstring_with_examples`` checks
``tropical.__all__``; this applies the same rule to the ``__all__`` of each
submodule added with the attribution, robustness, control, experiments,
parallel and diagram work: a numpydoc docstring with a Summary, an Examples
section with doctests, and every parameter of a function documented. The
doctests themselves run in each module's own test file (``doctest.testmod``).
Module-level constants (``TWO_CLUSTER_BOX``, ``KINDS``, ``EXPERIMENTS``) are
data, documented in their module's docstring, and are skipped.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "tropical.attribution",
    "tropical.robustness",
    "tropical.control",
    "tropical.experiments",
    "tropical.parallel",
    "tropical.diagram",
]


def _public(module_name):
    module = importlib.import_module(module_name)
    return [(module_name, name) for name in module.__all__]


PUBLIC = [pair for m in MODULES for pair in _public(m)]


def test_every_module_exports_something():
    # a module whose __all__ went missing would make the check below vacuous
    for m in MODULES:
        assert _public(m), f"{m} has an empty __all__"


@pytest.mark.parametrize("module_name, name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_numpydoc_docstring_with_examples(module_name, name):
    from numpydoc.docscrape import ClassDoc, FunctionDoc

    obj = getattr(importlib.import_module(module_name), name)  # every name resolves
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        pytest.skip(f"{name} is a constant ({type(obj).__name__})")
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    parsed = ClassDoc(obj) if inspect.isclass(obj) else FunctionDoc(obj)
    assert parsed["Summary"] and parsed["Summary"][0].strip(), name
    examples = "\n".join(parsed["Examples"])
    assert ">>>" in examples, f"{module_name}.{name} has no Examples section with doctests"
    if not inspect.isclass(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
        documented = {p.name.split(":")[0].strip() for p in parsed["Parameters"]}
        documented |= {n.strip() for p in parsed["Parameters"] for n in p.name.split(",")}
        missing = [p for p in params if p not in documented]
        assert not missing, f"{module_name}.{name}: parameters {missing} are not documented"

"""Kernel dispatch: the compiled kernel or its numpy twin, chosen once.

``get(name)`` returns the callable implementing a kernel named in
``tropical.kernels.KERNEL_NAMES``: the Numba version, or with
``TROPICAL_JIT=0`` the plain-numpy twin from ``tropical.kernels.reference``.
Numba is imported here, on the first request, never at ``import tropical``.
"""

from __future__ import annotations

import importlib

from . import _config
from .kernels import KERNEL_NAMES

_cache: dict[str, object] = {}


def get(name: str):
    """The implementation of kernel ``name`` for this process."""
    try:
        return _cache[name]
    except KeyError:
        pass
    if name not in KERNEL_NAMES:
        raise KeyError(f"unknown kernel {name!r}")
    if _config.jit_enabled():
        _config.load_numba()
        module = importlib.import_module(f"tropical.kernels.{KERNEL_NAMES[name]}")
    else:
        module = importlib.import_module("tropical.kernels.reference")
    fn = getattr(module, name)
    _cache[name] = fn
    return fn

"""The four views of one log-sum-exp layer (``../shared/design/MATH.md`` section 2).

* :mod:`tropical.views.network` -- the network view: :class:`LSELayer`
  ``f_eps(x) = LSE_eps(W x + b)`` and :func:`attention`;
* :mod:`tropical.views.pde` -- the PDE view: :class:`HopfCole`, the
  Hopf-Cole solution of ``u_t + |grad u|^2 = eps Laplacian(u)``;
* :mod:`tropical.views.convex` -- the convex view: :class:`EntropicLP`, the
  entropy-regularised linear programme over the simplex.

The tropical view is :meth:`LSELayer.tropical`, a
:class:`tropical.TropicalPolynomial`. :mod:`tropical.diagram` checks that the
views agree. The names load their module on first use.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "LSELayer": "network",
    "attention": "network",
    "HopfCole": "pde",
    "EntropicLP": "convex",
}
_SUBMODULES = {"network", "pde", "convex"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'tropical.views' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)

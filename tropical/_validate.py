"""Validation at the public boundary: every check the kernels rely on.

Kernels never validate; every public function passes its arguments through
these helpers first, so that bad input gets a clear exception naming the
argument instead of a wrong number.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

__all__ = [
    "SENSES",
    "as_semiring_array",
    "check_eps",
    "check_sense",
    "result_dtype",
    "check_axis",
]

#: sense name -> sign used by the kernels (+1 max, -1 min)
SENSES = {"max": 1, "min": -1}


def check_sense(sense) -> int:
    """Return the kernel sign (+1 / -1) of ``sense`` ('max' or 'min')."""
    if isinstance(sense, str) and sense in SENSES:
        return SENSES[sense]
    raise ValueError(f"sense must be 'max' or 'min', got {sense!r}")


def check_eps(eps, name: str = "eps") -> float:
    """Return ``eps`` as a float after checking that it is finite and >= 0.

    Also used for other non-negative reals (a Lipschitz constant, a time, a
    tolerance): ``name`` is the argument the message names.
    """
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {type(eps).__name__} {eps!r}")
    value = float(eps)
    if math.isnan(value):
        raise ValueError(f"{name} must be a real number >= 0, got NaN")
    if math.isinf(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0:
        why = " (eps = 0 is the tropical limit)" if "eps" in name else ""
        raise ValueError(f"{name} must be >= 0{why}, got {value}")
    return value


def check_int(k, name: str, minimum: int = 0) -> int:
    """Return ``k`` as an int after checking it is an integer >= minimum."""
    if isinstance(k, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool {k!r}")
    try:
        value = operator.index(k)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(k).__name__} {k!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _to_array(data, name: str) -> np.ndarray:
    if isinstance(data, np.ma.MaskedArray):
        # its reductions skip masked cells, which may hold NaN the kernels would read
        raise TypeError(f"{name} is a masked array; pass {name}.filled(value) with the "
                        "semiring zero or another value for the masked entries")
    if isinstance(data, np.ndarray):
        return data
    # Tropical wrappers and other array-likes expose __array__.
    try:
        return np.asarray(data)
    except ValueError as exc:  # ragged nested sequences
        raise ValueError(
            f"{name} is ragged: nested sequences of different lengths cannot form an array ({exc})"
        ) from None


def as_semiring_array(data, name: str, sense: int = 1, *, float32_ok: bool = True,
                      min_ndim: int = 0, allow_empty: bool = True) -> np.ndarray:
    """Validate ``data`` as an array of semiring elements.

    Returns a float64 ndarray (float32 is kept when ``float32_ok``); integers
    and booleans are converted to float64. Raises ``TypeError`` for complex,
    object, string or datetime data, ``ValueError`` for ragged input, NaN, an
    infinity of the wrong sign (``+inf`` is not an element of the max-plus
    carrier R U {-inf}; ``-inf`` not of the min-plus one), too few dimensions
    or an empty array when not allowed.
    """
    arr = _to_array(data, name)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype == np.float32 and float32_ok:
            pass
        elif arr.dtype != np.float64:
            arr = arr.astype(np.float64)
    elif kind in "iub":
        arr = arr.astype(np.float64)
    elif kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    else:
        raise TypeError(
            f"{name} must be an array of real numbers, got dtype {arr.dtype}"
            + (" (ragged or mixed-type input?)" if kind == "O" else "")
        )
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.size:
        _check_elements(arr, name, sense)
    return arr


def _check_elements(arr: np.ndarray, name: str, sense: int) -> None:
    bad_inf = np.inf if sense == 1 else -np.inf
    # The common case in one reduction, no temporaries: the largest entry (smallest
    # for min-plus) is NaN if any entry is (numpy's max and min propagate NaN) and
    # the forbidden infinity if any entry is; otherwise every entry is finite or the
    # semiring zero. Three times faster than isfinite | == on large arrays.
    extreme = arr.max() if sense == 1 else arr.min()
    if -np.inf < extreme < np.inf or extreme == -bad_inf:
        return
    ok = np.isfinite(arr) | (arr == -bad_inf)
    idx = tuple(int(i) for i in np.argwhere(~ok)[0])
    where = idx if arr.ndim else "()"
    value = arr[idx] if arr.ndim else arr[()]
    if np.isnan(value):
        raise ValueError(f"{name} contains NaN at index {where}; NaN is not a semiring element")
    semiring = "max-plus" if sense == 1 else "min-plus"
    zero = "-inf" if sense == 1 else "+inf"
    raise ValueError(
        f"{name} contains {value} at index {where}, which is not an element of the "
        f"{semiring} semiring (its zero is {zero}; only that infinity is allowed)"
    )


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every operand is float32, float64 otherwise."""
    if all(a.dtype == np.float32 for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def check_axis(axis, ndim: int, name: str = "axis") -> int:
    """Normalise ``axis`` against ``ndim`` with a clear error."""
    axis = check_int(axis, name, minimum=-(10**9))
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim

"""Whether long-running functions show progress: one rule for the whole package."""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["want_progress"]


def want_progress(progress) -> bool:
    """``progress`` if given (a bool), else whether stderr is a terminal.

    Examples
    --------
    >>> want_progress(True), want_progress(False)
    (True, False)
    >>> want_progress("yes")
    Traceback (most recent call last):
    ...
    TypeError: progress must be a bool or None, got str
    """
    if progress is not None:
        if not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be a bool or None, got {type(progress).__name__}")
        return bool(progress)
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False

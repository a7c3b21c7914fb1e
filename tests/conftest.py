"""Shared test configuration: the hypothesis profile and a few fixtures.

The profile ``tropical`` has no deadline (the first call of a kernel compiles
it, which takes seconds) and a modest example count so that the suite stays
fast on a 2-core machine. ``HYPOTHESIS_PROFILE=thorough`` runs more examples.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "tropical",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    parent=settings.get_profile("tropical"),
    max_examples=500,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "tropical"))


@pytest.fixture
def rng():
    """A fresh, seeded generator per test (reproducible failures)."""
    return np.random.default_rng(20240527)

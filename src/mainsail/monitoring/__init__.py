"""Monitoring: drift over raw frames and mergeable sketches."""

from mainsail.monitoring._drift import ColumnDrift, DriftReport, drift
from mainsail.monitoring._tests import (
    DriftScore,
    DriftTest,
    available_tests,
    get_test,
    register_test,
)

__all__ = [
    "ColumnDrift",
    "DriftReport",
    "DriftTest",
    "DriftScore",
    "available_tests",
    "drift",
    "get_test",
    "register_test",
]

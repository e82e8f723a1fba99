"""Identifiers and clocks."""

from __future__ import annotations

import os
import time
import uuid


def new_id() -> str:
    """A new random 32-hex-digit id."""
    return uuid.uuid4().hex


def now_ms() -> int:
    """Milliseconds since the epoch, the unit every timestamp in the store uses."""
    return time.time_ns() // 1_000_000


def hostname() -> str:
    return os.uname().nodename

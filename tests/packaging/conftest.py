"""Tools the deployment tests run: Debian packages that ``.ci/run`` installs."""

from __future__ import annotations

import os
import shutil

import pytest


def need_tool(name: str) -> str:
    """The path of a command-line tool; in CI a missing one fails the test, locally skips it."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (.ci/run installs it) and is not installed")
        pytest.skip(f"{name} is not installed (apt-get install -y {name})")
    return path

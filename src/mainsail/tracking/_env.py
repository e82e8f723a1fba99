"""Capture the environment a run executes in: Python, platform, packages, git state."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson


@lru_cache(maxsize=1)
def _packages() -> dict[str, str]:
    from importlib import metadata

    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            out[str(name).lower()] = dist.version
    return dict(sorted(out.items()))


@lru_cache(maxsize=8)
def git_info(folder: str) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git repository holding ``folder``, or (None, None)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if commit.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return commit.stdout.strip(), bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def caller_folder() -> str:
    """The folder of the running script, or the working directory in a REPL/notebook."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        return str(Path(path).absolute().parent)
    return os.getcwd()


@lru_cache(maxsize=2)
def capture_environment(packages: bool = True) -> tuple[str, dict[str, Any]]:
    """(digest, environment) for this process. Computed once: package scans are slow."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": _packages() if packages else {},
    }
    digest = hashlib.sha256(orjson.dumps(env, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return digest, env

"""The top-level namespace is one list (``mainsail/__init__.pyi``), loaded lazily."""

from __future__ import annotations

import os
import subprocess
import sys

import mainsail


def test_every_public_name_resolves() -> None:
    missing = [n for n in mainsail.__all__ if not hasattr(mainsail, n)]
    assert missing == []
    assert "deploy" in mainsail.__all__ and "__version__" in mainsail.__all__


def test_import_is_light_and_eager_mode_loads_everything() -> None:
    code = "import sys, mainsail; print('pandas' in sys.modules, 'mainsail.rollout' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    env = {**os.environ, "EAGER_IMPORT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["True", "True"]


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        mainsail.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")

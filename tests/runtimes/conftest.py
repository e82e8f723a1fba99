"""The third-party flavor of ``tests/thirdparty/acme_flavors.py``, registered for one test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

THIRD_PARTY = Path(__file__).resolve().parents[1] / "thirdparty"
ACME = "acme-linear"


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """``acme_flavors`` importable here and in child processes, its flavor registered here.

    Child processes (a server, ``mainsail serve``) get the folder on ``PYTHONPATH`` and find
    the flavor through the entry point next to the module, as an installed package's.
    """
    import importlib

    from mainsail.runtimes import FLAVORS, register_flavor

    monkeypatch.syspath_prepend(str(THIRD_PARTY))
    paths = [str(THIRD_PARTY), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    register_flavor(ACME, "acme_flavors:LinearCoefficientsRuntime")
    try:
        yield importlib.import_module("acme_flavors")
    finally:
        FLAVORS.unregister(ACME)

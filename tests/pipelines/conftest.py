"""Step modules written to a temporary folder and imported fresh, as a project would."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ModuleType]]:
    """``project(name, source, **other_files)``: write modules and (re)import ``name``."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # a rewrite is always recompiled
    written: set[str] = set()

    def load(name: str, source: str | None = None, **files: str) -> ModuleType:
        for mod, text in ({name: source} if source is not None else {}).items() | files.items():
            (folder / f"{mod}.py").write_text(textwrap.dedent(text))
            written.add(mod)
        for mod in written:
            sys.modules.pop(mod, None)
        importlib.invalidate_caches()
        return importlib.import_module(name)

    yield load
    for mod in written:
        sys.modules.pop(mod, None)

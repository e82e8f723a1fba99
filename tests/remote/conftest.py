"""The SDK contract: every domain API behaves the same embedded and against a server.

``sdk_mode`` runs a test twice: ``embedded`` (SQLite and a folder in ``tmp_path``) and
``remote`` (``MAINSAIL_TRACKING_URI`` pointing at a real ``mainsail server`` process on
127.0.0.1, auth on, an admin token). One server serves a whole module, so tests name what
they create with the ``unique`` fixture.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import mainsail
from mainsail.server._process import ServerProcess


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """A real server (no controllers: tests drive state by hand) and its admin token."""
    home = tmp_path_factory.mktemp("remote") / "srv"
    with ServerProcess(home, "--bootstrap-admin", "--no-controllers") as srv:
        match = re.search(r"^ms_\S+$", srv.output(), re.M)
        assert match is not None, srv.output()
        yield srv, match.group(0)


@pytest.fixture
def remote(
    live_server: tuple[ServerProcess, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerProcess]:
    """Point the SDK (and the CLI) at the live server for this test."""
    srv, token = live_server
    monkeypatch.setenv("MAINSAIL_TRACKING_URI", srv.url)
    monkeypatch.setenv("MAINSAIL_TOKEN", token)
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "client-home"))
    mainsail.reset()
    yield srv
    mainsail.reset()


@pytest.fixture(params=["embedded", "remote"])
def sdk_mode(request: pytest.FixtureRequest) -> str:
    """Run the test embedded and against the live server; returns the mode."""
    if request.param == "remote":
        request.getfixturevalue("remote")
    else:
        mainsail.reset()  # the autouse fixture already set MAINSAIL_HOME to tmp_path/home
    return str(request.param)


@pytest.fixture
def unique() -> str:
    """A short suffix for names on a server shared by the module."""
    return uuid.uuid4().hex[:8]

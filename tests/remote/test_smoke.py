"""The ``sdk_mode`` fixture itself: embedded writes a local store, remote writes the server's."""

from __future__ import annotations

from pathlib import Path

import mainsail
from mainsail.store._rest_client import seg


def test_modes_reach_the_intended_store(sdk_mode: str, unique: str, tmp_path: Path) -> None:
    ctx = mainsail.get_context()
    assert ctx.is_remote is (sdk_mode == "remote")
    api = ctx.remote
    assert (api is None) is (sdk_mode == "embedded")
    with mainsail.start_run(experiment=f"smoke-{unique}"):
        mainsail.log_metric("m", 1.0)
    names = {e.name for e in ctx.store.list_experiments()}
    assert f"smoke-{unique}" in names
    # embedded mode wrote under the test's home; remote mode left the client home empty
    assert (tmp_path / "home").exists() is (sdk_mode == "embedded")


def test_seg_quotes_a_whole_segment() -> None:
    assert seg("a/b c") == "a%2Fb%20c"
    assert seg(3) == "3"

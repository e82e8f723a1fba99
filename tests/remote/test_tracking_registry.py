"""The SDK and CLI unchanged against a real ``mainsail server`` process (auth on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core._errors import AuthenticationError, StoreUnavailableError
from mainsail.server._process import ServerProcess


def test_sdk_round_trip_through_the_server(
    live_server: tuple[ServerProcess, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    from sklearn.linear_model import LogisticRegression

    srv, token = live_server
    monkeypatch.setenv("MAINSAIL_TRACKING_URI", srv.url)
    monkeypatch.setenv("MAINSAIL_TOKEN", token)
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "client-home"))
    mainsail.reset()
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (df.a + df.b > 0).astype(int)
    note = tmp_path / "note.txt"
    note.write_bytes(b"x" * 3_000_000)  # > one upload chunk
    with mainsail.start_run(experiment="remote", params={"depth": 3}) as run:
        for step in range(300):
            mainsail.log_metric("loss", 1.0 / (step + 1), step=step)
        mainsail.log_artifact(note)
        mainsail.log_dataset(df, name="features")
        model = LogisticRegression().fit(df, y)
        mv = mainsail.register_model(model, name="clf", run=run, input_example=df.head())
    mainsail.set_alias("clf", "champion", mv.version)
    loaded = mainsail.load_model("models:/clf@champion")
    assert (loaded.predict(df.head(20)) == model.predict(df.head(20))).all()
    stored = mainsail.get_run(run.id)
    assert stored.status == "finished" and stored.params == {"depth": "3"}
    assert stored.metrics["loss"] == pytest.approx(1 / 300)
    assert [i.address for i in stored.inputs] == ["datasets:/features/1"]
    got = mainsail.client.download_artifact(run.id, "note.txt", tmp_path / "dl" / "note.txt")
    assert got.read_bytes() == note.read_bytes()
    assert len(mainsail.load_dataset("datasets:/features/1")) == 200
    # the CLI talks to the same server
    code, text, err = cli("runs", "list", "--experiment", "remote")
    assert code == 0, err
    assert run.id[:8] in text
    code, text, err = cli("audit", "--action", "models.set_alias", "--json")
    assert code == 0 and '"actor": "admin"' in text
    # metrics went in batches, not one request per point
    events = [
        e
        for e in mainsail.client.get_context().store.client.json(
            "GET", "/audit", params={"action": "runs.log_metrics", "limit": 1000}
        )
    ]
    assert 1 <= len(events) < 30
    mainsail.reset()
    # no secrets in the server log: the token appears once, where bootstrap printed it
    assert srv.output().count(token) == 1


def test_wrong_token_and_no_server(live_server: tuple[ServerProcess, str]) -> None:
    srv, _ = live_server
    mainsail.configure(tracking_uri=srv.url, token="ms_wrong")
    with pytest.raises(AuthenticationError, match="unknown, revoked or expired"):
        mainsail.search_runs()
    mainsail.configure(tracking_uri="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(StoreUnavailableError, match="could not reach it"):
        mainsail.search_runs()
    assert httpx.get(f"{srv.url}/api/v1/health/ready").json()["status"] == "ok"
    assert httpx.get(f"{srv.url}/api/v1/openapi.json").status_code == 200

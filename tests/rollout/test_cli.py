"""mainsail deploy / rollout / endpoints, run in process."""

from __future__ import annotations

import orjson
import sqlalchemy as sa

import mainsail
from mainsail.core._ids import now_ms
from mainsail.store import _tables as t

from .test_api import _register


def test_deploy_status_and_control(ctx, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _register(3)
    code, out, err = cli("deploy", "churn", "models:/churn/1")
    assert code == 0 and "promoted" in out, err
    spec = tmp_path / "canary.yaml"
    spec.write_text("strategy: canary\nsteps: [5, 25, 50, 100]\ninterval: 30\nmax_p99_ms: 80\n")
    code, out, err = cli("deploy", "churn", "models:/churn/2", "-f", str(spec))
    assert code == 0 and "canary rollout" in out and "progressing" in out, err
    code, out, _ = cli("rollout", "status", "churn")
    assert code == 0 and "canary" in out and "5.0%" in out and "95.0%" in out
    code, out, _ = cli("rollout", "status", "churn", "--json")
    doc = orjson.loads(out)
    assert doc["rollout"]["weight"] == 5 and doc["rollout"]["spec"]["spec"]["max_p99_ms"] == 80
    assert cli("rollout", "pause", "churn")[1].count("paused") == 1
    assert "progressing" in cli("rollout", "resume", "churn")[1]
    assert "promoted" in cli("rollout", "promote", "churn")[1]
    code, out, _ = cli("endpoints", "history", "churn")
    assert code == 0 and "revisions" in out
    code, out, _ = cli("endpoints", "history", "churn", "--json")
    assert orjson.loads(out)[-1]["reason"] == "rollout 2 promoted"
    code, out, _ = cli("endpoints", "list", "--json")
    assert orjson.loads(out)[0]["variants"][0]["version"] == 2
    code, out, _ = cli("rollout", "rollback", "churn")
    assert code == 0 and "rolled_back" in out
    assert mainsail.get_endpoint("churn").variants[0].version == 1
    code, out, _ = cli(
        "deploy", "churn", "models:/churn/3", "--strategy", "ab", "--weights", "50,50"
    )
    assert code == 0
    code, out, _ = cli("rollout", "report", "churn", "--json")
    assert code == 0 and orjson.loads(out)["arms"] == ["a", "b"]
    assert "promoted" in cli("rollout", "promote", "churn", "--winner", "b")[1]
    code, out, err = cli(
        "deploy", "churn", "models:/churn/1", "--strategy", "blue-green",
        "--smoke-url", "http://127.0.0.1:8080", "--smoke-requests", "12", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert orjson.loads(out)["spec"]["spec"] == {
        "smoke_url": "http://127.0.0.1:8080",
        "smoke_requests": 12,
    }


def test_cli_errors_are_clear(ctx, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _register(1)
    code, _, err = cli("deploy", "churn", "models:/churn/1", "--strategy", "nope")
    assert code == 1 and "Valid strategies are" in err
    code, _, err = cli("deploy", "churn", "models:/churn/1", "--steps", "5,x")
    assert code == 1 and "comma-separated numbers" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n- 2\n")
    code, _, err = cli("deploy", "churn", "models:/churn/1", "-f", str(bad))
    assert code == 1 and "mapping of rollout fields" in err
    code, _, err = cli("rollout", "status", "nope")
    assert code == 1 and "No endpoint named 'nope'" in err
    code, out, err = cli("deploy", "fresh", "models:/churn/1", "--strategy", "canary")
    assert code == 1 and "promoted" not in out and "--strategy direct" in err, (out, err)
    code, _, err = cli("rollout", "report", "nope")
    assert code == 1


def test_status_says_when_no_controller_moves_the_rollout(ctx, cli) -> None:  # type: ignore[no-untyped-def]
    """Issue 21 item 8: a due step nobody analyses is called out, with how to start one."""
    _register(2)
    cli("deploy", "churn", "models:/churn/1")
    code, out, err = cli("deploy", "churn", "models:/churn/2", "--strategy", "canary")
    assert code == 0, err
    code, out, _ = cli("rollout", "status", "churn")
    assert code == 0 and "Waiting for a controller" not in out  # not due yet
    with ctx.store.db.write() as conn:  # the step fell due a minute ago; nobody acted
        conn.execute(sa.update(t.rollouts).values(next_at=now_ms() - 60_000))
    code, out, _ = cli("rollout", "status", "churn")
    flat = " ".join(out.split())
    assert code == 0 and "Waiting for a controller" in flat, out
    assert "mainsail controllers run" in flat and "step 0 was due 60 s ago" in flat
    code, out, _ = cli("rollout", "status", "churn", "--json")
    assert "mainsail controllers run" in orjson.loads(out)["waiting_for_controller"]

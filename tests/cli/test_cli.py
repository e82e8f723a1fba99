"""The CLI end to end, through the same entry point users call."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import mainsail


@pytest.fixture
def populated(ctx):  # type: ignore[no-untyped-def]
    ids = []
    for depth in (2, 4):
        with mainsail.start_run(experiment="churn", params={"depth": depth}) as run:
            run.log_metric("auc", 0.8 + depth / 100)
        ids.append(run.id)
    df = pd.DataFrame({"age": [30, 40, 50], "plan": ["a", "b", "a"]})
    mainsail.log_dataset(df, name="customers")
    return ids


def test_listings_as_json(populated, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("experiments", "list", "--json")
    assert code == 0 and json.loads(out)[0]["name"] == "churn"
    code, out, _ = cli("runs", "list", "-e", "churn", "-f", "metrics.auc > 0.83", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [populated[1]]
    code, out, _ = cli("datasets", "list", "--json")
    assert json.loads(out)[0]["name"] == "customers"
    code, out, _ = cli("datasets", "list", "customers", "--json")
    assert json.loads(out)[0]["version"] == 1


def test_tables_for_people(populated, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("runs", "list")
    assert code == 0 and "depth" in out and "auc" in out
    code, out, _ = cli("runs", "show", populated[0][:8])
    assert code == 0 and "Params" in out and "depth" in out
    code, out, _ = cli("runs", "compare", *populated)
    assert code == 0 and "params.depth" in out
    code, out, _ = cli("datasets", "show", "datasets:/customers@latest")
    assert code == 0 and "plan" in out


def test_errors_have_no_traceback(populated, cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("runs", "show", "zzzz")
    assert code == 1 and "Unknown run" in err and "Traceback" not in err
    code, _, err = cli("runs", "list", "-f", "metrics.auc >")
    assert code == 1 and "Invalid filter" in err
    code, _, err = cli("datasets", "show", "datasets:/nope/1")
    assert code == 1 and "Known datasets: customers" in err


def test_validate_exit_code(populated, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    pd.DataFrame({"age": [35], "plan": ["a"]}).to_csv(good, index=False)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"age": [35], "plan": ["zzz"]}).to_csv(bad, index=False)
    code, out, _ = cli("datasets", "validate", str(good), "--against", "datasets:/customers/1")
    assert code == 0 and "OK" in out
    code, out, _ = cli(
        "datasets", "validate", str(bad), "--against", "datasets:/customers/1", "--json"
    )
    assert code == 1
    kinds = {v["kind"] for v in json.loads(out)["violations"]}
    assert "unseen_category" in kinds


def test_gc_and_doctor(populated, cli, ctx) -> None:  # type: ignore[no-untyped-def]
    orphan = ctx.artifacts.put_bytes(b"nobody points at me")
    code, out, _ = cli("gc", "--dry-run", "--min-age", "0", "--json")
    report = json.loads(out)
    assert code == 0 and report["unreferenced"] == [orphan] and not report["deleted"]
    assert ctx.artifacts.exists(orphan)
    code, out, _ = cli("gc", "--min-age", "0")  # a dry run unless asked (issue 17 item 19)
    assert code == 0 and "Would remove 1" in out and "mainsail gc --delete" in out
    assert ctx.artifacts.exists(orphan)
    code, out, _ = cli("gc", "--min-age", "0", "--delete")
    assert code == 0 and "Removed 1" in out and not ctx.artifacts.exists(orphan)
    dv = mainsail.get_dataset("datasets:/customers/1")
    assert ctx.artifacts.exists(dv.blob_digest)  # referenced blobs survive
    code, out, _ = cli("doctor", "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_console_script_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("mainsail")
    out = subprocess.run(
        [str(exe), "doctor"],
        capture_output=True,
        text=True,
        env={"MAINSAIL_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "store reachable" in out.stdout


def test_repeated_calls_register_the_commands_once(cli) -> None:  # type: ignore[no-untyped-def]
    """``main()`` runs many times in one process; the command tree must not grow each time."""
    from mainsail.cli._app import app

    cli("doctor")
    groups, commands = len(app.registered_groups), len(app.registered_commands)
    for _ in range(3):
        code, out, _ = cli("doctor")
        assert code == 0 and "store reachable" in out
    assert (len(app.registered_groups), len(app.registered_commands)) == (groups, commands)
    names = [g.name for g in app.registered_groups]
    assert len(names) == len(set(names)), f"sub-commands registered twice: {names}"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["runs", "list", "--experimnt", "churn"], "No such option: --experimnt"),
        (["modles", "list"], "Did you mean 'models'?"),
        (["runs", "show"], "Missing argument"),
        (["serve", "--port", "abc"], "Invalid value for '--port'"),
        (["backup", "./bk", "--json"], "No such option: --json"),
    ],
)
def test_usage_mistakes_get_the_usage_message_and_exit_2(cli, args, says) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(*args)
    assert code == 2, err
    assert "Usage: mainsail" in err and says in err
    assert "Traceback" not in err and "Internal error" not in err


def test_a_real_bug_is_still_an_internal_error(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mainsail.tracking import _stored

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(_stored, "list_experiments", boom)
    code, _, err = cli("experiments", "list")
    assert code == 3 and "Internal error" in err and "Traceback" in err


def test_validate_reports_a_renamed_column_with_the_hint(populated, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    renamed = tmp_path / "renamed.csv"
    pd.DataFrame({"age": [35], "plan_type": ["a"]}).to_csv(renamed, index=False)
    args = ("datasets", "validate", str(renamed), "--against", "datasets:/customers/1")
    code, out, _ = cli(*args, "--json")
    assert code == 1
    by_kind = {v["kind"]: v for v in json.loads(out)["violations"]}
    assert by_kind["missing_column"]["column"] == "plan"
    assert by_kind["extra_column"]["column"] == "plan_type"
    assert "was 'plan' renamed to 'plan_type'?" in by_kind["extra_column"]["found"]
    assert "df.rename(columns={'plan_type': 'plan'})" in by_kind["missing_column"]["found"]
    code, out, _ = cli(*args)  # the table shows both rows
    assert code == 1 and "2 violation(s)" in out and "plan_type" in out


def test_silent_no_ops_say_what_happened(cli, home: Path) -> None:  # type: ignore[no-untyped-def]
    from mainsail.server._process import ServerProcess

    code, out, err = cli("monitor", "create", "churnn", "--window", "1h")
    said = " ".join(err.split())
    assert code == 0 and "churnn/default" in out
    assert "no endpoint named 'churnn' is deployed (endpoints: none yet)" in said
    code, _, _ = cli("users", "create", "ana", "--role", "viewer")
    assert code == 0
    with ServerProcess(home, "--bootstrap-admin", "--no-controllers") as srv:
        said = " ".join(srv.output().split())
    assert "the store has 1 user(s) already, so no admin was created" in said


def test_help_and_tables_read_at_80_columns(populated, cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from mainsail.cli import _output

    monkeypatch.setattr(_output.console, "_width", 80)
    code, out, _ = cli("models", "alias", "--help")
    assert code == 0 and "--json" in out and "<bool>" not in out  # a flag takes no value
    code, out, _ = cli("runs", "list")
    assert code == 0
    assert populated[0][:8] in out and populated[0][:9] not in out  # an id prefix, unwrapped
    assert max(len(line) for line in out.splitlines()) <= 80
    columns = ["version", "flavor", "task", "status", "aliases", "metrics", "run", "created"]
    _output.table("T", columns, [[1, "sklearn", "classification", "ready", "champion",
                                  "auc=0.91, accuracy=0.88", "ab" * 16, "2026-12-07 00:00:08"]])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert all(c in lines[2] for c in columns), lines[:4]  # every header whole, on one line
    assert "abababab" in lines[4] and max(map(len, lines)) <= 80

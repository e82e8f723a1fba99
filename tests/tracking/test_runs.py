from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import mainsail
from mainsail.core import (
    InvalidMetricError,
    InvalidValueError,
    MainsailError,
    ParamConflictError,
    RunClosedError,
    RunNotFoundError,
)


def test_context_manager_finishes_and_flushes(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)
        run.log_metrics({"auc": 0.91, "f1": 0.8}, step=3)
        run.set_tag("team", "ml")
    stored = mainsail.get_run(run.id)
    assert stored.status == "finished"
    assert stored.params == {"depth": "3"}
    assert stored.metrics == {"loss": pytest.approx(0.01), "auc": 0.91, "f1": 0.8}
    assert len(mainsail.get_metric_history(run.id, "loss")) == 100


def test_default_steps_increment_per_key(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run() as run:
        for v in (3.0, 2.0, 1.0):
            run.log_metric("loss", v)
    assert [p.step for p in mainsail.get_metric_history(run.id, "loss")] == [0, 1, 2]


def test_exception_marks_run_failed(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ZeroDivisionError), mainsail.start_run() as run:
        run.log_metric("x", 1.0)
        1 / 0  # noqa: B018
    stored = mainsail.get_run(run.id)
    assert stored.status == "failed"
    assert stored.metrics == {"x": 1.0}  # logged before the crash: kept


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_metrics_are_refused(ctx, bad: float) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run() as run, pytest.raises(InvalidMetricError, match="finite number"):
        run.log_metric("auc", bad)


def test_non_numeric_metric_and_bad_step(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run() as run:
        with pytest.raises(InvalidMetricError, match="must be a number. Got 'high'"):
            run.log_metric("auc", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="step must be an integer"):
            run.log_metric("auc", 1.0, step="3")  # type: ignore[arg-type]


def test_param_rewrite_is_an_error(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run(params={"lr": 0.1}) as run:
        run.log_param("lr", 0.1)
        with pytest.raises(ParamConflictError, match="write-once"):
            run.log_param("lr", 0.2)


def test_closed_run_refuses_logging(ctx) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run() as run:
        pass
    with pytest.raises(RunClosedError, match="has ended"):
        run.log_metric("x", 1.0)
    with pytest.raises(RunClosedError):
        run.log_param("a", 1)


def test_unknown_run_id(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RunNotFoundError, match="mainsail runs list"):
        mainsail.get_run("0" * 32)


def test_module_level_logging_needs_an_active_run(ctx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MainsailError, match="Start one with mainsail.start_run"):
        mainsail.log_metric("x", 1.0)
    with mainsail.start_run() as run:
        mainsail.log_metric("x", 2.0)
        mainsail.log_params({"a": 1})
        assert mainsail.active_run() is run
    assert mainsail.active_run() is None
    assert mainsail.get_run(run.id).metrics == {"x": 2.0}


def test_environment_and_seed_are_captured(ctx) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    mainsail.seed_everything(7)
    a = np.random.rand()
    with mainsail.start_run() as run:
        mainsail.seed_everything(7)
        assert np.random.rand() == a
    stored = mainsail.get_run(run.id)
    assert stored.seed == 7
    env = ctx.store.get_environment(stored.env_digest)
    assert env["python"].startswith("3.")
    assert "pandas" in env["packages"]
    with pytest.raises(InvalidValueError, match="seed must be an integer"):
        mainsail.seed_everything(-1)


def test_artifacts_of_every_kind(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = tmp_path / "notes.txt"
    f.write_text("hello")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00" * 10)
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    with mainsail.start_run() as run:
        run.log_artifact(f)
        run.log_artifacts(folder, "model")
        run.log_figure(fig, "curve.png")
        run.log_table(df, "preds.parquet")
        run.log_dict({"k": 1}, "config.json")
    plt.close(fig)
    stored = mainsail.get_run(run.id)
    kinds = {a.path: a.kind for a in stored.artifacts}
    assert kinds == {
        "notes.txt": "file",
        "model": "dir",
        "curve.png": "file",
        "preds.parquet": "file",
        "config.json": "file",
    }
    out = mainsail.download_artifact(run.id, "model", tmp_path / "dl")
    assert (out / "weights.bin").read_bytes() == b"\x00" * 10
    png = mainsail.download_artifact(run.id, "curve.png", tmp_path / "c.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    back = pd.read_parquet(mainsail.download_artifact(run.id, "preds.parquet", tmp_path / "p.pq"))
    pd.testing.assert_frame_equal(back, df)
    with pytest.raises(MainsailError, match="Its artifacts are"):
        mainsail.download_artifact(run.id, "nope", tmp_path / "n")
    with pytest.raises(InvalidValueError, match="does not exist"), mainsail.start_run() as r2:
        r2.log_artifact(tmp_path / "missing.txt")


def _python(code: str, home: Path, cwd: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "MAINSAIL_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_process_leaves_run_failed(ctx, home: Path) -> None:  # type: ignore[no-untyped-def]
    proc = _python(
        """
        import time, mainsail
        run = mainsail.start_run(experiment="crash")
        run.log_metric("x", 1.0)
        run.flush()
        print(run.id, flush=True)
        time.sleep(60)
        """,
        home,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert mainsail.get_run(run_id).status == "running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    stored = mainsail.get_run(run_id)
    assert stored.status == "failed"
    assert stored.metrics == {"x": 1.0}


def test_uncaught_exception_and_normal_exit(ctx, home: Path) -> None:  # type: ignore[no-untyped-def]
    crash = _python(
        """
        import mainsail
        run = mainsail.start_run(experiment="x")
        run.log_metric("m", 1.0)
        print(run.id, flush=True)
        raise SystemError("boom")
        """,
        home,
    )
    out, _ = crash.communicate(timeout=60)
    # An unended run in a process that exits normally is finished, with its metrics.
    ok = _python(
        """
        import mainsail
        run = mainsail.start_run(experiment="x")
        for i in range(1000):
            run.log_metric("m", float(i))
        print(run.id, flush=True)
        """,
        home,
    )
    out2, _ = ok.communicate(timeout=60)
    failed = mainsail.get_run(out.strip())
    assert failed.status == "failed" and failed.metrics == {"m": 1.0}
    finished = mainsail.get_run(out2.strip())
    assert finished.status == "finished"
    assert len(mainsail.get_metric_history(finished.id, "m")) == 1000


def test_two_processes_logging_at_once_lose_nothing(ctx, home: Path) -> None:  # type: ignore[no-untyped-def]
    code = """
        import mainsail
        ids = []
        for r in range(20):
            with mainsail.start_run(experiment="race", params={"r": r}) as run:
                for i in range(500):
                    run.log_metric("m", float(i), step=i)
                    if i % 100 == 0:
                        run.flush()
            ids.append(run.id)
        print(" ".join(ids), flush=True)
    """
    procs = [_python(code, home) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    ids = [i for out, _ in outs for i in out.split()]
    assert len(set(ids)) == 40
    runs = mainsail.find_runs("race", max_results=None)
    assert len(runs) == 40 and all(r.status == "finished" for r in runs)
    for rid in ids[::7]:
        assert len(mainsail.get_metric_history(rid, "m")) == 500


def test_git_commit_and_dirty_flag(ctx, tmp_path: Path, home: Path) -> None:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    repo.mkdir()
    script = repo / "train.py"
    script.write_text("import mainsail\nwith mainsail.start_run() as run:\n    print(run.id)\n")
    git = ["git", "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-qm", "init"], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    env = {**os.environ, "MAINSAIL_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    clean = mainsail.get_run(out.stdout.strip())
    assert (clean.git_commit, clean.git_dirty) == (commit, False)
    script.write_text(script.read_text() + "# edited\n")
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert mainsail.get_run(out.stdout.strip()).git_dirty is True


def test_background_flush_without_explicit_flush(home: Path) -> None:
    mainsail.configure(home=str(home), metric_flush_interval=0.05)
    with mainsail.start_run() as run:
        run.log_metric("x", 1.0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if mainsail.get_run(run.id).metrics:
                break
            time.sleep(0.02)
        assert mainsail.get_run(run.id).metrics == {"x": 1.0}

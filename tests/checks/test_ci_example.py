"""The CI example (examples/ci/) runs as its workflow runs it: blessed exits 0, rejected 1.

The command is taken from the workflow file itself (the "Train, register and check" step),
so the test breaks if the workflow and the script drift apart.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "examples" / "ci"

pytestmark = [pytest.mark.slow]


def _step_command() -> list[str]:
    workflow = yaml.safe_load((CI / "release-checks.yml").read_text())
    steps = workflow["jobs"]["check"]["steps"]
    (step,) = [s for s in steps if s.get("name") == "Train, register and check"]
    args = shlex.split(step["run"])
    assert args[:2] == ["python", "examples/ci/train_register_check.py"], args
    return [sys.executable, *args[1:]]


def _run(cmd: list[str], home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    env["MAINSAIL_HOME"] = str(home)  # the workflow's fallback: a fresh embedded store
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=280, check=False
    )


def test_the_ci_example_blesses_then_rejects(tmp_path: Path) -> None:
    cmd = _step_command()
    home = tmp_path / ".mainsail"
    # run from the repository root, as the workflow does, writing the report into tmp
    out = tmp_path / "check-report"
    cmd = [*cmd[: cmd.index("--out") + 1], str(out)]
    first = _run(cmd, home, REPO)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert {p.name for p in out.iterdir()} >= {"report.html", "report.json", "report.md"}
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "blessed", report["verdict"]
    assert "@champion -> models:/churn/1" in first.stdout
    # an over-regularised model: rejected, and the job fails (exit 1)
    second = _run([*cmd, "--out", str(tmp_path / "r2"), "--C", "0.0005"], home, REPO)
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-3000:]
    rejected = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert rejected["verdict"] == "rejected"
    assert "models:/churn/2" in (tmp_path / "r2" / "report.md").read_text()

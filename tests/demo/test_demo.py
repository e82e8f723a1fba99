"""``make demo`` end to end (``--quick``: shorter waits): the whole loop, a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_demo_closes_the_loop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    proc = subprocess.run(
        [sys.executable, "-m", "mainsail.demo", "--quick"],
        cwd=tmp_path,
        env={**env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=840,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Release checks on v1: blessed" in out
    assert "Alert" in out and "fired on" in out
    assert "promoted" in out
    assert "@champion is now models:/churn/2" in out
    assert "clients saw 0 failed" in out
    demo = tmp_path / "demo-out"
    for name in (
        "monitor-report.html",
        "monitor-report.json",
        "model-card-v1.html",
        "model-card-v2.html",
    ):
        assert (demo / name).stat().st_size > 0, name
    assert any((demo / "checks-v1").iterdir())


def test_the_demo_refuses_unknown_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mainsail.demo.__main__ import main

    monkeypatch.chdir(tmp_path)
    assert main(["--quick", "--fast"]) == 2
    err = capsys.readouterr().err
    assert "Unknown argument(s) ['--fast']" in err and "only --quick" in err
    assert not (tmp_path / "demo-out").exists()  # nothing started

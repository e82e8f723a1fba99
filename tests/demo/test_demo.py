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


def test_the_demo_refuses_both_ui_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mainsail.demo.__main__ import main

    monkeypatch.chdir(tmp_path)
    assert main(["--ui", "--no-ui"]) == 2
    assert not (tmp_path / "demo-out").exists()


def test_headless_the_demo_prints_how_to_open_the_ui(tmp_path: Path) -> None:
    from mainsail.demo.__main__ import open_ui

    said: list[str] = []
    open_ui(tmp_path / "demo-out" / ".mainsail", serve=False, say=said.append)
    assert f"MAINSAIL_HOME={tmp_path / 'demo-out' / '.mainsail'} .venv/bin/mainsail ui" in said[0]


@pytest.mark.timeout(120)
def test_the_demo_ends_serving_the_ui_over_its_data(tmp_path: Path) -> None:
    """The demo's last step serves the web UI over the demo's home; the address it prints
    answers with the UI and with the runs the demo logged."""
    import json
    import urllib.request

    home = tmp_path / "demo-out" / ".mainsail"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    env["MAINSAIL_HOME"] = str(home)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import mainsail\nwith mainsail.start_run(experiment='demo'): "
            "mainsail.log_metric('auc', 0.9)",
        ],
        env=env,
        check=True,
        timeout=60,
    )
    code = (
        "import sys; from pathlib import Path; from mainsail.demo.__main__ import open_ui\n"
        f"open_ui(Path({str(home)!r}), serve=True, port=0, "
        "say=lambda m: print(m, flush=True))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "The web UI with the demo's data" in line, line
        url = line.split("[bold]")[1].split("[/]")[0]
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.status == 200 and "<html" in resp.read().decode().lower()
        with urllib.request.urlopen(url + "api/v1/run-table", timeout=30) as resp:
            table = json.loads(resp.read())
        assert table["total"] == 1, table
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()

"""A product bug the fleet test found, fixed: the monitor's reader could not read a sketch
window that a replica rewrote on S3 after the reader listed it. (The reader now drops the
listing cache before listing and reads objects as they are, with ``cat_file``.)

A data-plane replica (``LiveSketches.flush``) rewrites its file for the current window on
every flush, under the same name. ``load_sketches`` lists the folder and opens each file
through the process's long-lived s3fs instance, which remembers each object's ETag from the
listing and reads with that ETag as a precondition. Once a replica has rewritten a file the
monitor listed before, the monitor's next run raises ``FileExpired`` (on the server: a 500
on ``POST /monitors/{endpoint}/{name}/run``, and the monitors controller logs the run as
failed). On a local folder the same sequence works.

The writer runs in its own process, as a replica does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

pytestmark = [pytest.mark.slow]

WRITE = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from mainsail.serving._predlog import LiveSketches
    root, rows = sys.argv[1], int(sys.argv[2])
    s = LiveSketches(root, "churn")
    s.replica = "replica-a"  # the same replica, a later flush: the same file name
    now = 1_700_000_001_000  # one fixed window for both writes
    s.observe(pd.DataFrame({
        "ts": np.full(rows, now), "model_version": "1",
        "request_id": [f"r{i}" for i in range(rows)], "latency_ms": np.ones(rows),
        "input.x": np.arange(rows, dtype="float64"), "prediction": np.zeros(rows),
    }))
    s.flush()
    """
)


@pytest.fixture
def s3_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    import boto3
    import s3fs

    from mainsail.server._process import free_port

    port = free_port()
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    srv.start()
    env = {
        "AWS_ACCESS_KEY_ID": "k",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket="sketches")
    s3fs.S3FileSystem.clear_instance_cache()
    yield "s3://sketches/root"
    srv.stop()


def write(root: str, rows: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WRITE, root, str(rows)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def read(root: str) -> int:
    from mainsail.monitoring._sources import load_sketches

    windows = load_sketches(root, "churn", 1_699_999_000_000, 1_700_001_000_000)
    return sum(w.rows for w in windows.values())


def test_a_local_folder_reads_a_rewritten_window(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "artifacts")
    write(root, 5)
    assert read(root) == 5
    write(root, 7)
    assert read(root) == 7


def test_s3_reads_a_window_rewritten_after_it_was_listed(s3_root: str) -> None:
    write(s3_root, 5)
    assert read(s3_root) == 5
    write(s3_root, 7)  # another process rewrites the same window file
    assert read(s3_root) == 7

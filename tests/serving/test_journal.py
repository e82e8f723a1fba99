"""The prediction-log journal: what a consumer takes, what it leaves, torn files."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from mainsail.serving._journal import Consumer, JournalWriter
from mainsail.serving._predlog import read_segments


def _append(w: JournalWriter, rid: str, n: int = 3) -> None:
    frame = pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.ones(n)})
    w.append(
        frame,
        np.arange(n),
        request_id=np.array([rid] * n, dtype=object),
        row=np.arange(n),
        ts=np.full(n, 1_700_000_000_000, dtype="int64"),
        endpoint="ep",
        model_version="1",
        latency_ms=np.ones(n),
    )


def test_open_files_of_a_live_writer_are_left_and_torn_tails_are_cut(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal, root = tmp_path / "journal", str(tmp_path / "art")
    w = JournalWriter(journal, root, "predictions", "ep")
    _append(w, "r1")
    consumer = Consumer(journal, root, "predictions", "ep")
    assert consumer.drain() == 0  # the writer holds its open file
    w.rotate()
    _append(w, "r2")
    _append(w, "r3")
    (open_file,) = journal.glob("*.open")
    assert consumer.drain() == 3  # the closed one only
    (dead,) = w._open.values()
    os.close(dead.fd)  # the writer "dies": its lock goes with its file descriptor...
    data = open_file.read_bytes()
    open_file.write_bytes(data[:-7])  # ...mid-way through its last batch
    assert consumer.drain() == 3  # r2 whole, r3 torn (it was never answered)
    logged = read_segments(root, "predictions", "ep")
    assert sorted(set(logged["request_id"])) == ["r1", "r2"]
    assert list(logged.columns[:3]) == ["request_id", "row", "ts"]
    assert "input.a" in logged and "prediction" in logged
    assert list(journal.iterdir()) == []


def test_flush_writes_synchronously_and_a_retry_does_not_duplicate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal, root = tmp_path / "journal", str(tmp_path / "art")
    w = JournalWriter(journal, root, "predictions", "ep", flush_interval=60)
    w.start()
    _append(w, "r1")
    assert w.flush() == 3
    assert len(read_segments(root, "predictions", "ep")) == 3
    _append(w, "r2")
    w.rotate()
    (ready,) = journal.glob("*.ready")
    kept = ready.read_bytes()
    w.close()
    ready.write_bytes(kept)  # as if the consumer died after writing, before deleting
    Consumer(journal, root, "predictions", "ep").drain()
    assert len(read_segments(root, "predictions", "ep")) == 6  # same segment, rewritten

"""Window selection over log partitions and sketch files; durations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mainsail.core import InvalidValueError
from mainsail.monitoring import load_sketches, parse_duration, read_log
from mainsail.serving import LiveSketches, SegmentWriter

DAY = 86_400_000


@given(st.integers(1, 10_000), st.sampled_from(["s", "m", "h", "d", "w"]))
def test_parse_duration(n: int, unit: str) -> None:
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert parse_duration(f"{n}{unit}") == n * mult


@pytest.mark.parametrize("bad", ["", "1y", "-5m", "0s", "five minutes", 0, -1])
def test_bad_durations(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError):
        parse_duration(bad)


def test_read_log_reads_only_the_window_across_dates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = SegmentWriter(str(tmp_path), "predictions", "churn")
    ts = np.array([DAY - 2000, DAY - 1000, DAY + 1000, 3 * DAY], dtype="int64")
    w.append(
        pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}),
        np.array([0, 1, 0, 1]),
        ts=ts,
        request_id=np.array(list("abcd"), dtype=object),
    )
    w.flush()
    got = read_log(str(tmp_path), "predictions", "churn", DAY - 1500, DAY + 2000)
    assert sorted(got["input.x"]) == [2.0, 3.0]
    assert len(read_log(str(tmp_path), "predictions", "churn")) == 4
    assert read_log(str(tmp_path), "predictions", "nope").empty
    assert read_log(str(tmp_path), "predictions", "churn", 10 * DAY, 11 * DAY).empty


def test_sketch_windows_merge_across_replicas_and_carry_process_stats(tmp_path) -> None:  # type: ignore[no-untyped-def]
    now_s = 1_700_000_000 // 60 * 60
    for replica in range(2):
        s = LiveSketches(str(tmp_path), "churn")
        for minute in range(3):
            n = 100
            t = (now_s + 60 * minute) * 1000
            table = pd.DataFrame(
                {
                    "ts": np.full(n, t, dtype="int64"),
                    "model_version": "1",
                    "request_id": [f"{replica}-{minute}-{i // 10}" for i in range(n)],
                    "latency_ms": np.full(n, 5.0 + replica),
                    "input.x": np.arange(n, dtype=float),
                    "prediction": np.zeros(n),
                }
            )
            s.observe(table)
            s.record_error("1", 2, ts_ms=t)
        assert s.flush() == 3  # every window is written, the old ones then closed
    merged = load_sketches(str(tmp_path), "churn", now_s * 1000, (now_s + 120) * 1000)["1"]
    assert merged.rows == 400 and merged.windows == 4 and len(merged.replicas) == 2
    assert merged.requests == 40 and merged.errors == 8
    assert merged.profile is not None and merged.profile.columns["x"].count == 400
    assert merged.latency is not None and merged.latency.n == 400
    assert set(merged.memory_rss) == merged.replicas and all(
        v > 0 for v in merged.memory_rss.values()
    )

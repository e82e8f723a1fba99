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


def test_windows_of_one_version_binned_against_two_references_still_merge(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After a promotion, a replica started before it bins the new version's rows with the
    old stable's reference and one started after with the new one's: the window still
    merges (its KLL sketches exactly), only the histogram picture is dropped."""
    from mainsail.data import profile_frame

    now_s = 1_700_000_000 // 60 * 60
    rng = np.random.default_rng(1)
    refs = [profile_frame(pd.DataFrame({"x": rng.normal(loc, size=500)})) for loc in (0.0, 3.0)]
    assert refs[0].columns["x"].edges != refs[1].columns["x"].edges
    for replica, ref in enumerate(refs):
        s = LiveSketches(str(tmp_path), "churn", reference=ref)
        n = 50
        s.observe(
            pd.DataFrame(
                {
                    "ts": np.full(n, now_s * 1000, dtype="int64"),
                    "model_version": "2",
                    "request_id": [f"{replica}-{i}" for i in range(n)],
                    "latency_ms": np.full(n, 5.0),
                    "input.x": rng.normal(size=n),
                    "prediction": np.zeros(n),
                }
            )
        )
        assert s.flush() == 1
    merged = load_sketches(str(tmp_path), "churn", now_s * 1000, (now_s + 60) * 1000)["2"]
    assert merged.rows == 100 and len(merged.replicas) == 2
    assert merged.profile is not None
    x = merged.profile.columns["x"]
    assert x.count == 100 and x.kll is not None and x.hist is None


def _write_windows(folder, starts: list[int], replicas: int, rows: int = 20) -> None:  # type: ignore[no-untyped-def]
    """Minute sketch files as LiveSketches writes them (one small profile, reused)."""
    import base64

    import datasketches as ds
    import orjson

    from mainsail.data import profile_frame

    rng = np.random.default_rng(0)
    prof = profile_frame(
        pd.DataFrame({"x": rng.normal(size=rows), "plan": rng.choice(["a", "b"], rows)})
    ).to_dict()
    lat = ds.kll_doubles_sketch(200)
    for v in range(rows):
        lat.update(float(v))
    latency = base64.b64encode(lat.serialize()).decode()
    (folder / "version=1").mkdir(parents=True, exist_ok=True)
    for start in starts:
        for r in range(replicas):
            doc = {
                "version": "1",
                "window_start": start,
                "window_s": 60,
                "replica": f"r{r}",
                "rows": rows,
                "requests": 2,
                "errors": 1,
                "latency_kll": latency,
                "profile": prof,
                "process": {"cpu_percent": float(start % 7), "memory_rss": float(start)},
            }
            (folder / "version=1" / f"{start}-r{r}.json").write_bytes(orjson.dumps(doc))


def _totals(w) -> tuple[int, int, int, int, int, int, int]:  # type: ignore[no-untyped-def]
    cols = w.profile.columns
    return (
        w.rows,
        w.requests,
        w.errors,
        w.windows,
        cols["x"].count,
        cols["plan"].values["a"] + cols["plan"].values["b"],
        w.latency.n,
    )


def test_old_sketch_windows_roll_up_into_hours_and_days(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Three days of 10-minute windows x 2 replicas: the same figures from a few rollups."""
    from mainsail.monitoring._sources import DAY_AFTER_S

    folder = tmp_path / "sketches" / "endpoint=churn"
    day0 = 1_700_006_400  # a UTC midnight
    starts = [day0 + 600 * i for i in range(3 * 144)]
    _write_windows(folder, starts, replicas=2)
    root, end_s = str(tmp_path), day0 + 3 * 86400
    whole = (day0 * 1000, end_s * 1000)
    before = load_sketches(root, "churn", *whole, compact=False)["1"]
    assert _totals(before) == (17280, 1728, 864, 864, 17280, 17280, 17280)
    # a window up to now, two days later: the three days become day rollups, nothing lost
    now = end_s + DAY_AFTER_S
    after = load_sketches(root, "churn", day0 * 1000, now * 1000, now_s=now)["1"]
    assert _totals(after) == _totals(before)
    assert after.replicas == {"r0", "r1"} and after.first_s == day0
    assert after.last_s == starts[-1] and after.memory_rss["r1"] == float(starts[-1])
    files = sorted(p.name for p in folder.rglob("*.json"))
    assert files == [f"day-{day0 + 86400 * d}.json" for d in range(3)]
    assert _totals(load_sketches(root, "churn", *whole, now_s=now)["1"]) == _totals(before)
    # one day's window reads its day; a late minute file for a rolled-up hour is read
    # beside its rollup, then merged into it
    one = load_sketches(root, "churn", (day0 + 86400) * 1000, (day0 + 2 * 86400) * 1000, now_s=now)
    assert one["1"].rows == 17280 // 3
    _write_windows(folder, [day0 + 30], replicas=1)
    late = load_sketches(root, "churn", *whole, compact=False)["1"]
    assert late.rows == 17280 + 20
    assert _totals(load_sketches(root, "churn", *whole, now_s=now)["1"]) == _totals(late)
    assert len(list(folder.rglob("*.json"))) == 3


def test_a_recent_window_keeps_its_minutes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Hours roll up only HOUR_AFTER_S before both the clock and the window's end."""
    from mainsail.monitoring._sources import HOUR_AFTER_S

    folder = tmp_path / "sketches" / "endpoint=churn"
    t0 = 1_700_006_400
    _write_windows(folder, [t0 + 60 * i for i in range(120)], replicas=1)
    # an hour-long window of the past: its own minutes are never rolled up
    w = load_sketches(str(tmp_path), "churn", (t0 + 1800) * 1000, (t0 + 5400) * 1000)["1"]
    assert w.windows == 60
    assert len(list(folder.rglob("*.json"))) == 120
    # a window up to a later now: both hours are rolled up, and counted whole
    later = t0 + 7200 + HOUR_AFTER_S
    w = load_sketches(str(tmp_path), "churn", t0 * 1000, later * 1000, now_s=later)["1"]
    assert w.windows == 120 and w.rows == 2400
    assert sorted(p.name for p in folder.rglob("*.json")) == [
        f"hour-{t0}.json",
        f"hour-{t0 + 3600}.json",
    ]


def test_a_backlog_is_rolled_up_a_budget_at_a_time(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mainsail.monitoring import _sources

    monkeypatch.setattr(_sources, "COMPACT_BUDGET", 50)
    folder = tmp_path / "sketches" / "endpoint=churn"
    t0 = 1_700_006_400
    _write_windows(folder, [t0 + 60 * i for i in range(240)], replicas=1)  # 4 hours
    now = t0 + 4 * 3600 + _sources.HOUR_AFTER_S
    whole = (t0 * 1000, now * 1000)
    counts = []
    for _ in range(4):
        assert load_sketches(str(tmp_path), "churn", *whole, now_s=now)["1"].rows == 4800
        counts.append(len(list(folder.rglob("*.json"))))
    # 60 files (one hour) per read, oldest first: the rest stays readable meanwhile
    assert counts == [181, 122, 63, 4]

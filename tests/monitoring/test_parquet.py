"""drift() on Parquet files and Arrow data: same verdicts as frames, one column at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from mainsail.core import InvalidValueError, UnsupportedColumnTypeError
from mainsail.data import profile_frame
from mainsail.monitoring import drift
from mainsail.monitoring._columns import ticks_to_ns
from mainsail.monitoring._parquet import ColumnSource

CATS = list("abcde")
BASE_P = [0.4, 0.25, 0.15, 0.12, 0.08]
SHIFTED = {"num0": 0.5, "num1": 0.3, "cat0": 0.8, "flag": 0.15}


def planted(n: int, seed: int, shifts: dict[str, float]) -> pd.DataFrame:
    """4 numeric, 2 categorical and 1 boolean column; ``shifts`` moves chosen ones."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(4):
        data[f"num{i}"] = rng.normal(shifts.get(f"num{i}", 0.0), 1.0, n)
    for i in range(2):
        m = shifts.get(f"cat{i}", 0.0)
        p = np.array(BASE_P) * (1 - m) + np.full(5, 0.2) * m
        data[f"cat{i}"] = rng.choice(CATS, n, p=p / p.sum())
    data["flag"] = rng.random(n) < 0.3 + shifts.get("flag", 0.0)
    return pd.DataFrame(data)


def _frames_with_gaps(n: int, seed: int, shifts: dict[str, float]) -> pd.DataFrame:
    """The planted columns plus the awkward ones: nulls, ints, a categorical dtype."""
    df = planted(n, seed, shifts)
    rng = np.random.default_rng(seed + 7)
    df.loc[rng.random(n) < 0.05, "num3"] = np.nan
    df["count"] = pd.array(rng.poisson(3 + shifts.get("count", 0), n), dtype="Int64")
    df.loc[rng.random(n) < 0.03, "count"] = pd.NA
    plan = pd.Categorical(rng.choice(["x", "y"], n), categories=["x", "y", "never"])
    df["plan"] = plan
    df["note"] = pd.Series(rng.choice(["p", "q", "r"], n), dtype=object)
    df.loc[rng.random(n) < 0.1, "note"] = None
    return df


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("drift-parquet")
    ref_p, cur_p = folder / "ref.parquet", folder / "cur.parquet"
    _frames_with_gaps(12_000, 0, {}).to_parquet(ref_p, index=False, row_group_size=5_000)
    _frames_with_gaps(12_000, 1, {**SHIFTED, "count": 1.0}).to_parquet(cur_p, index=False)
    return ref_p, cur_p


P_VALUE_TESTS = {
    **{f"num{i}": "ks" for i in range(4)},
    **{c: "chisquare" for c in ("cat0", "cat1", "plan", "note")},
    "count": "ks",
    "flag": "z",
}


@pytest.mark.parametrize(
    "options",
    [{}, {"stattest": "psi"}, {"stattest": "jensenshannon"}, {"tests": P_VALUE_TESTS}],
    ids=["default", "psi", "jensenshannon", "p-value tests"],
)
def test_parquet_verdicts_equal_the_frame_path(
    files: tuple[Path, Path], options: dict[str, object]
) -> None:
    ref_p, cur_p = files
    ref, cur = pd.read_parquet(ref_p), pd.read_parquet(cur_p)
    streamed = drift(ref_p, cur_p, **options)  # type: ignore[arg-type]
    in_memory = drift(ref, cur, **options)  # type: ignore[arg-type]
    assert streamed.model_dump() == in_memory.model_dump()
    assert {"num0", "cat0"} <= set(streamed.drifted_columns)  # the strong shifts, any test
    if not options:
        assert set(streamed.drifted_columns) == set(SHIFTED) | {"count"}
        assert streamed["num3"].n_reference < 12_000  # NaNs left out, as on frames


def test_sides_may_mix_paths_frames_profiles_and_arrow(files: tuple[Path, Path]) -> None:
    ref_p, cur_p = files
    ref, cur = pd.read_parquet(ref_p), pd.read_parquet(cur_p)
    expected = drift(ref, cur).model_dump()
    assert drift(str(ref_p), cur).model_dump() == expected
    assert drift(ref, pq.read_table(cur_p)).model_dump() == expected
    assert drift(pads.dataset(ref_p), pads.dataset(cur_p)).model_dump() == expected
    # A folder of files is one table.
    folder = cur_p.parent / "cur-parts"
    folder.mkdir(exist_ok=True)
    for i, start in enumerate(range(0, len(cur), 4_000)):
        cur.iloc[start : start + 4_000].to_parquet(folder / f"part-{i}.parquet", index=False)
    assert drift(ref_p, folder).model_dump() == expected
    # Against a stored profile, the file side answers as the frame side does.
    profile = profile_frame(ref)
    assert drift(profile, cur_p).model_dump() == drift(profile, cur).model_dump()


def test_streaming_reads_one_column_at_a_time(files: tuple[Path, Path]) -> None:
    src = ColumnSource(files[0])
    reads: list[str] = []
    original = src._read

    def spy(name: str) -> pa.ChunkedArray:
        reads.append(name)
        return original(name)

    src._read = spy  # type: ignore[method-assign]
    drift(src, files[1], columns=["num0", "cat0"])
    assert reads == ["num0", "cat0"]


def test_bad_paths_and_types_get_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="Found no file at"):
        drift(tmp_path / "nope.parquet", tmp_path / "nope.parquet")
    text = tmp_path / "data.parquet"
    text.write_text("not parquet")
    with pytest.raises(InvalidValueError, match="Could not read .* as Parquet"):
        drift(text, text)
    with pytest.raises(InvalidValueError, match="Got int"):
        drift(3, pd.DataFrame({"x": [1.0]}))
    nested = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0], "tags": [[1], [2, 3]]}), nested)
    with pytest.raises(UnsupportedColumnTypeError, match="'tags' has Arrow type"):
        drift(nested, nested)
    assert drift(nested, nested, columns=["x"]).drifted_columns == []


def test_wide_integers_and_ns_timestamps_stream_like_frames(tmp_path: Path) -> None:
    # A safe cast to float64 refuses integers beyond 2**53 (ids, ns timestamps); the frame
    # path rounds them, so the streamed path must too, with the same verdicts.
    n = 300
    ids = np.arange(n, dtype="int64") * 10**12 + 2**53 + 1
    table = pa.table(
        {
            "uid": pa.array(ids),
            "u": pa.array(np.arange(n, dtype="uint64") * 3 + 2**63),
            "t": pa.array(pd.date_range("2024-01-01", periods=n, freq="h").as_unit("ns")),
        }
    )
    shifted = pa.table(
        {
            "uid": pa.array(ids + 7 * 10**13),
            "u": pa.array(np.arange(n, dtype="uint64") * 3 + 2**63 + 2**62),
            "t": pa.array(pd.date_range("2024-03-01", periods=n, freq="h").as_unit("ns")),
        }
    )
    ref_p, cur_p = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    pq.write_table(table, ref_p)
    pq.write_table(shifted, cur_p)
    ref, cur = pd.read_parquet(ref_p), pd.read_parquet(cur_p)
    for a, b, a_df, b_df in [(ref_p, ref_p, ref, ref), (ref_p, cur_p, ref, cur)]:
        streamed = drift(a, b)
        assert streamed.model_dump() == drift(a_df, b_df).model_dump()
        assert drift(pq.read_table(a), b).model_dump() == streamed.model_dump()
    assert drift(ref_p, ref_p).drifted_columns == []
    assert set(drift(ref_p, cur_p).drifted_columns) == {"uid", "u", "t"}


def test_the_same_instants_in_any_time_unit_do_not_drift(tmp_path: Path) -> None:
    # pandas 3 reads timestamps in the unit they were written in (s, ms, us or ns): the
    # drift tests must see instants, not ticks, on frames and files alike.
    times = pd.Series(pd.date_range("2024-01-01", periods=240, freq="37min").as_unit("ns"))
    times[[3, 50]] = pd.NaT
    sides: dict[str, object] = {}
    for unit in ("s", "ms", "us", "ns"):
        frame = pd.DataFrame({"t": times.dt.as_unit(unit)})
        table = pa.table({"t": pa.array(times.dt.as_unit(unit))})
        assert table.schema.field("t").type == pa.timestamp(unit)
        path = tmp_path / f"{unit}.parquet"  # Parquet has no seconds: s is written as ms
        pq.write_table(table, path)
        sides[f"{unit}-frame"], sides[f"{unit}-table"], sides[f"{unit}-file"] = (
            frame,
            table,
            path,
        )
    sides["utc-frame"] = pd.DataFrame({"t": times.dt.tz_localize("UTC").dt.as_unit("ms")})
    sides["cet-frame"] = pd.DataFrame({"t": times.dt.tz_localize("UTC").dt.tz_convert("CET")})
    names = list(sides)
    for a in names:
        for b in names:
            col = drift(sides[a], sides[b]).columns[0]
            assert (col.statistic, col.drifted) == (0.0, False), (a, b)
            assert col.n_reference == col.n_current == 238, (a, b)  # NaT left out
    later = pd.DataFrame({"t": times + pd.Timedelta(days=3)})
    assert drift(sides["ms-file"], later).drifted_columns == ["t"]
    with pytest.raises(UnsupportedColumnTypeError, match="one of s, ms, us, ns. Got 'D'"):
        ticks_to_ns(np.zeros(2), "D")


def test_profiles_of_datetimes_agree_with_frames_and_files(tmp_path: Path) -> None:
    # Profiles keep datetimes as seconds since the epoch: from any unit, and compared with
    # raw instants (ns) on the other side.
    times = pd.Series(pd.date_range("2024-01-01", periods=400, freq="h"))
    path = tmp_path / "ms.parquet"
    pq.write_table(pa.table({"t": pa.array(times.dt.as_unit("ms"))}), path)
    profiles = [profile_frame(pd.DataFrame({"t": times.dt.as_unit(u)})) for u in ("s", "us")]
    for profile in profiles:
        assert profile.columns["t"].min == 1_704_067_200.0  # 2024-01-01 in epoch seconds
        for other in (pd.DataFrame({"t": times.dt.as_unit("ns")}), path, profiles[0]):
            assert drift(profile, other).drifted_columns == []
            assert drift(other, profile).drifted_columns == []
    later = pd.DataFrame({"t": times + pd.Timedelta(days=9)})
    assert drift(profiles[0], later).drifted_columns == ["t"]

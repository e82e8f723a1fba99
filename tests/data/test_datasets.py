from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core import (
    CorruptedArtifactError,
    DatasetNotFoundError,
    DataValidationError,
    InvalidAddressError,
    InvalidValueError,
    UnsupportedColumnTypeError,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.normal(100, 20, 500),
            "count": rng.integers(0, 10, 500),
            "plan": rng.choice(["basic", "pro"], 500),
            "flag": rng.random(500) < 0.5,
        }
    )


def test_log_and_load_round_trip(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    dv = mainsail.log_dataset(frame, name="tx", description="first")
    assert dv.address == "datasets:/tx/1" and dv.row_count == 500
    back = mainsail.load_dataset("datasets:/tx/1")
    pd.testing.assert_frame_equal(back, frame)
    cols = {c["name"]: c for c in dv.schema_["columns"]}
    assert cols["plan"]["categories"] == ["basic", "pro"]
    assert dv.profile["row_count"] == 500


def test_unchanged_table_returns_existing_version(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    a = mainsail.log_dataset(frame, name="tx")
    b = mainsail.log_dataset(frame.copy(), name="tx")
    c = mainsail.log_dataset(frame.iloc[:-1], name="tx", parents=[a.address])
    assert (a.version, b.version, c.version) == (1, 1, 2)
    assert c.parents == ["datasets:/tx/1"]
    assert mainsail.get_dataset("datasets:/tx@latest").version == 2


def test_log_from_files(ctx, frame: pd.DataFrame, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pq = tmp_path / "tx.parquet"
    frame.to_parquet(pq, index=False)
    dv = mainsail.log_dataset(pq, name="from-file")
    assert dv.source == str(pq) and dv.row_count == 500
    csv = tmp_path / "tx.csv"
    frame.to_csv(csv, index=False)
    assert mainsail.log_dataset(csv, name="from-csv").row_count == 500
    with pytest.raises(InvalidValueError, match="Expected a .parquet, .csv"):
        mainsail.log_dataset(tmp_path / "tx.xlsx", name="nope")


def test_runs_record_their_inputs(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    with mainsail.start_run(experiment="e") as run:
        dv = mainsail.log_dataset(frame, name="tx")
        run.log_input("datasets:/tx/1", context="evaluation")
    inputs = mainsail.get_run(run.id).inputs
    assert [i.address for i in inputs] == [dv.address]
    found = mainsail.search_runs("e", filter="datasets.name = 'tx'")
    assert list(found["run_id"]) == [run.id]


def test_unsupported_columns_store_nothing(ctx, home: Path) -> None:  # type: ignore[no-untyped-def]
    bad = pd.DataFrame({"ok": [1, 2], "nested": [[1], [2]]})
    with pytest.raises(UnsupportedColumnTypeError, match="nested"):
        mainsail.log_dataset(bad, name="bad")
    with pytest.raises(DatasetNotFoundError):
        mainsail.get_dataset("datasets:/bad@latest")
    assert not list((home / "artifacts").rglob("blobs/**/*.*"))


def test_bad_addresses(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    mainsail.log_dataset(frame, name="tx")
    with pytest.raises(InvalidAddressError, match="datasets:/churn/3"):
        mainsail.load_dataset("tx/one")  # tx/1 is a valid short form now
    assert len(mainsail.load_dataset("tx/1")) == len(frame)
    with pytest.raises(InvalidValueError, match="@latest"):
        mainsail.load_dataset("datasets:/tx@champion")
    with pytest.raises(DatasetNotFoundError, match="versions are: 1"):
        mainsail.load_dataset("datasets:/tx/4")


def test_corrupted_blob_is_refused(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    dv = mainsail.log_dataset(frame, name="tx")
    path = Path(ctx.artifacts._blob_path(dv.blob_digest))
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(CorruptedArtifactError):
        mainsail.load_dataset(dv.address)


def test_validate_against_a_version(ctx, frame: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    dv = mainsail.log_dataset(frame, name="tx")
    live = frame.head(50).copy()
    live.loc[live.index[:3], "plan"] = "enterprise"
    live = live.drop(columns="flag")
    report = mainsail.validate(live, dv)
    kinds = {v.kind for v in report.violations}
    assert {"unseen_category", "missing_column"} <= kinds
    assert mainsail.validate(frame, "datasets:/tx/1").ok
    with pytest.raises(DataValidationError):
        mainsail.validate(live, dv, strict=True)
    with pytest.raises(InvalidValueError, match="Expected a Schema"):
        mainsail.validate(live, 42)


def test_encrypted_home_round_trip(home: Path, frame: pd.DataFrame) -> None:
    key = bytes(range(32)).hex()
    ctx = mainsail.configure(home=str(home), encryption_key=key)
    dv = mainsail.log_dataset(frame, name="secret")
    raw = Path(ctx.artifacts._blob_path(dv.blob_digest)).read_bytes()
    assert raw.startswith(b"MSE1") and b"PAR1" not in raw[:8]
    pd.testing.assert_frame_equal(mainsail.load_dataset(dv.address), frame)

"""Ray for large work, on a local 2-CPU cluster: per-shard profiles merged, drift on two
Parquet sources, a holdout scored in parallel, each checked against the single-process
result. One cluster for the module (starting Ray costs seconds on a loaded box)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray")

from mainsail.checks._distributed import score_parquet  # noqa: E402
from mainsail.core import InvalidValueError  # noqa: E402
from mainsail.data._distributed import plan_shards, profile_parquet, ray_session  # noqa: E402
from mainsail.data._profile import profile_frame  # noqa: E402
from mainsail.monitoring import drift  # noqa: E402
from mainsail.monitoring._distributed import drift_parquet  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
GROUP = 5_000  # rows per row group: shards of whole groups


def table(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3 + shift, 1, n),
            "age": rng.integers(18, 90, n),
            "score": rng.normal(shift, 1, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
            "stable": rng.normal(0, 1, n),
        }
    )
    df.loc[rng.random(n) < 0.05, "score"] = np.nan
    return df


def write_parts(df: pd.DataFrame, folder: Path, parts: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(df)), parts)):
        df.iloc[chunk].to_parquet(folder / f"part-{i}.parquet", row_group_size=GROUP, index=False)
    return folder


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with ray_session(num_cpus=2) as ray:
        yield ray


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    df = table(40_000, 0)
    return df, write_parts(df, tmp_path_factory.mktemp("lake") / "ref", 3)


def test_shards_are_whole_row_groups(data: tuple[pd.DataFrame, Path]) -> None:
    df, folder = data
    shards = plan_shards(str(folder), target_rows=10_000)
    assert sum(s.rows for s in shards) == len(df)
    assert len({s.path for s in shards}) == 3 and len(shards) >= 6
    with pytest.raises(InvalidValueError, match="Nothing is there"):
        plan_shards(str(folder / "missing"))
    (folder.parent / "empty").mkdir(exist_ok=True)
    with pytest.raises(InvalidValueError, match="holds no .parquet files"):
        plan_shards(str(folder.parent / "empty"))
    with pytest.raises(InvalidValueError, match="target_rows >= 1"):
        plan_shards(str(folder), target_rows=0)


def test_merged_profile_matches_the_single_process_one(cluster, data) -> None:  # type: ignore[no-untyped-def]
    df, folder = data
    single = profile_frame(df)
    merged = profile_parquet(str(folder), target_rows=10_000)
    assert merged.row_count == single.row_count == len(df)
    for name, one in single.columns.items():
        got = merged.columns[name]
        assert (got.dtype, got.count, got.missing) == (one.dtype, one.count, one.missing), name
        if one.is_numeric:
            assert (got.min, got.max) == (one.min, one.max)
            assert got.sum == pytest.approx(one.sum, rel=1e-9)
            assert sum(got.hist or []) == one.count
            values = np.sort(df[name].dropna().to_numpy(dtype="float64"))
            for q in (0.1, 0.5, 0.9):  # within the KLL sketch's rank error
                rank = np.searchsorted(values, got.quantile(q)) / len(values)
                assert abs(rank - q) < 0.02, (name, q, rank)
        else:
            assert got.values == one.values
    # with the reference's edges the histograms are the single process's, bin for bin
    binned = profile_parquet(str(folder), reference=single, target_rows=10_000)
    for name, one in single.columns.items():
        assert binned.columns[name].hist == one.hist, name
    # a reference without some column (a model's inputs, not the label): that one gets a pass
    partial = profile_frame(df.drop(columns=["stable"]))
    mixed = profile_parquet(str(folder), reference=partial, target_rows=10_000)
    assert mixed.columns["amount"].hist == partial.columns["amount"].hist
    assert sum(mixed.columns["stable"].hist or []) == single.columns["stable"].count


def test_profile_of_s3_data(cluster, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    from mainsail.server._process import free_port

    df, folder = data
    port = free_port()
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    srv.start()
    try:
        import boto3
        import s3fs

        endpoint = f"http://127.0.0.1:{port}"
        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
            region_name="us-east-1",
        ).create_bucket(Bucket="lake")  # fmt: skip
        options = {
            "key": "k",
            "secret": "s",
            "client_kwargs": {
                "endpoint_url": f"http://127.0.0.1:{port}",
                "region_name": "us-east-1",
            },
            "skip_instance_cache": True,
        }
        fs = s3fs.S3FileSystem(**options)
        fs.put(str(folder), "lake/ref", recursive=True)
        merged = profile_parquet("s3://lake/ref", storage_options=options, target_rows=10_000)
    finally:
        srv.stop()
    local = profile_frame(df)
    assert merged.row_count == len(df)
    assert merged.columns["plan"].values == local.columns["plan"].values
    assert merged.columns["score"].missing == local.columns["score"].missing


def test_drift_on_two_parquet_sources(cluster, data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df, ref = data
    cur = table(30_000, 1)
    cur["amount"] = cur["amount"] * 1.6  # two shifted columns
    cur["plan"] = np.random.default_rng(2).choice(["basic", "plus", "pro"], len(cur))
    current = write_parts(cur, tmp_path / "cur", 2)
    report = drift_parquet(str(ref), str(current), target_rows=10_000)
    assert sorted(report.drifted_columns) == ["amount", "plan"]
    single = drift(profile_frame(df), profile_frame(cur, reference=profile_frame(df)))
    assert sorted(report.drifted_columns) == sorted(single.drifted_columns)
    # the reference can be a profile already (a model version's reference profile)
    again = drift_parquet(profile_frame(df), str(current), target_rows=10_000)
    assert sorted(again.drifted_columns) == ["amount", "plan"]


def test_holdout_scored_in_parallel_equals_in_process(cluster, ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    import mainsail
    from mainsail.checks._metrics import get_metric, score

    X = table(30_000, 3)[["amount", "age", "stable"]]
    y = (X["stable"] + 0.01 * X["age"] > 0.5).astype(int)
    model = LogisticRegression(max_iter=200).fit(X.head(5_000), y.head(5_000))
    mv = mainsail.register_model(model, name="big", input_example=X.head())
    holdout = write_parts(X.assign(label=y), tmp_path / "holdout", 2)
    got = score_parquet(
        ctx, mv.address, str(holdout), "label", metrics=["roc_auc", "accuracy"], target_rows=10_000
    )
    assert got.rows == len(X) and got.shards >= 3
    loaded = mainsail.load_model(mv.address)
    s = score("classification", y, loaded.predict(X), loaded.predict_proba(X), mv.classes, "label")
    for name in ("roc_auc", "accuracy"):
        assert got.metrics[name] == pytest.approx(
            get_metric(name, "classification").point(s), abs=1e-12
        )
    with pytest.raises(InvalidValueError, match="Valid metrics for it are: .*roc_auc"):
        score_parquet(ctx, mv.address, str(holdout), "label", metrics=["r2"])

from __future__ import annotations

import pandas as pd
import pytest

import mainsail
from mainsail.core import FilterSyntaxError, InvalidValueError


@pytest.fixture
def runs(ctx):  # type: ignore[no-untyped-def]
    ids = []
    for i in range(10):
        with mainsail.start_run(
            experiment="churn", params={"depth": i % 3, "model": "hgb" if i < 5 else "rf"}
        ) as run:
            run.log_metric("auc", 0.8 + i / 100)
        ids.append(run.id)
    return ids


def test_search_returns_a_frame(runs) -> None:  # type: ignore[no-untyped-def]
    df = mainsail.search_runs("churn", filter="metrics.auc > 0.85 and params.depth = '0'")
    assert isinstance(df, pd.DataFrame)
    assert sorted(df["run_id"]) == sorted([runs[6], runs[9]])
    assert {"params.depth", "params.model", "metrics.auc", "status", "start_time"} <= set(
        df.columns
    )
    assert str(df["start_time"].dtype).startswith("datetime64")


def test_order_and_limit(runs) -> None:  # type: ignore[no-untyped-def]
    df = mainsail.search_runs("churn", order_by=["metrics.auc DESC"], max_results=3)
    assert list(df["run_id"]) == runs[::-1][:3]
    df = mainsail.search_runs("churn", filter="params.model LIKE 'h%'", order_by=["metrics.auc"])
    assert list(df["run_id"]) == runs[:5]


def test_empty_result_has_columns(runs) -> None:  # type: ignore[no-untyped-def]
    df = mainsail.search_runs("churn", filter="metrics.auc > 5")
    assert df.empty and "run_id" in df.columns


def test_bad_filter_is_a_clear_error(runs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FilterSyntaxError):
        mainsail.search_runs("churn", filter="metrics.auc greater 3")
    with pytest.raises(InvalidValueError, match="max_results"):
        mainsail.search_runs("churn", max_results=-1)


def test_a_key_no_run_has_is_named_with_the_close_one(runs, cli) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match="No run in experiment 'churn' has a metric 'acu'. "
                       r"Did you mean 'metrics.auc'\? Known metrics: auc."):  # fmt: skip
        mainsail.search_runs("churn", filter="metrics.acu > 0.9")
    with pytest.raises(InvalidValueError, match=r"param 'dept'. Did you mean 'params.depth'\?"):
        mainsail.search_runs("churn", filter="metrics.auc > 0.5 and params.dept = '1'")
    with mainsail.start_run(experiment="other") as run:  # an old run has the key: not unknown
        run.log_metric("rare", 1.0)
    assert mainsail.search_runs(filter="metrics.rare > 5").empty
    code, _, err = cli("runs", "list", "-e", "churn", "-f", "metrics.acu > 0.9")
    assert code == 1 and "Did you mean 'metrics.auc'?" in " ".join(err.split())

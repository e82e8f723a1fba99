"""MLflow's search syntax, from MLflow's documented examples, in Mainsail's filter language."""

from __future__ import annotations

import pytest

from mainsail.core._errors import FilterSyntaxError
from mainsail.core._schemas import Experiment
from mainsail.tracking._filter import OrderKey
from mainsail.tracking._mlflow_filter import (
    filter_experiments,
    translate_filter,
    translate_order_by,
)


@pytest.mark.parametrize(
    ("mlflow", "mainsail"),
    [
        (
            'metrics.rmse < 1 and params.model = "tree"',
            "metrics.rmse < 1.0 AND params.model = 'tree'",
        ),
        ("params.model = 'CNN'", "params.model = 'CNN'"),
        ("metrics.accuracy > 0.9", "metrics.accuracy > 0.9"),
        ("attributes.run_name = 'my-run'", "attributes.run_name = 'my-run'"),
        ("run_name = 'my-run'", "attributes.run_name = 'my-run'"),
        ('tags."mlflow.runName" = "my-run"', "attributes.run_name = 'my-run'"),
        ('tags."mlflow.source.type" = "LOCAL"', "tags.`mlflow.source.type` = 'LOCAL'"),
        ("attributes.status = 'FINISHED'", "attributes.status = 'finished'"),
        ("attributes.status != 'FAILED'", "attributes.status != 'failed'"),
        ("status IN ('FINISHED', 'KILLED')", "attributes.status IN ('finished', 'killed')"),
        ("attributes.start_time >= 1664067852747", "attributes.start_time >= 1664067852747.0"),
        ("attributes.created > 1664067852747", "attributes.start_time > 1664067852747.0"),
        ("attributes.user_id = 'ana'", "attributes.user = 'ana'"),
        (
            "user_id = 'ana' AND created < 5",
            "attributes.user = 'ana' AND attributes.start_time < 5.0",
        ),
        ('params.model LIKE "GBT%"', "params.model LIKE 'GBT%'"),
        ('tags.env ILIKE "%prod%"', "tags.env ILIKE '%prod%'"),
        ("attributes.run_id IN ('a1', 'b2')", "attributes.run_id IN ('a1', 'b2')"),
        ("metrics.`f1 score` > 0.5", "metrics.`f1 score` > 0.5"),
        ('metrics."f1 score" > 0.5', "metrics.`f1 score` > 0.5"),
        ("tags.owner IS NULL", "tags.owner IS NULL"),
    ],
)
def test_documented_examples(mlflow: str, mainsail: str) -> None:
    expr = translate_filter(mlflow)
    assert expr is not None and expr.to_text() == mainsail


def test_empty_filter_is_none() -> None:
    assert translate_filter(None) is None and translate_filter("  ") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("attributes.artifact_uri = 'x'", "no Mainsail equivalent"),
        ("attributes.lifecycle_stage = 'active'", "no Mainsail equivalent"),
        ("attributes.colour = 'red'", "Unknown MLflow run attribute 'colour'"),
        ("metrics.rmse < 'low'", "compare it with a number"),
        ("metrics.rmse <", "expected a value"),
    ],
)
def test_bad_filters_say_what_is_supported(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=message):
        translate_filter(text)


def test_order_by() -> None:
    assert translate_order_by(["metrics.rmse DESC", "attributes.start_time", "created ASC"]) == [
        OrderKey("metrics", "rmse", True),
        OrderKey("attributes", "start_time", False),
        OrderKey("attributes", "start_time", False),
    ]
    assert translate_order_by(['tags."mlflow.runName" DESC']) == [
        OrderKey("attributes", "run_name", True)
    ]
    with pytest.raises(FilterSyntaxError, match="artifact_uri"):
        translate_order_by(["attributes.artifact_uri"])


def test_experiment_filters() -> None:
    exps = [
        Experiment(id=1, name="churn-a", created_at=10),
        Experiment(id=2, name="Churn-b", created_at=20),
        Experiment(id=3, name="fraud", created_at=30),
    ]
    names = lambda text: [e.name for e in filter_experiments(exps, text)]  # noqa: E731
    assert names("name LIKE 'churn%'") == ["churn-a"]
    assert names("name ILIKE 'churn%'") == ["churn-a", "Churn-b"]
    assert names("attributes.name = 'fraud'") == ["fraud"]
    assert names("creation_time > 15 AND name != 'fraud'") == ["Churn-b"]
    assert names("name = 'fraud' AND tags.`mlflow.prompt.is_prompt` != 'true'") == ["fraud"]
    with pytest.raises(FilterSyntaxError, match="created, creation_time, name; got metrics.x"):
        filter_experiments(exps, "metrics.x > 1")

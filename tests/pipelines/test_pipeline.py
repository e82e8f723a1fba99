"""Pipelines as DAGs of steps: the tracking Run, outputs as artifacts, lineage, failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

TRAIN = """
import numpy as np
import pandas as pd
import mainsail
from sklearn.linear_model import LogisticRegression

@mainsail.step
def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    return pd.DataFrame({"x": x, "y": (x > 0).astype(int)})

@mainsail.step(outputs=["train", "test"])
def split(df: pd.DataFrame, frac: float = 0.75):
    cut = int(len(df) * frac)
    return df.iloc[:cut], df.iloc[cut:]

@mainsail.step
def fit(train: pd.DataFrame, c: float = 1.0) -> LogisticRegression:
    mainsail.log_metric("train_rows", len(train))
    return LogisticRegression(C=c).fit(train[["x"]], train.y)

@mainsail.step
def evaluate(model: LogisticRegression, test: pd.DataFrame) -> dict:
    return {"accuracy": float(model.score(test[["x"]], test.y))}

@mainsail.pipeline(name="train-churn")
def training(rows: int = 200, c: float = 1.0):
    train, test = split(make_data(rows))
    model = fit(train, c=c)
    return {"model": model, "metrics": evaluate(model, test)}
"""


@pytest.fixture
def train(ctx, project):  # type: ignore[no-untyped-def]
    return project("trainmod", TRAIN)


def test_pipeline_run_is_a_tracking_run_with_steps(ctx, train) -> None:  # type: ignore[no-untyped-def]
    import mainsail

    pr = train.training.run(params={"rows": 120}, trigger={"kind": "manual"}, progress=True)
    assert pr.status == "succeeded", pr.error
    assert pr.pipeline == "train-churn" and pr.executor == "inprocess"
    assert pr.params == {"rows": 120, "c": 1.0}
    assert pr.trigger == {"kind": "manual"}
    assert [s.step for s in pr.steps] == ["make_data", "split", "fit", "evaluate"]
    run = mainsail.get_run(pr.run_id)
    assert run.experiment == "pipelines" and run.status == "finished"
    assert run.params == {"rows": "120", "c": "1.0"}
    assert run.tags["mainsail.pipeline_run"] == pr.id
    assert run.tags["step.fit"] == "succeeded"
    assert run.metrics["train_rows"] == 90  # the step logged to the pipeline's run
    assert run.metrics["pipeline.steps_ran"] == 4
    paths = {a.path: a.digest for a in run.artifacts}
    assert paths["steps/fit/output"] == pr.step("fit").outputs["output"]
    assert {"steps/split/train", "steps/split/test", "steps/evaluate/output"} <= set(paths)
    assert 0.8 < pr.outputs["metrics"]["accuracy"] <= 1.0
    model = pr.outputs["model"]
    assert model.predict(pd.DataFrame({"x": [-3.0, 3.0]})).tolist() == [0, 1]
    # read back from the store: the same record
    again = mainsail.get_pipeline_run(pr.id[:8])
    assert again.id == pr.id and again.steps == pr.steps
    assert again.outputs["metrics"] == pr.outputs["metrics"]
    assert [p.id for p in mainsail.list_pipeline_runs("train-churn")] == [pr.id]


def test_outputs_are_stored_in_safe_formats(ctx, train) -> None:  # type: ignore[no-untyped-def]
    pr = train.training.run(progress=False)
    formats = {f"{s.step}.{k}": m["format"] for s in pr.steps for k, m in s.output_meta.items()}
    assert formats == {
        "make_data.output": "parquet",
        "split.train": "parquet",
        "split.test": "parquet",
        "fit.output": "skops",
        "evaluate.output": "json",
    }
    assert pr.output_meta["model"]["trusted_types"] == []  # nothing beyond skops defaults
    blob = ctx.artifacts.get_bytes(pr.step("split").outputs["train"])
    assert len(pd.read_parquet(__import__("io").BytesIO(blob))) == 150


def test_lineage_of_an_output_reaches_the_parameters(ctx, train) -> None:  # type: ignore[no-untyped-def]
    from mainsail.client._pipelines import lineage

    pr = train.training.run(params={"rows": 80}, progress=False)
    node = lineage(pr.output_meta["metrics"]["digest"])
    assert node is not None and node.step == "evaluate" and node.pipeline_run_id == pr.id
    assert node.inputs["model"].step == "fit"
    assert node.inputs["model"].inputs["c"] == {"value": 1.0}
    data = node.inputs["test"].inputs["df"]
    assert data.step == "make_data" and data.inputs["rows"] == {"value": 80}
    sr = pr.step("evaluate")
    assert sr.inputs["model"] == {"digest": pr.step("fit").outputs["output"], "from": "fit.output"}
    # a cached rerun still points lineage at the step run that produced the bytes
    pr2 = train.training.run(params={"rows": 80}, progress=False)
    assert lineage(pr2.output_meta["metrics"]["digest"]).pipeline_run_id == pr.id  # type: ignore[union-attr]
    assert lineage("0" * 64) is None


def test_a_failing_step_fails_the_run_and_skips_downstream(ctx, project) -> None:  # type: ignore[no-untyped-def]
    import mainsail

    mod = project(
        "failing",
        """
        import mainsail

        @mainsail.step
        def one() -> int:
            return 1

        @mainsail.step
        def boom(x: int) -> int:
            raise ValueError(f"cannot handle {x}")

        @mainsail.step
        def after(x: int) -> int:
            return x

        @mainsail.step
        def side() -> str:
            return "independent"

        @mainsail.pipeline
        def p():
            return {"a": after(boom(one())), "s": side()}
        """,
    )
    pr = mod.p.run(progress=False)
    assert pr.status == "failed"
    assert {s.step: s.status for s in pr.steps} == {
        "one": "succeeded",
        "boom": "failed",
        "side": "succeeded",
        "after": "skipped",
    }
    assert "ValueError: cannot handle 1" in pr.error  # type: ignore[operator]
    assert "Traceback" in pr.step("boom").error  # type: ignore[operator]
    assert pr.step("after").reason == ["upstream step failed: boom"]
    assert mainsail.get_run(pr.run_id).status == "failed"
    assert pr.outputs == {}
    with pytest.raises(mainsail.MainsailError, match="failed: step 'boom' failed"):
        pr.raise_for_status()


def test_values_need_a_safe_format_or_an_opt_in(ctx, project) -> None:  # type: ignore[no-untyped-def]
    mod = project(
        "formats",
        """
        import numpy as np
        import mainsail

        class Thing:
            def __init__(self, v):
                self.v = v

        @mainsail.step(outputs=["arr", "tup", "keys"])
        def plain():
            return np.arange(6).reshape(2, 3), (1, "a", b"x"), {1: {2, 3}}

        @mainsail.step(allow_pickle=True)
        def thing() -> Thing:
            return Thing(7)

        @mainsail.step
        def read(t: Thing, arr: np.ndarray) -> int:
            return t.v + int(arr.sum())

        @mainsail.pipeline
        def p():
            arr, tup, keys = plain()
            return {"arr": arr, "tup": tup, "keys": keys, "total": read(thing(), arr)}
        """,
    )
    pr = mod.p.run(progress=False)
    assert pr.status == "succeeded", pr.error
    out = pr.outputs
    assert isinstance(out["arr"], np.ndarray) and out["arr"].shape == (2, 3)
    assert out["tup"] == (1, "a", b"x") and out["keys"] == {1: {2, 3}}
    assert out["total"] == 22
    metas = pr.step("plain").output_meta
    assert [metas[k]["format"] for k in ("arr", "tup", "keys")] == ["npy", "pickle", "pickle"]
    assert pr.step("thing").output_meta["output"]["plain"] is False


def test_plain_pickle_refuses_anything_but_builtins() -> None:
    import pickle

    from mainsail.core import MainsailError
    from mainsail.pipelines._serialize import dumps, loads

    data, meta = dumps((1, {2, 3}))
    assert meta == {"type": "builtins.tuple", "format": "pickle", "plain": True}
    assert loads(data, meta) == (1, {2, 3})
    evil = pickle.dumps(pd.Timestamp("2024-01-01"))
    with pytest.raises(MainsailError, match="refers to pandas"):
        loads(evil, meta)


def test_definition_errors_are_clear(ctx, project) -> None:  # type: ignore[no-untyped-def]
    from mainsail.core import MainsailError
    from mainsail.core._errors import UnknownExecutorError

    mod = project(
        "bad",
        """
        import mainsail

        @mainsail.step
        def one(n: int) -> int:
            return n

        @mainsail.step(outputs=["a", "b"])
        def pair():
            return 1

        @mainsail.pipeline
        def ok(n: int = 1):
            return one(n)

        @mainsail.pipeline
        def branches():
            if one(1):
                return one(2)

        @mainsail.pipeline
        def wrong_args():
            return one(1, 2)

        @mainsail.pipeline
        def nested():
            return one([one(1)])

        @mainsail.pipeline
        def empty():
            return None

        @mainsail.pipeline
        def badpair():
            a, b = pair()
            return a
        """,
    )
    with pytest.raises(MainsailError, match="no parameter.*nope. Valid parameters: n"):
        mod.ok.run(params={"nope": 1}, progress=False)
    with pytest.raises(MainsailError, match="tested the output one.output as a condition"):
        mod.branches.run(progress=False)
    with pytest.raises(MainsailError, match="do not match its signature.*parameters are: n"):
        mod.wrong_args.run(progress=False)
    with pytest.raises(MainsailError, match="inside a container"):
        mod.nested.run(progress=False)
    with pytest.raises(MainsailError, match="called no steps"):
        mod.empty.run(progress=False)
    with pytest.raises(
        UnknownExecutorError,
        match=r"Unknown executor 'spark'\. Valid executors are: inprocess, ray\. Register",
    ):
        mod.ok.run(executor="spark", progress=False)
    with pytest.raises(MainsailError, match="Parameter 'n' is DataFrame"):
        mod.ok.run(params={"n": pd.DataFrame()}, progress=False)
    pr = mod.badpair.run(progress=False)
    assert pr.status == "failed" and "must return a tuple of 2 values" in pr.error  # type: ignore[operator]
    assert mod.one(5) == 5  # outside a pipeline a step is a plain call


def test_run_pipeline_by_reference(ctx, train) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    import mainsail
    from mainsail.core import MainsailError

    trigger = {"at": dt.date(2024, 1, 2), "obj": object}
    pr = mainsail.run_pipeline(
        "trainmod:training", params={"rows": 60}, trigger=trigger, progress=False
    )
    assert pr.status == "succeeded"
    assert pr.trigger == {"at": "2024-01-02", "obj": "<class 'object'>"}
    assert mainsail.get_run(pr.run_id).tags["mainsail.pipeline_ref"] == "trainmod:training"
    with pytest.raises(MainsailError, match="Pipelines in that module: training"):
        mainsail.run_pipeline("trainmod:fit")
    with pytest.raises(MainsailError, match="Could not import module 'nomod'"):
        mainsail.run_pipeline("nomod:x")
    with pytest.raises(MainsailError, match="Expected a pipeline as 'module:attribute'"):
        mainsail.run_pipeline("trainmod")


def test_a_literal_object_passed_to_a_step_is_stored_as_an_input(ctx, project) -> None:  # type: ignore[no-untyped-def]
    mod = project(
        "literal",
        """
        import pandas as pd
        import mainsail

        @mainsail.step
        def count(df: pd.DataFrame) -> int:
            return len(df)

        @mainsail.pipeline
        def p(n: int = 3):
            return count(pd.DataFrame({"a": range(n)}))
        """,
    )
    pr = mod.p.run(progress=False)
    assert pr.outputs == {"output": 3}
    src = pr.step("count").inputs["df"]
    assert src["from"] == "literal" and ctx.artifacts.exists(src["digest"])
    assert mod.p.run(progress=False).step("count").status == "cached"


def test_cli_run_runs_show(ctx, train, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    code, out, err = cli(
        "pipeline", "run", "trainmod:training", "--param", "rows=100", "-p", "c=0.5"
    )
    assert code == 0, err
    assert "train-churn" in out and "succeeded" in out and "no cache entry" in out
    code, out, _ = cli(
        "pipeline", "run", "trainmod:training", "--param", "rows=100", "-p", "c=0.5", "--json"
    )
    data = json.loads(out)
    assert {s["status"] for s in data["steps"]} == {"cached"}
    assert data["params"] == {"rows": 100, "c": 0.5}
    code, out, _ = cli(
        "pipeline", "run", "trainmod:training", "-p", "rows=100", "-p", "c=0.5", "--no-cache"
    )
    assert code == 0 and "cache disabled" in out
    code, out, _ = cli("pipeline", "runs")
    assert code == 0 and "Pipeline runs" in out
    code, out, _ = cli("pipeline", "runs", "--json", "--pipeline", "train-churn")
    assert [r["status"] for r in json.loads(out)] == ["succeeded"] * 3
    report = tmp_path / "report.html"
    code, out, _ = cli("pipeline", "show", data["id"][:10], "--html", str(report))
    assert code == 0 and "cached from" in out and "evaluate" in out
    page = report.read_text()
    assert "<h1>train-churn" in page and "reused outputs of run" in page
    assert "rows = <code>100</code>" in page and "<script" not in page
    code, _, err = cli("pipeline", "show", "ffffffffff")
    assert code == 1 and "No pipeline run with id 'ffffffffff'" in err
    code, _, err = cli("pipeline", "run", "trainmod:training", "--param", "rows")
    assert code == 1 and "Expected --param as key=value" in err


def test_cli_prints_the_result_and_checks_params_first(ctx, train, cli) -> None:  # type: ignore[no-untyped-def]
    import mainsail
    from mainsail.core import MainsailError

    code, out, err = cli("pipeline", "run", "trainmod:training", "-p", "rows=100")
    assert code == 0, err
    assert 'result metrics: {"accuracy":' in out and "result model: LogisticRegression" in out
    code, _, err = cli("pipeline", "run", "trainmod:training", "-p", "rows=abc", "-p", "c=x")
    said = " ".join(err.split())
    assert code == 1 and "Traceback" not in err
    assert "'rows' must be int (its annotation); got 'abc' (str)" in said
    assert "'c' must be float (its annotation); got 'x'" in said
    assert [r.params for r in mainsail.list_pipeline_runs()] == [{"rows": 100, "c": 1.0}]
    with pytest.raises(MainsailError, match="'rows' must be int"):
        mainsail.run_pipeline("trainmod:training", params={"rows": 1.5}, progress=False)
    assert (
        mainsail.run_pipeline(  # a whole number for a float is fine
            "trainmod:training", params={"rows": 100, "c": 1}, progress=False
        ).status
        == "succeeded"
    )

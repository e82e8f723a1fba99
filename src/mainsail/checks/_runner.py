"""Run a policy's checks in this process: load the data and the models, run the plan, decide.

This is the local side of the release-check service (:mod:`mainsail.checks._service`): the
embedded SDK and the server run checks here; a client of a server runs them here too when
the server cannot (a DataFrame, a local file, a check the server does not have) and records
the result on the server.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainsail.checks._plan import decide_verdict, needing_label, plan_checks
from mainsail.checks._registry import PlanFacts, check_spec
from mainsail.checks._results import json_safe, model_address, record_result
from mainsail.checks._types import CheckContext, CheckOutcome, CheckResult
from mainsail.core._errors import InvalidValueError, MainsailError

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.checks._policy import CheckPolicy
    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context

SCORED_TASKS = ("classification", "regression")


def dataset_ref(data: Any) -> str | None:
    """The registered dataset ``data`` names (``datasets:/...``), or ``None`` for a
    DataFrame or a table file: the same reading :func:`load_data` makes."""
    if not isinstance(data, str | os.PathLike):
        return None
    text = str(data)
    if text.startswith("datasets:/"):
        return text
    if Path(text).suffix.lower() in (".parquet", ".pq", ".csv", ".json", ".jsonl"):
        return None
    return f"datasets:/{text}"


def load_data(ctx: Context, data: Any) -> tuple[pd.DataFrame, str]:
    """The check data as a frame, and how the result names it (``data_ref``)."""
    import pandas as pd

    from mainsail.data._datasets import content_digest, load_dataset, read_table

    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True), f"dataframe sha256:{content_digest(data)[:16]}"
    if isinstance(data, str | os.PathLike):
        ref = dataset_ref(data)
        if ref is not None:
            return load_dataset(ctx, ref), ref
        return read_table(str(data)), str(Path(data).absolute())
    raise InvalidValueError(
        "Expected data as a dataset address ('datasets:/churn-holdout/2'), a file path or a "
        f"pandas DataFrame. Got {type(data).__name__}."
    )


def resolve_baseline(ctx: Context, ref: str | None, candidate: ModelVersion) -> ModelVersion | None:
    """The baseline version ``ref`` names (``@champion``, ``3``, an address), checked to be
    comparable with ``candidate``."""
    from mainsail.registry._registry import resolve_version

    if ref is None:
        return None
    text = str(ref).strip()
    if text.startswith("@"):
        text = f"models:/{candidate.name}{text}"
    elif text.isdigit():
        text = f"models:/{candidate.name}/{text}"
    base = resolve_version(ctx, model_address(text))
    if base.name == candidate.name and base.version == candidate.version:
        raise InvalidValueError(
            f"The baseline {ref!r} is {candidate.address} itself. Compare with the version in "
            "production (e.g. --baseline @champion) or another version."
        )
    if base.task != candidate.task:
        raise InvalidValueError(
            f"The baseline {base.address} is a {base.task} model; {candidate.address} is "
            f"{candidate.task}. A comparison needs two models of the same task."
        )
    if candidate.task == "classification" and [str(c) for c in base.classes or []] != [
        str(c) for c in candidate.classes or []
    ]:
        raise InvalidValueError(
            f"The baseline {base.address} predicts classes {base.classes}; {candidate.address} "
            f"predicts {candidate.classes}. Compare models of the same label."
        )
    return base


class LocalChecks:
    """Release checks run in this process; the result is recorded in the context's store.

    Parameters
    ----------
    ctx : Context
        Where the model, the data and the baseline are read, and the result recorded.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def run(
        self,
        version: ModelVersion,
        data: Any,
        *,
        policy: CheckPolicy,
        label: str | None = None,
        baseline: str | None = None,
        progress: bool = True,
        endpoint: str | None = None,
        created_by: str | None = None,
    ) -> CheckResult:
        """Run ``policy``'s checks on ``version`` with ``data``; returns the recorded result."""
        from mainsail.registry._registry import _actor, load_model

        ctx = self.ctx
        started = time.perf_counter()
        frame, data_ref = load_data(ctx, data)
        from_policy = label is None and policy.label is not None
        label = label or policy.label
        if label is not None and label not in frame.columns:
            fix = (
                f"The policy names it (label: {label}): fix 'label:' in the policy, or pass "
                "--label with the right name to override it."
                if from_policy
                else "Pass --label with the right name."
            )
            raise InvalidValueError(
                f"The data has no label column {label!r}. Columns are: "
                f"{', '.join(map(str, frame.columns))}. {fix}"
            )
        needing = needing_label(policy)
        if label is None and needing:
            raise InvalidValueError(
                f"The checks {', '.join(needing)} need the label: name the label column with "
                "--label COL (or `label:` in the policy)."
            )
        if len(frame) == 0:
            raise InvalidValueError("The check data has no rows.")
        base_version = resolve_baseline(ctx, baseline, version)
        candidate = load_model(ctx, version)
        inputs = candidate.signature.input_names
        missing = [c for c in inputs if c not in frame.columns]
        if missing:
            raise InvalidValueError(
                f"The data lacks model input(s) {', '.join(map(repr, missing))}. "
                f"{version.address} takes: {', '.join(inputs)}. Data columns: "
                f"{', '.join(map(str, frame.columns))}."
            )
        candidate.prepare(frame[inputs])  # a clear signature error now rather than in every check
        context = CheckContext(
            ctx=ctx,
            version=version,
            model=candidate,
            X=frame[inputs].reset_index(drop=True),
            y=frame[label].reset_index(drop=True) if label is not None else None,
            policy=policy,
            frame=frame,
            label=label,
            baseline_version=base_version,
            baseline=load_model(ctx, base_version) if base_version is not None else None,
            data_ref=data_ref,
            seed=policy.seed,
        )
        if endpoint:
            context.cache["endpoint"] = endpoint
        plan = plan_checks(policy, _facts(version, frame, label, base_version, endpoint))
        configured = policy.configured()
        outcomes: list[CheckOutcome] = []
        timings: dict[str, float] = {}
        try:
            for outs in _run_all(plan, context, progress, timings):
                outcomes.extend(outs)
        finally:
            candidate.unload()
            if context.baseline is not None:
                context.baseline.unload()
        verdict, reason = decide_verdict(outcomes, configured)
        summary = {
            "reason": reason,
            "configured": configured,
            "ran": plan,
            "counts": {
                s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "inconclusive")
            },
            "rows": len(frame),
            "label": label,
            "seconds": round(time.perf_counter() - started, 3),
            "timings_s": timings,
            "baseline": base_version.address if base_version else None,
        }
        result = CheckResult(
            model=version.name,
            version=version.version,
            verdict=verdict,  # type: ignore[arg-type]
            blessed=verdict == "blessed",
            baseline_version=base_version.version if base_version else None,
            checks=outcomes,
            reason=reason,
            data_ref=data_ref,
            policy=policy.to_dict(),
            summary=json_safe(summary),
            created_by=created_by or _actor(),
        )
        return record_result(ctx, result)


def _facts(
    version: ModelVersion,
    frame: pd.DataFrame,
    label: str | None,
    base_version: ModelVersion | None,
    endpoint: str | None,
) -> PlanFacts:
    compare = base_version is not None
    if base_version is not None:
        from mainsail.registry._signature import ModelSignature

        needed = ModelSignature.from_dict(base_version.signature).input_names
        compare = all(c in frame.columns for c in needed)
    return PlanFacts(
        has_label=label is not None and version.task in SCORED_TASKS,
        has_baseline=base_version is not None or bool(endpoint),
        has_profile=bool(version.reference_profile),
        compare=compare,
    )


def _run_all(
    plan: list[str], context: CheckContext, progress: bool, timings: dict[str, float]
) -> Iterator[list[CheckOutcome]]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]checks[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not progress,
    )
    with bar:
        task = bar.add_task("", total=len(plan))
        for key in plan:
            bar.update(task, description=key)
            check = check_spec(key).build(context.policy.section(key))
            t = time.perf_counter()
            try:
                outs = list(check.run(context))
            except MainsailError:
                raise  # bad configuration: an error for the user, not a verdict
            except Exception as exc:  # noqa: BLE001 - a model that breaks a check fails it
                crash = _crash(exc)
                outs = [
                    CheckOutcome(
                        name=key,
                        kind=key,
                        status="fail",
                        threshold=0,
                        detail=f"the check could not run: the model raised {crash}",
                        data={"error": crash},
                    )
                ]
            timings[key] = round(time.perf_counter() - t, 3)
            bar.advance(task)
            yield outs


def _crash(exc: BaseException) -> str:
    from mainsail.checks._behaviour import _crash as describe

    return describe(exc)


__all__ = ["LocalChecks", "dataset_ref", "load_data", "resolve_baseline"]

"""The retraining job: pipeline → registered version → release checks → rollout.

Runs in a ``mainsail worker`` (job kind ``automation.retrain``). Each stage leaves an
automation event linked to what it produced, so the trail reads trigger → pipeline run →
model version → check result → rollout.
"""

from __future__ import annotations

import time
from typing import Any

from mainsail.automation._spec import AutomationSpec, parse_spec
from mainsail.checks import check
from mainsail.core._errors import (
    AutomationSpecError,
    ModelNotFoundError,
    PermissionDeniedError,
    RetrainingFailedError,
)
from mainsail.core._registry_schemas import ModelVersion
from mainsail.pipelines._runner import run_pipeline
from mainsail.registry._registry import register_model, resolve_version
from mainsail.rollout._api import deploy
from mainsail.store._context import Context


def _outputs(outputs: Any) -> dict[str, Any]:
    if isinstance(outputs, dict):
        return outputs
    if isinstance(outputs, ModelVersion | str):
        return {"model": outputs}
    if isinstance(outputs, tuple | list) and outputs:
        return {"model": outputs[0], **({"holdout": outputs[1]} if len(outputs) > 1 else {})}
    return {"model": outputs}


def register_output(
    ctx: Context, spec: AutomationSpec, outputs: dict[str, Any], run_id: str | None
) -> ModelVersion:
    """The model version a pipeline produced: an address it registered, or a model to register."""
    model = outputs.get("model_version", outputs.get("model"))
    if model is None:
        raise AutomationSpecError(
            f"The pipeline '{spec.pipeline}' returned no model. Expected it to return a dict with "
            "'model' (a fitted model or a models:/ address) and, for checks, 'holdout' "
            f"(a DataFrame). Got keys: {', '.join(outputs) or 'none'}."
        )
    if isinstance(model, ModelVersion):
        return model
    if isinstance(model, str):
        return resolve_version(ctx, model)
    return register_model(
        ctx,
        model,
        name=spec.model,
        run=run_id,
        input_example=outputs.get("input_example"),
        reference=outputs.get("reference"),
        tags={"automation": spec.name},
        description=f"Retrained by automation '{spec.name}'.",
    )


def _champion(ctx: Context, spec: AutomationSpec) -> str | None:
    baseline = spec.checks.baseline
    if not baseline:
        return None
    address = f"models:/{spec.model}{baseline}" if baseline.startswith("@") else baseline
    try:
        resolve_version(ctx, address)
    except ModelNotFoundError:
        return None
    except Exception as exc:  # an alias that does not exist yet: no baseline
        if "alias" in str(exc).lower() or getattr(exc, "status", None) == 404:
            return None
        raise
    return address


_TRIGGER_WAIT_S = 10.0  # the controller records "triggered" right after it enqueues


def _started_by_controller(store: Any, automation_id: int, job_id: int) -> bool:
    """Whether the automation controller started this job (its "triggered" event names it).

    The controller enqueues, then records the event: a worker that claims the job in
    between waits a moment for it."""
    deadline = time.monotonic() + _TRIGGER_WAIT_S
    while True:
        events = store.automation_events(automation_id, limit=1000, status="triggered")
        if any(e["job_id"] == job_id for e in events):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def handle(ctx: Context, payload: dict[str, Any], job: Any) -> dict[str, Any]:
    """Job handler for ``automation.retrain``.

    Runs only a job the automation controller started, after its guards (role, approval,
    cooldown, one in flight): a job of this kind queued any other way is refused.
    """
    store = ctx.database("Retraining for an automation")
    row = store.get_automation_row(payload["automation"])
    if not _started_by_controller(store, row["id"], job.id):
        raise PermissionDeniedError(
            f"Job {job.id} asks to retrain automation {row['name']!r}, but the automation "
            "controller did not start it (no 'triggered' event names it). A retraining "
            "registers, checks and deploys a model, so only the controller starts one, after "
            f"its guards. Ask for a run instead: 'mainsail automation run {row['name']}'."
        )
    spec = parse_spec(row["spec"])
    trigger = payload.get("trigger") or {"type": "manual"}
    kind = trigger.get("type", "manual")
    actor = f"automation:{spec.name}"

    def event(status: str, detail: dict[str, Any] | None = None, **links: Any) -> None:
        store.add_automation_event(row["id"], kind, status, detail or {}, job_id=job.id, **links)

    # A retried job (its worker died) resumes from what the earlier attempt recorded, so a
    # crash never registers or deploys the same retraining twice.
    done = {
        e["status"]: e
        for e in store.automation_events(row["id"], limit=1000)
        if e["job_id"] == job.id
    }
    if "rollout_started" in done:
        e = done["rollout_started"]
        keys = ("rollout_id", "pipeline_run_id", "model_version", "check_result_id")
        return {"status": "deployed", **{k: e[k] for k in keys}}

    event(
        "pipeline_started", {"pipeline": spec.pipeline, "attempt": getattr(job, "attempts", None)}
    )
    run = run_pipeline(
        ctx,
        spec.pipeline,
        params=spec.params,
        executor=spec.executor,
        trigger={"automation": spec.name, **trigger},
        progress=False,
    )
    if run.status != "succeeded":
        event(
            "failed",
            {"stage": "pipeline", "status": run.status, "error": run.error},
            pipeline_run_id=run.id,
        )
        # The job fails with the cause (not "done" with no error): `jobs show` and the
        # controller's outcome say what went wrong without a look at the pipeline run.
        raise RetrainingFailedError(
            f"The pipeline '{spec.pipeline}' of automation '{spec.name}' failed (pipeline run "
            f"{run.id}): {run.error or run.status}. See `mainsail pipeline show {run.id[:8]}`."
        )
    outputs = _outputs(run.outputs)
    registered = done.get("registered")
    if registered is not None and registered["model_version"] is not None:
        mv = resolve_version(ctx, f"models:/{spec.model}/{registered['model_version']}")
    else:
        mv = register_output(ctx, spec, outputs, run.run_id)
        store.add_audit_event(
            actor,
            "models.register",
            f"models/{mv.name}/{mv.version}",
            after={"pipeline_run": run.id, "run_id": run.run_id},
        )
        event(
            "registered", {"address": mv.address}, pipeline_run_id=run.id, model_version=mv.version
        )

    data = spec.checks.data or outputs.get("holdout")
    if data is None:
        raise AutomationSpecError(
            f"Automation '{spec.name}' has no check data: set checks.data to a dataset address "
            "or return a 'holdout' DataFrame from the pipeline."
        )
    baseline = _champion(ctx, spec)
    result = check(
        ctx,
        mv.address,
        data,
        label=spec.checks.label,
        baseline=baseline,
        policy=spec.checks.policy,
        progress=False,
    )
    failed = [c.name for c in result.checks if c.status == "fail"]
    event(
        "checked",
        {"verdict": result.verdict, "baseline": baseline, "failed": failed},
        pipeline_run_id=run.id,
        model_version=mv.version,
        check_result_id=result.id,
    )
    links = {"pipeline_run_id": run.id, "model_version": mv.version, "check_result_id": result.id}
    if not result.blessed:
        event("rejected", {"failed": failed}, **links)
        return {"status": "rejected", **links}
    rollout = deploy(
        ctx,
        spec.endpoint,
        mv.address,
        strategy=spec.rollout.strategy,
        spec=spec.rollout.spec,
        source=actor,
        reason=f"automation {spec.name}: {trigger.get('summary', kind)}",
    )
    store.add_audit_event(
        actor,
        "rollouts.start",
        f"endpoints/{spec.endpoint}",
        after={
            "rollout": rollout.id,
            "model": mv.address,
            "strategy": spec.rollout.strategy,
            "check_result": result.id,
        },
    )
    event("rollout_started", {"strategy": spec.rollout.strategy}, rollout_id=rollout.id, **links)
    return {"status": "deployed", "rollout_id": rollout.id, **links}

"""``mainsail.check``: run a policy's checks on a model version and record the verdict.

Verdict rule: a version is **blessed** when no check failed and at least one check that
the policy configured, with a threshold, passed. Inconclusive outcomes (too few rows, an
undefined metric, no baseline to compare with) are reported but neither bless nor
reject; if nothing configured passed, the verdict is rejected. Checks that run without
being configured (metric values, a schema comparison with the baseline, skew against the
reference profile) are informational: they may reject (a schema that breaks clients),
never bless. With no thresholds at all, nothing is blessed by accident.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.checks._policy import CheckPolicy, load_policy
from mainsail.checks._types import CheckContext, CheckOutcome, CheckResult, get_check_class
from mainsail.core._errors import InvalidValueError, MainsailError

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context

NEEDS_LABEL = ("metrics", "baseline", "slices")
NO_POLICY = (
    "No thresholds are configured, so nothing is blessed by accident. Add a policy, e.g. "
    "--policy checks.yaml with `metrics: {roc_auc: {min: 0.8}}`."
)


def model_address(ref: str) -> str:
    """``churn/4`` -> ``models:/churn/4``; full addresses pass through."""
    if not isinstance(ref, str):
        raise InvalidValueError(f"Expected a model address like 'models:/churn/4'. Got {ref!r}.")
    return ref if ref.startswith("models:/") else f"models:/{ref}"


def _resolve_baseline(
    ctx: Context, ref: str | None, candidate: ModelVersion
) -> ModelVersion | None:
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


def dataset_ref(data: Any) -> str | None:
    """The registered dataset ``data`` names (``datasets:/...``), or ``None`` for a
    DataFrame or a table file: the same reading :func:`_load_data` makes."""
    if not isinstance(data, str | os.PathLike):
        return None
    text = str(data)
    if text.startswith("datasets:/"):
        return text
    if Path(text).suffix.lower() in (".parquet", ".pq", ".csv", ".json", ".jsonl"):
        return None
    return f"datasets:/{text}"


def _load_data(ctx: Context, data: Any) -> tuple[pd.DataFrame, str]:
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


def decide_verdict(outcomes: list[CheckOutcome], configured: list[str]) -> tuple[str, str]:
    """The verdict and its reason (see the module docstring for the rule)."""
    failed = [o.name for o in outcomes if o.status == "fail"]
    if failed:
        return "rejected", f"{len(failed)} check(s) failed: {', '.join(failed)}."
    if not configured:
        return "rejected", NO_POLICY
    passed = [
        o
        for o in outcomes
        if o.kind in configured and o.threshold is not None and o.status == "pass"
    ]
    if not passed:
        pending = [o.name for o in outcomes if o.status == "inconclusive"]
        return "rejected", (
            "No configured check with a threshold passed"
            + (f" (inconclusive: {', '.join(pending)})" if pending else "")
            + "; inconclusive checks do not bless a version on their own."
        )
    return "blessed", f"{len(passed)} judged outcome(s) passed and none failed."


def _plan(
    policy: CheckPolicy, has_label: bool, has_baseline: bool, has_profile: bool, compare: bool
) -> list[str]:
    keys = policy.configured()
    extra = []
    if has_label and "metrics" not in keys:
        extra.append("metrics")
    if has_label and compare and "baseline" not in keys:
        extra.append("baseline")
    if has_baseline and "schema" not in keys:
        extra.append("schema")
    if has_profile and "skew" not in keys:
        extra.append("skew")
    order = [
        "metrics",
        "baseline",
        "slices",
        "schema",
        "skew",
        "robustness",
        "invariance",
        "directional",
        "budgets",
        "smoke",
    ]
    both = keys + extra
    return sorted(both, key=lambda k: order.index(k) if k in order else len(order))


def _instantiate(key: str, policy: CheckPolicy, endpoint: str | None) -> Any:
    cls = get_check_class(key)
    if key == "schema":
        return cls(policy.schema_, endpoint)
    if key in (
        "metrics",
        "baseline",
        "slices",
        "robustness",
        "invariance",
        "directional",
        "budgets",
        "skew",
        "smoke",
    ):
        return cls(getattr(policy, key))
    return cls(policy.custom.get(key))


def check(
    ctx: Context,
    model: str,
    data: str | pd.DataFrame,
    *,
    label: str | None = None,
    baseline: str | None = None,
    policy: str | os.PathLike[str] | dict[str, Any] | CheckPolicy | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    endpoint: str | None = None,
    created_by: str | None = None,
) -> CheckResult:
    """Run release checks on a model version and record a :class:`CheckResult` on it.

    Parameters
    ----------
    model : ``models:/churn/4`` (or ``churn/4``, ``churn@challenger``).
    data : ``datasets:/churn-holdout/2``, a Parquet/CSV file or a DataFrame holding the
        model's inputs and (for metric checks) the label column.
    label : the label column (default: ``label:`` in the policy).
    baseline : a version to compare with: ``@champion``, ``3`` or ``models:/churn/3``.
    policy : a YAML file, YAML text, dict or :class:`CheckPolicy` (see
        :mod:`mainsail.checks._policy` for every section).
    out_dir : also write ``report.json``, ``report.html`` and ``report.md`` there.
    progress : show a Rich progress bar.
    endpoint : compare the signature with what this endpoint serves today.
    created_by : who the result is recorded for (default: the OS user; the server passes
        the authenticated caller).

    Notes
    -----
    Against a server (``MAINSAIL_TRACKING_URI``), the check runs **on the server** when the
    data is a registered dataset and every check in the policy is built in: the client
    sends the policy as JSON (a policy file is read here; the server never reads files a
    caller names) and the server loads the model and the data itself. Otherwise (a
    DataFrame or a local file, or a custom check registered in this process) the checks
    run **here**, with the model and the data read through the server, and the result is
    recorded on the server, which re-derives the verdict from the outcomes, marks the
    result ``summary["computed_by"] == "client"`` and audits it as ``checks.record``. Such
    a result is listed like any other, but an alias set with ``require_checks=True`` ignores
    it: only a result Mainsail computed (on the server, or in-process when embedded) moves
    a gated alias.
    ``progress`` only shows for a local run. A server-side run compares only with versions
    of the same model (``baseline``).

    Examples
    --------
    >>> import mainsail
    >>> res = mainsail.check("models:/churn/4", "datasets:/churn-holdout/2",
    ...                      baseline="@champion",
    ...                      policy={"label": "churned", "metrics": {"roc_auc": {"min": 0.8}}})  # doctest: +SKIP
    >>> res.verdict  # doctest: +SKIP
    'blessed'
    """
    from mainsail.registry._registry import _actor, load_model, resolve_version
    from mainsail.store._rest_client import seg

    started = time.perf_counter()
    pol = load_policy(policy)
    version = resolve_version(ctx, model_address(model))
    api = ctx.remote
    ref = dataset_ref(data)
    if api is not None and ref is not None and not pol.custom:
        body = {
            "data": ref,
            "baseline": baseline,
            "policy": pol.to_dict(),
            "label": label,
            "endpoint": endpoint,
        }
        path = f"/models/{seg(version.name)}/versions/{version.version}/checks"
        result = CheckResult.model_validate(api.json("POST", path, json=body))
        if out_dir is not None:
            write_reports(result, out_dir)
        return result
    frame, data_ref = _load_data(ctx, data)
    label = label or pol.label
    if label is not None and label not in frame.columns:
        raise InvalidValueError(
            f"The data has no label column {label!r}. Columns are: "
            f"{', '.join(map(str, frame.columns))}. Pass --label with the right name."
        )
    needing = [k for k in NEEDS_LABEL if k in pol.configured()]
    if label is None and needing:
        raise InvalidValueError(
            f"The checks {', '.join(needing)} need the label: name the label column with "
            "--label COL (or `label:` in the policy)."
        )
    if len(frame) == 0:
        raise InvalidValueError("The check data has no rows.")
    base_version = _resolve_baseline(ctx, baseline, version)
    candidate = load_model(ctx, version)
    inputs = candidate.signature.input_names
    missing = [c for c in inputs if c not in frame.columns]
    if missing:
        raise InvalidValueError(
            f"The data lacks model input(s) {', '.join(map(repr, missing))}. {version.address} "
            f"takes: {', '.join(inputs)}. Data columns: {', '.join(map(str, frame.columns))}."
        )
    candidate.prepare(frame[inputs])  # a clear signature error now rather than in every check
    base_inputs_ok = True
    if base_version is not None:
        from mainsail.registry._signature import ModelSignature

        base_missing = [
            c
            for c in ModelSignature.from_dict(base_version.signature).input_names
            if c not in frame.columns
        ]
        base_inputs_ok = not base_missing
        if base_missing and pol.baseline is not None:
            raise InvalidValueError(
                f"The data lacks input(s) {', '.join(map(repr, base_missing))} of the baseline "
                f"{base_version.address}, so the two cannot be compared on the same rows. "
                "Add those columns to the check data, or drop the baseline section."
            )
    context = CheckContext(
        ctx=ctx,
        version=version,
        model=candidate,
        X=frame[inputs].reset_index(drop=True),
        y=frame[label].reset_index(drop=True) if label is not None else None,
        policy=pol,
        frame=frame,
        label=label,
        baseline_version=base_version,
        baseline=load_model(ctx, base_version) if base_version is not None else None,
        data_ref=data_ref,
        seed=pol.seed,
    )
    if endpoint:
        context.cache["endpoint"] = endpoint
    has_label = label is not None and version.task in ("classification", "regression")
    plan = _plan(
        pol,
        has_label,
        base_version is not None or bool(endpoint),
        bool(version.reference_profile),
        compare=base_version is not None and base_inputs_ok,
    )
    configured = pol.configured()
    outcomes: list[CheckOutcome] = []
    timings: dict[str, float] = {}
    try:
        for _key, outs in _run_all(plan, context, endpoint, progress, timings):
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
        policy=pol.to_dict(),
        summary=summary,
        created_by=created_by or _actor(),
    )
    report = orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    html = result.html().encode()
    fields: dict[str, Any] = {
        "verdict": verdict,
        "baseline_version": result.baseline_version,
        "data_ref": data_ref,
        "policy": result.policy,
        "checks": [o.model_dump(mode="json") for o in outcomes],
        "summary": _json_safe(summary),
        "report_digest": ctx.artifacts.put_bytes(report),
        "html_digest": ctx.artifacts.put_bytes(html),
    }
    if api is not None:  # the server records it as its caller's, computed by the client
        path = f"/models/{seg(version.name)}/versions/{version.version}/checks/record"
        row = api.json("POST", path, json=fields)
    else:
        row = ctx.database().create_check_result(
            version.name, version.version, created_by=result.created_by, **fields
        )
    result = from_row(row)
    if out_dir is not None:
        write_reports(result, out_dir)
    return result


def _json_safe(data: Any) -> Any:
    return orjson.loads(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY, default=str))


def _run_all(
    plan: list[str],
    context: CheckContext,
    endpoint: str | None,
    progress: bool,
    timings: dict[str, float],
) -> Any:
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
            check = _instantiate(key, context.policy, endpoint)
            t = time.perf_counter()
            try:
                outs = list(check.run(context))
            except MainsailError:
                raise  # bad configuration: an error for the user, not a verdict
            except Exception as exc:  # noqa: BLE001 - a model that breaks a check fails it
                from mainsail.checks._behaviour import _crash

                outs = [
                    CheckOutcome(
                        name=key,
                        kind=key,
                        status="fail",
                        threshold=0,
                        detail=f"the check could not run: the model raised {_crash(exc)}",
                        data={"error": _crash(exc)},
                    )
                ]
            timings[key] = round(time.perf_counter() - t, 3)
            bar.advance(task)
            yield key, outs


def from_row(row: dict[str, Any]) -> CheckResult:
    return CheckResult(
        id=row["id"],
        model=row["model"],
        version=row["version"],
        verdict=row["verdict"],
        blessed=row["verdict"] == "blessed",
        baseline_version=row.get("baseline_version"),
        checks=[CheckOutcome.model_validate(c) for c in row.get("checks") or []],
        reason=(row.get("summary") or {}).get("reason", ""),
        data_ref=row.get("data_ref"),
        policy=row.get("policy") or {},
        summary=row.get("summary") or {},
        report_digest=row.get("report_digest"),
        html_digest=row.get("html_digest"),
        created_at=row.get("created_at") or 0,
        created_by=row.get("created_by"),
    )


def write_reports(result: CheckResult, out_dir: str | os.PathLike[str]) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(
        orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    (out / "report.html").write_text(result.html())
    (out / "report.md").write_text(result.markdown())
    return out


def get_check_results(ctx: Context, model_address_: str) -> list[CheckResult]:
    """Stored check results of a version (``churn/4``) or a whole model (``churn``), newest first.

    Examples
    --------
    >>> [r.verdict for r in mainsail.get_check_results("models:/churn/4")]  # doctest: +SKIP
    ['blessed', 'rejected']
    """
    from mainsail.core._uris import parse_address
    from mainsail.registry._registry import resolve_version
    from mainsail.store._rest_client import seg

    api = ctx.remote
    addr = parse_address(model_address(model_address_), kind="models")
    if addr.version is None and addr.alias is None:
        if api is not None:
            return [
                CheckResult.model_validate(r)
                for r in api.json("GET", f"/models/{seg(addr.name)}/checks")
            ]
        rows = ctx.database().list_check_results(addr.name)
    else:
        v = resolve_version(ctx, str(addr))
        if api is not None:
            path = f"/models/{seg(v.name)}/versions/{v.version}/checks"
            return [CheckResult.model_validate(r) for r in api.json("GET", path)]
        rows = ctx.database().list_check_results(v.name, v.version)
    return [from_row(r) for r in rows]


def latest_check(ctx: Context, model_address_: str) -> CheckResult | None:
    """The newest CheckResult of a version, or ``None`` when it was never checked."""
    found = get_check_results(ctx, model_address_)
    return found[0] if found else None

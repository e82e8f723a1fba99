"""``mainsail pipeline run|runs|show|why-rerun`` and ``mainsail worker``."""

from __future__ import annotations

import logging
import signal
from typing import Annotated, Any

import orjson
import typer

from mainsail.cli._output import console, fmt_ms, print_json, table

pipelines = typer.Typer(help="Pipelines: run, list, inspect, explain reruns.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
_STYLE = {
    "succeeded": "green",
    "cached": "cyan",
    "failed": "red",
    "skipped": "magenta",
    "running": "yellow",
}


def _st(s: str) -> str:
    return f"[{_STYLE.get(s, 'white')}]{s}[/]"


def parse_params(
    items: list[str] | None, text_params: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """``k=v`` pairs; each value is read as JSON when it parses (numbers, true, lists), except
    for ``text_params`` (annotated ``str``), which keep the text as given."""
    from mainsail.core._errors import InvalidValueError

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidValueError(
                f"Expected --param as key=value (for example --param n_estimators=100). "
                f"Got {item!r}."
            )
        if key in text_params:
            out[key] = raw
            continue
        try:
            out[key] = orjson.loads(raw)
        except orjson.JSONDecodeError:
            out[key] = raw
    return out


def _text_params(pipeline: str) -> frozenset[str]:
    """The pipeline's parameters annotated ``str`` (``--param dataset=2024`` stays text)."""
    import typing

    from mainsail.pipelines._runner import resolve_pipeline

    fn = resolve_pipeline(pipeline).fn
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: read every value as JSON
        return frozenset()
    return frozenset(k for k, v in hints.items() if v is str)


def _pr_dict(pr: Any) -> dict[str, Any]:
    return {
        "id": pr.id,
        "pipeline": pr.pipeline,
        "status": pr.status,
        "run_id": pr.run_id,
        "params": pr.params,
        "executor": pr.executor,
        "trigger": pr.trigger,
        "error": pr.error,
        "created_at": pr.created_at,
        "finished_at": pr.finished_at,
        "outputs": pr.output_meta,
        "steps": [
            {
                "step": s.step,
                "status": s.status,
                "cache_key": s.cache_key,
                "reason": s.reason,
                "outputs": s.outputs,
                "inputs": s.inputs,
                "cached_from": s.cached_from,
                "duration_s": s.duration_s,
                "error": s.error,
            }
            for s in pr.steps
        ],
    }


def _show(pr: Any) -> None:
    dur = f"{pr.duration_s:.2f} s" if pr.duration_s is not None else "-"
    console.print(
        f"Pipeline run [bold]{pr.id}[/] of [bold]{pr.pipeline}[/]: {_st(pr.status)} "
        f"in {dur} (executor {pr.executor}, tracking run {pr.run_id})",
        highlight=False,
    )
    if pr.params:
        console.print(
            f"params: {orjson.dumps(pr.params).decode()}", highlight=False, soft_wrap=True
        )
    if pr.trigger:
        console.print(f"trigger: {orjson.dumps(pr.trigger, default=str).decode()}", highlight=False)
    table(
        None,
        ["step", "status", "s", "cache key", "outputs"],
        [
            (
                s.step,
                _st(s.status),
                s.duration_s,
                s.cache_key[:10],
                ", ".join(f"{k}={d[:10]}" for k, d in s.outputs.items()),
            )
            for s in pr.steps
        ],
    )
    for s in pr.steps:
        why = (
            f"cached from {(s.cached_from or '')[:12]}"
            if s.status == "cached"
            else "; ".join(s.reason)
        )
        console.print(f"  {s.step}: {why}", highlight=False, soft_wrap=True)
    if pr.error:
        console.print(f"[red]error:[/] {pr.error}", highlight=False)


@pipelines.command("run")
def run(
    pipeline: Annotated[str, typer.Argument(help="module:attr or path/to/file.py:attr")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="key=value (repeatable).")
    ] = None,
    executor: Annotated[str, typer.Option("--executor", help="inprocess or ray.")] = "inprocess",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rerun every step.")] = False,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Experiment of the tracking run.")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Connect to this Ray cluster.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a pipeline and show its steps (cached or why each ran)."""
    from mainsail.client._pipelines import run_pipeline

    options = {"address": ray_address} if ray_address else None
    pr = run_pipeline(
        pipeline,
        params=parse_params(param, _text_params(pipeline)),
        executor=executor,
        cache=not no_cache,
        experiment=experiment,
        progress=not as_json,
        executor_options=options,
    )
    if as_json:
        print_json(_pr_dict(pr))
    else:
        _show(pr)
        if pr.status == "succeeded":
            _show_result(pr)
    if pr.status != "succeeded":
        raise typer.Exit(1)


def _show_result(pr: Any) -> None:
    """What the pipeline function returned: small values as JSON, the rest by type and size."""
    try:
        outputs = pr.outputs
    except Exception as exc:  # noqa: BLE001 - the run is shown; say why the result is not
        console.print(f"result: not readable here ({exc})", highlight=False)
        return
    for key, value in outputs.items():
        console.print(f"result {key}: {_describe(value)}", highlight=False, soft_wrap=True)


def _describe(value: Any, most: int = 400) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} {' x '.join(map(str, shape))}"
    try:
        text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return type(value).__name__
    return text if len(text) <= most else text[:most] + "…"


@pipelines.command("runs")
def runs(
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    limit: Annotated[int, typer.Option("--max", "-n", help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List pipeline runs, newest first."""
    from mainsail.client._pipelines import list_pipeline_runs

    found = list_pipeline_runs(pipeline, limit)
    if as_json:
        print_json([_pr_dict(p) for p in found])
        return
    table(
        "Pipeline runs",
        ["id", "pipeline", "status", "started", "s", "ran", "cached", "executor"],
        [
            (
                p.id[:12],
                p.pipeline,
                _st(p.status),
                fmt_ms(p.created_at),
                p.duration_s,
                sum(s.status == "succeeded" for s in p.steps),
                sum(s.status == "cached" for s in p.steps),
                p.executor,
            )
            for p in found
        ],
    )


@pipelines.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id (or a unique prefix).")],
    html: Annotated[
        str | None, typer.Option("--html", help="Also write an HTML report to this file.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a pipeline run: steps, cache keys, outputs and why each step ran."""
    from mainsail.client._pipelines import get_pipeline_run

    pr = get_pipeline_run(run_id)
    if html:
        from mainsail.pipelines._report import write_html

        console.print(f"Report: {write_html(pr, html)}", highlight=False, soft_wrap=True)
    if as_json:
        print_json(_pr_dict(pr))
    else:
        _show(pr)


@pipelines.command("why-rerun")
def why_rerun(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id (or a unique prefix).")],
    step: Annotated[str | None, typer.Argument(help="Only this step.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain why steps ran again: code, parameter or input changes, or no cache."""
    from mainsail.client._pipelines import why_rerun as _why

    found = _why(run_id, step)
    if as_json:
        print_json(
            [
                {"step": e.step, "status": e.status, "compared_to": e.compared_to, "why": e.lines()}
                for e in found
            ]
        )
        return
    for e in found:
        console.print(f"[bold]{e.step}[/] {_st(e.status)}", highlight=False)
        for line in e.lines():
            console.print(f"  - {line}", highlight=False, soft_wrap=True)


def worker(
    queue: Annotated[
        list[str] | None, typer.Option("--queue", "-q", help="Queue to serve (repeatable).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Process the jobs that are due, then exit.")
    ] = False,
    max_jobs: Annotated[
        int | None, typer.Option("--max-jobs", help="Exit after this many jobs.")
    ] = None,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between polls when idle.")] = 0.5,
    lease: Annotated[
        float, typer.Option("--lease", help="Seconds without a heartbeat before a job is retried.")
    ] = 30.0,
    handler: Annotated[
        list[str] | None,
        typer.Option("--handler", help="kind=module:function (repeatable)."),
    ] = None,
    retry_delay: Annotated[
        float, typer.Option("--retry-delay", help="Seconds before a failed job is retried.")
    ] = 5.0,
    claim_kind: Annotated[
        list[str] | None,
        typer.Option(
            "--kind", "-k", help="Job kind to claim (repeatable; default: every kind it can run)."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", help="Against a server: seconds one claim waits for a job (<= 30)."),
    ] = 20.0,
) -> None:
    """Claim jobs from the queue and run them (one worker per SQLite store).

    With MAINSAIL_TRACKING_URI set, the worker serves the queue through that server.
    """
    from mainsail.client import get_context
    from mainsail.core._errors import InvalidValueError
    from mainsail.jobs import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    handlers: dict[str, Any] = {}
    for item in handler or []:
        kind, sep, target = item.partition("=")
        if not sep or ":" not in target:
            raise InvalidValueError(f"Expected --handler as kind=module:function. Got {item!r}.")
        handlers[kind] = target
    w = Worker(
        get_context(),
        queue or ["default"],
        poll_s=poll,
        lease_s=lease,
        handlers=handlers,
        retry_delay_s=retry_delay,
        kinds=claim_kind,
        wait_s=wait,
    )
    kinds = w.claim_kinds()  # a misconfiguration is said before announcing anything
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    where = f" through {w.via}" if w.via else ""
    what = f" (kinds {', '.join(kinds)})" if kinds is not None else ""
    console.print(
        f"Worker {w.worker_id} serving {', '.join(w.queues)}{where}{what}", highlight=False
    )
    try:
        n = w.run(max_jobs=max_jobs, until_idle=once)
    except KeyboardInterrupt:
        n = w.processed
    console.print(f"Worker {w.worker_id} processed {n} job(s).", highlight=False)


jobs_app = typer.Typer(help="The job queue: list and inspect jobs.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option("--status", help="queued, running, done or failed.")
    ] = None,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Only this queue.")] = None,
    limit: Annotated[int, typer.Option("--max", "-n", help="At most this many.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """List jobs, newest first."""
    from dataclasses import asdict

    from mainsail.client._jobs import list_jobs

    found = list_jobs(status=status, queue=queue, limit=limit)
    if as_json:
        print_json([asdict(j) for j in found])
        return
    table(
        "Jobs",
        ["id", "kind", "queue", "status", "attempts", "created", "worker", "error"],
        [
            (
                j.id,
                j.kind,
                j.queue,
                j.status,
                f"{j.attempts}/{j.max_attempts}",
                fmt_ms(j.created_at),
                j.claimed_by,
                (j.error or "").strip().splitlines()[-1][:80] if j.error else None,
            )
            for j in found
        ],
    )


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Show one job with its payload, result and last error (JSON)."""
    from dataclasses import asdict

    from mainsail.client._jobs import get_job

    print_json(asdict(get_job(job_id)))

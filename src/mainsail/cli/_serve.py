"""``mainsail serve``: the inference server."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mainsail.controllers import ControllerManager


def serve(
    model: Annotated[
        str | None, typer.Argument(help="Model address, e.g. models:/churn@champion.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Endpoint name clients call (V2 model name). Without a model address: serve "
            "the endpoint's current revision from the store, following its rollouts.",
        ),
    ] = None,
    model_dir: Annotated[
        str | None, typer.Option("--model-dir", help="Serve a model package folder (no store).")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    max_batch_size: Annotated[int, typer.Option(help="Most rows per predict call.")] = 1024,
    max_wait_ms: Annotated[float, typer.Option(help="Longest a batch waits to fill.")] = 2.0,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions.")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    poll: Annotated[
        float | None, typer.Option("--poll", help="Endpoint mode: seconds between revision reads.")
    ] = None,
    controllers: Annotated[
        bool | None,
        typer.Option(
            "--controllers/--no-controllers",
            help="Endpoint mode: lead the controllers (rollouts, monitors, automations) from "
            "this process whenever no other process leads them (single-node mode). Default: "
            "on over a SQLite store (one machine), off over PostgreSQL (a team deployment "
            "runs `mainsail server` or `mainsail controllers run`); when off and nothing "
            "leads them, a warning says so.",
        ),
    ] = None,
) -> None:
    """Serve a model over the Open Inference Protocol (V2) and MLflow's /invocations."""
    from mainsail.core._errors import InvalidValueError
    from mainsail.core._optional import import_optional

    for module in ("starlette", "uvicorn", "prometheus_client"):
        import_optional(module, extra="serve")

    if not model and not model_dir and not endpoint:
        raise InvalidValueError(
            "Expected a model address (mainsail serve models:/churn@champion), --model-dir, or "
            "--endpoint NAME (serve an endpoint's revisions). Got none of them."
        )
    if endpoint and not model and not model_dir:
        from mainsail.client import get_context

        if get_context().database().get_revision(endpoint) is None:
            get_context().database().get_endpoint_record(endpoint)  # unknown: lists the endpoints
    if model:
        from mainsail.client import get_model_version

        get_model_version(model)  # fail fast, in this process, with a clear message
    env = {
        "MAINSAIL_SERVE_MODEL": model or "",
        "MAINSAIL_SERVE_MODEL_DIR": model_dir or "",
        "MAINSAIL_SERVE_ENDPOINT": endpoint or "",
        "MAINSAIL_SERVE_MAX_BATCH_SIZE": str(max_batch_size),
        "MAINSAIL_SERVE_MAX_WAIT_MS": str(max_wait_ms),
        "MAINSAIL_SERVE_LOG_PREDICTIONS": "false" if no_log else "true",
        # the log and sketches are written by a child process, off the serving GIL
        "MAINSAIL_SERVE_LOG_PROCESS": "true",
    }
    if poll is not None:
        env["MAINSAIL_SERVE_ENDPOINT_POLL_S"] = str(poll)
    for k, v in env.items():
        if v:
            os.environ[k] = v
        else:
            os.environ.pop(k, None)
    from mainsail.serving._server import run

    manager = None
    if endpoint and not model and not model_dir:
        manager = _controllers(endpoint, enabled=controllers)
    elif controllers:
        raise InvalidValueError(
            "--controllers needs --endpoint NAME without a model address: only an endpoint has "
            "rollouts to drive. Got a model address or --model-dir."
        )
    typer.echo(
        f"Serving {model or model_dir or 'endpoint ' + str(endpoint)} on http://{host}:{port} ({workers} worker(s))"
    )
    try:
        run(host=host, port=port, workers=workers, log_level=log_level)
    finally:
        if manager is not None:
            manager.stop()


def _controllers(endpoint: str, enabled: bool | None) -> ControllerManager | None:
    """Single-node mode: lead the controllers here unless another process does.

    Without a controllers process a canary would sit at its first step forever: the serving
    process takes the leader lock whenever it is free (a `mainsail controllers run` or
    `mainsail server` that holds it keeps leading; this one stands by and takes over if it
    stops). ``None`` means: on over SQLite (one machine), off over PostgreSQL, where serving
    replicas must not take the lead from the servers. When off, it says loudly if nothing
    leads them.
    """
    from mainsail.client import get_context
    from mainsail.controllers import ControllerManager

    ctx = get_context()
    store = ctx.database("Serving an endpoint")
    if enabled is None:
        enabled = ctx.settings.resolved_database_url().startswith("sqlite")
    if enabled:
        manager = ControllerManager(ctx).start()
        typer.echo(
            "Controllers (rollouts, monitors, automations) run in this process whenever no "
            "other process leads them (single-node mode; --no-controllers turns this off)."
        )
        return manager
    lock = store.leader_lock("controllers")
    if lock.try_acquire():  # nobody leads: say so before a rollout silently stalls
        lock.release()
        revision = store.get_revision(endpoint) or {}
        variants = ", ".join(str(v.get("name")) for v in revision.get("variants") or [])
        typer.secho(
            f"WARNING: no process runs the controllers. Rollouts of endpoint {endpoint!r} "
            f"(variants: {variants or 'none'}) will not advance, be analysed or roll back "
            "until one does: run "
            "`mainsail controllers run` (or `mainsail server`), or serve without "
            "--no-controllers.",
            fg="yellow",
            err=True,
        )
    return None

"""``mainsail serve``: the inference server."""

from __future__ import annotations

import os
from typing import Annotated

import typer


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
    }
    if poll is not None:
        env["MAINSAIL_SERVE_ENDPOINT_POLL_S"] = str(poll)
    for k, v in env.items():
        if v:
            os.environ[k] = v
        else:
            os.environ.pop(k, None)
    from mainsail.serving._server import run

    typer.echo(
        f"Serving {model or model_dir or 'endpoint ' + str(endpoint)} on http://{host}:{port} ({workers} worker(s))"
    )
    run(host=host, port=port, workers=workers, log_level=log_level)

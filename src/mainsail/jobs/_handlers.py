"""Job handlers by kind: ``(ctx, payload, job) -> JSON result``, registered by name.

A handler written for the SDK, ``(payload, job)``, still works: it runs in a worker process
whose SDK context is the worker's, so it may call ``mainsail.*`` itself.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import UnknownJobKindError

if TYPE_CHECKING:
    from mainsail.jobs._queue import Job
    from mainsail.store._context import Context

Handler = Callable[["Context", dict[str, Any], "Job"], Any]
LegacyHandler = Callable[[dict[str, Any], "Job"], Any]

HANDLERS: dict[str, str | Handler | LegacyHandler] = {
    "pipeline": "mainsail.jobs._handlers:run_pipeline_job",
    "automation.retrain": "mainsail.automation._retrain:handle",
}

# Kinds whose handler reads and writes the metadata database itself (automation state and
# events), so only a worker next to the database runs them; a worker that talks to the
# server leaves them out, and the server never hands them to one.
NEEDS_DATABASE = frozenset({"automation.retrain"})


def register_handler(kind: str, handler: str | Handler | LegacyHandler) -> None:
    """Run jobs of ``kind`` with ``handler`` (a callable or ``"module:function"``).

    A worker process only knows the handlers registered in it: register by
    ``"module:function"`` at import of your project, or pass ``--handler kind=module:fn``
    to ``mainsail worker``.

    Examples
    --------
    >>> import mainsail.jobs
    >>> mainsail.jobs.register_handler("score", "my_project.batch:score")  # doctest: +SKIP
    """
    if isinstance(handler, str) and ":" not in handler:
        raise UnknownJobKindError(
            f"A handler is a callable or 'module:function'. Got {handler!r} for kind {kind!r}."
        )
    if not isinstance(handler, str) and not callable(handler):
        raise UnknownJobKindError(
            f"A handler is a callable or 'module:function'. Got {type(handler).__name__}."
        )
    HANDLERS[kind] = handler


def resolve_handler(
    kind: str, extra: dict[str, str | Handler | LegacyHandler] | None = None
) -> Handler:
    known = {**HANDLERS, **(extra or {})}
    target = known.get(kind)
    if target is None:
        raise UnknownJobKindError(
            f"No handler for job kind {kind!r}. Known kinds: {', '.join(sorted(known))}. "
            "Register one with mainsail.jobs.register_handler(kind, 'module:function') or "
            "'mainsail worker --handler kind=module:function'."
        )
    if isinstance(target, str):
        module, attr = target.split(":", 1)
        try:
            fn = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownJobKindError(
                f"The handler for job kind {kind!r} is {target!r}, which cannot be imported: {exc}."
            ) from None
        return _with_context(fn)
    return _with_context(target)


def _with_context(fn: Any) -> Handler:
    """``fn`` as a ``(ctx, payload, job)`` handler; an SDK-style ``(payload, job)`` one is wrapped."""
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):  # a builtin without a signature: take it as it is
        return fn  # type: ignore[no-any-return]
    if len(params) == 2:
        return lambda ctx, payload, job: fn(payload, job)
    return fn  # type: ignore[no-any-return]


def run_pipeline_job(ctx: Context, payload: dict[str, Any], job: Job) -> dict[str, Any]:
    """Built-in kind ``pipeline``: ``run_pipeline(payload["pipeline"], params=...)``.

    Payload keys: ``pipeline`` (``"module:attr"``), optional ``params``, ``executor``,
    ``cache``, ``trigger``, ``experiment``, ``executor_options``. The result holds the
    pipeline run id, its tracking run id and status; a failed pipeline fails the job.
    """
    from mainsail.core._errors import InvalidValueError
    from mainsail.pipelines import run_pipeline

    ref = payload.get("pipeline")
    if not isinstance(ref, str):
        raise InvalidValueError(
            f"A 'pipeline' job needs payload['pipeline'] = 'module:attr'. Got {ref!r}."
        )
    trigger = dict(payload.get("trigger") or {})
    trigger.setdefault("job_id", job.id)
    trigger.setdefault("attempt", job.attempts)
    pr = run_pipeline(
        ctx,
        ref,
        params=payload.get("params"),
        executor=payload.get("executor", "inprocess"),
        cache=bool(payload.get("cache", True)),
        trigger=trigger,
        experiment=payload.get("experiment"),
        progress=False,
        executor_options=payload.get("executor_options"),
    )
    pr.raise_for_status()
    return {"pipeline_run_id": pr.id, "run_id": pr.run_id, "status": pr.status}

"""Job handlers by kind: ``(ctx, payload, job) -> JSON result``, registered by name.

:data:`HANDLERS` is the plug-in registry (lazy ``"module:function"`` targets; packages may
declare entry points in the group ``mainsail.job_handlers``); built-in kinds register
through it like anyone else's. A handler written for the SDK, ``(payload, job)``, still
works: it runs in a worker process whose SDK context is the worker's, so it may call
``mainsail.*`` itself.

A kind whose handler reads and writes the metadata database itself (the automation's
retraining) is registered with ``needs_database=True``: only a worker next to the database
runs it; a worker that talks to a server leaves it out, and the server never hands it out.

A kind carries the role a caller of the server's ``POST /jobs`` needs to enqueue it
(``role``, developer by default: a job runs code on the workers). ``role=None`` marks a kind
that only its controller enqueues, in-process, after its own guards: the automation's
retraining registers, checks and deploys a model, so a caller enqueuing it directly would
skip the deployer role, approval, cooldown and the in-flight guard.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import MainsailError, UnknownJobKindError
from mainsail.core._plugins import Registry, load_target
from mainsail.core._roles import check_role

if TYPE_CHECKING:
    from mainsail.jobs._queue import Job
    from mainsail.store._context import Context

Handler = Callable[["Context", dict[str, Any], "Job"], Any]
LegacyHandler = Callable[[dict[str, Any], "Job"], Any]

_SHAPE = (
    "A job handler is a function (ctx, payload, job) -> JSON result, or an SDK-style "
    "(payload, job); register it as a callable or 'module:function'."
)


def check_job_handler(obj: Any, kind: str | None = None) -> Any:
    """Validate a job handler against the protocol; returns it.

    A handler takes ``(ctx, payload, job)`` (or, SDK-style, ``(payload, job)``) and returns
    JSON data. Raises :class:`~mainsail.core.UnknownJobKindError` saying what is wrong.

    Examples
    --------
    >>> from mainsail.jobs import check_job_handler
    >>> check_job_handler(lambda ctx, payload, job: None) is not None
    True
    >>> check_job_handler(lambda payload: None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mainsail.core._errors.UnknownJobKindError: ...takes 1 positional argument(s)...
    """
    what = f"The handler of job kind {kind!r}" if kind else "A job handler"
    if not callable(obj):
        raise UnknownJobKindError(f"{what} is {type(obj).__name__}, not callable. {_SHAPE}")
    n = _positional(obj)
    if n is not None and n not in (2, 3):
        raise UnknownJobKindError(f"{what} takes {n} positional argument(s). {_SHAPE}")
    return obj


def _positional(fn: Any) -> int | None:
    """How many positional arguments ``fn`` takes (None: it takes any number, or has no
    signature to read)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: take it as it is
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _validate(kind: str, obj: Any) -> None:
    check_job_handler(obj, kind)


HANDLERS: Registry[Any] = Registry("job kind", group="mainsail.job_handlers", validate=_validate)
"""Job handlers by kind (lazy ``"module:function"`` targets)."""

_NEEDS_DATABASE: set[str] = set()
_ROLES: dict[str, str | None] = {}
DEFAULT_ROLE = "developer"
_LOCK = threading.Lock()


def register_handler(
    kind: str,
    handler: str | Handler | LegacyHandler,
    *,
    needs_database: bool = False,
    role: str | None = DEFAULT_ROLE,
) -> None:
    """Run jobs of ``kind`` with ``handler`` (a callable or ``"module:function"``).

    A worker process only knows the handlers registered in it: register by
    ``"module:function"`` at import of your project, declare an entry point in the group
    ``mainsail.job_handlers``, or pass ``--handler kind=module:function`` to
    ``mainsail worker``. ``needs_database=True`` marks a handler that writes to the metadata
    database itself: only a worker next to the database runs it. ``role`` is the role a
    caller of the server's ``POST /jobs`` needs on every project to enqueue the kind
    (``None``: only its controller enqueues it, in-process; the API refuses it).

    Examples
    --------
    >>> import mainsail.jobs
    >>> mainsail.jobs.register_handler("score", "my_project.batch:score")  # doctest: +SKIP
    """
    if isinstance(handler, str):
        if ":" not in handler:
            raise UnknownJobKindError(
                f"A handler is a callable or 'module:function'. Got {handler!r} for kind {kind!r}."
            )
    else:
        check_job_handler(handler, kind)
    if role is not None:
        check_role(role)
    with _LOCK:
        HANDLERS.register(kind, handler)
        _ROLES[kind] = role
        if needs_database:
            _NEEDS_DATABASE.add(kind)
        else:
            _NEEDS_DATABASE.discard(kind)


def unregister_handler(kind: str) -> None:
    """Forget the handler of ``kind`` (unknown kinds are ignored)."""
    with _LOCK:
        HANDLERS.unregister(kind)
        _NEEDS_DATABASE.discard(kind)
        _ROLES.pop(kind, None)


def needs_database(kind: str) -> bool:
    """Whether jobs of ``kind`` must run next to the metadata database."""
    return kind in _NEEDS_DATABASE


def enqueue_role(kind: str) -> str | None:
    """The role a caller needs on every project to enqueue ``kind`` through the server
    (``None``: only its controller enqueues it). A kind the server has no handler for (a
    worker's own ``--handler``) needs the default, developer."""
    return _ROLES.get(kind, DEFAULT_ROLE)


register_handler("pipeline", "mainsail.jobs._handlers:run_pipeline_job")
# the closed loop's retraining: registered here (a lazy target, nothing is imported) so a
# worker that never imported the automation package still runs it. Only the automation
# controller enqueues it (role=None): it registers, checks and deploys.
register_handler(
    "automation.retrain",
    "mainsail.automation._retrain:handle",
    needs_database=True,
    role=None,
)


def known_kinds(extra: dict[str, Any] | None = None) -> list[str]:
    """Every kind with a handler: the registry's and a worker's own ``extra`` ones."""
    return sorted({*HANDLERS.names(), *(extra or {})})


def resolve_handler(kind: str, extra: dict[str, Any] | None = None) -> Handler:
    """The handler of ``kind`` as ``(ctx, payload, job)``: a worker's own ``extra`` handlers
    first, then the registry."""
    target = (extra or {}).get(kind)
    try:
        if target is None:
            if kind not in HANDLERS:
                raise _unknown(kind, extra)
            return _with_context(HANDLERS.get(kind))
        fn = load_target(target) if isinstance(target, str) else target
        return _with_context(check_job_handler(fn, kind))
    except UnknownJobKindError:
        raise
    except MainsailError as exc:  # a target that cannot be imported, or breaks the shape
        raise UnknownJobKindError(
            f"The handler for job kind {kind!r} cannot be used: {exc.message}"
        ) from None


def _unknown(kind: str, extra: dict[str, Any] | None) -> UnknownJobKindError:
    return UnknownJobKindError(
        f"No handler for job kind {kind!r}. Known kinds: {', '.join(known_kinds(extra))}. "
        "Register one with mainsail.jobs.register_handler(kind, 'module:function') or "
        "'mainsail worker --handler kind=module:function'."
    )


def _with_context(fn: Any) -> Handler:
    """``fn`` as a ``(ctx, payload, job)`` handler; an SDK-style ``(payload, job)`` one is wrapped."""
    if _positional(fn) == 2:
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


__all__ = [
    "HANDLERS",
    "Handler",
    "LegacyHandler",
    "check_job_handler",
    "enqueue_role",
    "known_kinds",
    "needs_database",
    "register_handler",
    "resolve_handler",
    "run_pipeline_job",
    "unregister_handler",
]

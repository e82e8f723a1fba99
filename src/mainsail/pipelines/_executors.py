"""Executors run step tasks; the driver (the runner) does all the bookkeeping.

An executor only turns a :class:`StepTask` (a step function, its resolved parameters and
input artifacts) into a :class:`TaskResult` (output artifacts or an error). It never
touches the metadata database, so a task can run anywhere that reaches the artifact
store.

Executors are plug-ins: :data:`EXECUTORS` maps a name to a factory ``(ctx, **options) ->
Executor`` (a class, typically), given as the object or a lazy ``"module:attr"``; packages
may declare entry points in the group ``mainsail.executors``. The built-in ``inprocess``
and ``ray`` register through it like anyone else's.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mainsail.core._errors import MainsailError, UnknownExecutorError
from mainsail.core._ids import now_ms
from mainsail.core._plugins import Registry

if TYPE_CHECKING:
    from mainsail.store._artifacts import ArtifactStore
    from mainsail.store._context import Context


@dataclass
class StepTask:
    """Everything needed to run one step, picklable (the artifact store is rebuilt)."""

    node: int
    step_name: str
    fn: Callable[..., Any]
    split: Callable[[Any], dict[str, Any]]
    params: dict[str, Any]  # argument -> JSON value
    inputs: dict[str, dict[str, Any]]  # argument -> artifact meta (digest, format)
    allow_pickle: bool
    artifact_root: str
    encryption_key: bytes | None = None
    require_encryption: bool = False  # refuse plaintext inputs (MAINSAIL_REQUIRE_ENCRYPTION)


@dataclass
class TaskResult:
    node: int
    ok: bool
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    written: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    started_at: int = 0
    finished_at: int = 0


def execute_task(task: StepTask, artifacts: ArtifactStore | None = None) -> TaskResult:
    """Load inputs, call the step, store every output; never raises for a step's error."""
    from mainsail.pipelines._serialize import load_value, store_value

    if artifacts is None:
        from mainsail.store._artifacts import ArtifactStore

        artifacts = ArtifactStore(
            task.artifact_root, task.encryption_key, require_encryption=task.require_encryption
        )
    started = now_ms()
    written: dict[str, dict[str, Any]] = {}
    try:
        kwargs = dict(task.params)
        for name, meta in task.inputs.items():
            kwargs[name] = load_value(artifacts, meta)
        value = task.fn(**kwargs)
        for out, v in task.split(value).items():
            written[out] = store_value(artifacts, v, task.allow_pickle)
    except Exception as exc:  # noqa: BLE001 - a step's failure is recorded, not raised
        msg = exc.message if isinstance(exc, MainsailError) else f"{type(exc).__name__}: {exc}"
        return TaskResult(
            node=task.node,
            ok=False,
            written=written,
            error=msg,
            traceback=traceback.format_exc(limit=20),
            started_at=started,
            finished_at=now_ms(),
        )
    return TaskResult(
        node=task.node, ok=True, outputs=written, started_at=started, finished_at=now_ms()
    )


@runtime_checkable
class Executor(Protocol):
    """Runs step tasks. ``submit`` starts one; ``wait`` returns at least one finished."""

    name: str

    def submit(self, task: StepTask) -> Any: ...

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Runs each step in the calling thread, one at a time: the fast default.

    Steps may log to the pipeline's tracking run (``mainsail.log_metric``), which is the
    active run while they execute.
    """

    name = "inprocess"

    def __init__(self, ctx: Context, **options: Any) -> None:
        if options:
            raise UnknownExecutorError(
                f"The inprocess executor takes no options. Got: {', '.join(sorted(options))}."
            )
        self._ctx = ctx
        self._done: dict[int, TaskResult] = {}
        self._next = 0

    def submit(self, task: StepTask) -> int:
        handle = self._next
        self._next += 1
        self._done[handle] = execute_task(task, self._ctx.artifacts)
        return handle

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        return [(h, self._done.pop(h)) for h in handles]

    def close(self) -> None:
        self._done.clear()


_SHAPE = (
    "An executor has a 'name' and submit(task) -> handle, wait(handles) -> [(handle, "
    "TaskResult)], close(); it is registered as a factory (ctx, **options) -> executor, "
    "typically its class. See mainsail.pipelines.Executor."
)


def check_executor(obj: Any, name: str | None = None) -> Any:
    """Validate an executor plug-in against the :class:`Executor` protocol; returns it.

    ``obj`` is an executor, or its factory: a class is checked for the protocol's methods,
    another factory for being callable (what it builds is checked when it is built).
    Raises :class:`~mainsail.core.UnknownExecutorError` saying what is missing.

    Examples
    --------
    >>> from mainsail.pipelines import InProcessExecutor, check_executor
    >>> check_executor(InProcessExecutor) is InProcessExecutor
    True
    """
    what = f"The executor {name!r}" if name else f"The executor {obj!r}"
    # a class or an executor is checked for the protocol; another callable is a factory
    if inspect.isclass(obj) or not callable(obj) or hasattr(obj, "submit"):
        missing = [m for m in ("submit", "wait", "close") if not callable(getattr(obj, m, None))]
        if missing:
            raise UnknownExecutorError(f"{what} has no {', '.join(missing)}. {_SHAPE}")
        if not isinstance(getattr(obj, "name", None), str):
            raise UnknownExecutorError(f"{what} has no 'name' string. {_SHAPE}")
    return obj


def _validate(name: str, obj: Any) -> None:
    check_executor(obj, name)


EXECUTORS: Registry[Callable[..., Executor]] = Registry(
    "executor", group="mainsail.executors", validate=_validate
)
"""Executor factories by name (lazy ``"module:attr"`` targets)."""

EXECUTORS.register("inprocess", "mainsail.pipelines._executors:InProcessExecutor")
EXECUTORS.register("ray", "mainsail.pipelines._ray:RayExecutor")


def register_executor(name: str, target: str | Callable[..., Executor]) -> None:
    """Register an executor factory ``(ctx, **options) -> Executor`` under ``name``.

    Examples
    --------
    >>> from mainsail.pipelines import register_executor
    >>> register_executor("mine", "my_pkg.executors:MyExecutor")  # doctest: +SKIP
    """
    if isinstance(target, str):
        if ":" not in target:
            raise UnknownExecutorError(
                f"An executor is registered as 'module:attribute' or a callable. Got {target!r}."
            )
    else:
        check_executor(target, name)
    EXECUTORS.register(name, target)


def unregister_executor(name: str) -> None:
    """Forget the executor registered as ``name`` (unknown names are ignored)."""
    EXECUTORS.unregister(name)


def make_executor(name: str, ctx: Context, options: Mapping[str, Any] | None) -> Executor:
    """Build the executor ``name`` for one pipeline run, with its ``options``."""
    if name not in EXECUTORS:
        raise UnknownExecutorError(
            f"{EXECUTORS.unknown(name).message} Register others with "
            "mainsail.pipelines.register_executor(name, 'module:Class')."
        )
    try:
        factory = EXECUTORS.get(name)
    except UnknownExecutorError:
        raise
    except MainsailError as exc:  # its module cannot be imported
        raise UnknownExecutorError(f"The executor {name!r} cannot be used: {exc.message}") from None
    executor = factory(ctx, **dict(options or {}))
    check_executor(executor, name)
    return executor


def wait_one(executor: Executor, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
    """``executor.wait`` with a guard against an executor returning nothing."""
    for _ in range(3):
        done = executor.wait(handles)
        if done:
            return done
        time.sleep(0.01)
    raise MainsailError(
        f"Executor {executor.name!r} returned no finished task from {len(handles)} pending. "
        "This is a bug in the executor."
    )

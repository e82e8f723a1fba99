"""``@mainsail.step`` and ``@mainsail.pipeline``: typed functions composed into a DAG.

Calling a step *inside a pipeline function* does not run it: it records a node and returns
a :class:`Ref` (one per declared output) that later steps take as arguments. When the
pipeline function returns, the DAG is complete and an executor runs it, resolving each
``Ref`` to the stored artifact. Outside a pipeline, a step is a plain function call.
Because the function only wires steps together, it must not inspect step results (they
are references); branch on pipeline parameters instead.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

from mainsail.core._errors import PipelineDefinitionError

if TYPE_CHECKING:
    pass

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
_local = threading.local()


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise PipelineDefinitionError(
            f"{what} names must start with a letter or _ and use letters, digits, _ . - "
            f"(at most 128 characters). Got {name!r}."
        )
    return name


@dataclass(frozen=True)
class Ref:
    """A step output inside a pipeline being built: resolved to an artifact when run."""

    node: int
    step: str
    output: str

    def __repr__(self) -> str:
        return f"<Ref {self.step}.{self.output}>"

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            f"The pipeline function tested the output {self.step}.{self.output} as a "
            "condition. Inside a pipeline, step outputs are references to results that do "
            "not exist yet. Branch on pipeline parameters, or do the check inside a step."
        )


@dataclass
class Node:
    index: int
    name: str  # unique in the pipeline: the step name, or name-2 when called twice
    step: Step
    args: dict[str, Any]

    def refs(self) -> list[Ref]:
        return [v for v in self.args.values() if isinstance(v, Ref)]


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    result: Any = None

    def add(self, step: Step, args: dict[str, Any]) -> Node:
        n = sum(1 for node in self.nodes if node.step.name == step.name)
        name = step.name if n == 0 else f"{step.name}-{n + 1}"
        node = Node(len(self.nodes), name, step, args)
        self.nodes.append(node)
        return node


def _current_graph() -> Graph | None:
    return getattr(_local, "graph", None)


def _contains_ref(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Ref):
        return True
    if depth > 5:
        return False
    if isinstance(value, (list, tuple, set)):
        return any(_contains_ref(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_contains_ref(v, depth + 1) for v in value.values())
    return False


class Step:
    """A typed function whose outputs are stored as artifacts and cached.

    Examples
    --------
    >>> import mainsail
    >>> @mainsail.step
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> double(3)  # outside a pipeline: a plain call
    6
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        cache: bool = True,
        outputs: tuple[str, ...] | list[str] | None = None,
        allow_pickle: bool = False,
    ) -> None:
        if not callable(fn):
            raise PipelineDefinitionError(f"@step decorates a function. Got {fn!r}.")
        self.fn = fn
        self.name = _check_name(name or fn.__name__, "Step")
        self.cache = cache
        names = tuple(outputs) if outputs else ("output",)
        for out in names:
            _check_name(out, "Output")
        if len(set(names)) != len(names):
            raise PipelineDefinitionError(f"Step output names must be unique. Got {names}.")
        self.outputs = names
        self.allow_pickle = allow_pickle
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<Step {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = _current_graph()
        if graph is None:
            return self.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            params = ", ".join(self.signature.parameters) or "none"
            raise PipelineDefinitionError(
                f"Step {self.name!r} was called with arguments that do not match its "
                f"signature ({exc}). Its parameters are: {params}."
            ) from None
        bound.apply_defaults()
        for key, value in bound.arguments.items():
            if not isinstance(value, Ref) and _contains_ref(value):
                raise PipelineDefinitionError(
                    f"Step {self.name!r} argument {key!r} holds step outputs inside a "
                    "container. Pass each step output as its own argument."
                )
        kinds = {p.name: p.kind for p in self.signature.parameters.values()}
        if any(k in (inspect.Parameter.VAR_POSITIONAL,) for k in kinds.values()):
            raise PipelineDefinitionError(
                f"Step {self.name!r} takes *args; steps in a pipeline need named parameters."
            )
        node = graph.add(self, dict(bound.arguments))
        refs = tuple(Ref(node.index, node.name, out) for out in self.outputs)
        return refs[0] if len(refs) == 1 else refs

    def split(self, value: Any) -> dict[str, Any]:
        """Map the function's return value to its declared outputs."""
        if len(self.outputs) == 1:
            return {self.outputs[0]: value}
        if isinstance(value, Mapping) and set(value) == set(self.outputs):
            return {k: value[k] for k in self.outputs}
        if isinstance(value, (tuple, list)) and len(value) == len(self.outputs):
            return dict(zip(self.outputs, value, strict=True))
        raise PipelineDefinitionError(
            f"Step {self.name!r} declares outputs {', '.join(self.outputs)}, so it must "
            f"return a tuple of {len(self.outputs)} values or a dict with those keys. "
            f"It returned {type(value).__name__}."
        )


@overload
def step(fn: Callable[..., Any]) -> Step: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    outputs: tuple[str, ...] | list[str] | None = None,
    allow_pickle: bool = False,
) -> Callable[[Callable[..., Any]], Step]: ...
def step(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    cache: bool = True,
    outputs: tuple[str, ...] | list[str] | None = None,
    allow_pickle: bool = False,
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make a function a pipeline step.

    Parameters
    ----------
    name : step name (default: the function's name).
    cache : reuse outputs when code, parameters and input digests are unchanged.
    outputs : names of several outputs; the function then returns a tuple (or a dict).
    allow_pickle : store outputs no safe format fits with pickle (loading runs code).

    Examples
    --------
    >>> import mainsail
    >>> @mainsail.step(outputs=["train", "test"])
    ... def split(df):
    ...     return df.iloc[:80], df.iloc[80:]
    """
    if fn is not None:
        return Step(fn)

    def wrap(f: Callable[..., Any]) -> Step:
        return Step(f, name=name, cache=cache, outputs=outputs, allow_pickle=allow_pickle)

    return wrap


class Pipeline:
    """A function that wires steps into a DAG; run it with ``run_pipeline(ctx, pipeline)``
    (the SDK's ``@mainsail.pipeline`` adds ``.run()`` on the process context).

    Examples
    --------
    >>> import mainsail
    >>> @mainsail.step
    ... def load(n: int) -> list:
    ...     return list(range(n))
    >>> @mainsail.step
    ... def total(xs: list) -> int:
    ...     return sum(xs)
    >>> @mainsail.pipeline
    ... def demo(n: int = 10):
    ...     return {"total": total(load(n))}
    >>> demo.run(params={"n": 4}).outputs["total"]  # doctest: +SKIP
    6
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = _check_name(name or fn.__name__, "Pipeline")
        self.signature = inspect.signature(fn)
        self.reference: str | None = None  # "module:attr" when known
        self.__doc__ = fn.__doc__
        self.__module__ = fn.__module__
        self.__qualname__ = fn.__qualname__

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}>"

    def bind_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        valid = list(self.signature.parameters)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} has no parameter(s) {', '.join(unknown)}. "
                f"Valid parameters: {', '.join(valid) or 'none'}."
            )
        try:
            bound = self.signature.bind(**params)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} parameters do not fit its signature ({exc}). "
                f"Valid parameters: {', '.join(valid) or 'none'}."
            ) from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        self._check_types({k: arguments[k] for k in params})
        return arguments

    def _check_types(self, params: Mapping[str, Any]) -> None:
        """Each given parameter against the pipeline function's annotation, before anything
        runs (``--param rows=abc`` for ``rows: int`` used to fail deep inside a step).

        Only checks; values are not converted (that would change cache keys). An int passes
        for a float; an annotation pydantic cannot check (a class of its own) is skipped.
        """
        import typing

        from pydantic import TypeAdapter, ValidationError

        try:
            hints = typing.get_type_hints(self.fn)
        except Exception:  # noqa: BLE001 - unresolvable annotations: nothing to check against
            return
        from mainsail.pipelines._serialize import is_json_param

        problems = []
        for key, value in params.items():
            hint = hints.get(key)
            if hint is None or hint is typing.Any or not is_json_param(value):
                continue  # a value that is not JSON gets the runner's own message
            try:
                TypeAdapter(hint).validate_python(value, strict=True)
            except ValidationError:
                if isinstance(value, int) and not isinstance(value, bool):
                    try:  # a whole number where a float is expected is fine
                        TypeAdapter(hint).validate_python(float(value), strict=True)
                        continue
                    except ValidationError:
                        pass
                problems.append(
                    f"{key!r} must be {_type_name(hint)} (its annotation); got {value!r} "
                    f"({type(value).__name__})"
                )
            except Exception:  # noqa: BLE001 - pydantic cannot build a schema for it
                continue
        if problems:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r}: parameter " + "; ".join(problems) + ". Pass values of "
                "those types (on the command line, e.g. --param rows=5000)."
            )

    def build(self, params: Mapping[str, Any] | None = None) -> Graph:
        """Call the function with step calls recorded instead of run."""
        if _current_graph() is not None:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} was called while another pipeline was being built. "
                "Call its steps directly instead of nesting pipelines."
            )
        graph = Graph()
        _local.graph = graph
        try:
            graph.result = self.fn(**self.bind_params(params))
        finally:
            _local.graph = None
        if not graph.nodes:
            raise PipelineDefinitionError(
                f"Pipeline {self.name!r} called no steps. Decorate the functions it calls "
                "with @mainsail.step."
            )
        return graph


@overload
def pipeline(fn: Callable[..., Any]) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(
    fn: Callable[..., Any] | None = None, *, name: str | None = None
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function that calls steps a pipeline (see :class:`Pipeline`)."""
    if fn is not None:
        return Pipeline(fn)

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name)

    return wrap


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")

"""Bind a domain function to the SDK's process context: ``mainsail.deploy = sdk(rollout.deploy)``.

Domain functions take the :class:`~mainsail.store.Context` as their first parameter. The SDK
facade offers each one without it, resolving the process context at call time, so the
public signature and docstring stay the domain function's own, minus ``ctx``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from mainsail.client._context import get_context
from mainsail.store._context import Context

P = ParamSpec("P")
R = TypeVar("R")


def sdk(fn: Callable[Concatenate[Context, P], R]) -> Callable[P, R]:
    """``fn(ctx, *args, **kwargs)`` offered as ``fn(*args, **kwargs)`` on the SDK's context.

    Examples
    --------
    >>> from mainsail import rollout
    >>> deploy = sdk(rollout.deploy)  # doctest: +SKIP
    >>> deploy("churn", "models:/churn/1")  # doctest: +SKIP
    """

    @functools.wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(get_context(), *args, **kwargs)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if not params or params[0].name != "ctx":
        raise TypeError(f"{fn.__qualname__} must take the context as its first parameter, 'ctx'.")
    call.__signature__ = sig.replace(parameters=params[1:])  # type: ignore[attr-defined]
    del call.__wrapped__  # help() and inspect show the signature without ctx
    return call


__all__ = ["sdk"]

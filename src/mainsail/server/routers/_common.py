"""Shared pieces of the routers: the store, bounded integer types, metric rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from mainsail.store._context import Context

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=250)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def context(request: Request) -> Context:
    ctx: Context = request.app.state.mainsail.ctx
    return ctx


def store(request: Request) -> Any:
    return context(request).store

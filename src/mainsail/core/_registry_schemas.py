"""Registry records: model versions, aliases and their history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelVersion(BaseModel):
    """An immutable registered model: its files, signature, task, metrics and lineage."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    name: str
    version: int
    flavor: str
    manifest_digest: str
    files: dict[str, str]
    size_bytes: int
    signature: dict[str, Any]
    task: Literal["classification", "regression", "other"]
    classes: list[Any] | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    run_id: str | None = None
    datasets: list[str] = Field(default_factory=list)
    git_commit: str | None = None
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    card: dict[str, Any] = Field(default_factory=dict)
    reference_profile: dict[str, Any] | None = None
    allow_pickle: bool = False
    status: Literal["ready", "archived"] = "ready"
    created_at: int
    created_by: str | None = None
    aliases: list[str] = Field(default_factory=list)

    @property
    def address(self) -> str:
        return f"models:/{self.name}/{self.version}"

    def __repr__(self) -> str:
        """One line: address, flavor, task, inputs, aliases, metrics, status.

        The files, signature, profile and card stay a field away (``mv.signature``,
        ``mv.model_dump()``); printing them all buried the facts in base64 sketches.
        """
        inputs = [c.get("name") for c in (self.signature.get("inputs") or {}).get("columns", [])]
        parts = [self.address, f"{self.flavor} {self.task}"]
        if inputs:
            parts.append(f"inputs={_shorten(inputs)}")
        if self.aliases:
            parts.append(f"aliases={self.aliases}")
        if self.metrics:
            parts.append(
                "metrics={" + ", ".join(f"{k}: {v:.4g}" for k, v in self.metrics.items()) + "}"
            )
        if self.status != "ready":
            parts.append(f"status={self.status}")
        return f"ModelVersion({', '.join(parts)})"

    __str__ = __repr__


def _shorten(names: list[Any], most: int = 8) -> str:
    shown = ", ".join(map(str, names[:most]))
    return f"[{shown}, … {len(names) - most} more]" if len(names) > most else f"[{shown}]"


class Alias(BaseModel):
    model_config = ConfigDict(frozen=True)

    alias: str
    version: int
    require_checks: bool = False
    updated_at: int
    updated_by: str | None = None


class AliasChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    alias: str
    from_version: int | None
    to_version: int | None
    actor: str | None
    ts: int


class RegisteredModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str | None = None
    created_at: int
    latest_version: int | None = None
    versions: int = 0
    aliases: dict[str, int] = Field(default_factory=dict)

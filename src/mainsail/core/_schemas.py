"""The objects the store returns and the SDK and server exchange (pydantic)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunStatus = Literal["running", "finished", "failed", "killed"]
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed", "killed")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Experiment(_Record):
    id: int
    name: str
    created_at: int
    run_count: int = 0


class MetricPoint(_Record):
    key: str
    value: float
    step: int
    ts: int


class ArtifactRecord(_Record):
    path: str
    digest: str
    size: int
    kind: Literal["file", "dir"]
    created_at: int


class RunInput(_Record):
    dataset: str
    version: int
    digest: str
    context: str | None = None

    @property
    def address(self) -> str:
        return f"datasets:/{self.dataset}/{self.version}"


class Run(_Record):
    """A run as stored: identity, status, params, latest metrics, tags, artifacts, lineage."""

    id: str
    experiment: str
    name: str
    status: RunStatus
    start_time: int
    end_time: int | None = None
    host: str | None = None
    pid: int | None = None
    user: str | None = None
    source: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    seed: int | None = None
    env_digest: str | None = None
    heartbeat_at: int | None = None  # the last sign of life of the run's process (ms)
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    inputs: list[RunInput] = Field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_time is None else self.end_time - self.start_time


class Dataset(_Record):
    """A named dataset: how many versions it has and the newest one."""

    name: str
    versions: int
    latest: int | None = None
    created_at: int


class DatasetVersion(_Record):
    """An immutable, content-addressed table snapshot."""

    id: int
    name: str
    version: int
    digest: str
    blob_digest: str
    format: str
    row_count: int
    schema_: dict[str, Any] = Field(alias="schema")
    profile: dict[str, Any]
    source: str | None = None
    parents: list[str] = Field(default_factory=list)
    description: str | None = None
    created_at: int
    run_id: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def address(self) -> str:
        return f"datasets:/{self.name}/{self.version}"

    def __repr__(self) -> str:
        """One line: address, rows, columns, digest prefix.

        The schema and the profile (sketches, kilobytes of base64) stay a field away:
        ``dv.schema_``, ``dv.profile``, ``dv.model_dump()``.
        """
        columns = [str(c.get("name")) for c in self.schema_.get("columns", [])]
        shown = ", ".join(columns[:8]) + (
            f", … {len(columns) - 8} more" if len(columns) > 8 else ""
        )
        return (
            f"DatasetVersion({self.address}, {self.row_count} rows, {len(columns)} columns "
            f"[{shown}], digest={self.digest[:12]})"
        )

    __str__ = __repr__

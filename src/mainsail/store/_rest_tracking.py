"""Experiments, runs and datasets over a Mainsail server's API."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from mainsail.core._ids import hostname
from mainsail.core._schemas import Dataset, DatasetVersion, Experiment, MetricPoint, Run
from mainsail.store._rest_client import RestClient, seg
from mainsail.store.protocols.tracking import MetricRow


class RestTrackingMixin:
    """The tracking and dataset protocols over HTTP; mixed into :class:`RestStore`."""

    client: RestClient

    # -- experiments and runs --------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> int:
        return int(self.client.json("POST", "/experiments", json={"name": name})["id"])

    def list_experiments(self) -> list[Experiment]:
        return [Experiment(**e) for e in self.client.json("GET", "/experiments")]

    def create_run(
        self,
        run_id: str,
        experiment: str,
        name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        environment: tuple[str, dict[str, Any]] | None = None,
        **fields: Any,
    ) -> None:
        body: dict[str, Any] = {
            "run_id": run_id,
            "experiment": experiment,
            "name": name,
            "params": dict(params or {}),
            "tags": dict(tags or {}),
            "host": hostname(),
            "pid": os.getpid(),
            **{k: v for k, v in fields.items() if v is not None},
        }
        if environment is not None:
            body["environment"] = {"digest": environment[0], "data": environment[1]}
        self.client.json("POST", "/runs", json=body)

    def get_run(self, run_id: str) -> Run:
        return Run(**self.client.json("GET", f"/runs/{seg(run_id)}"))

    def run_status(self, run_id: str) -> str:
        return str(self.client.json("GET", f"/runs/{seg(run_id)}/status")["status"])

    def end_run(
        self,
        run_id: str,
        status: str,
        metrics: Sequence[MetricRow] = (),
        end_time: int | None = None,
    ) -> None:
        body: dict[str, Any] = {"status": status, "metrics": _rows(metrics)}
        if end_time is not None:
            body["end_time"] = end_time
        self.client.json("POST", f"/runs/{seg(run_id)}/end", json=body)

    def set_run_fields(self, run_id: str, **fields: Any) -> None:
        self.client.json("PATCH", f"/runs/{seg(run_id)}", json=fields)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        if params:
            self.client.json("POST", f"/runs/{seg(run_id)}/params", json={"params": dict(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.client.json("POST", f"/runs/{seg(run_id)}/tags", json={"tags": dict(tags)})

    def delete_tag(self, run_id: str, key: str) -> None:
        self.client.json("DELETE", f"/runs/{seg(run_id)}/tags/{seg(key)}")

    def log_metrics(self, run_id: str, points: Sequence[MetricRow]) -> None:
        """One request per batch (the tracking client buffers and flushes in batches)."""
        if points:
            self.client.json("POST", f"/runs/{seg(run_id)}/metrics", json={"points": _rows(points)})

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        data = self.client.json("GET", f"/runs/{seg(run_id)}/metric-history", params={"key": key})
        return [MetricPoint(**p) for p in data]

    def add_artifact(self, run_id: str, path: str, digest: str, size: int, kind: str) -> None:
        self.client.json(
            "POST",
            f"/runs/{seg(run_id)}/artifacts",
            json={"path": path, "digest": digest, "size": size, "kind": kind},
        )

    def add_run_input(self, run_id: str, dataset_version_id: int, context: str | None) -> None:
        self.client.json(
            "POST",
            f"/runs/{seg(run_id)}/inputs",
            json={"dataset_version_id": dataset_version_id, "context": context},
        )

    def get_environment(self, digest: str) -> dict[str, Any] | None:
        data = self.client.json("GET", f"/environments/{seg(digest)}")
        return dict(data) if data is not None else None

    def search_runs(
        self,
        experiments: Sequence[str] | None = None,
        filter_expr: Any = None,
        order_by: Sequence[Any] = (),
        max_results: int | None = 1000,
    ) -> list[Run]:
        params: list[tuple[str, str]] = [("experiment", e) for e in experiments or ()]
        if filter_expr is not None:
            params.append(("filter", filter_expr.to_text()))
        for key in order_by:
            text = f"{key.entity}.`{key.key}`" + (" DESC" if key.descending else " ASC")
            params.append(("order_by", text))
        if max_results is not None:
            params.append(("max_results", str(int(max_results))))
        return [Run(**r) for r in self.client.json("GET", "/runs", params=params)]

    def reap_dead_runs(self) -> int:
        return int(self.client.json("POST", "/runs/reap")["reaped"])

    def heartbeat_run(self, run_id: str) -> bool:
        return bool(self.client.json("POST", f"/runs/{seg(run_id)}/heartbeat")["running"])

    # -- datasets --------------------------------------------------------------------------
    def create_dataset_version(self, name: str, **fields: Any) -> tuple[DatasetVersion, bool]:
        data = self.client.json("POST", f"/datasets/{seg(name)}/versions", json=fields)
        return DatasetVersion(**data["version"]), bool(data["created"])

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        path = f"/datasets/{seg(name)}/" + ("latest" if version is None else f"versions/{version}")
        return DatasetVersion(**self.client.json("GET", path))

    def list_datasets(self) -> list[Dataset]:
        return [Dataset(**d) for d in self.client.json("GET", "/datasets")]

    def list_dataset_versions(self, name: str) -> list[DatasetVersion]:
        return [
            DatasetVersion(**v) for v in self.client.json("GET", f"/datasets/{seg(name)}/versions")
        ]

    def referenced_digests(self) -> tuple[set[str], set[str]]:
        data = self.client.json("GET", "/referenced-digests")
        return set(data["files"]), set(data["dirs"])


def _rows(points: Sequence[MetricRow]) -> list[list[Any]]:
    return [[k, float(v), int(s), int(ts)] for k, v, s, ts in points]

"""Release-check results recorded on model versions."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CheckStore(Protocol):
    def create_check_result(self, name: str, version: int, **fields: Any) -> dict[str, Any]: ...
    def list_check_results(
        self, name: str, version: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]: ...
    def get_check_result(self, result_id: int) -> dict[str, Any] | None: ...

"""Automations and their event trail (next to the database)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class AutomationStore(Protocol):
    def put_automation(self, name: str, endpoint: str, spec: dict[str, Any]) -> int: ...
    def get_automation_row(self, name: str) -> dict[str, Any]: ...
    def list_automation_rows(self, enabled_only: bool = False) -> list[dict[str, Any]]: ...
    def update_automation(self, automation_id: int, **values: Any) -> None: ...
    def add_automation_event(
        self,
        automation_id: int,
        trigger: str,
        status: str,
        detail: dict[str, Any] | None = None,
        ts: int | None = None,
        **links: Any,
    ) -> int: ...
    def automation_events(
        self, automation_id: int, limit: int = 200, after_id: int = 0, status: str | None = None
    ) -> list[dict[str, Any]]: ...

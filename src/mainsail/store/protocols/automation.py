"""Automations and their event trail.

- :class:`AutomationStore`: what clients do, so both the SQL and the REST store implement
  it: declare, read, switch on or off, read the trail, and ask for a run or an approval
  (a ``requested`` event the controller acts on).
- :class:`AutomationRecords`: what runs next to the database: the controller's state and
  the events the controller and the retraining job append.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

#: What a client may ask an automation for: a run now, or the approval of a waiting firing.
RequestKind = Literal["manual", "approval"]


@runtime_checkable
class AutomationStore(Protocol):
    def put_automation(self, name: str, endpoint: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an automation's spec (its state and switch are kept); its row."""
        ...

    def get_automation_row(self, name: str) -> dict[str, Any]:
        """The automation, or :class:`AutomationNotFoundError` listing the known ones."""
        ...

    def list_automation_rows(self, enabled_only: bool = False) -> list[dict[str, Any]]: ...

    def set_automation_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        """Switch an automation on or off; its row."""
        ...

    def automation_trail_rows(self, name: str, limit: int = 200) -> list[dict[str, Any]]:
        """The automation's last ``limit`` events, oldest first."""
        ...

    def request_automation(
        self,
        name: str,
        kind: RequestKind,
        reason: str | None = None,
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Append a ``requested`` event (a run now, or an approval); the event's row.

        A server records its authenticated caller as the actor, whatever ``actor`` says.
        """
        ...


@runtime_checkable
class AutomationRecords(Protocol):
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


__all__ = ["AutomationRecords", "AutomationStore", "RequestKind"]

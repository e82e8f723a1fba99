"""Leader election: one process of the fleet at a time runs the controllers."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LeaderLockHandle(Protocol):
    """A lock that makes at most one holder, fleet-wide, the leader for its name."""

    @property
    def held(self) -> bool: ...
    def try_acquire(self) -> bool:
        """Become the leader if nobody is, without blocking; ``True`` if this process leads."""
        ...

    def still_held(self) -> bool:
        """``False`` once leadership was lost (say, the database connection dropped)."""
        ...

    def release(self) -> None: ...


@runtime_checkable
class LeaderStore(Protocol):
    def leader_lock(self, name: str = "controllers") -> LeaderLockHandle:
        """A lock (not yet taken) electing one leader per ``name``."""
        ...


__all__ = ["LeaderLockHandle", "LeaderStore"]

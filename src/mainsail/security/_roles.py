"""The authenticated principal and what it may do (roles and scopes: :mod:`mainsail.core._roles`).

A binding's project is a name pattern (``fnmatch``) matched against the resource's
namespace: the experiment of a run, the name of a model or dataset. ``*`` is every project.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from mainsail.core._roles import (
    DEFAULT_SCOPES,
    ROLES,
    SCOPES,
    Role,
    check_role,
    check_scopes,
    rank,
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user or service account with its role bindings and token scopes.

    Examples
    --------
    >>> p = Principal("ana", {"churn-*": "developer"}, ("api",))
    >>> p.role_in("churn-daily"), p.role_in("fraud"), p.role_in(None)
    ('developer', None, None)
    """

    name: str
    bindings: dict[str, str] = field(default_factory=dict)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_id: int | None = None

    def role_in(self, project: str | None) -> str | None:
        """The highest role bound to ``project``.

        ``None`` is a project that could not be resolved (an unknown run, a body without
        the field): only a binding on every project (``*``) covers it, never "any project".
        The project ``*`` itself is matched by the ``*`` binding alone.
        """
        best: str | None = None
        for pattern, role in self.bindings.items():
            if pattern == "*":
                matches = True
            elif project is None or project == "*":
                matches = False
            else:
                matches = fnmatch.fnmatchcase(project, pattern)
            if matches and (best is None or rank(role) > rank(best)):
                best = role
        return best

    def role_anywhere(self) -> str | None:
        """The highest role bound to any project: for listings that filter per item."""
        roles = list(self.bindings.values())
        return max(roles, key=rank) if roles else None

    def may(self, role: str, project: str | None) -> bool:
        have = self.role_in(project)
        return have is not None and rank(have) >= rank(role)

    def may_anywhere(self, role: str) -> bool:
        have = self.role_anywhere()
        return have is not None and rank(have) >= rank(role)


ANONYMOUS_ADMIN = Principal("anonymous", {"*": "admin"}, SCOPES)


__all__ = [
    "ANONYMOUS_ADMIN",
    "DEFAULT_SCOPES",
    "ROLES",
    "SCOPES",
    "Principal",
    "Role",
    "check_role",
    "check_scopes",
    "rank",
]

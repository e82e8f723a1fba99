"""Users, service accounts, per-project roles, hashed bearer tokens and the audit log.

Examples
--------
>>> from mainsail.security import Principal
>>> Principal("ci", {"*": "deployer"}).may("developer", "churn")
True
"""

from mainsail.core._tokens import hash_token, new_token
from mainsail.security import _admin as admin
from mainsail.security._models import AuditEvent, CreatedUser, IssuedToken, TokenInfo, User
from mainsail.security._roles import (
    ANONYMOUS_ADMIN,
    DEFAULT_SCOPES,
    ROLES,
    SCOPES,
    Principal,
    Role,
    check_role,
    rank,
)
from mainsail.security._service import Authenticator, create_user_with_token, issue_token

__all__ = [
    "ANONYMOUS_ADMIN",
    "DEFAULT_SCOPES",
    "ROLES",
    "SCOPES",
    "AuditEvent",
    "Authenticator",
    "CreatedUser",
    "IssuedToken",
    "Principal",
    "Role",
    "TokenInfo",
    "User",
    "admin",
    "check_role",
    "create_user_with_token",
    "hash_token",
    "issue_token",
    "new_token",
    "rank",
]

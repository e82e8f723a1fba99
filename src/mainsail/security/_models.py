"""Records of users, tokens and audit events (defined in core: the store returns them)."""

from mainsail.core._security_schemas import AuditEvent, CreatedUser, IssuedToken, TokenInfo, User

__all__ = ["AuditEvent", "CreatedUser", "IssuedToken", "TokenInfo", "User"]

"""Registered models after registration: resolving addresses, listing, moving aliases,
archiving, deleting, and filling in their cards. Light to import (no pandas): the SDK
facade binds these at import time."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._registry_schemas import Alias, AliasChange, ModelVersion, RegisteredModel
from mainsail.core._uris import check_name, parse_address

if TYPE_CHECKING:
    from mainsail.store._context import Context


def _actor() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def resolve_version(ctx: Context, ref: Any) -> ModelVersion:
    """A ModelVersion from ``models:/name/3``, ``models:/name@alias`` or a ModelVersion."""
    if isinstance(ref, ModelVersion):
        return ref
    if not isinstance(ref, str):
        raise InvalidValueError(
            f"Expected a model address like 'models:/churn@champion'. Got {type(ref).__name__}."
        )
    addr = parse_address(ref, kind="models")
    return ctx.store.get_model_version(addr.name, addr.version, addr.alias)


def get_model_version(ctx: Context, address: str) -> ModelVersion:
    """The version ``models:/churn/3`` (or ``models:/churn@champion``, ``@latest``) names.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.get_model_version("models:/churn@champion").version  # doctest: +SKIP
    3
    """
    return resolve_version(ctx, address)


def list_models(ctx: Context) -> list[RegisteredModel]:
    """Registered models with their latest version and aliases."""
    return ctx.store.list_models()


def list_model_versions(ctx: Context, name: str) -> list[ModelVersion]:
    """The versions of model ``name``, oldest first."""
    return ctx.store.list_model_versions(name)


def set_alias(
    ctx: Context, name: str, alias: str, version: int, require_checks: bool | None = None
) -> Alias:
    """Move ``alias`` (e.g. ``champion``) to ``version`` atomically; the move is recorded.

    With ``require_checks=True`` the alias only moves to a version blessed by release checks.
    """
    check_name(alias, "Alias")
    return ctx.store.set_alias(name, alias, int(version), _actor(), require_checks)


def delete_alias(ctx: Context, name: str, alias: str) -> None:
    """Remove ``alias`` from model ``name``; the removal is recorded in its history."""
    ctx.store.delete_alias(name, alias, _actor())


def alias_history(ctx: Context, name: str, alias: str | None = None) -> list[AliasChange]:
    """Every move of the model's aliases (or of one), oldest first."""
    return ctx.store.alias_history(name, alias)


def archive_version(ctx: Context, name: str, version: int) -> ModelVersion:
    """Mark a version archived: kept and loadable, no longer offered as current."""
    return ctx.store.set_version_status(name, version, "archived")


def unarchive_version(ctx: Context, name: str, version: int) -> ModelVersion:
    """Bring an archived version back (status ``ready``)."""
    return ctx.store.set_version_status(name, version, "ready")


def delete_version(ctx: Context, name: str, version: int) -> None:
    """Delete a version; refused while an alias or any endpoint revision references it.

    Its number is never handed out again: the next version of ``name`` continues past it.
    """
    ctx.store.delete_model_version(name, version)


def update_model_card(ctx: Context, name: str, version: int, **fields: Any) -> ModelVersion:
    """Fill in card fields such as ``intended_use`` and ``limitations`` (others are kept).

    Examples
    --------
    >>> import mainsail
    >>> mainsail.update_model_card("churn", 3, intended_use="Monthly churn scores")  # doctest: +SKIP
    """
    current = ctx.store.get_model_version(name, version)
    return ctx.store.update_model_version(name, version, card={**current.card, **fields})


__all__ = [
    "alias_history",
    "archive_version",
    "delete_alias",
    "delete_version",
    "get_model_version",
    "list_model_versions",
    "list_models",
    "resolve_version",
    "set_alias",
    "unarchive_version",
    "update_model_card",
]

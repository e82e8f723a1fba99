"""SDK facade for the model registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.client._context import get_context
from mainsail.core._registry_schemas import AliasChange, ModelVersion, RegisteredModel

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.registry._registry import LoadedModel


def register_model(
    model: Any,
    name: str,
    run: Any = None,
    input_example: pd.DataFrame | None = None,
    reference: pd.DataFrame | None = None,
    description: str | None = None,
    tags: dict[str, Any] | None = None,
    card: dict[str, Any] | None = None,
    allow_pickle: bool = False,
    flavor: str | None = None,
    artifacts: dict[str, str] | None = None,
) -> ModelVersion:
    """Register ``model`` as the next immutable version of ``name``.

    Examples
    --------
    >>> import mainsail
    >>> mv = mainsail.register_model(clf, name="churn", input_example=X.head(), reference=X)  # doctest: +SKIP
    >>> mv.address  # doctest: +SKIP
    'models:/churn/1'
    """
    from mainsail.registry._registry import register_model as _register

    if run is None:
        from mainsail.tracking._run import active_run

        run = active_run()
    return _register(
        get_context(),
        model,
        name,
        run,
        input_example,
        reference,
        description,
        tags,
        card,
        allow_pickle,
        flavor,
        artifacts,
    )


def load_model(address: str | ModelVersion, extra_columns: str = "drop") -> LoadedModel:
    """Load ``models:/churn@champion`` (or ``/3``, ``@latest``); files are verified first."""
    from mainsail.registry._registry import load_model as _load

    if extra_columns not in ("drop", "reject"):
        from mainsail.core._errors import InvalidValueError

        raise InvalidValueError(f"extra_columns must be 'drop' or 'reject'. Got {extra_columns!r}.")
    return _load(get_context(), address, extra_columns)  # type: ignore[arg-type]


def get_model_version(address: str) -> ModelVersion:
    from mainsail.registry._registry import resolve_version

    return resolve_version(get_context(), address)


def list_models() -> list[RegisteredModel]:
    return get_context().store.list_models()


def list_model_versions(name: str) -> list[ModelVersion]:
    return get_context().store.list_model_versions(name)


def set_alias(name: str, alias: str, version: int, require_checks: bool | None = None) -> Any:
    """Move ``alias`` (e.g. ``champion``) to ``version`` atomically; the move is recorded."""
    from mainsail.registry._registry import set_alias as _set

    return _set(get_context(), name, alias, version, require_checks)


def delete_alias(name: str, alias: str) -> None:
    from mainsail.registry._registry import _actor

    get_context().store.delete_alias(name, alias, _actor())


def alias_history(name: str, alias: str | None = None) -> list[AliasChange]:
    return get_context().store.alias_history(name, alias)


def archive_version(name: str, version: int) -> ModelVersion:
    return get_context().store.set_version_status(name, version, "archived")


def unarchive_version(name: str, version: int) -> ModelVersion:
    return get_context().store.set_version_status(name, version, "ready")


def delete_version(name: str, version: int) -> None:
    """Delete a version; refused while an alias (or an endpoint) points to it."""
    get_context().store.delete_model_version(name, version)


def update_model_card(name: str, version: int, **fields: Any) -> ModelVersion:
    """Fill in card fields such as ``intended_use`` and ``limitations``."""
    store = get_context().store
    current = store.get_model_version(name, version)
    return store.update_model_version(name, version, card={**current.card, **fields})

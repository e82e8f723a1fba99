"""SDK facade for the model registry: each domain function bound to the process context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mainsail.client._bind import sdk
from mainsail.client._context import get_context
from mainsail.registry import _versions

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.registry._registry import LoadedModel

# Registering and loading live with the flavors (numpy, pandas): they are imported when first
# called, so that ``mainsail.start_run`` does not load them.

get_model_version = sdk(_versions.get_model_version)
list_models = sdk(_versions.list_models)
list_model_versions = sdk(_versions.list_model_versions)
set_alias = sdk(_versions.set_alias)
delete_alias = sdk(_versions.delete_alias)
alias_history = sdk(_versions.alias_history)
archive_version = sdk(_versions.archive_version)
unarchive_version = sdk(_versions.unarchive_version)
delete_version = sdk(_versions.delete_version)
update_model_card = sdk(_versions.update_model_card)


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
    """Register ``model`` as the next immutable version of ``name`` (linked to ``run``, by
    default the active run of this thread).

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
    """Load ``models:/churn@champion`` (or ``/3``, ``@latest``); files are verified first.

    ``extra_columns``: ``"drop"`` input columns the model was not trained on, or ``"reject"``.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.load_model("models:/churn@champion").predict(df)  # doctest: +SKIP
    """
    from mainsail.registry._registry import load_model as _load

    return _load(get_context(), address, extra_columns)  # type: ignore[arg-type]

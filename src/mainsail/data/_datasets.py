"""Dataset versions: immutable, content-addressed Parquet snapshots with schema and profile."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import InvalidValueError
from mainsail.core._schemas import Dataset, DatasetVersion
from mainsail.core._uris import check_name, parse_address

if TYPE_CHECKING:
    import pandas as pd

    from mainsail.data._schema import Schema
    from mainsail.data._validate import ValidationReport
    from mainsail.store._context import Context

_READERS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
}


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Parquet, CSV or JSON(L) file into a DataFrame."""
    import pandas as pd

    p = Path(path)
    kind = _READERS.get(p.suffix.lower())
    if kind is None:
        raise InvalidValueError(
            f"Expected a .parquet, .csv, .json or .jsonl file. Got '{p.name}'. "
            "Convert it, or load it with pandas and pass the DataFrame."
        )
    if not p.exists():
        raise InvalidValueError(f"Expected a data file at '{path}'. Nothing is there.")
    if kind == "parquet":
        return pd.read_parquet(p)
    if kind == "csv":
        return pd.read_csv(p)
    return pd.read_json(p, lines=p.suffix.lower() == ".jsonl")


def content_digest(df: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and row hashes: equal tables give equal digests."""
    import pandas as pd

    h = hashlib.sha256()
    for name, dtype in df.dtypes.items():
        h.update(f"{name}\x1f{dtype}\x1e".encode())
    if len(df):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def log_dataset(
    ctx: Context,
    data: pd.DataFrame | str | os.PathLike[str],
    name: str,
    description: str | None = None,
    parents: list[str] | None = None,
    source: str | None = None,
) -> DatasetVersion:
    """Store an immutable dataset version (an unchanged table returns the existing one).

    Examples
    --------
    >>> import mainsail, pandas as pd
    >>> dv = mainsail.log_dataset(pd.DataFrame({"x": [1, 2]}), name="toy")  # doctest: +SKIP
    >>> dv.address  # doctest: +SKIP
    'datasets:/toy/1'
    """
    import pandas as pd

    from mainsail.data._profile import profile_frame
    from mainsail.data._schema import infer_schema

    check_name(name, "Dataset")
    if isinstance(data, str | os.PathLike):
        source = source or str(Path(data).absolute())
        df = read_table(data)
    elif isinstance(data, pd.DataFrame):
        df = data
    else:
        raise InvalidValueError(
            f"Expected a pandas DataFrame or a path to a Parquet/CSV file. Got {type(data).__name__}."
        )
    schema = infer_schema(df)  # raises UnsupportedColumnTypeError before anything is written
    digest = content_digest(df)
    parent_addresses = [str(resolve_dataset_version(ctx, p).address) for p in parents or []]
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    blob_digest = ctx.artifacts.put_bytes(buf.getvalue())
    profile = profile_frame(df, schema=schema)
    from mainsail.tracking._run import active_run

    run = active_run()
    dv, _created = ctx.store.create_dataset_version(
        name,
        digest=digest,
        blob_digest=blob_digest,
        format="parquet",
        row_count=len(df),
        schema=schema.to_dict(),
        profile=profile.to_dict(),
        source=source,
        parents=parent_addresses,
        description=description,
        run_id=run.id if run is not None else None,
    )
    if run is not None:
        ctx.store.add_run_input(run.id, dv.id, "training")
    return dv


def resolve_dataset_version(ctx: Context, ref: Any) -> DatasetVersion:
    """A DatasetVersion from a DatasetVersion, ``datasets:/name/3`` or ``datasets:/name@latest``."""
    if isinstance(ref, DatasetVersion):
        return ref
    if not isinstance(ref, str):
        raise InvalidValueError(
            f"Expected a dataset address like 'datasets:/transactions/3' or a DatasetVersion. "
            f"Got {type(ref).__name__}."
        )
    addr = parse_address(ref, kind="datasets")
    if addr.alias is not None and addr.alias != "latest":
        raise InvalidValueError(
            f"Datasets support the alias '@latest' only. Got '@{addr.alias}' in {ref!r}."
        )
    return ctx.store.get_dataset_version(addr.name, addr.version)


def get_dataset(ctx: Context, address: str) -> DatasetVersion:
    """Metadata (schema, profile, lineage) of ``datasets:/name/3`` or ``datasets:/name@latest``."""
    return resolve_dataset_version(ctx, address)


def load_dataset(ctx: Context, address: str | DatasetVersion) -> pd.DataFrame:
    """The table of a dataset version, verified against its digest."""
    import pandas as pd

    dv = resolve_dataset_version(ctx, address)
    return pd.read_parquet(io.BytesIO(ctx.artifacts.get_bytes(dv.blob_digest)))


def list_datasets(ctx: Context) -> list[Dataset]:
    """Datasets with their version counts (against a server: those the caller may view)."""
    return ctx.store.list_datasets()


def list_dataset_versions(ctx: Context, name: str) -> list[DatasetVersion]:
    """The versions of dataset ``name``, oldest first."""
    return ctx.store.list_dataset_versions(name)


def validate_dataset(
    ctx: Context,
    df: pd.DataFrame,
    schema: Schema | DatasetVersion | str,
    strict: bool = False,
    max_examples: int = 5,
) -> ValidationReport:
    """Check ``df`` against a schema, a DatasetVersion or a dataset address; every violation.

    With ``strict=True`` a failing report raises :class:`~mainsail.core.DataValidationError`.

    Examples
    --------
    >>> import mainsail
    >>> mainsail.validate(new_df, "datasets:/transactions/1").ok  # doctest: +SKIP
    True
    """
    from mainsail.data._schema import Schema
    from mainsail.data._validate import validate

    if isinstance(schema, str):
        schema = resolve_dataset_version(ctx, schema)
    if isinstance(schema, DatasetVersion):
        schema = Schema.from_dict(schema.schema_)
    if not isinstance(schema, Schema):
        raise InvalidValueError(
            "Expected a Schema, a DatasetVersion or a dataset address like "
            f"'datasets:/transactions/3'. Got {type(schema).__name__}."
        )
    return validate(df, schema, strict=strict, max_examples=max_examples)

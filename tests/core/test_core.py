from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mainsail.core import (
    Address,
    InvalidAddressError,
    MainsailError,
    MissingDependencyError,
    Settings,
    _errors,
    import_optional,
    parse_address,
)


def test_addresses() -> None:
    assert parse_address("models:/churn/3") == Address("models", "churn", version=3)
    assert parse_address("models:/churn@champion").alias == "champion"
    assert parse_address("datasets:/tx@latest", kind="datasets").alias == "latest"
    assert str(parse_address("models:/a.b-c_d/12")) == "models:/a.b-c_d/12"
    with pytest.raises(InvalidAddressError, match="Expected a 'models:/' address"):
        parse_address("datasets:/tx/1", kind="models")
    for bad in ("churn/3", "models:/", "models:/churn/x", "models:/-bad", "models:/a@", ""):
        with pytest.raises(InvalidAddressError, match="Expected an address like"):
            parse_address(bad)
    # where the kind is known, the scheme may be left off: one set of forms everywhere
    assert parse_address("churn/3", kind="models") == parse_address("models:/churn/3")
    assert parse_address("churn@champion", kind="models") == parse_address("models:/churn@champion")
    assert parse_address("tx@latest", kind="datasets") == parse_address("datasets:/tx@latest")
    for bad in ("churn", "churn/x", "@champion", "a/b/3"):
        with pytest.raises(InvalidAddressError, match="churn/3 or churn@champion"):
            parse_address(bad, kind="models")


@given(
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}", fullmatch=True),
    version=st.integers(min_value=0, max_value=10**6),
    alias=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,10}", fullmatch=True),
)
def test_short_and_full_forms_agree(name: str, version: int, alias: str) -> None:
    for tail in (f"/{version}", f"@{alias}"):
        assert parse_address(name + tail, kind="models") == parse_address(f"models:/{name}{tail}")


@given(
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}", fullmatch=True),
    version=st.integers(min_value=0, max_value=10**6),
)
def test_address_round_trip(name: str, version: int) -> None:
    addr = Address("models", name, version=version)
    assert parse_address(str(addr)) == addr


@given(st.text(max_size=40))
def test_parse_address_never_crashes(text: str) -> None:
    try:
        parse_address(text)
    except InvalidAddressError:
        pass


def test_settings_defaults_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAINSAIL_HOME", str(tmp_path / "h"))
    s = Settings()
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'h' / 'mainsail.db'}"
    assert s.resolved_artifact_root() == str(tmp_path / "h" / "artifacts")
    monkeypatch.setenv("MAINSAIL_ARTIFACT_ROOT", "s3://bucket/prefix")
    monkeypatch.setenv("MAINSAIL_DATABASE_URL", "postgresql+psycopg://u@h/db")
    s = Settings()
    assert s.resolved_artifact_root() == "s3://bucket/prefix"
    assert s.resolved_database_url().startswith("postgresql")


def test_every_error_has_headline_and_status() -> None:
    classes = [
        c for c in vars(_errors).values() if isinstance(c, type) and issubclass(c, MainsailError)
    ]
    assert len(classes) > 10
    for cls in classes:
        assert cls.headline and 400 <= cls.status < 600
        err = cls("message")
        assert err.to_dict()["error"] == "message"


def test_optional_import_names_pip_command() -> None:
    assert import_optional("json", extra="core").__name__ == "json"
    with pytest.raises(MissingDependencyError, match=r"pip install 'mainsail\[ray\]'"):
        import_optional("surely_not_installed_pkg", extra="ray")


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = "import sys, mainsail; print(sorted(m for m in ('pandas','sqlalchemy','numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

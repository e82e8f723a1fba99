"""The one address form: ``models:/churn/3``, ``models:/churn@champion``, ``datasets:/tx/7``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mainsail.core._errors import InvalidAddressError

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_ADDRESS = re.compile(
    rf"^(?P<kind>models|datasets):/(?P<name>{_NAME})(?:/(?P<version>\d+)|@(?P<alias>{_NAME}))?$"
)
NAME_PATTERN = re.compile(rf"^{_NAME}$")


@dataclass(frozen=True)
class Address:
    """A parsed address. Exactly one of ``version`` and ``alias`` may be set.

    Examples
    --------
    >>> parse_address("models:/churn@champion")
    Address(kind='models', name='churn', version=None, alias='champion')
    """

    kind: str
    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.kind}:/{self.name}/{self.version}"
        if self.alias is not None:
            return f"{self.kind}:/{self.name}@{self.alias}"
        return f"{self.kind}:/{self.name}"


def parse_address(text: str, kind: str | None = None) -> Address:
    m = _ADDRESS.match(text.strip()) if isinstance(text, str) else None
    if not m:
        example = f"{kind or 'models'}:/churn/3"
        raise InvalidAddressError(
            f"Expected an address like '{example}' or '{kind or 'models'}:/churn@latest'. "
            f"Got {text!r}. Names start with a letter or digit and use letters, digits, '_', '.', '-'."
        )
    addr = Address(
        kind=m["kind"],
        name=m["name"],
        version=int(m["version"]) if m["version"] else None,
        alias=m["alias"],
    )
    if kind is not None and addr.kind != kind:
        raise InvalidAddressError(
            f"Expected a '{kind}:/' address. Got {text!r}, which addresses {addr.kind}."
        )
    return addr


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidAddressError(
            f"{what} name must start with a letter or digit and use only letters, digits, "
            f"'_', '.' and '-'. Got {name!r}."
        )
    return name

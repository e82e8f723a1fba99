"""The one address form: ``models:/churn/3``, ``models:/churn@champion``, ``datasets:/tx/7``.

Where the kind is known (every place that takes a model, or a dataset), the scheme may be
left off: ``churn/3`` and ``churn@champion`` are ``models:/churn/3`` and
``models:/churn@champion``. Every command and SDK function parses with :func:`parse_address`,
so the same forms work everywhere (``MODEL_FORMS`` is the help text that says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mainsail.core._errors import InvalidAddressError

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_ADDRESS = re.compile(
    rf"^(?P<kind>models|datasets):/(?P<name>{_NAME})(?:/(?P<version>\d+)|@(?P<alias>{_NAME}))?$"
)
_SHORT = re.compile(rf"^(?P<name>{_NAME})(?:/(?P<version>\d+)|@(?P<alias>{_NAME}))$")
NAME_PATTERN = re.compile(rf"^{_NAME}$")

MODEL_FORMS = "models:/churn/2, models:/churn@champion, churn/2 or churn@champion"
"""The model address forms every command accepts (for help texts)."""


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
    """Parse ``models:/churn/3``, ``models:/churn@champion`` (``datasets:/...`` alike); with
    ``kind`` given, also the short forms ``churn/3`` and ``churn@champion``.

    Examples
    --------
    >>> parse_address("churn@champion", kind="models")
    Address(kind='models', name='churn', version=None, alias='champion')
    """
    m = _ADDRESS.match(text.strip()) if isinstance(text, str) else None
    if not m and kind is not None and isinstance(text, str):
        short = _SHORT.match(text.strip())
        if short:
            version = short["version"]
            return Address(kind, short["name"], int(version) if version else None, short["alias"])
    if not m:
        k = kind or "models"
        short_forms = ", churn/3 or churn@champion" if kind is not None else ""
        raise InvalidAddressError(
            f"Expected an address like '{k}:/churn/3' or '{k}:/churn@latest'{short_forms}. "
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

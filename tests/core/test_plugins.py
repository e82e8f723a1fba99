from __future__ import annotations

import pytest

from mainsail.core import ConfigurationError, InvalidValueError
from mainsail.core._plugins import Registry, load_target


def test_lazy_target_is_imported_on_first_use() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register("ordered", "collections:OrderedDict")
    from collections import OrderedDict

    assert reg.get("ordered") is OrderedDict
    assert "ordered" in reg and reg.names() == ["ordered"] and len(reg) == 1


def test_unknown_name_lists_the_valid_ones() -> None:
    reg: Registry[object] = Registry("drift test")
    reg.register("ks", object())
    reg.register("psi", object())
    with pytest.raises(
        InvalidValueError, match=r"Unknown drift test 'kss'\. Valid drift tests are: ks, psi\."
    ):
        reg.get("kss")


def test_replace_false_refuses_a_second_registration() -> None:
    reg: Registry[int] = Registry("number")
    reg.register("one", 1)
    with pytest.raises(InvalidValueError, match="already registered"):
        reg.register("one", 2, replace=False)
    reg.register("one", 3)
    assert reg.get("one") == 3


def test_validate_runs_once_when_loaded() -> None:
    seen: list[str] = []

    def validate(name: str, obj: object) -> None:
        seen.append(name)
        if not callable(obj):
            raise InvalidValueError(f"{name} must be callable")

    reg: Registry[object] = Registry("hook", validate=validate)
    reg.register("len", "builtins:len")
    reg.register("bad", "math:pi")
    assert reg.get("len") is len
    assert reg.get("len") is len
    with pytest.raises(InvalidValueError, match="bad must be callable"):
        reg.get("bad")
    assert seen == ["len", "bad"]


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        ("no_colon", InvalidValueError, "package.module:attribute"),
        ("no_such_module_xyz:thing", ConfigurationError, "Could not import module"),
        ("math:no_such_attr", ConfigurationError, "has no attribute 'no_such_attr'"),
    ],
)
def test_bad_targets_say_what_is_wrong(target: str, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        load_target(target)


def test_empty_name_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="non-empty name"):
        Registry("flavor").register(" ", object())

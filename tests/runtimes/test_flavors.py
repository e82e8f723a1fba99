"""The flavor registry: names, lazy loading, check_runtime's errors, detection order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from mainsail.core import InvalidValueError
from mainsail.core._errors import UnsupportedModelError
from mainsail.runtimes import (
    FLAVORS,
    check_flavor_meta,
    check_runtime,
    detect_flavor,
    flavors,
    get_runtime_class,
    register_flavor,
)

from .conftest import ACME, THIRD_PARTY


class _Complete:
    flavor: ClassVar[str] = "complete"
    requires: ClassVar[tuple[str, ...]] = ()
    has_proba = False

    @classmethod
    def supports(cls, model: Any) -> bool:
        return isinstance(model, _Marker)

    @classmethod
    def save(cls, model: Any, folder: Path, allow_pickle: bool) -> dict[str, Any]:
        return {"task": "other"}

    def load(self, folder: Path, meta: dict[str, Any]) -> None: ...
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def unload(self) -> None: ...
    def metadata(self) -> dict[str, Any]:
        return {}


class _Marker:
    pass


@pytest.fixture
def temporary() -> Any:
    names: list[str] = []

    def register(name: str, target: Any) -> None:
        register_flavor(name, target)
        names.append(name)

    yield register
    for name in names:
        FLAVORS.unregister(name)


def test_builtin_flavors_are_registered_by_name() -> None:
    assert set(flavors()) >= {"sklearn", "xgboost", "lightgbm", "onnx", "pyfunc"}
    assert get_runtime_class("sklearn").__name__ == "SklearnRuntime"


def test_an_unknown_flavor_lists_the_valid_ones() -> None:
    with pytest.raises(
        InvalidValueError, match=r"Unknown model flavor 'sklearnn'\. Valid model flavors are: .*"
    ) as info:
        get_runtime_class("sklearnn")
    assert "lightgbm, onnx, pyfunc, sklearn, xgboost" in str(info.value)


def test_check_runtime_accepts_a_complete_class() -> None:
    assert check_runtime(_Complete) is _Complete


def test_check_runtime_says_everything_that_is_missing() -> None:
    class Half:
        flavor = ""
        requires = "numpy"  # a string, not a tuple

        @classmethod
        def save(cls, model: Any) -> dict[str, Any]:  # misses folder and allow_pickle
            return {}

        def predict(self, X: Any) -> Any:
            return X

    with pytest.raises(InvalidValueError) as info:
        check_runtime(Half, "half")
    msg = str(info.value)
    assert (
        msg.startswith("Flavor 'half' (") and "does not implement mainsail.runtimes.Runtime" in msg
    )
    for problem in (
        "'flavor' must be a non-empty string",
        "'requires' must be a tuple of pip package names",
        "'has_proba' is missing",
        "classmethod supports(model) is missing",
        "classmethod save(model, folder, allow_pickle) cannot be called with those arguments",
        "load(folder, meta) is missing",
        "unload() is missing",
    ):
        assert problem in msg, problem
    assert "predict(X)" not in msg.split("A flavor class needs")[0]  # that one is fine


@pytest.mark.parametrize(
    ("obj", "found"),
    [
        (_Complete(), "an instance of _Complete"),
        (len, "the callable len"),
        ("pkg:Cls", "the string 'pkg:Cls'"),
    ],
)
def test_check_runtime_wants_a_class(obj: Any, found: str) -> None:
    with pytest.raises(InvalidValueError, match=f"must be a class; got {found}"):
        check_runtime(obj, "x")


def test_a_class_needing_constructor_arguments_is_refused() -> None:
    class NeedsArgs(_Complete):
        def __init__(self, path: str) -> None:
            self.path = path

    with pytest.raises(InvalidValueError, match=r"constructible without arguments \(cls\(\)\)"):
        check_runtime(NeedsArgs)


def test_a_broken_registration_fails_when_used_with_the_reason(temporary: Any) -> None:
    temporary("broken", "math:pi")
    with pytest.raises(InvalidValueError, match="Flavor 'broken' must be a class"):
        get_runtime_class("broken")
    temporary("missing", "no_such_module_xyz:Runtime")
    with pytest.raises(Exception, match="Could not import module 'no_such_module_xyz'"):
        get_runtime_class("missing")


def test_detection_asks_specific_flavors_before_catch_alls(temporary: Any) -> None:
    from sklearn.linear_model import Ridge

    class Specific(_Complete):
        flavor = "specific-ridge"

        @classmethod
        def supports(cls, model: Any) -> bool:
            return isinstance(model, Ridge)

    temporary("specific-ridge", Specific)
    assert detect_flavor(Ridge()) == "specific-ridge"  # before sklearn (detect_order 80)

    class Late(Specific):
        detect_order = 99

    FLAVORS.unregister("specific-ridge")
    temporary("late-ridge", Late)
    assert detect_flavor(Ridge()) == "sklearn"


def test_an_unavailable_flavor_does_not_break_detection(temporary: Any) -> None:
    from sklearn.linear_model import Ridge

    temporary("gone", "no_such_module_xyz:Runtime")
    assert detect_flavor(Ridge()) == "sklearn"
    with pytest.raises(UnsupportedModelError, match="register a flavor"):
        detect_flavor(object())


def test_flavor_metadata_must_fit_the_manifest() -> None:
    meta = {"task": "regression", "classes": None, "n": np.int64(3)}
    assert check_flavor_meta("x", meta) is meta
    with pytest.raises(InvalidValueError, match="must return a dict"):
        check_flavor_meta("x", ["task"])
    with pytest.raises(InvalidValueError, match="not JSON-safe"):
        check_flavor_meta("x", {"model": object()})
    with pytest.raises(InvalidValueError, match="task 'ranking'. Valid tasks are: classif"):
        check_flavor_meta("x", {"task": "ranking"})
    with pytest.raises(InvalidValueError, match="classes as tuple"):
        check_flavor_meta("x", {"task": "classification", "classes": (0, 1)})


def test_a_flavor_that_takes_no_artifacts_refuses_them(ctx: Any, tmp_path: Path) -> None:
    from sklearn.linear_model import Ridge

    import mainsail

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    note = tmp_path / "note.txt"
    note.write_text("x")
    with pytest.raises(InvalidValueError, match="the sklearn flavor does not take any"):
        mainsail.register_model(
            Ridge().fit(X, [0, 1, 2, 3]),
            name="r",
            input_example=X,
            allow_pickle=True,
            artifacts={"note": str(note)},
        )
    assert mainsail.list_models() == []


def test_an_installed_package_registers_a_flavor_through_its_entry_point(acme: ModuleType) -> None:
    """A fresh process with the package on its path finds the flavor: no core edit."""
    code = (
        "from mainsail.runtimes import flavors, get_runtime_class\n"
        f"print({ACME!r} in flavors(), get_runtime_class({ACME!r}).__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["True", "acme_flavors"]
    assert str(THIRD_PARTY) in sys.path

"""Drift tests and notifier types are plug-ins: the contract every registered one keeps, the
checks that say what is wrong with a bad one, and a third party's (tests/thirdparty) used end
to end without touching the package: by registration, and by entry point."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

import mainsail
from mainsail.core import InvalidValueError
from mainsail.data import profile_frame
from mainsail.monitoring import (
    DRIFT_TESTS,
    NOTIFIERS,
    AlertRule,
    AutoChoice,
    DriftScore,
    available_notifiers,
    check_drift_test,
    check_notifier,
    drift,
    get_test,
    register_notifier,
    register_test,
    unregister_notifier,
)
from mainsail.monitoring._alerts import Alert
from mainsail.monitoring._columns import RawColumn, SketchColumn
from mainsail.monitoring._notifiers import build_notifier
from mainsail.monitoring._tests import choose_test

THIRDPARTY = Path(__file__).parents[1] / "thirdparty"
SRC = Path(__file__).parents[2] / "src"


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The third party's module importable, its plug-ins registered by path (lazily)."""
    monkeypatch.syspath_prepend(str(THIRDPARTY))
    register_test("acme_plugins:MedianShift", name="acme_median_shift")
    register_notifier("acme_pager", "acme_plugins:PagerNotifier")
    import acme_plugins

    yield acme_plugins
    DRIFT_TESTS.unregister("acme_median_shift")
    unregister_notifier("acme_pager")


# -- drift tests ------------------------------------------------------------------------------
def _columns(shape: str, n: int, shifted: bool, seed: int) -> pd.Series:
    """A numeric, categorical or binary column; ``shifted`` moves it by a large effect."""
    rng = np.random.default_rng(seed)
    if shape == "numeric":
        return pd.Series(rng.normal(1.0 if shifted else 0.0, 1.0, n))
    if shape == "binary":
        return pd.Series(rng.choice(["no", "yes"], n, p=[0.3, 0.7] if shifted else [0.7, 0.3]))
    return pd.Series(
        rng.choice(["a", "b", "c"], n, p=[0.2, 0.3, 0.5] if shifted else [0.5, 0.3, 0.2])
    )


def _verdict(test: Any, ref: Any, cur: Any) -> tuple[bool, DriftScore]:
    score = test.score(ref, cur)
    if test.uses_p_value:
        floor = getattr(test, "effect_floor", None) or 0.0
        p = score.p_value if score.p_value is not None else 1.0
        return p < test.threshold and score.effect_size >= floor, score
    return score.statistic >= test.threshold, score


@pytest.mark.parametrize("name", DRIFT_TESTS.names())
def test_every_drift_test_keeps_the_contract(name: str) -> None:
    cls = check_drift_test(DRIFT_TESTS.get(name))
    test = get_test(name)
    assert cls.name == name and isinstance(test, cls)
    for kind in cls.kinds:
        columns = ["binary"] if name == "z" else [kind]  # the z-test compares two proportions
        for shape in columns:
            col_kind = "numeric" if shape == "numeric" else "categorical"
            ref = _columns(shape, 2000, False, 1)
            same = _columns(shape, 2000, False, 2)
            moved = _columns(shape, 2000, True, 3)
            drifted, score = _verdict(test, RawColumn(ref, col_kind), RawColumn(same, col_kind))
            assert not drifted, (name, shape, score)
            assert np.isfinite(score.statistic) and score.effect_size >= 0
            assert score.p_value is None or 0 <= score.p_value <= 1
            assert (score.p_value is not None) == cls.uses_p_value
            drifted, score = _verdict(test, RawColumn(ref, col_kind), RawColumn(moved, col_kind))
            assert drifted, (name, shape, score)
            # the same verdict from sketches (mergeable profiles) as from raw values
            reference = profile_frame(pd.DataFrame({"x": ref}))
            current = profile_frame(pd.DataFrame({"x": moved}), reference=reference)
            on_sketches = _verdict(
                test,
                SketchColumn(reference.columns["x"], col_kind),
                SketchColumn(current.columns["x"], col_kind),
            )[0]
            assert on_sketches, (name, shape)


@pytest.mark.parametrize(
    ("kind", "n", "categories", "expected"),
    [
        ("numeric", 500, 0, "ks"),
        ("numeric", 1000, 0, "ks"),
        ("numeric", 1001, 0, "wasserstein"),
        ("categorical", 500, 2, "z"),
        ("categorical", 500, 3, "chisquare"),
        ("categorical", 5000, 2, "jensenshannon"),
    ],
)
def test_the_default_choice_reads_the_tests_properties(
    kind: str, n: int, categories: int, expected: str
) -> None:
    assert choose_test(kind, n, n + 10, categories) == expected


def test_a_registered_test_can_take_over_the_default_choice() -> None:
    class Eager:
        name: ClassVar[str] = "eager"
        kinds: ClassVar[tuple[str, ...]] = ("numeric",)
        threshold: ClassVar[float] = 0.2
        uses_p_value: ClassVar[bool] = False
        auto: ClassVar[AutoChoice] = AutoChoice(kinds=("numeric",), min_n=100, priority=5)

        def score(self, reference: Any, current: Any) -> DriftScore:
            d = abs(float(np.mean(current.raw())) - float(np.mean(reference.raw())))
            return DriftScore(d, None, d)

    register_test(Eager)
    try:
        ref = pd.DataFrame({"x": np.random.default_rng(0).normal(size=300)})
        report = drift(ref, ref.assign(x=ref["x"] + 1))
        assert report["x"].test == "eager" and report["x"].drifted
        assert drift(ref.head(50), ref.head(50))["x"].test == "ks"  # below its min_n
    finally:
        DRIFT_TESTS.unregister("eager")
    assert drift(ref, ref)["x"].test == "ks"


@pytest.mark.parametrize(
    ("thing", "message"),
    [
        (object(), "must be a class"),
        (type("NoName", (), {"kinds": ("numeric",)}), "'name' must be a non-empty string"),
        (
            type("Bad", (), {"name": "b", "kinds": ("text",), "threshold": 1, "uses_p_value": 0}),
            r"'kinds' must be a non-empty tuple of numeric, categorical.*'uses_p_value'",
        ),
        (
            type(
                "Mismatch",
                (),
                {
                    "name": "m",
                    "kinds": ("numeric",),
                    "threshold": 0.1,
                    "uses_p_value": False,
                    "auto": AutoChoice(kinds=("categorical",)),
                    "score": lambda self, r, c: None,
                },
            ),
            "'auto' picks it for",
        ),
    ],
)
def test_check_drift_test_says_what_is_wrong(thing: Any, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        check_drift_test(thing)


def test_a_broken_plugin_does_not_stop_the_default_choice(caplog: Any) -> None:
    from mainsail.core import ConfigurationError

    register_test("acme_plugins_not_installed:Test", name="broken")
    try:
        ref = pd.DataFrame({"x": np.random.default_rng(0).normal(size=300)})
        assert drift(ref, ref)["x"].test == "ks"
        assert "'broken' is left out of the default choice" in caplog.text
        with pytest.raises(ConfigurationError, match="Could not import module"):
            drift(ref, ref, stattest="broken")
    finally:
        DRIFT_TESTS.unregister("broken")


def test_register_test_says_what_is_wrong() -> None:
    with pytest.raises(InvalidValueError, match="needs its name"):
        register_test("acme_plugins:MedianShift")
    with pytest.raises(InvalidValueError, match="calls itself 'ks', not 'kolmogorov'"):
        register_test(type(get_test("ks")), name="kolmogorov")
    with pytest.raises(InvalidValueError, match="not a drift test"):
        register_test(type("Half", (), {"name": "half"}))
    assert "half" not in DRIFT_TESTS


def test_a_third_party_drift_test_in_a_monitor_run(served, ctx, make_churn, acme) -> None:  # type: ignore[no-untyped-def]
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=0)
    mainsail.create_monitor(
        "churn", checks=["drift"], tests={"age": "acme_median_shift"}, notifiers=[]
    )
    r = mainsail.run_monitor("churn")
    assert r.source == "sketches" and r.drift is not None
    assert r.drift["age"].test == "acme_median_shift" and r.drift["age"].drifted
    assert r.drift["age"].effect_size == pytest.approx(1.0, abs=0.2)  # 10 years = 1 sd
    assert r.drift["income"].test != "acme_median_shift" and not r.drift["income"].drifted
    assert r.scores["drift.feature.age.drifted"] == 1.0


def test_third_party_plugins_load_from_entry_points(tmp_path: Path) -> None:
    """Installed as a distribution that declares entry points, nothing registers by hand."""
    dist = tmp_path / "acme_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[mainsail.drift_tests]\nacme_median_shift = acme_plugins:MedianShift\n\n"
        "[mainsail.notifiers]\nacme_pager = acme_plugins:PagerNotifier\n"
    )
    script = (
        "import numpy as np, pandas as pd\n"
        "from mainsail.monitoring import available_notifiers, available_tests, drift\n"
        "ref = pd.DataFrame({'x': np.random.default_rng(0).normal(size=500)})\n"
        "r = drift(ref, ref.assign(x=ref['x'] + 2), stattest='acme_median_shift')\n"
        "print('acme_median_shift' in available_tests(), 'acme_pager' in available_notifiers(),"
        " r['x'].test, r['x'].drifted)\n"
    )
    path = os.pathsep.join([str(SRC), str(THIRDPARTY), str(tmp_path)])
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "acme_median_shift", "True"]


# -- notifiers --------------------------------------------------------------------------------
class _Sink(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        n = int(self.headers["content-length"])
        _Sink.bodies.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[str]:
    _Sink.bodies = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _alert() -> Alert:
    return Alert(
        id=1,
        fingerprint="f",
        rule="drift",
        endpoint="churn",
        severity="warning",
        state="firing",
        value=0.7,
        evidence={"metric": "drift.share", "condition": "drift.share >= 0.5"},
        first_seen_at=0,
        updated_at=0,
    )


#: Options a contract run builds each built-in notifier type with.
OPTIONS: dict[str, dict[str, Any]] = {"log": {}, "webhook": {"url": "SINK"}}


@pytest.mark.usefixtures("loopback_webhooks")
@pytest.mark.parametrize("name", NOTIFIERS.names())
def test_every_notifier_type_keeps_the_contract(name: str, sink: str) -> None:
    factory = check_notifier(NOTIFIERS.get(name))
    options = {k: sink if v == "SINK" else v for k, v in OPTIONS.get(name, {}).items()}
    notifier = build_notifier({"type": name, **options})
    assert isinstance(notifier, factory) if isinstance(factory, type) else notifier is not None
    for event in ("firing", "resolved"):
        notifier.send(_alert(), event)
    if name == "webhook":
        assert [b["event"] for b in _Sink.bodies] == ["firing", "resolved"]
    assert name in available_notifiers()


def test_check_notifier_and_register_notifier_say_what_is_wrong() -> None:
    with pytest.raises(InvalidValueError, match="must be a class"):
        check_notifier(3)
    with pytest.raises(InvalidValueError, match=r"needs a send\(alert, event\) method"):
        check_notifier(type("Quiet", (), {}))
    with pytest.raises(InvalidValueError, match="built in or registered"):
        register_notifier("log", lambda a, e: None)
    with pytest.raises(InvalidValueError, match="callable"):
        register_notifier("nothing", 42)
    with pytest.raises(InvalidValueError, match="Unknown notifier 'pigeon'. Valid notifiers"):
        build_notifier({"type": "pigeon"})
    with pytest.raises(InvalidValueError, match="no short form"):
        build_notifier("log:loud")
    with pytest.raises(InvalidValueError, match="Bad options for notifier 'log'"):
        build_notifier({"type": "log", "colour": "red"})


def test_a_third_party_notifier_hears_an_alert_fire_and_resolve(
    served, ctx, make_churn, acme, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    box = tmp_path / "outbox.jsonl"
    served.traffic(make_churn(1500, seed=1, age_shift=10), label_every=0)
    with pytest.raises(InvalidValueError, match="Bad options for notifier 'acme_pager'"):
        mainsail.create_monitor("churn", notifiers=[{"type": "acme_pager", "chanel": "ops"}])
    rule = AlertRule(name="age", metric="drift.feature.age.drifted", op=">=", threshold=1)
    mainsail.create_monitor(
        "churn",
        checks=["drift"],
        rules=[rule],
        notifiers=[{"type": "acme_pager", "channel": "ops", "outbox": str(box)}],
    )
    r = mainsail.run_monitor("churn")
    (alert,) = r.alerts
    assert acme.outbox(box) == [
        {"channel": "ops", "event": "firing", "rule": "age", "id": alert.id}
    ]
    mainsail.run_monitor("churn")  # still firing: not told again
    assert len(acme.outbox(box)) == 1
    assert mainsail.resolve_alert(alert.id).state == "resolved"
    assert [m["event"] for m in acme.outbox(box)] == ["firing", "resolved"]
    assert mainsail.resolve_alert(alert.id).state == "resolved"  # once
    assert len(acme.outbox(box)) == 2

"""``mainsail.autolog()`` for scikit-learn: params, training metrics and the fitted model."""

from __future__ import annotations

import functools
import io
import threading
from typing import TYPE_CHECKING, Any

from mainsail.tracking._run import active_run, start_run

if TYPE_CHECKING:
    from mainsail.store._context import Context

_state = threading.local()
_patched: dict[type, Any] = {}


def autolog(ctx: Context, experiment: str = "default", disable: bool = False) -> None:
    """Record every scikit-learn ``fit``: params, training score, and the model (skops).

    A fit outside a run starts and ends a run of its own (on ``ctx``); inside a run it logs
    to that run.
    Only the outermost ``fit`` is recorded (a Pipeline's steps are part of it).

    Examples
    --------
    >>> import mainsail
    >>> mainsail.autolog()  # doctest: +SKIP
    """
    if disable:
        for cls, original in _patched.items():
            setattr(cls, "fit", original)  # noqa: B010
        _patched.clear()
        return
    from sklearn.utils import all_estimators

    for _name, cls in all_estimators():
        if "fit" in cls.__dict__ and cls not in _patched:
            original = cls.__dict__["fit"]
            _patched[cls] = original
            setattr(cls, "fit", _wrap(original, ctx, experiment))  # noqa: B010


def _wrap(fit: Any, ctx: Context, experiment: str) -> Any:
    @functools.wraps(fit)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "inside", False):
            return fit(self, *args, **kwargs)
        _state.inside = True
        try:
            return _fit_and_log(fit, self, ctx, experiment, args, kwargs)
        finally:
            _state.inside = False

    return patched


def _fit_and_log(fit: Any, est: Any, ctx: Context, experiment: str, args: Any, kwargs: Any) -> Any:
    run = active_run()
    own = run is None
    if own:
        run = start_run(ctx, experiment, None, None, {"autolog": "sklearn"})
    assert run is not None
    try:
        result = fit(est, *args, **kwargs)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        params = {k: v for k, v in est.get_params(deep=False).items() if _simple(v)}
        existing = run._ctx.store.get_run(run.id).params
        run.log_params({k: v for k, v in params.items() if k not in existing})
        run.set_tags({"estimator_class": f"{type(est).__module__}.{type(est).__name__}"})
        if y is not None and hasattr(est, "score"):
            try:
                metric = "training_accuracy" if _is_classifier(est) else "training_r2"
                run.log_metric(metric, float(est.score(X, y)))
            except Exception:  # noqa: BLE001 - a score that fails must not break the fit
                pass
        import skops.io as sio

        buf = io.BytesIO()
        buf.write(sio.dumps(est))
        run.log_bytes(buf.getvalue(), "model/model.skops")
    except BaseException:
        if own:
            run.end("failed")
        raise
    if own:
        run.end("finished")
    return result


def _simple(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _is_classifier(est: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(est))

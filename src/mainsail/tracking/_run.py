"""Runs: params, buffered metrics, tags, artifacts, status and the background flusher."""

from __future__ import annotations

import atexit
import getpass
import io
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import InvalidValueError, MainsailError, RunClosedError
from mainsail.core._ids import new_id, now_ms
from mainsail.core._schemas import Run
from mainsail.store._sql_store import MetricRow, check_metric
from mainsail.tracking._env import caller_folder, capture_environment, git_info

if TYPE_CHECKING:
    from mainsail.store._context import Context

_log = logging.getLogger("mainsail.tracking")


class ActiveRun:
    """A run being logged to. Use it as a context manager, or call :meth:`end`.

    Metrics are buffered and flushed in batches by a background thread, on
    :meth:`flush`, when the run ends and when the process exits.

    Examples
    --------
    >>> import mainsail
    >>> with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:  # doctest: +SKIP
    ...     run.log_metric("auc", 0.91, step=3)
    """

    def __init__(self, ctx: Context, run_id: str, experiment: str, name: str) -> None:
        self._ctx = ctx
        self.id = run_id
        self.experiment = experiment
        self.name = name
        self._buffer: list[MetricRow] = []
        self._lock = threading.Lock()  # guards the buffer
        self._io_lock = threading.Lock()  # one writer at a time: flushes never race the end
        self._steps: dict[str, int] = {}
        self._closed = False
        self._flush_error: BaseException | None = None
        self._limit = ctx.settings.metric_buffer_size
        self._beat_every = ctx.settings.run_heartbeat_interval
        self._beat_at = time.monotonic()  # create_run recorded the first one

    def __repr__(self) -> str:
        state = "ended" if self._closed else "running"
        return f"<ActiveRun {self.id} experiment={self.experiment!r} name={self.name!r} {state}>"

    # -- metrics ---------------------------------------------------------------------------
    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Log one point of the metric series ``key``. NaN and infinities are refused.

        ``step`` defaults to one past the last step logged for ``key`` in this run.
        """
        v = check_metric(key, value)
        self._append([(key, v, step, timestamp)])

    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Log several metrics at once, all at the same step."""
        points = [(k, check_metric(k, v), step, timestamp) for k, v in metrics.items()]
        self._append(points)

    def _append(self, points: list[tuple[str, float, int | None, int | None]]) -> None:
        if self._closed:
            raise self._closed_error()
        ts_now = now_ms()
        with self._lock:
            steps = self._steps
            for key, v, step, ts in points:
                if step is None:
                    step = steps.get(key, -1) + 1
                elif not isinstance(step, int) or isinstance(step, bool):
                    raise InvalidValueError(
                        f"Metric {key!r} step must be an integer. Got {step!r}."
                    )
                if step > steps.get(key, -1):
                    steps[key] = step
                self._buffer.append((key, v, step, ts if ts is not None else ts_now))
            full = len(self._buffer) >= self._limit
        if full:
            _flusher.wake()

    def flush(self) -> None:
        """Write buffered metrics to the store now."""
        self._raise_flush_error()
        self._flush()
        self._raise_flush_error()

    def _take(self) -> list[MetricRow]:
        with self._lock:
            points, self._buffer = self._buffer, []
        return points

    def _give_back(self, points: list[MetricRow]) -> None:
        with self._lock:
            self._buffer[:0] = points

    def _flush(self) -> None:
        with self._io_lock:
            if self._closed:
                return  # end() wrote the rest
            points = self._take()
            if not points:
                return
            try:
                self._ctx.store.log_metrics(self.id, points)
            except BaseException as exc:
                self._give_back(points)  # nothing logged is lost: retried on the next flush
                self._flush_error = exc
                if not isinstance(exc, Exception):
                    raise

    def _heartbeat(self) -> None:
        """Tell the store this run's process is alive (every ``run_heartbeat_interval``), so
        a reaper elsewhere can tell a crashed run from a long one."""
        now = time.monotonic()
        if self._closed or now - self._beat_at < self._beat_every:
            return
        self._beat_at = now
        try:
            self._ctx.store.heartbeat_run(self.id)
        except Exception:  # noqa: BLE001 - a missed beat is retried; the run goes on
            _log.warning("run %s: heartbeat failed", self.id, exc_info=True)

    def _raise_flush_error(self) -> None:
        err, self._flush_error = self._flush_error, None
        if err is not None:
            raise err

    # -- params, tags ----------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        """Record a param. Params are write-once: a new value for a key is an error."""
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._check_open()
        self._ctx.store.log_params(self.id, params)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._check_open()
        self._ctx.store.set_tags(self.id, tags)

    # -- artifacts -------------------------------------------------------------------------
    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Store a file or a folder; returns its digest (a folder's is its manifest's)."""
        self._check_open()
        path = Path(local_path)
        name = artifact_path or path.name
        if path.is_dir():
            digest, size = self._ctx.artifacts.put_dir(path)
            kind = "dir"
        elif path.is_file():
            digest, size = self._ctx.artifacts.put_file(path)
            kind = "file"
        else:
            raise InvalidValueError(
                f"Expected a file or folder to log as an artifact. '{local_path}' does not exist."
            )
        self._ctx.store.add_artifact(self.id, name, digest, size, kind)
        return digest

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Store a folder (as a manifest of path → digest)."""
        if not Path(local_dir).is_dir():
            raise InvalidValueError(f"Expected a folder. '{local_dir}' is not a folder.")
        return self.log_artifact(local_dir, artifact_path)

    def log_bytes(self, data: bytes, artifact_path: str) -> str:
        self._check_open()
        digest = self._ctx.artifacts.put_bytes(data)
        self._ctx.store.add_artifact(self.id, artifact_path, digest, len(data), "file")
        return digest

    def log_text(self, text: str, artifact_path: str) -> str:
        return self.log_bytes(text.encode(), artifact_path)

    def log_dict(self, data: Mapping[str, Any], artifact_path: str) -> str:
        return self.log_bytes(
            orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY),
            artifact_path,
        )

    def log_figure(self, figure: Any, artifact_path: str = "figure.png") -> str:
        """Store a matplotlib figure as an image (format from the file extension)."""
        if not hasattr(figure, "savefig"):
            raise InvalidValueError(
                f"Expected a matplotlib Figure (with savefig). Got {type(figure).__name__}."
            )
        buf = io.BytesIO()
        fmt = Path(artifact_path).suffix.lstrip(".") or "png"
        figure.savefig(buf, format=fmt)
        return self.log_bytes(buf.getvalue(), artifact_path)

    def log_table(self, df: Any, artifact_path: str = "table.parquet") -> str:
        """Store a pandas DataFrame as Parquet (or CSV if the path ends in .csv)."""
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise InvalidValueError(f"Expected a pandas DataFrame. Got {type(df).__name__}.")
        buf = io.BytesIO()
        if artifact_path.endswith(".csv"):
            df.to_csv(buf, index=False)
        else:
            df.to_parquet(buf, index=False)
        return self.log_bytes(buf.getvalue(), artifact_path)

    def log_input(self, dataset: Any, context: str | None = "training") -> None:
        """Record that this run used a dataset version (a DatasetVersion or an address)."""
        from mainsail.data._datasets import resolve_dataset_version

        self._check_open()
        dv = resolve_dataset_version(self._ctx, dataset)
        self._ctx.store.add_run_input(self.id, dv.id, context)

    # -- lifecycle -------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    def _closed_error(self) -> RunClosedError:
        return RunClosedError(
            f"Run {self.id} has ended; expected a running run. Start a new run with "
            "mainsail.start_run() to log more."
        )

    def end(self, status: str = "finished") -> None:
        """Flush everything and close the run with ``status`` (finished, failed or killed)."""
        with self._io_lock:
            if self._closed:
                return
            self._closed = True
            points = self._take()
            try:
                self._ctx.store.end_run(self.id, status, points)
            except BaseException:
                self._give_back(points)
                self._closed = False
                raise
        _active.discard(self)
        _pop_current(self)
        self._raise_flush_error()

    @property
    def info(self) -> Run:
        self.flush()
        return self._ctx.store.get_run(self.id)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed")
        else:
            self.end("failed")


# -- the current-run stack and the process-wide flusher ---------------------------------
_active: weakref.WeakSet[ActiveRun] = weakref.WeakSet()
_local = threading.local()
_seed: list[int] = []


def _stack() -> list[ActiveRun]:
    st: list[ActiveRun] | None = getattr(_local, "stack", None)
    if st is None:
        st = _local.stack = []
    return st


def _pop_current(run: ActiveRun) -> None:
    st = _stack()
    if run in st:
        st.remove(run)


def active_run() -> ActiveRun | None:
    """The innermost run started in this thread and not yet ended."""
    st = _stack()
    return st[-1] if st else None


class _Flusher:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.interval = 1.0

    def ensure_started(self, interval: float) -> None:
        self.interval = interval
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="mainsail-metric-flusher", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        self._event.set()

    def _loop(self) -> None:
        while True:
            self._event.wait(self.interval)
            self._event.clear()
            for run in list(_active):
                run._flush()
                run._heartbeat()


_flusher = _Flusher()


def start_run(
    ctx: Context,
    experiment: str = "default",
    name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> ActiveRun:
    """Start a run; use it as a context manager so it ends (finished or failed) by itself.

    Examples
    --------
    >>> import mainsail
    >>> with mainsail.start_run(experiment="churn", params={"depth": 3}) as run:  # doctest: +SKIP
    ...     run.log_metric("auc", 0.91, step=3)
    """
    from mainsail.core._uris import check_name

    check_name(experiment, "Experiment")
    settings = ctx.settings
    run_id = new_id()
    env = capture_environment(settings.capture_packages)
    commit, dirty = git_info(caller_folder())
    run_name = name or f"run-{run_id[:8]}"
    ctx.store.create_run(
        run_id,
        experiment,
        run_name,
        params=params,
        tags=tags,
        environment=env,
        user=_user(),
        source=_source(),
        git_commit=commit,
        git_dirty=dirty,
        seed=_seed[-1] if _seed else None,
    )
    run = ActiveRun(ctx, run_id, experiment, run_name)
    _active.add(run)
    _stack().append(run)
    _flusher.ensure_started(min(settings.metric_flush_interval, settings.run_heartbeat_interval))
    return run


def record_seed(seed: int) -> None:
    _seed.append(seed)
    run = active_run()
    if run is not None:
        run._ctx.store.set_run_fields(run.id, seed=seed)


def end_all_runs(status: str = "finished") -> None:
    for run in list(_active):
        try:
            run.end(status)
        except MainsailError:
            pass


_user_cache: list[str | None] = []


def _user() -> str | None:
    if not _user_cache:
        try:
            _user_cache.append(getpass.getuser())
        except (KeyError, OSError):
            _user_cache.append(None)
    return _user_cache[0]


def _source() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return str(Path(path).absolute()) if path else (sys.argv[0] or None)


# A process that exits with runs still open: flush them. An uncaught exception marks
# them failed; a normal exit finishes them. A killed process is reaped on the next read.
_died_of_exception: list[bool] = []
_previous_hook = sys.excepthook


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    _died_of_exception.append(True)
    _previous_hook(exc_type, exc, tb)


sys.excepthook = _excepthook


@atexit.register
def _at_exit() -> None:
    end_all_runs("failed" if _died_of_exception else "finished")

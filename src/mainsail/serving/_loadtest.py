"""Load tests: drive a real server step by step and record its capacity curve.

``load_test(ctx, "models:/churn@champion")`` starts ``mainsail serve`` for the version on a
free 127.0.0.1 port (an endpoint name serves the endpoint's stable version; a URL targets a
server that is already running), samples request bodies from the version's reference data (its lineage
dataset, else the input example in its package) or from a file, and runs one Locust step per
concurrency level or target rate. Each step runs in its own process (:mod:`._loadgen`),
so the generator's CPU is measured apart from the server's; the server's workers are
measured with psutil over the measured window only. The curve is stored on the version's
card (``card["capacity"]``, one curve per worker count).

A started server logs predictions as in production (the cost is part of the capacity), under
the endpoint name ``loadtest-NAME``: the synthetic traffic never reaches the prediction log,
sketches, monitors or rollout analysis of a real endpoint. ``log_predictions=False`` turns
logging off.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mainsail.core._capacity import CapacityCurve, CapacityPoint, with_curve
from mainsail.core._errors import InvalidValueError, MainsailError, MissingDependencyError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from mainsail.core._registry_schemas import ModelVersion
    from mainsail.store._context import Context

MAX_USERS = 1024
SHORTFALL = 0.9  # a rate step delivering less than this share of its target fell short
GENERATOR_BUSY = 85.0  # generator CPU % of one core above which it, not the server, limits


class LoadTestError(MainsailError):
    headline = "Load test failed"
    status = 502


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(ctx: Context) -> dict[str, str]:
    """This process's environment with the context's store, for a server child process."""
    s = ctx.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_SERVE_")}
    if s.tracking_uri:
        env["MAINSAIL_TRACKING_URI"] = s.tracking_uri
        if s.token is not None:
            env["MAINSAIL_TOKEN"] = s.token.get_secret_value()
    else:
        env["MAINSAIL_HOME"] = str(s.resolved_home())
        env["MAINSAIL_DATABASE_URL"] = s.resolved_database_url()
        env["MAINSAIL_ARTIFACT_ROOT"] = s.resolved_artifact_root()
    if s.encryption_key is not None:
        env["MAINSAIL_ENCRYPTION_KEY"] = s.encryption_key.get_secret_value()
    return env


def _status(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Raise :class:`LoadTestError` unless ``url`` answers ``/v2/health/ready`` with 200."""
    ready = url.rstrip("/") + "/v2/health/ready"
    try:
        code = _status(ready, timeout)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LoadTestError(
            f"Could not reach the server at {url}: {reason}. Expected a Mainsail (or other V2) "
            "server answering /v2/health/ready. Start one with 'mainsail serve "
            "models:/NAME@ALIAS', or give a model address and loadtest starts one."
        ) from None
    if code != 200:
        raise LoadTestError(
            f"The server at {url} is not ready: {ready} answered HTTP {code}. Expected 200. "
            "Wait until it has loaded its model, or check its log."
        )


def _require_locust() -> None:
    """Fail early when Locust is missing, without importing it: importing Locust patches
    this process's standard library with gevent (it only ever runs in the step process)."""
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        raise MissingDependencyError(
            "mainsail loadtest drives the server with Locust, which is not installed. "
            "Install it with: pip install 'mainsail[loadtest]'",
            module="locust",
            extra="loadtest",
        )


# -- request bodies ----------------------------------------------------------------------------
def _reference_rows(ctx: Context, version: ModelVersion) -> pd.DataFrame:
    """Rows of the version's reference data: its lineage dataset, else its input example."""
    import pandas as pd

    from mainsail.data._datasets import load_dataset
    from mainsail.registry._registry import materialise

    names = [c["name"] for c in version.signature.get("inputs", {}).get("columns", [])]
    for address in version.datasets:
        try:
            frame = load_dataset(ctx, address)
        except MainsailError:
            continue
        if names and all(n in frame.columns for n in names):
            return frame[names]
    example = materialise(ctx, version) / "input_example.parquet"
    if example.is_file():
        frame = pd.read_parquet(example)
        return frame[names] if names and all(n in frame.columns for n in names) else frame
    raise InvalidValueError(
        f"{version.address} has no reference rows to send: no lineage dataset with its input "
        "columns and no input example in its package. Give rows with --data FILE "
        "(CSV or Parquet)."
    )


def read_rows(path: str | os.PathLike[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Rows from a CSV or Parquet file, restricted to ``columns`` when given."""
    from mainsail.data._datasets import read_table

    if not Path(path).is_file():
        raise InvalidValueError(
            f"Expected a CSV or Parquet file of rows at '{path}'. Nothing is there."
        )
    frame = read_table(path)
    if frame.empty:
        raise InvalidValueError(f"The data file '{path}' has no rows. Give at least one row.")
    if columns:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InvalidValueError(
                f"The data file '{path}' lacks the model's input column(s) "
                f"{', '.join(missing)}. Its columns are: {', '.join(map(str, frame.columns))}."
            )
        frame = frame[columns]
    return frame


def request_bodies(
    frame: pd.DataFrame, rows_per_request: int, n: int = 200, seed: int = 0
) -> list[str]:
    """``n`` MLflow ``dataframe_split`` bodies, each of ``rows_per_request`` sampled rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        idx = rng.integers(0, len(frame), size=rows_per_request)
        split = json.loads(frame.iloc[idx].to_json(orient="split", index=False, date_format="iso"))
        out.append(json.dumps({"dataframe_split": split}))
    return out


# -- the server ------------------------------------------------------------------------------
@contextmanager
def served(
    ctx: Context,
    version: ModelVersion,
    workers: int,
    log_predictions: bool = True,
    timeout_s: float = 90.0,
) -> Iterator[tuple[str, int]]:
    """``mainsail serve`` of ``version`` as endpoint ``loadtest-NAME`` on a free 127.0.0.1
    port; yields (base URL, pid); the server is always stopped."""
    port = _free_port()
    cmd = [sys.executable, "-m", "mainsail", "serve", version.address]
    cmd += ["--endpoint", f"loadtest-{version.name}"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += [] if log_predictions else ["--no-log"]
    log = tempfile.NamedTemporaryFile(prefix="mainsail-loadtest-", suffix=".log", delete=False)  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, env=_server_env(ctx), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def output() -> str:
        log.flush()
        with open(log.name, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        return " | ".join(lines[-6:])[-1200:] or "no output"

    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise LoadTestError(
                    f"The server ({' '.join(cmd[2:])}) exited with code {proc.returncode} "
                    f"before it was ready: {output()}"
                )
            try:
                if _status(base + "/v2/health/ready", 1.0) == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise LoadTestError(
                    f"The server ({' '.join(cmd[2:])}) was not ready within {timeout_s:g} s: "
                    f"{output()}"
                )
            time.sleep(0.1)
        yield base, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        os.unlink(log.name)


class _Workers:
    """CPU and memory of a server's worker processes over a window (psutil, if installed)."""

    def __init__(self, pid: int | None, workers: int) -> None:
        self.pid = pid
        self.workers = workers
        self.procs: list[Any] = []
        self._t0 = 0.0
        self._cpu0: list[float] = []

    def _find(self) -> list[Any]:
        """The processes that serve: the server itself with one worker; with more, the
        children uvicorn's supervisor spawned (not multiprocessing's resource tracker),
        found again at every step so that a worker that was still loading counts too."""
        if self.pid is None:
            return []
        try:
            import psutil
        except ImportError:
            return []
        try:
            root = psutil.Process(self.pid)
            if self.workers == 1:
                return [root]
            children = []
            for child in root.children(recursive=False):
                try:
                    if "resource_tracker" not in " ".join(child.cmdline()):
                        children.append(child)
                except psutil.Error:
                    continue
            children.sort(key=lambda p: self._safe(lambda q: q.memory_info().rss, p), reverse=True)
            return children[: self.workers] or [root]
        except psutil.Error:
            return []

    @staticmethod
    def _cpu(p: Any) -> float:
        t = p.cpu_times()
        return float(t.user + t.system)

    def start(self) -> None:
        self.procs = self._find()
        self._t0 = time.perf_counter()
        self._cpu0 = [self._safe(self._cpu, p) for p in self.procs]

    def stop(self) -> tuple[list[float], list[float]]:
        wall = time.perf_counter() - self._t0
        if not self.procs or wall <= 0:
            return [], []
        cpu = [
            round(100.0 * max(0.0, self._safe(self._cpu, p) - c0) / wall, 1)
            for p, c0 in zip(self.procs, self._cpu0, strict=True)
        ]
        mem = [round(self._safe(lambda q: q.memory_info().rss, p) / 2**20, 1) for p in self.procs]
        return cpu, mem

    @staticmethod
    def _safe(fn: Callable[[Any], float], p: Any) -> float:
        try:
            return float(fn(p))
        except Exception:  # noqa: BLE001 - a worker that exited reads as zero
            return 0.0


# -- one step --------------------------------------------------------------------------------
def _users_for_rate(rate: float) -> int:
    """Users for a target rate: each sends at most 10 requests/s, so a slow answer (up to
    100 ms) does not by itself hold the rate back."""
    return max(2, min(MAX_USERS, math.ceil(rate / 10.0)))


def _run_step(
    url: str,
    bodies: list[str],
    users: int,
    rate: float | None,
    warmup_s: float,
    duration_s: float,
    timeout_s: float,
    workers: _Workers,
) -> dict[str, Any]:
    script = Path(__file__).with_name("_loadgen.py")
    spec = {
        "url": url,
        "path": "/invocations",
        "bodies": bodies,
        "users": users,
        "rate": rate,
        "warmup_s": warmup_s,
        "duration_s": duration_s,
        "timeout_s": timeout_s,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    result: dict[str, Any] | None = None
    limit = time.monotonic() + warmup_s + duration_s + timeout_s + 60
    try:
        with (
            tempfile.TemporaryFile("w+") as errors,
            subprocess.Popen(
                [sys.executable, str(script), f.name],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=env,
            ) as proc,
        ):
            assert proc.stdout is not None
            # a step that hangs is killed: reading its output then ends
            watchdog = threading.Timer(max(1.0, limit - time.monotonic()), proc.kill)
            watchdog.start()
            try:
                for line in proc.stdout:
                    line = line.strip()
                    if line == "window-start":
                        workers.start()
                    elif line == "window-end":
                        spec["cpu"], spec["mem"] = workers.stop()
                    elif line.startswith("{"):
                        result = json.loads(line)
                proc.wait()
            finally:
                watchdog.cancel()
            errors.seek(0)
            stderr = errors.read()
    finally:
        os.unlink(f.name)
    if result is None:
        tail = " | ".join(stderr.strip().splitlines()[-5:])[-800:]
        raise LoadTestError(
            f"The load generator (Locust) stopped without a result (exit code "
            f"{proc.returncode}): {tail or 'no output'}"
        )
    result["cpu_percent"] = spec.get("cpu", [])
    result["memory_mb"] = spec.get("mem", [])
    return result


def _point(raw: dict[str, Any], users: int, rate: float | None, rows: int) -> CapacityPoint:
    elapsed = float(raw["elapsed_s"]) or 1e-9
    requests, errors = int(raw["requests"]), int(raw["errors"])
    total = requests + errors
    shortfall = None
    if rate is not None:
        delivered = total / elapsed
        if delivered < SHORTFALL * rate:
            gen = raw.get("generator_cpu_percent") or 0.0
            why = (
                f"the load generator was saturated ({gen:.0f}% of a core): this machine "
                "cannot produce that rate with one Locust process"
                if gen >= GENERATOR_BUSY
                else f"the server did not keep up (p99 {raw.get('p99_ms') or float('nan'):.1f} ms "
                f"with {users} users, {errors} errors)"
            )
            shortfall = (
                f"asked for {rate:g} requests/s, delivered {delivered:.0f}/s "
                f"({delivered / rate:.0%}): {why}"
            )
    return CapacityPoint(
        concurrency=users,
        target_rps=rate,
        duration_s=round(elapsed, 3),
        requests=requests,
        errors=errors,
        error_rate=errors / total if total else 0.0,
        rps=requests / elapsed,
        rows_per_s=requests * rows / elapsed,
        p50_ms=raw.get("p50_ms"),
        p90_ms=raw.get("p90_ms"),
        p99_ms=raw.get("p99_ms"),
        max_ms=raw.get("max_ms"),
        cpu_percent=raw.get("cpu_percent") or [],
        memory_mb=raw.get("memory_mb") or [],
        generator_cpu_percent=raw.get("generator_cpu_percent"),
        shortfall=shortfall,
        error_samples=raw.get("error_samples") or {},
    )


def plan_steps(
    concurrency: list[int] | None,
    rate: list[float] | None,
    duration_s: float,
    warmup_s: float = 1.0,
    rows_per_request: int = 1,
    workers: int = 1,
) -> list[tuple[int, float | None]]:
    """The steps (users, target rate or None) a load test will run; bad settings raise
    :class:`~mainsail.core.InvalidValueError` before anything starts."""
    _require_locust()
    if not math.isfinite(duration_s) or duration_s <= 0:
        raise InvalidValueError(
            f"The duration of each step must be a positive number of seconds. Got {duration_s!r}; "
            "use e.g. --duration 10."
        )
    if not math.isfinite(warmup_s) or warmup_s < 0:
        raise InvalidValueError(f"The warm-up must be 0 or more seconds. Got {warmup_s!r}.")
    if concurrency and rate:
        raise InvalidValueError(
            "Give concurrency levels or target rates, not both: a step either holds N users "
            "sending back to back (--concurrency 1,4,16) or offers a rate (--rate 100,500)."
        )
    if rows_per_request < 1:
        raise InvalidValueError(f"Rows per request must be 1 or more. Got {rows_per_request}.")
    if workers < 1:
        raise InvalidValueError(f"Workers must be 1 or more. Got {workers}.")
    for level in concurrency or []:
        if not 1 <= level <= MAX_USERS:
            raise InvalidValueError(
                f"Concurrency levels must be between 1 and {MAX_USERS}. Got {level}."
            )
    for r in rate or []:
        if not math.isfinite(r) or r <= 0:
            raise InvalidValueError(f"Target rates must be positive requests/s. Got {r!r}.")
    return (
        [(_users_for_rate(r), float(r)) for r in rate]
        if rate
        else [(c, None) for c in (concurrency or [1, 4, 16])]
    )


# -- the whole test --------------------------------------------------------------------------
def load_test(
    ctx: Context,
    target: str,
    *,
    concurrency: list[int] | None = None,
    rate: list[float] | None = None,
    duration_s: float = 10.0,
    warmup_s: float = 1.0,
    rows_per_request: int = 1,
    workers: int = 1,
    data: str | os.PathLike[str] | None = None,
    version: str | None = None,
    store: bool = True,
    timeout_s: float = 10.0,
    log_predictions: bool = True,
    on_point: Callable[[CapacityPoint], None] | None = None,
) -> CapacityCurve:
    """Drive a real server step by step and return (and store) its capacity curve.

    Parameters
    ----------
    target : a model address (``models:/churn@champion``; a server is started for it), an
        endpoint name (its current stable version is served), or a URL of a running server.
    concurrency : users (open connections sending back to back) per step; default 1, 4, 16.
    rate : target requests/s per step instead; a step that cannot deliver its rate says so
        in its ``shortfall`` and why (the generator or the server).
    duration_s, warmup_s : measured seconds per step, after the warm-up.
    version : with a URL target, the model version to store the curve on.
    store : store the curve on the version's card (``card["capacity"]``).
    log_predictions : a started server logs predictions (as endpoint ``loadtest-NAME``).

    Examples
    --------
    >>> curve = load_test(ctx, "models:/churn@champion", concurrency=[1, 8])  # doctest: +SKIP
    >>> [round(p.rps) for p in curve.points]  # doctest: +SKIP
    [310, 1450]
    """
    steps = plan_steps(concurrency, rate, duration_s, warmup_s, rows_per_request, workers)

    from mainsail.registry._versions import resolve_version

    mv: ModelVersion | None = None
    url = None
    if target.startswith(("http://", "https://")):
        url = target.rstrip("/")
        if version:
            mv = resolve_version(ctx, version)
        if data is None and mv is None:
            raise InvalidValueError(
                f"A URL target ({target}) needs rows to send: give --data FILE (CSV or Parquet), "
                "or --version models:/NAME/N to sample that version's reference data."
            )
        check_reachable(url)
    elif target.startswith("models:/"):
        mv = resolve_version(ctx, target)
    else:
        from mainsail.rollout._api import get_endpoint

        ep = get_endpoint(ctx, target)
        stable = next((v for v in ep.variants if v.role == "stable"), None) or max(
            ep.variants, key=lambda v: v.weight
        )
        mv = resolve_version(ctx, stable.address)

    names = [c["name"] for c in (mv.signature if mv else {}).get("inputs", {}).get("columns", [])]
    frame = read_rows(data, names or None) if data is not None else _reference_rows(ctx, mv)  # type: ignore[arg-type]
    bodies = request_bodies(frame, rows_per_request)

    curve = CapacityCurve(
        target=target,
        model=mv.name if mv else None,
        version=mv.version if mv else None,
        workers=workers if url is None else None,
        rows_per_request=rows_per_request,
        mode="rate" if rate else "concurrency",
        generator=f"locust {_locust_version()}",
        cpu_count=os.cpu_count(),
        created_at=int(time.time() * 1000),
    )

    def drive(base: str, pid: int | None) -> None:
        meter_workers = _Workers(pid, workers)
        for users, r in steps:
            raw = _run_step(base, bodies, users, r, warmup_s, duration_s, timeout_s, meter_workers)
            point = _point(raw, users, r, rows_per_request)
            curve.points.append(point)
            if on_point is not None:
                on_point(point)

    if url is not None:
        drive(url, None)
    else:
        assert mv is not None
        with served(ctx, mv, workers, log_predictions) as (base, pid):
            drive(base, pid)
    if store and mv is not None:
        fresh = ctx.store.get_model_version(mv.name, mv.version)
        ctx.store.update_model_version(mv.name, mv.version, card=with_curve(fresh.card, curve))
    return curve


def _locust_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("locust")
    except PackageNotFoundError:
        return "?"


__all__ = [
    "LoadTestError",
    "check_reachable",
    "load_test",
    "plan_steps",
    "read_rows",
    "request_bodies",
]

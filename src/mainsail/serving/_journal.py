"""The prediction log's journal: every answered batch on local disk before its reply is sent.

The predict thread appends each served batch to an Arrow IPC stream file under a local
journal folder (a ``write`` into the page cache, ~0.1 ms; no ``fsync``: a killed process
loses nothing the kernel already has). Every ``flush_interval`` the open files are closed
("rotated"), and a consumer turns closed files into the Parquet segments of the prediction
log, folds them into the live sketches, and deletes them. The request path never waits on
Parquet writes or sketch merging.

The consumer runs either in a thread of the serving process, or — with ``process=True``, as
``mainsail serve`` does — in a child process (``python -m mainsail.serving._journal``), so
its work never holds the serving process's GIL. The child drains on a timer, on a
``flush`` line from its parent (answered by ``done``), and, when its stdin closes (the parent
exited, even by SIGKILL), a last time before it exits.

Files are claimed with an exclusive ``flock``: the writer holds it on the files it appends
to; a consumer processes any file it can lock, so the open file of a killed writer is
recovered by the next consumer — the child of the dead worker, or any later server on the
same journal folder. A segment is named after its journal file, so a retry after a crash
mid-way rewrites the same segment instead of duplicating rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mainsail.serving._predlog import LiveSketches
from mainsail.serving._settings import ServeSettings

if TYPE_CHECKING:
    from mainsail.store._context import Context

log = logging.getLogger("mainsail.serving")

_OPEN, _READY = ".open", ".ready"


def _column(values: Any, n: int) -> Any:
    """A per-row Arrow array from a scalar or an array of ``n`` values."""
    import pyarrow as pa

    if isinstance(values, np.ndarray | list):
        arr = np.asarray(values)
        if arr.ndim > 1:
            return pa.array(list(arr))
        if arr.dtype.kind == "U":
            arr = arr.astype(object)
        return pa.array(arr, from_pandas=True)
    return pa.array([values] * n)


def record_batch(frame: pd.DataFrame, predictions: Any, meta: dict[str, Any]) -> Any:
    """One served batch as the prediction log's columns (meta, ``input.*``, prediction)."""
    import pyarrow as pa

    n = len(frame)
    names, arrays = [], []
    for key, values in meta.items():
        names.append(key)
        arrays.append(_column(values, n))
    columns = frame.columns.tolist()
    block = frame.to_numpy() if columns else None
    if block is not None and block.dtype.kind in "fiub":
        # All numeric (the usual case): one transpose, one zero-copy array per column
        # (pa.array on a pandas Series costs ~30 us a column; this ~1.5 us).
        for col, values in zip(columns, np.ascontiguousarray(block.T), strict=True):
            names.append(f"input.{col}")
            arrays.append(pa.array(values))
    else:
        for col in columns:
            names.append(f"input.{col}")
            arrays.append(pa.array(frame[col], from_pandas=True))
    if predictions is not None:
        names.append("prediction")
        arrays.append(_column(np.asarray(predictions), n))
    return pa.RecordBatch.from_arrays(arrays, names=names)


class _Open:
    """One journal file being appended to (one Arrow schema per file)."""

    def __init__(self, path: Path, schema: Any) -> None:
        import pyarrow as pa

        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.sink = pa.OSFile(str(path), "wb")  # truncates the (empty) file we created
        self.writer = pa.ipc.new_stream(self.sink, schema)
        self.rows = 0

    def write(self, batch: Any) -> None:
        self.writer.write_batch(batch)
        self.sink.flush()  # into the page cache now: a SIGKILL must not lose an answered row
        self.rows += batch.num_rows

    def finish(self) -> None:
        ready = self.path.with_suffix(_READY)
        os.replace(self.path, ready)  # still locked: no consumer reads it half-closed
        try:
            self.writer.close()
            self.sink.close()
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)


class JournalWriter:
    """The prediction log as seen by the serving process: append, flush, close.

    Same interface as :class:`~mainsail.serving._predlog.SegmentWriter` (``append``,
    ``start``, ``flush``, ``close``), backed by the journal. ``sketches`` is the
    :class:`~mainsail.serving._predlog.LiveSketches` the rows are folded into: this one in
    thread mode; in process mode the child builds its twin (same replica, same reference)
    and this one keeps only the serving process's own counts (errors, refusals).
    """

    def __init__(
        self,
        journal: str | Path,
        root: str,
        kind: str,
        endpoint: str,
        flush_interval: float = 2.0,
        sketches: LiveSketches | None = None,
        process: bool = False,
        max_file_rows: int = 50_000,
    ) -> None:
        from fsspec.core import url_to_fs

        self.dir = Path(journal)
        self.root = root
        self.kind = kind
        self.endpoint = endpoint
        self.fs, base = url_to_fs(root)  # where the log's segments land (readers use these)
        self.base = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
        self.flush_interval = flush_interval
        self.sketches = sketches
        self.process = process
        self.max_file_rows = max_file_rows
        self._open: dict[Any, _Open] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._consumer: Consumer | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._child_lock = threading.Lock()
        self.rows_journaled = 0

    # -- the request path ----------------------------------------------------------------------
    def append(
        self, frame: pd.DataFrame, predictions: np.ndarray | None = None, **meta: Any
    ) -> None:
        batch = record_batch(frame, predictions, meta)
        with self._lock:
            f = self._open.get(batch.schema)
            if f is None:
                self.dir.mkdir(parents=True, exist_ok=True)
                self._seq += 1
                name = f"{self.kind}-{int(time.time() * 1000)}-{os.getpid()}-{self._seq}{_OPEN}"
                f = self._open[batch.schema] = _Open(self.dir / name, batch.schema)
            f.write(batch)
            self.rows_journaled += batch.num_rows
            full = f.rows >= self.max_file_rows
        if full:
            self.rotate()

    # -- background --------------------------------------------------------------------------
    def rotate(self) -> int:
        """Close the open journal files (the consumer takes them from here)."""
        with self._lock:
            files, self._open = list(self._open.values()), {}
        for f in files:
            f.finish()
        return sum(f.rows for f in files)

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.process:
            self._spawn()
        else:
            self._consumer = Consumer(self.dir, self.root, self.kind, self.endpoint, self.sketches)
        if self._timer is None:
            self._timer = threading.Thread(
                target=self._loop, name=f"mainsail-journal-{self.kind}", daemon=True
            )
            self._timer.start()

    def _spawn(self) -> None:
        sk = self.sketches
        config = {
            "journal": str(self.dir),
            "root": self.root,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "interval": self.flush_interval,
            "sketches": None
            if sk is None
            else {
                "replica": sk.replica,
                "window_s": sk.window_s,
                "watch_pid": os.getpid(),
                "reference": sk.reference.to_dict() if sk.reference is not None else None,
            },
        }
        if sk is not None:
            sk.suffix = "-counts"  # the child writes the replica's main file
        path = self.dir / f".consumer-{os.getpid()}-{self.kind}.json"
        path.write_text(json.dumps(config))  # a reference profile can outgrow an argument
        self._child = subprocess.Popen(
            [sys.executable, "-m", "mainsail.serving._journal", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C to the server's group must not kill it first
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                self.rotate()
                if self._consumer is not None:
                    self._consumer.drain()
                if self.sketches is not None:
                    self.sketches.flush()  # refusal and error counts, even with no rows
            except Exception:  # noqa: BLE001 - the files stay; the next tick retries
                log.warning("prediction-log journal: drain failed; retrying", exc_info=True)

    def flush(self) -> int:
        """Rotate and have every closed journal file written to the log (synchronously)."""
        self.rotate()
        if self._consumer is not None:
            return self._consumer.drain()
        if self._child is not None:
            with self._child_lock:
                assert self._child.stdin is not None and self._child.stdout is not None
                self._child.stdin.write(b"flush\n")
                self._child.stdin.flush()
                line = self._child.stdout.readline()
            return int(line.split()[1]) if line.startswith(b"done") else 0
        return Consumer(self.dir, self.root, self.kind, self.endpoint, self.sketches).drain()

    def close(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=10)
            self._timer = None
        self.rotate()
        if self._child is not None:
            assert self._child.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self._child.stdin.close()  # the child drains a last time and exits
            try:
                self._child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                log.warning("prediction-log writer did not finish in 60 s; its files stay")
            self._child = None
        elif self._consumer is not None:
            self._consumer.drain()


class Consumer:
    """Turns closed (or orphaned) journal files into log segments and sketch updates."""

    def __init__(
        self,
        journal: Path,
        root: str,
        kind: str,
        endpoint: str,
        sketches: LiveSketches | dict[str, Any] | None = None,
    ) -> None:
        from fsspec.core import url_to_fs

        self.dir = journal
        self.kind = kind
        self.fs, base = url_to_fs(root)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        self.base = f"{base.rstrip('/')}/{kind}/endpoint={endpoint}"
        self.sketches: LiveSketches | None = None
        if isinstance(sketches, dict):  # the child process: its twin of the parent's sketches
            from mainsail.data._profile import Profile

            args = dict(sketches)
            ref = args.pop("reference", None)
            self.sketches = LiveSketches(
                root, endpoint, reference=Profile.from_dict(ref) if ref else None, **args
            )
        else:
            self.sketches = sketches
        self._lock = threading.Lock()
        self.rows_written = 0

    def drain(self) -> int:
        """Write every journal file no live writer holds; the rows written."""
        with self._lock:
            if not self.dir.exists():
                return 0
            names = sorted(
                p
                for p in os.listdir(self.dir)
                if p.startswith(f"{self.kind}-") and p.endswith((_OPEN, _READY))
            )
            total = 0
            for name in names:
                total += self._one(self.dir / name)
            if total and self.sketches is not None:
                self.sketches.flush()
            self.rows_written += total
            return total

    def _one(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return 0  # another consumer took it
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # a live writer (or another consumer) holds it
            if not path.exists():
                return 0
            table = _read(path)
            rows = 0
            if table is not None and table.num_rows:
                rows = self._write(table, path.name.rsplit(".", 1)[0])
                if self.sketches is not None:
                    try:
                        self.sketches.observe(table.to_pandas())
                    except Exception:  # noqa: BLE001 - sketches must never cost log rows
                        log.warning("live sketches could not fold a batch", exc_info=True)
            path.unlink(missing_ok=True)
            return rows
        finally:
            os.close(fd)

    def _write(self, table: Any, stem: str) -> int:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        ts = table.column("ts")
        dates = pc.strftime(pc.cast(ts, pa.timestamp("ms", tz="UTC")), format="%Y-%m-%d")
        for date in pc.unique(dates).to_pylist():
            part = table if len(pc.unique(dates)) == 1 else table.filter(pc.equal(dates, date))
            folder = f"{self.base}/date={date}"
            name = f"{stem}.parquet"
            if self.local:
                os.makedirs(folder, exist_ok=True)
                tmp = f"{folder}/.{name}.tmp"
                pq.write_table(part, tmp)
                os.replace(tmp, f"{folder}/{name}")
            else:
                with self.fs.open(f"{folder}/{name}", "wb") as f:
                    pq.write_table(part, f)
        return int(table.num_rows)


def _read(path: Path) -> Any:
    """Every complete batch of a journal file (a killed writer leaves a torn tail)."""
    import pyarrow as pa

    batches = []
    try:
        with pa.OSFile(str(path), "rb") as f:
            reader = pa.ipc.open_stream(f)
            schema = reader.schema
            while True:
                try:
                    batches.append(reader.read_next_batch())
                except StopIteration:
                    break
    except (pa.ArrowInvalid, OSError):  # empty, or torn mid-message: keep what is whole
        if not batches:
            return None
        schema = batches[0].schema
    return pa.Table.from_batches(batches, schema=schema)


def main(argv: list[str] | None = None) -> int:
    """The child process: drain on a timer, on ``flush``, and once more at stdin's end."""
    path = Path((argv or sys.argv[1:])[0])
    config = json.loads(path.read_text())
    path.unlink(missing_ok=True)  # read once: nothing to clean up after a crash
    consumer = Consumer(
        Path(config["journal"]),
        config["root"],
        config["kind"],
        config["endpoint"],
        config.get("sketches"),
    )
    interval = float(config.get("interval", 2.0))
    stdin = sys.stdin.buffer
    out = sys.stdout.buffer
    consumer.drain()  # what a killed predecessor left
    while True:
        ready, _, _ = select.select([stdin], [], [], interval)
        if not ready:
            _safe_drain(consumer)
            continue
        line = stdin.readline()
        if not line:  # the parent closed stdin or died
            _safe_drain(consumer)
            return 0
        n = _safe_drain(consumer)
        out.write(f"done {n}\n".encode())
        out.flush()


def _safe_drain(consumer: Consumer) -> int:
    try:
        return consumer.drain()
    except Exception:  # noqa: BLE001 - the files stay for the next pass
        log.warning("prediction-log writer: drain failed; retrying", exc_info=True)
        return 0


def prediction_journal(
    ctx: Context, settings: ServeSettings, endpoint: str, sketches: LiveSketches | None
) -> JournalWriter:
    """The prediction log of a plane: journal under the home folder, log in the artifacts."""
    folder = Path(settings.journal_dir or ctx.settings.resolved_home() / "journal")
    return JournalWriter(
        folder / f"endpoint={endpoint}",
        ctx.settings.resolved_artifact_root(),
        "predictions",
        endpoint,
        settings.log_flush_interval,
        sketches=sketches,
        process=settings.log_process,
    )


if __name__ == "__main__":  # pragma: no cover - run as the serving process's child
    sys.exit(main())

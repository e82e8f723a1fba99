"""The Ray executor: each step is a Ray task on a local or remote cluster.

Sizing, so a 2-core machine cannot deadlock: every task asks for ``num_cpus=1`` (a
cluster of N CPUs runs at most N steps at once); the driver is not a task, holds no CPU
slot and never waits inside a task, and tasks never start nested tasks. A local cluster
is started with ``num_cpus=2`` (or ``executor_options["num_cpus"]``) and no dashboard,
and shut down when the pipeline ends. ``MAINSAIL_RAY_ADDRESS`` or
``executor_options["address"]`` connects to an existing cluster instead (left running);
its workers must reach the artifact store (S3, or a shared folder) and import the step
code.

Tasks only read and write artifacts; the driver records everything in the database.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mainsail.core._errors import UnknownExecutorError
from mainsail.core._optional import import_optional
from mainsail.pipelines._executors import StepTask, TaskResult, execute_task

if TYPE_CHECKING:
    from mainsail.store._context import Context

_OPTIONS = ("address", "num_cpus", "task_cpus", "runtime_env")


@contextlib.contextmanager
def _import_path_for_workers(local: bool) -> Iterator[None]:
    """Local workers inherit the environment of ``ray.init``: give them our import path.

    (Cheaper than a ``runtime_env``, which makes Ray start an agent and fresh workers.)
    """
    if not local:
        yield
        return
    before = os.environ.get("PYTHONPATH")
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _run_task(task: StepTask) -> TaskResult:
    return execute_task(task)


class RayExecutor:
    """Runs steps as Ray tasks (``pip install 'mainsail[ray]'``).

    Examples
    --------
    >>> pr = my_pipeline.run(executor="ray")  # doctest: +SKIP
    >>> pr = my_pipeline.run(executor="ray", executor_options={"address": "ray://head:10001"})  # doctest: +SKIP
    """

    name = "ray"

    def __init__(self, ctx: Context, **options: Any) -> None:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise UnknownExecutorError(
                f"The ray executor has no option(s) {', '.join(unknown)}. "
                f"Valid options: {', '.join(_OPTIONS)}."
            )
        if ctx.artifacts.root_url.startswith(("http://", "https://")):
            # Ray tasks rebuild the artifact store from its root: a server's is not one
            raise UnknownExecutorError(
                "The ray executor reads and writes artifacts directly (S3 or a shared folder), "
                f"and this client's store is the server at {ctx.artifacts.root_url}. Run the "
                "pipeline with executor='inprocess' here, or run it on a host that reaches the "
                "store directly (without MAINSAIL_TRACKING_URI)."
            )
        self.ray = import_optional("ray", extra="ray")
        address = options.get("address") or ctx.settings.ray_address
        self._started = False
        if not self.ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = int(options.get("num_cpus", 2))
            if options.get("runtime_env"):
                kwargs["runtime_env"] = dict(options["runtime_env"])
            with _import_path_for_workers(local=not address):
                self.ray.init(**kwargs)
            self._started = not address
        self._remote = self.ray.remote(num_cpus=float(options.get("task_cpus", 1)), max_retries=0)(
            _run_task
        )

    def submit(self, task: StepTask) -> Any:
        return self._remote.remote(task)

    def wait(self, handles: list[Any]) -> list[tuple[Any, TaskResult]]:
        done, _ = self.ray.wait(handles, num_returns=1)
        out = []
        for h in done:
            try:
                out.append((h, self.ray.get(h)))
            except Exception as exc:  # noqa: BLE001 - the worker died, or the task never ran
                out.append((h, TaskResult(node=-1, ok=False, error=f"Ray task failed: {exc}")))
        return out

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()
            self._started = False

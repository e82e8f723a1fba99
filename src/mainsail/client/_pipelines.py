"""SDK facade for pipelines: ``@mainsail.pipeline`` objects that run on the process context,
and the functions that run and read pipeline runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, overload

from mainsail import pipelines as _pipelines
from mainsail.client._bind import sdk
from mainsail.client._context import get_context
from mainsail.pipelines import _records, _runner
from mainsail.pipelines._records import PipelineRun


class Pipeline(_pipelines.Pipeline):
    """A pipeline (see :class:`mainsail.pipelines.Pipeline`) with :meth:`run` on the SDK's
    context: what ``@mainsail.pipeline`` makes.

    Examples
    --------
    >>> import mainsail
    >>> @mainsail.step
    ... def load(n: int) -> list:
    ...     return list(range(n))
    >>> @mainsail.pipeline
    ... def demo(n: int = 10):
    ...     return {"xs": load(n)}
    >>> demo.run(params={"n": 4}).outputs["xs"]  # doctest: +SKIP
    [0, 1, 2, 3]
    """

    def run(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        executor: str = "inprocess",
        cache: bool = True,
        trigger: Mapping[str, Any] | None = None,
        experiment: str | None = None,
        progress: bool = True,
        executor_options: Mapping[str, Any] | None = None,
    ) -> PipelineRun:
        """Run the pipeline; returns the recorded :class:`PipelineRun` (also when it failed).

        Parameters
        ----------
        params : arguments for the pipeline function (JSON values).
        executor : ``"inprocess"`` (default) or ``"ray"``, or a registered executor name.
        cache : False reruns every step (``--no-cache``).
        trigger : why it runs (stored with the run, e.g. ``{"kind": "drift", ...}``).
        experiment : experiment of the tracking Run (default ``"pipelines"``).
        progress : show a Rich progress bar.
        executor_options : passed to the executor (Ray: ``address``, ``num_cpus``).
        """
        return _runner.run_pipeline(
            get_context(),
            self,
            params=params,
            executor=executor,
            cache=cache,
            trigger=trigger,
            experiment=experiment,
            progress=progress,
            executor_options=executor_options,
        )


@overload
def pipeline(fn: Callable[..., Any]) -> Pipeline: ...
@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[..., Any]], Pipeline]: ...
def pipeline(
    fn: Callable[..., Any] | None = None, *, name: str | None = None
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function that calls steps a pipeline you can ``.run()``."""
    if fn is not None:
        return Pipeline(fn)

    def wrap(f: Callable[..., Any]) -> Pipeline:
        return Pipeline(f, name=name)

    return wrap


get_pipeline_run = sdk(_records.get_pipeline_run)
list_pipeline_runs = sdk(_records.list_pipeline_runs)
run_pipeline = sdk(_runner.run_pipeline)
why_rerun = sdk(_pipelines.why_rerun)
lineage = sdk(_pipelines.lineage)

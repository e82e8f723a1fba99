"""The driver: plan each step (cache hit or run), hand tasks to the executor, record it all.

A step's cache key is the SHA-256 of its components: its name, code (see
:mod:`~mainsail.pipelines._code`), JSON parameters, input artifact digests and output
names. Outputs are reused only from an entry whose ``committed`` flag is set, which
happens after every output is written; a run killed mid-way leaves an uncommitted entry.

Before running a step the driver claims its key (``begin_cache_entry``). When another
pipeline run, in this process or another client of the same store, holds a live claim,
the step waits for that run to commit and then reuses its outputs, so two runs racing on
one key never both compute it; the waiter logs who holds the claim every 30 s. A step
that fails (or is interrupted) releases its claim at once, even while the rest of its run
carries on, so a waiter claims the key and runs the step itself; so it does when the
holder's run finishes without committing, or when a claim is older than 6 h (the holder's
process died and its run still says running).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

from mainsail.core._errors import PipelineDefinitionError, PipelineRunNotFoundError
from mainsail.core._ids import new_id, now_ms
from mainsail.pipelines._code import code_components
from mainsail.pipelines._executors import StepTask, TaskResult, make_executor, wait_one
from mainsail.pipelines._records import PipelineRun, load_pipeline_run
from mainsail.pipelines._serialize import is_json_param, store_value
from mainsail.pipelines._step import Graph, Node, Pipeline, Ref
from mainsail.store._crypto import settings_key

if TYPE_CHECKING:
    from mainsail.store._context import Context

CACHE_FORMAT = 1
_POLL_S = (0.05, 1.0)  # while waiting on another run's claim: first and longest poll
_WAIT_LOG_S = 30.0  # while waiting on another run's claim: how often to say who holds it

log = logging.getLogger("mainsail.pipelines")


def cache_key(components: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(components, option=orjson.OPT_SORT_KEYS)).hexdigest()


def diff_components(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two steps' cache components."""
    out: list[str] = []
    oc, nc = old.get("code", {}), new.get("code", {})
    files = {**old.get("files", {}), **new.get("files", {})}
    for k in sorted(set(oc) | set(nc)):
        where = f" ({files[k]})" if k in files else ""
        if k not in oc:
            out.append(f"code changed: new dependency {k}{where}")
        elif k not in nc:
            out.append(f"code changed: no longer uses {k}{where}")
        elif oc[k] != nc[k]:
            out.append(f"code changed: {k}{where}")
    op, np_ = old.get("params", {}), new.get("params", {})
    for k in sorted(set(op) | set(np_)):
        if k not in op:
            out.append(f"param {k} added (= {np_[k]!r})")
        elif k not in np_:
            out.append(f"param {k} removed (was {op[k]!r})")
        elif op[k] != np_[k]:
            out.append(f"param {k} changed from {op[k]!r} to {np_[k]!r}")
    oi, ni = old.get("inputs", {}), new.get("inputs", {})
    for k in sorted(set(oi) | set(ni)):
        if k not in oi:
            out.append(f"input {k} added (digest {ni[k][:12]})")
        elif k not in ni:
            out.append(f"input {k} removed")
        elif oi[k] != ni[k]:
            src = new.get("sources", {}).get(k)
            via = f" (output {src})" if src else ""
            out.append(f"input {k} digest changed from {oi[k][:12]} to {ni[k][:12]}{via}")
    if old.get("outputs") != new.get("outputs"):
        out.append(f"outputs changed from {old.get('outputs')} to {new.get('outputs')}")
    if old.get("format") != new.get("format"):
        out.append("cache format of Mainsail changed")
    return out


def _progress(enabled: bool, total: int, name: str) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    bar.start()
    bar.add_task(f"pipeline {name}", total=total)
    return bar


@contextmanager
def _bar(enabled: bool, total: int, name: str) -> Iterator[Any]:
    bar = _progress(enabled, total, name)
    try:
        yield bar
    finally:
        if bar is not None:
            bar.stop()


def _advance(bar: Any, node: Node, status: str) -> None:
    if bar is not None:
        task = bar.task_ids[0]
        bar.update(task, advance=1, description=f"{node.name}: {status}")


class _Driver:
    def __init__(
        self, ctx: Context, pipeline: Pipeline, graph: Graph, prid: str, run_id: str, cache: bool
    ):
        self.ctx = ctx
        self.run_id = run_id
        self.pipeline = pipeline
        self.graph = graph
        self.prid = prid
        self.cache = cache
        self.metas: dict[int, dict[str, dict[str, Any]]] = {}  # node -> output -> meta
        self.status: dict[int, str] = {}
        self.step_run_ids: dict[int, int] = {}
        self.keys: dict[int, str] = {}
        self.owned: set[int] = set()  # nodes whose cache key this run claimed
        self.waiting: dict[int, dict[str, Any]] = {}  # node -> entry claimed by another run
        self.logged_wait: dict[int, float] = {}  # node -> when its wait was last logged
        self.errors: list[str] = []
        self.key = settings_key(ctx.settings)  # tasks elsewhere rebuild the artifact store

    # -- planning --------------------------------------------------------------------------
    def components(self, node: Node) -> tuple[dict[str, Any], dict[str, Any], StepTask]:
        params: dict[str, Any] = {}
        inputs: dict[str, dict[str, Any]] = {}
        lineage: dict[str, dict[str, Any]] = {}
        for name, value in node.args.items():
            if isinstance(value, Ref):
                meta = self.metas[value.node][value.output]
                inputs[name] = meta
                lineage[name] = {"digest": meta["digest"], "from": f"{value.step}.{value.output}"}
            elif is_json_param(value):
                params[name] = value
                lineage[name] = {"value": value}
            else:  # a literal object passed in by the pipeline function: store it too
                meta = store_value(self.ctx.artifacts, value, node.step.allow_pickle)
                inputs[name] = meta
                lineage[name] = {"digest": meta["digest"], "from": "literal"}
        code, files = code_components(node.step.fn)
        comps = {
            "step": node.step.name,
            "code": code,
            "files": files,
            "params": params,
            "inputs": {k: m["digest"] for k, m in inputs.items()},
            "outputs": list(node.step.outputs),
            "format": CACHE_FORMAT,
            "sources": {k: v["from"] for k, v in lineage.items() if "from" in v},
        }
        # where code lives and which step an input came from do not change the result
        keyed = {k: v for k, v in comps.items() if k not in ("files", "sources")}
        task = StepTask(
            node=node.index,
            step_name=node.name,
            fn=node.step.fn,
            split=node.step.split,
            params=params,
            inputs=inputs,
            allow_pickle=node.step.allow_pickle,
            artifact_root=self.ctx.artifacts.root_url,
            encryption_key=self.key,
            require_encryption=self.ctx.settings.require_encryption,
        )
        comps["key"] = cache_key(keyed)
        return comps, lineage, task

    def reason(self, node: Node, comps: dict[str, Any], entry: dict[str, Any] | None) -> list[str]:
        if not self.cache:
            return ["cache disabled (--no-cache)"]
        if not node.step.cache:
            return ["cache disabled for this step (@step(cache=False))"]
        if entry is not None and not entry["committed"]:
            return [
                "cache entry not committed: an earlier run's step failed or stopped before "
                "writing every output"
            ]
        if entry is not None:
            return ["a cached output artifact is missing from the artifact store"]
        prev = self.ctx.store.latest_cache_entry(node.step.name)
        if prev is None:
            return ["no cache entry"]
        diffs = diff_components(prev["components"], comps)
        return diffs or ["no cache entry"]

    def held_elsewhere(self, entry: dict[str, Any] | None) -> bool:
        """True while ``entry`` is another pipeline run's live, uncommitted claim."""
        from mainsail.store._sql_pipelines import CLAIM_STALE_MS

        if entry is None or entry["committed"]:
            return False
        holder = entry["pipeline_run_id"]
        if (
            holder is None
            or holder == self.prid
            or now_ms() - entry["created_at"] >= CLAIM_STALE_MS
        ):
            return False
        try:
            return self.ctx.store.get_pipeline_run_row(holder)["status"] == "running"
        except PipelineRunNotFoundError:
            return False

    def log_wait(self, node: Node, entry: dict[str, Any] | None) -> None:
        """Say which run holds the claim a step waits on: at once, then every 30 s."""
        from mainsail.store._sql_pipelines import CLAIM_STALE_MS

        now = time.monotonic()
        last = self.logged_wait.get(node.index)
        if entry is None or (last is not None and now - last < _WAIT_LOG_S):
            return
        self.logged_wait[node.index] = now
        age_s = max(0, now_ms() - int(entry.get("created_at") or now_ms())) // 1000
        log.warning(
            "Step %r of pipeline run %s waits for pipeline run %s, which claimed its cache "
            "key %s %d s ago and is still running; it reuses that run's outputs when they "
            "are committed, or runs the step itself if that run fails the step or ends. A "
            "claim older than %d h is taken over even if its run still says running (its "
            "process died).",
            node.name,
            self.prid,
            entry.get("pipeline_run_id"),
            str(self.keys.get(node.index, ""))[:12],
            age_s,
            CLAIM_STALE_MS // 3_600_000,
        )

    def release(self, node: Node) -> None:
        """Give up this run's claim on the node's key: nothing of it will be committed."""
        if node.index in self.owned:
            self.owned.discard(node.index)
            self.ctx.store.release_cache_entry(self.keys[node.index], self.prid)

    def plan(self, node: Node) -> StepTask | None:
        """Record a cached step and return None, or return the task to run.

        Returns None too, with the node in ``waiting``, while another run holds the claim.
        """
        comps, lineage, task = self.components(node)
        key = comps.pop("key")
        self.keys[node.index] = key
        entry = self.ctx.store.get_cache_entry(key)
        if node.index in self.waiting and self.held_elsewhere(entry):
            self.log_wait(node, entry)
            return None  # reads only while waiting; the claim below is a write
        usable = (
            entry is not None
            and entry["committed"]
            and all(self.ctx.artifacts.exists(m["digest"]) for m in entry["outputs"].values())
        )
        now = now_ms()
        caching = self.cache and node.step.cache
        if caching and usable and entry is not None:
            self.waiting.pop(node.index, None)
            self.metas[node.index] = entry["outputs"]
            self.status[node.index] = "cached"
            self.step_run_ids[node.index] = self.ctx.store.add_step_run(
                pipeline_run_id=self.prid,
                step=node.name,
                cache_key=key,
                status="cached",
                inputs=lineage,
                outputs=entry["outputs"],
                reason=[],
                cached_from=entry["pipeline_run_id"],
                started_at=now,
                finished_at=now,
            )
            self._record_artifacts(node, entry["outputs"])
            return None
        reason = self.reason(node, comps, entry)
        # replace a committed entry only if this run saw it and cannot (or may not) use it
        replace = not caching or (entry is not None and bool(entry["committed"]))
        claimed = self.ctx.store.begin_cache_entry(
            key, node.step.name, comps, self.prid, replace_committed=replace
        )
        if not claimed and caching:
            self.waiting[node.index] = held = self.ctx.store.get_cache_entry(key) or {}
            self.log_wait(node, held)
            return None
        self.waiting.pop(node.index, None)
        if claimed:
            self.owned.add(node.index)
        self.step_run_ids[node.index] = self.ctx.store.add_step_run(
            pipeline_run_id=self.prid,
            step=node.name,
            cache_key=key,
            status="running",
            inputs=lineage,
            outputs={},
            reason=reason,
            started_at=now,
        )
        return task

    # -- results ---------------------------------------------------------------------------
    def finish(self, node: Node, result: TaskResult) -> None:
        srid = self.step_run_ids[node.index]
        if result.ok:
            if node.index in self.owned:  # an uncached rerun beside a live claim commits nothing
                self.ctx.store.commit_cache_entry(self.keys[node.index], result.outputs)
            self.metas[node.index] = result.outputs
            self.status[node.index] = "succeeded"
            self.ctx.store.update_step_run(
                srid,
                status="succeeded",
                outputs=result.outputs,
                started_at=result.started_at,
                finished_at=result.finished_at,
            )
            self._record_artifacts(node, result.outputs)
        else:
            self.status[node.index] = "failed"
            self.errors.append(f"step {node.name!r} failed: {result.error}")
            self.release(node)  # other runs need not wait for the rest of this run
            self.ctx.store.update_step_run(
                srid,
                status="failed",
                outputs=result.written,
                error=(result.traceback or result.error),
                started_at=result.started_at,
                finished_at=result.finished_at,
            )

    def _record_artifacts(self, node: Node, outputs: dict[str, dict[str, Any]]) -> None:
        for out, meta in outputs.items():
            self.ctx.store.add_artifact(
                self.run_id, f"steps/{node.name}/{out}", meta["digest"], meta["size"], "file"
            )

    def abort(self, error: str) -> None:
        """Mark steps still in flight failed (the driver itself was interrupted)."""
        for index, status in self.status.items():
            if status == "running":
                self.status[index] = "failed"
                self.release(self.graph.nodes[index])
                self.ctx.store.update_step_run(
                    self.step_run_ids[index], status="failed", error=error, finished_at=now_ms()
                )

    def skip(self, node: Node, why: str) -> None:
        self.status[node.index] = "skipped"
        now = now_ms()
        self.step_run_ids[node.index] = self.ctx.store.add_step_run(
            pipeline_run_id=self.prid,
            step=node.name,
            cache_key="",
            status="skipped",
            inputs={},
            outputs={},
            reason=[why],
            started_at=now,
            finished_at=now,
        )


def _result_metas(graph: Graph, metas: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    result = graph.result

    def meta(ref: Ref) -> dict[str, Any]:
        return {**metas[ref.node][ref.output], "from": f"{ref.step}.{ref.output}"}

    if result is None:
        return {}
    if isinstance(result, Ref):
        return {result.output: meta(result)}
    if isinstance(result, Mapping):
        out: dict[str, Any] = {}
        for k, v in result.items():
            out[str(k)] = meta(v) if isinstance(v, Ref) else {"value": v}
        return out
    if isinstance(result, (tuple, list)):
        out = {}
        for v in result:
            if not isinstance(v, Ref):
                raise PipelineDefinitionError(
                    "A pipeline function returning a tuple must return step outputs only; "
                    "return a dict to name other values."
                )
            name = v.output if v.output not in out else f"{v.step}.{v.output}"
            out[name] = meta(v)
        return out
    if is_json_param(result):
        return {"output": {"value": result}}
    raise PipelineDefinitionError(
        f"A pipeline function returns step outputs (one, a tuple or a dict of them). "
        f"Got {type(result).__name__}."
    )


def execute(
    ctx: Context,
    pipeline: Pipeline,
    *,
    params: Mapping[str, Any] | None = None,
    executor: str = "inprocess",
    cache: bool = True,
    trigger: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    progress: bool = True,
    executor_options: Mapping[str, Any] | None = None,
) -> PipelineRun:
    from mainsail.tracking._run import start_run

    bound = pipeline.bind_params(params)
    for k, v in bound.items():
        if not is_json_param(v):
            raise PipelineDefinitionError(
                f"Pipeline parameters are JSON values (numbers, strings, lists, dicts). "
                f"Parameter {k!r} is {type(v).__name__}. Pass a dataset address or a path "
                "and load it in a step."
            )
    if trigger is not None:  # stored as JSON: anything else becomes its string form
        trigger = orjson.loads(orjson.dumps(dict(trigger), default=str))
    graph = pipeline.build(bound)
    ex = make_executor(executor, ctx, executor_options)
    prid = new_id()
    tags = {
        "mainsail.pipeline": pipeline.name,
        "mainsail.pipeline_run": prid,
        "mainsail.executor": executor,
    }
    if pipeline.reference:
        tags["mainsail.pipeline_ref"] = pipeline.reference
    if trigger:
        tags["mainsail.trigger"] = orjson.dumps(dict(trigger), default=str).decode()[:5000]
    run = start_run(ctx, experiment or "pipelines", pipeline.name, params=bound, tags=tags)
    ctx.store.create_pipeline_run(prid, pipeline.name, run.id, bound, executor, trigger)
    driver = _Driver(ctx, pipeline, graph, prid, run.id, cache)
    error: str | None = None
    try:
        with _bar(progress, len(graph.nodes), pipeline.name) as bar:
            _drive(driver, ex, bar)
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        driver.abort(f"pipeline run interrupted: {error}")
        ctx.store.finish_pipeline_run(prid, "failed", {}, error)
        run.end("killed" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    finally:
        ex.close()
    failed = bool(driver.errors)
    outputs = {} if failed else _result_metas(graph, driver.metas)
    counts = {s: list(driver.status.values()).count(s) for s in ("succeeded", "cached")}
    run.log_metrics(
        {"pipeline.steps_ran": counts["succeeded"], "pipeline.steps_cached": counts["cached"]}
    )
    run.set_tags({f"step.{n.name}": driver.status.get(n.index, "skipped") for n in graph.nodes})
    error = "; ".join(driver.errors) if failed else None
    ctx.store.finish_pipeline_run(prid, "failed" if failed else "succeeded", outputs, error)
    run.end("failed" if failed else "finished")
    return load_pipeline_run(ctx, prid)


def _drive(driver: _Driver, ex: Any, bar: Any) -> None:
    graph = driver.graph
    pending = {n.index for n in graph.nodes}
    handles: dict[Any, Node] = {}
    poll = _POLL_S[0]
    while pending or handles:
        progressed = False
        for node in [graph.nodes[i] for i in sorted(pending)]:
            deps = [r.node for r in node.refs()]
            if any(driver.status.get(d) in ("failed", "skipped") for d in deps):
                bad = [graph.nodes[d].name for d in deps if driver.status.get(d) != "succeeded"]
                driver.skip(node, f"upstream step failed: {', '.join(bad)}")
                _advance(bar, node, "skipped")
            elif all(driver.status.get(d) in ("succeeded", "cached") for d in deps):
                task = driver.plan(node)
                if node.index in driver.waiting:
                    continue  # another run holds the claim: look again later
                if task is None:
                    _advance(bar, node, "cached")
                else:
                    driver.status[node.index] = "running"
                    handles[ex.submit(task)] = node
            else:
                continue
            pending.discard(node.index)
            progressed = True
        if handles:
            for handle, result in wait_one(ex, list(handles)):
                node = handles.pop(handle)
                driver.finish(node, result)
                _advance(bar, node, driver.status[node.index])
        elif pending and not progressed:
            if not driver.waiting:  # pragma: no cover - refs always point backwards
                raise PipelineDefinitionError("The pipeline graph has a cycle.")
            time.sleep(poll)
            poll = min(poll * 2, _POLL_S[1])
            continue
        poll = _POLL_S[0]


def resolve_pipeline(ref: str | Pipeline) -> Pipeline:
    """A Pipeline from itself, ``"module:attr"`` or ``"path/to/file.py:attr"``."""
    import importlib
    import importlib.util
    import sys

    if isinstance(ref, Pipeline):
        return ref
    if not isinstance(ref, str) or ":" not in ref:
        raise PipelineDefinitionError(
            f"Expected a pipeline as 'module:attribute' (e.g. 'my_project.train:pipeline') or "
            f"'path/to/file.py:attribute'. Got {ref!r}."
        )
    module_name, attr = ref.rsplit(":", 1)
    if module_name.endswith(".py"):
        path = os.path.abspath(module_name)
        if not os.path.isfile(path):
            raise PipelineDefinitionError(f"Expected a Python file at {path}; there is none.")
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        module_name = os.path.splitext(os.path.basename(path))[0]
    elif os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PipelineDefinitionError(
            f"Could not import module {module_name!r} for pipeline {ref!r}: {exc}. Check the "
            "name and that it is importable from the current folder or PYTHONPATH."
        ) from None
    obj = getattr(module, attr, None)
    if not isinstance(obj, Pipeline):
        found = sorted(k for k, v in vars(module).items() if isinstance(v, Pipeline))
        raise PipelineDefinitionError(
            f"Expected {attr!r} in {module_name} to be a @mainsail.pipeline; found "
            f"{type(obj).__name__ if obj is not None else 'nothing'}. Pipelines in that "
            f"module: {', '.join(found) or 'none'}."
        )
    obj.reference = f"{module_name}:{attr}"
    return obj


def run_pipeline(
    ctx: Context,
    pipeline: str | Pipeline,
    *,
    params: Mapping[str, Any] | None = None,
    executor: str = "inprocess",
    cache: bool = True,
    trigger: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    progress: bool = True,
    executor_options: Mapping[str, Any] | None = None,
) -> PipelineRun:
    """Run a pipeline given as an object or a ``"module:attr"`` reference.

    Examples
    --------
    >>> import mainsail
    >>> pr = mainsail.run_pipeline("my_project.train:pipeline", params={"rows": 1000})  # doctest: +SKIP
    >>> pr.status  # doctest: +SKIP
    'succeeded'
    """
    return execute(
        ctx,
        resolve_pipeline(pipeline),
        params=params,
        executor=executor,
        cache=cache,
        trigger=trigger,
        experiment=experiment,
        progress=progress,
        executor_options=executor_options,
    )

"""The fleet under a steady bounded load through HAProxy: a canary across every replica, a
rolling restart, the controllers' leader killed, the monitor merging every replica, and a
data-plane replica killed. The tests run in order on one fleet (see conftest.py)."""

from __future__ import annotations

import signal
import time
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

import mainsail
from mainsail.store import _tables as T

from . import _procs as P
from ._load import Load, Reply
from .conftest import ENDPOINT, FEATURES, FLUSH_S, START_S, Fleet, frame, report

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

ROWS = frame(200, 7).to_numpy().tolist()
CANARY = {
    "steps": [20, 50, 100],
    "interval": 2,
    "threshold": 2,
    "min_requests": 5,
    "min_success_rate": 0.95,
    "max_p99_ms": 5000,  # the analysis must not fail on a loaded shared box
}
LEADER_BOUND_S = 10.0


def load(fleet: Fleet, **kw: Any) -> Load:
    return Load(fleet.ep_port, ROWS, FEATURES, **kw)


def wait_rollout(states: tuple[str, ...], timeout: float = 120.0) -> Any:
    def done() -> Any:
        r = mainsail.get_rollout(ENDPOINT)
        return r if r is not None and r.state in states else None

    return P.wait_for(done, timeout, f"the rollout to reach {states}", every=0.3)


def direct_versions(fleet: Fleet, n: int = 5) -> dict[str, set[str]]:
    """Versions each data-plane replica answers with, asked directly (not through HAProxy)."""
    out: dict[str, set[str]] = {}
    body = {"dataframe_split": {"columns": FEATURES, "data": [ROWS[0]]}}
    for s in fleet.serves:
        seen = set()
        with httpx.Client(base_url=s.url, timeout=10) as c:
            for _ in range(n):
                r = c.post("/invocations", json=body)
                assert r.status_code == 200, r.text
                seen.add(r.headers["x-mainsail-model-version"])
        out[s.name] = seen
    return out


def prediction_log(fleet: Fleet) -> pd.DataFrame:
    """Every prediction-log row in S3, with the process id from its segment's file name."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key="fleet",
        secret="fleet",
        client_kwargs={"endpoint_url": fleet.s3.url},
        skip_instance_cache=True,
    )
    base = f"{fleet.artifact_root.removeprefix('s3://')}/predictions/endpoint={ENDPOINT}"
    frames = []
    for path in fs.find(base):
        name = path.rsplit("/", 1)[-1]
        if not name.endswith(".parquet") or name.startswith("."):
            continue
        with fs.open(path, "rb") as f:
            part = pd.read_parquet(f, columns=["request_id", "model_version", "ts"])
        # journaled segments are named {kind}-{ms}-{pid}-{seq}.parquet by the serving process
        frames.append(part.assign(pid=int(name.split("-")[-2])))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def sketch_replicas(fleet: Fleet) -> set[str]:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="fleet",
        secret="fleet",
        client_kwargs={"endpoint_url": fleet.s3.url},
        skip_instance_cache=True,
    )
    base = f"{fleet.artifact_root.removeprefix('s3://')}/sketches/endpoint={ENDPOINT}"
    names = [p.rsplit("/", 1)[-1] for p in fs.find(base)]
    return {n.split("-", 1)[1].removesuffix(".json") for n in names if n.endswith(".json")}


def db(fleet: Fleet) -> sa.Engine:
    return sa.create_engine(fleet.db_url, poolclass=sa.pool.NullPool)


def leader(fleet: Fleet) -> int | None:
    """Index of the server whose controllers lead, from each replica's own /readyz."""
    found = []
    for i, s in enumerate(fleet.servers):
        if not s.alive():
            continue
        try:
            doc = httpx.get(s.url + "/readyz", timeout=3).json()
        except httpx.HTTPError:
            continue
        if (doc.get("controllers") or {}).get("leader"):
            found.append(i)
    assert len(found) <= 1, f"two leaders at once: {found}"
    return found[0] if found else None


def fail_summary(failures: list[Reply]) -> str:
    return "; ".join(f"{r.status} {r.error}" for r in failures[:5])


# -- 1. a canary across every replica ---------------------------------------------------------
def test_canary_promotes_across_every_replica_with_no_failed_request(fleet: Fleet, sdk) -> None:  # type: ignore[no-untyped-def]
    assert direct_versions(fleet) == {s.name: {"1"} for s in fleet.serves}
    with load(fleet) as lb:
        lb.wait_more(30, 60)
        mark = lb.mark()
        started = time.time()
        r = mainsail.deploy(ENDPOINT, f"models:/{ENDPOINT}/2", strategy="canary", spec=CANARY)
        assert r.state == "progressing" and r.weight == 20
        done = wait_rollout(("promoted", "rolled_back"))
        assert done.state == "promoted", done.message
        steps = [a["weight"] for a in done.analysis if a["outcome"] in ("advance", "promote")]
        assert steps == [20, 50, 100]
        P.wait_for(
            lambda: direct_versions(fleet, 3) == {s.name: {"2"} for s in fleet.serves},
            30,
            "every replica to serve v2 only",
        )
        lb.wait_more(30, 60)
        seen = lb.since(mark)
    failures = [r for r in seen if r.status != 200]
    report(fleet, "canary: requests through HAProxy", len(seen))
    report(fleet, "canary: failed requests", len(failures), fail_summary(failures))
    report(fleet, "canary: seconds to promote", round(time.time() - started, 1))
    assert failures == []
    assert {r.variant for r in seen} >= {"stable", "canary"}
    # every replica switched: each one's own log segments hold both versions
    time.sleep(2 * FLUSH_S + 1)
    log = prediction_log(fleet)
    ours = log[log["request_id"].isin({r.rid for r in seen})]
    per_replica = ours.groupby("pid")["model_version"].agg(lambda v: set(map(str, v)))
    assert set(per_replica.index) == {s.pid for s in fleet.serves}
    assert all(versions == {"1", "2"} for versions in per_replica), per_replica.to_dict()


# -- 2. a rolling restart, SIGTERM one replica at a time ----------------------------------------
def test_rolling_restart_loses_no_request(fleet: Fleet) -> None:
    with load(fleet) as lb:
        lb.wait_more(30, 60)
        mark = lb.mark()
        for i, s in enumerate(fleet.serves):
            s.signal(signal.SIGTERM)
            code = s.wait_exit(60)
            # uvicorn drains, then re-raises the signal it caught: -SIGTERM is a clean stop
            assert code in (0, -signal.SIGTERM), (code, s.output()[-2000:])
            fleet.restart_serve(i)
            fleet.lb.wait_up(ENDPOINT, 3, START_S)
            lb.wait_more(10, 60)
        seen = lb.since(mark)
    failures = [r for r in seen if r.status != 200]
    report(fleet, "rolling restart: requests through HAProxy", len(seen))
    report(fleet, "rolling restart: failed requests", len(failures), fail_summary(failures))
    assert failures == []
    assert {r.version for r in seen} == {"2"}


# -- 3. the controllers' leader killed --------------------------------------------------------
def test_leader_killed_another_takes_over_and_resumes(fleet: Fleet, sdk) -> None:  # type: ignore[no-untyped-def]
    first = P.wait_for(lambda: leader(fleet) is not None, 30, "a leader")
    lead = leader(fleet)
    assert first and lead is not None
    other = 1 - lead
    # state the leader holds when it dies: a monitor, an automation awaiting approval, a canary
    mainsail.create_monitor(ENDPOINT, window="10m", interval="2s", checks=["operational"])
    mainsail.create_automation(
        {
            "name": "fleet-retrain",
            "endpoint": ENDPOINT,
            "model": ENDPOINT,
            "pipeline": "fleet_project.flows:retrain",
            "triggers": [{"type": "new_data", "dataset": "fleet-data", "min_new_rows": 10}],
            "require_approval": True,
        }
    )
    mainsail.log_dataset(frame(50, 11), name="fleet-data")
    engine = db(fleet)

    def events(status: str) -> list[Any]:
        e = T.automation_events.c
        with engine.connect() as conn:
            rows = conn.execute(sa.select(T.automation_events).order_by(e.id)).all()
        return [r for r in rows if r.status == status]

    P.wait_for(
        lambda: mainsail.get_automation("fleet-retrain").state.get("data"), 60, "the baseline"
    )
    mainsail.log_dataset(frame(80, 12), name="fleet-data")
    P.wait_for(
        lambda: mainsail.get_automation("fleet-retrain").state.get("awaiting_approval"),
        60,
        "the firing to await approval",
    )
    monitor_results = lambda: _results(engine)  # noqa: E731
    P.wait_for(lambda: len(monitor_results()) >= 1, 60, "a first monitor result")

    with load(fleet) as lb:
        lb.wait_more(20, 60)
        mark = lb.mark()
        spec = {**CANARY, "interval": 3}
        r = mainsail.deploy(ENDPOINT, f"models:/{ENDPOINT}/3", strategy="canary", spec=spec)
        P.wait_for(lambda: mainsail.get_rollout(ENDPOINT).step >= 1, 60, "the first advance")
        at_kill = mainsail.get_rollout(ENDPOINT)
        killed = time.monotonic()
        killed_wall = time.time() * 1000
        fleet.servers[lead].signal(signal.SIGKILL)
        fleet.servers[lead].wait_exit(10)
        P.wait_for(lambda: leader(fleet) == other, 60, "the other replica to lead", every=0.1)
        took = time.monotonic() - killed
        P.wait_for(
            lambda: (
                mainsail.get_rollout(ENDPOINT).step > at_kill.step
                or mainsail.get_rollout(ENDPOINT).state == "promoted"
            ),
            60,
            "the rollout to advance under the new leader",
        )
        resumed = time.monotonic() - killed
        mainsail.approve_automation("fleet-retrain")
        done = wait_rollout(("promoted", "rolled_back"))
        P.wait_for(lambda: events("triggered"), 60, "the approved retraining to start", every=0.3)
        # The new leader takes the monitor over: it runs it and schedules the next run. (A
        # run over sketches on S3 can fail on its own: see test_s3_sketches.py.)
        P.wait_for(lambda: _next_run(engine) > killed_wall, 60, "the monitor's next run")
        monitor_after = time.monotonic() - killed
        ran = len([x for x in monitor_results() if x.ts > killed_wall])
        fleet.restart_server(lead)
        fleet.lb.wait_up("cp", 2, START_S)
        seen = lb.since(mark)
    failures = [x for x in seen if x.status != 200]
    report(fleet, "leader fail-over: seconds until the other replica leads", round(took, 2))
    report(fleet, "leader fail-over: seconds until the rollout advanced again", round(resumed, 2))
    report(
        fleet,
        "leader fail-over: seconds until the new leader ran the monitor",
        round(monitor_after, 2),
        f"{ran} result(s) stored after the kill",
    )
    report(fleet, "leader fail-over: failed inference requests", len(failures))
    assert took <= LEADER_BOUND_S
    assert done.state == "promoted", done.message
    assert failures == [], fail_summary(failures)
    # nothing applied twice: one revision per step, one analysis entry per step, one job
    steps = [a["weight"] for a in done.analysis if a["outcome"] in ("advance", "promote")]
    assert steps == [20, 50, 100]
    ep = T.endpoint_revisions.c
    with engine.connect() as conn:
        revs = conn.execute(
            sa.select(ep.revision, ep.strategy, ep.reason).order_by(ep.revision)
        ).all()
        jobs = conn.execute(sa.select(T.jobs).where(T.jobs.c.kind == "automation.retrain")).all()
    # one revision per step, then one for the promotion (its strategy keeps the last step)
    ours = [
        (s.get("step"), "promoted" in (why or ""))
        for _, s, why in revs
        if (s or {}).get("rollout") == r.id
    ]
    assert ours == [(0, False), (1, False), (2, False), (2, True)], ours
    assert len(jobs) == 1
    (triggered,) = events("triggered")  # started once, by the new leader
    assert triggered.job_id == jobs[0].id and triggered.ts > killed_wall
    assert len(events("awaiting_approval")) == 1
    stamps = sorted(x.ts for x in monitor_results())
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps, default=10_000) >= 1000, stamps  # no run done twice by two leaders
    engine.dispose()


def _next_run(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(T.monitors.c.next_run_at))).scalar() or 0)


def _results(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(T.monitor_results)).all())


# -- 4. the monitor merges every replica; logs and sketches are in S3 ------------------------
def test_monitor_merges_every_replica_and_logs_are_in_s3(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mainsail.monitoring._sources import load_sketches

    since = int(time.time() * 1000)
    with load(fleet, max_s=30) as lb:
        lb.wait_more(150, 60)
    answered = {r.rid for r in lb.replies if r.status == 200}
    assert answered and not lb.failures()
    time.sleep(2 * FLUSH_S + 1)
    log = prediction_log(fleet)
    assert answered <= set(log["request_id"])  # every answered request is in the log
    pids = set(log[log["request_id"].isin(answered)]["pid"])
    assert pids == {s.pid for s in fleet.serves}  # spread over the three replicas
    # The monitor's own reader, over S3, merges every replica's sketch windows.
    for k in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    ):
        monkeypatch.setenv(k, fleet.env[k])
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    windows = load_sketches(
        fleet.artifact_root, ENDPOINT, since - 60_000, int(time.time() * 1000) + 60_000
    )
    replicas = set().union(*(w.replicas for w in windows.values()))
    requests = sum(w.requests for w in windows.values())
    report(fleet, "monitor: replicas merged from S3 sketches", len(replicas))
    report(fleet, "monitor: requests in the merged windows", requests, f"{len(answered)} just sent")
    assert len(replicas) >= 3
    assert requests >= len(answered)


# -- 5. a data-plane replica killed with SIGKILL ------------------------------------------------
def test_sigkill_loses_at_most_the_last_flush_interval(fleet: Fleet) -> None:
    victim = fleet.serves[0]
    with load(fleet) as lb:
        lb.wait_more(60, 60)
        time.sleep(FLUSH_S * 1.5)
        killed = time.time()
        victim.signal(signal.SIGKILL)
        victim.wait_exit(10)
        mark = lb.mark()
        lb.wait_more(30, 60)
        after = lb.since(mark)
    time.sleep(2 * FLUSH_S + 1)
    log = prediction_log(fleet)
    answered = [r for r in lb.replies if r.status == 200]
    logged = set(log["request_id"])
    lost = [r for r in answered if r.rid not in logged]
    ages = [killed - r.t for r in lost]
    failures = [r for r in lb.replies if r.status != 200]
    report(fleet, "SIGKILL: requests answered before/after", len(answered))
    report(
        fleet,
        "SIGKILL: prediction-log rows lost",
        len(lost),
        f"sent {min(ages, default=0):.2f}-{max(ages, default=0):.2f} s before the kill; "
        f"flush interval {FLUSH_S} s",
    )
    report(fleet, "SIGKILL: failed requests through HAProxy", len(failures), fail_summary(failures))
    fleet.restart_serve(0)
    fleet.lb.wait_up(ENDPOINT, 3, START_S)
    # a write in progress at the kill can hold rows from up to one interval plus its own time
    assert all(age <= FLUSH_S + 1.5 for age in ages), sorted(ages)[-5:]
    assert all(r.status == 200 for r in after)

"""Monitors, their results, alerts, and the Prometheus text of the monitoring gauges.

The project of a monitor or an alert is its endpoint. Creating, changing and deleting a
monitor and resolving an alert need the deployer role; running a monitor now, developer.
Routes call the monitoring domain functions with the server's context: records through its
store, runs, reports and alert resolutions through the local monitoring service.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AliasChoices, Field

from mainsail.core._errors import NotFoundError
from mainsail.monitoring._alerts import Alert
from mainsail.monitoring._spec import Monitor, MonitorResult, ScorePoint
from mainsail.security._roles import Principal
from mainsail.server._auth import Audit, from_path, global_scope, looked_up, permit, reader
from mainsail.server.routers._common import Body, context
from mainsail.store.protocols import LocalStore

router = APIRouter(tags=["monitoring"])

EndpointName = Annotated[str, Path(min_length=1, max_length=250)]
MonitorName = Annotated[str, Path(min_length=1, max_length=200)]
Duration = Annotated[str, Field(min_length=1, max_length=32)]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class MonitorIn(Body):
    """The fields of ``mainsail.create_monitor`` (endpoint and name come from the path)."""

    checks: Annotated[list[str], Field(min_length=1, max_length=8)] | None = None
    window: Duration = "1h"
    interval: Duration = "5m"
    rules: Annotated[list[dict[str, Any]], Field(max_length=100)] | None = None
    notifiers: Annotated[list[str | dict[str, Any]], Field(max_length=50)] | None = None
    model: Annotated[str, Field(min_length=1, max_length=250)] | None = None
    # Clients from before the rename send the threshold as ``drift_share``.
    max_drift_share: Annotated[
        float,
        Field(gt=0, le=1, validation_alias=AliasChoices("max_drift_share", "drift_share")),
    ] = 0.5
    stattest: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tests: dict[str, str] = Field(default_factory=dict)
    columns: Annotated[list[str], Field(max_length=10000)] | None = None
    enabled: bool = True


def _spec(m: Monitor) -> dict[str, Any]:
    return m.spec.model_dump(mode="json")


def _existing(request: Request, endpoint: str, name: str) -> Monitor | None:
    from mainsail.monitoring import get_monitor

    try:
        return get_monitor(context(request), endpoint, name)
    except NotFoundError:
        return None


@router.get("/monitors", response_model=list[Monitor])
def list_monitors(
    request: Request,
    endpoint: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    principal: Principal = reader(),
) -> Any:
    from mainsail.monitoring import list_monitors as _list

    return [m for m in _list(context(request), endpoint) if principal.role_in(m.endpoint)]


@router.get("/monitors/{endpoint}/{name}", response_model=Monitor)
def get_monitor(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    _: Any = reader(from_path("endpoint")),
) -> Any:
    from mainsail.monitoring import get_monitor as _get

    return _get(context(request), endpoint, name)


@router.put("/monitors/{endpoint}/{name}", response_model=Monitor)
def put_monitor(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    body: MonitorIn,
    audit: Audit = permit("monitors.put", "deployer", from_path("endpoint")),
) -> Any:
    """Create the monitor, or replace its definition."""
    from mainsail.core._uris import check_name
    from mainsail.monitoring import create_monitor

    audit.target = f"monitors/{endpoint}/{name}"
    check_name(endpoint, "Endpoint")
    check_name(name, "Monitor")
    from mainsail.monitoring import get_test

    for test in [body.stattest, *body.tests.values()]:
        if test is not None:
            get_test(test)  # an unknown drift test: 422 listing the valid ones
    before = _existing(request, endpoint, name)
    audit.before = _spec(before) if before is not None else None
    m = create_monitor(context(request), endpoint, name=name, **body.model_dump())
    audit.after = _spec(m)
    return m


@router.delete("/monitors/{endpoint}/{name}", status_code=204)
def delete_monitor(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    audit: Audit = permit("monitors.delete", "deployer", from_path("endpoint")),
) -> None:
    from mainsail.monitoring import delete_monitor as _delete
    from mainsail.monitoring import get_monitor as _get

    audit.target = f"monitors/{endpoint}/{name}"
    ctx = context(request)
    audit.before = _spec(_get(ctx, endpoint, name))  # a missing one: 404 naming the known ones
    _delete(ctx, endpoint, name)


@router.post("/monitors/{endpoint}/{name}/run", response_model=MonitorResult)
def run_monitor(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    window: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    now_ms: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    audit: Audit = permit("monitors.run", "developer", from_path("endpoint")),
) -> Any:
    """Evaluate the monitor now (``window`` overrides its window, e.g. ``24h``).

    ``now_ms`` evaluates the window ending then instead (a backfill).
    """
    from mainsail.monitoring import run_monitor as _run

    audit.target = f"monitors/{endpoint}/{name}"
    result = _run(context(request), endpoint, name=name, window=window, now_ms=now_ms)
    audit.after = {"result": result.id, "status": result.status, "alerts": len(result.alerts)}
    return result


@router.get("/monitors/{endpoint}/{name}/results", response_model=list[MonitorResult])
def list_results(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    since_ms: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    _: Any = reader(from_path("endpoint")),
) -> Any:
    """Stored results, oldest first (the latest ``limit``)."""
    from mainsail.monitoring import list_results as _list

    return _list(context(request), endpoint, name, limit=limit, since_ms=since_ms)


@router.get("/monitors/{endpoint}/{name}/scores", response_model=list[ScorePoint])
def monitor_scores(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    _: Any = reader(from_path("endpoint")),
) -> Any:
    """The scores of the latest ``limit`` results, oldest first: the monitor's time series."""
    return context(request).store.monitor_score_series(endpoint, name, limit=limit)


@router.get(
    "/monitors/{endpoint}/{name}/report",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def monitor_report(
    request: Request,
    endpoint: EndpointName,
    name: MonitorName,
    window: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    history: Annotated[int, Query(ge=1, le=10000)] = 200,
    _: Any = reader(from_path("endpoint")),
) -> Response:
    """The monitor evaluated now (not stored), its distributions and its stored history.

    The JSON that ``mainsail monitor report`` draws as HTML on the client.
    """
    from mainsail.monitoring import MONITORING

    doc = context(request).service(MONITORING).report(endpoint, name, window, history=history)
    return Response(
        orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json"
    )


@router.get("/alerts", response_model=list[Alert])
def list_alerts(
    request: Request,
    endpoint: Annotated[str | None, Query(min_length=1, max_length=250)] = None,
    state: Literal["pending", "firing", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    principal: Principal = reader(),
) -> Any:
    """Alerts, newest first; only those of endpoints the caller may see."""
    from mainsail.monitoring._alerts import list_alerts_in

    found = list_alerts_in(context(request).store, endpoint, state, limit=limit)
    return [a for a in found if principal.role_in(a.endpoint or "*")]


@looked_up
def alert_project(request: Request, s: LocalStore) -> str | None:
    """The project of an alert is its endpoint (``*`` for an alert without one)."""
    try:
        alert_id = int(request.path_params["alert_id"])
        if not 1 <= alert_id < 2**63:  # runs before path validation: the 422 comes next
            return None
        row = s.get_alert_row(alert_id)
    except (KeyError, ValueError, NotFoundError):
        return None
    return str(row["endpoint"]) if row["endpoint"] is not None else "*"


@router.get("/alerts/{alert_id}", response_model=Alert)
def get_alert(request: Request, alert_id: AlertId, _: Any = reader(alert_project)) -> Any:
    return context(request).store.get_alert_row(alert_id)


@router.post("/alerts/{alert_id}/resolve", response_model=Alert)
def resolve_alert(
    request: Request,
    alert_id: AlertId,
    audit: Audit = permit("alerts.resolve", "deployer", alert_project),
) -> Any:
    """Resolve an alert by hand (it opens again if its condition still holds); if its
    firing was notified, its monitors' notifiers hear that it resolved."""
    from mainsail.monitoring import resolve_alert as _resolve

    audit.target = f"alerts/{alert_id}"
    ctx = context(request)
    audit.before = {"state": ctx.store.get_alert_row(alert_id)["state"]}
    alert = _resolve(ctx, alert_id)
    audit.after = {"state": alert.state}
    return alert


@router.get(
    "/metrics/monitoring",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def monitoring_metrics(request: Request, _: Any = reader(global_scope)) -> Response:
    """The Prometheus text exposition of every monitor's latest scores and open alerts."""
    from mainsail.monitoring import render_prometheus

    return Response(render_prometheus(context(request)), media_type="text/plain; version=0.0.4")

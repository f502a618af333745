"""Prometheus metrics at `GET /metrics` (prometheus-client's text format).

* `ironworks_nodes{provision_state, power_state, maintenance}` and
  `ironworks_jobs{kind, state}`: gauges read from the database at scrape time (grouped counts,
  `db/statistics.py`), so the figures are the cloud's whichever API process is scraped;
* `ironworks_sensor_reading{node, sensor, kind, unit}` (each node's last readings, at most
  nodes × sensors series) and `ironworks_alarms{rule, severity, state}` (open alarms), from
  the database at scrape time;
* each conductor's last sensor cycle and power sync, as it recorded them in the database
  (`db/monitoring.record_cycle`): `ironworks_sensor_cycle_seconds{conductor}`,
  `ironworks_power_sync_cycle_seconds{conductor}`, `ironworks_cycle_nodes{cycle, conductor}`
  and `ironworks_bmc_errors{cycle, kind, conductor}` (`kind` is the error's code, a closed
  set);
* `ironworks_api_request_duration_seconds{route, method}`: a histogram of the API's answers,
  observed by `MetricsMiddleware` around every HTTP request. `route` is the matched route's
  template (`/api/v1/hosts/{ident}`), never the raw path, so the label set stays bounded;
  requests no route matched count under `(unmatched)`.

Each application has its own registry (`app.state.metrics`), so two apps in one process (the
tests) do not mix their counts. Scraping needs a cloud admin's token (the `metrics:read` row),
unless `api.metrics_public` is set: then anyone who reaches the API's address may scrape.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from ironworks.api.access import Allow, Public
from ironworks.services import monitoring, statistics
from ironworks.services.context import Services

UNMATCHED = "(unmatched)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# from a cached read (5 ms) to an image upload or a slow BMC (a minute)
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DatabaseCollector(Collector):
    """The gauges: what the database holds, read on each scrape."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def describe(self) -> list[Metric]:
        return []  # nothing to query at registration time

    def collect(self) -> Iterator[Metric]:
        nodes = GaugeMetricFamily(
            "ironworks_nodes",
            "Nodes by provision state, power state and maintenance.",
            labels=["provision_state", "power_state", "maintenance"],
        )
        for prov, power, maint, n in statistics.node_states(self.svc):
            nodes.add_metric([prov, power or "none", "true" if maint else "false"], n)
        yield nodes
        jobs = GaugeMetricFamily(
            "ironworks_jobs",
            "Jobs of the conductors' queue by kind and state (queued, running, done, failed).",
            labels=["kind", "state"],
        )
        for kind, state, n in statistics.job_states(self.svc):
            jobs.add_metric([kind, state], n)
        yield jobs
        readings = GaugeMetricFamily(
            "ironworks_sensor_reading",
            "Each node's sensors as its BMC last reported them (the conductors' sensor cycle).",
            labels=["node", "sensor", "kind", "unit"],
        )
        for node, sensor, kind, unit, value in monitoring.sensor_gauges(self.svc):
            readings.add_metric([node, sensor, kind, unit], value)
        yield readings
        open_alarms = GaugeMetricFamily(
            "ironworks_alarms",
            "Open alarms by rule, severity and state (firing, acknowledged).",
            labels=["rule", "severity", "state"],
        )
        for rule, severity, state, n in monitoring.alarm_counts(self.svc):
            open_alarms.add_metric([rule, severity, state], n)
        yield open_alarms
        cycles = monitoring.last_cycles(self.svc)
        durations = {
            "sensors": GaugeMetricFamily(
                "ironworks_sensor_cycle_seconds",
                "Duration of each conductor's last sensor and event-log cycle.",
                labels=["conductor"],
            ),
            "power_sync": GaugeMetricFamily(
                "ironworks_power_sync_cycle_seconds",
                "Duration of each conductor's last power-state sync.",
                labels=["conductor"],
            ),
        }
        asked = GaugeMetricFamily(
            "ironworks_cycle_nodes",
            "Nodes each conductor asked its BMC in its last cycle (sensors, power_sync).",
            labels=["cycle", "conductor"],
        )
        errors = GaugeMetricFamily(
            "ironworks_bmc_errors",
            "BMCs that did not answer or refused in each conductor's last cycle, by cycle "
            "(sensors, power_sync) and kind (the error's code: bmc-unreachable, "
            "bmc-auth-failed, ...).",
            labels=["cycle", "kind", "conductor"],
        )
        for cycle in cycles:
            durations[cycle["cycle"]].add_metric([cycle["conductor"]], cycle["seconds"])
            asked.add_metric([cycle["cycle"], cycle["conductor"]], cycle["owned"])
            for kind, n in cycle["errors_by_kind"].items():
                errors.add_metric([cycle["cycle"], kind, cycle["conductor"]], n)
        yield from durations.values()
        yield asked
        yield errors


class Metrics:
    """An application's registry and the instruments its middleware feeds."""

    def __init__(self, svc: Services) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DatabaseCollector(svc))
        self.latency = Histogram(
            "ironworks_api_request_duration_seconds",
            "Time to answer an API request, by route template and method.",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times each HTTP request and files it under its route's template (known after routing:
    Starlette writes the matched route into the scope)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)


def router(public: bool) -> APIRouter:
    """The `/metrics` route: for cloud admins, or for anyone when `public`."""
    api = APIRouter(tags=["monitoring"])
    gate = Public() if public else Allow("metrics:read")

    @api.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        include_in_schema=False,
        dependencies=[gate],
    )
    async def metrics(request: Request) -> Response:
        svc: Services = request.app.state.services
        found: Metrics = request.app.state.metrics
        body = found.render() if svc.db.inline else await run_in_threadpool(found.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return api

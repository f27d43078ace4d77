"""Prometheus figures for operators: one registry per application, served at /metrics.

Every part updates them through the one `Metrics` object the composition root builds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    """The counters and gauges hotline exports; components update them through this object."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.telephony_events = Counter(
            "hotline_telephony_events",
            "Domain events produced from AMI, by kind and PBX",
            ["pbx", "kind"],
            registry=self.registry,
        )
        self.calls_ended = Counter(
            "hotline_calls_ended",
            "Queue calls that ended, by outcome",
            ["pbx", "queue", "outcome"],
            registry=self.registry,
        )
        self.pbx_up = Gauge(
            "hotline_pbx_link_up",
            "1 while the AMI link to a PBX is logged in",
            ["pbx"],
            registry=self.registry,
        )
        self.database_up = Gauge(
            "hotline_database_up", "1 while the database answers", registry=self.registry
        )
        self.http_requests = Counter(
            "hotline_http_requests",
            "HTTP requests served, by status class",
            ["status"],
            registry=self.registry,
        )

"""Prometheus figures for operators: one registry per application, served at /metrics.

Every part updates them through the one `Metrics` object the composition root builds.
Backlogs and link states are read from the live objects at each scrape (`LiveGauge`,
`Gauge.set_function`), so the figure is true whenever it is scraped and no task polls."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# One reading of a labelled gauge: the label values (in the gauge's order) and the value.
Reading = tuple[Sequence[str], float]


class LiveGauge(Collector):
    """A labelled gauge whose samples come from readers called at scrape time.

    The label sets can change while running (a subscriber added, a PBX configured), which a
    `Gauge.set_function` per child cannot follow.
    """

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._readers: list[Callable[[], Iterable[Reading]]] = []
        registry.register(self)

    def read_from(self, reader: Callable[[], Iterable[Reading]]) -> None:
        """Add a source of samples; each scrape exports what every reader returns then."""
        self._readers.append(reader)

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for reader in self._readers:
            for labels, value in reader():
                family.add_metric(list(labels), value)
        yield family

    def _family(self) -> GaugeMetricFamily | CounterMetricFamily:
        return GaugeMetricFamily(self._name, self._documentation, labels=self._labels)


class LiveCounter(LiveGauge):
    """A labelled counter kept by the live object itself and read at scrape time."""

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(self._name, self._documentation, labels=self._labels)


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
        self.pbx_up = LiveGauge(
            "hotline_pbx_link_up",
            "1 while the AMI link to a PBX is logged in",
            ["pbx"],
            self.registry,
        )
        self.ami_backlog = LiveGauge(
            "hotline_ami_backlog",
            "AMI messages read from a PBX and not yet translated and handed to subscribers",
            ["pbx"],
            self.registry,
        )
        self.ami_frames_rejected = LiveCounter(
            "hotline_ami_frames_rejected",
            "AMI frames that could be part of no call (unknown call, missing or malformed "
            "ids, conflicting keys), by PBX and reason",
            ["pbx", "reason"],
            self.registry,
        )
        self.ami_frames = LiveCounter(
            "hotline_ami_frames",
            "AMI frames a PBX sent that were refused (malformed, oversized) or had NULs removed "
            "(cleaned), by PBX and problem",
            ["pbx", "problem"],
            self.registry,
        )
        self.subscriber_backlog = LiveGauge(
            "hotline_subscriber_backlog",
            "Telephony events of a PBX waiting in a subscriber's queue",
            ["pbx", "subscriber"],
            self.registry,
        )
        self.call_writer_pending = Gauge(
            "hotline_call_writer_pending",
            "Call records and the panel's changes to them handed to the one writer of the "
            "calls rows and not yet stored",
            registry=self.registry,
        )
        self.task_failures = Counter(
            "hotline_task_failures",
            "Long-lived tasks that ended unexpectedly (and were restarted), by task",
            ["task"],
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

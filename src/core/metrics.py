"""Prometheus metrics, one registry per app so several apps (tests) never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The service's counters; `render()` is what `GET /metrics` returns."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connected_sockets = Gauge(
            "mindwire_connected_sockets", "Socket.IO connections open", registry=self.registry
        )
        self.events_emitted = Counter(
            "mindwire_events_emitted",
            "Events sent by the server",
            ["event"],
            registry=self.registry,
        )
        self.events_received = Counter(
            "mindwire_events_received",
            "Events received from clients",
            ["event"],
            registry=self.registry,
        )
        self.handler_errors = Counter(
            "mindwire_handler_errors", "Error replies by code", ["code"], registry=self.registry
        )
        self.handler_latency = Histogram(
            "mindwire_handler_latency_seconds",
            "Time spent in client event handlers",
            ["event"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

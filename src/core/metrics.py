"""Prometheus metrics, one registry per app so several apps (tests) never collide."""

from __future__ import annotations

from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

M = TypeVar("M", Counter, Histogram)


class Children(Generic[M]):
    """A labelled metric's child per label value, kept after the first call.

    prometheus' `labels()` builds its key and takes the metric's lock on every call; the
    sends call it once per event (2.8% of a 10,000-connect burst's samples). Only for label
    values from a bounded set (event names we know, error codes): each is kept for good.
    """

    def __init__(self, metric: M) -> None:
        self.metric: M = metric
        self._kept: dict[str, M] = {}

    def __call__(self, value: str) -> M:
        child = self._kept.get(value)
        if child is None:
            child = self._kept[value] = self.metric.labels(value)
        return child


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

        self.emitted = Children(self.events_emitted)
        self.received = Children(self.events_received)
        self.errors = Children(self.handler_errors)
        self.latency = Children(self.handler_latency)

    def render(self) -> bytes:
        return generate_latest(self.registry)

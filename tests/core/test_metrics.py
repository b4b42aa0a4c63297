"""The kept children of the labelled metrics count what `/metrics` shows."""

from __future__ import annotations

from src.core.metrics import Metrics


def test_a_kept_child_counts_into_the_rendered_metric() -> None:
    metrics = Metrics()
    for _ in range(3):
        metrics.emitted("memory_log_created").inc()
    metrics.emitted("pong").inc()
    metrics.errors("rate_limited").inc()
    metrics.latency("subscribe_event").observe(0.25)

    assert metrics.emitted("pong") is metrics.emitted("pong")
    text = metrics.render().decode()
    assert 'mindwire_events_emitted_total{event="memory_log_created"} 3.0' in text
    assert 'mindwire_events_emitted_total{event="pong"} 1.0' in text
    assert 'mindwire_handler_errors_total{code="rate_limited"} 1.0' in text
    assert 'mindwire_handler_latency_seconds_count{event="subscribe_event"} 1.0' in text


def test_each_app_keeps_its_own_children() -> None:
    first, second = Metrics(), Metrics()
    first.received("ping").inc()

    assert 'mindwire_events_received_total{event="ping"} 1.0' in first.render().decode()
    assert 'event="ping"' not in second.render().decode()

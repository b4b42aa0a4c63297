"""Each error code of the contract: an `error` event, a failed ack, and the socket stays up."""

from __future__ import annotations

import logging

import pytest

from tests.support import MonotonicClock


async def assert_error(sock, ack, code, event):
    assert ack == {"ok": False, "error": {"code": code, "message": ack["error"]["message"]}}
    [error] = await sock.wait_for("error", lambda e: e.data["code"] == code)
    assert error.data["event"] == event
    assert error.data["message"] == ack["error"]["message"]
    # The connection is still up and answering.
    assert (await sock.call("ping", {"timestamp": 7}))["timestamp"] == 7
    return error


async def test_unknown_event(connect, alice):
    sock = await connect(alice)
    ack = await sock.call("no_such_event", {"x": 1})
    await assert_error(sock, ack, "unknown_event", "no_such_event")


@pytest.mark.parametrize(
    ("event", "data", "field"),
    [
        ("ping", {}, "timestamp"),
        ("ping", {"timestamp": "soon"}, "timestamp"),
        ("ping", "not an object", None),
        ("subscribe_event", {"event_type": ""}, "event_type"),
        ("subscribe_event", {"event_type": 5}, "event_type"),
        ("unsubscribe_event", None, None),
    ],
)
async def test_invalid_payload_is_a_validation_error_with_details(
    connect, alice, event, data, field
):
    sock = await connect(alice)
    ack = await sock.call(event, data)
    error = await assert_error(sock, ack, "validation_error", event)
    assert isinstance(error.data["details"], list) and error.data["details"]
    if field is not None:
        assert error.data["details"][0]["loc"][0] == field


async def test_failing_handler_is_internal_error_with_logged_trace_id(
    live_server, connect, alice, caplog
):
    registry = live_server.services.registry

    @registry.register("explode")
    async def explode(sid, data, context):
        raise RuntimeError("boom")

    sock = await connect(alice)
    with caplog.at_level(logging.ERROR, logger="mindwire.events"):
        ack = await sock.call("explode", {})
        error = await assert_error(sock, ack, "internal_error", "explode")
    trace_id = error.data["details"]["trace_id"]
    assert any(trace_id in record.getMessage() for record in caplog.records)
    assert "boom" not in error.data["message"]


async def test_flood_is_rate_limited_and_socket_survives(live_server_factory, connect, alice):
    server = live_server_factory(socket_rate_limit="5/1s burst 5")
    clock = MonotonicClock()  # time stands still until the test moves it: no token refills

    async def install() -> None:  # on the server's loop, before the socket's bucket is made
        server.services.gateway.limits.clock = clock

    await server.run_on_server(install())
    sock = await connect(alice, url=server.url)
    acks = [await sock.call("ping", {"timestamp": n}) for n in range(8)]
    limited = [ack for ack in acks if ack.get("ok") is False]
    assert len(acks) - len(limited) == 5
    assert {ack["error"]["code"] for ack in limited} == {"rate_limited"}
    await sock.wait_for("error", lambda e: e.data["code"] == "rate_limited")
    assert sock.sio.connected
    clock.now += 0.25  # a token every 0.2 s: one more ping passes, the next is refused
    assert [(await sock.call("ping", {"timestamp": n})).get("ok", True) for n in (8, 9)] == [
        True,
        False,
    ]


async def test_message_over_max_bytes_is_payload_too_large(live_server_factory, connect, alice):
    server = live_server_factory(max_message_bytes=1000)
    sock = await connect(alice, url=server.url)
    ack = await sock.call("ping", {"timestamp": 1, "padding": "x" * 2000})
    await assert_error(sock, ack, "payload_too_large", "ping")


async def test_subscription_cap_is_too_many_subscriptions(live_server_factory, connect, alice):
    server = live_server_factory(max_subscriptions_per_socket=2)
    sock = await connect(alice, url=server.url)  # already in user_{id}
    assert (await sock.call("subscribe_event", {"event_type": "memory_logs"}))["ok"] is True
    ack = await sock.call("subscribe_event", {"event_type": "mental_notes"})
    await assert_error(sock, ack, "too_many_subscriptions", "subscribe_event")


async def test_client_events_named_connect_or_disconnect_change_nothing(connect, alice, admin):
    watcher = await connect(admin)
    await watcher.call("subscribe_event", {"event_type": "admin"})
    sock = await connect(alice)
    await watcher.wait_for("user_status_changed", lambda e: e.data["user_id"] == alice.id)
    await sock.sio.emit("disconnect", {"reason": "fake"})
    await sock.sio.emit("connect", {"token": alice.token})
    assert (await sock.call("ping", {"timestamp": 3}))["timestamp"] == 3
    offline = [e for e in watcher.events("user_status_changed") if e.data["status"] == "offline"]
    assert offline == []
    errors = await sock.wait_for("error", count=2)
    assert [(e.data["code"], e.data["event"]) for e in errors] == [
        ("unknown_event", "disconnect"),
        ("unknown_event", "connect"),
    ]


@pytest.mark.parametrize("name", ["connect", "disconnect"])
async def test_client_events_named_connect_or_disconnect_are_not_acknowledged_empty(
    connect, alice, name
):
    sock = await connect(alice)
    ack = await sock.call(name, {"token": alice.token})
    await assert_error(sock, ack, "unknown_event", name)

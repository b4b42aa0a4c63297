"""`share_protocol_state`: a connection takes the shared-state class whose values are its own
(same objects, or equal values of the same type), whether or not it is like the previous one."""

from __future__ import annotations

from typing import Any

from src.transport.protocol_state import MAX_CLASSES, SHARED, share_protocol_state

CONFIG, APP = object(), object()
_MISSING = object()


class Proto:
    """Stands for uvicorn's WebSocket protocol: an instance dict, a class to swap."""


def _protocol(base: type = Proto, **changes: Any) -> Any:
    protocol = base()
    values: dict[str, Any] = dict.fromkeys(SHARED)
    values.update(config=CONFIG, app=APP, ping_interval=20.0, server=("127.0.0.1", 8000))
    values.update(conn=object(), scope={"type": "websocket"})  # its own
    values.update(changes)
    for name, value in values.items():
        if value is not _MISSING:
            setattr(protocol, name, value)
    return protocol


def test_alike_connections_share_one_class_and_keep_their_own() -> None:
    class Base(Proto):
        pass

    first, second = _protocol(Base), _protocol(Base, server=("127.0.0.1", 8000))
    share_protocol_state(first)
    share_protocol_state(second)
    assert type(first) is type(second) and type(first).__base__ is Base
    assert sorted(vars(second)) == ["conn", "scope"]
    assert second.config is CONFIG and second.server == ("127.0.0.1", 8000)
    assert first.conn is not second.conn


def test_a_connection_unlike_the_previous_gets_the_class_of_its_own_values() -> None:
    class Base(Proto):
        pass

    made: dict[str, type] = {}
    cases: list[tuple[str, dict[str, Any]]] = [  # (the class expected, by name; the changes)
        ("plain", {}),
        ("another config", {"config": object()}),
        ("plain", {}),  # back to the first one's class, not the previous one's
        ("a value of another type", {"ping_interval": 20}),
        ("another value", {"ping_interval": 25.0}),
        ("a shared name missing", {"app": _MISSING}),
        ("plain", {"config": CONFIG, "server": ("127.0.0.1", 8000)}),
    ]
    for label, changes in cases:
        protocol = _protocol(Base, **changes)
        share_protocol_state(protocol)
        for name, value in changes.items():
            if value is _MISSING:
                assert not hasattr(protocol, name), label
            else:
                assert getattr(protocol, name) == value, label
        assert made.setdefault(label, type(protocol)) is type(protocol), label
    assert len(set(made.values())) == 5


def test_past_the_classes_kept_a_connection_still_gets_a_class_of_its_values() -> None:
    class Base(Proto):
        pass

    configs = [object() for _ in range(MAX_CLASSES + 2)]
    for config in configs:  # the first classes made are dropped from the cache
        share_protocol_state(_protocol(Base, config=config))
    first, again = _protocol(Base, config=configs[0]), _protocol(Base, config=configs[0])
    share_protocol_state(first)
    share_protocol_state(again)
    assert type(first) is type(again) and again.config is configs[0]

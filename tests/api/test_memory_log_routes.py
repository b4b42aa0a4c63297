"""SPEC §2, memory logs: the five routes, who may use them, and the events they emit."""

from __future__ import annotations

import pytest

from tests.api.helpers import event_types, is_utc, room_events

URL = "/api/memory-logs"
FIELDS = {"id", "user_id", "content", "created_at", "updated_at"}


async def create_log(client, user, content: str = "walked by the river") -> dict:
    response = await client.post(URL, json={"content": content}, headers=user.headers)
    assert response.status_code == 201, response.text
    log: dict = response.json()
    return log


async def read_log(client, user, log_id) -> dict:
    response = await client.get(f"{URL}/{log_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    log: dict = response.json()
    return log


# -- create --------------------------------------------------------------------------------------


async def test_create_memory_log_returns_201_and_the_log(client, alice):
    response = await client.post(URL, json={"content": "first light"}, headers=alice.headers)

    assert response.status_code == 201
    log = response.json()
    assert set(log) == FIELDS
    assert isinstance(log["id"], int)
    assert log["user_id"] == alice.id
    assert log["content"] == "first light"
    assert is_utc(log["created_at"])
    assert log["updated_at"] == log["created_at"]


async def test_create_memory_log_ignores_a_user_id_in_the_body(client, alice, bob):
    response = await client.post(
        URL, json={"content": "mine", "user_id": bob.id}, headers=alice.headers
    )

    assert response.json()["user_id"] == alice.id


@pytest.mark.parametrize("length", [1, 10000])
async def test_create_memory_log_accepts_content_at_the_length_limits(client, alice, length):
    log = await create_log(client, alice, "m" * length)

    assert len(log["content"]) == length


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"content": ""}, id="empty"),
        pytest.param({"content": "m" * 10001}, id="10001-chars"),
        pytest.param({}, id="missing"),
        pytest.param({"content": None}, id="null"),
        pytest.param({"content": 42}, id="not-a-string"),
        pytest.param({"content": "nul \x00 byte"}, id="nul-character"),
    ],
)
async def test_create_memory_log_with_invalid_content_is_422(client, alice, body):
    response = await client.post(URL, json=body, headers=alice.headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_create_memory_log_keeps_unicode_content(client, alice):
    content = "café ☕ — 日本語 🧠\nsecond line"

    log = await create_log(client, alice, content)

    assert (await read_log(client, alice, log["id"]))["content"] == content


# -- list ----------------------------------------------------------------------------------------


async def test_list_memory_logs_returns_own_logs_newest_first(client, alice, bob):
    first = await create_log(client, alice, "one")
    second = await create_log(client, alice, "two")
    await create_log(client, bob, "bob's")
    third = await create_log(client, alice, "three")

    response = await client.get(URL, headers=alice.headers)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "total"}
    assert body["total"] == 3
    assert body["items"] == [third, second, first]


async def test_list_memory_logs_is_empty_for_a_new_user(client, alice):
    response = await client.get(URL, headers=alice.headers)

    assert response.json() == {"items": [], "total": 0}


async def test_list_memory_logs_pages_with_limit_and_offset(client, alice):
    logs = [await create_log(client, alice, f"log {n}") for n in range(5)]
    newest_first = [log["id"] for log in reversed(logs)]

    first_page = (await client.get(URL, params={"limit": 2}, headers=alice.headers)).json()
    second_page = (
        await client.get(URL, params={"limit": 2, "offset": 2}, headers=alice.headers)
    ).json()
    past_the_end = (await client.get(URL, params={"offset": 5}, headers=alice.headers)).json()

    assert [log["id"] for log in first_page["items"]] == newest_first[:2]
    assert [log["id"] for log in second_page["items"]] == newest_first[2:4]
    assert first_page["total"] == second_page["total"] == past_the_end["total"] == 5
    assert past_the_end["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "many"}, {"user_id": 0}],
    ids=["limit-0", "limit-101", "offset-negative", "limit-not-a-number", "user-id-0"],
)
async def test_list_memory_logs_with_invalid_paging_is_422(client, alice, params):
    response = await client.get(URL, params=params, headers=alice.headers)

    assert response.status_code == 422


async def test_list_memory_logs_of_someone_else_is_403_for_a_non_admin(client, alice, bob):
    await create_log(client, bob, "private")

    response = await client.get(URL, params={"user_id": bob.id}, headers=alice.headers)

    assert response.status_code == 403
    assert "private" not in response.text


async def test_list_memory_logs_with_own_user_id_is_allowed(client, alice):
    log = await create_log(client, alice)

    response = await client.get(URL, params={"user_id": alice.id}, headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == {"items": [log], "total": 1}


async def test_admin_may_list_someone_elses_memory_logs(client, alice, admin):
    log = await create_log(client, alice)

    response = await client.get(URL, params={"user_id": alice.id}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == {"items": [log], "total": 1}


async def test_admin_without_user_id_lists_their_own_memory_logs(client, alice, admin):
    await create_log(client, alice)

    response = await client.get(URL, headers=admin.headers)

    assert response.json() == {"items": [], "total": 0}


# -- get, patch, delete own ----------------------------------------------------------------------


async def test_get_own_memory_log(client, alice):
    log = await create_log(client, alice)

    response = await client.get(f"{URL}/{log['id']}", headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == log


async def test_patch_own_memory_log_changes_content_and_updated_at(client, alice):
    log = await create_log(client, alice, "before")

    response = await client.patch(
        f"{URL}/{log['id']}", json={"content": "after"}, headers=alice.headers
    )

    assert response.status_code == 200
    patched = response.json()
    assert patched["id"] == log["id"]
    assert patched["user_id"] == alice.id
    assert patched["content"] == "after"
    assert patched["created_at"] == log["created_at"]
    assert is_utc(patched["updated_at"])
    assert patched["updated_at"] >= log["updated_at"]
    assert await read_log(client, alice, log["id"]) == patched


@pytest.mark.parametrize(
    "body",
    [{"content": ""}, {"content": "m" * 10001}, {}, {"content": "\x00"}],
    ids=["empty", "10001-chars", "missing", "nul-character"],
)
async def test_patch_memory_log_with_invalid_content_is_422_and_changes_nothing(
    client, alice, body
):
    log = await create_log(client, alice)

    response = await client.patch(f"{URL}/{log['id']}", json=body, headers=alice.headers)

    assert response.status_code == 422
    assert await read_log(client, alice, log["id"]) == log


async def test_delete_own_memory_log_is_204_and_it_is_gone(client, alice):
    log = await create_log(client, alice)

    response = await client.delete(f"{URL}/{log['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{URL}/{log['id']}", headers=alice.headers)).status_code == 404
    assert (await client.get(URL, headers=alice.headers)).json() == {"items": [], "total": 0}


async def test_delete_memory_log_twice_is_404_the_second_time(client, alice):
    log = await create_log(client, alice)
    await client.delete(f"{URL}/{log['id']}", headers=alice.headers)

    response = await client.delete(f"{URL}/{log['id']}", headers=alice.headers)

    assert response.status_code == 404


# -- someone else's, missing and impossible ids --------------------------------------------------


async def test_get_someone_elses_memory_log_is_404(client, alice, bob):
    log = await create_log(client, alice, "alice's secret")

    response = await client.get(f"{URL}/{log['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert "alice's secret" not in response.text


async def test_someone_elses_memory_log_looks_exactly_like_a_missing_one(client, alice, bob):
    log = await create_log(client, alice)
    await create_log(client, bob)
    missing_id = log["id"] + 1000

    someone_elses = await client.get(f"{URL}/{log['id']}", headers=bob.headers)
    missing = await client.get(f"{URL}/{missing_id}", headers=bob.headers)

    assert someone_elses.status_code == missing.status_code == 404
    assert someone_elses.json()["detail"].replace(str(log["id"]), "ID") == missing.json()[
        "detail"
    ].replace(str(missing_id), "ID")


async def test_patch_someone_elses_memory_log_is_404_and_changes_nothing(client, alice, bob):
    log = await create_log(client, alice, "original")

    response = await client.patch(
        f"{URL}/{log['id']}", json={"content": "defaced"}, headers=bob.headers
    )

    assert response.status_code == 404
    assert await read_log(client, alice, log["id"]) == log


async def test_delete_someone_elses_memory_log_is_404_and_it_survives(client, alice, bob):
    log = await create_log(client, alice)

    response = await client.delete(f"{URL}/{log['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert await read_log(client, alice, log["id"]) == log


async def test_failed_writes_on_someone_elses_memory_log_emit_nothing(client, alice, bob, admin):
    log = await create_log(client, alice)

    await client.patch(f"{URL}/{log['id']}", json={"content": "x"}, headers=bob.headers)
    await client.delete(f"{URL}/{log['id']}", headers=bob.headers)

    assert event_types(await room_events(client, admin, "memory_logs")) == ["memory_log_created"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_missing_memory_log_is_404(client, alice, method):
    response = await client.request(
        method, f"{URL}/999999", json={"content": "x"}, headers=alice.headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("log_id", [str(2**70), str(2**63), str(2**31), "0", "-1", "abc"])
async def test_impossible_memory_log_id_is_422(client, alice, method, log_id):
    response = await client.request(
        method, f"{URL}/{log_id}", json={"content": "x"}, headers=alice.headers
    )

    assert response.status_code == 422


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_largest_possible_memory_log_id_is_404(client, alice, method):
    response = await client.request(
        method, f"{URL}/{2**31 - 1}", json={"content": "x"}, headers=alice.headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize("user_id", [2**31, 2**70])
async def test_admin_listing_an_impossible_user_id_is_422(client, admin, user_id):
    response = await client.get(URL, params={"user_id": user_id}, headers=admin.headers)

    assert response.status_code == 422


async def test_admin_listing_a_missing_user_gets_an_empty_page(client, admin):
    response = await client.get(URL, params={"user_id": 2**31 - 1}, headers=admin.headers)

    assert response.json() == {"items": [], "total": 0}


# -- admins --------------------------------------------------------------------------------------


async def test_admin_may_get_someone_elses_memory_log(client, alice, admin):
    log = await create_log(client, alice)

    response = await client.get(f"{URL}/{log['id']}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == log


async def test_admin_may_patch_someone_elses_memory_log(client, alice, admin):
    log = await create_log(client, alice, "before")

    response = await client.patch(
        f"{URL}/{log['id']}", json={"content": "moderated"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["user_id"] == alice.id
    assert (await read_log(client, alice, log["id"]))["content"] == "moderated"


async def test_admin_may_delete_someone_elses_memory_log(client, alice, admin):
    log = await create_log(client, alice)

    response = await client.delete(f"{URL}/{log['id']}", headers=admin.headers)

    assert response.status_code == 204
    assert (await client.get(f"{URL}/{log['id']}", headers=alice.headers)).status_code == 404


# -- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", URL),
        ("GET", URL),
        ("GET", f"{URL}/1"),
        ("PATCH", f"{URL}/1"),
        ("DELETE", f"{URL}/1"),
    ],
)
async def test_memory_log_routes_without_a_token_are_401(client, method, path):
    response = await client.request(method, path, json={"content": "x"})

    assert response.status_code == 401


# -- events --------------------------------------------------------------------------------------


async def test_create_memory_log_emits_memory_log_created_with_the_log(client, alice):
    log = await create_log(client, alice)

    events = await room_events(client, alice, "memory_logs")

    assert event_types(events) == ["memory_log_created"]
    assert events[0]["data"] == log


async def test_patch_memory_log_emits_memory_log_updated_with_the_new_log(client, alice):
    log = await create_log(client, alice)
    patched = (
        await client.patch(f"{URL}/{log['id']}", json={"content": "new"}, headers=alice.headers)
    ).json()

    events = await room_events(client, alice, "memory_logs")

    assert event_types(events) == ["memory_log_created", "memory_log_updated"]
    assert events[1]["data"] == patched


async def test_delete_memory_log_emits_memory_log_deleted_with_id_and_owner(client, alice):
    log = await create_log(client, alice)
    await client.delete(f"{URL}/{log['id']}", headers=alice.headers)

    events = await room_events(client, alice, "memory_logs")

    assert event_types(events) == ["memory_log_created", "memory_log_deleted"]
    deleted = events[1]["data"]
    assert set(deleted) == {"id", "user_id", "deleted_at"}
    assert deleted["id"] == log["id"]
    assert deleted["user_id"] == alice.id
    assert is_utc(deleted["deleted_at"])


async def test_memory_log_events_also_reach_the_owners_user_room(client, alice):
    log = await create_log(client, alice)
    await client.patch(f"{URL}/{log['id']}", json={"content": "new"}, headers=alice.headers)
    await client.delete(f"{URL}/{log['id']}", headers=alice.headers)

    events = await room_events(client, alice, f"user_{alice.id}")

    assert event_types(events) == [
        "memory_log_created",
        "memory_log_updated",
        "memory_log_deleted",
    ]


async def test_admin_writes_on_someone_elses_log_are_visible_to_the_owner(client, alice, admin):
    log = await create_log(client, alice)
    await client.patch(f"{URL}/{log['id']}", json={"content": "moderated"}, headers=admin.headers)
    await client.delete(f"{URL}/{log['id']}", headers=admin.headers)

    events = await room_events(client, alice, "memory_logs")

    assert event_types(events) == [
        "memory_log_created",
        "memory_log_updated",
        "memory_log_deleted",
    ]
    assert all(event["data"]["user_id"] == alice.id for event in events)


async def test_memory_log_events_are_not_listed_for_other_users(client, alice, bob):
    await create_log(client, alice)

    assert await room_events(client, bob, "memory_logs") == []
    assert await room_events(client, bob, f"user_{bob.id}") == []


async def test_the_id_of_a_deleted_newest_log_is_never_given_again(client, alice):
    """Events name items by id: a reused id would make two `memory_log_created` for one id."""
    first = (
        await client.post("/api/memory-logs", json={"content": "a"}, headers=alice.headers)
    ).json()
    await client.delete(f"/api/memory-logs/{first['id']}", headers=alice.headers)
    second = (
        await client.post("/api/memory-logs", json={"content": "b"}, headers=alice.headers)
    ).json()
    assert second["id"] > first["id"]

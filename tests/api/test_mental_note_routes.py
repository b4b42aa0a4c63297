"""SPEC §2, mental notes: the five routes, who may use them, and the events they emit."""

from __future__ import annotations

import pytest

from tests.api.helpers import event_types, is_utc, room_events

URL = "/api/mental-notes"
FIELDS = {"id", "user_id", "title", "content", "created_at", "updated_at"}


async def create_note(client, user, title: str = "groceries", content: str = "milk, eggs") -> dict:
    response = await client.post(
        URL, json={"title": title, "content": content}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    note: dict = response.json()
    return note


async def read_note(client, user, note_id) -> dict:
    response = await client.get(f"{URL}/{note_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    note: dict = response.json()
    return note


# -- create --------------------------------------------------------------------------------------


async def test_create_mental_note_returns_201_and_the_note(client, alice):
    response = await client.post(
        URL, json={"title": "ideas", "content": "a garden"}, headers=alice.headers
    )

    assert response.status_code == 201
    note = response.json()
    assert set(note) == FIELDS
    assert isinstance(note["id"], int)
    assert note["user_id"] == alice.id
    assert note["title"] == "ideas"
    assert note["content"] == "a garden"
    assert is_utc(note["created_at"])
    assert note["updated_at"] == note["created_at"]


async def test_create_mental_note_without_content_has_empty_content(client, alice):
    response = await client.post(URL, json={"title": "just a title"}, headers=alice.headers)

    assert response.status_code == 201
    assert response.json()["content"] == ""


async def test_create_mental_note_ignores_a_user_id_in_the_body(client, alice, bob):
    response = await client.post(
        URL, json={"title": "mine", "user_id": bob.id}, headers=alice.headers
    )

    assert response.json()["user_id"] == alice.id


@pytest.mark.parametrize(
    ("title", "content"),
    [("t", ""), ("t" * 200, "c" * 10000)],
    ids=["shortest", "longest"],
)
async def test_create_mental_note_accepts_fields_at_the_length_limits(
    client, alice, title, content
):
    note = await create_note(client, alice, title, content)

    assert (note["title"], note["content"]) == (title, content)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"title": ""}, id="title-empty"),
        pytest.param({"title": "t" * 201}, id="title-201-chars"),
        pytest.param({"content": "no title"}, id="title-missing"),
        pytest.param({"title": None}, id="title-null"),
        pytest.param({"title": "nul \x00 byte"}, id="title-nul-character"),
        pytest.param({"title": "t", "content": "c" * 10001}, id="content-10001-chars"),
        pytest.param({"title": "t", "content": None}, id="content-null"),
        pytest.param({"title": "t", "content": "nul \x00 byte"}, id="content-nul-character"),
    ],
)
async def test_create_mental_note_with_invalid_fields_is_422(client, alice, body):
    response = await client.post(URL, json=body, headers=alice.headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


# -- list ----------------------------------------------------------------------------------------


async def test_list_mental_notes_returns_own_notes_newest_first(client, alice, bob):
    first = await create_note(client, alice, "one")
    second = await create_note(client, alice, "two")
    await create_note(client, bob, "bob's")
    third = await create_note(client, alice, "three")

    response = await client.get(URL, headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == {"items": [third, second, first], "total": 3}


async def test_list_mental_notes_is_empty_for_a_new_user(client, alice):
    response = await client.get(URL, headers=alice.headers)

    assert response.json() == {"items": [], "total": 0}


async def test_list_mental_notes_pages_with_limit_and_offset(client, alice):
    notes = [await create_note(client, alice, f"note {n}") for n in range(5)]
    newest_first = [note["id"] for note in reversed(notes)]

    first_page = (await client.get(URL, params={"limit": 2}, headers=alice.headers)).json()
    last_page = (
        await client.get(URL, params={"limit": 2, "offset": 4}, headers=alice.headers)
    ).json()

    assert [note["id"] for note in first_page["items"]] == newest_first[:2]
    assert [note["id"] for note in last_page["items"]] == newest_first[4:]
    assert first_page["total"] == last_page["total"] == 5


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}],
    ids=["limit-0", "limit-101", "offset-negative"],
)
async def test_list_mental_notes_with_invalid_paging_is_422(client, alice, params):
    response = await client.get(URL, params=params, headers=alice.headers)

    assert response.status_code == 422


async def test_list_mental_notes_of_someone_else_is_403_for_a_non_admin(client, alice, bob):
    await create_note(client, bob, "private")

    response = await client.get(URL, params={"user_id": bob.id}, headers=alice.headers)

    assert response.status_code == 403
    assert "private" not in response.text


async def test_admin_may_list_someone_elses_mental_notes(client, alice, admin):
    note = await create_note(client, alice)

    response = await client.get(URL, params={"user_id": alice.id}, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == {"items": [note], "total": 1}


# -- get, patch, delete own ----------------------------------------------------------------------


async def test_get_own_mental_note(client, alice):
    note = await create_note(client, alice)

    response = await client.get(f"{URL}/{note['id']}", headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == note


async def test_patch_own_mental_note_changes_both_fields(client, alice):
    note = await create_note(client, alice, "old title", "old content")

    response = await client.patch(
        f"{URL}/{note['id']}",
        json={"title": "new title", "content": "new content"},
        headers=alice.headers,
    )

    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["content"]) == ("new title", "new content")
    assert patched["id"] == note["id"]
    assert patched["created_at"] == note["created_at"]
    assert is_utc(patched["updated_at"])
    assert patched["updated_at"] >= note["updated_at"]
    assert await read_note(client, alice, note["id"]) == patched


async def test_patch_mental_note_title_only_keeps_the_content(client, alice):
    note = await create_note(client, alice, "old title", "kept")

    response = await client.patch(
        f"{URL}/{note['id']}", json={"title": "new title"}, headers=alice.headers
    )

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["content"]) == ("new title", "kept")


async def test_patch_mental_note_content_only_keeps_the_title(client, alice):
    note = await create_note(client, alice, "kept", "old")

    response = await client.patch(
        f"{URL}/{note['id']}", json={"content": ""}, headers=alice.headers
    )

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["content"]) == ("kept", "")


@pytest.mark.parametrize(
    "body",
    [{"title": ""}, {"title": "t" * 201}, {"content": "c" * 10001}, {"title": "\x00"}],
    ids=["title-empty", "title-201-chars", "content-10001-chars", "title-nul-character"],
)
async def test_patch_mental_note_with_invalid_fields_is_422_and_changes_nothing(
    client, alice, body
):
    note = await create_note(client, alice)

    response = await client.patch(f"{URL}/{note['id']}", json=body, headers=alice.headers)

    assert response.status_code == 422
    assert await read_note(client, alice, note["id"]) == note


async def test_delete_own_mental_note_is_204_and_it_is_gone(client, alice):
    note = await create_note(client, alice)

    response = await client.delete(f"{URL}/{note['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"{URL}/{note['id']}", headers=alice.headers)).status_code == 404
    assert (await client.get(URL, headers=alice.headers)).json() == {"items": [], "total": 0}


# -- someone else's, missing and impossible ids --------------------------------------------------


async def test_get_someone_elses_mental_note_is_404(client, alice, bob):
    note = await create_note(client, alice, "alice's secret")

    response = await client.get(f"{URL}/{note['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert "alice's secret" not in response.text


async def test_patch_someone_elses_mental_note_is_404_and_changes_nothing(client, alice, bob):
    note = await create_note(client, alice)

    response = await client.patch(
        f"{URL}/{note['id']}", json={"title": "defaced"}, headers=bob.headers
    )

    assert response.status_code == 404
    assert await read_note(client, alice, note["id"]) == note


async def test_delete_someone_elses_mental_note_is_404_and_it_survives(client, alice, bob):
    note = await create_note(client, alice)

    response = await client.delete(f"{URL}/{note['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert await read_note(client, alice, note["id"]) == note


async def test_failed_writes_on_someone_elses_mental_note_emit_nothing(client, alice, bob, admin):
    note = await create_note(client, alice)

    await client.patch(f"{URL}/{note['id']}", json={"title": "x"}, headers=bob.headers)
    await client.delete(f"{URL}/{note['id']}", headers=bob.headers)

    assert event_types(await room_events(client, admin, "mental_notes")) == ["mental_note_created"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_missing_mental_note_is_404(client, alice, method):
    response = await client.request(
        method, f"{URL}/999999", json={"title": "x"}, headers=alice.headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("note_id", [str(2**70), str(2**63), str(2**31), "0", "-1", "abc"])
async def test_impossible_mental_note_id_is_422(client, alice, method, note_id):
    response = await client.request(
        method, f"{URL}/{note_id}", json={"title": "x"}, headers=alice.headers
    )

    assert response.status_code == 422


async def test_largest_possible_mental_note_id_is_404(client, alice):
    response = await client.get(f"{URL}/{2**31 - 1}", headers=alice.headers)

    assert response.status_code == 404


@pytest.mark.parametrize("user_id", [2**31, 2**70])
async def test_admin_listing_an_impossible_user_id_is_422(client, admin, user_id):
    response = await client.get(URL, params={"user_id": user_id}, headers=admin.headers)

    assert response.status_code == 422


# -- admins --------------------------------------------------------------------------------------


async def test_admin_may_get_someone_elses_mental_note(client, alice, admin):
    note = await create_note(client, alice)

    response = await client.get(f"{URL}/{note['id']}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == note


async def test_admin_may_patch_someone_elses_mental_note(client, alice, admin):
    note = await create_note(client, alice)

    response = await client.patch(
        f"{URL}/{note['id']}", json={"title": "moderated"}, headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["user_id"] == alice.id
    assert (await read_note(client, alice, note["id"]))["title"] == "moderated"


async def test_admin_may_delete_someone_elses_mental_note(client, alice, admin):
    note = await create_note(client, alice)

    response = await client.delete(f"{URL}/{note['id']}", headers=admin.headers)

    assert response.status_code == 204
    assert (await client.get(f"{URL}/{note['id']}", headers=alice.headers)).status_code == 404


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
async def test_mental_note_routes_without_a_token_are_401(client, method, path):
    response = await client.request(method, path, json={"title": "x"})

    assert response.status_code == 401


# -- events --------------------------------------------------------------------------------------


async def test_mental_note_writes_emit_created_updated_deleted(client, alice):
    note = await create_note(client, alice)
    patched = (
        await client.patch(f"{URL}/{note['id']}", json={"title": "new"}, headers=alice.headers)
    ).json()
    await client.delete(f"{URL}/{note['id']}", headers=alice.headers)

    events = await room_events(client, alice, "mental_notes")

    assert event_types(events) == [
        "mental_note_created",
        "mental_note_updated",
        "mental_note_deleted",
    ]
    assert events[0]["data"] == note
    assert events[1]["data"] == patched
    deleted = events[2]["data"]
    assert set(deleted) == {"id", "user_id", "deleted_at"}
    assert (deleted["id"], deleted["user_id"]) == (note["id"], alice.id)
    assert is_utc(deleted["deleted_at"])


async def test_mental_note_events_also_reach_the_owners_user_room(client, alice):
    note = await create_note(client, alice)
    await client.delete(f"{URL}/{note['id']}", headers=alice.headers)

    events = await room_events(client, alice, f"user_{alice.id}")

    assert event_types(events) == ["mental_note_created", "mental_note_deleted"]


async def test_mental_note_events_are_not_in_the_memory_logs_room(client, alice):
    await create_note(client, alice)

    assert await room_events(client, alice, "memory_logs") == []


async def test_admin_writes_on_someone_elses_note_are_visible_to_the_owner(client, alice, admin):
    note = await create_note(client, alice)
    await client.patch(f"{URL}/{note['id']}", json={"title": "moderated"}, headers=admin.headers)
    await client.delete(f"{URL}/{note['id']}", headers=admin.headers)

    events = await room_events(client, alice, "mental_notes")

    assert event_types(events) == [
        "mental_note_created",
        "mental_note_updated",
        "mental_note_deleted",
    ]
    assert events[1]["data"]["title"] == "moderated"


async def test_mental_note_events_are_not_listed_for_other_users(client, alice, bob):
    await create_note(client, alice)

    assert await room_events(client, bob, "mental_notes") == []
    assert await room_events(client, bob, f"user_{bob.id}") == []

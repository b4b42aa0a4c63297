"""REST, memory logs and mental notes: the five routes of each, who may use them, and the
events they emit.

The two collections behave alike, so most tests run once for each (the `collection` fixture);
what only one of them has (a note's title and its optional content, a log's required content
on update) is tested at the end, under its own heading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests import support
from tests.api.helpers import event_types, is_utc, list_body, room_events


@dataclass(frozen=True)
class Collection:
    """One collection of items as the tests see it: its routes, its fields and its events."""

    url: str
    room: str
    event_prefix: str
    fields: frozenset[str]
    # The required text field every shared test writes: a log's content, a note's title.
    text_field: str
    max_length: int
    # The other fields a create body carries besides `text_field`.
    defaults: dict[str, str] = field(default_factory=dict)

    def body(self, text: object) -> dict[str, object]:
        """A create body with `text` in the text field."""
        return {**self.defaults, self.text_field: text}

    def patch(self, text: object) -> dict[str, object]:
        """A patch body that sets the text field alone."""
        return {self.text_field: text}

    def event(self, action: str) -> str:
        return f"{self.event_prefix}_{action}"

    def events(self, *actions: str) -> list[str]:
        return [self.event(action) for action in actions]


MEMORY_LOGS = Collection(
    url="/api/memory-logs",
    room="memory_logs",
    event_prefix="memory_log",
    fields=frozenset({"id", "user_id", "content", "created_at", "updated_at"}),
    text_field="content",
    max_length=10000,
)
MENTAL_NOTES = Collection(
    url="/api/mental-notes",
    room="mental_notes",
    event_prefix="mental_note",
    fields=frozenset({"id", "user_id", "title", "content", "created_at", "updated_at"}),
    text_field="title",
    max_length=200,
    defaults={"content": "milk, eggs"},
)
COLLECTIONS = [
    pytest.param(MEMORY_LOGS, id="memory-logs"),
    pytest.param(MENTAL_NOTES, id="mental-notes"),
]


@pytest.fixture(params=COLLECTIONS)
def collection(request: pytest.FixtureRequest) -> Collection:
    chosen: Collection = request.param
    return chosen


async def create_item(
    client: httpx.AsyncClient,
    user: support.TestUser,
    collection: Collection,
    text: str = "first light",
) -> dict[str, Any]:
    response = await client.post(collection.url, json=collection.body(text), headers=user.headers)
    assert response.status_code == 201, response.text
    item: dict[str, Any] = response.json()
    return item


async def read_item(
    client: httpx.AsyncClient, user: support.TestUser, collection: Collection, item_id: int
) -> dict[str, Any]:
    response = await client.get(f"{collection.url}/{item_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()
    return item


# -- create --------------------------------------------------------------------------------------


async def test_create_returns_201_and_the_item(client, alice, collection):
    body = collection.body("first light")

    response = await client.post(collection.url, json=body, headers=alice.headers)

    assert response.status_code == 201
    item = response.json()
    assert set(item) == collection.fields
    assert isinstance(item["id"], int)
    assert item["user_id"] == alice.id
    assert {key: item[key] for key in body} == body
    assert is_utc(item["created_at"])
    assert item["updated_at"] == item["created_at"]


async def test_create_ignores_a_user_id_in_the_body(client, alice, bob, collection):
    body = {**collection.body("mine"), "user_id": bob.id}

    response = await client.post(collection.url, json=body, headers=alice.headers)

    assert response.json()["user_id"] == alice.id


@pytest.mark.parametrize("limit", ["shortest", "longest"])
async def test_create_accepts_the_text_field_at_its_length_limits(client, alice, collection, limit):
    text = "m" if limit == "shortest" else "m" * collection.max_length

    item = await create_item(client, alice, collection, text)

    assert item[collection.text_field] == text


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda c: c.body(""), id="empty"),
        pytest.param(lambda c: c.body("m" * (c.max_length + 1)), id="one-char-too-long"),
        pytest.param(lambda c: dict(c.defaults), id="missing"),
        pytest.param(lambda c: c.body(None), id="null"),
        pytest.param(lambda c: c.body(42), id="not-a-string"),
        pytest.param(lambda c: c.body("nul \x00 byte"), id="nul-character"),
    ],
)
async def test_create_with_an_invalid_text_field_is_422(client, alice, collection, make_body):
    response = await client.post(collection.url, json=make_body(collection), headers=alice.headers)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


async def test_create_keeps_unicode_text(client, alice, collection):
    text = "café ☕ — 日本語 🧠\nsecond line"

    item = await create_item(client, alice, collection, text)

    assert (await read_item(client, alice, collection, item["id"]))[collection.text_field] == text


# -- list ----------------------------------------------------------------------------------------


async def test_list_returns_own_items_newest_first(client, alice, bob, collection):
    first = await create_item(client, alice, collection, "one")
    second = await create_item(client, alice, collection, "two")
    await create_item(client, bob, collection, "bob's")
    third = await create_item(client, alice, collection, "three")

    response = await client.get(collection.url, headers=alice.headers)

    assert response.status_code == 200
    assert list_body(response) == {"items": [third, second, first], "total": 3}


async def test_list_is_empty_for_a_new_user(client, alice, collection):
    response = await client.get(collection.url, headers=alice.headers)

    assert list_body(response) == {"items": [], "total": 0}


async def test_list_pages_with_limit_and_offset(client, alice, collection):
    items = [await create_item(client, alice, collection, f"item {n}") for n in range(5)]
    newest_first = [item["id"] for item in reversed(items)]

    async def page(**params: int) -> dict[str, Any]:
        response = await client.get(collection.url, params=params, headers=alice.headers)
        body: dict[str, Any] = response.json()
        return body

    first_page = await page(limit=2)
    second_page = await page(limit=2, offset=2)
    last_page = await page(limit=2, offset=4)
    past_the_end = await page(offset=5)

    assert [item["id"] for item in first_page["items"]] == newest_first[:2]
    assert [item["id"] for item in second_page["items"]] == newest_first[2:4]
    assert [item["id"] for item in last_page["items"]] == newest_first[4:]
    assert past_the_end["items"] == []
    pages = [first_page, second_page, last_page, past_the_end]
    assert [p["total"] for p in pages] == [5, 5, 5, 5]


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "many"}, {"user_id": 0}],
    ids=["limit-0", "limit-101", "offset-negative", "limit-not-a-number", "user-id-0"],
)
async def test_list_with_invalid_paging_is_422(client, alice, collection, params):
    response = await client.get(collection.url, params=params, headers=alice.headers)

    assert response.status_code == 422


async def test_list_of_someone_else_is_403_for_a_non_admin(client, alice, bob, collection):
    await create_item(client, bob, collection, "private")

    response = await client.get(collection.url, params={"user_id": bob.id}, headers=alice.headers)

    assert response.status_code == 403
    assert "private" not in response.text


async def test_list_with_own_user_id_is_allowed(client, alice, collection):
    item = await create_item(client, alice, collection)

    response = await client.get(collection.url, params={"user_id": alice.id}, headers=alice.headers)

    assert response.status_code == 200
    assert list_body(response) == {"items": [item], "total": 1}


async def test_admin_may_list_someone_elses_items(client, alice, admin, collection):
    item = await create_item(client, alice, collection)

    response = await client.get(collection.url, params={"user_id": alice.id}, headers=admin.headers)

    assert response.status_code == 200
    assert list_body(response) == {"items": [item], "total": 1}


async def test_admin_without_user_id_lists_their_own_items(client, alice, admin, collection):
    await create_item(client, alice, collection)

    response = await client.get(collection.url, headers=admin.headers)

    assert list_body(response) == {"items": [], "total": 0}


@pytest.mark.parametrize("user_id", [2**31, 2**70])
async def test_admin_listing_an_impossible_user_id_is_422(client, admin, collection, user_id):
    response = await client.get(collection.url, params={"user_id": user_id}, headers=admin.headers)

    assert response.status_code == 422


async def test_admin_listing_a_missing_user_gets_an_empty_page(client, admin, collection):
    response = await client.get(
        collection.url, params={"user_id": 2**31 - 1}, headers=admin.headers
    )

    assert list_body(response) == {"items": [], "total": 0}


# -- get, patch, delete own ----------------------------------------------------------------------


async def test_get_own_item(client, alice, collection):
    item = await create_item(client, alice, collection)

    response = await client.get(f"{collection.url}/{item['id']}", headers=alice.headers)

    assert response.status_code == 200
    assert response.json() == item


async def test_patch_own_item_changes_the_text_and_updated_at(client, alice, collection):
    item = await create_item(client, alice, collection, "before")

    response = await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("after"), headers=alice.headers
    )

    assert response.status_code == 200
    patched = response.json()
    assert patched["id"] == item["id"]
    assert patched["user_id"] == alice.id
    assert patched[collection.text_field] == "after"
    assert patched["created_at"] == item["created_at"]
    assert is_utc(patched["updated_at"])
    assert patched["updated_at"] >= item["updated_at"]
    assert await read_item(client, alice, collection, item["id"]) == patched


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(lambda c: c.patch(""), id="empty"),
        pytest.param(lambda c: c.patch("m" * (c.max_length + 1)), id="one-char-too-long"),
        pytest.param(lambda c: c.patch("\x00"), id="nul-character"),
    ],
)
async def test_patch_with_an_invalid_text_field_is_422_and_changes_nothing(
    client, alice, collection, make_body
):
    item = await create_item(client, alice, collection)

    response = await client.patch(
        f"{collection.url}/{item['id']}", json=make_body(collection), headers=alice.headers
    )

    assert response.status_code == 422
    assert await read_item(client, alice, collection, item["id"]) == item


async def test_delete_own_item_is_204_and_it_is_gone(client, alice, collection):
    item = await create_item(client, alice, collection)

    response = await client.delete(f"{collection.url}/{item['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert response.content == b""
    gone = await client.get(f"{collection.url}/{item['id']}", headers=alice.headers)
    assert gone.status_code == 404
    assert list_body(await client.get(collection.url, headers=alice.headers)) == {
        "items": [],
        "total": 0,
    }


async def test_delete_twice_is_404_the_second_time(client, alice, collection):
    item = await create_item(client, alice, collection)
    await client.delete(f"{collection.url}/{item['id']}", headers=alice.headers)

    response = await client.delete(f"{collection.url}/{item['id']}", headers=alice.headers)

    assert response.status_code == 404


async def test_the_id_of_a_deleted_newest_item_is_never_given_again(client, alice, collection):
    """Events name items by id: a reused id would make two `*_created` events for one id."""
    first = await create_item(client, alice, collection, "a")
    await client.delete(f"{collection.url}/{first['id']}", headers=alice.headers)

    second = await create_item(client, alice, collection, "b")

    assert second["id"] > first["id"]


# -- someone else's, missing and impossible ids --------------------------------------------------


async def test_get_someone_elses_item_is_404(client, alice, bob, collection):
    item = await create_item(client, alice, collection, "alice's secret")

    response = await client.get(f"{collection.url}/{item['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert "alice's secret" not in response.text


async def test_someone_elses_item_looks_exactly_like_a_missing_one(client, alice, bob, collection):
    item = await create_item(client, alice, collection)
    await create_item(client, bob, collection)
    missing_id = item["id"] + 1000

    someone_elses = await client.get(f"{collection.url}/{item['id']}", headers=bob.headers)
    missing = await client.get(f"{collection.url}/{missing_id}", headers=bob.headers)

    assert someone_elses.status_code == missing.status_code == 404
    assert someone_elses.json()["detail"].replace(str(item["id"]), "ID") == missing.json()[
        "detail"
    ].replace(str(missing_id), "ID")


async def test_patch_someone_elses_item_is_404_and_changes_nothing(client, alice, bob, collection):
    item = await create_item(client, alice, collection, "original")

    response = await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("defaced"), headers=bob.headers
    )

    assert response.status_code == 404
    assert await read_item(client, alice, collection, item["id"]) == item


async def test_delete_someone_elses_item_is_404_and_it_survives(client, alice, bob, collection):
    item = await create_item(client, alice, collection)

    response = await client.delete(f"{collection.url}/{item['id']}", headers=bob.headers)

    assert response.status_code == 404
    assert await read_item(client, alice, collection, item["id"]) == item


async def test_failed_writes_on_someone_elses_item_emit_nothing(
    client, alice, bob, admin, collection
):
    item = await create_item(client, alice, collection)

    await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("x"), headers=bob.headers
    )
    await client.delete(f"{collection.url}/{item['id']}", headers=bob.headers)

    events = await room_events(client, admin, collection.room)
    assert event_types(events) == collection.events("created")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_missing_item_is_404(client, alice, collection, method):
    response = await client.request(
        method, f"{collection.url}/999999", json=collection.patch("x"), headers=alice.headers
    )

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("item_id", [str(2**70), str(2**63), str(2**31), "0", "-1", "abc"])
async def test_impossible_item_id_is_422(client, alice, collection, method, item_id):
    response = await client.request(
        method, f"{collection.url}/{item_id}", json=collection.patch("x"), headers=alice.headers
    )

    assert response.status_code == 422


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_largest_possible_item_id_is_404(client, alice, collection, method):
    response = await client.request(
        method, f"{collection.url}/{2**31 - 1}", json=collection.patch("x"), headers=alice.headers
    )

    assert response.status_code == 404


# -- admins --------------------------------------------------------------------------------------


async def test_admin_may_get_someone_elses_item(client, alice, admin, collection):
    item = await create_item(client, alice, collection)

    response = await client.get(f"{collection.url}/{item['id']}", headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == item


async def test_admin_may_patch_someone_elses_item(client, alice, admin, collection):
    item = await create_item(client, alice, collection, "before")

    response = await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("moderated"), headers=admin.headers
    )

    assert response.status_code == 200
    assert response.json()["user_id"] == alice.id
    stored = await read_item(client, alice, collection, item["id"])
    assert stored[collection.text_field] == "moderated"


async def test_admin_may_delete_someone_elses_item(client, alice, admin, collection):
    item = await create_item(client, alice, collection)

    response = await client.delete(f"{collection.url}/{item['id']}", headers=admin.headers)

    assert response.status_code == 204
    gone = await client.get(f"{collection.url}/{item['id']}", headers=alice.headers)
    assert gone.status_code == 404


# -- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("POST", ""), ("GET", ""), ("GET", "/1"), ("PATCH", "/1"), ("DELETE", "/1")],
)
async def test_routes_without_a_token_are_401(client, collection, method, suffix):
    response = await client.request(method, f"{collection.url}{suffix}", json=collection.patch("x"))

    assert response.status_code == 401


# -- events --------------------------------------------------------------------------------------


async def test_create_emits_created_with_the_item(client, alice, collection):
    item = await create_item(client, alice, collection)

    events = await room_events(client, alice, collection.room)

    assert event_types(events) == collection.events("created")
    assert events[0]["data"] == item


async def test_patch_emits_updated_with_the_new_item(client, alice, collection):
    item = await create_item(client, alice, collection)
    patched = (
        await client.patch(
            f"{collection.url}/{item['id']}", json=collection.patch("new"), headers=alice.headers
        )
    ).json()

    events = await room_events(client, alice, collection.room)

    assert event_types(events) == collection.events("created", "updated")
    assert events[1]["data"] == patched


async def test_delete_emits_deleted_with_id_and_owner(client, alice, collection):
    item = await create_item(client, alice, collection)
    await client.delete(f"{collection.url}/{item['id']}", headers=alice.headers)

    events = await room_events(client, alice, collection.room)

    assert event_types(events) == collection.events("created", "deleted")
    deleted = events[1]["data"]
    assert set(deleted) == {"id", "user_id", "deleted_at"}
    assert deleted["id"] == item["id"]
    assert deleted["user_id"] == alice.id
    assert is_utc(deleted["deleted_at"])


async def test_events_also_reach_the_owners_user_room(client, alice, collection):
    item = await create_item(client, alice, collection)
    await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("new"), headers=alice.headers
    )
    await client.delete(f"{collection.url}/{item['id']}", headers=alice.headers)

    events = await room_events(client, alice, f"user_{alice.id}")

    assert event_types(events) == collection.events("created", "updated", "deleted")


async def test_events_are_not_in_the_other_collections_room(client, alice, collection):
    other = MENTAL_NOTES if collection is MEMORY_LOGS else MEMORY_LOGS
    await create_item(client, alice, collection)

    assert await room_events(client, alice, other.room) == []


async def test_admin_writes_on_someone_elses_item_are_visible_to_the_owner(
    client, alice, admin, collection
):
    item = await create_item(client, alice, collection)
    await client.patch(
        f"{collection.url}/{item['id']}", json=collection.patch("moderated"), headers=admin.headers
    )
    await client.delete(f"{collection.url}/{item['id']}", headers=admin.headers)

    events = await room_events(client, alice, collection.room)

    assert event_types(events) == collection.events("created", "updated", "deleted")
    assert events[1]["data"][collection.text_field] == "moderated"
    assert all(event["data"]["user_id"] == alice.id for event in events)


async def test_events_are_not_listed_for_other_users(client, alice, bob, collection):
    await create_item(client, alice, collection)

    assert await room_events(client, bob, collection.room) == []
    assert await room_events(client, bob, f"user_{bob.id}") == []


# -- memory logs only: the content is required on update too ------------------------------------


async def test_patch_memory_log_without_content_is_422_and_changes_nothing(client, alice):
    log = await create_item(client, alice, MEMORY_LOGS)

    response = await client.patch(f"{MEMORY_LOGS.url}/{log['id']}", json={}, headers=alice.headers)

    assert response.status_code == 422
    assert await read_item(client, alice, MEMORY_LOGS, log["id"]) == log


# -- mental notes only: a title, and content that may be empty or left out ----------------------


async def test_create_mental_note_without_content_has_empty_content(client, alice):
    response = await client.post(
        MENTAL_NOTES.url, json={"title": "just a title"}, headers=alice.headers
    )

    assert response.status_code == 201
    assert response.json()["content"] == ""


@pytest.mark.parametrize(
    ("title", "content"),
    [("t", ""), ("t" * 200, "c" * 10000)],
    ids=["shortest", "longest"],
)
async def test_create_mental_note_accepts_fields_at_the_length_limits(
    client, alice, title, content
):
    response = await client.post(
        MENTAL_NOTES.url, json={"title": title, "content": content}, headers=alice.headers
    )

    assert response.status_code == 201
    note = response.json()
    assert (note["title"], note["content"]) == (title, content)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("c" * 10001, id="10001-chars"),
        pytest.param(None, id="null"),
        pytest.param("nul \x00 byte", id="nul-character"),
    ],
)
async def test_create_mental_note_with_invalid_content_is_422(client, alice, content):
    response = await client.post(
        MENTAL_NOTES.url, json={"title": "t", "content": content}, headers=alice.headers
    )

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param(
            {"title": "new title", "content": "new content"},
            ("new title", "new content"),
            id="both-fields",
        ),
        pytest.param({"title": "new title"}, ("new title", "old content"), id="title-only"),
        pytest.param({"content": ""}, ("old title", ""), id="content-only"),
    ],
)
async def test_patch_mental_note_changes_only_the_fields_given(client, alice, patch, expected):
    response = await client.post(
        MENTAL_NOTES.url,
        json={"title": "old title", "content": "old content"},
        headers=alice.headers,
    )
    note = response.json()

    response = await client.patch(
        f"{MENTAL_NOTES.url}/{note['id']}", json=patch, headers=alice.headers
    )

    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["content"]) == expected
    assert await read_item(client, alice, MENTAL_NOTES, note["id"]) == patched


async def test_patch_mental_note_with_too_long_content_is_422_and_changes_nothing(client, alice):
    note = await create_item(client, alice, MENTAL_NOTES)

    response = await client.patch(
        f"{MENTAL_NOTES.url}/{note['id']}", json={"content": "c" * 10001}, headers=alice.headers
    )

    assert response.status_code == 422
    assert await read_item(client, alice, MENTAL_NOTES, note["id"]) == note

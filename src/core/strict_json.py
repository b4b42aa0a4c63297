"""`StrictJSONRoute`: a JSON body holding a lone surrogate is a 422, never a 500.

`json.loads` accepts `"\\ud800"` (and the raw bytes of one), but such text cannot be encoded
as UTF-8: not stored, hashed or answered. Before, `register` with one answered 500. Here the
parsed body is checked; a lone surrogate anywhere (a key or a value) becomes the JSON decode
error FastAPI already answers with 422 `json_invalid`. A surrogate pair, escaped as JSON does
for characters past U+FFFF (`"\\ud83d\\ude00"`), is one character and passes.

Every router that reads a JSON body is made with `route_class=StrictJSONRoute`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in `value` (parsed JSON) holds an unpaired surrogate."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(lone_surrogate(key) or lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(lone_surrogate(item) for item in value)
    return False


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            parsed = json.loads(body)
            if lone_surrogate(parsed):
                text = body.decode("utf-8", "replace")
                raise json.JSONDecodeError("lone surrogate: not encodable as UTF-8", text, 0)
            self._json = parsed
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler

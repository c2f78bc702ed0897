"""A route's answer rendered in the handler: a model of the route's response schema written by its own
serializer, so FastAPI does not check and encode it a second time on another thread, and the request's
transaction commits on the handler's thread (app.db.finish_on_handler_thread)."""

from typing import Any

import pydantic_core
from fastapi import Response
from pydantic import BaseModel


def json_answer(body: bytes, headers: dict | None = None) -> Response:
    """JSON already encoded, as the answer."""
    return Response(body, media_type="application/json", headers=headers)


def rendered(model: BaseModel, headers: dict | None = None) -> Response:
    return json_answer(model.__pydantic_serializer__.to_json(model), headers)


def rendered_plain(value: Any) -> Response:
    """Plain values (dicts, lists, dates…) laid out as the route's response schema shows them, written by
    pydantic-core's encoder without a model checked or built again."""
    return json_answer(pydantic_core.to_json(value))

"""A route's answer rendered in the handler: a model of the route's response schema written by its own
serializer, so FastAPI does not check and encode it a second time on another thread, and the request's
transaction commits on the handler's thread (app.db.finish_on_handler_thread)."""

from fastapi import Response
from pydantic import BaseModel


def rendered(model: BaseModel, headers: dict | None = None) -> Response:
    return Response(
        model.__pydantic_serializer__.to_json(model), media_type="application/json", headers=headers
    )

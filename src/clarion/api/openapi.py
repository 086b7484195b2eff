"""The OpenAPI document, made to state what the server really answers.

FastAPI lists only the success status and its own 422 shape. Here every
operation also lists, in the shared error shape, each error status it can
answer: 401/403/429 where a caller is authenticated and limited, 400/413 where
a body is read, 422 where anything is validated, 404 where a path names a
resource, plus what a route declares itself (`responses=errors(409)`). The
least password length is the server's setting, not a constant.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from clarion.api.schemas import NEW_PASSWORD_MARK
from clarion.config import Settings

DESCRIPTION = (
    "Every error answers in the `Error` shape. Text anywhere in a request body must "
    "not contain U+0000 (422), and JSON may nest at most 32 levels. Times are RFC 3339 "
    "with an offset. Send an access token or an API key as `Authorization: Bearer`, "
    "or an API key as `X-API-Key`."
)
ERROR_SCHEMA = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}


class FieldError(BaseModel):
    location: str = Field(description="body, query, path or header")
    field: str
    message: str
    type: str


class Error(BaseModel):
    """The one shape of every error answer."""

    status: int
    code: str
    message: str
    details: list[FieldError]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Error statuses a route answers beyond the ones its shape implies."""
    return {
        status: {"model": Error, "description": HTTPStatus(status).phrase} for status in statuses
    }


def error_answer(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": ERROR_REF}},
    }


def implied_statuses(operation: dict[str, Any]) -> set[int]:
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    if operation.get("security"):
        statuses |= {401, 403, 429}
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    return statuses


def mark_new_passwords(node: Any, least: int) -> None:
    if isinstance(node, dict):
        if node.pop(NEW_PASSWORD_MARK, False):
            node["minLength"] = least
        for child in node.values():
            mark_new_passwords(child, least)
    elif isinstance(node, list):
        for child in node:
            mark_new_passwords(child, least)


def build_document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR_SCHEMA] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas[ERROR_SCHEMA].pop("$defs", {}))
    # FastAPI's own validation shapes are never answered: ours replace them
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            answers = operation.setdefault("responses", {})
            for status in implied_statuses(operation) | {int(s) for s in answers if s[0] in "45"}:
                if "text/html" in answers.get(str(status), {}).get("content", {}):
                    continue  # a page for a person (the unsubscribe link), not an API error
                answers[str(status)] = error_answer(status)
    mark_new_passwords(document, settings.password_min_length)
    return document


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

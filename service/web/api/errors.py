"""One JSON error shape for /api and /webhooks: ``{"error": {"code", "message", "field", "details"}}``.

Routes of the classes here turn every error raised while handling a request — their own
ApiError, FastAPI's validation errors, HTTPException — into that shape themselves, so the
rest of the app (HTML pages) keeps FastAPI's handlers and another installer cannot swap ours.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import (
    HTTPException,  # FastAPI raises Starlette's own for unreadable bodies
)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests"}


class FieldProblem(BaseModel):
    field: str | None = None
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[FieldProblem] | None = None
    count: int | None = Field(None, description="How many things the error is about, when it says: e.g. the "
                                                "subscribers who follow a topic that cannot be deleted yet.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None, count: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers
        self.count = count


def error_response(status: int, code: str, message: str, field: str | None = None,
                   details: list[FieldProblem] | None = None, headers: dict[str, str] | None = None,
                   count: int | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field, details=details, count=count))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_name(loc: Sequence[Any]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = [FieldProblem(field=_field_name(e.get("loc", ())), message=str(e.get("msg", "invalid")))
                for e in exc.errors()]
    first = problems[0] if problems else FieldProblem(message="invalid request")
    message = f"{first.field}: {first.message}" if first.field else first.message
    return error_response(422, "invalid", message, first.field, problems)


def as_response(exc: Exception) -> JSONResponse | None:
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.field, headers=exc.headers, count=exc.count)
    if isinstance(exc, RequestValidationError):
        return validation_response(exc)
    if isinstance(exc, HTTPException):
        return error_response(exc.status_code, CODES.get(exc.status_code, "error"), str(exc.detail),
                              headers=dict(exc.headers or {}))
    return None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class JsonErrorRoute(APIRoute):
    """A route whose errors all come out in the one JSON shape."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (ApiError, RequestValidationError, HTTPException) as exc:
                response = as_response(exc)
                assert response is not None
                return response

        return guarded


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses: each documented with the one error body."""
    return {status: {"model": ErrorBody, "description": CODES.get(status, "error").replace("_", " ")}
            for status in statuses}

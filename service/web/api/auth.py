"""Bearer-token authentication for /api/v1, enforced by the route class itself.

``ApiRoute`` checks the token before FastAPI reads the body or validates anything, so every
route of the API router is authenticated without relying on each endpoint to ask for it, and
an anonymous caller learns nothing (not even which fields a body needs). Then the token's role
(service.admin.roles): a GET needs ``read``, any other method ``change``, and an endpoint marked
``@needs("export")`` that; a viewer token is refused anything else with a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config.settings import Settings
from service.admin.api_tokens import authenticate_token
from service.admin.roles import Permission, may, method_permission
from service.storage.db import session_scope
from service.web.api.errors import ApiError, Handler, JsonErrorRoute, as_response

# Declares the scheme in OpenAPI (the "Authorize" button in /docs); ApiRoute does the checking.
bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `papermail admin create-token NAME`.")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="papermail"'}


@dataclass(frozen=True)
class ApiCaller:
    token_id: int
    name: str
    role: str = "owner"

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"api:{self.name}"


def token_of(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def caller_for(settings: Settings, token: str) -> ApiCaller | None:
    with session_scope(settings) as session:
        row = authenticate_token(session, token, datetime.now(UTC))
        return ApiCaller(row.id, row.name, row.role) if row is not None else None


def query_names(dependant: Dependant) -> frozenset[str]:
    """Every query parameter the route or its dependencies declare."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        names.update(field.alias for field in current.query_params)
        pending.extend(current.dependencies)
    return frozenset(names)


def needs(permission: Permission) -> Any:
    """Mark an endpoint as needing PERMISSION instead of what its method needs."""
    def mark(endpoint: Any) -> Any:
        endpoint.api_permission = permission
        return endpoint
    return mark


REFUSALS = {"change": "this token is read-only (role {role}): it cannot change anything",
            "export": "this token (role {role}) cannot list subscribers' addresses"}


class ApiRoute(JsonErrorRoute):
    """Token first, then its role; then a query parameter the route does not know is refused (a
    mistyped filter must not silently return everything)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        known = query_names(self.dependant)
        marked: Permission | None = getattr(self.endpoint, "api_permission", None)

        async def authenticated(request: Request) -> Response:
            token = token_of(request.headers.get("authorization"))
            caller = await run_in_threadpool(caller_for, request.app.state.settings, token) if token else None
            if caller is None:
                message = "a valid API token is required (Authorization: Bearer <token>)"
                response = as_response(ApiError(401, message, headers=CHALLENGE))
                assert response is not None
                return response
            request.state.api_caller = caller
            needed = marked or method_permission(request.method)
            if not may(caller.role, needed):
                response = as_response(ApiError(403, REFUSALS.get(needed, "not allowed").format(role=caller.role)))
                assert response is not None
                return response
            unknown = sorted(set(request.query_params) - known)
            if unknown:
                expected = ", ".join(sorted(known)) or "none"
                error = ApiError(422, f"unknown query parameter {unknown[0]!r} (expected: {expected})",
                                 field=f"query.{unknown[0]}")
                response = as_response(error)
                assert response is not None
                return response
            return await handler(request)

        return authenticated


def current_caller(
    request: Request, _credentials: HTTPAuthorizationCredentials | None = Security(bearer_scheme)
) -> ApiCaller:
    caller = getattr(request.state, "api_caller", None)
    if not isinstance(caller, ApiCaller):  # a route not built with ApiRoute: refuse, never assume
        raise ApiError(401, "a valid API token is required", headers=CHALLENGE)
    return caller


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings

"""Error pages for people: a browser that asks for a page that does not exist (404), with the
wrong method (405), or with a malformed address (422, e.g. /admin/subscribers/abc) gets an HTML
page in the site's layout saying so in words; everything else (the API, scripts that do not ask
for HTML) keeps the JSON answer. /api and /webhooks answer in their own JSON shape regardless
(service.web.api.errors).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from service.web.templating import render

JSON_PREFIXES = ("/api/", "/webhooks/", "/openapi.json", "/docs", "/redoc", "/healthz", "/metrics")
TITLES = {404: "Page not found", 405: "Not something this page does", 422: "This address is not right"}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(JSON_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def _explain(status: int, request: Request) -> str:
    if status == 404:
        return f"There is nothing at {request.url.path[:200]}. Check the address, or start again from the home page."
    if status == 405:
        return f"This page cannot be used with {request.method} (a form may have been sent twice, or a link mistyped)."
    return "Something on this page went wrong."


def error_page(request: Request, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    admin = request.url.path.startswith("/admin")
    title = TITLES.get(status, "Something went wrong")
    context = {"page_title": title, "title": title, "message": text, "status": status,
               "admin": getattr(request.state, "admin", None), "nav": (), "section": "", "notice": None}
    return render(request, "admin/message.html" if admin else "error.html", context, status_code=status,
                  headers=headers)


def _problem_words(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("path", "query", "body")]
        name = " ".join(loc).replace("_", " ") or "a value"
        wanted = {"int_parsing": "must be a whole number", "missing": "is missing",
                  "date_from_datetime_parsing": "must be a date (YYYY-MM-DD)"}.get(str(error.get("type")))
        parts.append(f"{name} {wanted or str(error.get('msg', 'is not valid')).lower()}")
    return "In this address, " + "; ".join(parts) + "." if parts else "This address is not one papermail knows."


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not wants_html(request) or exc.status_code not in TITLES:
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, _explain(exc.status_code, request), dict(exc.headers or {}))


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not wants_html(request):
        return await request_validation_exception_handler(request, exc)
    return error_page(request, 422, _problem_words(exc))


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)

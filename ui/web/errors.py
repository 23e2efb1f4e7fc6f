"""The one place domain errors become HTTP: a JSON body `{"error": "..."}` with the
status the error's type calls for (the table below), for the API and every route."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from index.errors import (
    ConfigError,
    EscalationStateError,
    IndexLoadError,
    NotFoundError,
    PolicyQAError,
    RateLimitedError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

# the most specific class wins; anything else a user can fix is a 400
STATUS: tuple[tuple[type[PolicyQAError], int], ...] = (
    (RateLimitedError, 429), (EscalationStateError, 409), (NotFoundError, 404),
    (IndexLoadError, 503), (ConfigError, 503),
    (StoreUnavailableError, 503), (PolicyQAError, 400))


def status_of(exc: PolicyQAError) -> int:
    return next(status for kind, status in STATUS if isinstance(exc, kind))


# What an anonymous visitor is told when the server, not the visitor, is at fault: the
# real reason names the database's host, user and name, or the index's path (settings no
# visitor may read: SECURITY.md); it goes to the server's log instead.
UNAVAILABLE = {
    StoreUnavailableError: "the service's database cannot be reached right now, so nothing "
                           "was recorded; please try again in a minute",
    IndexLoadError: "the privacy policy's index is not loaded on this server; the operator "
                    "can see why in its log",
    ConfigError: "the service is not configured correctly; the operator can see why in its "
                 "log",
}
RETRY_AFTER = "30"  # seconds, with a 503 for the database


def visitor_message(exc: PolicyQAError) -> str:
    """`exc` as a visitor may read it: the reason itself for what the visitor can fix
    (a bad address, a rate limit), else a fixed sentence, the reason logged."""
    for kind, message in UNAVAILABLE.items():
        if isinstance(exc, kind):
            log.warning("%s: %s", type(exc).__name__, exc)
            return message
    return str(exc)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PolicyQAError)
    async def domain_error(request: Request, exc: PolicyQAError) -> JSONResponse:
        if isinstance(exc, RateLimitedError):
            return _error(429, str(exc), {"Retry-After": str(exc.retry_after)})
        retry = {"Retry-After": RETRY_AFTER} if isinstance(exc, StoreUnavailableError) else None
        return _error(status_of(exc), visitor_message(exc), retry)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind and kind != "application/json":
            return _error(415, f"Content-Type must be application/json, not {kind[:60]!r}")
        status, message = describe_validation(exc.errors())
        return _error(status, message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 413:
            limit = request.scope.get("starlette.max_body_size")
            message = f"request body is too large; the limit is {limit} bytes"
        elif exc.status_code == 400 and message == "There was an error parsing the body":
            message = "request body could not be read as JSON (it must be UTF-8, not nested deeply)"
        return _error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, "internal error; the problem has been logged")


def refuse_other_methods(app: FastAPI, paths: Sequence[str]) -> None:
    """A JSON 405 with `Allow: POST` for any other method on these POST-only paths
    (without it the chat mounted at "/" would answer them with a 404)."""
    async def wrong_method(request: Request) -> JSONResponse:
        return _error(405, f"{request.method} is not allowed on {request.url.path}; use POST "
                           "with a JSON body", {"Allow": "POST"})

    for path in paths:
        app.add_api_route(path, wrong_method, methods=["GET", "PUT", "PATCH", "DELETE"],
                          include_in_schema=False)


def describe_validation(errors: Any) -> tuple[int, str]:
    """FastAPI/pydantic validation errors as one sentence (400 for bad JSON, else 422)."""
    first = dict(errors[0]) if errors else {}
    kind, loc = first.get("type", ""), [str(p) for p in first.get("loc", ())]
    field = ".".join(p for p in loc if p != "body")
    if kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return 400, f"request body is not valid JSON ({detail})".replace(" ()", "")
    if not field or kind in ("model_attributes_type", "dict_type"):
        return 422, ('request body must be a JSON object such as {"question": "..."} '
                     "sent as Content-Type: application/json")
    if kind == "missing":
        return 422, f"field {field!r} is required"
    if kind == "string_type":
        return 422, f"field {field!r} must be a string"
    return 422, f"field {field!r}: {first.get('msg', 'is invalid')}"

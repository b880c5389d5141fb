"""Error responses: domain errors are the client's (422), anything else is a bug (500).

* Request validation (pydantic) and :class:`khub.errors.InvalidRequestError` -> 422 with a
  ``message`` naming the field.
* A damaged store (``sqlite3.DatabaseError``: a corrupted page or header) -> 503 naming the
  file; ``/health`` then answers ``degraded`` with the same message.
* Any other exception -> 500 ``{"message": "internal error", "request_id": ...}``; the
  traceback is logged with the same request id, and never sent to the client.

Every response carries ``X-Request-ID`` (the client's, when it sent a well-formed one).
"""

from __future__ import annotations

import logging
import math
import sqlite3
from typing import Any, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from khub.errors import InvalidRequestError

log = logging.getLogger("khub.api")


def request_id(request: Request) -> str:
    """The request's id: set by :class:`khub.api.middleware.RequestIdMiddleware`."""
    return getattr(request.state, "request_id", "-")


#: An error body echoes at most this many characters of a rejected input.
ECHO_CHARS = 100
#: An error body lists at most this many validation errors (a body with 80,000 unknown keys
#: once got an 11 MB 422) and its message is at most :data:`MESSAGE_CHARS` long.
MAX_ERRORS = 20
MESSAGE_CHARS = 2000


def capped(message: str) -> str:
    """``message`` cut to :data:`MESSAGE_CHARS` characters, saying how long it was."""
    return message if len(message) <= MESSAGE_CHARS else f"{message[:MESSAGE_CHARS]}… ({len(message)} characters)"


def echo(value: Any) -> str:
    """A short, printable prefix of a rejected input for an error body (never the whole input:
    a 10 MB field must not come back as a 10 MB error)."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates as \udxxx
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}… ({len(text)} characters)"


def jsonable(errors: Sequence[Any]) -> list[dict]:
    """Validation errors with only JSON-serialisable values; an input is echoed by :func:`echo`."""
    def clean(v):
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v] if len(v) <= 10 else echo(v)  # a long list: a short prefix of it
        if isinstance(v, str):
            return echo(v)
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)
        return v if isinstance(v, (int, float, type(None))) else echo(v)

    return [{k: clean(v) for k, v in e.items()} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    """Register the 422/500 handlers on ``app``."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        shown = errors[:MAX_ERRORS]
        parts = [f"{'.'.join(echo(p) if isinstance(p, str) else str(p) for p in e['loc'] if p not in ('query', 'body'))}"
                 f": {e['msg']}" for e in shown]
        more = f"; … and {len(errors) - len(shown)} more errors" if len(errors) > len(shown) else ""
        return JSONResponse(status_code=422, content={"message": capped("; ".join(parts)) + more,
                                                      "detail": jsonable(shown)})

    @app.exception_handler(InvalidRequestError)
    async def invalid_request(_: Request, exc: InvalidRequestError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"message": capped(str(exc))})

    @app.exception_handler(sqlite3.DatabaseError)
    async def damaged_store(request: Request, exc: sqlite3.DatabaseError) -> JSONResponse:
        rid = request_id(request)
        message = request.app.state.service.report_damage(exc)
        log.error("request %s %s %s: %s", rid, request.method, request.url.path, message)
        return JSONResponse(status_code=503, content={"message": message, "request_id": rid},
                            headers={"X-Request-ID": rid})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s %s %s failed", rid, request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"message": "internal error", "request_id": rid},
                            headers={"X-Request-ID": rid})

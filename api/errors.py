"""Error responses: domain errors are the client's (422), anything else is a bug (500).

* Request validation (pydantic) and :class:`khub.errors.InvalidRequestError` -> 422 with a
  ``message`` naming the field.
* Any other exception -> 500 ``{"message": "internal error", "request_id": ...}``; the
  traceback is logged with the same request id, and never sent to the client.

Every response carries ``X-Request-ID`` (the client's, when it sent a well-formed one).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from khub.errors import InvalidRequestError

log = logging.getLogger("khub.api")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(request: Request) -> str:
    """The request's id: set by :func:`install_error_handlers`' middleware."""
    return getattr(request.state, "request_id", "-")


def jsonable(errors: Sequence[Any]) -> list[dict]:
    """Validation errors with only JSON-serialisable values."""
    def clean(v):
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v if isinstance(v, (str, int, float, type(None))) else str(v)

    return [{k: clean(v) for k, v in e.items()} for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    """Register the request-id middleware and the 422/500 handlers on ``app``."""

    @app.middleware("http")
    async def add_request_id(request: Request, call_next):
        given = request.headers.get("x-request-id", "")
        request.state.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        parts = [f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'body'))}: {e['msg']}" for e in errors]
        return JSONResponse(status_code=422, content={"message": "; ".join(parts), "detail": jsonable(errors)})

    @app.exception_handler(InvalidRequestError)
    async def invalid_request(_: Request, exc: InvalidRequestError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"message": str(exc)})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        rid = request_id(request)
        log.error("request %s %s %s failed", rid, request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"message": "internal error", "request_id": rid},
                            headers={"X-Request-ID": rid})

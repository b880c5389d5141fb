"""ASGI middleware of the service: request ids, body-size limit, in-flight bound, security headers.

Pure ASGI classes (the pattern of Starlette's own middleware), not ``BaseHTTPMiddleware``:
they add no task or stream per request, and a refusal (413, 503) is sent before the body is
read or a worker thread is taken.

* :class:`RequestIdMiddleware`: every response carries ``X-Request-ID`` (the client's when
  well formed, else a new one); handlers read it as ``request.state.request_id``.
* :class:`BodySizeLimitMiddleware`: a body over ``max_bytes`` gets 413, from its
  ``Content-Length`` before anything is read, or as soon as a chunked body passes the limit.
* :class:`InflightLimitMiddleware`: at most ``max_inflight`` requests are handled at once per
  worker process; the next gets 503 with ``Retry-After`` at once instead of waiting in an
  unbounded queue (the "load shedding" of Google's SRE book, ch. 21, "Handling Overload").
  Probes (``/health``) are never refused.
* :class:`SecurityHeadersMiddleware`: a Content-Security-Policy without inline scripts
  (OWASP Secure Headers Project), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
  ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``. The API docs pages (Swagger UI,
  ReDoc: their assets are served locally) start Swagger with one inline script, allowed by its
  SHA-256 hash (CSP Level 3, "hash-source"), never by ``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from typing import Any, Awaitable, Callable, MutableMapping, Sequence

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: The policy of every page: scripts, styles, images and fetches from this origin only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Pages whose inline bootstrap script is allowed by hash (FastAPI's Swagger UI and ReDoc pages).
DOCS_PATHS = ("/docs", "/redoc", "/docs/oauth2-redirect")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


async def send_json(send: Send, status: int, payload: dict,
                    headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Send a whole JSON response (used for refusals made before the app runs)."""
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Put a request id in ``scope["state"]["request_id"]`` and in the ``X-Request-ID`` response header."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, receive, with_id)


class BodySizeLimitMiddleware:
    """413 for a request body over ``max_bytes`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        await send_json(send, 413, {"message": f"request body: larger than the limit of {self.max_bytes} bytes "
                                               "(KHUB_MAX_BODY_BYTES)"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._refuse(send)
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # answer 413 now and tell the app the client is gone, so it stops reading
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers to the disconnect is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


class InflightLimitMiddleware:
    """503 with ``Retry-After`` when ``max_inflight`` requests are already being handled."""

    def __init__(self, app: ASGIApp, max_inflight: int, exempt: tuple[str, ...] = ("/health",),
                 retry_after: int = 1):
        self.app = app
        self.max_inflight = max_inflight
        self.exempt = exempt
        self.retry_after = retry_after
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        if self.inflight >= self.max_inflight:
            return await send_json(send, 503, {"message": f"busy: {self.inflight} requests in progress; retry "
                                                          f"after {self.retry_after} s"},
                                   [(b"retry-after", str(self.retry_after).encode())])
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1


def script_hashes(html: bytes) -> list[str]:
    """CSP hash-sources (``'sha256-…'``) of the inline ``<script>`` blocks of ``html``."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(m).digest()).decode()}'" for m in _INLINE_SCRIPT.findall(html)]


class SecurityHeadersMiddleware:
    """Security headers on every HTTP response (see the module docstring)."""

    HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin"),
               (b"x-frame-options", b"DENY")]

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] in DOCS_PATHS:
            return await self._docs(scope, receive, send)

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS,
                                      (b"content-security-policy", CSP.encode())]
            await send(message)

        await self.app(scope, receive, secured)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs pages are small HTML generated by FastAPI: buffered, their inline scripts hashed."""
        start: Message = {}
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            policy = CSP.replace("script-src 'self'", "script-src 'self' " + " ".join(script_hashes(body))) \
                .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")  # Swagger UI sets style attributes
            await send({**start, "headers": [*start.get("headers", []), *self.HEADERS,
                                             (b"content-security-policy", policy.encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered)

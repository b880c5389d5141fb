"""ASGI middleware of the service: request ids, body-size limit, in-flight bound, security headers.

Pure ASGI classes (the pattern of Starlette's own middleware), not ``BaseHTTPMiddleware``:
they add no task or stream per request, and a refusal (413, 503) is sent before the body is
read or a worker thread is taken.

* :class:`RequestIdMiddleware`: every response carries ``X-Request-ID`` (the client's when
  well formed, else a new one); handlers read it as ``request.state.request_id``.
* :class:`BodySizeLimitMiddleware`: a body over ``max_bytes`` gets 413, from its
  ``Content-Length`` before anything is read, or as soon as a chunked body passes the limit.
* :class:`BodyReadMiddleware`: the whole request body is read, within ``timeout`` seconds,
  before the request goes further; a body that does not arrive in time gets 408 and the
  connection is closed. So a request counts as in flight only once its body is here, and
  sockets that announce a body and send nothing hold no slot (issue 23: 80 such sockets made
  every ``/search`` 503 for 55 s).
* :class:`InflightLimitMiddleware`: at most ``max_inflight`` requests are handled at once per
  worker process; the next gets 503 with ``Retry-After`` instead of waiting in a long queue
  (the "load shedding" of Google's SRE book, ch. 21, "Handling Overload"). The
  ``Retry-After`` is jittered (1 to 3 s) so that refused clients do not come back in step
  (the "retry storms" of the same chapter). A request past the bound first waits for a slot,
  up to about a second, as a sleeping coroutine: the queueing delay is bounded rather than
  the queue, and clients that retry at once whatever ``Retry-After`` says are paced by it.
  Probes (``/health``) are never refused.
* :class:`SecurityHeadersMiddleware`: a Content-Security-Policy without inline scripts
  (OWASP Secure Headers Project), ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``,
  ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'``. The API docs pages (Swagger UI,
  ReDoc: their assets are served locally) start Swagger with one inline script, allowed by its
  SHA-256 hash (CSP Level 3, "hash-source"), never by ``'unsafe-inline'``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
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


class BodyReadMiddleware:
    """Read the whole request body (at most ``timeout`` seconds) before the app sees the
    request, then hand it over in one message; 408 and a closed connection when it does not
    arrive in time (see the module docstring). Bodies are bounded by
    :class:`BodySizeLimitMiddleware`, which runs before this one."""

    def __init__(self, app: ASGIApp, timeout: float):
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                return await send_json(send, 408, {"message": f"request body: not received within {self.timeout:g} s"},
                                       [(b"connection", b"close")])
            if message["type"] != "http.request":
                return  # the client went away (or the body limit answered 413): nothing to run
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the app expects

        await self.app(scope, replay, send)


def _has_body(scope: Scope) -> bool:
    """Whether a request announces a body (``Content-Length`` > 0 or chunked transfer)."""
    for k, v in scope["headers"]:
        if k == b"content-length":
            return v.strip() not in (b"0", b"")
        if k == b"transfer-encoding":
            return True
    return False


class InflightLimitMiddleware:
    """At most ``max_inflight`` requests handled at once; a request past it waits for a slot
    up to ``admission_wait`` seconds, then gets 503 with a jittered ``Retry-After`` (see the
    module docstring).

    Args:
        max_inflight: requests handled at once (computing, or waiting for the worker thread).
        exempt: paths never refused or queued (probes).
        retry_after: ``(low, high)`` whole seconds for ``Retry-After``, drawn uniformly.
        admission_wait: longest wait for a slot, in seconds (each request draws 0.5-1.5x of
            it). The wait is a sleeping coroutine: no thread, no work. It bounds the queueing
            delay instead of the queue length (the "target" delay of CoDel, Nichols & Jacobson,
            ACM Queue 2012), and it paces clients that retry at once whatever ``Retry-After``
            says: measured with ``bench/load.py --compare-overload`` (issue 23), answering them
            at once spent the worker's event loop on 503s and slowed ``/health`` past 1 s.
    """

    def __init__(self, app: ASGIApp, max_inflight: int, exempt: tuple[str, ...] = ("/health",),
                 retry_after: tuple[int, int] = (1, 3), admission_wait: float = 1.0):
        self.app = app
        self.max_inflight = max_inflight
        self.exempt = exempt
        self.retry_after = retry_after
        self.admission_wait = admission_wait
        self.inflight = 0
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        if self._slots is None:  # made here, on the server's event loop
            self._slots = asyncio.Semaphore(self.max_inflight)
        try:
            await asyncio.wait_for(self._slots.acquire(), self.admission_wait * (0.5 + random.random()))
        except asyncio.TimeoutError:
            wait = random.randint(*self.retry_after)
            return await send_json(send, 503, {"message": f"busy: {self.inflight} requests in progress; retry "
                                                          f"after {wait} s"},
                                   [(b"retry-after", str(wait).encode())])
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
            self._slots.release()


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

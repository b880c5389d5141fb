"""The HTTP API (FastAPI). OpenAPI docs at ``/docs``.

Endpoints (one router per resource, :mod:`khub.api.routers`): ``GET /search``,
``GET /facets``, ``POST /ask``, ``POST /brief`` (JSON with a Markdown rendering) and
``POST /brief/docx`` (a Word file), ``GET /documents/{id}``, ``GET /health``, ``GET /stats``.
Errors (:mod:`khub.api.errors`): 422 with a ``message`` naming the field, 500 with a request id;
limits and headers (:mod:`khub.api.middleware`): 413 for a body over ``max_body_bytes``, 503
with ``Retry-After`` past ``max_inflight`` requests in progress, a strict Content-Security-Policy.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from khub.api.deps import reject_unknown_params
from khub.api.errors import install_error_handlers
from khub.api.middleware import (
    BodyReadMiddleware,
    BodySizeLimitMiddleware,
    InflightLimitMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from khub.api.routers import answers, briefs, passages, search, status
from khub.api.service import SearchService
from khub.settings import Settings


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    """Build the FastAPI app. The service (store + model) is opened at startup unless given."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        if service is None:
            app.state.service = SearchService(settings)
            app.state.service.warm_up()  # before the first request, not during it
        else:
            app.state.service = service
        yield

    # FastAPIOffline: /docs and /redoc with Swagger UI and ReDoc served from the installed package, no CDN
    app = FastAPIOffline(title="Knowledge Hub Search (khub)", version="0.1.0", lifespan=lifespan,
                         description="Multilingual evidence search over UNCCD documents with cited passages.",
                         dependencies=[Depends(reject_unknown_params)])
    install_error_handlers(app)
    for router in (search.router, answers.router, briefs.router, passages.router, status.router):
        app.include_router(router)
    # the last added runs first: request id, security headers, body limit, body read, in-flight bound, app
    app.add_middleware(InflightLimitMiddleware, max_inflight=settings.max_inflight)
    app.add_middleware(BodyReadMiddleware, timeout=settings.body_timeout_s)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app

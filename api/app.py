"""The HTTP API (FastAPI). OpenAPI docs at ``/docs``.

Endpoints (one router per resource, :mod:`khub.api.routers`): ``GET /search``,
``GET /facets``, ``POST /ask``, ``POST /brief`` (JSON with a Markdown rendering) and
``POST /brief/docx`` (a Word file), ``GET /documents/{id}``, ``GET /health``, ``GET /stats``.
Errors (:mod:`khub.api.errors`): 422 with a ``message`` naming the field, 500 with a request id.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from khub.api.errors import install_error_handlers
from khub.api.routers import answers, briefs, passages, search, status
from khub.api.service import SearchService
from khub.settings import Settings


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    """Build the FastAPI app. The service (store + model) is opened at startup unless given."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.service = service or SearchService(settings)
        yield

    app = FastAPI(title="Knowledge Hub Search (khub)", version="0.1.0", lifespan=lifespan,
                  description="Multilingual evidence search over UNCCD documents with cited passages.")
    install_error_handlers(app)
    for router in (search.router, answers.router, briefs.router, passages.router, status.router):
        app.include_router(router)
    return app

"""The HTTP API (FastAPI). OpenAPI docs at ``/docs``.

Endpoints: ``GET /search``, ``GET /facets``, ``POST /ask``, ``POST /brief`` (JSON with a
Markdown rendering) and ``POST /brief/docx`` (a Word file), ``GET /documents/{id}``,
``GET /health``, ``GET /stats``. Validation errors are 422 with a ``message`` naming the field.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from khub.api.service import SearchService
from khub.settings import Settings


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class FilterFields(BaseModel):
    """The metadata filters a JSON request body may carry (``POST /ask``, ``POST /brief``)."""

    language: str | None = Field(default=None, description="only passages in this language (ISO 639-1)")
    source: str | None = Field(default=None, description="iccd | manual | convention | wocat | spi")
    symbol: str | None = Field(default=None, description="ICCD document symbol, e.g. ICCD/COP(14)/CST/5")
    body: str | None = Field(default=None, description="ICCD body: COP, CST or CRIC")
    session: int | None = Field(default=None, ge=1, description="ICCD session number")
    year: int | None = Field(default=None, ge=1900, le=2100, description="year of the document")
    country: str | None = Field(default=None, description="country (WOCAT practices)")
    land_use: str | None = Field(default=None, description="land use (WOCAT practices)")

    def filters(self) -> dict:
        """The metadata filters of the request, ``{field: value or None}``."""
        return self.model_dump(include=set(FilterFields.model_fields))


class AskRequest(FilterFields):
    """Body of ``POST /ask``."""

    question: str = Field(min_length=1, max_length=2000, description="the question, in any of the six UN languages")
    k: int = Field(default=5, ge=1, le=20, description="passages to draw the answer from")


class BriefRequest(FilterFields):
    """Body of ``POST /brief`` and ``POST /brief/docx``."""

    topic: str = Field(min_length=1, max_length=2000, description="the brief's topic or question, any UN language")
    lang: str | None = Field(default=None, description="preferred language of translated passages (ISO 639-1)")


def filter_params(
    language: str | None = Query(None, description="filter: passage language (ISO 639-1)"),
    source: str | None = Query(None, description="filter: iccd | manual | convention | wocat | spi"),
    symbol: str | None = Query(None, description="filter: ICCD symbol"),
    body: str | None = Query(None, description="filter: ICCD body (COP, CST, CRIC)"),
    session: int | None = Query(None, ge=1, description="filter: ICCD session number"),
    year: int | None = Query(None, ge=1900, le=2100, description="filter: year of the document"),
    country: str | None = Query(None, description="filter: country (WOCAT practices)"),
    land_use: str | None = Query(None, description="filter: land use (WOCAT practices)"),
) -> dict:
    """The metadata filters shared by ``/search`` and ``/facets`` (a FastAPI dependency)."""
    return {"language": language, "source": source, "symbol": symbol, "body": body, "session": session,
            "year": year, "country": country, "land_use": land_use}


def create_app(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    """Build the FastAPI app. The service (store + model) is opened at startup unless given."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.service = service or SearchService(settings)
        yield

    app = FastAPI(title="Knowledge Hub Search (khub)", version="0.1.0", lifespan=lifespan,
                  description="Multilingual evidence search over UNCCD documents with cited passages.")

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        parts = [f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'body'))}: {e['msg']}" for e in errors]
        return JSONResponse(status_code=422, content={"message": "; ".join(parts), "detail": jsonable(errors)})

    @app.exception_handler(ValueError)
    async def value_error(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"message": str(exc)})

    @app.get("/health")
    async def health(request: Request) -> dict:
        """Liveness plus store size."""
        info = request.app.state.service.store.info()
        return {"status": "ok", "passages": info["passages"], "documents": info["documents"],
                "embedding_model": info["embedding_model"]}

    @app.get("/search")
    async def search(
        request: Request,
        q: str = Query(..., min_length=1, max_length=2000, description="query text, any UN language"),
        k: int = Query(10, ge=1, le=100, description="number of results"),
        filters: dict = Depends(filter_params),
        mode: Literal["hybrid", "bm25", "dense"] = Query("hybrid", description="retrieval legs"),
        lang: str | None = Query(None, description="preferred language of collapsed translations (default: the query's)"),
        collapse: bool = Query(True, description="show each passage once across its translations"),
    ) -> dict:
        """Hybrid (BM25 + embedding, RRF) search with filters, translations collapsed."""
        return request.app.state.service.search(q, k=k, filters=filters, mode=mode, lang=lang, collapse=collapse)

    @app.get("/facets")
    async def facets(
        request: Request,
        q: str | None = Query(None, max_length=2000, description="optional query: count over its top 100 hits"),
        filters: dict = Depends(filter_params),
    ) -> dict:
        """Document counts per source, language, year, country, land use and ICCD body."""
        return request.app.state.service.facets(q, filters)

    @app.post("/ask")
    async def ask(request: Request, body: AskRequest) -> dict:
        """Extractive answer: sentences copied from the top passages, each with a citation [n]."""
        return request.app.state.service.ask(body.question, k=body.k, filters=body.filters())

    @app.post("/brief")
    async def brief(request: Request, body: BriefRequest) -> dict:
        """Rapid-response evidence brief: key findings and evidence by source, every statement
        a verbatim sentence with its reference [n]; ``markdown`` is ready to paste."""
        return request.app.state.service.brief(body.topic, filters=body.filters(), lang=body.lang)

    @app.post("/brief/docx", response_class=Response,
              responses={200: {"content": {DOCX: {}}, "description": "the brief as a Word document"}})
    async def brief_docx(request: Request, body: BriefRequest) -> Response:
        """The same brief as a Word document (.docx)."""
        from khub.api.brief import to_docx

        data = to_docx(request.app.state.service.brief(body.topic, filters=body.filters(), lang=body.lang))
        return Response(content=data, media_type=DOCX,
                        headers={"Content-Disposition": 'attachment; filename="evidence-brief.docx"'})

    @app.get("/documents/{passage_id}")
    async def document(request: Request, passage_id: str) -> dict:
        """One passage with all its metadata."""
        doc = request.app.state.service.document(passage_id)
        if doc is None:
            raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}")
        return doc

    @app.get("/stats")
    async def stats(request: Request) -> dict:
        """Store facts and the ingested documents."""
        return request.app.state.service.stats()

    return app


def jsonable(errors: list[dict]) -> list[dict]:
    """Validation errors with only JSON-serialisable values."""
    def clean(v):
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v if isinstance(v, (str, int, float, type(None))) else str(v)

    return [{k: clean(v) for k, v in e.items()} for e in errors]

"""``GET /search`` and ``GET /facets``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from khub.api.deps import FiltersDep, ServiceDep
from khub.api.models import FacetsResponse, SearchResponse

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResponse)
def search(
    service: ServiceDep,
    filters: FiltersDep,
    q: str = Query(..., min_length=1, max_length=2000, description="query text, any UN language"),
    k: int = Query(10, ge=1, le=100, description="number of results"),
    mode: Literal["hybrid", "bm25", "dense"] = Query("hybrid", description="retrieval legs"),
    lang: str | None = Query(None, description="preferred language of collapsed translations (default: the query's)"),
    collapse: bool = Query(True, description="show each passage once across its translations"),
    offset: int = Query(0, ge=0, le=1000, description="first result of the page (paging: offset += k)"),
    sort: Literal["relevance", "date"] = Query("relevance", description="relevance, or newest year first"),
) -> dict:
    """Hybrid (BM25 + embedding, RRF) search with filters, translations collapsed; ``total``
    passages (from ``total_documents`` documents) in the result list, paged by ``offset``."""
    return service.search(q, k=k, filters=filters, mode=mode, lang=lang, collapse=collapse, offset=offset, sort=sort)


@router.get("/facets", response_model=FacetsResponse)
def facets(
    service: ServiceDep,
    filters: FiltersDep,
    q: str | None = Query(None, max_length=2000, description="optional query: count over its top 100 hits"),
) -> dict:
    """Document counts per source, language, year, country, land use and ICCD body."""
    return service.facets(q, filters)

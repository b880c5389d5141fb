"""FastAPI dependencies: the service of the running app and the metadata filters of a query string."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from khub.api.service import SearchService


def get_service(request: Request) -> SearchService:
    """The app's :class:`khub.api.service.SearchService` (opened once, at startup)."""
    return request.app.state.service


def filter_params(
    language: str | None = Query(None, description="filter: passage language (ISO 639-1)"),
    source: str | None = Query(None, description="filter: iccd | manual | convention | wocat | spi"),
    symbol: str | None = Query(None, description="filter: ICCD symbol"),
    body: str | None = Query(None, description="filter: ICCD body (COP, CST, CRIC)"),
    session: int | None = Query(None, ge=1, description="filter: ICCD session number"),
    year: int | None = Query(None, ge=1900, le=2100, description="filter: year of the document"),
    country: str | None = Query(None, description="filter: country (WOCAT practices)"),
    land_use: str | None = Query(None, description="filter: land use (WOCAT practices)"),
    kind: str | None = Query(None, description="filter: passage kind (body, list_item, table, caption, reference, ...)"),
) -> dict[str, Any]:
    """The metadata filters shared by ``/search`` and ``/facets``."""
    return {"language": language, "source": source, "symbol": symbol, "body": body, "session": session,
            "year": year, "country": country, "land_use": land_use, "kind": kind}


ServiceDep = Annotated[SearchService, Depends(get_service)]
FiltersDep = Annotated[dict[str, Any], Depends(filter_params)]

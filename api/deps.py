"""FastAPI dependencies: the service of the running app, the metadata filters of a query
string, the check for unknown parameters.

They are ``async def`` on purpose: they do no blocking work, and a plain ``def`` dependency
would be run in the worker thread pool, queued behind retrieval (``/health`` waited 300 ms
there under load)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from khub.api.models import check_text
from khub.api.service import SearchService
from khub.errors import InvalidRequestError


async def get_service(request: Request) -> SearchService:
    """The app's :class:`khub.api.service.SearchService` (opened once, at startup)."""
    return request.app.state.service


async def filter_params(
    language: str | None = Query(None, description="filter: passage language (ISO 639-1)"),
    source: str | None = Query(None, description="filter: iccd | manual | convention | wocat | spi | national_report"),
    symbol: str | None = Query(None, description="filter: ICCD symbol"),
    body: str | None = Query(None, description="filter: ICCD body (COP, CST, CRIC)"),
    session: int | None = Query(None, ge=1, description="filter: ICCD session number"),
    year: int | None = Query(None, ge=1900, le=2100, description="filter: year of the document"),
    country: str | None = Query(None, description="filter: country (WOCAT practices, national reports)"),
    document_type: str | None = Query(None, description="filter: national reports: national action programme | "
                                      "national report | national action plan"),
    land_use: str | None = Query(None, description="filter: land use (WOCAT practices)"),
    kind: str | None = Query(None, description="filter: passage kind (body, list_item, table, caption, reference, ...)"),
    year_from: int | None = Query(None, ge=1900, le=2100, description="filter: documents of this year or later"),
    year_to: int | None = Query(None, ge=1900, le=2100, description="filter: documents of this year or earlier"),
) -> dict[str, Any]:
    """The metadata filters shared by ``/search`` and ``/facets``; a year range becomes the
    list of its years (a filter value may be a list: any of them).

    Raises:
        InvalidRequestError: year_from after year_to.
    """
    years: Any = year
    if year is None and (year_from is not None or year_to is not None):
        lo, hi = year_from or 1900, year_to or 2100
        if lo > hi:
            raise InvalidRequestError(f"year_from: {lo} is after year_to {hi}")
        years = list(range(lo, hi + 1))
    return {"language": language, "source": source, "symbol": symbol, "body": body, "session": session,
            "year": years, "country": country, "land_use": land_use, "kind": kind,
            "document_type": document_type}


ServiceDep = Annotated[SearchService, Depends(get_service)]
FiltersDep = Annotated[dict[str, Any], Depends(filter_params)]


async def reject_unknown_params(request: Request) -> None:
    """Refuse query parameters the route does not take (``/search?q=soil&sourse=wocat`` would
    otherwise search without the misspelt filter and say nothing), and query-string values that
    are not text (``q=soil%00erosion``: :func:`khub.api.models.check_text`, as for JSON bodies).

    Raises:
        InvalidRequestError: (422) naming the unknown parameters and the known ones, or the
            parameter holding a control character.
    """
    for name, value in request.query_params.multi_items():
        try:
            check_text(value)
        except ValueError as err:
            raise InvalidRequestError(f"{name[:100]}: {err}") from None
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: set[str] = set()
    stack = [dependant]
    while stack:  # the route's own query parameters and those of its dependencies (the filters)
        d = stack.pop()
        known.update(p.alias for p in d.query_params)
        stack += d.dependencies
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise InvalidRequestError(f"{', '.join(unknown)}: unknown query parameter"
                                  f"{'s' if len(unknown) > 1 else ''} (this route takes: "
                                  f"{', '.join(sorted(known)) or 'none'})")

"""``GET /documents/{passage_id}``: one stored passage (``?lang=fr``: its French edition);
``GET /passages/{passage_id}/translations``: every edition of it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from khub.api.deps import ServiceDep
from khub.api.models import PassageResponse, TranslationsResponse

router = APIRouter(tags=["passages"])


@router.get("/documents/{passage_id}", response_model=PassageResponse)
def document(service: ServiceDep, passage_id: str,
             lang: str | None = Query(None, description="return this language edition of the passage "
                                      "(an `also_in` code of a search hit)")) -> dict:
    """One passage with all its metadata; with ``lang``, the edition in that language of the
    same paragraph (404 when there is no such passage or edition)."""
    if lang:
        found = service.translations(passage_id)
        edition = next((e for e in (found or {}).get("editions", []) if e["language"] == lang), None)
        if edition is None:
            raise HTTPException(status_code=404, detail=f"no {lang!r} edition of passage {passage_id!r}")
        passage_id = edition["id"]
    doc = service.document(passage_id)
    if doc is None:
        raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}")
    return doc


@router.get("/passages/{passage_id}/context")
def context(service: ServiceDep, passage_id: str,
            before: int = Query(2, ge=0, le=10, description="passages before it in its document"),
            after: int = Query(2, ge=0, le=10, description="passages after it")) -> dict:
    """The reading view of a passage: it and the passages around it in its document, its
    citation, source link and the ids of its other language editions (404 for an unknown id)."""
    found = service.context(passage_id, before, after)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}")
    return found


@router.get("/passages/{passage_id}/translations", response_model=TranslationsResponse)
def translations(service: ServiceDep, passage_id: str) -> dict:
    """Every language edition the store holds of the passage's paragraph (404 for an unknown id)."""
    found = service.translations(passage_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}")
    return found

"""``GET /documents/{passage_id}``: one stored passage."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from khub.api.deps import ServiceDep
from khub.api.models import PassageResponse

router = APIRouter(tags=["passages"])


@router.get("/documents/{passage_id}", response_model=PassageResponse)
def document(service: ServiceDep, passage_id: str) -> dict:
    """One passage with all its metadata (404 when there is none with that id)."""
    doc = service.document(passage_id)
    if doc is None:
        raise HTTPException(status_code=404, detail=f"no passage with id {passage_id!r}")
    return doc

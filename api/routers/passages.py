"""``GET /documents/{passage_id}``: one stored passage (``?lang=fr``: its French edition);
``GET /passages/{passage_id}/translations``: every edition of it; ``/context``: the reading
view (the passage among its neighbours); ``/original``: the file it was ingested from."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse

from khub.api.deps import ServiceDep
from khub.api.models import PassageResponse, TranslationsResponse

router = APIRouter(tags=["passages"])

#: Media types of the files khub ingests (not left to the system's mime database).
ORIGINAL_TYPES = {".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/markdown", ".json": "application/json"}


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


@router.get("/passages/{passage_id}/original", response_class=FileResponse,
            responses={200: {"description": "the original file (PDF, text, Markdown or QCAT JSON)"}})
def original(service: ServiceDep, passage_id: str) -> FileResponse:
    """The file the passage was ingested from, shown inline (404 when it is no longer there)."""
    path = service.original_file(passage_id)
    if path is None:
        raise HTTPException(status_code=404, detail=f"the original file of passage {passage_id!r} is not available")
    media = ORIGINAL_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media.startswith("text/"):
        media += "; charset=utf-8"
    return FileResponse(path, media_type=media, filename=path.name, content_disposition_type="inline")


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

"""``POST /brief`` (JSON with Markdown) and ``POST /brief/docx`` (a Word file)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from khub.api.brief import to_docx
from khub.api.deps import ServiceDep
from khub.api.models import BriefRequest, BriefResponse

router = APIRouter(tags=["briefs"])

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@router.post("/brief", response_model=BriefResponse)
def brief(service: ServiceDep, body: BriefRequest) -> dict:
    """Rapid-response evidence brief: key findings and evidence by source, every statement
    a verbatim sentence with its reference [n]; ``markdown`` is ready to paste."""
    return service.brief(body.topic, filters=body.filters(), lang=body.lang)


@router.post("/brief/docx", response_class=Response,
             responses={200: {"content": {DOCX: {}}, "description": "the brief as a Word document"}})
def brief_docx(service: ServiceDep, body: BriefRequest) -> Response:
    """The same brief as a Word document (.docx)."""
    data = to_docx(service.brief(body.topic, filters=body.filters(), lang=body.lang))
    return Response(content=data, media_type=DOCX,
                    headers={"Content-Disposition": 'attachment; filename="evidence-brief.docx"'})

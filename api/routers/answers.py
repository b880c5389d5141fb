"""``POST /ask``: extractive answers with citations."""

from __future__ import annotations

from fastapi import APIRouter

from khub.api.deps import ServiceDep
from khub.api.models import AnswerResponse, AskRequest

router = APIRouter(tags=["answers"])


@router.post("/ask", response_model=AnswerResponse)
def ask(service: ServiceDep, body: AskRequest) -> dict:
    """Extractive answer: sentences copied from the top passages, each with a citation [n]."""
    return service.ask(body.question, k=body.k, filters=body.filters(), lang=body.lang)

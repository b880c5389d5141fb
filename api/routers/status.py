"""``GET /health`` and ``GET /stats``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from khub.api.deps import ServiceDep
from khub.api.models import HealthResponse

router = APIRouter(tags=["status"])


@router.get("/health", response_model=HealthResponse)
def health(service: ServiceDep) -> dict:
    """Liveness plus store size."""
    info = service.store.info()
    return {"status": "ok", "passages": info["passages"], "documents": info["documents"],
            "embedding_model": info["embedding_model"]}


@router.get("/stats")
def stats(service: ServiceDep) -> dict[str, Any]:
    """Store facts and the ingested documents."""
    return service.stats()

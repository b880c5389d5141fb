"""``GET /health`` and ``GET /stats``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from khub.api.deps import ServiceDep
from khub.api.models import HealthResponse

router = APIRouter(tags=["status"])


@router.get("/health", response_model=HealthResponse)
async def health(service: ServiceDep) -> dict:
    """Liveness plus store size. ``async``: it runs on the event loop, never queued behind
    retrieval in the thread pool, and is never refused as busy (counts cached for 5 s)."""
    return service.health()


@router.get("/stats")
def stats(service: ServiceDep) -> dict[str, Any]:
    """Store facts and the ingested documents."""
    return service.stats()

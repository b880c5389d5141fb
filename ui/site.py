"""Serve the search page and the HTTP API from one FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from khub.api.app import create_app
from khub.api.service import SearchService
from khub.settings import Settings

#: The page's files: index.html, app.js, style.css (no build step).
STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_ui(app: FastAPI) -> FastAPI:
    """Mount the search page at ``/`` on an API app. API routes are matched first, so
    ``/search``, ``/ask``, ``/docs`` ... keep working; every other path is a static file.

    Raises:
        RuntimeError: the static folder is missing (a broken install).
    """
    if not (STATIC_DIR / "index.html").is_file():
        raise RuntimeError(f"search page not found: {STATIC_DIR / 'index.html'}")
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="ui")
    return app


def create_site(settings: Settings | None = None, service: SearchService | None = None) -> FastAPI:
    """The API (:func:`khub.api.app.create_app`) with the search page at ``/``."""
    return mount_ui(create_app(settings, service=service))

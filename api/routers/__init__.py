"""One router per resource: search (``/search``, ``/facets``), answers (``/ask``), briefs
(``/brief``, ``/brief/docx``), passages (``/documents/{id}``) and status (``/health``, ``/stats``).

Routes are plain ``def``: FastAPI runs them in its thread pool, so retrieval (numpy, SQLite,
tantivy, all blocking) never blocks the event loop.
"""

"""Ingestion stage: files -> cleaned, language-tagged, paragraph-aware passages.

Flow: :mod:`ingest.convert` (bytes -> pages of text) -> :mod:`ingest.clean`
(page furniture out) -> :mod:`ingest.metadata` (source, symbol, title) ->
:mod:`ingest.language` -> :mod:`ingest.chunk` (passages). :mod:`ingest.pipeline`
ties them together. Nothing here imports from ``index`` or ``api``.
"""

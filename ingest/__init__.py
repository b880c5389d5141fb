"""Ingestion stage: files -> cleaned, language-tagged, paragraph-aware passages.

Flow: :mod:`khub.ingest.convert` (bytes -> pages of text) -> :mod:`khub.ingest.clean`
(page furniture out) -> :mod:`khub.ingest.metadata` (source, symbol, title) ->
:mod:`khub.text.language` -> :mod:`khub.ingest.chunk` (passages). :mod:`khub.ingest.pipeline`
ties them together. Nothing here imports from ``index`` or ``api``.
"""

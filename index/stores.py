"""Open the document store named in the settings."""

from __future__ import annotations

from typing import Any

from khub.settings import Settings


def open_store(settings: Settings) -> Any:
    """The configured store: :class:`EmbeddedDocumentStore` under ``settings.data_dir``
    (default) or OpenSearch at ``settings.opensearch_url``.

    Raises:
        ValueError: ``store=opensearch`` without ``KHUB_OPENSEARCH_URL``.
        NotImplementedError: the OpenSearch store is not part of this build yet.
    """
    if settings.store == "embedded":
        from index.embedded_store import EmbeddedDocumentStore

        return EmbeddedDocumentStore(settings.data_dir, embedding_model=settings.embedding_model)
    if not settings.opensearch_url:
        raise ValueError("KHUB_STORE=opensearch needs KHUB_OPENSEARCH_URL (e.g. http://localhost:9200)")
    raise NotImplementedError("the OpenSearch store is not implemented yet; use KHUB_STORE=embedded")

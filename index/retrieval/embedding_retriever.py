"""StoreEmbeddingRetriever: the dense leg over any :class:`khub.index.store.PassageStore`."""

from __future__ import annotations

from typing import Any

from haystack import Document, component

from khub.index.retrieval._store_param import StoreBacked
from khub.index.store import PassageStore


@component
class StoreEmbeddingRetriever(StoreBacked):
    """Nearest passages to the query embedding by cosine similarity (exact in the embedded
    store, HNSW in OpenSearch), filters applied during the search.

    Args:
        document_store: the store to search.
        top_k: passages returned when ``run`` is not given ``top_k``.
    """

    init_params = ("top_k",)

    def __init__(self, document_store: PassageStore, top_k: int = 100):
        self.document_store = document_store
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(self, query_embedding: list[float], filters: dict[str, Any] | None = None,
            top_k: int | None = None) -> dict[str, Any]:
        """``{"documents": [...]}``: up to ``top_k`` passages, best first, ``score`` = cosine.

        Raises:
            InvalidRequestError: an unknown filter field.
        """
        return {"documents": self.document_store.embedding_retrieval(query_embedding, filters, top_k or self.top_k)}

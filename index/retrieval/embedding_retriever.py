"""StoreEmbeddingRetriever: the dense leg over any :class:`khub.index.store.PassageStore`."""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_to_dict

from khub.index.retrieval._store_param import store_from_dict, store_to_dict
from khub.index.store import PassageStore


@component
class StoreEmbeddingRetriever:
    """Nearest passages to the query embedding by cosine similarity (exact in the embedded
    store, HNSW in OpenSearch), filters applied during the search.

    Args:
        document_store: the store to search.
        top_k: passages returned when ``run`` is not given ``top_k``.
    """

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

    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation (the store as its own ``to_dict``)."""
        return default_to_dict(self, document_store=store_to_dict(self.document_store), top_k=self.top_k)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StoreEmbeddingRetriever":
        """Haystack deserialisation (re-opens the store)."""
        params = data["init_parameters"]
        return cls(document_store=store_from_dict(params["document_store"]), top_k=params.get("top_k", 100))

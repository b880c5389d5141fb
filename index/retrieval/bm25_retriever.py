"""StoreBM25Retriever: the BM25 leg over any :class:`khub.index.store.PassageStore`."""

from __future__ import annotations

from typing import Any

from haystack import Document, component

from khub.index.retrieval._store_param import StoreBacked
from khub.index.store import PassageStore


@component
class StoreBM25Retriever(StoreBacked):
    """BM25 (k1 = 1.2, b = 0.75; Robertson & Zaragoza 2009) over the store's pre-analysed terms,
    with the coordination rule of :func:`khub.index.store.minimum_should_match`.

    Args:
        document_store: the store to search.
        top_k: passages returned when ``run`` is not given ``top_k``.
    """

    init_params = ("top_k",)

    def __init__(self, document_store: PassageStore, top_k: int = 100):
        self.document_store = document_store
        self.top_k = top_k

    @component.output_types(documents=list[Document])
    def run(self, query: str, language: str | None = None, filters: dict[str, Any] | None = None,
            top_k: int | None = None) -> dict[str, Any]:
        """``{"documents": [...]}``: up to ``top_k`` passages, best first, ``score`` = BM25 and
        ``meta["bm25_coverage"]`` = share of the query's content terms each holds.

        Args:
            query: the user's text, analysed in ``language`` (:func:`khub.text.analysis.analyze`).
            filters: ``{field: value or [values]}`` on :data:`khub.index.store.FILTER_FIELDS`.

        Raises:
            InvalidRequestError: an unknown filter field.
        """
        return {"documents": self.document_store.bm25_retrieval(query, language, filters, top_k or self.top_k)}

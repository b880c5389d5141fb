"""Haystack's own DocumentStore test suite (``haystack.testing.document_store``) run against
the embedded store: count, write with every duplicate policy, delete, and every filter
operator of Haystack's filter syntax."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import DocumentStoreBaseTests

from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.store import PassageStore


class TestEmbeddedStoreHaystackBase(DocumentStoreBaseTests):
    """Haystack's base tests; the store lives in a fresh temporary data dir per test."""

    @pytest.fixture
    def document_store(self, tmp_path) -> EmbeddedDocumentStore:
        store = EmbeddedDocumentStore(tmp_path / "data")
        yield store
        store.close()

    def assert_documents_are_equal(self, received: list[Document], expected: list[Document]):
        """Same documents, in any order. Embeddings are stored as float32, so they are
        compared to float32 precision (Haystack's docs: override this where a store
        changes what it returns)."""
        def key(d):
            return d.id

        received, expected = sorted(received, key=key), sorted(expected, key=key)
        assert [d.id for d in received] == [d.id for d in expected]
        for r, e in zip(received, expected):
            assert (r.content, r.meta) == (e.content, e.meta)
            if e.embedding is None:
                assert r.embedding is None
            else:
                np.testing.assert_allclose(r.embedding, e.embedding, rtol=1e-6, atol=1e-7)

    def test_write_documents(self, document_store: EmbeddedDocumentStore):
        """The default policy (NONE) refuses an id that is already stored."""
        doc = Document(content="test doc")
        assert document_store.write_documents([doc]) == 1
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([doc])
        self.assert_documents_are_equal(document_store.filter_documents(), [doc])

    def test_is_a_passage_store(self, document_store: EmbeddedDocumentStore):
        assert isinstance(document_store, PassageStore)

    def test_overwrite_keeps_bm25_in_step(self, document_store: EmbeddedDocumentStore):
        document_store.write_documents([Document(id="1", content="rangeland restoration", meta={"language": "en"})])
        document_store.write_documents([Document(id="1", content="drought early warning", meta={"language": "en"})],
                                       policy=DuplicatePolicy.OVERWRITE)
        assert document_store.bm25_retrieval("rangeland", "en") == []
        assert [d.id for d in document_store.bm25_retrieval("drought", "en")] == ["1"]

"""The embedded store: Haystack protocol, persistence across processes, incremental replace."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from index.embedded_store import EmbeddedDocumentStore, EmbeddingMismatchError
from tests.conftest import ROOT


def _doc(pid, text, lang="en", vec=None, doc_id="d1"):
    vec = vec if vec is not None else np.eye(4, dtype=np.float32)[hash(pid) % 4]
    return Document(id=pid, content=text, meta={"language": lang, "source": "spi", "doc_id": doc_id},
                    embedding=[float(x) for x in vec])


def test_protocol_round_trip(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    docs = [_doc("a", "Land degradation neutrality targets"), _doc("b", "土地退化零增长目标", lang="zh")]
    assert store.write_documents(docs) == 2
    assert store.count_documents() == 2
    got = {d.id: d for d in store.filter_documents()}
    assert got["b"].content == "土地退化零增长目标" and got["b"].meta["language"] == "zh"
    assert got["a"].embedding == docs[0].embedding
    zh = store.filter_documents({"field": "meta.language", "operator": "==", "value": "zh"})
    assert [d.id for d in zh] == ["b"]
    with pytest.raises(DuplicateDocumentError):
        store.write_documents([_doc("a", "again")])
    assert store.write_documents([_doc("a", "again")], policy=DuplicatePolicy.SKIP) == 0
    store.write_documents([_doc("a", "drought early warning")], policy=DuplicatePolicy.OVERWRITE)
    assert [d.id for d in store.bm25_retrieval("drought", "en")] == ["a"]
    assert store.bm25_retrieval("neutrality", "en") == []  # the overwritten text is gone from BM25 too
    store.delete_documents(["a"])
    assert store.count_documents() == 1
    clone = EmbeddedDocumentStore.from_dict(store.to_dict())
    assert clone.count_documents() == 1


def test_persists_across_processes(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("p1", "sand and dust storms in Central Asia", vec=np.array([1, 0, 0, 0.0]))])
    store.close()
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from index.embedded_store import EmbeddedDocumentStore
        s = EmbeddedDocumentStore({str(tmp_path)!r})
        hits = s.bm25_retrieval("dust storms", "en")
        dense = s.embedding_retrieval([1.0, 0.0, 0.0, 0.0])
        print(s.count_documents(), hits[0].id, dense[0].id, round(dense[0].score, 3))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "p1", "p1", "1.0"]


def test_replace_document_leaves_no_orphans(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    v1 = [_doc(f"d1:{i}", f"old passage number {i} about rangelands") for i in range(5)]
    store.replace_document("d1", "x.txt", "hash1", {"source": "spi"}, v1)
    v2 = [_doc(f"d1:{i}", f"new passage {i} about wetlands") for i in range(2)]
    store.replace_document("d1", "x.txt", "hash2", {"source": "spi"}, v2)
    assert sorted(d.id for d in store.filter_documents()) == ["d1:0", "d1:1"]
    assert store.bm25_retrieval("rangelands", "en") == []
    assert len(store.bm25_retrieval("wetlands", "en")) == 2
    assert store.document_record("d1")["content_hash"] == "hash2"
    store.delete_document("d1")
    assert store.count_documents() == 0 and store.document_record("d1") is None


def test_bm25_index_rebuilt_when_out_of_step(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("a", "soil organic carbon stocks")])
    store.close()
    (tmp_path / "bm25" / "GENERATION").write_text("-5")  # as after a crash between the two commits
    reopened = EmbeddedDocumentStore(tmp_path)
    assert [d.id for d in reopened.bm25_retrieval("carbon", "en")] == ["a"]


def test_filters_on_both_legs(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("en1", "drought resilience", vec=np.array([1, 0, 0, 0.0])),
                           _doc("zh1", "drought 抗旱", lang="zh", vec=np.array([1, 0, 0, 0.0]))])
    assert [d.id for d in store.bm25_retrieval("drought", "en", {"language": "zh"})] == ["zh1"]
    assert [d.id for d in store.embedding_retrieval([1, 0, 0, 0], {"language": ["zh"]})] == ["zh1"]
    with pytest.raises(ValueError, match="unknown filter field 'colour'"):
        store.embedding_retrieval([1, 0, 0, 0], {"colour": "red"})


def test_refuses_to_mix_embedding_models(tmp_path):
    store = EmbeddedDocumentStore(tmp_path, embedding_model="model-a")
    store.write_documents([_doc("a", "text")])
    with pytest.raises(EmbeddingMismatchError, match="4-dim vectors of 'model-a'"):
        EmbeddedDocumentStore(tmp_path, embedding_model="model-b").write_documents(
            [Document(id="b", content="x", embedding=[0.1] * 8)])
    with pytest.raises(EmbeddingMismatchError, match="built with 'model-a'"):
        EmbeddedDocumentStore(tmp_path, embedding_model="model-b").write_documents([_doc("c", "y")])

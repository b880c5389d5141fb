"""The document-store contract, run on every store: the embedded store always, OpenSearch when
``KHUB_OPENSEARCH_URL`` names a live cluster (``docker compose up -d``; each test uses its own
throw-away index). Both must give the same answers to the same calls."""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.store import EmbeddingMismatchError

OPENSEARCH_URL = os.environ.get("KHUB_OPENSEARCH_URL")


@pytest.fixture(params=["embedded", "opensearch"])
def open_store(request, tmp_path):
    """A factory ``open_store(embedding_model=None)`` opening the same store location each call."""
    opened = []
    if request.param == "embedded":
        def factory(embedding_model=None):
            opened.append(EmbeddedDocumentStore(tmp_path, embedding_model=embedding_model))
            return opened[-1]
        yield factory
        return
    if not OPENSEARCH_URL:
        pytest.skip("OpenSearch contract tests need a live cluster: set KHUB_OPENSEARCH_URL "
                    "(`scripts/opensearch-node start` prints one, with Java 17 and Maven; or "
                    "http://localhost:9200 after `docker compose up -d`)")
    pytest.importorskip("opensearchpy", reason="pip install -e '.[opensearch]'")
    from khub.index.opensearch_store import OpenSearchDocumentStore

    index = f"khub-test-{uuid.uuid4().hex[:8]}"

    def factory(embedding_model=None):
        opened.append(OpenSearchDocumentStore(OPENSEARCH_URL, index, embedding_model=embedding_model))
        return opened[-1]
    yield factory
    if opened:
        client = opened[0].client
        for name in (f"{index}-v*", f"{index}-documents-v*", f"{index}-kv"):
            client.indices.delete(index=name, ignore=[404])
        client.indices.delete_index_template(name=index, ignore=[404])


def _doc(pid, text, lang="en", vec=None, doc_id="d1", **meta):
    vec = vec if vec is not None else np.eye(4, dtype=np.float32)[sum(map(ord, pid)) % 4]
    return Document(id=pid, content=text, meta={"language": lang, "source": "spi", "doc_id": doc_id, **meta},
                    embedding=[float(x) for x in vec])


def test_protocol_round_trip(open_store):
    store = open_store()
    docs = [_doc("a", "Land degradation neutrality targets"), _doc("b", "土地退化零增长目标", lang="zh")]
    assert store.write_documents(docs) == 2
    assert store.count_documents() == 2
    got = {d.id: d for d in store.filter_documents()}
    assert got["b"].content == "土地退化零增长目标" and got["b"].meta["language"] == "zh"
    assert np.allclose(got["a"].embedding, docs[0].embedding)
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
    clone = type(store).from_dict(store.to_dict())
    assert clone.count_documents() == 1


def test_replace_document_leaves_no_orphans(open_store):
    store = open_store()
    v1 = [_doc(f"d1:{i}", f"old passage number {i} about rangelands") for i in range(5)]
    store.replace_document("d1", "x.txt", "hash1", {"source": "spi"}, v1)
    v2 = [_doc(f"d1:{i}", f"new passage {i} about wetlands") for i in range(2)]
    store.replace_document("d1", "x.txt", "hash2", {"source": "spi"}, v2)
    assert sorted(d.id for d in store.filter_documents()) == ["d1:0", "d1:1"]
    assert store.bm25_retrieval("rangelands", "en") == []
    assert len(store.bm25_retrieval("wetlands", "en")) == 2
    assert store.document_record("d1")["content_hash"] == "hash2"
    assert [r["doc_id"] for r in store.list_documents()] == ["d1"]
    store.delete_document("d1")
    assert store.count_documents() == 0 and store.document_record("d1") is None


def test_filters_on_both_legs_and_list_valued_fields(open_store):
    store = open_store()
    store.write_documents([
        _doc("en1", "drought resilience", vec=np.array([1, 0, 0, 0.0])),
        _doc("zh1", "drought 抗旱", lang="zh", vec=np.array([1, 0, 0, 0.0])),
        _doc("w1", "drought terraces on grazing land", vec=np.array([0.9, 0.1, 0, 0.0]),
             land_use=["Grazing land", "Cropland"], country="Afghanistan"),
    ])
    assert [d.id for d in store.bm25_retrieval("drought", "en", {"language": "zh"})] == ["zh1"]
    assert [d.id for d in store.embedding_retrieval([1, 0, 0, 0], {"language": ["zh"]})] == ["zh1"]
    assert [d.id for d in store.embedding_retrieval([1, 0, 0, 0], {"land_use": "Cropland"})] == ["w1"]
    assert [d.id for d in store.bm25_retrieval("drought", "en", {"country": "Afghanistan"})] == ["w1"]
    with pytest.raises(ValueError, match="unknown filter field 'colour'"):
        store.embedding_retrieval([1, 0, 0, 0], {"colour": "red"})
    with pytest.raises(ValueError, match="unknown filter field 'colour'"):
        store.bm25_retrieval("drought", "en", {"colour": "red"})


def test_dense_scores_are_cosines_and_bm25_reports_coverage(open_store):
    store = open_store()
    store.write_documents([
        _doc("p1", "sand and dust storms in Central Asia", vec=np.array([1, 0, 0, 0.0])),
        _doc("p2", "dust on glaciers", vec=np.array([0.6, 0.8, 0, 0.0])),
        _doc("p3", "wetland restoration", vec=np.array([0, 0, 1, 0.0])),
        _doc("p4", "mangrove restoration", vec=np.array([0, 0, 0, 1.0])),
    ])
    dense = store.embedding_retrieval([1.0, 0.0, 0.0, 0.0], top_k=2)
    assert [d.id for d in dense] == ["p1", "p2"]
    assert dense[0].score == pytest.approx(1.0, abs=1e-5) and dense[1].score == pytest.approx(0.6, abs=1e-5)
    hits = store.bm25_retrieval("dust storms", "en")
    assert hits[0].id == "p1" and hits[0].meta["bm25_coverage"] == 1.0
    assert {h.id: h.meta["bm25_coverage"] for h in hits}.get("p2") in (None, 0.5)


def test_sentence_vectors_and_translation_groups(open_store):
    store = open_store()
    s1 = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    store.replace_document("d1", "a.txt", "h", {}, [_doc("d1:0", "First. Second.", translation_group="g1")],
                           sentence_vectors={"d1:0": s1})
    store.replace_document("d2", "b.txt", "h", {}, [_doc("d2:0", "第一。", lang="zh", doc_id="d2",
                                                         translation_group="g1")])
    best = store.best_sentences([0.0, 1.0, 0.0, 0.0], ["d1:0", "d2:0"])
    assert set(best) == {"d1:0"} and best["d1:0"][0] == 1 and best["d1:0"][1] == pytest.approx(1.0, abs=1e-3)
    assert store.group_languages(["g1", "nope"]) == {"g1": {"en", "zh"}, "nope": set()}


def test_update_meta_moves_a_passage_between_groups_and_filters_follow(open_store):
    store = open_store()
    store.replace_document("d1", "a.txt", "h", {}, [_doc("d1:0", "First.", translation_group="g1")])
    store.replace_document("d2", "b.txt", "h", {}, [_doc("d2:0", "第一。", lang="zh", doc_id="d2")])
    assert store.update_meta({"d2:0": {"translation_group": "g1"}, "unknown": {"x": 1}}) == 1
    assert store.group_languages(["g1"]) == {"g1": {"en", "zh"}}
    assert [d.id for d in store.bm25_retrieval("第一", "zh", {"translation_group": "g1"})] == ["d2:0"]
    [doc] = store.get_documents(["d2:0"])
    assert doc.meta["translation_group"] == "g1" and doc.meta["language"] == "zh" and doc.content == "第一。"
    store.update_meta({"d2:0": {"translation_group": None}})
    assert store.group_languages(["g1"]) == {"g1": {"en"}}


def test_refuses_to_mix_embedding_models_and_reset_forgets_the_model(open_store):
    store = open_store(embedding_model="model-a")
    store.write_documents([_doc("a", "text")])
    with pytest.raises(EmbeddingMismatchError, match="4-dim vectors of 'model-a'"):
        open_store(embedding_model="model-b").write_documents([Document(id="b", content="x", embedding=[0.1] * 8)])
    with pytest.raises(EmbeddingMismatchError, match="built with 'model-a'"):
        open_store(embedding_model="model-b").write_documents([_doc("c", "y")])
    store.replace_document("d1", "x.txt", "h", {}, [_doc("d1:0", "z")])
    assert store.reset() == 1
    assert store.count_documents() == 0 and store.info()["embedding_model"] is None
    other = open_store(embedding_model="model-b")
    assert other.write_documents([Document(id="b", content="x", embedding=[0.1] * 8)]) == 1
    assert other.info()["embedding_model"] == "model-b" and other.info()["embedding_dim"] == 8


def test_zero_vectors_and_wrong_dimensions(open_store):
    """A passage with an all-zero vector is stored and found by BM25, never by the dense leg; a
    query vector of another dimension, or all zeros, finds nothing (no error)."""
    store = open_store()
    store.write_documents([_doc("a", "drought resilience"), _doc("z", "zero vector passage", vec=np.zeros(4))])
    assert store.count_documents() == 2
    assert [d.id for d in store.bm25_retrieval("zero vector passage", "en")] == ["z"]
    assert "z" not in [d.id for d in store.embedding_retrieval([0.5, 0.5, 0.5, 0.5], top_k=10)]
    assert store.embedding_retrieval([0.1] * 7) == []
    assert store.embedding_retrieval([0.0] * 4) == []


def test_the_dense_leg_finds_the_exact_nearest_passages(open_store):
    """Both stores return the exact top-k by cosine: the embedded store scans, OpenSearch's HNSW
    searches with a beam of ``ef_search`` (512; Lucene's default beam ef = k found 0.958 of the
    exact top-100 on the sample corpus)."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(1500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = open_store()
    store.write_documents([Document(id=f"p{i}", content=f"passage {i}", meta={"language": "en", "source": "spi"},
                                    embedding=[float(x) for x in v]) for i, v in enumerate(vectors)])
    recalls = []
    for q in rng.normal(size=(20, 32)).astype(np.float32):
        q /= np.linalg.norm(q)
        exact = {f"p{i}" for i in np.argsort(-(vectors @ q))[:50]}
        found = {d.id for d in store.embedding_retrieval([float(x) for x in q], top_k=50)}
        recalls.append(len(found & exact) / 50)
    assert np.mean(recalls) >= 0.998, recalls  # with ef = k: 0.989 here

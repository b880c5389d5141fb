"""What only the embedded store has: persistence across processes and recovery of its BM25 index.
The contract both stores share is tested in test_store_contract.py; the OpenSearch request
bodies are checked here against the embedded store's analysis."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from haystack import Document

from khub.index.embedded_store import EmbeddedDocumentStore
from tests.conftest import ROOT


def _doc(pid, text, lang="en", vec=None, doc_id="d1"):
    vec = vec if vec is not None else np.eye(4, dtype=np.float32)[hash(pid) % 4]
    return Document(id=pid, content=text, meta={"language": lang, "source": "spi", "doc_id": doc_id},
                    embedding=[float(x) for x in vec])


def test_persists_across_processes(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("p1", "sand and dust storms in Central Asia", vec=np.array([1, 0, 0, 0.0]))])
    store.close()
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from khub.index.embedded_store import EmbeddedDocumentStore
        s = EmbeddedDocumentStore({str(tmp_path)!r})
        hits = s.bm25_retrieval("dust storms", "en")
        dense = s.embedding_retrieval([1.0, 0.0, 0.0, 0.0])
        print(s.count_documents(), hits[0].id, dense[0].id, round(dense[0].score, 3))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "p1", "p1", "1.0"]


def test_bm25_index_rebuilt_when_out_of_step(tmp_path):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("a", "soil organic carbon stocks")])
    store.close()
    (tmp_path / "bm25" / "GENERATION").write_text("-5")  # as after a crash between the two commits
    reopened = EmbeddedDocumentStore(tmp_path)
    assert [d.id for d in reopened.bm25_retrieval("carbon", "en")] == ["a"]


def test_a_bulk_load_commits_bm25_once_and_replaces_within_it(tmp_path):
    """Inside bulk_load every write is in SQLite at once; the BM25 index catches up when the run
    ends, with a passage rewritten or deleted mid-run counted once, in its last version."""
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents([_doc("old", "rangeland restoration in the Sahel")])
    with store.bulk_load():
        store.replace_document("d1", "/d1", "h1", {}, [_doc("a", "soil organic carbon stocks"),
                                                      _doc("b", "carbon in drylands soils")])
        store.replace_document("d1", "/d1", "h2", {}, [_doc("a", "wind erosion and dust")])  # b goes
        store.delete_documents(["old"])
        assert store.count_documents() == 1
    assert (tmp_path / "bm25" / "GENERATION").read_text() == str(store.generation)
    assert store.bm25_retrieval("carbon", "en") == []
    assert [d.id for d in store.bm25_retrieval("dust erosion", "en")] == ["a"]
    assert store.bm25_retrieval("rangeland", "en") == []


def test_a_crash_inside_a_bulk_load_loses_nothing(tmp_path):
    """A process killed (os._exit) in the middle of a bulk load, its BM25 writer never
    committed: the next process rebuilds the BM25 index from SQLite and finds every passage
    whose write returned."""
    script = textwrap.dedent(f"""
        import os, sys; sys.path.insert(0, {str(ROOT)!r})
        from haystack import Document
        from khub.index.embedded_store import EmbeddedDocumentStore
        s = EmbeddedDocumentStore({str(tmp_path)!r})
        with s.bulk_load():
            for i in range(30):
                s.replace_document(f"d{{i}}", f"/d{{i}}", "h", {{}}, [Document(
                    id=f"p{{i}}", content=f"gully erosion control number{{i}}", meta={{"doc_id": f"d{{i}}", "language": "en"}})])
            os._exit(3)
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 3
    reopened = EmbeddedDocumentStore(tmp_path)
    assert reopened.count_documents() == 30
    assert len(reopened.bm25_retrieval("gully erosion", "en", top_k=50)) == 30
    assert [d.id for d in reopened.bm25_retrieval("number17", "en")] == ["p17"]


def test_opensearch_bodies_match_the_embedded_contract():
    """The OpenSearch store indexes the very terms the embedded store indexes, maps every filter
    field as a keyword, and asks BM25 for the same coordination rule (pure functions: no server)."""
    from khub.index.opensearch_requests import bm25_query, filter_clauses, index_template, knn_query, passage_source
    from khub.index.store import FILTER_FIELDS
    from khub.index.store import bm25_text as _bm25_text
    from khub.text.analysis import analyze

    doc = _doc("p", "土地退化零增长 targets", lang="zh")
    doc.meta.update(section="Land degradation neutrality", land_use=["Cropland", "Grazing land"])
    source = passage_source(doc)
    assert source["terms"].split() == analyze(_bm25_text(doc), "zh")
    assert source["land_use"] == ["Cropland", "Grazing land"] and source["language"] == ["zh"]
    mapping = index_template("khub-passages", 512)["template"]["mappings"]["properties"]
    assert mapping["terms"]["analyzer"] == "whitespace" and mapping["embedding"]["dimension"] == 512
    assert all(mapping[f]["type"] == "keyword" for f in FILTER_FIELDS)
    assert set(source) <= set(mapping)  # strict mapping: every field written is declared
    body = bm25_query(["drought", "resili", "sahel"], ["the"], {"language": "en", "year": 2019}, 10)
    core = body["query"]["bool"]["must"][0]["bool"]
    assert core["minimum_should_match"] == 2 and len(core["should"]) == 3
    assert body["query"]["bool"]["filter"] == [{"terms": {"language": ["en"]}}, {"terms": {"year": ["2019"]}}]
    knn = knn_query([1.0, 0.0], {"land_use": ["Cropland"]}, 5)["query"]["knn"]["embedding"]
    assert knn["k"] == 5 and knn["filter"] == {"bool": {"filter": [{"terms": {"land_use": ["Cropland"]}}]}}
    with pytest.raises(ValueError, match="unknown filter field 'colour'"):
        filter_clauses({"colour": "red"})

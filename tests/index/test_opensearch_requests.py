"""The OpenSearch store's requests and its handling of OpenSearch's responses, without a cluster.

opensearch-py's real client and helpers talk to :class:`tests.index.fake_opensearch.FakeCluster`,
an in-memory node answering with the REST API's response shapes; faults injected per test
reproduce what a live cluster does under load or when read-only (issue 13, defects 1-5). The
retrieval contract itself (scores, filters) is tested against a live cluster in
``test_store_contract.py`` when ``KHUB_OPENSEARCH_URL`` is set.
"""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

pytest.importorskip("opensearchpy", reason="pip install -e '.[opensearch]'")

from khub.index.opensearch_requests import (  # noqa: E402
    MAX_K,
    OpenSearchOptions,
    StoreQueryError,
    StoreWriteError,
    build_client,
    index_template,
    knn_query,
)
from khub.index.opensearch_store import OpenSearchDocumentStore  # noqa: E402
from tests.index.fake_opensearch import FakeCluster  # noqa: E402

INDEX = "khub-passages"


def _passage(pid: str, text: str, doc_id: str = "d1", vec=None) -> Document:
    vec = vec if vec is not None else np.eye(4, dtype=np.float32)[sum(map(ord, pid)) % 4]
    return Document(id=pid, content=text, meta={"language": "en", "source": "spi", "doc_id": doc_id},
                    embedding=[float(x) for x in vec])


def _store(cluster: FakeCluster, model: str = "m1", **options) -> OpenSearchDocumentStore:
    return OpenSearchDocumentStore("http://fake:9200", INDEX, embedding_model=model, client=cluster.client(),
                                   options=OpenSearchOptions(**options))


def _bulk_failing(op: str, status: int, kind: str):
    """A fault: every ``op`` item of a bulk request fails with ``status`` (HTTP 200, errors: true)."""
    def fault(method, path, body):
        actions = [line[op] for line in body if len(line) == 1 and op in line] if path == "/_bulk" else []
        if not actions:
            return None
        items = [{op: {"_index": INDEX, "_id": a["_id"], "status": status,
                       "error": {"type": kind, "reason": f"{kind} on [{a['_id']}]"}}} for a in actions]
        return 200, {"took": 1, "errors": True, "items": items}
    return fault


@pytest.fixture
def cluster():
    return FakeCluster()


def test_failed_deletes_raise_and_the_document_is_replaced_again_next_time(cluster):
    """Defect 1: a stale passage whose delete fails (read-only index: 403) raises, and the
    document record keeps its old content hash, so the next ingest does not skip the file."""
    store = _store(cluster)
    store.replace_document("d1", "a.pdf", "hash-1", {}, [_passage("d1:0", "one"), _passage("d1:1", "two")])
    cluster.faults.append(_bulk_failing("delete", 403, "cluster_block_exception"))
    with pytest.raises(StoreWriteError, match=r"d1:1: 403 cluster_block_exception"):
        store.replace_document("d1", "a.pdf", "hash-2", {}, [_passage("d1:0", "one, revised")])
    assert store.document_record("d1")["content_hash"] == "hash-1"
    with pytest.raises(StoreWriteError):
        store.delete_document("d1")
    assert store.document_record("d1") is not None, "a failed delete_document leaves the document listed"
    cluster.faults.clear()
    store.replace_document("d1", "a.pdf", "hash-2", {}, [_passage("d1:0", "one, revised")])
    assert store.document_record("d1")["content_hash"] == "hash-2"
    assert [d.id for d in store.filter_documents()] == ["d1:0"]


def test_a_passage_already_gone_is_not_a_failed_delete(cluster):
    store = _store(cluster)
    store.write_documents([_passage("a", "text")])
    store.delete_documents(["a", "never-stored"])  # the second item answers 404
    assert store.count_documents() == 0


def test_failed_index_items_name_the_passages(cluster):
    store = _store(cluster)
    store.write_documents([_passage("a", "text")])
    cluster.faults.append(_bulk_failing("index", 400, "mapper_parsing_exception"))
    with pytest.raises(StoreWriteError, match="mapper_parsing_exception") as err:
        store.replace_document("d2", "b.pdf", "h", {}, [_passage("b", "x", "d2"), _passage("c", "y", "d2")])
    assert "2 of 2" in str(err.value)
    assert store.document_record("d2") is None


def test_429_and_503_are_retried_with_backoff(cluster):
    """Defect 1: whole requests answered 429/503 are retried; bulk items rejected with 429 are
    re-sent by streaming_bulk; a request that keeps failing raises the last error."""
    store = _store(cluster, retries=4)
    answers = [(429, "rejected_execution_exception"), (503, "unavailable")]

    def busy(method, path, body):
        if path.endswith("/_count") and answers:
            status, kind = answers.pop(0)
            return FakeCluster._error(status, kind, "busy")
        return None
    cluster.faults.append(busy)
    assert store.count_documents() == 0  # no passage index yet: nothing is counted
    store.write_documents([_passage("a", "text")])
    answers[:] = [(429, "rejected_execution_exception"), (503, "unavailable")]
    assert store.count_documents() == 1
    assert sum(p.endswith("/_count") for p in cluster.paths()) == 3

    rejected = {"n": 0}

    def reject_items_once(method, path, body):
        if path == "/_bulk" and rejected["n"] == 0:
            rejected["n"] += 1
            items = [{"index": {"_index": INDEX, "_id": line["index"]["_id"], "status": 429,
                                "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}}
                     for line in body if "index" in line]
            return 200, {"took": 1, "errors": True, "items": items}
        return None
    cluster.faults.append(reject_items_once)
    store.write_documents([_passage("b", "more")], policy=DuplicatePolicy.OVERWRITE)
    assert {d.id for d in store.filter_documents()} == {"a", "b"}
    assert cluster.paths().count("/_bulk") == 3  # first write, rejected attempt, retry

    cluster.faults.insert(0, lambda m, p, b: FakeCluster._error(503, "unavailable", "down") if p.endswith("_count") else None)
    from opensearchpy import TransportError

    with pytest.raises(TransportError):
        store.count_documents()


def test_one_refresh_per_document_replacement(cluster):
    """Defect 2: a document of many bulk chunks is refreshed once, not once per chunk."""
    store = _store(cluster, bulk_mb=0.01)  # ~10 kB bulk requests: several chunks
    passages = [_passage(f"d1:{i}", f"paragraph {i} " * 20) for i in range(60)]
    store.replace_document("d1", "a.pdf", "h", {}, passages)
    assert cluster.paths().count("/_bulk") > 3
    assert sum(p.endswith(f"{INDEX}/_refresh") for p in cluster.paths()) == 1
    assert store.count_documents() == 60


def test_reindex_builds_a_new_version_behind_the_alias(cluster):
    """Defect 3: while --reindex writes v2, the alias serves v1; the swap is one _aliases
    request; the model and dimension switch with the index; v1 is removed (or kept)."""
    store = _store(cluster, model="old-model")
    store.replace_document("d1", "a.pdf", "h", {}, [_passage("d1:0", "old text")])
    assert cluster.resolve(INDEX) == [f"{INDEX}-v1"]

    server = _store(cluster, model="old-model")  # a running `khub serve`
    builder = _store(cluster, model="new-model")
    assert builder.begin_reindex() == 2
    builder.replace_document("d1", "a.pdf", "h2", {}, [_passage("d1:0", "new text", vec=np.ones(8) / 8 ** 0.5)])
    assert [d.content for d in server.filter_documents()] == ["old text"], "search keeps the old version"
    assert server.info()["embedding_model"] == "old-model"
    assert cluster.indices[f"{INDEX}-v2"]["settings"]["index"]["refresh_interval"] == "-1"
    builder.finish_reindex()
    assert cluster.resolve(INDEX) == [f"{INDEX}-v2"] and f"{INDEX}-v1" not in cluster.indices
    assert cluster.resolve(f"{INDEX}-documents") == [f"{INDEX}-documents-v2"]
    swaps = [b for m, p, _, b in cluster.requests if p == "/_aliases"]
    assert len(swaps) == 1 and {"remove": {"index": f"{INDEX}-v1", "alias": INDEX}} in swaps[0]["actions"]
    assert [d.content for d in server.filter_documents()] == ["new text"]
    info = server.info()
    assert (info["embedding_model"], info["embedding_dim"]) == ("new-model", 8)
    assert cluster.indices[f"{INDEX}-v2"]["settings"]["index"]["refresh_interval"] == "1s"

    again = _store(cluster, model="new-model")
    again.begin_reindex()
    again.replace_document("d1", "a.pdf", "h3", {}, [_passage("d1:0", "newest", vec=np.ones(8) / 8 ** 0.5)])
    again.finish_reindex(keep_old=True)
    assert f"{INDEX}-v2" in cluster.indices and cluster.resolve(INDEX) == [f"{INDEX}-v3"]


def test_an_aborted_reindex_leaves_the_live_index_alone(cluster):
    store = _store(cluster)
    store.replace_document("d1", "a.pdf", "h", {}, [_passage("d1:0", "live")])
    builder = _store(cluster)
    builder.begin_reindex()
    builder.replace_document("d1", "a.pdf", "h2", {}, [_passage("d1:0", "half built")])
    builder.abort_reindex()
    assert sorted(cluster.indices) == [f"{INDEX}-documents-v1", f"{INDEX}-kv", f"{INDEX}-v1"]
    assert [d.content for d in store.filter_documents()] == ["live"]
    # a reindex that crashed (no abort) is cleaned up by the next one
    crashed = _store(cluster)
    crashed.begin_reindex()
    crashed.replace_document("d1", "a.pdf", "h2", {}, [_passage("d1:0", "orphan")])
    assert f"{INDEX}-v2" in cluster.indices
    _store(cluster).begin_reindex()
    assert f"{INDEX}-v2" not in cluster.indices


def test_duplicates_are_detected_by_create_operations(cluster):
    """Defect 4: no read-then-write race: ``create`` ops, and a 409 maps to the policy."""
    store = _store(cluster)
    assert store.write_documents([_passage("a", "one")]) == 1
    cluster.requests.clear()
    with pytest.raises(DuplicateDocumentError, match="'a'"):
        store.write_documents([_passage("a", "again"), _passage("b", "new")])
    assert not any(p.endswith("_mget") for p in cluster.paths()), "no read before the write"
    ops = [next(iter(line)) for m, p, _, body in cluster.requests if p == "/_bulk" for line in body if len(line) == 1
           and next(iter(line)) in ("create", "index", "delete", "update")]
    assert set(ops) == {"create"}
    assert store.write_documents([_passage("a", "again")], policy=DuplicatePolicy.SKIP) == 0
    assert store.write_documents([_passage("a", "overwritten")], policy=DuplicatePolicy.OVERWRITE) == 1
    assert store.get_documents(["a"])[0].content == "overwritten"


def test_index_creation_is_idempotent(cluster):
    """Defect 4: two ingests creating the index at once: the loser's 400
    resource_already_exists_exception is not an error."""
    first = _store(cluster)
    first.write_documents([_passage("a", "one")])
    second = _store(cluster)
    seen = {"n": 0}

    def not_yet(method, path, body):  # the second writer checked before the first created it
        if method == "HEAD" and path == f"/{INDEX}" and seen["n"] < 2:
            seen["n"] += 1
            return 404, None
        return None
    cluster.faults.append(not_yet)
    second._ensure_index(4)
    assert [p for p in cluster.paths("PUT") if p == f"/{INDEX}-v1"] == [f"/{INDEX}-v1", f"/{INDEX}-v1"]
    cluster.faults.clear()
    assert second.write_documents([_passage("b", "two")]) == 1


def test_generation_is_bumped_atomically(cluster):
    store = _store(cluster)
    for pid in "abc":
        store.write_documents([_passage(pid, pid)])
    assert store.generation == 3
    updates = [b for m, p, _, b in cluster.requests if p == f"/{INDEX}-kv/_update/generation"]
    assert updates and all(b["script"]["source"] == "ctx._source.value += 1" and b["upsert"] == {"value": 1}
                           for b in updates)
    assert not [p for p in cluster.paths("PUT") if p.startswith(f"/{INDEX}-kv/_doc")], "no read-modify-write"


def test_msearch_sub_errors_raise_with_the_reason(cluster):
    """Defect 4: an msearch answered 200 with an error item raises instead of a KeyError."""
    store = _store(cluster)
    store.write_documents([_passage("a", "land degradation")])

    def failing(method, path, body):
        if path == "/_msearch":
            error = {"root_cause": [], "type": "too_many_clauses", "reason": "maxClauseCount is set to 1024"}
            return 200, {"took": 1, "responses": [{"error": error, "status": 400}] * (len(body) // 2)}
        return None
    cluster.faults.append(failing)
    with pytest.raises(StoreQueryError, match="maxClauseCount"):
        store.content_terms("land degradation", "en")


def test_zero_vectors_and_wrong_dimensions_as_in_the_embedded_store(cluster):
    """Defect 5: an all-zero vector is stored without an embedding (cosinesimil rejects it)
    instead of failing the file; a query of the wrong dimension or all zeros finds nothing
    without a request; k above 10,000 is capped."""
    store = _store(cluster)
    store.write_documents([_passage("a", "one"), _passage("z", "zero", vec=np.zeros(4))])
    stored = cluster.indices[f"{INDEX}-v1"]["docs"]
    assert "embedding" in stored["a"] and "embedding" not in stored["z"]
    cluster.requests.clear()
    assert store.embedding_retrieval([0.1] * 7) == []
    assert store.embedding_retrieval([0.0] * 4) == []
    assert not any(p.endswith("_search") for p in cluster.paths())
    body = knn_query([0.5] * 4, None, 50_000)
    assert body["size"] == MAX_K and body["query"]["knn"]["embedding"]["k"] == MAX_K


def test_scale_settings_reach_the_template_and_the_search(cluster):
    template = index_template(INDEX, 512, OpenSearchOptions(shards=6, replicas=1, encoder="sq"), "m")
    settings = template["template"]["settings"]["index"]
    assert (settings["number_of_shards"], settings["number_of_replicas"]) == (6, 1)
    method = template["template"]["mappings"]["properties"]["embedding"]["method"]
    assert method["parameters"]["encoder"] == {"name": "sq"} and method["engine"] == "lucene"
    assert template["index_patterns"] == [f"{INDEX}-v*"]
    assert template["template"]["mappings"]["_meta"] == {"embedding_model": "m", "embedding_dim": 512}
    store = _store(cluster, shards=6)
    store.write_documents([_passage("a", "land degradation neutrality")])
    cluster.requests.clear()
    store.bm25_retrieval("land degradation", "en")
    searches = [params for m, p, params, _ in cluster.requests if p == f"/{INDEX}/_search"]
    assert searches and searches[-1].get("search_type") == "dfs_query_then_fetch"


def test_a_warm_dense_query_is_one_request(cluster):
    """Scale: after the first query, the dense leg makes one round trip (no existence check, no
    mapping read), and the k-NN filter travels inside the knn clause."""
    store = _store(cluster)
    store.write_documents([_passage("a", "one"), _passage("b", "two")])
    store.embedding_retrieval([0.0, 1.0, 0.0, 0.0], top_k=2)
    cluster.requests.clear()
    found = store.embedding_retrieval([0.0, 1.0, 0.0, 0.0], filters={"language": "en"}, top_k=2)
    assert len(found) == 2 and found[0].score >= found[1].score
    assert [(m, p) for m, p, _, _ in cluster.requests] == [("POST", f"/{INDEX}/_search")]
    body = cluster.requests[0][3]
    knn = body["query"]["knn"]["embedding"]
    assert knn["filter"] == {"bool": {"filter": [{"terms": {"language": ["en"]}}]}}
    assert "embedding" in body["_source"]["excludes"], "float vectors: the cosine comes from the score"
    assert found[0].score == pytest.approx(1.0, abs=1e-6)  # (1 + cos) / 2 = 1 -> cos = 1
    quantised = _store(cluster, encoder="sq")
    cluster.requests.clear()
    rescored = quantised.embedding_retrieval([0.0, 1.0, 0.0, 0.0], top_k=2)
    assert "embedding" not in cluster.requests[-1][3]["_source"]["excludes"], "sq: re-scored from the floats"
    assert [d.score for d in rescored] == pytest.approx([d.score for d in found], abs=1e-6)


def test_client_carries_auth_and_tls_options():
    client = build_client("https://search.example:9200", OpenSearchOptions(user="khub", password="s3cret",
                                                                          verify_certs=False))
    connection = client.transport.get_connection()
    assert connection.use_ssl and connection.headers["authorization"].startswith("Basic ")
    assert client.transport.max_retries == 0, "retries are tenacity's, with backoff"


def test_ingest_reindex_swaps_in_a_new_version_and_keeps_the_old_on_store_errors(cluster, tmp_path, use_embedders):
    """`khub ingest --reindex` on OpenSearch: the files are written into v2 and swapped in at the
    end; when a file cannot be written (a store error, not a conversion error) the swap is
    abandoned and v1 keeps serving."""
    from khub.index.indexer import ingest_paths
    from khub.settings import Settings

    text, docs = use_embedders
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Drought\n\nEarly warning systems reduce drought losses.\n", encoding="utf-8")
    (folder / "b.md").write_text("# Soils\n\nSoil organic carbon is an indicator of land health.\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", align_editions=False, ingest_workers=1)
    model = settings.embedding_model
    store = _store(cluster, model=model)
    results = ingest_paths([folder], settings, store, docs, text_embedder=text)
    assert [r.status for r in results] == ["indexed", "indexed"] and cluster.resolve(INDEX) == [f"{INDEX}-v1"]

    results = ingest_paths([folder], settings, _store(cluster, model=model), docs, text_embedder=text, reindex=True)
    assert [r.status for r in results] == ["indexed", "indexed"]  # into the new version
    assert cluster.resolve(INDEX) == [f"{INDEX}-v2"] and f"{INDEX}-v1" not in cluster.indices
    assert _store(cluster, model=model).count_documents() == store.count_documents() > 0

    cluster.faults.append(_bulk_failing("index", 403, "cluster_block_exception"))
    results = ingest_paths([folder], settings, _store(cluster, model=model), docs, text_embedder=text, reindex=True)
    assert {r.status for r in results} == {"failed"} and "StoreWriteError" in results[0].reason
    assert cluster.resolve(INDEX) == [f"{INDEX}-v2"], "the live version stays"
    assert f"{INDEX}-v3" not in cluster.indices


def test_facets_without_a_query_are_one_aggregation(cluster, tmp_path):
    """Scale: /facets without a query asks OpenSearch for terms aggregations (documents per
    value, by cardinality of doc_id) instead of reading every document record."""
    from khub.api.service import SearchService
    from khub.settings import Settings

    store = _store(cluster, model=Settings().embedding_model)
    for doc_id, country, n in (("eg", "Egypt", 3), ("ma", "Morocco", 2)):
        passages = [Document(id=f"{doc_id}:{i}", content=f"passage {i}", embedding=[1.0, 0.0, 0.0, 0.0],
                             meta={"language": "en", "source": "national_report", "doc_id": doc_id,
                                   "country": country}) for i in range(n)]
        store.replace_document(doc_id, f"{doc_id}.pdf", "h", {"country": country}, passages)
    service = SearchService(Settings(data_dir=tmp_path), store=store, embedders=(None, None))
    cluster.requests.clear()
    out = service.facets()
    assert out["documents"] == 2
    assert out["facets"]["country"] == {"Egypt": 1, "Morocco": 1}
    assert out["facets"]["source"] == {"national_report": 2}
    assert [p for _, p, _, _ in cluster.requests] == [f"/{INDEX}/_search"]
    only = service.facets(filters={"country": "Egypt"})
    assert only["documents"] == 1 and only["facets"]["country"] == {"Egypt": 1}


def test_documents_share_bulk_requests_and_a_failed_one_keeps_its_old_record(cluster):
    """Scale: several documents go in one passages bulk, one refresh and one records bulk; a
    document whose passages fail gets no new record, the others do."""
    from khub.index.store import DocumentWrite

    store = _store(cluster)
    store.replace_document("b", "b.pdf", "old", {}, [_passage("b:0", "old b", "b")])
    units = [DocumentWrite("a", "a.pdf", "h-a", {}, [_passage("a:0", "alpha", "a"), _passage("a:1", "beta", "a")]),
             DocumentWrite("b", "b.pdf", "h-b", {}, [_passage("b:0", "gamma", "b")])]
    cluster.requests.clear()
    assert store.replace_documents(units) == {"a": (False, None), "b": (True, None)}
    assert cluster.paths().count("/_bulk") == 2  # passages, then records (no stale passage to delete)
    assert sum(p.endswith(f"{INDEX}/_refresh") for p in cluster.paths()) == 1

    def fail_b(method, path, body):
        if path == "/_bulk" and any(line.get("index", {}).get("_id") == "b:0" for line in body):
            items = [{"index": {"_index": INDEX, "_id": line["index"]["_id"], "status": 403 if line["index"]["_id"] == "b:0"
                                else 200, **({"error": {"type": "cluster_block_exception", "reason": "read-only"}}
                                             if line["index"]["_id"] == "b:0" else {"result": "updated"})}}
                     for line in body if "index" in line]
            return 200, {"took": 1, "errors": True, "items": items}
        return None
    cluster.faults.append(fail_b)
    units[0].content_hash, units[1].content_hash = "h-a2", "h-b2"
    outcome = store.replace_documents(units)
    assert outcome["a"] == (True, None)
    assert outcome["b"][1] and "b:0: 403 cluster_block_exception" in outcome["b"][1]
    assert store.document_record("a")["content_hash"] == "h-a2"
    assert store.document_record("b")["content_hash"] == "h-b", "the failed document keeps its old hash"


def test_ingest_batches_small_files_into_shared_requests(cluster, tmp_path, use_embedders):
    from khub.index.indexer import ingest_paths
    from khub.settings import Settings

    text, docs = use_embedders
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(6):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\nGully erosion control with check dams, site {i}.\n",
                                            encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", align_editions=False, ingest_workers=1)
    store = _store(cluster, model=settings.embedding_model)
    cluster.requests.clear()
    results = ingest_paths([folder], settings, store, docs, text_embedder=text)
    assert [r.status for r in results] == ["indexed"] * 6
    assert cluster.paths().count("/_bulk") == 2, "six files: one passages bulk and one records bulk"
    assert store.count_documents() == 6 and len(store.list_documents()) == 6


def test_a_hybrid_search_makes_five_round_trips(cluster, tmp_path, use_embedders):
    """Scale: the API's hybrid search on OpenSearch (BM25 leg with its term statistics, dense
    leg, sentence re-scoring, passages) makes 5 requests once the store is warm (issue 13
    counted ~14): existence, mapping, passage count and term document frequencies are reused."""
    from collections import Counter

    from khub.api.service import SearchService
    from khub.index.indexer import ingest_paths
    from khub.settings import Settings
    from tests.conftest import CONVENTION

    text, docs = use_embedders
    settings = Settings(data_dir=tmp_path, align_editions=False, ingest_workers=1)
    store = _store(cluster, model=settings.embedding_model)
    ingest_paths([CONVENTION], settings, store, docs, text_embedder=text)
    service = SearchService(settings, store=store, embedders=(text, docs))
    service.search("land degradation neutrality", k=10)
    cluster.requests.clear()
    out = service.search("drought early warning systems", k=10)
    assert out["results"] and not out["no_match"]
    assert len(cluster.requests) <= 5, Counter(p for _, p, _, _ in cluster.requests)
    assert cluster.paths().count("/_msearch") == 1, "the query's term statistics in one multi-search"


def test_records_without_their_absolute_path_migrate_as_on_the_embedded_store(cluster, tmp_path):
    """Issue 23: the record keeps the file's resolved absolute path (``meta.source_path``);
    records of older stores get it on open, through a bulk ``update`` of their ``meta``."""
    from khub.identity import SOURCE_FIELD, document_id
    from khub.index.store import migrate_sources

    store = _store(cluster)
    ingested = tmp_path / "corpus" / "a.txt"
    doc_id = document_id(ingested)
    store.replace_document(doc_id, "corpus/a.txt", "h", {"title": "A"}, [_passage(f"{doc_id}:0", "one", doc_id)])
    assert migrate_sources(store, [tmp_path / "elsewhere"]) == 0  # no base proves the path: left alone
    assert SOURCE_FIELD not in store.document_record(doc_id)["meta"]
    assert migrate_sources(store, [tmp_path / "elsewhere", tmp_path]) == 1
    assert store.document_record(doc_id)["meta"] == {"title": "A", SOURCE_FIELD: ingested.as_posix()}
    assert migrate_sources(store, [tmp_path]) == 0  # once recorded, never again

"""The OpenSearch document store: the engine for scale, with the embedded store's contract.

Same methods, same results as :class:`khub.index.embedded_store.EmbeddedDocumentStore`
(Haystack's ``DocumentStore`` protocol plus the two retrieval legs, document records and
sentence vectors), so :mod:`khub.index.retrieval`, :mod:`khub.index.indexer` and :mod:`khub.api` work on
either. Written against opensearch-py; the contract tests in ``tests/index/test_store_contract.py``
run on it when ``KHUB_OPENSEARCH_URL`` names a live cluster (``docker compose up``).

Indices (created through an index template on first use; ``<index>`` is
``KHUB_OPENSEARCH_INDEX``, default ``khub-passages``):

* ``<index>``: one OpenSearch document per passage. ``terms`` holds the passage's BM25
  terms already analysed by :func:`khub.text.analysis.analyze` and is indexed with the
  ``whitespace`` analyzer, so both stores index exactly the same terms (jieba for Chinese,
  Snowball stemmers for the others) and score them with BM25 at the same parameters
  (k1 = 1.2, b = 0.75, Lucene's and tantivy's defaults). Filter fields are ``keyword``
  (a list-valued field matches on any value). ``embedding`` is a ``knn_vector`` (HNSW,
  Lucene engine, cosine space: OpenSearch k-NN docs, "Efficient k-NN filtering", filters
  applied during the search). ``sentence_vectors`` are float16 bytes, base64, not indexed.
  ``meta`` is stored, not indexed.
* ``<index>-documents``: one record per ingested document (path, content hash, ...).
* ``<index>-kv``: store facts (embedding model and dimension, generation counter).

A document is replaced as a unit in the order new passages -> stale passages deleted ->
document record: a crash in between leaves the old record's hash, so the next ingest
replaces the document again and removes what is stale (no orphans after a re-run).
Cosine similarities are recomputed from the returned vectors rather than read from
engine-specific k-NN scores, so both stores report the same numbers.

Why opensearch-py rather than opensearch-haystack's ``OpenSearchDocumentStore``: that store
owns its mapping (meta fields flattened with dynamic mapping, its own analyzer), while khub
needs a strict template with pre-analysed terms, document records and sentence vectors; this
class keeps Haystack's ``DocumentStore`` protocol itself, as the embedded store does.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import Any, Iterable

import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

from khub.index import store as contract
from khub.text.analysis import analyze

_SOURCE_NO_VECTORS = {"excludes": ["embedding", "sentence_vectors"]}


def index_template(index: str, dim: int) -> dict[str, Any]:
    """The composable index template for the passage index (``PUT _index_template/<index>``).

    Args:
        index: passage index name; the template matches exactly that name.
        dim: embedding dimension (512 for the multilingual USE).
    """
    properties: dict[str, Any] = {
        "id": {"type": "keyword"},
        "content": {"type": "text", "index": False},
        "terms": {"type": "text", "analyzer": "whitespace", "similarity": "BM25"},
        "meta": {"type": "object", "enabled": False},
        "sentence_vectors": {"type": "binary"},
        "embedding": {
            "type": "knn_vector", "dimension": dim,
            "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene",
                       "parameters": {"m": 16, "ef_construction": 128}},
        },
    }
    properties.update({f: {"type": "keyword"} for f in contract.FILTER_FIELDS})
    return {
        "index_patterns": [index],
        "template": {
            "settings": {"index": {"knn": True, "number_of_shards": 1, "refresh_interval": "1s"}},
            "mappings": {"dynamic": "strict", "properties": properties},
        },
    }


def filter_clauses(filters: contract.Filters | None) -> list[dict[str, Any]]:
    """``terms`` filter clauses for ``{field: value or [values]}``.

    Raises:
        InvalidRequestError: a field outside :data:`khub.index.store.FILTER_FIELDS`.
    """
    return [{"terms": {field: values}} for field, values in contract.normalize_filters(filters).items()]


def bm25_query(content: list[str], frequent: list[str], filters: contract.Filters | None, top_k: int) -> dict[str, Any]:
    """The BM25 search body: the coordination rule of :func:`khub.index.store.minimum_should_match`
    over the ``content`` terms; ``frequent`` terms add to the score only; filters do not score."""
    should = [{"term": {"terms": t}} for t in frequent]
    must = []
    if content:
        needed = contract.minimum_should_match(len(content))
        must.append({"bool": {"should": [{"term": {"terms": t}} for t in content], "minimum_should_match": needed}})
    query: dict[str, Any] = {"bool": {"should": should, "must": must, "filter": filter_clauses(filters)}}
    if not content:
        query["bool"]["minimum_should_match"] = 1
    return {"size": top_k, "query": query, "_source": _SOURCE_NO_VECTORS}


def knn_query(vector: list[float], filters: contract.Filters | None, top_k: int) -> dict[str, Any]:
    """The k-NN search body with filters applied during the search (Lucene engine)."""
    knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": top_k}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    return {"size": top_k, "query": {"knn": {"embedding": knn}}, "_source": {"excludes": ["sentence_vectors"]}}


def passage_source(doc: Document) -> dict[str, Any]:
    """The OpenSearch ``_source`` of a passage (without sentence vectors)."""
    meta = doc.meta or {}
    source: dict[str, Any] = {
        "id": doc.id, "content": doc.content or "", "meta": meta,
        "terms": " ".join(contract.bm25_terms(doc)),
    }
    source.update({f: contract.field_values(meta, f) for f in contract.FILTER_FIELDS})
    if doc.embedding is not None:
        source["embedding"] = [float(x) for x in doc.embedding]
    return source


def _encode_vectors(vectors: np.ndarray) -> str:
    return base64.b64encode(contract.encode_sentence_vectors(vectors)).decode("ascii")


class OpenSearchDocumentStore:
    """Passages, document records and store facts in OpenSearch (see module docstring).

    Args:
        url: cluster URL, e.g. ``http://localhost:9200`` (user:password@ in the URL for basic auth).
        index: passage index name; ``<index>-documents`` and ``<index>-kv`` are created beside it.
        embedding_model: name of the model whose vectors this store holds (checked like the
            embedded store: :class:`EmbeddingMismatchError`).
        client: an ``opensearchpy.OpenSearch`` to use instead of one built from ``url``.

    Raises:
        ConnectionError: the cluster cannot be reached (the message names the URL).
    """

    def __init__(self, url: str, index: str = "khub-passages", embedding_model: str | None = None,
                 client: Any | None = None, timeout: float = 30.0):
        from opensearchpy import OpenSearch

        self.url = url
        self.index = index
        self.documents_index = f"{index}-documents"
        self.kv_index = f"{index}-kv"
        self.embedding_model = embedding_model
        self.client = client or OpenSearch(hosts=[url], timeout=timeout)
        try:
            self.client.info()
        except Exception as err:  # noqa: BLE001 - opensearch-py raises several transport errors
            raise ConnectionError(f"cannot reach OpenSearch at {url}: {err}") from err
        for name in (self.documents_index, self.kv_index):
            if not self.client.indices.exists(index=name):
                self.client.indices.create(index=name, body={"mappings": {"properties": {
                    "meta": {"type": "object", "enabled": False}}}})

    # ------------------------------------------------------------------ facts
    def _get(self, key: str) -> str | None:
        from opensearchpy import NotFoundError

        try:
            return self.client.get(index=self.kv_index, id=key)["_source"]["value"]
        except NotFoundError:
            return None

    def _set(self, key: str, value: str) -> None:
        # refresh=True: a small index written rarely; "wait_for" would wait up to refresh_interval
        self.client.index(index=self.kv_index, id=key, body={"value": value}, refresh=True)

    @property
    def generation(self) -> int:
        """Counter bumped by every write."""
        return int(self._get("generation") or 0)

    def _bump(self) -> None:
        self._set("generation", str(self.generation + 1))

    def _ensure_index(self, dim: int) -> None:
        if self.client.indices.exists(index=self.index):
            return
        self.client.indices.put_index_template(name=self.index, body=index_template(self.index, dim))
        self.client.indices.create(index=self.index)

    def _has_index(self) -> bool:
        return bool(self.client.indices.exists(index=self.index))

    def info(self) -> dict[str, Any]:
        """Store facts: passages, documents, embedding model and dimension, generation."""
        n_docs = self.client.count(index=self.documents_index)["count"]
        return {
            "store": "opensearch", "url": self.url, "index": self.index,
            "passages": self.count_documents(), "documents": n_docs,
            "embedding_model": self._get("embedding_model"),
            "embedding_dim": int(self._get("embedding_dim") or 0) or None,
            "generation": self.generation,
        }

    # ------------------------------------------------------- protocol: basics
    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation."""
        return {"type": f"{type(self).__module__}.{type(self).__name__}",
                "init_parameters": {"url": self.url, "index": self.index, "embedding_model": self.embedding_model}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OpenSearchDocumentStore":
        """Haystack deserialisation."""
        return cls(**data.get("init_parameters", {}))

    def count_documents(self) -> int:
        """Number of passages."""
        if not self._has_index():
            return 0
        return int(self.client.count(index=self.index)["count"])

    def _scan(self, query: dict[str, Any] | None = None, source: Any = True) -> Iterable[dict[str, Any]]:
        from opensearchpy.helpers import scan

        if not self._has_index():
            return []
        return scan(self.client, index=self.index, query={"query": query or {"match_all": {}}, "_source": source},
                    preserve_order=False)

    @staticmethod
    def _hit_to_document(hit: dict[str, Any], score: float | None = None) -> Document:
        src = hit["_source"]
        return Document(id=src["id"], content=src.get("content"), meta=src.get("meta") or {},
                        embedding=src.get("embedding"), score=score)

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Passages matching Haystack filter syntax; a full scan, as in the embedded store."""
        docs = [self._hit_to_document(h) for h in self._scan(source={"excludes": ["sentence_vectors", "terms"]})]
        docs.sort(key=lambda d: d.id)
        return [d for d in docs if not filters or document_matches_filter(filters, d)]

    def get_documents(self, ids: list[str], with_embedding: bool = True) -> list[Document]:
        """Passages by id, in the order given (unknown ids are left out)."""
        if not ids or not self._has_index():
            return []
        excludes = ["sentence_vectors", "terms"] + ([] if with_embedding else ["embedding"])
        found = self.client.mget(index=self.index, body={"ids": list(ids)}, _source_excludes=excludes)["docs"]
        by_id = {d["_id"]: self._hit_to_document(d) for d in found if d.get("found")}
        return [by_id[i] for i in ids if i in by_id]

    # ------------------------------------------------------ protocol: writing
    def _check_embeddings(self, documents: list[Document]) -> int | None:
        stored_dim, stored_model = self._get("embedding_dim"), self._get("embedding_model")
        dim = contract.check_embeddings(documents, stored_dim, stored_model, self.embedding_model, f"index {self.index}",
                               "KHUB_OPENSEARCH_INDEX")
        if dim is not None and not stored_dim:
            self._set("embedding_dim", str(dim))
        if dim is not None and self.embedding_model and not stored_model:
            self._set("embedding_model", self.embedding_model)
        return dim

    def _bulk(self, actions: list[dict[str, Any]]) -> None:
        from opensearchpy.helpers import bulk

        if actions:
            bulk(self.client, actions, refresh=True, chunk_size=200, max_retries=3)

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE,
                        sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Write passages; returns how many were written (duplicate policies as in the embedded store).

        Raises:
            ValueError: ``documents`` is not a list of ``Document``.
            DuplicateDocumentError: an existing id with policy NONE or FAIL.
            EmbeddingMismatchError: vectors of another dimension or model than the store's.
        """
        documents = contract.check_documents(documents)
        if not documents:
            return 0
        dim = self._check_embeddings(documents) or int(self._get("embedding_dim") or 0)
        if not self._has_index():
            if not dim:
                raise ValueError("the first passages written to OpenSearch must carry embeddings (index dimension)")
            self._ensure_index(dim)
        existing = {d.id for d in self.get_documents([d.id for d in documents], with_embedding=False)}
        actions = []
        for doc in contract.apply_duplicate_policy(documents, existing, policy):
            source = passage_source(doc)
            if sentence_vectors and doc.id in sentence_vectors:
                source["sentence_vectors"] = _encode_vectors(sentence_vectors[doc.id])
            actions.append({"_index": self.index, "_id": doc.id, "_source": source})
        self._bulk(actions)
        self._bump()
        return len(actions)

    def update_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{passage id: {field: value}}`` into the passages' metadata with partial
        updates (``meta`` and the top-level filter fields). Returns how many were updated."""
        if not changes or not self._has_index():
            return 0
        docs = self.get_documents(list(changes), with_embedding=False)
        actions = []
        for doc in docs:
            meta = {**(doc.meta or {}), **changes[doc.id]}
            fields = {f: contract.field_values(meta, f) for f in contract.FILTER_FIELDS}
            actions.append({"_op_type": "update", "_index": self.index, "_id": doc.id,
                            "doc": {"meta": meta, **fields}})
        self._bulk(actions)
        self._bump()
        return len(actions)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete passages by id (unknown ids are ignored)."""
        if document_ids and self._has_index():
            self._delete_ids(list(document_ids))
            self._bump()

    def _delete_ids(self, ids: list[str]) -> None:
        from opensearchpy.helpers import bulk

        if ids:
            bulk(self.client, [{"_op_type": "delete", "_index": self.index, "_id": i} for i in ids],
                 refresh=True, raise_on_error=False)

    def reset(self) -> int:
        """Remove every passage and document record and forget the embedding model."""
        n = self.client.count(index=self.documents_index)["count"]
        if self._has_index():
            self.client.indices.delete(index=self.index)
        self.client.delete_by_query(index=self.documents_index, body={"query": {"match_all": {}}}, refresh=True)
        for key in ("embedding_model", "embedding_dim"):
            self.client.delete(index=self.kv_index, id=key, ignore=[404], refresh=True)
        self._bump()
        return int(n)

    # -------------------------------------------------- documents (ingestion)
    def document_record(self, doc_id: str) -> dict[str, Any] | None:
        """The stored record of an ingested document, or None."""
        from opensearchpy import NotFoundError

        try:
            return self.client.get(index=self.documents_index, id=doc_id)["_source"]
        except NotFoundError:
            return None

    def list_documents(self) -> list[dict[str, Any]]:
        """Records of every ingested document, ordered by path."""
        from opensearchpy.helpers import scan

        records = [h["_source"] for h in scan(self.client, index=self.documents_index,
                                              query={"query": {"match_all": {}}})]
        return sorted(records, key=lambda r: r.get("path") or "")

    def _passage_ids(self, doc_id: str) -> list[str]:
        return [h["_id"] for h in self._scan({"term": {"doc_id": doc_id}}, source=False)]

    def replace_document(self, doc_id: str, path: str, content_hash: str, meta: dict, passages: list[Document],
                         sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Store a document's passages as a unit: new passages, then stale ones deleted, then
        the document record (see the module docstring for crash behaviour).

        Returns:
            The number of passages written.
        """
        written = self.write_documents(passages, DuplicatePolicy.OVERWRITE, sentence_vectors=sentence_vectors)
        keep = {p.id for p in passages}
        self._delete_ids([pid for pid in self._passage_ids(doc_id) if pid not in keep])
        record = {"doc_id": doc_id, "path": path, "content_hash": content_hash, "n_passages": len(passages),
                  "ingested_at": time.time(), "meta": meta}
        self.client.index(index=self.documents_index, id=doc_id, body=json.loads(json.dumps(record, default=str)),
                          refresh=True)
        self._bump()
        return written

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and all its passages."""
        self._delete_ids(self._passage_ids(doc_id))
        self.client.delete(index=self.documents_index, id=doc_id, ignore=[404], refresh=True)
        self._bump()

    # ------------------------------------------------------------- retrieval
    def _count(self, query: dict[str, Any]) -> int:
        return int(self.client.count(index=self.index, body={"query": query})["count"])

    def _doc_freqs(self, terms: list[str]) -> list[int]:
        """Document frequency of each term (one multi-search for all of them)."""
        body: list[dict[str, Any]] = []
        for term in terms:
            body += [{"index": self.index}, {"size": 0, "track_total_hits": True, "query": {"term": {"terms": term}}}]
        return [r["hits"]["total"]["value"] for r in self.client.msearch(body=body)["responses"]]

    def _content_terms(self, terms: list[str]) -> list[str]:
        """Unique terms found in at most 20% of the passages (:func:`khub.index.store.content_terms`)."""
        if not self._has_index():
            return list(dict.fromkeys(terms))
        return contract.content_terms(terms, self._doc_freqs, self.count_documents())

    def known_share(self, query: str, language: str | None) -> float:
        """The share of the query's analysed terms that occur in some passage (:func:`khub.index.store.known_share`)."""
        if not self._has_index():
            return 0.0
        return contract.known_share(analyze(query, language), self._doc_freqs)

    def content_terms(self, query: str, language: str | None) -> list[str]:
        """The query's analysed terms found in at most 20% of passages (see the embedded store)."""
        return self._content_terms(analyze(query, language))

    def bm25_retrieval(self, query: str, language: str | None, filters: contract.Filters | None = None,
                       top_k: int = 10) -> list[Document]:
        """BM25 leg with the coordination rule; ``meta["bm25_coverage"]`` as in the embedded store."""
        terms = analyze(query, language)
        unique = list(dict.fromkeys(terms))
        if not unique or not self._has_index():
            filter_clauses(filters)  # unknown fields still raise
            return []
        content = self._content_terms(unique)
        frequent = [t for t in unique if t not in content]
        hits = self.client.search(index=self.index, body=bm25_query(content, frequent, filters, top_k))["hits"]["hits"]
        counted = content or unique
        out = []
        for hit in hits:
            doc = self._hit_to_document(hit, float(hit["_score"]))
            out.append(replace(doc, meta={**doc.meta, "bm25_coverage": contract.coverage(hit["_source"].get("terms", ""), counted)}))
        return out

    def embedding_retrieval(self, query_embedding: list[float], filters: contract.Filters | None = None,
                            top_k: int = 10) -> list[Document]:
        """Dense leg: HNSW k-NN with filters, scores = exact cosine recomputed from the vectors."""
        clauses = filter_clauses(filters)  # validate before any request
        if not self._has_index():
            return []
        q = np.asarray(query_embedding, dtype=np.float32)
        hits = self.client.search(index=self.index, body=knn_query(list(q), filters if clauses else None, top_k))
        out = []
        for hit in hits["hits"]["hits"]:
            vec = np.asarray(hit["_source"].get("embedding") or [], dtype=np.float32)
            if vec.shape != q.shape:
                continue
            cosine = float(vec @ q / ((np.linalg.norm(vec) * np.linalg.norm(q)) or 1.0))
            out.append(replace(self._hit_to_document(hit, cosine), embedding=None))
        return sorted(out, key=lambda d: -(d.score or 0.0))

    def best_sentences(self, query_embedding: list[float], ids: list[str]) -> dict[str, tuple[int, float]]:
        """For each passage id with stored sentence vectors: (index of its best sentence, cosine)."""
        if not ids or not self._has_index():
            return {}
        found = self.client.mget(index=self.index, body={"ids": list(ids)},
                                 _source_includes=["id", "sentence_vectors"])["docs"]
        out = {}
        for d in found:
            data = d.get("_source", {}).get("sentence_vectors") if d.get("found") else None
            if data:
                out[d["_id"]] = contract.max_sim(query_embedding, base64.b64decode(data))
        return out

    def group_languages(self, groups: list[str]) -> dict[str, set[str]]:
        """For each translation group: the languages the index holds passages in (one aggregation)."""
        if not groups or not self._has_index():
            return {g: set() for g in groups}
        body = {"size": 0, "query": {"terms": {"translation_group": list(groups)}},
                "aggs": {"groups": {"terms": {"field": "translation_group", "size": len(groups)},
                                    "aggs": {"languages": {"terms": {"field": "language", "size": 10}}}}}}
        buckets = self.client.search(index=self.index, body=body)["aggregations"]["groups"]["buckets"]
        found = {b["key"]: {x["key"] for x in b["languages"]["buckets"]} for b in buckets}
        return {g: found.get(g, set()) for g in groups}

    def group_editions(self, groups: list[str], filters: contract.Filters | None = None) -> dict[str, list[Document]]:
        """Per translation group: its passages that pass ``filters``, in document order."""
        must = [{"terms": {"translation_group": list(dict.fromkeys(groups))}}, *filter_clauses(filters)]
        if not groups or not self._has_index():
            return {}
        body = {"size": 10_000, "query": {"bool": {"filter": must}}}
        hits = self.client.search(index=self.index, body=body,
                                  _source_excludes=["embedding", "sentence_vectors", "terms"])["hits"]["hits"]
        out: dict[str, list[Document]] = {}
        for hit in hits:
            doc = self._hit_to_document(hit)
            out.setdefault(doc.meta.get("translation_group") or "", []).append(doc)
        order = lambda d: (d.meta.get("doc_id") or "", d.meta.get("position") or 0)  # noqa: E731
        return {g: sorted(docs, key=order) for g, docs in out.items()}

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

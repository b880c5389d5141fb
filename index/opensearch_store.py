"""The OpenSearch document store: the engine for scale, with the embedded store's contract.

Same methods, same results as :class:`khub.index.embedded_store.EmbeddedDocumentStore`
(Haystack's ``DocumentStore`` protocol plus the two retrieval legs, document records and
sentence vectors), so :mod:`khub.index.retrieval`, :mod:`khub.index.indexer` and :mod:`khub.api` work on
either. Written against opensearch-py; the contract tests in ``tests/index/test_store_contract.py``
run on it when ``KHUB_OPENSEARCH_URL`` names a live cluster (``docker compose up``), and
``tests/index/test_opensearch_requests.py`` checks its requests and its handling of
OpenSearch's responses (partial bulk failures, 409s, msearch errors) without one.

Indices (``<index>`` is ``KHUB_OPENSEARCH_INDEX``, default ``khub-passages``):

* ``<index>``: an **alias** of the versioned passage index ``<index>-v<N>`` (created through
  the index template ``<index>``, pattern ``<index>-v*``): one OpenSearch document per
  passage. ``terms`` holds the passage's BM25 terms already analysed by
  :func:`khub.text.analysis.analyze` and is indexed with the ``whitespace`` analyzer, so both
  stores index exactly the same terms (jieba for Chinese, Snowball stemmers for the others)
  and score them with BM25 at the same parameters (k1 = 1.2, b = 0.75, Lucene's and tantivy's
  defaults). Filter fields are ``keyword`` (a list-valued field matches on any value).
  ``embedding`` is a ``knn_vector`` (HNSW, Lucene engine, cosine space: OpenSearch k-NN docs,
  "Efficient k-NN filtering", filters applied during the search; ``encoder: sq`` is Lucene's
  7-bit scalar quantisation, OpenSearch >= 2.16). ``sentence_vectors`` are float16 bytes,
  base64, not indexed. ``meta`` is stored, not indexed. The embedding model and dimension are
  in the index's mapping ``_meta``, so they switch with the index.
* ``<index>-documents``: an alias of ``<index>-documents-v<N>``, one record per ingested
  document (path, content hash, ...).
* ``<index>-kv``: the generation counter (bumped atomically by a scripted update).

**Reindexing** (:meth:`OpenSearchDocumentStore.begin_reindex`): ``khub ingest --reindex`` writes
``v<N+1>`` while the aliases keep serving ``v<N>`` (replicas 0 and ``refresh_interval: -1``
while it is built), then swaps both aliases in one ``_aliases`` request and removes ``v<N>``
(unless ``--keep-old``). Search never sees an empty or half-built index.

**Writes fail loudly.** Every bulk request is checked item by item (a 404 on a delete is
success): a failure raises :class:`StoreWriteError` naming the passages and reasons, and a
document's record (with its content hash) is written only after all its passages were written
and its stale ones deleted, so a failed replacement is retried by the next ingest instead of
being skipped as unchanged. 429s and 5xx are retried with exponential backoff (tenacity;
bulk items rejected with 429 by opensearch-py's ``streaming_bulk``). A document replacement
refreshes the passage index once, not once per bulk chunk.

The dense leg reports cosines, as the embedded store does: read from Lucene's k-NN score
(``(1 + cos) / 2``) without pulling the vectors, or recomputed from the stored floats when the
vectors are scalar-quantised (``encoder: sq``). An all-zero vector has no
cosine (OpenSearch's ``cosinesimil`` rejects it): such a passage is stored without one, as the
embedded store leaves it out of the dense leg.

Why opensearch-py rather than opensearch-haystack's ``OpenSearchDocumentStore``: that store
owns its mapping (meta fields flattened with dynamic mapping, its own analyzer), while khub
needs a strict template with pre-analysed terms, document records and sentence vectors; this
class keeps Haystack's ``DocumentStore`` protocol itself, as the embedded store does.
"""

from __future__ import annotations

import base64
import json
import re
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any, Callable, Iterable

import numpy as np
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

from khub.index import store as contract
from khub.index.opensearch_requests import (
    MAX_K,
    OpenSearchOptions,
    StoreQueryError,
    StoreWriteError,
    bm25_query,
    build_client,
    bulk_failures,
    encode_vectors,
    filter_clauses,
    index_template,
    knn_cosine,
    knn_query,
    msearch_results,
    passage_source,
    retrying,
)
from khub.text.analysis import analyze

__all__ = ["OpenSearchDocumentStore", "OpenSearchOptions", "StoreQueryError", "StoreWriteError"]


#: Seconds that term document frequencies and the passage count are reused by the query path.
STATS_TTL_S = 30.0


def _failure_message(failures: list[Any], total: int | None, index: str) -> str:
    """``OpenSearch refused N (of M) writes to <index> (id: status reason; ...)``."""
    shown = "; ".join(f if isinstance(f, str) else f"{f[0]}: {f[1]} {f[2]}" for f in failures[:5])
    of = f" of {total}" if total is not None else ""
    return (f"OpenSearch refused {len(failures)}{of} writes to {index} ({shown}{' ...' if len(failures) > 5 else ''})")


class OpenSearchDocumentStore:
    """Passages, document records and store facts in OpenSearch (see module docstring).

    Args:
        url: cluster URL, e.g. ``http://localhost:9200`` (or ``https://...`` with ``options``'
            user, password and CA file).
        index: passage alias; ``<index>-documents`` and ``<index>-kv`` are created beside it.
        embedding_model: name of the model whose vectors this store holds (checked like the
            embedded store: :class:`EmbeddingMismatchError`).
        client: an ``opensearchpy.OpenSearch`` to use instead of one built from ``url``.
        options: shards, replicas, encoder, bulk size, auth, TLS, retries.

    Raises:
        ConnectionError: the cluster cannot be reached (the message names the URL).
    """

    def __init__(self, url: str, index: str = "khub-passages", embedding_model: str | None = None,
                 client: Any | None = None, timeout: float = 30.0, options: OpenSearchOptions | None = None):
        self.url = url
        self.index = index
        self.documents_index = f"{index}-documents"
        self.kv_index = f"{index}-kv"
        self.embedding_model = embedding_model
        self.options = options or OpenSearchOptions(timeout=timeout)
        self.client = client or build_client(url, self.options)
        self._retry = retrying(self.options.retries)
        #: how many bytes of prepared files the indexer gathers before one replace_documents call
        self.batch_bytes = int(self.options.bulk_mb * 1e6)
        # while a reindex builds a new version, reads and writes go to it (see begin_reindex)
        self._building: int | None = None
        self._seen: set[str] = set()  # passage indices known to exist (_has_index)
        self._meta_cache: dict[str, Any] | None = None  # the passage index's _meta (_index_meta)
        self._df_cache: dict[str, tuple[float, int]] = {}  # term -> (read at, document frequency)
        self._count_cache: tuple[float, int] | None = None  # (read at, passages)
        try:
            self._call(self.client.info)
        except Exception as err:  # noqa: BLE001 - opensearch-py raises several transport errors
            raise ConnectionError(f"cannot reach OpenSearch at {url}: {err}") from err
        if not self._exists(self.kv_index):
            self._create_index(self.kv_index, {"mappings": {"properties": {"value": {"type": "long"}}}})
        if not self._exists(self.documents_index):
            self._create_index(f"{self.documents_index}-v1", self._documents_body(), alias=self.documents_index)

    # ------------------------------------------------------------ plumbing
    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, retried with backoff on 429/5xx/connection errors."""
        return self._retry(fn, *args, **kwargs)

    def _exists(self, name: str) -> bool:
        return bool(self._call(self.client.indices.exists, index=name))

    @staticmethod
    def _documents_body() -> dict[str, Any]:
        return {"mappings": {"properties": {"doc_id": {"type": "keyword"}, "path": {"type": "keyword"},
                                            "meta": {"type": "object", "enabled": False}}}}

    def _create_index(self, name: str, body: dict[str, Any] | None = None, alias: str | None = None) -> None:
        """Create an index (and its alias) unless it exists: idempotent, so two ingests starting
        at once do not fail on ``resource_already_exists_exception``."""
        from opensearchpy import RequestError

        body = dict(body or {})
        if alias:
            body["aliases"] = {alias: {}}
        try:
            self._call(self.client.indices.create, index=name, body=body)
        except RequestError as err:
            if "resource_already_exists_exception" not in str(err.error):
                raise

    @property
    def _passages(self) -> str:
        """Where passages are read and written: the alias, or the version a reindex builds."""
        return f"{self.index}-v{self._building}" if self._building else self.index

    @property
    def _documents(self) -> str:
        return f"{self.documents_index}-v{self._building}" if self._building else self.documents_index

    def _versions(self, base: str) -> dict[int, bool]:
        """``{N: behind the alias}`` for the indices ``<base>-v<N>``."""
        found = self._call(self.client.indices.get, index=f"{base}-v*", ignore_unavailable=True,
                           allow_no_indices=True)
        out = {}
        for name, info in (found or {}).items():
            m = re.fullmatch(re.escape(base) + r"-v(\d+)", name)
            if m:
                out[int(m.group(1))] = base in (info.get("aliases") or {})
        return out

    # ------------------------------------------------------------------ facts
    def _index_meta(self, cached: bool = False) -> dict[str, Any]:
        """The passage index's mapping ``_meta`` (embedding model and dimension), {} without one.
        ``cached``: the last value read, for the query path (a process that serves keeps its
        model; an alias swapped under it to another model's index needs a restart)."""
        if cached and self._meta_cache is not None:
            return self._meta_cache
        if not self._has_index():
            return {}
        mappings = self._call(self.client.indices.get_mapping, index=self._passages)
        meta: dict[str, Any] = {}
        for info in (mappings or {}).values():
            meta = dict(info.get("mappings", {}).get("_meta") or {})
            break
        self._meta_cache = meta
        return meta

    @property
    def generation(self) -> int:
        """Counter bumped by every write."""
        from opensearchpy import NotFoundError

        try:
            return int(self._call(self.client.get, index=self.kv_index, id="generation")["_source"]["value"])
        except NotFoundError:
            return 0

    def _bump(self) -> None:
        """Increment the generation atomically (a scripted update, retried on version conflicts)."""
        self._call(self.client.update, index=self.kv_index, id="generation", refresh=True, retry_on_conflict=10,
                   body={"script": {"source": "ctx._source.value += 1", "lang": "painless"}, "upsert": {"value": 1}})
        self._df_cache.clear()  # this process wrote: its own term statistics are stale
        self._count_cache = None

    def _ensure_index(self, dim: int) -> None:
        """The passage index: the template, then ``<index>-v1`` behind the alias (or the version
        a reindex builds), with the model and dimension in its ``_meta``."""
        if self._has_index():
            return
        self._call(self.client.indices.put_index_template, name=self.index,
                   body=index_template(self.index, dim, self.options, self.embedding_model))
        if self._building:
            settings = {"index": {"number_of_replicas": 0, "refresh_interval": "-1"}}
            self._create_index(self._passages, {"settings": settings})
        else:
            self._create_index(f"{self.index}-v1", alias=self.index)

    def _has_index(self) -> bool:
        """Whether the passage index (alias or version being built) exists. Once seen, it is
        remembered (an alias swap keeps the alias), saving a round trip per call; :meth:`reset`
        and the reindex methods forget it."""
        name = self._passages
        if name not in self._seen:
            if not self._exists(name):
                return False
            self._seen.add(name)
        return True

    def _forget(self) -> None:
        self._seen.clear()
        self._meta_cache = None

    def info(self) -> dict[str, Any]:
        """Store facts: passages, documents, embedding model and dimension, generation."""
        n_docs = self._call(self.client.count, index=self._documents)["count"]
        meta = self._index_meta()
        return {
            "store": "opensearch", "url": self.url, "index": self.index,
            "passages": self.count_documents(), "documents": n_docs,
            "embedding_model": meta.get("embedding_model"),
            "embedding_dim": int(meta.get("embedding_dim") or 0) or None,
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
        return int(self._call(self.client.count, index=self._passages)["count"])

    def _scan(self, query: dict[str, Any] | None = None, source: Any = True, index: str | None = None
              ) -> Iterable[dict[str, Any]]:
        from opensearchpy.helpers import scan

        index = index or self._passages
        if not self._exists(index):
            return []
        return scan(self.client, index=index, query={"query": query or {"match_all": {}}, "_source": source},
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
        found = self._call(self.client.mget, index=self._passages, body={"ids": list(ids)},
                           _source_excludes=excludes)["docs"]
        by_id = {d["_id"]: self._hit_to_document(d) for d in found if d.get("found")}
        return [by_id[i] for i in ids if i in by_id]

    # ------------------------------------------------------ protocol: writing
    def _check_embeddings(self, documents: list[Document]) -> int | None:
        meta = self._index_meta()
        stored_dim, stored_model = meta.get("embedding_dim"), meta.get("embedding_model")
        dim = contract.check_embeddings(documents, str(stored_dim) if stored_dim else None, stored_model,
                                        self.embedding_model, f"index {self.index}", "KHUB_OPENSEARCH_INDEX")
        if dim is not None and self._has_index() and (not stored_dim or (self.embedding_model and not stored_model)):
            meta = {"embedding_model": stored_model or self.embedding_model, "embedding_dim": dim}
            self._call(self.client.indices.put_mapping, index=self._passages, body={"_meta": meta})
            self._meta_cache = meta
        return dim or (int(stored_dim) if stored_dim else None)

    def _send(self, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send actions in bulk requests of at most ``options.bulk_mb``; returns every item (the
        failed ones included). Items rejected with 429 are re-sent by ``streaming_bulk`` with
        backoff, a whole request failing with 429/5xx by :func:`retrying`."""
        from opensearchpy.helpers import streaming_bulk

        limit = int(self.options.bulk_mb * 1e6)
        chunks: list[list[dict[str, Any]]] = [[]]
        size = 0
        for action in actions:
            n = len(json.dumps(action, default=str))
            if chunks[-1] and size + n > limit:
                chunks.append([])
                size = 0
            chunks[-1].append(action)
            size += n
        items: list[dict[str, Any]] = []
        for part in chunks:
            if not part:
                continue

            def send(part: list[dict[str, Any]] = part) -> list[dict[str, Any]]:
                return [item for _, item in streaming_bulk(
                    self.client, part, chunk_size=len(part), max_chunk_bytes=limit + 1_000_000,
                    raise_on_error=False, raise_on_exception=True, max_retries=self.options.retries,
                    initial_backoff=1, max_backoff=30)]
            items += self._call(send)
        return items

    def _bulk(self, actions: list[dict[str, Any]], ignore: tuple[int, ...] = ()) -> list[dict[str, Any]]:
        """:meth:`_send`, then every item checked.

        Raises:
            StoreWriteError: items failed with another status than those in ``ignore``.
        """
        items = self._send(actions) if actions else []
        failures = bulk_failures(items, ignore)
        if failures:
            raise StoreWriteError(_failure_message(failures, len(items), self._passages))
        return items

    def _refresh(self, index: str | None = None) -> None:
        if not self._building:  # a version being built is refreshed once, when it is swapped in
            self._call(self.client.indices.refresh, index=index or self._passages)

    def _prepare_index(self, passages: list[Document]) -> None:
        """Check the passages' vectors against the index's model and dimension, creating the
        index (with them in its ``_meta``) when it does not exist yet.

        Raises:
            EmbeddingMismatchError: vectors of another dimension or model than the store's.
            ValueError: the first passages of a new index carry no embedding.
        """
        dim = self._check_embeddings(passages)
        if not self._has_index():
            if not dim:
                raise ValueError("the first passages written to OpenSearch must carry embeddings (index dimension)")
            self._ensure_index(dim)
            self._check_embeddings(passages)  # record the model in the new index's _meta

    def _passage_actions(self, passages: list[Document], op: str,
                         sentence_vectors: dict[str, np.ndarray] | None) -> list[dict[str, Any]]:
        """Bulk ``op`` actions (``index`` or ``create``) writing passages with their sentence vectors."""
        actions = []
        for doc in passages:
            source = passage_source(doc)
            if sentence_vectors and doc.id in sentence_vectors:
                source["sentence_vectors"] = encode_vectors(sentence_vectors[doc.id])
            actions.append({"_op_type": op, "_index": self._passages, "_id": doc.id, "_source": source})
        return actions

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE,
                        sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Write passages; returns how many were written (duplicate policies as in the embedded store).

        ``OVERWRITE`` sends ``index`` operations; the other policies send ``create`` operations,
        so that an existing id is detected by OpenSearch itself (a 409), not by a read before
        the write that another writer could race. With ``NONE``/``FAIL`` the passages that did
        not exist are written before the error is raised.

        Raises:
            ValueError: ``documents`` is not a list of ``Document``.
            DuplicateDocumentError: an existing id with policy NONE or FAIL.
            EmbeddingMismatchError: vectors of another dimension or model than the store's.
            StoreWriteError: OpenSearch refused some passages.
        """
        documents = contract.check_documents(documents)
        if not documents:
            return 0
        self._prepare_index(documents)
        op = "index" if policy == DuplicatePolicy.OVERWRITE else "create"
        items = self._bulk(self._passage_actions(documents, op, sentence_vectors),
                           ignore=(409,) if op == "create" else ())
        duplicates = [pid for pid, status, _ in bulk_failures(items) if status == 409]
        self._refresh()
        self._bump()
        if duplicates and policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
            raise DuplicateDocumentError(f"passages already stored: {sorted(duplicates)[:5]}")
        return len(items) - len(duplicates)

    def update_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{passage id: {field: value}}`` into the passages' metadata with partial
        updates (``meta`` and the top-level filter fields). Returns how many were updated.

        Raises:
            StoreWriteError: OpenSearch refused some updates.
        """
        if not changes or not self._has_index():
            return 0
        docs = self.get_documents(list(changes), with_embedding=False)
        actions = []
        for doc in docs:
            meta = {**(doc.meta or {}), **changes[doc.id]}
            fields = {f: contract.field_values(meta, f) for f in contract.FILTER_FIELDS}
            actions.append({"_op_type": "update", "_index": self._passages, "_id": doc.id,
                            "doc": {"meta": meta, **fields}})
        self._bulk(actions)
        self._refresh()
        self._bump()
        return len(actions)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete passages by id (unknown ids are ignored).

        Raises:
            StoreWriteError: OpenSearch refused some deletes (a passage not found is no error).
        """
        if document_ids and self._has_index():
            self._delete_ids(list(document_ids))
            self._refresh()
            self._bump()

    def _delete_ids(self, ids: list[str]) -> None:
        self._bulk([{"_op_type": "delete", "_index": self._passages, "_id": i} for i in ids], ignore=(404,))

    def bulk_load(self) -> AbstractContextManager[None]:
        """Nothing to defer: the ingest already batches its writes (:meth:`replace_documents`)."""
        return nullcontext()

    def prepare_search(self) -> None:
        """Expunge the deleted passages of the passage index (``_forcemerge?only_expunge_deletes``)
        at the end of an ingest. Lucene's BM25 statistics count a deleted document until its
        segment is merged, and an ingest deletes (replaced passages, and every passage whose
        translation group alignment rewrote): measured live, a fresh ingest of 5 files then gave
        other BM25 hits and facet counts than the embedded store for the same files."""
        if not self._has_index() or self._building:
            return
        self._refresh()  # the deletes of the last writes are visible to the merge
        self._call(self.client.indices.forcemerge, index=self._passages, only_expunge_deletes=True)
        self._refresh()

    def reset(self) -> int:
        """Remove every passage and document record and forget the embedding model (the passage
        index is deleted; the next write creates it with the new model's dimension)."""
        n = self._call(self.client.count, index=self._documents)["count"]
        self._forget()
        for version in self._versions(self.index):
            self._call(self.client.indices.delete, index=f"{self.index}-v{version}", ignore=[404])
        self._call(self.client.delete_by_query, index=self._documents, body={"query": {"match_all": {}}},
                   refresh=True, conflicts="proceed")
        self._bump()
        return int(n)

    # --------------------------------------------------------------- reindex
    def begin_reindex(self) -> int:
        """Start building a new version of the indices while the aliases keep serving the
        current one; reads and writes of this store object go to the new version until
        :meth:`finish_reindex` (or :meth:`abort_reindex`). Versions left by an interrupted
        reindex (not behind an alias) are removed first. Returns the new version number."""
        for base in (self.index, self.documents_index):
            for version, live in self._versions(base).items():
                if not live:
                    self._call(self.client.indices.delete, index=f"{base}-v{version}", ignore=[404])
        versions = set(self._versions(self.index)) | set(self._versions(self.documents_index))
        self._building = max(versions, default=0) + 1
        self._forget()
        self._create_index(self._documents, self._documents_body())
        return self._building

    def finish_reindex(self, keep_old: bool = False) -> None:
        """Swap the aliases to the version built since :meth:`begin_reindex` in one atomic
        ``_aliases`` request, after restoring its replicas and refresh interval and refreshing
        it; then delete the previous version unless ``keep_old``."""
        if not self._building:
            raise RuntimeError("finish_reindex without begin_reindex")
        new_passages, new_documents = self._passages, self._documents
        actions: list[dict[str, Any]] = []
        old: list[str] = []
        for base, new in ((self.index, new_passages), (self.documents_index, new_documents)):
            if base == self.index and not self._exists(new):
                continue  # nothing was written: the passage alias keeps its index
            for version, live in self._versions(base).items():
                name = f"{base}-v{version}"
                if live and name != new:
                    actions.append({"remove": {"index": name, "alias": base}})
                    old.append(name)
            actions.append({"add": {"index": new, "alias": base}})
        if self._exists(new_passages):
            self._call(self.client.indices.put_settings, index=new_passages, body={"index": {
                "number_of_replicas": self.options.replicas, "refresh_interval": "1s"}})
        self._building = None
        self._forget()
        for name in (new_passages, new_documents):
            if self._exists(name):
                self._call(self.client.indices.refresh, index=name)
        self._call(self.client.indices.update_aliases, body={"actions": actions})
        if not keep_old:
            for name in old:
                self._call(self.client.indices.delete, index=name, ignore=[404])
        self._bump()

    def abort_reindex(self) -> None:
        """Drop the version being built; the aliases never moved."""
        if self._building:
            names = (self._passages, self._documents)
            self._building = None
            self._forget()
            for name in names:
                self._call(self.client.indices.delete, index=name, ignore=[404])

    # -------------------------------------------------- documents (ingestion)
    def document_record(self, doc_id: str) -> dict[str, Any] | None:
        """The stored record of an ingested document, or None."""
        from opensearchpy import NotFoundError

        try:
            return self._call(self.client.get, index=self._documents, id=doc_id)["_source"]
        except NotFoundError:
            return None

    def list_documents(self) -> list[dict[str, Any]]:
        """Records of every ingested document, ordered by path."""
        records = [h["_source"] for h in self._scan(index=self._documents)]
        return sorted(records, key=lambda r: r.get("path") or "")

    def update_record_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{doc_id: {field: value}}`` into the document records' ``meta`` (one bulk
        request of ``update`` actions carrying each record's whole merged ``meta``).

        Raises:
            StoreWriteError: OpenSearch refused some updates.
        """
        actions = []
        for doc_id, fields in changes.items():
            record = self.document_record(doc_id)
            if record is not None:
                actions.append({"_op_type": "update", "_index": self._documents, "_id": doc_id,
                                "doc": {"meta": json.loads(json.dumps({**(record.get("meta") or {}), **fields},
                                                                      default=str))}})
        if not actions:
            return 0
        failures = bulk_failures(self._send(actions))
        if failures:
            raise StoreWriteError(f"{len(failures)} document records not updated: {failures[0]}")
        self._call(self.client.indices.refresh, index=self._documents)
        return len(actions)

    def _passage_ids(self, doc_id: str) -> list[str]:
        return [h["_id"] for h in self._scan({"term": {"doc_id": doc_id}}, source=False)]

    def replace_document(self, doc_id: str, path: str, content_hash: str, meta: dict, passages: list[Document],
                         sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Store a document's passages as a unit (:meth:`replace_documents` of one document).

        Returns:
            The number of passages written.

        Raises:
            StoreWriteError: OpenSearch refused some writes or deletes (the record is not written).
        """
        unit = contract.DocumentWrite(doc_id, path, content_hash, meta, passages, sentence_vectors)
        existed, error = self.replace_documents([unit])[doc_id]
        if error:
            raise StoreWriteError(error)
        return len(passages)

    def replace_documents(self, units: list[contract.DocumentWrite]) -> dict[str, tuple[bool, str | None]]:
        """Store several documents, each as a unit, in shared requests: their new passages in bulk
        requests of ``options.bulk_mb`` (across documents), their stale passages deleted in bulk,
        one refresh, then the records of the documents whose every write and delete succeeded
        (with their content hash). A document with a failure keeps its old record, so the next
        ingest replaces it again instead of skipping it as unchanged.

        Returns:
            ``{doc_id: (a record existed before, None or the reason it failed)}``.

        Raises:
            EmbeddingMismatchError: vectors of another dimension or model than the store's.
        """
        if not units:
            return {}
        passages = [p for u in units for p in u.passages]
        owner = {p.id: u.doc_id for u in units for p in u.passages}
        found = self._call(self.client.mget, index=self._documents, body={"ids": [u.doc_id for u in units]},
                           _source=False)["docs"]
        existed = {d["_id"] for d in found if d.get("found")}
        errors: dict[str, list[str]] = {}
        sent: dict[str, int] = {u.doc_id: len(u.passages) for u in units}  # writes per document

        def fail(failures: list[tuple[str, int, str]], doc_of: dict[str, str]) -> None:
            for pid, status, reason in failures:
                errors.setdefault(doc_of.get(pid, ""), []).append(f"{pid}: {status} {reason}")

        if passages:
            self._prepare_index(passages)
            actions = [a for u in units for a in self._passage_actions(u.passages, "index", u.sentence_vectors)]
            fail(bulk_failures(self._send(actions)), owner)
        if self._has_index() and not self._building:  # a version being built holds no older passages
            keep = set(owner)
            stale: dict[str, str] = {}
            for hit in self._scan({"terms": {"doc_id": [u.doc_id for u in units]}}, source=["doc_id"]):
                doc_ids = hit.get("_source", {}).get("doc_id") or [""]
                if hit["_id"] not in keep:
                    stale[hit["_id"]] = doc_ids[0] if isinstance(doc_ids, list) else doc_ids
            deletes = [{"_op_type": "delete", "_index": self._passages, "_id": pid} for pid in stale]
            for doc_id in stale.values():
                sent[doc_id] = sent.get(doc_id, 0) + 1
            fail(bulk_failures(self._send(deletes) if deletes else [], ignore=(404,)), stale)
            self._refresh()
        records = []
        for u in units:
            if u.doc_id in errors:
                continue
            record = {"doc_id": u.doc_id, "path": u.path, "content_hash": u.content_hash,
                      "n_passages": len(u.passages), "ingested_at": time.time(), "meta": u.meta}
            records.append({"_op_type": "index", "_index": self._documents, "_id": u.doc_id,
                            "_source": json.loads(json.dumps(record, default=str))})
        if records:
            fail(bulk_failures(self._send(records)), {r["_id"]: r["_id"] for r in records})
            if not self._building:
                self._call(self.client.indices.refresh, index=self._documents)
        self._bump()
        return {u.doc_id: (u.doc_id in existed,
                           _failure_message(errors[u.doc_id], sent.get(u.doc_id), self._passages)
                           if u.doc_id in errors else None)
                for u in units}

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and all its passages (the record last, so a failed passage delete
        leaves the document listed and retried, not half-removed and forgotten).

        Raises:
            StoreWriteError: OpenSearch refused some deletes.
        """
        if self._has_index():
            self._delete_ids(self._passage_ids(doc_id))
            self._refresh()
        self._call(self.client.delete, index=self._documents, id=doc_id, ignore=[404], refresh=True)
        self._bump()

    # ------------------------------------------------------------- retrieval
    def _search_type(self) -> dict[str, Any]:
        """``dfs_query_then_fetch`` when the index has several shards, so that BM25's document
        frequencies are the index's, not each shard's (OpenSearch docs, "Search types")."""
        return {"search_type": "dfs_query_then_fetch"} if self.options.shards > 1 else {}

    def _doc_freqs(self, terms: list[str]) -> list[int]:
        """Document frequency of each term: those not read in the last :data:`STATS_TTL_S`
        seconds in one multi-search. A search asks for the same terms three times (the query's
        known share, the BM25 leg's content terms, the highlights); the counts only steer the
        20% content-term rule and the no-match signals, so seconds-old values are good enough.

        Raises:
            StoreQueryError: a sub-search failed.
        """
        now = time.monotonic()
        missing = [t for t in dict.fromkeys(terms) if now - self._df_cache.get(t, (-STATS_TTL_S, 0))[0] >= STATS_TTL_S]
        if missing:
            body: list[dict[str, Any]] = []
            for term in missing:
                body += [{"index": self._passages},
                         {"size": 0, "track_total_hits": True, "query": {"term": {"terms": term}}}]
            response = self._call(self.client.msearch, body=body)
            if len(self._df_cache) > 100_000:
                self._df_cache.clear()
            for term, r in zip(missing, msearch_results(response)):
                self._df_cache[term] = (now, int(r["hits"]["total"]["value"]))
        return [self._df_cache[t][1] for t in terms]

    def _passage_count(self) -> int:
        """:meth:`count_documents`, reused for :data:`STATS_TTL_S` seconds (for the 20% rule)."""
        now = time.monotonic()
        if self._count_cache is None or now - self._count_cache[0] >= STATS_TTL_S:
            self._count_cache = (now, self.count_documents())
        return self._count_cache[1]

    def _content_terms(self, terms: list[str]) -> list[str]:
        """Unique terms found in at most 20% of the passages (:func:`khub.index.store.content_terms`)."""
        if not self._has_index():
            return list(dict.fromkeys(terms))
        return contract.content_terms(terms, self._doc_freqs, self._passage_count())

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
        hits = self._call(self.client.search, index=self._passages, body=bm25_query(content, frequent, filters, top_k),
                          **self._search_type())["hits"]["hits"]
        counted = content or unique
        out = []
        for hit in hits:
            doc = self._hit_to_document(hit, float(hit["_score"]))
            out.append(replace(doc, meta={**doc.meta, "bm25_coverage": contract.coverage(hit["_source"].get("terms", ""), counted)}))
        return out

    def embedding_retrieval(self, query_embedding: list[float], filters: contract.Filters | None = None,
                            top_k: int = 10) -> list[Document]:
        """Dense leg: HNSW k-NN with filters; scores are cosines, read from the k-NN score
        (:func:`khub.index.opensearch_requests.knn_cosine`) without fetching the vectors, or,
        with ``encoder=sq`` (quantised scores), recomputed from the stored float vectors.
        A query of another dimension than the index's, or an all-zero one, finds nothing (as in
        the embedded store) instead of a 400 from OpenSearch."""
        clauses = filter_clauses(filters)  # validate before any request
        if not self._has_index():
            return []
        q = np.asarray(query_embedding, dtype=np.float32)
        dim = int(self._index_meta(cached=True).get("embedding_dim") or 0)
        if q.ndim != 1 or (dim and q.shape[0] != dim) or not np.any(q):
            return []
        rescore = self.options.encoder != "none"
        hits = self._call(self.client.search, index=self._passages,
                          body=knn_query(list(q), filters if clauses else None, top_k, with_vectors=rescore,
                                         ef_search=self.options.ef_search))
        out = []
        q_norm = float(np.linalg.norm(q))
        for hit in hits["hits"]["hits"]:
            if rescore:
                vec = np.asarray(hit["_source"].get("embedding") or [], dtype=np.float32)
                if vec.shape != q.shape:
                    continue
                cosine = float(vec @ q / ((np.linalg.norm(vec) * q_norm) or 1.0))
            else:
                cosine = knn_cosine(hit["_score"])
            out.append(replace(self._hit_to_document(hit, cosine), embedding=None))
        return sorted(out, key=lambda d: -(d.score or 0.0))

    def best_sentences(self, query_embedding: list[float], ids: list[str]) -> dict[str, tuple[int, float]]:
        """For each passage id with stored sentence vectors: (index of its best sentence, cosine)."""
        if not ids or not self._has_index():
            return {}
        found = self._call(self.client.mget, index=self._passages, body={"ids": list(ids)},
                           _source_includes=["id", "sentence_vectors"])["docs"]
        out = {}
        for d in found:
            data = d.get("_source", {}).get("sentence_vectors") if d.get("found") else None
            if data:
                out[d["_id"]] = contract.max_sim(query_embedding, base64.b64decode(data))
        return out

    def facet_counts(self, fields: tuple[str, ...], filters: contract.Filters | None = None,
                     size: int = 200) -> tuple[int, dict[str, dict[str, int]]]:
        """Documents per value of each facet field among the passages that pass ``filters``, by
        one search of terms aggregations (instead of reading every document record):
        ``(documents, {field: {value: documents}})``. Counts are ``cardinality`` aggregations of
        ``doc_id``: exact up to 40,000 documents per bucket, approximate (HyperLogLog++, within
        a few percent) above (OpenSearch docs, "Cardinality aggregations")."""
        if not self._has_index():
            filter_clauses(filters)
            return 0, {f: {} for f in fields}
        docs = {"cardinality": {"field": "doc_id", "precision_threshold": 40_000}}
        aggs: dict[str, Any] = {"documents": docs}
        for f in fields:
            aggs[f"facet_{f}"] = {"terms": {"field": f, "size": size}, "aggs": {"documents": docs}}
        body = {"size": 0, "query": {"bool": {"filter": filter_clauses(filters)}}, "aggs": aggs}
        result = self._call(self.client.search, index=self._passages, body=body)["aggregations"]
        counts = {f: {str(b["key"]): int(b["documents"]["value"]) for b in result[f"facet_{f}"]["buckets"]}
                  for f in fields}
        return int(result["documents"]["value"]), counts

    def group_languages(self, groups: list[str]) -> dict[str, set[str]]:
        """For each translation group: the languages the index holds passages in (one aggregation)."""
        if not groups or not self._has_index():
            return {g: set() for g in groups}
        body = {"size": 0, "query": {"terms": {"translation_group": list(groups)}},
                "aggs": {"groups": {"terms": {"field": "translation_group", "size": len(groups)},
                                    "aggs": {"languages": {"terms": {"field": "language", "size": 10}}}}}}
        buckets = self._call(self.client.search, index=self._passages, body=body)["aggregations"]["groups"]["buckets"]
        found = {b["key"]: {x["key"] for x in b["languages"]["buckets"]} for b in buckets}
        return {g: found.get(g, set()) for g in groups}

    def group_editions(self, groups: list[str], filters: contract.Filters | None = None) -> dict[str, list[Document]]:
        """Per translation group: its passages that pass ``filters``, in document order."""
        must = [{"terms": {"translation_group": list(dict.fromkeys(groups))}}, *filter_clauses(filters)]
        if not groups or not self._has_index():
            return {}
        body = {"size": MAX_K, "query": {"bool": {"filter": must}}}
        hits = self._call(self.client.search, index=self._passages, body=body,
                          _source_excludes=["embedding", "sentence_vectors", "terms"])["hits"]["hits"]
        out: dict[str, list[Document]] = {}
        for hit in hits:
            doc = self._hit_to_document(hit)
            out.setdefault(doc.meta.get("translation_group") or "", []).append(doc)
        order = lambda d: (d.meta.get("doc_id") or "", d.meta.get("position") or 0)  # noqa: E731
        return {g: sorted(docs, key=order) for g, docs in out.items()}

    def check(self, full: bool = False) -> list[str]:
        """Problems of the store, ``[]`` when sound: the cluster answers, and the passage and
        document indices are not red (``GET _cluster/health``; ``full`` is the same: a
        cluster checks its own segments)."""
        try:
            self.info()
            status = self._call(self.client.cluster.health, index=f"{self.index}*").get("status")
        except Exception as err:  # noqa: BLE001 - reported, not raised: this is the health check
            return [f"{self.url}: {type(err).__name__}: {err}"]
        return [f"{self.url}: index {self.index} is red (shards unassigned)"] if status == "red" else []

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

"""The embedded document store: one machine, no server, persisted under the data dir.

Layout of ``<data_dir>``::

    khub.sqlite      passages (id, doc_id, content, meta JSON, embedding, BM25 terms),
                     documents (doc_id, path, content_hash, ...), kv (store facts)
    bm25/            tantivy index of the BM25 terms (derived data, rebuilt from SQLite
                     whenever its GENERATION file disagrees with SQLite's generation)
    vectors/g<N>/    the retrieval arrays of generation N (ids, vectors, sign codes, filter
                     postings), memory-mapped by every process (:mod:`khub.index.snapshot`;
                     derived data, derived again from SQLite when missing)

Why these parts (measured for issue #2 on 100k synthetic passages, 2 cores):
Haystack's InMemoryDocumentStore needed 1.4 s per BM25 query and 2.1 s per vector
query; tantivy answered BM25 queries in about 1 ms and an exact numpy dot product
over 100k x 512 float32 vectors in about 6 ms (binary codes with float32 re-scoring above
100k: :mod:`khub.index.vector_search`). SQLite is the durable source of truth (atomic
transactions), so a crash leaves either the old or the new state.

The store implements :class:`khub.index.store.PassageStore` (Haystack's ``DocumentStore``
protocol plus document records, the two retrieval legs and sentence vectors); what it
returns is decided by the shared code of :mod:`khub.index.store`.
Several processes may read the same data dir (a server and an ingest): every
query checks the generation counter and reloads what changed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

from khub.index import snapshot
from khub.index.store import (
    FILTER_FIELDS,
    Filters,
    apply_duplicate_policy,
    bm25_terms,
    check_documents,
    check_embeddings,
    content_terms,
    count_facets,
    coverage,
    encode_sentence_vectors,
    field_values,
    known_share,
    max_sim,
    minimum_should_match,
    normalize_filters,
)
from khub.index.vector_search import DenseIndex
from khub.text.analysis import analyze

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY, doc_id TEXT, content TEXT NOT NULL, meta TEXT NOT NULL,
    embedding BLOB, bm25_terms TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, path TEXT, content_hash TEXT, n_passages INTEGER,
    ingested_at REAL, meta TEXT);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
"""

logger = logging.getLogger(__name__)


class EmbeddedDocumentStore:
    """SQLite + tantivy + numpy document store (see module docstring).

    Args:
        data_dir: folder for the store's files; created if missing.
        embedding_model: name of the model whose vectors this store holds; the
            first write records it, later writes with another name raise
            :class:`EmbeddingMismatchError`.
    """

    def __init__(self, data_dir: str | Path = "data", embedding_model: str | None = None):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.embedding_model = embedding_model
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.data_dir / "khub.sqlite", check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(passages)")}
        if "sentence_vectors" not in columns:  # stores written before sentence vectors existed
            self._db.execute("ALTER TABLE passages ADD COLUMN sentence_vectors BLOB")
        self._db.commit()
        self._snapshots = self.data_dir / "vectors"
        self._snap = snapshot.Snapshot(-1, [], np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=bool))
        self._dense = DenseIndex(self._snap.matrix, self._snap.has_vector)
        self._upserts: dict[str, tuple[dict, str]] = {}
        self._deletes: set[str] = set()
        self._bm25 = _BM25Index(self.data_dir / "bm25")
        stale = self._bm25.generation() != self.generation  # first open, or a crash between commits
        if not stale and (counts := (self._bm25.num_docs(), self.count_documents()))[0] != counts[1]:
            # at SQLite's generation but not holding its passages: files of the index lost (a
            # missing meta.json opens as a new, empty index) or damaged
            logger.warning("BM25 index of %s holds %d passages, SQLite %d: rebuilding it from SQLite",
                           self.data_dir, *counts)
            stale = True
        if stale:
            try:
                self._rebuild_bm25()
            except ValueError as err:
                if "LockBusy" not in str(err):
                    raise
                # another process holds tantivy's writer lock (an ingest between its SQLite and
                # its BM25 commit): its commit brings the index up to date; readers reload then
                logger.info("BM25 index of %s is being written by another process; not rebuilt here", data_dir)
        self._bm25.reload()

    # ------------------------------------------------------------------ facts
    def _get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Counter bumped by every committed write; readers reload when it moves."""
        return int(self._get("generation") or 0)

    def info(self) -> dict[str, Any]:
        """Store facts: passages, documents, embedding model and dimension, generation."""
        n_docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        return {
            "store": "embedded",
            "data_dir": str(self.data_dir),
            "passages": self.count_documents(),
            "documents": n_docs,
            "embedding_model": self._get("embedding_model"),
            "embedding_dim": int(self._get("embedding_dim") or 0) or None,
            "generation": self.generation,
        }

    # ------------------------------------------------------- protocol: basics
    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation."""
        return {
            "type": f"{type(self).__module__}.{type(self).__name__}",
            "init_parameters": {"data_dir": str(self.data_dir), "embedding_model": self.embedding_model},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EmbeddedDocumentStore":
        """Haystack deserialisation."""
        return cls(**data.get("init_parameters", {}))

    def count_documents(self) -> int:
        """Number of passages (Haystack calls every stored unit a document)."""
        return self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Passages matching Haystack filter syntax (``{"field": "meta.language", "operator": "==",
        "value": "zh"}``, logic with AND/OR/NOT). A full scan: use the retrieval methods for search."""
        rows = self._db.execute("SELECT id, content, meta, embedding FROM passages ORDER BY rowid").fetchall()
        docs = [self._row_to_document(r) for r in rows]
        if not filters:
            return docs
        return [d for d in docs if document_matches_filter(filters, d)]

    def get_documents(self, ids: list[str], with_embedding: bool = True) -> list[Document]:
        """Passages by id, in the order given (unknown ids are left out). Retrieval results
        leave the embedding out (``with_embedding=False``): converting 512 floats per hit
        to Python lists costs more than the search itself."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        emb = "embedding" if with_embedding else "NULL"
        rows = self._db.execute(f"SELECT id, content, meta, {emb} FROM passages WHERE id IN ({marks})", ids)
        by_id = {r[0]: self._row_to_document(r) for r in rows.fetchall()}
        return [by_id[i] for i in ids if i in by_id]

    @staticmethod
    def _row_to_document(row: tuple) -> Document:
        pid, content, meta, emb = row
        embedding = np.frombuffer(emb, dtype=np.float32).tolist() if emb else None
        return Document(id=pid, content=content, meta=json.loads(meta), embedding=embedding)

    # ------------------------------------------------------ protocol: writing
    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE,
                        sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Write passages; returns how many were written.

        ``DuplicatePolicy.NONE``/``FAIL`` raise ``DuplicateDocumentError`` on an existing id,
        ``SKIP`` keeps the stored one, ``OVERWRITE`` replaces it. ``sentence_vectors`` maps a
        passage id to the ``(n_sentences, dim)`` unit vectors of its sentences, kept (as
        float16) for the sentence-level re-scoring of the dense leg (:meth:`best_sentences`).

        Raises:
            ValueError: ``documents`` is not a list of ``Document``.
            EmbeddingMismatchError: an embedding whose dimension differs from the store's.
        """
        documents = check_documents(documents)
        with self._lock:
            try:
                written = self._write(documents, policy, sentence_vectors)
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return written

    def _rollback(self) -> None:
        self._db.rollback()
        self._upserts, self._deletes = {}, set()

    def _write(self, documents: list[Document], policy: DuplicatePolicy,
               sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        if not documents:
            return 0
        self._check_embeddings(documents)
        ids = [d.id for d in documents]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            existing.update(r[0] for r in self._db.execute(f"SELECT id FROM passages WHERE id IN ({marks})", chunk))
        rows = []
        for doc in apply_duplicate_policy(documents, existing, policy):
            meta = doc.meta or {}
            terms = bm25_terms(doc)
            emb = np.asarray(doc.embedding, dtype=np.float32).tobytes() if doc.embedding is not None else None
            rows.append(
                (doc.id, meta.get("doc_id"), doc.content or "", json.dumps(meta, ensure_ascii=False), emb, " ".join(terms))
            )
        self._db.executemany(
            "INSERT OR REPLACE INTO passages (id, doc_id, content, meta, embedding, bm25_terms) VALUES (?, ?, ?, ?, ?, ?)",
            rows)
        written = {r[0] for r in rows}
        if sentence_vectors:
            self._db.executemany("UPDATE passages SET sentence_vectors=? WHERE id=?",
                                 [(encode_sentence_vectors(v), pid) for pid, v in sentence_vectors.items()
                                  if pid in written])
        for row in rows:
            self._upserts[row[0]] = (json.loads(row[3]), row[5])
            self._deletes.discard(row[0])
        return len(rows)

    def _delete_ids(self, ids: list[str]) -> None:
        self._db.executemany("DELETE FROM passages WHERE id=?", [(i,) for i in ids])
        for pid in ids:
            self._upserts.pop(pid, None)
            self._deletes.add(pid)

    def _check_embeddings(self, documents: list[Document]) -> None:
        dim = check_embeddings(documents, self._get("embedding_dim"), self._get("embedding_model"),
                               self.embedding_model, f"store at {self.data_dir}", "KHUB_DATA_DIR")
        if dim is None:
            return
        self._set("embedding_dim", str(dim))
        if self.embedding_model and not self._get("embedding_model"):
            self._set("embedding_model", self.embedding_model)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete passages by id (unknown ids are ignored)."""
        with self._lock:
            self._delete_ids(list(document_ids))
            self._commit()

    def _commit(self) -> None:
        """Bump the generation, commit SQLite, then apply the same changes to the BM25 index
        (or rebuild it from SQLite when it is not at the previous generation). In a
        :meth:`bulk_load` the changes are staged in its open BM25 writer instead."""
        before = self.generation
        self._set("generation", str(before + 1))
        self._db.commit()
        if self._bm25.bulk:
            self._bm25.stage(self._upserts, self._deletes)
        elif self._bm25.generation() == before:
            self._bm25.apply(self._upserts, self._deletes, before + 1)
            self._bm25.reload()
        else:
            self._rebuild_bm25()
            self._bm25.reload()
        self._upserts, self._deletes = {}, set()

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Hold one BM25 writer for a run of writes and commit it once, when the run ends.

        Each write is still its own SQLite transaction (durable when it returns); only the
        derived BM25 index lags until the end. Committing tantivy per document was 70% of the
        cost of writing 400 documents of 50 passages (8.5 of 12.0 s: its commit and segment
        merges). A crash mid-run loses nothing: the BM25 index's GENERATION is then behind
        SQLite's, and the next open rebuilds it from SQLite. Other processes searching meanwhile
        see the BM25 index as it was before the run, with the texts of the moment.
        Nested calls join the outer run. The store's lock is only held to open and commit the
        writer, so searches in other threads go on meanwhile.
        """
        with self._lock:
            joined = self._bm25.bulk
            if not joined:
                if self._bm25.generation() != self.generation:
                    self._rebuild_bm25()
                self._bm25.begin_bulk()
        if joined:
            yield
            return
        try:
            yield
        finally:
            with self._lock:
                self._bm25.end_bulk(self.generation)
                self._bm25.reload()

    def _rebuild_bm25(self) -> None:
        rows = self._db.execute("SELECT id, meta, bm25_terms FROM passages").fetchall()
        self._bm25.rebuild(((pid, json.loads(meta), terms) for pid, meta, terms in rows), self.generation)

    def reset(self) -> int:
        """Remove every passage and document record and forget the embedding model, so the
        store can be rebuilt with another model. Returns the number of documents removed."""
        with self._lock:
            n = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            self._delete_ids([r[0] for r in self._db.execute("SELECT id FROM passages")])
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM kv WHERE key IN ('embedding_model', 'embedding_dim')")
            self._commit()
        return n

    # -------------------------------------------------- documents (ingestion)
    _RECORD = "SELECT doc_id, path, content_hash, n_passages, ingested_at, meta FROM documents"

    @staticmethod
    def _record_of(row: tuple) -> dict[str, Any]:
        return {"doc_id": row[0], "path": row[1], "content_hash": row[2], "n_passages": row[3],
                "ingested_at": row[4], "meta": json.loads(row[5] or "{}")}

    def document_record(self, doc_id: str) -> dict[str, Any] | None:
        """The stored record of an ingested document (path, content_hash, n_passages, ...) or None."""
        row = self._db.execute(f"{self._RECORD} WHERE doc_id=?", (doc_id,)).fetchone()
        return self._record_of(row) if row is not None else None

    def list_documents(self) -> list[dict[str, Any]]:
        """Records of every ingested document, ordered by path (one query: every store open
        reads them, :func:`khub.index.store.migrate_sources`, and so does every facet count)."""
        return [self._record_of(r) for r in self._db.execute(f"{self._RECORD} ORDER BY path").fetchall()]

    def update_record_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{doc_id: {field: value}}`` into the document records' ``meta``, in one
        transaction (passages and the generation are untouched). Returns records updated."""
        with self._lock:
            updated = []
            for doc_id, fields in changes.items():
                row = self._db.execute("SELECT meta FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
                if row is not None:
                    updated.append((json.dumps({**json.loads(row[0] or "{}"), **fields}, ensure_ascii=False), doc_id))
            self._db.executemany("UPDATE documents SET meta=? WHERE doc_id=?", updated)
            self._db.commit()
        return len(updated)

    def replace_document(self, doc_id: str, path: str, content_hash: str, meta: dict, passages: list[Document],
                         sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Store a document's passages as one unit: new passages are written, then its
        passages that are no longer produced are deleted, in one SQLite transaction
        (no orphans, no duplicates, even when the new version has fewer passages).

        ``sentence_vectors`` maps a passage id to the ``(n_sentences, dim)`` unit vectors of
        its sentences, kept (as float16) for the sentence-level re-scoring of the dense leg
        (:meth:`best_sentences`).

        Returns:
            The number of passages written.
        """
        with self._lock:
            try:
                written = self._write(passages, DuplicatePolicy.OVERWRITE, sentence_vectors)
                keep = {p.id for p in passages}
                stale = [r[0] for r in self._db.execute("SELECT id FROM passages WHERE doc_id=?", (doc_id,)) if r[0] not in keep]
                self._delete_ids(stale)
                self._db.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)",
                    (doc_id, path, content_hash, len(passages), time.time(), json.dumps(meta, ensure_ascii=False)),
                )
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return written

    def update_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{passage id: {field: value}}`` into the passages' metadata, in one
        transaction; the filter postings follow (:meth:`_commit`). Returns how many were updated."""
        if not changes:
            return 0
        with self._lock:
            try:
                updated = []
                ids = list(changes)
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    for pid, meta, terms in self._db.execute(
                            f"SELECT id, meta, bm25_terms FROM passages WHERE id IN ({marks})", chunk).fetchall():
                        merged = {**json.loads(meta), **changes[pid]}
                        updated.append((json.dumps(merged, ensure_ascii=False), pid))
                        self._upserts[pid] = (merged, terms)
                self._db.executemany("UPDATE passages SET meta=? WHERE id=?", updated)
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return len(updated)

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and all its passages."""
        with self._lock:
            self._delete_ids([r[0] for r in self._db.execute("SELECT id FROM passages WHERE doc_id=?", (doc_id,))])
            self._db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
            self._commit()

    # ------------------------------------------------------------- retrieval
    def _refresh(self, wait: bool = False) -> None:
        """Bring the retrieval arrays to the store's generation when a write (here or in another
        process) moved it: map its saved snapshot, or derive one from SQLite and save it
        (:mod:`khub.index.snapshot`). While another process derives it (23 s at a million
        passages), a store that already serves a generation keeps serving that one instead of
        stalling its searches, unless ``wait``."""
        if self.generation == self._snap.generation:
            return
        with self._lock:
            generation = self.generation
            if generation == self._snap.generation:
                return  # another thread reloaded while this one waited for the lock
            snap = snapshot.load(self._snapshots, generation)
            if snap is not None and len(snap.ids) != (n := self.count_documents()):
                logger.warning("retrieval arrays of %s (generation %d) hold %d passages, SQLite %d: deriving them "
                               "again", self.data_dir, generation, len(snap.ids), n)
                snap = None
            if snap is None:
                with snapshot.locked(self._snapshots, wait=wait or self._snap.generation < 0) as held:
                    if not held:
                        return  # being derived elsewhere: the previous generation meanwhile
                    snap = snapshot.load(self._snapshots, generation)  # written while this one waited?
                    if snap is None:
                        snap = self._derive_snapshot()
                        try:
                            snapshot.save(snap, self._snapshots)
                        except OSError as err:
                            logger.warning("retrieval arrays of %s not saved (%s): serving them from memory",
                                           self.data_dir, err)
                        else:  # map the saved copy: shared with other processes, not held twice
                            snap = snapshot.load(self._snapshots, snap.generation) or snap
            self._snap = snap
            self._dense = DenseIndex(snap.matrix, snap.has_vector, codes=snap.codes)
            self._bm25.reload()

    def _derive_snapshot(self) -> snapshot.Snapshot:
        """The retrieval arrays derived from SQLite, generation and rows read in one transaction."""
        if not self._db.in_transaction:
            self._db.execute("BEGIN")  # a read transaction: WAL gives it one consistent view
        try:
            generation = self.generation
            dim = int(self._get("embedding_dim") or 0)
            n = self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
            rows = self._db.execute("SELECT id, meta, embedding FROM passages ORDER BY rowid")
            return snapshot.derive(generation, rows, n, dim)
        finally:
            self._db.commit()

    def prepare_search(self) -> None:
        """Derive and save the retrieval arrays of the current generation now (the end of an
        ingest calls this), so the next process's first query maps them instead of deriving."""
        self._refresh(wait=True)

    def bm25_retrieval(self, query: str, language: str | None, filters: Filters | None = None, top_k: int = 10) -> list[Document]:
        """BM25 leg: passages ranked by BM25 (tantivy's, k1=1.2, b=0.75) on the analysed terms.

        Args:
            query: the user's text; analysed with :func:`khub.text.analysis.analyze` for ``language``.
            filters: ``{field: value or [values]}`` on :data:`FILTER_FIELDS`.

        Returns:
            Up to ``top_k`` documents with ``score`` set (higher is better) and
            ``meta["bm25_coverage"]``: the share of the query's content terms the passage holds.
        """
        self._refresh()
        terms = analyze(query, language)
        hits, content = self._bm25.search(terms, filters or {}, top_k)
        if not hits:
            return []
        scores = dict(hits)
        ids = [pid for pid, _ in hits]
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT id, content, meta, bm25_terms FROM passages WHERE id IN ({marks})",
                                ids).fetchall()  # at once: the connection is shared by the server's threads
        found = {pid: Document(id=pid, content=text, score=scores[pid],
                               meta={**json.loads(meta), "bm25_coverage": coverage(terms, content)})
                 for pid, text, meta, terms in rows}
        return [found[pid] for pid in ids if pid in found]

    def embedding_retrieval(self, query_embedding: list[float], filters: Filters | None = None, top_k: int = 10) -> list[Document]:
        """Dense leg: cosine similarity (dot product of unit vectors), exact below 100k passages,
        binary codes re-scored in float32 above (:class:`khub.index.vector_search.DenseIndex`).

        Returns:
            Up to ``top_k`` documents with ``score`` = cosine similarity; none for a query of
            another dimension than the store's or an all-zero one (passages whose vector is all
            zeros are never returned: they have no cosine).
        """
        self._refresh()
        if not self._snap.ids or self._snap.matrix.shape[1] != len(query_embedding):
            return []
        q = np.asarray(query_embedding, dtype=np.float32)
        if not q.any():  # an all-zero query has no cosine to anything
            return []
        rows, scores = self._dense.search(q, top_k, self._filter_mask(filters))
        if not len(rows):
            return []
        docs = self.get_documents([self._snap.ids[i] for i in rows], with_embedding=False)
        return [replace(d, score=float(score)) for d, score in zip(docs, scores)]

    def content_terms(self, query: str, language: str | None) -> list[str]:
        """The query's analysed terms found in at most 20% of passages (the terms worth
        highlighting; :func:`khub.index.store.content_terms`)."""
        self._refresh()
        return self._bm25.content_terms(analyze(query, language))

    def known_share(self, query: str, language: str | None) -> float:
        """The share of the query's analysed terms that occur in some passage (:func:`khub.index.store.known_share`)."""
        self._refresh()
        return self._bm25.known_share(analyze(query, language))

    def best_sentences(self, query_embedding: list[float], ids: list[str]) -> dict[str, tuple[int, float]]:
        """For each passage id with stored sentence vectors: (index of its sentence most similar
        to the query, in ``split_sentences(text, clauses=True)`` order; that cosine)
        (:func:`khub.index.store.max_sim`)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"SELECT id, sentence_vectors FROM passages WHERE id IN ({marks})", ids)
        return {pid: max_sim(query_embedding, blob) for pid, blob in rows if blob}

    def facet_counts(self, fields: tuple[str, ...], filters: Filters | None = None
                     ) -> tuple[int, dict[str, dict[str, int]]]:
        """Documents per value of each facet field among the ingested documents whose record
        passes ``filters``: ``(documents, {field: {value: documents}})``, from the records."""
        metas = []
        for r in self.list_documents():
            meta = r["meta"]
            if all(any(str(x) in field_values(meta, f) for x in (v if isinstance(v, list) else [v]))
                   for f, v in (filters or {}).items()):
                metas.append(meta)
        return len(metas), count_facets(metas, fields)

    def group_languages(self, groups: list[str]) -> dict[str, set[str]]:
        """For each translation group: the set of languages the store holds passages in."""
        self._refresh()
        return {g: self._snap.group_languages.get(g, set()) for g in groups}

    def _filter_mask(self, filters: Filters | None) -> np.ndarray:
        """Rows passing ``filters``, from the filter postings (all rows for no filters).

        Raises:
            InvalidRequestError: an unknown filter field (:func:`khub.index.store.normalize_filters`).
        """
        mask = np.ones(len(self._snap.ids), dtype=bool)
        for field, values in normalize_filters(filters).items():
            allowed = np.zeros(len(self._snap.ids), dtype=bool)
            for v in values:
                rows = self._snap.postings[field].get(v)
                if rows is not None:
                    allowed[rows] = True
            mask &= allowed
        return mask

    def group_editions(self, groups: list[str], filters: Filters | None = None) -> dict[str, list[Document]]:
        """Per translation group: its passages that pass ``filters``, in document order; read
        from the filter postings, so no scan."""
        self._refresh()
        by_group = self._snap.postings.get("translation_group", {})
        mask = self._filter_mask(filters)
        rows: dict[str, list[int]] = {}
        for g in dict.fromkeys(groups):
            found = by_group.get(g)
            if found is not None and mask[found].any():
                rows[g] = sorted(int(r) for r in found[mask[found]])
        docs = {d.id: d for d in self.get_documents([self._snap.ids[r] for rs in rows.values() for r in rs],
                                                    with_embedding=False)}
        return {g: [docs[self._snap.ids[r]] for r in rs if self._snap.ids[r] in docs] for g, rs in rows.items()}

    def check(self, full: bool = False) -> list[str]:
        """Problems of the store, ``[]`` when it is sound: the BM25 index and the retrieval
        arrays of the current generation must hold SQLite's passages; with ``full``, SQLite's
        ``PRAGMA quick_check`` also reads every page (seconds per GB; sqlite.org/pragma.html).
        Each problem is one line naming the file."""
        problems = []
        db = self.data_dir / "khub.sqlite"
        if full:
            try:
                found = [r[0] for r in self._db.execute("PRAGMA quick_check").fetchall()]
            except sqlite3.DatabaseError as err:
                found = [str(err)]
            if found != ["ok"]:
                problems.append(f"{db}: quick_check: {'; '.join(found[:5])}")
        try:
            n = self.count_documents()
        except sqlite3.DatabaseError as err:
            return [*problems, f"{db}: {err}"]
        if self._bm25.generation() == self.generation and self._bm25.num_docs() != n:
            problems.append(f"{self.data_dir / 'bm25'}: holds {self._bm25.num_docs()} passages, SQLite {n}")
        if self._snap.generation == self.generation and len(self._snap.ids) != n:
            problems.append(f"{self._snapshots}: holds {len(self._snap.ids)} passages, SQLite {n}")
        return problems

    def close(self) -> None:
        """Close the SQLite connection."""
        self._db.close()


class _BM25Index:
    """A tantivy index over pre-analysed terms (whitespace tokenizer) plus raw filter fields."""

    def __init__(self, path: Path):
        import tantivy

        self._t = tantivy
        self.path = path
        self._bulk: Any = None
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("terms", tokenizer_name="whitespace")
        for field in FILTER_FIELDS:
            builder.add_text_field(field, tokenizer_name="raw")
        self.schema = builder.build()
        # Several processes open one store at once (the workers of `khub serve`): the layout
        # check, the open and any reset of the folder happen under one exclusive file lock,
        # and the layout file is replaced atomically, so no process sees it half written.
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / "bm25.open.lock", "a+") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            layout = path / "FIELDS"
            wanted = " ".join(("id", "terms") + FILTER_FIELDS)
            if path.exists() and (not layout.exists() or layout.read_text() != wanted):
                shutil.rmtree(path)  # built with other fields: derived data, rebuilt from SQLite
            path.mkdir(parents=True, exist_ok=True)
            if not layout.exists():
                tmp = layout.with_suffix(".tmp")
                tmp.write_text(wanted)
                tmp.replace(layout)
            try:
                self.index = tantivy.Index(self.schema, path=str(path))
            except Exception as err:  # noqa: BLE001 - a corrupted meta.json or segment: derived data
                logger.warning("BM25 index in %s cannot be opened (%s); rebuilding it from SQLite", path, err)
                shutil.rmtree(path)
                path.mkdir(parents=True)
                layout.write_text(wanted)  # no GENERATION file: the store rebuilds the index
                self.index = tantivy.Index(self.schema, path=str(path))

    def generation(self) -> int:
        marker = self.path / "GENERATION"
        try:
            return int(marker.read_text())
        except (OSError, ValueError):
            return -1

    def rebuild(self, rows, generation: int) -> None:
        """Replace the whole index with ``rows`` of (id, meta, terms) and record ``generation``.
        Rebuilding from SQLite keeps the two consistent after a crash between their commits."""
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        writer.delete_all_documents()
        for pid, meta, terms in rows:
            writer.add_document(self._document_of(pid, meta, terms))
        self._finish(writer, generation)

    def apply(self, upserts: dict[str, tuple[dict, str]], deletes: set[str], generation: int) -> None:
        """Apply one committed SQLite transaction: delete, then (re)add passages by id."""
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        self._stage(writer, upserts, deletes)
        self._finish(writer, generation)

    @staticmethod
    def _stage(writer, upserts: dict[str, tuple[dict, str]], deletes: set[str]) -> None:
        for pid in list(deletes) + list(upserts):
            writer.delete_documents("id", pid)  # also applies to documents added earlier in this writer
        for pid, (meta, terms) in upserts.items():
            writer.add_document(_BM25Index._document_of(pid, meta, terms))

    @property
    def bulk(self) -> bool:
        """Whether a bulk writer is open (:meth:`EmbeddedDocumentStore.bulk_load`)."""
        return self._bulk is not None

    def begin_bulk(self) -> None:
        """Open the writer that :meth:`stage` adds to until :meth:`end_bulk`."""
        self._bulk = self.index.writer(heap_size=128_000_000, num_threads=1)

    def stage(self, upserts: dict[str, tuple[dict, str]], deletes: set[str]) -> None:
        """Add one committed SQLite transaction to the bulk writer (uncommitted)."""
        self._stage(self._bulk, upserts, deletes)

    def end_bulk(self, generation: int) -> None:
        """Commit the bulk writer and record ``generation``."""
        writer, self._bulk = self._bulk, None
        self._finish(writer, generation)

    @staticmethod
    def _document_of(pid: str, meta: dict, terms: str):
        import tantivy

        fields: dict[str, Any] = {"id": pid, "terms": terms}
        fields.update({f: field_values(meta, f) for f in FILTER_FIELDS})
        return tantivy.Document(**fields)

    def _finish(self, writer, generation: int) -> None:
        writer.commit()
        writer.wait_merging_threads()
        tmp = self.path / "GENERATION.tmp"
        tmp.write_text(str(generation))
        tmp.replace(self.path / "GENERATION")

    def reload(self) -> None:
        self.index.reload()

    def num_docs(self) -> int:
        """Passages in the committed index."""
        self.index.reload()
        return self.index.searcher().num_docs

    def content_terms(self, terms: list[str]) -> list[str]:
        """Unique terms found in at most 20% of the indexed passages (:func:`khub.index.store.content_terms`)."""
        searcher = self.index.searcher()
        return content_terms(terms, lambda ts: [searcher.doc_freq("terms", t) for t in ts], searcher.num_docs)

    def known_share(self, terms: list[str]) -> float:
        """Share of the unique terms found in some indexed passage (:func:`khub.index.store.known_share`)."""
        searcher = self.index.searcher()
        return known_share(terms, lambda ts: [searcher.doc_freq("terms", t) for t in ts])

    def search(self, terms: list[str], filters: Filters, top_k: int) -> tuple[list[tuple[str, float]], list[str]]:
        """BM25 over ``terms`` with the coordination rule of :func:`khub.index.store.minimum_should_match`
        over the query's content terms (:func:`khub.index.store.content_terms`).

        Returns:
            ([(passage id, BM25 score)], the terms coverage is counted on).
        """
        t = self._t
        unique = list(dict.fromkeys(terms))
        if not unique:
            return [], []
        searcher = self.index.searcher()
        content = self.content_terms(unique)
        frequent = [term for term in unique if term not in content]
        clauses = [(t.Occur.Should, t.Query.term_query(self.schema, "terms", term)) for term in frequent]
        if content:
            needed = minimum_should_match(len(content))
            core = t.Query.boolean_query(
                [(t.Occur.Should, t.Query.term_query(self.schema, "terms", term)) for term in content],
                minimum_number_should_match=needed,
            )
            clauses.append((t.Occur.Must, core))
        for field, values in normalize_filters(filters).items():
            flt = t.Query.term_set_query(self.schema, field, values)
            clauses.append((t.Occur.Must, t.Query.const_score_query(flt, 0.0)))
        query = t.Query.boolean_query(clauses, minimum_number_should_match=None if content else 1)
        result = searcher.search(query, top_k, count=False)  # the total is never used
        return [(searcher.doc(addr)["id"][0], float(score)) for score, addr in result.hits], content or unique

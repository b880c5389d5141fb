"""The store contract: what every khub document store implements, and the code they share.

:class:`PassageStore` extends Haystack's ``DocumentStore`` protocol (``count_documents``,
``filter_documents``, ``write_documents``, ``delete_documents``, ``to_dict``, ``from_dict``)
with document records (one per ingested file), the two retrieval legs and sentence vectors.
:class:`khub.index.embedded_store.EmbeddedDocumentStore` (SQLite + tantivy + numpy) and
:class:`khub.index.opensearch_store.OpenSearchDocumentStore` implement it; the contract tests
(``tests/index/test_store_contract.py``) run on both.

Everything that decides *what* a store returns lives here, so that both stores return the
same passages for the same request and only *how* they compute it differs:

* the filter fields and their normalisation (:data:`FILTER_FIELDS`, :func:`normalize_filters`);
* the BM25 terms of a passage (:func:`bm25_terms`) and the coordination rule of the BM25 leg
  (:func:`content_terms`, :func:`minimum_should_match`, :func:`coverage`);
* the sentence-level MaxSim of the dense leg (:func:`max_sim`, float16 sentence vectors);
* the embedding-model check and Haystack's duplicate policies.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DocumentStore, DuplicatePolicy

from khub.errors import InvalidRequestError, KhubError
from khub.identity import SOURCE_FIELD, recover_source
from khub.text.analysis import analyze

#: Metadata fields that retrieval can filter on (exact match, or any of a list). A
#: list-valued field (a WOCAT practice's land uses) matches when any of its values does.
FILTER_FIELDS = ("language", "source", "symbol", "doc_id", "translation_group", "body", "session", "year",
                 "country", "land_use", "kind", "document_type")

#: ``{field: value or [values]}`` on :data:`FILTER_FIELDS`.
Filters = dict[str, Any]

#: A query term found in more than this share of passages is "frequent": it adds to the BM25
#: score but does not count towards the coordination rule (see :func:`content_terms`).
FREQUENT_SHARE = 0.2


class EmbeddingMismatchError(KhubError, ValueError):
    """Raised when vectors of another model or dimension are written to a store built
    with a different one. Re-ingest into a fresh data dir (or ``khub ingest --reindex``)."""


def field_values(meta: dict, field: str) -> list[str]:
    """The filterable values of ``meta[field]`` as strings (a list for list-valued fields)."""
    value = meta.get(field)
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def count_facets(metas: list[dict], fields: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """``{field: {value: how many of metas hold it}}`` (one count per document metadata)."""
    counts: dict[str, dict[str, int]] = {f: {} for f in fields}
    for meta in metas:
        for f in fields:
            for v in field_values(meta, f):
                counts[f][v] = counts[f].get(v, 0) + 1
    return counts


def normalize_filters(filters: Filters | None) -> dict[str, list[str]]:
    """``{field: value or [values]}`` as ``{field: [str values]}``; empty values are dropped.

    Raises:
        InvalidRequestError: a field outside :data:`FILTER_FIELDS` (the message lists them).
    """
    out: dict[str, list[str]] = {}
    for field, value in (filters or {}).items():
        if field not in FILTER_FIELDS:
            raise InvalidRequestError(f"unknown filter field {field!r}; filterable: {', '.join(FILTER_FIELDS)}")
        given = [value] if isinstance(value, (str, int)) else list(value or [])
        values = [str(v) for v in given if v not in (None, "")]
        if values:
            out[field] = values
    return out


def check_embeddings(documents: list[Document], stored_dim: str | None, stored_model: str | None,
                     model: str | None, where: str, setting: str) -> int | None:
    """The dimension of the embeddings ``documents`` carry, after checking they fit the store.

    Args:
        stored_dim / stored_model: what the store recorded (None while empty).
        model: the embedding model of the writer.
        where / setting: the store's location and the setting that picks another one, for messages.

    Returns:
        The common dimension, or None when no document carries an embedding.

    Raises:
        EmbeddingMismatchError: several dimensions, or another dimension or model than the store's.
    """
    dims = {len(d.embedding) for d in documents if d.embedding is not None}
    if not dims:
        return None
    if len(dims) > 1:
        raise EmbeddingMismatchError(f"documents carry embeddings of several dimensions: {sorted(dims)}")
    dim = dims.pop()
    if stored_dim and int(stored_dim) != dim:
        raise EmbeddingMismatchError(
            f"{where} holds {stored_dim}-dim vectors of {stored_model!r}; got {dim}-dim vectors of {model!r}."
            f" Re-ingest with --reindex or use another {setting}.")
    if stored_model and model and stored_model != model:
        raise EmbeddingMismatchError(
            f"{where} was built with {stored_model!r}, not {model!r}. Re-ingest with --reindex or use another {setting}.")
    return dim


def check_documents(documents: Any) -> list[Document]:
    """``documents`` as a list, after checking it is a list of Haystack ``Document``.

    Raises:
        ValueError: anything else (Haystack's ``DocumentStore`` contract for ``write_documents``).
    """
    if not isinstance(documents, list) or not all(isinstance(d, Document) for d in documents):
        raise ValueError("write_documents expects a list of haystack Document objects")
    return documents


def apply_duplicate_policy(documents: list[Document], existing: set[str], policy: DuplicatePolicy) -> list[Document]:
    """The documents to write under Haystack's duplicate ``policy``, given the ids already stored:
    NONE/FAIL raise on any existing id, SKIP leaves existing ids out, OVERWRITE writes all.

    Raises:
        DuplicateDocumentError: an existing id with policy NONE or FAIL.
    """
    if existing and policy in (DuplicatePolicy.NONE, DuplicatePolicy.FAIL):
        raise DuplicateDocumentError(f"passages already stored: {sorted(existing)[:5]}")
    if policy == DuplicatePolicy.SKIP:
        return [d for d in documents if d.id not in existing]
    return list(documents)


def bm25_text(doc: Document) -> str:
    """What the BM25 leg indexes: the passage text plus its section heading."""
    section = (doc.meta or {}).get("section")
    return f"{section}\n{doc.content}" if section else (doc.content or "")


def bm25_terms(doc: Document) -> list[str]:
    """The BM25 terms of a passage (its section heading and text, analysed in its language
    by :func:`khub.text.analysis.analyze`): what every store indexes."""
    return analyze(bm25_text(doc), (doc.meta or {}).get("language"))


def known_share(terms: list[str], doc_freqs: Callable[[list[str]], list[int]]) -> float:
    """The share of the unique ``terms`` that occur in at least one passage (0.0 for no terms).

    A pre-retrieval query-performance predictor in the family of He & Ounis, "Inferring query
    performance using pre-retrieval predictors" (SPIRE 2004): a query none of whose words
    the collection has ever seen ("asdfghjkl") cannot be answered from it, however close
    its embedding falls to some short sentence.
    """
    unique = list(dict.fromkeys(terms))
    if not unique:
        return 0.0
    return sum(1 for df in doc_freqs(unique) if df > 0) / len(unique)


def content_terms(terms: list[str], doc_freqs: Callable[[list[str]], list[int]], n_docs: int) -> list[str]:
    """The unique ``terms`` found in at most :data:`FREQUENT_SHARE` of the ``n_docs`` passages.

    Args:
        doc_freqs: the store's document frequency of each term, in order.
    """
    unique = list(dict.fromkeys(terms))
    if not unique:
        return []
    limit = FREQUENT_SHARE * max(n_docs, 1)
    return [t for t, df in zip(unique, doc_freqs(unique)) if df <= limit]


def minimum_should_match(n_content: int) -> int:
    """Coordination rule of the BM25 leg: a passage must hold at least half of the query's
    content terms (rounded up, at least one). Frequent terms ("the", "of", "的") still add to
    the score but do not count. This keeps weak one-word matches (an English question
    matching "action" in an unrelated English article) out of the BM25 leg, so a
    cross-lingual query is carried by the dense leg instead of drowned by lexical noise."""
    return max(1, -(-n_content // 2))


def coverage(stored_terms: str, counted: list[str]) -> float:
    """Share of ``counted`` (the query's content terms) among a passage's stored BM25 terms
    (space-separated), rounded to 4 digits; 1.0 when nothing is counted."""
    if not counted:
        return 1.0
    have = set(stored_terms.split())
    return round(sum(t in have for t in counted) / len(counted), 4)


def encode_sentence_vectors(vectors: np.ndarray) -> bytes:
    """``(n_sentences, dim)`` unit vectors as float16 bytes (half the size, cosines to ~1e-3)."""
    return np.asarray(vectors, dtype=np.float16).tobytes()


def max_sim(query_embedding: list[float] | np.ndarray, blob: bytes) -> tuple[int, float]:
    """(index of the sentence most similar to the query, that cosine) for float16 sentence
    vectors ``blob`` (:func:`encode_sentence_vectors`): MaxSim over sentences, the
    late-interaction idea of ColBERT (Khattab & Zaharia, SIGIR 2020) at sentence granularity."""
    q = np.asarray(query_embedding, dtype=np.float32)
    sims = np.frombuffer(blob, dtype=np.float16).reshape(-1, len(q)).astype(np.float32) @ q
    return int(sims.argmax()), float(sims.max())


@dataclass
class DocumentWrite:
    """One file's passages and record, as :meth:`PassageStore.replace_document` takes them; a
    store with ``replace_documents`` (OpenSearch) writes several of these in shared requests."""

    doc_id: str
    path: str
    content_hash: str
    meta: dict
    passages: list[Document]
    sentence_vectors: dict[str, np.ndarray] | None = None


@runtime_checkable
class PassageStore(DocumentStore, Protocol):
    """What khub needs of a document store, beyond Haystack's ``DocumentStore`` protocol.

    A *passage* is a Haystack ``Document`` (``meta`` holds ``doc_id``, ``language``, ``source``
    and the other :data:`FILTER_FIELDS`); a *document record* describes one ingested file.
    """

    def info(self) -> dict[str, Any]:
        """Store facts: ``store, passages, documents, embedding_model, embedding_dim, generation``."""
        ...

    def get_documents(self, ids: list[str], with_embedding: bool = True) -> list[Document]:
        """Passages by id, in the order given (unknown ids left out)."""
        ...

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE,
                        sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Write passages (and their ``(n, dim)`` sentence vectors by passage id); returns how many."""
        ...

    def replace_document(self, doc_id: str, path: str, content_hash: str, meta: dict, passages: list[Document],
                         sentence_vectors: dict[str, np.ndarray] | None = None) -> int:
        """Store a file's passages and record as one unit; stale passages of ``doc_id`` go."""
        ...

    def update_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{passage id: {field: value}}`` into stored passages' metadata (text, vectors
        and BM25 terms unchanged; filters see the new values). Unknown ids are ignored.
        Returns the number of passages updated."""
        ...

    def delete_document(self, doc_id: str) -> None:
        """Remove a document record and all its passages."""
        ...

    def facet_counts(self, fields: tuple[str, ...], filters: Filters | None = None
                     ) -> tuple[int, dict[str, dict[str, int]]]:
        """``(documents, {field: {value: documents}})`` over the documents ``filters`` keep."""
        ...

    def document_record(self, doc_id: str) -> dict[str, Any] | None:
        """``{doc_id, path, content_hash, n_passages, ingested_at, meta}`` or None."""
        ...

    def list_documents(self) -> list[dict[str, Any]]:
        """Every document record, ordered by path."""
        ...

    def check(self, full: bool = False) -> list[str]:
        """Problems found in the store (one line each, naming the file or index), ``[]`` when
        sound; ``full`` also runs the slow checks (SQLite's ``quick_check``)."""
        ...

    def update_record_meta(self, changes: dict[str, dict[str, Any]]) -> int:
        """Merge ``{doc_id: {field: value}}`` into document records' ``meta`` (passages are
        untouched); returns how many records were updated (unknown ids are skipped)."""
        ...

    def reset(self) -> int:
        """Remove everything and forget the embedding model; returns documents removed."""
        ...

    def bulk_load(self) -> AbstractContextManager[None]:
        """A context for a run of writes (an ingest): the writes are durable as they happen,
        derived indexes may be brought up to date once, when it exits."""
        ...

    def prepare_search(self) -> None:
        """Build what searching needs after writes, once (the end of an ingest calls it), so the
        next process to search does not: the embedded store's retrieval arrays; nothing for a
        search engine that indexes as it writes."""
        ...

    def bm25_retrieval(self, query: str, language: str | None, filters: Filters | None = None,
                       top_k: int = 10) -> list[Document]:
        """BM25 leg with the coordination rule; ``meta["bm25_coverage"]`` set (:func:`coverage`)."""
        ...

    def embedding_retrieval(self, query_embedding: list[float], filters: Filters | None = None,
                            top_k: int = 10) -> list[Document]:
        """Dense leg; ``score`` is the cosine similarity."""
        ...

    def content_terms(self, query: str, language: str | None) -> list[str]:
        """The query's analysed terms in at most :data:`FREQUENT_SHARE` of passages."""
        ...

    def known_share(self, query: str, language: str | None) -> float:
        """The share of the query's analysed terms that occur in the store (:func:`known_share`)."""
        ...

    def best_sentences(self, query_embedding: list[float], ids: list[str]) -> dict[str, tuple[int, float]]:
        """Per passage id with sentence vectors: (best sentence index, its cosine) (:func:`max_sim`)."""
        ...

    def group_languages(self, groups: list[str]) -> dict[str, set[str]]:
        """Per translation group: the languages the store holds it in."""
        ...

    def group_editions(self, groups: list[str], filters: Filters | None = None) -> dict[str, list[Document]]:
        """Per translation group: its passages that pass ``filters`` (``{field: value or [values]}``),
        in document order, without embeddings; groups with none are left out.

        Raises:
            InvalidRequestError: an unknown filter field.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...



def migrate_sources(store: Any, bases: list[Any]) -> int:
    """Give every document record written without its absolute path (older khub versions,
    which kept only the working-directory-relative ``path``) the path it can be proved to
    have (:func:`khub.identity.recover_source`), so ``--prune`` and ``/original`` do not
    depend on the working directory. Records it cannot prove are left as they are (and are
    never pruned). Returns how many records were updated.

    Args:
        store: a :class:`PassageStore`.
        bases: candidate working directories of the ingests that wrote the store
            (:func:`khub.identity.candidate_bases`).
    """
    changes = {}
    for record in store.list_documents():
        if (record.get("meta") or {}).get(SOURCE_FIELD):
            continue
        found = recover_source(record["doc_id"], record.get("path"), bases)
        if found:
            changes[record["doc_id"]] = {SOURCE_FIELD: found}
    return store.update_record_meta(changes) if changes else 0

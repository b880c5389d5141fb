"""What khub sends to OpenSearch and how it reads the answers: connection options, the client,
retries with backoff, the index template, search bodies, passage sources, bulk and msearch
results. Pure functions and data (no cluster state): :mod:`khub.index.opensearch_store` uses
them, ``tests/index/test_opensearch_requests.py`` checks them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Iterable, Literal

import numpy as np
from haystack import Document

from khub.errors import KhubError
from khub.index import store as contract

_SOURCE_NO_VECTORS = {"excludes": ["embedding", "sentence_vectors"]}
#: OpenSearch's ``index.max_result_window`` default: ``size`` and k-NN ``k`` are capped at it.
MAX_K = 10_000
#: HTTP statuses worth retrying: too many requests, bad gateway, unavailable, gateway timeout.
RETRY_STATUS = (429, 502, 503, 504)


class StoreWriteError(KhubError, RuntimeError):
    """OpenSearch refused some writes (the message names the passages and the reasons)."""


class StoreQueryError(KhubError, RuntimeError):
    """OpenSearch answered a (sub-)request with an error (the message gives its reason)."""


@dataclass(frozen=True)
class OpenSearchOptions:
    """How khub talks to its cluster and lays out its indices (``KHUB_OPENSEARCH_*`` settings).

    Attributes:
        shards / replicas: of the passage index (1 shard per ~10-50 GB is OpenSearch's sizing
            guidance; BM25 is then computed with ``dfs_query_then_fetch`` so that term
            statistics are global). Replicas are 0 while a reindex builds the new index.
        encoder: ``none`` or ``sq`` (Lucene scalar quantisation of the HNSW vectors: about 4x
            less memory for some recall; exact cosines are still recomputed from the stored floats).
        bulk_mb: size of one bulk request in MB (actions of several files are packed together).
        ef_search: HNSW's search beam (Malkov & Yashunin 2018, "ef"), sent as the k-NN query's
            ``method_parameters.ef_search``; Lucene otherwise searches with ef = k. Measured on
            the sample corpus (4,633 passages, 101 dev-set questions, live 2.19.1 node) against the
            embedded store's exact scan: top-100 recall 0.958 with ef = k = 100 (15 questions
            with another dense top-10), 0.990 at 200, 0.9996 at 500 (none), 1.0 at 1,000.
        user / password / ca_certs / verify_certs: basic auth and TLS.
        timeout: seconds per request. retries: attempts on 429/5xx/connection errors.
    """

    shards: int = 1
    replicas: int = 0
    encoder: Literal["none", "sq"] = "none"
    bulk_mb: float = 10.0
    ef_search: int = 512
    user: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    timeout: float = 30.0
    retries: int = 5

    @classmethod
    def from_settings(cls, settings: Any) -> "OpenSearchOptions":
        """The options of a :class:`khub.settings.Settings`."""
        password = settings.opensearch_password
        return cls(shards=settings.opensearch_shards, replicas=settings.opensearch_replicas,
                   encoder=settings.opensearch_encoder, bulk_mb=settings.opensearch_bulk_mb,
                   ef_search=settings.opensearch_ef_search,
                   user=settings.opensearch_user,
                   password=password.get_secret_value() if password is not None else None,
                   ca_certs=str(settings.opensearch_ca_certs) if settings.opensearch_ca_certs else None,
                   verify_certs=settings.opensearch_verify_certs)


def build_client(url: str, options: OpenSearchOptions) -> Any:
    """An ``opensearchpy.OpenSearch`` for ``url`` with the options' auth and TLS. The
    transport does not retry by itself: :func:`retrying` does, with backoff."""
    from opensearchpy import OpenSearch

    kwargs: dict[str, Any] = {"hosts": [url], "timeout": options.timeout, "max_retries": 0,
                              "retry_on_timeout": False, "verify_certs": options.verify_certs}
    if options.user:
        kwargs["http_auth"] = (options.user, options.password or "")
    if options.ca_certs:
        kwargs["ca_certs"] = options.ca_certs
    if not options.verify_certs:
        kwargs["ssl_show_warn"] = False
    return OpenSearch(**kwargs)


def _transient(err: BaseException) -> bool:
    from opensearchpy import ConnectionError as OSConnectionError
    from opensearchpy import TransportError

    if isinstance(err, OSConnectionError):  # includes ConnectionTimeout
        return True
    return isinstance(err, TransportError) and err.status_code in RETRY_STATUS


def retrying(attempts: int, max_wait: float = 30.0) -> Any:
    """A tenacity ``Retrying`` for OpenSearch calls: retried on 429, 502-504 and connection
    errors, exponential backoff with jitter from 0.5 s up to ``max_wait`` (the scheme of the
    AWS Architecture Blog, "Exponential Backoff and Jitter", 2015), the last error re-raised."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

    return Retrying(retry=retry_if_exception(_transient), stop=stop_after_attempt(max(1, attempts)),
                    wait=wait_exponential_jitter(initial=0.5, max=max_wait), reraise=True)


def index_template(index: str, dim: int, options: OpenSearchOptions = OpenSearchOptions(),
                   embedding_model: str | None = None) -> dict[str, Any]:
    """The composable index template of the passage indices (``PUT _index_template/<index>``).

    Args:
        index: the passage alias; the template matches its versions ``<index>-v*``.
        dim: embedding dimension (512 for the multilingual USE).
        options: shards, replicas and vector encoder.
        embedding_model: recorded in the mapping's ``_meta`` with the dimension.
    """
    parameters: dict[str, Any] = {"m": 16, "ef_construction": 128}
    if options.encoder == "sq":
        parameters["encoder"] = {"name": "sq"}
    properties: dict[str, Any] = {
        "id": {"type": "keyword"},
        "content": {"type": "text", "index": False},
        "terms": {"type": "text", "analyzer": "whitespace", "similarity": "BM25"},
        "meta": {"type": "object", "enabled": False},
        "sentence_vectors": {"type": "binary"},
        "embedding": {
            "type": "knn_vector", "dimension": dim,
            "method": {"name": "hnsw", "space_type": "cosinesimil", "engine": "lucene", "parameters": parameters},
        },
    }
    properties.update({f: {"type": "keyword"} for f in contract.FILTER_FIELDS})
    return {
        "index_patterns": [f"{index}-v*"],
        "template": {
            "settings": {"index": {"knn": True, "number_of_shards": options.shards,
                                   "number_of_replicas": options.replicas, "refresh_interval": "1s"}},
            "mappings": {"dynamic": "strict", "_meta": {"embedding_model": embedding_model, "embedding_dim": dim},
                         "properties": properties},
        },
    }


def bulk_failures(items: Iterable[dict[str, Any]], ignore: Iterable[int] = ()) -> list[tuple[str, int, str]]:
    """The failed items of bulk responses as ``(id, status, reason)``.

    Args:
        items: the ``items`` of ``_bulk`` responses (``{"index"|"create"|"update"|"delete":
            {"_id", "status", "error"?}}``, as opensearch-py's helpers yield them).
        ignore: statuses that count as success (404 for deletes).
    """
    ignored = set(ignore)
    out = []
    for item in items:
        (op, result), = item.items()
        status = int(result.get("status", 500))
        if 200 <= status < 300 or status in ignored:
            continue
        error = result.get("error")
        reason = (f"{error.get('type')}: {error.get('reason')}" if isinstance(error, dict) else str(error or op))
        out.append((str(result.get("_id")), status, reason))
    return out


def msearch_results(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The sub-responses of an ``_msearch`` response.

    Raises:
        StoreQueryError: a sub-response is an error (OpenSearch answers 200 with per-item errors).
    """
    out = []
    for i, r in enumerate(response.get("responses", [])):
        if "error" in r:
            error = r["error"]
            reason = error.get("reason") or error.get("type") if isinstance(error, dict) else str(error)
            raise StoreQueryError(f"OpenSearch msearch request {i} failed (status {r.get('status')}): {reason}")
        out.append(r)
    return out


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
    return {"size": min(top_k, MAX_K), "query": query, "_source": _SOURCE_NO_VECTORS}


def knn_query(vector: list[float], filters: contract.Filters | None, top_k: int,
              with_vectors: bool = True, ef_search: int | None = None) -> dict[str, Any]:
    """The k-NN search body with filters applied during the search (Lucene engine); ``k`` is
    capped at :data:`MAX_K`. ``with_vectors=False`` leaves the stored vectors out of the hits
    (about 10 kB of JSON per hit for 512 floats) when the score gives the cosine. ``ef_search``
    (at least ``k``) widens HNSW's search beam (:attr:`OpenSearchOptions.ef_search`)."""
    top_k = min(top_k, MAX_K)
    knn: dict[str, Any] = {"vector": [float(x) for x in vector], "k": top_k}
    if ef_search:
        knn["method_parameters"] = {"ef_search": max(int(ef_search), top_k)}
    clauses = filter_clauses(filters)
    if clauses:
        knn["filter"] = {"bool": {"filter": clauses}}
    excludes = ["sentence_vectors", "terms"] + ([] if with_vectors else ["embedding"])
    return {"size": top_k, "query": {"knn": {"embedding": knn}}, "_source": {"excludes": excludes}}


def knn_cosine(score: float) -> float:
    """The cosine behind a k-NN hit's score on a Lucene-engine ``cosinesimil`` field: Lucene
    scores COSINE as ``(1 + cos) / 2`` (``VectorSimilarityFunction.COSINE``, Lucene 9), so
    ``cos = 2 * score - 1``. Exact for float vectors; not for scalar-quantised ones (``sq``), whose
    cosines are recomputed from the stored floats instead."""
    return 2.0 * float(score) - 1.0


def passage_source(doc: Document) -> dict[str, Any]:
    """The OpenSearch ``_source`` of a passage (without sentence vectors); an all-zero
    embedding is left out (``cosinesimil`` rejects it, and it has no cosine to any query)."""
    meta = doc.meta or {}
    source: dict[str, Any] = {
        "id": doc.id, "content": doc.content or "", "meta": meta,
        "terms": " ".join(contract.bm25_terms(doc)),
    }
    source.update({f: contract.field_values(meta, f) for f in contract.FILTER_FIELDS})
    if doc.embedding is not None and any(x != 0 for x in doc.embedding):
        source["embedding"] = [float(x) for x in doc.embedding]
    return source


def encode_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors as stored in ``_source``: float16 bytes, base64."""
    return base64.b64encode(contract.encode_sentence_vectors(vectors)).decode("ascii")

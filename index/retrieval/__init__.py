"""Retrieval as Haystack components, one per file, and the pipelines that combine them.

::

    query ──► QueryLanguageDetector ──► StoreBM25Retriever ─────────────────────────┐
                                                                                    ├─► CoverageRRFJoiner ──► KindPriorRanker ──► documents
    query_embedding ──► StoreEmbeddingRetriever ──► SentenceMaxSimRanker ──► LengthPriorRanker ┘

The query embedding is an input: whoever holds the text embedder embeds the query once and
may reuse the vector (answers, briefs, highlights). :func:`build_retrieval` wraps the
pipeline of a mode (``hybrid``, ``bm25``, ``dense``) in a Haystack ``SuperComponent`` that
``to_dict``/``from_dict`` round-trips.
"""

from khub.index.retrieval.bm25_retriever import StoreBM25Retriever
from khub.index.retrieval.embedding_retriever import StoreEmbeddingRetriever
from khub.index.retrieval.kind_prior import KindPriorRanker
from khub.index.retrieval.language_detector import QueryLanguageDetector
from khub.index.retrieval.length_prior import LengthPriorRanker, length_prior
from khub.index.retrieval.maxsim_ranker import SentenceMaxSimRanker
from khub.index.retrieval.pipeline import MODES, Mode, build_retrieval
from khub.index.retrieval.rrf_joiner import CoverageRRFJoiner, reciprocal_rank_fusion

__all__ = ["MODES", "CoverageRRFJoiner", "KindPriorRanker", "LengthPriorRanker", "Mode", "QueryLanguageDetector",
           "SentenceMaxSimRanker", "StoreBM25Retriever", "StoreEmbeddingRetriever", "build_retrieval",
           "length_prior", "reciprocal_rank_fusion"]

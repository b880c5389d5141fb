"""The retrieval pipelines of the three modes, each wrapped as one Haystack ``SuperComponent``.

Inputs of every mode: ``query`` (str), ``query_embedding`` (list[float], unused by ``bm25``),
``filters`` (``{field: value or [values]}``), ``top_k`` (passages returned) and ``candidates``
(passages each leg contributes before re-ranking and fusion). Outputs: ``documents`` and
``query_language``.
"""

from __future__ import annotations

from typing import Literal, get_args

from haystack import Pipeline, SuperComponent
from haystack.core.serialization import allow_deserialization_module

from khub.index.retrieval.bm25_retriever import StoreBM25Retriever
from khub.index.retrieval.embedding_retriever import StoreEmbeddingRetriever
from khub.index.retrieval.kind_prior import KindPriorRanker
from khub.index.retrieval.language_detector import QueryLanguageDetector
from khub.index.retrieval.length_prior import LengthPriorRanker
from khub.index.retrieval.maxsim_ranker import SentenceMaxSimRanker
from khub.index.retrieval.rrf_joiner import CoverageRRFJoiner
from khub.index.store import PassageStore
from khub.settings import Settings

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = get_args(Mode)

# Haystack 3 refuses to deserialise classes outside its allowlist; khub's own components and
# stores are trusted by khub (``SuperComponent.from_dict(build_retrieval(...).to_dict())``).
allow_deserialization_module("khub")


def build_retrieval(store: PassageStore, settings: Settings, mode: Mode = "hybrid") -> SuperComponent:
    """The retrieval ``SuperComponent`` of ``mode`` over ``store``, parameters from ``settings``
    (``rrf_k``, ``bm25_weight``, ``dense_weight``, ``bm25_coverage_power``, ``sentence_weight``,
    ``short_passage_units``, ``short_passage_power``, ``candidates``).

    * ``bm25``: language detector -> BM25 retriever.
    * ``dense``: embedding retriever -> sentence MaxSim ranker -> length prior ranker.
    * ``hybrid``: both, fused by the coverage-weighted RRF joiner.

    Every mode ends with the kind prior (``apparatus_weight``), which cuts to ``top_k``.

    Raises:
        InvalidRequestError: an unknown mode.
    """
    from khub.errors import InvalidRequestError

    if mode not in MODES:
        raise InvalidRequestError(f"mode: must be hybrid, bm25 or dense, not {mode!r}")
    p = Pipeline()
    p.add_component("language", QueryLanguageDetector())
    inputs: dict[str, list[str]] = {"query": ["language.query"], "filters": [], "top_k": [], "candidates": [],
                                    "query_embedding": []}
    if mode != "dense":
        p.add_component("bm25", StoreBM25Retriever(store, top_k=settings.candidates))
        p.connect("language.language", "bm25.language")
        inputs["query"].append("bm25.query")
        inputs["filters"].append("bm25.filters")
        inputs["candidates"].append("bm25.top_k")
    if mode != "bm25":
        p.add_component("dense", StoreEmbeddingRetriever(store, top_k=settings.candidates))
        p.add_component("maxsim", SentenceMaxSimRanker(store, weight=settings.sentence_weight))
        p.add_component("length_prior", LengthPriorRanker(settings.short_passage_units, settings.short_passage_power))
        p.connect("dense.documents", "maxsim.documents")
        p.connect("maxsim.documents", "length_prior.documents")
        inputs["query_embedding"] += ["dense.query_embedding", "maxsim.query_embedding"]
        inputs["filters"].append("dense.filters")
        inputs["candidates"].append("dense.top_k")
    if mode == "hybrid":
        p.add_component("joiner", CoverageRRFJoiner(settings.rrf_k, settings.bm25_weight, settings.dense_weight,
                                                    settings.bm25_coverage_power))
        p.connect("bm25.documents", "joiner.bm25_documents")
        p.connect("length_prior.documents", "joiner.dense_documents")
        inputs["candidates"].append("joiner.top_k")
    last = {"hybrid": "joiner", "bm25": "bm25", "dense": "length_prior"}[mode]
    p.add_component("kind_prior", KindPriorRanker(settings.apparatus_weight))
    p.connect(f"{last}.documents", "kind_prior.documents")
    inputs["filters"].append("kind_prior.filters")
    inputs["top_k"].append("kind_prior.top_k")
    return SuperComponent(pipeline=p, input_mapping=inputs,
                          output_mapping={"kind_prior.documents": "documents", "language.language": "query_language"})

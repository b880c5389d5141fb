"""The relevance floor: when retrieval found nothing that answers the query.

Hybrid retrieval always returns passages, ranked by reciprocal rank fusion, whose scores
say nothing about whether any of them is relevant. The floor reads two calibrated signals
of the retrieved passages instead (:func:`evidence`):

* the best **sentence cosine** of the dense leg (``meta["sentence_cosine"]``, MaxSim of the
  query against the passage's sentences in the multilingual embedding space);
* the best **BM25 coverage** (``meta["bm25_coverage"]``, the share of the query's content
  terms the passage holds).

and one signal of the query itself:

* the **known-term share** (:func:`khub.index.store.known_share`): the share of the query's
  words that occur anywhere in the store, in any language. Gibberish ("asdfghjkl") has none,
  yet the multilingual USE puts it close to some short sentence (cosine 0.42 on the sample
  corpus, above many real cross-lingual questions), so the cosine alone cannot refuse it.

A query has evidence when its known-term share reaches ``Settings.no_match_known`` and a
retrieved passage clears the cosine floor (``Settings.no_match_cosine``) or the coverage
floor (``Settings.no_match_coverage``): a passage with every content term of the query is
a match whatever its cosine (codes such as ``SO1-2.T1``), and a passage that says the same
thing in another language is a match with no shared term. The floors are calibrated on the
dev sets against gibberish and out-of-corpus questions (``bench/calibrate_no_match.py``).
"""

from __future__ import annotations

from haystack import Document

from khub.index.store import coverage
from khub.kinds import APPARATUS


def evidence(documents: list[Document]) -> tuple[float | None, float | None]:
    """``(best sentence cosine, best BM25 coverage)`` over ``documents``; None for a signal no
    document carries (the bm25 mode has no cosine, the dense mode no coverage).

    The cosine is read from passages an answer may quote only: not from apparatus kinds
    (:data:`khub.kinds.APPARATUS`: tables, headings, boilerplate such as the instructions of the
    PRAIS reporting template), whose short generic lines the multilingual USE puts close to any
    question ("No answer required. Other (specify)" at cosine 0.28 to a football question).
    The lexical coverage is read from every passage: a table that holds every term of a code
    query is a match."""
    def best(key: str, docs: list[Document]) -> float | None:
        values = [float(d.meta[key]) for d in docs if d.meta.get(key) is not None]
        return max(values) if values else None
    quotable = [d for d in documents if d.meta.get("kind") not in APPARATUS]
    cosine = best("sentence_cosine", quotable)
    if cosine is None and best("sentence_cosine", documents) is not None:
        cosine = 0.0  # the dense leg ran, but found only apparatus
    return cosine, best("bm25_coverage", documents)


def has_evidence(documents: list[Document], known: float, cosine_floor: float, coverage_floor: float,
                 known_floor: float) -> bool:
    """True when some passage was retrieved, the query's known-term share ``known`` reaches
    ``known_floor``, and some passage clears the cosine floor or the coverage floor (see the
    module docstring). Without a cosine signal (bm25 mode) the cosine test cannot refuse."""
    if not documents or known < known_floor:
        return False
    cosine, coverage = evidence(documents)
    return cosine is None or cosine >= cosine_floor or (coverage or 0.0) >= coverage_floor


def statement_has_evidence(similarity: float, statement_terms: list[str], content_terms: list[str],
                           cosine_floor: float, coverage_floor: float) -> bool:
    """The floor of :func:`has_evidence` applied to one statement, as if it were a passage:
    its cosine to the query ``similarity`` reaches ``cosine_floor``, or its own analysed
    terms ``statement_terms`` hold at least ``coverage_floor`` of the query's ``content_terms``
    (:meth:`khub.index.store.PassageStore.content_terms`; no content terms -> no lexical evidence).

    A passage clears the floor on its best sentence (MaxSim), so its other sentences may
    still be about something else: a brief drawing several statements from a source that
    holds one relevant passage would otherwise be padded with its neighbours ("drought
    resilience" quoting drinking-water definitions from the reporting manual)."""
    if similarity >= cosine_floor:
        return True
    return bool(content_terms) and coverage(" ".join(statement_terms), content_terms) >= coverage_floor

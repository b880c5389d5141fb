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


def evidence(documents: list[Document]) -> tuple[float, float]:
    """``(best sentence cosine, best BM25 coverage)`` over ``documents``; 0 where a signal is absent."""
    cosine = max((float(d.meta.get("sentence_cosine") or 0.0) for d in documents), default=0.0)
    coverage = max((float(d.meta.get("bm25_coverage") or 0.0) for d in documents), default=0.0)
    return cosine, coverage


def has_evidence(documents: list[Document], known: float, cosine_floor: float, coverage_floor: float,
                 known_floor: float) -> bool:
    """True when the query's known-term share ``known`` reaches ``known_floor`` and some passage
    clears the cosine floor or the coverage floor (see the module docstring)."""
    cosine, coverage = evidence(documents)
    return known >= known_floor and (cosine >= cosine_floor or coverage >= coverage_floor)

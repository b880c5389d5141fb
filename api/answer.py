"""Extractive answers with citations, no LLM.

The answer is made of whole sentences copied verbatim from the retrieved passages
(:func:`khub.text.sentences.split_sentences` returns exact slices), each followed by a
citation marker ``[n]`` into the reference list (title, symbol, paragraph, page, language).

Which sentences (:func:`rank_sentences`, :func:`select_sentences`):

* Only statements: passages of an apparatus kind (tables, captions, reference lists,
  headings, footnotes, boilerplate; :data:`khub.kinds.APPARATUS`) give none, and
  questions, headings, fragments, lead-ins ending in a colon, footnote lines and
  citation lines are never quoted (:func:`is_statement`).
* A sentence's score fuses two rankings by reciprocal rank fusion (Cormack, Clarke &
  Büttcher 2009, k = 60): the rank of its passage in the retrieval, and its own rank
  by cosine to the question among all candidate sentences. The passage decides where the
  evidence is; the sentence similarity decides which sentence states it, across passages
  (a definition in the third passage beats an aside in the first). Neither alone wins: a
  short generic sentence the multilingual USE scores high still needs a well-ranked
  passage, and the best sentence of the first passage is not quoted when it says little.
  Scores are divided by the best, so the top statement scores 1. (Measured on
  ``bench/qrels/answers.jsonl``, tuning/test halves: the previous product of relative
  passage score and within-passage cosine found the gold span in 0.808/0.680.)
* The relative cut-off: a sentence is quoted only when its cosine reaches
  :data:`RELATIVE_FLOOR` of the best sentence's overall or, in the first passage, of the
  best sentence's of that passage (the top passage's main sentence stays eligible even
  when the encoder prefers a short sentence elsewhere: "What is the objective of the Convention?"
  gives article 2's sentence 0.19 and "The Conference of the Parties is the supreme body
  of the Convention." 0.52). So a short answer is preferred to one padded with sentences
  that are neither close to the question nor the point of their passage. Near-duplicates
  (cosine >= :data:`DUPLICATE_COSINE` to a chosen sentence, e.g. the same finding quoted
  by two documents) are dropped.
* Chosen statements are shown in reading order: by their passage's rank, then by their
  place in the passage.
* A list item keeps its lead-in (``meta["lead_in"]``, verbatim from the passage before);
  a sentence that begins in lower case continues a lead-in and is quoted only with it
  (:func:`continues_lead_in`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from haystack import Document

from khub.api.citation import format_citation
from khub.kinds import APPARATUS
from khub.text.scripts import text_units
from khub.text.sentences import split_sentences, strip_label
from khub.urls import http_url

#: A statement is at least this many words (a CJK character counting as one).
MIN_STATEMENT_UNITS = 5
#: Statements whose cosine to the question is under this share of the best statement's are left out.
RELATIVE_FLOOR = 0.6
#: Reciprocal rank fusion constant (Cormack, Clarke & Büttcher, SIGIR 2009).
RRF_K = 60
#: Two statements at least this similar (cosine of their embeddings) say the same thing.
DUPLICATE_COSINE = 0.92

_FINAL = re.compile(r"[.!。！»\"”;；]\s*$|[.。]\s*[\"”»’)）]\s*$")
_QUESTION = re.compile(r"[?？؟]\s*[\"”»)）]?\s*$")
_FOOTNOTE = re.compile(r"^\s*(?:[¹²³⁴⁵⁶⁷⁸⁹⁰]+|\[\d+\]|\d{1,2}\s+(?=[A-ZА-Я见參参]))")
_URL = re.compile(r"https?://|www\.|doi:", re.I)
_CITATION_LINE = re.compile(r"(?:19|20)\d{2}[a-z]?[.)].*\b(?:Journal|Policy|Press|pp?\.|vol\.|\d+:\d+)", re.I)

Embed = Callable[[list[str]], Any]


@dataclass(frozen=True)
class ScoredSentence:
    """One candidate statement.

    Attributes:
        text: the sentence, a verbatim slice of its passage's text.
        rank: 0-based rank of its passage in the list given to :func:`rank_sentences`.
        score: the statement score in [0, 1] (see the module docstring).
        similarity: its cosine to the question.
        vector: its unit embedding, for near-duplicate removal.
        within: its cosine relative to the best sentence of the same passage (1 for that one).
        offset: its character offset in the passage, for reading order.
    """

    text: str
    rank: int
    score: float
    similarity: float
    vector: np.ndarray
    within: float = 1.0
    offset: int = 0


def is_statement(sentence: str) -> bool:
    """True when ``sentence`` can be quoted as a statement: it ends like a sentence (``.``,
    ``。``, or ``;`` of a list item), is not a question, not a lead-in ending in a colon,
    has at least :data:`MIN_STATEMENT_UNITS` words, is not table cells run together (three
    or more lines, the median line shorter than :data:`MIN_STATEMENT_UNITS` words), and is
    not a footnote, link or bibliographic line."""
    s = sentence.strip()
    if not _FINAL.search(s) or _QUESTION.search(s):
        return False
    if text_units(strip_label(s)) < MIN_STATEMENT_UNITS:
        return False
    lines = [ln for ln in s.split("\n") if ln.strip()]
    if len(lines) >= 3 and sorted(text_units(ln) for ln in lines)[len(lines) // 2] < MIN_STATEMENT_UNITS:
        return False  # table cells flattened into one "sentence": most lines are a few words
    return not (_FOOTNOTE.match(s) or _URL.search(s) or _CITATION_LINE.search(s))


def continues_lead_in(sentence: str) -> bool:
    """True when ``sentence``, without its list label, begins with a lower-case letter: in a
    cased script (Latin, Cyrillic) it continues a lead-in ("b) strengthening of drought
    preparedness ...;", "динамике продуктивности земель ...;") and reads as a fragment
    unless that lead-in is quoted with it. A defined term in quotation marks (``d) “mitigating
    the effects of drought" means ...``) is not a continuation."""
    head = strip_label(sentence.strip())[:1]
    return head.isalpha() and head.islower()


def reference(n: int, doc: Document) -> dict[str, Any]:
    """The citation entry ``n`` for a passage: ``citation`` (:func:`khub.api.citation.format_citation`),
    the fields it is made of and, when the passage is the reader's edition of a retrieved
    translation, ``retrieved_id``/``retrieved_language``."""
    m = doc.meta
    return {
        "n": n, "id": doc.id, "citation": format_citation(m, doc.content), "title": m.get("title"), "symbol": m.get("symbol"),
        "paragraph": m.get("paragraph"), "page": m.get("page"), "page_label": m.get("page_label"), "year": m.get("year"), "language": m.get("language"),
        "source": m.get("source"), "path": m.get("path"), "url": http_url(m.get("url")), "section": m.get("section"),
        "kind": m.get("kind"), "retrieved_id": m.get("retrieved_id"), "retrieved_language": m.get("retrieved_language"),
        **{f: m.get(f) for f in ("article", "annex", "section_number", "section_paragraph", "country", "document_type",
                                 "period", "ocr")},
    }


def rank_sentences(question_embedding: list[float], passages: list[Document], embed: Embed) -> list[ScoredSentence]:
    """Every statement of ``passages`` (best first), scored against the question.

    Args:
        question_embedding: the question's unit vector.
        passages: retrieved passages, best first, with their retrieval ``score``.
        embed: ``list[str] -> (n, dim)`` unit vectors (the text embedder's batch call).

    Returns:
        Statements sorted by score (see the module docstring); empty when no passage has one.
    """
    candidates: list[tuple[str, int]] = []
    for rank, doc in enumerate(passages):
        if doc.meta.get("kind") in APPARATUS:
            continue
        lead_in = bool(doc.meta.get("lead_in")) and doc.meta.get("kind") == "list_item"
        candidates += [(s, rank) for s in split_sentences(doc.content or "")
                       if is_statement(s) and (lead_in or not continues_lead_in(s))]
    if not candidates:
        return []
    # paragraph numbers are embedded as noise ("29." resembles "3"), so they are left out of the vector
    vectors = np.asarray(embed([strip_label(s) for s, _ in candidates]), dtype=np.float32)
    sims = vectors @ np.asarray(question_embedding, dtype=np.float32)
    by_cosine = np.argsort(-sims, kind="stable")
    cosine_rank = np.empty(len(candidates), dtype=np.int64)
    cosine_rank[by_cosine] = np.arange(len(candidates))
    fused = [1.0 / (RRF_K + rank) + 1.0 / (RRF_K + int(cosine_rank[i])) for i, (_, rank) in enumerate(candidates)]
    best = max(fused)
    best_in_passage: dict[int, float] = {}
    for (_, rank), sim in zip(candidates, sims):
        best_in_passage[rank] = max(best_in_passage.get(rank, -1.0), float(sim))
    out = [ScoredSentence(text, rank, fused[i] / best, float(sims[i]), vectors[i],
                          float(sims[i]) / best_in_passage[rank] if best_in_passage[rank] > 0 else 0.0,
                          (passages[rank].content or "").find(text))
           for i, (text, rank) in enumerate(candidates)]
    return sorted(out, key=lambda s: -s.score)


def select_sentences(ranked: list[ScoredSentence], n: int, floor: float | None = None,
                     exclude: list[ScoredSentence] | None = None) -> list[ScoredSentence]:
    """The first ``n`` statements of ``ranked`` that clear the relative cut-off, skipping
    near-duplicates of each other and of ``exclude`` (cosine >= :data:`DUPLICATE_COSINE`),
    in reading order (passage rank, then offset in the passage).

    The cut-off (module docstring): cosine at least ``floor`` (default :data:`RELATIVE_FLOOR`
    times the best cosine in ``ranked``), or, in the first passage, at least
    :data:`RELATIVE_FLOOR` of that passage's best cosine."""
    if not ranked:
        return []
    floor = RELATIVE_FLOOR * max(s.similarity for s in ranked) if floor is None else floor
    chosen: list[ScoredSentence] = []
    seen = list(exclude or [])
    for s in ranked:
        if s.similarity < floor and not (s.rank == 0 and s.within >= RELATIVE_FLOOR):
            continue
        if any(s.text == o.text or float(s.vector @ o.vector) >= DUPLICATE_COSINE for o in seen):
            continue
        seen.append(s)
        chosen.append(s)
        if len(chosen) == n:
            break
    return sorted(chosen, key=lambda s: (s.rank, s.offset))


def cite(chosen: list[ScoredSentence], passages: list[Document],
         numbers: dict[str, int], references: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements as returned by the API, numbering new references in order of first citation.

    Returns:
        ``[{"text", "lead_in", "citation", "passage_id", "language", "score"}]``; ``numbers``
        (passage id -> n) and ``references`` are extended in place.
    """
    out = []
    for s in chosen:
        doc = passages[s.rank]
        if doc.id not in numbers:
            numbers[doc.id] = len(numbers) + 1
            references.append(reference(numbers[doc.id], doc))
        lead = doc.meta.get("lead_in") if doc.meta.get("kind") == "list_item" else None
        out.append({"text": s.text, "lead_in": lead, "citation": numbers[doc.id], "passage_id": doc.id,
                    "language": doc.meta.get("language"), "score": round(s.score, 4)})
    return out


def statement_line(s: dict[str, Any]) -> str:
    """A statement for display: its lead-in (if a list item), its text with line breaks
    folded to spaces, then ``[n]``."""
    text = " ".join(s["text"].split())
    if s.get("lead_in"):
        text = f"{' '.join(s['lead_in'].split())} … {text}"
    return f"{text} [{s['citation']}]"


def extractive_answer(question_embedding: list[float], passages: list[Document], embed: Embed,
                      n_sentences: int = 3) -> dict[str, Any]:
    """Select up to ``n_sentences`` statements of ``passages`` and cite them.

    Args:
        question_embedding: the question's unit vector.
        passages: retrieved passages, best first.
        embed: ``list[str] -> (n, dim)`` unit vectors (the text embedder's batch call).
        n_sentences: answer length in sentences.

    Returns:
        ``{"answer": "s1 [1] s2 [2]", "sentences": [statement], "references": [...]}``; see
        :func:`cite` for a statement. Empty answer and lists when no passage has a statement.
    """
    chosen = select_sentences(rank_sentences(question_embedding, passages, embed), n_sentences)
    numbers: dict[str, int] = {}
    references: list[dict[str, Any]] = []
    sentences = cite(chosen, passages, numbers, references)
    return {"answer": " ".join(statement_line(s) for s in sentences), "sentences": sentences,
            "references": references}

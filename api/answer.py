"""Extractive answers with citations, no LLM.

The answer is made of whole sentences copied verbatim from the retrieved passages
(:func:`khub.text.sentences.split_sentences` returns exact slices), each followed by a
citation marker ``[n]`` into the reference list (title, symbol, paragraph, page, language).

Which sentences (:func:`rank_sentences`, :func:`select_sentences`):

* Only statements: passages of an apparatus kind (tables, captions, reference lists,
  headings, footnotes, boilerplate; :data:`khub.kinds.APPARATUS`) give none, and
  questions, headings, fragments, lead-ins ending in a colon, footnote lines and
  citation lines are never quoted (:func:`is_statement`).
* A sentence's score is the product of its passage's retrieval score, relative to the
  best passage, and its cosine to the question relative to the best sentence *of the
  same passage*: the passage decides where the evidence is, the sentence similarity
  decides which sentence of it states it. So a short sentence of a weak passage cannot
  win on its similarity alone (the multilingual USE gives short generic sentences
  high cosines), and the best sentence of the best passage always scores 1.
* Sentences under :data:`RELATIVE_FLOOR` of the best score are left out, so a short
  answer is preferred to one padded with unrelated sentences; near-duplicates
  (cosine >= :data:`DUPLICATE_COSINE` to a chosen sentence, e.g. the same finding
  quoted by two documents) are dropped.
* A list item keeps its lead-in (``meta["lead_in"]``, verbatim from the passage before).
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

#: A statement is at least this many words (a CJK character counting as one).
MIN_STATEMENT_UNITS = 5
#: Statements scoring under this share of the best statement are left out.
RELATIVE_FLOOR = 0.6
#: Two statements at least this similar (cosine of their embeddings) say the same thing.
DUPLICATE_COSINE = 0.92

_FINAL = re.compile(r"[.!。！»\"”)）;；]\s*$|[.。]\s*[\"”»’)）]\s*$")
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
    """

    text: str
    rank: int
    score: float
    similarity: float
    vector: np.ndarray


def is_statement(sentence: str) -> bool:
    """True when ``sentence`` can be quoted as a statement: it ends like a sentence (``.``,
    ``。``, or ``;`` of a list item), is not a question, not a lead-in ending in a colon,
    has at least :data:`MIN_STATEMENT_UNITS` words, and is not a footnote, link or
    bibliographic line."""
    s = sentence.strip()
    if not _FINAL.search(s) or _QUESTION.search(s):
        return False
    if text_units(strip_label(s)) < MIN_STATEMENT_UNITS:
        return False
    return not (_FOOTNOTE.match(s) or _URL.search(s) or _CITATION_LINE.search(s))


def reference(n: int, doc: Document) -> dict[str, Any]:
    """The citation entry ``n`` for a passage: ``citation`` (:func:`khub.api.citation.format_citation`),
    the fields it is made of and, when the passage is the reader's edition of a retrieved
    translation, ``retrieved_id``/``retrieved_language``."""
    m = doc.meta
    return {
        "n": n, "id": doc.id, "citation": format_citation(m, doc.content), "title": m.get("title"), "symbol": m.get("symbol"),
        "paragraph": m.get("paragraph"), "page": m.get("page"), "year": m.get("year"), "language": m.get("language"),
        "source": m.get("source"), "path": m.get("path"), "url": m.get("url"), "section": m.get("section"),
        "kind": m.get("kind"), "retrieved_id": m.get("retrieved_id"), "retrieved_language": m.get("retrieved_language"),
        **{f: m.get(f) for f in ("article", "annex", "section_number", "section_paragraph")},
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
        candidates += [(s, rank) for s in split_sentences(doc.content or "") if is_statement(s)]
    if not candidates:
        return []
    # paragraph numbers are embedded as noise ("29." resembles "3"), so they are left out of the vector
    vectors = np.asarray(embed([strip_label(s) for s, _ in candidates]), dtype=np.float32)
    sims = vectors @ np.asarray(question_embedding, dtype=np.float32)
    top = max((d.score or 0.0) for d in passages) or 1.0
    best_in_passage: dict[int, float] = {}
    for (_, rank), sim in zip(candidates, sims):
        best_in_passage[rank] = max(best_in_passage.get(rank, -1.0), float(sim))
    out = []
    for i, ((text, rank), sim) in enumerate(zip(candidates, sims)):
        passage = max(passages[rank].score or 0.0, 0.0) / top if top > 0 else 1.0 / (1 + rank)
        best = best_in_passage[rank]
        within = float(sim) / best if best > 0 else 0.0
        out.append(ScoredSentence(text, rank, passage * max(within, 0.0), float(sim), vectors[i]))
    return sorted(out, key=lambda s: -s.score)


def select_sentences(ranked: list[ScoredSentence], n: int, floor: float | None = None,
                     exclude: list[ScoredSentence] | None = None) -> list[ScoredSentence]:
    """The first ``n`` statements of ``ranked`` scoring at least ``floor`` (default
    :data:`RELATIVE_FLOOR` times the best score), skipping near-duplicates of each other
    and of ``exclude`` (cosine >= :data:`DUPLICATE_COSINE`)."""
    if not ranked:
        return []
    floor = RELATIVE_FLOOR * ranked[0].score if floor is None else floor
    chosen: list[ScoredSentence] = []
    seen = list(exclude or [])
    for s in ranked:
        if s.score < floor:
            break
        if any(s.text == o.text or float(s.vector @ o.vector) >= DUPLICATE_COSINE for o in seen):
            continue
        seen.append(s)
        chosen.append(s)
        if len(chosen) == n:
            break
    return chosen


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

"""Extractive answers with citations, no LLM.

The answer is the few sentences of the top passages that are most similar to
the question in the multilingual embedding space (so an English question is
answered by Chinese sentences when the evidence is Chinese). Every sentence is
copied verbatim from its passage (:func:`khub.text.sentences.split_sentences`
returns exact slices) and followed by a citation marker ``[n]``; ``n`` indexes
the reference list (title, symbol, paragraph, page, language, path).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from haystack import Document

from khub.api.citation import format_citation
from khub.text.sentences import split_sentences, strip_label

_MIN_SENTENCE_CHARS = 12
#: Score penalty per rank position of the passage a sentence comes from: prefers
#: sentences of better-ranked passages when similarities are close.
_RANK_PENALTY = 0.01
#: Sentences scoring below this share of the best sentence's score are left out, so a
#: short answer is preferred to one padded with unrelated sentences.
_RELATIVE_FLOOR = 0.6
#: Penalty for a "sentence" with no final punctuation: usually a heading or a table cell.
_FRAGMENT_PENALTY = 0.05
_FINAL = re.compile(r"[.!?;。！？；؟]\s*$")


def reference(n: int, doc: Document) -> dict[str, Any]:
    """The citation entry ``n`` for a passage: ``citation`` (:func:`khub.api.citation.format_citation`)
    and the fields it is made of."""
    m = doc.meta
    return {
        "n": n, "id": doc.id, "citation": format_citation(m), "title": m.get("title"), "symbol": m.get("symbol"),
        "paragraph": m.get("paragraph"), "page": m.get("page"), "year": m.get("year"), "language": m.get("language"),
        "source": m.get("source"), "path": m.get("path"), "url": m.get("url"), "section": m.get("section"),
    }


def is_full_sentence(text: str) -> bool:
    """True when ``text`` ends with sentence-final punctuation (not a heading or table cell)."""
    return bool(_FINAL.search(text))


def rank_sentences(question_embedding: list[float], passages: list[Document], embed) -> list[tuple[str, int, float]]:
    """Every usable sentence of ``passages`` scored against the question, best first.

    The score is the cosine between the sentence (paragraph label stripped) and the question,
    minus 0.01 per rank position of its passage and 0.05 when it has no final punctuation
    (a heading or table cell). Sentences are verbatim slices of the passage text.

    Returns:
        ``[(sentence, passage rank, score)]`` sorted by score; empty when no passage has a
        sentence of 12 characters or more with letters in it.
    """
    candidates: list[tuple[str, int]] = []
    for rank, doc in enumerate(passages):
        for sentence in split_sentences(doc.content or ""):
            if len(sentence) >= _MIN_SENTENCE_CHARS and any(ch.isalpha() for ch in sentence):
                candidates.append((sentence, rank))
    if not candidates:
        return []
    # paragraph numbers are embedded as noise ("29." resembles "3"), so they are left out of the vector
    vectors = np.asarray(embed([strip_label(s) for s, _ in candidates]), dtype=np.float32)
    sims = vectors @ np.asarray(question_embedding, dtype=np.float32)
    fragments = np.array([0.0 if _FINAL.search(s) else 1.0 for s, _ in candidates])
    scores = sims - _RANK_PENALTY * np.array([r for _, r in candidates]) - _FRAGMENT_PENALTY * fragments
    order = np.argsort(-scores, kind="stable")
    return [(candidates[i][0], candidates[i][1], float(scores[i])) for i in order]


def select_sentences(ranked: list[tuple[str, int, float]], n: int, floor: float | None = None,
                     exclude: set[str] | None = None) -> list[tuple[str, int, float]]:
    """The first ``n`` distinct sentences of ``ranked`` scoring at least ``floor`` (default:
    60% of the best score, so a short answer is preferred to one padded with unrelated
    sentences), skipping texts in ``exclude``."""
    if not ranked:
        return []
    floor = _RELATIVE_FLOOR * ranked[0][2] if floor is None else floor
    chosen: list[tuple[str, int, float]] = []
    seen = set(exclude or ())
    for text, rank, score in ranked:
        if chosen and score < floor:
            break
        if text in seen:
            continue
        seen.add(text)
        chosen.append((text, rank, score))
        if len(chosen) == n:
            break
    return chosen


def extractive_answer(question_embedding: list[float], passages: list[Document], embed, n_sentences: int = 3) -> dict[str, Any]:
    """Select the ``n_sentences`` best sentences of ``passages`` and cite them.

    Args:
        question_embedding: the question's unit vector.
        passages: retrieved passages, best first.
        embed: ``list[str] -> (n, dim) ndarray`` of unit vectors (the text embedder's batch call).
        n_sentences: answer length in sentences.

    Returns:
        ``{"answer": "s1 [1] s2 [2]", "sentences": [{"text", "citation", "passage_id", "score"}],
        "references": [...]}``; references are numbered in order of first citation.
        Empty answer and lists when no passage has a usable sentence.
    """
    chosen = select_sentences(rank_sentences(question_embedding, passages, embed), n_sentences)
    if not chosen:
        return {"answer": "", "sentences": [], "references": []}
    numbers: dict[int, int] = {}
    references = []
    sentences = []
    for text, rank, score in chosen:
        if rank not in numbers:
            numbers[rank] = len(numbers) + 1
            references.append(reference(numbers[rank], passages[rank]))
        sentences.append({"text": text, "citation": numbers[rank], "passage_id": passages[rank].id,
                          "score": round(score, 4)})
    answer = " ".join(f"{s['text']} [{s['citation']}]" for s in sentences)
    return {"answer": answer, "sentences": sentences, "references": references}

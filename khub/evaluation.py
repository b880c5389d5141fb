"""Retrieval evaluation: recall@k, MRR@k and nDCG@10 from a qrels file.

QRELS format (JSON Lines), one query per line::

    {"id": "q1", "query": "...", "language": "en", "relevant_text": ["...", ...],
     "filters": {"language": "zh"}}          # filters optional

A retrieved passage is relevant when its text contains one of ``relevant_text``
after all whitespace is removed from both. Each gold string counts once: the
first passage that matches a not-yet-found gold string gains 1 (so a gold
paragraph split into two passages is not counted twice).

* recall@k: share of a query's gold strings found in the top k.
* MRR@k: 1 / rank of the first relevant passage in the top k (0 if none).
* nDCG@10: binary-gain DCG (Järvelin & Kekäläinen 2002, gain / log2(rank+1)) over
  the top 10, divided by the ideal DCG of min(#gold, 10) relevant passages.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

_WS = re.compile(r"\s+")


@dataclass
class Qrel:
    """One evaluation query."""

    id: str
    query: str
    language: str
    relevant_text: list[str]
    filters: dict[str, Any]


def _read_jsonl(path: Path, make: Callable[[dict[str, Any], int], Any], what: str) -> list[Any]:
    """``make(object, line number)`` for every non-blank line of a JSON Lines file.

    Raises:
        ValueError: a line that is not JSON or that ``make`` rejects (KeyError/TypeError),
            naming the file and line.
    """
    out = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(make(json.loads(line), lineno))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: bad {what} line ({type(err).__name__}: {err})") from err
    return out


def load_qrels(path: Path) -> list[Qrel]:
    """Read a qrels JSONL file.

    Raises:
        ValueError: a line that is not JSON or lacks ``query``/``relevant_text`` (names the line).
    """
    return _read_jsonl(path, lambda obj, lineno: Qrel(
        id=str(obj.get("id", lineno)), query=obj["query"], language=obj.get("language", "?"),
        relevant_text=list(obj["relevant_text"]), filters=obj.get("filters") or {}), "qrels")


def gains(texts: list[str], relevant: list[str]) -> list[int]:
    """Binary gain per retrieved text (each gold string is credited once)."""
    gold = [_WS.sub("", g) for g in relevant if g.strip()]
    found: set[int] = set()
    out = []
    for text in texts:
        flat = _WS.sub("", text)
        hit = next((i for i, g in enumerate(gold) if i not in found and g in flat), None)
        if hit is None:
            out.append(0)
        else:
            found.add(hit)
            out.append(1)
    return out


def query_metrics(texts: list[str], relevant: list[str], k: int) -> dict[str, float]:
    """recall@k, mrr@k and ndcg@10 for one ranked list of passage texts."""
    n_gold = len([g for g in relevant if g.strip()]) or 1
    g = gains(texts[: max(k, 10)], relevant)
    recall = sum(g[:k]) / n_gold
    mrr = next((1.0 / (i + 1) for i, x in enumerate(g[:k]) if x), 0.0)
    dcg = sum(x / math.log2(i + 2) for i, x in enumerate(g[:10]))
    idcg = sum(1 / math.log2(i + 2) for i in range(min(n_gold, 10)))
    return {"recall": recall, "mrr": mrr, "ndcg@10": dcg / idcg if idcg else 0.0}


def evaluate(qrels: list[Qrel], search: Callable[[str, int, dict], list[str]], k: int = 10) -> dict[str, Any]:
    """Run every query through ``search(query, n, filters) -> [passage texts]`` and average.

    Returns:
        ``{"k", "queries", "overall": {recall@k, mrr@k, ndcg@10}, "by_language": {...},
        "per_query": [...]}``.
    """
    per_query = []
    for q in qrels:
        texts = search(q.query, max(k, 10), q.filters)
        m = query_metrics(texts, q.relevant_text, k)
        per_query.append({"id": q.id, "language": q.language, **m})

    def mean(rows: list[dict]) -> dict[str, float]:
        n = len(rows) or 1
        return {
            f"recall@{k}": round(sum(r["recall"] for r in rows) / n, 4),
            f"mrr@{k}": round(sum(r["mrr"] for r in rows) / n, 4),
            "ndcg@10": round(sum(r["ndcg@10"] for r in rows) / n, 4),
            "queries": len(rows),
        }

    languages = sorted({str(r["language"]) for r in per_query})
    return {
        "k": k,
        "queries": len(per_query),
        "overall": mean(per_query),
        "by_language": {lang: mean([r for r in per_query if r["language"] == lang]) for lang in languages},
        "per_query": per_query,
    }


@dataclass
class AnswerQuestion:
    """One question of an answer dev set (``bench/qrels/answers.jsonl``): the gold span is a
    distinctive verbatim piece of the sentence that answers it."""

    id: str
    question: str
    language: str
    gold_span: str


def load_answer_questions(path: Path) -> list[AnswerQuestion]:
    """Read an answer dev set (JSON Lines ``{"id", "question", "language", "gold_span"}``).

    Raises:
        ValueError: a line that is not JSON or lacks a field, naming the file and line.
    """
    return _read_jsonl(path, lambda row, _: AnswerQuestion(row["id"], row["question"], row["language"],
                                                           row["gold_span"]), "answer question")


def evaluate_answers(questions: list[AnswerQuestion], ask: Callable[[str], dict[str, Any]],
                     passage_text: Callable[[str], str | None],
                     languages_of: Callable[[str], set[str]]) -> dict[str, Any]:
    """Answer every question and measure what reaches the reader.

    Args:
        questions: the dev set.
        ask: ``question -> POST /ask response`` (``sentences`` with ``text``, ``lead_in``,
            ``passage_id``, ``language``, ``citation``; ``references`` with ``n``, ``kind``).
        passage_text: passage id -> its stored text (for the verbatim check).
        languages_of: passage id -> languages the store holds that passage's paragraph in.

    Returns:
        ``{"questions", "gold_in_answer", "junk_share", "reader_language", "verbatim",
        "statements", "per_question": [...]}`` where

        * gold_in_answer: share of questions whose answer sentences contain the gold span
          (whitespace ignored);
        * junk_share: share of statements quoted from an apparatus passage
          (:data:`khub.kinds.APPARATUS`) or that are not statements
          (:func:`khub.api.answer.is_statement`);
        * reader_language: among statements whose paragraph exists in the question's
          language, the share shown in it;
        * verbatim: share of statements that are exact slices of their passage (must be 1.0).
    """
    from khub.api.answer import is_statement
    from khub.kinds import APPARATUS

    per_question = []
    n_statements = junk = verbatim = in_language = could_be = 0
    for q in questions:
        answer = ask(q.question)
        kinds = {r["n"]: r.get("kind") for r in answer.get("references", [])}
        gold = _WS.sub("", q.gold_span)
        found = False
        for s in answer.get("sentences", []):
            n_statements += 1
            junk += int(kinds.get(s["citation"]) in APPARATUS or not is_statement(s["text"]))
            verbatim += int(s["text"] in (passage_text(s["passage_id"]) or ""))
            if q.language in languages_of(s["passage_id"]):
                could_be += 1
                in_language += int(s.get("language") == q.language)
            found = found or gold in _WS.sub("", (s.get("lead_in") or "") + s["text"])
        per_question.append({"id": q.id, "language": q.language, "gold_in_answer": found,
                             "no_match": bool(answer.get("no_match")), "answer": answer.get("answer", "")})
    n = max(len(questions), 1)
    return {
        "questions": len(questions),
        "gold_in_answer": round(sum(p["gold_in_answer"] for p in per_question) / n, 3),
        "junk_share": round(junk / max(n_statements, 1), 3),
        "reader_language": round(in_language / could_be, 3) if could_be else None,
        "verbatim": round(verbatim / max(n_statements, 1), 3),
        "statements": n_statements,
        "per_question": per_question,
    }

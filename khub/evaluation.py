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


def load_qrels(path: Path) -> list[Qrel]:
    """Read a qrels JSONL file.

    Raises:
        ValueError: a line that is not JSON or lacks ``query``/``relevant_text`` (names the line).
    """
    qrels = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            qrels.append(Qrel(id=str(obj.get("id", lineno)), query=obj["query"], language=obj.get("language", "?"),
                              relevant_text=list(obj["relevant_text"]), filters=obj.get("filters") or {}))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: bad qrels line ({type(err).__name__}: {err})") from err
    return qrels


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

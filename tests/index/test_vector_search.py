"""The dense leg's search (khub.index.vector_search): binary codes with float32 re-scoring, on
real USE vectors of corpus sentences and real development questions, against the exact scan."""

from __future__ import annotations

import json

import numpy as np
import pytest

from khub.index.vector_search import DenseIndex
from khub.text.sentences import split_sentences
from tests.conftest import CONVENTION, MANUAL, ROOT

pytest.importorskip("faiss", reason="faiss-cpu is a dependency of khub")


@pytest.fixture(scope="module")
def vectors(use_embedders):
    """~3,000 real sentence vectors (the Convention and the PRAIS manual in six languages) and
    30 real questions of bench/qrels, embedded with the packaged USE."""
    text, _ = use_embedders
    sentences = split_sentences(CONVENTION.read_text(encoding="utf-8"))
    for path in sorted(MANUAL.rglob("*")):
        if path.is_file() and path.suffix in (".md", ".txt"):
            sentences += split_sentences(path.read_text(encoding="utf-8"))
    sentences = [s for s in dict.fromkeys(sentences) if len(s) > 20][:3000]
    lines = (ROOT / "bench/qrels/iccd_questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["query"] for line in lines if line.strip()][:30]
    return text.embed(sentences), text.embed(questions)


def _exact(matrix, q, k, mask):
    scores = np.where(mask, matrix @ q, -np.inf)
    return set(np.argsort(-scores)[:k].tolist())


def test_binary_codes_with_rescoring_find_the_exact_neighbours(vectors):
    """Forced onto the approximate path, the top 10 overlaps the exact top 10 at >= 0.95, and
    every score is the true cosine of its row (re-scored in float32)."""
    matrix, questions = vectors
    assert len(matrix) >= 1000
    has = np.ones(len(matrix), dtype=bool)
    index = DenseIndex(matrix, has, exact_below=0)
    everything = np.ones(len(matrix), dtype=bool)
    assert index.approximate(len(matrix))
    overlap = []
    for q in questions:
        rows, scores = index.search(q, 10, everything)
        assert len(rows) == 10 and np.all(np.diff(scores) <= 1e-6)
        assert np.allclose(scores, matrix[rows] @ q, atol=1e-5)
        overlap.append(len(set(rows.tolist()) & _exact(matrix, q, 10, everything)) / 10)
    assert np.mean(overlap) >= 0.95, np.mean(overlap)


def test_filters_still_return_k_results(vectors):
    """A filter keeping one row in six still gets k results from the approximate path; a filter
    keeping 7 rows returns exactly those 7 (exact scan); rows without a vector never come back."""
    matrix, questions = vectors
    has = np.ones(len(matrix), dtype=bool)
    has[::5] = False  # rows without a vector
    index = DenseIndex(matrix, has, exact_below=0)
    sixth = (np.arange(len(matrix)) % 6) == 1
    for q in questions[:10]:
        rows, _ = index.search(q, 10, sixth)
        assert len(rows) == 10 and sixth[rows].all() and has[rows].all()
    few = np.zeros(len(matrix), dtype=bool)
    few[[1, 2, 3, 4, 6, 7, 8]] = True
    rows, scores = index.search(questions[0], 10, few)
    assert sorted(rows.tolist()) == [1, 2, 3, 4, 6, 7, 8]
    assert np.allclose(scores, matrix[rows] @ questions[0], atol=1e-5)


def test_small_sets_are_searched_exactly(vectors):
    matrix, questions = vectors
    index = DenseIndex(matrix, np.ones(len(matrix), dtype=bool))  # default: exact below 100k
    assert not index.approximate(len(matrix))
    mask = np.ones(len(matrix), dtype=bool)
    rows, _ = index.search(questions[0], 10, mask)
    assert set(rows.tolist()) == _exact(matrix, questions[0], 10, mask)

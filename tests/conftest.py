"""Shared fixtures: the real sample corpus ingested once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
COP15 = CORPORA / "iccd/zh/COP15_partnerships-with-conventions-and-organizations.zh.txt"
COP14 = CORPORA / "iccd/zh/ICCD-COP14-CST5_spi-knowledge-hub-best-practices.zh.txt"
COP16 = CORPORA / "iccd/zh/ICCD-COP16-CST7_spi-work-programme-post-2024.zh.txt"
CONVENTION = CORPORA / "unccd-convention/unccd_convention_1994_en.md"
MANUAL = CORPORA / "prais4-manual-2022"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """Data dir holding the whole sample corpus, ingested once."""
    from khub.index.embedders import build_embedders
    from khub.index.indexer import ingest_paths
    from khub.index.stores import open_store
    from khub.settings import Settings

    data_dir = tmp_path_factory.mktemp("khub-data")
    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    text_embedder, doc_embedder = build_embedders(settings)
    results = ingest_paths([CORPORA], settings, store, doc_embedder, text_embedder=text_embedder)
    failed = [r for r in results if r.status == "failed"]
    assert not failed, failed
    store.close()
    return data_dir


@pytest.fixture(scope="session")
def service(corpus_dir):
    """A SearchService over the ingested corpus."""
    from khub.api.service import SearchService
    from khub.settings import Settings

    return SearchService(Settings(data_dir=corpus_dir))


@pytest.fixture(scope="session")
def use_embedders():
    """The packaged multilingual USE text and document embedders."""
    from khub.index.embedders import build_embedders
    from khub.settings import Settings

    return build_embedders(Settings())


def pytest_collection_modifyitems(items):
    """Tests on the whole ingested sample corpus (the ``corpus_dir`` fixture, ~40 s to build
    once per session) are ``slow``: the inner loop ``pytest -m "not slow"`` leaves them out."""
    for item in items:
        if "corpus_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)

"""Only http(s) links are stored and returned: a hostile QCAT record or sidecar URL
("javascript:...") is dropped at ingest, and a store written before the check still never
returns one."""

from __future__ import annotations

import json
import shutil

import pytest

from khub.api.service import SearchService
from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.indexer import ingest_paths
from khub.settings import Settings
from khub.urls import http_url
from tests.conftest import ROOT

HOSTILE = "javascript:alert(document.domain)"


@pytest.mark.parametrize("value, expected", [
    ("https://qcat.wocat.net/en/wocat/technologies/view/technologies_1724/",
     "https://qcat.wocat.net/en/wocat/technologies/view/technologies_1724/"),
    ("  http://example.org/a?b=1  ", "http://example.org/a?b=1"),
    (HOSTILE, None), ("JavaScript:alert(1)", None), (" javascript:alert(1)", None), ("data:text/html,<b>x</b>", None),
    ("vbscript:msgbox(1)", None), ("//evil.example/x", None), ("/relative/page", None), ("https://", None),
    ("https://example.org/\"onmouseover=alert(1)", None), ("https://exa mple.org/", None), (None, None), (42, None),
])
def test_http_url(value, expected):
    assert http_url(value) == expected


def test_hostile_record_url_is_dropped_at_ingest_and_never_returned(tmp_path, use_embedders):
    record = json.loads((ROOT / "corpora/wocat/technologies_1724.json").read_text(encoding="utf-8"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "technologies_1724.json").write_text(json.dumps({**record, "url": HOSTILE}), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data")
    store = EmbeddedDocumentStore(settings.data_dir)
    text, docs = use_embedders
    results = ingest_paths([folder], settings, store, docs, text_embedder=text)
    assert [r.status for r in results] == ["indexed"], results
    stored = store.filter_documents()
    assert stored and all(d.meta.get("url") is None for d in stored)
    # a store written before the check: the API still returns no such link
    store.update_meta({d.id: {"url": HOSTILE} for d in stored})
    service = SearchService(settings, store=store, embedders=use_embedders)
    found = service.search("contour trench bund Afghanistan", k=5)["results"]
    assert found and all(hit["url"] is None and "javascript" not in hit["citation"] for hit in found)
    answer = service.ask("What are the strengths of the contour trench bund?")
    assert all(ref["url"] is None for ref in answer["references"])
    assert service.document(found[0]["id"])["meta"]["url"] is None


def test_hostile_sidecar_url_is_dropped(tmp_path, use_embedders):
    folder = tmp_path / "spi"
    folder.mkdir()
    shutil.copy(ROOT / "tests/fixtures/bad/manual_intro_cp1252.txt", folder / "brief.txt")
    (folder / "brief.meta.json").write_text(json.dumps({"title": "A brief", "year": 2022, "url": HOSTILE}),
                                            encoding="utf-8")
    from khub.ingest.pipeline import publication_metadata

    meta = publication_metadata(folder / "brief.txt", ["A brief"])
    assert meta == {"title": "A brief", "year": 2022}

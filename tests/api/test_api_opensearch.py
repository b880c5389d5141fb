"""The HTTP API on an OpenSearch-backed store, live (issue 24): the same files ingested into
the embedded store and into a live node give the same answers through every route.

Runs when ``KHUB_OPENSEARCH_URL`` names a live cluster (``.ci/run`` starts one with
``scripts/opensearch-node start``); skipped, with that reason, otherwise."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from fastapi.testclient import TestClient

from khub.api.app import create_app
from khub.api.service import SearchService
from khub.index.embedders import build_embedders
from khub.index.indexer import ingest_paths
from khub.index.stores import open_store
from khub.settings import Settings
from tests.conftest import CONVENTION, CORPORA, MANUAL

URL = os.environ.get("KHUB_OPENSEARCH_URL")
pytestmark = [pytest.mark.integration, pytest.mark.skipif(
    not URL, reason="needs a live OpenSearch: set KHUB_OPENSEARCH_URL (`scripts/opensearch-node start` prints one)")]


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """TestClients of the embedded store and of a throw-away OpenSearch index holding the same
    files: the English and French manual, the Convention, the WOCAT record.

    Edition alignment is off (``align_editions=False``): it rewrites the passages it groups, and
    the embedded store then counts the rewritten passages twice in the document frequencies
    that choose a query's content terms (tantivy's ``doc_freq`` includes deleted documents
    until their segment is merged), while OpenSearch, after its forcemerge, does not. Found by
    this test; the manual's editions are still grouped by its alignment file."""
    pytest.importorskip("opensearchpy", reason="pip install -e '.[opensearch]'")
    folder = tmp_path_factory.mktemp("corpus")
    for lang in ("en", "fr"):
        shutil.copytree(MANUAL / lang, folder / "manual" / lang)
    shutil.copy(MANUAL / "segments_aligned.jsonl", folder / "manual")  # the editions' alignment file
    shutil.copy(CONVENTION, folder / CONVENTION.name)
    shutil.copytree(CORPORA / "wocat", folder / "wocat")
    index = f"khub-apitest-{uuid.uuid4().hex[:8]}"
    stores = {"embedded": Settings(data_dir=tmp_path_factory.mktemp("data"), align_editions=False),
              "opensearch": Settings(store="opensearch", opensearch_url=URL, opensearch_index=index,
                                     data_dir=tmp_path_factory.mktemp("os-data"), align_editions=False)}
    text, docs = build_embedders(stores["embedded"])
    services = {}
    for name, settings in stores.items():
        store = open_store(settings)
        failed = [r for r in ingest_paths([folder], settings, store, docs, text_embedder=text) if r.status == "failed"]
        assert not failed, failed
        services[name] = SearchService(settings, store=store)
    with TestClient(create_app(stores["embedded"], service=services["embedded"])) as embedded, \
            TestClient(create_app(stores["opensearch"], service=services["opensearch"])) as live:
        yield embedded, live
    client = services["opensearch"].store.client
    for name in (f"{index}-v*", f"{index}-documents-v*", f"{index}-kv"):
        client.indices.delete(index=name, ignore=[404])
    client.indices.delete_index_template(name=index, ignore=[404])


@pytest.mark.parametrize("params", [
    {"q": "land degradation neutrality", "k": 10},
    {"q": "dégradation des terres", "k": 10, "language": "fr"},
    {"q": "contour trench bund", "k": 5, "source": "wocat"},
    {"q": "What is the objective of the Convention?", "k": 5, "mode": "dense"},
    {"q": "drought", "k": 5, "mode": "bm25", "collapse": "false"},
])
def test_search_gives_the_same_results_on_both_stores(clients, params):
    embedded, live = clients
    a, b = (c.get("/search", params=params) for c in clients)
    assert a.status_code == b.status_code == 200, b.text
    ids = lambda r: [(x["id"], x["citation"]) for x in r.json()["results"]]  # noqa: E731
    assert ids(b) == ids(a) and ids(a)
    assert b.json()["no_match"] == a.json()["no_match"]


def test_facets_ask_brief_and_reading_view_agree(clients):
    embedded, live = clients
    a, b = embedded.get("/facets").json(), live.get("/facets").json()
    assert b["documents"] == a["documents"] == 8
    assert {f: v for f, v in b["facets"].items() if f != "language"} == {
        f: v for f, v in a["facets"].items() if f != "language"}
    question = {"question": "What is the objective of the Convention?", "source": "convention"}
    a, b = embedded.post("/ask", json=question).json(), live.post("/ask", json=question).json()
    assert b["answer"] == a["answer"] and "combat desertification" in b["answer"]
    topic = {"topic": "drought early warning"}
    a, b = embedded.post("/brief", json=topic).json(), live.post("/brief", json=topic).json()
    assert [s["text"] for s in b["key_findings"]] == [s["text"] for s in a["key_findings"]]
    hit = live.get("/search", params={"q": "land cover change", "source": "manual", "language": "en"}).json()
    pid = hit["results"][0]["id"]
    view = live.get(f"/passages/{pid}/context").json()
    assert view["has_original"] and any(p["current"] for p in view["passages"])
    assert {e["language"] for e in live.get(f"/passages/{pid}/translations").json()["editions"]} >= {"en", "fr"}
    assert live.get(f"/passages/{pid}/original").status_code == 200
    assert live.get("/health").json()["status"] == "ok"


@pytest.mark.xfail(strict=True, reason="known difference (issue 24): OpenSearch counts a document under every "
                   "language its passages are in (an aggregation over the passage index), the embedded store "
                   "under its document language (its record): en 7 against 5 of these 8 documents")
def test_the_language_facet_counts_documents_alike(clients):
    embedded, live = clients
    assert live.get("/facets").json()["facets"]["language"] == embedded.get("/facets").json()["facets"]["language"]

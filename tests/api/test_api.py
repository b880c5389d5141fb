"""The HTTP API through FastAPI's TestClient, on the real corpus."""

import pytest
from fastapi.testclient import TestClient

from khub.api.app import create_app


@pytest.fixture(scope="module")
def client(service):
    with TestClient(create_app(service.settings, service=service)) as c:
        yield c


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["passages"] > 1000 and body["documents"] == 31


def test_search_returns_cited_results(client):
    r = client.get("/search", params={"q": "What did Action Track 3 of the Food Systems Summit aim for", "k": 5})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 5
    assert set(results[0]) >= {"id", "text", "score", "title", "symbol", "paragraph", "page", "language", "source", "path"}
    assert any(x["paragraph"] in ("28", "29") and "COP15" in x["path"] for x in results)


def test_search_filters(client):
    r = client.get("/search", params={"q": "drought", "k": 5, "language": "ru"})
    assert r.status_code == 200 and {x["language"] for x in r.json()["results"]} == {"ru"}


def test_validation_errors_name_the_field(client):
    r = client.get("/search", params={"k": 5})
    assert r.status_code == 422 and r.json()["message"].startswith("q:")
    r = client.get("/search", params={"q": "drought", "k": 0})
    assert r.status_code == 422 and "k:" in r.json()["message"]
    r = client.post("/ask", json={"k": 3})
    assert r.status_code == 422 and "question" in r.json()["message"]


def test_documents_endpoint(client):
    hit = client.get("/search", params={"q": "和平森林倡议", "k": 1}).json()["results"][0]
    doc = client.get(f"/documents/{hit['id']}").json()
    assert doc["id"] == hit["id"] and doc["text"] == hit["text"] and doc["meta"]["language"] == "zh"
    assert client.get("/documents/nope:0").status_code == 404


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    assert "/search" in client.get("/openapi.json").json()["paths"]


def test_facets(client):
    everything = client.get("/facets").json()
    assert everything["documents"] == 31
    f = everything["facets"]
    assert f["source"] == {"manual": 18, "iccd": 3, "convention": 1, "wocat": 1, "national_report": 6, "spi": 2}
    assert f["country"] == {"Egypt": 6, "Afghanistan": 1} and f["land_use"] == {"Grazing land": 1}
    assert f["document_type"] == {"national action programme": 3, "national report": 2, "national action plan": 1}
    assert f["body"] == {"CST": 2, "COP": 1} and f["year"]["2019"] == 1
    assert f["language"]["zh"] == 6  # 3 ICCD documents + 3 manual chapters
    wocat = client.get("/facets", params={"q": "contour trench runoff infiltration", "source": "wocat"}).json()
    assert wocat["documents"] == 1 and wocat["facets"]["country"] == {"Afghanistan": 1}
    iccd = client.get("/facets", params={"body": "CST"}).json()
    assert iccd["documents"] == 2 and iccd["facets"]["source"] == {"iccd": 2}
    plans = client.get("/facets", params={"document_type": "national action plan"}).json()
    assert plans["documents"] == 1 and plans["facets"]["language"] == {"ar": 1}
    r = client.get("/search", params={"q": "grazing land", "country": "Afghanistan", "land_use": "Grazing land"})
    assert r.status_code == 200 and {x["source"] for x in r.json()["results"]} == {"wocat"}


def test_total_paging_sort_and_year_range(client):
    first = client.get("/search", params={"q": "land degradation", "k": 5}).json()
    assert first["total"] >= 10 and 1 <= first["total_documents"] <= first["total"]
    second = client.get("/search", params={"q": "land degradation", "k": 5, "offset": 5}).json()
    ids = [r["id"] for r in first["results"]] + [r["id"] for r in second["results"]]
    assert len(set(ids)) == 10 and second["total"] == first["total"]
    whole = client.get("/search", params={"q": "land degradation", "k": 10}).json()
    assert [r["id"] for r in whole["results"]] == ids  # pages are slices of one list
    dated = client.get("/search", params={"q": "land degradation", "k": 20, "sort": "date"}).json()["results"]
    years = [r["year"] for r in dated if r["year"] is not None]
    assert years == sorted(years, reverse=True) and years
    ranged = client.get("/search", params={"q": "land degradation", "year_from": 2020, "year_to": 2022}).json()
    assert ranged["results"] and all(2020 <= r["year"] <= 2022 for r in ranged["results"])
    bad = client.get("/search", params={"q": "soil", "year_from": 2022, "year_to": 2019})
    assert bad.status_code == 422 and bad.json()["message"].startswith("year_from")


def test_reading_view_context(client):
    hit = client.get("/search", params={"q": "What is the objective of the Convention?", "source": "convention"}).json()
    pid = hit["results"][0]["id"]
    view = client.get(f"/passages/{pid}/context", params={"before": 2, "after": 2}).json()
    current = [p for p in view["passages"] if p["current"]]
    assert len(current) == 1 and current[0]["id"] == pid
    assert 2 <= len(view["passages"]) <= 5 and view["citation"].startswith("UNCCD")
    positions = [int(p["id"].rsplit(":", 1)[1]) for p in view["passages"]]
    assert positions == sorted(positions) and len(set(p["id"].split(":")[0] for p in view["passages"])) == 1
    manual = client.get("/search", params={"q": "land cover change", "source": "manual", "language": "en"}).json()
    editions = client.get(f"/passages/{manual['results'][0]['id']}/context").json()["translations"]
    assert {e["language"] for e in editions} >= {"fr", "zh"}
    assert client.get("/passages/nope:1/context").status_code == 404
    assert view["has_original"]
    original = client.get(f"/passages/{pid}/original")
    assert original.status_code == 200 and original.headers["content-type"].startswith("text/markdown")
    assert "ARTICLE 2" in original.text.upper() and "inline" in original.headers["content-disposition"]
    assert client.get("/passages/nope:1/original").status_code == 404


def test_arabic_plan_found_readable_by_its_printed_page(client):
    """Issue 12's done-when: the Arabic national action plan's printed page 31 (physical 46),
    whose text layer is garbled, is found by its words and reads as printed (OCR)."""
    r = client.get("/search", params={"q": "الهيكل الاقتصادي في مصر", "k": 5})
    assert r.status_code == 200
    top = r.json()["results"][0]
    assert top["source"] == "national_report" and top["country"] == "Egypt"
    assert top["document_type"] == "national action plan" and top["language"] == "ar"
    assert (top["page"], top["page_label"], top["ocr"]) == (46, "31", True)
    assert "يعد الهيكل الاقتصادي في مصر من أكثر الهياكل الاقتصادية" in " ".join(top["text"].split())
    assert top["citation"].startswith("Egypt, خطة العمل المصرية") and top["citation"].endswith("p. 31 (PDF p. 46)")


def test_egyptian_reports_cite_country_year_and_page(client):
    r = client.get("/search", params={"q": "land reclamation and top soil skimming in the Nile Valley",
                                      "source": "national_report", "language": "en", "k": 5})
    results = r.json()["results"]
    assert results and all(x["country"] == "Egypt" for x in results)
    for hit in results:
        when = str(hit["year"] or hit["period"])
        assert hit["citation"].startswith("Egypt, ") and f"({when})" in hit["citation"]
        assert f"p. {hit['page_label'] or hit['page']}" in hit["citation"] and hit["ocr"] is False

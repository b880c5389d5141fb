"""Extractive, cited answers: every sentence is verbatim in the passage it cites."""

import re

import pytest
from fastapi.testclient import TestClient

from khub.api.answer import statement_line
from khub.api.app import create_app


def _check_answer(data, client=None):
    assert data["sentences"], "an answer was expected"
    refs = {r["n"]: r for r in data["references"]}
    assert sorted(refs) == list(range(1, len(refs) + 1))
    passages = {p["id"]: p for p in data["passages"]}
    for s in data["sentences"]:
        ref = refs[s["citation"]]
        assert ref["id"] == s["passage_id"]
        assert s["text"] in passages[ref["id"]]["text"], "answer sentence must be copied verbatim"
        if client is not None:  # the reference resolves to a stored passage
            stored = client.get(f"/documents/{ref['id']}").json()
            assert s["text"] in stored["text"]
    # the answer text is the sentences (line breaks folded, a list item after its lead-in), each followed by its marker
    expected = " ".join(statement_line(s) for s in data["sentences"])
    assert data["answer"] == expected
    assert re.search(r"\[\d+\]$", data["answer"])


def test_english_question_about_chinese_document(service):
    data = service.ask("What did Action Track 3 of the Food Systems Summit aim for?")
    _check_answer(data)
    langs = {r["language"] for r in data["references"]}
    assert "zh" in langs
    assert any("行动轨道 3" in s["text"] or "自然向好型" in s["text"] for s in data["sentences"])
    cited = [r for r in data["references"] if "COP15" in r["path"]]
    assert cited and cited[0]["paragraph"] in {"28", "29", "30"}


def test_ask_over_http(service):
    with TestClient(create_app(service.settings, service=service)) as client:
        r = client.post("/ask", json={"question": "What is the objective of the Convention?", "source": "convention"})
        assert r.status_code == 200
        data = r.json()
        _check_answer(data, client)
        assert {ref["source"] for ref in data["references"]} == {"convention"}


def test_citations_name_symbol_paragraph_and_practice(service):
    """Every reference and hit carries a one-line citation in the form its source is cited."""
    data = service.ask("How many members does the Science-Policy Interface have and how are they renewed?",
                       filters={"symbol": "ICCD/COP(14)/CST/5"})
    _check_answer(data)
    for ref in data["references"]:
        assert ref["citation"].startswith("ICCD/COP(14)/CST/5")
        if ref["paragraph"]:
            assert f"para. {ref['paragraph']}" in ref["citation"] and ref["citation"].endswith("(2019)")
    hits = service.search("contour trench bund soil moisture", k=3, filters={"source": "wocat"})["results"]
    url = "https://qcat.wocat.net/en/wocat/technologies/view/technologies_1724/"
    for hit in hits:
        assert hit["citation"].startswith("WOCAT SLM database, technologies_1724: Contour Trench Bund (Afghanistan)")
        assert hit["citation"].endswith(url) and hit["url"] == url and hit["year"] == 2017
    cop15 = service.search("行动轨道 3 的目标", k=5, filters={"body": "COP", "session": 15})["results"]
    assert cop15 and all(h["citation"].startswith("COP 15: ") for h in cop15)  # no symbol in that note: none invented
    assert any(h["paragraph"] and f"para. {h['paragraph']}" in h["citation"] for h in cop15)


@pytest.mark.parametrize("sentence, expected", [
    ("b) strengthening of drought preparedness and management;", True),
    ("динамике продуктивности земель за базовый период;", True),
    ("d) “mitigating the effects of drought\" means activities related to the prediction of drought;", False),
    ("2. National action programmes shall specify the respective roles of government.", False),
    ("可持续土地管理技术拥有促成多种效益的潜力。", False),
])
def test_continues_lead_in(sentence, expected):
    from khub.api.answer import continues_lead_in

    assert continues_lead_in(sentence) is expected

"""Hybrid retrieval on the real corpus."""

from haystack import Document

from khub.index.retrieval import reciprocal_rank_fusion


def test_rrf_orders_by_summed_reciprocal_ranks():
    a, b, c = (Document(id=i, content=i) for i in "abc")
    fused = reciprocal_rank_fusion([[a, b], [b, c]], [1.0, 1.0], k=60)
    assert [d.id for d in fused] == ["b", "a", "c"]
    assert abs(fused[0].score - (1 / 62 + 1 / 61)) < 1e-12
    weighted = reciprocal_rank_fusion([[a, b], [b, c]], [0.0, 1.0], k=60)
    assert [d.id for d in weighted][:2] == ["b", "c"]


def test_english_question_finds_chinese_paragraph(service):
    data = service.search("What did Action Track 3 of the Food Systems Summit aim for", k=5)
    assert data["query_language"] == "en"
    top = [(r["path"], r["paragraph"]) for r in data["results"]]
    cop15 = "corpora/iccd/zh/COP15_partnerships-with-conventions-and-organizations.zh.txt"
    assert (cop15, "29") in top or (cop15, "28") in top, top
    hit = next(r for r in data["results"] if r["path"] == cop15)
    assert hit["language"] == "zh" and hit["source"] == "iccd" and "行动轨道 3" in hit["text"]


def test_chinese_bm25_uses_word_segmentation(service):
    data = service.search("和平森林倡议", k=3, mode="bm25")
    assert data["results"], "jieba-segmented query should match jieba-segmented passages"
    assert "和平森林倡议" in data["results"][0]["text"]


def test_filters_restrict_results(service):
    data = service.search("land degradation neutrality", k=10, filters={"language": "fr", "source": "manual"})
    assert data["results"]
    assert {r["language"] for r in data["results"]} == {"fr"}
    assert {r["source"] for r in data["results"]} == {"manual"}
    sym = service.search("科学与政策联系平台", k=5, filters={"symbol": "ICCD/COP(14)/CST/5"})
    assert sym["results"] and {r["symbol"] for r in sym["results"]} == {"ICCD/COP(14)/CST/5"}


def test_each_leg_alone(service):
    bm25 = service.search("Land cover refers to the observed (bio)physical cover", k=3, mode="bm25",
                          filters={"language": "en"})
    assert bm25["results"][0]["text"].startswith("Land cover refers to the observed")
    dense = service.search("La couverture terrestre désigne la couverture physique observée", k=5, mode="dense",
                           filters={"language": "en"})
    assert any(r["text"].startswith("Land cover refers to the observed") for r in dense["results"])


def test_iccd_metadata_filters(service):
    data = service.search("科学与政策联系平台", k=10, filters={"body": "CST", "session": 16})
    assert data["results"] and {r["symbol"] for r in data["results"]} == {"ICCD/COP(16)/CST/7"}
    cop = service.search("伙伴关系", k=5, filters={"body": "COP", "year": 2022})
    assert cop["results"] and all("COP15" in r["path"] for r in cop["results"])

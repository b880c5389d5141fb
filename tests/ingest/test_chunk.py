"""Paragraph-aware chunking and token counting, on the real corpus."""

import re

from khub.ingest.chunk import chunk_pages
from khub.ingest.clean import clean_pages
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from tests.conftest import CONVENTION, COP14, COP15, MANUAL


def _chunks(path, max_tokens=256, numbered=True):
    pages = clean_pages([path.read_text(encoding="utf-8")], paged=False)
    return chunk_pages(pages, token_counter(), max_tokens=max_tokens, numbered_paragraphs=numbered)


def test_cjk_tokens_are_counted_in_model_tokens():
    count = token_counter()
    paragraph = "29. 行动轨道 3 的目标是以满足获得健康和营养食物的基本人权所需的规模促进自然向好型粮食生产，同时恢复与自然的平衡。"
    assert len(paragraph.split()) == 4  # whitespace "words" say almost nothing about Chinese
    assert count(paragraph) > 25
    assert count("Land degradation neutrality") < 8


def test_numbered_paragraphs_are_whole_and_carry_their_number():
    chunks = _chunks(COP15)
    para29 = [c for c in chunks if c.paragraph == "29"]
    assert len(para29) == 1
    assert para29[0].text.startswith("29. 行动轨道 3 的目标是")
    assert para29[0].text.endswith("以促进我们的粮食体系向自然向好型转变。")
    assert para29[0].section == "F. 粮食体系峰会"
    # every numbered paragraph of the body appears, in order
    numbers = [int(c.paragraph) for c in chunks if c.paragraph]
    assert sorted(set(numbers)) == list(range(1, 48))
    assert numbers == sorted(numbers)


def test_paragraph_continued_across_a_page_break_stays_whole():
    # paragraph 26 of the COP15 note breaks over a page in the source text
    para26 = [c for c in _chunks(COP15, max_tokens=1024) if c.paragraph == "26"]
    assert len(para26) == 1
    assert "全球机制和红十字与红新月联合会将合作实施其他支持共同利益和战略优先事项的方案" in para26[0].text
    assert para26[0].text.endswith("以减轻这些风险。")


def test_long_paragraph_split_at_sentences_keeps_number():
    count = token_counter()
    chunks = _chunks(COP15, max_tokens=64)
    parts = [c for c in chunks if c.paragraph == "28"]
    assert len(parts) > 1
    assert all(count(c.text) <= 64 for c in parts)
    joined = "".join(c.text for c in parts)
    assert joined.startswith("28. 在 2021 年 9 月举行联合国粮食体系峰会之前")
    assert "行动轨道 3——促进自然向好型生产——的联合国支柱机构" in joined


def test_limit_respected_on_whole_corpus_file():
    count = token_counter()
    for path in (COP14, CONVENTION, MANUAL / "ru/SO1.txt"):
        chunks = _chunks(path, max_tokens=128)
        assert chunks and max(count(c.text) for c in chunks) <= 128, path


def test_convention_articles_become_sections():
    chunks = _chunks(CONVENTION)
    art2 = [c for c in chunks if c.section and c.section.endswith("Article  2 — Objective")]
    assert art2 and art2[0].paragraph == "1"
    assert art2[0].text.startswith("1.   The objective of this Convention is to combat desertification")
    # list items of a numbered paragraph inherit its number
    items = [c for c in chunks if c.text.startswith("a) adopt an integrated approach")]
    assert items and items[0].paragraph == "2"


def test_manual_headings_are_sections_not_paragraphs():
    chunks = _chunks(MANUAL / "en/SO1.txt", numbered=False)
    assert all(c.paragraph is None for c in chunks)
    intro = [c for c in chunks if c.text.startswith("Land cover refers to the observed")]
    assert intro and "1.1.1. Introduction" in intro[0].section


def test_passage_metadata_and_ids():
    doc = load_document(COP14)
    assert doc.meta["symbol"] == "ICCD/COP(14)/CST/5"
    assert doc.meta["source"] == "iccd"
    assert doc.meta["language"] == "zh"
    assert doc.meta["title"].startswith("科学与政策联系平台、《防治荒漠化公约》知识中心")
    passages = to_passages(doc, token_counter(), 256)
    assert [p.id for p in passages] == [f"{doc.doc_id}:{i}" for i in range(len(passages))]
    for p in passages:
        for field in ("source", "title", "symbol", "language", "page", "paragraph", "section", "path", "content_hash"):
            assert field in p.meta
    assert re.fullmatch(r"[0-9a-f]{64}", passages[0].meta["content_hash"])
    # same file, same ids
    assert [p.id for p in to_passages(load_document(COP14), token_counter(), 256)] == [p.id for p in passages]


def test_symbol_never_invented():
    # the COP15 note carries no symbol of its own; symbols cited in its body must not be taken
    assert load_document(COP15).meta["symbol"] is None
    # file-name fallback for the COP16 document
    from tests.conftest import COP16

    assert load_document(COP16).meta["symbol"] == "ICCD/COP(16)/CST/7"


def test_iccd_session_metadata_from_the_header():
    from tests.conftest import COP16

    m = load_document(COP14).meta
    assert (m["body"], m["session"], m["agenda_item"], m["date_issued"], m["year"], m["original_language"]) == (
        "CST", 14, "3(a)", "2019-06-24", 2019, "en")
    m16 = load_document(COP16).meta
    assert (m16["body"], m16["session"], m16["agenda_item"], m16["year"]) == ("CST", 16, "4(b)", 2024)
    assert m16["date_issued"] is None and m16["original_language"] is None  # not in the text: not invented
    m15 = load_document(COP15).meta
    assert (m15["symbol"], m15["body"], m15["session"], m15["year"]) == (None, "COP", 15, 2022)

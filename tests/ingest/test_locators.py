"""Outline locators and the citations built from them, on the real Convention, manual and
ICCD documents (issue 9, item 6: citations a reader can find)."""

import pytest

from khub.api.citation import format_citation
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from khub.text.scripts import clip
from tests.conftest import CONVENTION, COP14, MANUAL


@pytest.fixture(scope="module")
def passages():
    count = token_counter()
    return {key: to_passages(load_document(path), count, 256)
            for key, path in {"convention": CONVENTION, "cop14": COP14, "manual_en": MANUAL / "en/SO1.txt",
                              "manual_ar": MANUAL / "ar/SO1.txt", "intro": MANUAL / "en/introduction.txt"}.items()}


def _find(docs, start):
    hits = [d for d in docs if d.content.lstrip().startswith(start)]
    assert hits, f"no passage starts with {start!r}"
    return hits[0]


def test_convention_articles_and_annexes_are_told_apart(passages):
    docs = passages["convention"]
    # Article 20 of the main text and article 14 of annex I are both headed "Financial resources"
    art20 = _find(docs, "1.   Given the central importance of financing")
    assert (art20.meta["article"], art20.meta["annex"]) == ("20", None)
    assert format_citation(art20.meta, art20.content) == "UNCCD, art. 20, para. 1"
    annex = [d for d in docs if d.meta["annex"] == "I" and d.meta["article"] == "14"]
    assert annex and all("Financial resources" in d.meta["section"] for d in annex[:1])
    assert format_citation(annex[0].meta, annex[0].content).startswith("UNCCD, annex I, art. 14")
    # the annex stays in force for the articles after its first one, until the next annex
    assert {d.meta["annex"] for d in docs if d.meta["article"] == "19"} == {None, "I"}
    assert [d.meta["annex"] for d in docs if d.meta["annex"]][-1] == "V"


def test_convention_subparagraphs_are_cited_with_their_letter(passages):
    item = _find(passages["convention"], "c) facilitate through international cooperation")
    assert format_citation(item.meta, item.content) == "UNCCD, art. 20, para. 2(c)"


def test_manual_sections_are_numbered_in_every_edition(passages):
    en = _find(passages["manual_en"], "Land cover refers to the observed")
    assert en.meta["section_number"] == "1.1.1" and en.meta["section_paragraph"] == 1
    assert format_citation(en.meta, en.content) == (
        "PRAIS reporting manual – 1. Strategic objective 1: To improve the condition of affected… "
        "– 1.1.1. Introduction – para. 1")
    # the Arabic edition prints "1-1-1": the chunker takes it as a heading, stored as 1.1.1
    ar_numbers = [d.meta["section_number"] for d in passages["manual_ar"]]
    assert "1.1.1" in ar_numbers and "1.4.5" in ar_numbers
    assert not any(d.content.lstrip().startswith("1-1-1 ") for d in passages["manual_ar"])
    # paragraphs are counted within the section: every section starts again at 1
    firsts = {}
    for d in passages["manual_en"]:
        firsts.setdefault(d.meta["section_number"], d.meta["section_paragraph"])
    assert set(firsts.values()) == {1}


def test_unnumbered_introduction_counts_paragraphs_from_the_start(passages):
    ordinals = [d.meta["section_paragraph"] for d in passages["intro"]]
    assert ordinals[0] == 1 and ordinals == sorted(ordinals)
    assert format_citation(passages["intro"][4].meta).startswith("PRAIS reporting manual – Introduction – para. ")


def test_reference_entries_and_notes_are_not_cited_as_paragraphs(passages):
    docs = passages["cop14"]
    entry = _find(docs, "3. Cowie, A.L.")
    assert format_citation(entry.meta, entry.content) == "ICCD/COP(14)/CST/5, reference list, entry 3 (2019)"
    note = [d for d in docs if d.meta["kind"] == "reference" and d.content.startswith("¹⁸")]
    assert note and format_citation(note[0].meta, note[0].content).startswith("ICCD/COP(14)/CST/5, note to para. ")


def test_titles_are_never_cut_mid_word(passages):
    title = passages["manual_en"][0].meta["title"]
    assert len(title) <= 200 and title.endswith("contribute to…")
    assert clip("land degradation neutrality", 20) == "land degradation…"
    assert clip("土地退化零增长目标设定方案", 6) == "土地退化零…"
    assert clip("short", 20) == "short"
    with pytest.raises(ValueError):
        clip("x", 1)

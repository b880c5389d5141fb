"""Passage kinds on the real corpus: reference lists, tables, captions and list items are told
apart from body text, and no markup reaches the passage text."""

import re

from khub.ingest.chunk import chunk_pages
from khub.ingest.clean import clean_pages, strip_markup
from khub.ingest.kinds import classify, lead_in
from khub.ingest.tokens import token_counter
from tests.conftest import CONVENTION, COP14, MANUAL

MARKUP = re.compile(r"\{[cr]span\}|\{su[bp]\}|!\[|\*\*|__|<<")


def _chunks(path, numbered=True):
    pages = clean_pages([path.read_text(encoding="utf-8")], paged=False)
    return chunk_pages(pages, token_counter(), numbered_paragraphs=numbered)


def test_markup_is_stripped_but_words_are_kept():
    assert strip_markup("*__Table 8__. Default reclassification*") == "Table 8. Default reclassification"
    assert strip_markup("{cspan}`7` FINAL CLASS") == "FINAL CLASS"
    assert strip_markup("T{sub}`SOC` = SOC{sub}`tn`") == "TSOC = SOCtn"
    assert strip_markup("**Generate reports**: Verify") == "Generate reports: Verify"
    assert strip_markup("3. ^{21,22}Orr <<https://doi.org/10.1/x>>.") == "3. Orr <https://doi.org/10.1/x>."
    assert strip_markup("a * b and snake_case_name") == "a * b and snake_case_name"


def test_manual_further_reading_tables_and_captions_in_every_language():
    for lang in ("en", "fr", "es", "ru", "zh", "ar"):
        chunks = _chunks(MANUAL / lang / "SO1.txt", numbered=False)
        kinds = {c.kind for c in chunks}
        assert {"body", "reference", "table"} <= kinds, (lang, kinds)
        assert not [c.text for c in chunks if MARKUP.search(c.text)], lang
        # the Good Practice Guidance link of "1.1.7. Further reading" is a reference entry
        links = [c for c in chunks if "good-practice-guidance-sdg-indicator-1531" in c.text]
        assert links and any(c.kind == "reference" for c in links), lang
    en = _chunks(MANUAL / "en" / "SO1.txt", numbered=False)
    table8 = next(c for c in en if "Tree cover, broadleaved, evergreen, closed to open" in c.text)
    assert table8.kind == "table"
    productivity = next(c for c in en if c.text.startswith("Land productivity is the biological productive capacity"))
    assert productivity.kind == "body"


def test_iccd_bibliography_is_reference_and_lettered_items_keep_their_lead_in():
    chunks = _chunks(COP14)
    refs = [c for c in chunks if "Environmental Science & Policy" in c.text]
    assert refs and all(c.kind == "reference" for c in refs)
    items = [c for c in chunks if c.kind == "list_item" and c.text.startswith("(a)")]
    assert items and all(c.lead_in and c.lead_in.endswith(("：", ":")) for c in items)
    # a numbered paragraph with its footnote links after it is body text, not a link list
    para53 = next(c for c in chunks if c.paragraph == "53")
    assert para53.kind == "body" and "unfccc.int" in para53.text


def test_convention_items_are_list_items_with_the_sentence_that_introduces_them():
    chunks = _chunks(CONVENTION)
    item = next(c for c in chunks if "(i) prevention and/or reduction of land degradation" in c.text)
    assert item.kind == "list_item"
    assert item.lead_in and item.lead_in.endswith(":")


def test_classify_rules():
    assert classify("Cowie, A.L., B.J. Orr. 2018. Land in balance. Env. Sci. Policy 79:25-35.") == "reference"
    assert classify("Scientific Conceptual Framework (<https://knowledge.unccd.int/x>)") == "reference"
    assert classify("Table 13 summarizes the combinations of metrics.\nMore text follows here.") == "body"
    assert classify("表13. 生产力指标的组合") == "caption"
    assert classify("An overview of the bund.", section="Caption, explanation of photo") == "caption"
    assert classify("Parties should report the area in square kilometres.") == "body"
    assert lead_in(["1. The Parties undertake to:"]) == "1. The Parties undertake to:"
    assert lead_in(["This paragraph ends with a full stop."]) is None

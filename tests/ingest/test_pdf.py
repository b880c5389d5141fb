"""The PDF path on a real multi-page Chinese PDF made from the COP15 corpus text."""

from pathlib import Path

import pytest

from khub.ingest.convert import ConversionError, read_pages
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from tests.conftest import COP15


def make_pdf(path: Path, paragraphs: list[str], per_page: int = 4, title: str | None = None) -> None:
    """Typeset paragraphs with reportlab's built-in CID font STSong-Light (no font file),
    ``per_page`` paragraphs per page, with UN page furniture on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK")

    def furniture(canvas, doc):
        canvas.setFont("STSong-Light", 9)
        canvas.drawString(72, A4[1] - 40, "ICCD/COP(15)/INF.1")
        canvas.drawString(72, 30, "GE.22-01234 (C)")

    story = []
    for i, text in enumerate(paragraphs):
        story.append(Paragraph(text, style))
        if (i + 1) % per_page == 0 and i + 1 < len(paragraphs):
            story.append(PageBreak())
    SimpleDocTemplate(str(path), pagesize=A4, title=title or "").build(story, onFirstPage=furniture,
                                                                       onLaterPages=furniture)


@pytest.fixture(scope="module")
def cop15_pdf(tmp_path_factory) -> tuple[Path, list[str]]:
    lines = COP15.read_text(encoding="utf-8").split("\n")
    paragraphs = [ln for ln in lines if ln[:3].rstrip(".").strip().isdigit() and len(ln) > 60][:12]
    path = tmp_path_factory.mktemp("pdf") / "COP15_partnerships.zh.pdf"
    make_pdf(path, paragraphs)
    return path, paragraphs


def test_pdf_pages_and_page_numbers(cop15_pdf):
    path, paragraphs = cop15_pdf
    pages, paged = read_pages(path)
    assert paged and len(pages) == 3
    doc = load_document(path)
    assert doc.meta["language"] == "zh"
    passages = to_passages(doc, token_counter(), 256)
    by_para = {p.meta["paragraph"]: p for p in passages if p.meta["paragraph"]}
    # 4 paragraphs per page: the first paragraph of page 2 is the 5th paragraph
    fifth = paragraphs[4].split(".")[0].strip()
    assert by_para[fifth].meta["page"] == 2
    first = paragraphs[0].split(".")[0].strip()
    assert by_para[first].meta["page"] == 1
    assert {p.meta["page"] for p in passages} == {1, 2, 3}


def test_pdf_text_is_rejoined_and_furniture_gone(cop15_pdf):
    path, paragraphs = cop15_pdf
    doc = load_document(path)
    text = "\n".join(doc.pages)
    assert "GE.22-01234" not in text and "ICCD/COP(15)/INF.1" not in text
    # pypdf breaks the Chinese lines; after cleaning a whole sentence is contiguous again
    sentence = paragraphs[1].split("。")[0]
    body = sentence.split(" ", 1)[1] if " " in sentence[:5] else sentence
    assert body.replace(" ", "")[-30:] in text.replace(" ", "")
    assert paragraphs[1][4:40] in text


def test_broken_pdfs_get_clear_reasons(tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a pdf at all")
    with pytest.raises(ConversionError, match="junk.pdf: corrupt or unreadable PDF"):
        read_pages(junk)
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    with pytest.raises(ConversionError, match="empty file"):
        read_pages(empty)


def test_spi_publication_metadata_from_pdf_and_sidecar(tmp_path):
    import json

    from khub.ingest.pipeline import content_hash

    lines = COP15.read_text(encoding="utf-8").split("\n")
    paragraphs = [ln for ln in lines if ln[:3].rstrip(".").strip().isdigit() and len(ln) > 60][:8]
    pdf = tmp_path / "spi_brief_partnerships.pdf"
    make_pdf(pdf, paragraphs, title="Partnerships for land (SPI brief)")
    doc = load_document(pdf)
    assert doc.meta["source"] == "spi"
    assert doc.meta["title"] == "Partnerships for land (SPI brief)"  # from the PDF's document information
    assert isinstance(doc.meta["year"], int)
    before = content_hash(pdf)
    (tmp_path / "spi_brief_partnerships.meta.json").write_text(json.dumps({
        "title": "Science-policy brief: partnerships", "year": 2022, "authors": ["A. Author", "B. Author"],
        "doi": "10.0000/example", "url": "https://example.org/brief", "type": "science-policy brief"}))
    assert content_hash(pdf) != before  # editing the sidecar re-ingests the publication
    meta = load_document(pdf).meta
    assert (meta["title"], meta["year"], meta["doi"], meta["type"]) == (
        "Science-policy brief: partnerships", 2022, "10.0000/example", "science-policy brief")
    passages = to_passages(load_document(pdf), token_counter(), 256)
    assert {p.meta["page"] for p in passages} == {1, 2} and all(p.meta["year"] == 2022 for p in passages)
    from khub.api.citation import format_citation

    page2 = next(p for p in passages if p.meta["page"] == 2)
    assert format_citation(page2.meta).startswith("A. Author; B. Author (2022). Science-policy brief: partnerships, ")
    assert ", p. 2" in format_citation(page2.meta) and format_citation(page2.meta).endswith(". doi:10.0000/example")


def typeset_hyphenated(paragraphs: list[str], width: int = 58) -> list[list[str]]:
    """Wrap each paragraph at ``width`` characters the way a typesetter hyphenates: a word that
    does not fit is broken after its first half with a hyphen; a compound ("long-term") is
    broken at its own hyphen. Returns the lines of each paragraph."""
    out = []
    for text in paragraphs:
        lines, line = [], ""
        for word in text.split():
            if len(line) + 1 + len(word) <= width:
                line = f"{line} {word}".strip()
                continue
            room = width - len(line) - 2
            if "-" in word and 0 < word.index("-") < room:
                head, tail = word.split("-", 1)
                lines.append(f"{line} {head}-".strip())
                line = tail
            elif room >= 3 and len(word) >= 7 and word[: len(word) // 2].isalpha():
                cut = len(word) // 2
                lines.append(f"{line} {word[:cut]}-".strip())
                line = word[cut:]
            else:
                lines.append(line)
                line = word
        out.append(lines + [line])
    return out


def test_latin_pdf_hyphenation_and_ligatures_are_repaired(tmp_path):
    """Real Convention paragraphs (English), typeset with line-end hyphenation on 2 pages:
    after ingest every passage reads like the original text and BM25 sees whole words."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from khub.ingest.clean import clean_pages
    from tests.conftest import CONVENTION

    source = [ln.strip() for ln in CONVENTION.read_text(encoding="utf-8").split("\n")]
    import re

    paragraphs = [ln for ln in source if re.match(r"\d{1,2}\.\s", ln) and 250 < len(ln) < 700][:6]
    assert any("long-term" in p for p in paragraphs)
    pdf = tmp_path / "spi_technical_report.pdf"
    c = canvas.Canvas(str(pdf), pagesize=A4)
    y = A4[1] - 72
    broken = 0
    for i, lines in enumerate(typeset_hyphenated(paragraphs)):
        if i == 3:
            c.showPage()
            y = A4[1] - 72
        for line in lines:
            c.setFont("Helvetica", 10)
            c.drawString(60, y, line)
            broken += line.endswith("-")
            y -= 13
        y -= 13
    c.save()
    assert broken >= 10  # the typesetting really broke words

    doc = load_document(pdf)
    passages = to_passages(doc, token_counter(), 256)
    text = " ".join(" ".join(p.content.split()) for p in passages)
    for paragraph in paragraphs:
        assert " ".join(paragraph.split()) in text
    assert {p.meta["page"] for p in passages} == {1, 2}
    # a ligature and a soft hyphen as pypdf returns them from typeset fonts
    page = "the \ufb01rst ﬁeld survey of de\u00adgradation, re-\nhabilitation and rehabilitation"
    assert clean_pages([page, "x", "y"], paged=True)[0] == "the first field survey of degradation, rehabilitation and rehabilitation"

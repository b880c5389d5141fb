"""Page labels: the number printed on a PDF page, next to its physical position, in citations
("p. 51 (PDF p. 61)"); printed numbers are told apart from years and table values."""

from __future__ import annotations

from pathlib import Path

from khub.api.citation import format_citation, page_reference
from khub.ingest.clean import page_labels
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from tests.conftest import ROOT


def test_labels_need_a_neighbour_that_agrees():
    pages = ["Title page\nNational Action Programme", "Contents\n1. Introduction ..... 1", "i\nForeword",
             "Foreword, continued\nii", "Chapter 1\nSoil erosion\n1", "Rainfall in 2022 fell\n2022\n2",
             "Table 4\n45\nend of table\n3", "Annex without a number"]
    assert page_labels(pages) == [None, None, "i", "ii", "1", "2", "3", None]
    assert page_labels(["Report\n2019", "text only"]) == [None, None]  # a lone year is not a page number


def test_page_reference():
    assert page_reference({"page": 61, "page_label": "51"}) == "p. 51 (PDF p. 61)"
    assert page_reference({"page": 3, "page_label": "3"}) == "p. 3"
    assert page_reference({"page": 3}) == "p. 3"
    assert page_reference({}) is None


def make_numbered_pdf(path: Path, paragraphs: list[str], front_pages: int = 2) -> None:
    """A PDF whose front matter is unnumbered and whose body prints "- n -" at the foot of
    each page, so printed page 1 is physical page ``front_pages + 1``."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for i in range(front_pages):
        c.drawString(72, 760, f"Front matter page {i + 1}: National Action Programme to Combat Desertification")
        c.showPage()
    for n, text in enumerate(paragraphs, start=1):
        y = 760
        for k in range(0, len(text), 90):
            c.drawString(72, y, text[k:k + 90])
            y -= 14
        c.drawString(290, 40, f"- {n} -")
        c.showPage()
    c.save()


def test_printed_page_in_passages_and_citations(tmp_path):
    text = (ROOT / "corpora/unccd-convention/unccd_convention_1994_en.md").read_text(encoding="utf-8")
    paragraphs = [p.replace("\n", " ") for p in text.split("\n\n") if len(p) > 300][:4]
    folder = tmp_path / "spi"
    folder.mkdir()
    path = folder / "egypt_nap_extract.pdf"
    make_numbered_pdf(path, paragraphs)
    doc = load_document(path)
    assert doc.page_labels == [None, None, "1", "2", "3", "4"]
    passages = to_passages(doc, token_counter(), 256)
    body = [p for p in passages if p.meta["page"] and p.meta["page"] > 2]
    assert body and all(p.meta["page_label"] == str(p.meta["page"] - 2) for p in body)
    assert all("- 1 -" not in (p.content or "") for p in passages)  # the printed number is not text
    cited = format_citation(body[0].meta, body[0].content)
    assert f"p. {body[0].meta['page'] - 2} (PDF p. {body[0].meta['page']})" in cited

"""Real PDFs: the national reports Egypt submitted to the UNCCD and the SPI publications in
corpora/. Garbled text layers are detected, scanned pages read by OCR, tables of contents and
running headers removed, printed page numbers read, and national reports described and cited."""

from __future__ import annotations

import shutil

import pytest

from khub.api.citation import format_citation
from khub.ingest.clean import clean_pages, page_labels
from khub.ingest.ocr import tesseract_languages
from khub.ingest.pdf import PdfOptions, extract_pages, read_pdf
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.text_quality import text_quality
from khub.ingest.tokens import token_counter
from tests.conftest import ROOT

EGYPT = ROOT / "corpora" / "national-reports" / "egypt"
PLAN = EGYPT / "Egypt_National_Action_Plan_NAP_DLDD_2024-2030_Arabic.pdf"
NAP_1999 = EGYPT / "1999_Egyptian_National_Action_Program_NAP_To_Combat_Desertification.pdf"
PRAIS_2012 = EGYPT / "Fourth_UNCCD_reporting_cycle_2010-2011_Egypt-ACP-2012.pdf"
PRAIS_2014 = EGYPT / "2014_Report_from_EGYPT_as_affected_country_Party.pdf"
IPBES = ROOT / "corpora" / "spi-publications" / "ipbes_ilk_dialogue3_nexus_2023.pdf"
#: Printed page 31 (physical page 46) of the Arabic plan, as it reads on the page.
PAGE_31 = "يعد الهيكل الاقتصادي في مصر من أكثر الهياكل الاقتصادية"

needs_tesseract = pytest.mark.skipif(
    "ar" not in tesseract_languages(),
    reason="OCR needs the tesseract program with Arabic data (Debian: tesseract-ocr tesseract-ocr-ara; .ci/run installs them)")


def test_garbled_arabic_page_is_detected_and_clean_pages_are_not():
    for extractor in ("pypdf", "pdfium"):
        page = extract_pages(PLAN, extractor)[45]
        assert "يعج الييكل" in page and PAGE_31 not in page  # the text layer really is wrong
        quality = text_quality(page)
        assert quality.language == "ar" and quality.words > 100
        assert quality.garbled, (extractor, quality)
    english = extract_pages(NAP_1999)[20]  # a page of running text of the 1999 programme
    assert not text_quality(english).garbled and text_quality(english).validity > 0.9
    arabic = (ROOT / "corpora/prais4-manual-2022/ar/SO1.txt").read_text(encoding="utf-8")[:3000]
    assert text_quality(arabic).validity > 0.9


def test_garbled_pages_are_reported_and_left_out_without_ocr():
    read = read_pdf(PLAN, PdfOptions(ocr="off"))
    assert read.ocr == set() and read.pages[45] == ""  # wrong words are not indexed
    note = next(note for note in read.notes if "need OCR" in note)
    assert "garbled text layer" in note and "KHUB_OCR=off" in note
    ranges = note.removeprefix("pages ").split(" need")[0].split(", ")
    assert any(int(r.split("-")[0]) <= 46 <= int(r.split("-")[-1]) for r in ranges)
    assert "يعج الييكل" in read.text_layer[45]


@needs_tesseract
def test_scanned_page_is_read_by_ocr(tmp_path):
    """Printed page 31 of the Arabic plan, rasterised at 200 dpi into an image-only PDF (no
    text layer at all, as a scanned report): OCR reads the sentence as printed."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(PLAN))
    image = pdf[45].render(scale=200 / 72, grayscale=True).to_pil()
    pdf.close()
    folder = tmp_path / "national-reports" / "egypt"
    folder.mkdir(parents=True)
    scan = folder / "plan_page_31_scanned.pdf"
    image.save(scan, "PDF", resolution=200)
    assert not any(p.strip() for p in extract_pages(scan))  # image only
    doc = load_document(scan)
    assert doc.ocr_pages == {1}
    assert PAGE_31 in " ".join(doc.pages[0].split())
    passages = to_passages(doc, token_counter(), 256)
    assert passages and all(p.meta["ocr"] is True and p.meta["page"] == 1 for p in passages)
    assert doc.meta["source"] == "national_report" and doc.meta["country"] == "Egypt"


@needs_tesseract
def test_garbled_page_of_the_real_plan_is_replaced_by_ocr(tmp_path):
    """Five pages of the plan (44-48) cut out with pypdf: the middle one, printed page 31,
    comes out readable, marked as OCR'd and labelled with its printed number."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(str(PLAN)).pages[43:48]:
        writer.add_page(page)
    cut = tmp_path / "plan_pages_44-48.pdf"
    with cut.open("wb") as fh:
        writer.write(fh)
    read = read_pdf(cut)
    assert read.ocr == {1, 2, 3, 4, 5}
    assert PAGE_31 in " ".join(read.pages[2].split())
    assert not text_quality(read.pages[2]).garbled
    # the pages that print a bare number agree two pages apart; the title header of the other
    # pages recurs on only two pages of this cut, too few to be taken for a running header
    assert page_labels(read.text_layer) == ["29", None, "31", None, "33"]


def test_contents_and_running_headers_are_removed():
    pages = clean_pages(extract_pages(NAP_1999), paged=True)
    raw = extract_pages(NAP_1999)
    assert "TABLE OF CONTENTS" in raw[1] and "SUMMARY......" in raw[1]
    assert pages[1].strip() == ""  # the contents page, leader dots and all
    assert pages[2].startswith("SUMMARY\nIntroduction\nEgypt played an active role")
    report = clean_pages(extract_pages(PRAIS_2014), paged=True)
    assert "Contents" in extract_pages(PRAIS_2014)[1] and report[1].strip() == ""  # contents without leader dots
    assert all("EGYPT " not in page.split("\n")[0] for page in report[1:])  # running header "EGYPT 6/23"
    assert "EGYPT 6/23" in extract_pages(PRAIS_2014)[5] and "EGYPT 6/23" not in report[5]
    ipbes = clean_pages(extract_pages(IPBES), paged=True)
    header = "Report of the third Indigenous and local knowledge dialogue workshop for"
    assert sum(header in page for page in extract_pages(IPBES)) > 20
    assert sum(header in page for page in ipbes[1:]) == 0


def test_page_labels_of_real_reports():
    assert page_labels(extract_pages(IPBES))[:5] == [None, "1", "2", "3", "4"]  # the cover is not numbered
    assert page_labels(extract_pages(PRAIS_2012))[:3] == ["1", "2", "3"]  # "1 of 62"
    labels = page_labels(read_pdf(PLAN, PdfOptions(ocr="off")).text_layer)
    assert labels[45] == "31" and labels[46] == "32"  # headers alternate between left and right pages


def test_national_report_metadata_and_citation():
    doc = load_document(PRAIS_2012)
    assert doc.meta["source"] == "national_report"
    assert (doc.meta["country"], doc.meta["document_type"], doc.meta["period"], doc.meta["year"]) == (
        "Egypt", "national report", "2010–2011", 2012)
    nap = load_document(NAP_1999)
    assert (nap.meta["document_type"], nap.meta["year"]) == ("national action programme", 1999)
    passages = to_passages(nap, token_counter(), 256)
    hit = next(p for p in passages if "The present estimate of cultivated area in Egypt" in p.content)
    assert hit.meta["page"] == 21 and hit.meta["page_label"] == "21" and hit.meta["ocr"] is False
    assert format_citation(hit.meta, hit.content) == (
        "Egypt, First Annual Report on the Egyptian National Program to Combat Desertification (1999), p. 21")


def test_national_report_metadata_without_sidecar(tmp_path):
    """Inferred from the folder and file name when there is no sidecar."""
    folder = tmp_path / "national_reports" / "egypt"
    folder.mkdir(parents=True)
    copy = folder / PRAIS_2014.name
    shutil.copy(PRAIS_2014, copy)
    doc = load_document(copy)
    assert (doc.meta["country"], doc.meta["document_type"], doc.meta["year"]) == ("Egypt", "national report", 2014)
    assert doc.meta["title"] == "United Nations Convention to Combat Desertification"  # the cover's first line


def test_publication_title_does_not_start_lower_case():
    """The Trends.Earth fact sheet has no sidecar and no title in its document information; its
    product name is a logo, so the first text line starts mid-phrase."""
    doc = load_document(ROOT / "corpora/spi-publications/trendsearth_technical_fact_sheet_2018.pdf")
    assert doc.meta["title"] == "Technical Fact Sheet" and doc.meta["year"] == 2018


def test_extractors_agree_on_latin_text():
    """PDFium (default) and pypdf give the same words on an English page."""
    a = extract_pages(NAP_1999, "pdfium")[20].split()
    b = extract_pages(NAP_1999, "pypdf")[20].split()
    assert a[:50] == b[:50] and abs(len(a) - len(b)) <= 3


def test_reporting_template_instructions_are_boilerplate():
    """The PRAIS report of 2010-2011 is mostly the reporting template: its instructions and
    indicator explanations (the same in every Party's report) are boilerplate, which answers do
    not quote; the 1999 programme's running text stays body."""
    passages = to_passages(load_document(PRAIS_2012), token_counter(), 256)
    template = next(p for p in passages if "Understanding of the indicator" in p.content
                    and "Data needed" in p.content)
    assert template.meta["kind"] == "boilerplate"
    form = [p for p in passages if p.content.lstrip().startswith(("Please state", "Please specify"))]
    assert form and all(p.meta["kind"] == "boilerplate" for p in form)
    nap = to_passages(load_document(NAP_1999), token_counter(), 256)
    assert sum(p.meta["kind"] == "boilerplate" for p in nap) <= 1 and sum(p.meta["kind"] == "body" for p in nap) > 100

"""PDF text, page by page: a fast extractor, a second opinion, OCR where the text layer fails.

1. Every page is extracted with the configured extractor (``KHUB_PDF_EXTRACTOR``):
   ``pdfium`` (pypdfium2, the PDFium library of Chromium; Apache-2.0/BSD-3) by default, or
   ``pypdf`` (pure Python). On the shared national reports and publications PDFium was 8-20x
   faster with the same text on Latin pages (``bench/pdf_ingest.py`` prints both).
2. Each page's text is checked (:func:`khub.ingest.text_quality.text_quality`): a page whose
   word validity is under 0.9 is extracted again with the other library and the text with
   more valid words is kept. PDFium writes Arabic lam-alef ligatures in reverse order
   ("األراضي" for "الأراضي"; word validity 0.84 against pypdf's 0.95 on page 2 of the Arabic
   plan), pypdf does not.
3. A page still garbled (validity under :data:`~khub.ingest.text_quality.GARBLED_BELOW`), a
   page with an image and almost no text (a scan, a cover made of pictures) and every page of
   a PDF without a text layer are read by OCR (:mod:`khub.ingest.ocr`) when Tesseract is
   installed and ``KHUB_OCR`` is not ``off``. Otherwise a garbled page is left out of the
   index (its words would be wrong) and the ingest report names the pages that need OCR.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from khub.ingest.convert import ConversionError
from khub.ingest.ocr import OcrError, ocr_pages, tesseract_languages
from khub.ingest.text_quality import text_quality

logger = logging.getLogger(__name__)

EXTRACTORS = ("pdfium", "pypdf")
#: A page whose text has fewer letters than this is "almost empty" (a scan or a picture).
MIN_LETTERS = 40
#: Below this word validity, a page is extracted again by the other extractor (the better text is kept).
SECOND_OPINION_BELOW = 0.9


@dataclass(frozen=True)
class PdfOptions:
    """How PDFs are read (from :class:`khub.settings.Settings`).

    Attributes:
        extractor: ``pdfium`` or ``pypdf``.
        ocr: ``auto`` (OCR the pages that need it when Tesseract is installed), ``off``, or
            ``force`` (OCR every page).
        ocr_dpi: rendering resolution for OCR.
        ocr_workers: pages OCR'd at once (0: one per core).
    """

    extractor: str = "pdfium"
    ocr: str = "auto"
    ocr_dpi: int = 300
    ocr_workers: int = 0


@dataclass
class PdfText:
    """The text of a PDF.

    Attributes:
        pages: one text per physical page (a page left out is ``""``).
        text_layer: the text layer as extracted (before OCR), for page labels.
        ocr: 1-based numbers of the pages whose text comes from OCR.
        notes: what the reader of the ingest report should know (pages garbled, not read).
        missing: capabilities whose absence left pages out: ``["ocr"]`` when pages that
            need OCR were not read because Tesseract is not installed or OCR is off (a later
            ingest with OCR reads the file again: :func:`khub.index.indexer` checks it).
    """

    pages: list[str]
    text_layer: list[str]
    ocr: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def pdfium_pages(path: Path) -> list[str]:
    """Page texts from PDFium (pypdfium2), line breaks as ``\\n``.

    Raises:
        ConversionError: corrupt or encrypted PDF.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as err:
        reason = str(err)
        if "password" in reason.lower():
            raise ConversionError(path, "encrypted PDF (password required)") from err
        raise ConversionError(path, f"corrupt or unreadable PDF (PDFium: {reason})") from err
    try:
        pages = []
        for page in pdf:
            textpage = page.get_textpage()
            text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
            # PDFium joins a word hyphenated at a line end itself and marks the hyphen U+FFFE
            # ("deserti\ufffefication", and "long\ufffeterm" for a compound): the line end is put
            # back so that clean.dehyphenate decides, from the document's own words, as for pypdf.
            pages.append(text.replace("\ufffe", "-\n"))
            textpage.close()
            page.close()
        return pages
    finally:
        pdf.close()


def pypdf_pages(path: Path, only: set[int] | None = None) -> list[str]:
    """Page texts from pypdf (``only``: the 1-based pages to extract; the others are ``""``).

    Raises:
        ConversionError: corrupt or encrypted PDF.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                ok = bool(reader.decrypt(""))
            except Exception:  # noqa: BLE001 - pypdf raises several types here
                ok = False
            if not ok:
                raise ConversionError(path, "encrypted PDF (password required)")
        return [(page.extract_text() or "") if only is None or i in only else ""
                for i, page in enumerate(reader.pages, start=1)]
    except ConversionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as err:
        raise ConversionError(path, f"corrupt or unreadable PDF ({type(err).__name__}: {err})") from err


def extract_pages(path: Path, extractor: str = "pdfium", only: set[int] | None = None) -> list[str]:
    """Page texts of a PDF with one extractor (see :data:`EXTRACTORS`).

    Raises:
        ConversionError: corrupt or encrypted PDF.
        ValueError: an unknown extractor.
    """
    if extractor == "pdfium":
        return pdfium_pages(path)
    if extractor == "pypdf":
        return pypdf_pages(path, only)
    raise ValueError(f"unknown PDF extractor {extractor!r} (one of {', '.join(EXTRACTORS)})")


def _has_image(path: Path, pages: set[int]) -> set[int]:
    """Which of ``pages`` (1-based) draw an image (PDFium page objects)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(str(path))
    try:
        return {n for n in pages
                if next(iter(pdf[n - 1].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2)), None)}
    finally:
        pdf.close()


def page_ranges(pages: set[int] | list[int]) -> str:
    """``{1, 2, 3, 7, 9, 10}`` -> ``"1-3, 7, 9-10"``."""
    out: list[str] = []
    for n in sorted(pages):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


def read_pdf(path: Path, options: PdfOptions = PdfOptions()) -> PdfText:
    """The text of every page of a PDF, checked and OCR'd where needed (module docstring).

    Raises:
        ConversionError: corrupt or encrypted PDF, or no text at all (no text layer and no
            OCR: the reason says what to install).
    """
    primary = extract_pages(path, options.extractor)
    pages = list(primary)
    n = len(pages)
    quality = {i: text_quality(text) for i, text in enumerate(pages, start=1)}
    doubtful = {i for i, q in quality.items() if q.validity is not None and q.validity < SECOND_OPINION_BELOW}
    if doubtful:
        other = "pypdf" if options.extractor == "pdfium" else "pdfium"
        try:
            second = extract_pages(path, other, only=doubtful)
        except ConversionError:
            second = []
        for i in doubtful:
            if i <= len(second):
                q = text_quality(second[i - 1], quality[i].language)
                if q.validity is not None and q.validity > (quality[i].validity or 0):
                    pages[i - 1], quality[i] = second[i - 1], q
    text_layer = list(pages)
    letters = {i: sum(ch.isalpha() for ch in text) for i, text in enumerate(pages, start=1)}
    no_text_layer = all(v == 0 for v in letters.values())
    garbled = {i for i, q in quality.items() if q.garbled}
    images: set[int] = set()
    if options.ocr == "force":
        wanted = set(range(1, n + 1))
    elif no_text_layer:
        wanted = set(range(1, n + 1))
    else:
        nearly_empty = {i for i, v in letters.items() if v < MIN_LETTERS}
        wanted = garbled | (_has_image(path, nearly_empty) if nearly_empty else set())
    images = wanted - garbled
    result = PdfText(pages=pages, text_layer=text_layer)
    done: dict[int, str] = {}
    if wanted and options.ocr != "off" and tesseract_languages():
        # a page's own language; for a nearly empty page, the language most pages of the
        # document are in (Tesseract's script detection only when the PDF has no text at all)
        judged = Counter(q.language for q in quality.values() if q.language and q.validity is not None)
        usual: list[str] = [str(judged.most_common(1)[0][0])] if judged else []
        languages: dict[int, list[str]] = {}
        for i in wanted:
            own = quality[i].language
            languages[i] = [own] if own and letters[i] >= MIN_LETTERS else usual
        try:
            done = ocr_pages(path, languages, dpi=options.ocr_dpi, workers=options.ocr_workers)
        except OcrError as err:
            result.notes.append(f"OCR failed: {err}")
        for i, text in done.items():
            result.pages[i - 1] = text
        result.ocr = set(done)
        if done:
            result.notes.append(f"pages {page_ranges(set(done))} read by OCR"
                                f"{' (garbled text layer)' if garbled & set(done) else ''}")
    missing = (garbled | images | (wanted if no_text_layer else set())) - set(done)
    for i in garbled - set(done):
        result.pages[i - 1] = ""  # wrong words are worse than none: not indexed
    if missing:
        why = ("OCR is off (KHUB_OCR=off)" if options.ocr == "off" else
               "tesseract is not installed (Debian: tesseract-ocr and tesseract-ocr-<lang>)"
               if not tesseract_languages() else "OCR failed on them")
        kind = ("no text layer" if no_text_layer else "garbled text layer" if missing & garbled
                else "images without a text layer")
        if options.ocr == "off" or not tesseract_languages():
            result.missing.append("ocr")
        result.notes.append(f"pages {page_ranges(missing)} need OCR ({kind}; {why}); not indexed")
    if not any(p.strip() for p in result.pages):
        if done:
            raise ConversionError(path, f"no text layer; needs OCR, and OCR found no text on pages {page_ranges(set(done))}")
        raise ConversionError(path, "no text layer; needs OCR" + (f" ({result.notes[-1]})" if result.notes else ""))
    return result


def pdf_metadata(path: Path) -> dict:
    """``{"title", "year"}`` from a PDF's document information (None where absent)."""
    from pypdf import PdfReader

    try:
        info = PdfReader(str(path)).metadata
    except Exception:  # noqa: BLE001 - metadata is optional; conversion errors are reported elsewhere
        return {"title": None, "year": None}
    if info is None:
        return {"title": None, "year": None}
    title = (info.title or "").strip() or None
    year = None
    try:
        year = info.creation_date.year if info.creation_date else None
    except (ValueError, TypeError):
        year = None
    return {"title": title, "year": year}

"""OCR of PDF pages with Tesseract: scanned pages and pages whose text layer is garbled.

Pages are rendered with pypdfium2 (the PDFium renderer, grayscale, 300 dpi by default:
Tesseract's documentation, "Improving the quality of the output", recommends at least
300 dpi) and read by the ``tesseract`` program through pytesseract, several pages at a
time in a thread pool (each page is a ``tesseract`` process). Tesseract is a system
dependency (Debian: ``tesseract-ocr`` and ``tesseract-ocr-{ara,chi-sim,eng,fra,rus,spa}``);
without it :func:`tesseract_languages` is empty and the caller reports which pages need OCR.

Each ``tesseract`` process is limited to one OpenMP thread (``OMP_THREAD_LIMIT=1``, as
Tesseract's FAQ and OCRmyPDF advise when pages run in parallel): on 2 cores an Arabic page
took 9.8 s with OpenMP's default threads and 0.9 s with one (measured for issue 12).
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

#: Tesseract's traineddata name for each UN language (ISO 639-1).
TESSERACT_CODES = {"ar": "ara", "zh": "chi_sim", "en": "eng", "fr": "fra", "ru": "rus", "es": "spa"}
#: Languages for a page in each script that Tesseract's script detection (OSD) reports.
SCRIPT_LANGUAGES = {"Arabic": ["ar"], "Han": ["zh"], "HanS": ["zh"], "Cyrillic": ["ru"],
                    "Latin": ["en", "fr", "es"]}


class OcrError(Exception):
    """Tesseract failed on a page (``str(err)`` names the page and the reason)."""


@lru_cache(maxsize=1)
def tesseract_languages() -> frozenset[str]:
    """The UN languages (ISO 639-1) the installed Tesseract can read; empty when the
    ``tesseract`` program is not installed."""
    if shutil.which("tesseract") is None:
        return frozenset()
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception:  # noqa: BLE001 - a broken installation counts as no OCR
        return frozenset()
    return frozenset(iso for iso, code in TESSERACT_CODES.items() if code in installed)


def detect_script_languages(image) -> list[str]:
    """The languages of a page image from Tesseract's orientation and script detection
    (``--psm 0``): Arabic -> ar, Han -> zh, Cyrillic -> ru, Latin -> en, fr, es; ``[]``
    when the script is not one of these or OSD fails (too little text)."""
    import pytesseract

    try:
        osd = pytesseract.image_to_osd(image, output_type=pytesseract.Output.DICT)
    except Exception:  # noqa: BLE001 - OSD fails on pages with little text
        return []
    return SCRIPT_LANGUAGES.get(str(osd.get("script")), [])


def ocr_image(image, languages: list[str]) -> str:
    """Text of one page image, read with the Tesseract models of ``languages`` (ISO 639-1,
    those installed; the page's script decides when none is given or installed).

    Raises:
        OcrError: Tesseract is not installed or fails.
    """
    import pytesseract

    available = tesseract_languages()
    if not available:
        raise OcrError("tesseract is not installed")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # see the module docstring
    wanted = [lang for lang in languages if lang in available] or [
        lang for lang in detect_script_languages(image) if lang in available] or ["en" if "en" in available else
                                                                                    sorted(available)[0]]
    try:
        return pytesseract.image_to_string(image, lang="+".join(TESSERACT_CODES[lang] for lang in wanted))
    except Exception as err:  # noqa: BLE001 - pytesseract raises TesseractError, OSError, RuntimeError
        raise OcrError(f"tesseract failed: {err}") from err


def ocr_pages(path: Path, pages: dict[int, list[str]], dpi: int = 300, workers: int = 0) -> dict[int, str]:
    """OCR some pages of a PDF, several at a time.

    Args:
        path: the PDF.
        pages: 1-based page number -> languages expected on it (ISO 639-1; ``[]``: detect the script).
        dpi: rendering resolution.
        workers: pages read at once (0: one per CPU core).

    Returns:
        1-based page number -> text, for the pages read; a page Tesseract fails on is left out.

    Raises:
        OcrError: Tesseract is not installed.
    """
    if not tesseract_languages():
        raise OcrError("tesseract is not installed")
    workers = workers or os.cpu_count() or 1

    def read(page: int, image) -> tuple[int, str | None]:
        try:
            return page, ocr_image(image, pages[page])
        except OcrError:
            return page, None

    # PDFium is not thread-safe, even across documents (pypdfium2's documentation): pages are
    # rendered here, one at a time, and only tesseract (a subprocess) runs in the pool, with at
    # most 2 x workers rendered images waiting.
    import pypdfium2 as pdfium

    out: dict[int, str] = {}

    def collect(future: Future) -> None:
        page, text = future.result()
        if text is not None:
            out[page] = text

    pdf = pdfium.PdfDocument(str(path))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: list[Future] = []
            for page in sorted(pages):
                image = pdf[page - 1].render(scale=dpi / 72, grayscale=True).to_pil()  # PDF units are 1/72 inch
                pending.append(pool.submit(read, page, image))
                if len(pending) >= 2 * workers:
                    collect(pending.pop(0))
            for future in pending:
                collect(future)
    finally:
        pdf.close()
    return out

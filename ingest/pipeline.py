"""The ingestion pipeline: discover files, load one document, cut it into passages.

A document's id is derived from its file's resolved absolute path (:mod:`khub.identity`),
so a re-ingest of the same file, from any working directory, maps to the same id;
its ``content_hash`` (SHA-256 of the file bytes) tells whether it changed.
Passage ids are ``<doc_id>:<position>``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from haystack import Document

from khub.identity import document_id, is_under, key_id, source_key
from khub.ingest.chunk import chunk_pages
from khub.ingest.clean import clean_pages, page_labels
from khub.ingest.convert import SUPPORTED_SUFFIXES, ConversionError, read_pages
from khub.ingest.locators import outline_locators
from khub.ingest.metadata import TITLE_CHARS, classify_source, find_symbol, find_title, iccd_metadata
from khub.ingest.national_report import national_report_metadata
from khub.ingest.pdf import PdfOptions, pdf_metadata, read_pdf
from khub.ingest.tokens import TokenCounter
from khub.ingest.translations import iccd_group, manual_groups
from khub.ingest.wocat import load_record_file
from khub.text.language import detect_language
from khub.text.scripts import clip
from khub.urls import http_url

logger = logging.getLogger(__name__)


@dataclass
class SourceDocument:
    """One input file, converted and cleaned, before chunking.

    ``pages`` are cleaned page texts; ``meta`` holds the document-level metadata
    (source, title, symbol, language, path, content_hash).
    """

    doc_id: str
    path: str
    content_hash: str
    pages: list[str]
    paged: bool
    meta: dict = field(default_factory=dict)
    #: The page number each page prints, or None (:func:`khub.ingest.clean.page_labels`).
    page_labels: list[str | None] = field(default_factory=list)
    #: 1-based numbers of the pages read by OCR (:mod:`khub.ingest.ocr`).
    ocr_pages: set[int] = field(default_factory=set)
    #: What the ingest report should say about the file (pages that need OCR, ...).
    notes: list[str] = field(default_factory=list)
    #: The file's identity, its resolved absolute path (:func:`khub.identity.source_key`).
    source: str = ""
    #: Capabilities this read lacked ("ocr": pages left out because Tesseract is missing); a
    #: later ingest reads the file again once they exist (:attr:`khub.ingest.pdf.PdfText.missing`).
    missing: list[str] = field(default_factory=list)


def path_key(path: Path) -> str:
    """How a file is shown (citations, reports): its path relative to the working directory
    (POSIX form), or its absolute path when it lies elsewhere. Not its identity: see
    :func:`source_key`."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def legacy_document_id(path: Path) -> str:
    """The id earlier versions gave the file (from :func:`path_key`, which depends on the
    working directory); an ingest replaces a document stored under it."""
    return key_id(path_key(path))


#: The reason given for a named path that does not exist.
MISSING = "no such file or directory"


def _special_kind(st_mode: int) -> str | None:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(st_mode):
            return name
    return None


def discover(paths: list[Path], ignore: list[str] | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into the files to ingest, sorted.

    Folders are walked recursively. A symbolic link is followed only when its target lies
    inside the folder given (its resolved path): a link that leaves it (``data -> /srv``,
    ``up -> ..``) is reported and not followed, so nothing outside the named folders is
    indexed or later served; a link back to a folder already walked is a loop, reported too.

    Returns:
        (files, skipped): ``skipped`` pairs a path with the reason it is not ingested: a
        path that does not exist, an unsupported file type, a FIFO, socket or device, a
        broken symbolic link, a symbolic link leaving the folder, a symlink loop, a folder
        that cannot be read. Names matching an ``ignore`` glob (README*, hidden files, ...)
        are left out silently.
    """
    ignore = ignore or []
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []

    def ignored(name: str) -> bool:
        return name.startswith(".") or any(fnmatch.fnmatch(name, pattern) for pattern in ignore)

    def consider(p: Path) -> None:
        try:
            st = p.stat()
        except FileNotFoundError:
            skipped.append((p, "broken symbolic link" if p.is_symlink() else MISSING))
            return
        except OSError as err:
            skipped.append((p, f"cannot be read: {err.strerror or err}"))
            return
        special = _special_kind(st.st_mode)
        if special:
            skipped.append((p, f"not a regular file ({special})"))
        elif p.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(p)
        else:
            skipped.append((p, f"unsupported file type '{p.suffix or '(none)'}'"))

    for root in paths:
        if not root.exists() and not root.is_symlink():
            skipped.append((root, MISSING))
            continue
        if not root.is_dir():
            consider(root)
            continue
        seen: set[tuple[int, int]] = set()
        inside = source_key(root)

        def leaves(p: Path) -> bool:
            """A symbolic link whose target is outside the folder given: reported, not followed."""
            if not p.is_symlink() or not p.exists() or is_under(source_key(p), inside):
                return False
            skipped.append((p, f"symbolic link to {source_key(p)}, outside {inside} (not followed)"))
            return True

        def unreadable(err: OSError) -> None:
            skipped.append((Path(err.filename), f"folder cannot be read: {err.strerror or err}"))

        for folder, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
            here = Path(folder)
            st = here.stat()
            if (st.st_dev, st.st_ino) in seen:
                skipped.append((here, "symbolic link loop (folder already walked)"))
                dirnames[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not leaves(here / d))
            for name in sorted(filenames):
                if not ignored(name) and not leaves(here / name):
                    consider(here / name)
    return sorted(set(files)), skipped


def file_hash(path: Path) -> str:
    """SHA-256 hex digest of the file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar(path: Path) -> Path:
    """The optional metadata file of a publication: ``report.pdf`` -> ``report.meta.json``."""
    return path.with_name(path.stem + ".meta.json")


def content_hash(path: Path) -> str:
    """:func:`file_hash` of the file, combined with its sidecar's when there is one (editing the
    sidecar re-ingests the publication)."""
    meta = sidecar(path)
    if not meta.is_file():
        return file_hash(path)
    return hashlib.sha256((file_hash(path) + file_hash(meta)).encode()).hexdigest()


_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
SIDECAR_FIELDS = ("title", "year", "authors", "doi", "url", "type")
#: The sidecar fields of a national report (:mod:`khub.ingest.national_report`).
REPORT_SIDECAR_FIELDS = ("title", "year", "country", "document_type", "period", "url", "authors")


def read_sidecar(path: Path, fields: tuple[str, ...]) -> dict:
    """The ``fields`` of a document's ``<name>.meta.json`` (``{}`` without one); a URL that is
    not http(s) is dropped, a year becomes an int.

    Raises:
        ConversionError: a sidecar that is not a JSON object, or a year that is not a number.
    """
    meta_path = sidecar(path)
    if not meta_path.is_file():
        return {}
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConversionError(meta_path, f"sidecar is not valid JSON ({err})") from err
    if not isinstance(data, dict):
        raise ConversionError(meta_path, "sidecar must be a JSON object")
    out = {k: data.get(k) for k in fields if data.get(k) is not None}
    if "url" in out and http_url(out["url"]) is None:
        logger.warning("%s: url %r dropped: only http(s) links are stored", meta_path, str(out["url"])[:100])
        del out["url"]
    if "year" in out:
        try:
            out["year"] = int(str(out["year"]))
        except ValueError as err:
            raise ConversionError(meta_path, f"sidecar field 'year' is not a year: {out['year']!r}") from err
    return out


def publication_metadata(path: Path, pages: list[str]) -> dict:
    """SPI publication metadata: the sidecar ``<name>.meta.json`` (title, year, authors, DOI,
    URL, type) when present; otherwise title and year from the PDF's document information,
    then from its first page (first line; first year 1950-2049).

    Raises:
        ConversionError: a sidecar that is not a JSON object.
    """
    if sidecar(path).is_file():
        return read_sidecar(path, SIDECAR_FIELDS)
    info = pdf_metadata(path) if path.suffix.lower() == ".pdf" else {"title": None, "year": None}
    first = next((p for p in pages if p.strip()), "")
    # the first line that does not start in lower case: a title does not ("is a free platform
    # for ..." opens a fact sheet whose product name is a logo)
    title = info["title"] or next((ln.strip() for ln in first.split("\n") if ln.strip() and not ln.strip()[0].islower()),
                                  None)
    year = info["year"]
    if year is None:
        m = _YEAR.search(first)
        year = int(m.group(1)) if m else None
    return {"title": clip(title, TITLE_CHARS) if title else None, "year": year}


#: How many times a file that changes while it is read is read again before it is reported.
READ_ATTEMPTS = 3


def load_document(path: Path, pdf: PdfOptions = PdfOptions()) -> SourceDocument:
    """Read, clean and describe one file, with the content hash of the bytes that were read.

    The hash is taken before the conversion and checked after it: a file that changed while
    it was read (a copy still being written, an editor saving) is read again, up to
    :data:`READ_ATTEMPTS` times, so its passages and its hash always describe the same bytes.

    Args:
        path: the file.
        pdf: how a PDF is read (extractor, OCR: :class:`khub.ingest.pdf.PdfOptions`).

    Raises:
        ConversionError: the file cannot be converted, or it kept changing while it was read
            (reason in the message).
    """
    for _ in range(READ_ATTEMPTS):
        before = content_hash(path)
        doc = _load_once(path, pdf)
        if content_hash(path) == before:
            doc.content_hash = before
            doc.source = source_key(path)
            return doc
        logger.info("%s changed while it was read; reading it again", path)
    raise ConversionError(path, f"the file changed while it was read ({READ_ATTEMPTS} times); "
                                "ingest it again once it is no longer being written")


def _load_once(path: Path, pdf: PdfOptions) -> SourceDocument:
    """One read of :func:`load_document` (its ``content_hash`` is set by the caller)."""
    if path.suffix.lower() == ".json":
        return _load_wocat(path)
    ocr: set[int] = set()
    notes: list[str] = []
    missing: list[str] = []
    if path.suffix.lower() == ".pdf":
        read = read_pdf(path, pdf)
        pages, paged, ocr, notes, text_layer = read.pages, True, read.ocr, read.notes, read.text_layer
        missing = read.missing
    else:
        pages, paged = read_pages(path)
        text_layer = pages
    raw = "\n".join(pages)
    symbol = find_symbol(raw, path)
    source = classify_source(path, symbol)
    cleaned = clean_pages(pages, paged)
    text = "\n".join(cleaned)
    if not text.strip():
        raise ConversionError(path, "no text left after cleaning")
    language = detect_language(text[:5000])
    meta = {
        "source": source,
        "title": find_title(text, path, source),
        "symbol": symbol,
        "language": language,
        "path": path_key(path),
    }
    if source == "iccd":
        meta.update(iccd_metadata(raw, symbol))
    if source == "spi":
        meta.update(publication_metadata(path, cleaned))
    if source == "national_report":
        meta.update(national_report_metadata(path, cleaned, read_sidecar(path, REPORT_SIDECAR_FIELDS)))
    labels: list[str | None] = []
    if paged:  # the text layer's page numbers; an OCR'd page's own when the text layer had none
        labels = page_labels(text_layer)
        if ocr:
            labels = [label or (read_label if i + 1 in ocr else None)
                      for i, (label, read_label) in enumerate(zip(labels, page_labels(pages)))]
    return SourceDocument(
        doc_id=document_id(path),
        path=path_key(path),
        content_hash="",
        pages=cleaned,
        paged=paged,
        meta=meta,
        page_labels=labels,
        ocr_pages=ocr,
        notes=notes,
        missing=missing,
    )


def _load_wocat(path: Path) -> SourceDocument:
    """A saved QCAT record (:mod:`khub.ingest.wocat`) as one document."""
    text, meta = load_record_file(path)
    meta = {**meta, "symbol": None, "language": detect_language(text[:5000]) or "en", "path": path_key(path)}
    return SourceDocument(doc_id=document_id(path), path=path_key(path), content_hash="",
                          pages=[text], paged=False, meta=meta)


def to_passages(doc: SourceDocument, count: TokenCounter, max_tokens: int) -> list[Document]:
    """Chunk a :class:`SourceDocument` into Haystack ``Document`` passages.

    Every passage carries: source, title, symbol, language (detected on the
    passage, falling back to the document's), doc_language, page (physical, 1-based),
    page_label (the number printed on that page, when it prints one), ocr (its page was read
    by OCR), paragraph,
    section, path, content_hash, doc_id, position, kind and lead_in (:mod:`khub.ingest.kinds`),
    the outline locators of its source (article/annex, section number/paragraph:
    :mod:`khub.ingest.locators`), translation_group
    (:mod:`khub.ingest.translations`; None when the passage has no known translation).
    """
    numbered = doc.meta["source"] in ("iccd", "convention", "spi", "national_report")
    chunks = chunk_pages(doc.pages, count, max_tokens=max_tokens, numbered_paragraphs=numbered, paged=doc.paged)
    if doc.meta["source"] == "manual":
        groups = manual_groups(Path(doc.path), doc.meta["language"], [c.text for c in chunks])
    else:
        groups = [iccd_group(doc.meta.get("symbol"), c.paragraph) if doc.meta["source"] == "iccd" else None
                  for c in chunks]
    locators = outline_locators(chunks, doc.meta["source"])
    passages = []
    for chunk, group, located in zip(chunks, groups, locators):
        meta = {
            **doc.meta,
            "doc_language": doc.meta["language"],
            "language": detect_language(chunk.text, default=doc.meta["language"]),
            "page": chunk.page,
            "page_label": (doc.page_labels[chunk.page - 1]
                           if chunk.page and chunk.page <= len(doc.page_labels) else None),
            "ocr": bool(chunk.page and chunk.page in doc.ocr_pages),
            "paragraph": chunk.paragraph,
            "section": chunk.section,
            "content_hash": doc.content_hash,
            "doc_id": doc.doc_id,
            "position": chunk.position,
            "kind": chunk.kind,
            "lead_in": chunk.lead_in,
            "translation_group": group,
            **located,
        }
        passages.append(Document(id=f"{doc.doc_id}:{chunk.position}", content=chunk.text, meta=meta))
    return passages

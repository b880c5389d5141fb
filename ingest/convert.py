"""File conversion: a path -> a list of page texts.

PDF text comes from :mod:`khub.ingest.pdf` (one string per page, so every passage knows
its 1-based page number). Plain text and Markdown are decoded as UTF-8, falling back
to charset-normalizer's detection (GBK, cp1252, ...); a form feed (``\\f``)
in a text file is honoured as a page break.
"""

from __future__ import annotations

from pathlib import Path

SUPPORTED_SUFFIXES = {".txt", ".md", ".pdf", ".json"}


class ConversionError(Exception):
    """A file could not be turned into text. ``str(err)`` names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


#: Legacy encodings, most used first (for ties in charset-normalizer's detection).
_PREVALENCE = ("cp1252", "latin_1", "iso8859_15", "gb18030", "gbk", "big5", "cp1251", "cp1256", "koi8_r",
               "iso8859_6", "cp1250")


def decode_text(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode text bytes: UTF-8 (BOM allowed) first, else the encoding charset-normalizer detects.

    Raises:
        ConversionError: the bytes are not text (NUL bytes, or no encoding fits).
    """
    if b"\x00" in data[:4096]:
        raise ConversionError(path, "binary content (NUL bytes); not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ConversionError(path, "not decodable as text in any known encoding")
    # On short text several encodings tie: a French Latin-1 file scores the same as cp1250
    # and cp1252 ("matière" would be read as "matičre"). Break ties by prevalence: the
    # WHATWG Encoding Standard makes windows-1252 the legacy default of most locales.
    tied = [m for m in matches if m.chaos == best.chaos and m.coherence == best.coherence]
    return str(min(tied, key=lambda m: (_PREVALENCE.index(m.encoding) if m.encoding in _PREVALENCE
                                        else len(_PREVALENCE))))


def read_pages(path: Path) -> tuple[list[str], bool]:
    """Convert one file into page texts (a PDF with the default :class:`khub.ingest.pdf.PdfOptions`).

    Returns:
        (pages, paged): ``paged`` is True when the pages are real pages (PDF or
        form-feed separated text), so passages can cite page numbers.

    Raises:
        ConversionError: unsupported type, unreadable, empty, or not text.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ConversionError(path, f"unsupported file type '{suffix or '(none)'}'")
    if suffix == ".pdf":
        from khub.ingest.pdf import read_pdf  # pdf imports this module's ConversionError

        return read_pdf(path).pages, True
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConversionError(path, f"cannot read file ({err.strerror})") from err
    text = decode_text(data, path)
    if not text.strip():
        raise ConversionError(path, "empty file (no text)")
    pages = text.split("\f")
    return pages, len(pages) > 1

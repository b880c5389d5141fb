"""Document-level metadata: source kind, ICCD symbol, title.

ICCD symbols follow the UN document-symbol pattern ``ICCD/<BODY>(<session>)/...``,
e.g. ``ICCD/COP(14)/CST/5``, ``ICCD/CRIC(20)/7``. They are read from the document
header and, failing that, from file names written as ``ICCD-COP14-CST5``.
Nothing is invented: a field that is not found stays ``None``.
"""

from __future__ import annotations

import re
from pathlib import Path

SOURCES = ("iccd", "manual", "convention", "wocat", "spi")

_SYMBOL = re.compile(r"\bICCD/(?:COP|CRIC|CST)\(\d{1,2}\)(?:/[A-Z]{1,4})*(?:/\d{1,3}(?:/Add\.\d+)?)?")
_FILE_SYMBOL = re.compile(r"ICCD[-_](COP|CRIC)(\d{1,2})(?:[-_](CST|INF|L))?(\d{1,3})?", re.IGNORECASE)
# Lines introducing the body of an ICCD document, just after its title, in the six languages.
_NOTE_MARKERS = (
    "秘书处的说明", "Note by the secretariat", "Note du secrétariat", "Nota de la secretaría",
    "Записка секретариата", "مذكرة من الأمانة",
)


def find_symbol(text: str, path: Path | None = None) -> str | None:
    """The ICCD symbol of a document: the first header line (in the first 3,000 characters)
    that is a symbol and nothing else, else
    from its file name (``ICCD-COP14-CST5_... -> ICCD/COP(14)/CST/5``), else ``None``."""
    for line in text[:3000].split("\n"):
        match = _SYMBOL.fullmatch(line.strip())
        if match:  # the symbol stands alone on a header line; symbols cited in the body do not count
            return match.group(0)
    if path is not None:
        m = _FILE_SYMBOL.search(path.name)
        if m:
            body, session, sub, number = m.groups()
            symbol = f"ICCD/{body.upper()}({int(session)})"
            if sub:
                symbol += f"/{sub.upper()}"
            if number:
                symbol += f"/{int(number)}"
            return symbol
    return None


def classify_source(path: Path, symbol: str | None) -> str:
    """The source kind of a file, from its path and symbol.

    ``iccd`` for ICCD session documents (a symbol, or an ``iccd`` folder),
    ``manual`` for the PRAIS reporting manual, ``convention`` for the Convention
    text, ``wocat`` for WOCAT records, else ``spi`` (SPI publications).
    """
    parts = [p.lower() for p in path.parts]
    joined = "/".join(parts)
    if "wocat" in joined or "qcat" in joined:
        return "wocat"
    if "prais" in joined or "manual" in joined:
        return "manual"
    if symbol or "iccd" in parts or path.name.upper().startswith("ICCD"):
        return "iccd"
    if "unccd-convention" in parts or path.name.lower().startswith("unccd_convention"):
        return "convention"
    return "spi"


def find_title(text: str, path: Path, source: str) -> str:
    """A human title for the document.

    ICCD documents: the line before "Note by the secretariat" (in any of the six
    languages). Others: the first non-empty line, with Markdown ``#`` removed.
    Fallback: the file name stem. Truncated to 200 characters.
    """
    lines = [ln.strip().lstrip("#").strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if source == "iccd":
        for i, line in enumerate(lines):
            if any(line.startswith(marker) for marker in _NOTE_MARKERS) and i > 0:
                return lines[i - 1][:200]
    if source != "iccd" and lines:
        title = lines[0]
        if source == "manual":
            title = f"PRAIS reporting manual — {title}"
        return title[:200]
    return path.stem.replace("_", " ").replace("-", " ")[:200]

"""Document-level metadata: source kind, ICCD symbol, title.

ICCD symbols follow the UN document-symbol pattern ``ICCD/<BODY>(<session>)/...``,
e.g. ``ICCD/COP(14)/CST/5``, ``ICCD/CRIC(20)/7``. They are read from the document
header and, failing that, from file names written as ``ICCD-COP14-CST5``.
Nothing is invented: a field that is not found stays ``None``.
"""

from __future__ import annotations

import re
from pathlib import Path

from khub.ingest.national_report import in_national_reports
from khub.text.scripts import clip

#: Longest stored title, in characters.
TITLE_CHARS = 200

SOURCES = ("iccd", "manual", "convention", "wocat", "spi", "national_report")

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
    text, ``wocat`` for WOCAT records, ``national_report`` for the reports and action
    programmes of Parties (a ``national-reports`` folder), else ``spi`` (SPI publications).
    """
    parts = [p.lower() for p in path.parts]
    joined = "/".join(parts)
    if in_national_reports(path):
        return "national_report"
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
    Fallback: the file name stem. At most :data:`TITLE_CHARS` characters, never cut
    mid-word (:func:`khub.text.scripts.clip`).
    """
    lines = [ln.strip().lstrip("#").strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    if source == "iccd":
        for i, line in enumerate(lines):
            if any(line.startswith(marker) for marker in _NOTE_MARKERS) and i > 0:
                return clip(lines[i - 1], TITLE_CHARS)
    if source != "iccd" and lines:
        title = lines[0]
        if source == "manual":
            title = f"PRAIS reporting manual — {title}"
        return clip(title, TITLE_CHARS)
    return clip(path.stem.replace("_", " ").replace("-", " "), TITLE_CHARS)


_BODY_WORDS = (
    ("CRIC", ("审查公约执行情况委员会", "Committee for the Review of the Implementation of the Convention")),
    ("CST", ("科学和技术委员会", "Committee on Science and Technology", "Comité de la science et de la technologie")),
    ("COP", ("缔约方会议", "Conference of the Parties", "Conférence des Parties", "Conferencia de las Partes")),
)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
             "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth").split()
_MONTHS = ("january february march april may june july august september october november december").split()
_LANGUAGE_NAMES = {"english": "en", "french": "fr", "spanish": "es", "russian": "ru", "arabic": "ar", "chinese": "zh"}


def _chinese_number(text: str) -> int | None:
    """Value of a Chinese numeral from 1 to 99 (十五 = 15, 二十 = 20, 十 = 10)."""
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" not in text:
        return _CN_DIGITS.get(text)
    tens, _, units = text.partition("十")
    return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(units, 0) if units else 0)


def iccd_metadata(text: str, symbol: str | None) -> dict:
    """Session-document facts read from the header (first 3,000 characters) of an ICCD document.

    Returns a dict with ``body`` (COP | CST | CRIC), ``session`` (int), ``agenda_item``
    (e.g. ``3(a)``), ``date_issued`` (ISO date), ``year``, ``original_language`` (ISO 639-1).
    Keys whose value is not found are None: nothing is invented. The body and session
    come from the symbol when there is one (``ICCD/COP(14)/CST/5``: CST, 14th session).
    """
    head = text[:3000]
    body = session = None
    if symbol:
        m = re.match(r"ICCD/(COP|CRIC|CST)\((\d+)\)", symbol)
        if m:
            body, session = m.group(1), int(m.group(2))
            if "/CST/" in symbol:
                body = "CST"
    if body is None:
        body = next((b for b, words in _BODY_WORDS if any(w in head for w in words)), None)
    if session is None:
        m = re.search(r"第([一二三四五六七八九十]{1,3})届会议", head)
        if m:
            session = _chinese_number(m.group(1))
        else:
            m = re.search(r"\b(" + "|".join(_ORDINALS) + r") session\b", head, re.IGNORECASE)
            if m:
                session = _ORDINALS.index(m.group(1).lower()) + 1
    agenda = re.search(r"(?:议程项目|agenda item|ordre du jour provisoire|programa provisional)[ \t]*(\d+(?:[ \t]*\([a-z]\))?)",
                       head, re.IGNORECASE)
    date_issued = None
    m = re.search(r"^\s*(\d{1,2}) (" + "|".join(_MONTHS) + r") (\d{4})\s*$", head, re.IGNORECASE | re.MULTILINE)
    if m:
        date_issued = f"{int(m.group(3)):04d}-{_MONTHS.index(m.group(2).lower()) + 1:02d}-{int(m.group(1)):02d}"
    year = int(date_issued[:4]) if date_issued else None
    if year is None:
        m = re.search(r"((?:19|20)\d{2})\s*年", head)
        year = int(m.group(1)) if m else None
    original = re.search(r"Original:\s*([A-Za-z]+)", head)
    return {
        "body": body,
        "session": session,
        "agenda_item": agenda.group(1).replace(" ", "") if agenda else None,
        "date_issued": date_issued,
        "year": year,
        "original_language": _LANGUAGE_NAMES.get(original.group(1).lower()) if original else None,
    }

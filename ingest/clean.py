"""Cleaning of page furniture in UN documents, and CJK line-break repair.

UN session documents carry furniture on every page that is noise for search:
job numbers (``GE.19-10569 (C) 080719 080719``), barcode lines
(``* 1 9 1 0 5 6 9 *``), "请回收"/"Please recycle", running headers and footers
(the symbol or title repeated at the top or bottom of each page), page numbers,
and a table of contents (entries ending in leader dots and paragraph/page
numbers). PDF extraction (pypdf) also breaks Chinese lines inside sentences;
whitespace between two CJK characters carries no meaning and is removed.

Typeset PDFs in Latin and Cyrillic scripts break words at line ends
("degrada-" / "tion") and use typographic ligatures (U+FB01 "ﬁ"); both are
repaired on paged input (:func:`dehyphenate`, :func:`expand_ligatures`) so that
BM25 sees whole words and quoted passages read as the original.
"""

from __future__ import annotations

import re
from collections import Counter

from khub.text.scripts import CJK_RANGES, text_units

_CJK = CJK_RANGES
# Characters that may end a line in the middle of a Chinese sentence / start its continuation.
_CJK_MID_END = _CJK + "，、；：“‘（《〈【"
_CJK_MID_START = _CJK + "，、；：。！？”’）》〉】"

_JOB_NUMBER = re.compile(r"^\s*GE\.\d{2}-\d{4,6}\s*(\([A-Z]\))?[\s\d]*$")
_BARCODE = re.compile(r"^\s*\*\s*(?:\d\s*){5,}\*\s*$")
_RECYCLE = re.compile(
    r"^\s*(请回收|Please recycle|Prière de recycler|Sírvase reciclar|"
    r"Просьба отправить на вторичную переработку|يرجى إعادة الاستعمال)\s*$",
    re.IGNORECASE,
)
# A table-of-contents entry: leader dots (or ellipses) followed by numbers / ranges.
_TOC_ENTRY = re.compile(r"(\.{3,}|…{2,}|(\. ){4,})\s*[\dIVXivx][\d\-–,\s]*$")
_TOC_HEADER = re.compile(
    r"^\s*(目录|(?:Table of )?Contents|Table des matières|Sommaire|Índice|Содержание|Оглавление|المحتويات|فهرس المحتويات|"
    r"段次\s*页次|Paragraphs\s+Page|Paragraphes\s+Pages|Párrafos\s+Página|Пункты\s+Стр\.?)\s*$",
    re.IGNORECASE,
)
#: A line that is only a page number; group 1 or 2 is the number (:func:`page_labels`).
_PAGE_NUMBER = re.compile(r"^\s*(?:-\s*)?(\d{1,4})(?:\s*-)?(?:\s*(?:/|of|de|из)\s*\d{1,4})?\s*$|"
                          r"^\s*(?:Page|Página|Стр\.?|页次)\s*(\d{1,4})\s*(?:(?:/|of|de|из)\s*\d+)?\s*$", re.I)
_CJK_INLINE_SPACE = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+(?=[{_CJK}])")
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK_MID_END}])[ \t]*\n[ \t]*(?=[{_CJK_MID_START}])")


def is_furniture(line: str) -> bool:
    """True when a single line is UN page furniture (job number, barcode, recycle note, TOC)."""
    return bool(
        _JOB_NUMBER.match(line)
        or _BARCODE.match(line)
        or _RECYCLE.match(line)
        or _TOC_ENTRY.search(line)
        or _TOC_HEADER.match(line)
    )


# Inline markup of Markdown-like sources (the manual, the ICCD text exports): table spans
# (``{cspan}`7```), images, emphasis, superscript footnote marks and doubled link brackets.
_SPAN = re.compile(r"\{[cr]span\}`\d+`\s*")
_SUB_SUP = re.compile(r"\{su[bp]\}\s*(?:`([^`]*)`)?")
_FOOTNOTE_REF = re.compile(r"\[\^\d+\]")
_TEX = {"$\\ge$": "≥", "$\\le$": "≤", "$\\geq$": "≥", "$\\leq$": "≤", "$\\times$": "×", "$\\pm$": "±"}
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_STRONG = re.compile(r"(\*\*|__)[ \t]*(\S.*?)[ \t]*\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])")
_SUPERSCRIPT_MARK = re.compile(r"\^\{[\d,\s–-]+\}")
_DOUBLE_LINK = re.compile(r"<<(https?://[^<>\s]+)>>")


def strip_markup(line: str) -> str:
    """Remove inline markup from one line, keeping its words: ``{cspan}`7``` table spans,
    ``![](img)`` images, ``{sub}`x``` markers, ``[^3]`` footnote references, ``$\\ge$``-style symbols, ``**strong**``/``__strong__``/``*emphasis*``/``_emphasis_`` markers, ``^{21,22}``
    footnote marks; ``<<url>>`` becomes ``<url>``. Markdown ``#`` headings are left to the chunker."""
    line = _SPAN.sub("", line)
    line = _SUB_SUP.sub(lambda m: m.group(1) or "", line)
    line = _FOOTNOTE_REF.sub("", line)
    for tex, char in _TEX.items():
        line = line.replace(tex, char)
    line = _IMAGE.sub("", line)
    line = _SUPERSCRIPT_MARK.sub("", line)
    line = _DOUBLE_LINK.sub(r"<\1>", line)
    line = _STRONG.sub(r"\2", line)
    line = _STRONG.sub(r"\2", line)  # "*__Table 8__. …*": strong inside emphasis
    line = _UNDERSCORE_EMPHASIS.sub(r"\1", line)
    line = _EMPHASIS.sub(r"\1", line).replace("**", "")  # unbalanced "**" of the source
    return line[1:] if line.startswith("*") and line[1:2].strip() and "*" not in line[1:] else line


def remove_furniture(text: str) -> str:
    """Drop furniture lines (see :func:`is_furniture`) from a page or document text."""
    return "\n".join(line for line in text.split("\n") if not is_furniture(line))


def join_cjk(text: str) -> str:
    """Remove whitespace between CJK characters, including PDF line breaks inside a sentence.

    A newline is removed only when the line does not end a sentence (。！？ keep
    their line break), so paragraph boundaries survive.
    """
    text = _CJK_LINE_BREAK.sub("", text)
    return _CJK_INLINE_SPACE.sub("", text)


# Latin ligatures (Unicode block Alphabetic Presentation Forms, U+FB00-U+FB06) and the soft
# hyphen (U+00AD), which PDF text layers carry but readers and analyzers do not expect.
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi",
                            "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st", "\u00ad": None})
# A word broken at a line end: letters, a hyphen (ASCII or U+2010), a line break, a lower-case letter.
_BROKEN_WORD = re.compile(r"(\w*[^\W\d_])[-\u2010][ \t]*\n[ \t]*([a-zà-ÿа-яё][^\W\d_]*)")
_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def expand_ligatures(text: str) -> str:
    """Replace Latin typographic ligatures (U+FB00-FB06) by their letters and drop soft hyphens."""
    return text.translate(_LIGATURES)


def dehyphenate(text: str, vocabulary: set[str] | None = None) -> str:
    """Re-join words broken across a line end by a hyphen ("degrada-\\ntion" -> "degradation").

    The break is only repaired when the continuation starts with a lower-case letter (Latin or
    Cyrillic), so list dashes and "Article 2-" / "3" ranges stay as they are. Whether the hyphen
    was a typesetter's (dropped) or part of a compound ("long-term", kept) is decided from the
    document's own words, the usual dictionary-free heuristic of PDF text extractors:

    * the joined word occurs elsewhere in the document -> joined without the hyphen;
    * else the hyphenated compound occurs elsewhere -> joined with the hyphen;
    * else -> joined without the hyphen (line-end hyphens in typeset text are mostly soft).

    Args:
        text: page or document text.
        vocabulary: lower-cased words and compounds of the whole document; by default those of ``text``.

    Returns:
        The text with each repaired word on the first of its two lines.
    """
    if vocabulary is None:
        vocabulary = document_vocabulary([text])

    def join(m: re.Match) -> str:
        head, tail = m.group(1), m.group(2)
        joined = head + tail
        if joined.lower() in vocabulary:
            return joined
        if f"{head}-{tail}".lower() in vocabulary:
            return f"{head}-{tail}"
        return joined

    return _BROKEN_WORD.sub(join, text)


def document_vocabulary(pages: list[str]) -> set[str]:
    """Lower-cased words and hyphenated compounds of ``pages`` that are not broken at a line end."""
    vocabulary: set[str] = set()
    for page in pages:
        unbroken = _BROKEN_WORD.sub(" ", page)
        for token in _WORD_TOKEN.findall(unbroken):
            token = token.lower()
            vocabulary.add(token)
            vocabulary.update(token.split("-"))
    return vocabulary


def _normalise_header(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


_NOT_RUNNING = re.compile(r"^\s*#\s*[.．]\s*\S|[。.!?！？]\s*$")


def running_lines(pages: list[str], edge: int = 3, min_share: float = 0.5) -> set[str]:
    """Find running headers/footers: lines (digits normalised) among the first or last
    ``edge`` non-empty lines of at least ``min_share`` of the pages (and of 3 pages or more).

    Numbered paragraphs and lines ending a sentence are never running lines.

    Returns:
        The normalised forms of such lines (compare with digits replaced by ``#``).
    """
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        edges = {_normalise_header(ln) for ln in lines[:edge] + lines[-edge:]}
        counts.update(edges)
    threshold = max(3, min_share * len(pages))
    return {line for line, n in counts.items() if n >= threshold and len(line) < 120 and not _NOT_RUNNING.search(line)}


_ROMAN = re.compile(r"^\s*([ivxlc]{1,7})\s*$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def _roman_value(text: str) -> int:
    return sum(-_ROMAN_VALUES[a] if _ROMAN_VALUES.get(b, 0) > _ROMAN_VALUES[a] else _ROMAN_VALUES[a]
               for a, b in zip(text, text[1:] + " "))


_NUMBER = re.compile(r"\d{1,4}")
#: At most this many numbers in a header or footer line that may carry the page number.
_HEADER_NUMBERS = 3


def page_labels(pages: list[str], edge_lines: int = 3) -> list[str | None]:
    """The page number each PDF page prints, or None: ``pages`` are raw page texts.

    Candidates come from the first and last ``edge_lines`` non-empty lines of a page: a line
    that is only a page number (the lines :func:`clean_pages` removes as such: "51",
    "- 51 -", "Page 51", "Стр. 51", "3 of 62") or a lower-case Roman numeral (front matter),
    and a number inside a header or footer line that starts or ends with a number, has at most
    three and recurs (digits aside) on three pages or more ("31 Desert Research Center",
    "EGYPT 2/23"). A candidate is kept only when a neighbouring page agrees: the same
    line, digits aside, with one less on the previous page or one more on the next. Any other
    number at a page edge (a year, a table value) is not taken for a page number.
    Headers that alternate between left and right pages are matched two pages apart (the
    same line with two less or two more).
    The physical page stays the page's position; this is the label a reader sees on it
    (printed "51" on PDF page 61).
    """
    # per page: (line template, number's position in it, value) -> label as printed
    candidates: list[dict[tuple[str, int, int], str]] = []
    for page in pages:
        lines = [ln.strip() for ln in page.split("\n") if ln.strip()]
        found: dict[tuple[str, int, int], str] = {}
        for line in lines[:edge_lines] + lines[-edge_lines:]:
            if m := _PAGE_NUMBER.match(line):
                number = m.group(1) or m.group(2)
                found[("#", 0, int(number))] = str(int(number))
            elif m := _ROMAN.match(line):
                found[("roman", 0, _roman_value(m.group(1)))] = m.group(1)
            else:
                numbers = _NUMBER.findall(line)
                if 0 < len(numbers) <= _HEADER_NUMBERS and len(line) < 120 and (line[0].isdigit() or line[-1].isdigit()):
                    # the line's letters as a set, and how many numbers it has: the same header
                    # whatever order and spacing an extractor gives it (PDFium and pypdf write
                    # "2024 2030- 30" and "2024 -2030 30", and Arabic lam-alef in either order)
                    template = "".join(sorted({ch for ch in line if ch.isalpha()})) + f"#{len(numbers)}"
                    for k, number in enumerate(numbers):
                        found.setdefault((template, k, int(number)), str(int(number)))
        candidates.append(found)
    running = Counter(template for found in candidates for template in {key[0] for key in found})
    candidates = [{key: label for key, label in found.items() if key[0] in ("#", "roman") or running[key[0]] >= 3}
                  for found in candidates]
    def near(i: int) -> dict[tuple[str, int, int], str]:
        return candidates[i] if 0 <= i < len(candidates) else {}

    labels: list[str | None] = []
    for i, found in enumerate(candidates):
        labels.append(next((label for (template, k, n), label in found.items()
                            if any((template, k, n + d) in near(i + d) for d in (-1, 1, -2, 2))), None))
    return labels


_CONTENTS_PAGE = re.compile(r"^\s*(?:Pages?|Página|Стр\.?|页次|الصفحة)\s*$", re.I)


def is_contents_entry(line: str) -> bool:
    """True for a line that may be an entry of a table of contents without leader dots: the
    "Page" column heading, or a short line (under 120 characters) that is not a sentence
    (a sentence: eight words or more, a CJK character counting as one, ending in . ! ? 。)."""
    if _CONTENTS_PAGE.match(line):
        return True
    text = line.strip()
    return len(text) < 120 and not (text_units(text) >= 8 and text[-1:] in ".!?。！？")


def clean_pages(pages: list[str], paged: bool) -> list[str]:
    """Clean every page: furniture, tables of contents (entries with leader dots anywhere;
    after a "Contents" heading, the lines that are not sentences, up to the first that is),
    inline markup (:func:`strip_markup`), running
    headers/footers and page numbers (paged input only), ligatures and line-end hyphenation (paged input only), CJK whitespace.
    Returns as many pages as it was given (some may be empty)."""
    running = running_lines(pages) if paged else set()
    if paged:
        pages = [expand_ligatures(p) for p in pages]
        vocabulary = document_vocabulary(pages)
    cleaned = []
    for page in pages:
        page = page.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
        if paged:
            page = dehyphenate(page, vocabulary)
        lines = []
        in_contents = False  # after a "Contents" heading, up to the first line of running text
        for line in page.split("\n"):
            if _TOC_HEADER.match(line):
                in_contents = paged  # a text export's contents have leader dots (is_furniture)
                continue
            if is_furniture(line):
                continue
            if paged and (_PAGE_NUMBER.match(line) or _normalise_header(line) in running):
                continue
            if in_contents and (not line.strip() or is_contents_entry(line)):
                continue
            in_contents = False
            lines.append(strip_markup(line).rstrip())
        cleaned.append(join_cjk("\n".join(lines)))
    return cleaned

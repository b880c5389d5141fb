"""Writing-system facts shared by ingestion and querying: the CJK ideograph ranges and
the length of a text in words.

The ranges are the Unicode blocks "CJK Unified Ideographs Extension A" (U+3400–U+4DBF),
"CJK Unified Ideographs" (U+4E00–U+9FFF) and "CJK Compatibility Ideographs"
(U+F900–U+FAFF) (The Unicode Standard, ch. 18.1). One definition for every module that
asks "is this Chinese?": the cleaner, the BM25 analyzer, highlights and the length prior.
"""

from __future__ import annotations

import re

#: Character-class body of the CJK ideograph ranges, for use inside ``[...]``.
CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Matches one CJK ideograph.
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
#: Runs of letters (no digits, no underscore).
_LETTER_WORD = re.compile(r"[^\W\d_]+")


def has_cjk(text: str) -> bool:
    """True when ``text`` holds at least one CJK ideograph."""
    return CJK_CHAR.search(text) is not None


def text_units(text: str) -> int:
    """Length of a text in words, a CJK character counting as one word (numbers and
    punctuation do not count): "见 ICCD/COP(15)/19 号文件" has 6."""
    cjk = len(CJK_CHAR.findall(text))
    words = sum(1 for w in _LETTER_WORD.findall(text) if not CJK_CHAR.search(w))
    return cjk + words


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters without cutting a word: at the last
    space (or CJK character, where words are not spaced) that fits, with "…" appended
    when anything was cut. A first word longer than ``limit`` is cut at ``limit - 1``.

    Raises:
        ValueError: ``limit`` < 2.
    """
    if limit < 2:
        raise ValueError(f"clip limit must be at least 2, got {limit}")
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    if text[limit - 1].isspace() or CJK_CHAR.match(text[limit - 1]) or CJK_CHAR.match(head[-1]):
        cut = len(head)
    else:
        cut = head.rfind(" ")
        if cut <= 0:
            cut = len(head)
    return head[:cut].rstrip(" ,;:—–-") + "…"

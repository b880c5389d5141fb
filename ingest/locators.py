"""Where a passage sits in its document's outline, as a reader of the original finds it.

The chunker keeps the trail of headings above a passage in ``section`` (``"Annex I —
Regional implementation Annex for Africa — Article 14 — Financial resources"``). A trail
only holds the headings *since the last block of text*, so the enclosing annex or chapter
is lost for every article after the first. This module walks the passages in document
order and keeps that outline state, giving each passage the locators its community cites:

* The Convention: ``article`` (``"20"``), ``annex`` (Roman numeral, ``"I"``; None in the
  main text) — cited ``art. 20, para. 2`` / ``annex I, art. 14, para. 1`` as the UNCCD's own
  documents cite it. A ``PART`` heading resets the annex (parts belong to the main text).
* Documents with numbered sections (the PRAIS reporting manual; SPI publications):
  ``section_number`` (``"1.1.3"``, the deepest numbered heading in force), ``section_title``
  (that heading as printed) and ``section_paragraph``, the 1-based ordinal of the
  passage's paragraph within that section (a paragraph split in several passages keeps one
  ordinal). Arabic editions print ``1-1-3``; it is stored as ``1.1.3``. Before the first
  numbered heading (an unnumbered introduction) the heading in force is the section, and
  before any heading paragraphs are counted from the document's start. The manual prints no paragraph numbers, so the ordinal is counted: it is the
  n-th block of text under the heading, as a reader counts them.

Headings are recognised by their printed numbers, in any of the six languages (numbers
are ASCII digits in all six editions of the sources shipped). Nothing is guessed: a
locator that is not in force is None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

_ANNEX = re.compile(r"^\s*(?:annex|annexe|anexo|приложение|المرفق|附件)\s+([IVX]+)\b", re.I)
_PART = re.compile(r"^\s*(?:part|partie|parte|часть|الجزء)\s+[IVX]+\b", re.I)
_ARTICLE = re.compile(r"^\s*(?:(?:article|artículo|статья|المادة)\s*(\d{1,3})\b|第\s*(\d{1,3})\s*条)", re.I)
_SECTION_NUMBER = re.compile(r"^\s*(\d{1,2}(?:[.-]\d{1,2}){0,4})\.?(?=\s|$|[^\d.])")
SEPARATOR = " — "


class Located(Protocol):
    """What the walk needs of a chunk (:class:`khub.ingest.chunk.Chunk`)."""

    section: str | None
    paragraph: str | None
    block: int


def _trail(section: str | None) -> list[str]:
    return [part.strip() for part in (section or "").split(SEPARATOR) if part.strip()]


def outline_locators(chunks: Sequence[Located], source: str) -> list[dict[str, Any]]:
    """Per chunk, in order, the outline locators of its source (see the module docstring).

    Args:
        chunks: the document's chunks in document order (``section`` trails, ``block``
            ordinals from :func:`khub.ingest.chunk.chunk_pages`).
        source: the document's source kind (``convention``, ``manual``, ``spi``, ...).

    Returns:
        One dict per chunk: ``{"article", "annex"}`` for the Convention,
        ``{"section_number", "section_title", "section_paragraph"}`` for documents without
        numbered paragraphs (manual, SPI, national reports), ``{}`` for the others (ICCD documents are cited by
        symbol and paragraph; WOCAT by record and section).
    """
    if source == "convention":
        return _convention(chunks)
    if source in ("manual", "spi", "national_report"):
        return _numbered_sections(chunks)
    return [{} for _ in chunks]


def _convention(chunks: Sequence[Located]) -> list[dict[str, Any]]:
    annex: str | None = None
    article: str | None = None
    previous: str | None = None
    out = []
    for chunk in chunks:
        if chunk.section != previous:
            for heading in _trail(chunk.section):
                if _PART.match(heading):
                    annex, article = None, None
                elif m := _ANNEX.match(heading):
                    annex, article = m.group(1).upper(), None
                elif m := _ARTICLE.match(heading):
                    article = m.group(1) or m.group(2)
            previous = chunk.section
        out.append({"article": article, "annex": annex})
    return out


def _follows(number: str, current: str | None) -> bool:
    """Whether heading ``number`` can open a section after ``current``: any multi-level
    number, or a one-level number that starts the next chapter (a short numbered step
    "2. Log in" inside section 1.1.3 is a heading line for the chunker, not a chapter)."""
    if "." in number or current is None:
        return True
    return int(number) == int(current.split(".")[0]) + 1


def _numbered_sections(chunks: Sequence[Located]) -> list[dict[str, Any]]:
    number: str | None = None
    title: str | None = None
    previous: str | None = None
    first_block: int | None = 0  # before any heading, paragraphs count from the document's start
    out = []
    for chunk in chunks:
        if chunk.section != previous:
            trail = _trail(chunk.section)
            opened = False
            for heading in trail:
                m = _SECTION_NUMBER.match(heading)
                found = m.group(1).replace("-", ".") if m else None
                if found and _follows(found, number):
                    number, title, first_block, opened = found, heading, None, True
            if not opened and number is None and trail:
                # no numbered heading yet (an unnumbered introduction): the heading in force
                title, first_block = trail[-1], None
            previous = chunk.section
        if first_block is None:
            first_block = chunk.block
        out.append({"section_number": number, "section_title": title,
                    "section_paragraph": chunk.block - first_block + 1})
    return out

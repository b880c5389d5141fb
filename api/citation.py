"""Human-readable citations for passages, one style per source.

A citation names what a reader needs to find the passage again in the original,
in the form each community cites it:

* ICCD session documents: the document symbol and paragraph, as UN documents
  are cited (``ICCD/COP(14)/CST/5, para. 29, p. 7 (2019)``); without a symbol,
  the body, session and title.
* SPI publications: authors, year, title, page and DOI
  (``Orr, B.J.; Cowie, A.L. (2017). Scientific conceptual framework ..., p. 12. doi:10...``).
* WOCAT practices: the QCAT code, name, country and URL, as WOCAT cites its database
  (``WOCAT SLM database, technologies_1724: Contour Trench Bund (Afghanistan), On-site impacts. https://...``).
* National reports and action programmes: country, title, year (or reporting period),
  paragraph and page (``Egypt, National Action Programme to Combat Desertification (2002),
  p. 51``): the country first, as the UNCCD lists Parties' reports.
* The Convention: article, paragraph and sub-paragraph, in its annexes with the annex
  number, as UNCCD decisions cite it (``UNCCD, art. 20, para. 2(c)``;
  ``UNCCD, annex I, art. 14, para. 1``).
* The PRAIS reporting manual: chapter – numbered section – paragraph (the manual does
  not number paragraphs: the n-th paragraph of the section, counted at ingest by
  :mod:`khub.ingest.locators`) – page where known.
* Anything else: title, section, paragraph, page.

Reference-list entries are cited as such (``reference list, entry 3``), and a note that
belongs to a paragraph as ``note to para. 34``: never as if they were the paragraph.
Titles and headings are shortened at a word boundary (:func:`khub.text.scripts.clip`).
Only metadata that was extracted is printed; nothing is guessed.
"""

from __future__ import annotations

import re
from typing import Any

from khub.text.scripts import clip
from khub.urls import http_url

#: Longest chapter or section heading printed in a citation, in characters.
HEADING_CHARS = 72
_ITEM_LABEL = re.compile(r"^\s*\(?([a-z]|[ivx]{1,5})\)\s")
_MANUAL_PREFIX = "PRAIS reporting manual — "


def _paragraph(meta: dict[str, Any], text: str | None) -> list[str]:
    """The paragraph locator: ``para. N`` (with ``(c)`` for a sub-paragraph list item),
    ``reference list[, entry N]`` or ``note to para. N`` by passage kind."""
    para, kind = meta.get("paragraph"), meta.get("kind")
    if kind in ("reference", "footnote"):
        if para and text and re.match(rf"\s*{re.escape(str(para))}[.．]", text):
            return [f"reference list, entry {para}"]
        if para:
            return [f"note to para. {para}"]
        return ["reference list" if kind == "reference" else "note"]
    if not para:
        return []
    label = _ITEM_LABEL.match(text or "") if kind == "list_item" else None
    return [f"para. {para}({label.group(1)})" if label else f"para. {para}"]


def page_reference(meta: dict[str, Any]) -> str | None:
    """``p. N``: the page number printed on the page when it prints one (``page_label``), with
    the PDF's physical page in brackets when they differ (``p. 51 (PDF p. 61)``); else the
    physical page; None without a page."""
    page, label = meta.get("page"), meta.get("page_label")
    if label and str(label) != str(page):
        return f"p. {label} (PDF p. {page})" if page else f"p. {label}"
    return f"p. {page}" if page else None


def _locator(meta: dict[str, Any], text: str | None = None) -> list[str]:
    parts = _paragraph(meta, text)
    page = page_reference(meta)
    if page:
        parts.append(page)
    return parts


def _convention(meta: dict[str, Any], text: str | None) -> str:
    parts = ["UNCCD"]
    if meta.get("annex"):
        parts.append(f"annex {meta['annex']}")
    if meta.get("article"):
        parts.append(f"art. {meta['article']}")
        paragraph = _paragraph(meta, text)
        if not meta.get("paragraph") and meta.get("kind") == "list_item":
            label = _ITEM_LABEL.match(text or "")
            paragraph = [f"subpara. ({label.group(1)})"] if label else []
        parts.extend(paragraph)
    else:
        parts.append(meta.get("section") and clip(meta["section"].split(" — ")[-1], HEADING_CHARS) or "preamble")
    return ", ".join(parts)


def _outlined(meta: dict[str, Any], text: str | None) -> str:
    """``document – chapter – numbered section – para. n – p. N`` for the manual and
    other documents with numbered sections."""
    title = meta.get("title") or meta.get("path") or "untitled"
    if title.startswith(_MANUAL_PREFIX):
        parts = [_MANUAL_PREFIX.removesuffix(" — "), clip(title[len(_MANUAL_PREFIX):], HEADING_CHARS)]
    else:
        parts = [clip(title, 2 * HEADING_CHARS)]
    number, heading = meta.get("section_number"), meta.get("section_title")
    # a one-level number is the chapter itself, already named by the title
    if heading and (number is None or "." in number) and heading != title.removeprefix(_MANUAL_PREFIX):
        parts.append(clip(heading, HEADING_CHARS))
    if meta.get("kind") == "reference":
        parts.append("reference list")
    elif meta.get("section_paragraph"):
        parts.append(f"para. {meta['section_paragraph']}")
    page = page_reference(meta)
    if page:
        parts.append(page)
    return " – ".join(parts)


def _authors(authors: Any) -> str | None:
    if not authors:
        return None
    if isinstance(authors, str):
        return authors
    names = [str(a) for a in authors]
    return "; ".join(names) if len(names) <= 3 else f"{names[0]} et al."


def format_citation(meta: dict[str, Any], text: str | None = None) -> str:
    """The citation string of a passage from its metadata (see the module docstring).

    Args:
        meta: passage metadata as stored at ingest (source, title, symbol, paragraph, page,
            year, section, kind, and per source: body/session, authors/doi,
            qcat_code/country/url, article/annex, section_number/section_title/section_paragraph).
        text: the passage text, for the sub-paragraph letter of a list item (``(c)``) and
            the entry number of a reference; optional.

    Returns:
        A one-line citation; never empty (falls back to the file path).
    """
    source = meta.get("source")
    title = clip(meta.get("title") or meta.get("path") or "untitled", 200)
    year = f" ({meta['year']})" if meta.get("year") else ""
    if source == "iccd":
        if meta.get("symbol"):
            head = meta["symbol"]
        else:
            session = " ".join(str(x) for x in (meta.get("body"), meta.get("session")) if x)
            head = f"{session}: {title}" if session else title
        return ", ".join([head, *_locator(meta, text)]) + year
    if source == "convention":
        return _convention(meta, text)
    if source == "manual":
        return _outlined(meta, text)
    if source == "spi":
        authors = _authors(meta.get("authors"))
        head = f"{authors}{year}. {title}" if authors else f"{title}{year}"
        line = ", ".join([head, *_locator(meta, text)])
        return f"{line}. doi:{meta['doi']}" if meta.get("doi") else line
    if source == "national_report":
        head = clip(meta.get("title") or meta.get("document_type") or title, 2 * HEADING_CHARS)
        period = meta.get("period")
        when = meta.get("year") or (period if period and str(period) not in head else None)
        head = f"{meta['country']}, {head}" if meta.get("country") else head
        return ", ".join([f"{head} ({when})" if when else head, *_locator(meta, text)])
    if source == "wocat":
        code = f", {meta['qcat_code']}" if meta.get("qcat_code") else ""
        country = f" ({meta['country']})" if meta.get("country") else ""
        section = (meta.get("section") or "").split(" — ")[-1]
        part = f", {section}" if section and section != title else ""
        text = f"WOCAT SLM database{code}: {title}{country}{part}"
        url = http_url(meta.get("url"))
        return f"{text}. {url}" if url else text
    section = meta.get("section")
    parts = [title + year]
    if section and section != title:
        parts.append(section.split(" — ")[-1])
    return ", ".join(parts + _locator(meta, text))

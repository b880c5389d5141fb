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
* Anything else: title, section, paragraph, page.

Only metadata that was extracted is printed; nothing is guessed.
"""

from __future__ import annotations

from typing import Any


def _locator(meta: dict[str, Any]) -> list[str]:
    parts = []
    if meta.get("paragraph"):
        parts.append(f"para. {meta['paragraph']}")
    if meta.get("page"):
        parts.append(f"p. {meta['page']}")
    return parts


def _authors(authors: Any) -> str | None:
    if not authors:
        return None
    if isinstance(authors, str):
        return authors
    names = [str(a) for a in authors]
    return "; ".join(names) if len(names) <= 3 else f"{names[0]} et al."


def format_citation(meta: dict[str, Any]) -> str:
    """The citation string of a passage from its metadata (see the module docstring).

    Args:
        meta: passage metadata as stored at ingest (source, title, symbol, paragraph, page,
            year, section, and per source: body/session, authors/doi, qcat_code/country/url).

    Returns:
        A one-line citation; never empty (falls back to the file path).
    """
    source = meta.get("source")
    title = meta.get("title") or meta.get("path") or "untitled"
    year = f" ({meta['year']})" if meta.get("year") else ""
    if source == "iccd":
        if meta.get("symbol"):
            head = meta["symbol"]
        else:
            session = " ".join(str(x) for x in (meta.get("body"), meta.get("session")) if x)
            head = f"{session}: {title}" if session else title
        return ", ".join([head, *_locator(meta)]) + year
    if source == "spi":
        authors = _authors(meta.get("authors"))
        head = f"{authors}{year}. {title}" if authors else f"{title}{year}"
        text = ", ".join([head, *_locator(meta)])
        return f"{text}. doi:{meta['doi']}" if meta.get("doi") else text
    if source == "wocat":
        code = f", {meta['qcat_code']}" if meta.get("qcat_code") else ""
        country = f" ({meta['country']})" if meta.get("country") else ""
        section = (meta.get("section") or "").split(" — ")[-1]
        part = f", {section}" if section and section != title else ""
        text = f"WOCAT SLM database{code}: {title}{country}{part}"
        return f"{text}. {meta['url']}" if meta.get("url") else text
    section = meta.get("section")
    parts = [title + year]
    if section and section != title:
        parts.append(section.split(" — ")[-1])
    return ", ".join(parts + _locator(meta))

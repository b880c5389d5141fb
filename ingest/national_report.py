"""National reports and action programmes that Parties submit to the UNCCD.

Three document types, as the UNCCD names them:

* ``national action programme`` (NAP, Convention art. 9-10): the 1999 and 2002 Egyptian
  programmes and their summaries;
* ``national report`` (PRAIS, the Performance Review and Assessment of Implementation
  System): the reports of each reporting cycle ("Fourth UNCCD reporting cycle, 2010-2011
  leg", "Report from EGYPT as affected country Party");
* ``national action plan``: the plans aligned with the 2018-2030 Strategic Framework (the
  Egyptian plan to combat desertification, land degradation and drought 2024-2030).

Metadata come from a ``<name>.meta.json`` sidecar when there is one (title, year, country,
document_type, period, url, authors), and otherwise from the file's place and name and its
first pages: the country from a ``national-reports/<country>/`` folder (or a country named
in the file name or on the cover), the document type from the words of the file name and
the cover, the reporting period from a year range (``2010-2011``), the year from a year in
the file name outside that range (``..._Egypt-ACP-2012.pdf``: 2012; ``1999_...pdf``: 1999)
or the first year on the cover. Nothing is invented: a field not found stays absent.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCUMENT_TYPES = ("national action programme", "national report", "national action plan")

#: Countries recognised in file names and on covers when the folder does not name one
#: (extend as reports of more Parties arrive; a sidecar's ``country`` always wins).
_COUNTRIES = ("Egypt", "Morocco", "Tunisia", "Algeria", "Jordan", "Sudan", "Kenya", "China", "India", "Brazil",
              "Mexico", "Argentina", "Chile", "Peru", "Niger", "Mali", "Senegal", "Burkina Faso", "Ethiopia",
              "Kazakhstan", "Uzbekistan", "Mongolia", "Russian Federation", "Spain", "France")
_FOLDER = re.compile(r"^national[-_ ]?reports?$", re.I)
_RANGE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-–_]\s*((?:19|20)\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_TYPE_WORDS = (
    ("national report", re.compile(r"reporting[ _-]cycle|PRAIS|Performance Review and Assessment|"
                                   r"affected[ _-]country[ _-]Party|national[ _-]report", re.I)),
    ("national action plan", re.compile(r"action[ _-]plan|خطة العمل|plan d.action|plan de acción|план действий", re.I)),
    ("national action programme", re.compile(r"action[ _-]program|\bNAP\b|national[ _-]program|"
                                             r"programme d.action|programa de acción|программа действий", re.I)),
)


def in_national_reports(path: Path) -> bool:
    """True when the file lies in a ``national-reports`` (or ``national_reports``) folder."""
    return any(_FOLDER.match(part) for part in path.parts[:-1])


def country_of(path: Path, cover: str) -> str | None:
    """The reporting country: the folder below ``national-reports/`` (``egypt`` -> ``Egypt``),
    else a known country named in the file name, else on the cover."""
    parts = path.parts
    for i, part in enumerate(parts[:-2]):
        if _FOLDER.match(part):
            return parts[i + 1].replace("_", " ").replace("-", " ").title()
    for text in (path.stem.replace("_", " "), cover):
        for country in _COUNTRIES:
            if re.search(rf"\b{re.escape(country)}", text, re.I):
                return country
    return None


def document_type(path: Path, cover: str) -> str:
    """One of :data:`DOCUMENT_TYPES`, from the file name's words, else the cover's; a file
    that says neither is a ``national report``."""
    for text in (path.stem, cover):
        for kind, words in _TYPE_WORDS:
            if words.search(text):
                return kind
    return "national report"


def period_and_year(path: Path, cover: str) -> tuple[str | None, int | None]:
    """``(period, year)``: the reporting period is a year range in the file name (``2010–2011``);
    the year is a year of the file name outside that range, else None when there is a range,
    else the first plausible year on the cover (1977-2049)."""
    name = path.stem
    period = None
    m = _RANGE.search(name)
    if m and int(m.group(1)) <= int(m.group(2)):
        period = f"{m.group(1)}–{m.group(2)}"
        name = name[:m.start()] + " " + name[m.end():]
    years = [int(y) for y in _YEAR.findall(name)]
    if years:
        return period, years[0]
    if period:
        return period, None
    found = [int(y) for y in _YEAR.findall(cover[:3000]) if 1977 <= int(y) <= 2049]
    return None, found[0] if found else None


def national_report_metadata(path: Path, pages: list[str], sidecar: dict) -> dict:
    """``country``, ``document_type``, ``period``, ``year`` and ``title`` of a national report.

    Args:
        path: the file.
        pages: its cleaned page texts (the first two are read as the cover).
        sidecar: the fields of its ``.meta.json`` (may be empty); they win over what is inferred.

    Returns:
        The metadata, without the keys that were not found.
    """
    cover = "\n".join(pages[:2])
    period, year = period_and_year(path, cover)
    out = {
        "country": country_of(path, cover),
        "document_type": document_type(path, cover),
        "period": period,
        "year": year,
        "title": next((ln.strip() for ln in cover.split("\n") if len(ln.split()) >= 3), None),
    }
    out.update({k: v for k, v in sidecar.items() if v is not None})
    return {k: v for k, v in out.items() if v is not None}

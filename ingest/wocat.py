"""WOCAT / QCAT SLM practices: a QCAT API v2 questionnaire -> one document.

A QCAT detail record nests section -> category -> subcategory -> question group ->
question; a question is ``{"label", "value": [{"key", "value" | "values"}]}``, where
``values`` holds strings or ``[label, picto, ?, key]`` lists. Field map (QCAT
"technologies 2018" configuration keys, see corpora/SOURCES.md):

==================  ==========================================
name                ``qg_name.name``
country / region    ``qg_location.country`` / ``.state_province``
definition          ``tech_qg_1.tech_definition``
description         ``tech_qg_2.tech_description``
land use            ``tech_qg_9``
degradation         ``tech_qg_27`` (sub-types ``tech_qg_28``-``tech_qg_33``)
SLM group           ``tech_qg_20``
SLM measures        ``tech_qg_8``
impacts             ``tech__6__1`` / ``tech__6__2`` (rated -3..+3, see :func:`impact_ratings`)
strengths           ``tech__6__7``;  weaknesses ``tech__6__8``
==================  ==========================================

QCAT's own records carry mojibake (UTF-8 read as cp1252: "usersâ€™", "ImplantaciÃ³n");
every string is repaired with ftfy's ``fix_encoding`` (Speer 2019, ftfy docs) before use.

Personal data is never indexed: the resource-person group ``tech_qg_184`` (and any
question whose key names a person, user, e-mail or phone) is skipped, and e-mail
addresses and phone numbers are removed from every free-text answer.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from khub.ingest.convert import ConversionError
from khub.urls import http_url

#: Question groups and question keys whose subtree is never read (personal data).
PRIVATE_KEYS = ("tech_qg_184", "qg_accept_conditions", "user", "person", "email", "phone", "contact", "address")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Phone numbers: international (+41 31 631 88 22), labelled (Tel: 031 631 88 22) or national
# with a trunk 0 (0796 123 456). Bare digit runs (2010-2015, 1 200 000 ha, coordinates) are
# kept: contact data lives in tech_qg_184, which is never read; this is a second guard.
_PHONE = re.compile(
    r"\+\d[\d ()./-]{7,}\d"
    r"|(?:tel|phone|mobile|cell|fax|whatsapp)\.?\s*(?:no\.?|number)?\s*:?\s*\(?\d[\d ()./-]{5,}\d"
    r"|(?<![\w.])0\d{2,3}[ .-]?\d{3}[ .-]?\d{3,4}(?![\w.])",
    re.IGNORECASE,
)
#: Answers that are file paths, ids or JSON (image uploads, GeoJSON maps), not prose.
_NOT_PROSE = re.compile(r"^\s*(?:[{\[]|/upload/|https?://\S+\s*$)|^\S+$")
_CODE = re.compile(r"^(technologies|approaches|unccd|cca|cbp)_\d+$")
#: Free-text questions over this many characters are indexed (short ones are labels or numbers).
_MIN_FREE_TEXT = 40

logger = logging.getLogger(__name__)


def scrub(text: str) -> str:
    """``text`` without e-mail addresses and phone numbers."""
    return _PHONE.sub("[phone removed]", _EMAIL.sub("[e-mail removed]", text))


def fix_mojibake(value: Any) -> Any:
    """``value`` with every string repaired by ``ftfy.fix_encoding`` (lists and dicts walked);
    only mis-decoded text changes: correct UTF-8 in any script is returned as it is."""
    import ftfy

    if isinstance(value, str):
        return ftfy.fix_encoding(value)
    if isinstance(value, list):
        return [fix_mojibake(v) for v in value]
    if isinstance(value, dict):
        return {k: fix_mojibake(v) for k, v in value.items()}
    return value


@dataclass
class Impact:
    """One rated impact of a technology: QCAT rates each on a 7-point scale -3..+3, whose
    ends are labelled per impact (``soil loss``: -3 "increased" ... +3 "decreased")."""

    name: str
    rating: int
    direction: str
    comment: str | None = None
    offsite: bool = False

    def label(self) -> str:
        """Facet value, e.g. ``"soil loss: decreased"``."""
        return f"{self.name}: {self.direction}"

    def sentence(self) -> str:
        """Indexed text, e.g. ``"soil loss: decreased (+2 on -3..+3). Due to ..."``."""
        text = f"{self.name}: {self.direction} ({self.rating:+d} on -3..+3)."
        return f"{text} {self.comment}" if self.comment else text


def _rating(entry: Any) -> int | None:
    if isinstance(entry, dict) and entry.get("all_values") is not None:
        try:
            return int(str(entry.get("value")))
        except ValueError:
            return None
    return None


def _direction(rating: int, left: str | None, right: str | None) -> str:
    if rating == 0:
        return "no change"
    label = right if rating > 0 else left
    return label or ("positive" if rating > 0 else "negative")


def _values(node: dict, key: str) -> list[Any]:
    entries = (node.get(key) or {}).get("value") if isinstance(node.get(key), dict) else None
    return [e.get("value") if isinstance(e, dict) else None for e in entries] if isinstance(entries, list) else []


def impact_ratings(record: dict) -> list[Impact]:
    """The rated on-site (``tech__6__1``) and off-site (``tech__6__2``) impacts of a record.

    A question group holds one rating question (an answer with ``all_values``, the scale, and
    ``additional_translations.label_left/right``, the words for -3 and +3) and an optional
    comment (``tech_impacts_specify``). The "other" group (``tech_impacts_other_*``) holds
    parallel lists: names (``_specify``), left/right labels and ratings (``_measure``).
    Unrated impacts are left out.
    """
    out: list[Impact] = []

    def visit(node: Any, offsite: bool) -> None:
        if not isinstance(node, dict):
            return
        children = node.get("children") if isinstance(node.get("children"), dict) else None
        if children and "tech_impacts_other_measure" in children:
            names = _values(children, "tech_impacts_other_specify")
            lefts = _values(children, "tech_impacts_other_labelleft")
            rights = _values(children, "tech_impacts_other_labelright")
            entries = (children["tech_impacts_other_measure"] or {}).get("value") or []
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                rating = _rating(entry)
                name = names[i] if i < len(names) else None
                if rating is None or not name:
                    continue
                left = lefts[i] if i < len(lefts) else None
                right = rights[i] if i < len(rights) else None
                out.append(Impact(name.strip(), rating, _direction(rating, left, right), None, offsite))
            return
        if children:
            comment = next((v.strip() for v in _values(children, "tech_impacts_specify") if isinstance(v, str) and v.strip()), None)
            for key, child in children.items():
                if not isinstance(child, dict) or key.startswith("tech_impacts_other"):
                    continue
                for entry in child.get("value") or [] if isinstance(child.get("value"), list) else []:
                    rating = _rating(entry)
                    if rating is None:
                        continue
                    labels = entry.get("additional_translations") or {}
                    name = str(entry.get("key") or child.get("label") or key).strip()
                    out.append(Impact(name, rating, _direction(rating, labels.get("label_left"), labels.get("label_right")),
                                      comment, offsite))
            for child in children.values():
                visit(child, offsite)

    visit(find(record, "tech__6__1"), False)
    visit(find(record, "tech__6__2"), True)
    return out


def _is_private(key: str) -> bool:
    k = key.lower()
    return any(p in k for p in PRIVATE_KEYS)


def find(node: Any, key: str) -> Any:
    """The first subtree stored under ``key`` (depth first), skipping private subtrees."""
    if isinstance(node, dict):
        for k, v in node.items():
            if _is_private(k):
                continue
            if k == key:
                return v
            found = find(v, key)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = find(item, key)
            if found is not None:
                return found
    return None


def answers(node: Any) -> list[str]:
    """Every answer string below ``node``: ``value`` strings and labels of ``values``."""
    out: list[str] = []

    def visit(n: Any) -> None:
        if isinstance(n, dict):
            for k, v in n.items():
                if _is_private(k):
                    continue
                if k == "value" and isinstance(v, list):
                    for entry in v:
                        if isinstance(entry, dict):
                            if isinstance(entry.get("value"), str) and entry["value"].strip():
                                out.append(entry["value"].strip())
                            for item in entry.get("values") or []:
                                label = item[0] if isinstance(item, list) and item else item
                                if isinstance(label, str) and label.strip():
                                    out.append(label.strip())
                else:
                    visit(v)
        elif isinstance(n, list):
            for item in n:
                visit(item)

    visit(node)
    return list(dict.fromkeys(out))


def _question(record: dict, group: str, question: str | None = None) -> list[str]:
    node = find(record, group)
    if node is not None and question:
        node = find(node, question)
    return answers(node) if node is not None else []


def _free_text(record: dict, skip: set[str]) -> Iterator[tuple[str, str]]:
    """(label, text) of long free-text answers not already used."""
    def visit(n: Any, label: str) -> Iterator[tuple[str, str]]:
        if isinstance(n, dict):
            given = n.get("label")
            own = given if isinstance(given, str) and given else label
            for k, v in n.items():
                if _is_private(k):
                    continue
                if k == "value" and isinstance(v, list):
                    for entry in v:
                        text = entry.get("value") if isinstance(entry, dict) else None
                        if (isinstance(text, str) and len(text.strip()) >= _MIN_FREE_TEXT
                                and text.strip() not in skip and not _NOT_PROSE.match(text)):
                            yield own, text.strip()
                else:
                    yield from visit(v, own)
        elif isinstance(n, list):
            for item in n:
                yield from visit(item, label)

    yield from visit(record, "")


def record_to_document(record: dict, code: str | None = None, url: str | None = None,
                       updated: str | None = None) -> tuple[str, dict]:
    """Turn one QCAT detail record into (Markdown-like text, metadata).

    The text has one ``## heading`` per part (Definition, Description, Strengths,
    Weaknesses, other answers) so the chunker makes them sections.

    Raises:
        ConversionError: the record has no name or no descriptive text.
    """
    record = fix_mojibake(record)
    name = next(iter(_question(record, "qg_name", "name")), None)
    if not name:
        raise ConversionError(code or "<record>", "QCAT record without a name (qg_name.name)")
    parts: list[tuple[str, list[str]]] = [
        ("Definition", _question(record, "tech_qg_1")),
        ("Description", _question(record, "tech_qg_2")),
        ("Strengths", _question(record, "tech__6__7")),
        ("Weaknesses", _question(record, "tech__6__8")),
    ]
    impacts = impact_ratings(record)
    used = {t for _, texts in parts for t in texts} | {i.comment for i in impacts if i.comment}
    others = [(label, text) for label, text in _free_text(record, used)]
    lines = [f"# {name}"]
    for heading, texts in parts:
        if texts:
            lines += [f"## {heading}", *[scrub(t) for t in texts]]
    for heading, offsite in (("On-site impacts", False), ("Off-site impacts", True)):
        rated = [i.sentence() for i in impacts if i.offsite == offsite]
        if rated:
            lines += [f"## {heading}", scrub("\n".join(rated))]
    for label, text in others:
        lines += [f"## {label or 'Other'}", scrub(text)]
    if len(lines) == 1:
        raise ConversionError(code or name, "QCAT record without definition, description or other text")
    degradation = []
    for group in ("tech_qg_27", "tech_qg_28", "tech_qg_29", "tech_qg_30", "tech_qg_31", "tech_qg_32", "tech_qg_33"):
        degradation += _question(record, group)
    meta = {
        "source": "wocat",
        "title": name,
        "country": next(iter(_question(record, "qg_location", "country")), None),
        "region": next(iter(_question(record, "qg_location", "state_province")), None),
        "land_use": _question(record, "tech_qg_9"),
        "degradation": list(dict.fromkeys(degradation)),
        "slm_group": _question(record, "tech_qg_20"),
        "measures": _question(record, "tech_qg_8"),
        "impacts": list(dict.fromkeys(i.label() for i in impacts)),
        "qcat_code": code,
        "url": url,
        "updated": updated,
        "year": int(updated[:4]) if updated and updated[:4].isdigit() else None,
    }
    return "\n\n".join(lines), meta


def load_record_file(path: Path) -> tuple[str, dict]:
    """Read a saved QCAT record: a detail record (code from the file name, e.g.
    ``technologies_1724.json``) or a wrapper ``{"code", "url", "updated", "details": {...}}``
    as written by :mod:`khub.ingest.qcat`.

    Raises:
        ConversionError: not JSON, truncated, or not a QCAT record.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ConversionError(path, "not UTF-8 text; not a QCAT JSON record") from err
    except json.JSONDecodeError as err:
        raise ConversionError(path, f"malformed or truncated JSON (line {err.lineno}, column {err.colno}: {err.msg})") from err
    if not isinstance(data, dict):
        raise ConversionError(path, "not a QCAT record (expected a JSON object)")
    if "details" in data and isinstance(data["details"], dict):
        record, code, url, updated = data["details"], data.get("code"), data.get("url"), data.get("updated")
    else:
        record, url, updated = data, None, None
        code = path.stem if _CODE.match(path.stem) else None
    if not any(k.startswith("section_") for k in record):
        raise ConversionError(path, "not a QCAT questionnaire (no section_* keys)")
    if url is not None and http_url(url) is None:
        logger.warning("%s: url %r dropped: only http(s) links are stored", path, str(url)[:100])
        url = None
    try:
        return record_to_document(record, code=code, url=url, updated=updated)
    except ConversionError as err:
        raise ConversionError(path, err.reason) from err

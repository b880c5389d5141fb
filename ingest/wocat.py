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
impacts             ``tech__6__1`` / ``tech__6__2`` (rated -3..+3)
strengths           ``tech__6__7``;  weaknesses ``tech__6__8``
==================  ==========================================

Personal data is never indexed: the resource-person group ``tech_qg_184`` (and any
question whose key names a person, user, e-mail or phone) is skipped, and e-mail
addresses and phone numbers are removed from every free-text answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ingest.convert import ConversionError

#: Question groups and question keys whose subtree is never read (personal data).
PRIVATE_KEYS = ("tech_qg_184", "qg_accept_conditions", "user", "person", "email", "phone", "contact", "address")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{7,}\d")
_CODE = re.compile(r"^(technologies|approaches|unccd|cca|cbp)_\d+$")
#: Free-text questions over this many characters are indexed (short ones are labels or numbers).
_MIN_FREE_TEXT = 40
_DIRECTIONS = {"increased", "decreased", "improved", "reduced", "worsened", "none", "not applicable"}


def scrub(text: str) -> str:
    """``text`` without e-mail addresses and phone numbers."""
    return _PHONE.sub("[phone removed]", _EMAIL.sub("[e-mail removed]", text))


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
            own = n.get("label") if isinstance(n.get("label"), str) and n.get("label") else label
            for k, v in n.items():
                if _is_private(k):
                    continue
                if k == "value" and isinstance(v, list):
                    for entry in v:
                        text = entry.get("value") if isinstance(entry, dict) else None
                        if isinstance(text, str) and len(text.strip()) >= _MIN_FREE_TEXT and text.strip() not in skip:
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
    name = next(iter(_question(record, "qg_name", "name")), None)
    if not name:
        raise ConversionError(code or "<record>", "QCAT record without a name (qg_name.name)")
    parts: list[tuple[str, list[str]]] = [
        ("Definition", _question(record, "tech_qg_1")),
        ("Description", _question(record, "tech_qg_2")),
        ("Strengths", _question(record, "tech__6__7")),
        ("Weaknesses", _question(record, "tech__6__8")),
    ]
    used = {t for _, texts in parts for t in texts}
    others = [(label, text) for label, text in _free_text(record, used)]
    lines = [f"# {name}"]
    for heading, texts in parts:
        if texts:
            lines += [f"## {heading}", *[scrub(t) for t in texts]]
    for label, text in others:
        lines += [f"## {label or 'Other'}", scrub(text)]
    if len(lines) == 1:
        raise ConversionError(code or name, "QCAT record without definition, description or other text")
    degradation = []
    for group in ("tech_qg_27", "tech_qg_28", "tech_qg_29", "tech_qg_30", "tech_qg_31", "tech_qg_32", "tech_qg_33"):
        degradation += _question(record, group)
    impacts = _question(record, "tech__6__1") + _question(record, "tech__6__2")
    meta = {
        "source": "wocat",
        "title": name,
        "country": next(iter(_question(record, "qg_location", "country")), None),
        "region": next(iter(_question(record, "qg_location", "state_province")), None),
        "land_use": _question(record, "tech_qg_9"),
        "degradation": list(dict.fromkeys(degradation)),
        "slm_group": _question(record, "tech_qg_20"),
        "measures": _question(record, "tech_qg_8"),
        "impacts": [i for i in impacts if len(i) <= 60 and i.lower() not in _DIRECTIONS
                    and not re.fullmatch(r"[-+]?\d+(\.\d+)?", i)][:40],
        "qcat_code": code,
        "url": url,
        "updated": updated,
        "year": int(updated[:4]) if updated and updated[:4].isdigit() else None,
    }
    return "\n\n".join(lines), meta


def load_record_file(path: Path) -> tuple[str, dict]:
    """Read a saved QCAT record: a detail record (code from the file name, e.g.
    ``technologies_1724.json``) or a wrapper ``{"code", "url", "updated", "details": {...}}``
    as written by :mod:`ingest.qcat`.

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
    try:
        return record_to_document(record, code=code, url=url, updated=updated)
    except ConversionError as err:
        raise ConversionError(path, err.reason) from err

"""Passage kinds: what a passage *is*, so ranking and answers can tell evidence from apparatus.

Every passage gets one ``kind`` at ingest:

* ``body``: running text (the default).
* ``list_item``: an item of an enumeration (``(a)``, ``(i)``, ``•``, ``-``); its lead-in
  (the sentence before the list that ends with a colon) is kept in ``meta["lead_in"]``.
* ``heading``: one short line (12 words or fewer, a CJK character counting as a word)
  without final punctuation that the chunker kept as text.
* ``table``: table cells flattened to one short line each (mostly lines without a verb or
  final punctuation), with or without the table's caption line.
* ``caption``: a figure, table or photo caption (``Table 8.``, ``图 3``, WOCAT's
  "Caption, explanation of photo").
* ``reference``: bibliography, "Further reading" and link lists: the entries of a
  section so named in any of the six languages, or lines that are citations
  (authors, year, title, URL or DOI).
* ``footnote``: a note that starts with a superscript number.
* ``boilerplate``: document furniture that survived cleaning (``Distr.: General``, the
  masthead of UN documents, WOCAT's "Name of the institution(s)…" answers), and passages of
  a PRAIS national report that open with, or hold two or more, instructions of the reporting
  template ("Please state…", "If your country…", "Understanding of the indicator"): the
  template's words are the same in every Party's report.

The rules are surface patterns over the passage text and its section heading; they do not
need a model and do not change the text. :data:`khub.kinds.APPARATUS` lists the kinds that retrieval
down-weights for general queries (:mod:`khub.index.retrieval.kind_prior`).
"""

from __future__ import annotations

import re

from khub.kinds import APPARATUS, KINDS
from khub.text.scripts import text_units
from khub.text.sentences import SENTENCE_END, split_sentences

__all__ = ["APPARATUS", "KINDS", "classify", "lead_in"]

_REFERENCE_SECTION = re.compile(
    r"further reading|references|bibliograph|referenced journal|peer-reviewed publications|selected reading|"
    r"lectures? complémentaires?|références|lecturas? complementarias?|referencias|bibliografía|"
    r"дополнительная литература|литература|список источников|"
    r"延伸阅读|进一步阅读|参考文献|参考资料|"
    r"قراءات إضافية|المراجع|مراجع",
    re.I,
)
_URL = re.compile(r"https?://|www\.|doi\.org|doi:\s*10\.", re.I)
#: A line that ends with a link: "Title (<https://…>)." as in link lists and further reading.
_URL_TEXT = re.compile(r"(?:https?://|www\.)\S+", re.I)
_ENDS_WITH_LINK = re.compile(r"(?:https?://|www\.|doi:\s*10\.)\S*[\s>)\]）.;；,，]*$", re.I)
_YEAR = re.compile(r"(?:\(|\b)(?:19|20)\d{2}[a-z]?(?:\)|\.|,)")
#: "Surname, A.B." or "A.B. Surname" author patterns of a citation.
_AUTHOR = re.compile(r"\b[A-Z][a-zà-ÿ'’-]+,\s+(?:[A-Z]\.\s?){1,3}|\b(?:[A-Z]\.\s?){1,3}[A-Z][a-zà-ÿ'’-]+\b")
_CAPTION = re.compile(
    r"^\s*(?:Table|Figure|Fig\.|Box|Map|Photo|Chart|Tableau|Encadré|Carte|Cuadro|Figura|Gráfico|Recuadro|Mapa|"
    r"Таблица|Рисунок|Рис\.|Вставка|Карта|表|图|圖|框|专栏|الجدول|جدول|الشكل|شكل|الإطار)\s*(?:\d+|[١-٩]+|[IVX]+)"
    r"(?:[.．:：]|\s|$)",
    re.I,
)
_CAPTION_SECTION = re.compile(r"caption|photo|légende|leyenda|подпись|图片说明|تعليق", re.I)
_BOILERPLATE = re.compile(
    r"Distr\.?\s*:|Original\s*:|GE\.\d{2}-\d+|Please recycle|United Nations\s*$|^\s*联合国\s*$|"
    r"Provisional agenda item|临时议程项目|Name of the institution|Name of project|Name of the compiler",
    re.I | re.M,
)
#: Instructions of the PRAIS reporting template (UNCCD national reports of the 4th and 5th
#: reporting cycles): the same words in every Party's report, guidance rather than evidence.
_FORM_INSTRUCTION = re.compile(
    r"(?:Please (?:state|provide|specify|answer|explain|list|indicate|describe)\b|Provide (?:a|an|any)\b|"
    r"If your country\b|Check the (?:glossary|reporting manual)\b|Understanding of the indicator|"
    r"Data (?:needed|sources)\b|No answer (?:required|provided)|Attachments:|To facilitate understanding|"
    r"Interpretation of (?:the )?indicator|Assessment Criteria|Purpose of the indicators?\b|Qualitative\s*$)",
    re.I | re.M,
)
_FORM_OPENING = re.compile(r"^\s*" + _FORM_INSTRUCTION.pattern, re.I)
_LIST_ITEM = re.compile(r"^\s*(?:\(?[a-z]\)|\((?:[ivx]{1,5}|[一二三四五六七八九十]{1,3}|\d{1,2})\)|[•●▪◦·–—-]\s|\*\s)")
_FOOTNOTE = re.compile(r"^\s*(?:[¹²³⁴⁵⁶⁷⁸⁹⁰]+|\^\{?\d+\}?)\s*\S")
_LEAD_IN = re.compile(r"[:：]\s*$")


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def is_reference_text(text: str) -> bool:
    """True when every line of ``text`` is a citation or a link: it ends with a URL/DOI and has
    at most 60 words besides (a paragraph with footnote links after it is not a link list),
    or it has a year together with an author pattern (``Orr, B.J.`` / ``B.J. Orr``)."""
    lines = _lines(text)
    if not lines:
        return False
    def cited(line: str) -> bool:
        if _ENDS_WITH_LINK.search(line) and text_units(_URL_TEXT.sub("", line)) <= 60:
            return True
        return bool(_YEAR.search(line) and _AUTHOR.search(line))
    return all(cited(line) for line in lines)


def is_table_text(text: str) -> bool:
    """True when ``text`` looks like flattened table cells: at least 3 lines besides a caption
    line, and at least 70% of them short (under 40 characters) without final punctuation."""
    lines = _lines(text)
    if _CAPTION.match(lines[0] if lines else ""):
        lines = lines[1:]
    if len(lines) < 3:
        return False
    cells = sum(1 for ln in lines if len(ln) < 40 and not SENTENCE_END.search(ln))
    return cells >= 0.7 * len(lines)


def classify(text: str, section: str | None = None) -> str:
    """The kind of one passage (one of :data:`KINDS`; see the module docstring).

    Args:
        text: the passage text, as stored.
        section: its section heading path (``"1.1.7. Further reading"``), if any.
    """
    lines = _lines(text)
    if not lines:
        return "boilerplate"
    last_heading = (section or "").split(" — ")[-1]
    if _REFERENCE_SECTION.search(last_heading) or (
            len(lines[0]) < 60 and _REFERENCE_SECTION.search(lines[0]) and not SENTENCE_END.search(lines[0].rstrip(":："))):
        return "reference"
    if is_reference_text(text):
        return "reference"
    if _CAPTION_SECTION.search(last_heading):
        return "caption"
    if is_table_text(text):
        return "table"
    if _CAPTION.match(lines[0]) and len(lines) == 1:
        return "caption"
    if _BOILERPLATE.search(text) or _BOILERPLATE.search(last_heading):
        return "boilerplate"
    if _FORM_OPENING.match(lines[0]) or len(_FORM_INSTRUCTION.findall(text)) >= 2:
        return "boilerplate"
    if _FOOTNOTE.match(lines[0]):
        return "footnote"
    if _LIST_ITEM.match(lines[0]):
        return "list_item"
    if len(lines) == 1 and text_units(lines[0]) <= 12 and not SENTENCE_END.search(lines[0]):
        return "heading"
    return "body"


def _label_kind(line: str) -> str | None:
    """The kind of an item label: ``letter`` (``b)``), ``roman`` (``(ii)``), ``number``, ``bullet``."""
    m = _LIST_ITEM.match(line)
    if not m:
        return None
    label = m.group(0).strip()
    if re.fullmatch(r"\(?[a-z]\)", label) and label.strip("()") not in "ivx":
        return "letter"
    if re.fullmatch(r"\((?:[ivx]{1,5}|[一二三四五六七八九十]{1,3})\)|\(?[ivx]\)", label):
        return "roman"
    if re.fullmatch(r"\(\d{1,2}\)", label):
        return "number"
    return "bullet"


def lead_in(previous_texts: list[str], item: str | None = None) -> str | None:
    """The lead-in of a list item: the last sentence of the nearest preceding passage that
    ends with a colon (``"The Conference of the Parties decides to:"``), looking back over
    sibling items; an item of a nested list gets the item that introduces it, while an
    item whose label is of the same kind as that introducing item (``d)`` after
    ``b) ... aimed at: (i) ...``) is its sibling and looks further back. None when a
    non-item passage that does not end with a colon comes first.

    Args:
        previous_texts: texts of the passages before the list item, nearest last.
        item: the list item's own text, for its label kind (optional).
    """
    own = _label_kind(_lines(item)[0]) if item and _lines(item) else None
    for text in reversed(previous_texts):
        lines = _lines(text)
        if not lines:
            continue
        last = (split_sentences(lines[-1]) or [lines[-1]])[-1].strip()
        if _LEAD_IN.search(last):
            if own is None or _label_kind(last) != own:
                return last
        if not _LIST_ITEM.match(lines[0]):
            return None
    return None

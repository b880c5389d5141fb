"""Rapid-response evidence briefs: a topic in, a cited brief out (JSON, Markdown or Word).

A brief is extractive, like :mod:`khub.api.answer`: every statement is a sentence copied verbatim
from a retrieved passage and followed by its reference number, so an author can paste it
into a draft and every statement stays traceable to a document symbol and paragraph, a
WOCAT practice or a publication page. Nothing is paraphrased or generated.

Layout (in this order):

* **Key findings**: the best statement of each of the (up to three) sources with the most
  relevant evidence.
* **Evidence by source**: for each source with evidence (ICCD documents, SPI publications,
  WOCAT practices, the Convention, the reporting manual), its best further sentences; each
  source is retrieved on its own, so a source with few passages is not crowded out.
* **References**: numbered in order of first citation, with the one-line citation of
  :func:`khub.api.citation.format_citation`, the language and the passage id.
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

from haystack import Document

from khub.api.answer import ScoredSentence, cite, rank_sentences, select_sentences, statement_line
from khub.api.relevance import statement_has_evidence
from khub.errors import InvalidRequestError
from khub.text.analysis import analyze
from khub.text.scripts import clip

#: Sources in brief order, with the section heading each gets.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("iccd", "UNCCD official documents (ICCD)"),
    ("spi", "Science-Policy Interface publications"),
    ("wocat", "Sustainable land management practices (WOCAT)"),
    ("convention", "The Convention"),
    ("manual", "Reporting guidance (PRAIS manual)"),
    ("national_report", "National reports and action programmes"),
)


def build_brief(service: Any, topic: str, filters: dict[str, Any] | None = None, lang: str | None = None,
                key_findings: int = 3, per_source: int = 3, passages_per_source: int = 8) -> dict[str, Any]:
    """Assemble an evidence brief on ``topic``.

    Each source is retrieved on its own; a source whose passages do not clear the relevance
    floor (:mod:`khub.api.relevance`) has no evidence and gets no section, and within a source
    only statements that clear the same floor themselves are quoted
    (:func:`khub.api.relevance.statement_has_evidence`: cosine to the topic, or all of its
    content terms), so a source with one relevant passage does not pad the brief. Statements are
    chosen as answers are (:mod:`khub.api.answer`: statements only, passage rank and sentence
    similarity together, near-duplicates dropped), with the relative cut-off taken per source
    for the sections and across sources for the key findings.

    Args:
        service: an :class:`khub.api.service.SearchService` (store, retriever, embedder).
        topic: the question or topic, in any of the six UN languages.
        filters: metadata filters applied to every source (``source`` picks one section).
        lang: language to quote passages in where the store holds that edition (default: the topic's).
        key_findings / per_source: statements in the key findings / in each source section.
        passages_per_source: passages retrieved per source to draw statements from.

    Returns:
        ``{"topic", "generated", "query_language", "filters", "lang", "no_match", "key_findings":
        [statement], "sections": [{"source", "heading", "statements": [statement]}],
        "references": [...], "markdown"}``; a statement is
        ``{"text", "lead_in", "citation", "passage_id", "language", "score"}``.

    Raises:
        InvalidRequestError: empty topic, or a bad filter field.
    """
    topic = (topic or "").strip()
    if not topic:
        raise InvalidRequestError("topic: the topic is empty")
    filters = {f: v for f, v in (filters or {}).items() if v}
    wanted = [s for s, _ in SECTIONS if not filters.get("source") or filters["source"] == s]
    out: dict = {}
    per_source_passages: dict[str, list[Document]] = {}
    query_language = None
    for source in wanted:
        out.pop("documents", None)
        docs, query_language = service.retrieve(topic, passages_per_source, {**filters, "source": source},
                                                "hybrid", lang, True, out)
        if docs and service.has_evidence(topic, query_language, out.get("documents") or []):
            per_source_passages[source] = docs
    embedding = out.get("query_embedding")
    content = service.store.content_terms(topic, query_language)
    floors = service.settings.no_match_cosine, service.settings.no_match_coverage
    ranked: dict[str, list[ScoredSentence]] = {}
    for source, docs in per_source_passages.items():
        if embedding is None:
            continue
        ranked[source] = [
            s for s in rank_sentences(embedding, docs, service.embed_texts)
            if statement_has_evidence(s.similarity, analyze(s.text, docs[s.rank].meta.get("language")), content, *floors)]
    numbers: dict[str, int] = {}
    references: list[dict[str, Any]] = []
    # key findings: the best statement of each source with evidence, best first
    leaders = sorted((r[0].similarity, source) for source, r in ranked.items() if r)
    findings_from = [source for _, source in reversed(leaders)][:key_findings]
    findings: list[dict[str, Any]] = []
    used: list[ScoredSentence] = []
    for source in findings_from:
        chosen = select_sentences(ranked[source], 1, exclude=used)
        used += chosen
        findings += cite(chosen, per_source_passages[source], numbers, references)
    sections = []
    for source, heading in SECTIONS:
        if not ranked.get(source):
            continue
        chosen = select_sentences(ranked[source], per_source, exclude=used)
        used += chosen
        if chosen:
            sections.append({"source": source, "heading": heading,
                             "statements": cite(chosen, per_source_passages[source], numbers, references)})
    brief = {
        "topic": topic, "generated": time.strftime("%Y-%m-%d", time.gmtime()), "query_language": query_language,
        "filters": filters, "lang": lang, "no_match": not findings, "key_findings": findings,
        "sections": sections, "references": references,
    }
    brief["markdown"] = to_markdown(brief)
    return brief


def _reference_line(ref: dict[str, Any]) -> str:
    """``citation [language] (passage id)``, naming the retrieved edition when another was quoted."""
    edition = (f"; quoted from the {ref['language']} edition of {ref['retrieved_id']} [{ref['retrieved_language']}]"
               if ref.get("retrieved_id") else "")
    return f"{ref['citation']} [{ref['language']}] (passage {ref['id']}{edition})"


def to_markdown(brief: dict[str, Any]) -> str:
    """The brief as Markdown: a title, key findings, one section per source, references."""
    lines = [f"# Evidence brief: {brief['topic']}", "",
             f"_Prepared with Knowledge Hub Search on {brief['generated']}. Statements are quoted verbatim "
             "from the cited sources (original language in brackets when it differs from the topic's)._", ""]

    def bullet(s: dict[str, Any]) -> str:
        tag = f" ({s['language']})" if s.get("language") and s["language"] != brief.get("query_language") else ""
        return f"- {statement_line(s)}{tag}"

    if not brief["key_findings"]:
        lines += ["No evidence was found for this topic in the indexed sources.", ""]
    else:
        lines += ["## Key findings", ""] + [bullet(s) for s in brief["key_findings"]] + [""]
    for section in brief["sections"]:
        lines += [f"## {section['heading']}", ""] + [bullet(s) for s in section["statements"]] + [""]
    if brief["references"]:
        lines += ["## References", ""]
        for ref in brief["references"]:
            lines.append(f"{ref['n']}. {_reference_line(ref)}")
        lines.append("")
    return "\n".join(lines)


#: python-docx refuses core properties (title, subject) longer than this (``docx.opc.coreprops``).
CORE_PROPERTY_CHARS = 255
#: Characters XML 1.0 does not allow (§2.2 "Char"): C0 controls but tab and line breaks, lone
#: surrogates, U+FFFE/U+FFFF. PDF bullets come out of extraction as \x01, \x04, ...
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: Any) -> Any:
    """``value`` (str, or dicts and lists of them) without the characters XML 1.0 forbids,
    which python-docx cannot write (a quote with a PDF bullet's \x01 made the export fail)."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {k: xml_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [xml_safe(v) for v in value]
    return value


def to_docx(brief: dict[str, Any]) -> bytes:
    """The brief as a Word document (python-docx): the same content as :func:`to_markdown`,
    with Word headings, bulleted statements and a numbered reference list."""
    from docx import Document as WordDocument

    brief = xml_safe(brief)
    doc = WordDocument()
    # core properties are limited to 255 characters by python-docx (a longer topic was a 500)
    doc.core_properties.title = clip(f"Evidence brief: {brief['topic']}", CORE_PROPERTY_CHARS)
    doc.add_heading(f"Evidence brief: {brief['topic']}", level=1)
    note = doc.add_paragraph(f"Prepared with Knowledge Hub Search on {brief['generated']}. Statements are "
                             "quoted verbatim from the cited sources.")
    note.runs[0].italic = True

    def statements(items: list[dict[str, Any]]) -> None:
        for s in items:
            doc.add_paragraph(statement_line(s), style="List Bullet")

    if brief["key_findings"]:
        doc.add_heading("Key findings", level=2)
        statements(brief["key_findings"])
    else:
        doc.add_paragraph("No evidence was found for this topic in the indexed sources.")
    for section in brief["sections"]:
        doc.add_heading(section["heading"], level=2)
        statements(section["statements"])
    if brief["references"]:
        doc.add_heading("References", level=2)
        for ref in brief["references"]:
            doc.add_paragraph(f"[{ref['n']}] {_reference_line(ref)}")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()

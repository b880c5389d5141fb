"""Paragraph-aware chunking of cleaned page texts into passages.

Rules (issue #2):

* A passage never splits a numbered paragraph (``41. ...``) unless that
  paragraph alone exceeds ``max_tokens``; then it is split at sentence
  boundaries and every part keeps ``paragraph="41"``.
* Headings (UN chapter headings ``一.``/``II.``/``A.``, multi-level numbers
  ``1.1.2.`` or ``1-1-2``, Markdown ``#``) are not passages: they become the ``section``
  metadata of the passages below them. Consecutive headings are joined with
  " — " (``Article 2 — Objective``).
* A numbered paragraph that runs across a page break (its text does not end
  a sentence before a blank line) is kept whole; its page is the page it
  starts on.
* Size is counted in the embedding model's tokens (:mod:`khub.ingest.tokens`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from khub.ingest.clean import join_cjk
from khub.ingest.kinds import classify, lead_in
from khub.ingest.tokens import TokenCounter
from khub.text.sentences import SENTENCE_END, split_sentences

_MD_HEADING = re.compile(r"^\s*#{1,6}\s*(\S.*?)\s*#*\s*$")
_UN_HEADING = re.compile(r"^\s*(?:[IVXL]{1,5}|[一二三四五六七八九十]{1,3}|[A-Z])\s*[.．、]\s*\S")
#: ``1.1.2.`` and, as the Arabic edition of the manual prints them, ``1-1-2``.
_MULTI_NUMBER_HEADING = re.compile(r"^\s*\d{1,2}(?:\.\d{1,2}){1,4}\.?\s*\S|^\s*\d{1,2}(?:-\d{1,2}){1,4}\s+\S")
_NUMBERED = re.compile(r"^\s*(\d{1,3})[.．](?!\d)\s*(?=\S)")
_SUB_ITEM = re.compile(r"^\s*(?:\(?[a-z]\)|\((?:[ivx]{1,5}|[一二三四五六七八九十]{1,3})\))\s*\S")
_SHORT_NUMBERED_HEADING_CHARS = 40
_FOOTNOTE = re.compile(r"^\s*[¹²³⁴⁵⁶⁷⁸⁹⁰]+\s*\S")
_MERGE_BELOW_TOKENS = 32


@dataclass
class Block:
    """A paragraph-level unit of text before size limits are applied."""

    text: str
    page: int | None
    paragraph: str | None
    section: str | None


@dataclass
class Chunk:
    """One passage: its verbatim text and where it comes from.

    ``page`` is 1-based (None for unpaged text), ``paragraph`` the ICCD/Convention
    paragraph number as a string, ``position`` the 0-based index in the document,
    ``kind`` one of :data:`khub.ingest.kinds.KINDS` and ``lead_in`` the sentence that
    introduces a list item (:func:`khub.ingest.kinds.lead_in`), ``block`` the 0-based index
    of the paragraph block it comes from (the parts of a split paragraph share it; used to
    count paragraphs in :mod:`khub.ingest.locators`).
    """

    text: str
    page: int | None
    paragraph: str | None
    section: str | None
    position: int
    kind: str = "body"
    lead_in: str | None = None
    block: int = 0


def _is_heading(line: str, numbered_paragraphs: bool) -> str | None:
    """The heading text if ``line`` is a heading, else None."""
    m = _MD_HEADING.match(line)
    if m:
        return m.group(1).strip()
    stripped = line.strip()
    if len(stripped) > 160 or (SENTENCE_END.search(stripped) and not stripped.endswith(")")):
        return None
    if _UN_HEADING.match(stripped) or _MULTI_NUMBER_HEADING.match(stripped):
        return stripped
    if _NUMBERED.match(stripped) and (not numbered_paragraphs or len(stripped) <= _SHORT_NUMBERED_HEADING_CHARS):
        return stripped
    return None


def build_blocks(pages: list[str], numbered_paragraphs: bool, paged: bool) -> list[Block]:
    """Turn cleaned pages into paragraph blocks with section and page metadata.

    Args:
        pages: cleaned page texts (one string per page).
        numbered_paragraphs: True for documents whose paragraphs are numbered
            (ICCD documents, the Convention); then ``N.`` starts a paragraph.
            For others (the reporting manual) a short numbered line is a heading.
        paged: whether page numbers are meaningful (PDF); else ``page`` is None.
    """
    blocks: list[Block] = []
    section: str | None = None
    last_was_heading = False
    current: list[str] = []
    cur_page: int | None = None
    cur_para: str | None = None
    last_para: str | None = None  # the numbered paragraph that sub-items (a), (i) belong to

    def flush() -> None:
        nonlocal current, cur_para
        text = join_cjk("\n".join(current)).strip()
        if text:
            blocks.append(Block(text=text, page=cur_page, paragraph=cur_para, section=section))
        current = []
        cur_para = None

    for page_no, page in enumerate(pages, start=1):
        for line in page.split("\n"):
            if not line.strip():
                # A blank line ends a block, except inside a numbered paragraph whose
                # last sentence is unfinished (a page break in the middle of it).
                if current and not (cur_para and not SENTENCE_END.search(current[-1])):
                    flush()
                continue
            heading = _is_heading(line, numbered_paragraphs)
            if heading is not None:
                flush()
                section = f"{section} — {heading}" if last_was_heading and section else heading
                last_was_heading = True
                last_para = None
                continue
            last_was_heading = False
            if _FOOTNOTE.match(line) and not current and blocks:
                # a footnote at the foot of a page: keep it with the paragraph before it
                blocks[-1].text += "\n" + line.strip()
                continue
            m = _NUMBERED.match(line) if numbered_paragraphs else None
            if m:
                flush()
                cur_para = last_para = m.group(1)
            if not current:
                cur_page = page_no if paged else None
                if cur_para is None and last_para and _SUB_ITEM.match(line):
                    cur_para = last_para
            current.append(line.strip())
        # page boundary: an unnumbered block ends with its page
        if current and not cur_para:
            flush()
    flush()
    return blocks


def _merge_tiny(blocks: list[Block], count: TokenCounter) -> list[Block]:
    """Glue unnumbered blocks of fewer than 32 tokens (headings-like lines, table cells, dates) to the next
    unnumbered block of the same section."""
    out: list[Block] = []
    carry: Block | None = None
    for block in blocks:
        if carry is not None:
            if block.paragraph is None and block.section == carry.section:
                block = Block(carry.text + "\n" + block.text, carry.page, None, block.section)
            else:
                out.append(carry)
            carry = None
        if block.paragraph is None and count(block.text) < _MERGE_BELOW_TOKENS:
            carry = block
            continue
        out.append(block)
    if carry is not None:
        out.append(carry)
    return out


def _split_long(text: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """Split ``text`` into parts of at most ``max_tokens`` tokens at sentence boundaries;
    a single sentence over the limit is cut into equal character slices."""
    parts: list[str] = []
    buf = ""
    for sentence in split_sentences(text, clauses=True):
        n = count(sentence)
        if n > max_tokens:
            if buf:
                parts.append(buf)
                buf = ""
            parts.extend(_split_clauses(sentence, max_tokens, count))
            continue
        candidate = f"{buf} {sentence}" if buf and not _is_cjk_boundary(buf, sentence) else buf + sentence
        if buf and count(candidate) > max_tokens:
            parts.append(buf)
            buf = sentence
        else:
            buf = candidate
    if buf:
        parts.append(buf)
    return [p.strip() for p in parts if p.strip()]


_CLAUSE = re.compile(r"[^,，、;；:：\s]+[,，、;；:：]?\s*|\s+")


def _split_clauses(sentence: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """Split one over-long sentence at clause or word boundaries (commas, spaces); a
    clause still over the limit (long unpunctuated CJK) is cut into equal slices."""
    parts: list[str] = []
    buf = ""
    for piece in _CLAUSE.findall(sentence):
        if count(buf + piece) <= max_tokens:
            buf += piece
            continue
        if buf.strip():
            parts.append(buf)
        buf = piece
        n = count(piece)
        if n > max_tokens:
            step = -(-len(piece) // -(-n // max_tokens))
            parts.extend(piece[i : i + step] for i in range(0, len(piece), step))
            buf = ""
    if buf.strip():
        parts.append(buf)
    return parts


def _is_cjk_boundary(left: str, right: str) -> bool:
    return bool(left) and bool(right) and ord(left[-1]) > 0x2E80 and ord(right[0]) > 0x2E80


def chunk_pages(
    pages: list[str],
    count: TokenCounter,
    max_tokens: int = 256,
    numbered_paragraphs: bool = True,
    paged: bool = False,
) -> list[Chunk]:
    """Chunk cleaned pages into passages (see module docstring for the rules).

    Args:
        pages: cleaned page texts.
        count: token counter of the embedding model (:func:`khub.ingest.tokens.token_counter`).
        max_tokens: the passage size limit, in model tokens.
        numbered_paragraphs: see :func:`build_blocks`.
        paged: see :func:`build_blocks`.

    Returns:
        Chunks in document order with ``position`` 0..n-1 and their kind
        (:func:`khub.ingest.kinds.classify`); a list item carries its lead-in.
    """
    blocks = _merge_tiny(build_blocks(pages, numbered_paragraphs, paged), count)
    chunks: list[Chunk] = []
    for block_no, block in enumerate(blocks):
        texts = [block.text] if count(block.text) <= max_tokens else _split_long(block.text, max_tokens, count)
        for text in texts:
            kind = classify(text, block.section)
            intro = lead_in([c.text for c in chunks[-12:] if c.section == block.section], text) if kind == "list_item" else None
            chunks.append(Chunk(text, block.page, block.paragraph, block.section, len(chunks), kind, intro, block_no))
    return chunks

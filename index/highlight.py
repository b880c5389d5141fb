"""Highlights: the part of a passage that made it a hit, marked for display.

* Lexical hits: the passage's words whose analysed form (stem, or jieba word for Chinese)
  is one of the query's content terms are wrapped in ``<mark>``.
* Cross-lingual hits (no content term in common): the passage's sentence most similar to
  the query (from the stored sentence vectors) is wrapped in ``<mark>``.

The text is HTML-escaped first, so the highlight is safe to insert into a page. Long
passages are cut to a window of about ``width`` characters around the first mark.
"""

from __future__ import annotations

import html
import re

from khub.text.analysis import analyze, jieba_segmenter
from khub.text.scripts import CJK_CHAR
from khub.text.sentences import sentence_spans

#: A word with its combining marks: Python's ``\w`` leaves out the Arabic harakat and tanween
#: (Unicode category Mn), so "تدهوراً" was marked without its final tanween.
_WORD = re.compile(r"(?:\w|[\u0300-\u036F\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED])+", re.UNICODE)


def term_spans(text: str, terms: set[str], language: str | None) -> list[tuple[int, int]]:
    """Character spans of the words of ``text`` whose analysed form is in ``terms``."""
    # one-character Chinese terms are mostly function words (的, 是, 在): not worth marking
    terms = {t for t in terms if not (len(t) == 1 and CJK_CHAR.match(t))}
    if not terms:
        return []
    spans = []
    if language == "zh" or CJK_CHAR.search(text):
        for word, start, end in jieba_segmenter().tokenize(text, mode="search"):
            if set(analyze(word, language)) & terms:
                spans.append((start, end))
    else:
        for m in _WORD.finditer(text):
            if set(analyze(m.group(0), language)) & terms:
                spans.append((m.start(), m.end()))
    # search-mode tokens overlap (土地, 土地退化): keep the widest non-overlapping ones
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def render(text: str, spans: list[tuple[int, int]], width: int = 300) -> str:
    """HTML-escaped ``text`` with ``spans`` in ``<mark>``, windowed to about ``width`` chars."""
    if not spans:
        return html.escape(text[:width]) + ("…" if len(text) > width else "")
    start = max(0, spans[0][0] - width // 3)
    end = min(len(text), max(start + width, spans[0][1]))
    parts, pos = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        parts.append(html.escape(text[pos:s]) + "<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    parts.append(html.escape(text[pos:end]))
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if end < len(text) else "")


def highlight(text: str, language: str | None, terms: set[str], best_sentence: int | None, width: int = 300) -> str:
    """The highlight of one passage: marked query terms, else the marked best sentence."""
    spans = term_spans(text, terms, language)
    if not spans and best_sentence is not None:
        sentences = sentence_spans(text, clauses=True)
        if 0 <= best_sentence < len(sentences):
            spans = [sentences[best_sentence]]
    return render(text, spans, width)

"""Sentence splitting that keeps every sentence a verbatim slice of its text.

Boundaries: ``. ! ? ;`` followed by whitespace (Latin and Cyrillic scripts),
Arabic ``؟`` and ``.`` followed by whitespace, and the CJK full stops
``。！？；`` (no space needed). Abbreviations such as "e.g." or "i.e." are
not split. Used by the chunker (long paragraphs) and by extractive answers
(every answer sentence is copied from its passage).
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?;؟])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bNo\.)\s+(?=\S)|(?<=[。！？；])\s*(?=\S)")


_LABEL = re.compile(r"\d{1,3}\.|[a-z]\)|\([ivx]{1,4}\)")
_LEADING_LABEL = re.compile(r"^\s*(?:\d{1,3}\.|[a-z]\)|\([ivx]{1,4}\))\s*")


def strip_label(sentence: str) -> str:
    """``sentence`` without a leading paragraph number or list label ("29. ", "a) ", "(ii) ")."""
    return _LEADING_LABEL.sub("", sentence)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, whitespace-trimmed."""
    spans = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            # a paragraph number ("29.") or list label ("a)") is not a sentence: keep it with the next one
            if out and _LABEL.fullmatch(text[out[-1][0] : out[-1][1]]):
                out[-1] = (out[-1][0], e)
            else:
                out.append((s, e))
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; each one is ``text[start:end]`` for some span."""
    return [text[s:e] for s, e in sentence_spans(text)]

"""Sentence splitting that keeps every sentence a verbatim slice of its text.

Boundaries: ``. ! ?`` followed by whitespace (Latin and Cyrillic scripts),
Arabic ``؟`` and ``.`` followed by whitespace, and the CJK full stops
``。！？`` (no space needed). A semicolon is not a boundary: it separates the
items of an enumeration ("(i) …; (ii) …; and (iii) …"), which is one sentence
(``clauses=True`` makes it one, for the finer units the index embeds).
No split after an abbreviation ("e.g.", "para.", "art.") or an initial
("M. Marković", "Б.Дж. Орр"). Used by the chunker (long paragraphs) and by extractive answers
(every answer sentence is copied from its passage).
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"(?<=[.!?؟])\s+(?=\S)|(?<=[。！？])\s*(?=\S)")
_CLAUSE_BOUNDARY = re.compile(r"(?<=[.!?;؟])\s+(?=\S)|(?<=[。！？；])\s*(?=\S)")
#: Words ending in "." that do not end a sentence (compared lower-cased, without the dot).
ABBREVIATIONS = frozenset({
    "e.g", "i.e", "etc", "no", "nos", "para", "paras", "art", "arts", "p", "pp", "vol", "fig", "cf", "vs", "al",
    "mr", "mrs", "ms", "dr", "prof", "approx", "ca", "op", "ed", "eds", "chap", "sect", "rev", "add", "corr",
    "inc", "ltd", "st", "jr", "sr", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "env", "sci", "j", "int", "nat", "res", "doc", "cit", "ibid", "resp", "approx", "min", "max",
    "п", "ст", "см", "т.е", "т.д", "т.п", "др", "г", "гг", "рис", "табл", "стр",
})
#: A line that ends a sentence, clause or lead-in (final punctuation, colon, semicolon, closing quote
#: or bracket): the chunker's test for a finished paragraph and the passage-kind test for a heading.
SENTENCE_END = re.compile(r"[.!?;:。！？；：؟»\"”)）]\s*$")
_WORD_BEFORE = re.compile(r"(\S+)\.$")
_INITIAL = re.compile(r"^(?:[A-ZА-ЯЁ][a-zа-яё]?\.)+[A-ZА-ЯЁ][a-zа-яё]?$|^[A-HJ-ZА-ЯЁ]$")  # a lone "I." is more often a Roman numeral


def _ends_sentence(text: str, end: int) -> bool:
    """False when the "." at ``text[end - 1]`` closes an abbreviation or an initial."""
    if text[end - 1] != ".":
        return True
    m = _WORD_BEFORE.search(text[max(0, end - 24) : end])
    if not m:
        return True
    word = m.group(1).lstrip("(\"'“‘[")
    return not (_INITIAL.match(word) or word.lower() in ABBREVIATIONS)


_LABEL = re.compile(r"\d{1,3}\.|[a-z]\)|\([ivx]{1,4}\)")
_LEADING_LABEL = re.compile(r"^\s*(?:\d{1,3}\.|[a-z]\)|\([ivx]{1,4}\))\s*")


def strip_label(sentence: str) -> str:
    """``sentence`` without a leading paragraph number or list label ("29. ", "a) ", "(ii) ")."""
    return _LEADING_LABEL.sub("", sentence)


def sentence_spans(text: str, clauses: bool = False) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences of ``text``, whitespace-trimmed.

    With ``clauses``, ``;``/``；`` are boundaries too: the finer units the index embeds
    one by one (sentence vectors, highlights) and the chunker splits long paragraphs at.
    Answers and briefs quote whole sentences (the default).
    """
    spans = []
    start = 0
    for m in (_CLAUSE_BOUNDARY if clauses else _BOUNDARY).finditer(text):
        if not _ends_sentence(text, m.start()):
            continue
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


def split_sentences(text: str, clauses: bool = False) -> list[str]:
    """The sentences of ``text`` (:func:`sentence_spans`); each one is ``text[start:end]`` for some span."""
    return [text[s:e] for s, e in sentence_spans(text, clauses)]

"""Language-aware BM25 analysis (text -> index terms), done in Python so that every
store (tantivy, OpenSearch) indexes exactly the same terms.

* Chinese: jieba's search-engine mode (``cut_for_search``), which emits words and
  their sub-words (``土地退化`` -> ``土地``, ``退化``, ``土地退化``), so a query
  segmented differently from the passage still shares terms with it.
* Arabic, Cyrillic and Latin scripts: Unicode word tokens, lower-cased (Unicode
  case folding) and stemmed with the Snowball stemmer of the language
  (PyStemmer: english, french, spanish, russian, arabic).
* Unknown language: word tokens, lower-cased, not stemmed.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from khub.text.scripts import CJK_CHAR

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMERS = {"en": "english", "fr": "french", "es": "spanish", "ru": "russian", "ar": "arabic"}


@lru_cache(maxsize=8)
def _stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(_STEMMERS[language])


@lru_cache(maxsize=1)
def jieba_segmenter():
    """The initialised jieba module (one dictionary load per process)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def analyze(text: str, language: str | None) -> list[str]:
    """Index terms of ``text`` for the BM25 leg.

    Args:
        text: passage or query text.
        language: ISO 639-1 code (``zh``, ``en``, ...) or None.

    Returns:
        Terms in text order (duplicates kept: BM25 needs term frequencies).
        Chinese text inside a non-Chinese passage is segmented with jieba too.
    """
    if language == "zh" or CJK_CHAR.search(text):
        jieba = jieba_segmenter()
        terms = []
        for token in jieba.cut_for_search(text):
            token = token.strip()
            if token and _WORD.fullmatch(token):
                if CJK_CHAR.search(token):
                    terms.append(token)
                else:
                    terms.extend(_stem_words(_words(token), language if language != "zh" else "en"))
            elif token:
                terms.extend(_words(token))
        return terms
    return _stem_words(_words(text), language)


def _stem_words(words: list[str], language: str | None) -> list[str]:
    if language in _STEMMERS:
        return _stemmer(language).stemWords(words)
    return words

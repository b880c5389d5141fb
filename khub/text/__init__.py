"""Text utilities that ingestion and querying both need, in one place.

* :mod:`khub.text.scripts`: the CJK ideograph ranges and text length in words.
* :mod:`khub.text.language`: language detection among the six UN languages.
* :mod:`khub.text.sentences`: sentence splitting into verbatim slices.
* :mod:`khub.text.analysis`: BM25 analysis (text -> index terms), one per language.

``ingest/`` uses them to chunk and label passages, ``index/`` to index and query them and
``api/`` to pick answer sentences, so a passage and a query are always read the same way.
"""

from khub.text.analysis import analyze
from khub.text.language import UN_LANGUAGES, detect_language
from khub.text.scripts import CJK_RANGES, has_cjk, text_units
from khub.text.sentences import sentence_spans, split_sentences, strip_label

__all__ = ["CJK_RANGES", "UN_LANGUAGES", "analyze", "detect_language", "has_cjk", "sentence_spans",
           "split_sentences", "strip_label", "text_units"]

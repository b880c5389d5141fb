"""QueryLanguageDetector: the language a query is analysed in (BM25 terms, collapse, highlights)."""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict

from khub.text.language import detect_language


@component
class QueryLanguageDetector:
    """The query's language among the six UN languages (:func:`khub.text.language.detect_language`).

    Args:
        default: the language of a query with no letters or none lingua can decide on.
    """

    def __init__(self, default: str = "en"):
        self.default = default

    @component.output_types(language=str)
    def run(self, query: str) -> dict[str, Any]:
        """``{"language": ISO 639-1 code}`` of ``query``."""
        return {"language": detect_language(query, default=self.default) or self.default}

    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation."""
        return default_to_dict(self, default=self.default)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QueryLanguageDetector":
        """Haystack deserialisation."""
        return default_from_dict(cls, data)

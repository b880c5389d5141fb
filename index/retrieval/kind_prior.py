"""KindPriorRanker: apparatus passages (tables, captions, reference lists) rank below evidence."""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from khub.kinds import APPARATUS


@component
class KindPriorRanker:
    """Demotes passages whose ``meta["kind"]`` is in :data:`khub.kinds.APPARATUS`: an
    apparatus passage at rank ``r`` is re-ranked as if at rank ``r / weight`` (ties go to
    body text), then the list is cut to ``top_k``. Scores are left as retrieval gave them.

    A class prior (Kraaij, Westerveld & Hiemstra, "The importance of prior probabilities for
    entry page search", SIGIR 2002) applied in rank space, the space reciprocal rank fusion
    works in (Cormack, Clarke & Büttcher, SIGIR 2009): multiplying the flat RRF scores by a
    prior would throw a rank-1 table below rank 50, while dividing the rank keeps a strong
    apparatus match near the top (rank 1 -> 2 with weight 0.5) and still lets the paragraph
    that states the evidence pass the reference lists and tables that only share its words.
    When the request filters on ``kind`` the analyst asked for those passages and nothing changes.

    Args:
        weight: the prior of an apparatus passage relative to body text, in (0, 1]; 1 disables it.
    """

    def __init__(self, weight: float = 0.5):
        self.weight = weight

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document], filters: dict[str, Any] | None = None,
            top_k: int | None = None) -> dict[str, Any]:
        """``{"documents": [...]}`` re-ordered, at most ``top_k``."""
        if self.weight < 1.0 and not (filters or {}).get("kind"):
            def key(item: tuple[int, Document]) -> tuple[float, bool]:
                rank, doc = item[0] + 1, item[1]
                apparatus = doc.meta.get("kind") in APPARATUS
                return (rank / self.weight if apparatus else float(rank), apparatus)
            documents = [d for _, d in sorted(enumerate(documents), key=key)]
        return {"documents": documents[:top_k] if top_k else documents}

    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation."""
        return default_to_dict(self, weight=self.weight)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "KindPriorRanker":
        """Haystack deserialisation."""
        return default_from_dict(cls, data)

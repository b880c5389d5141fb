"""Collapse search results across translations.

Passages sharing a ``translation_group`` (same ICCD symbol + paragraph, same aligned
segment of the manual) are one piece of evidence in several languages. A result list
shows each group once, at the rank of its best member, represented by its passage in
the preferred language when one was retrieved, else by the store's edition in that
language (:meth:`khub.index.store.PassageStore.group_editions`), so a reader sees the
official text in their language even when retrieval found another edition first; the
retrieved passage stays named in ``meta["retrieved_id"]`` / ``meta["retrieved_language"]``
for provenance. ``also_in`` lists the group's other languages held by the store.
Several passages of the same group in the *same* language (parts of one long
paragraph) are all kept.
"""

from __future__ import annotations

from dataclasses import replace

from haystack import Document


def collapse_translations(ranked: list[Document], preferred: str | None,
                          group_languages: dict[str, set[str]],
                          editions: dict[str, list[Document]] | None = None) -> list[Document]:
    """Collapse ``ranked`` (best first) by ``meta["translation_group"]``.

    Args:
        ranked: retrieved passages, best first.
        preferred: the language to show a group in (the user's ``lang``, else the query's).
        group_languages: group id -> languages the store holds for it.
        editions: group id -> the store's passages of that group in ``preferred``
            (document order); a group retrieved only in other languages is shown in this edition.

    Returns:
        Passages best first; every passage with a group gets ``meta["also_in"]`` (sorted
        language codes, its own excluded); the kept representative takes the rank and
        score of the group's best member. A swapped-in edition carries ``retrieved_id``
        and ``retrieved_language`` of the passage retrieval found.
    """
    kept: list[Document] = []
    slot: dict[str, int] = {}
    for doc in ranked:
        group = doc.meta.get("translation_group")
        if not group:
            kept.append(doc)
            continue
        if group not in slot:
            slot[group] = len(kept)
            kept.append(doc)
            continue
        rep = kept[slot[group]]
        lang, rep_lang = doc.meta.get("language"), rep.meta.get("language")
        if lang == rep_lang:
            kept.append(doc)
        elif lang == preferred and rep_lang != preferred:
            kept[slot[group]] = replace(doc, score=rep.score)
    out = []
    seen: set[str] = set()
    for doc in kept:
        group = doc.meta.get("translation_group")
        if group and preferred and doc.meta.get("language") != preferred and (editions or {}).get(group):
            edition = editions[group][0]  # type: ignore[index]
            doc = replace(edition, score=doc.score, meta={**edition.meta, "retrieved_id": doc.id,
                                                          "retrieved_language": doc.meta.get("language")})
        if doc.id in seen:
            continue
        seen.add(doc.id)
        if group:
            others = sorted(group_languages.get(group, set()) - {doc.meta.get("language")})
            doc = replace(doc, meta={**doc.meta, "also_in": others})
        out.append(doc)
    return out

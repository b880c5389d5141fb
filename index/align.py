"""Paragraph alignment of a document's language editions, so translation groups exist
without an alignment file.

Editions of one document (the same file stem in sibling language folders; see
:func:`edition_family`) are aligned passage to passage with the dynamic programme of
Vecalign (Thompson & Koehn, "Vecalign: Improved Sentence Alignment in Linear Time and
Space", EMNLP 2019):

* Passages are compared by their multilingual embeddings (the index's embedding model).
  The cost of aligning a block ``x`` of one edition with a block ``y`` of the other is
  ``(1 - cos(x, y)) * n(x) * n(y)``, divided by the mean cost of ``x`` and of ``y``
  against every passage of the other edition (Vecalign's normalisation against random
  pairs, computed exactly instead of sampled; it removes "hub" passages that are close
  to everything). A block's vector is the normalised sum of its passages' vectors.
* Moves are 1-1, 1-2, 2-1 (a paragraph split differently in another language), 1-0 and
  0-1 (a passage with no counterpart). A skip costs the :data:`SKIP_QUANTILE` quantile of
  the 1-1 costs (after Vecalign's ``del_percentile_frac`` = 0.2).
* Section numbers are not used: a first version forbade aligning passages of differently
  numbered sections, but the editions' numbering does not always agree (the Arabic and
  Chinese manual number some sections one lower than the English), and dropping the
  constraint raised recall on both halves of ``bench/align_editions.py`` (tuning 0.884 ->
  0.934, test 0.872 -> 0.899, all language pairs) with precision no lower.

Every edition is aligned to one pivot edition (English where present, else the first in
UN order); see :func:`translation_groups`. The indexer calls :func:`align_stored_editions`
after an ingest for the families of the files it wrote.

Measured with ``bench/align_editions.py`` against the manual's alignment file (switched
off): see ``bench/results/alignment.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from haystack import Document

#: UN language order; the first present is the pivot edition.
PIVOT_ORDER = ("en", "fr", "es", "ru", "ar", "zh")
LANGUAGES = frozenset(PIVOT_ORDER)
#: Quantile of the 1-1 costs that a skip (1-0, 0-1) costs (Vecalign's del_percentile_frac).
SKIP_QUANTILE = 0.2
#: The moves of the dynamic programme: (passages of the pivot, passages of the other edition).
MOVES = ((1, 1), (1, 2), (2, 1), (1, 0), (0, 1))


@dataclass(frozen=True)
class EditionPassage:
    """What alignment needs of a stored passage: its id and unit embedding."""

    id: str
    vector: np.ndarray

    @classmethod
    def from_document(cls, doc: Document) -> "EditionPassage":
        """From a stored passage with its embedding."""
        return cls(doc.id, np.asarray(doc.embedding, dtype=np.float32))


def edition_family(path: str) -> tuple[str, str] | None:
    """``(family key, language)`` when ``path`` names one language edition of a document:
    ``<root>/<lang>/<name>`` (``prais/fr/SO1.txt``) or ``<root>/<name>.<lang>.<ext>``
    (``iccd/COP15_note.zh.txt``), ``<lang>`` one of the six UN languages; else None.
    The key is the path with the language left out, so all editions share it."""
    p = PurePosixPath(path)
    if len(p.parts) >= 2 and p.parent.name in LANGUAGES:
        return str(p.parent.parent / p.name), p.parent.name
    stem_parts = p.name.split(".")
    if len(stem_parts) >= 3 and stem_parts[-2] in LANGUAGES:
        return str(p.parent / ".".join(stem_parts[:-2] + stem_parts[-1:])), stem_parts[-2]
    return None


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def cost_matrices(a: np.ndarray, b: np.ndarray) -> tuple[dict[tuple[int, int], np.ndarray], float]:
    """Per move ``(di, dj)`` with di, dj >= 1, the cost of the block starting at ``[i, j]``
    and the skip cost (module docstring)."""
    dist = 1.0 - a @ b.T
    mean_a, mean_b = dist.mean(axis=1), dist.mean(axis=0)  # each passage against the whole other edition
    costs: dict[tuple[int, int], np.ndarray] = {}
    one = dist / np.maximum((mean_a[:, None] + mean_b[None, :]) / 2, 1e-6)
    costs[(1, 1)] = one
    if len(b) > 1:
        b2 = _unit_rows(b[:-1] + b[1:])
        norm = (mean_a[:, None] + ((mean_b[:-1] + mean_b[1:]) / 2)[None, :]) / 2
        c = (1.0 - a @ b2.T) * 2 / np.maximum(norm, 1e-6)
        costs[(1, 2)] = c
    if len(a) > 1:
        a2 = _unit_rows(a[:-1] + a[1:])
        norm = (((mean_a[:-1] + mean_a[1:]) / 2)[:, None] + mean_b[None, :]) / 2
        c = (1.0 - a2 @ b.T) * 2 / np.maximum(norm, 1e-6)
        costs[(2, 1)] = c
    return costs, float(np.quantile(one, SKIP_QUANTILE))


def align(pivot: Sequence[EditionPassage], other: Sequence[EditionPassage]) -> list[tuple[list[int], list[int]]]:
    """The minimum-cost monotone alignment of two editions (see the module docstring).

    Args:
        pivot / other: an edition's passages in document order, with unit vectors of one
            embedding model (same dimension).

    Returns:
        Aligned blocks in order, ``([pivot indexes], [other indexes])``; skips are left out.
        Time and memory are O(n * m) for editions of n and m passages.

    Raises:
        ValueError: vectors of different dimensions.
    """
    n, m = len(pivot), len(other)
    if n == 0 or m == 0:
        return []
    a = np.stack([p.vector for p in pivot]).astype(np.float32)
    b = np.stack([p.vector for p in other]).astype(np.float32)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"alignment needs one embedding model: dimensions {a.shape[1]} and {b.shape[1]}")
    costs, skip = cost_matrices(a, b)
    lookup = {move: matrix.tolist() for move, matrix in costs.items()}
    inf = float("inf")
    total = [[inf] * (m + 1) for _ in range(n + 1)]
    back = [[-1] * (m + 1) for _ in range(n + 1)]
    total[0][0] = 0.0
    for i in range(n + 1):
        row = total[i]
        for j in range(m + 1):
            if i == j == 0:
                continue
            best, move = inf, -1
            for k, (di, dj) in enumerate(MOVES):
                if i < di or j < dj:
                    continue
                prev = total[i - di][j - dj]
                if prev == inf:
                    continue
                if di and dj:
                    matrix = lookup.get((di, dj))
                    if matrix is None:
                        continue
                    c = prev + matrix[i - di][j - dj]
                else:
                    c = prev + skip
                if c < best:
                    best, move = c, k
            row[j], back[i][j] = best, move
    blocks: list[tuple[list[int], list[int]]] = []
    i, j = n, m
    while i > 0 or j > 0:
        di, dj = MOVES[back[i][j]]
        if di and dj:
            blocks.append((list(range(i - di, i)), list(range(j - dj, j))))
        i, j = i - di, j - dj
    return blocks[::-1]


def translation_groups(editions: dict[str, Sequence[EditionPassage]], family: str) -> dict[str, str]:
    """Translation groups of a document's editions: passage id -> ``auto:<family>#<n>``.

    Every edition is aligned to the pivot edition (:data:`PIVOT_ORDER`). A group is one
    pivot passage and, from each other edition, the passage aligned to it: in a 1-2 or 2-1
    block (a paragraph split differently in the two languages) only the pair with the
    highest cosine joins, so each passage is in at most one group and a group holds at most
    one passage per language, as with an alignment file; the other part of a split
    paragraph stays without a group.

    Args:
        editions: language -> that edition's passages in document order.
        family: the family key (:func:`edition_family`), part of every group id.

    Returns:
        A group for every passage aligned with a passage of another edition; the others
        are left out. ``n`` is the pivot passage's 0-based position.
    """
    languages = [lang for lang in PIVOT_ORDER if editions.get(lang)]
    languages += sorted(lang for lang in editions if lang not in LANGUAGES and editions[lang])
    if len(languages) < 2:
        return {}
    pivot = list(editions[languages[0]])
    groups: dict[str, str] = {}
    for lang in languages[1:]:
        other = list(editions[lang])
        for pivot_idx, other_idx in align(pivot, other):
            x, y = max(((i, j) for i in pivot_idx for j in other_idx),
                       key=lambda ij: float(pivot[ij[0]].vector @ other[ij[1]].vector))
            group = f"auto:{family}#{x}"
            groups[pivot[x].id] = group
            groups[other[y].id] = group
    return groups


def _is_own_group(group: str | None) -> bool:
    """A group set by this module (as opposed to an ICCD symbol or an alignment file)."""
    return group is None or group.startswith("auto:")


def align_stored_editions(store: Any, paths: Iterable[str]) -> dict[str, int]:
    """Align the stored editions of every document family that ``paths`` belong to and
    write the groups into the store (:meth:`PassageStore.update_meta`).

    A passage whose group comes from an ICCD symbol or an alignment file keeps it; a family
    where most passages have such groups is left alone (the file or symbol knows better).
    Stale ``auto:`` groups of a re-ingested edition are replaced or removed.

    Args:
        store: a :class:`khub.index.store.PassageStore`.
        paths: stored document paths (``path_key``) that were just written.

    Returns:
        ``{family: passages whose group changed}`` for the families aligned.
    """
    wanted = {fam[0] for fam in map(edition_family, paths) if fam}
    if not wanted:
        return {}
    members: dict[str, dict[str, dict[str, Any]]] = {}
    for record in store.list_documents():
        fam = edition_family(record["path"])
        if fam and fam[0] in wanted:
            members.setdefault(fam[0], {})[fam[1]] = record
    changed: dict[str, int] = {}
    for family, records in members.items():
        if len(records) < 2:
            continue
        editions: dict[str, list[Document]] = {}
        for lang, record in records.items():
            ids = [f"{record['doc_id']}:{i}" for i in range(record["n_passages"])]
            editions[lang] = [d for d in store.get_documents(ids) if d.embedding is not None]
        docs = [d for eds in editions.values() for d in eds]
        if sum(not _is_own_group(d.meta.get("translation_group")) for d in docs) * 2 > len(docs):
            continue
        groups = translation_groups(
            {lang: [EditionPassage.from_document(d) for d in eds] for lang, eds in editions.items()}, family)
        updates = {d.id: {"translation_group": groups.get(d.id)} for d in docs
                   if _is_own_group(d.meta.get("translation_group")) and d.meta.get("translation_group") != groups.get(d.id)}
        store.update_meta(updates)
        changed[family] = len(updates)
    return changed

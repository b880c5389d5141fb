"""Measure automatic alignment of language editions against the manual's alignment file.

    KHUB_DATA_DIR=data .venv/bin/python bench/align_editions.py [--save bench/results/alignment.json]

The store's manual passages carry the translation groups read from
``corpora/prais4-manual-2022/segments_aligned.jsonl`` (the gold). This script ignores those
groups, aligns every chapter's six editions with :func:`khub.index.align.translation_groups`
(embeddings only, as for a document without an alignment file) and
compares the two over passage pairs of different languages that the gold judges (both
passages have a gold group):

* precision: share of pairs put in one group automatically that the gold also groups;
* recall: share of gold pairs that the automatic groups also join;
* precision by segment overlap (a diagnostic of the gold, not a replacement): a passage's
  gold group is the longest aligned segment it contains, but a passage that merges several
  short segments holds them all, and pairing it with the passage holding its second segment
  is right. Here an automatic pair counts as right when the two passages share any aligned
  segment (:func:`khub.ingest.translations.contained_segments`).

Both over all language pairs and over the pairs with the English pivot (every edition is
aligned to English; a pair of two other languages is right only when both alignments are).

Tuning half: chapter SO1 (the alignment method was developed on it); test half: chapter
SO2 and the introduction. Printed per chapter, per half and overall, with the time taken.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from khub.index.align import EditionPassage, edition_family, translation_groups
from khub.index.stores import open_store
from khub.ingest.translations import contained_segments
from khub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HALVES = {"tuning": ("SO1",), "test": ("SO2", "introduction")}


def pairs(groups: dict[str, str], ids: set[str], language: dict[str, str],
          with_language: str | None = None) -> set[tuple[str, str]]:
    """Cross-language pairs of ``ids`` sharing a group (only pairs with ``with_language``, if given)."""
    members: dict[str, list[str]] = defaultdict(list)
    for pid in ids:
        if pid in groups:
            members[groups[pid]].append(pid)
    out = set()
    for group in members.values():
        for x, y in itertools.combinations(sorted(group), 2):
            if language[x] != language[y] and (with_language is None or with_language in (language[x], language[y])):
                out.add((x, y))
    return out


def main() -> None:
    store = open_store(Settings())
    families: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for doc in store.filter_documents():
        if doc.meta.get("source") != "manual":
            continue
        fam = edition_family(doc.meta["path"])
        if fam:
            families[fam[0]][fam[1]].append(doc)
    rows = {}
    for family, editions in sorted(families.items()):
        for docs in editions.values():
            docs.sort(key=lambda d: d.meta["position"])
        start = time.perf_counter()
        auto = translation_groups({lang: [EditionPassage.from_document(d) for d in docs]
                                   for lang, docs in editions.items()}, family)
        seconds = time.perf_counter() - start
        docs = [d for ds in editions.values() for d in ds]
        gold = {d.id: d.meta["translation_group"] for d in docs if d.meta.get("translation_group")}
        language = {d.id: lang for lang, ds in editions.items() for d in ds}  # the edition's, not the passage's
        judged = set(gold)
        g, a = pairs(gold, judged, language), pairs(auto, judged, language)
        gp, ap = pairs(gold, judged, language, "en"), pairs(auto, judged, language, "en")
        held = {d.id: contained_segments(ROOT / d.meta["path"], language[d.id], d.content or "") for d in docs}
        a_overlap = sum(1 for x, y in a if held[x] & held[y])
        ap_overlap = sum(1 for x, y in ap if held[x] & held[y])
        rows[Path(family).stem] = {"gold_pairs": len(g), "auto_pairs": len(a), "both": len(g & a),
                                   "gold_pairs_en": len(gp), "auto_pairs_en": len(ap), "both_en": len(gp & ap),
                                   "overlap": a_overlap, "overlap_en": ap_overlap,
                                   "passages": len(docs), "grouped_auto": len(auto), "seconds": round(seconds, 2)}
    report = {}
    for name, chapters in [*((k, (k,)) for k in rows), *HALVES.items(), ("all", tuple(rows))]:
        sel = [rows[c] for c in chapters if c in rows]
        both, g, a, both_en, g_en, a_en, over, over_en = (sum(r[k] for r in sel) for k in (
            "both", "gold_pairs", "auto_pairs", "both_en", "gold_pairs_en", "auto_pairs_en", "overlap", "overlap_en"))
        report[name] = {"precision": round(both / a, 4) if a else None, "recall": round(both / g, 4) if g else None,
                        "gold_pairs": g, "auto_pairs": a,
                        "precision_en": round(both_en / a_en, 4) if a_en else None,
                        "recall_en": round(both_en / g_en, 4) if g_en else None,
                        "precision_overlap": round(over / a, 4) if a else None,
                        "precision_overlap_en": round(over_en / a_en, 4) if a_en else None,
                        "seconds": round(sum(r["seconds"] for r in sel), 2)}
        r = report[name]
        print(f"{name:>14}  all pairs P {r['precision']} R {r['recall']}  |  pairs with the English pivot "
              f"P {r['precision_en']} R {r['recall_en']}  |  P by segment overlap {r['precision_overlap']} "
              f"(English {r['precision_overlap_en']})  (gold pairs {g}, auto pairs {a}, {r['seconds']} s)")
    if "--save" in sys.argv:
        target = Path(sys.argv[sys.argv.index("--save") + 1])
        target.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

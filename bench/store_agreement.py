"""Do the two stores agree? Top-10 overlap and metric differences, embedded store vs OpenSearch.

    .venv/bin/python bench/store_agreement.py --data-dir /tmp/kc --opensearch-url http://127.0.0.1:9200 \
        [--save bench/results/store_agreement.json]

Both stores must hold the same ingest of ``corpora/`` (``khub ingest corpora`` once with the
default store and once with ``KHUB_STORE=opensearch``). For every development set of
``bench/qrels`` (cross-lingual, ICCD questions, monolingual) and every mode (bm25, dense,
hybrid), each query runs through :class:`khub.api.service.SearchService` on both stores, with
collapsing of translations as the API does it. Printed per set and mode: the mean top-10
overlap (shared passage ids / the longer of the two lists; 1 when both are empty), how many queries have the same top-10 in the same order,
and recall@10 / MRR@10 of each store (:func:`khub.evaluation.evaluate`, the metric of
``khub eval``), with their difference. Queries whose top-10 differ are listed in the saved run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from khub.api.service import SearchService
from khub.evaluation import evaluate, load_qrels
from khub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETS = ("crosslingual", "iccd_questions", "monolingual")
MODES = ("bm25", "dense", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="the embedded store")
    parser.add_argument("--opensearch-url", required=True, help="the OpenSearch node holding the same ingest")
    parser.add_argument("--opensearch-index", default="khub-passages")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    services = {
        "embedded": SearchService(Settings(data_dir=args.data_dir)),
        "opensearch": SearchService(Settings(store="opensearch", opensearch_url=args.opensearch_url,
                                             opensearch_index=args.opensearch_index)),
    }
    out: dict = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "stores": {name: s.store.info() for name, s in services.items()}, "sets": {}}
    print(f"{'set':15} {'mode':7} {'queries':>7} {'overlap@10':>10} {'same top-10':>11} "
          f"{'R@10 emb':>8} {'R@10 os':>8} {'MRR emb':>8} {'MRR os':>8}")
    for name in SETS:
        qrels = load_qrels(ROOT / "bench" / "qrels" / f"{name}.jsonl")
        out["sets"][name] = {}
        for mode in MODES:
            ids: dict[str, dict[str, list[str]]] = {store: {} for store in services}
            metrics = {}
            for store, service in services.items():
                def run(query: str, n: int, filters: dict, service=service, store=store) -> list[str]:
                    results = service.search(query, k=n, filters=filters, mode=mode)["results"]
                    ids[store][query] = [r["id"] for r in results[:10]]
                    return [r["text"] for r in results]

                metrics[store] = evaluate(qrels, run, k=10)["overall"]
            overlaps, same, differing = [], 0, []
            for q in qrels:
                a, b = ids["embedded"].get(q.query, []), ids["opensearch"].get(q.query, [])
                # shared ids / the longer list (1 when both are empty: a BM25 leg that finds nothing)
                overlaps.append(len(set(a) & set(b)) / max(len(a), len(b)) if a or b else 1.0)
                if a == b:
                    same += 1
                else:
                    differing.append({"id": q.id, "embedded": a, "opensearch": b})
            row = {"queries": len(qrels), "overlap@10": round(sum(overlaps) / max(len(overlaps), 1), 4),
                   "same_top10": same, "embedded": metrics["embedded"], "opensearch": metrics["opensearch"],
                   "differing": differing}
            out["sets"][name][mode] = row
            e, o = metrics["embedded"], metrics["opensearch"]
            print(f"{name:15} {mode:7} {len(qrels):7} {row['overlap@10']:10.3f} {same:11} "
                  f"{e['recall@10']:8.3f} {o['recall@10']:8.3f} {e['mrr@10']:8.3f} {o['mrr@10']:8.3f}", flush=True)
    if args.save:
        args.save.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Ingest and query latency of the OpenSearch store at scale, on your cluster, printed as numbers.

    docker compose up -d --wait opensearch        # or any cluster: KHUB_OPENSEARCH_URL, _USER, ...
    KHUB_OPENSEARCH_URL=http://localhost:9200 .venv/bin/python bench/opensearch_scale.py \\
        [--passages 100000] [--queries 200] [--per-document 50] [--keep]

1. Writes N synthetic passages into a throw-away index (``khub-bench-<random>``) through the
   store, as ingest does: one ``replace_document`` per synthetic document of ``--per-document``
   passages with three sentence vectors each. Passages are sentences of the real corpus
   recombined at random in their six languages, with random unit vectors of 512 dims (this
   measures the store, not the model). Prints passages/s.
2. Times the BM25 leg, the dense leg (with and without a language filter), the sentence
   re-scoring read (``best_sentences`` of 50 passages) and facets without a query:
   p50/p95/mean in ms, and the round trips of each.
3. Deletes the bench indices (unless ``--keep``).

The layout follows the ``KHUB_OPENSEARCH_*`` settings (shards, replicas, ``encoder=sq``, bulk
size). Results go to ``bench/results/opensearch_scale.json``. Nothing here runs without a
cluster: this machine has none, so no result is committed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from latency import corpus_sentences, percentile_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--per-document", type=int, default=50, help="passages per synthetic document")
    parser.add_argument("--keep", action="store_true", help="keep the bench indices")
    args = parser.parse_args()

    from haystack import Document

    from khub.index.opensearch_requests import OpenSearchOptions
    from khub.index.opensearch_store import OpenSearchDocumentStore
    from khub.settings import Settings

    settings = Settings()
    if not settings.opensearch_url:
        sys.exit("set KHUB_OPENSEARCH_URL (e.g. http://localhost:9200 after `docker compose up -d --wait opensearch`)")
    index = f"khub-bench-{uuid.uuid4().hex[:8]}"
    store = OpenSearchDocumentStore(settings.opensearch_url, index, embedding_model="random-512",
                                    options=OpenSearchOptions.from_settings(settings))
    rng = random.Random(13)
    np_rng = np.random.default_rng(13)
    by_lang: dict[str, list[str]] = {}
    for s, lang in corpus_sentences():
        by_lang.setdefault(lang, []).append(s)
    langs = sorted(by_lang)
    results: dict = {"url": settings.opensearch_url, "passages": args.passages, "queries": args.queries,
                     "shards": settings.opensearch_shards, "replicas": settings.opensearch_replicas,
                     "encoder": settings.opensearch_encoder, "bulk_mb": settings.opensearch_bulk_mb}

    def unit(n: int) -> np.ndarray:
        v = np_rng.standard_normal((n, 512)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    try:
        t0 = time.perf_counter()
        for start in range(0, args.passages, args.per_document):
            doc_id = f"syn{start // args.per_document}"
            n = min(args.per_document, args.passages - start)
            vectors = unit(n)
            passages, sentences = [], {}
            for j in range(n):
                lang = langs[(start + j) % len(langs)]
                pid = f"{doc_id}:{j}"
                passages.append(Document(id=pid, content=" ".join(rng.sample(by_lang[lang], 3)),
                                         embedding=vectors[j].tolist(),
                                         meta={"language": lang, "source": rng.choice(["iccd", "manual", "spi"]),
                                               "doc_id": doc_id, "position": j}))
                sentences[pid] = unit(3)
            store.replace_document(doc_id, f"{doc_id}.pdf", "synthetic", {"source": "spi"}, passages,
                                   sentence_vectors=sentences)
            if (start // args.per_document) % 100 == 99:
                print(f"  wrote {start + n} passages ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        seconds = time.perf_counter() - t0
        results["write_seconds"] = round(seconds, 1)
        results["write_passages_per_s"] = round(args.passages / seconds, 1)

        queries = [(rng.choice(by_lang[lang])[:80], lang) for lang in (rng.choice(langs) for _ in range(args.queries))]
        timings: dict[str, list[float]] = {k: [] for k in ("bm25_leg", "dense_leg", "dense_leg_language_filter",
                                                            "best_sentences_50", "facets")}
        for q, lang in queries:
            vec = unit(1)[0].tolist()
            for name, call in (("bm25_leg", lambda: store.bm25_retrieval(q, lang, top_k=50)),
                               ("dense_leg", lambda: store.embedding_retrieval(vec, top_k=50)),
                               ("dense_leg_language_filter",
                                lambda: store.embedding_retrieval(vec, filters={"language": lang}, top_k=50))):
                t = time.perf_counter()
                hits = call()
                timings[name].append(time.perf_counter() - t)
            t = time.perf_counter()
            store.best_sentences(vec, [d.id for d in hits])
            timings["best_sentences_50"].append(time.perf_counter() - t)
        for _ in range(min(20, args.queries)):
            t = time.perf_counter()
            store.facet_counts(("source", "language"))
            timings["facets"].append(time.perf_counter() - t)
        results.update({k: percentile_ms(v) for k, v in timings.items()})
    finally:
        if not args.keep:
            for pattern in (f"{index}-v*", f"{index}-documents-v*", f"{index}-kv"):
                store.client.indices.delete(index=pattern, ignore=[404])
            store.client.indices.delete_index_template(name=index, ignore=[404])
    out = ROOT / "bench" / "results" / "opensearch_scale.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

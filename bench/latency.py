"""Search latency at scale and embedding throughput, printed as numbers.

    .venv/bin/python bench/latency.py [--passages 100000] [--queries 200] [--save bench/results/latency.json]

1. Builds an embedded store of N synthetic passages (sentences of the real corpus
   recombined at random, in their six languages; random unit vectors of 512 dims,
   since this measures the store, not the model) in a temporary data dir.
2. Times the BM25 leg and the dense leg separately (query embedding excluded),
   hybrid retrieval including query embedding, and the full search of the API
   (query embedding, both legs, sentence-level re-scoring of the dense leg, RRF,
   translation collapse, highlights): p50/p95/mean in ms.
3. Times the packaged USE embedder on real corpus passages: passages/s.
Results are also written to bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from haystack import Document  # noqa: E402

from khub.index.embedded_store import EmbeddedDocumentStore  # noqa: E402
from khub.text.language import detect_language  # noqa: E402
from khub.text.sentences import split_sentences  # noqa: E402


def corpus_sentences() -> list[tuple[str, str]]:
    """(sentence, language) pairs from the real corpus."""
    out = []
    for path in sorted((ROOT / "corpora").rglob("*.txt")) + sorted((ROOT / "corpora").rglob("*.md")):
        if path.name.startswith(("README", "SOURCES")):
            continue
        text = path.read_text(encoding="utf-8")
        lang = detect_language(text[:3000]) or "en"
        out += [(s, lang) for s in split_sentences(text.replace("\n", " ")) if 20 < len(s) < 400]
    return out


def percentile_ms(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples) * 1000
    return {"p50_ms": round(float(np.percentile(arr, 50)), 2), "p95_ms": round(float(np.percentile(arr, 95)), 2),
            "mean_ms": round(float(arr.mean()), 2)}


def write_synthetic(store: EmbeddedDocumentStore, n: int, by_lang: dict[str, list[str]], langs: list[str],
                    rng: random.Random, np_rng: np.random.Generator) -> float:
    """Write ``n`` synthetic passages (3 corpus sentences, a random unit vector, 3 random
    sentence vectors) in batches of 5,000; returns the seconds taken."""
    t0 = time.perf_counter()
    batch: list[Document] = []
    sentence_vectors: dict[str, np.ndarray] = {}
    for i in range(n):
        lang = langs[i % len(langs)]
        text = " ".join(rng.sample(by_lang[lang], 3))
        vecs = np_rng.standard_normal((4, 512)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        batch.append(Document(id=f"syn:{i}", content=text, embedding=vecs[0].tolist(),
                              meta={"language": lang, "source": rng.choice(["iccd", "manual", "spi"]), "doc_id": f"syn{i // 50}"}))
        sentence_vectors[f"syn:{i}"] = vecs[1:]
        if len(batch) == 5000 or i == n - 1:
            store.write_documents(batch, sentence_vectors=sentence_vectors)
            batch, sentence_vectors = [], {}
            print(f"  wrote {i + 1} passages ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return round(time.perf_counter() - t0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--save", type=Path, default=ROOT / "bench" / "results" / "latency.json")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="build the store here and keep it; a store already holding --passages passages "
                             "there is reused (default: a temporary folder)")
    args = parser.parse_args()
    rng = random.Random(13)
    np_rng = np.random.default_rng(13)
    sentences = corpus_sentences()
    by_lang: dict[str, list[str]] = {}
    for s, lang in sentences:
        by_lang.setdefault(lang, []).append(s)
    langs = sorted(by_lang)
    results: dict = {"passages": args.passages, "queries": args.queries}

    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.data_dir or scratch)
        store = EmbeddedDocumentStore(tmp)  # random vectors: no model name is recorded
        reuse = store.count_documents() == args.passages
        if not reuse:
            results["write_seconds"] = write_synthetic(store, args.passages, by_lang, langs, rng, np_rng)
        rng = random.Random(14)  # the queries do not depend on whether the store was reused
        t0 = time.perf_counter()
        store.embedding_retrieval([0.0] * 512, top_k=1)  # loads vectors into memory
        results["first_load_seconds"] = round(time.perf_counter() - t0, 2)

        queries = [(rng.choice(by_lang[lang])[:80], lang) for lang in (rng.choice(langs) for _ in range(args.queries))]
        bm25, dense, filtered = [], [], []
        for q, lang in queries:
            t = time.perf_counter()
            store.bm25_retrieval(q, lang, top_k=50)
            bm25.append(time.perf_counter() - t)
            vec = np_rng.standard_normal(512).astype(np.float32)
            t = time.perf_counter()
            store.embedding_retrieval((vec / np.linalg.norm(vec)).tolist(), top_k=50)
            dense.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.embedding_retrieval((vec / np.linalg.norm(vec)).tolist(), filters={"language": lang}, top_k=50)
            filtered.append(time.perf_counter() - t)
        results["bm25_leg"] = percentile_ms(bm25)
        results["dense_leg"] = percentile_ms(dense)
        results["dense_leg_language_filter"] = percentile_ms(filtered)

        from khub.api.service import SearchService
        from khub.index.embedders import USETextEmbedder
        from khub.settings import Settings

        embedder = USETextEmbedder()
        embedder.warm_up()
        service = SearchService(Settings(data_dir=Path(tmp)), store=store, embedders=(embedder, None))
        hybrid = []
        for q, _ in queries[:100]:
            t = time.perf_counter()
            service.run_retrieval(q, top_k=10)  # embeds the query, runs the hybrid pipeline
            hybrid.append(time.perf_counter() - t)
        results["hybrid_with_query_embedding"] = percentile_ms(hybrid)

        full = []
        for q, _ in queries[:100]:
            t = time.perf_counter()
            service.search(q, k=10)
            full.append(time.perf_counter() - t)
        results["full_search_api"] = percentile_ms(full)

        passages = [" ".join(rng.sample(by_lang[lang], 3)) for lang in langs for _ in range(100)]
        t = time.perf_counter()
        embedder.embed(passages)
        results["use_embedding_passages_per_s"] = round(len(passages) / (time.perf_counter() - t), 1)

    args.save.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

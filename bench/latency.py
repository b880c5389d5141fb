"""Search latency, memory and start-up time of the embedded store at scale, printed as numbers.

    .venv/bin/python bench/latency.py [--passages 100000] [--queries 200] [--data-dir DIR]
                                      [--save bench/results/latency.json]

1. Builds an embedded store of N synthetic passages (sentences of the real corpus
   recombined at random, in their six languages; random unit vectors of 512 dims and three
   random sentence vectors each, since this measures the store, not the model) the way an
   ingest writes: batches inside ``bulk_load``, then ``prepare_search`` (the retrieval
   arrays derived and saved). ``--data-dir`` keeps the store, and reuses one of N passages.
2. Starts a **new process** that opens the store, loads the USE model and answers one full
   API search: the first-query time of a freshly started worker, with the page cache as the
   build left it and (when this user may drop the page cache) cold; its resident memory,
   split into private (anonymous) and shared file-backed pages.
3. Times the BM25 leg and the dense leg separately (query embedding excluded; with and
   without a language filter), hybrid retrieval including query embedding, and the full
   search of the API (query embedding, both legs, sentence-level re-scoring of the dense
   leg, RRF, translation collapse, highlights): p50/p95/mean in ms.
4. On-disk size of each part of the store; the packaged USE embedder's passages/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
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
    with store.bulk_load():
        _write_batches(store, n, by_lang, langs, rng, np_rng, t0)
    return round(time.perf_counter() - t0, 1)


def _write_batches(store: EmbeddedDocumentStore, n: int, by_lang: dict[str, list[str]], langs: list[str],
                   rng: random.Random, np_rng: np.random.Generator, t0: float) -> None:
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
            if (i + 1) % 50_000 == 0 or i == n - 1:
                print(f"  wrote {i + 1} passages ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def memory_mb() -> dict[str, float]:
    """This process's resident memory (Linux ``/proc/self/status``): total, private (anonymous)
    and file-backed pages (the mapped vectors: shared with every process mapping them), in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "private_mb": fields.get("RssAnon", 0.0),
            "file_backed_mb": fields.get("RssFile", 0.0)}


def first_query(data_dir: str, query: str) -> dict:
    """In this (new) process: open the store, load the USE model, answer one full API search.
    Seconds for each, and the memory after it."""
    t0 = time.perf_counter()
    from khub.api.service import SearchService
    from khub.index.embedders import USETextEmbedder
    from khub.settings import Settings

    imported = time.perf_counter()
    embedder = USETextEmbedder()
    embedder.warm_up()
    loaded = time.perf_counter()
    store = EmbeddedDocumentStore(data_dir)
    service = SearchService(Settings(data_dir=Path(data_dir)), store=store, embedders=(embedder, None))
    opened = time.perf_counter()
    hits = service.search(query, k=10)
    done = time.perf_counter()
    assert hits["results"] or hits["nearest"], "the first search found nothing"
    second = time.perf_counter()
    service.search(query + " soil", k=10)
    return {"import_s": round(imported - t0, 2), "model_load_s": round(loaded - imported, 2),
            "store_open_s": round(opened - loaded, 3), "first_search_s": round(done - opened, 3),
            "store_open_and_first_search_s": round(done - loaded, 3),
            "second_search_s": round(time.perf_counter() - second, 3), **memory_mb()}


def probe_first_query(data_dir: str, query: str, cold: bool) -> dict:
    """:func:`first_query` in a new Python process; ``cold`` drops the page cache first (needs
    root; ``{"skipped": reason}`` otherwise)."""
    if cold:
        try:
            os.sync()
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        except OSError as err:
            return {"skipped": f"cannot drop the page cache: {err}"}
    out = subprocess.run([sys.executable, __file__, "--first-query", data_dir, "--query", query],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def disk_mb(data_dir: str) -> dict[str, float]:
    """MB on disk of each part of the store (SQLite with its WAL, BM25 index, retrieval arrays)."""
    def size(paths: list[Path]) -> float:
        return round(sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*"))
                         if f.is_file()) / 2**20, 1)
    root = Path(data_dir)
    return {"sqlite_mb": size(list(root.glob("khub.sqlite*"))), "bm25_mb": size([root / "bm25"]),
            "vectors_mb": size([root / "vectors"]), "total_mb": size([root])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--save", type=Path, default=ROOT / "bench" / "results" / "latency.json")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="build the store here and keep it; a store already holding --passages passages "
                             "there is reused (default: a temporary folder)")
    parser.add_argument("--first-query", metavar="DIR", help=argparse.SUPPRESS)  # the probe's own process
    parser.add_argument("--query", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_query:
        print(json.dumps(first_query(args.first_query, args.query)))
        return
    rng = random.Random(13)
    np_rng = np.random.default_rng(13)
    sentences = corpus_sentences()
    by_lang: dict[str, list[str]] = {}
    for s, lang in sentences:
        by_lang.setdefault(lang, []).append(s)
    langs = sorted(by_lang)
    results: dict = {"passages": args.passages, "queries": args.queries, "cores": os.cpu_count()}

    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.data_dir or scratch)
        store = EmbeddedDocumentStore(tmp)  # random vectors: no model name is recorded
        if store.count_documents() != args.passages:
            store.reset()
            results["write_seconds"] = write_synthetic(store, args.passages, by_lang, langs, rng, np_rng)
            results["write_passages_per_s"] = round(args.passages / results["write_seconds"])
        t0 = time.perf_counter()
        store.prepare_search()  # what the end of an ingest does: derive and save the retrieval arrays
        results["prepare_search_seconds"] = round(time.perf_counter() - t0, 1)
        results["disk"] = disk_mb(tmp)
        store.close()
        rng = random.Random(14)  # the queries do not depend on whether the store was reused
        queries = [(rng.choice(by_lang[lang])[:80], lang) for lang in (rng.choice(langs) for _ in range(args.queries))]
        results["first_query_new_process"] = probe_first_query(tmp, queries[0][0], cold=False)

        store = EmbeddedDocumentStore(tmp)
        for q, lang in queries[:20]:  # the timings below are of a warm process
            store.bm25_retrieval(q, lang, top_k=50)
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
        results["memory_after_searches"] = memory_mb()

        passages = [" ".join(rng.sample(by_lang[lang], 3)) for lang in langs for _ in range(100)]
        t = time.perf_counter()
        embedder.embed(passages)
        results["use_embedding_passages_per_s"] = round(len(passages) / (time.perf_counter() - t), 1)
        store.close()
        results["first_query_new_process_cold_cache"] = probe_first_query(tmp, queries[1][0], cold=True)

    args.save.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

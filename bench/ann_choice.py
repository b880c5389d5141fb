"""Choosing the approximate-nearest-neighbour library for the embedded store's dense leg (issue 14).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/ann_choice.py [--passages 100000] [--queries 200] [--save bench/results/ann_choice.json]

Two kinds of vectors (``--vectors``):

* ``random``: those of ``bench/latency.py``, random unit vectors of 512 dims (seeded) and random
  unit queries. The hard case for approximate search: no structure, the 100th neighbour barely
  nearer than the median vector (cosines ~0.15 against ~0.0), so graph walks and quantised
  candidate lists both lose neighbours. Recall here is a floor.
* ``corpus``: semi-synthetic vectors shaped like real ones. The passage and sentence vectors of
  an ingested store (``KHUB_DATA_DIR``, e.g. the 31-document corpus: 4,633 passages, ~20k
  sentences) are mixed two at a time (weights 0.5-1, plus isotropic noise of norm 0.1) and
  normalised; the queries are the development questions of ``bench/qrels`` embedded with the
  packaged USE. This keeps the anisotropy and topical clusters of USE embeddings that ANN
  indices rely on.

For each candidate it prints the build time, the index size, and for single-threaded queries
(one query per worker, as ``khub serve`` runs them) the p50/p95 latency and recall@100 against the
exact scan, unfiltered and with a filter that keeps one passage in six (a language filter):

* ``exact``: the embedded store's numpy scan (float32 matrix @ query, argpartition);
* ``faiss-hnsw``: faiss ``IndexHNSWFlat`` (Malkov & Yashunin 2018, arXiv:1603.09320), M=32,
  efConstruction=128, at several efSearch; filtered search with an ``IDSelectorBitmap``
  checked during the graph walk (as OpenSearch's efficient filtering does);
* ``faiss-sq8-scan``: faiss ``IndexScalarQuantizer`` (8 bits a dimension) scanned exactly, the
  top ``K x factor`` re-scored with the float32 vectors; filtered with an ``IDSelectorBitmap``;
* ``faiss-binary-scan``: sign bits (64 bytes a vector) scanned by Hamming distance (SimHash,
  Charikar 2002), the top ``K x factor`` re-scored in float32; filtered by over-fetching;
* ``usearch-f16`` / ``usearch-i8``: usearch HNSW with half-precision or int8 vectors,
  connectivity 32, expansion_add 128, at several expansion_search; filtered by over-fetching
  and dropping the rows the filter excludes (usearch's Python API has no filter during search).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
K = 100


def unit(rng: np.random.Generator, n: int, dim: int = 512) -> np.ndarray:
    v = rng.standard_normal((n, dim), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def corpus_vectors(rng: np.random.Generator, n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 512)`` semi-synthetic passage vectors mixed from a store's real ones, and up to
    ``n_queries`` real question vectors (see the module docstring)."""
    import sqlite3

    from khub.index.embedders import USETextEmbedder
    from khub.settings import Settings

    db = sqlite3.connect(Path(Settings().data_dir) / "khub.sqlite")
    rows = db.execute("SELECT embedding, sentence_vectors FROM passages WHERE embedding IS NOT NULL").fetchall()
    base = [np.frombuffer(e, dtype=np.float32) for e, _ in rows]
    base += [v.astype(np.float32) for _, s in rows if s for v in np.frombuffer(s, dtype=np.float16).reshape(-1, 512)]
    real = np.vstack(base)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    data = np.empty((n, 512), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        a, b = real[rng.integers(len(real), size=m)], real[rng.integers(len(real), size=m)]
        w = rng.uniform(0.5, 1.0, size=(m, 1)).astype(np.float32)
        v = w * a + (1 - w) * b + rng.standard_normal((m, 512), dtype=np.float32) * (0.1 / 512 ** 0.5)
        data[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    questions = []
    for path in sorted((ROOT / "bench" / "qrels").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line).get("query") or json.loads(line).get("question"))
    questions = [q for q in questions if q][:n_queries]
    embedder = USETextEmbedder()
    return data, embedder.embed(questions)


def exact_top(matrix: np.ndarray, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    scores = matrix @ q
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]


def timed(fn, queries) -> tuple[list[np.ndarray], dict]:
    out, times = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(fn(q))
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    return out, {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def recall(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return round(float(np.mean([len(set(map(int, f[:K])) & set(map(int, t))) / len(t) for f, t in zip(found, truth)])), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--vectors", choices=["random", "corpus"], default="random")
    args = parser.parse_args()
    import faiss
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(13)
    if args.vectors == "random":
        data = unit(rng, args.passages)
        queries = unit(rng, args.queries)
    else:
        data, queries = corpus_vectors(rng, args.passages, args.queries)
    mask = (np.arange(args.passages) % 6) == 0  # one passage in six: a language filter
    out: dict = {"passages": args.passages, "queries": len(queries), "vectors": args.vectors, "k": K,
                 "candidates": {}}
    threadpool_limits(1)
    faiss.omp_set_num_threads(1)

    truth, lat = timed(lambda q: exact_top(data, q, K), queries)
    truth_f, lat_f = timed(lambda q: exact_top(data, q, K, mask), queries)
    out["candidates"]["exact"] = {"build_s": 0.0, "bytes": data.nbytes, "search": lat, "filtered": lat_f,
                                  "recall": 1.0, "recall_filtered": 1.0}
    print(f"exact: p95 {lat['p95_ms']} ms, filtered p95 {lat_f['p95_ms']} ms", flush=True)

    faiss.omp_set_num_threads(2)
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(512, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 128
    hnsw.add(data)
    build = round(time.perf_counter() - t, 1)
    faiss.omp_set_num_threads(1)
    bitmap = np.packbits(mask, bitorder="little")
    selector = faiss.IDSelectorBitmap(args.passages, faiss.swig_ptr(bitmap))
    for ef in (128, 256, 512):
        params = faiss.SearchParametersHNSW(efSearch=ef)
        fparams = faiss.SearchParametersHNSW(efSearch=ef, sel=selector)
        found, lat = timed(lambda q: hnsw.search(q[None, :], K, params=params)[1][0], queries)
        found_f, lat_f = timed(lambda q: hnsw.search(q[None, :], K, params=fparams)[1][0], queries)
        row = {"build_s": build, "bytes": data.nbytes + hnsw.ntotal * 32 * 2 * 4, "search": lat, "filtered": lat_f,
               "recall": recall(found, truth), "recall_filtered": recall(found_f, truth_f)}
        out["candidates"][f"faiss-hnsw-ef{ef}"] = row
        print(f"faiss-hnsw ef={ef}: build {build} s, p95 {lat['p95_ms']} ms recall {row['recall']}; "
              f"filtered p95 {lat_f['p95_ms']} ms recall {row['recall_filtered']}", flush=True)

    # quantised exact scans, re-scored in float32 (the store keeps the float32 matrix)
    def rescore(q: np.ndarray, ids: np.ndarray) -> np.ndarray:
        ids = ids[ids >= 0]
        return ids[np.argsort(-(data[ids] @ q))][:K]

    t = time.perf_counter()
    sq8 = faiss.IndexScalarQuantizer(512, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    sq8.train(data[: min(len(data), 100_000)])
    sq8.add(data)
    build = round(time.perf_counter() - t, 1)
    sq_params = faiss.SearchParameters(sel=selector)
    for factor in (2, 4):
        found, lat = timed(lambda q: rescore(q, sq8.search(q[None, :], K * factor)[1][0]), queries)
        found_f, lat_f = timed(lambda q: rescore(q, sq8.search(q[None, :], K * factor, params=sq_params)[1][0]),
                               queries)
        row = {"build_s": build, "bytes": sq8.sa_code_size() * sq8.ntotal, "search": lat, "filtered": lat_f,
               "recall": recall(found, truth), "recall_filtered": recall(found_f, truth_f)}
        out["candidates"][f"faiss-sq8-scan-rescore{factor}x"] = row
        print(f"faiss sq8 scan + rescore {factor}x: build {build} s, p95 {lat['p95_ms']} ms recall {row['recall']}; "
              f"filtered p95 {lat_f['p95_ms']} ms recall {row['recall_filtered']}", flush=True)

    t = time.perf_counter()
    binary = faiss.IndexBinaryFlat(512)
    binary.add(np.packbits(data > 0, axis=1))
    build = round(time.perf_counter() - t, 1)
    for factor in (10, 40):
        def bin_search(q: np.ndarray, n: int) -> np.ndarray:
            return binary.search(np.packbits(q > 0)[None, :], n)[1][0]
        found, lat = timed(lambda q: rescore(q, bin_search(q, K * factor)), queries)
        found_f, lat_f = timed(lambda q: rescore(q, (lambda ids: ids[mask[ids]])(bin_search(q, K * factor * 6))),
                               queries)
        row = {"build_s": build, "bytes": binary.ntotal * 64, "search": lat, "filtered": lat_f,
               "recall": recall(found, truth), "recall_filtered": recall(found_f, truth_f)}
        out["candidates"][f"faiss-binary-scan-rescore{factor}x"] = row
        print(f"faiss binary scan + rescore {factor}x: p95 {lat['p95_ms']} ms recall {row['recall']}; "
              f"filtered p95 {lat_f['p95_ms']} ms recall {row['recall_filtered']}", flush=True)

    from usearch.index import Index

    for dtype in ("f16", "i8"):
        t = time.perf_counter()
        index = Index(ndim=512, metric="ip", dtype=dtype, connectivity=32, expansion_add=128)
        index.add(np.arange(args.passages), data, threads=2)
        build = round(time.perf_counter() - t, 1)
        allowed = mask
        for ef in (128, 256, 512):
            index.expansion_search = ef

            def search(q: np.ndarray, n: int = K) -> np.ndarray:
                return np.asarray(index.search(q, n, threads=1).keys)

            def search_filtered(q: np.ndarray) -> np.ndarray:
                keys = np.asarray(index.search(q, K * 8, threads=1).keys)  # over-fetch, then filter
                return keys[allowed[keys]][:K]
            found, lat = timed(search, queries)
            found_f, lat_f = timed(search_filtered, queries)
            row = {"build_s": build, "bytes": int(index.memory_usage), "search": lat, "filtered": lat_f,
                   "recall": recall(found, truth), "recall_filtered": recall(found_f, truth_f)}
            out["candidates"][f"usearch-{dtype}-ef{ef}"] = row
            print(f"usearch {dtype} ef={ef}: build {build} s, p95 {lat['p95_ms']} ms recall {row['recall']}; "
                  f"filtered (8x over-fetch) p95 {lat_f['p95_ms']} ms recall {row['recall_filtered']}", flush=True)
    if args.save:
        args.save.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()

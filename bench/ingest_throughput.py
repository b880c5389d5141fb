"""Ingest throughput: documents/s, pages/s and passages/s, printed as numbers.

    .venv/bin/python bench/ingest_throughput.py [--synthetic 1000]

1. The real sample corpus (corpora/), ingested into a fresh temporary data dir.
2. A synthetic corpus of N documents built from real corpus sentences: 90% text files
   of 5 paragraphs (in the corpus' six languages), 10% three-page English PDFs
   (reportlab). Building the files is not timed.
Both runs embed passages and their sentences with the default model, as `khub ingest` does.
Results also go to bench/results/ingest_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latency import corpus_sentences  # noqa: E402

from khub.index.embedders import build_embedders  # noqa: E402
from khub.index.indexer import ingest_paths  # noqa: E402
from khub.index.stores import open_store  # noqa: E402
from khub.settings import Settings  # noqa: E402


def run(paths: list[Path], data_dir: Path) -> dict:
    settings = Settings(data_dir=data_dir)
    store = open_store(settings)
    text_embedder, doc_embedder = build_embedders(settings)
    t0 = time.perf_counter()
    results = ingest_paths(paths, settings, store, doc_embedder, text_embedder=text_embedder)
    seconds = time.perf_counter() - t0
    done = [r for r in results if r.status == "indexed"]
    pages = sum(r.pages for r in done)
    passages = sum(r.passages for r in done)
    return {"documents": len(done), "failed": sum(r.status == "failed" for r in results), "pages": pages,
            "passages": passages, "seconds": round(seconds, 1),
            "documents_per_s": round(len(done) / seconds, 2), "pages_per_s": round(pages / seconds, 2),
            "passages_per_s": round(passages / seconds, 1)}


def synthetic(folder: Path, n: int) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    rng = random.Random(5)
    sentences = corpus_sentences()
    english = [s for s, lang in sentences if lang == "en"]
    for i in range(n):
        if i % 10 == 0:
            c = canvas.Canvas(str(folder / f"report_{i:04d}.pdf"), pagesize=A4)
            for _ in range(3):
                y = 800
                for p in range(1, 4):
                    text = f"{p}. " + " ".join(rng.sample(english, 3))
                    for start in range(0, len(text), 90):
                        c.drawString(40, y, text[start:start + 90])
                        y -= 14
                    y -= 10
                c.showPage()
            c.save()
        else:
            paras = [f"{p}. " + " ".join(s for s, _ in rng.sample(sentences, 3)) for p in range(1, 6)]
            (folder / f"note_{i:04d}.txt").write_text("\n\n".join(paras), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=int, default=1000)
    args = parser.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["real_corpus"] = run([ROOT / "corpora"], Path(tmp) / "real")
        print(json.dumps({"real_corpus": out["real_corpus"]}), file=sys.stderr)
        folder = Path(tmp) / "synthetic"
        folder.mkdir()
        synthetic(folder, args.synthetic)
        out[f"synthetic_{args.synthetic}"] = run([folder], Path(tmp) / "syn")
    (ROOT / "bench/results/ingest_throughput.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

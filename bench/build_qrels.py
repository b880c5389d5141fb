"""Build the development qrels in bench/qrels/ from the corpus.

    .venv/bin/python bench/build_qrels.py

* cross-lingual (``crosslingual.jsonl``): aligned segments of the PRAIS 2022
  reporting manual (corpora/prais4-manual-2022/segments_aligned.jsonl). A segment in ar/es/fr/ru/zh
  is the query and the English segment the gold, with filter ``language=en``; and
  the reverse (English query, gold in zh/ar/ru with that language as filter).
  Segments are taken at a fixed stride (deterministic) among those of 120-600
  English characters whose gold text occurs verbatim (whitespace aside) in the
  corpus file, so a relevant passage exists. Query and gold are written as the passage
  text reads after ingest (inline markup removed, :func:`khub.ingest.clean.strip_markup`).
* monolingual (``monolingual.jsonl``): for each of the six languages, an excerpt of a
  segment (words 2-10, or characters 3-20 for Chinese) is the query and the whole
  segment in the same language the gold; no filter.
* The ICCD question set (``iccd_questions.jsonl``) is written by hand: questions in
  English, French and Chinese about the three Chinese ICCD documents; the gold
  is a distinctive substring of the answering paragraph.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from khub.ingest.clean import strip_markup

ROOT = Path(__file__).resolve().parent.parent
WS = re.compile(r"\s+")
PER_LANGUAGE = 20
MONOLINGUAL_PER_LANGUAGE = 10


def corpus_text(lang: str) -> str:
    folder = ROOT / "corpora/prais4-manual-2022" / lang
    return WS.sub("", "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))))


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "corpora/prais4-manual-2022/segments_aligned.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = {lang: corpus_text(lang) for lang in ("en", "ar", "es", "fr", "ru", "zh")}
    usable = [r for r in rows if 120 <= len(r["en"]) <= 600 and all(WS.sub("", r[lang]) in texts[lang] for lang in texts)
              and len({r[lang] for lang in texts}) == len(texts)]  # untranslated (English fallback) segments are left out
    out = []
    for i, lang in enumerate(("ar", "es", "fr", "ru", "zh")):
        for j, r in enumerate(usable[i :: max(1, len(usable) // PER_LANGUAGE)][:PER_LANGUAGE]):
            out.append({"id": f"x-{lang}-en-{r['module']}-{r['seq']}", "query": r[lang], "language": lang,
                        "relevant_text": [r["en"]], "filters": {"language": "en"}})
    for i, lang in enumerate(("zh", "ar", "ru")):
        for r in usable[i + 5 :: max(1, len(usable) // PER_LANGUAGE)][:PER_LANGUAGE]:
            out.append({"id": f"x-en-{lang}-{r['module']}-{r['seq']}", "query": r["en"], "language": "en",
                        "relevant_text": [r[lang]], "filters": {"language": lang}})
    write(ROOT / "bench/qrels/crosslingual.jsonl", out, len(usable))
    mono = []
    for i, lang in enumerate(("ar", "en", "es", "fr", "ru", "zh")):
        for r in usable[i + 2 :: max(1, len(usable) // MONOLINGUAL_PER_LANGUAGE)][:MONOLINGUAL_PER_LANGUAGE]:
            text = r[lang]
            query = text[2:20] if lang == "zh" else " ".join(text.split()[1:10])
            mono.append({"id": f"m-{lang}-{r['module']}-{r['seq']}", "query": query, "language": lang,
                         "relevant_text": [text]})
    write(ROOT / "bench/qrels/monolingual.jsonl", mono, len(usable))


def clean(text: str) -> str:
    """The segment as the passage text reads after ingest (:func:`khub.ingest.clean.strip_markup`)."""
    return "\n".join(strip_markup(line) for line in text.split("\n"))


def write(path: Path, queries: list[dict], usable: int) -> None:
    for q in queries:
        q["query"], q["relevant_text"] = clean(q["query"]), [clean(t) for t in q["relevant_text"]]
    path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8")
    print(f"{len(queries)} queries from {usable} usable segments -> {path}")


if __name__ == "__main__":
    main()

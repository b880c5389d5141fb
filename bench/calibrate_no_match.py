"""Calibrate the "no match" relevance floor: the trade-off curve between answerable dev
queries kept and unanswerable ones (gibberish, out-of-corpus questions) refused.

    KHUB_DATA_DIR=data .venv/bin/python bench/calibrate_no_match.py [--save bench/results/no_match.json]

For every query of bench/qrels/{crosslingual,iccd_questions,monolingual}.jsonl (answerable)
and bench/qrels/no_answer.jsonl (unanswerable) it runs hybrid retrieval (top 10) and reads the
signals of :mod:`khub.api.relevance`: the best sentence cosine of the dense leg, the best
BM25 coverage of the query's content terms and the query's known-term share. It prints, for each
candidate cosine floor, the share of answerable queries that would get no_match (split into
the tuning half, even lines, and the test half, odd lines) and the share of unanswerable
queries that would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from khub.api.relevance import evidence
from khub.api.service import SearchService
from khub.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETS = ("crosslingual", "iccd_questions", "monolingual")


def signals(service: SearchService, query: str, filters: dict) -> tuple[float, float, float]:
    out = service.run_retrieval(query, top_k=10, filters=filters)
    cosine, coverage = evidence(out["documents"])
    return cosine or 0.0, coverage or 0.0, service.store.known_share(query, out["query_language"])


def main() -> None:
    service = SearchService(Settings())
    rows = []
    for name in SETS + ("no_answer",):
        for i, line in enumerate((ROOT / f"bench/qrels/{name}.jsonl").read_text(encoding="utf-8").splitlines()):
            q = json.loads(line)
            cos, cov, known = signals(service, q["query"], q.get("filters") or {})
            rows.append({"set": name, "id": q["id"], "half": "tune" if i % 2 == 0 else "test",
                         "answerable": name != "no_answer", "cosine": round(cos, 4), "coverage": round(cov, 3),
                         "known": round(known, 3)})
    floors = [round(0.10 + 0.01 * i, 2) for i in range(31)]
    coverage_floor, known_floor = Settings().no_match_coverage, Settings().no_match_known
    print(f"coverage floor {coverage_floor}, known-term floor {known_floor}")
    print("cos_floor  refused: answerable(tune)  answerable(test)  unanswerable")
    curve = []
    for f in floors:
        def refused(r: dict) -> bool:
            return r["known"] < known_floor or (r["cosine"] < f and r["coverage"] < coverage_floor)
        part = {}
        for label, sel in (("tune", lambda r: r["answerable"] and r["half"] == "tune"),
                           ("test", lambda r: r["answerable"] and r["half"] == "test"),
                           ("unanswerable", lambda r: not r["answerable"])):
            chosen = [r for r in rows if sel(r)]
            part[label] = sum(refused(r) for r in chosen) / len(chosen)
        curve.append({"cosine_floor": f, **part})
        print(f"  {f:.2f}     {part['tune']:.3f}              {part['test']:.3f}             {part['unanswerable']:.3f}")
    if "--save" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--save") + 1])
        out.write_text(json.dumps({"curve": curve, "queries": rows}, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()

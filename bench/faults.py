"""Fault suite: what holds when ingests are killed, run twice at once, or run while serving,
and when clients send oversized bodies. Prints one line per check, HELD or BROKEN.

    .venv/bin/python bench/faults.py [--save bench/results/faults.json]

Everything runs in a temporary folder (a copy of part of ``corpora/``, its own data dir) and
talks only to a server it starts on 127.0.0.1; bounded in time (about 3 minutes on 2 cores).

1. **kill -9 during ingest**, three times at different moments: after each, the store opens,
   SQLite passes ``PRAGMA integrity_check``, the passages match the documents' counts, the
   BM25 index holds exactly the stored passages, and a re-run finishes with exit 0.
2. **two ingests at once** on one data dir: one runs, the other exits 2 naming the holder
   (or runs after it); no file reported failed; no passage stored twice.
3. **ingest while serving**: 2 workers answer searches in a loop while an ingest replaces a
   file; no request fails, and the new text is found afterwards.
4. **oversized bodies**: a 10 MB body gets 413; 20 concurrent 2 MB bodies all get 413 and
   the server's memory does not grow with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from load import start_server, stop_server, tree_rss_mb  # noqa: E402

KHUB = [sys.executable, "-m", "khub.cli"]
checks: list[dict] = []


def check(name: str, held: bool, detail: str) -> None:
    checks.append({"check": name, "held": held, "detail": detail})
    print(f"{'HELD  ' if held else 'BROKEN'} {name}: {detail}", flush=True)


def corpus(tmp: Path) -> Path:
    """A small copy of the sample corpus: the English manual, the Convention, the WOCAT record."""
    out = tmp / "corpus"
    shutil.copytree(ROOT / "corpora/prais4-manual-2022/en", out / "prais4-manual-2022/en")
    shutil.copytree(ROOT / "corpora/unccd-convention", out / "unccd-convention")
    shutil.copytree(ROOT / "corpora/wocat", out / "wocat")
    return out


def ingest(paths: list[Path], data: Path, *extra: str, **popen) -> subprocess.Popen:
    env = {**os.environ, "KHUB_DATA_DIR": str(data)}
    return subprocess.Popen([*KHUB, "ingest", *map(str, paths), *extra], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def consistent(data: Path) -> tuple[bool, str]:
    """SQLite integrity, passages vs documents' counts, BM25 vs passages (after opening the store)."""
    from khub.index.embedded_store import EmbeddedDocumentStore

    store = EmbeddedDocumentStore(data)
    db = sqlite3.connect(data / "khub.sqlite")
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    passages = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    counted = db.execute("SELECT COALESCE(SUM(n_passages), 0) FROM documents").fetchone()[0]
    db.close()
    bm25 = store._bm25.index.searcher().num_docs
    store.close()
    ok = integrity == "ok" and passages == counted == bm25
    return ok, f"integrity {integrity}, passages {passages}, documents say {counted}, BM25 {bm25}"


def kill_during_ingest(tmp: Path, src: Path) -> None:
    data = tmp / "killed"
    for delay in (4.0, 7.0, 10.0):
        proc = ingest([src], data, "--reindex", start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        ok, detail = consistent(data)
        check(f"kill -9 after {delay:.0f} s of ingest: store consistent", ok, detail)
    rerun = ingest([src], data)
    out, err = rerun.communicate(timeout=600)
    ok, detail = consistent(data)
    check("re-run after the kills finishes", rerun.returncode == 0 and ok, f"exit {rerun.returncode}; {detail}")


def concurrent_ingests(tmp: Path, src: Path) -> None:
    data = tmp / "concurrent"
    procs = [ingest([src], data, "--json") for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    said = " ".join(" ".join(o + e for o, e in outs).split())
    failed = [f["path"] for (o, _), p in zip(outs, procs) if p.returncode != 2
              for f in json.loads(o)["files"] if f["status"] == "failed"]
    ok, detail = consistent(data)
    held = codes in ([0, 0], [0, 2]) and not failed and ok and (codes == [0, 0] or "is being written by pid" in said)
    check("two concurrent ingests", held, f"exit codes {codes}; failed files {failed}; {detail}")


def ingest_while_serving(tmp: Path, src: Path) -> None:
    data = tmp / "serving"
    first = ingest([src], data)
    first.communicate(timeout=600)
    os.environ["KHUB_DATA_DIR"] = str(data)
    proc, url = start_server(workers=2)
    statuses: list[int | str] = []
    stop = threading.Event()

    def searches() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                try:
                    statuses.append(http.get("/search", params={"q": "contour trench bund", "k": 5}).status_code)
                except httpx.HTTPError as err:
                    statuses.append(type(err).__name__)

    threads = [threading.Thread(target=searches) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        target = src / "unccd-convention" / "unccd_convention_1994_en.md"
        target.write_text(target.read_text(encoding="utf-8") + "\n\nArticle 99\n\nQuokkas guard the drylands of "
                          "the fault suite.\n", encoding="utf-8")
        second = ingest([src], data)
        second.communicate(timeout=600)
        time.sleep(2)
        stop.set()
        for t in threads:
            t.join()
        found = httpx.get(f"{url}/search", params={"q": "quokkas guard the drylands", "k": 3}, timeout=30).json()
    finally:
        stop.set()
        stop_server(proc)
    bad = [s for s in statuses if s != 200]
    new = any("Quokkas" in (r["text"] or "") for r in found.get("results", []))
    check("ingest while serving", not bad and new and second.returncode == 0,
          f"{len(statuses)} searches during the ingest, {len(bad)} not 200; new text found: {new}")


def oversized_bodies(tmp: Path) -> None:
    proc, url = start_server(workers=2)
    try:
        big = b'{"question": "' + b"x" * 10_000_000 + b'"}'
        r = httpx.post(f"{url}/ask", content=big, headers={"content-type": "application/json"}, timeout=60)
        check("10 MB body", r.status_code == 413, f"status {r.status_code}")
        before = tree_rss_mb(proc.pid)
        body = b'{"question": "' + b"y" * 2_000_000 + b'"}'
        codes: list[int] = []

        def post() -> None:
            codes.append(httpx.post(f"{url}/brief", content=body, headers={"content-type": "application/json"},
                                    timeout=60).status_code)

        threads = [threading.Thread(target=post) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = tree_rss_mb(proc.pid)
        grew = (after or 0) - (before or 0)
        check("20 concurrent 2 MB bodies", codes == [413] * 20 and grew < 100,
              f"statuses {sorted(set(codes))}; server RSS {before} -> {after} MB")
    finally:
        stop_server(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="khub-faults-") as name:
        tmp = Path(name)
        src = corpus(tmp)
        kill_during_ingest(tmp, src)
        concurrent_ingests(tmp, src)
        ingest_while_serving(tmp, src)
        oversized_bodies(tmp)
    held = sum(c["held"] for c in checks)
    print(f"\n{held} of {len(checks)} checks held ({time.perf_counter() - started:.0f} s)")
    if args.save:
        args.save.write_text(json.dumps(checks, indent=1) + "\n", encoding="utf-8")
    sys.exit(0 if held == len(checks) else 1)


if __name__ == "__main__":
    main()

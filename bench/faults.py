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

Issue 23 (data safety), one check per finding:

5. **prune elsewhere**: ``--prune`` from another working directory that has an empty folder
   of the same relative name removes nothing; a missing root is refused (exit 2) and removes
   nothing.
6. **a file rewritten during ingest**: the stored hash is that of the text the passages hold.
7. **lost ``bm25/meta.json``** and **a damaged SQLite header**: the index is rebuilt with the
   same hits; the damaged file gives exit 2 and one line naming it, no traceback.
8. **a second serve** on a busy port, and on a data dir already served: exit 2.
9. **kill -9 of an ingest**: its worker processes end within 10 s.
10. **a symbolic link out of the corpus**: reported, not indexed.
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


def _run(args: list[str], data: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KHUB, *args], cwd=cwd, env={**os.environ, "KHUB_DATA_DIR": str(data), "COLUMNS": "400",
                                                        **env}, capture_output=True, text=True, timeout=600)


def _records(data: Path) -> list[dict]:
    from khub.index.embedded_store import EmbeddedDocumentStore

    store = EmbeddedDocumentStore(data)
    try:
        return store.list_documents()
    finally:
        store.close()


def prune_elsewhere(tmp: Path, src: Path) -> None:
    data = tmp / "prune"
    home = tmp / "home"
    home.mkdir()
    shutil.copytree(src / "prais4-manual-2022", home / "corpus")
    _run(["ingest", "corpus"], data, home)
    before = len(_records(data))
    other = tmp / "elsewhere"
    (other / "corpus").mkdir(parents=True)
    run = _run(["ingest", "corpus", "--prune", "--json"], data, other)
    pruned = json.loads(run.stdout)["totals"].get("pruned", 0) if run.stdout.strip().startswith("{") else "?"
    check("--prune from another working directory", pruned in (0, "?") and len(_records(data)) == before,
          f"{before} documents before, {len(_records(data))} after; exit {run.returncode}, pruned {pruned}")
    run = _run(["ingest", str(tmp / "no-such-mount"), "--prune"], data, home)
    check("--prune of a missing root", run.returncode == 2 and len(_records(data)) == before,
          f"exit {run.returncode}; {len(_records(data))} documents left of {before}")


def rewritten_during_ingest(tmp: Path) -> None:
    from khub.ingest.pipeline import file_hash

    folder = tmp / "rewritten"
    folder.mkdir()
    target = folder / "note.txt"
    versions = {marker: "\n\n".join(f"{i}. Paragraph {i} of the {marker} version, on rangeland grazing."
                                    for i in range(1, 400)) for marker in ("alpha", "omega")}
    hashes = {}
    for marker, text in versions.items():
        target.write_text(text, encoding="utf-8")
        hashes[file_hash(target)] = marker
    stop = threading.Event()

    def rewrite() -> None:
        while not stop.is_set():
            for text in versions.values():
                target.write_text(text, encoding="utf-8")
                time.sleep(0.2)  # long enough for some reads to see one version throughout

    writer = threading.Thread(target=rewrite)
    writer.start()
    data = tmp / "rewritten-data"
    run = _run(["ingest", str(folder), "--json"], data, ROOT)
    stop.set()
    writer.join()
    from khub.index.embedded_store import EmbeddedDocumentStore

    store = EmbeddedDocumentStore(data)
    records = store.list_documents()
    texts = " ".join(p.content or "" for p in store.filter_documents())
    store.close()
    if not records:  # reported as changing while read: nothing stored is the honest outcome
        check("a file rewritten during ingest", run.returncode != 0, f"not stored; exit {run.returncode}")
        return
    marker = hashes.get(records[0]["content_hash"])
    other = next(m for m in versions if m != marker) if marker else None
    check("a file rewritten during ingest", marker is not None and marker in texts and other not in texts,
          f"stored hash is the {marker} version; its passages hold {marker}: {marker in texts}, the other "
          f"version: {other in texts if other else '?'}")


def damaged_parts(tmp: Path, src: Path) -> None:
    from khub.index.embedded_store import EmbeddedDocumentStore

    data = tmp / "damaged"
    _run(["ingest", str(src / "unccd-convention")], data, ROOT)
    store = EmbeddedDocumentStore(data)
    before = [d.id for d in store.bm25_retrieval("drought desertification", "en")]
    store.close()
    (data / "bm25" / "meta.json").unlink()
    store = EmbeddedDocumentStore(data)
    after = [d.id for d in store.bm25_retrieval("drought desertification", "en")]
    store.close()
    check("lost bm25/meta.json", bool(before) and after == before, f"{len(before)} hits before, the same after: "
                                                                   f"{after == before}")
    with (data / "khub.sqlite").open("r+b") as fh:
        fh.write(b"\xde\xad" * 8)
    runs = {cmd: _run(cmd.split(), data, ROOT) for cmd in ("stats", "search drought")}
    clean = all(r.returncode == 2 and "Traceback" not in r.stderr and "khub.sqlite is damaged" in r.stderr
                for r in runs.values())
    check("damaged SQLite header", clean, "; ".join(f"{c}: exit {r.returncode}" for c, r in runs.items()))


def second_serve(tmp: Path) -> None:
    from khub.server import reuseport_socket

    first = reuseport_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        run = _run(["serve", "--port", str(port), "--workers", "2", "--no-example"], tmp / "serve2", ROOT)
    finally:
        first.close()
    check("a second serve on a busy port", run.returncode == 2 and "already in use" in run.stderr,
          f"exit {run.returncode}")


def workers_end_with_ingest(tmp: Path, src: Path) -> None:
    data = tmp / "orphans"
    proc = ingest([src], data, "--reindex", start_new_session=False)
    workers: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(workers) < 2:
        try:
            kids = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        except OSError:
            kids = []
        workers = [k for k in kids if "spawn_main" in Path(f"/proc/{k}/cmdline").read_text(errors="replace")]
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(10)

    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except OSError:
            return False

    left = [w for w in workers if alive(w)]
    check("kill -9 of an ingest ends its workers", bool(workers) and not left,
          f"{len(workers)} workers, {len(left)} alive 10 s after the kill")


def symlink_out(tmp: Path, src: Path) -> None:
    folder = tmp / "linked"
    shutil.copytree(src / "unccd-convention", folder)
    secret = tmp / "secret.txt"
    secret.write_text("1. A private note that is not part of the corpus.", encoding="utf-8")
    (folder / "secret.txt").symlink_to(secret)
    run = _run(["ingest", str(folder), "--json"], tmp / "linked-data", ROOT)
    files = {Path(f["path"]).name: f for f in json.loads(run.stdout)["files"]}
    entry = files.get("secret.txt", {})
    check("a symlink out of the corpus", entry.get("status") == "skipped" and "not followed" in entry.get("reason", ""),
          f"secret.txt: {entry.get('status')} ({entry.get('reason')})")


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
        prune_elsewhere(tmp, src)
        rewritten_during_ingest(tmp)
        damaged_parts(tmp, src)
        second_serve(tmp)
        workers_end_with_ingest(tmp, src)
        symlink_out(tmp, src)
    held = sum(c["held"] for c in checks)
    print(f"\n{held} of {len(checks)} checks held ({time.perf_counter() - started:.0f} s)")
    if args.save:
        args.save.write_text(json.dumps(checks, indent=1) + "\n", encoding="utf-8")
    sys.exit(0 if held == len(checks) else 1)


if __name__ == "__main__":
    main()

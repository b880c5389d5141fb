"""Issue 23: nothing lost, nothing mixed up. Each test is one finding of the issue, on real
files of the sample corpus: it failed before the fix and passes now."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from khub.identity import SOURCE_FIELD, source_key
from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.stores import open_store
from khub.settings import Settings
from tests.conftest import MANUAL, ROOT

KHUB = [sys.executable, "-m", "khub.cli"]
FILES = ("introduction.txt", "SO1.txt", "SO2.txt")


def _ingest(args, data_dir, cwd):
    env = {**os.environ, "KHUB_DATA_DIR": str(data_dir), "COLUMNS": "400"}  # messages on one line
    return subprocess.run([*KHUB, "ingest", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def ingested(tmp_path):
    """Three manual chapters in ``<tmp>/a/in``, ingested from ``<tmp>/a`` with the relative path ``in``."""
    folder = tmp_path / "a" / "in"
    folder.mkdir(parents=True)
    for name in FILES:
        shutil.copy(MANUAL / "en" / name, folder / name)
    data = tmp_path / "data"
    run = _ingest(["in"], data, cwd=tmp_path / "a")
    assert run.returncode == 0, run.stdout + run.stderr
    return folder, data


def _documents(data: Path) -> list[str]:
    store = EmbeddedDocumentStore(data)
    try:
        return sorted(Path(r["path"]).name for r in store.list_documents())
    finally:
        store.close()


def test_records_hold_the_resolved_absolute_path(ingested):
    folder, data = ingested
    store = EmbeddedDocumentStore(data)
    assert sorted(r["meta"][SOURCE_FIELD] for r in store.list_documents()) == sorted(
        source_key(folder / n) for n in FILES)


def test_prune_from_another_working_directory_keeps_every_existing_file(ingested, tmp_path):
    """Finding 1: run from a folder that has an ``in`` of its own (empty), the old prune took the
    stored relative paths for that folder's and deleted every document."""
    folder, data = ingested
    other = tmp_path / "b"
    (other / "in").mkdir(parents=True)
    run = _ingest(["in", "--prune", "--json"], data, cwd=other)
    assert "pruned" not in json.loads(run.stdout)["totals"], run.stdout
    run = _ingest([str(folder), "--prune", "--json"], data, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["totals"] == {"unchanged": 3}
    assert _documents(data) == sorted(FILES)


def test_prune_refuses_when_a_root_is_missing(ingested, tmp_path):
    """Finding 1: a corpus mount that is not there looks like every file deleted."""
    folder, data = ingested
    shutil.move(folder, tmp_path / "unmounted")
    run = _ingest([str(folder), "--prune"], data, cwd=tmp_path)
    assert run.returncode == 2
    assert "does not exist" in run.stderr and "nothing was pruned" in run.stderr
    assert _documents(data) == sorted(FILES)


def test_prune_of_more_than_half_needs_yes_and_dry_run_lists(ingested, tmp_path):
    folder, data = ingested
    for name in FILES[:2]:
        (folder / name).unlink()
    refused = _ingest([str(folder), "--prune"], data, cwd=tmp_path)
    assert refused.returncode == 2 and "would remove 2 of the 3 documents" in refused.stderr
    assert _documents(data) == sorted(FILES)
    dry = _ingest([str(folder), "--prune", "--dry-run", "--json"], data, cwd=tmp_path)
    assert dry.returncode == 0
    assert sorted(Path(r["path"]).name for r in json.loads(dry.stdout)["would_prune"]) == sorted(FILES[:2])
    assert _documents(data) == sorted(FILES)
    done = _ingest([str(folder), "--prune", "--yes", "--json"], data, cwd=tmp_path)
    assert json.loads(done.stdout)["totals"] == {"unchanged": 1, "pruned": 2}
    assert _documents(data) == ["SO2.txt"]


def test_records_of_older_stores_get_their_absolute_path_on_open(ingested, tmp_path, monkeypatch):
    """Stores written before the absolute path was recorded migrate on open, without
    re-embedding; then a prune from elsewhere keeps them."""
    folder, data = ingested
    db = sqlite3.connect(data / "khub.sqlite")
    rows = db.execute("SELECT doc_id, meta FROM documents").fetchall()
    for doc_id, meta in rows:
        old = {k: v for k, v in json.loads(meta).items() if k != SOURCE_FIELD}
        db.execute("UPDATE documents SET meta=? WHERE doc_id=?", (json.dumps(old), doc_id))
    db.commit()
    db.close()
    monkeypatch.chdir(tmp_path / "a")  # the ingest's working directory is one candidate base
    store = open_store(Settings(data_dir=data))
    assert sorted(r["meta"].get(SOURCE_FIELD) for r in store.list_documents()) == sorted(
        source_key(folder / n) for n in FILES)
    store.close()
    run = _ingest([str(folder), "--prune", "--json"], data, cwd=ROOT)
    assert json.loads(run.stdout)["totals"] == {"unchanged": 3}


def test_a_file_changed_while_it_is_read_is_read_again(tmp_path, monkeypatch):
    """Finding 2: the hash was taken after the conversion, so a file replaced during the read was
    stored with the new file's hash and the old file's passages, and never read again."""
    from khub.ingest import pipeline

    path = tmp_path / "note.txt"
    path.write_text("1. The first version speaks of rangeland grazing.\n", encoding="utf-8")
    real = pipeline._load_once
    reads = []

    def writer_races_the_read(p, pdf):  # the real conversion, with a writer saving the file meanwhile
        doc = real(p, pdf)
        reads.append(doc.pages[0])
        if len(reads) == 1:
            p.write_text("1. The second version speaks of wetland restoration.\n", encoding="utf-8")
        return doc

    monkeypatch.setattr(pipeline, "_load_once", writer_races_the_read)
    doc = pipeline.load_document(path)
    assert len(reads) == 2
    assert "wetland" in doc.pages[0] and doc.content_hash == pipeline.content_hash(path)


def test_symlinks_leaving_the_root_are_reported_not_followed(tmp_path, monkeypatch):
    """Finding 6: links to targets outside the corpus were indexed (and served); a ``dir -> ..``
    loop walked into a virtual environment."""
    from khub.ingest.pipeline import discover

    outside = tmp_path / "secret"
    outside.mkdir()
    shutil.copy(MANUAL / "en" / "SO2.txt", outside / "SO2.txt")
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(MANUAL / "en" / "introduction.txt", root / "introduction.txt")
    (root / "leak.txt").symlink_to(outside / "SO2.txt")
    (root / "up").symlink_to("..")
    (root / "inside.txt").symlink_to(root / "introduction.txt")
    files, skipped = discover([root])
    assert [f.name for f in files] == ["inside.txt", "introduction.txt"]
    reasons = {p.name: r for p, r in skipped}
    assert reasons["leak.txt"].endswith(f"outside {source_key(root)} (not followed)")
    assert reasons["up"].startswith(f"symbolic link to {source_key(tmp_path)}")


def test_original_is_the_recorded_absolute_file_never_one_under_the_servers_cwd(ingested, tmp_path, monkeypatch):
    """Finding 6: ``/passages/{id}/original`` resolved the stored relative path against the
    server's working directory and served whatever file was there."""
    from fastapi.testclient import TestClient

    from khub.api.app import create_app

    folder, data = ingested
    decoy = tmp_path / "decoy" / "in"
    decoy.mkdir(parents=True)
    for name in FILES:
        (decoy / name).write_text("not the ingested file", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "decoy")
    with TestClient(create_app(Settings(data_dir=data))) as client:
        hit = client.get("/search", params={"q": "strategic objective 2", "k": 1}).json()["results"][0]
        served = client.get(f"/passages/{hit['id']}/original")
        assert served.status_code == 200
        assert served.content == (folder / Path(hit["path"]).name).read_bytes()
        original = folder / Path(hit["path"]).name
        original.unlink()
        original.symlink_to(decoy / original.name)  # swapped for a link to elsewhere: not served
        assert client.get(f"/passages/{hit['id']}/original").status_code == 404


@pytest.fixture
def small_store(tmp_path):
    """The English manual (3 files, ~420 passages) ingested into ``<tmp>/data``."""
    folder = tmp_path / "in"
    shutil.copytree(MANUAL / "en", folder)
    data = tmp_path / "data"
    run = _ingest([str(folder)], data, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    return data


def _damage(db: Path, offset: int, length: int = 4096) -> None:
    with db.open("r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xde\xad\xbe\xef" * (length // 4))


def test_a_lost_bm25_meta_json_is_rebuilt_not_silently_empty(small_store):
    """Finding 3: without ``bm25/meta.json`` tantivy opened a new, empty index at SQLite's
    generation; every query gave no_match while /health said ok."""
    store = EmbeddedDocumentStore(small_store)
    before = [d.id for d in store.bm25_retrieval("land degradation neutrality", "en")]
    store.close()
    assert before
    (small_store / "bm25" / "meta.json").unlink()
    store = EmbeddedDocumentStore(small_store)
    assert [d.id for d in store.bm25_retrieval("land degradation neutrality", "en")] == before
    assert store.check(full=True) == []


def test_health_is_degraded_when_the_parts_of_the_store_disagree(small_store):
    """Finding 3: /health said ok over a store whose BM25 index and SQLite disagreed."""
    from fastapi.testclient import TestClient

    from khub.api.app import create_app

    with TestClient(create_app(Settings(data_dir=small_store))) as client:
        assert client.get("/health").json()["status"] == "ok"
        db = sqlite3.connect(small_store / "khub.sqlite")
        db.execute("DELETE FROM passages WHERE rowid IN (SELECT rowid FROM passages LIMIT 5)")  # behind the store's back
        db.commit()
        db.close()
        client.app.state.service._health = None  # the next probe reads the store again (else within 5 s)
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert any("bm25" in p and "SQLite" in p for p in health["problems"]), health


def test_a_damaged_page_is_reported_by_check_and_503_names_the_file(small_store):
    """Finding 3: a corrupted SQLite page gave /health ok and 500s on some passages."""
    from fastapi.testclient import TestClient

    from khub.api.app import create_app

    db = small_store / "khub.sqlite"
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    ids = [r[0] for r in sqlite3.connect(db).execute("SELECT id FROM passages ORDER BY rowid")]
    _damage(db, db.stat().st_size // 2)
    env = {**os.environ, "KHUB_DATA_DIR": str(small_store), "COLUMNS": "400"}
    checked = subprocess.run([*KHUB, "stats", "--check"], env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 1
    assert f"{db}: quick_check:" in checked.stderr and "Traceback" not in checked.stderr
    with TestClient(create_app(Settings(data_dir=small_store)), raise_server_exceptions=False) as client:
        statuses = {client.get(f"/documents/{pid}").status_code for pid in ids}
        assert 500 not in statuses and 503 in statuses
        health = client.get("/health").json()
        assert health["status"] == "degraded" and str(db) in health["problems"][0]


def test_a_damaged_header_gives_one_line_naming_the_file(small_store):
    """Finding 3: a changed header byte gave tracebacks in search, stats and serve."""
    db = small_store / "khub.sqlite"
    _damage(db, 0, 16)
    env = {**os.environ, "KHUB_DATA_DIR": str(small_store), "COLUMNS": "400"}
    for args in (["stats"], ["search", "soil erosion"], ["serve", "--port", "1", "--workers", "2"],
                 ["ingest", str(MANUAL / "en")]):
        run = subprocess.run([*KHUB, *args], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 2, (args, run.stderr)
        assert "Traceback" not in run.stderr and f"{db} is damaged" in run.stderr, (args, run.stderr)


def test_cli_argument_errors_exit_2_without_a_traceback(small_store):
    """Finding 7: ``khub search ""`` and ``--mode sql`` ended in a traceback with exit 1."""
    env = {**os.environ, "KHUB_DATA_DIR": str(small_store), "COLUMNS": "400"}
    for args, says in ((["search", ""], "q: the query is empty"),
                       (["search", "soil", "--mode", "sql"], "mode: must be hybrid, bm25 or dense")):
        run = subprocess.run([*KHUB, *args], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr, run.stderr


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.slow
def test_ingest_workers_end_with_a_killed_ingest(tmp_path):
    """Finding 8: kill -9 of an ingest left its worker processes (~1 GB) running for minutes."""
    import signal

    folder = tmp_path / "in"
    shutil.copytree(MANUAL / "fr", folder)
    shutil.copytree(MANUAL / "es", folder / "es")
    env = {**os.environ, "KHUB_DATA_DIR": str(tmp_path / "data"), "KHUB_INGEST_WORKERS": "2"}
    proc = subprocess.Popen([*KHUB, "ingest", str(folder)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:  # the pool's processes (beside its resource tracker)
        workers = [c for c in _children(proc.pid) if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
        time.sleep(0.2)
    assert len(workers) >= 2, "the ingest started no worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() and
                                              "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2] for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]]
    assert alive == [], f"workers {alive} outlived the killed ingest"


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed (Debian: tesseract-ocr)")
def test_pages_left_for_missing_ocr_are_read_once_ocr_works(tmp_path):
    """Finding 8: a PDF ingested without OCR kept its skipped pages forever (a plain ingest said
    "unchanged"); now its record is marked partial and the next ingest with OCR reads it again."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader, PdfWriter

    bad = ROOT / "tests/fixtures/bad"
    folder = tmp_path / "in"
    folder.mkdir()
    scan = tmp_path / "scan.pdf"  # a page of the scanned fixture as a 300 dpi page image, as a scanner makes it
    drawn = pdfium.PdfDocument(str(bad / "scanned_image_only.pdf"))
    drawn[0].render(scale=300 / 72).to_pil().convert("RGB").save(scan, resolution=300)
    drawn.close()
    writer = PdfWriter()
    for part in (bad / "convention_extract.pdf", scan):
        for page in PdfReader(part).pages:
            writer.add_page(page)
    with (folder / "mixed.pdf").open("wb") as fh:
        writer.write(fh)
    data = tmp_path / "data"
    env = {**os.environ, "KHUB_DATA_DIR": str(data), "KHUB_OCR": "off"}
    first = subprocess.run([*KHUB, "ingest", str(folder), "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert json.loads(first.stdout)["totals"] == {"indexed": 1}, first.stdout
    record = EmbeddedDocumentStore(data).list_documents()[0]
    assert record["meta"]["partial"] == ["ocr"]
    env["KHUB_OCR"] = "auto"
    second = subprocess.run([*KHUB, "ingest", str(folder), "--json"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    report = json.loads(second.stdout)
    assert report["totals"] == {"replaced": 1} and report["files"][0]["ocr_pages"] >= 1, second.stdout
    assert "partial" not in EmbeddedDocumentStore(data).list_documents()[0]["meta"]
    third = subprocess.run([*KHUB, "ingest", str(folder), "--json"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
    assert json.loads(third.stdout)["totals"] == {"unchanged": 1}

"""Bad input never stops a run; a killed ingest leaves a consistent store; --prune."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from khub.cli import app
from khub.index.embedded_store import EmbeddedDocumentStore
from tests.conftest import MANUAL, ROOT

BAD = ROOT / "tests/fixtures/bad"
EXPECTED = {
    "corrupt.pdf": "corrupt or unreadable PDF",
    "junk.pdf": "corrupt or unreadable PDF",
    "encrypted.pdf": "encrypted PDF",
    "scanned_image_only.pdf": "no text layer; needs OCR",
    "empty.txt": "empty file",
    "junk.txt": "binary content",
    "malformed.json": "malformed or truncated JSON",
    "technologies_9999.json": "malformed or truncated JSON",
    "huge.txt": "file too large (50.0 MB",
}


def test_bad_input_reported_good_input_indexed(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    shutil.copytree(BAD, folder)
    line = "Desertification, land degradation and drought affect dryland livelihoods. " * 20 + "\n"
    with open(folder / "huge.txt", "w") as fh:  # 50 MB of text
        for _ in range(50_000_000 // len(line)):
            fh.write(line)
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 1, result.output  # some files failed, the good ones are stored
    report = json.loads(result.stdout)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    for name, reason in EXPECTED.items():
        assert by_name[name]["status"] == "failed" and reason in by_name[name]["reason"], by_name[name]
    for good in ("convention_extract.pdf", "cop15_gbk.txt", "manual_intro_cp1252.txt"):
        assert by_name[good]["status"] == "indexed" and by_name[good]["passages"] > 0
    assert report["totals"] == {"indexed": 3, "failed": len(EXPECTED)}
    assert json.loads((tmp_path / "data" / "ingest-report.json").read_text())["totals"] == report["totals"]
    store = EmbeddedDocumentStore(tmp_path / "data")
    # the legacy encodings were decoded, not mangled
    assert store.bm25_retrieval("粮食体系峰会", "zh")
    fr = store.bm25_retrieval("désertification", "fr")
    assert fr and "é" in fr[0].content


@pytest.mark.slow  # runs and kills a real ingest subprocess, then ingests again
def test_killed_ingest_recovers_without_duplicates(tmp_path):
    corpus = tmp_path / "manual"
    for lang in ("en", "fr", "es", "ru"):
        shutil.copytree(MANUAL / lang, corpus / lang)
    data = tmp_path / "data"
    env = {**os.environ, "KHUB_DATA_DIR": str(data)}
    cmd = [sys.executable, "-m", "khub.cli", "ingest", str(corpus), "--json"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    db = data / "khub.sqlite"
    while time.time() < deadline:  # kill once a few documents are in, mid-way through the run
        if db.exists():
            try:
                n = sqlite3.connect(db, timeout=1).execute("SELECT COUNT(*) FROM documents").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
            if n >= 3:
                break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = EmbeddedDocumentStore(data)
    n_partial = partial.info()["documents"]
    assert 3 <= n_partial < 12, n_partial
    _assert_consistent(partial)
    partial.close()
    rerun = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    totals = json.loads(rerun.stdout)["totals"]
    assert totals.get("unchanged", 0) == n_partial and totals.get("indexed", 0) == 12 - n_partial
    store = EmbeddedDocumentStore(data)
    assert store.info()["documents"] == 12
    _assert_consistent(store)


def _assert_consistent(store: EmbeddedDocumentStore) -> None:
    """Every passage belongs to a recorded document, counts match, BM25 agrees with SQLite."""
    records = {r["doc_id"]: r for r in store.list_documents()}
    passages = store.filter_documents()
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))
    per_doc: dict[str, int] = {}
    for p in passages:
        assert p.meta["doc_id"] in records, f"orphan passage {p.id}"
        per_doc[p.meta["doc_id"]] = per_doc.get(p.meta["doc_id"], 0) + 1
    assert per_doc == {d: r["n_passages"] for d, r in records.items()}
    word = "indicator"
    hits = store.bm25_retrieval(word, "en", top_k=10_000)
    assert {h.id for h in hits} <= set(ids)


def test_prune_removes_documents_whose_file_is_gone(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("introduction.txt", "SO2.txt"):
        shutil.copy(MANUAL / "en" / name, folder / name)
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(folder), "--json"]).exit_code == 0
    (folder / "SO2.txt").unlink()
    kept = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert json.loads(kept.stdout)["totals"] == {"unchanged": 1}  # without --prune nothing is removed
    pruned = runner.invoke(app, ["ingest", str(folder), "--prune", "--json"])
    assert json.loads(pruned.stdout)["totals"] == {"unchanged": 1, "pruned": 1}
    store = EmbeddedDocumentStore(tmp_path / "data")
    assert [Path(r["path"]).name for r in store.list_documents()] == ["introduction.txt"]
    assert all(Path(p.meta["path"]).name == "introduction.txt" for p in store.filter_documents())


def test_changed_document_replaced_as_a_unit(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    doc = folder / "note.txt"
    doc.write_text("\n\n".join(f"{i}. Paragraph {i} on rangeland restoration and grazing." for i in range(1, 9)))
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(folder), "--json"]).exit_code == 0
    doc.write_text("1. A shorter note on wetlands.\n\n2. Peatland restoration.")
    again = runner.invoke(app, ["ingest", str(folder), "--json"])
    assert json.loads(again.stdout)["totals"] == {"replaced": 1}
    store = EmbeddedDocumentStore(tmp_path / "data")
    texts = [p.content for p in store.filter_documents()]
    assert len(texts) == store.list_documents()[0]["n_passages"] and not any("rangeland" in t for t in texts)
    assert store.bm25_retrieval("rangeland", "en") == []

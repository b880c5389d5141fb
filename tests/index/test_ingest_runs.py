"""Ingest runs: one writer per data dir, exit codes, document identity, a report per run,
and every walked entry that is not ingested reported with its reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from khub.cli import app
from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.lock import ingest_lock
from tests.conftest import ROOT

GOOD = [ROOT / "tests/fixtures/bad/cop15_gbk.txt", ROOT / "tests/fixtures/bad/manual_intro_cp1252.txt"]
KHUB = [sys.executable, "-m", "khub.cli"]


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "in"
    out.mkdir()
    for f in GOOD:
        shutil.copy(f, out / f.name)
    return out


def _ingest(args, data_dir, cwd=None, **kw):
    env = {**os.environ, "KHUB_DATA_DIR": str(data_dir)}
    return subprocess.run([*KHUB, "ingest", *args], cwd=cwd or ROOT, env=env, capture_output=True, text=True,
                          timeout=300, **kw)


def test_missing_path_exits_non_zero(tmp_path, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "no" / "such" / "path"), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["files"] == [{**report["files"][0], "status": "failed", "reason": "no such file or directory"}]


def test_exit_codes_all_good_then_some_failed(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    assert CliRunner().invoke(app, ["ingest", str(folder)]).exit_code == 0
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    result = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 1
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(result.stdout)["files"]}
    assert statuses == {"broken.pdf": "failed", "cop15_gbk.txt": "unchanged", "manual_intro_cp1252.txt": "unchanged"}
    # one report per run, the latest also as ingest-report.json
    runs = sorted((tmp_path / "data" / "reports").glob("ingest-*.json"))
    assert len(runs) == 2
    latest = json.loads((tmp_path / "data" / "ingest-report.json").read_text())
    assert latest == json.loads(runs[-1].read_text()) and latest["totals"] == {"failed": 1, "unchanged": 2}


def test_a_second_ingest_says_who_holds_the_data_dir(folder, tmp_path):
    data = tmp_path / "data"
    with ingest_lock(data):
        busy = _ingest([str(folder)], data)
    assert busy.returncode == 2
    said = " ".join((busy.stdout + busy.stderr).split())  # rich wraps long lines
    assert f"is being written by pid {os.getpid()}" in said and "--wait" in said
    assert not (data / "khub.sqlite").exists() or EmbeddedDocumentStore(data).count_documents() == 0


def test_wait_starts_when_the_holder_is_done(folder, tmp_path):
    data = tmp_path / "data"
    released = threading.Event()

    def hold():
        with ingest_lock(data):
            time.sleep(3)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.5)
    waited = _ingest([str(folder), "--wait"], data)
    holder.join()
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert released.is_set()
    assert EmbeddedDocumentStore(data).info()["documents"] == 2


@pytest.mark.slow
def test_two_concurrent_ingests_leave_one_consistent_store(folder, tmp_path):
    data = tmp_path / "data"
    env = {**os.environ, "KHUB_DATA_DIR": str(data)}
    procs = [subprocess.Popen([*KHUB, "ingest", str(folder), "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    # either the second found the data dir busy (one clear message), or it ran after the first
    assert codes in ([0, 0], [0, 2]), outs
    for p, (out, err) in zip(procs, outs):
        if p.returncode == 2:
            assert "is being written by pid" in " ".join((out + err).split())
        else:
            assert not [f for f in json.loads(out)["files"] if f["status"] == "failed"]
    store = EmbeddedDocumentStore(data)
    assert store.info()["documents"] == 2
    assert len({d.id for d in store.filter_documents()}) == store.count_documents()


def test_the_same_file_from_another_directory_is_the_same_document(folder, tmp_path):
    data = tmp_path / "data"
    first = _ingest(["in"], data, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    second = _ingest([str(folder), "--json"], data, cwd=ROOT)
    assert second.returncode == 0
    assert {f["status"] for f in json.loads(second.stdout)["files"]} == {"unchanged"}
    store = EmbeddedDocumentStore(data)
    assert store.info()["documents"] == 2


def test_walked_entries_not_ingested_are_reported(folder, tmp_path, monkeypatch):
    os.mkfifo(folder / "pipe.txt")
    (folder / "sub").mkdir()
    (folder / "sub" / "loop").symlink_to(folder)
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    (folder / "notes.docx").write_bytes(b"PK")
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    reasons = {Path(f["path"]).name: f["reason"] for f in json.loads(result.stdout)["files"] if f["status"] == "skipped"}
    assert reasons["pipe.txt"] == "not a regular file (a FIFO)"
    assert reasons["loop"] == "symbolic link loop (folder already walked)"
    assert reasons["dangling.txt"] == "broken symbolic link"
    assert reasons["notes.docx"] == "unsupported file type '.docx'"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder: an unreadable folder cannot be made")
def test_unreadable_folder_is_reported(folder, tmp_path, monkeypatch):
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
        result = CliRunner().invoke(app, ["ingest", str(folder), "--json"])
        reasons = {Path(f["path"]).name: f["reason"] for f in json.loads(result.stdout)["files"]}
        assert reasons["locked"].startswith("folder cannot be read")
    finally:
        locked.chmod(0o755)


def test_a_corrupted_bm25_index_is_rebuilt_from_sqlite(folder, tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("KHUB_DATA_DIR", str(data))
    assert CliRunner().invoke(app, ["ingest", str(folder)]).exit_code == 0
    before = [d.id for d in EmbeddedDocumentStore(data).bm25_retrieval("désertification", "fr")]
    assert before
    (data / "bm25" / "meta.json").write_text("{ not json", encoding="utf-8")
    store = EmbeddedDocumentStore(data)  # used to raise: the derived index is rebuilt instead
    assert [d.id for d in store.bm25_retrieval("désertification", "fr")] == before


def test_many_processes_open_one_store_at_once(folder, tmp_path, monkeypatch):
    """The workers of `khub serve` open the store together: none may see the BM25 index's
    layout half written (which once made one of them delete the index under the other)."""
    data = tmp_path / "data"
    monkeypatch.setenv("KHUB_DATA_DIR", str(data))
    assert CliRunner().invoke(app, ["ingest", str(folder)]).exit_code == 0
    probe = ("import sys; from khub.index.embedded_store import EmbeddedDocumentStore as S; "
             "s = S(sys.argv[1]); assert s.bm25_retrieval('désertification', 'fr'), 'no hit'")
    for _ in range(3):
        procs = [subprocess.Popen([sys.executable, "-c", probe, str(data)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors

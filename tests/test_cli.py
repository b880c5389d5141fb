"""The khub command line on the real corpus."""

import json

from typer.testing import CliRunner

from khub.cli import app
from tests.conftest import CORPORA


def test_reingest_unchanged_writes_nothing(corpus_dir, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(corpus_dir))
    before = (corpus_dir / "khub.sqlite").stat().st_mtime_ns
    from index.embedded_store import EmbeddedDocumentStore

    generation = EmbeddedDocumentStore(corpus_dir).generation
    result = CliRunner().invoke(app, ["ingest", str(CORPORA), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["totals"] == {"unchanged": 23}
    store = EmbeddedDocumentStore(corpus_dir)
    assert store.generation == generation
    ids = [d.id for d in store.filter_documents()]
    assert len(ids) == len(set(ids))


def test_search_json_is_the_api_payload(service, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(service.settings.data_dir))
    result = CliRunner().invoke(app, ["search", "sand and dust storms", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == service.search("sand and dust storms", k=3)


def test_stats_lists_iccd_symbols(corpus_dir, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(corpus_dir))
    result = CliRunner().invoke(app, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    symbols = {d["meta"]["symbol"] for d in data["documents_list"] if d["meta"]["source"] == "iccd"}
    assert symbols == {"ICCD/COP(14)/CST/5", "ICCD/COP(16)/CST/7", None}


def test_search_filter_option(service, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(service.settings.data_dir))
    result = CliRunner().invoke(app, ["search", "科学与政策联系平台", "-f", "body=CST", "-f", "session=16", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["filters"] == {"body": "CST", "session": "16"}
    assert data["results"] and {r["symbol"] for r in data["results"]} == {"ICCD/COP(16)/CST/7"}
    bad = CliRunner().invoke(app, ["search", "x", "-f", "colour=red"])
    assert bad.exit_code == 2 and "colour=red" in bad.output

"""The khub command line on the real corpus."""

import json

from typer.testing import CliRunner

from khub.cli import app
from tests.conftest import CORPORA


def test_reingest_unchanged_writes_nothing(corpus_dir, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(corpus_dir))
    from khub.index.embedded_store import EmbeddedDocumentStore

    generation = EmbeddedDocumentStore(corpus_dir).generation
    result = CliRunner().invoke(app, ["ingest", str(CORPORA), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["totals"] == {"unchanged": 31}
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


def test_unreachable_opensearch_is_one_clear_line(monkeypatch, tmp_path):
    """KHUB_STORE=opensearch with no cluster: exit 2 and a message naming the URL, no traceback."""
    from typer.testing import CliRunner

    from khub.cli import app

    monkeypatch.setenv("KHUB_STORE", "opensearch")
    monkeypatch.setenv("KHUB_OPENSEARCH_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path))
    for args in (["search", "drought"], ["stats"]):
        result = CliRunner().invoke(app, args)
        output = " ".join(result.output.split())  # rich wraps long lines
        assert result.exit_code == 2, result.output
        assert "cannot open the opensearch store" in output and "127.0.0.1:9" in output
        assert "Traceback" not in output
    monkeypatch.delenv("KHUB_OPENSEARCH_URL")
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 2 and "needs KHUB_OPENSEARCH_URL" in " ".join(result.output.split())

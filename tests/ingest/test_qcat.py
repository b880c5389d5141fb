"""The QCAT connector against a local server (127.0.0.1) replaying the real recorded
QCAT API v2 responses in tests/fixtures/qcat/; nothing reaches the internet."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.qcat import QCATAuthError, QCATClient, QCATError, harvest
from khub.ingest.tokens import token_counter
from khub.ingest.wocat import load_record_file
from tests.conftest import ROOT

pytestmark = pytest.mark.integration  # a local HTTP server replays recorded QCAT responses

FIXTURES = ROOT / "tests/fixtures/qcat"
LIST_PAGE = json.loads((FIXTURES / "cde-unibe_qcat-api-scripts__list_response_page1.json").read_text())
DETAIL = json.loads((FIXTURES / "cde-unibe_qcat-api-scripts__detail_technologies_1724.json").read_text())
TOKEN = "test-token"


class Replay:
    """Server state: which paths fail how many times first, and the requests seen."""

    def __init__(self):
        self.fail_first: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str | None]] = []


def make_handler(state: Replay, base: str):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server API
            url = urlparse(self.path)
            state.requests.append((url.path + ("?" + url.query if url.query else ""), self.headers.get("Authorization")))
            if self.headers.get("Authorization") != f"Token {TOKEN}":
                return self._send(401, {"detail": "Invalid token."})
            key = url.path + ("?" + url.query if url.query else "")
            pending = state.fail_first.get(key)
            if pending:
                status = pending.pop(0)
                return self._send(status, {"detail": "replayed failure"}, {"Retry-After": "0"} if status == 429 else None)
            if url.path == "/en/api/v2/questionnaires/":
                page = int(parse_qs(url.query).get("page", ["1"])[0])
                results = LIST_PAGE["results"]
                # the recorded page of 25 split in two pages of the same shape
                chunk = results[:15] if page == 1 else results[15:]
                nxt = f"{base}/en/api/v2/questionnaires/?format=json&page=2" if page == 1 else None
                return self._send(200, {"count": len(results), "next": nxt, "previous": None, "results": chunk})
            if url.path.startswith("/en/api/v2/questionnaires/"):
                return self._send(200, DETAIL)
            return self._send(404, {"detail": "Not found."})

    return Handler


@pytest.fixture()
def qcat_server():
    state = Replay()
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = make_handler(state, base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, state
    server.shutdown()
    server.server_close()


def test_pagination_and_saved_records(qcat_server, tmp_path):
    base, state = qcat_server
    client = QCATClient(f"{base}/en/api/v2/", TOKEN, backoff=0.01)
    saved, failed = harvest(client, tmp_path)
    assert not failed and len(saved) == 25
    assert ("/en/api/v2/questionnaires/?format=json&page=2", f"Token {TOKEN}") in state.requests
    text, meta = load_record_file(tmp_path / "technologies_1724.json")
    assert meta["qcat_code"] == "technologies_1724" and meta["country"] == "Afghanistan"
    assert meta["updated"].startswith("2017-08-17") and meta["year"] == 2017
    # the list gives a path; it is resolved against the API's host so a citation can link it
    assert meta["url"] == f"{base}/en/wocat/technologies/view/technologies_1724/"


def test_429_then_success_and_500_then_success(qcat_server, tmp_path):
    base, state = qcat_server
    state.fail_first["/en/api/v2/questionnaires/"] = [500]
    state.fail_first["/en/api/v2/questionnaires/technologies_1724/"] = [429, 429]
    client = QCATClient(f"{base}/en/api/v2/", TOKEN, backoff=0.01)
    saved, failed = harvest(client, tmp_path)
    assert not failed and len(saved) == 25
    detail_calls = [p for p, _ in state.requests if p == "/en/api/v2/questionnaires/technologies_1724/"]
    assert len(detail_calls) == 3  # two 429s, then the record


def test_persistent_500_fails_that_record_only(qcat_server, tmp_path):
    base, state = qcat_server
    state.fail_first["/en/api/v2/questionnaires/unccd_156/"] = [500] * 10
    saved, failed = harvest(QCATClient(f"{base}/en/api/v2/", TOKEN, attempts=3, backoff=0.01), tmp_path)
    assert len(saved) == 24 and failed and failed[0][0] == "unccd_156" and "500" in failed[0][1]


def test_401_is_a_clear_error(qcat_server, tmp_path):
    base, _ = qcat_server
    with pytest.raises(QCATAuthError, match="401.*token"):
        harvest(QCATClient(f"{base}/en/api/v2/", "wrong", backoff=0.01), tmp_path)


def test_since_filters_on_updated(qcat_server, tmp_path):
    base, _ = qcat_server
    items = list(QCATClient(f"{base}/en/api/v2/", TOKEN).questionnaires(since="2017-08-17"))
    assert items and all(i["updated"] >= "2017-08-17" for i in items)
    assert len(items) < 25


def test_unreachable_server_is_reported():
    with pytest.raises(QCATError, match="cannot reach QCAT"):
        QCATClient("http://127.0.0.1:9/en/api/v2/", TOKEN, attempts=2, backoff=0.01, timeout=1).get("questionnaires/")


def test_contact_details_are_never_indexed():
    raw = json.dumps(DETAIL)
    assert "mustafa.ershad@crs.org" in raw and "Aqila Haidery" in raw  # the record does hold personal data
    doc = load_document(ROOT / "corpora/wocat/technologies_1724.json")
    passages = to_passages(doc, token_counter(), 256)
    indexed = json.dumps([[p.content, p.meta] for p in passages], ensure_ascii=False)
    for personal in ("mustafa.ershad", "crs.org", "Aqila Haidery", "Sanjeev Bhuchar", "Madhav Dhakal"):
        assert personal not in indexed
    m = passages[0].meta
    assert m["source"] == "wocat" and m["title"] == "Contour Trench Bund" and m["country"] == "Afghanistan"
    assert m["land_use"] == ["Grazing land"] and "soil erosion by water" in m["degradation"]
    assert "structural measures" in m["measures"] and "cross-slope measure" in m["slm_group"]
    assert any(p.meta["section"] and "Strengths" in p.meta["section"] for p in passages)


def test_rated_impacts_mojibake_and_non_prose_answers():
    """The real record: impacts become "name: direction" facets and readable sentences with the
    compiler's comment; QCAT's mojibake is repaired; image paths and GeoJSON are not text."""
    from khub.ingest.wocat import impact_ratings, scrub

    raw = json.dumps(DETAIL, ensure_ascii=False)
    assert "usersâ€™" in raw and "/upload/" in raw and "FeatureCollection" in raw
    ratings = {i.name: i for i in impact_ratings(DETAIL["details"] if "details" in DETAIL else DETAIL)}
    assert ratings["soil loss"].rating == 2 and ratings["soil loss"].direction == "decreased"
    assert ratings["flood impacts"].rating == -2 and ratings["flood impacts"].direction == "increased"
    assert ratings["downstream siltation"].offsite and not ratings["soil moisture"].offsite
    assert ratings["damage on agriculture fields"].direction == "reduced"  # an "other" impact, own labels

    doc = load_document(ROOT / "corpora/wocat/technologies_1724.json")
    text = "\n".join(doc.pages)
    assert "fodder production: increased (+2 on -3..+3). Due to better soil moisture" in text
    assert {"soil loss: decreased", "fodder production: increased"} <= set(doc.meta["impacts"])
    assert "land users’ perception" in text and "â€" not in text
    assert "/upload/" not in text and "FeatureCollection" not in text and "[phone removed]" not in text
    assert scrub("2010-2015, 1 200 000 ha, Tel: 031 631 88 22, +93 799 123 456") == \
        "2010-2015, 1 200 000 ha, [phone removed], [phone removed]"


def test_malformed_and_truncated_records(tmp_path):
    from khub.ingest.convert import ConversionError

    truncated = tmp_path / "technologies_1.json"
    truncated.write_text(json.dumps(DETAIL)[:5000])
    with pytest.raises(ConversionError, match="truncated JSON"):
        load_record_file(truncated)
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}')
    with pytest.raises(ConversionError, match="not a QCAT questionnaire"):
        load_record_file(other)


def test_khub_ingest_wocat_command(qcat_server, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from khub.cli import app
    from khub.index.embedded_store import EmbeddedDocumentStore

    base, _ = qcat_server
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["ingest", "wocat", "--api-url", f"{base}/en/api/v2/", "--token", TOKEN,
                                      "--since", "2017-08-01", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["totals"] == {"indexed": 1}
    store = EmbeddedDocumentStore(tmp_path)
    docs = store.list_documents()
    assert [d["meta"]["qcat_code"] for d in docs] == ["technologies_1724"]
    hits = store.bm25_retrieval("contour trench bund", "en", {"country": "Afghanistan", "land_use": "Grazing land"})
    assert hits and hits[0].meta["source"] == "wocat"
    refused = CliRunner().invoke(app, ["ingest", "wocat", "--api-url", f"{base}/en/api/v2/", "--token", "bad"])
    assert refused.exit_code == 2 and "401" in refused.output

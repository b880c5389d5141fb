"""The search page in a real browser (Debian's Chromium driven by Playwright) against the
real API on the sample corpus, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium chromium-driver)",
)]


@pytest.fixture(scope="module")
def site_url(service):
    import uvicorn

    from khub.ui.site import create_site

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_site(service.settings, service=service), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, site_url):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    # the page is served with a strict Content-Security-Policy: a violation is an error too
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(site_url + "/")
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"
    page.close()


def test_english_query_finds_chinese_paragraph_with_citation(page):
    page.fill("#q", "What did Action Track 3 of the Food Systems Summit aim for")
    page.click("#search-button")
    page.wait_for_selector("#results .result")
    first = page.locator("#results .result").first
    assert "para. 29" in first.locator(".citation").inner_text()
    assert first.locator(".badge").inner_text() == "zh"
    assert "行动轨道" in first.locator(".passage").inner_text()
    assert re.search(r"\d+ passages from \d+ documents", page.locator("#status").inner_text())
    # the search is in the URL, so it can be shared and reloaded
    query = parse_qs(urlparse(page.url).query)
    assert query["q"] == ["What did Action Track 3 of the Food Systems Summit aim for"]


def test_facet_click_filters_results_and_chip_removes_filter(page):
    page.fill("#q", "soil erosion and runoff")
    page.click("#search-button")
    page.wait_for_selector("#facets .facet-value[data-field='source'][data-value='wocat']")
    page.click("#facets .facet-value[data-field='source'][data-value='wocat']")
    page.wait_for_selector("#active-filters .chip[data-field='source']")
    page.wait_for_function("() => [...document.querySelectorAll('#results .result')].every(r => r.dataset.source === 'wocat')")
    citations = page.locator("#results .result .citation").all_inner_texts()
    assert citations and all(c.startswith("WOCAT SLM database, technologies_1724") for c in citations)
    assert page.locator("#source").input_value() == "wocat"
    assert parse_qs(urlparse(page.url).query)["source"] == ["wocat"]
    # a country facet of the WOCAT record is offered; the chip removes the source filter again
    assert page.locator("#facets .facet-value[data-field='country'][data-value='Afghanistan']").count() == 1
    page.click("#active-filters .chip[data-field='source']")
    page.wait_for_function("() => [...document.querySelectorAll('#results .result')].some(r => r.dataset.source !== 'wocat')")
    assert "source" not in parse_qs(urlparse(page.url).query)


def test_ask_shows_answer_with_linked_references(page):
    page.fill("#q", "What is the objective of the Convention?")
    page.select_option("#source", "convention")
    page.click("#ask-button")
    page.wait_for_selector("#answer:not([hidden]) #references li")
    answer = page.locator("#answer-text").inner_text()
    markers = page.locator("#answer-text a.marker")
    assert markers.count() >= 1 and "[1]" in answer
    assert markers.first.get_attribute("href") == "#ref-1"
    ref = page.locator("#ref-1 .citation").inner_text()
    assert ref == "UNCCD, art. 2, para. 1"  # article 2, the objective: findable in the Convention
    assert parse_qs(urlparse(page.url).query)["mode"] == ["ask"]


def test_highlight_marks_words_and_page_is_safe_from_markup_in_query(page, site_url):
    page.goto(site_url + "/?q=" + "land+cover+<img+src%3Dx+onerror%3Dalert(1)>" + "&lang=fr")
    page.wait_for_selector("#results .result")
    assert page.locator("#results mark").count() > 0
    assert page.locator("#results img").count() == 0 and page.locator("#status img").count() == 0
    assert page.locator("#lang").input_value() == "fr"
    # lang=fr: translated passages are shown in their French edition
    assert "fr" in page.locator("#results .result .badge").all_inner_texts()


def test_api_error_is_shown_not_swallowed(page, site_url):
    page.goto(site_url + "/?q=soil&year=1800")  # year outside 1900..2100: the API answers 422
    page.wait_for_selector("#status.error")
    assert "year" in page.locator("#status").inner_text()
    assert page.locator("#results .result").count() == 0


def test_brief_button_downloads_a_word_brief(page, tmp_path):
    from docx import Document as WordDocument

    page.fill("#q", "土地退化零增长与可持续土地管理")
    page.select_option("#source", "iccd")
    with page.expect_download() as download:
        page.click("#brief-button")
    path = tmp_path / "brief.docx"
    download.value.save_as(path)
    assert download.value.suggested_filename == "evidence-brief.docx"
    paragraphs = [p.text for p in WordDocument(str(path)).paragraphs]
    assert paragraphs[0] == "Evidence brief: 土地退化零增长与可持续土地管理"
    assert any(p.startswith("[1] ICCD/") or p.startswith("[1] COP 15") for p in paragraphs)
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('downloaded')")


def test_only_web_links_are_rendered(page, site_url):
    """A stored "javascript:" URL never becomes an href: the API drops it (tests/khub/test_urls.py)
    and the page checks again before it renders a "source page" link."""
    assert page.evaluate("webUrl('javascript:alert(document.domain)')") is None
    assert page.evaluate("webUrl(' JavaScript:alert(1)')") is None
    assert page.evaluate("webUrl('data:text/html,<script>alert(1)</script>')") is None
    assert page.evaluate("webUrl('/relative')") is None
    url = "https://qcat.wocat.net/en/wocat/technologies/view/technologies_1724/"
    assert page.evaluate(f"webUrl('{url}')") == url
    page.fill("#q", "contour trench bund")
    page.click("#search-button")
    page.wait_for_selector("#results .result")
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert url in hrefs and not [h for h in hrefs if not h.startswith(("http://", "https://", "/", "?", "#", "blob:"))]

"""The search page in a real browser (Debian's Chromium driven by Playwright) against the
real API on the sample corpus, served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import re
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
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


@contextmanager
def open_page(browser, url: str, **context_options):
    """A page at ``url`` in a new browser context (``locale``, ``viewport``, ...) that fails the
    test on any JavaScript error or Content-Security-Policy violation, closed afterwards."""
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        # the page is served with a strict Content-Security-Policy: a violation is an error too
        page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(url)
        page.wait_for_selector("body[data-ready]", state="attached")  # handlers attached, messages loaded
        yield page
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


@pytest.fixture()
def page(browser, site_url):
    with open_page(browser, site_url + "/") as page:
        yield page


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


# ---------------------------------------------------------------- issue 11: languages, reading, a11y
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(tempfile.gettempdir()) / "khub-ui-screenshots"


def shot(page, name: str) -> Path:
    """Save a full-page screenshot for the reviewer and print where it is."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def axe_serious(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the DevTools protocol, so the page's Content-Security-Policy stays on."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
    }""")


def test_landing_page_has_no_serious_accessibility_violations(page):
    page.wait_for_function("() => document.activeElement.id === 'q'")  # the search box has focus
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # back past the interface language: the skip link comes first
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert axe_serious(page) == []
    levels = page.eval_on_selector_all("h1, h2, h3", "hs => hs.filter(h => h.offsetParent !== null).map(h => +h.tagName[1])")
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels


def test_arabic_interface_is_right_to_left_and_accessible(page, site_url):
    page.goto(site_url + "/?hl=ar&q=" + "تدهور الأراضي")
    page.wait_for_selector("#results .result")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    assert page.locator("h1").inner_text() == "البحث في مركز المعارف التابع لاتفاقية مكافحة التصحر"
    assert page.locator("#search-button").inner_text() == "بحث"
    status = page.locator("#status").inner_text()
    assert "مقطع" in status and re.search("وثيقة|وثائق|وثيقتين", status)
    # mirrored: the search box starts at the right edge of the form
    box, form = page.locator("#q").bounding_box(), page.locator("#search-form").bounding_box()
    assert box["x"] + box["width"] > form["x"] + form["width"] - 5
    assert page.locator("#results .result .passage[lang='ar']").count() > 0
    assert axe_serious(page) == []
    shot(page, "arabic-interface-arabic-query")


def test_facet_values_and_chips_are_translated(page, site_url):
    page.goto(site_url + "/?hl=zh&q=contour+trench+bund&source=wocat")
    page.wait_for_selector("#facets .facet-value[data-field='land_use']")
    assert page.locator("#facets .facet-value[data-field='land_use'][data-value='Grazing land']").inner_text().startswith("牧场")
    assert page.locator("#facets .facet-value[data-field='country'][data-value='Afghanistan']").inner_text().startswith("阿富汗")
    assert page.locator("#active-filters .chip[data-field='source']").inner_text().startswith("来源: WOCAT 做法")


def test_interface_language_follows_the_browser(browser, site_url):
    with open_page(browser, site_url + "/", locale="fr-FR") as page:
        page.wait_for_function("() => document.documentElement.lang === 'fr'")
        assert page.locator("#search-button").inner_text() == "Rechercher"
        page.select_option("#ui-lang", "zh")
        page.wait_for_function("() => document.documentElement.lang === 'zh'")
        assert page.locator("#search-button").inner_text() == "搜索" and "hl=zh" in page.url


def test_english_results_page_pages_sorts_and_filters_by_year(page, site_url):
    page.goto(site_url + "/?q=land+degradation")
    page.wait_for_selector("#results .result")
    status = page.locator("#status").inner_text()
    total = int(re.search(r"([\d,]+) passages", status).group(1).replace(",", ""))
    assert total > 10 and page.locator("#results .result").count() == 10
    assert axe_serious(page) == []
    page.click("#more")
    page.wait_for_function("() => document.querySelectorAll('#results .result').length === 20")
    ids = page.eval_on_selector_all("#results .result", "rs => rs.map(r => r.dataset.id)")
    assert len(set(ids)) == 20
    assert page.evaluate("document.activeElement.dataset.id") == ids[10]  # focus on the first new result
    page.select_option("#sort", "date")
    page.wait_for_function("() => new URLSearchParams(location.search).get('sort') === 'date'")
    page.fill("#year-from", "2020")
    page.fill("#year-to", "2022")
    page.click("#search-button")
    page.wait_for_selector("#active-filters .chip[data-field='years']")
    page.wait_for_function("() => !document.querySelector('#content').classList.contains('loading')")
    query = parse_qs(urlparse(page.url).query)
    assert query["year_from"] == ["2020"] and query["year_to"] == ["2022"]
    citations = page.locator("#results .result .citation").all_inner_texts()
    assert citations and all(re.search(r"\b(2020|2021|2022)\b", c) for c in citations), citations


def test_reading_view_shows_context_citation_and_editions(page, site_url):
    page.goto(site_url + "/?q=land+cover+change&source=manual&language=en")
    page.wait_for_selector("#results .result")
    opener = page.locator("#results .result .read-button").first
    passage_id = opener.get_attribute("data-id")
    opener.click()
    page.wait_for_selector("#reader:not([hidden]) .reader-passage.current")
    assert page.evaluate("document.activeElement.id") == "reader-title"
    assert page.locator(".reader-passage.current").get_attribute("data-id") == passage_id
    assert page.locator("#reader-text .reader-passage").count() >= 2
    assert page.locator("#reader-citation").inner_text().startswith("PRAIS reporting manual")
    assert page.locator("#reader-file").get_attribute("href") == f"/passages/{passage_id.replace(':', '%3A')}/original"
    editions = page.locator("#reader-editions .edition-link")
    assert {editions.nth(i).get_attribute("data-lang") for i in range(editions.count())} >= {"fr", "zh", "ar"}
    page.locator("#reader-editions .edition-link[data-lang='fr']").click()
    page.wait_for_selector("#reader-edition:not([hidden]) .reader-passage.current[lang='fr']")
    assert axe_serious(page) == []
    page.set_viewport_size({"width": 1366, "height": 900})
    shot(page, "reading-view-with-editions")
    left = page.locator("#reader-text").bounding_box()
    right = page.locator("#reader-edition").bounding_box()
    assert right["x"] > left["x"] + left["width"] - 5  # side by side on a wide screen
    page.click("#reader-close")
    assert page.evaluate("document.activeElement.dataset.id") == passage_id


def test_ask_answer_is_accessible_and_ctrl_enter_asks(page):
    page.fill("#q", "What is the objective of the Convention?")
    page.press("#q", "Control+Enter")
    page.wait_for_selector("#answer:not([hidden]) #references li")
    assert parse_qs(urlparse(page.url).query)["mode"] == ["ask"]
    assert axe_serious(page) == []


def test_back_and_forward_and_stale_responses(page, site_url):
    page.fill("#q", "soil erosion and runoff")
    page.click("#search-button")
    page.wait_for_selector("#facets .facet-value[data-field='source'][data-value='wocat']")
    page.click("#facets .facet-value[data-field='source'][data-value='wocat']")
    page.wait_for_selector("#active-filters .chip[data-field='source']")
    page.wait_for_function("() => document.activeElement.id === 'results-heading'")  # focus follows the results
    page.go_back()
    page.wait_for_function("() => !new URLSearchParams(location.search).get('source')")
    page.wait_for_function("() => document.querySelectorAll('#active-filters .chip').length === 0")
    assert page.url.startswith(site_url) and page.locator("#q").input_value() == "soil erosion and runoff"
    page.go_forward()
    page.wait_for_selector("#active-filters .chip[data-field='source']")
    # a slow earlier response must not overwrite a newer query's results
    delayed = {"done": False}

    def slow_first(route):
        if not delayed["done"] and "q=terraces" not in route.request.url:
            delayed["done"] = True
            time.sleep(2.5)
        route.continue_()

    page.route("**/search?*", slow_first)
    page.fill("#q", "soil organic carbon")
    page.click("#search-button")
    page.fill("#q", "terraces")
    page.click("#search-button")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('terraces')")
    time.sleep(3)
    assert "terraces" in page.locator("#status").inner_text() and parse_qs(urlparse(page.url).query)["q"] == ["terraces"]
    page.unroute("**/search?*")


def test_mobile_results_come_before_facets(browser, site_url):
    with open_page(browser, site_url + "/?q=soil+erosion", viewport={"width": 390, "height": 844}) as page:
        page.wait_for_selector("#results .result")
        results = page.locator("#results").bounding_box()
        facets = page.locator("#facets-panel").bounding_box()
        assert results["y"] < facets["y"] and results["y"] < 700
        assert page.locator("#facets-panel").get_attribute("open") is None  # collapsed panel
        for selector in ("#search-button", "#ask-button", "#facets-panel summary", "#results .read-button"):
            assert page.locator(selector).first.bounding_box()["height"] >= 44, selector
        shot(page, "mobile-result-list")


def test_no_match_state(page, site_url):
    page.goto(site_url + "/?q=asdfghjkl")
    page.wait_for_selector("#no-match:not([hidden])")
    assert "asdfghjkl" in page.locator("#no-match").inner_text()
    assert page.locator("#results .result").count() == 0
    assert page.locator("#nearest-heading").is_visible()
    assert page.locator("#facets .facet-value").count() == 0  # no refinements of non-evidence
    assert axe_serious(page) == []
    shot(page, "no-match-state")


def test_errors_are_translated_and_friendly(page, site_url):
    page.goto(site_url + "/?hl=fr&q=sol&year=1800")
    page.wait_for_selector("#status.error")
    assert page.locator("#status").inner_text().startswith("La requête n’a pas été acceptée")

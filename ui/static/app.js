// Knowledge Hub search page: calls GET /search, GET /facets, POST /ask, POST /brief/docx and
// GET /passages/{id}/context of the khub API.
//
// * Interface in the six UN languages: JSON message catalogues (i18n/<lang>.json) with plural
//   forms chosen by Intl.PluralRules (the CLDR rules ICU uses); numbers by Intl.NumberFormat,
//   language names by Intl.DisplayNames. The language comes from the URL (?hl=ar), else from
//   the browser's languages (Accept-Language), else English; <html lang dir> follow it.
// * The page state lives in the URL (?q=...&source=...&mode=ask&hl=fr); every new search or
//   filter is a history entry, so Back and Forward work. A response that arrives after a newer
//   request was made is dropped (sequence number), and the older request is aborted.
// * Text from the API is inserted with textContent; the one HTML field, `highlight`, is
//   HTML-escaped by the API and only its <mark> tags are kept here. Only http(s) links are
//   rendered (webUrl).
"use strict";

const UI_LANGUAGES = ["ar", "zh", "en", "fr", "ru", "es"];
const RTL = new Set(["ar"]);
const FACET_FIELDS = ["source", "language", "year", "body", "country", "land_use", "document_type"];
const FILTER_FIELDS = ["source", "language", "year", "body", "session", "symbol", "country", "land_use",
  "document_type"];
const PAGE = 10;

const $ = (id) => document.getElementById(id);
const ui = { lang: "en", catalog: {}, fallback: {}, vocabulary: {}, seq: 0, controller: null, state: null, shown: 0, total: 0 };

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

// ------------------------------------------------------------------ messages
function interpolate(text, vars) {
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** The message `key` in the interface language, with {placeholders} filled. */
function t(key, vars = {}) {
  const entry = ui.catalog[key] ?? ui.fallback[key] ?? key;
  return interpolate(typeof entry === "string" ? entry : entry.other, vars);
}

/** A plural message (`{one, few, many, other, ...}`) for the count n, with n formatted. */
function tn(key, n) {
  const entry = ui.catalog[key] ?? ui.fallback[key];
  if (!entry || typeof entry === "string") return t(key, { n: fmt(n) });
  const form = new Intl.PluralRules(ui.lang).select(n);
  const text = (n === 0 && entry.zero) || entry[form] || entry.other;
  return interpolate(text, { n: fmt(n) });
}

const fmt = (n) => new Intl.NumberFormat(ui.lang).format(n);

function languageName(code) {
  try {
    return new Intl.DisplayNames([ui.lang], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

/** A facet value in the interface language: sources from the catalogue, languages from
 *  Intl.DisplayNames, WOCAT countries and land uses from QCAT's own translations (wocat.json). */
function valueName(field, value) {
  if (field === "source") return t(`source.${value}`);
  if (field === "document_type") return t(`document_type.${value}`);
  if (field === "language") return languageName(value);
  if (field === "country" || field === "land_use") return ui.vocabulary[value]?.[ui.lang] || String(value);
  return String(value);
}

/** The interface language: ?hl=, else the browser's first UN language, else English. */
function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("hl");
  if (UI_LANGUAGES.includes(asked)) return asked;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (UI_LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** The six languages, each named in itself, appended to every select.language-options. */
function fillLanguageOptions() {
  for (const select of document.querySelectorAll("select.language-options")) {
    for (const code of UI_LANGUAGES) {
      const name = new Intl.DisplayNames([code], { type: "language" }).of(code);
      select.append(el("option", { value: code, lang: code }, name[0].toLocaleUpperCase(code) + name.slice(1)));
    }
  }
}

async function loadCatalog(lang) {
  const get = async (code) => (await fetch(`i18n/${code}.json`)).json();
  if (!Object.keys(ui.fallback).length) {
    ui.fallback = await get("en");
    ui.vocabulary = await get("wocat").catch(() => ({}));
  }
  ui.catalog = lang === "en" ? ui.fallback : await get(lang);
  ui.lang = lang;
  document.documentElement.lang = lang;
  document.documentElement.dir = RTL.has(lang) ? "rtl" : "ltr";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  $("ui-lang").value = lang;
}

// ------------------------------------------------------------------ state and URL
/** The page state from the URL: {q, lang, mode, sort, filters: {field: value}, yearFrom, yearTo}. */
function readState() {
  const p = new URLSearchParams(location.search);
  const filters = {};
  for (const f of FILTER_FIELDS) if (p.get(f)) filters[f] = p.get(f);
  return {
    q: p.get("q") || "", lang: p.get("lang") || "", mode: p.get("mode") === "ask" ? "ask" : "search",
    sort: p.get("sort") === "date" ? "date" : "relevance", yearFrom: p.get("year_from") || "",
    yearTo: p.get("year_to") || "", filters,
  };
}

function stateParams(state) {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  if (state.lang) p.set("lang", state.lang);
  if (state.mode === "ask") p.set("mode", "ask");
  if (state.sort === "date") p.set("sort", "date");
  if (state.yearFrom) p.set("year_from", state.yearFrom);
  if (state.yearTo) p.set("year_to", state.yearTo);
  for (const [f, v] of Object.entries(state.filters)) p.set(f, v);
  if (ui.lang !== "en" || new URLSearchParams(location.search).get("hl")) p.set("hl", ui.lang);
  return p;
}

/** A new history entry for a new search (push), or the same entry updated (replace). */
function writeState(state, push) {
  const url = `?${stateParams(state)}`;
  if (url === location.search) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

function apiFilters(state) {
  const p = new URLSearchParams();
  for (const [f, v] of Object.entries(state.filters)) p.set(f, v);
  if (!state.filters.year) {
    if (state.yearFrom) p.set("year_from", state.yearFrom);
    if (state.yearTo) p.set("year_to", state.yearTo);
  }
  return p;
}

/** The query string of GET /search for a page of ``state``'s results starting at ``offset``. */
function searchParams(state, offset) {
  const p = apiFilters(state);
  p.set("q", state.q);
  p.set("k", String(PAGE));
  if (offset) p.set("offset", String(offset));
  if (state.sort === "date") p.set("sort", "date");
  if (state.lang) p.set("lang", state.lang);
  return p;
}

// Only absolute http(s) links are rendered: a stored "javascript:" or "data:" URL never
// becomes an href (the server checks too; this page does not rely on it).
function webUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

class ApiError extends Error {
  constructor(status, data) {
    super(data.message || (typeof data.detail === "string" ? data.detail : "") || `HTTP ${status}`);
    this.status = status;
    this.requestId = data.request_id || "";
  }
}

async function getJSON(url, options = {}) {
  const response = await fetch(url, { signal: ui.controller?.signal, ...options });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** A translated, friendly message for a failed request. */
function errorMessage(err) {
  if (err instanceof ApiError) {
    if (err.status === 422 || err.status === 413) return t("error.invalid", { detail: err.message });
    if (err.status === 503) return t("error.busy");
    if (err.status === 404) return t("error.notFound");
    return t("error.server", { id: err.requestId || err.status });
  }
  return t("error.network");
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function setBusy(busy) {
  $("content").setAttribute("aria-busy", busy ? "true" : "false");
  $("content").classList.toggle("loading", busy);
}

// ------------------------------------------------------------------ rendering
/** Keep only <mark> tags of an API highlight (already HTML-escaped by the API). */
function safeHighlight(html) {
  return html.replace(/<(?!\/?mark>)[^>]*>/gi, "");
}

function languageBadge(code) {
  return el("span", { class: "badge", title: code ? languageName(code) : "", lang: "en" }, code || "?");
}

function citationNode(text) {
  return el("bdi", { class: "citation", dir: "auto" }, text);
}

function resultItem(r) {
  const item = el("li", { class: "result", "data-id": r.id, "data-source": r.source || "" });
  const head = el("div", { class: "result-head" });
  head.append(citationNode(r.citation), languageBadge(r.language));
  if (r.ocr) head.append(el("span", { class: "badge ocr-badge", title: t("ocr.note") }, t("ocr")));
  if (r.also_in && r.also_in.length) {
    const also = el("span", { class: "also-in" }, `${t("alsoIn")} `);
    r.also_in.forEach((code, i) => {
      if (i) also.append(", ");
      const link = el("a", { href: `#`, class: "edition-link", "data-id": r.id, "data-lang": code, title: languageName(code) }, code);
      link.addEventListener("click", (event) => { event.preventDefault(); openReader(r.id, code, link); });
      also.append(link);
    });
    head.append(also);
  }
  const text = el("p", { class: "passage", dir: "auto", lang: r.language || null });
  text.innerHTML = safeHighlight(r.highlight || "");
  const links = el("div", { class: "result-links" });
  const read = el("button", { type: "button", class: "read-button", "data-id": r.id }, t("read"));
  read.addEventListener("click", () => openReader(r.id, null, read));
  links.append(read);
  const source = webUrl(r.url);
  if (source) links.append(el("a", { href: source, rel: "noopener" }, t("original")));
  if (r.section) links.append(el("span", { class: "section", dir: "auto" }, r.section));
  item.append(head, text, links);
  return item;
}

function renderResults(data, append) {
  const list = $("results");
  if (!append) list.replaceChildren();
  data.results.forEach((r) => list.append(resultItem(r)));
  const nearest = $("nearest");
  nearest.replaceChildren();
  (data.nearest || []).forEach((r) => nearest.append(resultItem(r)));
  $("nearest-heading").hidden = !(data.nearest || []).length;
  const noMatch = $("no-match");
  if (data.no_match) {
    noMatch.textContent = t("noMatch", { q: data.query });
    noMatch.hidden = false;
  } else if (!data.results.length && !append) {
    noMatch.textContent = t("noResults");
    noMatch.hidden = false;
  } else {
    noMatch.hidden = true;
  }
  ui.shown = list.children.length;
  ui.total = data.total || 0;
  $("more").hidden = ui.shown >= ui.total;
}

function renderFacets(data, state) {
  const box = $("facets");
  box.replaceChildren();
  for (const field of FACET_FIELDS) {
    const counts = Object.entries((data.facets || {})[field] || {});
    if (!counts.length || state.filters[field]) continue;
    const group = el("section", { class: "facet", "data-field": field });
    group.append(el("h3", {}, t(`field.${field}`)));
    const list = el("ul");
    for (const [value, n] of counts) {
      const button = el("button", { type: "button", class: "facet-value", "data-field": field, "data-value": value });
      button.append(el("bdi", {}, valueName(field, value)), ` (${fmt(n)})`);
      button.addEventListener("click", () => {
        const next = { ...state, filters: { ...state.filters, [field]: value } };
        if (field === "source") $("source").value = value;
        run(next, { push: true, focus: true });
      });
      const li = el("li");
      li.append(button);
      list.append(li);
    }
    group.append(list);
    box.append(group);
  }
  if (!box.children.length) box.append(el("p", { class: "muted" }, t("facetsEmpty")));
}

function renderActiveFilters(state) {
  const row = $("active-filters");
  row.replaceChildren();
  const chips = Object.entries(state.filters).map(([f, v]) => [f, `${t(`field.${f}`)}: ${valueName(f, v)}`]);
  if (state.yearFrom || state.yearTo) chips.push(["years", `${t("field.year")}: ${state.yearFrom || "…"}–${state.yearTo || "…"}`]);
  for (const [field, label] of chips) {
    const chip = el("button", { type: "button", class: "chip", "data-field": field,
      "aria-label": t("removeFilter", { name: label }) });
    chip.append(el("bdi", {}, label), el("span", { "aria-hidden": "true" }, " ×"));
    chip.addEventListener("click", () => {
      const next = { ...state, filters: { ...state.filters } };
      if (field === "years") {
        next.yearFrom = next.yearTo = "";
        $("year-from").value = $("year-to").value = "";
      } else {
        delete next.filters[field];
        if (field === "source") $("source").value = "";
      }
      run(next, { push: true, focus: true });
    });
    row.append(chip);
  }
}

function renderAnswer(data) {
  const box = $("answer");
  const text = $("answer-text");
  const refs = $("references");
  text.replaceChildren();
  refs.replaceChildren();
  if (!data.answer) {
    text.textContent = t("noAnswer");
  } else {
    // "sentence [1] sentence [2]": markers become links to the reference list
    data.answer.split(/(\[\d+\])/).forEach((part) => {
      const m = part.match(/^\[(\d+)\]$/);
      if (m) text.append(el("a", { href: `#ref-${m[1]}`, class: "marker" }, part));
      else if (part) text.append(document.createTextNode(part));
    });
  }
  data.references.forEach((ref) => {
    const li = el("li", { id: `ref-${ref.n}`, value: String(ref.n) });
    li.append(citationNode(ref.citation), languageBadge(ref.language));
    const read = el("button", { type: "button", class: "read-button", "data-id": ref.id }, t("read"));
    read.addEventListener("click", () => openReader(ref.id, null, read));
    li.append(read);
    refs.append(li);
  });
  box.hidden = false;
}

// ------------------------------------------------------------------ reading view
let readerReturn = null;

/** GET /passages/{id}/context: the passage with three paragraphs on either side (not aborted
 *  by a new search). */
function fetchContext(id) {
  return getJSON(`/passages/${encodeURIComponent(id)}/context?before=3&after=3`, { signal: undefined });
}

function passageBlock(p) {
  const block = el("p", { class: p.current ? "reader-passage current" : "reader-passage", dir: "auto",
    lang: p.language || null, "data-id": p.id });
  block.textContent = p.text || "";
  if (p.current) block.prepend(el("span", { class: "visually-hidden" }, `${t("current")}: `));
  return block;
}

/** Open the reading view of passage `id` (or, with `lang`, its edition in that language). */
async function openReader(id, lang, opener) {
  readerReturn = opener || null;
  try {
    const view = await fetchContext(id);
    if (lang && view.language !== lang) {
      const edition = view.translations.find((e) => e.language === lang);
      if (edition) return showReader(view, await fetchContext(edition.id));
    }
    showReader(view, null);
  } catch (err) {
    setStatus(errorMessage(err), true);
  }
}

function showReader(view, edition) {
  const reader = $("reader");
  $("reader-title").textContent = t("readerOf", { title: view.title || view.citation });
  $("reader-citation").textContent = view.citation;
  const links = $("reader-links");
  links.replaceChildren();
  const source = webUrl(view.url);
  if (source) links.append(el("a", { href: source, rel: "noopener", id: "reader-original" }, t("original")));
  if (view.has_original) {
    links.append(el("a", { href: `/passages/${encodeURIComponent(view.id)}/original`, id: "reader-file" }, t("originalFile")));
  }
  links.append(el("a", { href: `/documents/${encodeURIComponent(view.id)}`, id: "reader-json" }, t("passageJson")));
  const editions = $("reader-editions");
  editions.replaceChildren();
  if (view.translations.length) {
    editions.append(el("span", {}, `${t("editions")}: `));
    for (const e of view.translations) {
      const link = el("a", { href: "#", class: "edition-link", "data-id": e.id, "data-lang": e.language, lang: e.language,
        hreflang: e.language }, languageName(e.language));
      link.addEventListener("click", async (event) => {
        event.preventDefault();
        try {
          showReader(view, await fetchContext(e.id));
        } catch (err) {
          setStatus(errorMessage(err), true);
        }
      });
      editions.append(link, " ");
    }
  }
  $("reader-text").replaceChildren(...view.passages.map(passageBlock));
  const pane = $("reader-edition");
  if (edition) {
    pane.replaceChildren(el("h3", { dir: "auto" }, `${languageName(edition.language)} · ${edition.citation}`),
      ...edition.passages.map(passageBlock));
    pane.hidden = false;
  } else {
    pane.replaceChildren();
    pane.hidden = true;
  }
  reader.hidden = false;
  reader.scrollIntoView({ block: "start" });
  $("reader-title").focus();
}

function closeReader() {
  $("reader").hidden = true;
  if (readerReturn && document.contains(readerReturn)) readerReturn.focus();
  else $("results-heading").focus();
}

// ------------------------------------------------------------------ actions
/** Run the state's search (or question) and render results, facets and filters. */
async function run(state, { push = false, focus = false } = {}) {
  await catalogReady;  // a click before the messages arrived still shows translated text
  state.q = state.q.trim();
  if (!state.q) return;
  const seq = ++ui.seq;
  ui.controller?.abort();
  ui.controller = new AbortController();
  ui.state = state;
  writeState(state, push);
  renderActiveFilters(state);
  setStatus(state.mode === "ask" ? t("asking") : t("searching"));
  setBusy(true);
  $("ask-button").disabled = state.mode === "ask";
  const started = performance.now();
  const search = searchParams(state, 0);
  const facets = apiFilters(state);
  facets.set("q", state.q);
  try {
    const asking = state.mode === "ask"
      ? getJSON("/ask", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question: state.q, k: 5, lang: state.lang || null, ...state.filters }) })
      : Promise.resolve(null);
    const [results, counts, answer] = await Promise.all([
      getJSON(`/search?${search}`), getJSON(`/facets?${facets}`), asking]);
    if (seq !== ui.seq) return; // a newer request was made meanwhile
    renderResults(results, false);
    renderFacets(results.no_match ? {} : counts, state); // no refinements of passages that are not evidence
    if (answer) renderAnswer(answer); else $("answer").hidden = true;
    const ms = Math.round(performance.now() - started);
    setStatus(t("summary", { passages: tn("passages", results.total), documents: tn("documents", results.total_documents),
      q: state.q, lang: languageName(results.query_language), ms: fmt(ms) }));
    if (focus) $("results-heading").focus();
  } catch (err) {
    if (seq !== ui.seq || err.name === "AbortError") return;
    $("results").replaceChildren();
    $("more").hidden = true;
    $("answer").hidden = true;
    setStatus(errorMessage(err), true);
  } finally {
    if (seq === ui.seq) {
      setBusy(false);
      $("ask-button").disabled = false;
    }
  }
}

async function more() {
  const state = ui.state;
  if (!state) return;
  const seq = ui.seq;
  const search = searchParams(state, ui.shown);
  const button = $("more");
  button.disabled = true;
  setBusy(true);
  try {
    const before = ui.shown;
    const data = await getJSON(`/search?${search}`);
    if (seq !== ui.seq) return;
    renderResults(data, true);
    const first = $("results").children[before];
    first?.querySelector(".read-button")?.focus();
    setStatus(t("shown", { shown: fmt(ui.shown), total: fmt(ui.total) }));
  } catch (err) {
    setStatus(errorMessage(err), true);
  } finally {
    button.disabled = false;
    setBusy(false);
  }
}

/** POST /brief/docx for the form's topic and filters, and save the Word file it returns. */
async function downloadBrief() {
  const state = fromForm("search");
  if (!state.q.trim()) return;
  const button = $("brief-button");
  button.disabled = true;
  setStatus(t("preparingBrief"));
  try {
    const response = await fetch("/brief/docx", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: state.q.trim(), lang: state.lang || null, ...state.filters }),
    });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: "evidence-brief.docx" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setStatus(t("briefDone"));
  } catch (err) {
    setStatus(t("briefFailed", { error: errorMessage(err) }), true);
  } finally {
    button.disabled = false;
  }
}

function fromForm(mode) {
  const state = readState();
  state.q = $("q").value;
  state.lang = $("lang").value;
  state.mode = mode;
  state.sort = $("sort").value;
  state.yearFrom = $("year-from").value;
  state.yearTo = $("year-to").value;
  const source = $("source").value;
  if (source) state.filters.source = source; else delete state.filters.source;
  return state;
}

function fillForm(state) {
  $("q").value = state.q;
  $("lang").value = state.lang;
  $("source").value = state.filters.source || "";
  $("sort").value = state.sort;
  $("year-from").value = state.yearFrom;
  $("year-to").value = state.yearTo;
}

// The interface messages load while the handlers are attached: a click or Ctrl+Enter right
// after the page loads is handled (run() waits for the messages), not lost.
let catalogReady = Promise.resolve();

document.addEventListener("DOMContentLoaded", async () => {
  fillLanguageOptions();
  catalogReady = loadCatalog(pickLanguage());
  // wide screens show the options and facets; small screens fold them under the results
  const wide = window.matchMedia("(min-width: 50rem)").matches;
  $("facets-panel").open = wide;
  $("options").open = wide || Boolean(readState().yearFrom || readState().yearTo || readState().sort === "date");
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Enter repeats the last action: after an Ask, it asks again
    run(fromForm(readState().mode), { push: true });
  });
  $("q").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if ($("search-form").reportValidity()) run(fromForm("ask"), { push: true });
    }
  });
  $("search-button").addEventListener("click", (event) => {
    event.preventDefault();
    if ($("search-form").reportValidity()) run(fromForm("search"), { push: true });
  });
  $("ask-button").addEventListener("click", () => {
    if ($("search-form").reportValidity()) run(fromForm("ask"), { push: true });
  });
  $("brief-button").addEventListener("click", () => {
    if ($("search-form").reportValidity()) downloadBrief();
  });
  for (const id of ["sort", "lang"]) {
    $(id).addEventListener("change", () => { if ($("q").value.trim()) run(fromForm(readState().mode), { push: true }); });
  }
  $("more").addEventListener("click", more);
  $("reader-close").addEventListener("click", closeReader);
  $("reader").addEventListener("keydown", (event) => { if (event.key === "Escape") closeReader(); });
  $("copy-citation").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("reader-citation").textContent);
    } catch {
      const range = document.createRange();
      range.selectNodeContents($("reader-citation"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
    }
    setStatus(t("copied"));
  });
  $("ui-lang").addEventListener("change", async () => {
    await loadCatalog($("ui-lang").value);
    const state = readState();
    writeState(state, true);
    if (state.q) run(state); else setStatus("");
  });
  window.addEventListener("popstate", async () => {
    const wanted = pickLanguage();
    if (wanted !== ui.lang) await loadCatalog(wanted);
    const state = readState();
    fillForm(state);
    $("reader").hidden = true;
    if (state.q) run(state);
    else {
      $("results").replaceChildren();
      setStatus("");
    }
  });
  await catalogReady;
  const state = readState();
  fillForm(state);
  if (state.q) run(state);
  else $("q").focus();
  document.body.dataset.ready = "true";  // handlers attached, messages loaded
});

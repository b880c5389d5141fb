// Knowledge Hub search page: calls GET /search, GET /facets and POST /ask of the khub API.
// The page state lives in the URL (?q=...&source=...&country=...&mode=ask), so a search can be
// bookmarked and shared. Text from the API is inserted with textContent; the one HTML field,
// `highlight`, is HTML-escaped by the API and only its <mark> tags are kept here.
"use strict";

const FACET_LABELS = {
  source: "Source", language: "Language", year: "Year", body: "ICCD body",
  country: "Country", land_use: "Land use",
};
const FILTER_FIELDS = ["source", "language", "year", "body", "session", "symbol", "country", "land_use"];
const LANGUAGE_NAMES = { ar: "العربية", zh: "中文", en: "English", fr: "Français", ru: "Русский", es: "Español" };
const SOURCE_NAMES = { iccd: "ICCD documents", wocat: "WOCAT practices", spi: "SPI publications",
  manual: "Reporting manual", convention: "Convention" };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

/** The page state from the URL: {q, lang, mode, filters: {field: value}}. */
function readState() {
  const p = new URLSearchParams(location.search);
  const filters = {};
  for (const f of FILTER_FIELDS) if (p.get(f)) filters[f] = p.get(f);
  return { q: p.get("q") || "", lang: p.get("lang") || "", mode: p.get("mode") === "ask" ? "ask" : "search", filters };
}

function writeState(state) {
  const p = new URLSearchParams();
  p.set("q", state.q);
  if (state.lang) p.set("lang", state.lang);
  if (state.mode === "ask") p.set("mode", "ask");
  for (const [f, v] of Object.entries(state.filters)) p.set(f, v);
  history.replaceState(null, "", `?${p}`);
}

function filterParams(filters) {
  const p = new URLSearchParams();
  for (const [f, v] of Object.entries(filters)) p.set(f, v);
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

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || data.detail || `HTTP ${response.status}`);
  return data;
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

/** Keep only <mark> tags of an API highlight (already HTML-escaped by the API). */
function safeHighlight(html) {
  return html.replace(/<(?!\/?mark>)[^>]*>/gi, "");
}

function languageBadge(code) {
  return el("span", { class: "badge", title: LANGUAGE_NAMES[code] || code || "" }, code || "?");
}

function renderResults(data) {
  const list = $("results");
  list.replaceChildren();
  data.results.forEach((r) => {
    const item = el("li", { class: "result", "data-id": r.id, "data-source": r.source || "" });
    const head = el("div", { class: "result-head" });
    head.append(el("span", { class: "citation" }, r.citation), languageBadge(r.language));
    if (r.also_in && r.also_in.length) head.append(el("span", { class: "also-in" }, `also in ${r.also_in.join(", ")}`));
    const text = el("p", { class: "passage", dir: "auto", lang: r.language || "" });
    text.innerHTML = safeHighlight(r.highlight || "");
    const links = el("div", { class: "result-links" });
    links.append(el("a", { href: `/documents/${encodeURIComponent(r.id)}` }, "passage JSON"));
    const source = webUrl(r.url);
    if (source) links.append(el("a", { href: source, rel: "noopener" }, "source page"));
    if (r.section) links.append(el("span", { class: "section", dir: "auto" }, r.section));
    item.append(head, text, links);
    list.append(item);
  });
}

function renderFacets(data, state) {
  const aside = $("facets");
  aside.replaceChildren();
  for (const [field, label] of Object.entries(FACET_LABELS)) {
    const counts = Object.entries((data.facets || {})[field] || {});
    if (!counts.length || state.filters[field]) continue;
    const group = el("section", { class: "facet", "data-field": field });
    group.append(el("h3", {}, label));
    const list = el("ul");
    for (const [value, n] of counts) {
      const name = field === "source" ? SOURCE_NAMES[value] || value : field === "language" ? LANGUAGE_NAMES[value] || value : value;
      const button = el("button", { type: "button", class: "facet-value", "data-field": field, "data-value": value },
        `${name} (${n})`);
      button.addEventListener("click", () => {
        state.filters[field] = value;
        if (field === "source") $("source").value = value;
        run(state);
      });
      const li = el("li");
      li.append(button);
      list.append(li);
    }
    group.append(list);
    aside.append(group);
  }
}

function renderActiveFilters(state) {
  const row = $("active-filters");
  row.replaceChildren();
  for (const [field, value] of Object.entries(state.filters)) {
    const chip = el("button", { type: "button", class: "chip", "data-field": field, title: "remove this filter" },
      `${FACET_LABELS[field] || field}: ${value} ×`);
    chip.addEventListener("click", () => {
      delete state.filters[field];
      if (field === "source") $("source").value = "";
      run(state);
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
    text.textContent = "No answer found in the indexed passages.";
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
    li.append(el("span", { class: "citation" }, ref.citation), languageBadge(ref.language));
    li.append(el("a", { href: `/documents/${encodeURIComponent(ref.id)}` }, "passage"));
    refs.append(li);
  });
  box.hidden = false;
}

/** Run the state's search (or question) and render results, facets and filters. */
async function run(state) {
  state.q = state.q.trim();
  if (!state.q) return;
  writeState(state);
  renderActiveFilters(state);
  setStatus("Searching…");
  const started = performance.now();
  const search = filterParams(state.filters);
  search.set("q", state.q);
  search.set("k", "10");
  if (state.lang) search.set("lang", state.lang);
  const facets = filterParams(state.filters);
  facets.set("q", state.q);
  try {
    const asking = state.mode === "ask"
      ? getJSON("/ask", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question: state.q, k: 5, ...state.filters }) })
      : Promise.resolve(null);
    const [results, counts, answer] = await Promise.all([
      getJSON(`/search?${search}`), getJSON(`/facets?${facets}`), asking]);
    renderResults(results);
    renderFacets(counts, state);
    if (answer) renderAnswer(answer); else $("answer").hidden = true;
    const ms = Math.round(performance.now() - started);
    const n = results.results.length;
    setStatus(`${n} result${n === 1 ? "" : "s"} for “${state.q}” (query language: ${results.query_language}) in ${ms} ms`);
  } catch (err) {
    $("results").replaceChildren();
    $("answer").hidden = true;
    setStatus(`Search failed: ${err.message}`, true);
  }
}

/** POST /brief/docx for the form's topic and filters, and save the Word file it returns. */
async function downloadBrief() {
  const state = fromForm("search");
  if (!state.q.trim()) return;
  setStatus("Preparing the evidence brief…");
  try {
    const response = await fetch("/brief/docx", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ topic: state.q.trim(), lang: state.lang || null, ...state.filters }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(data.message || `HTTP ${response.status}`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: "evidence-brief.docx" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    setStatus("Evidence brief downloaded (evidence-brief.docx).");
  } catch (err) {
    setStatus(`Brief failed: ${err.message}`, true);
  }
}

function fromForm(mode) {
  const state = readState();
  state.q = $("q").value;
  state.lang = $("lang").value;
  state.mode = mode;
  const source = $("source").value;
  if (source) state.filters.source = source; else delete state.filters.source;
  return state;
}

document.addEventListener("DOMContentLoaded", () => {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    run(fromForm("search"));
  });
  $("ask-button").addEventListener("click", () => {
    if (!$("search-form").reportValidity()) return;
    run(fromForm("ask"));
  });
  $("brief-button").addEventListener("click", () => {
    if ($("search-form").reportValidity()) downloadBrief();
  });
  const state = readState();
  $("q").value = state.q;
  $("lang").value = state.lang;
  $("source").value = state.filters.source || "";
  if (state.q) run(state);
  else $("q").focus();
});

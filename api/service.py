"""The search service shared by the HTTP API and the CLI: both return exactly these dicts."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from khub.api.answer import extractive_answer
from khub.api.brief import build_brief
from khub.api.citation import format_citation
from khub.api.relevance import has_evidence
from khub.errors import InvalidRequestError
from khub.identity import SOURCE_FIELD
from khub.index.collapse import collapse_translations
from khub.index.embedders import build_embedders, embed_batch
from khub.index.highlight import highlight
from khub.index.retrieval import MODES, Mode, build_retrieval
from khub.index.store import EmbeddingMismatchError, PassageStore, count_facets
from khub.index.stores import damage_message, open_store
from khub.settings import Settings
from khub.urls import http_url

RESULT_FIELDS = ("title", "symbol", "paragraph", "page", "page_label", "year", "language", "source", "path", "url", "section",
                 "translation_group", "also_in", "highlight", "kind", "lead_in", "retrieved_id", "retrieved_language",
                 "article", "annex", "section_number", "section_paragraph", "country", "document_type", "period", "ocr")


#: Seconds a ``/health`` snapshot of the store counts is reused.
HEALTH_TTL = 5.0

NO_EVIDENCE = "The indexed sources hold no evidence for this question."


def result_dict(doc: Document) -> dict[str, Any]:
    """A search hit as returned by ``GET /search``: id, text, score, ``citation``
    (:func:`khub.api.citation.format_citation`) and the metadata it is made of."""
    out = {"id": doc.id, "text": doc.content, "score": round(float(doc.score or 0.0), 6),
           "citation": format_citation(doc.meta, doc.content)}
    out.update({f: doc.meta.get(f) for f in RESULT_FIELDS})
    out["url"] = http_url(out["url"])  # stores ingested before the check may hold other schemes
    return out


class SearchService:
    """Opens the configured store and embedding model once; answers search and ask calls.

    Args:
        settings: the :class:`khub.settings.Settings` to use.
        store: an already-open store (tests, ingest then search in one process), else opened here.
    """

    def __init__(self, settings: Settings, store: PassageStore | None = None,
                 embedders: tuple[Any, Any] | None = None):
        self.settings = settings
        self.store = store if store is not None else open_store(settings)
        built_with = self.store.info().get("embedding_model")
        if built_with and built_with != settings.embedding_model:
            raise EmbeddingMismatchError(
                f"the store in {settings.data_dir} was built with {built_with!r} but KHUB_EMBEDDING_MODEL is "
                f"{settings.embedding_model!r}: run `khub ingest --reindex PATHS` to re-embed with the new model")
        self.text_embedder, self.document_embedder = embedders or build_embedders(settings)
        self._health: tuple[float, dict[str, Any]] | None = None
        #: The last damage a request ran into (:meth:`report_damage`), shown by :meth:`health`.
        self.damage: str | None = None
        #: One retrieval SuperComponent per mode (:func:`khub.index.retrieval.build_retrieval`).
        self.retrieval = {mode: build_retrieval(self.store, settings, mode) for mode in MODES}

    def warm_up(self) -> None:
        """Load what the first query would otherwise load while clients wait: the store's
        vectors and BM25 index, the Chinese segmenter's dictionary, the stemmers (one hybrid
        search per language). Run once when a server process starts."""
        for query in ("land degradation", "土地退化", "dégradation des terres", "деградация земель",
                      "degradación de la tierra", "تدهور الأراضي"):
            self.search(query, k=1)

    def run_retrieval(self, query: str, top_k: int = 10, filters: dict[str, Any] | None = None,
                      mode: Mode = "hybrid", query_embedding: list[float] | None = None) -> dict[str, Any]:
        """Run the retrieval pipeline of ``mode``; the query is embedded here unless
        ``query_embedding`` is given (bm25 mode never embeds it).

        Each leg contributes ``max(top_k, settings.candidates)`` passages before fusion.

        Returns:
            ``{"documents": [...], "query_language": "en", "query_embedding": [...] or None}``.

        Raises:
            InvalidRequestError: an unknown mode or filter field.
        """
        if mode not in self.retrieval:
            raise InvalidRequestError(f"mode: must be hybrid, bm25 or dense, not {mode!r}")
        if mode != "bm25" and query_embedding is None:
            query_embedding = self.text_embedder.run(text=query)["embedding"]
        inputs: dict[str, Any] = {"query": query, "filters": filters, "top_k": top_k,
                                  "candidates": max(top_k, self.settings.candidates)}
        if mode != "bm25":
            # as an array: Haystack deep-copies every component input, a list element by element
            # (with a Protocol isinstance check each: ~6 ms per copy of 512 floats), an array at once
            inputs["query_embedding"] = np.asarray(query_embedding, dtype=np.float32)
        else:
            query_embedding = None
        out = self.retrieval[mode].run(**inputs)
        return {**out, "query_embedding": query_embedding}

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for a batch of texts, ``(n, dim)`` (:func:`khub.index.embedders.embed_batch`)."""
        return embed_batch(self.text_embedder, self.document_embedder, texts)

    def search(self, query: str, k: int = 10, filters: dict[str, Any] | None = None, mode: Mode = "hybrid",
               lang: str | None = None, collapse: bool = True, offset: int = 0,
               sort: str = "relevance") -> dict[str, Any]:
        """``{"query", "query_language", "mode", "filters", "lang", "collapse", "no_match",
        "total", "total_documents", "offset", "sort", "results": [result_dict...],
        "nearest": [result_dict...]}``.

        The passages retrieved (``settings.candidates`` per leg, fused, translations
        collapsed) are the result list: ``total`` counts them and ``total_documents`` the
        documents they come from; ``results`` is the page ``[offset, offset + k)`` of that
        list, by relevance or, with ``sort="date"``, newest year first (relevance order within
        a year; passages without a year last).

        With ``collapse`` (default) translations of the same passage appear once, in ``lang``
        (else the query language) when the store holds that edition, with ``also_in`` listing
        the other languages (:func:`khub.index.collapse.collapse_translations`). When no
        retrieved passage clears the relevance floor (:mod:`khub.api.relevance`), ``results``
        is empty, ``no_match`` is true and the passages found anyway are under ``nearest``.

        Raises:
            InvalidRequestError: empty query, k outside 1..100, offset < 0, unknown sort,
                filter field or mode.
        """
        query = (query or "").strip()
        if not query:
            raise InvalidRequestError("q: the query is empty")
        if not 1 <= k <= 100:
            raise InvalidRequestError("k: must be between 1 and 100")
        if offset < 0:
            raise InvalidRequestError("offset: must be 0 or more")
        if sort not in ("relevance", "date"):
            raise InvalidRequestError(f"sort: must be relevance or date, not {sort!r}")
        filters = {f: v for f, v in (filters or {}).items() if v}
        out: dict = {}
        pool, language = self.retrieve(query, max(k, self.settings.candidates), filters, mode, lang, collapse, out,
                                       highlights=False)
        if sort == "date":
            pool = sorted(pool, key=lambda d: -int(d.meta["year"]) if str(d.meta.get("year") or "").isdigit() else 1)
        page = self._highlight(query, out, pool[offset:offset + k])
        hits = [result_dict(d) for d in page]
        no_match = not self.has_evidence(query, language, out["documents"])
        return {
            "query": query, "query_language": language, "mode": mode, "filters": filters, "lang": lang,
            "collapse": collapse, "no_match": no_match, "offset": offset, "sort": sort,
            "total": 0 if no_match else len(pool),
            "total_documents": 0 if no_match else len({d.meta.get("doc_id") or d.id for d in pool}),
            "results": [] if no_match else hits, "nearest": hits if no_match else [],
        }

    def has_evidence(self, query: str, language: str | None, documents: list[Document]) -> bool:
        """Whether ``query`` and its retrieved ``documents`` clear the relevance floor
        (:func:`khub.api.relevance.has_evidence` with the ``settings.no_match_*`` floors)."""
        s = self.settings
        return has_evidence(documents, self.store.known_share(query, language), s.no_match_cosine,
                            s.no_match_coverage, s.no_match_known)

    def retrieve(self, query: str, k: int, filters: dict, mode: Mode, lang: str | None, collapse: bool,
                  out: dict | None = None, highlights: bool = True) -> tuple[list[Document], str]:
        """The ``k`` best passages for ``query``, translations collapsed (each shown in ``lang``,
        else the query's language, when the store holds that edition and it passes ``filters``:
        :func:`khub.index.collapse.collapse_translations`), highlights set.

        Retrieves 3k candidates when collapsing (so k groups remain); ``highlights=False``
        leaves the highlights to the caller (a page of a longer list). ``out``, when given,
        receives the retriever's output (``query_embedding``, ``query_language``); a
        ``query_embedding`` already in ``out`` is reused instead of embedding the query again.

        Returns:
            (passages, query language).
        """
        n = min(3 * k, 100) if collapse else k
        result = self.run_retrieval(query, top_k=n, filters=filters, mode=mode,
                                    query_embedding=(out or {}).get("query_embedding"))
        if out is not None:
            out.update(result)
        docs = result["documents"]
        if collapse:
            preferred = lang or result["query_language"]
            groups = [d.meta["translation_group"] for d in docs if d.meta.get("translation_group")]
            group_languages = self.store.group_languages(groups)
            # the reader's edition of a group retrieved in another language, if it passes the filters too
            shown = {d.meta.get("translation_group") for d in docs if d.meta.get("language") == preferred}
            missing = [g for g in dict.fromkeys(groups)
                       if g not in shown and preferred in group_languages.get(g, set())]
            editions = {g: [d for d in found if d.meta.get("language") == preferred] for g, found in
                        (self.store.group_editions(missing, filters) if missing and preferred else {}).items()}
            docs = collapse_translations(docs, preferred, group_languages, editions)
        docs = docs[:k]
        return (self._highlight(query, result, docs) if highlights else docs), result["query_language"]

    def _highlight(self, query: str, result: dict, docs: list[Document]) -> list[Document]:
        """Set ``meta["highlight"]`` (:func:`khub.index.highlight.highlight`) on each passage."""
        terms = set(self.store.content_terms(query, result["query_language"]))
        embedding = result.get("query_embedding")
        best = self.store.best_sentences(embedding, [d.id for d in docs]) if embedding is not None else {}
        return [replace(d, meta={**d.meta, "highlight": highlight(
            d.content or "", d.meta.get("language"), terms, best.get(d.id, (None, 0))[0])}) for d in docs]

    def ask(self, question: str, k: int | None = None, filters: dict[str, Any] | None = None,
            lang: str | None = None) -> dict[str, Any]:
        """An extractive, cited answer (:func:`khub.api.answer.extractive_answer`) from passages
        shown in ``lang`` (default: the question's language) where the store holds that edition:
        ``{"question", "query_language", "no_match", "answer", "sentences", "references", "passages"}``.
        With no evidence above the relevance floor: ``no_match`` true, an empty answer and a ``message``."""
        question = (question or "").strip()
        if not question:
            raise InvalidRequestError("question: the question is empty")
        k = k or self.settings.answer_passages
        filters = {f: v for f, v in (filters or {}).items() if v}
        out: dict = {}
        passages, language = self.retrieve(question, k, filters, "hybrid", lang, True, out)
        if not self.has_evidence(question, language, out["documents"]):
            return {"question": question, "query_language": language, "no_match": True, "answer": "",
                    "message": NO_EVIDENCE, "sentences": [], "references": [], "passages": []}
        answer = extractive_answer(out["query_embedding"], passages, self.embed_texts, self.settings.answer_sentences)
        return {"question": question, "query_language": language, "no_match": False, **answer,
                "passages": [result_dict(d) for d in passages]}

    def brief(self, topic: str, filters: dict[str, Any] | None = None, lang: str | None = None) -> dict[str, Any]:
        """A rapid-response evidence brief on ``topic``: see :func:`khub.api.brief.build_brief`."""
        return build_brief(self, topic, filters, lang)

    FACETS = ("source", "language", "year", "country", "land_use", "body", "document_type")

    def facets(self, query: str | None = None, filters: dict[str, Any] | None = None, n: int = 100) -> dict[str, Any]:
        """Document counts per facet value: ``{"query", "documents", "facets": {field: {value: count}}}``.

        With a query, the counts are over the distinct documents of the top ``n`` hybrid hits
        (the same filters apply); without one, over every stored document that passes the
        filters. Facets: source, language, year, country (WOCAT), land_use (WOCAT), body (ICCD).
        """
        filters = {f: v for f, v in (filters or {}).items() if v}
        if query and query.strip():
            metas: dict[str, dict] = {}
            for d in self.run_retrieval(query.strip(), top_k=n, filters=filters)["documents"]:
                metas.setdefault(d.meta.get("doc_id") or d.id, d.meta)
            documents, counts = len(metas), count_facets(list(metas.values()), self.FACETS)
        else:  # the store counts (OpenSearch: one aggregation request, not every record)
            documents, counts = self.store.facet_counts(self.FACETS, filters)
        ordered = {f: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for f, c in counts.items()}
        return {"query": query, "filters": filters, "documents": documents, "facets": ordered}

    def context(self, passage_id: str, before: int = 2, after: int = 2) -> dict[str, Any] | None:
        """A passage with the passages around it in its document, for reading it in place:
        ``{"id", "doc_id", "citation", "language", "url", "path", "translations": [{"id",
        "language"}], "passages": [{"id", "text", "citation", "kind", "current"}]}`` in document
        order (passage ids are ``<doc_id>:<position>``). None for an unknown id.

        Raises:
            InvalidRequestError: before/after outside 0..10.
        """
        if not (0 <= before <= 10 and 0 <= after <= 10):
            raise InvalidRequestError("before/after: must be between 0 and 10")
        found = self.store.get_documents([passage_id], with_embedding=False)
        if not found:
            return None
        doc = found[0]
        doc_id, position = doc.meta.get("doc_id"), doc.meta.get("position")
        ids = ([f"{doc_id}:{p}" for p in range(max(0, position - before), position + after + 1)]
               if doc_id is not None and isinstance(position, int) else [passage_id])
        around = sorted(self.store.get_documents(ids, with_embedding=False), key=lambda d: d.meta.get("position") or 0)
        editions = self._editions(doc)
        return {
            "id": passage_id, "doc_id": doc_id, "citation": format_citation(doc.meta, doc.content),
            "language": doc.meta.get("language"), "url": http_url(doc.meta.get("url")), "path": doc.meta.get("path"),
            "title": doc.meta.get("title"), "has_original": self._original_of(doc.meta) is not None,
            "translations": [{"id": e.id, "language": e.meta.get("language")} for e in editions if e.id != passage_id],
            "passages": [{"id": d.id, "text": d.content, "citation": format_citation(d.meta, d.content),
                          "kind": d.meta.get("kind"), "language": d.meta.get("language"),
                          "current": d.id == passage_id} for d in around],
        }

    def original_file(self, passage_id: str) -> Path | None:
        """The file a passage was ingested from, when it is still where the store recorded it;
        else None. Only the absolute path recorded by the ingest (its document record's
        :data:`khub.identity.SOURCE_FIELD`) is served, never one taken from the request or
        resolved against the server's working directory, and only while it still resolves to
        itself (a file replaced by a symbolic link to elsewhere is not served)."""
        found = self.store.get_documents([passage_id], with_embedding=False)
        return self._original_of(found[0].meta) if found else None

    def _original_of(self, meta: dict[str, Any]) -> Path | None:
        """:meth:`original_file` of a passage already read (its ``meta``)."""
        record = self.store.document_record(meta.get("doc_id") or "")
        return _original_path(record) if record else None

    def document(self, passage_id: str) -> dict[str, Any] | None:
        """A stored passage with all its metadata, or None."""
        docs = self.store.get_documents([passage_id])
        if not docs:
            return None
        d = docs[0]
        meta = {**d.meta, "url": http_url(d.meta["url"])} if "url" in d.meta else d.meta
        return {"id": d.id, "text": d.content, "meta": meta}

    def translations(self, passage_id: str) -> dict[str, Any] | None:
        """Every edition the store holds of a passage's translation group, ``{"id",
        "translation_group", "editions": [{"id", "language", "text", "citation"}]}`` in
        language order; a passage without a group has only itself. None for an unknown id."""
        docs = self.store.get_documents([passage_id], with_embedding=False)
        if not docs:
            return None
        return {"id": passage_id, "translation_group": docs[0].meta.get("translation_group"), "editions": [
            {"id": d.id, "language": d.meta.get("language"), "text": d.content,
             "citation": format_citation(d.meta, d.content)} for d in self._editions(docs[0])]}

    def _editions(self, doc: Document) -> list[Document]:
        """Every stored edition of ``doc``'s translation group (itself alone without a group),
        in language order."""
        group = doc.meta.get("translation_group")
        members = self.store.group_editions([group]).get(group, []) if group else [doc]
        return sorted(members, key=lambda d: (d.meta.get("language") or "", d.meta.get("position") or 0))

    def stats(self) -> dict[str, Any]:
        """What ``GET /stats`` returns: see :func:`store_stats`, without the server's filesystem
        layout (the data dir; ``khub stats`` prints it)."""
        info = store_stats(self.store)
        info.pop("data_dir", None)
        for record in info["documents_list"]:  # the server's own filesystem layout stays private
            record["meta"] = {k: v for k, v in record["meta"].items() if k != SOURCE_FIELD}
        return info

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` returns: ``{"status": "ok" | "degraded", "passages", "documents",
        "embedding_model", "problems"}``. ``degraded`` when the store's check finds its parts
        disagreeing (:meth:`PassageStore.check`) or a request met a damaged store
        (:meth:`report_damage`). Read at most every :data:`HEALTH_TTL` seconds, so a probe costs
        microseconds under any load and never waits for retrieval."""
        now = time.monotonic()
        if self._health is None or now - self._health[0] > HEALTH_TTL:
            try:
                info = self.store.info()
                problems = self.store.check()
            except Exception as err:  # noqa: BLE001 - a store that cannot even count is degraded, not down
                info, problems = {"passages": 0, "documents": 0, "embedding_model": None}, [damage_message(self.settings, err)]
            problems += [self.damage] if self.damage and self.damage not in problems else []
            self._health = (now, {"status": "degraded" if problems else "ok", "passages": info["passages"],
                                  "documents": info["documents"], "embedding_model": info["embedding_model"],
                                  "problems": problems})
        return self._health[1]

    def report_damage(self, err: Exception) -> str:
        """Record that a request met a damaged store (a ``sqlite3.DatabaseError``); returns the
        message for the client, which names the file and the command that checks it."""
        self.damage = damage_message(self.settings, err)
        self._health = None
        return self.damage


def _original_path(record: dict[str, Any]) -> Path | None:
    """The file of a document record (its absolute :data:`khub.identity.SOURCE_FIELD`) when it
    is still a regular file at that resolved path, else None."""
    src = (record.get("meta") or {}).get(SOURCE_FIELD)
    if not src or not Path(src).is_absolute():
        return None
    path = Path(src)
    return path if path.resolve().as_posix() == src and path.is_file() else None


def store_stats(store: Any) -> dict[str, Any]:
    """Store facts (:meth:`info`) plus ``documents_list``: the record of every ingested
    document (doc_id, path, content_hash, n_passages, ingested_at, meta). Shared by
    ``GET /stats`` and ``khub stats --json``, which needs no embedding model."""
    info = store.info()
    info["documents_list"] = store.list_documents()
    return info

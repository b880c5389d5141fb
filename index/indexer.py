"""Indexing: ingest files into a store, incrementally and without losing good input.

For each file: unchanged content hash -> nothing is written; otherwise the file is
converted, cleaned and chunked (:mod:`khub.ingest.pipeline`), its passages embedded and
stored as one unit (:meth:`EmbeddedDocumentStore.replace_document`). A file that
fails is reported with its reason and the run goes on. After the files, the language
editions of the documents written are aligned into translation groups
(:func:`khub.index.align.align_stored_editions`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from haystack import Document

from khub.errors import KhubError
from khub.identity import SOURCE_FIELD, is_under, source_key
from khub.index.align import align_stored_editions
from khub.index.embedders import build_embedders, embed_batch
from khub.index.lock import ingest_lock
from khub.index.store import DocumentWrite, EmbeddingMismatchError
from khub.ingest.convert import ConversionError
from khub.ingest.ocr import tesseract_languages
from khub.ingest.pdf import PdfOptions
from khub.ingest.pipeline import (
    MISSING,
    content_hash,
    discover,
    document_id,
    legacy_document_id,
    load_document,
    path_key,
    to_passages,
)
from khub.ingest.tokens import token_counter
from khub.processes import end_with_parent
from khub.settings import Settings
from khub.text.sentences import sentence_spans, strip_label

REPORT_NAME = "ingest-report.json"
#: Folder of the data dir holding one report per run.
REPORTS_DIR = "reports"
logger = logging.getLogger(__name__)


@dataclass
class FileResult:
    """Outcome of one input file: ``status`` is indexed | replaced | unchanged | failed | skipped | pruned."""

    path: str
    status: str
    passages: int = 0
    pages: int = 0
    reason: str | None = None
    seconds: float = 0.0
    language: str | None = None
    source: str | None = None
    #: Pages read by OCR.
    ocr_pages: int = 0
    #: What the reader of the report should know about the file (pages that need OCR, ...).
    notes: list[str] = field(default_factory=list)


class PruneRefusedError(KhubError):
    """``--prune`` would delete documents whose file may still exist, or an unusual share of
    a root's documents: nothing is pruned (and nothing ingested). The message says why and
    what to run instead (``--dry-run`` to list, ``--yes`` to confirm)."""


#: ``--prune`` asks for ``--yes`` before it removes more than this share of a root's documents.
PRUNE_CONFIRM_SHARE = 0.5


def plan_prune(roots: list[Path], store: Any, yes: bool = False) -> list[dict[str, Any]]:
    """The document records ``--prune`` removes: those below one of ``roots`` (by their
    resolved absolute path, :data:`khub.identity.SOURCE_FIELD`) whose file no longer exists.

    Only the roots of this run are considered, whatever the working directory; a record
    whose absolute path is not known (written by an older khub and not provable on open:
    :func:`khub.identity.recover_source`) is never removed.

    Raises:
        PruneRefusedError: a root does not exist (a missing mount would otherwise look like
            every file deleted), or, without ``yes``, more than :data:`PRUNE_CONFIRM_SHARE` of
            the documents under a root would go.
    """
    gone = [r for r in roots if not r.exists()]
    if gone:
        raise PruneRefusedError(f"--prune: {gone[0]} does not exist (an unmounted or mistyped folder?); "
                                "nothing was pruned or ingested")
    keys = [source_key(r) for r in roots]
    under = dict.fromkeys(keys, 0)
    remove: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for record in store.list_documents():
        src = (record.get("meta") or {}).get(SOURCE_FIELD)
        if not src:
            continue
        for key in keys:
            if is_under(src, key):
                under[key] += 1
                if not Path(src).exists():
                    remove[key].append(record)
                break
    for key, records in remove.items():
        if not yes and records and len(records) > PRUNE_CONFIRM_SHARE * under[key]:
            raise PruneRefusedError(
                f"--prune would remove {len(records)} of the {under[key]} documents under {key}, whose files are "
                "gone; nothing was pruned or ingested. List them with --prune --dry-run; remove them with "
                "--prune --yes")
    return list({r["doc_id"]: r for records in remove.values() for r in records}.values())


def ingest_paths(
    paths: list[Path],
    settings: Settings,
    store: Any,
    document_embedder: Any,
    reindex: bool = False,
    text_embedder: Any = None,
    prune: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    wait: bool = False,
    lock: bool = True,
    keep_old: bool = False,
    prune_yes: bool = False,
) -> list[FileResult]:
    """Ingest files and folders into ``store``.

    Args:
        paths: files or folders (folders are walked recursively).
        settings: chunk size and ignore patterns come from here.
        store: an :class:`khub.index.embedded_store.EmbeddedDocumentStore` (or compatible).
        document_embedder: a warmed-up Haystack document embedder.
        text_embedder: the matching text embedder; when given, each passage's sentences are
            embedded too (for the dense leg's sentence-level re-scoring).
        prune: remove stored documents under the given folders whose file no longer exists
            (reported as ``pruned``; :func:`plan_prune`).
        prune_yes: let ``prune`` remove more than half of the documents under a root.
        reindex: re-embed and rewrite even unchanged files. When the store was built with
            another embedding model, it is emptied first and rebuilt from ``paths``.
        on_start: called once with the number of files found.
        on_file: called after each file with its :class:`FileResult` (progress bars).
        wait: when another ingest holds the data dir's lock (:mod:`khub.index.lock`), wait
            for it instead of failing.
        lock: take the data dir's ingest lock here; False when the caller already holds it
            (``khub ingest`` takes it before it opens the store).
        keep_old: with ``reindex`` on a store that rebuilds behind an alias (OpenSearch), keep
            the previous index version after the swap.

    Returns:
        One result per file found or skipped (a named path that does not exist is ``failed``);
        also written as JSON to ``<data_dir>/reports/ingest-<time>-<pid>.json`` and, as the
        latest run, ``<data_dir>/ingest-report.json``.

    Raises:
        EmbeddingMismatchError: the store holds another model's vectors and ``reindex`` is off.
        IngestLockedError: another process is ingesting into the same data dir (and not ``wait``).
        PruneRefusedError: ``prune`` refused (:func:`plan_prune`); nothing was written.
    """
    args = (paths, settings, store, document_embedder, reindex, text_embedder, prune, on_start, on_file, keep_old,
            prune_yes)
    if not lock:
        return _ingest_locked(*args)
    with ingest_lock(Path(settings.data_dir), wait=wait):
        return _ingest_locked(*args)


def _ingest_locked(paths: list[Path], settings: Settings, store: Any, document_embedder: Any, reindex: bool,
                   text_embedder: Any, prune: bool, on_start: Callable[[int], None] | None,
                   on_file: Callable[[FileResult], None] | None, keep_old: bool = False,
                   prune_yes: bool = False) -> list[FileResult]:
    """:func:`ingest_paths` once the data dir's ingest lock is held. A store with
    ``begin_reindex`` (OpenSearch) rebuilds a new index version for ``reindex`` and swaps it in
    at the end; the old version keeps serving searches meanwhile, and stays live when a file
    failed for another reason than its conversion (a store error: the new version would miss it)."""
    stored_model = store.info().get("embedding_model")
    mismatch = bool(stored_model and stored_model != settings.embedding_model)
    if mismatch and not reindex:
        raise EmbeddingMismatchError(
            f"the store in {settings.data_dir} was built with {stored_model!r}, not {settings.embedding_model!r}: "
            "run `khub ingest --reindex PATHS` to re-embed everything with the new model "
            "(or point KHUB_DATA_DIR at another folder)")
    if not (reindex and hasattr(store, "begin_reindex")):
        plan = plan_prune(paths, store, prune_yes) if prune else None  # refuses before anything is written
        if mismatch:
            store.reset()
        results = _ingest_files(paths, settings, store, document_embedder, reindex, text_embedder, plan,
                                on_start, on_file)
        store.prepare_search()
        write_report(Path(settings.data_dir), results)
        return results
    version = store.begin_reindex()
    try:
        results = _ingest_files(paths, settings, store, document_embedder, reindex, text_embedder, None,
                                on_start, on_file)
    except BaseException:
        store.abort_reindex()
        raise
    broken = [r for r in results if r.status == "failed" and r.reason and r.reason.startswith("StoreWriteError")]
    if broken:
        store.abort_reindex()
        logger.error("reindex abandoned, the previous index stays live: %d files could not be written (%s)",
                     len(broken), broken[0].reason)
    else:
        store.finish_reindex(keep_old=keep_old)
        logger.info("reindex: index version %d is live", version)
    write_report(Path(settings.data_dir), results)
    return results


def _ingest_files(paths: list[Path], settings: Settings, store: Any, document_embedder: Any, reindex: bool,
                  text_embedder: Any, prune: list[dict[str, Any]] | None, on_start: Callable[[int], None] | None,
                  on_file: Callable[[FileResult], None] | None) -> list[FileResult]:
    """Discover, check, prepare and write the files of ``paths``; prune the records of
    :func:`plan_prune` (``prune``) and align editions."""
    files, skipped = discover(paths, settings.ingest_ignore)
    named = {str(p) for p in paths}
    results = [FileResult(path=str(p), status="failed" if str(p) in named and reason == MISSING else "skipped",
                          reason=reason) for p, reason in skipped]
    if on_start:
        on_start(len(files))
    count = token_counter(settings.embedding_model)
    todo: list[Path] = []
    for path in files:  # what needs no work is settled here, in file order
        started = time.perf_counter()
        try:
            done = _check(path, settings, store, reindex)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the run
            done = _failure(path, err)
        if done is None:
            todo.append(path)
        else:
            _record(done, started, results, on_file)
    workers = ingest_workers(settings, len(todo))
    writer = _Writer(store, results, on_file)
    with store.bulk_load():  # the embedded store's BM25 index is committed once, at the end
        if workers > 1:
            _ingest_parallel(todo, settings, writer, workers)
        else:
            for path in todo:
                started = time.perf_counter()
                try:
                    prepared = prepare_file(path, settings, document_embedder, count, text_embedder)
                except Exception as err:  # noqa: BLE001 - one bad file must not stop the run
                    _record(_failure(path, err), started, results, on_file)
                    continue
                writer.add(path, prepared, started)
        writer.flush()
    order = {path_key(p): i for i, p in enumerate(files)}  # the report lists files in file order
    results.sort(key=lambda r: order.get(r.path, -1))
    if prune:
        results += _prune(prune, store)
    if settings.align_editions:
        written = [r.path for r in results if r.status in ("indexed", "replaced")]
        for family, n in align_stored_editions(store, written).items():
            logger.info("aligned the editions of %s: %d passages changed translation group", family, n)
    return results


def sentence_units(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` character spans of the sentences (and clauses) of a passage whose
    vectors ingest stores, paragraph labels such as "29." left out; the whole text when it has
    none. Their order is ``split_sentences(text, clauses=True)``'s, which search relies on."""
    units = []
    for s, e in sentence_spans(text, clauses=True):
        stripped = strip_label(text[s:e])
        units.append((e - len(stripped), e) if stripped else (s, e))
    return units or [(0, len(text))]


def embed_passages(passages: list[Document], settings: Settings, embedder: Any, text_embedder: Any = None
                   ) -> tuple[list[Document], dict[str, np.ndarray] | None]:
    """Passages with their embeddings and, when ``text_embedder`` is given, their sentence
    vectors: by late chunking (one forward pass per passage, ``settings.sentence_vectors ==
    "late"``, when the embedder supports it) or each sentence embedded on its own."""
    if text_embedder is not None and settings.sentence_vectors == "late" and hasattr(embedder, "run_with_sentences"):
        out = embedder.run_with_sentences(passages, [sentence_units(p.content or "") for p in passages])
        if out is not None:
            return out
    passages = embedder.run(documents=passages)["documents"]
    vectors = sentence_vectors(passages, text_embedder, embedder) if text_embedder else None
    return passages, vectors


def sentence_vectors(passages: list[Document], text_embedder: Any, document_embedder: Any) -> dict[str, np.ndarray]:
    """``passage id -> (n_sentences, dim)`` unit vectors of each passage's sentences
    (:func:`sentence_units`), each sentence embedded on its own, in one batch."""
    sentences: list[str] = []
    owners: list[str] = []
    for p in passages:
        text = p.content or ""
        for s, e in sentence_units(text):
            sentences.append(text[s:e])
            owners.append(p.id)
    vectors = embed_batch(text_embedder, document_embedder, sentences)
    out: dict[str, list] = {}
    for pid, vec in zip(owners, vectors):
        out.setdefault(pid, []).append(vec)
    return {pid: np.vstack(v) for pid, v in out.items()}


@dataclass
class Prepared:
    """A file converted, chunked and embedded, ready to write (what a worker process returns)."""

    doc: Any
    passages: list[Document]
    sentence_vectors: dict[str, np.ndarray] | None


def _pdf_options(settings: Settings, ocr_workers: int | None = None) -> PdfOptions:
    return PdfOptions(settings.pdf_extractor, settings.ocr, settings.ocr_dpi,
                      settings.ocr_workers if ocr_workers is None else ocr_workers)


def prepare_file(path: Path, settings: Settings, embedder: Any, count: Any, text_embedder: Any = None,
                 ocr_workers: int | None = None) -> Prepared:
    """Convert, clean, chunk and embed one file (no store access: this runs in worker processes).

    Raises:
        ConversionError: the file cannot be converted.
    """
    doc = load_document(path, _pdf_options(settings, ocr_workers))
    passages = to_passages(doc, count, settings.chunk_max_tokens)
    if not passages:
        return Prepared(doc, [], None)
    passages, vectors = embed_passages(passages, settings, embedder, text_embedder)
    return Prepared(doc, passages, vectors)


def _check(path: Path, settings: Settings, store: Any, reindex: bool) -> FileResult | None:
    """The result of a file that needs no work (unchanged, too large), else None. Removes a
    copy stored under the id an older khub gave the file."""
    key = path_key(path)
    doc_id = document_id(path)
    record = store.document_record(doc_id)
    legacy = legacy_document_id(path)
    if legacy != doc_id and store.document_record(legacy):
        store.delete_document(legacy)  # stored by an older khub under a working-directory-relative id
    size_mb = path.stat().st_size / 1e6
    if size_mb > settings.max_file_mb:
        return FileResult(key, "failed", reason=f"file too large ({size_mb:.1f} MB > {settings.max_file_mb:g} MB; "
                                                "raise KHUB_MAX_FILE_MB to ingest it)")
    if record and record["content_hash"] == content_hash(path) and not reindex:
        if _can_complete(record, settings):
            return None  # read with a capability missing then (OCR), which is there now
        return FileResult(key, "unchanged", passages=record["n_passages"],
                          language=record["meta"].get("language"), source=record["meta"].get("source"))
    return None


def _can_complete(record: dict[str, Any], settings: Settings) -> bool:
    """Whether a stored document left pages out for a capability this ingest has: a PDF read
    while Tesseract was missing (or OCR off) is read again once OCR works."""
    partial = (record.get("meta") or {}).get("partial") or []
    return "ocr" in partial and settings.ocr != "off" and bool(tesseract_languages())


def _write(path: Path, prepared: Prepared, store: Any) -> FileResult:
    """Store a prepared file as one unit (replacing its previous passages)."""
    doc, passages = prepared.doc, prepared.passages
    if not passages:
        return FileResult(path_key(path), "failed", reason="no passages after chunking (empty text)", notes=doc.notes)
    existed = store.document_record(doc.doc_id) is not None
    unit = _unit(prepared)
    store.replace_document(unit.doc_id, unit.path, unit.content_hash, unit.meta, unit.passages,
                           sentence_vectors=unit.sentence_vectors)
    return _written(path, prepared, existed)


def _unit(prepared: Prepared) -> DocumentWrite:
    doc = prepared.doc
    meta = {**doc.meta, "pages": len(doc.pages) if doc.paged else None, SOURCE_FIELD: doc.source or None}
    if doc.missing:
        meta["partial"] = list(doc.missing)
    return DocumentWrite(doc.doc_id, doc.path, doc.content_hash, meta, prepared.passages, prepared.sentence_vectors)


def _written(path: Path, prepared: Prepared, existed: bool) -> FileResult:
    doc = prepared.doc
    return FileResult(path_key(path), "replaced" if existed else "indexed", passages=len(prepared.passages),
                      pages=len(doc.pages) if doc.paged else 0, language=doc.meta["language"], source=doc.meta["source"],
                      ocr_pages=len(doc.ocr_pages), notes=doc.notes)


def _batch_size(prepared: Prepared) -> int:
    """Bytes a prepared file adds to a bulk request, roughly: text, a 512-float vector as JSON
    (~10 bytes a float) and float16 sentence vectors in base64."""
    sentences = sum(len(v) for v in (prepared.sentence_vectors or {}).values())
    return sum(len(p.content or "") * 2 + 10 * len(p.embedding or ()) for p in prepared.passages) + sentences * 1400


class _Writer:
    """Writes prepared files to the store and records their results. A store with
    ``replace_documents`` and ``batch_bytes`` (OpenSearch) gets them in batches of about
    ``batch_bytes``, so that small files share bulk requests, a refresh and a records request;
    other stores (the embedded store: one SQLite transaction per file) get each file at once."""

    def __init__(self, store: Any, results: list[FileResult], on_file: Callable[[FileResult], None] | None):
        self.store, self.results, self.on_file = store, results, on_file
        self.limit = int(getattr(store, "batch_bytes", 0)) if hasattr(store, "replace_documents") else 0
        self.pending: list[tuple[Path, Prepared, float]] = []
        self.size = 0

    def add(self, path: Path, prepared: Prepared, started: float) -> None:
        """Write ``prepared`` now, or queue it for the next batch."""
        if not self.limit or not prepared.passages:
            try:
                result = _write(path, prepared, self.store)
            except Exception as err:  # noqa: BLE001 - one bad file must not stop the run
                result = _failure(path, err)
            _record(result, started, self.results, self.on_file)
            return
        self.pending.append((path, prepared, started))
        self.size += _batch_size(prepared)
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        """Write the queued files in one ``replace_documents`` call; each file gets its own result."""
        batch, self.pending, self.size = self.pending, [], 0
        if not batch:
            return
        units = [_unit(prepared) for _, prepared, _ in batch]
        try:
            outcomes = self.store.replace_documents(units)
        except Exception as err:  # noqa: BLE001 - the batch fails, the run goes on
            for path, _, started in batch:
                _record(_failure(path, err), started, self.results, self.on_file)
            return
        for (path, prepared, started), unit in zip(batch, units):
            existed, error = outcomes[unit.doc_id]
            result = (FileResult(path_key(path), "failed", reason=f"StoreWriteError: {error}", notes=prepared.doc.notes)
                      if error else _written(path, prepared, existed))
            _record(result, started, self.results, self.on_file)


def _failure(path: Path, err: Exception) -> FileResult:
    if isinstance(err, ConversionError):
        return FileResult(path_key(path), "failed", reason=err.reason)
    return FileResult(path_key(path), "failed", reason=f"{type(err).__name__}: {err}")


# --- worker processes (KHUB_INGEST_WORKERS) ---------------------------------------------------
#: The state of an ingest worker process (set once by :func:`_worker_start`; empty elsewhere).
_WORKER: dict[str, Any] = {}


def _worker_start(settings_json: str, ocr_workers: int, parent_pid: int | None = None) -> None:
    """Initialise one ingest worker process: its settings, embedders (one BLAS thread) and
    token counter, kept for the process's life. It ends when the ingest dies, even by kill -9
    (:func:`khub.processes.end_with_parent`)."""
    end_with_parent(parent_pid)
    settings = Settings.model_validate_json(settings_json)
    text, docs = build_embedders(settings)
    _WORKER.update(settings=settings, text=text, docs=docs, count=token_counter(settings.embedding_model),
                   ocr_workers=ocr_workers)


def _worker_prepare(path: Path) -> Prepared | str:
    """:func:`prepare_file` in a worker: the prepared file, or the reason it failed (a string: an
    exception with its own constructor, such as ConversionError, does not survive unpickling)."""
    try:
        return prepare_file(path, _WORKER["settings"], _WORKER["docs"], _WORKER["count"], _WORKER["text"],
                            _WORKER["ocr_workers"])
    except ConversionError as err:
        return err.reason
    except Exception as err:  # noqa: BLE001 - returned, reported for this file only
        return f"{type(err).__name__}: {err}"


#: Fewer files than this to (re)process are ingested in the calling process.
POOL_MIN_FILES = 4


def ingest_workers(settings: Settings, n_files: int) -> int:
    """Worker processes for ``n_files`` files to (re)process: ``KHUB_INGEST_WORKERS`` (0: one per
    core), and none (the calling process does the work) for fewer than :data:`POOL_MIN_FILES` files,
    where starting workers (about 3 s each: they load the embedding model) costs more than it saves."""
    workers = settings.ingest_workers or os.cpu_count() or 1
    return workers if workers > 1 and n_files >= POOL_MIN_FILES else 1


def _ingest_parallel(todo: list[Path], settings: Settings, writer: "_Writer", workers: int) -> None:
    """Prepare ``todo`` in ``workers`` spawned processes (each with one BLAS thread; OCR may use
    every core) and write each file here, in the order they finish."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    cores = os.cpu_count() or 1
    worker_settings = settings.model_copy(update={"blas_threads": max(1, cores // workers)})
    # OCR pages run as tesseract processes: each worker may use every core (the other workers
    # are mostly done with their text PDFs by the time a scan is read)
    ocr_workers = settings.ocr_workers or cores
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_start,
                             initargs=(worker_settings.model_dump_json(), ocr_workers, os.getpid())) as pool:
        crashed = _collect(pool, todo, writer)
    for path in crashed:  # a worker died (PDFium crashed on a file?): each again, alone in its own worker
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_start,
                                 initargs=(worker_settings.model_dump_json(), ocr_workers, os.getpid())) as pool:
            for again in _collect(pool, [path], writer):
                _record(FileResult(path_key(again), "failed", reason="the worker process crashed on this file"),
                        time.perf_counter(), writer.results, writer.on_file)


def _collect(pool: Any, paths: list[Path], writer: "_Writer") -> list[Path]:
    """Submit ``paths`` to ``pool``, hand each prepared file to ``writer`` as it finishes; returns
    the files whose worker process died (BrokenProcessPool) without a result."""
    from concurrent.futures import as_completed
    from concurrent.futures.process import BrokenProcessPool

    crashed: list[Path] = []
    started = {pool.submit(_worker_prepare, path): (path, time.perf_counter()) for path in paths}
    for future in as_completed(started):
        path, t0 = started[future]
        try:
            prepared = future.result()
        except BrokenProcessPool:
            crashed.append(path)
            continue
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the run
            _record(_failure(path, err), t0, writer.results, writer.on_file)
            continue
        if isinstance(prepared, str):
            _record(FileResult(path_key(path), "failed", reason=prepared), t0, writer.results, writer.on_file)
        else:
            writer.add(path, prepared, t0)
    return crashed


def _record(result: FileResult, started: float, results: list[FileResult],
            on_file: Callable[[FileResult], None] | None) -> None:
    """Time a file's result from ``started`` (perf_counter), add it to ``results``, tell ``on_file``."""
    result.seconds = round(time.perf_counter() - started, 3)
    results.append(result)
    if on_file:
        on_file(result)


def _prune(records: list[dict[str, Any]], store: Any) -> list[FileResult]:
    """Delete the documents of :func:`plan_prune` whose file is still gone now."""
    out = []
    for record in records:
        if Path(record["meta"][SOURCE_FIELD]).exists():
            continue  # back while this run ingested
        store.delete_document(record["doc_id"])
        out.append(FileResult(record["path"], "pruned", passages=record["n_passages"],
                              reason="source file no longer exists"))
    return out


def write_report(data_dir: Path, results: list[FileResult]) -> Path:
    """Write the run's ingest report (JSON: totals per status and one entry per file) to
    ``<data_dir>/reports/ingest-<UTC time>-<pid>.json`` and, as the latest run, to
    ``<data_dir>/ingest-report.json``; returns the run's file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    totals: dict[str, int] = {}
    for r in results:
        totals[r.status] = totals.get(r.status, 0) + 1
    now = time.gmtime()
    report = {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", now), "pid": os.getpid(), "totals": totals,
              "files": [asdict(r) for r in results]}
    text = json.dumps(report, ensure_ascii=False, indent=2)
    runs = data_dir / REPORTS_DIR
    runs.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    out = runs / f"ingest-{stamp}-{os.getpid()}.json"
    out.write_text(text, encoding="utf-8")
    latest = data_dir / REPORT_NAME
    tmp = latest.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(latest)
    return out

"""The ``khub`` command line: ingest, search, ask, serve, eval, stats.

Settings come from ``KHUB_*`` environment variables (see ``khub.settings``);
``--json`` prints exactly what the HTTP API returns.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from khub.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Knowledge Hub Search: multilingual evidence search over UNCCD documents.\n\n"
    "Data dir: $KHUB_DATA_DIR (default ./data). Model: $KHUB_EMBEDDING_MODEL.",
)
T = TypeVar("T")
console = Console(stderr=True)
out = Console()

LanguageOpt = typer.Option(None, "--language", "-l", help="only passages in this language (ar, zh, en, fr, ru, es)")
SourceOpt = typer.Option(None, "--source", help="only this source: iccd, manual, convention, wocat, spi, national_report")
SymbolOpt = typer.Option(None, "--symbol", help="only this ICCD symbol, e.g. ICCD/COP(14)/CST/5")
FilterOpt = typer.Option([], "--filter", "-f", help="FIELD=VALUE on any filter field (body, session, year, "
                         "country, land_use, ...), e.g. -f country=Afghanistan; repeatable")


def _filters(language: str | None, source: str | None, symbol: str | None, extra: list[str]) -> dict:
    """The filters of a search/ask command line; ``extra`` items are ``FIELD=VALUE``."""
    from khub.index.store import FILTER_FIELDS

    filters: dict = {"language": language, "source": source, "symbol": symbol}
    for item in extra:
        field, sep, value = item.partition("=")
        if not sep or field not in FILTER_FIELDS:
            raise typer.BadParameter(f"{item!r}: expected FIELD=VALUE with FIELD one of {', '.join(FILTER_FIELDS)}",
                                     param_hint="--filter")
        filters[field] = value
    return filters


def _settings() -> Settings:
    return Settings()


def _service(settings: Settings):
    from khub.api.service import SearchService

    with console.status("loading store and embedding model…"):
        return SearchService(settings, store=_open_store(settings))


def _open_store(settings: Settings, check_model: bool = True):
    """The configured store, or exit 2 with one clear line (no traceback) when it cannot be
    opened: missing OpenSearch URL or extra, unreachable cluster, or (``check_model``) a store
    built with another embedding model."""
    from khub.index.store import EmbeddingMismatchError
    from khub.index.stores import open_store

    try:
        store = open_store(settings)
        built_with = store.info().get("embedding_model")
    except sqlite3.DatabaseError as err:
        console.print(f"[red]{escape(_damaged(settings, err))}[/red]")
        raise typer.Exit(2) from err
    except (ValueError, ImportError, ConnectionError) as err:
        console.print(f"[red]cannot open the {settings.store} store: {escape(str(err))}[/red]")
        raise typer.Exit(2) from err
    if check_model and built_with and built_with != settings.embedding_model:
        mismatch = EmbeddingMismatchError(
            f"the store was built with {built_with!r} but KHUB_EMBEDDING_MODEL is {settings.embedding_model!r}: "
            "run `khub ingest --reindex PATHS` to re-embed with the new model")
        console.print(f"[red]{escape(str(mismatch))}[/red]")
        raise typer.Exit(2) from mismatch
    return store


def _damaged(settings: Settings, err: Exception) -> str:
    """One line for a damaged store (:func:`khub.index.stores.damage_message`)."""
    from khub.index.stores import damage_message

    return damage_message(settings, err)


def _print_json(data) -> None:
    out.print_json(json.dumps(data, ensure_ascii=False))


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="files or folders (.txt, .md, .pdf, QCAT .json), "
                                       "or the word 'wocat' to harvest the QCAT API"),
    reindex: bool = typer.Option(False, "--reindex", help="re-embed and rewrite unchanged files too (OpenSearch: "
                                 "into a new index version, swapped in when done, while the old one serves)"),
    keep_old: bool = typer.Option(False, "--keep-old", help="OpenSearch --reindex: keep the previous index version"),
    prune: bool = typer.Option(False, "--prune", help="remove stored documents under PATHS whose file has "
                               "disappeared (refused when a path is missing)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="with --prune: list what would be removed; change nothing"),
    yes: bool = typer.Option(False, "--yes", help="with --prune: allow removing more than half of the documents "
                             "under a path"),
    api_url: Optional[str] = typer.Option(None, "--api-url", help="QCAT API v2 root (default $KHUB_QCAT_API_URL)"),
    token: Optional[str] = typer.Option(None, "--token", help="QCAT API token (default $KHUB_QCAT_TOKEN)"),
    since: Optional[str] = typer.Option(None, "--since", help="QCAT: only records updated on/after this ISO date"),
    as_json: bool = typer.Option(False, "--json", help="print the ingest report as JSON"),
    wait: bool = typer.Option(False, "--wait", help="if another ingest is writing to the data dir, wait for it "
                              "instead of exiting"),
) -> None:
    """Ingest files into the store: convert, clean, detect language, chunk, embed, write.

    Unchanged files (same content hash) are skipped; a file that fails is reported
    with its reason and the others are still ingested. `khub ingest wocat --token T`
    first harvests the QCAT API into <data dir>/wocat/ and then ingests those records.
    One ingest at a time writes to a data dir (a second one exits, or waits with --wait).

    Exit status: 0 every file ingested or unchanged; 1 some files failed (the others are
    stored); 2 nothing ingested (every file failed, no file found, a path that does not
    exist, the data dir busy) or a bad argument.
    """
    if [str(p) for p in paths] == ["wocat"] and not Path("wocat").exists():
        paths = [_harvest_wocat(_settings(), api_url, token, since, quiet=as_json)]
    from khub.index.embedders import build_embedders
    from khub.index.indexer import REPORT_NAME, PruneRefusedError, ingest_paths, plan_prune
    from khub.index.lock import IngestLockedError, ingest_lock
    from khub.index.store import EmbeddingMismatchError

    settings = _settings()
    where = settings.opensearch_url if settings.store == "opensearch" else settings.data_dir
    with ExitStack() as held:
        try:  # the lock first: opening the store may rebuild its BM25 index, which is writing
            held.enter_context(ingest_lock(Path(settings.data_dir), wait=wait))
        except IngestLockedError as err:
            console.print(f"[red]{escape(str(err))}[/red]")
            raise typer.Exit(2) from err
        if dry_run:
            if not prune:
                console.print("[red]--dry-run needs --prune (it lists what --prune would remove)[/red]")
                raise typer.Exit(2)
            store = _open_store(settings, check_model=False)
            try:
                doomed = plan_prune(paths, store, yes=True)
            except PruneRefusedError as err:
                console.print(f"[red]{escape(str(err))}[/red]")
                raise typer.Exit(2) from err
            if as_json:
                _print_json({"would_prune": [{"path": d["path"], "passages": d["n_passages"]} for d in doomed]})
            else:
                for d in doomed:
                    out.print(f"would prune {escape(d['path'])} ({d['n_passages']} passages)")
                console.print(f"--dry-run: {len(doomed)} document(s) would be pruned; nothing was changed")
            raise typer.Exit(0)
        with console.status(f"opening store at {where} and model {settings.embedding_model}…"):
            store = _open_store(settings, check_model=False)  # ingest handles a model change (--reindex)
            text_embedder, doc_embedder = build_embedders(settings)
        started = time.perf_counter()
        with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=console, disable=as_json) as progress:
            task = progress.add_task("", total=None)

            def on_start(n: int) -> None:
                progress.update(task, total=n)

            def on_file(result) -> None:
                progress.update(task, advance=1, description=Path(result.path).name[:50])
                if result.status == "failed":
                    progress.console.print(f"[red]failed[/red] {result.path}: {result.reason}")
                for note in result.notes:
                    progress.console.print(f"[yellow]note[/yellow] {escape(result.path)}: {escape(note)}")

            try:
                results = ingest_paths(paths, settings, store, doc_embedder, reindex=reindex, prune=prune,
                                       on_start=on_start, on_file=on_file, text_embedder=text_embedder, lock=False,
                                       keep_old=keep_old, prune_yes=yes)
            except (EmbeddingMismatchError, PruneRefusedError) as err:
                progress.stop()
                console.print(f"[red]{escape(str(err))}[/red]")
                raise typer.Exit(2) from err
    totals: dict[str, int] = {}
    for r in results:
        totals[r.status] = totals.get(r.status, 0) + 1
    stored = sum(totals.get(s, 0) for s in ("indexed", "replaced", "unchanged"))
    code = 2 if not stored else 1 if totals.get("failed") else 0
    elapsed = time.perf_counter() - started
    if as_json:
        _print_json(json.loads((Path(settings.data_dir) / REPORT_NAME).read_text()))
        raise typer.Exit(code)
    table = Table(title=f"ingest summary ({elapsed:.1f} s)")
    for col in ("status", "files", "passages"):
        table.add_column(col)
    for status in ("indexed", "replaced", "unchanged", "pruned", "failed", "skipped"):
        if status in totals:
            table.add_row(status, str(totals[status]), str(sum(r.passages for r in results if r.status == status)))
    console.print(table)
    pages = sum(r.pages for r in results if r.status in ("indexed", "replaced"))
    if pages:
        ocr = sum(r.ocr_pages for r in results)
        console.print(f"{pages} pages in {elapsed:.1f} s ({pages / elapsed:.1f} pages/s)"
                      + (f", {ocr} of them read by OCR" if ocr else ""))
    info = store.info()
    console.print(f"store: {info['passages']} passages from {info['documents']} documents in {settings.data_dir}")
    for r in results:
        if r.status == "skipped":
            console.print(f"[dim]skipped {escape(r.path)}: {escape(r.reason or '')}[/dim]")
    if totals.get("failed"):
        console.print(f"[yellow]{totals['failed']} file(s) failed; see {Path(settings.data_dir) / REPORT_NAME}[/yellow]")
    if not stored:
        console.print("[red]nothing was ingested[/red]")
    raise typer.Exit(code)


def _harvest_wocat(settings: Settings, api_url: str | None, token: str | None, since: str | None,
                   quiet: bool) -> Path:
    from khub.ingest.qcat import QCATAuthError, QCATClient, QCATError, harvest

    out_dir = Path(settings.data_dir) / "wocat"
    client = QCATClient(api_url or settings.qcat_api_url, token or settings.qcat_token)
    try:
        with console.status("harvesting QCAT…") as status:
            saved, failed = harvest(client, out_dir, since=since,
                                    on_record=lambda code, err: status.update(f"harvesting QCAT… {code}"))
    except QCATAuthError as err:
        console.print(f"[red]{escape(str(err))}[/red]")
        raise typer.Exit(2) from err
    except QCATError as err:
        console.print(f"[red]{escape(str(err))}[/red]")
        raise typer.Exit(1) from err
    finally:
        client.close()
    if not quiet:
        console.print(f"QCAT: {len(saved)} records saved in {out_dir}, {len(failed)} failed")
    for code, reason in failed:
        console.print(f"[red]failed[/red] {code}: {escape(reason)}")
    return out_dir


def _print_results(data: dict) -> None:
    table = Table(title=f"{data['query']!r} ({data['query_language']}, {data['mode']})", show_lines=True)
    for col in ("#", "score", "citation", "text"):
        table.add_column(col, overflow="fold")
    if data.get("no_match"):
        out.print("[yellow]no match: no passage is evidence for this query (nearest passages below)[/yellow]")
    for i, r in enumerate(data["results"] or data.get("nearest", []), start=1):
        cite = " ".join(x for x in (r["citation"], f"[{r['language']}]",
                                    f"also in {','.join(r['also_in'])}" if r.get("also_in") else "") if x)
        text = r["text"] if len(r["text"]) < 400 else r["text"][:400] + "…"
        table.add_row(str(i), f"{r['score']:.4f}", escape(cite + f"\n{r['path']}"), escape(text))
    out.print(table)


@app.command()
def search(
    query: str = typer.Argument(..., help="query text, in any of the six UN languages"),
    k: int = typer.Option(10, "--k", "-k", min=1, max=100, help="number of results"),
    language: Optional[str] = LanguageOpt,
    source: Optional[str] = SourceOpt,
    symbol: Optional[str] = SymbolOpt,
    filter_: list[str] = FilterOpt,
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | bm25 | dense"),
    lang: Optional[str] = typer.Option(None, "--lang", help="preferred language of collapsed translations"),
    collapse: bool = typer.Option(True, "--collapse/--no-collapse", help="show each passage once across translations"),
    as_json: bool = typer.Option(False, "--json", help="print what GET /search returns"),
) -> None:
    """Hybrid search (BM25 + multilingual embeddings, reciprocal rank fusion)."""
    filters = _filters(language, source, symbol, filter_)
    service = _service(_settings())
    data = service.search(query, k=k, filters=filters, mode=mode, lang=lang, collapse=collapse)
    _print_json(data) if as_json else _print_results(data)


def _load_or_exit(load: Callable[[Path], T], path: Path) -> T:
    """``load(path)``, or the loader's ValueError (naming the file and line) printed and exit 2."""
    try:
        return load(path)
    except ValueError as err:
        console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from err


def _evaluate_answers(path: Path, as_json: bool, save: Path | None) -> None:
    """``khub eval --answers``: :func:`khub.evaluation.evaluate_answers` over the service."""
    from khub.evaluation import evaluate_answers, load_answer_questions

    questions = _load_or_exit(load_answer_questions, path)
    service = _service(_settings())

    def text(pid: str) -> str | None:
        doc = service.document(pid)
        return doc["text"] if doc else None

    def languages(pid: str) -> set[str]:
        found = service.translations(pid)
        return {e["language"] for e in found["editions"]} if found else set()

    result = evaluate_answers(questions, lambda q: service.ask(q), text, languages)
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps({"qrels": str(path), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "settings": service.settings.model_dump(mode="json"), **result},
                                   indent=1, ensure_ascii=False), encoding="utf-8")
    if as_json:
        _print_json(result)
        return
    for key in ("questions", "statements", "gold_in_answer", "junk_share", "reader_language", "verbatim"):
        out.print(f"{key:>16}: {result[key]}")


@app.command()
def ask(
    question: str = typer.Argument(..., help="a question, in any of the six UN languages"),
    k: Optional[int] = typer.Option(None, "--k", "-k", min=1, max=20, help="passages to draw the answer from (default: KHUB_ANSWER_PASSAGES, 10)"),
    language: Optional[str] = LanguageOpt,
    source: Optional[str] = SourceOpt,
    symbol: Optional[str] = SymbolOpt,
    filter_: list[str] = FilterOpt,
    lang: Optional[str] = typer.Option(None, "--lang", help="quote passages in this language where the store "
                                       "holds that edition (default: the question's)"),
    as_json: bool = typer.Option(False, "--json", help="print what POST /ask returns"),
) -> None:
    """Answer with sentences copied from the best passages, each with its reference number."""
    filters = _filters(language, source, symbol, filter_)
    service = _service(_settings())
    data = service.ask(question, k=k, filters=filters, lang=lang)
    if as_json:
        _print_json(data)
        return
    out.print(f"[bold]Q:[/bold] {escape(question)}\n")
    out.print(escape(data["answer"]) if data["answer"] else f"[yellow]{escape(data.get('message') or 'no answer found')}[/yellow]")
    out.print("\n[bold]References[/bold]")
    for ref in data["references"]:
        out.print(escape(f"[{ref['n']}] {ref['citation']} [{ref['language']}]  {ref.get('path') or ''}"))


@app.command()
def brief(
    topic: str = typer.Argument(..., help="the brief's topic or question, in any of the six UN languages"),
    lang: Optional[str] = typer.Option(None, "--lang", help="preferred language of translated passages"),
    language: Optional[str] = LanguageOpt,
    source: Optional[str] = SourceOpt,
    symbol: Optional[str] = SymbolOpt,
    filter_: list[str] = FilterOpt,
    fmt: str = typer.Option("markdown", "--format", help="markdown | json | docx"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write to this file (required for docx)"),
) -> None:
    """Rapid-response evidence brief: key findings and evidence by source, every statement a
    verbatim sentence with its reference number (what POST /brief and /brief/docx return)."""
    from khub.api.brief import to_docx

    if fmt not in ("markdown", "json", "docx"):
        console.print(f"[red]--format must be markdown, json or docx, not {fmt!r}[/red]")
        raise typer.Exit(2)
    if fmt == "docx" and output is None:
        console.print("[red]--format docx needs --output FILE.docx[/red]")
        raise typer.Exit(2)
    service = _service(_settings())
    with console.status("assembling the brief…"):
        data = service.brief(topic, filters=_filters(language, source, symbol, filter_), lang=lang)
    if fmt == "docx" and output is not None:
        output.write_bytes(to_docx(data))
    elif output is not None:
        output.write_text(json.dumps(data, ensure_ascii=False, indent=1) if fmt == "json" else data["markdown"],
                          encoding="utf-8")
    elif fmt == "json":
        _print_json(data)
    else:
        print(data["markdown"])
    if output is not None:
        n = len(data["key_findings"]) + sum(len(s["statements"]) for s in data["sections"])
        console.print(f"wrote {output}: {n} statements, {len(data['references'])} references")


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="bind address (default $KHUB_API_HOST or 127.0.0.1)"),
    port: Optional[int] = typer.Option(None, help="port (default $KHUB_API_PORT or 8000)"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, max=64,
                                          help="worker processes (default $KHUB_API_WORKERS, else one per CPU "
                                               "core); each loads the store and the model"),
    example: bool = typer.Option(True, "--example/--no-example", help="print an example query before serving"),
) -> None:
    """Serve the search page (/) and the HTTP API (OpenAPI docs at /docs).

    Several worker processes serve the port, each with its own socket (khub.server): a Python
    process runs Python code on one core at a time, so one worker per core is what lets requests
    run in parallel. Each worker bounds its requests in progress (KHUB_MAX_INFLIGHT, then 503)
    and its request bodies (KHUB_MAX_BODY_BYTES, then 413)."""
    from khub.index.lock import ServeLockedError, serve_lock
    from khub.server import PortInUseError, check_port_free

    settings = _settings()
    host = host or settings.api_host
    port = port or settings.api_port
    workers = workers or settings.api_workers or os.cpu_count() or 1
    with ExitStack() as held:
        try:  # one server per data dir, and none on a port that is served already
            if settings.store == "embedded":
                held.enter_context(serve_lock(Path(settings.data_dir), f"http://{host}:{port}"))
            check_port_free(host, port)
        except (ServeLockedError, PortInUseError) as err:
            console.print(f"[red]{escape(str(err.args[-1] if isinstance(err, OSError) else err))}[/red]")
            raise typer.Exit(2) from err
        _serve(settings, host, port, workers, example)


def _serve(settings: Settings, host: str, port: int, workers: int, example: bool) -> None:
    """The body of ``khub serve`` once its data dir and port are its own."""
    import uvicorn

    from khub.server import guarded_protocol, run_workers
    from khub.ui.site import create_site

    q = "What did Action Track 3 of the Food Systems Summit aim for"
    if example:
        console.print(f"[bold]example:[/bold] curl 'http://{host}:{port}/search?q={q.replace(' ', '+')}&k=5'")
    if workers == 1:
        service = _service(settings)
        if example:
            _print_results(service.search(q, k=3))
    else:
        _open_store(settings)  # fail here, once, with one clear line, rather than in every worker
        # cores / N BLAS threads per worker: N workers each running one per core would fight over
        # the cores (set KHUB_BLAS_THREADS or OPENBLAS_NUM_THREADS yourself to override)
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for var in ("KHUB_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, threads)
    console.print(f"[bold]search page:[/bold] http://{host}:{port}/   [bold]API docs:[/bold] http://{host}:{port}/docs"
                  f"   ({workers} worker{'s' if workers > 1 else ''})")
    if workers == 1:
        uvicorn.run(create_site(settings, service=service), host=host, port=port, log_level="info",
                    http=guarded_protocol(settings.header_timeout_s))
    else:
        run_workers("khub.ui.site:create_site", host=host, port=port, workers=workers,
                    header_timeout=settings.header_timeout_s)


@app.command(name="eval")
def evaluate_cmd(
    qrels: Path = typer.Argument(..., exists=True, dir_okay=False, help="qrels JSONL file"),
    k: int = typer.Option(10, "--k", "-k", min=1, max=100, help="cut-off for recall@k and MRR@k"),
    mode: str = typer.Option("hybrid", "--mode", help="hybrid | bm25 | dense"),
    compare: bool = typer.Option(False, "--compare", help="evaluate bm25, dense and hybrid side by side"),
    answers: bool = typer.Option(False, "--answers", help="QRELS is an answer dev set (bench/qrels/answers.jsonl): "
                                 "measure gold span in the answer, junk statements, reader's language, verbatim"),
    as_json: bool = typer.Option(False, "--json", help="print metrics as JSON"),
    save: Optional[Path] = typer.Option(None, "--save", help="also write the run (metrics, per-query scores, "
                                        "model and settings) as JSON to this file, e.g. bench/results/x.json"),
) -> None:
    """Evaluate retrieval on a qrels file: recall@k, MRR@k, nDCG@10, overall and per query language;
    with --answers, evaluate the extractive answers of POST /ask on an answer dev set."""
    from khub.evaluation import evaluate, load_qrels

    if answers:
        _evaluate_answers(qrels, as_json, save)
        return

    queries = _load_or_exit(load_qrels, qrels)
    service = _service(_settings())
    modes = ["bm25", "dense", "hybrid"] if compare else [mode]
    results = {}
    for m in modes:
        def run(query: str, n: int, filters: dict, m=m) -> list[str]:
            return [r["text"] for r in service.search(query, k=n, filters=filters, mode=m)["results"]]

        results[m] = evaluate(queries, run, k=k)
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps({
            "qrels": str(qrels), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "embedding_model": service.settings.embedding_model,
            "settings": service.settings.model_dump(mode="json"), "store": service.store.info(), "modes": results,
        }, ensure_ascii=False, indent=1))
        console.print(f"saved {save}")
    if as_json:
        _print_json({"qrels": str(qrels), "embedding_model": service.settings.embedding_model,
                     "modes": {m: {key: v for key, v in r.items() if key != "per_query"} for m, r in results.items()}})
        return
    table = Table(title=f"{qrels} ({len(queries)} queries)")
    for col in ("mode", "language", "n", f"recall@{k}", f"MRR@{k}", "nDCG@10"):
        table.add_column(col)
    for m, r in results.items():
        rows = [("all", r["overall"])] + list(r["by_language"].items())
        for lang, row in rows:
            table.add_row(m, lang, str(row["queries"]), f"{row[f'recall@{k}']:.3f}", f"{row[f'mrr@{k}']:.3f}", f"{row['ndcg@10']:.3f}")
    out.print(table)


@app.command()
def stats(as_json: bool = typer.Option(False, "--json", help="print what GET /stats returns"),
          check: bool = typer.Option(False, "--check", help="check the store instead: SQLite's quick_check (reads "
                                     "every page), and the BM25 index and retrieval arrays against SQLite; "
                                     "exit 1 when something is wrong")) -> None:
    """What the store holds: passages, documents, model, and one line per document."""
    from khub.api.service import store_stats

    settings = _settings()
    store = _open_store(settings, check_model=False)
    if check:
        with console.status("checking the store (SQLite quick_check reads every page)…"):
            store.prepare_search()  # map (or derive) the retrieval arrays, so they are checked too
            problems = store.check(full=True)
        if as_json:
            _print_json({"ok": not problems, "problems": problems})
        else:
            for line in problems:
                console.print(f"[red]damaged[/red] {escape(line)}")
            console.print("store checked: no problem found" if not problems else f"{len(problems)} problem(s) found")
        raise typer.Exit(1 if problems else 0)
    info = store_stats(store)
    docs = info["documents_list"]
    if as_json:
        _print_json(info)
        return
    out.print(f"{info['passages']} passages, {info['documents']} documents, model {info['embedding_model']} "
              f"({info['embedding_dim']}-dim), {info.get('url') or f'data dir {settings.data_dir}'}")
    table = Table()
    for col in ("path", "source", "language", "symbol", "body", "session", "year", "country", "passages"):
        table.add_column(col, overflow="fold")
    for r in docs:
        m = r["meta"]
        table.add_row(*(escape(str(v)) if v not in (None, "") else "" for v in (
            r["path"], m.get("source"), m.get("language"), m.get("symbol"), m.get("body"), m.get("session"),
            m.get("year"), m.get("country"), r["n_passages"])))
    out.print(table)


def main() -> None:
    """The ``khub`` program: :data:`app`, with the errors a user can cause shown as one line
    and exit status 2 instead of a traceback (an invalid query or mode, a damaged store)."""
    from khub.errors import KhubError

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        app(standalone_mode=True)
    except KhubError as err:
        console.print(f"[red]{escape(str(err))}[/red]")
        sys.exit(2)
    except sqlite3.DatabaseError as err:
        console.print(f"[red]{escape(_damaged(_settings(), err))}[/red]")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()

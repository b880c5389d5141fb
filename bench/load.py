"""Load test: N concurrent clients against a local ``khub serve``, printed as numbers.

    .venv/bin/python bench/load.py [--clients 16] [--seconds 60] [--workers N] [--compare]
                                   [--url http://127.0.0.1:8000] [--save bench/results/load.json]

Without ``--url`` it starts ``khub serve`` itself on a free loopback port (the store of
``$KHUB_DATA_DIR``; ingest ``corpora/`` first), waits for ``/health``, runs the load and
stops the server. ``--workers`` is passed to ``khub serve``. Traffic goes only to 127.0.0.1
(any other host is refused) and is bounded by ``--seconds`` and ``--max-requests``.

Each client loops, without think time, over a realistic mix drawn with a fixed seed:

* 70 % ``GET /search``: the dev-set queries of ``bench/qrels`` (six languages, questions,
  keyword queries, cross-lingual), with ``lang`` set on a third of them;
* 12 % ``POST /ask``: the questions of ``bench/qrels/answers.jsonl``;
* 3 % ``POST /brief``: rapid-response topics in English, French and Chinese;
* 15 % ``GET /health``, as a load balancer's probe would.

Printed: requests/s in total; per endpoint the count, errors (status >= 500 or a
transport error; 503 "busy" counted apart), p50/p95/p99 latency in ms; the server's RSS
(its process tree, from /proc) before and after. ``--compare`` first runs one client for
the same time, then ``--clients``, and prints the throughput ratio.

Overload profiles (``--profile``; issue 23):

* ``polite``: a client that gets 503 waits the ``Retry-After`` it was given, then sends the
  same request again; a request's latency runs from its first attempt to its answer.
* ``storm``: the same, but the client retries 50 ms after a 503 whatever ``Retry-After``
  says, as impatient clients and naive retry loops do.
* ``slow-body``: ``--idle-bodies`` sockets (200) each send the headers of a ``POST /ask``
  with ``Content-Length: 100000`` and then nothing, while the clients run the polite mix;
  it reports how many of those sockets the server closed.

``goodput`` is answered requests (2xx) per second. ``--compare-overload`` runs, on one server,
polite and storm with ``--clients``, then polite and slow-body with ``--slow-body-clients``
(the usual load, beside the idle bodies and without them), and prints storm goodput as a
share of polite and the two ``/search`` p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
QRELS = ROOT / "bench" / "qrels"
BRIEF_TOPICS = ["drought resilience", "gender and land", "restauration des terres et neutralité",
                "土地退化零增长与可持续土地管理", "partnerships", "sustainable land management best practices"]
MIX = (("search", 0.70), ("ask", 0.12), ("brief", 0.03), ("health", 0.15))


def _read(name: str, key: str) -> list[str]:
    path = QRELS / name
    return [json.loads(line)[key] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def workload(seed: int = 13) -> list[tuple[str, str, dict]]:
    """A shuffled list of ``(endpoint, method, params-or-body)`` requests (see the module docstring)."""
    rng = random.Random(seed)
    queries = _read("monolingual.jsonl", "query") + _read("iccd_questions.jsonl", "query") + \
        _read("crosslingual.jsonl", "query")
    questions = _read("answers.jsonl", "question")
    langs = ["en", "fr", "es", "ru", "ar", "zh"]
    out = []
    for _ in range(5000):
        endpoint = rng.choices([e for e, _ in MIX], [w for _, w in MIX])[0]
        if endpoint == "search":
            params = {"q": rng.choice(queries)[:300], "k": 10}
            if rng.random() < 1 / 3:
                params["lang"] = rng.choice(langs)
            out.append(("/search", "GET", params))
        elif endpoint == "ask":
            out.append(("/ask", "POST", {"question": rng.choice(questions)}))
        elif endpoint == "brief":
            out.append(("/brief", "POST", {"topic": rng.choice(BRIEF_TOPICS)}))
        else:
            out.append(("/health", "GET", {}))
    return out


def tree_rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its descendants in MB (Linux /proc), None if unknown."""
    def children(p: int) -> list[int]:
        try:
            found = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in found]

    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            if p == pid:
                return None
        stack += children(p)
    return round(total / 1024, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int | None) -> tuple[subprocess.Popen, str]:
    """``khub serve`` on a free loopback port; returns once ``/health`` answers (120 s at most)."""
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "khub"), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--no-example"]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"khub serve exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("khub serve did not answer /health within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


#: How long an impatient client (``--profile storm``) waits after a 503 before it retries.
STORM_RETRY_S = 0.05


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


async def idle_bodies(url: str, n: int, until: float) -> dict:
    """Keep ``n`` sockets open until ``until`` (monotonic) that send ``POST /ask`` headers
    announcing a 100,000-byte body and then nothing; a socket the server closes is opened
    again at once, as an attacker would. Returns sockets opened and closed by the server."""
    parsed = urlparse(url)
    head = (f"POST /ask HTTP/1.1\r\nHost: {parsed.hostname}\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n").encode()
    closed = opened = 0

    async def one() -> None:
        nonlocal closed, opened
        while time.monotonic() < until - 0.1:
            try:
                reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            opened += 1
            writer.write(head)
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(), timeout=max(0.1, until - time.monotonic()))
                closed += 1  # EOF (after a 408) from the server before the end
            except (asyncio.TimeoutError, OSError):
                pass
            writer.close()

    await asyncio.gather(*(one() for _ in range(n)))
    return {"idle_bodies": n, "opened": opened, "closed_by_server": closed}


async def run_load(url: str, clients: int, seconds: float, max_requests: int, profile: str = "plain",
                   idle: int = 0) -> dict:
    """Run ``clients`` concurrent loops for ``seconds``; latency samples per endpoint.

    ``profile``: ``plain`` (a 503 is an answer), ``polite`` (retry after ``Retry-After``),
    ``storm`` (retry after :data:`STORM_RETRY_S`), ``slow-body`` (polite, with ``idle``
    sockets holding unsent bodies: :func:`idle_bodies`)."""
    work = workload()
    samples: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sent = attempts = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(i: int, http: httpx.AsyncClient) -> None:
        nonlocal sent, attempts
        j = i * 997
        while time.monotonic() < deadline and sent < max_requests:
            path, method, payload = work[j % len(work)]
            j += 1
            sent += 1
            start = time.perf_counter()
            while True:
                attempts += 1
                try:
                    if method == "GET":
                        r = await http.get(path, params=payload)
                    else:
                        r = await http.post(path, json=payload)
                    status = str(r.status_code)
                except httpx.HTTPError as exc:
                    status, r = type(exc).__name__, None
                if status != "503" or profile == "plain" or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(STORM_RETRY_S if profile == "storm" else _retry_after(r))
            samples[path].append((time.perf_counter() - start) * 1000)
            statuses[path][status] += 1

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        start = time.perf_counter()
        extra = [idle_bodies(url, idle, deadline)] if idle else []
        done = await asyncio.gather(*(client(i, http) for i in range(clients)), *extra)
        elapsed = time.perf_counter() - start
    out = {"elapsed": elapsed, "samples": samples, "statuses": statuses, "attempts": attempts}
    if idle:
        out.update(done[-1])
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summarise(run: dict, clients: int) -> dict:
    total = sum(len(v) for v in run["samples"].values())
    ok = sum(n for st in run["statuses"].values() for s, n in st.items() if s.startswith("2"))
    out = {"clients": clients, "seconds": round(run["elapsed"], 1), "requests": total,
           "requests_per_s": round(total / run["elapsed"], 2), "goodput_per_s": round(ok / run["elapsed"], 2),
           "attempts": run.get("attempts", total), "endpoints": {}}
    out.update({k: run[k] for k in ("idle_bodies", "opened", "closed_by_server") if k in run})
    for path in sorted(run["samples"]):
        v, st = run["samples"][path], run["statuses"][path]
        errors = sum(n for s, n in st.items() if not s.isdigit() or int(s) >= 500 and s != "503")
        out["endpoints"][path] = {
            "count": len(v), "errors": errors, "busy_503": st.get("503", 0),
            "statuses": dict(st), "p50_ms": round(percentile(v, 50), 1), "p95_ms": round(percentile(v, 95), 1),
            "p99_ms": round(percentile(v, 99), 1)}
    out["errors"] = sum(e["errors"] for e in out["endpoints"].values())
    return out


def show(result: dict) -> None:
    print(f"\n{result.get('profile', 'plain')}: {result['clients']} client(s), {result['seconds']} s: "
          f"{result['requests']} requests ({result['attempts']} attempts), {result['requests_per_s']} req/s, "
          f"goodput {result['goodput_per_s']}/s, errors {result['errors']}, "
          f"server RSS {result.get('rss_before_mb')} -> {result.get('rss_after_mb')} MB")
    if "idle_bodies" in result:
        print(f"  {result['idle_bodies']} idle request bodies held open: {result['opened']} sockets opened, "
              f"{result['closed_by_server']} closed by the server")
    print(f"  {'endpoint':10} {'count':>6} {'errors':>6} {'503':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for path, e in result["endpoints"].items():
        print(f"  {path:10} {e['count']:6} {e['errors']:6} {e['busy_503']:5} {e['p50_ms']:8} {e['p95_ms']:8} {e['p99_ms']:8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start khub serve)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=None, help="passed to khub serve")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--compare", action="store_true", help="run one client first, then --clients")
    parser.add_argument("--profile", choices=["plain", "polite", "storm", "slow-body"], default="plain",
                        help="how clients treat 503s, or idle request bodies beside them (module docstring)")
    parser.add_argument("--idle-bodies", type=int, default=200, help="sockets of --profile slow-body")
    parser.add_argument("--slow-body-clients", type=int, default=16,
                        help="clients beside the idle bodies in --compare-overload (the usual load, not an overload)")
    parser.add_argument("--compare-overload", action="store_true",
                        help="run polite, storm and slow-body in turn; print storm goodput / polite goodput")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()

    proc = None
    url = args.url
    if url:
        if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"--url: only a loopback server may be loaded, not {url!r}")
    else:
        proc, url = start_server(args.workers)
    results = []
    runs = ([(1, args.profile), (args.clients, args.profile)] if args.compare else
            [(args.clients, "polite"), (args.clients, "storm"), (args.slow_body_clients, "polite"),
             (args.slow_body_clients, "slow-body")] if args.compare_overload else
            [(args.clients, args.profile)])
    try:
        for clients, profile in runs:
            rss_before = tree_rss_mb(proc.pid) if proc else None
            run = asyncio.run(run_load(url, clients, args.seconds, args.max_requests, profile,
                                       args.idle_bodies if profile == "slow-body" else 0))
            result = summarise(run, clients)
            result.update(profile=profile, rss_before_mb=rss_before,
                          rss_after_mb=tree_rss_mb(proc.pid) if proc else None, workers=args.workers,
                          cpus=os.cpu_count())
            show(result)
            results.append(result)
    finally:
        if proc:
            stop_server(proc)
    if args.compare_overload:
        polite, storm = results[0]["goodput_per_s"], results[1]["goodput_per_s"]
        search = [r["endpoints"].get("/search", {}).get("p95_ms") for r in results[2:]]
        print(f"\nstorm goodput / polite goodput: {storm / max(polite, 1e-9):.2f}; /health p95 under the storm "
              f"{results[1]['endpoints'].get('/health', {}).get('p95_ms')} ms; /search p95 with "
              f"{args.slow_body_clients} clients: {search[0]} ms alone, {search[1]} ms beside {args.idle_bodies} "
              "idle bodies")
    elif len(results) == 2:
        ratio = results[1]["requests_per_s"] / max(results[0]["requests_per_s"], 1e-9)
        print(f"\nthroughput {args.clients} clients / 1 client: {ratio:.2f}x")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

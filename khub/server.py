"""Run the site in several worker processes, each with its own listening socket (SO_REUSEPORT).

Why not ``uvicorn.run(..., workers=N)``: measured on this 2-core machine with 16 keep-alive
clients, it served every connection from one worker (170 % CPU) while the other sat idle.
Its workers share one listening socket, and the first event loop to wake accepts every
pending connection. Two further costs of that path: the shared socket is bound with
``proto`` 0, so asyncio leaves Nagle's algorithm on and every keep-alive request after the
first waits ~40 ms for the client's delayed ACK (uvicorn issue #3149; ``/health`` took 44 ms
against 1.6 ms).

Here each worker binds its own TCP socket to the same address with ``SO_REUSEPORT``, and the
Linux kernel spreads new connections over the sockets by a hash of the connection's
addresses (Linux >= 3.9; the ``reuseport`` listen option of nginx rests on the same
mechanism). The parent only supervises: it restarts a worker that dies, gives up when workers
keep failing at start, and stops them all on SIGINT or SIGTERM.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from typing import Any

import uvicorn

log = logging.getLogger("khub.server")
#: A worker that exits within this many seconds of its start failed to start; three in a row stop the server.
QUICK_EXIT_S = 60.0


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP listening socket on ``host:port`` with ``SO_REUSEPORT`` (and ``proto`` TCP, so
    asyncio sets ``TCP_NODELAY`` on its connections).

    Raises:
        OSError: the address is taken by a socket without ``SO_REUSEPORT``, or the platform
            has no ``SO_REUSEPORT``.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(app: str, sock: socket.socket, options: dict[str, Any]) -> None:
    """One worker process: a uvicorn server for the app factory ``app`` on ``sock``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops workers with SIGTERM
    config = uvicorn.Config(app, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app: str, host: str, port: int, workers: int, log_level: str = "info") -> None:
    """Serve the ASGI app factory ``app`` (``"module:function"``) from ``workers`` processes on
    ``host:port`` until SIGINT or SIGTERM (see the module docstring).

    Raises:
        OSError: the address cannot be bound.
    """
    context = multiprocessing.get_context("spawn")
    options = {"log_level": log_level, "timeout_graceful_shutdown": 10}
    sockets = [reuseport_socket(host, port) for _ in range(workers)]
    processes: list[Any] = [None] * workers
    started = [0.0] * workers
    quick_exits = 0
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"khub: serving on http://{host}:{port} with {workers} worker processes (SO_REUSEPORT)", flush=True)
    try:
        while not stopping:
            for i, proc in enumerate(processes):
                if proc is None or not proc.is_alive():
                    if proc is not None:
                        quick_exits = quick_exits + 1 if time.monotonic() - started[i] < QUICK_EXIT_S else 0
                        if quick_exits >= 3:
                            raise SystemExit(f"khub: workers keep exiting at start (last exit code {proc.exitcode}); "
                                             "see the messages above")
                        log.warning("worker %d (pid %s) exited with %s; restarting it", i, proc.pid, proc.exitcode)
                    processes[i] = context.Process(target=_worker, args=(app, sockets[i], options),
                                                   name=f"khub-worker-{i}")
                    processes[i].start()
                    started[i] = time.monotonic()
            time.sleep(0.5)
    finally:
        for proc in processes:
            if proc is not None and proc.is_alive():
                proc.terminate()
        for proc in processes:
            if proc is not None:
                proc.join(timeout=15)
                if proc.is_alive():
                    proc.kill()
        for sock in sockets:
            sock.close()

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

``SO_REUSEPORT`` also lets a *second* server join the port unnoticed (issue 23: two
``khub serve`` on one port answered 16 and 14 of 30 probes from two data dirs), so before it
binds, :func:`check_port_free` binds the address once without it: a port some process
listens on, khub or not, is refused with a clear message.

Each worker speaks HTTP with :class:`GuardedH11Protocol`, uvicorn's h11 protocol with a
header timeout: a connection that does not complete a request's header in time is closed
(uvicorn has keep-alive and graceful-shutdown timeouts but none on reading a request).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import time
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from khub.processes import end_with_parent

log = logging.getLogger("khub.server")
#: A worker that exits within this many seconds of its start failed to start; three in a row stop the server.
QUICK_EXIT_S = 60.0


class PortInUseError(OSError):
    """The address is already served (by khub or another program)."""


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` once without ``SO_REUSEPORT`` (with ``SO_REUSEADDR``, so connections
    left in TIME_WAIT do not count) and release it.

    Raises:
        PortInUseError: a process listens on the address already.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise PortInUseError(err.errno, f"{host}:{port} is already in use ({err.strerror}): another khub serve "
                                            "or another program listens there; stop it or choose --port") from err


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request header is not complete
    ``header_timeout`` seconds after the connection opened or the request's first byte came
    (slowloris: Hansen 2009). Set the timeout with :func:`guarded_protocol`."""

    header_timeout = 10.0

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a request's header is under way
            self._arm_header_timer()
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(header_timeout: float) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with ``header_timeout`` seconds (uvicorn's ``http``
    option takes a class)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout": header_timeout})


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


def _worker(app: str, sock: socket.socket, options: dict[str, Any], parent_pid: int | None = None) -> None:
    """One worker process: a uvicorn server for the app factory ``app`` on ``sock``; it ends
    when the supervising ``khub serve`` dies (:func:`khub.processes.end_with_parent`)."""
    end_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops workers with SIGTERM
    options = dict(options)
    protocol = guarded_protocol(options.pop("header_timeout", 10.0))
    config = uvicorn.Config(app, factory=True, http=protocol, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(app: str, host: str, port: int, workers: int, log_level: str = "info",
                header_timeout: float = 10.0) -> None:
    """Serve the ASGI app factory ``app`` (``"module:function"``) from ``workers`` processes on
    ``host:port`` until SIGINT or SIGTERM (see the module docstring).

    Raises:
        PortInUseError: something listens on ``host:port`` already.
        OSError: the address cannot be bound.
    """
    context = multiprocessing.get_context("spawn")
    options = {"log_level": log_level, "timeout_graceful_shutdown": 10, "header_timeout": header_timeout}
    check_port_free(host, port)
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
                    processes[i] = context.Process(target=_worker, args=(app, sockets[i], options, os.getpid()),
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

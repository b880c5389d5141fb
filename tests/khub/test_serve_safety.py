"""Issue 23, finding 4: one server per port and per data dir, and a header timeout: the real
``khub serve`` command and the real uvicorn protocol class."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import uvicorn

from khub.index.lock import serve_lock
from khub.server import guarded_protocol, reuseport_socket
from tests.conftest import ROOT

KHUB = [sys.executable, "-m", "khub.cli"]


def _serve(tmp_path, *args):
    env = {**os.environ, "KHUB_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "400"}
    return subprocess.run([*KHUB, "serve", "--no-example", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_second_serve_on_a_busy_port_refuses(tmp_path):
    """A khub serve listens with SO_REUSEPORT, so a second one could bind the same port and take
    half its traffic; now it refuses before it binds."""
    first = reuseport_socket("127.0.0.1", 0)  # what a running `khub serve` worker holds
    try:
        port = first.getsockname()[1]
        run = _serve(tmp_path, "--port", str(port), "--workers", "2")
        assert run.returncode == 2, run.stderr
        assert f"127.0.0.1:{port} is already in use" in run.stderr and "Traceback" not in run.stderr
    finally:
        first.close()


def test_the_same_data_dir_is_not_served_twice(tmp_path):
    with serve_lock(tmp_path / "data", "http://127.0.0.1:8000"):
        run = _serve(tmp_path, "--port", "0")
    assert run.returncode == 2, run.stderr
    assert "is already served by pid" in run.stderr and "serving http://127.0.0.1:8000" in run.stderr


def test_a_connection_that_never_finishes_its_header_is_closed():
    """slowloris: uvicorn had no timeout on reading a request's header."""
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=guarded_protocol(0.5), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", port)) as ok:  # a whole request is answered
            ok.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert ok.recv(1000).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            slow.settimeout(5)
            started = time.monotonic()
            assert slow.recv(1000) == b""  # closed by the server
            assert time.monotonic() - started < 3
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""One writer per data dir: an advisory file lock held for a whole ingest run (and one
server per data dir: :func:`serve_lock`).

Two ``khub ingest`` runs on one data dir used to interleave: both embedded the same files,
one of them met tantivy's own writer lock and reported stored files as "failed: LockBusy",
and the report kept only the last run. Now an ingest takes ``<data_dir>/ingest.lock`` with
``fcntl.flock`` (POSIX advisory lock: released by the kernel when the holder exits, even on
kill -9, so a crashed run never leaves a stale lock) and writes who holds it (pid, host,
command, start time) into the file, so the second run can say so.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from khub.errors import KhubError

LOCK_NAME = "ingest.lock"


class IngestLockedError(KhubError):
    """Another process holds the data dir's ingest lock; the message names it."""


def _alive(pid: object) -> bool:
    try:
        os.kill(int(pid), 0)  # type: ignore[call-overload]
    except (OSError, ValueError, TypeError):
        return False
    return True


def holder(lock_path: Path, patience: float = 2.0) -> str:
    """A description of the process that holds ``lock_path``, from what it wrote there.

    The holder writes its description just after it takes the lock, so a reader that comes in
    between finds the file empty (or the previous holder's): it reads again for up to
    ``patience`` seconds until the description names a live process."""
    deadline = time.monotonic() + patience
    info: dict = {}
    while True:
        try:
            info = json.loads(lock_path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            info = {}
        if (info and (info.get("host") != socket.gethostname() or _alive(info.get("pid")))) \
                or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if not info:
        return "another process"
    serving = f", serving {info['serving']}" if info.get("serving") else ""
    return (f"pid {info.get('pid')} on {info.get('host')} (`{info.get('command')}`, "
            f"since {info.get('started')}{serving})")


@contextmanager
def ingest_lock(data_dir: Path, wait: bool = False, poll_seconds: float = 1.0) -> Iterator[Path]:
    """Hold ``<data_dir>/ingest.lock`` for the duration of the ``with`` block.

    Args:
        data_dir: the store's data dir (created if missing).
        wait: wait for the holder to finish instead of failing at once.

    Raises:
        IngestLockedError: ``wait`` is off and another process holds the lock.
    """
    def refuse(who: str) -> Exception:
        return IngestLockedError(f"{data_dir} is being written by {who}: wait for it to finish, or run "
                                 "`khub ingest --wait ...` to start when it has")

    with _file_lock(data_dir, LOCK_NAME, refuse, wait, poll_seconds) as path:
        yield path


#: The lock file a ``khub serve`` holds while it serves a data dir.
SERVE_LOCK_NAME = "serve.lock"


class ServeLockedError(KhubError):
    """Another ``khub serve`` serves the data dir; the message names it."""


@contextmanager
def serve_lock(data_dir: Path, where: str = "") -> Iterator[Path]:
    """Hold ``<data_dir>/serve.lock`` while ``khub serve`` runs, so the same data dir is not
    served twice by mistake (issue 23: two servers on one port shared its traffic).

    Args:
        data_dir: the store's data dir (created if missing).
        where: the address being served, written into the lock for the next one's message.

    Raises:
        ServeLockedError: another process serves this data dir.
    """
    def refuse(who: str) -> Exception:
        return ServeLockedError(f"{data_dir} is already served by {who}: stop it first, or serve another "
                                "KHUB_DATA_DIR")

    with _file_lock(data_dir, SERVE_LOCK_NAME, refuse, False, 1.0, where) as path:
        yield path


@contextmanager
def _file_lock(data_dir: Path, name: str, refuse: Callable[[str], Exception], wait: bool, poll_seconds: float,
               where: str = "") -> Iterator[Path]:
    """Hold the ``flock`` of ``<data_dir>/<name>`` and describe the holder in it; ``refuse(holder)``
    is raised when it is taken and ``wait`` is off."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    who = holder(path)
                    try:  # the holder may have finished while its description was read
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        raise refuse(who) from None
                time.sleep(poll_seconds)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:200],
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if where:
            info["serving"] = where
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)

"""Child processes that end with their parent.

A worker process (an ingest's converters, a server's workers) must not outlive the process
that started it: after ``kill -9`` of an ingest its workers, about 1 GB with the model loaded,
ran on for minutes (issue 23). Linux can deliver a signal to a child when its parent dies
(``prctl(PR_SET_PDEATHSIG)``, man 2 prctl); elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def end_with_parent(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies; call it first thing
    in a child. Returns whether the request was made (Linux only). When ``parent_pid`` is
    given and the parent is already gone (it died before the call), exits at once.

    The signal follows the death of the parent *thread* that forked this process (man 2
    prctl), so children are started from a thread that lives as long as they are needed.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return True

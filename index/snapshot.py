"""The embedded store's retrieval arrays, saved once per generation and memory-mapped.

SQLite is the store's source of truth; the dense leg and the filters work on arrays
derived from it: passage ids in row order, the ``(n, dim)`` float32 vectors, which rows
hold a vector, the vectors' sign bits (the binary codes of
:class:`khub.index.vector_search.DenseIndex`), filter postings (rows per field value) and
the languages of each translation group. Deriving them from SQLite reads and parses every
passage: 13 s at a million passages (issue 14), paid by every process start and every
worker. So the first process to need a generation derives the arrays and saves them under
``<data_dir>/vectors/g<generation>/``; every later process **maps** them (``numpy.load(...,
mmap_mode="r")``): opening is a matter of milliseconds, the kernel reads pages as queries
touch them, and the workers of ``khub serve`` share one copy in the page cache instead of
holding one each.

Crash safety: a snapshot is written into ``g<generation>.tmp-<pid>`` and renamed into place
(atomic on POSIX), under an exclusive file lock, so a reader sees a whole snapshot or none;
one is only ever used for the generation in its name, and anything else in ``vectors/`` is
removed by the next writer. Deleting a folder that another process has mapped is safe on
POSIX: its pages live until the last mapping is closed.

Files of a snapshot::

    ids.json         passage ids, row order (JSON list)
    vectors.npy      (n, dim) float32 unit vectors (zeros for rows without one)
    has_vector.npy   (n,) bool
    codes.npy        (n, dim / 8) uint8 sign bits; only for stores the binary path serves
    postings.npy     int32 rows of every (field, value), concatenated
    postings.json    [[field, value, start, end], ...] slices of postings.npy
    groups.json      {translation group: [languages]}
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from khub.index.store import FILTER_FIELDS, field_values
from khub.index.vector_search import EXACT_BELOW, sign_codes

logger = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """Retrieval arrays of the embedded store at one generation (see the module docstring).

    ``matrix`` and ``codes`` are memory-mapped, read-only, when the snapshot was loaded from
    disk; ``postings`` maps ``field -> value -> (rows,) int array`` (views of one array).
    """

    generation: int
    ids: list[str]
    matrix: np.ndarray
    has_vector: np.ndarray
    codes: np.ndarray | None = None
    postings: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    group_languages: dict[str, set[str]] = field(default_factory=dict)


def derive(generation: int, rows: Iterable[tuple[str, str, bytes | None]], n: int, dim: int,
           exact_below: int = EXACT_BELOW) -> Snapshot:
    """Derive the arrays from SQLite rows.

    Args:
        generation: the store generation the rows were read at.
        rows: ``(passage id, meta JSON, float32 embedding bytes or None)`` in row order.
        n: number of rows.
        dim: the store's embedding dimension (0 when no vector was stored yet).
        exact_below: below this many rows no binary codes are derived (every search is exact).
    """
    ids: list[str] = []
    matrix = np.zeros((n, max(dim, 1)), dtype=np.float32)
    blobs: list[bytes | None] = []  # the last <= 10,000 rows' vectors, converted together
    postings: dict[str, dict[str, list[int]]] = {f: {} for f in FILTER_FIELDS}
    groups: dict[str, set[str]] = {}
    for i, (pid, meta_json, emb) in enumerate(rows):
        ids.append(pid)
        blobs.append(emb)
        if len(blobs) == 10_000:
            _fill(matrix, i + 1 - len(blobs), blobs, dim)
            blobs = []
        meta = json.loads(meta_json)
        for f in _FILTER_SET.intersection(meta):  # only the filter fields this passage has
            for v in field_values(meta, f):
                postings[f].setdefault(v, []).append(i)
        if meta.get("translation_group"):
            groups.setdefault(meta["translation_group"], set()).add(meta.get("language") or "")
    _fill(matrix, len(ids) - len(blobs), blobs, dim)
    has: np.ndarray = np.asarray(matrix.any(axis=1)) if dim else np.zeros(len(ids), dtype=bool)  # zero: no cosine
    codes = sign_codes(matrix) if len(ids) >= exact_below and dim else None
    return Snapshot(generation, ids, matrix, has, codes,
                    {f: {v: np.asarray(r, dtype=np.int32) for v, r in d.items()} for f, d in postings.items()},
                    groups)


_FILTER_SET = frozenset(FILTER_FIELDS)


def _fill(matrix: np.ndarray, start: int, blobs: list[bytes | None], dim: int) -> None:
    """Write the float32 vectors of ``blobs`` into ``matrix`` from row ``start`` on, in one
    conversion (row by row cost a third of the derivation); rows whose blob is missing or
    of another size stay zero."""
    size = dim * 4
    rows = [j for j, b in enumerate(blobs) if b is not None and len(b) == size]
    if dim and rows:
        joined = b"".join(blobs[j] or b"" for j in rows)
        matrix[start + np.asarray(rows)] = np.frombuffer(joined, dtype=np.float32).reshape(len(rows), dim)


def save(snapshot: Snapshot, folder: Path) -> None:
    """Write ``snapshot`` to ``folder/g<generation>`` atomically and remove every other entry of
    ``folder`` (older generations, leftovers of a crashed writer). Call with :func:`locked` held.

    Raises:
        OSError: the disk is full or the folder not writable (the caller keeps serving from
            memory; the next process derives the arrays again).
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"g{snapshot.generation}"
    if not final.exists():
        tmp = folder / f"g{snapshot.generation}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / "ids.json").write_text(json.dumps(snapshot.ids, ensure_ascii=False), encoding="utf-8")
        np.save(tmp / "vectors.npy", snapshot.matrix)
        np.save(tmp / "has_vector.npy", snapshot.has_vector)
        if snapshot.codes is not None:
            np.save(tmp / "codes.npy", snapshot.codes)
        slices, arrays, start = [], [], 0
        for f, values in snapshot.postings.items():
            for v, rows in values.items():
                slices.append([f, v, start, start + len(rows)])
                arrays.append(rows)
                start += len(rows)
        np.save(tmp / "postings.npy", np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32))
        (tmp / "postings.json").write_text(json.dumps(slices, ensure_ascii=False), encoding="utf-8")
        (tmp / "groups.json").write_text(
            json.dumps({g: sorted(langs) for g, langs in snapshot.group_languages.items()}, ensure_ascii=False),
            encoding="utf-8")
        tmp.rename(final)
    for entry in folder.iterdir():
        if entry != final and entry.name.startswith("g"):
            shutil.rmtree(entry, ignore_errors=True)


def load(folder: Path, generation: int) -> Snapshot | None:
    """The snapshot of ``generation`` under ``folder``, memory-mapped; None when there is none
    or it cannot be read (another writer removed it, a file is damaged): derive it again then."""
    path = folder / f"g{generation}"
    if not path.is_dir():
        return None
    try:
        ids = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        matrix = np.load(path / "vectors.npy", mmap_mode="r")
        has = np.load(path / "has_vector.npy")
        codes = np.load(path / "codes.npy", mmap_mode="r") if (path / "codes.npy").exists() else None
        rows = np.load(path / "postings.npy", mmap_mode="r")
        postings: dict[str, dict[str, np.ndarray]] = {f: {} for f in FILTER_FIELDS}
        for f, v, start, end in json.loads((path / "postings.json").read_text(encoding="utf-8")):
            postings.setdefault(f, {})[v] = rows[start:end]
        groups = {g: set(langs) for g, langs in json.loads((path / "groups.json").read_text(encoding="utf-8")).items()}
    except (OSError, ValueError) as err:
        logger.warning("retrieval arrays in %s cannot be read (%s); deriving them from SQLite", path, err)
        return None
    if len(ids) != len(matrix) or len(has) != len(matrix):
        logger.warning("retrieval arrays in %s disagree in length; deriving them from SQLite", path)
        return None
    return Snapshot(generation, ids, matrix, has, codes, postings, groups)


@contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the exclusive lock on ``folder``'s snapshots, so one process derives and writes a
    generation while the others wait, then map it. Yields whether the lock is held: with
    ``wait=False`` and another process holding it, False at once."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "a+") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)

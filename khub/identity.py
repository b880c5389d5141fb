"""A document's identity: the resolved absolute path of its file.

Ingest (:mod:`khub.ingest.pipeline`) gives every file the id of its :func:`source_key`; the
stores keep the key itself in the document record (``meta["source_path"]``), so that
``khub ingest --prune`` and ``/passages/{id}/original`` never depend on the working directory
of the process that reads the record. Records written before the key was stored are given it
on open (:func:`recover_source`), by checking candidate absolute paths against the id.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

#: The document-record field (inside ``meta``) holding the file's :func:`source_key`.
SOURCE_FIELD = "source_path"


def source_key(path: Path) -> str:
    """A file's identity: its absolute path with symbolic links resolved (POSIX form). The
    same file ingested from another working directory, or through ``./`` or a symlink, is
    the same document."""
    return path.resolve().as_posix()


def key_id(key: str) -> str:
    """The 16-hex-digit document id of a key (the first 16 hex digits of its SHA-1)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def document_id(path: Path) -> str:
    """The document id of a file: :func:`key_id` of its :func:`source_key`."""
    return key_id(source_key(path))


def recover_source(doc_id: str, shown_path: str | None, bases: list[Path]) -> str | None:
    """The absolute path of a record stored without one, or None when it cannot be proved.

    ``shown_path`` is the record's ``path`` (relative to the working directory of the ingest
    that wrote it, or absolute). A candidate ``base / shown_path`` is accepted only when its
    :func:`key_id` is the record's id, so a wrong base never gives a record another file.

    Args:
        doc_id: the record's id.
        shown_path: the record's ``path``.
        bases: folders the ingest may have run from (the current working directory, the
            data dir's parents, ...), tried in order.
    """
    if not shown_path:
        return None
    if PurePosixPath(shown_path).is_absolute():
        return shown_path if key_id(shown_path) == doc_id else None
    for base in bases:
        candidate = (base / shown_path).absolute().as_posix()
        for key in dict.fromkeys((candidate, Path(candidate).resolve().as_posix())):
            if key_id(key) == doc_id:
                return key
    return None


def candidate_bases(data_dir: Path) -> list[Path]:
    """Where an ingest into ``data_dir`` was probably run from: the working directory, then
    the data dir's parent folders (``./data`` is the default data dir)."""
    here = Path.cwd()
    return list(dict.fromkeys([here, *data_dir.absolute().parents]))


def is_under(key: str, root: str) -> bool:
    """Whether the absolute POSIX path ``key`` is ``root`` or lies below it."""
    root = root.rstrip("/") or "/"
    return key == root or key.startswith(root if root.endswith("/") else root + "/")

"""Open the document store named in the settings."""

from __future__ import annotations

from pathlib import Path

from khub.identity import candidate_bases
from khub.index.store import PassageStore, migrate_sources
from khub.settings import Settings


def open_store(settings: Settings) -> PassageStore:
    """The configured store: :class:`khub.index.embedded_store.EmbeddedDocumentStore` under
    ``settings.data_dir`` (default) or :class:`khub.index.opensearch_store.OpenSearchDocumentStore`
    at ``settings.opensearch_url``, index ``settings.opensearch_index``. Document records of
    older versions get their absolute path here (:func:`khub.index.store.migrate_sources`).

    Raises:
        ValueError: ``store=opensearch`` without ``KHUB_OPENSEARCH_URL``.
        ImportError: ``store=opensearch`` without the ``opensearch`` extra installed.
        ConnectionError: the OpenSearch cluster cannot be reached.
    """
    if settings.store == "embedded":
        from khub.index.embedded_store import EmbeddedDocumentStore

        embedded = EmbeddedDocumentStore(settings.data_dir, embedding_model=settings.embedding_model)
        migrate_sources(embedded, candidate_bases(Path(settings.data_dir)))
        return embedded
    if not settings.opensearch_url:
        raise ValueError("KHUB_STORE=opensearch needs KHUB_OPENSEARCH_URL (e.g. http://localhost:9200)")
    try:
        from khub.index.opensearch_requests import OpenSearchOptions
        from khub.index.opensearch_store import OpenSearchDocumentStore
    except ImportError as err:
        raise ImportError("KHUB_STORE=opensearch needs the opensearch extra: pip install -e '.[opensearch]'") from err
    store = OpenSearchDocumentStore(settings.opensearch_url, settings.opensearch_index,
                                    embedding_model=settings.embedding_model,
                                    options=OpenSearchOptions.from_settings(settings))
    migrate_sources(store, candidate_bases(Path(settings.data_dir)))
    return store


def damage_message(settings: Settings, err: Exception) -> str:
    """One line for a store found damaged (a ``sqlite3.DatabaseError``: a corrupted page or
    header): the file (or cluster), what was said, what to run. Shared by the CLI (exit 2) and
    the API (503, and ``/health``'s problems)."""
    if settings.store != "embedded":
        return f"the store at {settings.opensearch_url} failed: {err} (run `khub stats --check`)"
    return (f"the store's database {Path(settings.data_dir) / 'khub.sqlite'} is damaged ({err}): "
            "`khub stats --check` reports what is wrong; restore the data dir from a backup, or ingest "
            "into a new KHUB_DATA_DIR (the corpus files are untouched)")

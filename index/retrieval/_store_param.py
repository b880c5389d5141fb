"""Serialising the ``document_store`` init parameter of the store-backed components."""

from __future__ import annotations

from typing import Any

from haystack.core.serialization import import_class_by_name

from khub.index.store import PassageStore


def store_to_dict(store: PassageStore) -> dict[str, Any]:
    """The store's own ``to_dict`` (``{"type": "module.Class", "init_parameters": {...}}``)."""
    return store.to_dict()


def store_from_dict(data: dict[str, Any]) -> PassageStore:
    """The store ``data`` describes, re-opened through its class's ``from_dict``.

    Raises:
        ImportError: ``data["type"]`` names no importable class.
    """
    cls: Any = import_class_by_name(data["type"])
    return cls.from_dict(data)

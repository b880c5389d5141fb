"""Serialising the store-backed components: their ``document_store`` init parameter is
written as the store's own ``to_dict`` and re-opened on ``from_dict``."""

from __future__ import annotations

from typing import Any

from haystack import default_to_dict
from haystack.core.serialization import import_class_by_name

from khub.index.store import PassageStore


def store_from_dict(data: dict[str, Any]) -> PassageStore:
    """The store ``data`` describes, re-opened through its class's ``from_dict``.

    Raises:
        ImportError: ``data["type"]`` names no importable class.
    """
    cls: Any = import_class_by_name(data["type"])
    return cls.from_dict(data)


class StoreBacked:
    """Haystack ``to_dict``/``from_dict`` for a component built as
    ``Component(document_store, **params)``; ``init_params`` names the other parameters,
    each kept as an attribute of the same name."""

    document_store: PassageStore
    init_params: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Haystack serialisation (the store as its own ``to_dict``)."""
        return default_to_dict(self, document_store=self.document_store.to_dict(),
                               **{p: getattr(self, p) for p in self.init_params})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Haystack deserialisation (re-opens the store)."""
        params = dict(data["init_parameters"])
        params["document_store"] = store_from_dict(params["document_store"])
        return cls(**params)

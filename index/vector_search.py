"""Top-k cosine search for the embedded store's dense leg: exact for small stores, binary codes
with float32 re-scoring for large ones.

An exact scan of a float32 matrix streams every vector for every query: 2 GB at a million
512-dim passages, 143-178 ms on 2 cores (issue 14), linear in the corpus. Above
:data:`EXACT_BELOW` passages the scan runs over **binary codes** instead: the sign of each
dimension (64 bytes a vector, 1/32 of float32), compared by Hamming distance, which
estimates the angle between two vectors (SimHash, Charikar 2002, "Similarity estimation
techniques from rounding algorithms"); faiss's ``IndexBinaryFlat`` scans them with popcount
instructions. The :data:`OVERSAMPLE` x k nearest codes are then **re-scored exactly** with the
float32 vectors, so the scores are true cosines and only the candidate list is approximate
(binary quantisation with re-scoring: Shakir, Aarsen & Lee 2024, "Binary and Scalar Embedding
Quantization for Significantly Faster & Cheaper Retrieval").

Measured by ``bench/ann_choice.py --vectors corpus`` (1M vectors mixed from the corpus's real
USE passage and sentence vectors, 200 real questions, 1 thread; ``bench/results/
ann_choice_corpus_1m.json``): recall@100 against the exact scan 0.991 at 10.3 ms p95 (exact:
143 ms); with a filter keeping one passage in six, 0.996 at 20.6 ms. faiss HNSW reached 0.974
at efSearch 512 (0.926 filtered) after a 227 s build; the scalar-quantised (int8) scan was
exact but 86 ms.

Filters are applied to the candidates; the over-sampling grows with the filter's selectivity,
and a filter that leaves few passages (under :data:`EXACT_BELOW`) is scanned exactly, so a
filtered search still returns k results when k passages pass (as OpenSearch's efficient
filtering falls back to exact search for restrictive filters).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Below this many passages (or passages passing the filter) the scan is exact float32:
#: ~12 ms p95 at 100k on 2 cores (bench/results/latency.json), fast enough not to approximate.
EXACT_BELOW = 100_000
#: Candidates re-scored per result wanted: 40 x k gave recall@100 0.991 at 1M (10 x k: 0.978).
OVERSAMPLE = 40


class DenseIndex:
    """Cosine top-k over the rows of a matrix of unit vectors.

    Args:
        matrix: ``(n, dim)`` float32 unit vectors (kept by reference, not copied; may be
            memory-mapped).
        has_vector: ``(n,)`` bool, rows that hold a vector (others are never returned).
        exact_below: passages under which searches are exact (default :data:`EXACT_BELOW`).
        codes: the matrix's :func:`sign_codes`, when saved with it (:mod:`khub.index.snapshot`).

    The binary index is built on first use of the approximate path: a copy of ``codes`` into
    faiss (64 MB a million rows), or, without them, codes derived from the matrix (about 1 s a
    million rows).
    Without faiss installed, every search is exact.
    """

    def __init__(self, matrix: np.ndarray, has_vector: np.ndarray, exact_below: int | None = None,
                 codes: np.ndarray | None = None):
        self.matrix = matrix
        self.has_vector = has_vector
        self.exact_below = EXACT_BELOW if exact_below is None else exact_below
        self.codes = codes
        self._binary: Any = None

    def _codes(self) -> Any:
        if self._binary is None:
            import faiss

            # one query at a time per worker process: faiss's OpenMP threads only get in each
            # other's way (1M codes, 2,000 candidates: 11 ms p50 on one thread, 29 ms on two)
            faiss.omp_set_num_threads(1)
            index = faiss.IndexBinaryFlat(self.matrix.shape[1])
            codes = sign_codes(self.matrix) if self.codes is None else self.codes
            for start in range(0, len(codes), 100_000):  # bounded temporary memory
                index.add(np.ascontiguousarray(codes[start:start + 100_000]))
            self._binary = index
        return self._binary

    def approximate(self, allowed: int) -> bool:
        """Whether a search over ``allowed`` passages takes the binary path."""
        if len(self.matrix) < self.exact_below or allowed < self.exact_below:
            return False
        try:
            import faiss  # noqa: F401
        except ImportError:  # pragma: no cover - faiss-cpu is a dependency
            return False
        return True

    def search(self, query: np.ndarray, k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` rows most similar to ``query`` among those ``mask`` allows.

        Args:
            query: ``(dim,)`` float32 unit vector.
            k: results wanted.
            mask: ``(n,)`` bool, rows allowed (filters, rows with vectors).

        Returns:
            ``(rows, cosines)``, best first; fewer than ``k`` only when fewer rows are allowed.
        """
        mask = mask & self.has_vector
        allowed = int(mask.sum())
        k = min(k, allowed)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.approximate(allowed):
            found = self._approximate(query, k, mask, allowed)
            if found is not None:
                return found
        return self._exact(query, k, mask, allowed)

    def _exact(self, query: np.ndarray, k: int, mask: np.ndarray, allowed: int) -> tuple[np.ndarray, np.ndarray]:
        if allowed * 4 < len(mask):  # a selective filter: score only the rows it allows
            rows = np.flatnonzero(mask)
            scores = self.matrix[rows] @ query
        else:
            rows = None
            scores = np.where(mask, self.matrix @ query, -np.inf)
        top = _top(scores, k)
        return (rows[top] if rows is not None else top), scores[top].astype(np.float32)

    def _approximate(self, query: np.ndarray, k: int, mask: np.ndarray,
                     allowed: int) -> tuple[np.ndarray, np.ndarray] | None:
        n = len(self.matrix)
        wanted = min(n, OVERSAMPLE * k * math.ceil(n / allowed))
        _, found = self._codes().search(np.packbits(query > 0)[None, :], wanted)
        candidates = found[0][found[0] >= 0]
        candidates = candidates[mask[candidates]]
        if len(candidates) < k:
            return None  # the filter removed too many candidates: exact scan instead
        scores = self.matrix[candidates] @ query
        top = _top(scores, k)
        return candidates[top], scores[top].astype(np.float32)


def sign_codes(matrix: np.ndarray) -> np.ndarray:
    """``(n, ceil(dim / 8))`` uint8: the sign bit of every dimension of every row (1 for > 0),
    packed eight to a byte, the codes :class:`DenseIndex` compares by Hamming distance.
    Computed 100,000 rows at a time, so the temporary bool array stays small."""
    out = np.empty((len(matrix), (matrix.shape[1] + 7) // 8), dtype=np.uint8)
    for start in range(0, len(matrix), 100_000):
        out[start:start + 100_000] = np.packbits(np.asarray(matrix[start:start + 100_000]) > 0, axis=1)
    return out


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores, highest first (k <= len(scores))."""
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top])]

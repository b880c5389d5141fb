"""Index stage: BM25 analysis, embeddings, the document stores and hybrid retrieval.

Imports from ``ingest`` (downstream of it) are allowed; nothing here imports
from ``api`` or ``ui``.
"""

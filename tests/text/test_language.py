"""Language detection on the real corpus, including short passages."""

import pytest

from khub.ingest.chunk import chunk_pages
from khub.ingest.clean import clean_pages
from khub.ingest.tokens import token_counter
from khub.text.language import detect_language
from tests.conftest import COP14, COP15, MANUAL


@pytest.mark.parametrize("lang", ["ar", "en", "es", "fr", "ru", "zh"])
def test_manual_editions_detected(lang):
    for chapter in ("introduction", "SO1", "SO2"):
        text = (MANUAL / lang / f"{chapter}.txt").read_text(encoding="utf-8")
        assert detect_language(text) == lang


def test_short_chinese_paragraphs_are_chinese():
    count = token_counter()
    shorts = []
    for path in (COP14, COP15):
        chunks = chunk_pages(clean_pages([path.read_text(encoding="utf-8")], False), count)
        shorts += [c.text for c in chunks if c.paragraph and len(c.text) < 120]
    assert len(shorts) >= 5
    assert [detect_language(t) for t in shorts] == ["zh"] * len(shorts)


def test_short_snippets_in_six_languages():
    samples = {
        "土地退化零增长": "zh", "Land degradation neutrality": "en", "Neutralité en matière de dégradation des terres": "fr",
        "нейтральный баланс деградации земель": "ru", "تحييد أثر تدهور الأراضي": "ar", "neutralidad de la degradación de las tierras": "es",
    }
    for text, lang in samples.items():
        assert detect_language(text) == lang, text


def test_no_letters_gives_default():
    assert detect_language("15.3.1 — 2021", default="en") == "en"
    assert detect_language("", default=None) is None

"""Highlights mark whole words, with their combining marks (Arabic tanween and harakat)."""

from khub.index.highlight import highlight
from khub.text.analysis import analyze


def test_arabic_word_keeps_its_tanween_inside_the_mark():
    text = "شهدت المنطقة تدهوراً كبيراً في الأراضي"
    marked = highlight(text, "ar", set(analyze("تدهور الأراضي", "ar")), None)
    assert "<mark>تدهوراً</mark>" in marked and "<mark>الأراضي</mark>" in marked


def test_latin_words_are_marked_as_before():
    marked = highlight("Soil erosion and land-cover change", "en", set(analyze("soil land cover", "en")), None)
    assert marked == "<mark>Soil</mark> erosion and <mark>land</mark>-<mark>cover</mark> change"

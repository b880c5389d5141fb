"""Automatic alignment of language editions (issue 9, item 2), on real manual chapters
ingested without their alignment file."""

from __future__ import annotations

import shutil
from collections import defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from khub.cli import app
from khub.index.align import EditionPassage, align, edition_family
from khub.index.embedded_store import EmbeddedDocumentStore
from khub.ingest.pipeline import load_document, to_passages
from khub.ingest.tokens import token_counter
from khub.ingest.translations import manual_groups
from tests.conftest import MANUAL


def test_edition_family_from_language_folders_and_suffixes():
    assert edition_family("corpora/prais/fr/SO1.txt") == ("corpora/prais/SO1.txt", "fr")
    assert edition_family("iccd/COP15_note.zh.txt") == ("iccd/COP15_note.txt", "zh")
    assert edition_family("corpora/wocat/technologies_1724.json") is None


def test_align_keeps_order_and_takes_a_split_paragraph_as_one_block():
    e = np.eye(4, dtype=np.float32)
    pivot = [EditionPassage(f"a{i}", e[i]) for i in range(3)]
    split = (e[1] + 0.2 * e[3]) / np.linalg.norm(e[1] + 0.2 * e[3]), (e[1] + 0.3 * e[2]) / np.linalg.norm(e[1] + 0.3 * e[2])
    other = [EditionPassage("b0", e[0]), EditionPassage("b1", split[0]), EditionPassage("b2", split[1]),
             EditionPassage("b3", e[2])]
    assert align(pivot, other) == [([0], [0]), ([1], [1, 2]), ([2], [3])]
    with pytest.raises(ValueError, match="dimensions"):
        align(pivot, [EditionPassage("x", np.ones(3, dtype=np.float32))])


@pytest.mark.slow
def test_manual_chapter_ingested_without_alignment_file_gets_translation_groups(tmp_path, monkeypatch):
    for lang in ("en", "fr", "zh"):
        (tmp_path / "manual" / lang).mkdir(parents=True)
        shutil.copy(MANUAL / lang / "SO2.txt", tmp_path / "manual" / lang / "SO2.txt")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["ingest", "manual"])
    assert result.exit_code == 0, result.output
    store = EmbeddedDocumentStore(tmp_path / "data")
    docs = store.filter_documents()
    groups: dict[str, set[str]] = defaultdict(set)
    for d in docs:
        if d.meta.get("translation_group"):
            assert d.meta["translation_group"].startswith("auto:manual/SO2.txt#")
            groups[d.meta["translation_group"]].add(d.meta["path"].split("/")[1])
    assert len(groups) >= 70 and sum(len(langs) == 3 for langs in groups.values()) >= 60
    # agreement with the groups the real alignment file gives the same passages
    count = token_counter()
    gold = {}
    for lang in ("en", "fr", "zh"):
        passages = to_passages(load_document(MANUAL / lang / "SO2.txt"), count, 256)
        for p, g in zip(passages, manual_groups(MANUAL / lang / "SO2.txt", lang, [p.content for p in passages])):
            gold[(lang, p.meta["position"])] = g
    auto = {(d.meta["path"].split("/")[1], d.meta["position"]): d.meta.get("translation_group") for d in docs}
    agree = total = 0
    for (lang, pos), group in auto.items():
        if lang == "en" or not group or not gold.get((lang, pos)):
            continue
        pivot = [k for k, g in auto.items() if g == group and k[0] == "en"]
        total += 1
        agree += bool(pivot) and gold.get(pivot[0]) == gold[(lang, pos)]
    assert total >= 140 and agree / total >= 0.9
    store.close()

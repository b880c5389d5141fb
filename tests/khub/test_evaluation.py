"""Evaluation metrics and `khub eval` on a small qrels file."""

import json
import math

import pytest
from typer.testing import CliRunner

from khub.cli import app
from khub.evaluation import gains, load_qrels, query_metrics
from tests.conftest import ROOT

QRELS = ROOT / "tests/fixtures/qrels_small.jsonl"


def test_metrics_on_a_known_ranking():
    texts = ["noise", "the gold  passage here", "more noise", "second gold"]
    m = query_metrics(texts, ["gold passage", "secondgold"], k=3)
    assert m["recall"] == 0.5  # only one of two gold strings in the top 3
    assert m["mrr"] == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    assert abs(m["ndcg@10"] - dcg / idcg) < 1e-9
    # the same gold string is credited once
    assert gains(["gold a", "gold a again"], ["golda"]) == [1, 0]


def test_bad_qrels_line_is_named(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "relevant_text": ["y"]}\n{"query": "no gold"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        load_qrels(bad)


def test_khub_eval_cli(corpus_dir, monkeypatch):
    monkeypatch.setenv("KHUB_DATA_DIR", str(corpus_dir))
    result = CliRunner().invoke(app, ["eval", str(QRELS), "--compare", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["modes"]) == {"bm25", "dense", "hybrid"}
    hybrid = data["modes"]["hybrid"]
    assert hybrid["queries"] == 4
    assert set(hybrid["by_language"]) == {"en", "zh", "fr"}
    assert hybrid["overall"]["recall@10"] >= 0.75
    assert hybrid["overall"]["recall@10"] >= data["modes"]["bm25"]["overall"]["recall@10"]

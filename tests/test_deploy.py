"""Deployment files: docker-compose.yml validates and is safe by default; the Dockerfile copies
what exists; the container's entrypoint ingests the corpus on first start only.

No Docker engine runs here, so the image is not built and the cluster is not started: Compose's
own validator (``docker-compose config`` / ``docker compose config``) checks the file.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


def test_compose_file_validates():
    command = _compose_command()
    if command is None:
        pytest.skip("needs docker-compose or the docker compose plugin (.ci/run installs Debian's docker-compose)")
    done = subprocess.run([*command, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_compose_runs_khub_after_a_healthy_cluster_on_localhost_only():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    cluster, khub = services["opensearch"], services["khub"]
    assert cluster["image"] == "opensearchproject/opensearch:2.19.1"
    assert "_cluster/health" in " ".join(cluster["healthcheck"]["test"])
    assert khub["depends_on"]["opensearch"]["condition"] == "service_healthy"
    for service in (cluster, khub):
        assert all(str(p).startswith("127.0.0.1:") for p in service["ports"]), "ports on localhost only"
    assert "${OPENSEARCH_HEAP:-1g}" in cluster["environment"]["OPENSEARCH_JAVA_OPTS"]
    assert any(v.startswith("opensearch-data:") for v in cluster["volumes"]) and "opensearch-data" in compose["volumes"]
    assert khub["environment"]["KHUB_STORE"] == "opensearch"
    assert khub["environment"]["KHUB_OPENSEARCH_URL"] == "http://opensearch:9200"


def test_dockerfile_copies_what_the_package_needs():
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    assert copied, "the Dockerfile copies the sources"
    for path in copied:
        assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
    package_dirs = {"khub", "ingest", "index", "api", "ui"}
    assert package_dirs <= set(copied), "every package folder of pyproject.toml is in the image"


def _run_entrypoint(tmp_path: Path, khub_exit: int) -> tuple[subprocess.CompletedProcess, Path]:
    """Run docker/entrypoint.sh with a stand-in ``khub`` on PATH that logs its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    fake = bin_dir / "khub"
    fake.write_text(f'#!/bin/sh\necho "khub $*" >> {log}\nexit {khub_exit}\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "KHUB_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "data").mkdir(exist_ok=True)
    done = subprocess.run(["sh", str(ROOT / "docker/entrypoint.sh"), "echo", "serving"], env=env,
                          capture_output=True, text=True)
    return done, log


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_entrypoint_ingests_the_corpus_on_first_start_only(tmp_path):
    done, log = _run_entrypoint(tmp_path, khub_exit=1)  # some files failed: still serve
    assert done.returncode == 0 and done.stdout.strip() == "serving"
    assert log.read_text().splitlines() == ["khub ingest /app/corpora"]
    done, log = _run_entrypoint(tmp_path, khub_exit=0)
    assert done.stdout.strip() == "serving"
    assert log.read_text().splitlines() == ["khub ingest /app/corpora"], "the second start does not ingest"


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_entrypoint_stops_when_the_first_ingest_stored_nothing(tmp_path):
    done, _ = _run_entrypoint(tmp_path, khub_exit=2)
    assert done.returncode == 2 and "stored nothing" in done.stderr
    assert not (tmp_path / "data" / ".ingested").exists()

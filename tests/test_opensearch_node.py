"""``scripts/opensearch-node``: the development node's script says plainly what it needs."""

from __future__ import annotations

import shutil
import subprocess

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "opensearch-node"


def test_without_java_it_says_so_and_starts_nothing(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "curl", "mvn"):  # everything it might call, but java
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    run = subprocess.run([shutil.which("bash") or "/bin/bash", str(SCRIPT), "start"], capture_output=True, text=True,
                         env={"PATH": str(bin_dir), "KHUB_NODE_HOME": str(tmp_path / "node")}, timeout=60)
    assert run.returncode == 1 and "java is not installed (Java 17 is needed)" in run.stderr
    assert not (tmp_path / "node").exists()


def test_usage_and_status_of_a_node_that_is_not_running(tmp_path):
    bash = shutil.which("bash") or "/bin/bash"
    env = {"PATH": "/usr/bin:/bin", "KHUB_NODE_HOME": str(tmp_path / "node")}
    usage = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert usage.returncode == 2 and "usage: scripts/opensearch-node start|stop|status" in usage.stderr
    assert subprocess.run([bash, str(SCRIPT), "status"], env=env, timeout=60).returncode == 1

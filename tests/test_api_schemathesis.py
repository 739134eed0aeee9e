"""schemathesis against /openapi.json of a real server: no generated request may cause a server error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .web_server import ARTIFACTS, Server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    running = Server(tmp_path_factory.mktemp("schemathesis-sessions"))
    yield running
    running.stop()


def test_no_generated_request_causes_a_server_error(server):
    ARTIFACTS.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{server.url}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "40", "--seed", "1",
        "--report", "junit", "--report-junit-path", str(ARTIFACTS / "schemathesis-junit.xml"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    (ARTIFACTS / "schemathesis.txt").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "passed" in result.stdout.lower()

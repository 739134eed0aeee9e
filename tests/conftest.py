from __future__ import annotations

import os
import subprocess
import tempfile
import sys
from pathlib import Path

import pytest

from spasmo.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
# the compiled-engine cache of the tests lives in a throwaway folder, not in the user's cache
os.environ.setdefault("SPASMO_CACHE_DIR", tempfile.mkdtemp(prefix="spasmo-test-cache-"))
# sessions the tests store go to a throwaway folder, never to the user's data or database
os.environ["SPASMO_DATA_DIR"] = tempfile.mkdtemp(prefix="spasmo-test-data-")
os.environ.pop("SPASMO_DATABASE_URL", None)


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for the whole test session (tests/pg_server.py)."""
    from . import pg_server

    server = pg_server.start()
    yield server.url
    server.stop()


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the installed `spasmo` command as a person would."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "spasmo", *args], input=stdin, capture_output=True, env=env, cwd=ROOT, timeout=120
    )

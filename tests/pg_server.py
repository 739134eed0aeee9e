"""A throwaway PostgreSQL server for the session tests.

initdb and pg_ctl (Debian's package `postgresql`, which `make test` installs) start a server on a
free port of 127.0.0.1 with a temporary data folder, as the `postgres` user when the tests run as
root (PostgreSQL refuses to run as root). SPASMO_TEST_DATABASE_URL names an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg


@dataclass
class Server:
    url: str
    folder: Path | None = None
    bin: Path | None = None

    def stop(self) -> None:
        if self.folder is None or self.bin is None:
            return
        _run(self.bin / "pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: `make test` installs it (apt-get install postgresql), "
                       "or set SPASMO_TEST_DATABASE_URL to a server for the tests")


def _as_postgres() -> dict:
    return {"user": "postgres", "group": "postgres"} if os.geteuid() == 0 else {}


def _run(*args: object, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=check, timeout=120,
                          **_as_postgres())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> Server:
    if os.environ.get("SPASMO_TEST_DATABASE_URL"):
        return Server(os.environ["SPASMO_TEST_DATABASE_URL"])
    pg = _bin()
    folder = Path(tempfile.mkdtemp(prefix="spasmo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    server = Server(f"postgresql://postgres@127.0.0.1:{port}/spasmo_test", folder, pg)
    try:
        _run(pg / "initdb", "-D", folder / "data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        _run(pg / "pg_ctl", "-D", folder / "data", "-l", folder / "server.log", "-w", "-t", "60",
             "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE spasmo_test")
    except (subprocess.CalledProcessError, psycopg.Error) as exc:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        server.stop()
        raise RuntimeError(f"could not start PostgreSQL for the tests: {detail}\n{log}") from None
    return server

"""Load and faults: simulated people running whole interviews over HTTP, then every answer checked against
what was stored. Not part of `make test` (it runs for minutes); figures go to docs/performance.md.

    .venv/bin/python benchmarks/load_faults.py                       # 100 people, 120 s
    .venv/bin/python benchmarks/load_faults.py --kill-every 40       # the server SIGKILLed and restarted
    .venv/bin/python benchmarks/load_faults.py --postgres [--kill-every 40]   # sessions in PostgreSQL
    .venv/bin/python benchmarks/load_faults.py --postgres --servers 2 # two servers, one PostgreSQL

Each person starts an interview with a public case's text, answers every question ("I don't know", the first
choice, or the smallest number) until it finishes, and starts again, with no pause. Each person is a client of
their own (their own connection, as a browser is), and behaves as a real client does: when the server cannot
be reached (refused while it restarts), drops the connection, does not answer within 30 s, or answers 503 or
429, the person waits (Retry-After when the server says, else 0.25 s doubling up to 2 s) and sends the SAME
request again, for up to 60 s. Sending an answer again is safe: the server takes the same answer to the
question answered last as already stored (tests/test_retries.py), and so is starting one: each start carries
an Idempotency-Key of its own, and the same start sent again finds the interview it started.

An error is a request that finally failed: no 2xx after 60 s of retries, or any other status (a 4xx or a 500,
which is never retried). A request that succeeded after retries is not an error; the retries are counted and
shown by cause. An answer counts as acknowledged when the server answered 2xx. At the end every interview is
exported: its stored answers must be exactly the acknowledged ones, in order (none lost, changed or stored
twice), except that an interview whose answer finally failed may hold that one answer as well.
With several servers each request (and each retry) goes to the next one, so an interview started on one server
goes on on the others through the shared database. The run fails (exit 1) on any error or any stored difference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: how long a person keeps sending one request again before it counts as an error (s)
RETRY_FOR = 60.0
#: one attempt's time-out (s)
TIMEOUT = 30.0


@dataclass
class Person:
    sent: dict[str, list[tuple[str, object]]] = field(default_factory=dict)  # session -> acknowledged answers
    unsure: set[str] = field(default_factory=set)  # sessions whose last answer finally failed
    resumed: set[str] = field(default_factory=set)  # sessions that went on after a retried request
    finished: int = 0
    errors: Counter = field(default_factory=Counter)  # what finally failed, by cause
    retries: Counter = field(default_factory=Counter)  # requests sent again, by cause
    messages: list[str] = field(default_factory=list)  # what the server said of a request that failed


class Server:
    def __init__(self, port: int, data: str, database_url: str | None = None):
        self.port, self.data, self.process = port, data, None
        self.database_url = database_url
        self.restarts = 0

    def start(self) -> None:
        env = {**os.environ, "SPASMO_DATA_DIR": self.data, "SPASMO_RATE_LIMIT": "0"}
        if self.database_url:
            env["SPASMO_DATABASE_URL"] = self.database_url
        # the server's own log (it never holds what a person wrote: tests/test_privacy.py), kept to show the
        # traceback of any server error after the run
        self.log = Path(self.data) / f"server-{self.port}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "spasmo", "serve", "--port", str(self.port)],
                                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _value(question: dict) -> object:
    if question["kind"] == "number":
        return question["minimum"] if question["minimum"] is not None else 1
    if question["kind"] in ("one", "several") and question["choices"]:
        first = question["choices"][0]["id"]
        return [first] if question["kind"] == "several" else first
    return "unknown"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


async def person(clients: list[httpx.AsyncClient], texts: list[str], n: int, until: float, me: Person,
                 latencies: list[float]) -> None:
    turn = [n]

    async def call(method: str, url: str, ok: int, **kw) -> httpx.Response | None:
        """Send one request until it gets `ok`, as a real client would; None when it finally failed."""
        started = time.perf_counter()
        pause = 0.25
        while True:
            client = clients[turn[0] % len(clients)]
            turn[0] += 1
            wait = None
            try:
                response = await client.request(method, url, **kw)
            except httpx.ConnectError:
                cause = "refused"
            except httpx.TimeoutException:
                cause = "timed out"
            except httpx.TransportError:
                cause = "dropped"
            else:
                if response.status_code == ok:
                    latencies.append(time.perf_counter() - started)
                    return response
                if response.status_code not in (429, 503):
                    if response.status_code == 422 and url.endswith("/answers") and len(clients) > 1:
                        # which question does each server say is being asked? (two servers must agree)
                        session = url.split("/")[3]
                        views = []
                        for other in clients:
                            seen = await other.get(f"/v1/interviews/{session}")
                            views.append((seen.json().get("question") or {}).get("id") if seen.is_success else seen.status_code)
                        me.messages.append(f"servers' views of {session} after a 422: {views}")
                    me.errors[f"{method} {response.status_code}"] += 1
                    path = "/".join("{id}" if len(part) >= 24 else part for part in url.split("/"))
                    me.messages.append(f"{method} {path} {response.status_code}: {response.text[:300]}")
                    return None
                cause, wait = str(response.status_code), _retry_after(response)
            if time.perf_counter() - started + (wait or pause) > RETRY_FOR:
                me.errors[cause] += 1
                return None
            me.retries[cause] += 1
            await asyncio.sleep(wait if wait is not None else pause)
            pause = min(2.0, pause * 2)

    k = n
    while time.monotonic() < until:
        text = texts[k % len(texts)]
        k += 7
        started = await call("POST", "/v1/interviews", 201, json={"text": text},
                             headers={"Idempotency-Key": secrets.token_urlsafe(16)})
        if started is None:
            await asyncio.sleep(1)
            continue
        state = started.json()
        session = state["id"]
        me.sent[session] = []
        while not state["done"] and time.monotonic() < until:
            question = state["question"]
            answer = (question["id"], _value(question))
            tries = sum(me.retries.values())
            reply = await call("POST", f"/v1/interviews/{session}/answers", 200,
                               json={"question": answer[0], "value": answer[1]})
            if reply is None:
                me.unsure.add(session)
                break  # this interview is given up; the person starts another
            if sum(me.retries.values()) > tries:
                me.resumed.add(session)
            me.sent[session].append(answer)
            state = reply.json()
        else:
            me.finished += state["done"]


async def killer(server: Server, every: float, until: float) -> None:
    while time.monotonic() + every < until:
        await asyncio.sleep(every)
        server.kill()
        await asyncio.get_running_loop().run_in_executor(None, server.start)
        server.restarts += 1


async def run(args: argparse.Namespace) -> None:
    texts = [case["text"] for path in sorted((ROOT / "cases").glob("*.yaml"))
             for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]]
    database = None
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests import pg_server  # noqa: PLC0415 - the same throwaway server as the session tests

        database = pg_server.start()
    with tempfile.TemporaryDirectory() as data:
        import socket

        servers = []
        for _ in range(args.servers):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            servers.append(Server(port, data, database.url if database else None))
        for server in servers:
            server.start()
        people = [Person() for _ in range(args.people)]
        latencies: list[float] = []
        until = time.monotonic() + args.seconds
        # a client (and so a connection) of each person's own for each server, as each person has a browser:
        # one client shared by 100 people spent more of the machine in its connection pool than the server did
        # in its work, and most of the measured wait was in that pool (docs/performance.md)
        clients_of = [[httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.port}", timeout=TIMEOUT) for s in servers]
                      for _ in people]
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.port}", timeout=TIMEOUT) for s in servers]
        try:
            tasks = [person(clients_of[n], texts, n, until, p, latencies) for n, p in enumerate(people)]
            if args.kill_every:
                tasks.append(killer(servers[0], args.kill_every, until))
            began = time.monotonic()
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
            lost = extra = checked = answers = 0
            for p in people:
                for session, sent in p.sent.items():
                    exported = await clients[-1].get(f"/v1/interviews/{session}/export")
                    stored = [(a["question"], a["value"]) for a in exported.json()["answers"]]
                    checked += 1
                    answers += len(sent)
                    if stored[:len(sent)] != sent:
                        lost += 1
                    elif len(stored) - len(sent) > (session in p.unsure):
                        extra += 1
        finally:
            for client in {c for own in clients_of for c in own} | set(clients):
                await client.aclose()
            for server in servers:
                server.stop()
            tracebacks = [block for server in servers for block in _tracebacks(server.log)]
            if database is not None:
                database.stop()
    ms = sorted(x * 1000 for x in latencies)
    errors = sum((p.errors for p in people), Counter())
    retries = sum((p.retries for p in people), Counter())
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"people {args.people}, {elapsed:.0f} s, {args.servers} server(s) on {store}, "
          f"server killed and restarted {servers[0].restarts} time(s)")
    print(f"requests {len(ms)} ({len(ms) / elapsed:.0f}/s); errors {sum(errors.values())} {dict(errors)}; "
          f"sent again and then answered {sum(retries.values())} {dict(retries)}")
    print(f"latency (first send to answer, retries included) median {statistics.median(ms):.1f} ms, "
          f"p99 {ms[int(len(ms) * 0.99)]:.1f} ms, max {ms[-1]:.1f} ms")
    print(f"interviews {checked} ({sum(p.finished for p in people)} finished; "
          f"{sum(len(p.resumed) for p in people)} went on after a retried answer), acknowledged answers {answers}")
    print(f"interviews whose stored answers differ from the acknowledged ones: {lost}; "
          f"with an answer stored that was not acknowledged: {extra}")
    for message in [m for p in people for m in p.messages][:5]:  # the API's messages never quote a person's words
        print("  failed:", message)
    for block in tracebacks[:3]:
        print("  server error:\n    " + "\n    ".join(block))
    if lost or extra or errors:
        sys.exit(1)


def _tracebacks(log: Path) -> list[list[str]]:
    """The tracebacks in a server's log, each as its lines (the last 25)."""
    blocks: list[list[str]] = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Traceback"):
            blocks.append([])
        if blocks and line.strip():
            blocks[-1].append(line)
    return [block[-25:] for block in blocks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--kill-every", type=float, default=0, help="SIGKILL and restart the (first) server this often (s)")
    parser.add_argument("--postgres", action="store_true", help="sessions in a throwaway PostgreSQL server")
    parser.add_argument("--servers", type=int, default=1, help="server processes sharing the store; requests rotate")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

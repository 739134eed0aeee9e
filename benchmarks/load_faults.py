"""Load and faults: simulated people running whole interviews over HTTP, then every answer checked against
what was stored. Not part of `make test` (it runs for minutes); figures go to docs/performance.md.

    .venv/bin/python benchmarks/load_faults.py                       # 100 people, 120 s
    .venv/bin/python benchmarks/load_faults.py --kill-every 40       # the server SIGKILLed and restarted
    .venv/bin/python benchmarks/load_faults.py --postgres [--kill-every 40]   # sessions in PostgreSQL
    .venv/bin/python benchmarks/load_faults.py --postgres --servers 2 # two servers, one PostgreSQL

Each person starts an interview with a public case's text, answers every question ("I don't know", the first
choice, or the smallest number) until it finishes, and starts again. An answer counts as acknowledged when the
server answered 2xx. When a request fails (the server was killed), the person waits, reads the interview's state
again and goes on from the question being asked, as a browser reload would. At the end every interview is
exported and its stored answers compared with the acknowledged ones: an acknowledged answer must be stored, in
order; a request that died unanswered may or may not have been stored (the person then sees it as answered).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Person:
    sent: dict[str, list[tuple[str, object]]] = field(default_factory=dict)  # session -> acknowledged answers
    unsure: dict[str, int] = field(default_factory=dict)  # session -> answers whose reply was lost
    finished: int = 0
    errors: int = 0


class Server:
    def __init__(self, port: int, data: str, database_url: str | None = None):
        self.port, self.data, self.process = port, data, None
        self.database_url = database_url
        self.restarts = 0

    def start(self) -> None:
        env = {**os.environ, "SPASMO_DATA_DIR": self.data, "SPASMO_RATE_LIMIT": "0"}
        if self.database_url:
            env["SPASMO_DATABASE_URL"] = self.database_url
        self.process = subprocess.Popen([sys.executable, "-m", "spasmo", "serve", "--port", str(self.port)],
                                        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


async def person(clients: list[httpx.AsyncClient], texts: list[str], n: int, until: float, me: Person,
                 latencies: list[float]) -> None:
    turn = [n]

    async def call(method: str, url: str, **kw) -> httpx.Response | None:
        # with several servers, each request goes to the next one: an interview started on one server
        # goes on on the others, through the shared database
        client = clients[turn[0] % len(clients)]
        turn[0] += 1
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError:
            me.errors += 1
            await asyncio.sleep(0.5)
            return None
        latencies.append(time.perf_counter() - started)
        return response

    k = n
    while time.monotonic() < until:
        text = texts[k % len(texts)]
        k += 7
        started = await call("POST", "/v1/interviews", json={"text": text})
        if started is None or started.status_code != 201:
            continue  # a session that may have been created but was never seen: nothing was answered in it
        state = started.json()
        session = state["id"]
        me.sent[session] = []
        while not state["done"] and time.monotonic() < until:
            question = state["question"]
            answer = (question["id"], _value(question))
            reply = await call("POST", f"/v1/interviews/{session}/answers",
                               json={"question": answer[0], "value": answer[1]})
            if reply is not None and reply.status_code == 200:
                me.sent[session].append(answer)
                state = reply.json()
                continue
            me.unsure[session] = me.unsure.get(session, 0) + (reply is None)
            for _ in range(120):  # read the state again, as a reload would, until the server is back
                again = await call("GET", f"/v1/interviews/{session}")
                if again is not None and again.status_code == 200:
                    state = again.json()
                    stored = [(a["question"], a["value"]) for a in state["answers"]]
                    if stored[:len(me.sent[session])] == me.sent[session] and len(stored) > len(me.sent[session]):
                        me.sent[session] = stored  # the lost reply's answer was stored: the person sees it
                    break
            else:
                break
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
        limits = httpx.Limits(max_connections=args.people, max_keepalive_connections=args.people)
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{s.port}", timeout=30, limits=limits) for s in servers]
        try:
            tasks = [person(clients, texts, n, until, p, latencies) for n, p in enumerate(people)]
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
                    elif len(stored) - len(sent) > p.unsure.get(session, 0):
                        extra += 1
        finally:
            for client in clients:
                await client.aclose()
            for server in servers:
                server.stop()
            if database is not None:
                database.stop()
    ms = sorted(x * 1000 for x in latencies)
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(f"people {args.people}, {elapsed:.0f} s, {args.servers} server(s) on {store}, "
          f"server killed and restarted {servers[0].restarts} time(s)")
    print(f"requests {len(ms)} ({len(ms) / elapsed:.0f}/s), failed requests {sum(p.errors for p in people)}; "
          f"latency median {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99)]:.1f} ms")
    print(f"interviews {checked} ({sum(p.finished for p in people)} finished), acknowledged answers {answers}")
    print(f"interviews whose stored answers differ from the acknowledged ones: {lost}; "
          f"with more stored answers than unanswered requests explain: {extra}")
    if lost or extra:
        sys.exit(1)


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

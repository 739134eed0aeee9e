"""HTTP speed on loopback: POST /v1/assess beside GET /healthz of the same server, in the same run.

    make bench-web            # or: python benchmarks/web_speed.py --duration 10 --connections 16

Starts `spasmo serve` (one worker, as `make run`) on a free loopback port, warms it up, then runs
wrk (Debian's package; the POST comes from benchmarks/web/assess.lua) against /healthz and
/v1/assess in turn, twice each, and prints requests per second, p50 and p99 latency, and the
worker's resident memory (VmRSS) before and after the load, and the server's CPU time per request (from
/proc) when one client sends requests one after the other. The load is bounded in time and
goes only to 127.0.0.1. Target: assessing at least half as many requests per second as /healthz.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.web_server import Server  # noqa: E402 - the same real server as the browser tests


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(url: str, pid: int, path: str, body: bytes | None, n: int = 2000) -> float:
    """The server's CPU milliseconds per request when one client sends ``n`` requests one after the other."""
    import http.client  # noqa: PLC0415

    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    before = cpu_seconds(pid)
    for _ in range(n):
        conn.request("POST" if body else "GET", path, body, headers if body else {})
        conn.getresponse().read()
    conn.close()
    return (cpu_seconds(pid) - before) / n * 1000


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, duration: int, connections: int, threads: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "non2xx": float(errors.group(1)) if errors else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="open connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: `apt-get install wrk` (make bench-web does it)", file=sys.stderr)
        return 2
    server = Server(Path(tempfile.mkdtemp(prefix="spasmo-bench-")))
    try:
        body = b'{"text": "cramp in my calf at night"}'
        for _ in range(50):  # warm-up: first requests build the engine's lazy parts
            request = urllib.request.Request(f"{server.url}/v1/assess", body, {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=30).read()
        before = rss_mib(server.process.pid)
        results: dict[str, list[dict[str, float]]] = {"healthz": [], "assess": []}
        for _ in range(2):  # interleaved, so a drift of the machine affects both alike
            results["healthz"].append(wrk(f"{server.url}/healthz", args.duration, args.connections, args.threads, None))
            results["assess"].append(wrk(f"{server.url}/v1/assess", args.duration, args.connections, args.threads,
                                         ROOT / "benchmarks" / "web" / "assess.lua"))
        after = rss_mib(server.process.pid)
        assess_body = (ROOT / "benchmarks" / "web" / "assess.lua").read_text().split("wrk.body = '", 1)[1].rsplit("'", 1)[0]
        cpu = {
            "healthz": cpu_per_request(server.url, server.process.pid, "/healthz", None),
            "assess": cpu_per_request(server.url, server.process.pid, "/v1/assess", assess_body.encode()),
        }
    finally:
        server.stop()

    def best(name: str) -> dict[str, float]:
        return max(results[name], key=lambda r: r["rps"])

    h, a = best("healthz"), best("assess")
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, 2 runs each, best shown; "
          f"1 uvicorn worker; {os.cpu_count()} cores")
    print("| endpoint | requests/s | p50 latency | p99 latency | non-2xx |")
    print("|---|---|---|---|---|")
    print(f"| GET /healthz | {h['rps']:.0f} | {h['p50']:.2f} ms | {h['p99']:.2f} ms | {h['non2xx']:.0f} |")
    print(f"| POST /v1/assess | {a['rps']:.0f} | {a['p50']:.2f} ms | {a['p99']:.2f} ms | {a['non2xx']:.0f} |")
    ratio = a["rps"] / h["rps"]
    print(f"\nassess / healthz = {ratio:.2f} (target at least 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"worker memory (VmRSS): {before:.0f} MiB after warm-up, {after:.0f} MiB after the load")
    print(f"server CPU per request, one client sending 2,000 in a row: /healthz {cpu['healthz']:.2f} ms, "
          f"assess {cpu['assess']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long one assessment takes: in-process, and as a whole `spasmo assess` process.

Run: `make bench` (or `.venv/bin/python benchmarks/assess_speed.py`). Prints a Markdown table;
the figures in docs/performance.md come from it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import tracemalloc

TEXTS = [
    ("en", "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot."),
    ("it", "Da tre settimane ho crampi ai polpacci quasi ogni notte, non ho febbre, prendo una statina per il colesterolo."),
    ("en", "My jaw has been getting stiff since I cut my hand in the garden ten days ago, I can't open my mouth well."),
    ("it", "Mi trema la palpebra dell'occhio sinistro da giorni, bevo molti caffè e sono sotto stress al lavoro."),
]
RUNS = 30
PROCESS_RUNS = 15


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def in_process() -> tuple[float, float, float]:
    start = time.perf_counter()
    from spasmo.engine import Engine

    engine = Engine()
    load_s = time.perf_counter() - start
    for lang, text in TEXTS:  # warm caches (stems, lingua when needed)
        engine.assess_text(text, "auto")
    samples = []
    for _ in range(RUNS):
        for lang, text in TEXTS:
            t = time.perf_counter()
            engine.assess_text(text, "auto")
            samples.append(time.perf_counter() - t)
    tracemalloc.start()
    Engine()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return median_ms(samples), load_s * 1000, peak / 2**20


def process(args: list[str]) -> float:
    samples = []
    for _ in range(PROCESS_RUNS):
        t = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        samples.append(time.perf_counter() - t)
    return median_ms(samples)


def main() -> None:
    assess_ms, load_ms, peak_mb = in_process()
    baseline = process([sys.executable, "-c", "pass"])
    whole_en = process([sys.executable, "-m", "spasmo", "assess", "--format", "json", TEXTS[0][1]])
    whole_it = process([sys.executable, "-m", "spasmo", "assess", "--format", "json", TEXTS[1][1]])
    print("| measure | median |")
    print("|---|---|")
    print(f"| one assessment in-process (read + assess + report, 4 texts x {RUNS}) | {assess_ms:.2f} ms |")
    print(f"| engine start-up in-process (load and compile the knowledge base) | {load_ms:.0f} ms |")
    print(f"| peak Python memory while building the engine (tracemalloc) | {peak_mb:.1f} MiB |")
    print(f"| `python -c pass` ({PROCESS_RUNS} runs) | {baseline:.0f} ms |")
    print(f"| whole `spasmo assess` process, English text ({PROCESS_RUNS} runs) | {whole_en:.0f} ms |")
    print(f"| whole `spasmo assess` process, Italian text ({PROCESS_RUNS} runs) | {whole_it:.0f} ms |")


if __name__ == "__main__":
    main()

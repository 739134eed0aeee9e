"""How long choosing the next question takes: every step of the simulated interviews on the public cases.

Run: `make bench-interview` (or `.venv/bin/python benchmarks/interview_speed.py`). Prints a Markdown
table; the figures in docs/interview.md come from it. Each step scores every answer of every
remaining question (the expected information about the level and the cause) with numpy.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

from spasmo.engine import Engine
from spasmo.evaluation import load_cases, simulated_answer
from spasmo.interview import Interview

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5


def main() -> None:
    engine = Engine()
    start = time.perf_counter()
    planner = engine.planner
    build_ms = (time.perf_counter() - start) * 1000
    paths = sorted((ROOT / "cases").glob("*.yaml"))
    cases = load_cases(paths, set(engine.kb.conditions), set(engine.kb.findings))
    samples: list[float] = []
    for _ in range(ROUNDS):
        for case in cases:
            interview = Interview(planner, engine.evidence(engine.read(case.text, case.language)))
            while True:
                evidence, asked = interview.evidence, interview.asked
                t = time.perf_counter()
                step = planner.next(evidence, asked)
                samples.append(time.perf_counter() - t)
                if step.done:
                    break
                assert step.question is not None
                interview.answer(step.question.id, simulated_answer(step.question, case.answers))
    ms = np.array(samples) * 1000
    print("| what | figure |")
    print("|---|---|")
    print(f"| questions / answers weighed per step | {len(planner.order)} / {len(planner.owner)} |")
    print(f"| building the look-ahead arrays (once) | {build_ms:.1f} ms |")
    print(f"| next question, median | {statistics.median(ms):.2f} ms |")
    print(f"| next question, 90th percentile | {np.percentile(ms, 90):.2f} ms |")
    print(f"| steps timed | {len(ms)} ({ROUNDS} rounds of {len(cases)} cases) |")
    print(f"\nPython {sys.version.split()[0]}, numpy {np.__version__}")


if __name__ == "__main__":
    main()

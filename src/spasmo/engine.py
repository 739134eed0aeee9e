"""The one façade that every adapter (command line, evaluation, later the API and web) goes through."""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import __version__
from .interview import STOP_TEXT, Answer, Interview, Planner, Questions, Step
from .knowledge import KnowledgeBase, default_data_dir, load
from .reading import LANGUAGES, Reader, Reading, ReadingError
from .reasoning import Assessment, Evidence, Model, Observation
from .report import build_report

__all__ = ["Engine", "UnknownFindingError"]


class UnknownFindingError(KeyError):
    """A finding id that the knowledge base does not know."""

    def __str__(self) -> str:
        return str(self.args[0])


class Engine:
    """Holds the loaded knowledge base; offers ``read``, ``assess``, ``next_question`` and ``report``."""

    def __init__(self, kb: KnowledgeBase | None = None, *, data: Path | str | None = None):
        if kb is not None:
            self.kb, self.reader = kb, Reader(kb)
        else:
            self.kb, self.reader = _compiled(Path(data) if data else default_data_dir())
        self.model = Model(self.kb)

    def read(self, text: str, language: str = "auto") -> Reading:
        """Text -> the findings it states, each with its span; raises :class:`ReadingError` on bad text."""
        return self.reader.read(text, language)

    def evidence(self, reading: Reading | None = None, answers: Mapping[str, str] | None = None) -> Evidence:
        """Combine what was read with explicit answers (answers win)."""
        ev = Evidence()
        if reading is not None:
            for obs in reading.observations():
                ev.add(obs)
        for finding, state in (answers or {}).items():
            if finding not in self.kb.findings:
                raise UnknownFindingError(
                    f"unknown finding {finding!r}; `spasmo kb findings` lists the ids"
                )
            if state not in ("present", "absent"):
                raise ValueError(f"finding {finding!r}: state must be 'present' or 'absent', not {state!r}")
            ev.add(Observation(finding, state, origin="answer"))  # type: ignore[arg-type]
        return ev

    def assess(self, evidence: Evidence) -> Assessment:
        return self.model.assess(evidence)

    def report(self, assessment: Assessment, language: str) -> dict[str, Any]:
        if language not in LANGUAGES:
            raise ReadingError(f"unknown language {language!r}; use 'en' or 'it'")
        return build_report(self.kb, assessment, language)

    def assess_text(
        self, text: str, language: str = "auto", answers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Read, assess and report in one call: what ``spasmo assess`` prints as JSON."""
        reading = self.read(text, language)
        assessment = self.assess(self.evidence(reading, answers))
        return self.report(assessment, reading.language)

    # -- the interview (built on first use: only the interview needs the look-ahead arrays) ---------
    @cached_property
    def questions(self) -> Questions:
        return Questions(self.kb)

    @cached_property
    def planner(self) -> Planner:
        return Planner(self.model, self.questions)

    def next_question(self, evidence: Evidence, asked: Sequence[str] = ()) -> Step:
        """The next question to ask (red flags first, then what tells most about the level), or why to stop."""
        return self.planner.next(evidence, asked)

    def interview(self, text: str, language: str = "auto", answers: Iterable[Answer] = ()) -> tuple[Reading, Interview]:
        """Start (or, with stored ``answers``, resume) an interview from the person's description."""
        reading = self.read(text, language)
        return reading, Interview(self.planner, self.evidence(reading), list(answers))

    def interview_report(self, interview: Interview, language: str) -> dict[str, Any]:
        """The report on the evidence so far, with the questions answered and why the interview stopped."""
        report = self.report(self.assess(interview.evidence), language)
        step = interview.step()
        words = STOP_TEXT[language]
        report["interview"] = {
            "questions": len(interview.answers),
            "answers": [
                {"question": a.question, "text": self.questions[a.question].prompt(language), "value": a.value}
                for a in interview.answers
            ],
            "stopped": step.reason if step.done else None,
            "why": words[step.reason if step.done else "open"].format(
                n=len(interview.answers), cap=interview.planner.rule.cap
            ),
        }
        return report


def _fingerprint(data: Path) -> str:
    """Changes whenever a knowledge-base file or the code that compiles it changes."""
    package = Path(__file__).resolve().parent
    files = sorted(data.rglob("*.yaml")) + sorted((package / "reading").glob("*")) + sorted(
        (package / "knowledge").glob("*.py")
    )
    digest = hashlib.sha256(f"{sys.version}|{data.resolve()}".encode())
    for path in files:
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _cache_dir() -> Path | None:
    if os.environ.get("SPASMO_NO_CACHE"):
        return None
    root = os.environ.get("SPASMO_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "spasmo"


def _compiled(data: Path) -> tuple[KnowledgeBase, Reader]:
    """The validated knowledge base and the compiled lexicon, from a cache when nothing has changed.

    Validating the YAML and compiling a few thousand terms takes most of a second; the cached copy
    loads in milliseconds, which keeps a whole `spasmo assess` process fast. The cache holds only the
    knowledge base (nothing a person wrote), and any error reading or writing it means a rebuild.
    """
    folder = _cache_dir()
    path = folder / f"engine-{__version__}-{_fingerprint(data)}.pickle" if folder else None
    if path is not None and path.is_file():
        try:
            with path.open("rb") as handle:
                kb, reader = pickle.load(handle)
            if isinstance(kb, KnowledgeBase) and isinstance(reader, Reader):
                return kb, reader
        except Exception:  # noqa: BLE001 - a stale or broken cache is simply rebuilt
            pass
    kb = load(data)
    reader = Reader(kb)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("engine-*.pickle"):  # keep one compiled copy, the newest
                old.unlink(missing_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump((kb, reader), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: work without the cache
    return kb, reader

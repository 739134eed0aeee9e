"""A whole `spasmo interview` in a real terminal (tmux), in each language, as a person would use it.

tmux runs the command; send-keys types (arrow keys, Space, Enter, words) and capture-pane reads
the screen. The questions are not scripted: each one is read from the screen and checked against
the question the engine asks after the answers stored so far.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from spasmo.interview import Answer, Interview
from spasmo.storage import open_store

from .conftest import ROOT

WAIT_S = 60  # a bound on waiting for the screen, not a measure of speed

TEXTS = {
    "en": "I get a sudden painful cramp in my calf at night, about twice a week. It eases when I stretch my foot.",
    "it": "Da due settimane ho crampi al polpaccio di notte, mi passano se allungo il muscolo.",
}
BACK = {"en": "back", "it": "indietro"}
REPORT_LINE = {"en": "Questions answered:", "it": "Domande a cui hai risposto:"}


class Screen:
    """One tmux session on its own server socket, so that nothing else running tmux is touched."""

    def __init__(self, command: str):
        self.tmux = shutil.which("tmux")
        assert self.tmux, "tmux is not installed: `make test` installs it (apt-get install tmux)"
        self.socket = f"spasmo-test-{uuid.uuid4().hex[:8]}"
        self._run("new-session", "-d", "-s", "interview", "-x", "120", "-y", "50",
                  f"{command}; echo '[exited]'; sleep 600")
        self._run("set-option", "-t", "interview", "history-limit", "20000")

    def _run(self, *args: str) -> str:
        done = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "interview", *keys)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", "interview", "-l", text)
        self.keys("Enter")

    def text(self) -> str:
        return self._run("capture-pane", "-p", "-J", "-S", "-", "-t", "interview")

    def wait_for(self, found, what: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            screen = self.text()
            if found(screen):
                return screen
            time.sleep(0.1)
        pytest.fail(f"the screen never showed {what}:\n{self.text()}")

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def _pending(screen: str, number: int) -> bool:
    """The prompt of question ``number`` is on screen, waiting for an answer."""
    lines = [line for line in screen.rstrip().splitlines() if line.strip()]
    asked = [i for i, line in enumerate(lines) if line.startswith(f"{number}. ") and "→" not in line]
    return bool(asked) and lines[-1].startswith(">") and asked[-1] > max(
        (i for i, line in enumerate(lines) if "→" in line), default=-1)


@pytest.mark.parametrize("language", ["en", "it"])
def test_a_whole_interview_in_a_terminal_with_arrow_keys_typing_and_going_back(engine, tmp_path, language):
    data = tmp_path / "data"
    command = " ".join(["env", f"SPASMO_DATA_DIR={shlex.quote(str(data))}", "PYTHONIOENCODING=utf-8",
                        shlex.quote(sys.executable), "-m", "spasmo", "interview", "--lang", language])
    screen = Screen(f"cd {shlex.quote(str(ROOT))} && {command}")
    try:
        screen.wait_for(lambda s: s.rstrip().endswith(">"), "the request for a description")
        screen.type(TEXTS[language])
        went_back = False
        before_back = None
        number = 1
        while True:
            shown = screen.wait_for(lambda s: _pending(s, number) or REPORT_LINE[language] in s, f"question {number}")
            if REPORT_LINE[language] in shown:
                break
            with open_store({"SPASMO_DATA_DIR": str(data)}) as store:
                (summary,) = store.list()
                session = store.get(summary.id)
            assert len(session.answers) == number - 1
            interview = Interview(engine.planner, engine.evidence(engine.read(session.text, session.language)),
                                  [Answer(a.question, a.value) for a in session.answers])
            question = interview.step().question
            assert f"{number}. {question.prompt(language)}" in shown  # in the person's language

            if number == 2 and not went_back:
                before_back = session.answers[0].value
                screen.type(BACK[language])  # change the previous answer
                went_back = True
                number = 1
                continue
            second_time = went_back and number == 1
            if question.kind == "number":
                screen.type("46" if second_time else "45")
            elif question.kind == "several":
                if second_time:
                    screen.keys("Down")
                screen.keys("Space")  # tick the first place (the second, the second time)
                screen.keys("Enter")
            elif number % 2:
                screen.keys("Down")  # arrow keys: the second choice ("no"), or the third ("don't know")
                if second_time:
                    screen.keys("Down")
                screen.keys("Enter")
            else:
                screen.type("non so" if language == "it" else "don't know")
            number += 1

        final = screen.wait_for(lambda s: "[exited]" in s, "the end of the command")
        with open_store({"SPASMO_DATA_DIR": str(data)}) as store:
            (summary,) = store.list()
            session = store.get(summary.id)
        assert went_back and session.stopped in ("settled", "cap", "exhausted")
        assert session.answers[0].value != before_back  # going back changed the first answer
        assert re.search(rf"{REPORT_LINE[language]} {len(session.answers)}\.", final)
        assert re.search(r"== (EMERGENCY|URGENT|ROUTINE|SELF-CARE|EMERGENZA|URGENTE|NON URGENTE|GESTIONE A CASA)",
                         final)
        assert f"spasmo sessions delete {session.id}" in final
    finally:
        screen.close()

"""The interview's questions in a terminal: arrow keys or typed answers, and "back" to change the last one.

In a terminal the choices are a list: ↑/↓ move, Enter chooses, Space ticks (choose several), and
anything typed is read as an answer ("no", "2", "calf, foot", "45", "don't know"). Typing "back"
(or "indietro") goes back to the previous question. Without a terminal (a pipe, a script) the same
typed answers are read one line at a time, so an interview can be scripted.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any, TextIO

from .interview import DONT_KNOW, NONE, Question, Value

__all__ = ["BACK", "WORDS", "Terminal", "interpret"]

#: What :meth:`Terminal.ask` returns when the person wants to change the previous answer.
BACK = "back"

# Interface words, not medical content.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "yes": "yes",
        "no": "no",
        "unknown": "don't know",
        "back": "← back to the previous question",
        "hint_one": "↑/↓ and Enter, or type an answer; \"back\" changes the previous answer",
        "hint_several": "↑/↓ and Space to tick, Enter when done (nothing ticked: none of them); "
        "or type answers separated by commas; \"back\" changes the previous answer",
        "hint_number": "type a number of {unit} ({low} to {high}), or \"don't know\"; "
        "\"back\" changes the previous answer",
        "not_understood": "Not understood: {typed}. Answer with one of: {choices}.",
        "not_a_number": "Not understood: {typed}. Type a number of {unit}, for example {example}, or \"don't know\".",
        "out_of_range": "{typed} is out of range: give a number of {unit} from {low} to {high}.",
        "none_alone": "\"{none}\" cannot be chosen together with another answer.",
        "describe": "Describe your spasms or cramps in your own words (where, when, how long, what eases them, "
        "anything else you noticed), then press Enter:",
        "empty": "Please write a few words about what you feel.",
    },
    "it": {
        "yes": "sì",
        "no": "no",
        "unknown": "non so",
        "back": "← indietro alla domanda precedente",
        "hint_one": "↑/↓ e Invio, oppure scrivi la risposta; \"indietro\" cambia la risposta precedente",
        "hint_several": "↑/↓ e Spazio per spuntare, Invio per finire (niente spuntato: nessuno); "
        "oppure scrivi le risposte separate da virgole; \"indietro\" cambia la risposta precedente",
        "hint_number": "scrivi un numero di {unit} (da {low} a {high}), oppure \"non so\"; \"indietro\" cambia la "
        "risposta precedente",
        "not_understood": "Non ho capito: {typed}. Rispondi con una di queste: {choices}.",
        "not_a_number": "Non ho capito: {typed}. Scrivi un numero di {unit}, per esempio {example}, oppure \"non so\".",
        "out_of_range": "{typed} è fuori intervallo: scrivi un numero di {unit} da {low} a {high}.",
        "none_alone": "\"{none}\" non si può scegliere insieme a un'altra risposta.",
        "describe": "Descrivi i tuoi spasmi o crampi con parole tue (dove, quando, quanto durano, cosa li allevia, "
        "cos'altro hai notato), poi premi Invio:",
        "empty": "Scrivi qualche parola su cosa senti.",
    },
}

_YES = {"yes", "y", "yeah", "yep", "si", "s", "certo"}
_NO = {"no", "n", "nope"}
_DONT_KNOW = {"don't know", "dont know", "do not know", "dunno", "dk", "?", "not sure", "unknown", "non so",
              "nonso", "non lo so", "boh", "non sono sicuro", "non sono sicura"}
_BACK = {"back", "go back", "indietro", "torna indietro", "<"}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("’", "'").strip().lower())
    return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).split())


def _fmt(number: float | None) -> str:
    assert number is not None
    return str(int(number)) if float(number).is_integer() else str(number)


def _choices(question: Question, language: str) -> list[tuple[str, str]]:
    """(value, label) of each answer the question offers, in order."""
    words = WORDS[language]
    if question.kind == "yes_no":
        return [("yes", words["yes"]), ("no", words["no"])]
    return [(c.id, getattr(c.label, language)) for c in question.choices]


def interpret(question: Question, typed: str, language: str) -> Value:
    """A typed answer -> the question's value, or :data:`BACK`; raises ValueError saying what to type."""
    words = WORDS[language]
    text = _fold(typed)
    if text in _BACK:
        return BACK
    if text in _DONT_KNOW:
        return DONT_KNOW
    if question.kind == "number":
        unit = getattr(question.unit, language)
        found = re.search(r"-?\d+(?:[.,]\d+)?", text)
        if not found:
            example = _fmt((question.minimum or 0) + 1)
            raise ValueError(words["not_a_number"].format(typed=typed.strip() or '""', unit=unit, example=example))
        number = float(found.group(0).replace(",", "."))
        if not question.minimum <= number <= question.maximum:  # type: ignore[operator]
            raise ValueError(words["out_of_range"].format(typed=found.group(0), unit=unit, low=_fmt(question.minimum),
                                                          high=_fmt(question.maximum)))
        return number
    options = _choices(question, language)
    if question.kind == "yes_no":
        if text in _YES:
            return "yes"
        if text in _NO:
            return "no"
    parts = [p for p in re.split(r"\s*[,;]\s*", text) if p] if question.kind == "several" else [text]
    chosen = [_match(part, options) for part in parts]
    if not parts or None in chosen:
        names = [label for _, label in options] + [words["unknown"]]
        raise ValueError(words["not_understood"].format(typed=typed.strip() or '""', choices=", ".join(names)))
    if question.kind != "several":
        return chosen[0]  # type: ignore[return-value]
    if NONE in chosen and len(set(chosen)) > 1:
        none = next(label for value, label in options if value == NONE)
        raise ValueError(words["none_alone"].format(none=none))
    return [value for value, _ in options if value in chosen]


def _match(part: str, options: list[tuple[str, str]]) -> str | None:
    """A typed part -> the value of the one option it names: its number, its id, its label or a unique piece of it."""
    if part.isdigit() and 1 <= int(part) <= len(options):
        return options[int(part) - 1][0]
    for value, label in options:
        if part in (_fold(value), _fold(label)):
            return value
    hits = [value for value, label in options if part in _fold(label)]
    return hits[0] if len(hits) == 1 else None


class Terminal:
    """Asks questions in the person's language; a list with arrow keys in a terminal, lines otherwise."""

    def __init__(self, language: str, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 interactive: bool | None = None):
        self.language = language
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        if interactive is None:
            interactive = self.stdin.isatty() and self.stdout.isatty()
        self.interactive = interactive

    @property
    def words(self) -> dict[str, str]:
        return WORDS[self.language]

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    # -- free text -------------------------------------------------------------------------------
    def ask_text(self, message: str) -> str:
        """One line of free text; raises EOFError at the end of input, KeyboardInterrupt on Ctrl-C."""
        self.say(message)
        if self.interactive:
            from prompt_toolkit import prompt  # noqa: PLC0415 - only in a terminal

            return prompt("> ")
        line = self.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    # -- a question ------------------------------------------------------------------------------
    def ask(self, question: Question, number: int, can_go_back: bool) -> Value:
        """Ask until the answer is understood; returns the value, or BACK."""
        title = f"{number}. {question.prompt(self.language)}"
        if self.interactive:
            value = self._ask_in_terminal(question, title, can_go_back)
        else:
            value = self._ask_by_lines(question, title)
        self.say(f"{title} → {self.describe(question, value)}")
        return value

    def describe(self, question: Question, value: Any) -> str:
        """An answer in words, as the person would read it."""
        words = self.words
        if value == BACK:
            return words["back"]
        if value == DONT_KNOW:
            return words["unknown"]
        if question.kind == "number":
            return f"{_fmt(value)} {getattr(question.unit, self.language)}"
        labels = dict(_choices(question, self.language))
        if question.kind == "several":
            return ", ".join(labels[v] for v in value) or next(
                (label for v, label in labels.items() if v == NONE), "-")
        return labels[value]

    def _hint(self, question: Question) -> str:
        words = self.words
        if question.kind == "number":
            return words["hint_number"].format(unit=getattr(question.unit, self.language), low=_fmt(question.minimum),
                                               high=_fmt(question.maximum))
        return words["hint_several"] if question.kind == "several" else words["hint_one"]

    def _ask_by_lines(self, question: Question, title: str) -> Value:
        self.say(title)
        for n, (_, label) in enumerate(_choices(question, self.language) if question.kind != "number" else [], 1):
            self.say(f"  {n}) {label}")
        self.say(f"  ({self._hint(question)})")
        while True:
            line = self.stdin.readline()
            if not line:
                raise EOFError
            try:
                return interpret(question, line, self.language)
            except ValueError as exc:
                self.say(str(exc))

    def _ask_in_terminal(self, question: Question, title: str, can_go_back: bool) -> Value:
        from prompt_toolkit.application import Application  # noqa: PLC0415 - only in a terminal
        from prompt_toolkit.buffer import Buffer  # noqa: PLC0415
        from prompt_toolkit.key_binding import KeyBindings  # noqa: PLC0415
        from prompt_toolkit.filters import Condition  # noqa: PLC0415
        from prompt_toolkit.layout import ConditionalContainer, HSplit, Layout, Window  # noqa: PLC0415
        from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl  # noqa: PLC0415

        words = self.words
        several = question.kind == "several"
        entries: list[tuple[str, str]] = []
        if question.kind != "number":
            entries = _choices(question, self.language) + [(DONT_KNOW, words["unknown"])]
            if can_go_back:
                entries.append((BACK, words["back"]))
        state: dict[str, Any] = {"pointer": 0, "ticked": set(), "error": ""}
        buffer = Buffer(multiline=False)
        bindings = KeyBindings()

        def listing() -> list[tuple[str, str]]:
            out: list[tuple[str, str]] = []
            for i, (value, label) in enumerate(entries):
                here = i == state["pointer"]
                box = ""
                if several and value not in (DONT_KNOW, BACK):
                    box = "[x] " if value in state["ticked"] else "[ ] "
                out.append(("reverse" if here else "", f"{'❯' if here else ' '} {box}{label}"))
                out.append(("", "\n"))
            return out

        def finish(event: Any, value: Value) -> None:
            event.app.exit(result=value)

        @bindings.add("up")
        def _up(event: Any) -> None:
            if entries:
                state["pointer"] = (state["pointer"] - 1) % len(entries)

        @bindings.add("down")
        def _down(event: Any) -> None:
            if entries:
                state["pointer"] = (state["pointer"] + 1) % len(entries)

        @bindings.add("space")
        def _space(event: Any) -> None:
            value = entries[state["pointer"]][0] if entries else None
            if several and not buffer.text and value not in (None, DONT_KNOW, BACK):
                state["ticked"] ^= {value}
                if value == NONE:
                    state["ticked"] &= {NONE}
                else:
                    state["ticked"].discard(NONE)
            else:
                buffer.insert_text(" ")

        @bindings.add("enter")
        def _enter(event: Any) -> None:
            if buffer.text.strip():
                try:
                    value = interpret(question, buffer.text, self.language)
                except ValueError as exc:
                    state["error"] = str(exc)
                    buffer.reset()
                    return
                if value == BACK and not can_go_back:
                    buffer.reset()
                    return
                finish(event, value)
                return
            if not entries:
                state["error"] = self._hint(question)
                return
            pointed = entries[state["pointer"]][0]
            if several and pointed not in (DONT_KNOW, BACK):
                ticked = state["ticked"]
                finish(event, [v for v, _ in entries if v in ticked])
                return
            finish(event, pointed)

        @bindings.add("c-c")
        def _interrupt(event: Any) -> None:
            event.app.exit(exception=KeyboardInterrupt())

        @bindings.add("c-d")
        def _end(event: Any) -> None:
            if not buffer.text:
                event.app.exit(exception=EOFError())

        prompt_window = Window(BufferControl(buffer), height=1, get_line_prefix=lambda *_: "> ")
        layout = HSplit([
            Window(FormattedTextControl(title), wrap_lines=True, dont_extend_height=True),
            ConditionalContainer(Window(FormattedTextControl(listing), dont_extend_height=True),
                                 filter=Condition(lambda: bool(entries))),
            Window(FormattedTextControl(lambda: f"({self._hint(question)})"), wrap_lines=True, dont_extend_height=True,
                   style="italic"),
            prompt_window,
            Window(FormattedTextControl(lambda: state["error"]), wrap_lines=True, dont_extend_height=True,
                   style="bold"),
        ])
        app: Application[Value] = Application(layout=Layout(layout, focused_element=prompt_window),
                                              key_bindings=bindings, erase_when_done=True)
        return app.run()


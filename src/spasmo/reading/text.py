"""Text into tokens: normalised words with their Snowball stems, spans and accents kept for cues.

Also the cue lists (``cues.yaml``) and the errors a text can raise.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Literal, NamedTuple

import snowballstemmer
import yaml

__all__ = [
    "LANGUAGES", "MAX_CHARS", "Lang", "ReadingError", "Token",
    "DIGIT", "cues", "fold", "is_word", "needs_text", "required_strings", "stem", "stopset", "strip_accents", "tokenize",
]

LANGUAGES = ("en", "it")
MAX_CHARS = 10_000
Lang = Literal["en", "it"]

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*['’]?|\d+(?:[.,]\d+)?|[.,;:!?()]")
_PUNCT = set(".,;:!?()")
_POSSESSIVES = {"en": frozenset({"my", "mine"}), "it": frozenset({"mio", "mia", "miei", "mie"})}
_NUMBER_WORDS = frozenset(
    "a an one two three four five six seven eight nine ten twenty thirty once twice half few couple "
    "un uno una due tre quattro cinque sei sette otto nove dieci venti trenta mezzo mezza qualche".split()
)
# people often type English contractions without the apostrophe
_EN_CONTRACTIONS = {
    w.replace("'", ""): w
    for w in ("can't", "don't", "doesn't", "didn't", "haven't", "hasn't", "hadn't", "isn't", "wasn't", "aren't",
              "weren't", "won't", "wouldn't", "couldn't", "shouldn't", "ain't", "i'm", "i've", "i'd", "it's")
}
_STEMMER_NAMES = {"en": "english", "it": "italian"}
#: a Snowball stemmer keeps the word it is working on in itself, so two threads that share one garble each
#: other's words (the server reads texts on several threads): each thread has stemmers of its own
_THREAD = threading.local()


class ReadingError(ValueError):
    """The text cannot be read; the message says what to change."""


class Token(NamedTuple):  # a named tuple: a text makes dozens of these, and tuples are built fastest
    text: str  # normalised (lower case, no accents, straight apostrophes)
    stem: str
    start: int
    end: int
    punct: bool
    stop: bool
    word: str = ""  # lower case with its accents: cues such as "né" or "è" depend on them



def strip_accents(text: str) -> str:
    """Drop accents character by character, keeping the length: spans are offsets into the text."""
    if text.isascii():  # most texts: nothing to strip
        return text
    return "".join(_plain(ch) for ch in text)


@lru_cache(maxsize=4096)
def _plain(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if len(base) == 1 else ch  # "¼" would widen to "1/4": keep it as it is


def _lower(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch  # "İ" lower-cases to two characters: keep it


def fold(text: str) -> str:
    """Lower case, straight apostrophes, no accents; always as long as ``text`` (offsets stay valid)."""
    # people often drop Italian accents ("perche", "e'"), so accents are dropped on both sides
    text = text.replace("’", "'").replace("`", "'")
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(_lower(ch) for ch in text)
    return strip_accents(lowered)


@lru_cache(maxsize=1)
def cues() -> dict:
    raw = (resources.files("spasmo.reading") / "cues.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(raw)


@lru_cache(maxsize=2)
def stopset(lang: str) -> frozenset[str]:
    return frozenset(fold(w) for w in cues()[lang]["stopwords"])


@lru_cache(maxsize=10_000)
def is_word(word: str, lang: str) -> bool:
    import simplemma  # noqa: PLC0415 - its dictionary loads in about 0.3 s; only when a typo is suspected

    return simplemma.is_known(word, lang=lang)


@lru_cache(maxsize=50_000)
def stem(lang: str, word: str) -> str:
    stemmers = getattr(_THREAD, "stemmers", None)
    if stemmers is None:
        stemmers = _THREAD.stemmers = {code: snowballstemmer.stemmer(name) for code, name in _STEMMER_NAMES.items()}
    return stemmers[lang].stemWord(word)


def tokenize(text: str, lang: Lang) -> list[Token]:
    folded = fold(text)
    raw_text = text.replace("’", "'").replace("`", "'")
    lowered = raw_text.lower() if len(raw_text.lower()) == len(raw_text) else "".join(_lower(c) for c in raw_text)
    aligned = len(lowered) == len(folded)
    stops = stopset(lang)
    tokens: list[Token] = []
    for m in _TOKEN.finditer(folded):
        raw = m.group(0)
        start = m.start()
        if raw in _PUNCT:
            tokens.append(Token(raw, raw, start, m.end(), True, False, raw))
            continue
        parts = [raw]
        if lang == "it" and "'" in raw.rstrip("'"):
            # elision: dall'addome -> dall' + addome
            left, _, right = raw.partition("'")
            parts = [left + "'", right]
        if lang == "en" and raw in _EN_CONTRACTIONS:
            parts = [_EN_CONTRACTIONS[raw]]
        offset = start
        for part in parts:
            end = offset + len(part.replace("'", "")) if raw in _EN_CONTRACTIONS else offset + len(part)
            is_stop = part in stops or part.rstrip("'") in stops
            word = lowered[offset:end] if aligned and raw not in _EN_CONTRACTIONS else part
            tokens.append(Token(part, stem(lang, part.rstrip("'")), offset, end, False, is_stop, word))
            offset = end
    return tokens


#: stands for "any digit" among the strings a pattern needs; `needs_text` appends it to a text with digits
DIGIT = "\x00\x00"


def needs_text(folded: str) -> str:
    """The text in which to look for the strings a pattern needs: itself, marked when it holds a digit."""
    return folded + DIGIT if any(ch.isdigit() for ch in folded) else folded


def required_strings(pattern: str) -> frozenset[str] | None:
    """Literal strings of which every match of ``pattern`` contains at least one, or None if unknown.

    The reader runs a few dozen number and duration patterns on each text; checking first that one of
    these strings is in the text (a fast substring test) skips most of them. Derived from the parsed
    pattern, so it cannot drift from it: literal runs, groups, alternatives (each must yield a set) and
    repeats of at least one; anything else (classes, optional parts, look-arounds) gives no constraint.
    Only sets whose every string has at least two characters are used.
    """
    try:
        from re import _constants as sre, _parser  # noqa: PLC0415 - the stdlib's own regex parser

        parsed = _parser.parse(pattern)
    except Exception:  # noqa: BLE001 - any trouble means no shortcut, never a wrong one
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None

    def within(sequence) -> set[str] | None:  # type: ignore[no-untyped-def]
        options: list[set[str]] = []
        run = ""
        for op, av in sequence:
            if op is sre.LITERAL:
                run += chr(av)
                continue
            if run:
                options.append({run})
                run = ""
            found: set[str] | None = None
            if op is sre.SUBPATTERN:
                found = within(av[-1])
            elif op is sre.BRANCH:
                branches = [within(b) for b in av[1]]
                found = None if any(b is None for b in branches) else set().union(*branches)  # type: ignore[arg-type]
            elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
                found = within(av[2])
            elif op is sre.IN and list(av) == [(sre.CATEGORY, sre.CATEGORY_DIGIT)]:
                found = {DIGIT}  # \d: the text must hold a digit (see `needs_text`)
            if found is not None:
                options.append(found)
        if run:
            options.append({run})
        return max(options, key=lambda o: min(map(len, o))) if options else None

    found = within(list(parsed))
    return frozenset(found) if found and min(map(len, found)) >= 2 else None

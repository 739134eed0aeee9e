"""Which language a text is in: English or Italian, and a clear refusal of others."""

from __future__ import annotations

import re
from functools import lru_cache

from .text import LANGUAGES, Lang, fold, stopset

__all__ = ["detect_language", "foreign_language"]

_OTHER_LANGUAGES = ("FRENCH", "GERMAN", "SPANISH", "PORTUGUESE", "DUTCH", "ROMANIAN", "POLISH", "ALBANIAN",
                    "ARABIC", "RUSSIAN", "UKRAINIAN", "CHINESE", "TURKISH")


@lru_cache(maxsize=1)
def _detector():
    from lingua import Language, LanguageDetectorBuilder  # noqa: PLC0415 - only when function words do not decide

    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.ITALIAN).build()


@lru_cache(maxsize=1)
def _wide_detector():
    from lingua import Language, LanguageDetectorBuilder  # noqa: PLC0415 - slow to build; only on the error path

    languages = [Language.ENGLISH, Language.ITALIAN] + [getattr(Language, name) for name in _OTHER_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()


@lru_cache(maxsize=1)
def _distinctive() -> dict[str, frozenset[str]]:
    """Function words of one language that are not also words of the other ("a", "in" are both)."""
    en, it = stopset("en"), stopset("it")
    return {"en": en - it, "it": it - en}


def _stop_scores(text: str) -> tuple[dict[str, int], int]:
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", text)]
    marks = _distinctive()
    return {lang: sum(1 for w in words if w in marks[lang]) for lang in LANGUAGES}, len(words)


def detect_language(text: str) -> Lang:
    """English or Italian: function words first (cheap, decisive on most texts), then lingua."""
    score, _ = _stop_scores(text)
    if score["en"] >= 2 * score["it"] + 2:
        return "en"
    if score["it"] >= 2 * score["en"] + 2:
        return "it"
    found = _detector().detect_language_of(text)
    if found is not None:
        return "it" if found.name == "ITALIAN" else "en"
    return "it" if score["it"] > score["en"] else "en"


def foreign_language(text: str) -> str | None:
    """The name of the language a text is clearly written in, when it is neither English nor Italian."""
    score, n_words = _stop_scores(text)
    if n_words < 4 or max(score.values()) >= 0.25 * n_words:
        return None
    found = _wide_detector().detect_language_of(text)
    if found is None or found.name in ("ENGLISH", "ITALIAN"):
        return None
    return found.name.title()

"""Reading is safe on several threads at once: the server reads texts on a pool of threads.

A Snowball stemmer keeps the word it is working on in itself; shared by two threads, it garbled their
words (an IndexError, a 500, seen once in a two-server load run, or, worse, a wrong stem and so another
reading and another next question). Each thread now has stemmers of its own.
"""

from __future__ import annotations

import random
import string
import sys
import threading

import snowballstemmer

from spasmo.reading import text as reading_text

SUFFIXES = ["ational", "fulness", "iveness", "ization", "ements", "mente", "azione", "amento", "ically", "ousness"]


def _words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) + rng.choice(SUFFIXES) for _ in range(n)]


def _lang(i: int) -> str:
    return "en" if i % 2 else "it"


def test_stemming_on_many_threads_at_once_gives_the_same_stems_as_one_thread():
    reading_text.stem.cache_clear()  # every word below reaches the stemmer, none comes from the cache
    words = [_words(3000, seed) for seed in range(8)]
    stemmers = {"en": snowballstemmer.stemmer("english"), "it": snowballstemmer.stemmer("italian")}
    expected = {  # one thread, before the others start
        (lang, word): stemmers[lang].stemWord(word) for i, batch in enumerate(words) for lang in [_lang(i)] for word in batch
    }
    start = threading.Barrier(len(words))
    wrong: list[tuple[str, str, str]] = []
    failures: list[BaseException] = []

    def work(batch: list[str], lang: str) -> None:
        start.wait()
        try:
            for word in batch:
                got = reading_text.stem(lang, word)
                if got != expected[lang, word]:
                    wrong.append((lang, word, got))
        except BaseException as exc:  # noqa: BLE001 - collected and checked below
            failures.append(exc)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, so that a shared stemmer would be caught
    try:
        threads = [threading.Thread(target=work, args=(batch, _lang(i))) for i, batch in enumerate(words)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
        reading_text.stem.cache_clear()
    assert failures == []
    assert wrong == []

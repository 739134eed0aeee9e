"""Reading what people write: text in English or Italian -> findings with their state and span.

Lexicon terms from the knowledge base are matched on Snowball stems (fast, no dictionary to load,
and forgiving of inflection: crampo/crampi, cramp/cramping), after function words are dropped.
Negation, uncertainty, who a sentence is about and the past are found from cue lists kept as data
(``cues.yaml``); numbers, durations and frequencies are turned into findings by patterns in the same
file. Tokens live in ``text.py``, the language in ``language.py``, the lexicon check in ``check.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable, Literal, NamedTuple

from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import extractOne

from ..knowledge import KnowledgeBase
from ..reasoning import Observation
from .check import lexicon_problems
from .language import detect_language, foreign_language
from .text import (
    _NUMBER_WORDS,
    _POSSESSIVES,
    LANGUAGES,
    MAX_CHARS,
    Lang,
    ReadingError,
    needs_text,
    required_strings,
    Token,
    cues,
    strip_accents,
    fold,
    is_word,
    stem,
    tokenize,
)

__all__ = [
    "LANGUAGES",
    "MAX_CHARS",
    "Match",
    "Reading",
    "Reader",
    "ReadingError",
    "detect_language",
    "lexicon_problems",
]


@dataclass(frozen=True)
class Match:
    finding: str
    state: Literal["present", "absent"]
    start: int
    end: int
    text: str
    cue: str | None = None


class Pattern(NamedTuple):
    """A regular expression of cues.yaml that turns a number, a duration or a wording into a finding."""

    finding: str
    regex: re.Pattern[str]
    low: float | None  # bounds of the captured number `n`
    high: float | None
    needs: frozenset[str] | None  # strings of which the text must hold one for the regex to be worth running
    state: Literal["present", "absent"]  # what a match says of the finding ("2/10": severe pain absent)


@dataclass(frozen=True)
class Reading:
    language: Lang
    matches: tuple[Match, ...]

    def observations(self) -> list[Observation]:
        """One observation per finding: the first mention; a later plain mention beats a negated one."""
        chosen: dict[str, Match] = {}
        for m in self.matches:
            if m.finding not in chosen or (chosen[m.finding].state == "absent" and m.state == "present"):
                chosen[m.finding] = m
        return [
            Observation(m.finding, m.state, origin="text", span=(m.start, m.end), text=m.text)
            for m in sorted(chosen.values(), key=lambda m: m.start)
        ]


class Reader:
    """Compiled lexicon for both languages; build once per knowledge base."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        spec_all = cues()
        self.index: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
        self.index2: dict[str, dict[str, tuple[list, dict[str, list]]]] = {}
        self.known: dict[str, frozenset[str]] = {}
        self.vocabulary: dict[str, dict[str, list[str]]] = {}
        self._corrections: dict[tuple[str, str], str] = {}
        self.negation: dict[str, frozenset[str]] = {}
        self.pseudo: dict[str, list[tuple[str, ...]]] = {}
        self.inability: dict[str, list[tuple[str, ...]]] = {}
        self.real_negation: dict[str, list[tuple[str, ...]]] = {}
        self.double_negation: dict[str, frozenset[str]] = {}
        self.first_person_object: dict[str, frozenset[str]] = {}
        self.idioms: dict[str, dict[str, list[tuple[tuple[str, ...], str | None]]]] = {}
        self.stem_overrides: dict[str, dict[str, str]] = {}
        self.terminators: dict[str, frozenset[str]] = {}
        self.window: dict[str, int] = {}
        self.patterns: dict[str, list[Pattern]] = {}
        self.needles: dict[str, tuple[str, ...]] = {}
        self.exclusive: dict[str, set[str]] = {}
        self.post_negation: dict[str, frozenset[str]] = {}
        self.post_negation_words: dict[str, int] = {}
        self.answers_no: dict[str, frozenset[str]] = {}
        self.uncertainty: dict[str, list[tuple[str, ...]]] = {}
        self.belief: dict[str, dict[str, list[tuple[str, ...]]]] = {}  # first word -> phrases
        self.lists: dict[str, _ListCues] = {}
        self.relatives: dict[str, frozenset[str]] = {}
        self.first_person: dict[str, frozenset[str]] = {}
        self.third_person: dict[str, frozenset[str]] = {}
        self.nobody: dict[str, frozenset[str]] = {}
        self.past: dict[str, dict[str, list[tuple[str, ...]]]] = {}  # first word -> phrases
        self.onset: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        # red flags are kept even when the writer is unsure of them (the same set the reasoning uses)
        self.red_flags = {f for rule in kb.rules.values() if rule.level in ("emergency", "urgent") for f in rule.red_flags}
        # a longer phrase hides a shorter one it contains when their findings exclude each other, or when
        # the longer one narrows the shorter ("eyelid twitch" is not also twitching in general)
        self.hidden_by: dict[str, set[str]] = {}
        for finding in kb.findings.values():
            for other in finding.excludes:
                self.exclusive.setdefault(finding.id, set()).add(other)
                self.exclusive.setdefault(other, set()).add(finding.id)
                self.hidden_by.setdefault(other, set()).add(finding.id)
                self.hidden_by.setdefault(finding.id, set()).add(other)
            for broader in finding.narrows:
                self.hidden_by.setdefault(broader, set()).add(finding.id)
        for lang in LANGUAGES:
            # words whose stem would make them another word of the lexicon, in the terms as in the texts
            self.stem_overrides[lang] = {fold(w): s for w, s in (spec_all[lang].get("stem_overrides") or {}).items()}
            overrides = self.stem_overrides[lang]
            index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
            for finding in kb.findings.values():
                for term in getattr(finding.terms, lang):
                    stems = tuple(overrides.get(t.text, t.stem) for t in tokenize(term, lang) if not t.stop and not t.punct)
                    if not stems:
                        continue
                    index.setdefault(stems[0], []).append((stems, finding.id))
            for entries in index.values():
                entries.sort(key=lambda e: -len(e[0]))
            self.index[lang] = index
            # the same terms keyed by their first two stems, so a text is checked only against terms whose
            # second word it contains (a set intersection) instead of every term that starts with a word
            split: dict[str, tuple[list[tuple[int, tuple[str, ...], str]], dict[str, list]]] = {}
            for first, entries in index.items():
                single: list[tuple[int, tuple[str, ...], str]] = []
                by_second: dict[str, list[tuple[int, tuple[str, ...], str]]] = {}
                for rank, (stems, finding) in enumerate(entries):
                    if len(stems) == 1:
                        single.append((rank, stems, finding))
                    else:
                        by_second.setdefault(stems[1], []).append((rank, stems, finding))
                split[first] = (single, by_second)
            self.index2[lang] = split
            self.known[lang] = frozenset(stem for entries in index.values() for stems, _ in entries for stem in stems)
            words: dict[str, list[str]] = {}  # first two letters -> lexicon words of six letters or more
            for finding in kb.findings.values():
                for term in getattr(finding.terms, lang):
                    for tok in tokenize(term, lang):
                        if not tok.stop and not tok.punct and len(tok.text) >= 6 and tok.text.isalpha():
                            words.setdefault(tok.text[:2], []).append(tok.text)
            self.vocabulary[lang] = {k: sorted(set(v)) for k, v in words.items()}
            spec = spec_all[lang]
            self.negation[lang] = frozenset(w.lower() for w in spec["negation"])
            self.pseudo[lang] = [tuple(fold(p).split()) for p in spec.get("pseudo_negation", [])]
            self.inability[lang] = [tuple(t.text for t in tokenize(p, lang)) for p in spec.get("inability", [])]
            self.real_negation[lang] = [tuple(fold(p).split()) for p in spec.get("not_pseudo", [])]
            self.double_negation[lang] = frozenset(fold(w) for w in spec.get("double_negation", []))
            self.terminators[lang] = frozenset(w.lower() for w in spec["terminators"])
            self.window[lang] = int(spec.get("window", 6))
            self.post_negation[lang] = frozenset(w.lower() for w in spec.get("post_negation", []))
            self.post_negation_words[lang] = max((len(w.split()) for w in self.post_negation[lang]), default=0)
            # a one-word answer to the writer's own question that denies it ("Swelling? No.", "Not that I know")
            self.answers_no[lang] = frozenset(w for w in self.post_negation[lang] if " " not in w) | frozenset(
                w.lower() for w in spec.get("answers_no", [])
            )
            self.uncertainty[lang] = [tuple(fold(p).split()) for p in spec.get("uncertainty", [])]
            self.belief[lang] = {}
            for p in spec.get("belief", []):
                words = tuple(t.text for t in tokenize(p, lang))
                self.belief[lang].setdefault(words[0], []).append(words)
            self.lists[lang] = _ListCues(*(
                frozenset(fold(w) for w in spec.get(key, [])) for key in ("list_closers", "list_breakers", "not_an_item")
            ))
            self.relatives[lang] = frozenset(fold(w) for w in spec.get("relatives", []))
            self.first_person[lang] = frozenset(fold(w) for w in spec.get("first_person", []))
            self.third_person[lang] = frozenset(fold(w) for w in spec.get("third_person", []))
            self.first_person_object[lang] = frozenset(fold(w) for w in spec.get("first_person_object", []))
            self.idioms[lang] = {}  # first word -> (the idiom's words, the finding it stands for or None)
            for p, finding in (spec.get("idioms") or {}).items():
                words = tuple(t.text for t in tokenize(p, lang))
                self.idioms[lang].setdefault(words[0], []).append((words, finding))
            self.nobody[lang] = frozenset(w.lower() for w in spec.get("nobody", []))
            self.past[lang] = _by_first_word([tuple(t.text for t in tokenize(p, lang)) for p in spec.get("past", [])])
            self.onset[lang] = _by_first_word([tuple(t.text for t in tokenize(p, lang)) for p in spec.get("onset", [])])
            self.patterns[lang] = [
                Pattern(p["finding"], re.compile(strip_accents(p["regex"])), p.get("min"), p.get("max"),
                        required_strings(strip_accents(p["regex"])), p.get("state", "present"))
                for p in spec_all["patterns"][lang]
                if p["finding"] in kb.findings
            ]
            # every string some pattern needs: one pass over these per text tells which patterns can match
            self.needles[lang] = tuple(sorted({n for p in self.patterns[lang] if p.needs for n in p.needs}))

    def read(self, text: str, language: str = "auto") -> Reading:
        if not isinstance(text, str) or not text.strip():
            raise ReadingError("the description is empty; describe your spasms or cramps in a few words")
        if len(text) > MAX_CHARS:
            raise ReadingError(
                f"the description is {len(text):,} characters long; spasmo reads at most {MAX_CHARS:,}. "
                "Shorten it to the main points."
            )
        if language == "auto":
            lang: Lang = detect_language(text)
        elif language in LANGUAGES:
            lang = language  # type: ignore[assignment]
        else:
            raise ReadingError(f"unknown language {language!r}; use 'en', 'it' or 'auto'")
        tokens = [self._correct(t, lang) for t in tokenize(text, lang)]
        layout = _Layout(text, tokens)
        lexicon = self._times_of_symptoms(layout, self._lexicon(tokens, lang, text))
        matches = self._outside_idioms(tokens, lang, lexicon + self._patterns(text, layout, lang, lexicon))
        matches = self._in_context(layout, lang, self._body_parts_of_symptoms(layout, matches))
        matches += self._implied(matches)
        if language == "auto" and not matches:
            other = foreign_language(text)
            if other:
                raise ReadingError(
                    f"this text looks like {other}; spasmo reads English and Italian. Write the description "
                    "in English or Italian, or pass --lang en or --lang it to read it as one of them."
                )
        matches.sort(key=lambda m: (m.start, m.end))
        return Reading(lang, tuple(matches))

    def _outside_idioms(self, tokens: list[Token], lang: Lang, matches: list[Match]) -> list[Match]:
        """Drop what was read only from words inside an everyday idiom ("called in sick" is not vomiting, "when I
        had a cold" is not the cold); a match with a word of its own outside the idiom ("male da morire") stays, and
        so does the one finding an idiom may stand for ("called in sick": daily life)."""
        idioms = self.idioms[lang]
        if not idioms:
            return matches
        texts = [t.text for t in tokens]
        spans = [
            (tokens[i].start, tokens[i + len(p) - 1].end, finding)
            for i, word in enumerate(texts)
            for p, finding in idioms.get(word, ())
            if tuple(texts[i : i + len(p)]) == p
        ]
        if not spans:
            return matches
        content = [t for t in tokens if not t.stop and not t.punct]

        def only_idiom_words(m: Match) -> bool:
            words = [t for t in content if m.start <= t.start and t.end <= m.end]
            inside = [any(a <= t.start and t.end <= b for a, b, _ in spans) for t in words]
            if not words or not all(inside):
                return False
            return not any(finding == m.finding for a, b, finding in spans if a < m.end and m.start < b)

        return [m for m in matches if not only_idiom_words(m)]

    # -- typos ------------------------------------------------------------------------------
    def _correct(self, token: Token, lang: Lang) -> Token:
        """A misspelt word takes the stem of the lexicon word it is one edit from.

        Conservative on purpose, so that real words are not turned into findings: only words of six
        letters or more whose stem the lexicon does not know, only towards a lexicon word of similar
        length with the same first two letters, only one edit away (two for twelve letters or more), and
        only when the word is not in simplemma's dictionary of the language (so "chiedo" stays "chiedo"
        and does not become "chiodo").
        """
        override = self.stem_overrides[lang].get(token.text)
        if override is not None:
            return token._replace(stem=override)
        if token.punct or token.stop or len(token.text) < 6 or not token.text.isalpha():
            return token
        if token.stem in self.known[lang]:
            return token
        key = (lang, token.text)
        corrected = self._corrections.get(key)
        if corrected is None:
            corrected = token.stem
            limit = 2 if len(token.text) >= 12 else 1
            candidates = self.vocabulary[lang].get(token.text[:2], [])
            best = extractOne(token.text, candidates, scorer=Levenshtein.distance, score_cutoff=limit)
            if best is not None and not is_word(token.text, lang):
                target = stem(lang, best[0])
                # not when a real word outside the lexicon is as close ("matine" is "mattine", mornings, not
                # "manine", little hands): the intended word must be unambiguous
                if not _another_word_one_edit_away(token.text, lang, self.known[lang]):
                    corrected = target
            self._corrections[key] = corrected
        if corrected == token.stem:
            return token
        return token._replace(stem=corrected)

    # -- lexicon matching ---------------------------------------------------------------
    def _lexicon(self, tokens: list[Token], lang: Lang, original: str) -> list[Match]:
        content = [i for i, t in enumerate(tokens) if not t.punct and not t.stop]
        text_stems = {tokens[i].stem for i in content}
        punct_before = [0]  # punct_before[i]: how many punctuation tokens come before token i
        for tok in tokens:
            punct_before.append(punct_before[-1] + tok.punct)
        index = self.index2[lang]
        found: list[tuple[int, int, int, str]] = []  # (first token, last token, n stems, finding)
        gap_cue: dict[tuple[int, str], str] = {}
        clean: set[tuple[int, str]] = set()  # a term of the finding matched there with no cue in its gaps
        for ci, ti in enumerate(content):
            entry = index.get(tokens[ti].stem)
            if entry is None:
                continue
            single, by_second = entry
            candidates = [c for second in by_second.keys() & text_stems for c in by_second[second]]
            if candidates:
                candidates = sorted(candidates + single)  # longest terms first, as in the index
            else:
                candidates = single
            for _, stems, finding in candidates:
                if len(stems) > 2 and not text_stems.issuperset(stems[2:]):
                    continue  # a word of the term is nowhere in the text
                matched = _match_from(tokens, content, ci, stems, self.negation[lang], punct_before)
                if matched is not None:
                    found.append((ti, matched[0], len(stems), finding))
                    if matched[1] and (
                        self._double_negation_between(tokens, ti, matched[0], matched[1], lang)
                        or any(s in self.negation[lang] or s.endswith("n't") for s in stems)
                    ):
                        # "night [without] cramps" after "never", or a term that holds its own negation ("non
                        # riesce [nemmeno] ad alzarsi"): the word in the gap is emphasis, not a denial
                        matched = (matched[0], None)
                    if matched[1]:
                        gap_cue.setdefault((ti, finding), matched[1])
                    else:
                        clean.add((ti, finding))
        # a longer phrase wins over one it contains only when the two findings exclude each other
        # ("stretching doesn't help" over "stretching"); otherwise both stand ("swollen calf": calf too)
        by_finding: dict[str, list[tuple[int, int, int, str]]] = {}
        for f in found:
            by_finding.setdefault(f[3], []).append(f)
        kept = [
            f for f in found
            if not any(
                g[0] <= f[0] and f[1] <= g[1] and (g[1] - g[0] > f[1] - f[0] or g[2] > f[2])
                for other in self.hidden_by.get(f[3], ())
                for g in by_finding.get(other, ())
            )
        ]
        covered = [False] * len(tokens)
        for a, b, _, _ in kept:
            for i in range(a, b + 1):
                covered[i] = True
        out: list[Match] = []
        seen: set[tuple[int, str]] = set()
        for first, last, _, finding in kept:
            if (first, finding) in seen:
                continue
            seen.add((first, finding))
            cue = (None if (first, finding) in clean else gap_cue.get((first, finding))) or self._negated(
                tokens, first, lang, covered, place=self.kb.findings[finding].kind == "location"
            )
            if cue in self.nobody[lang] and self.kb.findings[finding].kind != "history":
                cue = None  # "nobody in my family gets cramps" denies the family history, not the writer's cramps
            start, end = tokens[first].start, tokens[last].end
            out.append(Match(finding, "absent" if cue else "present", start, end, original[start:end], cue))
        return out

    def _negated(
        self, tokens: list[Token], first: int, lang: Lang, covered: list[bool], place: bool = False
    ) -> str | None:
        """The negation cue that governs the phrase starting at token ``first``, if any.

        Cues inside another matched phrase ("can't open my mouth") do not negate what follows. For a body
        part (``place``), a cue of inability ("I can't move my jaw", "non riesce a muovere la mandibola")
        says what the person cannot do there, not that it is not there: it negates nothing.
        """
        negation, terminators = self.negation[lang], self.terminators[lang]
        seen_content = 0
        i = first - 1
        list_commas = 0
        while i >= 0 and seen_content < self.window[lang]:
            tok = tokens[i]
            if tok.text == "," and list_commas < _MAX_LIST_ITEMS and _in_a_list(tokens, i, first, self.lists[lang]):
                # "no nausea, vomiting or diarrhoea", "niente febbre, tosse né dolori": the items of a list closed by
                # "or"/"o"/"né" share the negation before the first of them
                list_commas += 1
                seen_content = 0
                i -= 1
                continue
            if tok.word in terminators or (tok.punct and tok.text not in "()"):
                return None
            word = tok.word
            if word in self.double_negation[lang] and self._after_negation(tokens, i, lang):
                return None  # "can't walk far without cramping", "never a night without cramps": it is there
            if not (covered and covered[i]) and (word in negation or word.endswith("n't")):
                if place and _starts(tokens, i, self.inability[lang]):
                    return None
                if not self._pseudo(tokens, i, lang):
                    return None if self._without_follows(tokens, first, lang) else word
            if not tok.stop:
                seen_content += 1
            i -= 1
        return None

    def _without_follows(self, tokens: list[Token], first: int, lang: Lang) -> bool:
        """Does a "without"/"senza" follow the phrase at ``first`` in its clause? Then the negation before the
        phrase is half of a double negation: "never a night without cramps" says there are such nights."""
        terminators, seen_content = self.terminators[lang], 0
        for tok in tokens[first + 1:]:
            if tok.punct or tok.word in terminators or seen_content >= self.window[lang]:
                return False
            if tok.word in self.double_negation[lang]:
                return True
            seen_content += not tok.stop
        return False

    def _double_negation_between(self, tokens: list[Token], first: int, last: int, cue: str, lang: Lang) -> bool:
        """Is the cue in the gap of a matched term a "without" that follows another negation?"""
        if cue not in self.double_negation[lang]:
            return False
        return any(tokens[i].word == cue and self._after_negation(tokens, i, lang) for i in range(first, last + 1))

    def _after_negation(self, tokens: list[Token], i: int, lang: Lang) -> bool:
        """Is there a negation cue before token ``i`` in the same clause (a few content words back)?"""
        negation, terminators = self.negation[lang], self.terminators[lang]
        seen_content = 0
        for tok in reversed(tokens[:i]):
            if tok.punct or tok.word in terminators or seen_content >= self.window[lang]:
                return False
            if tok.word in negation or tok.word.endswith("n't"):
                return True
            seen_content += not tok.stop
        return False

    def _pseudo(self, tokens: list[Token], i: int, lang: Lang) -> bool:
        """Is the cue at token ``i`` part of a phrase that does not negate ("non solo", "se non"), and not
        of one that does after all ("anche se non")?"""
        return not _covers(tokens, i, self.real_negation[lang]) and _covers(tokens, i, self.pseudo[lang])

    # -- context: who it is about, how sure, denied afterwards ---------------------------------
    def _body_parts_of_symptoms(self, layout: _Layout, matches: list[Match]) -> list[Match]:
        """Drop a body part named only as the place of something else: "si è ferito alla mano con un chiodo",
        "operated on my back": its piece of sentence names a history or an exposure and no symptom. A body
        part next to a symptom, or on its own ("cramps, mostly the right calf"), stays."""
        kinds = self.kb.findings
        out = []
        for m in matches:
            if kinds[m.finding].kind == "location":
                piece = next(((a, b) for a, b in layout.pieces if a <= m.start <= b), None)
                if piece is not None:
                    inside = {kinds[o.finding].kind for o in matches if piece[0] <= o.start <= piece[1]}
                    if "symptom" not in inside and inside & {"history", "exposure"}:
                        continue
            out.append(m)
        return out

    def _in_context(self, layout: _Layout, lang: Lang, matches: list[Match]) -> list[Match]:
        clauses, parts = layout.clauses, layout.parts

        def index_of(m: Match, spans: list[tuple[int, int, list[Token]]]) -> int:
            return next((i for i, (a, b, _) in enumerate(spans) if a <= m.start < b + 1), -1)

        unsure: dict[int, list[int]] = {}  # clause -> where its uncertainty cues start
        believed: dict[int, list[int]] = {}  # part -> where its cues of a guess at the cause start
        past: dict[int, bool] = {}  # part -> does it speak of the past

        relatives, first_person = self.relatives[lang], self.first_person[lang]
        possessive = _POSSESSIVES[lang]
        third = self.third_person[lang]
        # who each part of a sentence is about; "and"/"e" starts a new part when a new subject follows it
        # ("At night spasms shoot through both legs | and my wife gets kicked")
        subjects = _by_subject(parts, relatives | first_person | third, possessive)
        objects = self.first_person_object[lang]

        def has_first_person(c: list[Token]) -> bool:
            """An "I" in the part; a "me" counts only when "he" or "she" is not its subject ("he doesn't answer me")."""
            by_third = bool(c) and c[0].text in third
            return any(t.text in first_person and not (by_third and t.text in objects) for t in c)

        # a relative with no "I" in it is about someone else
        about_other = [
            any(t.text in relatives for t in c) and not has_first_person(c) for _, _, c in subjects
        ]
        # "My mum had the same, she's 79 now": a part that goes on about "she" or "he", with no "I", is about
        # the relative just named
        for i in range(1, len(subjects)):
            c = subjects[i][2]
            if not about_other[i] and about_other[i - 1] and c and c[0].text in third and not has_first_person(c):
                about_other[i] = True
        about_self = [
            (not other) and (has_first_person(c) or any(t.text in possessive for t in c))
            for other, (_, _, c) in zip(about_other, subjects)
        ]
        # the writer's own story needs a symptom of their own: a body part of theirs alone is not one ("mia figlia ...
        # mi stringeva la mano": the hand is the writer's, the story the daughter's)
        own_story = any(
            about_self[index_of(m, subjects)] for m in matches if self.kb.findings[m.finding].kind == "symptom"
        )
        out = []
        for m in matches:
            pi, ci, si = index_of(m, parts), index_of(m, clauses), index_of(m, subjects)
            if si >= 0 and own_story and about_other[si] and m.finding != "family_history":
                continue  # "my mother has MS" in a text about the writer's own spasms
            if ci >= 0 and m.state == "present" and m.finding not in self.red_flags:
                if ci not in unsure:
                    unsure[ci] = self._uncertainty_cues(tuple(clauses[ci][2]), lang)
                if any(start < m.start for start in unsure[ci]):
                    continue  # "maybe my urine is darker, not sure": left unknown
            if pi >= 0 and m.state == "present" and m.finding not in self.red_flags and (
                self.kb.findings[m.finding].kind != "location"
            ):
                if pi not in believed:
                    words = tuple(t.text for t in parts[pi][2])
                    believed[pi] = [
                        parts[pi][2][i].start for i, word in enumerate(words)
                        for phrase in self.belief[lang].get(word, ()) if words[i : i + len(phrase)] == phrase
                    ]
                if any(start < m.start for start in believed[pi]):
                    continue  # "I assumed I'd pulled a muscle", "ho dato la colpa agli allenamenti": a guess
            if pi >= 0 and self.kb.findings[m.finding].kind == "symptom":
                if pi not in past:
                    past[pi] = _contains(parts[pi][2], self.past[lang]) and not _contains(parts[pi][2], self.onset[lang])
                if past[pi]:
                    continue  # "last year I had episodes of breathlessness": history, not this episode
            if m.state == "present" and pi >= 0 and (
                self._denied_after(parts[pi][2], m, lang) or self._answered_no(layout, pi, lang)
            ):
                m = Match(m.finding, "absent", m.start, m.end, m.text, "no")
            out.append(m)
        return out

    @staticmethod
    @lru_cache(maxsize=256)
    def _cue_starts(words: tuple[str, ...], phrases: tuple[tuple[str, ...], ...]) -> tuple[int, ...]:
        found = []
        for phrase in phrases:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if words[i : i + n] != phrase:
                    continue
                following = words[i + n] if i + n < len(words) else None
                if following is not None and (following.isdigit() or following in _NUMBER_WORDS):
                    continue
                found.append(i)
        return tuple(found)

    def _uncertainty_cues(self, clause: tuple[Token, ...], lang: Lang) -> list[int]:
        """Where the uncertainty cues of a clause start (as character offsets): "maybe", "forse", "not sure
        if"; not a cue that only makes a number approximate ("maybe 5 minutes")."""
        words = tuple(t.text for t in clause)
        return [clause[i].start for i in self._cue_starts(words, tuple(self.uncertainty[lang]))]

    def _denied_after(self, clause: list[Token], m: Match, lang: Lang) -> bool:
        """ "Swelling: no", "gonfiore alle gambe no", "crampi alle mani non ne ho, solo ai piedi": a denial
        that closes the part of the sentence right after the finding."""
        longest = self.post_negation_words[lang]
        after: list[Token] = []
        for t in reversed(clause):  # the content words after the finding, while few enough to be a denial
            if t.start < m.end:
                break
            if not t.punct and not t.stop:
                after.append(t)
                if len(after) > longest:
                    return False
        if not after:
            return False
        after.reverse()
        tail = " ".join(t.word for t in after)
        return tail in self.post_negation[lang] or (len(after) == 1 and after[0].word in self.post_negation[lang])

    def _answered_no(self, layout: _Layout, pi: int, lang: Lang) -> bool:
        """A question the writer answers with a denial: "Swelling? Not that I can see.", "Febbre? No"."""
        parts, tokens = layout.parts, layout.tokens
        if pi + 1 >= len(parts):
            return False
        end = parts[pi][1]
        mark = next((t for t in tokens if t.start >= end), None)
        if mark is None or mark.text != "?":
            return False
        answer = next((t.word for t in parts[pi + 1][2] if not t.punct), None)
        return answer is not None and answer in self.answers_no[lang]

    def _implied(self, matches: list[Match]) -> list[Match]:
        """What a present finding entails (an eyelid twitch is in the face), with the same span.

        Not a course the person did not state ("since childhood" entails weeks, but they wrote neither
        a duration nor a frequency): the reasoning draws those implications itself."""
        have = {m.finding for m in matches}
        out = []
        for m in matches:
            if m.state != "present":
                continue
            for implied in self.kb.findings[m.finding].implies:
                if implied not in have and self.kb.findings[implied].kind != "course":
                    have.add(implied)
                    out.append(Match(implied, "present", m.start, m.end, m.text))
        return out

    # -- numbers, durations, frequencies --------------------------------------------------
    def _said_of_a_symptom(self, layout: _Layout, lexicon: list[Match], start: int, end: int) -> bool:
        """Is a duration, a frequency or a time of day (at ``start:end``) said of a symptom?

        Of the findings in its piece of the sentence that can last (_DURABLE), the nearest decides ("on
        omeprazole for three years" is not spasms for years; "ogni notte mi sveglio con i crampi" is a
        frequency of cramps); with none there, a symptom in the same sentence or the one before, or, when
        a short sentence names nothing at all ("Been like this for weeks."), anywhere before it.
        """
        kinds = self.kb.findings
        piece = next(((a, b) for a, b in layout.pieces if a <= start <= b), None)
        if piece is not None:
            near = [  # what a duration can be said of: a symptom, or something else the person has
                (max(m.start - end, start - m.end, 0), m.finding) for m in lexicon
                if piece[0] <= m.start <= piece[1] and kinds[m.finding].kind in _DURABLE
            ]
            if near:
                return kinds[min(near)[1]].kind in ("symptom", "location")
        anchors = [m.start for m in lexicon if kinds[m.finding].kind in ("symptom", "location")]
        sentences = layout.sentences
        for n, (first, last) in enumerate(sentences):
            if first <= start < last:
                if any(first <= m.start < last for m in lexicon if not (m.start == start and m.end == end)):
                    before = sentences[n - 1][0] if n else first
                    return any(before <= a < last for a in anchors)
                # a short sentence that names nothing ("Been like this for weeks.") speaks of the complaint
                return len(layout.folded[first:last].split()) <= 8 and any(a < first for a in anchors)
        return False

    def _times_of_symptoms(self, layout: _Layout, lexicon: list[Match]) -> list[Match]:
        """Keep a time of day, and a word of recurrence or of weeks (`_HABITUAL`), only when it is said of a
        symptom: not "I sleep 5 hours a night", "I take my statin at night", "night shifts", "10 cups of tea every
        day" (red flags are always kept)."""
        kinds = self.kb.findings

        def of_a_symptom(t: Match) -> bool:
            # said of something else in its piece of the sentence: a medicine, an illness, a habit, an
            # exposure, or the person's sleep ("I take my statin at night", "sleeping 5 hours a night")
            if t.finding in _HABITUAL and all(m.finding == t.finding for m in lexicon):
                return True  # "for weeks" is all the text says: of the complaint, the only thing there is
            piece = next(((a, b) for a, b in layout.pieces if a <= t.start <= b), (t.start, t.end))
            inside = [m for m in lexicon if piece[0] <= m.start <= piece[1] and m is not t]
            if any(kinds[m.finding].kind in ("symptom", "location") for m in inside):
                return True
            if any(kinds[m.finding].kind in ("history", "context", "exposure") or m.finding in _ABOUT_SLEEP
                   for m in inside):
                return False
            return self._said_of_a_symptom(layout, lexicon, t.start, t.end)

        return [
            m for m in lexicon
            if (kinds[m.finding].kind != "timing" and m.finding not in _HABITUAL) or m.finding in self.red_flags
            or m.state != "present" or of_a_symptom(m)
        ]

    def _patterns(self, text: str, layout: _Layout, lang: Lang, lexicon: list[Match]) -> list[Match]:
        folded = layout.folded
        kinds = self.kb.findings
        tokens = layout.tokens

        def anchored(start: int, end: int) -> bool:
            return self._said_of_a_symptom(layout, lexicon, start, end)

        out = []
        haystack = needs_text(folded)
        present = {n for n in self.needles[lang] if n in haystack}
        for finding, regex, low, high, needs, state in self.patterns[lang]:
            if needs is not None and needs.isdisjoint(present):
                continue  # none of the words the pattern needs is in the text
            for m in regex.finditer(folded):
                n = m.groupdict().get("n")
                if n is not None:
                    value = float(n.replace(",", "."))
                    if (low is not None and value < low) or (high is not None and value > high):
                        continue
                if self.kb.findings[finding].kind == "course" and not anchored(m.start(), m.end()):
                    continue
                first = next((i for i, t in enumerate(tokens) if t.end > m.start()), None)
                # an age or a side is not negated by a "not" before it ("I can't move my right leg"), nor
                # is a pattern that itself states an absence ("mild", "2/10": not very intense pain)
                negatable = self.kb.findings[finding].kind not in ("location", "context") and state == "present"
                cue = self._negated(tokens, first, lang, []) if first is not None and negatable else None
                read = "absent" if cue or state == "absent" else "present"
                out.append(Match(finding, read, m.start(), m.end(), text[m.start():m.end()], cue))
                break
        return out


#: course findings that a lexicon phrase ("every day", "for months") may say of a habit as well as of the spasms
_HABITUAL = frozenset({"recurrent", "persistent_weeks"})
#: findings about the person's sleep: a time of night next to them is not when the spasms come
_ABOUT_SLEEP = frozenset({"caffeine_or_poor_sleep"})
_JOINS = frozenset({"and", "then", "so", "e", "ed", "poi", "quindi"})
#: words that join two of a kind ("tongue and jaw", "mani e piedi"): with one word after them, a gap in a term
_COORDINATION = frozenset({"and", "or", "e", "ed", "o"})
_CONTRAST = frozenset({"but", "however", "whereas", "while", "ma", "però", "pero", "invece", "mentre", "tuttavia"})
# a change of time starts a new part: "two years ago ... and now my arm is stiff"
_NOW = frozenset({"now", "today", "currently", "lately", "recently", "ora", "adesso", "oggi", "ultimamente"})


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _another_word_one_edit_away(word: str, lang: str, known: frozenset[str]) -> bool:
    """Is there a word of the language's dictionary (simplemma) one edit from ``word`` that the lexicon does not
    know (its stem is none of ``known``)? Then the misspelt word may well be that one."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {a + b[1:] for a, b in splits if b}
    variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    variants |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    variants |= {a + c + b for a, b in splits for c in _LETTERS}
    variants.discard(word)
    return any(is_word(v, lang) and stem(lang, v) not in known for v in variants)


class _ListCues(NamedTuple):
    """Cue lists of a language (cues.yaml) for a list of alternatives under one negation."""

    closers: frozenset[str]  # "or", "o", "né"
    breakers: frozenset[str]  # words that make a piece a clause, or join rather than list ("and", "is", "ho")
    not_an_item: frozenset[str]  # what may follow "or" without being an item ("or so", "o altro")


_MAX_LIST_ITEMS = 6
_LIST_ITEM_WORDS = 3  # content words in one item of such a list


def _in_a_list(tokens: list[Token], comma: int, first: int, cues: _ListCues) -> bool:
    """Is the comma at ``comma`` one between the items of a list that ``first`` belongs to and that a word of
    alternatives closes ("nausea, vomiting or diarrhoea", "febbre, tosse o dolori")? Each item is a few words with
    no verb of its own (not "no fever, my calf is swollen or red") and no other punctuation; the closing word is
    followed by one more item ("or so" and "o altro" close nothing)."""
    content = 0
    for j in range(comma + 1, len(tokens)):
        tok = tokens[j]
        if tok.word in cues.closers:
            after = tokens[j + 1] if j + 1 < len(tokens) else None
            return after is not None and not after.punct and after.word not in cues.not_an_item
        if tok.text == ",":
            content = 0
            continue
        if tok.punct or tok.word in _CONTRAST or tok.word in cues.breakers:
            return False
        content += not tok.stop
        if content > _LIST_ITEM_WORDS + (2 if j >= first else 0):  # the phrase read may be a little longer
            return False
    return False


def _split(tokens: list[Token], commas: bool) -> list[tuple[int, int, list[Token]]]:
    """Clauses as (first char, end char, tokens): split at . ; ! ? : and at contrasts (but, ma ...), and,
    when ``commas`` is true, at commas and at a change of time, keeping a colon ("Fever: none")."""
    contrast = _CONTRAST | _NOW if commas else _CONTRAST
    stops = ".;!?," if commas else ".;!?:"
    clauses: list[tuple[int, int, list[Token]]] = []
    current: list[Token] = []
    for tok in tokens:
        if (tok.punct and tok.text in stops) or tok.word in contrast:
            if current:
                clauses.append((current[0].start, current[-1].end, current))
            current = [] if tok.punct else [tok]
            continue
        current.append(tok)
    if current:
        clauses.append((current[0].start, current[-1].end, current))
    return clauses


class _Layout:
    """How a text's tokens fall into sentences, clauses, parts and pieces; each computed once per reading,
    on use."""

    def __init__(self, text: str, tokens: list[Token]):
        self.text, self.tokens = text, tokens

    @cached_property
    def folded(self) -> str:
        return fold(self.text)

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in re.finditer(r"[^.!?;\n]+", self.folded)]

    @cached_property
    def clauses(self) -> list[tuple[int, int, list[Token]]]:
        return _split(self.tokens, commas=False)

    @cached_property
    def parts(self) -> list[tuple[int, int, list[Token]]]:
        return _split(self.tokens, commas=True)

    @cached_property
    def pieces(self) -> list[tuple[int, int]]:
        """Parts split also at "and"/"e": "in dialisi da 3 anni | e ogni volta ... crampi"."""
        return [(a, b) for a, b, _ in _split_at_joins(self.parts, lambda part, n: True)]


#: kinds of finding that a duration or frequency can be said of: the symptoms and where they are, or a
#: medicine, an illness, a habit, an exposure ("on omeprazole for three years", "in dialisi da 3 anni")
_DURABLE = frozenset({"symptom", "location", "history", "context", "exposure"})


def _split_at_joins(
    parts: list[tuple[int, int, list[Token]]], where: Callable[[list[Token], int], bool]
) -> list[tuple[int, int, list[Token]]]:
    """Parts split again at each "and"/"e" (token ``n`` of its part) for which ``where(part, n)`` holds."""
    out: list[tuple[int, int, list[Token]]] = []
    for _, _, part in parts:
        current: list[Token] = []
        for n, tok in enumerate(part):
            if tok.word in _JOINS and current and where(part, n):
                out.append((current[0].start, current[-1].end, current))
                current = []
            current.append(tok)
        if current:
            out.append((current[0].start, current[-1].end, current))
    return out


def _by_subject(
    parts: list[tuple[int, int, list[Token]]], subject_words: frozenset[str], possessive: frozenset[str]
) -> list[tuple[int, int, list[Token]]]:
    """Parts split again at "and"/"e" when what follows names a new subject (a person or a pronoun, after
    an optional possessive): "... both legs | and my wife gets kicked", but not "MS | and cramps"."""

    def new_subject(part: list[Token], n: int) -> bool:
        rest = [t for t in part[n + 1 : n + 4] if not t.punct]
        while rest and rest[0].text in possessive:
            rest = rest[1:]
        return bool(rest) and rest[0].text in subject_words

    return _split_at_joins(parts, new_subject)


def _covers(tokens: list[Token], i: int, phrases: list[tuple[str, ...]]) -> bool:
    """Does one of ``phrases`` (token texts) cover token ``i``?"""
    return any(
        tuple(t.text for t in tokens[i - offset : i - offset + len(p)]) == p
        for p in phrases for offset in range(len(p)) if i - offset >= 0
    )


def _starts(tokens: list[Token], i: int, phrases: list[tuple[str, ...]]) -> bool:
    """Does one of ``phrases`` (token texts) start at token ``i``?"""
    return any(tuple(t.text for t in tokens[i : i + len(p)]) == p for p in phrases)


def _contains(clause: list[Token], phrases: dict[str, list[tuple[str, ...]]]) -> bool:
    """Does the clause hold one of ``phrases`` (indexed by their first word)?"""
    words = tuple(t.text for t in clause)
    return any(words[i : i + len(p)] == p for i, w in enumerate(words) for p in phrases.get(w, ()))


def _by_first_word(phrases: list[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    index: dict[str, list[tuple[str, ...]]] = {}
    for p in phrases:
        if p:
            index.setdefault(p[0], []).append(p)
    return index


def _match_from(
    tokens: list[Token],
    content: list[int],
    ci: int,
    stems: tuple[str, ...],
    negation: frozenset[str],
    punct_before: list[int],
) -> tuple[int, str | None] | None:
    """Match ``stems`` at content position ``ci``, allowing one extra word between term words.

    Returns the last token of the match and, when the extra word is a negation cue ("il polpaccio
    non è gonfio"), that cue: the finding is then read as absent. A match never crosses punctuation.
    """
    pos = ci
    last = content[ci]
    cue = None
    for stem in stems[1:]:
        nxt = None
        # the extra word may come with "and"/"or" before it: "tongue and jaw moving" reads "tongue moving"
        steps = (1, 2, 3) if pos + 1 < len(content) and tokens[content[pos + 1]].word in _COORDINATION else (1, 2)
        for step in steps:
            k = pos + step
            if k >= len(content):
                break
            ti = content[k]
            if punct_before[ti] - punct_before[last + 1] > 0:
                break
            if tokens[ti].stem == stem:
                nxt = k
                gap = [tokens[content[j]].word for j in range(pos + 1, k)]
                negated = [w for w in gap if w in negation]
                if negated:
                    cue = negated[0]
                break
        if nxt is None:
            return None
        pos = nxt
        last = content[nxt]
    return last, cue

"""An assessment in words, in the person's language: a JSON-ready dict and a plain-text rendering."""

from __future__ import annotations

import textwrap
from typing import Any

from .knowledge import KnowledgeBase
from .reasoning import OTHER, Assessment

__all__ = ["build_report", "render_text", "LABELS"]

# Interface words (not medical content): the medical content comes from the knowledge base.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "banner_emergency": "EMERGENCY: call {number} now",
        "banner_urgent": "URGENT: see a doctor today",
        "banner_routine": "ROUTINE: book a visit with a doctor",
        "banner_self_care": "SELF-CARE: manage at home",
        "understood": "You told us",
        "nothing_understood": "We did not recognise any specific finding in your description. "
        "Add details: where the spasm is, when it happens, how long it lasts, what eases it, anything else you noticed.",
        "present": "yes",
        "absent": "no",
        "causes": "Likely causes",
        "why": "Why",
        "towards": "what points towards it",
        "away": "what points away from it",
        "step": "Where it acts on the path to a contraction",
        "level_set_by_rule": "The level is set by a warning sign",
        "level_set_by_probability": "The level follows the causes that are probable enough",
        "what_now": "What to do now",
        "self_care": "What helps",
        "treatment": "What a doctor may offer",
        "see_doctor": "When to see a doctor",
        "safety_net": "Seek help sooner if",
        "escalate": "{level} if you notice: {findings}",
        "sources": "Sources",
        "other_cause": "Another cause not covered by spasmo",
        "other_cause_desc": "Your description does not fit the causes spasmo knows well. A doctor can look for other causes.",
        "level_word_emergency": "Call 112",
        "level_word_urgent": "See a doctor today",
        "level_word_routine": "Book a visit with a doctor",
        "level_word_self_care": "Manage at home",
        "language": "Language",
        "interview": "Questions answered",
    },
    "it": {
        "banner_emergency": "EMERGENZA: chiama subito il {number}",
        "banner_urgent": "URGENTE: fatti visitare da un medico oggi",
        "banner_routine": "NON URGENTE: prenota una visita dal medico",
        "banner_self_care": "GESTIONE A CASA",
        "understood": "Ci hai detto",
        "nothing_understood": "Non abbiamo riconosciuto sintomi specifici nella tua descrizione. "
        "Aggiungi qualche dettaglio: dove si trova lo spasmo, quando compare, quanto dura, cosa lo allevia, "
        "cos'altro hai notato.",
        "present": "sì",
        "absent": "no",
        "causes": "Cause probabili",
        "why": "Perché",
        "towards": "a favore",
        "away": "contro",
        "step": "Dove agisce lungo la via che porta alla contrazione",
        "level_set_by_rule": "Il livello è dettato da un segnale d'allarme",
        "level_set_by_probability": "Il livello segue le cause abbastanza probabili",
        "what_now": "Cosa fare adesso",
        "self_care": "Cosa aiuta",
        "treatment": "Cosa può proporre il medico",
        "see_doctor": "Quando rivolgersi al medico",
        "safety_net": "Chiedi aiuto prima se",
        "escalate": "{level} se noti: {findings}",
        "sources": "Fonti",
        "other_cause": "Un'altra causa non trattata da spasmo",
        "other_cause_desc": "La tua descrizione non corrisponde alle cause che spasmo conosce bene. "
        "Il medico potrà cercare altre cause.",
        "level_word_emergency": "Chiama il 112",
        "level_word_urgent": "Fatti visitare oggi",
        "level_word_routine": "Prenota una visita",
        "level_word_self_care": "Gestisci a casa",
        "language": "Lingua",
        "interview": "Domande a cui hai risposto",
    },
}

CHAIN_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "brain": "the brain (the signal starts here)",
        "spinal_cord": "the spinal cord",
        "peripheral_nerve": "the nerve to the muscle",
        "neuromuscular_junction": "the junction between nerve and muscle",
        "muscle_membrane": "the muscle fibre's membrane (its ion channels)",
        "muscle_fibre": "the muscle fibre itself",
        "muscle_metabolism": "the muscle's energy supply and salts",
        "smooth_muscle": "an involuntary (smooth) muscle, such as in the gut or blood vessels",
        "mimic": "not a muscle spasm, though it can feel like one",
    },
    "it": {
        "brain": "il cervello (dove nasce il segnale)",
        "spinal_cord": "il midollo spinale",
        "peripheral_nerve": "il nervo che raggiunge il muscolo",
        "neuromuscular_junction": "la giunzione tra nervo e muscolo",
        "muscle_membrane": "la membrana della fibra muscolare (i suoi canali ionici)",
        "muscle_fibre": "la fibra muscolare stessa",
        "muscle_metabolism": "l'energia e i sali minerali del muscolo",
        "smooth_muscle": "un muscolo involontario (liscio), come nell'intestino o nei vasi",
        "mimic": "non è uno spasmo muscolare, anche se può sembrarlo",
    },
}

_SHOWN = 5
_MIN_SHOWN = 0.01
#: a finding is shown as moving a condition when its likelihood ratio is beyond 1.25 either way
_MOVES = 1.25


def _lr_text(lr: float) -> str:
    return f"×{lr:.1f}" if lr >= 1 else f"÷{1 / lr:.1f}"


def build_report(kb: KnowledgeBase, assessment: Assessment, language: str) -> dict[str, Any]:
    """Everything the person reads, as data: the JSON of ``spasmo assess`` and the source of every view."""
    lang = language
    lab = LABELS[lang]
    cited: list[str] = []

    def cite(ids: list[str] | tuple[str, ...]) -> list[str]:
        for sid in ids:
            if sid not in cited:
                cited.append(sid)
        return list(ids)

    def advice(aid: str) -> dict[str, Any]:
        item = kb.advice[aid]
        return {"id": aid, "text": getattr(item.text, lang), "sources": cite(item.sources)}

    def finding_name(fid: str) -> str:
        return getattr(kb.findings[fid].name, lang)

    triage = assessment.triage
    level = triage.level
    rules = [
        {
            "id": hit.id,
            "level": hit.level,
            "findings": list(hit.findings),
            "reason": getattr(kb.rules[hit.id].reason, lang),
            "sources": cite(kb.rules[hit.id].sources),
        }
        for hit in triage.rules
    ]
    understood = [
        {
            "finding": obs.finding,
            "name": finding_name(obs.finding),
            "state": obs.state,
            "origin": obs.origin,
            "text": obs.text,
            "span": list(obs.span) if obs.span else None,
        }
        for obs in assessment.evidence.observations.values()
        if obs.finding in kb.findings
    ]

    conditions = []
    for ranked in assessment.conditions:
        if ranked.probability < _MIN_SHOWN and conditions:
            continue
        why = [
            {
                "finding": c.finding,
                "name": finding_name(c.finding),
                "state": c.state,
                "likelihood_ratio": round(c.likelihood_ratio, 3),
                "direction": "towards" if c.likelihood_ratio >= 1 else "away",
            }
            for c in ranked.contributions
            if c.likelihood_ratio > _MOVES or c.likelihood_ratio < 1 / _MOVES
        ]
        if ranked.id == OTHER:
            conditions.append(
                {
                    "id": OTHER,
                    "name": lab["other_cause"],
                    "probability": round(ranked.probability, 4),
                    "description": lab["other_cause_desc"],
                    "urgency": ranked.urgency,
                    "chain": None,
                    "why": why,
                    "codes": {},
                    "sources": cite(kb.policy.sources),
                }
            )
            continue
        cond = kb.conditions[ranked.id]
        conditions.append(
            {
                "id": cond.id,
                "name": getattr(cond.name, lang),
                "probability": round(ranked.probability, 4),
                "description": getattr(cond.description, lang),
                "urgency": ranked.urgency,
                "escalated_by": list(ranked.escalated_by),
                "chain": {"step": cond.chain, "label": CHAIN_LABELS[lang][cond.chain], "sources": cite(cond.chain_sources)},
                "why": why,
                "codes": cond.codes.model_dump(),
                "sources": cite(cond.sources),
            }
        )
        if len(conditions) >= _SHOWN:
            break

    top = [kb.conditions[c["id"]] for c in conditions[:3] if c["id"] != OTHER]
    now = [advice(f"level_{level}")] if f"level_{level}" in kb.advice else []
    for hit in triage.rules:
        for aid in kb.rules[hit.id].advice:
            if aid not in {a["id"] for a in now}:
                now.append(advice(aid))

    def collect(attr: str, limit: int) -> list[dict[str, Any]]:
        ids: list[str] = []
        for cond in top[:limit]:
            for aid in getattr(cond, attr):
                if aid not in ids:
                    ids.append(aid)
        return [advice(a) for a in ids]

    self_care = collect("self_care", 2) if level in ("self_care", "routine") else []
    treatment = collect("treatment", 2)
    see_doctor = collect("see_doctor", 2)

    present = set(assessment.evidence.present())
    safety: list[dict[str, Any]] = []
    levels_more_urgent = ("emergency", "urgent", "routine", "self_care")
    for cond in top:
        for esc in cond.urgency.escalations:
            if levels_more_urgent.index(esc.level) >= levels_more_urgent.index(level):
                continue
            missing = [f for f in esc.all + esc.any if f not in present]
            if not missing:
                continue
            text = lab["escalate"].format(
                level=lab[f"level_word_{esc.level}"], findings=", ".join(finding_name(f) for f in missing)
            )
            if text not in {s["text"] for s in safety}:
                safety.append({"level": esc.level, "text": text, "findings": missing, "sources": cite(esc.sources)})
    if "general_safety_net" in kb.advice:
        safety.append({"level": "routine", **advice("general_safety_net")})

    return {
        "language": lang,
        "disclaimer": getattr(kb.policy.disclaimer, lang),
        "triage": {
            "level": level,
            "label": lab[f"banner_{level}"].format(number=getattr(kb.policy.emergency_number, lang)),
            "emergency_number": getattr(kb.policy.emergency_number, lang),
            "set_by": "rule" if triage.floor and triage.floor == level and triage.by_probability != level else "probability",
            "rules": rules,
            "by_probability": triage.by_probability,
            "mass": {k: round(v, 4) for k, v in triage.mass.items()},
            "thresholds": {k: v.probability for k, v in kb.policy.thresholds.items()},
            "conditions": list(triage.conditions),
        },
        "understood": understood,
        "conditions": conditions,
        "advice": {"now": now, "self_care": self_care, "treatment": treatment, "see_doctor": see_doctor},
        "safety_net": safety,
        "sources": [
            {"id": sid, "title": kb.sources[sid].title, "publisher": kb.sources[sid].publisher, "url": kb.sources[sid].url}
            for sid in cited
        ],
    }


def render_text(report: dict[str, Any], width: int = 88) -> str:
    """The report as plain text a person can read in a terminal."""
    lab = LABELS[report["language"]]
    index = {s["id"]: n for n, s in enumerate(report["sources"], 1)}
    out: list[str] = []

    def refs(ids: list[str]) -> str:
        return "".join(f"[{index[i]}]" for i in ids if i in index)

    def para(text: str, indent: str = "") -> None:
        out.append(textwrap.fill(text, width, initial_indent=indent, subsequent_indent=indent + "  "))

    triage = report["triage"]
    banner = f"== {triage['label']} =="
    out.append(banner)
    for item in report["advice"]["now"]:
        para(f"{item['text']} {refs(item['sources'])}")
    for rule in triage["rules"]:
        if rule["level"] == triage["level"]:  # lower-level rules add nothing to the banner
            para(f"! {rule['reason']} {refs(rule['sources'])}")
    out.append("")

    out.append(f"{lab['understood']}:")
    if report["understood"]:
        for item in report["understood"]:
            quote = f' ("{item["text"]}")' if item.get("text") else ""
            para(f"- {item['name']}: {lab[item['state']]}{quote}", "  ")
    else:
        para(lab["nothing_understood"], "  ")
    out.append("")
    if report.get("interview"):  # the interview says how many questions and why it stopped
        para(f"{lab['interview']}: {report['interview']['questions']}. {report['interview']['why']}")
        out.append("")

    out.append(f"{lab['causes']}:")
    for cond in report["conditions"]:
        bar = "#" * max(1, round(cond["probability"] * 20))
        out.append(f"  {cond['probability'] * 100:5.1f}% {bar:<20} {cond['name']} {refs(cond['sources'])}")
        para(cond["description"], "         ")
        if cond.get("chain"):
            para(f"{lab['step']}: {cond['chain']['label']}", "         ")
        towards = [f"{w['name']} ({_lr_text(w['likelihood_ratio'])})" for w in cond["why"] if w["direction"] == "towards"]
        away = [f"{w['name']} ({_lr_text(w['likelihood_ratio'])})" for w in cond["why"] if w["direction"] == "away"]
        if towards:
            para(f"{lab['why']}, {lab['towards']}: {', '.join(towards)}", "         ")
        if away:
            para(f"{lab['why']}, {lab['away']}: {', '.join(away)}", "         ")
    out.append("")

    for key in ("self_care", "treatment", "see_doctor"):
        items = report["advice"][key]
        if items:
            out.append(f"{lab[key]}:")
            for item in items:
                para(f"- {item['text']} {refs(item['sources'])}", "  ")
            out.append("")
    if report["safety_net"]:
        out.append(f"{lab['safety_net']}:")
        for item in report["safety_net"]:
            para(f"- {item['text']} {refs(item['sources'])}", "  ")
        out.append("")
    para(report["disclaimer"])
    out.append("")
    out.append(f"{lab['sources']}:")
    for n, src in enumerate(report["sources"], 1):
        para(f"[{n}] {src['title']} ({src['publisher']}) {src['url']}", "  ")
    return "\n".join(out) + "\n"

"""The SVG of the path from the brain to the muscle, drawn by the app, with the step involved highlighted."""

from __future__ import annotations

from html import escape
from typing import Sequence

__all__ = ["PATH", "chain_svg"]

#: The steps in the order the signal travels (the knowledge base's `chain` values on the path).
PATH = ("brain", "spinal_cord", "peripheral_nerve", "neuromuscular_junction", "muscle_membrane", "muscle_fibre",
        "muscle_metabolism")

SHORT = {
    "en": {"brain": "Brain", "spinal_cord": "Spinal cord", "peripheral_nerve": "Nerve",
           "neuromuscular_junction": "Nerve–muscle junction", "muscle_membrane": "Muscle membrane",
           "muscle_fibre": "Muscle fibre", "muscle_metabolism": "Energy and salts",
           "title": "The path from the brain to the muscle", "involved": "involved", "most": "most likely"},
    "it": {"brain": "Cervello", "spinal_cord": "Midollo spinale", "peripheral_nerve": "Nervo",
           "neuromuscular_junction": "Giunzione nervo–muscolo", "muscle_membrane": "Membrana muscolare",
           "muscle_fibre": "Fibra muscolare", "muscle_metabolism": "Energia e sali",
           "title": "La via dal cervello al muscolo", "involved": "coinvolto", "most": "più probabile"},
}

_W, _BOX_H, _GAP, _X = 320, 40, 18, 40


def chain_svg(highlight: str | None, involved: Sequence[str] = (), language: str = "en") -> str:
    """A vertical diagram (readable on a phone): one box per step, arrows between them; the step of the
    most likely cause filled dark, other involved steps outlined thick. Text labels say the same for
    screen readers, so colour is never the only cue."""
    words = SHORT[language]
    height = len(PATH) * (_BOX_H + _GAP) + 4
    described = [f"{words[s]}{' (' + words['most'] + ')' if s == highlight else ''}" for s in PATH]
    desc = " → ".join(described)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="100%" '
        f'role="img" aria-labelledby="chain-title chain-desc" class="chain">',
        f'<title id="chain-title">{escape(words["title"])}</title>',
        f'<desc id="chain-desc">{escape(desc)}</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
    ]
    for i, step in enumerate(PATH):
        y = 2 + i * (_BOX_H + _GAP)
        main = step == highlight
        other = step in involved and not main
        fill = "#8a1538" if main else ("#fde8ee" if other else "#f4f4f4")
        stroke = "#8a1538" if (main or other) else "#666"
        ink = "#ffffff" if main else "#111111"
        label = words[step] + (f" — {words['most']}" if main else (f" — {words['involved']}" if other else ""))
        parts.append(
            f'<g class="step{" highlighted" if main else ""}" data-step="{step}">'
            f'<rect x="{_X}" y="{y}" width="{_W - 2 * _X}" height="{_BOX_H}" rx="8" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{4 if (main or other) else 1.5}"/>'
            f'<text x="{_W // 2}" y="{y + _BOX_H / 2 + 5}" text-anchor="middle" font-size="15" '
            f'font-weight="{700 if main else 400}" fill="{ink}">{escape(label)}</text></g>'
        )
        if i < len(PATH) - 1:
            parts.append(f'<line x1="{_W // 2}" y1="{y + _BOX_H}" x2="{_W // 2}" y2="{y + _BOX_H + _GAP - 3}" '
                         'stroke="#333" stroke-width="2" marker-end="url(#arrow)"/>')
    parts.append("</svg>")
    return "".join(parts)

"""The web page's interface words in English and Italian (medical content comes from the report)."""

from __future__ import annotations

__all__ = ["WORDS", "pick_language"]

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "lang_name": "English",
        "title": "spasmo: make sense of muscle spasms and cramps",
        "skip": "Skip to the content",
        "switch": "Language",
        "tagline": "Make sense of muscle spasms and cramps",
        "emergency_first": "In an emergency call 112 now.",
        "describe_h": "Describe your spasms in your own words",
        "describe_help": "Where is it, when does it happen, how long does it last, what eases it, anything else you noticed. "
        "What you write stays on this computer's server and is never sent anywhere.",
        "describe_label": "Your description",
        "example": "For example: I get a sudden painful cramp in my calf at night, about twice a week; stretching helps.",
        "start": "Continue",
        "empty": "Please describe your spasms or cramps in a few words.",
        "too_long": "That is too long: please keep the description under 10,000 characters.",
        "step": "Step {n} of 3",
        "understood_h": "What we understood",
        "understood_help": "Check each point. If we got something wrong, change it, then continue.",
        "you_wrote": "You wrote",
        "nothing": "We did not recognise anything specific. You can continue and answer the questions, or start again with more details.",
        "yes_have": "Yes, that's right",
        "no_have": "No, that's wrong",
        "read_as": "we read",
        "continue": "Continue to the questions",
        "restart": "Start again",
        "question_h": "Question {n}",
        "next": "Next",
        "back": "Back",
        "yes": "Yes",
        "no": "No",
        "dont_know": "I don't know",
        "none": "None of these",
        "number_label": "Your answer, in {unit} (from {minimum} to {maximum})",
        "choose": "Please choose an answer, or \u201cI don't know\u201d.",
        "invalid": "That answer is not one this question takes; please check it.",
        "emergency_during": "What you told us may be an emergency: call 112 now. You can go on answering afterwards.",
        "result_h": "Your result",
        "call": "Call 112",
        "what_now": "What to do now",
        "causes_h": "Likely causes",
        "probability": "probability",
        "why_h": "Why",
        "towards": "pointed towards it",
        "away": "pointed away from it",
        "path_h": "Where it acts: the path from the brain to the muscle",
        "path_desc": "The signal that makes a muscle contract goes from the brain down the spinal cord, along a nerve, "
        "across the junction to the muscle, and into the muscle fibre. The highlighted step is where the most likely cause acts.",
        "off_path": "The most likely cause does not act on this path: {label}.",
        "self_care": "What helps",
        "treatment": "What a doctor may offer",
        "see_doctor": "When to see a doctor",
        "safety_net": "Seek help sooner if",
        "sources": "Sources",
        "not_diagnosis": "spasmo informs and does not diagnose.",
        "print": "Print view",
        "print_now": "Print",
        "fhir": "Download as FHIR (for a doctor's system)",
        "delete": "Delete my answers",
        "deleted_h": "Deleted",
        "deleted": "Your description and answers have been deleted.",
        "missing_h": "Not found",
        "missing": "This interview does not exist: it was deleted, or the address is wrong.",
        "new": "Start a new description",
        "answers_h": "Your answers",
        "understood_list": "What we understood",
        "value_present": "yes",
        "value_absent": "no",
        "stopped": "Why the questions stopped",
    },
    "it": {
        "lang_name": "Italiano",
        "title": "spasmo: capire spasmi e crampi muscolari",
        "skip": "Vai al contenuto",
        "switch": "Lingua",
        "tagline": "Capire spasmi e crampi muscolari",
        "emergency_first": "In caso di emergenza chiama subito il 112.",
        "describe_h": "Descrivi i tuoi spasmi con parole tue",
        "describe_help": "Dove si trova, quando compare, quanto dura, cosa lo allevia, cos'altro hai notato. "
        "Quello che scrivi resta sul server di questo computer e non viene mai inviato altrove.",
        "describe_label": "La tua descrizione",
        "example": "Per esempio: ho i crampi ai polpacci ogni notte da un mese; se allungo il muscolo passa.",
        "start": "Continua",
        "empty": "Descrivi i tuoi spasmi o crampi in poche parole.",
        "too_long": "Il testo è troppo lungo: resta sotto i 10.000 caratteri.",
        "step": "Passo {n} di 3",
        "understood_h": "Cosa abbiamo capito",
        "understood_help": "Controlla ogni punto. Se abbiamo capito male qualcosa, correggilo e poi continua.",
        "you_wrote": "Hai scritto",
        "nothing": "Non abbiamo riconosciuto nulla di specifico. Puoi continuare e rispondere alle domande, oppure ricominciare con più dettagli.",
        "yes_have": "Sì, è giusto",
        "no_have": "No, è sbagliato",
        "read_as": "abbiamo letto",
        "continue": "Vai alle domande",
        "restart": "Ricomincia",
        "question_h": "Domanda {n}",
        "next": "Avanti",
        "back": "Indietro",
        "yes": "Sì",
        "no": "No",
        "dont_know": "Non lo so",
        "none": "Nessuna di queste",
        "number_label": "La tua risposta, in {unit} (da {minimum} a {maximum})",
        "choose": "Scegli una risposta, oppure \u201cNon lo so\u201d.",
        "invalid": "Questa domanda non accetta questa risposta: controllala.",
        "emergency_during": "Quello che ci hai detto può essere un'emergenza: chiama subito il 112. Puoi continuare a rispondere dopo.",
        "result_h": "Il tuo risultato",
        "call": "Chiama il 112",
        "what_now": "Cosa fare adesso",
        "causes_h": "Cause probabili",
        "probability": "probabilità",
        "why_h": "Perché",
        "towards": "depone a favore",
        "away": "depone contro",
        "path_h": "Dove agisce: la via dal cervello al muscolo",
        "path_desc": "Il segnale che fa contrarre un muscolo parte dal cervello, scende lungo il midollo spinale, percorre un nervo, "
        "attraversa la giunzione con il muscolo ed entra nella fibra muscolare. Il passo evidenziato è quello su cui agisce la causa più probabile.",
        "off_path": "La causa più probabile non agisce lungo questa via: {label}.",
        "self_care": "Cosa aiuta",
        "treatment": "Cosa può proporre il medico",
        "see_doctor": "Quando rivolgersi al medico",
        "safety_net": "Chiedi aiuto prima se",
        "sources": "Fonti",
        "not_diagnosis": "spasmo informa e non fa diagnosi.",
        "print": "Versione da stampare",
        "print_now": "Stampa",
        "fhir": "Scarica in formato FHIR (per il sistema del medico)",
        "delete": "Cancella le mie risposte",
        "deleted_h": "Cancellato",
        "deleted": "La tua descrizione e le tue risposte sono state cancellate.",
        "missing_h": "Non trovato",
        "missing": "Questa intervista non esiste: è stata cancellata, oppure l'indirizzo è sbagliato.",
        "new": "Scrivi una nuova descrizione",
        "answers_h": "Le tue risposte",
        "understood_list": "Cosa abbiamo capito",
        "value_present": "sì",
        "value_absent": "no",
        "stopped": "Perché le domande sono finite",
    },
}


def pick_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The switch (query), then the remembered choice (cookie), then the browser's Accept-Language."""
    for choice in (query, cookie):
        if choice in WORDS:
            return choice  # type: ignore[return-value]
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in WORDS and q > 0:
            ranked.append((-q, n, base))
    return min(ranked)[2] if ranked else "en"

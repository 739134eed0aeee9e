"""Write docs/cli.md from the commands' own --help, so the docs cannot drift from the code.

Run: `.venv/bin/python tools/cli_docs.py > docs/cli.md` (or `make docs`); a test compares.
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from spasmo.cli import main

COMMANDS = [[], ["assess"], ["kb"], ["kb", "show"], ["kb", "findings"], ["kb", "check"], ["kb", "coverage"], ["eval"],
            ["interview"], ["sessions"], ["sessions", "list"], ["sessions", "show"], ["sessions", "delete"]]


def render() -> str:
    runner = CliRunner()
    parts = ["# Command line", "", "Generated from each command's `--help` by `tools/cli_docs.py`; do not edit by hand.", ""]
    for command in COMMANDS:
        result = runner.invoke(main, [*command, "--help"], prog_name="spasmo", terminal_width=100)
        title = " ".join(["spasmo", *command])
        parts += [f"## `{title}`", "", "```", result.output.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(render(), nl=False)

"""``tenderwatch brief``: a printable pack of facts, sources, questions and drafts."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import error_console
from tenderwatch.exceptions import InputError, unwritable


class Subject(StrEnum):
    """What a pack is about."""

    process = "process"
    buyer = "buyer"
    supplier = "supplier"


class Format(StrEnum):
    """Formats of a pack."""

    html = "html"
    pdf = "pdf"
    md = "md"


def command(
    subject: Annotated[Subject, typer.Argument(help="process, buyer or supplier.")],
    key: Annotated[
        str,
        typer.Argument(
            help="The ocid of the process; for a buyer or supplier, its name or a part of it (as `tenderwatch org "
            "show` finds it: a name that fits several asks for one of their ids), its organisation id (as in the web "
            "addresses), or a party id or registered identifier that stands for one organisation."
        ),
    ],
    output_format: Annotated[Format, typer.Option("--format", help="html, pdf or md (Markdown).")] = Format.html,
    out: Annotated[Path | None, typer.Option("--out", help="File to write. Default: standard output.")] = None,
    db: DbOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Make a briefing pack: the key facts with their sources, the timeline, charts, red flags with evidence, the
    supplier's record, questions for scrutiny (each citing the fact that raises it), a Freedom of Information
    request draft, a public question draft, and a numbered list of sources.

    Example: tenderwatch brief process ocds-twdemo-000009 --format pdf --out pack.pdf
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings, read_only=True) as workspace:
        data = workspace.brief(subject.value, key, output_format.value)
    if out is None:
        if output_format is Format.pdf and sys.stdout.isatty():
            raise InputError("a PDF cannot be shown on a terminal", "give --out FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as error:
        raise unwritable(out, error) from error
    error_console.print(f"wrote {out}", markup=False)

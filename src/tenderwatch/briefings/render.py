"""Briefing packs as Markdown, HTML (a self-contained file, or a page of the web app) and PDF (WeasyPrint)."""

from __future__ import annotations

import base64
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape

from tenderwatch.briefings import EARLIER_FAILURES, Brief
from tenderwatch.util import plain_entities
from tenderwatch.web.charts import render_svg

FORMATS = ("html", "pdf", "md")


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("tenderwatch.briefings", "templates"),
        autoescape=select_autoescape(["html"]),
        # texts from the notices with the character references some publishers leave in them resolved
        finalize=plain_entities,
    )
    environment.filters["svg_data"] = lambda spec: (
        "data:image/svg+xml;base64," + base64.b64encode(render_svg(spec).encode()).decode()
    )
    return environment


def stylesheet() -> str:
    """Return the briefing stylesheet (A4, page numbers, readable in black and white)."""
    return resources.files("tenderwatch.web").joinpath("static/brief.css").read_text(encoding="utf-8")


def to_html(brief: Brief, *, standalone: bool = True) -> str:
    """Return the pack as HTML: with its stylesheet inside (a file to keep or send), or linked (a web page)."""
    template = _environment().get_template("briefing.html")
    return template.render(
        brief=brief,
        standalone=standalone,
        css=stylesheet() if standalone else None,
        earlier_intro=earlier_failures_intro(brief),
    )


def to_pdf(brief: Brief) -> bytes:
    """Return the pack as an A4 PDF."""
    from weasyprint import HTML  # noqa: PLC0415 - heavy; only PDFs need it

    return HTML(string=to_html(brief, standalone=True)).write_pdf()


def earlier_failures_intro(brief: Brief) -> str:
    """Return the sentence that says what the section of earlier failures lists."""
    where = f" in the same region ({brief.earlier_failures_where})" if brief.earlier_failures_where else ""
    count = len(brief.earlier_failures)
    which = f"the latest {count}" if count >= EARLIER_FAILURES else "all that the store holds"
    return (
        f"Other contracts of this buyer, or of public bodies{where}, that the notices show ended early, failed to "
        f"perform or saw the supplier pay the buyer back ({which}, the buyer's own first)."
    )


def to_markdown(brief: Brief) -> str:
    """Return the pack as Markdown."""

    def cite(number: int | None) -> str:
        return f" [{number}]" if number else ""

    lines = [
        f"# {brief.title}",
        "",
        f"*{brief.subtitle}. Briefing pack made by tenderwatch on {brief.generated_at}.*",
        "",
    ]
    if brief.is_demo:
        lines += ["> **Demo data.** Every organisation named here is fictional.", ""]
    lines += ["## Key facts", ""] + [f"- **{fact.label}:** {fact.text}{cite(fact.source)}" for fact in brief.facts]
    lines += ["", "## Red flags", ""]
    lines += [f"- **{fact.label}:** {fact.text}{cite(fact.source)}" for fact in brief.flags] or [
        "- None raised by the last run of the indicators."
    ]
    if brief.track_record:
        lines += ["", "## Track record", ""] + [
            f"- {fact.label}: {fact.text}{cite(fact.source)}" for fact in brief.track_record
        ]
    if brief.earlier_failures:
        lines += ["", "## Failures of other contracts here and nearby", "", earlier_failures_intro(brief), ""]
        lines += [f"- {fact.label}: {fact.text}{cite(fact.source)}" for fact in brief.earlier_failures]
    lines += ["", "## Timeline", ""] + [f"- {fact.label}: {fact.text}{cite(fact.source)}" for fact in brief.timeline]
    for chart in brief.charts:
        lines += [
            "",
            f"## {chart.title}",
            "",
            "| " + " | ".join(chart.columns) + " |",
            "|" + "---|" * len(chart.columns),
        ]
        lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in chart.table]
    lines += ["", "## Questions to ask", ""]
    lines += [
        f"{number}. {question.text} *({question.because}{cite(question.source)})*"
        for number, question in enumerate(brief.questions, 1)
    ]
    lines += ["", "## Freedom of Information request (draft)", "", "```", brief.foi_request, "```"]
    lines += ["", "## Public question (draft)", "", brief.public_question]
    lines += ["", "## Sources", ""]
    for source in brief.sources:
        where = source.url or source.where or ""
        lines.append(f"{source.number}. {source.label}" + (f" — {where}" if where else ""))
    return "\n".join(lines) + "\n"

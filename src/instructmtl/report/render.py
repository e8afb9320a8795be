"""Render report blocks as Markdown (figures as files beside it) or as self-contained HTML.

The HTML embeds every figure as a base64 ``data:`` URI and its CSS inline, so
the one file can be mailed or archived with nothing else.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from instructmtl.report.document import Block, Code, Heading, Image, Paragraph, Table

__all__ = ["FIGURES_DIR", "to_html", "to_markdown"]

FIGURES_DIR = "figures"

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.supported, td.passed { background: #e3f4e3; } td.not-supported { background: #f8e0e0; }
td.inconclusive, td.not-checked { background: #f4f1dc; } td.invalid, td.failed { background: #e9dcf3; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; } figcaption { font-size: 0.9em; color: #555; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; }
"""


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"{'#' * level} {text}"
        case Paragraph(text):
            return text
        case Table(header, rows):
            lines = ["| " + " | ".join(map(_md_cell, header)) + " |", "|" + " --- |" * len(header)]
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
            return "\n".join(lines)
        case Image(figure):
            return f"![{figure.title}]({FIGURES_DIR}/{figure.name}.png)\n\n*{figure.title}.* {figure.caption}"
        case Code(text, language):
            fence = "````" if "```" in text else "```"
            return f"{fence}{language}\n{text.rstrip()}\n{fence}"
    raise TypeError(f"unknown report block {block!r}")


def to_markdown(blocks: Sequence[Block]) -> str:
    """The report as Markdown; figures are referenced as ``figures/<name>.png``."""
    return "\n\n".join(_md_block(b) for b in blocks) + "\n"


def _inline(text: str) -> str:
    """Escapes text and turns Markdown `code` spans into <code> (the only inline markup used)."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(header: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    # the claims' verdict and the checks' result are coloured by value
    verdict_col = next((header.index(h) for h in ("verdict", "result") if h in header), -1)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)

    def cell(i: int, value: str) -> str:
        css = f' class="{value.replace(" ", "-")}"' if i == verdict_col else ""
        return f"<td{css}>{_inline(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_block(block: Block) -> str:
    match block:
        case Heading(level, text):
            return f"<h{level}>{_inline(text)}</h{level}>"
        case Paragraph(text):
            return f"<p>{_inline(text)}</p>"
        case Table(header, rows):
            return _html_table(header, rows)
        case Image(figure):
            data = base64.b64encode(figure.png).decode("ascii")
            return (
                f'<figure><img alt="{html.escape(figure.title)}" src="data:image/png;base64,{data}">'
                f"<figcaption><b>{html.escape(figure.title)}.</b> {html.escape(figure.caption)}</figcaption>"
                "</figure>"
            )
        case Code(text, _):
            return f"<pre><code>{html.escape(text)}</code></pre>"
    raise TypeError(f"unknown report block {block!r}")


def to_html(blocks: Sequence[Block], title: str) -> str:
    """The report as one self-contained HTML page."""
    body = "\n".join(_html_block(b) for b in blocks)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )

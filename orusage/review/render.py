"""The weekly report's blocks as Markdown (CommonMark with pipe tables) and as one self-contained HTML page.

Images are referenced through a function from chart name to URL: a relative file path for Markdown, a
``data:`` URI for the HTML file, a ``cid:`` for the e-mail. Every piece of data is escaped for its format
(app names and key names are whatever people typed).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence

from orusage.review.document import Block, Bullets, Figure, Heading, Paragraph, Table
from orusage.review.images import Image

ImageUrl = Callable[[Image], str]

# Characters that start markup somewhere in CommonMark/GFM; escaped with a backslash in text.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!~])")


def md_text(text: str) -> str:
    """Text with `code` spans kept and everything else escaped."""
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2 and i < len(parts) - 1:
            out.append(f"`{part}`")
        else:
            out.append(_MD_SPECIAL.sub(r"\\\1", part))
    return "".join(out)


def _md_cell(text: str) -> str:
    return md_text(text).replace("\n", " ")


def markdown(blocks: Sequence[Block], images: Mapping[str, Image], url: ImageUrl | None) -> str:
    """``url`` None: figures are left out (e.g. for a webhook, which cannot fetch local files)."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += [f"{'#' * block.level} {md_text(block.text)}", ""]
        elif isinstance(block, Paragraph):
            lines += [md_text(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {md_text(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(c) or " " for c in block.columns) + " |")
            lines.append("|" + "|".join("---:" if n else "---" for n in block.numeric) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Figure) and url is not None and block.name in images:
            image = images[block.name]
            lines += [f"![{md_text(image.alt)}]({url(image)})", ""]
    return "\n".join(lines).rstrip() + "\n"


def html_text(text: str) -> str:
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        escaped = html.escape(part)
        out.append(f"<code>{escaped}</code>" if i % 2 and i < len(parts) - 1 else escaped)
    return "".join(out)


STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2937;
       max-width: 980px; margin: 24px auto; padding: 0 16px; line-height: 1.45; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 20px; margin-top: 32px;
     border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; } h3 { font-size: 16px; margin-top: 20px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0 16px; }
code { background: #f3f4f6; padding: 0 3px; border-radius: 3px; } ul { padding-left: 20px; }
p, li { font-size: 14px; }
"""


def _table_html(block: Table) -> str:
    def cls(numeric: bool) -> str:
        return ' class="num"' if numeric else ""

    head = "".join(f"<th{cls(n)}>{html_text(c)}</th>" for c, n in zip(block.columns, block.numeric, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(n)}>{html_text(c)}</td>" for c, n in zip(row, block.numeric, strict=True)) + "</tr>"
        for row in block.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_page(title: str, blocks: Sequence[Block], images: Mapping[str, Image], url: ImageUrl) -> str:
    """One HTML document: inline CSS, no scripts, images through ``url`` (``data:`` or ``cid:``)."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{html_text(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{html_text(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{html_text(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            parts.append(_table_html(block))
        elif isinstance(block, Figure) and block.name in images:
            image = images[block.name]
            parts.append(
                f'<img src="{html.escape(url(image), quote=True)}" alt="{html.escape(image.alt, quote=True)}" '
                f'data-chart="{html.escape(image.name, quote=True)}" width="680">'
            )
    body = "\n".join(parts)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )

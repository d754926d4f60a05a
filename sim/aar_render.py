"""The after-action report's two renderings, from one list of blocks: Markdown, and printable HTML.

Both carry the same text; HTML embeds the charts and prints cleanly (A4, tables and charts kept whole on a
page, the improvement plan with room to write by hand).
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Block:
    """A heading (h1, h2, h3), a paragraph (p), a bulleted list, a table, or a chart (img, by file name)."""

    kind: str
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    name: str = ""


def _alt(name: str) -> str:
    return name.rsplit(".", 1)[0].replace("-", " ")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block], pngs: dict[str, bytes], images: str = "inline") -> str:
    """Markdown; charts as `![..](name)` links (`images="files"`) or inline data URIs."""
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "list":
            out += [f"- {item}" for item in b.items] + [""]
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "---|" * len(b.header))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("")
        elif b.kind == "img":
            src = b.name if images == "files" else "data:image/png;base64," + base64.b64encode(pngs[b.name]).decode()
            out += [f"![{_alt(b.name)}]({src})", ""]
    return "\n".join(out)


STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;font-size:12pt;color:#111;max-width:1000px;margin:2em auto;
line-height:1.4}
h1{font-size:22pt;margin-bottom:.2em}h2{font-size:16pt;margin-top:1.4em;border-bottom:2px solid #0072B2}
h3{font-size:13pt;margin-bottom:.3em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}
th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}th{background:#e8eef5}
td.status-met{background:#d9f0e3}td.status-partly-met{background:#fbeed5}td.status-not-met{background:#f6d6cf}
img{max-width:100%;display:block;margin:.5em 0 1em}
table.plan td{height:2.2em}
@page{size:A4;margin:15mm}
@media print{body{margin:0;max-width:none;font-size:10.5pt}h2{break-after:avoid}
table,img,tr{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def render_html(blocks: list[Block], pngs: dict[str, bytes]) -> str:
    """A self-contained HTML page (charts embedded as data URIs), styled for screen and print."""
    title = next((b.text for b in blocks if b.kind == "h1"), "After-action report")
    body: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{html.escape(b.text)}</p>")
        elif b.kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "table":
            plan = ' class="plan"' if b.header[:3] == ["action", "owner", "due date"] else ""
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
            rows = []
            for row in b.rows:
                cells = []
                for c in row:
                    status = c.lower() in ("met", "partly met", "not met")
                    cls = f' class="status-{c.lower().replace(" ", "-")}"' if status else ""
                    cells.append(f"<td{cls}>{html.escape(c)}</td>")
                rows.append("<tr>" + "".join(cells) + "</tr>")
            body.append(f"<table{plan}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif b.kind == "img":
            src = "data:image/png;base64," + base64.b64encode(pngs[b.name]).decode()
            body.append(f'<img alt="{html.escape(_alt(b.name))}" src="{src}">')
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")

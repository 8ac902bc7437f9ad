"""A board snapshot as text others can use: JSON, a CSV table of elements, a Mermaid flowchart."""

import csv
import io
import re

import msgspec

from schemas.api import Snapshot
from schemas.board import Edge, Node

FORMATS = ("json", "csv", "mermaid")
FORMULA_STARTS = frozenset("=+-@\t\r\0")  # OWASP CSV injection: cells a spreadsheet evaluates
CSV_COLUMNS = (
    "kind",
    "id",
    "label",
    "type",
    "stage",
    "lane",
    "channel",
    "source",
    "target",
    "text",
)
# Mermaid shapes by node type: decisions are diamonds, starts and ends are stadiums.
_SHAPES = {"decision": "{{{}}}", "start": "([{}])", "end": "([{}])", "moment_of_truth": "[/{}/]"}


def render(snapshot: Snapshot, format: str) -> str:
    if format == "json":
        return msgspec.json.format(msgspec.json.encode(snapshot).decode(), indent=2)
    if format == "csv":
        return _csv(snapshot)
    if format == "mermaid":
        return _mermaid(snapshot)
    raise ValueError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")


def _csv(snapshot: Snapshot) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for element in snapshot.elements:
        row = msgspec.to_builtins(element)
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return out.getvalue()


def _cell(value: object) -> object:
    """A spreadsheet must show text, never run it: formula-like text gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _mermaid(snapshot: Snapshot) -> str:
    lines = ["flowchart LR"]
    for e in snapshot.elements:
        if isinstance(e, Node):
            shape = _SHAPES.get(e.type, "[{}]")
            lines.append(f"    {_ident(e.id)}{shape.format(_quote(e.label or e.id))}")
    for e in snapshot.elements:
        if isinstance(e, Edge):
            arrow = f"-- {_quote(e.label)} -->" if e.label else "-->"
            lines.append(f"    {_ident(e.source)} {arrow} {_ident(e.target)}")
    return "\n".join(lines) + "\n"


def _ident(element_id: str) -> str:
    """A Mermaid node id: ids may hold '-' and '_', so both are spelled out to stay distinct."""
    return "n_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}", element_id)


def _quote(label: str) -> str:
    return '"' + label.replace('"', "#quot;") + '"'

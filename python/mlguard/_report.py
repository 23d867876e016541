"""Reports and findings, as the command prints them with ``--format json``."""
from __future__ import annotations

import html
import json
from typing import Any, Dict, Iterator, List, Optional

from . import _mlguard

def _html_table(header: List[str], rows: List[List[str]]) -> str:
    """An HTML table; every cell escaped (values come from the data)."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


_SEVERITIES = ("info", "low", "medium", "high", "critical")


class Finding:
    """One finding: its check, severity, message, location and (where the check read one)
    the value it found."""

    __slots__ = ("check", "severity", "level", "message", "location", "value", "raw")

    def __init__(self, raw: Dict[str, Any]) -> None:
        self.raw = raw
        self.check: str = raw["check"]
        self.severity: str = raw["severity"]
        self.level: str = raw["level"]
        self.message: str = raw["message"]
        self.location: Dict[str, Any] = raw.get("location", {})
        self.value: Optional[str] = raw.get("value")

    @property
    def where(self) -> str:
        """The location as ``file:line`` / ``row N`` / ``field`` text."""
        loc = self.location
        parts = [str(loc["file"])] if "file" in loc else []
        if "line" in loc:
            parts.append(f"line {loc['line']}")
        if "row" in loc:
            parts.append(f"row {loc['row']}")
        if "field" in loc:
            parts.append(str(loc["field"]))
        return ", ".join(parts)

    def __str__(self) -> str:
        # Messages quote what the file said: escaped for a terminal.
        where = self.where
        text = f"{self.severity} {self.check}: {self.message}" + (f" ({where})" if where else "")
        return _mlguard.terminal_safe(text)

    def __repr__(self) -> str:
        return f"Finding({self.check!r}, {self.severity!r}, {self.message!r})"


class Report:
    """What a check found: iterable over its listed :class:`Finding` objects.

    ``ok`` is true when nothing reached the threshold (for validation: no errors);
    ``errors`` and ``warnings`` count every finding, listed or not; ``stats`` has the
    check's facts (rows read, files scanned, ...).
    """

    def __init__(self, text: str, failed: Optional[bool] = None, fail_on: str = "medium") -> None:
        self._json = text
        raw = json.loads(text)
        self.kind: str = raw["kind"]
        self.subject: str = raw["subject"]
        self.stats: Dict[str, Any] = raw.get("stats", {})
        self.counts: List[Dict[str, Any]] = raw.get("counts", [])
        self.findings: List[Finding] = [Finding(f) for f in raw.get("findings", [])]
        self.omitted: int = raw.get("omitted", 0)
        self.errors: int = raw.get("errors", 0)
        self.warnings: int = raw.get("warnings", 0)
        self.fail_on = fail_on
        self.ok: bool = (self.errors == 0) if failed is None else not failed

    @property
    def failing(self) -> List[Finding]:
        """The listed findings at or above the threshold."""
        floor = _SEVERITIES.index(self.fail_on)
        return [f for f in self.findings if _SEVERITIES.index(f.severity) >= floor]

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def __bool__(self) -> bool:
        return self.ok

    def to_json(self) -> str:
        """The report as the command prints it with ``--format json``."""
        return self._json

    def to_dict(self) -> Dict[str, Any]:
        """The report as a dictionary."""
        return json.loads(self._json)

    def __repr__(self) -> str:
        return (
            f"<Report {self.kind} of {self.subject!r}: {'ok' if self.ok else 'FAILED'}, "
            f"{self.errors} error(s), {self.warnings} warning(s)>"
        )

    def _repr_html_(self) -> str:
        e = html.escape
        rows = [[f.severity, f.check, f.where, f.message, f.value or ""] for f in self.findings]
        more = f"<p>{self.omitted} more not listed</p>" if self.omitted else ""
        return (
            f"<p><b>{e(self.kind)}</b> of <code>{e(self.subject)}</code>: "
            f"{'ok' if self.ok else '<b>failed</b>'} &mdash; {self.errors} error(s), "
            f"{self.warnings} warning(s)</p>"
            + _html_table(["severity", "check", "where", "message", "value"], rows)
            + more
        )


class PiiReport:
    """Personal data found in a table: ``columns`` (per column, the kinds found with their
    cells, share and confidence) and ``cells`` (every span: row, column, kind, start, end,
    score)."""

    def __init__(self, columns: str, cells: str) -> None:
        self.columns: List[Dict[str, Any]] = json.loads(columns)
        self.cells: List[Dict[str, Any]] = [json.loads(line) for line in cells.splitlines()]

    def kinds(self) -> Dict[str, List[str]]:
        """Per column with personal data, the kinds found in it."""
        return {c["name"]: [k["kind"] for k in c["kinds"]] for c in self.columns if c["kinds"]}

    def __repr__(self) -> str:
        return f"<PiiReport {self.kinds()!r}>"

    def _repr_html_(self) -> str:
        rows = [
            [c["name"], k["kind"], str(k["cells"]), f"{k['share']:.1%}", f"{k['confidence']:.2f}"]
            for c in self.columns
            for k in c["kinds"]
        ]
        return _html_table(["column", "kind", "cells", "share", "confidence"], rows)



class PoisonReport(Report):
    """What the poisoning checks found; ``.summary`` counts it all (rows, conflicts,
    floods, outliers, duplicated rows, doubted labels and how many were listed, how many
    chance explains, drifted columns)."""

    def __init__(self, text: str, failed: bool, summary: Dict[str, Any]) -> None:
        super().__init__(text, failed, "medium")
        self.summary = summary

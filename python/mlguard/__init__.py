"""mlguard from Python: the safeguards of the ``mlguard`` command, with DataFrames in.

Every function calls the same Rust code the command runs (``mlguard._mlguard``); nothing
is re-implemented here. Reports are :class:`Report` objects; failures raise subclasses of
:class:`Error`.

>>> import mlguard
>>> report = mlguard.validate("users.csv", "schema.json")
>>> report.ok
True
>>> model = mlguard.safe_load("model.pkl")            # instead of pickle.load
"""
from __future__ import annotations

import html
import io
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from . import _mlguard
from ._mlguard import Error, InputError, SchemaError

__all__ = [
    "Error",
    "SchemaError",
    "InputError",
    "ValidationError",
    "UnsafeModelError",
    "UnsafeCodeError",
    "Finding",
    "Report",
    "PiiReport",
    "validate",
    "infer_schema",
    "find_pii",
    "scan_model",
    "scan_code",
    "safe_load",
    "LOADERS",
]

__version__ = "0.1.0"


class ValidationError(Error):
    """Data refused by its schema; ``.report`` has the findings."""

    def __init__(self, report: "Report") -> None:
        super().__init__(_mlguard.terminal_safe(f"{report.subject}: {report.errors} error(s)"))
        self.report = report


class UnsafeModelError(Error):
    """A model file refused before it was loaded; ``.report`` lists why."""

    def __init__(self, report: "Report") -> None:
        listed = "; ".join(str(f) for f in report.failing)
        super().__init__(_mlguard.terminal_safe(f"{report.subject} was not loaded: {listed}"))
        self.report = report


class UnsafeCodeError(Error):
    """Code with findings at or above the threshold (raised by ``scan_code(..., check=True)``)."""

    def __init__(self, report: "Report") -> None:
        super().__init__(_mlguard.terminal_safe(f"{report.subject}: {len(report.failing)} finding(s)"))
        self.report = report


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
        rows = "".join(
            f"<tr><td>{e(f.severity)}</td><td>{e(f.check)}</td><td>{e(f.where)}</td>"
            f"<td>{e(f.message)}</td><td>{e(f.value or '')}</td></tr>"
            for f in self.findings
        )
        more = f"<p>{self.omitted} more not listed</p>" if self.omitted else ""
        return (
            f"<p><b>{e(self.kind)}</b> of <code>{e(self.subject)}</code>: "
            f"{'ok' if self.ok else '<b>failed</b>'} &mdash; {self.errors} error(s), "
            f"{self.warnings} warning(s)</p>"
            f"<table><tr><th>severity</th><th>check</th><th>where</th><th>message</th>"
            f"<th>value</th></tr>"
            f"{rows}</table>{more}"
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
        e = html.escape
        rows = "".join(
            f"<tr><td>{e(c['name'])}</td><td>{e(k['kind'])}</td><td>{k['cells']}</td>"
            f"<td>{k['share']:.1%}</td><td>{k['confidence']:.2f}</td></tr>"
            for c in self.columns
            for k in c["kinds"]
        )
        return (
            "<table><tr><th>column</th><th>kind</th><th>cells</th><th>share</th>"
            f"<th>confidence</th></tr>{rows}</table>"
        )


PathLike = Union[str, "os.PathLike[str]"]


def _table(data: Any) -> Union[str, bytes]:
    """A path (str) or CSV bytes for the native module, from a path, bytes, a pandas or
    polars DataFrame or a pyarrow Table."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        return data.to_csv(index=False).encode()
    if module == "polars":
        return data.write_csv().encode()
    if module == "pyarrow":
        import pyarrow.csv  # type: ignore[import-not-found]

        out = io.BytesIO()
        pyarrow.csv.write_csv(data, out)
        return out.getvalue()
    raise TypeError(
        f"expected a path, CSV bytes, or a pandas/polars DataFrame or pyarrow Table, not {type(data).__name__}"
    )


def _schema(schema: Any) -> str:
    """Schema JSON text from a dict, a path, or JSON text."""
    if isinstance(schema, dict):
        return json.dumps(schema)
    if isinstance(schema, os.PathLike):
        return Path(schema).read_text(encoding="utf-8")
    if isinstance(schema, str):
        return schema if schema.lstrip().startswith("{") else Path(schema).read_text(encoding="utf-8")
    raise TypeError(f"expected a schema as a dict, a path or JSON text, not {type(schema).__name__}")


def validate(
    data: Any, schema: Any, *, check: bool = False, max_errors: Optional[int] = None
) -> Report:
    """Validates ``data`` (a path, CSV bytes, a pandas/polars DataFrame or pyarrow Table)
    against ``schema`` (a dict, a path or JSON text) as ``mlguard data validate`` does.

    With ``check=True``, a report with errors raises :class:`ValidationError`.
    """
    table = _table(data)
    name = table if isinstance(table, str) else f"<{type(data).__name__}>"
    report = Report(_mlguard.validate(table, _schema(schema), name=name, max_errors=max_errors))
    if check and not report.ok:
        raise ValidationError(report)
    return report


def infer_schema(data: Any, *, target: Optional[str] = None) -> Dict[str, Any]:
    """Drafts a schema for ``data`` as ``mlguard data infer-schema`` does (a dict, to edit
    and pass to :func:`validate`)."""
    return json.loads(_mlguard.infer_schema(_table(data), target=target))


def find_pii(data: Any) -> PiiReport:
    """Finds personal data in every cell of ``data`` as ``mlguard data pii --cells`` does."""
    return PiiReport(*_mlguard.find_pii(_table(data)))


def _read(source: Any) -> Tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", bytes(source)
    path = os.fspath(source)
    with open(path, "rb") as f:
        return path, f.read()


def scan_model(
    source: Any, *, name: Optional[str] = None, allow: Sequence[str] = (), fail_on: str = "medium"
) -> Report:
    """Scans a model file (a path, or its bytes) as ``mlguard scan model`` does: pickle,
    joblib, PyTorch, NumPy, Keras and safetensors. ``name`` (for bytes) gives the file
    name, whose extension matters; ``allow`` adds imports to treat as safe."""
    found, data = _read(source)
    name = name or found
    text, failed = _mlguard.scan_model(name, data, list(allow), fail_on)
    return Report(text, failed, fail_on)


def scan_code(
    source: Any, *, name: Optional[str] = None, fail_on: str = "medium", check: bool = False
) -> Report:
    """Audits Python source or a notebook as ``mlguard scan code`` does. ``source`` is a
    path (``.py`` or ``.ipynb``), or the code itself as a string or bytes."""
    if isinstance(source, str) and ("\n" in source or not os.path.exists(source)):
        found, data = "<string>", source.encode()
    else:
        found, data = _read(source)
    text, failed = _mlguard.scan_code(name or found, data, fail_on)
    report = Report(text, failed, fail_on)
    if check and failed:
        raise UnsafeCodeError(report)
    return report


def _load_pickle(f: io.BytesIO, **kw: Any) -> Any:
    import pickle

    return pickle.load(f, **kw)


def _load_joblib(f: io.BytesIO, **kw: Any) -> Any:
    import joblib  # type: ignore[import-not-found]

    return joblib.load(f, **kw)


def _load_numpy(f: io.BytesIO, **kw: Any) -> Any:
    import numpy  # type: ignore[import-not-found]

    return numpy.load(f, **kw)


def _load_torch(f: io.BytesIO, **kw: Any) -> Any:
    import torch  # type: ignore[import-not-found]

    kw.setdefault("weights_only", True)
    return torch.load(f, **kw)


LOADERS = {"pickle": _load_pickle, "joblib": _load_joblib, "numpy": _load_numpy, "torch": _load_torch}


def safe_load(
    path: PathLike,
    loader: str = "pickle",
    *,
    allow: Sequence[str] = (),
    fail_on: str = "medium",
    **kwargs: Any,
) -> Any:
    """Loads a model file only if the scanner passes it: instead of ``pickle.load``,
    ``joblib.load``, ``torch.load`` or ``numpy.load``.

    The file is read once; those bytes are scanned and, only if nothing reaches
    ``fail_on``, the same bytes are given to the loader (nobody can swap the file in
    between). A refused file raises :class:`UnsafeModelError` listing the findings; the
    loader is never called. ``kwargs`` go to the loader.
    """
    if loader not in LOADERS:
        raise ValueError(f"loader must be one of {', '.join(LOADERS)}, not {loader!r}")
    name, data = _read(path)
    report = scan_model(data, name=name, allow=allow, fail_on=fail_on)
    if not report.ok:
        raise UnsafeModelError(report)
    return LOADERS[loader](io.BytesIO(data), **kwargs)

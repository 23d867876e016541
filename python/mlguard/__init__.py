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

import base64
import io
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import _mlguard
from ._errors import (
    AccessDenied,
    Error,
    InputError,
    IntegrityError,
    RefusedError,
    SchemaError,
    UnsafeCodeError,
    UnsafeModelError,
    ValidationError,
)
from ._report import Finding, PiiReport, PoisonReport, Report
from ._rows import records_json

__all__ = [
    "Error",
    "SchemaError",
    "InputError",
    "ValidationError",
    "IntegrityError",
    "AccessDenied",
    "RefusedError",
    "UnsafeModelError",
    "UnsafeCodeError",
    "Vault",
    "Client",
    "Model",
    "Finding",
    "Report",
    "PiiReport",
    "PoisonReport",
    "validate",
    "check_poisoning",
    "protect",
    "seal",
    "open_sealed",
    "verify_sealed",
    "infer_schema",
    "find_pii",
    "scan_model",
    "scan_code",
    "safe_load",
    "LOADERS",
    "Progress",
]

__version__ = "0.1.0"


PathLike = Union[str, "os.PathLike[str]"]

#: A progress callback: ``progress(done, total)`` with the bytes of the input read so far and
#: all the bytes the work reads (its size times the passes it makes; ``None`` when unknown),
#: called at most ten times a second while the work runs (the GIL is released meanwhile) and
#: once more with ``done == total`` when it has finished. An exception it raises stops the
#: work and is raised by the call that was given the callback.
Progress = Callable[[int, Optional[int]], Any]


def _arrow_file(table: Any) -> bytes:
    """A pyarrow Table as the bytes of an Arrow IPC file (Feather v2), which the native
    module reads with the column types it has (no text formatting on the way), in record
    batches of 65,536 rows as ``to_feather`` writes them (read row by row, one batch of a
    million rows would walk thirty columns of eight megabytes each)."""
    import pyarrow as pa  # type: ignore[import-not-found]

    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=65_536)
    return sink.getvalue().to_pybytes()


def _table(data: Any) -> Union[str, bytes]:
    """A path (str), or bytes for the native module: a DataFrame or Table as an Arrow IPC
    file (typed columns, read as every data command reads an Arrow file), CSV text for a
    pandas DataFrame that Arrow cannot type (mixed objects, nested values) or without
    pyarrow, and bytes as given (CSV, or any file format the command reads)."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        try:
            import pyarrow as pa  # type: ignore[import-not-found]

            table = pa.Table.from_pandas(data, preserve_index=False)
            if not any(pa.types.is_nested(f.type) for f in table.schema):
                return _arrow_file(table)
        except ImportError:
            pass
        except (pa.ArrowException, TypeError, ValueError):
            pass
        return data.to_csv(index=False).encode()
    if module == "polars":
        out = io.BytesIO()
        data.write_ipc(out)
        return out.getvalue()
    if module == "pyarrow" or hasattr(data, "__arrow_c_stream__"):
        # A pyarrow Table, RecordBatch or RecordBatchReader, or anything that exports an
        # Arrow C stream (the Arrow PyCapsule interface: DuckDB results, Ibis, nanoarrow,
        # ...), taken by pyarrow without a copy and sent as one Arrow IPC file.
        import pyarrow as pa  # type: ignore[import-not-found]

        if isinstance(data, pa.RecordBatchReader):
            table = data.read_all()
        elif isinstance(data, pa.Table):
            table = data
        else:
            table = pa.table(data)
        return _arrow_file(table)
    raise TypeError(
        "expected a path, CSV bytes, a pandas/polars DataFrame, a pyarrow Table or an "
        f"object with __arrow_c_stream__ (the Arrow PyCapsule interface), not {type(data).__name__}"
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
    data: Any,
    schema: Any,
    *,
    check: bool = False,
    max_errors: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Report:
    """Validates ``data`` (a path, CSV bytes, a pandas/polars DataFrame or pyarrow Table)
    against ``schema`` (a dict, a path or JSON text) as ``mlguard data validate`` does.

    With ``check=True``, a report with errors raises :class:`ValidationError`.
    ``progress``: see :data:`Progress`.
    """
    table = _table(data)
    name = table if isinstance(table, str) else f"<{type(data).__name__}>"
    report = Report(
        _mlguard.validate(
            table, _schema(schema), name=name, max_errors=max_errors, progress=progress
        )
    )
    if check and not report.ok:
        raise ValidationError(f"{report.subject}: {report.errors} error(s)", report)
    return report


def infer_schema(
    data: Any, *, target: Optional[str] = None, progress: Optional[Progress] = None
) -> Dict[str, Any]:
    """Drafts a schema for ``data`` as ``mlguard data infer-schema`` does (a dict, to edit
    and pass to :func:`validate`). ``progress``: see :data:`Progress`."""
    return json.loads(_mlguard.infer_schema(_table(data), target=target, progress=progress))


def find_pii(data: Any, *, progress: Optional[Progress] = None) -> PiiReport:
    """Finds personal data in every cell of ``data`` as ``mlguard data pii --cells`` does.
    ``progress``: see :data:`Progress`."""
    return PiiReport(*_mlguard.find_pii(_table(data), progress=progress))


def check_poisoning(
    data: Any,
    schema: Any,
    baseline: Any = None,
    *,
    label_noise: Optional[float] = None,
    outlier_z: Optional[float] = None,
    max_findings: int = 100,
    progress: Optional[Progress] = None,
) -> PoisonReport:
    """The poisoning checks of ``mlguard data poison``: conflicting duplicates, floods,
    robust outliers, doubted labels (confident learning) and, against ``baseline`` (an
    earlier version of the table), drift. ``.ok`` is false when anything of medium severity
    or worse was found; ``.summary`` counts everything found, listed or not.
    ``progress``: see :data:`Progress` (two passes over ``data``)."""
    text, failed, counts = _mlguard.check_poisoning(
        _table(data),
        _schema(schema),
        None if baseline is None else _table(baseline),
        label_noise,
        outlier_z,
        max_findings,
        progress,
    )
    return PoisonReport(text, failed, json.loads(counts))


def _like(data: Any, csv: bytes) -> Any:
    """``csv`` as the same kind of table as ``data``: a pandas or polars DataFrame, else
    the CSV bytes."""
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        import pandas

        return pandas.read_csv(io.BytesIO(csv))
    if module == "polars":
        import polars  # type: ignore[import-not-found]

        return polars.read_csv(io.BytesIO(csv))
    return csv


def _source(data: Any, name: Optional[str]) -> Tuple[Union[str, bytes], str]:
    """Bytes or a path for the native module, and what the audit log names it."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), name or "<bytes>"
    path = os.fspath(data)
    return path, name or path


def seal(data: Any, vault: "Vault", **options: Any) -> bytes:
    """:meth:`Vault.seal` of ``vault``."""
    return vault.seal(data, **options)


def open_sealed(sealed: Any, vault: "Vault", **options: Any) -> bytes:
    """:meth:`Vault.open` of ``vault``."""
    return vault.open(sealed, **options)


def verify_sealed(sealed: Any, vault: "Vault", **options: Any) -> Dict[str, Any]:
    """:meth:`Vault.verify` of ``vault``."""
    return vault.verify(sealed, **options)


def protect(data: Any, schema: Any, vault: "Vault", **options: Any) -> Tuple[Any, Dict[str, Any]]:
    """:meth:`Vault.protect` of ``vault``: the protected table (same kind as ``data``) and
    what was done to each column."""
    return vault.protect(data, schema, **options)


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
        raise UnsafeCodeError(f"{report.subject}: {len(report.failing)} finding(s)", report)
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
        listed = "; ".join(str(f) for f in report.failing)
        raise UnsafeModelError(f"{report.subject} was not loaded: {listed}", report)
    return LOADERS[loader](io.BytesIO(data), **kwargs)


# -- the vault, here or behind a server ---------------------------------------------------


class Model:
    """A model version in a vault, to predict with. Each prediction goes through the vault
    (which verifies the model before it is used, and authorises and audits the request as
    ``model.predict``). ``.description`` (the encoding, metrics and provenance, never the
    split seed) is there when the caller may read the model (``model.read``; a model
    consumer may only predict); ``.classes`` then, or after the first prediction."""

    def __init__(self, front: "_Front", name: str, description: Optional[Dict[str, Any]]) -> None:
        self._front = front
        self.name = name
        self.description = description
        self.classes: List[str] = []
        self.features: List[str] = []
        if description is not None:
            self.name = description["model"]
            info = description["info"]
            encoding = info.get("encoding", {})
            self.classes = [str(c) for c in encoding.get("classes", [])]
            used = {f["name"] for f in encoding.get("numeric", []) + encoding.get("categorical", [])}
            # The features in the training schema's column order (a NumPy array's columns).
            self.features = [f["name"] for f in info.get("schema", {}).get("fields", []) if f["name"] in used]

    def results(self, data: Any) -> List[Dict[str, Any]]:
        """Per row, ``{"prediction", "probabilities"}`` or ``{"errors"}`` (a row that
        breaks the training schema is rejected by itself)."""
        answer = json.loads(self._front._native.predict(self.name, records_json(data, self.features)))
        self.classes = [str(c) for c in answer.get("classes", self.classes)]
        return answer["results"]

    def predict(self, data: Any) -> List[Optional[str]]:
        """The predicted class of each row (``None`` for a rejected row)."""
        return [r.get("prediction") for r in self.results(data)]

    def predict_proba(self, data: Any) -> Any:
        """Each row's probabilities in ``.classes`` order (NaN for a rejected row), as a
        NumPy array when NumPy is installed."""
        results = self.results(data)
        nan = float("nan")
        rows = [
            [float(r["probabilities"][c]) if "probabilities" in r else nan for c in self.classes]
            for r in results
        ]
        try:
            import numpy  # type: ignore[import-not-found]
        except ImportError:
            return rows
        return numpy.array(rows, dtype=float).reshape(len(rows), len(self.classes))

    def export(self, directory: Optional[PathLike] = None, *, force: bool = False) -> bytes:
        """The model as it leaves the vault (``model.export``, for which the policy may ask a
        TOTP code): mlguard's model file, safetensors without the secret split seed. With
        ``directory`` (created if needed), also writes ``model.safetensors`` and
        ``model.sig`` there, the OpenSSF model-signing bundle made with the vault's key that
        ``model_signing verify`` accepts, as ``mlguard model export`` does (existing files
        are kept unless ``force``)."""
        if directory is None:
            answer = json.loads(self._front._native.export_model(self.name, "model"))
            return base64.b64decode(answer["safetensors"], validate=True)
        d = Path(directory)
        files = [d / "model.safetensors", d / "model.sig"]
        if not force:
            for f in files:
                if f.exists():
                    raise FileExistsError(f"{f} exists (pass force=True to overwrite it)")
        d.mkdir(parents=True, exist_ok=True)
        # The bundle names the directory as the signing tools do.
        answer = json.loads(self._front._native.export_model(self.name, d.resolve().name))
        data = base64.b64decode(answer["safetensors"], validate=True)
        files[0].write_bytes(data)
        files[1].write_text(answer["signature"], encoding="utf-8")
        return data

    def to_sklearn(self) -> Any:
        """The model as a fitted scikit-learn ``Pipeline([StandardScaler,
        LogisticRegression])`` (numeric features only; see
        :func:`mlguard.sklearn.from_mlguard`), through :meth:`export`."""
        from .sklearn import from_mlguard

        return from_mlguard(self.export())

    def __repr__(self) -> str:
        return f"<Model {self.name} classes={self.classes}>"


class _Front:
    """The operations a vault answers, here (:class:`Vault`) or behind a server
    (:class:`Client`): the same typed operations the command line and the server use."""

    _native: Any

    def datasets(self) -> List[Dict[str, Any]]:
        """Every dataset version."""
        return json.loads(self._native.datasets())

    def dataset_report(self, reference: str) -> Dict[str, Any]:
        """A dataset version's record and what ingestion did (``NAME`` or ``NAME@VERSION``)."""
        return json.loads(self._native.dataset_report(reference))

    def models(self) -> List[Dict[str, Any]]:
        """Every model version."""
        return json.loads(self._native.models())

    def ingest(
        self,
        data: Any,
        schema: Any,
        name: str,
        *,
        k: Optional[int] = None,
        quasi: Optional[Sequence[str]] = None,
        keep_pii: bool = False,
        reject_poisoned: bool = False,
        max_suppressed: Optional[float] = None,
        progress: Optional[Progress] = None,
    ) -> Dict[str, Any]:
        """Validates, protects (pseudonyms, generalisation, k-anonymity), checks for
        poisoning and seals ``data`` (a path, CSV bytes or a DataFrame) as the next version
        of ``name``. A DataFrame is sealed in an encrypted scratch file, never written in
        clear. Returns what ingestion did; refused data raises :class:`ValidationError`
        or :class:`RefusedError` with the report. ``progress`` (see :data:`Progress`)
        hears the bytes read over every pass: the input's three (validation, protection's
        two), then the protected table's three (the poisoning checks' two, the columnar
        form), the total revised once the protected table is written; through a
        :class:`Client`, the bytes uploaded."""
        options: Dict[str, Any] = {"keep_pii": keep_pii, "reject_poisoned": reject_poisoned}
        if k is not None:
            options["k"] = k
        if quasi is not None:
            options["quasi"] = list(quasi)
        if max_suppressed is not None:
            options["max_suppressed"] = max_suppressed
        table = _table(data)
        source = None if isinstance(table, str) else f"<{type(data).__name__}>"
        return json.loads(
            self._native.ingest(table, _schema(schema), name, json.dumps(options), source, progress)
        )

    def train(
        self,
        dataset: str,
        name: Optional[str] = None,
        *,
        target: Optional[str] = None,
        test_size: Optional[float] = None,
        l2: Optional[float] = None,
        max_iter: Optional[int] = None,
        accept_flagged: bool = False,
        fixed_seed: Optional[int] = None,
        progress: Optional[Progress] = None,
    ) -> Dict[str, Any]:
        """Trains a logistic regression on a stored dataset version (verified first; the
        split seed secret and sealed inside the model unless ``fixed_seed``).
        ``progress`` (see :data:`Progress`) hears the bytes of the stored form read into
        the trainer (through a :class:`Client`, only the last call)."""
        body = {
            "dataset": dataset,
            "name": name,
            "target": target,
            "test_size": test_size,
            "l2": l2,
            "max_iter": max_iter,
            "accept_flagged": accept_flagged,
            "fixed_seed": fixed_seed,
        }
        return json.loads(self._native.train(json.dumps(body), progress))

    def import_model(
        self,
        model: Any,
        name: str,
        *,
        dataset: str,
        accept_flagged: bool = False,
    ) -> Model:
        """Stores a model made elsewhere as the next version of ``name``, bound to the
        stored dataset version ``dataset`` (``NAME`` or ``NAME@VERSION``) it was trained on
        (``model.train``, op ``import``): ``model`` is a fitted scikit-learn
        ``LogisticRegression`` or ``Pipeline([StandardScaler, LogisticRegression])``
        (converted by :func:`mlguard.sklearn.to_mlguard`, its target named by the dataset's
        schema), mlguard's model file as bytes, or a path to one. The vault refuses it
        (:class:`RefusedError`, nothing stored) unless its target and features are columns
        of that version that training would use the same way; then it is sealed, signed,
        served and audited like a model the vault trained. Returns it, loaded."""
        if isinstance(model, (bytes, bytearray, memoryview)):
            data = bytes(model)
        elif isinstance(model, (str, os.PathLike)):
            data = Path(model).read_bytes()
        else:
            from .sklearn import to_mlguard

            fields = self.dataset_report(dataset)["schema"].get("fields", [])
            targets = [f["name"] for f in fields if f.get("role") == "target"]
            if len(targets) != 1:
                raise ValueError(
                    f"{dataset}'s schema names {len(targets)} target columns; convert the "
                    "model with mlguard.sklearn.to_mlguard(model, target=...) and pass its bytes"
                )
            data = to_mlguard(model, target=targets[0])
        answer = json.loads(self._native.import_model(name, data, dataset, accept_flagged))
        return self.load_model(answer["model"])

    def load_model(self, name: str) -> Model:
        """A model version (``NAME`` or ``NAME@VERSION``) to predict with: verified and
        described when the caller may read it, else (a model consumer) only named."""
        try:
            description = json.loads(self._native.model(name))
        except AccessDenied:
            description = None
        return Model(self, name, description)

    def download(self, reference: str) -> bytes:
        """A dataset version's (protected) CSV, verified completely first."""
        _, data = self._native.download(reference)
        return data

    def verify_audit(self) -> Dict[str, Any]:
        """The audit log recomputed and checked against its signed checkpoints."""
        return json.loads(self._native.verify_audit())

    def protect(
        self,
        data: Any,
        schema: Any,
        *,
        k: Optional[int] = None,
        quasi: Optional[Sequence[str]] = None,
        max_suppressed: Optional[float] = None,
        birth_dates: Optional[str] = None,
        as_of: Optional[str] = None,
    ) -> Tuple[Any, Dict[str, Any]]:
        """Protects ``data`` as ``mlguard data protect`` does with this vault's pseudonym
        key (the same person gets the same pseudonym as in ingested datasets; recorded in
        the audit log first): keyed pseudonyms, redaction, generalisation and k-anonymity
        over the quasi-identifiers. Returns the protected table (a DataFrame of the same
        library as ``data``, else CSV bytes) and what was done to each column. Only a vault
        on this machine holds the key (a :class:`Client` ingests instead)."""
        options: Dict[str, Any] = {}
        for key, value in [("k", k), ("max_suppressed", max_suppressed), ("birth_dates", birth_dates), ("as_of", as_of)]:
            if value is not None:
                options[key] = value
        if quasi is not None:
            options["quasi"] = list(quasi)
        table = _table(data)
        source = None if isinstance(table, str) else f"<{type(data).__name__}>"
        csv, report = self._native.protect(table, _schema(schema), json.dumps(options), source)
        return _like(data, csv), json.loads(report)


class Vault(_Front):
    """The vault in the directory ``path`` (made with ``mlguard init``), unlocked with its
    key file or passphrase. Actions are recorded in its audit log as the local operator."""

    def seal(self, data: Any, *, kind: str = "file", meta: Optional[Dict[str, Any]] = None, name: Optional[str] = None) -> bytes:
        """Seals ``data`` (bytes or a path) as ``mlguard seal`` does: AES-256-GCM in
        segments under this vault's key, signed by its signing key; ``kind`` is ``file``,
        ``dataset`` or ``model``; ``meta`` is signed with it. Returns the sealed bytes (for
        files larger than memory, use the command)."""
        source, label = _source(data, name)
        return self._native.seal(source, label, kind, json.dumps(meta or {}))

    def open(self, sealed: Any, *, allow_untrusted_signer: bool = False, name: Optional[str] = None) -> bytes:
        """The plaintext of sealed bytes (or a sealed file), returned only after the
        signature, the key and every segment verified; else :class:`IntegrityError`."""
        source, label = _source(sealed, name)
        plain, _ = self._native.open_sealed(source, label, allow_untrusted_signer)
        return plain

    def verify(self, sealed: Any, *, allow_untrusted_signer: bool = False, name: Optional[str] = None) -> Dict[str, Any]:
        """Verifies sealed bytes (or a sealed file) completely, as ``mlguard verify`` does:
        the signer and the signed core (kind, size, BLAKE3, metadata); a bad one raises
        :class:`IntegrityError`."""
        source, label = _source(sealed, name)
        return json.loads(self._native.verify_sealed(source, label, allow_untrusted_signer))

    def __init__(
        self,
        path: PathLike,
        *,
        key_file: Optional[PathLike] = None,
        passphrase: Optional[str] = None,
    ) -> None:
        self._native = _mlguard.Front.open(
            os.fspath(path), None if key_file is None else os.fspath(key_file), passphrase
        )


class Client(_Front):
    """An mlguard server (``mlguard serve``) at ``url`` with a bearer ``token``: the same
    methods as :class:`Vault`, each authorised by the server's policy and audited there.
    ``ca_cert`` trusts a self-signed server's certificate; ``totp`` is a second-factor code
    for actions the policy asks one for."""

    def __init__(
        self,
        url: str,
        *,
        token: str,
        ca_cert: Optional[PathLike] = None,
        totp: Optional[str] = None,
    ) -> None:
        self._native = _mlguard.Front.connect(
            url, token, None if ca_cert is None else os.fspath(ca_cert), totp
        )

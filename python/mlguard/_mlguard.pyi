"""The native module (Rust): the functions the ``mlguard`` package wraps."""
from os import PathLike
from typing import Callable, List, Optional, Tuple, Union

_Table = Union[str, "PathLike[str]", bytes]
_Progress = Callable[[int, Optional[int]], object]

def run_cli(argv: List[str]) -> int:
    """Runs the ``mlguard`` command line in this process; returns its exit status."""

def scan_model(name: str, data: bytes, allow: List[str] = ..., fail_on: str = ...) -> Tuple[str, bool]:
    """Scans a model file's bytes: (report JSON, failed)."""

def scan_code(name: str, source: bytes, fail_on: str = ...) -> Tuple[str, bool]:
    """Audits Python source or a notebook: (report JSON, failed)."""

def validate(
    data: _Table,
    schema: str,
    name: Optional[str] = ...,
    max_errors: Optional[int] = ...,
    progress: Optional[_Progress] = ...,
) -> str:
    """Validates a table against a schema (JSON text): the report's JSON."""

def infer_schema(data: _Table, target: Optional[str] = ..., progress: Optional[_Progress] = ...) -> str:
    """Drafts a schema for a table: its JSON."""

def find_pii(data: _Table, progress: Optional[_Progress] = ...) -> Tuple[str, str]:
    """Personal data in a table: (columns JSON, cells as JSON lines)."""

def terminal_safe(text: str) -> str:
    """``text`` with control characters, escape sequences and bidi overrides escaped."""

class Front:
    """One front door to a vault: here (``open``) or a server (``connect``). Answers are
    the API's JSON."""

    @staticmethod
    def open(path: str, key_file: Optional[str] = ..., passphrase: Optional[str] = ...) -> "Front": ...
    @staticmethod
    def connect(url: str, token: str, ca_cert: Optional[str] = ..., totp: Optional[str] = ...) -> "Front": ...
    def datasets(self) -> str: ...
    def dataset_report(self, reference: str) -> str: ...
    def models(self) -> str: ...
    def model(self, reference: str) -> str: ...
    def import_model(self, name: str, data: bytes, dataset: str, accept_flagged: bool = ...) -> str: ...
    def export_model(self, reference: str, dir_name: str) -> str: ...
    def ingest(self, data: _Table, schema: str, name: str, options: str, source: Optional[str] = ..., progress: Optional[_Progress] = ...) -> str: ...
    def train(self, body: str, progress: Optional[_Progress] = ...) -> str: ...
    def predict(self, model: str, rows: str) -> str: ...
    def download(self, reference: str) -> Tuple[str, bytes]: ...
    def verify_audit(self) -> str: ...
    def protect(self, data: _Table, schema: str, options: str, source: Optional[str] = ...) -> Tuple[bytes, str]: ...
    def seal(self, data: _Table, name: str, kind: str = ..., meta: str = ...) -> bytes: ...
    def open_sealed(self, sealed: _Table, name: str, allow_untrusted_signer: bool = ...) -> Tuple[bytes, str]: ...
    def verify_sealed(self, sealed: _Table, name: str, allow_untrusted_signer: bool = ...) -> str: ...

def model_from_parts(parts: str) -> bytes:
    """mlguard's safetensors model of a model's parts (encoding, weights, schema) as JSON."""

def model_parts(data: bytes) -> str:
    """The parts of an mlguard model file, as JSON."""

def model_predict_proba(data: bytes, rows: str) -> str:
    """Class probabilities of rows (JSON objects) by an mlguard model file: JSON lists."""

def check_poisoning(
    data: _Table,
    schema: str,
    baseline: Optional[_Table] = ...,
    label_noise: Optional[float] = ...,
    outlier_z: Optional[float] = ...,
    max_findings: int = ...,
    progress: Optional[_Progress] = ...,
) -> Tuple[str, bool, str]:
    """The poisoning checks: (report JSON, failed, counts JSON)."""

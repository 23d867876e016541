"""The exceptions mlguard raises: every one is an :class:`Error`. The native module raises
them too (by name), with a message and, where the failure has one, a report's JSON."""
from __future__ import annotations

from typing import Optional, Union

from . import _mlguard
from ._report import Report


class Error(Exception):
    """Every error mlguard raises; ``.report`` is the :class:`Report` that explains it,
    when there is one."""

    def __init__(self, message: str, report: Union[None, str, Report] = None) -> None:
        super().__init__(_mlguard.terminal_safe(message))
        self.report: Optional[Report] = Report(report) if isinstance(report, str) else report


class SchemaError(Error, ValueError):
    """A schema that is not valid JSON or not a valid mlguard schema."""


class InputError(Error):
    """Input that cannot be read: missing, not a table, malformed past reading."""


class ValidationError(Error):
    """Data refused by its schema; ``.report`` has the findings."""


class IntegrityError(Error):
    """An artifact that fails verification: tampered, truncated, signed by an untrusted key."""


class AccessDenied(Error):
    """A token, role or second factor that does not allow the action."""


class RefusedError(Error):
    """Data or a model the vault refuses to store or train on: personal data left
    unprotected, a poisoned or flagged dataset, a model file that is not one or does not
    fit its dataset; ``.report`` has the findings where there are some."""


class UnsafeModelError(Error):
    """A model file refused before it was loaded; ``.report`` lists why."""


class UnsafeCodeError(Error):
    """Code with findings at or above the threshold (``scan_code(..., check=True)``)."""

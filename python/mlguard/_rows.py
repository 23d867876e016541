"""Rows of a table as the API's JSON: a list of objects of column: value."""
from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Sequence


def _cell(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()  # a NumPy scalar
    if isinstance(v, float) and math.isnan(v):
        return None  # missing
    return v


def records_json(data: Any, features: Sequence[str]) -> str:
    """``data`` as JSON rows: a pandas or polars DataFrame, a list of dicts, or an array
    (NumPy, lists of lists) whose columns are ``features`` in order. Floats keep every
    digit they have; NaN is a missing value (null); other values (dates) as their text."""
    module = type(data).__module__.split(".")[0]
    rows: List[Dict[str, Any]]
    if module == "pandas":
        rows = data.to_dict("records")
    elif module == "polars":
        rows = data.to_dicts()
    elif isinstance(data, list) and (not data or isinstance(data[0], dict)):
        rows = data
    else:
        import numpy

        if not features:
            raise ValueError("an array needs the model's features: predict from a DataFrame")
        arr = numpy.asarray(data)
        if arr.ndim != 2 or arr.shape[1] != len(features):
            raise ValueError(
                f"an array of shape (rows, {len(features)}) in the model's feature order "
                f"({', '.join(features)}), not {arr.shape}"
            )
        rows = [dict(zip(features, r)) for r in arr.tolist()]
    return json.dumps([{k: _cell(v) for k, v in r.items()} for r in rows], default=str)

"""scikit-learn models in mlguard's format, and back.

A fitted ``LogisticRegression`` (two classes, or more with the multinomial loss that
``lbfgs``, ``newton-cg``, ``sag`` and ``saga`` fit), alone or after a ``StandardScaler`` in
a ``Pipeline``, becomes mlguard's model file: safetensors (no pickle) with the weights and
the encoding, which ``mlguard model sign`` signs, ``mlguard seal`` seals, and mlguard's
predictor computes exactly as scikit-learn does (to 1e-9). ``from_mlguard`` turns such a
file, or a model mlguard trained on numeric features, back into a fitted ``Pipeline``.

>>> from mlguard.sklearn import to_mlguard, from_mlguard, predict_proba
>>> data = to_mlguard(pipeline, feature_names=X.columns, target="species")
>>> open("model.safetensors", "wb").write(data)
>>> predict_proba(data, X)        # mlguard's predictor
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

from . import _mlguard
from ._rows import records_json

__all__ = ["to_mlguard", "from_mlguard", "predict_proba"]


def _parts_of(estimator: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    scaler, model = None, estimator
    if isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps if s is not None and s != "passthrough"]
        if len(steps) == 2 and isinstance(steps[0], StandardScaler):
            scaler, model = steps
        elif len(steps) == 1:
            model = steps[0]
        else:
            raise ValueError(
                "a Pipeline converts when it is a LogisticRegression, optionally after one "
                f"StandardScaler; this one has {[type(s).__name__ for s in steps]}"
            )
    if not isinstance(model, LogisticRegression):
        raise TypeError(f"expected a LogisticRegression (or a Pipeline ending in one), not {type(model).__name__}")
    if not hasattr(model, "coef_"):
        raise ValueError("the LogisticRegression is not fitted")
    return scaler, model


def to_mlguard(
    estimator: Any,
    feature_names: Optional[Sequence[str]] = None,
    *,
    target: str = "target",
) -> bytes:
    """mlguard's model file (safetensors bytes) of a fitted ``LogisticRegression`` or
    ``Pipeline([StandardScaler, LogisticRegression])``. ``feature_names`` name the input
    columns (default: the names the estimator was fitted with, else ``x0, x1, ...``);
    ``target`` names what it predicts."""
    import numpy as np
    import sklearn

    scaler, model = _parts_of(estimator)
    coef = np.asarray(model.coef_, dtype=float)
    classes = [str(c) for c in model.classes_]
    d = coef.shape[1]
    if len(classes) > 2:
        multi = getattr(model, "multi_class", "auto")
        if model.solver == "liblinear" or multi == "ovr":
            raise ValueError(
                "a one-vs-rest LogisticRegression does not convert: mlguard's multiclass "
                "model is multinomial (softmax); fit with solver='lbfgs' (the default)"
            )
    if feature_names is None:
        feature_names = getattr(estimator, "feature_names_in_", None)
    names: List[str] = (
        [str(n) for n in feature_names] if feature_names is not None else [f"x{i}" for i in range(d)]
    )
    if len(names) != d or len(set(names)) != d:
        raise ValueError(f"{d} distinct feature names needed, got {len(names)} ({len(set(names))} distinct)")
    if target in names:
        raise ValueError(f"the target {target!r} is also a feature name")
    mean = np.zeros(d)
    scale = np.ones(d)
    if scaler is not None:
        if getattr(scaler, "mean_", None) is not None:
            mean = np.asarray(scaler.mean_, dtype=float)
        if getattr(scaler, "scale_", None) is not None:
            scale = np.asarray(scaler.scale_, dtype=float)
    parts: Dict[str, Any] = {
        "target": target,
        "classes": classes,
        "numeric": [
            {"name": n, "mean": float(m), "scale": float(s)} for n, m, s in zip(names, mean, scale)
        ],
        "weights": coef.ravel().tolist(),
        "intercepts": np.asarray(model.intercept_, dtype=float).ravel().tolist()
        if np.ndim(model.intercept_)
        else [float(model.intercept_)] * coef.shape[0],
        "schema": {
            "fields": [{"name": n, "type": "number"} for n in names]
            + [{"name": target, "type": "string", "role": "target"}]
        },
        "provenance": {
            "source": "scikit-learn",
            "sklearn_version": sklearn.__version__,
            "estimator": type(estimator).__name__,
        },
    }
    return _mlguard.model_from_parts(json.dumps(parts))


def predict_proba(model: bytes, X: Any) -> Any:
    """Class probabilities of the rows of ``X`` (a DataFrame with the feature columns, or
    an array in the model's feature order) by mlguard's predictor of the model file
    ``model``, in its class order: a NumPy array."""
    import numpy as np

    parts = json.loads(_mlguard.model_parts(model))
    names = [f["name"] for f in parts["numeric"]] + [c["name"] for c in parts["categorical"]]
    rows = records_json(X, names)
    return np.array(json.loads(_mlguard.model_predict_proba(model, rows)), dtype=float)


def from_mlguard(model: bytes) -> Any:
    """A fitted ``Pipeline([StandardScaler, LogisticRegression])`` of an mlguard model file
    whose features are all numeric; its ``predict_proba`` equals mlguard's predictor's. Its
    classes are the model's class labels (strings)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    parts = json.loads(_mlguard.model_parts(model))
    if parts["categorical"]:
        names = ", ".join(c["name"] for c in parts["categorical"])
        raise ValueError(f"categorical features ({names}) do not convert to scikit-learn yet")
    names = np.array([f["name"] for f in parts["numeric"]], dtype=object)
    d = len(names)
    classes = np.array(parts["classes"], dtype=object)
    outputs = 1 if len(classes) == 2 else len(classes)
    scaler = StandardScaler()
    scaler.mean_ = np.array([f["mean"] for f in parts["numeric"]], dtype=float)
    scaler.scale_ = np.array([f["scale"] for f in parts["numeric"]], dtype=float)
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = d
    scaler.n_samples_seen_ = np.int64(parts.get("metrics", {}).get("rows", 0))
    scaler.feature_names_in_ = names
    lr = LogisticRegression()
    lr.coef_ = np.array(parts["weights"], dtype=float).reshape(outputs, d)
    lr.intercept_ = np.array(parts["intercepts"], dtype=float)
    lr.classes_ = classes
    lr.n_features_in_ = d
    lr.n_iter_ = np.array([0], dtype=np.int32)
    return Pipeline([("scaler", scaler), ("model", lr)])

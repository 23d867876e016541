#!/usr/bin/env python3
"""The scikit-learn side of the accuracy comparison (tests/sklearn.rs).

  sklearn_peer.py export-breast-cancer OUT.csv
      writes scikit-learn's bundled breast cancer data as CSV (30 numeric columns, `target`)
  sklearn_peer.py fit DATA.csv SPEC.json
      fits LogisticRegression(lbfgs, C = 1/l2) on standardised numeric + one-hot categorical
      features of the rows SPEC names, and prints {"accuracy": ...} on its test rows

SPEC: {"target", "classes", "numeric": [names], "categorical": [names], "train": [row
indexes], "test": [row indexes], "l2"}; rows are the data rows with a target value, in
file order (mlguard's split).
"""
import csv
import json
import sys

import numpy as np


def export_breast_cancer(out):
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    names = [n.replace(" ", "_") for n in d.feature_names]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names + ["target"])
        for row, t in zip(d.data, d.target):
            w.writerow([repr(float(v)) for v in row] + [int(t)])


def fit(data_path, spec_path):
    from sklearn.linear_model import LogisticRegression
    spec = json.load(open(spec_path))
    with open(data_path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        idx = {h: i for i, h in enumerate(header)}
        t = idx[spec["target"]]
        kept = [r for r in rows if r[t] != ""]
    n = len(kept)
    train, test = np.array(spec["train"]), np.array(spec["test"])
    cols = []
    for name in spec["numeric"]:
        v = np.array([float(r[idx[name]]) if r[idx[name]] != "" else np.nan for r in kept])
        mean = np.nanmean(v[train])
        v = np.where(np.isnan(v), mean, v)
        std = v[train].std()
        cols.append(((v - mean) / (std if std > 0 else 1.0)).reshape(n, 1))
    for name in spec["categorical"]:
        vals = [r[idx[name]] for r in kept]
        cats = sorted({vals[i] for i in train if vals[i] != ""})
        pos = {c: j for j, c in enumerate(cats)}
        onehot = np.zeros((n, len(cats)))
        for i, v in enumerate(vals):
            if v in pos:
                onehot[i, pos[v]] = 1.0
        cols.append(onehot)
    X = np.hstack(cols)
    classes = spec["classes"]
    y = np.array([classes.index(r[t]) for r in kept])
    model = LogisticRegression(C=1.0 / spec["l2"], solver="lbfgs", max_iter=10000, tol=1e-10)
    model.fit(X[train], y[train])
    print(json.dumps({"accuracy": float((model.predict(X[test]) == y[test]).mean())}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "export-breast-cancer":
        export_breast_cancer(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)

"""Label-noise benchmark (issue 7): flip 5 % of the labels of a dataset at random, then
score mlguard's confident learning (`mlguard data poison`) and cleanlab's default
(`find_label_issues` on 5-fold out-of-fold probabilities of scikit-learn's
LogisticRegression) on finding the flipped rows.

    python label_noise.py make OUT_DIR DATASET SEED      # DATASET: gaussian | users:PATH
    python label_noise.py cleanlab OUT_DIR               # writes cleanlab.json
    python label_noise.py score OUT_DIR TOOL FILE        # FILE: poison JSON or cleanlab.json
"""
import csv
import json
import random
import sys
from pathlib import Path


def make(out, dataset, seed):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    if dataset == "gaussian":
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=20000, n_features=10, n_informative=6, n_redundant=2,
            class_sep=1.0, flip_y=0.0, random_state=seed,
        )
        header = [f"x{i}" for i in range(X.shape[1])] + ["label"]
        rows = [[f"{v:.6g}" for v in X[i]] + [str(int(y[i]))] for i in range(len(y))]
        fields = [{"name": h, "type": "number"} for h in header[:-1]]
        fields.append({"name": "label", "type": "integer", "role": "target"})
        schema = {"fields": fields}
    else:
        path = dataset.split(":", 1)[1]
        with open(path, newline="") as f:
            r = csv.reader(f)
            header = next(r)
            rows = [row for row in r]
        schema = json.loads(Path(path).with_name("schema.json").read_text())
        for fld in schema["fields"]:
            if "pii" in fld:
                fld["protect"] = "drop"
    label = header.index("label")
    flipped = []
    for i, row in enumerate(rows):
        if rng.random() < 0.05:
            row[label] = "0" if row[label] == "1" else "1"
            flipped.append(i + 1)  # 1-based data row
    with open(out / "data.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    (out / "schema.json").write_text(json.dumps(schema))
    (out / "flipped.json").write_text(json.dumps(flipped))
    print(f"{len(rows)} rows, {len(flipped)} labels flipped ({dataset})")


def cleanlab_run(out):
    import numpy as np
    import pandas as pd
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = Path(out)
    schema = json.loads((out / "schema.json").read_text())
    df = pd.read_csv(out / "data.csv")
    target = next(f["name"] for f in schema["fields"] if f.get("role") == "target")
    use = []
    for f in schema["fields"]:
        if f["name"] == target or f.get("role") in ("id", "ignore") or "pii" in f:
            continue
        use.append(f["name"])
    X = pd.get_dummies(df[use], dtype=float).fillna(0.0).to_numpy()
    y = df[target].astype("category").cat.codes.to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    probs = cross_val_predict(model, X, y, cv=cv, method="predict_proba")
    issues = find_label_issues(labels=y, pred_probs=probs)  # cleanlab's defaults
    rows = [int(i) + 1 for i in np.flatnonzero(issues)]
    (out / "cleanlab.json").write_text(json.dumps(rows))


def score(out, tool, file):
    out = Path(out)
    flipped = set(json.loads((out / "flipped.json").read_text()))
    data = json.loads(Path(file).read_text())
    if isinstance(data, dict):  # an mlguard report
        found = {f["location"]["row"] for f in data["findings"] if f["check"] == "poison.label-issue"}
    else:
        found = set(data)
    tp = len(found & flipped)
    p = tp / len(found) if found else 0.0
    r = tp / len(flipped) if flipped else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"  {tool:<9} flagged {len(found):>6}  precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "cleanlab":
        cleanlab_run(sys.argv[2])
    elif cmd == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)

#!/usr/bin/env python3
"""Loads an exported mlguard model with Python's `safetensors`, recomputes the class
probabilities of INPUT.csv with numpy from the exported weights and the encoding in the
metadata, and compares them with mlguard's predictions (PRED.csv): max abs difference.

  export_numpy.py MODEL_DIR INPUT.csv PRED.csv
"""
import csv
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(model_dir, input_csv, pred_csv):
    tensors = load_file(f"{model_dir}/model.safetensors")
    with safe_open(f"{model_dir}/model.safetensors", framework="numpy") as f:
        info = json.loads(f.metadata()["mlguard.model"])
    enc = info["encoding"]
    W, b = tensors["weight"], tensors["bias"]
    with open(input_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    preds = {}
    with open(pred_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            preds[int(r["line"])] = [float(r[f"p_{c}"]) for c in enc["classes"]]
    worst = 0.0
    for i, row in enumerate(rows):
        line = i + 2
        if line not in preds:
            continue
        x = []
        for f in enc["numeric"]:
            v = row.get(f["name"], "")
            x.append(0.0 if v == "" else (float(v) - f["mean"]) / f["scale"])
        for c in enc["categorical"]:
            v = row.get(c["name"], "")
            x.extend(1.0 if v == cat else 0.0 for cat in c["categories"])
        z = W @ np.array(x) + b
        if len(enc["classes"]) == 2:
            p1 = 1.0 / (1.0 + np.exp(-z[0]))
            p = np.array([1.0 - p1, p1])
        else:
            e = np.exp(z - z.max())
            p = e / e.sum()
        worst = max(worst, float(np.abs(p - np.array(preds[line])).max()))
    print(json.dumps({"rows": len(preds), "max_abs_diff": worst}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

#!/usr/bin/env python3
"""Runs the reference implementation of docs/model-format.md (the document's python block,
extracted and executed, so the document cannot drift from what mlguard computes) on an
exported mlguard model: recomputes the class probabilities of INPUT.csv and compares them
with mlguard's predictions (PRED.csv): max abs difference.

  export_numpy.py MODEL_FORMAT.md MODEL_DIR INPUT.csv PRED.csv
"""
import csv
import json
import re
import sys

import numpy as np


def reference(doc):
    """The functions of the document's reference implementation."""
    text = open(doc, encoding="utf-8").read()
    block = re.search(r"```python\n(.*?)```", text, re.S)
    if block is None:
        sys.exit(f"{doc}: no python block")
    names = {}
    exec(compile(block.group(1), doc, "exec"), names)
    return names["load"], names["probabilities"]


def main(doc, model_dir, input_csv, pred_csv):
    load, probabilities = reference(doc)
    tensors, info = load(f"{model_dir}/model.safetensors")
    classes = info["encoding"]["classes"]
    with open(input_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    preds = {}
    with open(pred_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            preds[int(r["line"])] = [float(r[f"p_{c}"]) for c in classes]
    worst = 0.0
    for i, row in enumerate(rows):
        line = i + 2
        if line in preds:
            p = probabilities(tensors, info, row)
            worst = max(worst, float(np.abs(p - np.array(preds[line])).max()))
    print(json.dumps({"rows": len(preds), "max_abs_diff": worst}))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])

"""The Python peer of bench/serve.sh, in the best configuration a user would pick:
FastAPI on uvicorn[standard] (uvloop, httptools), run by bench/serve.sh with two worker
processes and OPENBLAS_NUM_THREADS=1. scikit-learn's LogisticRegression trained on the same
user_data.csv (numeric features standardised, categories one-hot, as mlguard does), a
token check, and an audit line appended (and flushed) for every request before it is
answered. Rows are posted as JSON: {"rows": [{column: value}, ...]}. A request's rows go
to the fitted transformers and model as NumPy arrays, not through a pandas DataFrame and
a ColumnTransformer (which cost 5x the throughput).

    PEER_DATA=user_data.csv PEER_TOKEN=... PEER_AUDIT=audit.log \\
        uvicorn serve_peer:app --workers 2 --port 18080
"""
import json
import os
import time

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PII = ["user_id", "full_name", "email", "phone", "ssn", "date_of_birth", "zip_code"]

token = os.environ["PEER_TOKEN"]
df = pd.read_csv(os.environ["PEER_DATA"])
y = df.pop("label")
X = df.drop(columns=PII)
cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
nums = [c for c in X.columns if c not in cats]
scaler = StandardScaler().fit(X[nums].to_numpy(dtype=float))
onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(X[cats].to_numpy(dtype=object))


def encode(numbers, categories):
    return np.hstack([scaler.transform(numbers), onehot.transform(categories)])


model = LogisticRegression(max_iter=1000).fit(
    encode(X[nums].to_numpy(dtype=float), X[cats].to_numpy(dtype=object)), y
)
audit = open(os.environ["PEER_AUDIT"], "a", buffering=1)
app = FastAPI()


@app.post("/predict")
async def predict(request: Request):
    allowed = request.headers.get("authorization") == f"Bearer {token}"
    audit.write(json.dumps({"time": time.time(), "action": "model.predict", "allowed": allowed}) + "\n")
    audit.flush()
    if not allowed:
        raise HTTPException(status_code=401)
    rows = (await request.json())["rows"]
    numbers = np.array([[row.get(c, np.nan) for c in nums] for row in rows], dtype=float)
    categories = np.array([[row.get(c) for c in cats] for row in rows], dtype=object)
    p = model.predict_proba(encode(numbers, categories))
    return {
        "results": [
            {"prediction": str(model.classes_[i.argmax()]), "probabilities": i.tolist()} for i in p
        ]
    }

"""The Python peer of bench/serve.sh: scikit-learn's LogisticRegression trained on the same
user_data.csv (numeric features standardised, categories one-hot, as mlguard does), served
by Flask behind a token check, rows posted as JSON: {"rows": [{column: value}, ...]}.

    python serve_peer.py DATA.csv PORT TOKEN
"""
import sys

import pandas as pd
from flask import Flask, abort, jsonify, request
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.compose import make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PII = ["user_id", "full_name", "email", "phone", "ssn", "date_of_birth", "zip_code"]

data, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
df = pd.read_csv(data)
y = df.pop("label")
X = df.drop(columns=PII)
cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
nums = [c for c in X.columns if c not in cats]
model = make_pipeline(
    make_column_transformer((StandardScaler(), nums), (OneHotEncoder(handle_unknown="ignore"), cats)),
    LogisticRegression(max_iter=1000),
)
model.fit(X, y)
columns = list(X.columns)
app = Flask(__name__)


@app.post("/predict")
def predict():
    if request.headers.get("Authorization") != f"Bearer {token}":
        abort(401)
    rows = request.get_json()["rows"]
    frame = pd.DataFrame(rows, columns=columns)
    p = model.predict_proba(frame)
    return jsonify({"results": [{"prediction": str(model.classes_[i.argmax()]), "probabilities": i.tolist()} for i in p]})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=port, threaded=True)

"""Writes real joblib files into sys.argv[1]: benign_* must scan clean, evil_* must not."""
import os
import sys

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.random((200, 5))
y = (X[:, 0] > 0.5).astype(int)
benign = {
    "logreg": LogisticRegression().fit(X, y),
    "forest": RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y),
    "float32": np.arange(1000, dtype=np.float32).reshape(10, 100),
    "fortran": np.asfortranarray(np.ones((3, 4))),
    "objects": np.array([{"a": 1}, "x", 3], dtype=object),
    "unicode": np.array(["abc", "de"]),
    "dates": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "records": np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8")]),
    "empty": np.zeros((0, 3)),
}


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


joblib.dump(benign, os.path.join(out, "benign_plain.joblib"))
joblib.dump(benign, os.path.join(out, "benign_protocol2.joblib"), protocol=2)
for codec in ["zlib", "gzip", "bz2", "xz", "lzma"]:
    joblib.dump(benign, os.path.join(out, f"benign_{codec}.joblib"), compress=(codec, 3))
    joblib.dump({"a": np.ones(10), "x": Evil()}, os.path.join(out, f"evil_{codec}.joblib"), compress=(codec, 3))
joblib.dump({"a": np.ones(10), "x": Evil()}, os.path.join(out, "evil_after_array.joblib"))
joblib.dump(np.array([Evil()], dtype=object), os.path.join(out, "evil_object_array.joblib"))

"""The scikit-learn bridge on real data that ships with scikit-learn (iris: three classes;
breast cancer: two): a fitted LogisticRegression, with and without a StandardScaler,
becomes mlguard's model file, mlguard's predictor gives scikit-learn's probabilities to
1e-9, the file signs and verifies with `mlguard model sign`, and it converts back."""
import subprocess

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlguard
from mlguard.sklearn import from_mlguard, predict_proba, to_mlguard


def cases():
    iris = load_iris(as_frame=True)
    cancer = load_breast_cancer(as_frame=True)
    X_iris, y_iris = iris.data, iris.target_names[iris.target]
    X_cancer, y_cancer = cancer.data, cancer.target
    return [
        ("iris, scaled", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_iris, y_iris), X_iris),
        ("iris, raw", LogisticRegression(max_iter=2000).fit(X_iris, y_iris), X_iris),
        ("cancer, scaled", make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X_cancer, y_cancer), X_cancer),
        ("cancer, raw", LogisticRegression(max_iter=10000).fit(X_cancer.iloc[:, :5], y_cancer), X_cancer.iloc[:, :5]),
    ]


@pytest.mark.parametrize("case", range(4))
def test_mlguard_predicts_what_scikit_learn_predicts(case, tmp_path):
    name, estimator, X = cases()[case]
    data = to_mlguard(estimator, target="label")
    ours = predict_proba(data, X)
    theirs = estimator.predict_proba(X)
    assert ours.shape == theirs.shape, name
    assert np.max(np.abs(ours - theirs)) <= 1e-9, (name, np.max(np.abs(ours - theirs)))
    # An array in feature order gives the same.
    assert np.max(np.abs(predict_proba(data, X.to_numpy()) - theirs)) <= 1e-9
    # And back: a scikit-learn Pipeline predicting the same.
    back = from_mlguard(data)
    assert np.max(np.abs(back.predict_proba(X) - theirs)) <= 1e-9, name
    assert list(back.predict(X)) == [str(c) for c in estimator.predict(X)]


def test_the_model_file_is_signed_and_verified_by_the_vault(tmp_path):
    name, estimator, X = cases()[0]
    path = tmp_path / "iris.safetensors"
    path.write_bytes(to_mlguard(estimator, target="species"))
    vault = ["--vault", str(tmp_path / "v"), "--key-file", str(tmp_path / "key")]
    run = lambda *a: subprocess.run(["mlguard", *a, *vault], capture_output=True, text=True)
    assert run("init").returncode == 0
    signed = run("model", "sign", str(path), "-o", str(tmp_path / "iris.sig"))
    assert signed.returncode == 0, signed.stderr
    assert run("model", "verify-signature", str(path), "--signature", str(tmp_path / "iris.sig")).returncode == 0
    # The file is safetensors, no pickle: the scanner passes it.
    assert mlguard.scan_model(path).ok
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    assert run("model", "verify-signature", str(path), "--signature", str(tmp_path / "iris.sig")).returncode == 1


def test_what_does_not_convert_says_why():
    iris = load_iris(as_frame=True)
    from sklearn.multiclass import OneVsRestClassifier

    ovr = OneVsRestClassifier(LogisticRegression()).fit(iris.data, iris.target)
    with pytest.raises(TypeError, match="LogisticRegression"):
        to_mlguard(ovr)
    with pytest.raises(TypeError):
        to_mlguard(StandardScaler().fit(iris.data))
    with pytest.raises(ValueError, match="not fitted"):
        to_mlguard(LogisticRegression())
    with pytest.raises(ValueError):
        to_mlguard(LogisticRegression().fit(iris.data, iris.target), feature_names=["a", "b"])


def test_a_model_fitted_on_a_stored_dataset_is_imported_served_and_exported_back(tmp_path):
    import io

    import pandas as pd

    iris = load_iris(as_frame=True).frame
    iris["species"] = load_iris().target_names[iris.pop("target")]
    run = lambda *a: subprocess.run(["mlguard", *a], capture_output=True, text=True)
    assert run("init", "--vault", str(tmp_path / "v"), "--key-file", str(tmp_path / "key")).returncode == 0
    vault = mlguard.Vault(tmp_path / "v", key_file=tmp_path / "key")
    vault.ingest(iris, mlguard.infer_schema(iris, target="species"), "iris")
    # Fitted outside the vault, on the table as the vault stores it.
    stored = pd.read_csv(io.BytesIO(vault.download("iris")))
    X, y = stored.drop(columns="species"), stored["species"]
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)

    model = vault.import_model(pipe, "iris-sk", dataset="iris")
    assert model.name == "iris-sk@1" and sorted(model.classes) == sorted(pipe.classes_)
    provenance = model.description["info"]["provenance"]
    assert provenance["origin"] == "import" and provenance["source"] == "scikit-learn"
    assert "mlguard.split_seed" not in provenance
    order = [list(pipe.classes_).index(c) for c in model.classes]
    assert np.max(np.abs(model.predict_proba(X) - pipe.predict_proba(X)[:, order])) <= 1e-9
    assert model.predict(X) == list(pipe.predict(X))

    # Exported back: the same model file, signed by the vault, and scikit-learn again.
    data = model.export(tmp_path / "out")
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == data
    checked = run("model", "verify-signature", str(tmp_path / "out"), "--signature", str(tmp_path / "out" / "model.sig"),
                  "--vault", str(tmp_path / "v"), "--key-file", str(tmp_path / "key"))
    assert checked.returncode == 0, checked.stderr
    with pytest.raises(FileExistsError):
        model.export(tmp_path / "out")
    back = model.to_sklearn()
    assert np.max(np.abs(back.predict_proba(X) - pipe.predict_proba(X))) <= 1e-9
    # Bytes import the same; a model of other columns, or no model at all, is refused.
    assert vault.import_model(data, "iris-copy", dataset="iris@1").predict(X) == model.predict(X)
    other = LogisticRegression(max_iter=1000).fit(X.rename(columns=lambda c: c + " (other)"), y)
    with pytest.raises(mlguard.RefusedError, match="is not a column"):
        vault.import_model(other, "iris-other", dataset="iris")
    with pytest.raises(mlguard.RefusedError, match="not an mlguard model file"):
        vault.import_model(b"\x80\x04not a model", "iris-other", dataset="iris")
    assert sorted(m["name"] for m in vault.models()) == ["iris-copy", "iris-sk"]
    assert vault.verify_audit()["ok"]

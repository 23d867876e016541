"""The vault from Python, here (mlguard.Vault) and behind a real `mlguard serve`
(mlguard.Client): a DataFrame ingested (validated, protected, checked, sealed), a model
trained, verified and used for predictions, a tampered model refused, and the server's
policy enforced on the client's token."""
import io
import os
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlguard


def users(n=600, seed=3):
    rng = np.random.default_rng(seed)
    income = rng.normal(50_000, 15_000, n).round(2)
    plan = rng.choice(["free", "pro", "team"], n)
    churned = (income + rng.normal(0, 8_000, n) < 45_000) | (plan == "free") & (rng.random(n) < 0.3)
    return pd.DataFrame(
        {
            "user_id": np.arange(1, n + 1),
            "email": [f"user{i}@example.com" for i in range(n)],
            "age": rng.integers(18, 80, n),
            "income": income,
            "plan": plan,
            "label": np.where(churned, "churned", "stayed"),
        }
    )


def mlguard_cmd(*args, env=None, check=True):
    r = subprocess.run(["mlguard", *args], capture_output=True, text=True, env=env)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture()
def vault_dir(tmp_path):
    mlguard_cmd("init", "--vault", str(tmp_path / "v"), "--key-file", str(tmp_path / "key"))
    return tmp_path


def schema_for(df):
    schema = mlguard.infer_schema(df, target="label")
    email = next(f for f in schema["fields"] if f["name"] == "email")
    assert email.get("pii") == "email"
    return schema


def test_a_dataframe_goes_through_the_vault(vault_dir):
    df = users()
    v = mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key")
    schema = schema_for(df)

    # Personal data without a protection is refused, with what to do.
    bare = {**schema, "fields": [{k: x for k, x in f.items() if k != "protect"} for f in schema["fields"]]}
    with pytest.raises(mlguard.RefusedError) as e:
        v.ingest(df, bare, "users")
    assert "email" in str(e.value)
    # Invalid data is refused with its report.
    bad = df.copy()
    bad.loc[3, "plan"] = "platinum"
    with pytest.raises(mlguard.ValidationError) as e:
        v.ingest(bad, schema, "users")
    assert e.value.report is not None and e.value.report.errors == 1

    ingested = v.ingest(df, schema, "users")
    # Rows k-anonymity could not place are suppressed (at most 5 %), and said so.
    assert ingested["dataset"] == "users@1" and 0.95 * len(df) <= ingested["rows"] <= len(df)
    assert [f"{d['name']}@{d['version']}" for d in v.datasets()] == ["users@1"]
    stored = pd.read_csv(__import__("io").BytesIO(v.download("users")))
    assert len(stored) == ingested["rows"]
    assert not set(stored["email"]) & set(df["email"]), "e-mail addresses stored in clear"

    trained = v.train("users", "churn", fixed_seed=7)
    assert trained["model"] == "churn@1"
    assert [m["name"] for m in v.models()] == ["churn"]
    model = v.load_model("churn")
    assert sorted(model.classes) == ["churned", "stayed"]
    assert {"age", "income", "plan"} <= set(model.features) and "email" not in model.features

    rows = df.head(50).copy()
    rows.loc[rows.index[1], "plan"] = "platinum"
    predicted = model.predict(rows)
    assert predicted[1] is None and all(p in model.classes for i, p in enumerate(predicted) if i != 1)
    proba = model.predict_proba(rows)
    assert proba.shape == (50, 2) and np.isnan(proba[1]).all()
    ok = np.delete(proba, 1, axis=0)
    assert np.allclose(ok.sum(axis=1), 1.0)
    accuracy = np.mean([p == y for p, y in zip(model.predict(df), df["label"])])
    assert accuracy > 0.7, accuracy
    # A NumPy array in the model's feature order predicts the same.
    same = model.predict(df[model.features].head(5).to_numpy(dtype=object))
    assert same == model.predict(df.head(5))

    audit = v.verify_audit()
    assert audit["ok"] and audit["entries"] >= 6


def test_ingest_and_training_tell_their_progress_and_stop_when_told(vault_dir):
    df = users(n=20_000)
    schema = schema_for(df)
    path = vault_dir / "users.csv"
    df.to_csv(path, index=False)
    size = path.stat().st_size
    v = mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key")
    calls = []
    v.ingest(path, schema, "users", progress=lambda d, t: calls.append((d, t)))
    # The input's two passes (validation and protection together, then k-anonymity's
    # writing pass: age is a quasi-identifier), then the protected table's two: until
    # protection has written it, it is taken to be as large as the input.
    assert calls[0][1] == 4 * size, calls[:3]
    assert calls[-1][0] == calls[-1][1] and 2 * size < calls[-1][1], calls[-3:]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    # (Its made-up labels are noisy by construction: the checks flag it.)
    v.train("users", "churn", fixed_seed=1, accept_flagged=True, progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert total > 0 and calls[-1] == (total, total) and all(t == total for _, t in calls), calls

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop(f"{done} of {total}")

    with pytest.raises(Stop):
        v.ingest(df, schema, "users", progress=stop)
    with pytest.raises(Stop):
        v.train("users", "churn", accept_flagged=True, progress=stop)
    # Nothing stored by the stopped work, and the log says it failed.
    assert [d["version"] for d in v.datasets()] == [1]
    assert [m["version"] for m in v.models()] == [1]
    assert v.verify_audit()["ok"]


def test_a_tampered_model_is_refused(vault_dir):
    df = users()
    v = mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key")
    v.ingest(df, schema_for(df), "users")
    v.train("users", "churn", fixed_seed=7)
    objects = sorted((vault_dir / "v" / "objects").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    model = objects[-1]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1
    model.write_bytes(bytes(data))
    with pytest.raises(mlguard.IntegrityError):
        v.load_model("churn")
    with pytest.raises(mlguard.Error):
        mlguard.Vault(vault_dir / "v", key_file=vault_dir / "wrong-key")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_client_goes_through_a_real_server(vault_dir):
    df = users()
    env = dict(os.environ, MLGUARD_VAULT=str(vault_dir / "v"), MLGUARD_KEY_FILE=str(vault_dir / "key"))
    for user, role in [("dana", "data-steward"), ("sam", "data-scientist"), ("cole", "model-consumer")]:
        mlguard_cmd("user", "add", user, "--role", role, env=env)
    tokens = {u: mlguard_cmd("token", "create", "--user", u, env=env).stdout.strip() for u in ["dana", "sam", "cole"]}
    port = free_port()
    server = subprocess.Popen(
        ["mlguard", "serve", "--tls-self-signed", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        cert = vault_dir / "v" / "server-cert.pem"
        url = f"https://127.0.0.1:{port}"
        for _ in range(100):
            if cert.exists():
                try:
                    mlguard.Client(url, token=tokens["cole"], ca_cert=cert).models()
                    break
                except mlguard.Error:
                    pass
            time.sleep(0.2)
        steward = mlguard.Client(url, token=tokens["dana"], ca_cert=cert)
        scientist = mlguard.Client(url, token=tokens["sam"], ca_cert=cert)
        consumer = mlguard.Client(url, token=tokens["cole"], ca_cert=cert)

        # Through a server, progress is the upload's.
        calls = []
        assert steward.ingest(df, schema_for(df), "users", progress=lambda d, t: calls.append((d, t)))["dataset"] == "users@1"
        sent = len(mlguard._table(df))
        assert calls[-1] == (sent, sent) and all(t == sent for _, t in calls), calls
        with pytest.raises(mlguard.AccessDenied):
            consumer.ingest(df, schema_for(df), "users")
        assert scientist.train("users", "churn", fixed_seed=7)["model"] == "churn@1"
        remote = consumer.load_model("churn")
        assert remote.predict(df.head(20)) == mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key").load_model("churn").predict(df.head(20))

        # A scikit-learn model fitted on the stored (protected) table, imported through the
        # server, served to the consumer with scikit-learn's probabilities.
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        stored = pd.read_csv(io.BytesIO(scientist.download("users")))
        pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(stored[["income"]], stored["label"])
        with pytest.raises(mlguard.AccessDenied):
            consumer.import_model(pipe, "churn-sk", dataset="users")
        imported = scientist.import_model(pipe, "churn-sk", dataset="users@1")
        assert imported.name == "churn-sk@1"
        assert imported.description["info"]["provenance"]["origin"] == "import"
        served = consumer.load_model("churn-sk")
        ours = served.predict_proba(df.head(20))
        order = [list(pipe.classes_).index(c) for c in served.classes]
        theirs = pipe.predict_proba(df.head(20)[["income"]])[:, order]
        assert np.max(np.abs(ours - theirs)) <= 1e-9
        with pytest.raises(mlguard.AccessDenied):
            mlguard.Client(url, token=tokens["cole"][:-1] + ("0" if tokens["cole"][-1] != "0" else "1"), ca_cert=cert).models()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_protection_with_the_vaults_key_matches_what_ingestion_stores(vault_dir):
    df = users()
    schema = schema_for(df)
    v = mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key")
    protected, report = v.protect(df, schema, k=5)
    assert isinstance(protected, pd.DataFrame) and len(protected) >= 0.95 * len(df)
    assert not set(protected["email"]) & set(df["email"])
    email = next(c for c in report["columns"] if c["name"] == "email")
    assert email["action"] != "keep", email
    # Keyed pseudonyms: the same addresses get the same pseudonyms when ingested.
    v.ingest(df, schema, "users")
    stored = pd.read_csv(__import__("io").BytesIO(v.download("users")))
    assert set(stored["email"]) == set(protected["email"])
    # Recorded before anything was produced.
    entries = subprocess.run(
        ["mlguard", "audit", "show", "--json", "--vault", str(vault_dir / "v"), "--key-file", str(vault_dir / "key")],
        capture_output=True,
        text=True,
    ).stdout
    assert "dataset.protect" in entries


def test_poisoning_checks_on_dataframes():
    df = users()
    schema = schema_for(df)
    clean = mlguard.check_poisoning(df, schema)
    assert clean.summary["rows"] == len(df) and clean.summary["conflicts"] == 0
    # The same features with both labels, many times: conflicting duplicates (high).
    row = df.iloc[[0]]
    twins = pd.concat([row.assign(label="churned"), row.assign(label="stayed")] * 10)
    poisoned = pd.concat([df, twins.assign(user_id=np.arange(10_000, 10_020))], ignore_index=True)
    found = mlguard.check_poisoning(poisoned, schema)
    assert not found.ok and found.summary["conflicts"] >= 1
    assert any(f.check == "poison.conflicting-duplicates" for f in found)
    # Against a baseline with shifted incomes: drift.
    shifted = df.assign(income=df["income"] * 3)
    drift = mlguard.check_poisoning(shifted, schema, baseline=df)
    assert drift.summary["drifted"] and drift.summary["drifted"] >= 1


def test_sealing_opening_and_verifying_bytes_and_files(vault_dir, tmp_path):
    v = mlguard.Vault(vault_dir / "v", key_file=vault_dir / "key")
    secret = b"weights " * 100_000
    sealed = v.seal(secret, kind="model", meta={"name": "churn"})
    assert secret[:64] not in sealed
    assert v.open(sealed) == secret
    checked = v.verify(sealed)
    assert checked["valid"] and checked["signer_trusted"] and checked["core"]["size"] == len(secret)
    # A file, and the same through the command: interchangeable.
    (tmp_path / "m.bin").write_bytes(secret)
    (tmp_path / "m.mlseal").write_bytes(v.seal(tmp_path / "m.bin"))
    opened = subprocess.run(
        ["mlguard", "open", str(tmp_path / "m.mlseal"), "-o", str(tmp_path / "back.bin"),
         "--vault", str(vault_dir / "v"), "--key-file", str(vault_dir / "key")],
        capture_output=True, text=True,
    )
    assert opened.returncode == 0, opened.stderr
    assert (tmp_path / "back.bin").read_bytes() == secret
    # One flipped bit anywhere: refused, and nothing decrypted is returned.
    for where in (10, len(sealed) // 2, len(sealed) - 5):
        bad = bytearray(sealed)
        bad[where] ^= 1
        with pytest.raises(mlguard.IntegrityError):
            v.open(bytes(bad))
        with pytest.raises(mlguard.IntegrityError):
            v.verify(bytes(bad))
    with pytest.raises(mlguard.IntegrityError):
        v.open(sealed[: len(sealed) // 2])
